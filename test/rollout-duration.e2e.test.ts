// End to end: Knative's gradual rollout (serving.knative.dev/rollout-duration) on a real
// `kedge up`, real child processes and real HTTP on 127.0.0.1. A new revision of a Service with
// rollout-duration 6s takes over its traffic in Knative's steps (1, 21, 41, 61, 81, 100 %, one a
// second: controller/rollout.ts computeStepParams), and requests really split that way meanwhile.
//
// Flake-proofing on a shared 2-core VM: the split is read from the admin API, which shows the same
// reconcile output the gateway serves; a batch of requests counts for a step only when the split
// was the same before and after it; shares are checked against a binomial band (4 sigma, plus 5
// points) that widens by itself when few requests got through; every loop is bounded in count and
// time; time bounds have seconds of slack and only ever use "no earlier than" where timers give it.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  appService,
  hostOf,
  revisionView,
  serviceView,
  startPlatform,
  type Platform,
} from './support/faults.js';
import { get, getJson, waitFor } from './support/kedge-process.js';

const SERVICE = 'gradual';
const HOST = hostOf(SERVICE);
const DURATION_S = 6;
/** Knative's steps for 6 s at 100 %: 1 % at once, then 5 steps of 20 points a second apart. */
const STEPS: readonly number[] = [1, 21, 41, 61, 81, 100];
const STEP_MS = 1000;
const OLD = `${SERVICE}-00001`;
const NEW = `${SERVICE}-00002`;
/** Requests between two reads of the split. */
const BATCH = 10;
/** Generous: the rollout itself takes 5 s once the new revision is ready. */
const SLACK_MS = 15_000;

function writeGradual(dir: string, version: string): void {
  const service = appService({ name: SERVICE, env: { VERSION: version } });
  const metadata = service['metadata'] as Record<string, unknown>;
  service['metadata'] = {
    ...metadata,
    annotations: { 'serving.knative.dev/rollout-duration': `${DURATION_S}s` },
  };
  writeFileSync(join(dir, `${SERVICE}.yaml`), JSON.stringify(service, null, 2) + '\n');
}

interface RouteView {
  readonly name: string;
  readonly hosts: readonly {
    readonly host: string;
    readonly splits: readonly { readonly revisionName: string; readonly percent: number }[];
  }[];
}

let platform: Platform;

before(async () => {
  platform = await startPlatform('gradual', (dir) => {
    writeGradual(dir, 'v1');
  });
  await waitFor(
    `${OLD} to be ready`,
    async () => ((await revisionView(platform.kedge, OLD))?.readyReplicas === 1 ? true : undefined),
    20_000,
  );
});

after(async () => {
  await platform.close();
});

/** The new revision's percent on the Service's main host, as the gateway serves it now. */
async function newPercent(): Promise<number> {
  const routes = await getJson<RouteView[]>(platform.kedge.adminPort, '/api/v1/routes');
  const host = routes.find((r) => r.name === SERVICE)?.hosts.find((h) => h.host === HOST);
  return host?.splits.find((s) => s.revisionName === NEW)?.percent ?? 0;
}

async function answeredBy(): Promise<string> {
  const res = await get(platform.kedge.gatewayPort, HOST, '/', 10_000);
  assert.equal(res.status, 200, `${res.status} ${res.body}`);
  return res.body.split(' ', 1)[0] ?? '';
}

test(`rollout-duration ${DURATION_S}s: requests move to the new revision in Knative's steps, then all of them`, async (t) => {
  const { kedge, dir } = platform;
  writeGradual(dir, 'v2');

  // The rollout starts when the new revision is ready (Knative: its latest ready revision changes).
  const firstPercent = await waitFor(
    'the rollout to start',
    async () => {
      const p = await newPercent();
      return p > 0 ? p : undefined;
    },
    30_000,
    20,
  );
  const startedAt = performance.now();
  const observed: { readonly atMs: number; readonly percent: number }[] = [
    { atMs: 0, percent: firstPercent },
  ];
  /** Requests per step that saw one split from start to end: [sent, answered by the new revision]. */
  const byStep = new Map<number, { sent: number; byNew: number }>();
  let sawRolloutInProgress = false;
  let doneAtMs: number | null = firstPercent === 100 ? 0 : null;

  for (let i = 0; i < 2000 && doneAtMs === null; i++) {
    if (performance.now() - startedAt > DURATION_S * 1000 + SLACK_MS) break;
    const before = await newPercent();
    if (!sawRolloutInProgress && before < 100) {
      const s = await serviceView(kedge, SERVICE);
      sawRolloutInProgress =
        s?.conditions.some((c) => c.type === 'RoutesReady' && c.reason === 'RolloutInProgress') ?? false;
    }
    const answers: string[] = [];
    for (let k = 0; k < BATCH; k++) answers.push(await answeredBy());
    const afterPercent = await newPercent();
    const atMs = performance.now() - startedAt;
    observed.push({ atMs, percent: afterPercent });
    if (before === afterPercent && before < 100) {
      const bucket = byStep.get(before) ?? { sent: 0, byNew: 0 };
      bucket.sent += answers.length;
      bucket.byNew += answers.filter((a) => a === NEW).length;
      byStep.set(before, bucket);
    }
    for (const a of answers) assert.ok(a === OLD || a === NEW, `answer from ${a}`);
    if (afterPercent === 100) doneAtMs = atMs;
  }

  const seen = [...new Set(observed.map((o) => o.percent))];
  t.diagnostic(
    `first ${firstPercent} %, 100 % after ${doneAtMs === null ? 'never' : Math.round(doneAtMs)} ms; seen ${seen.join(', ')}; ` +
      [...byStep].map(([p, b]) => `${p} %: ${b.byNew}/${b.sent} new`).join('; '),
  );

  // Knative's steps, in order, and no other value.
  for (const o of observed) assert.ok(STEPS.includes(o.percent), `${o.percent} % is one of Knative's steps`);
  for (let i = 1; i < observed.length; i++) {
    assert.ok(
      (observed[i]?.percent ?? 0) >= (observed[i - 1]?.percent ?? 0),
      'the new share never goes back',
    );
  }
  const intermediate = seen.filter((p) => p > 0 && p < 100);
  assert.ok(intermediate.length >= 3, `the split went through steps, not at once (saw ${seen.join(', ')})`);
  assert.ok(sawRolloutInProgress, 'RoutesReady said RolloutInProgress while the rollout ran');

  // Ends at 100 % within the duration plus slack, and no earlier than the steps left allow (a
  // timer never fires early; one step of margin for where within a step the first read fell).
  assert.notEqual(doneAtMs, null, `100 % within ${DURATION_S} s + ${SLACK_MS} ms`);
  const stepsLeft = STEPS.length - 1 - STEPS.indexOf(firstPercent);
  assert.ok(
    (doneAtMs ?? 0) >= (stepsLeft - 1) * STEP_MS,
    `no faster than the steps (${doneAtMs} ms for ${stepsLeft} steps)`,
  );

  // Each step's requests split as its percentages say, within a binomial band.
  let sent = 0;
  for (const [percent, bucket] of byStep) {
    sent += bucket.sent;
    const p = percent / 100;
    const share = bucket.byNew / bucket.sent;
    const band = 4 * Math.sqrt((p * (1 - p)) / bucket.sent) + 0.05;
    assert.ok(
      Math.abs(share - p) <= band,
      `at ${percent} %: ${bucket.byNew} of ${bucket.sent} answers (${(share * 100).toFixed(1)} %) from ${NEW}, want ${percent} ± ${(band * 100).toFixed(1)}`,
    );
  }
  assert.ok(sent >= 50, `the rollout was measured with real load (${sent} requests)`);

  // Done: Ready again, all traffic on the new revision.
  const done = await waitFor(
    'the Service to be Ready after the rollout',
    async () => {
      const s = await serviceView(kedge, SERVICE);
      return s?.ready === true ? s : undefined;
    },
    10_000,
  );
  assert.deepEqual(
    done.traffic.map((x) => [x.revisionName, x.percent]),
    [[NEW, 100]],
  );
  const last: string[] = [];
  for (let k = 0; k < 20; k++) last.push(await answeredBy());
  assert.deepEqual([...new Set(last)], [NEW]);
});
