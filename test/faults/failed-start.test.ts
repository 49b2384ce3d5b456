// Fault 5, a revision that fails to start. The promise: requests waiting for it are answered
// within a second of the failure with a 503 that names the revision and the reason, never left
// to hang until timeoutSeconds (300 s here); the failure is visible in the admin API; and a
// revision that failed a cold start recovers once its replica can start again.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  hostOf,
  report,
  revisionView,
  serviceView,
  shoot,
  startPlatform,
  writeAutoscalerConfig,
  writeService,
  type Platform,
  type Shot,
} from '../support/faults.js';
import { waitFor } from '../support/kedge-process.js';

const WAITERS = 10;
const WITHIN_MS = 1_000;

let platform: Platform;
const zeroAtFirst = { 'autoscaling.knative.dev/initial-scale': '0' };
const flags = (dir: string, name: string): Record<string, string> => ({
  FAIL_FLAG: join(dir, `${name}.fail`),
  HANG_FLAG: join(dir, `${name}.hang`),
  FAIL_STAMP: join(dir, `${name}.stamp`),
  FAIL_DELAY_MS: '1500',
});

before(async () => {
  platform = await startPlatform('failed-start', (dir) => {
    writeAutoscalerConfig(dir, {
      'stable-window': '6s',
      'scale-to-zero-grace-period': '1s',
      'allow-zero-initial-scale': 'true',
    });
    // Exits with code 3, 1.5 s after it starts, every time.
    writeFileSync(join(dir, 'crash.fail'), '');
    writeService(dir, { name: 'crash', env: flags(dir, 'crash'), annotations: zeroAtFirst });
    // Never listens: the progress deadline (2 s) ends the wait.
    writeFileSync(join(dir, 'stuck.hang'), '');
    writeService(dir, {
      name: 'stuck',
      env: flags(dir, 'stuck'),
      annotations: { ...zeroAtFirst, 'serving.knative.dev/progress-deadline': '2s' },
    });
    // Healthy at first; fails its cold starts once the flag file exists.
    writeService(dir, { name: 'cold', env: flags(dir, 'cold') });
  });
});

after(async () => {
  await platform.close();
});

function assertFailed(shot: Shot, revision: string, reason: RegExp): void {
  assert.equal(shot.status, 503, `${shot.status} ${shot.body}`);
  assert.equal(shot.headers['x-kedge-error'], 'KEDGE_REVISION_FAILED');
  assert.match(shot.body, new RegExp(`revision default/${revision}: failed`));
  assert.match(shot.body, reason);
}

/** Sends WAITERS requests at once; each records when (epoch ms) its answer arrived. */
async function waiters(service: string): Promise<(Shot & { atMs: number })[]> {
  return Promise.all(
    Array.from({ length: WAITERS }, async () => {
      const shot = await shoot(platform.kedge.gatewayPort, hostOf(service));
      return { ...shot, atMs: Date.now() };
    }),
  );
}

test('a replica that exits at start: every queued request gets 503 with the reason within 1 s of the exit', async (t) => {
  const { dir } = platform;
  const shots = await waiters('crash');
  const exitedAt = Number(readFileSync(join(dir, 'crash.stamp'), 'utf8'));
  const afterExit = shots.map((s) => s.atMs - exitedAt);
  report(t, 'failed start (exit 3 after 1.5 s)', {
    queued: WAITERS,
    answered503: shots.filter((s) => s.status === 503).length,
    answeredAfterExitMs: [Math.min(...afterExit), Math.max(...afterExit)],
    totalWaitMs: Math.round(Math.max(...shots.map((s) => s.ms))),
    body: shots[0]?.body.trim(),
  });
  for (const shot of shots) assertFailed(shot, 'crash-00001', /ExitCode3.*cannot reach the database/);
  assert.ok(Math.max(...afterExit) <= WITHIN_MS, `answered ${Math.max(...afterExit)} ms after the exit`);
  const view = await revisionView(platform.kedge, 'crash-00001');
  assert.equal(view?.failure?.reason, 'ExitCode3');
  assert.equal(view.queued, 0);
  const revisionReady = view.conditions.find((c) => c.type === 'Ready');
  assert.equal(revisionReady?.status, 'False');
  assert.match(revisionReady.message, /exited with code 3 before it was ready/);
  const service = await serviceView(platform.kedge, 'crash');
  assert.equal(service?.conditions.find((c) => c.type === 'Ready')?.status, 'False');
  // A new request does not wait for a start that already failed: the route has no revision left
  // to send it to (the only one failed before it was ever ready).
  const again = await shoot(platform.kedge.gatewayPort, hostOf('crash'));
  assert.equal(again.status, 503, again.body);
  assert.equal(again.headers['x-kedge-error'], 'KEDGE_NO_READY_REVISION');
  assert.ok(again.ms < 500, `answered at once (${Math.round(again.ms)} ms)`);
});

test('a replica that never listens: queued requests get 503 at the 2 s progress deadline', async (t) => {
  const shots = await waiters('stuck');
  const slowest = Math.max(...shots.map((s) => s.ms));
  report(t, 'failed start (never listens, progress-deadline=2s)', {
    queued: WAITERS,
    answered503: shots.filter((s) => s.status === 503).length,
    slowestMs: Math.round(slowest),
  });
  for (const shot of shots) assertFailed(shot, 'stuck-00001', /ProgressDeadlineExceeded/);
  assert.ok(slowest <= 2_000 + WITHIN_MS, `answered after ${Math.round(slowest)} ms`);
});

test('a cold start that fails after the revision was ready: 503 within 1 s, then recovery', async (t) => {
  const { kedge, dir } = platform;
  await waitFor(
    'cold-00001 to scale to zero',
    async () => {
      const v = await revisionView(kedge, 'cold-00001');
      return v?.ready === true && v.desiredReplicas === 0 && v.readyReplicas === 0 ? true : undefined;
    },
    40_000,
    200,
  );
  writeFileSync(join(dir, 'cold.fail'), '');
  const shots = await waiters('cold');
  const exitedAt = Number(readFileSync(join(dir, 'cold.stamp'), 'utf8'));
  const afterExit = shots.map((s) => s.atMs - exitedAt);
  for (const shot of shots) assertFailed(shot, 'cold-00001', /ExitCode3.*cannot reach the database/);
  assert.ok(Math.max(...afterExit) <= WITHIN_MS, `answered ${Math.max(...afterExit)} ms after the exit`);
  // The cause goes away; kedge restarts the replica after its backoff and the revision serves again.
  rmSync(join(dir, 'cold.fail'));
  const recoveredAt = performance.now();
  const ok = await waitFor(
    'cold to answer again',
    async () => {
      const shot = await shoot(kedge.gatewayPort, hostOf('cold'));
      return shot.status === 200 ? shot : undefined;
    },
    30_000,
    250,
  );
  report(t, 'failed cold start after ready', {
    queued: WAITERS,
    answered503: shots.filter((s) => s.status === 503).length,
    answeredAfterExitMs: [Math.min(...afterExit), Math.max(...afterExit)],
    recoveredAfterMs: Math.round(performance.now() - recoveredAt),
  });
  assert.match(ok.body, /^cold-00001 /);
  assert.ok(!existsSync(join(dir, 'cold.fail')));
});
