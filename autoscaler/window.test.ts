import assert from 'node:assert/strict';
import { test } from 'node:test';
import { currentMax, MetricWindow, newMaxWindow, recordMax, smoothingCoefficient } from './window.js';

const T = 1_000_000; // a whole second, far from 0
const s = (seconds: number): number => T + seconds * 1000;

function near(actual: number, expected: number, epsilon = 1e-6): void {
  assert.ok(Math.abs(actual - expected) <= epsilon, `${actual} ≉ ${expected}`);
}

test('linear: a partial window averages over the seconds written so far (Knative firstWrite)', () => {
  const w = new MetricWindow(5000);
  w.record(s(0), 1);
  // Knative bucketing_test: "without firstWrite we'd get 0.2".
  assert.equal(w.average(s(0)), 1);
});

test("linear: Knative's WindowAverage scenario, step by step", () => {
  const w = new MetricWindow(5000);
  w.record(s(0), 1);
  for (let i = 1; i < 5; i++) w.record(s(i), i + 1);
  assert.equal(w.average(s(4)), 15 / 5);
  // `now` lagging behind the last write.
  assert.equal(w.average(s(3.6)), 15 / 5);
  // A short hole: the two oldest buckets left the window, the trailing seconds are not counted.
  assert.equal(w.average(s(6)), (15 - 1 - 2) / (5 - 2));
  // A hole longer than the window: 0.
  assert.equal(w.average(s(10)), 0);
  // A write after a short hole: the gap counts as zeros over the full window.
  w.record(s(6), 91);
  near(w.average(s(6)), (15 - 1 - 2 + 91) / 5);
  // Much later: a new series.
  w.record(s(66), 1984);
  assert.equal(w.average(s(66)), 1984);
  // An earlier second within the window extends the series backwards.
  w.record(s(63), 4);
  near(w.average(s(66)), (4 + 1984) / 4);
  w.record(s(67), 5);
  near(w.average(s(67)), (4 + 1984 + 5) / 5);
  w.record(s(64), 10);
  near(w.average(s(67)), (4 + 10 + 1984 + 5) / 5);
  // A value a window older than the last write is ignored.
  w.record(s(61), 10);
  near(w.average(s(67)), (4 + 10 + 1984 + 5) / 5);
});

test('linear: values in the same second are summed (activator poke + gateway report)', () => {
  const w = new MetricWindow(60_000);
  w.record(s(0), 1);
  w.record(s(0.1), 10);
  w.record(s(1), 1);
  assert.equal(w.average(s(1)), 12 / 2);
});

test('linear: descending writes keep one value per second (Knative TestDescendingRecord)', () => {
  const w = new MetricWindow(5000);
  for (let i = 8; i >= 0; i--) w.record(s(i), 5);
  assert.equal(w.average(s(5)), 5);
});

test('linear: skipped seconds are zeroed, not left over from a lap ago (Knative TestTimedFloat64BucketsHoles)', () => {
  const w = new MetricWindow(5000);
  for (let i = 0; i < 5; i++) w.record(s(i), i + 1);
  assert.equal(w.average(s(4)), 3);
  w.record(s(8), 2);
  // Seconds 4 (5) and 8 (2) remain: 7 over 5 buckets.
  near(w.average(s(8)), 7 / 5);
});

test('linear: a full window without writes resets the series', () => {
  const w = new MetricWindow(5000);
  w.record(s(0), 10);
  w.record(s(5), 2);
  assert.equal(w.average(s(5)), 2);
});

test('linear: never written → 0; float residue does not keep a pod alive', () => {
  assert.equal(new MetricWindow(6000).average(s(0)), 0);
  const w = new MetricWindow(3000);
  w.record(s(0), 0.1);
  w.record(s(1), 0.2);
  w.record(s(2), 0);
  w.record(s(3), 0);
  w.record(s(4), 0);
  // 0.1 + 0.2 − 0.1 − 0.2 leaves ~2.8e-17 in the running total; Knative floors to 6 digits.
  assert.equal(w.average(s(4)), 0);
});

test('linear: resize keeps the newest buckets (Knative TestTimedFloat64BucketsWindowUpdate)', () => {
  const w = new MetricWindow(5000);
  for (let i = 0; i <= 5; i++) w.record(s(i), i + 1);
  assert.equal(w.average(s(5)), (2 + 3 + 4 + 5 + 6) / 5);
  w.resize(10_000, s(5));
  assert.equal(w.bucketCount, 10);
  // At most 5 buckets were known: the average does not change.
  assert.equal(w.average(s(5)), 20 / 5);
  w.record(s(6), 7);
  assert.equal(w.average(s(6)), 27 / 6);
  w.resize(4000, s(6));
  assert.equal(w.average(s(6)), (27 - 2 - 3) / 4);
  // A resize long after the last write starts empty.
  w.resize(6000, s(60));
  assert.equal(w.average(s(60)), 0);
});

test('weighted-exponential: alpha = max(1 − 0.0001^(1/n), 0.2)', () => {
  near(smoothingCoefficient(10), 1 - Math.pow(0.0001, 0.1), 1e-12);
  assert.equal(smoothingCoefficient(60), 0.2);
  near(smoothingCoefficient(6), 0.784557, 1e-6);
});

test("weighted-exponential: Knative's documented example (10 s and 3 s windows)", () => {
  const stable = new MetricWindow(10_000, 'weighted-exponential');
  const panic = new MetricWindow(3000, 'weighted-exponential');
  const base = T + 500; // Knative's example starts mid-second
  [1, 3, 5, 4, 6, 7, 2, 8, 10, 20].forEach((c, i) => {
    stable.record(base + (i + 1) * 1000, c);
    panic.record(base + (i + 1) * 1000, c);
  });
  near(stable.average(base + 10_000), 15.430728028666296, 1e-9);
  near(panic.average(base + 10_000), 19.530732247258655, 1e-9);
});

test('weighted-exponential: seconds since the last write weigh in as zeros; past the window → 0', () => {
  const w = new MetricWindow(60_000, 'weighted-exponential');
  w.record(s(0), 10);
  near(w.average(s(0)), 10 * 0.2, 1e-12);
  near(w.average(s(1)), 10 * 0.2 * 0.8, 1e-12);
  assert.equal(w.average(s(61)), 0);
  assert.equal(new MetricWindow(6000, 'weighted-exponential').average(s(0)), 0);
});

test('max window: the maximum over the window, with 2 s buckets', () => {
  let w = newMaxWindow(5000); // ceil(5 s / 2 s) = 3 buckets
  assert.equal(w.size, 3);
  assert.equal(currentMax(w), 0);
  w = recordMax(w, 0, 5);
  w = recordMax(w, 2000, 3);
  assert.equal(currentMax(w), 5);
  w = recordMax(w, 4000, 1);
  assert.equal(currentMax(w), 5);
  // Bucket 3 is 3 buckets after bucket 0: 5 slides out, 3 is the maximum.
  w = recordMax(w, 6000, 1);
  assert.equal(currentMax(w), 3);
  w = recordMax(w, 8000, 0);
  assert.equal(currentMax(w), 1);
});

test('max window: a larger value replaces smaller older ones; the same bucket keeps the larger', () => {
  let w = newMaxWindow(10_000);
  w = recordMax(w, 0, 2);
  w = recordMax(w, 2000, 1);
  w = recordMax(w, 4000, 7);
  assert.deepEqual(w.entries, [{ index: 2, value: 7 }]);
  w = recordMax(w, 4500, 3);
  assert.deepEqual(w.entries, [{ index: 2, value: 7 }]);
});

test('max window: recordMax returns a new window and leaves the old one alone', () => {
  const a = recordMax(newMaxWindow(4000), 0, 4);
  const b = recordMax(a, 2000, 9);
  assert.equal(currentMax(a), 4);
  assert.equal(currentMax(b), 9);
});
