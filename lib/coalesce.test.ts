import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test } from 'node:test';
import { Coalescer } from './coalesce.js';

test('a burst of schedule() calls runs the task once, on the next turn', async () => {
  let runs = 0;
  const c = new Coalescer(() => runs++);
  c.schedule();
  c.schedule();
  c.schedule();
  assert.equal(runs, 0, 'never synchronously');
  await nextTurn();
  assert.equal(runs, 1);
  c.schedule();
  await nextTurn();
  assert.equal(runs, 2, 'a later burst runs again');
});

test('after stop() a scheduled task does not run', async () => {
  let runs = 0;
  const c = new Coalescer(() => runs++);
  c.schedule();
  c.stop();
  c.schedule();
  await nextTurn();
  assert.equal(runs, 0);
});
