// Fault 2, rollout under load: v1 → v2 → rollback to v1 by revisionName while 200 req/s flow.
// The promise: no request fails, and every answer comes from a revision that is Ready (a revision
// is never sent traffic it cannot take: requests wait for it in the gateway's queue instead).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  FULL,
  Tally,
  hostOf,
  pacedLoad,
  report,
  revisionView,
  sleep,
  startPlatform,
  writeAutoscalerConfig,
  writeService,
  type AppService,
  type Platform,
} from '../support/faults.js';
import { waitFor } from '../support/kedge-process.js';

const RPS = 200;
/** How long each phase keeps the new target before the next change. */
const SETTLE_MS = FULL ? 10_000 : 3_000;

const v1: AppService = {
  name: 'roll',
  revisionName: 'roll-v1',
  env: { VERSION: 'v1', DELAY_MS: '5' },
  traffic: [{ revisionName: 'roll-v1', percent: 100 }],
};
const v2: AppService = {
  ...v1,
  revisionName: 'roll-v2',
  env: { VERSION: 'v2', DELAY_MS: '5' },
  traffic: [{ revisionName: 'roll-v2', percent: 100 }],
};
/** Knative rollback: the template stays at v2, traffic names v1 again (no new revision). */
const rollback: AppService = { ...v2, traffic: [{ revisionName: 'roll-v1', percent: 100 }] };

let platform: Platform;
/** Every response of the rollout, kept for the zero-failure test below. */
const tally = new Tally();

before(async () => {
  platform = await startPlatform('rollout', (dir) => {
    writeService(dir, v1);
    // Short windows, so the revision that loses its traffic really scales to zero meanwhile.
    writeAutoscalerConfig(dir, { 'stable-window': '6s', 'scale-to-zero-grace-period': '1s' });
  });
  await waitFor(
    'roll-v1 to be ready',
    async () => ((await revisionView(platform.kedge, 'roll-v1'))?.readyReplicas === 1 ? true : undefined),
    20_000,
  );
});

after(async () => {
  await platform.close();
});

test(`v1 → v2 → rollback to v1 at ${RPS} req/s: every answer from a ready revision`, async (t) => {
  const { kedge, dir } = platform;
  /** Revision of each answer, in arrival order, with its time. */
  const answers: { atMs: number; revision: string }[] = [];
  const started = performance.now();
  let done = false;
  const load = pacedLoad({
    port: kedge.gatewayPort,
    host: hostOf('roll'),
    rps: RPS,
    durationMs: 120_000,
    maxInFlight: 200,
    tally,
    stop: () => done,
    onResponse: (shot) => {
      if (shot.status === 200) {
        answers.push({ atMs: performance.now() - started, revision: shot.body.split(' ', 1)[0] ?? '' });
      }
    },
  });
  const switchTo = async (spec: AppService, revision: string, what: string): Promise<number> => {
    const at = performance.now() - started;
    writeService(dir, spec);
    await waitFor(
      `${what}: answers from ${revision}`,
      () => Promise.resolve(answers.some((a) => a.atMs > at && a.revision === revision) ? true : undefined),
      30_000,
      50,
    );
    const first = answers.find((a) => a.atMs > at && a.revision === revision);
    return Math.round((first?.atMs ?? at) - at);
  };
  try {
    await sleep(SETTLE_MS);
    const toV2Ms = await switchTo(v2, 'roll-v2', 'rollout');
    // roll-v1 lost its traffic; with a 6 s window it reaches zero, and the rollback cold-starts it
    // under full load (the harder case: 200 req/s queue for it).
    await sleep(SETTLE_MS);
    await waitFor(
      'roll-v1 to scale to zero',
      async () => ((await revisionView(kedge, 'roll-v1'))?.readyReplicas === 0 ? true : undefined),
      30_000,
      200,
    );
    const v1Before = await revisionView(kedge, 'roll-v1');
    const toV1Ms = await switchTo(rollback, 'roll-v1', 'rollback');
    await sleep(SETTLE_MS);
    done = true;
    await load;
    const views = await Promise.all(['roll-v1', 'roll-v2'].map((n) => revisionView(kedge, n)));
    const seen = [...new Set(answers.map((a) => a.revision))].sort();
    report(t, 'rollout under load', {
      rps: RPS,
      requests: tally.total,
      failed: tally.failed,
      durationS: Math.round((performance.now() - started) / 1000),
      firstV2AnswerAfterMs: toV2Ms,
      firstV1AnswerAfterRollbackMs: toV1Ms,
      v1ReplicasBeforeRollback: v1Before?.readyReplicas ?? -1,
      answersBy: Object.fromEntries(tally.byBody),
    });
    assert.deepEqual(seen, ['roll-v1', 'roll-v2'], 'only the two revisions answered');
    for (const view of views) assert.equal(view?.ready, true, `${view?.name ?? '?'} is Ready`);
    // After the rollback settled, v2 no longer answers (the last SETTLE_MS of answers are all v1).
    const lastMs = answers.at(-1)?.atMs ?? 0;
    const tail = answers.filter((a) => a.atMs > lastMs - SETTLE_MS / 2);
    assert.ok(tail.length > 0 && tail.every((a) => a.revision === 'roll-v1'), 'traffic is back on v1');
    assert.ok(tally.total >= RPS * ((3 * SETTLE_MS) / 1000) * 0.8, `the load was real (${tally.total})`);
  } finally {
    done = true;
    await load;
  }
});

test(`v1 → v2 → rollback to v1 at ${RPS} req/s: zero failed requests`, () => {
  assert.ok(tally.total > 0, 'the rollout ran');
  assert.equal(tally.failed, 0, tally.summary());
});
