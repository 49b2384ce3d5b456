// Fault 10, leak check: many requests against a hello world. The promise: kedge's RSS after the
// run is within 20 MB of its RSS before (after a warm-up), so nothing grows per request.
// Short: 100 000 requests; KEDGE_FAULTS=full: 1 000 000.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Pool } from 'undici';
import {
  FULL,
  Tally,
  hostOf,
  mb,
  memoryOf,
  report,
  revisionView,
  sleep,
  startPlatform,
  writeService,
  type Platform,
} from '../support/faults.js';
import { waitFor } from '../support/kedge-process.js';

const REQUESTS = FULL ? 1_000_000 : 100_000;
const WARMUP = 20_000;
const CONNECTIONS = 48;
/** Far above what the machine needs (~5 000 req/s): the run is bounded in time too. */
const MAX_MS = FULL ? 900_000 : 120_000;
const MAX_GROWTH = 20 * 1024 * 1024;

let platform: Platform;

before(async () => {
  platform = await startPlatform('leak', (dir) => {
    // One replica, so the numbers measure kedge and not replica start-ups.
    writeService(dir, {
      name: 'hello',
      annotations: { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '1' },
    });
  });
  await waitFor(
    'hello to be ready',
    async () => ((await revisionView(platform.kedge, 'hello-00001'))?.readyReplicas === 1 ? true : undefined),
    20_000,
  );
});

after(async () => {
  await platform.close();
});

/** `count` GETs over one keep-alive pool, CONNECTIONS at a time; every answer is counted. */
async function hammer(port: number, count: number, deadline: number, tally: Tally): Promise<void> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONNECTIONS, pipelining: 1 });
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (sent < count && Date.now() < deadline) {
      sent++;
      try {
        const res = await pool.request({ path: '/', method: 'GET', headers: { host: hostOf('hello') } });
        const body = await res.body.text();
        tally.add(res.statusCode, body);
      } catch (err) {
        tally.add(0, err instanceof Error ? err.message : String(err));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  } finally {
    await pool.close();
  }
}

test(`${REQUESTS} requests: kedge's RSS grows by less than ${mb(MAX_GROWTH)}`, async (t) => {
  const { kedge } = platform;
  const deadline = Date.now() + MAX_MS;
  const warm = new Tally();
  await hammer(kedge.gatewayPort, WARMUP, deadline, warm);
  await sleep(1_000);
  const before = memoryOf(kedge.pid);
  const tally = new Tally();
  const started = performance.now();
  await hammer(kedge.gatewayPort, REQUESTS, deadline, tally);
  const seconds = (performance.now() - started) / 1000;
  await sleep(1_000);
  const afterRun = memoryOf(kedge.pid);
  const view = await revisionView(kedge, 'hello-00001');
  report(t, 'leak check', {
    requests: tally.total,
    failed: tally.failed + warm.failed,
    seconds: seconds.toFixed(1),
    rps: Math.round(tally.total / seconds),
    rssBefore: mb(before.rss),
    rssAfter: mb(afterRun.rss),
    growth: mb(afterRun.rss - before.rss),
    vmHwm: mb(afterRun.hwm),
  });
  assert.equal(tally.total, REQUESTS, `all ${REQUESTS} requests sent within ${MAX_MS / 1000} s`);
  assert.equal(tally.failed + warm.failed, 0, tally.summary());
  assert.ok(afterRun.rss - before.rss < MAX_GROWTH, `RSS ${mb(before.rss)} → ${mb(afterRun.rss)}`);
  assert.equal(view?.inFlight, 0);
  assert.equal(view.queued, 0);
});
