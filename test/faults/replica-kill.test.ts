// Fault 3, a replica killed with SIGKILL under load. The promise: only the requests in flight on
// that replica may fail (502, at most containerConcurrency of them, the hard cap kedge enforces
// per replica); requests sent after the kill go to the other replica (a refused connection sends
// the request back to the head of the queue, and the dead replica is not picked again); the
// replica is replaced.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  FULL,
  Tally,
  closedLoop,
  hostOf,
  report,
  revisionView,
  sleep,
  startPlatform,
  writeService,
  type Platform,
} from '../support/faults.js';
import { waitFor } from '../support/kedge-process.js';

const CONTAINER_CONCURRENCY = 4;
const CLIENTS = 8;
const KILLS = FULL ? 5 : 1;

let platform: Platform;
/** Failed requests per kill, kept for the bound test below. */
const failuresPerKill: number[] = [];
let summary = '';

before(async () => {
  platform = await startPlatform('kill', (dir) => {
    writeService(dir, {
      name: 'kill',
      env: { DELAY_MS: '40' },
      containerConcurrency: CONTAINER_CONCURRENCY,
      annotations: { 'autoscaling.knative.dev/min-scale': '2', 'autoscaling.knative.dev/max-scale': '2' },
    });
  });
  await waitFor(
    'two ready replicas',
    async () => ((await revisionView(platform.kedge, 'kill-00001'))?.readyReplicas === 2 ? true : undefined),
    20_000,
  );
});

after(async () => {
  await platform.close();
});

test('SIGKILL of a replica under load: only 502s, and the replica is replaced', async (t) => {
  const { kedge } = platform;
  const tally = new Tally();
  /** pid → answers, in order of first answer. */
  const pids = new Map<number, number>();
  let done = false;
  const load = closedLoop({
    port: kedge.gatewayPort,
    host: hostOf('kill'),
    clients: CLIENTS,
    maxRequests: 200_000,
    untilMs: Date.now() + 120_000,
    tally,
    stop: () => done,
    onResponse: (shot) => {
      if (shot.status !== 200) return;
      const pid = Number(shot.body.trim().split(' ')[1]);
      pids.set(pid, (pids.get(pid) ?? 0) + 1);
    },
  });
  const replacedAfterMs: number[] = [];
  try {
    for (let k = 0; k < KILLS; k++) {
      await sleep(1_000);
      const serving = [...pids.keys()].filter((p) => isAlive(p));
      assert.ok(serving.length >= 2, `two replicas answer (${serving.join(', ')})`);
      const victim = serving[0] ?? 0;
      const failedBefore = tally.failed;
      const killedAt = performance.now();
      process.kill(victim, 'SIGKILL');
      // The replacement: a pid never seen before starts answering.
      const known = new Set(pids.keys());
      await waitFor(
        'a replacement replica to answer',
        () => Promise.resolve([...pids.keys()].some((p) => !known.has(p)) ? true : undefined),
        20_000,
        50,
      );
      replacedAfterMs.push(Math.round(performance.now() - killedAt));
      await sleep(500);
      failuresPerKill.push(tally.failed - failedBefore);
    }
    done = true;
    const view = await revisionView(kedge, 'kill-00001');
    report(t, 'replica SIGKILL under load', {
      kills: KILLS,
      requests: tally.total,
      failed: tally.failed,
      failuresPerKill,
      bound: CONTAINER_CONCURRENCY,
      replacementAnsweredAfterMs: replacedAfterMs,
      statuses: Object.fromEntries(tally.byStatus),
    });
    summary = tally.summary();
    for (const [status, n] of tally.byStatus) {
      assert.ok(
        status === 200 || status === 502,
        `only 502 may fail, got ${n} × ${status}; ${tally.summary()}`,
      );
    }
    assert.equal(view?.readyReplicas, 2, 'the replica was replaced');
  } finally {
    done = true;
    await load;
  }
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test(`only the requests in flight on the killed replica fail (at most containerConcurrency ${CONTAINER_CONCURRENCY})`, () => {
  assert.ok(failuresPerKill.length > 0, 'the kill test ran');
  for (const n of failuresPerKill)
    assert.ok(n <= CONTAINER_CONCURRENCY, `${n} failures for one kill; ${summary}`);
});
