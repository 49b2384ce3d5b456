import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../lib/log.js';
import { FakeAutoscaler } from '../test/cluster-data-plane/fakes.js';
import { StatsBatch, StatsForwarder } from './cluster-stats-forwarder.js';

const A = 'default/a-00001';
const B = 'default/b-00001';

test('StatsBatch folds two periods of one revision into one per-second value', () => {
  const batch = new StatsBatch();
  batch.add([{ revision: A, averageConcurrency: 2, requestCount: 10 }]);
  batch.add([
    { revision: A, averageConcurrency: 4, requestCount: 20 },
    { revision: B, averageConcurrency: 1, requestCount: 1 },
  ]);
  assert.deepEqual(batch.take(), [
    { revision: A, averageConcurrency: 3, requestCount: 15 },
    { revision: B, averageConcurrency: 1, requestCount: 1 },
  ]);
  assert.equal(batch.size, 0);
  assert.deepEqual(batch.take(), []);
});

test('reports carry the stats and the in-flight map; pokes go out at once', async (t) => {
  const autoscaler = new FakeAutoscaler();
  await autoscaler.start();
  let inFlight: Record<string, number> = { p1: 2, p2: 0 };
  const fwd = new StatsForwarder({
    autoscalerUrl: autoscaler.url,
    source: 'gw-a',
    logger: silentLogger,
    inFlight: () => inFlight,
  });
  t.after(async () => {
    await fwd.close();
    await autoscaler.stop();
  });
  fwd.record('ignored', [{ revision: A, averageConcurrency: 1.5, requestCount: 3 }], 0);
  await fwd.flush();
  assert.deepEqual(
    autoscaler.reports.map(({ atMs: _, ...r }) => r),
    [
      {
        source: 'gw-a',
        stats: [{ revision: A, averageConcurrency: 1.5, requestCount: 3 }],
        inFlight: { p1: 2, p2: 0 },
      },
    ],
  );
  inFlight = {};
  await fwd.flush();
  assert.deepEqual(autoscaler.reports[1]?.stats, [], 'a report goes out with no stats too (heartbeat)');

  fwd.poke(B, 0); // synchronous, never awaited by the caller
  await autoscaler.received.until('the poke', () => autoscaler.pokes.length === 1);
  assert.equal(autoscaler.pokes[0]?.revision, B);
  assert.equal(autoscaler.pokes[0].source, 'gw-a');
});

test('a failing autoscaler costs a report, never an exception', async (t) => {
  const autoscaler = new FakeAutoscaler();
  autoscaler.status = 500;
  await autoscaler.start();
  const fwd = new StatsForwarder({
    autoscalerUrl: autoscaler.url,
    source: 'gw',
    logger: silentLogger,
    inFlight: () => ({}),
  });
  t.after(async () => {
    await fwd.close();
    await autoscaler.stop();
  });
  await fwd.flush();
  assert.equal(fwd.counts.failures, 1);
  autoscaler.status = 204;
  await fwd.flush();
  assert.equal(fwd.counts.reports, 1);
});
