import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ActivatorQueue } from './activator-queue.js';
import type { QueueHandle } from './activator-queue.js';

test('FIFO order, size and full', () => {
  const q = new ActivatorQueue<number>(3);
  assert.ok(q.offer(1, 10));
  assert.ok(q.offer(2, 10));
  assert.ok(q.offer(3, 10));
  assert.equal(q.offer(4, 10), false, 'full at the limit');
  assert.equal(q.size, 3);
  assert.equal(q.peek(), 1);
  assert.equal(q.shift(), 1);
  assert.ok(q.offer(4, 10), 'room again');
  assert.deepEqual([q.shift(), q.shift(), q.shift(), q.shift()], [2, 3, 4, undefined]);
  assert.equal(q.size, 0);
});

test('remove by handle: O(1), exactly once, skipped by shift', () => {
  const q = new ActivatorQueue<string>(10);
  const a = q.offer('a', 0);
  const b = q.offer('b', 0);
  const c = q.offer('c', 0);
  assert.ok(a && b && c);
  assert.equal(q.remove(b), true);
  assert.equal(q.remove(b), false, 'a second remove gives nothing back');
  assert.equal(q.size, 2);
  assert.equal(q.shift(), 'a');
  assert.equal(q.remove(a), false, 'already shifted');
  assert.equal(q.shift(), 'c');
  assert.equal(q.shift(), undefined);
});

test('removed waiters free their place for new offers', () => {
  const q = new ActivatorQueue<number>(2);
  const h = q.offer(1, 0);
  if (h === false) throw new Error('offer failed');
  assert.ok(q.offer(2, 0));
  assert.equal(q.offer(3, 0), false);
  q.remove(h);
  assert.ok(q.offer(3, 0));
  assert.deepEqual([q.shift(), q.shift()], [2, 3]);
});

test('expire(): oldest first, stops at the first waiter in time, skips tombstones', () => {
  const q = new ActivatorQueue<string>(10);
  q.offer('a', 100);
  const b = q.offer('b', 150);
  q.offer('c', 200);
  q.offer('d', 300);
  assert.ok(b);
  q.remove(b);
  const expired: string[] = [];
  assert.equal(
    q.expire(99, (v) => expired.push(v)),
    0,
  );
  assert.equal(
    q.expire(200, (v) => expired.push(v)),
    2,
  );
  assert.deepEqual(expired, ['a', 'c']);
  assert.equal(q.size, 1);
  assert.equal(q.shift(), 'd');
});

test('grows past one 2048-slot ring and keeps FIFO across rings', () => {
  const q = new ActivatorQueue<number>(10_000);
  const handles: (QueueHandle<number> | false)[] = [];
  for (let i = 0; i < 5_000; i++) handles.push(q.offer(i, i));
  for (let i = 0; i < 5_000; i += 2) {
    const h = handles[i];
    if (h !== undefined && h !== false) q.remove(h);
  }
  assert.equal(q.size, 2_500);
  const out: number[] = [];
  for (let v = q.shift(); v !== undefined; v = q.shift()) out.push(v);
  assert.equal(out.length, 2_500);
  assert.deepEqual(out.slice(0, 3), [1, 3, 5]);
  assert.equal(out.at(-1), 4_999);
});

test('drain() empties in order; limit 0 rejects everything', () => {
  const q = new ActivatorQueue<number>(5);
  for (let i = 0; i < 5; i++) q.offer(i, 0);
  const got: number[] = [];
  assert.equal(
    q.drain((v) => got.push(v)),
    5,
  );
  assert.deepEqual(got, [0, 1, 2, 3, 4]);
  assert.equal(new ActivatorQueue<number>(0).offer(1, 0), false);
});

test('offerFirst: a waiter put back goes ahead of everyone, past the limit, across ring boundaries', () => {
  const q = new ActivatorQueue<number>(3);
  assert.ok(q.offer(1, 10));
  assert.ok(q.offer(2, 10));
  assert.ok(q.offer(3, 10));
  const back = q.offerFirst(0, 5);
  assert.equal(q.size, 4, 'an admitted request comes back even at the limit');
  assert.equal(q.offer(4, 10), false, 'new ones still see the limit');
  assert.equal(q.peek(), 0);
  assert.deepEqual(
    q.expire(5, () => undefined),
    1,
    'its own (earlier) deadline is kept',
  );
  assert.equal(back.queued, false);
  q.offerFirst(-1, 10);
  assert.deepEqual([q.shift(), q.shift(), q.shift(), q.shift(), q.shift()], [-1, 1, 2, 3, undefined]);
  // More than one ring's worth put back (2048 slots per ring), interleaved with removals.
  const big = new ActivatorQueue<number>(10);
  assert.ok(big.offer(100_000, 0));
  const handles = [];
  for (let i = 0; i < 5000; i++) handles.push(big.offerFirst(i, 0));
  for (let i = 0; i < 5000; i += 2) big.remove(handles[i] as QueueHandle<number>);
  assert.equal(big.size, 2501);
  const order: number[] = [];
  for (let v = big.shift(); v !== undefined; v = big.shift()) order.push(v);
  assert.equal(order.length, 2501);
  assert.equal(order[0], 4999);
  assert.equal(order[2499], 1);
  assert.equal(order[2500], 100_000);
});
