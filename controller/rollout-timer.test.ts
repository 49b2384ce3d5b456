import { strict as assert } from 'node:assert';
import { type TestContext, test } from 'node:test';
import { RolloutTimer } from './rollout-timer.js';

/** A wall clock the test moves together with the mocked timers. */
function setup(t: TestContext): {
  readonly timer: RolloutTimer;
  readonly wakes: () => number;
  readonly tick: (ms: number) => void;
  readonly nowMs: () => number;
} {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let now = 1_700_000_000_000;
  let wakes = 0;
  const timer = new RolloutTimer(
    () => {
      wakes++;
    },
    () => now,
  );
  return {
    timer,
    wakes: () => wakes,
    tick: (ms) => {
      now += ms;
      t.mock.timers.tick(ms);
    },
    nowMs: () => now,
  };
}

test('wakes once at the step time, not before', (t) => {
  const { timer, wakes, tick, nowMs } = setup(t);
  timer.arm(nowMs() + 1000);
  tick(999);
  assert.equal(wakes(), 0);
  tick(1);
  assert.equal(wakes(), 1);
  assert.equal(timer.armed, false);
  tick(10_000);
  assert.equal(wakes(), 1, 'one wake-up per arm');
});

test('one timer: arming again replaces the pending wake-up; null clears it', (t) => {
  const { timer, wakes, tick, nowMs } = setup(t);
  timer.arm(nowMs() + 5000);
  timer.arm(nowMs() + 1000);
  tick(1000);
  assert.equal(wakes(), 1);
  tick(5000);
  assert.equal(wakes(), 1, 'the replaced wake-up never fires');
  timer.arm(nowMs() + 1000);
  timer.arm(null);
  tick(2000);
  assert.equal(wakes(), 1);
});

test('a step time already past wakes at once', (t) => {
  const { timer, wakes, tick, nowMs } = setup(t);
  timer.arm(nowMs() - 5000);
  tick(0);
  assert.equal(wakes(), 1);
});

test('stop() cancels the pending wake-up and refuses new ones', (t) => {
  const { timer, wakes, tick, nowMs } = setup(t);
  timer.arm(nowMs() + 1000);
  timer.stop();
  tick(2000);
  timer.arm(nowMs() + 1000);
  tick(2000);
  assert.equal(wakes(), 0);
  assert.equal(timer.armed, false);
});
