import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HISTORY_POINTS, MetricsHistory, SAMPLE_INTERVAL_MS, type RevisionSample } from './history.js';

const REV = 'default/hello-00001';

function s(o: Partial<RevisionSample> = {}): RevisionSample {
  return {
    revision: REV,
    observedConcurrency: 0,
    stableConcurrency: 0,
    desiredReplicas: 1,
    readyReplicas: 1,
    panic: false,
    ...o,
  };
}

/** Feeds one sample per row at 2 s steps from t0; a row is [desired, ready]. */
function run(rows: readonly (readonly [number, number])[], t0 = 1_000_000): MetricsHistory {
  const h = new MetricsHistory();
  rows.forEach(([desired, ready], i) => {
    h.sample(t0 + i * SAMPLE_INTERVAL_MS, [s({ desiredReplicas: desired, readyReplicas: ready })]);
  });
  return h;
}

test('ten minutes at 2 s is 300 points', () => {
  assert.equal(HISTORY_POINTS, 300);
});

test('columns come back oldest first, and the ring keeps only the newest points', () => {
  const h = new MetricsHistory({ points: 3 });
  for (let i = 1; i <= 5; i++) {
    h.sample(i * 2000, [
      s({ observedConcurrency: i, stableConcurrency: i / 2, desiredReplicas: i, panic: i % 2 === 0 }),
    ]);
  }
  const series = h.series(REV);
  assert.ok(series);
  assert.deepEqual(series.timeMs, [6000, 8000, 10_000]);
  assert.deepEqual(series.observedConcurrency, [3, 4, 5]);
  assert.deepEqual(series.stableConcurrency, [1.5, 2, 2.5]);
  assert.deepEqual(series.desiredReplicas, [3, 4, 5]);
  assert.deepEqual(series.readyReplicas, [1, 1, 1]);
  assert.deepEqual(series.panic, [false, true, false]);
});

test('since= returns only newer samples', () => {
  const h = run([
    [1, 1],
    [1, 1],
    [1, 1],
  ]);
  assert.deepEqual(h.series(REV, 1_002_000)?.timeMs, [1_004_000]);
});

test('a sample at or before the last one is ignored (no time travel)', () => {
  const h = new MetricsHistory();
  h.sample(2000, [s()]);
  h.sample(2000, [s({ observedConcurrency: 9 })]);
  h.sample(1000, [s({ observedConcurrency: 9 })]);
  assert.deepEqual(h.series(REV)?.observedConcurrency, [0]);
});

test('a revision missing from a sample is forgotten; an unknown one is undefined', () => {
  const h = new MetricsHistory();
  h.sample(2000, [s(), s({ revision: 'default/hello-00002' })]);
  h.sample(4000, [s({ revision: 'default/hello-00002' })]);
  assert.deepEqual(h.revisions(), ['default/hello-00002']);
  assert.equal(h.series(REV), undefined);
});

test('points must be a positive integer', () => {
  assert.throws(() => new MetricsHistory({ points: 0 }), RangeError);
});

interface ColdCase {
  readonly name: string;
  readonly rows: readonly (readonly [number, number])[];
  /** [start offset ms from t0, duration ms] */
  readonly want: readonly (readonly [number, number])[];
}

const T0 = 1_000_000;
const cases: readonly ColdCase[] = [
  {
    name: 'idle, then starting for two samples, then ready: from the last idle sample to the first ready one',
    rows: [
      [1, 1],
      [0, 0],
      [1, 0],
      [1, 0],
      [1, 1],
    ],
    want: [[2000, 6000]],
  },
  {
    name: 'a start faster than one interval: one interval, an upper bound',
    rows: [
      [0, 0],
      [1, 1],
    ],
    want: [[0, 2000]],
  },
  {
    name: 'a new revision starting is a deployment, not a cold start',
    rows: [
      [1, 0],
      [1, 0],
      [1, 1],
    ],
    want: [],
  },
  {
    name: 'a crashed replica restarting is not a cold start',
    rows: [
      [1, 1],
      [1, 0],
      [1, 1],
    ],
    want: [],
  },
  {
    name: 'two cold starts',
    rows: [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 1],
      [0, 0],
      [0, 0],
      [2, 0],
      [2, 2],
    ],
    want: [
      [0, 2000],
      [10_000, 4000],
    ],
  },
  {
    name: 'asked to start, then back to zero before ready: nothing',
    rows: [
      [0, 0],
      [1, 0],
      [0, 0],
      [0, 0],
    ],
    want: [],
  },
];

for (const c of cases) {
  test(`cold start from samples: ${c.name}`, () => {
    const got = run(c.rows, T0).series(REV)?.coldStarts ?? [];
    assert.deepEqual(
      got.map((x) => [x.timeMs - T0, x.durationMs]),
      c.want,
    );
    assert.ok(got.every((x) => x.estimated));
  });
}

test('exact cold starts from the gateway replace the estimates for good', () => {
  const h = run(
    [
      [0, 0],
      [1, 1],
    ],
    T0,
  );
  assert.equal(h.series(REV)?.coldStarts.length, 1);
  h.coldStart(REV, T0 + 2500, 850);
  assert.deepEqual(h.series(REV)?.coldStarts, [{ timeMs: T0 + 2500, durationMs: 850, estimated: false }]);
  // Later transitions are no longer derived.
  h.sample(T0 + 4000, [s({ desiredReplicas: 0, readyReplicas: 0 })]);
  h.sample(T0 + 6000, [s({ desiredReplicas: 1, readyReplicas: 1 })]);
  assert.equal(h.series(REV)?.coldStarts.length, 1);
});

test('cold starts older than the window are dropped', () => {
  const h = new MetricsHistory({ points: 5 });
  h.sample(T0, [s({ desiredReplicas: 0, readyReplicas: 0 })]);
  h.sample(T0 + 2000, [s()]);
  assert.equal(h.series(REV)?.coldStarts.length, 1);
  for (let i = 2; i <= 8; i++) h.sample(T0 + i * 2000, [s()]);
  assert.deepEqual(h.series(REV)?.coldStarts, []);
});
