import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { BucketHistogram } from './bucket-histogram.js';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.1, 1, 10];

function pair(): { ours: BucketHistogram; theirs: Histogram; a: Registry; b: Registry } {
  const a = new Registry();
  const b = new Registry();
  const o = { name: 'x_seconds', help: 'How long x took' };
  const ours = new BucketHistogram(o.name, o.help, BUCKETS, [a]);
  const theirs = new Histogram({ ...o, buckets: BUCKETS, registers: [b] });
  return { ours, theirs, a, b };
}

test('exposition text and JSON match a prom-client Histogram fed the same values', async () => {
  const { ours, theirs, a, b } = pair();
  assert.equal(await a.metrics(), await b.metrics(), 'before any observation');
  // Bounds themselves fall in their own bucket (le = less or equal); past the last one only +Inf.
  const values = [0, 0.0005, 0.001, 0.0010001, 0.0025, 0.007, 0.01, 0.5, 1, 9.99, 10, 11, 1e6];
  for (let round = 0; round < 3; round++)
    for (const v of values) {
      ours.observe(v);
      theirs.observe(v);
    }
  assert.equal(await a.metrics(), await b.metrics());
  // As serialised: prom-client's objects also carry `exemplar: undefined` on _sum and _count.
  const json = async (r: Registry): Promise<unknown> =>
    JSON.parse(JSON.stringify(await r.getMetricsAsJSON()));
  assert.deepEqual(await json(a), await json(b));
  ours.reset();
  theirs.reset();
  assert.equal(await a.metrics(), await b.metrics(), 'after reset');
});
