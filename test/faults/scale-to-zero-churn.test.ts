// Fault 1, scale-to-zero churn: bursts of load separated by idle gaps long enough for the revision
// to reach zero (stable window 6 s + grace 1 s), so every burst starts with a cold start. The
// promise: the first requests of a burst wait for the new replica; none is dropped.
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
  writeAutoscalerConfig,
  writeService,
  type Platform,
} from '../support/faults.js';
import { waitFor } from '../support/kedge-process.js';

/** Long variant: 60 s of bursty load and at least 5 trips to zero; short: 3 trips. */
const MIN_CYCLES = FULL ? 5 : 3;
const LOAD_SPAN_MS = FULL ? 60_000 : 0;
const BURST_MS = 1_500;
const BURST_CLIENTS = 20;
/** A trip to zero takes ~8 s (6 s window, 1 s grace, 2 s ticks); fail loudly if one takes far longer. */
const ZERO_WITHIN_MS = 30_000;

let platform: Platform;

before(async () => {
  platform = await startPlatform('churn', (dir) => {
    writeService(dir, { name: 'churn', env: { DELAY_MS: '5' } });
    writeAutoscalerConfig(dir, { 'stable-window': '6s', 'scale-to-zero-grace-period': '1s' });
  });
});

after(async () => {
  await platform.close();
});

test(`bursty load with ${MIN_CYCLES}+ trips to zero and back loses no request`, async (t) => {
  const { kedge } = platform;
  const rev = (): ReturnType<typeof revisionView> => revisionView(kedge, 'churn-00001');
  const atZero = async (): Promise<true | undefined> => {
    const r = await rev();
    return r !== undefined && r.desiredReplicas === 0 && r.readyReplicas === 0 && r.pendingReplicas === 0
      ? true
      : undefined;
  };
  const tally = new Tally();
  const coldFirstMs: number[] = [];
  const started = Date.now();
  let cycles = 0;
  // Bounded: at most 12 cycles, and each wait is bounded.
  while (cycles < 12 && (cycles < MIN_CYCLES || Date.now() - started < LOAD_SPAN_MS)) {
    await waitFor('the revision to scale to zero', atZero, ZERO_WITHIN_MS, 200);
    cycles++;
    // A burst: the first wave hits a revision at zero and waits in the gateway's queue.
    let first = true;
    await closedLoop({
      port: kedge.gatewayPort,
      host: hostOf('churn'),
      clients: BURST_CLIENTS,
      maxRequests: 5_000,
      untilMs: Date.now() + BURST_MS,
      tally,
      onResponse: (shot) => {
        if (first) {
          first = false;
          coldFirstMs.push(Math.round(shot.ms));
        }
      },
    });
    await sleep(100);
  }
  const final = await rev();
  report(t, 'scale-to-zero churn', {
    cycles,
    requests: tally.total,
    failed: tally.failed,
    durationS: Math.round((Date.now() - started) / 1000),
    coldStartFirstResponseMs: coldFirstMs,
  });
  assert.equal(tally.failed, 0, tally.summary());
  assert.ok(cycles >= MIN_CYCLES, `${cycles} trips to zero`);
  assert.ok(tally.total >= cycles * BURST_CLIENTS, `the load was real (${tally.total} requests)`);
  assert.equal(final?.inFlight, 0);
  assert.equal(final.queued, 0);
});
