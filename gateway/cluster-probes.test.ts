import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Endpoint } from '../controller/runtime.js';
import { ProbeTracker } from './cluster-probes.js';

const ep = (id: string, port = 8080): Endpoint => ({ id, host: '10.0.0.' + id.slice(-1), port });
const R = 'default/hello-00001';
const ids = (eps: readonly Endpoint[]): string[] => eps.map((e) => e.id);

test('a new endpoint is routed only after its probe succeeds', () => {
  const t = new ProbeTracker(100);
  assert.equal(t.set(R, [ep('p1')], 0), false, 'nothing routable yet');
  assert.deepEqual(ids(t.due(0)), ['p1']);
  assert.deepEqual(t.due(0), [], 'a probing endpoint is not handed out twice');
  assert.equal(t.result(ep('p1'), true, 0), R);
  assert.deepEqual(ids(t.routable(R)), ['p1']);
  assert.equal(t.nextDueMs(), null, 'healthy endpoints are not probed again');
});

test('a failed probe is retried one interval after it started', () => {
  const t = new ProbeTracker(100);
  t.set(R, [ep('p1')], 1000);
  t.due(1000);
  assert.equal(t.result(ep('p1'), false, 1000), null);
  assert.equal(t.nextDueMs(), 1100);
  assert.deepEqual(t.due(1099), []);
  assert.deepEqual(ids(t.due(1100)), ['p1']);
});

test('routable order follows the controller, and a removal takes effect at once', () => {
  const t = new ProbeTracker(100);
  t.set(R, [ep('p1'), ep('p2'), ep('p3')], 0);
  t.due(0);
  t.result(ep('p3'), true, 0);
  t.result(ep('p1'), true, 0);
  assert.deepEqual(ids(t.routable(R)), ['p1', 'p3']);
  assert.equal(t.set(R, [ep('p2'), ep('p3')], 10), true);
  assert.deepEqual(ids(t.routable(R)), ['p3']);
  assert.equal(t.result(ep('p1'), true, 0), null, 'a result for a forgotten endpoint is ignored');
});

test('an unchanged list changes nothing; a moved endpoint is probed again', () => {
  const t = new ProbeTracker(100);
  t.set(R, [ep('p1')], 0);
  t.due(0);
  t.result(ep('p1'), true, 0);
  assert.equal(t.set(R, [{ ...ep('p1') }], 5), false);
  assert.equal(t.set(R, [ep('p1', 9090)], 6), true, 'same id at another port: not routable until probed');
  assert.deepEqual(t.routable(R), []);
  assert.deepEqual(ids(t.due(6)), ['p1']);
});

test('an empty list forgets the revision', () => {
  const t = new ProbeTracker(100);
  t.set(R, [ep('p1')], 0);
  t.due(0);
  t.result(ep('p1'), true, 0);
  assert.equal(t.set(R, [], 1), true);
  assert.deepEqual([...t.revisions()], []);
  assert.equal(t.nextDueMs(), null);
});
