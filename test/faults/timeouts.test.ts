// Fault 4, a hanging backend, and the queue-wait limit. The promise: a request to a handler that
// never answers gets 504 at the revision's timeoutSeconds (or responseStartTimeoutSeconds /
// idleTimeoutSeconds when set), never later and never hanging; a request that cannot get a
// replica gets 504 at kedge.dev/queue-timeout; and meanwhile the gateway answers other services
// at full speed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import {
  Tally,
  closedLoop,
  hostOf,
  report,
  revisionView,
  shoot,
  startPlatform,
  writeService,
  type Platform,
  type Shot,
} from '../support/faults.js';
import { waitFor } from '../support/kedge-process.js';

/** The gateway checks deadlines on a 100 ms tick; allow that plus scheduling noise on a busy machine. */
const LATE_MS = 900;
const HANGING = 200;

let platform: Platform;

before(async () => {
  platform = await startPlatform('timeouts', (dir) => {
    const one = { 'autoscaling.knative.dev/max-scale': '1' };
    writeService(dir, { name: 'fast', annotations: one });
    writeService(dir, { name: 'hang-total', timeoutSeconds: 4, annotations: one });
    writeService(dir, {
      name: 'hang-start',
      timeoutSeconds: 20,
      responseStartTimeoutSeconds: 1,
      annotations: one,
    });
    writeService(dir, { name: 'hang-idle', timeoutSeconds: 20, idleTimeoutSeconds: 1, annotations: one });
    // A replica that needs 15 s to listen: requests wait for it in the queue, at most 1 s.
    writeService(dir, {
      name: 'queue-wait',
      env: { START_DELAY_MS: '15000' },
      annotations: { ...one, 'kedge.dev/queue-timeout': '1s' },
    });
  });
  for (const name of ['fast', 'hang-total', 'hang-start', 'hang-idle']) {
    await waitFor(
      `${name} to be ready`,
      async () =>
        (await revisionView(platform.kedge, `${name}-00001`))?.readyReplicas === 1 ? true : undefined,
      20_000,
    );
  }
});

after(async () => {
  await platform.close();
});

function assertTimeout(shot: Shot, atMs: number, what: string): void {
  assert.equal(shot.status, 504, `${what}: ${shot.status} ${shot.body}`);
  assert.equal(shot.headers['x-kedge-error'], 'KEDGE_UPSTREAM_TIMEOUT', what);
  assert.ok(
    shot.ms >= atMs - 50 && shot.ms <= atMs + LATE_MS,
    `${what}: answered after ${Math.round(shot.ms)} ms`,
  );
}

test('timeoutSeconds: 504 at 4 s for every hanging request, while another service runs at full speed', async (t) => {
  const { kedge } = platform;
  const measure = async (ms: number): Promise<{ rps: number; tally: Tally }> => {
    const tally = new Tally();
    const started = performance.now();
    await closedLoop({
      port: kedge.gatewayPort,
      host: hostOf('fast'),
      clients: 16,
      maxRequests: 100_000,
      untilMs: Date.now() + ms,
      tally,
    });
    return { rps: tally.total / ((performance.now() - started) / 1000), tally };
  };
  const baseline = await measure(2_000);
  const hanging = Promise.all(
    Array.from({ length: HANGING }, () => shoot(kedge.gatewayPort, hostOf('hang-total'), '/hang')),
  );
  // Give the hanging requests time to reach the replica before measuring.
  await new Promise((r) => setTimeout(r, 300));
  const view = await revisionView(kedge, 'hang-total-00001');
  const during = await measure(3_000);
  const shots = await hanging;
  const late = shots.map((s) => Math.round(s.ms)).sort((a, b) => a - b);
  report(t, 'hanging backend (timeoutSeconds=4)', {
    hanging: HANGING,
    inFlightSeen: view?.inFlight ?? -1,
    answered504: shots.filter((s) => s.status === 504).length,
    fastestMs: late[0],
    slowestMs: late.at(-1),
    otherServiceRpsBefore: Math.round(baseline.rps),
    otherServiceRpsDuring: Math.round(during.rps),
    otherServiceFailed: during.tally.failed,
  });
  for (const shot of shots) assertTimeout(shot, 4_000, 'hanging request');
  assert.equal(baseline.tally.failed + during.tally.failed, 0, during.tally.summary());
  assert.ok(
    during.rps >= baseline.rps * 0.5,
    `other services keep their speed: ${Math.round(during.rps)} req/s during vs ${Math.round(baseline.rps)} before`,
  );
  await waitFor(
    'hang-total to have nothing in flight',
    async () => ((await revisionView(kedge, 'hang-total-00001'))?.inFlight === 0 ? true : undefined),
    5_000,
  );
});

test('responseStartTimeoutSeconds: 504 at 1 s (timeoutSeconds is 20)', async (t) => {
  const shot = await shoot(platform.kedge.gatewayPort, hostOf('hang-start'), '/hang');
  report(t, 'hanging backend (responseStartTimeoutSeconds=1)', {
    status: shot.status,
    ms: Math.round(shot.ms),
  });
  assertTimeout(shot, 1_000, 'response start');
  assert.match(shot.body, /responseStartTimeoutSeconds=1/);
});

test('idleTimeoutSeconds: 504 at 1 s with no byte, and a stalled body is cut 1 s after its last byte', async (t) => {
  const { kedge } = platform;
  const shot = await shoot(kedge.gatewayPort, hostOf('hang-idle'), '/hang');
  assertTimeout(shot, 1_000, 'idle before the response');
  assert.match(shot.body, /idleTimeoutSeconds=1/);
  // /stall sends its head and a first chunk, then nothing: the response is cut (it cannot become a 504).
  const started = performance.now();
  const res = await request(`http://127.0.0.1:${kedge.gatewayPort}/stall`, {
    headers: { host: hostOf('hang-idle') },
  });
  assert.equal(res.statusCode, 200);
  const outcome = await res.body.text().then(
    (text) => `complete: ${text}`,
    (err: unknown) => `cut: ${err instanceof Error ? err.message : String(err)}`,
  );
  const cutMs = performance.now() - started;
  report(t, 'hanging backend (idleTimeoutSeconds=1)', {
    beforeResponseMs: Math.round(shot.ms),
    stalledBodyCutAfterMs: Math.round(cutMs),
  });
  assert.match(outcome, /^cut:/);
  assert.ok(cutMs >= 950 && cutMs <= 1_000 + LATE_MS, `cut after ${Math.round(cutMs)} ms`);
});

test('kedge.dev/queue-timeout: 504 after 1 s in the queue of a replica that takes 15 s to start', async (t) => {
  const { kedge } = platform;
  const shots = await Promise.all(
    Array.from({ length: 20 }, () => shoot(kedge.gatewayPort, hostOf('queue-wait'), '/')),
  );
  const view = await revisionView(kedge, 'queue-wait-00001');
  report(t, 'queue-wait limit (kedge.dev/queue-timeout=1s)', {
    requests: shots.length,
    answered504: shots.filter((s) => s.status === 504).length,
    slowestMs: Math.round(Math.max(...shots.map((s) => s.ms))),
  });
  for (const shot of shots) {
    assert.equal(shot.status, 504, shot.body);
    assert.equal(shot.headers['x-kedge-error'], 'KEDGE_NO_CAPACITY_TIMEOUT');
    assert.match(shot.body, /queue-wait-00001: no replica had capacity within 1s/);
    assert.ok(shot.ms >= 950 && shot.ms <= 1_000 + LATE_MS, `answered after ${Math.round(shot.ms)} ms`);
  }
  assert.equal(view?.queued, 0, 'the queue is empty again');
});
