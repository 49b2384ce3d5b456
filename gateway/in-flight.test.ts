import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ConcurrencyAccountant } from './in-flight.js';

const R = 'default/hello-00001';

test('time-weighted average over a period: one request for half of it → 0.5', () => {
  const a = new ConcurrencyAccountant(0);
  a.arrive(R, 0);
  a.depart(R, 500);
  assert.deepEqual(a.report(1_000), [{ revision: R, averageConcurrency: 0.5, requestCount: 1 }]);
});

test('steps nowMs explicitly: overlapping requests, a long one spanning periods', () => {
  const a = new ConcurrencyAccountant(0);
  a.arrive(R, 0); // long one
  a.arrive(R, 250);
  a.arrive(R, 250);
  a.depart(R, 750);
  a.depart(R, 750);
  // 1 × 1000 + 2 × 500 = 2000 request·ms over 1000 ms
  assert.deepEqual(a.report(1_000), [{ revision: R, averageConcurrency: 2, requestCount: 3 }]);
  // The long one is still in flight for the whole next period, with no new arrivals.
  assert.deepEqual(a.report(2_000), [{ revision: R, averageConcurrency: 1, requestCount: 0 }]);
  a.depart(R, 2_100);
  assert.deepEqual(a.report(3_000), [{ revision: R, averageConcurrency: 0.1, requestCount: 0 }]);
  assert.deepEqual(a.report(4_000), [], 'a revision with no activity is dropped');
  assert.equal(a.current(R), 0);
});

test('depart without arrive never goes negative', () => {
  const a = new ConcurrencyAccountant(0);
  a.depart(R, 10);
  a.arrive(R, 10);
  a.depart(R, 20);
  a.depart(R, 30);
  assert.equal(a.current(R), 0);
});
