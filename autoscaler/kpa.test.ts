import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_KPA, type KpaSpec } from './config.js';
import {
  decide,
  excessBurstCapacity,
  INITIAL_KPA_STATE,
  INVALID_RESULT,
  newKpaState,
  type KpaInput,
  type KpaState,
  type ScaleResult,
} from './kpa.js';

const kpa = (o: Partial<KpaSpec> = {}): KpaSpec => ({ ...DEFAULT_KPA, ...o });
const at = (nowMs: number, o: { stable: number; panic: number; ready: number }): KpaInput => ({
  stableValue: o.stable,
  panicValue: o.panic,
  readyPods: o.ready,
  nowMs,
  hasData: true,
});

// Knative's autoscaler_test.go decider: rates 10, threshold 200 %, 60 s window, and
// TotalValue = target / 0.75 ("for UTs presume 75% utilization").
const knative = (targetValue: number, targetBurstCapacity: number, o: Partial<KpaSpec> = {}): KpaSpec =>
  kpa({
    targetValue,
    totalValue: targetValue / 0.75,
    targetBurstCapacity,
    maxScaleUpRate: 10,
    maxScaleDownRate: 10,
    ...o,
  });
/** Knative expectedEBC(totCap, targetBC, recordedConcurrency, numPods). */
const ebcOf = (target: number, tbc: number, panic: number, pods: number): number =>
  Math.floor((target / 0.75) * pods - tbc - panic);

const T0 = 1_000_000;
/** Knative's tests create the decider with 1 ready pod: not panicking, maxPanicPods = 1. */
const FRESH = newKpaState(1, T0);

interface KpaCase {
  readonly name: string;
  readonly spec: KpaSpec;
  readonly state?: KpaState;
  readonly input: KpaInput;
  readonly want: number;
  readonly wantEbc?: number;
}

const cases: readonly KpaCase[] = [
  {
    name: '40 in flight at target 10 → 4 pods',
    spec: kpa({ targetValue: 10 }),
    input: at(T0, { stable: 40, panic: 40, ready: 4 }),
    want: 4,
  },
  {
    name: 'max-scale-up-rate 2 caps 2 → 4 pods',
    spec: kpa({ targetValue: 1, maxScaleUpRate: 2 }),
    state: INITIAL_KPA_STATE,
    input: at(T0, { stable: 10, panic: 10, ready: 2 }),
    want: 4,
  },
  {
    name: 'max-scale-up-rate 1.1 still grows by a pod: ceil(2 × 1.1) = 3 (Knative MSUR note)',
    spec: knative(1, 1982, { maxScaleUpRate: 1.1 }),
    input: at(T0, { stable: 3, panic: 3.1, ready: 2 }),
    want: 3,
    wantEbc: ebcOf(1, 1982, 3.1, 2),
  },
  {
    name: 'max-scale-down-rate 2 (default) halves at most: 10 → 5',
    spec: kpa({ targetValue: 10 }),
    input: at(T0, { stable: 0, panic: 0, ready: 10 }),
    want: 5,
  },
  {
    name: 'max-scale-down-rate 1.1: 100 → 90',
    spec: knative(10, 1982, { maxScaleDownRate: 1.1 }),
    input: at(T0, { stable: 1, panic: 1, ready: 100 }),
    want: 90,
    wantEbc: ebcOf(10, 1982, 1, 100),
  },
  {
    name: 'unreachable: no scale-down limit, 100 → 1',
    spec: knative(10, 1982, { maxScaleDownRate: 1.1, reachable: false }),
    input: at(T0, { stable: 1, panic: 1, ready: 100 }),
    want: 1,
  },
  {
    name: 'no traffic at 1 pod → 0 (Knative AutoscalerNoDataAtZeroNoAutoscale)',
    spec: knative(10, 100),
    input: at(T0, { stable: 0, panic: 0, ready: 1 }),
    want: 0,
    wantEbc: ebcOf(10, 100, 0, 1),
  },
  {
    name: 'TBC -1 → EBC -1 (Knative AutoscalerStableModeUnlimitedTBC)',
    spec: knative(181, -1),
    input: at(T0, { stable: 21, panic: 26, ready: 1 }),
    want: 1,
    wantEbc: -1,
  },
  {
    name: 'TBC 0 → EBC 0 (Knative Autoscaler0TBC)',
    spec: knative(10, 0),
    input: at(T0, { stable: 50, panic: 49, ready: 1 }),
    want: 5,
    wantEbc: 0,
  },
  {
    name: 'stable 50 at target 10 → 5 (Knative AutoscalerStableModeNoChange)',
    spec: knative(10, 100),
    input: at(T0, { stable: 50, panic: 50, ready: 1 }),
    want: 5,
    wantEbc: ebcOf(10, 100, 50, 1),
  },
  {
    name: 'already at 5 → stays 5',
    spec: knative(10, 100),
    input: at(T0, { stable: 50, panic: 50, ready: 5 }),
    want: 5,
    wantEbc: ebcOf(10, 100, 50, 5),
  },
  {
    name: 'in panic, stable larger than panic → provision for stable (50)',
    spec: knative(1, 100),
    state: { panicSinceMs: T0 - 5000, maxPanicPods: 5, delay: null },
    input: at(T0, { stable: 50, panic: 30, ready: 5 }),
    want: 50,
    wantEbc: ebcOf(1, 100, 30, 5),
  },
  {
    name: 'in panic, panic larger than stable → provision for panic (30)',
    spec: knative(1, 100),
    state: { panicSinceMs: T0 - 5000, maxPanicPods: 5, delay: null },
    input: at(T0, { stable: 20, panic: 30, ready: 5 }),
    want: 30,
  },
  {
    name: 'panic doubles the pod count (Knative AutoscalerPanicModeDoublePodCount)',
    spec: knative(10, 84),
    input: at(T0, { stable: 50, panic: 100, ready: 1 }),
    want: 10,
    wantEbc: ebcOf(10, 84, 100, 1),
  },
  {
    name: '0 ready counts as 1 for the rate: 10× from 1, not from 0',
    spec: knative(10, 81),
    input: at(T0, { stable: 1000, panic: 888, ready: 0 }),
    want: 10,
    wantEbc: ebcOf(10, 81, 888, 0),
  },
  {
    name: 'cold start: the poke {1, 1} at zero → 1 pod with the defaults (§1.7)',
    spec: DEFAULT_KPA,
    state: INITIAL_KPA_STATE,
    input: at(T0, { stable: 1, panic: 1, ready: 0 }),
    want: 1,
    wantEbc: -212,
  },
  {
    name: 'activation-scale 2: no traffic stays 0',
    spec: knative(10, 75, { activationScale: 2 }),
    input: at(T0, { stable: 0, panic: 0, ready: 1 }),
    want: 0,
  },
  {
    name: 'activation-scale 2: any traffic → at least 2',
    spec: knative(10, 75, { activationScale: 2 }),
    input: at(T0, { stable: 1, panic: 0, ready: 1 }),
    want: 2,
  },
  {
    name: 'activation-scale 3 applies in panic too',
    spec: knative(10, 75, { activationScale: 3 }),
    state: INITIAL_KPA_STATE,
    input: at(T0, { stable: 0, panic: 20, ready: 1 }),
    want: 3,
  },
  {
    name: 'activation-scale below the need changes nothing',
    spec: knative(10, 75, { activationScale: 2 }),
    input: at(T0, { stable: 50, panic: 50, ready: 5 }),
    want: 5,
  },
  {
    name: 'panic threshold reached exactly (dppc/ready = 200 %) → panic at 10 pods',
    spec: kpa({ targetValue: 10 }),
    state: newKpaState(8, T0 - 60_000),
    input: at(T0, { stable: 0, panic: 100, ready: 5 }),
    want: 10,
  },
  {
    name: 'just below the threshold (180 %) → stable mode',
    spec: kpa({ targetValue: 10 }),
    state: INITIAL_KPA_STATE,
    input: at(T0, { stable: 30, panic: 90, ready: 5 }),
    want: 3,
  },
];

for (const c of cases) {
  test(c.name, () => {
    const { result } = decide(c.spec, c.state ?? FRESH, c.input);
    assert.equal(result.valid, true);
    assert.equal(result.desiredPods, c.want);
    if (c.wantEbc !== undefined) assert.equal(result.excessBurstCapacity, c.wantEbc);
  });
}

/** Steps a decider through a scenario, as Knative's subtests do, returning each result. */
function run(spec: KpaSpec, state: KpaState) {
  let s = state;
  let current = spec;
  return {
    step(input: KpaInput): ScaleResult {
      const { result, next } = decide(current, s, input);
      s = next;
      return result;
    },
    update(next: KpaSpec): void {
      current = next;
    },
    get state(): KpaState {
      return s;
    },
  };
}

test('no data: invalid, state unchanged (Knative TestAutoscalerNoDataNoAutoscale)', () => {
  const state = newKpaState(3, T0);
  const { result, next } = decide(DEFAULT_KPA, state, {
    ...at(T0, { stable: 9, panic: 9, ready: 3 }),
    hasData: false,
  });
  assert.deepEqual(result, INVALID_RESULT);
  assert.equal(next, state);
  assert.equal(decide(DEFAULT_KPA, state, at(T0, { stable: NaN, panic: 1, ready: 3 })).result.valid, false);
});

test('a fresh decider with more than 1 ready pod starts in panic holding them (Knative TestStartInPanicMode)', () => {
  assert.deepEqual(newKpaState(0, T0), { panicSinceMs: null, maxPanicPods: 0, delay: null });
  assert.deepEqual(newKpaState(1, T0), { panicSinceMs: null, maxPanicPods: 1, delay: null });
  assert.deepEqual(newKpaState(2, T0), { panicSinceMs: T0, maxPanicPods: 2, delay: null });
  // Restarted with 5 pods and no traffic: hold 5 until a full stable window has passed.
  const d = run(kpa({ targetValue: 10 }), newKpaState(5, T0));
  assert.equal(d.step(at(T0 + 2000, { stable: 0, panic: 0, ready: 5 })).desiredPods, 5);
  assert.equal(d.step(at(T0 + 60_000, { stable: 0, panic: 0, ready: 5 })).desiredPods, 5);
  assert.equal(d.step(at(T0 + 60_001, { stable: 0, panic: 0, ready: 5 })).desiredPods, 2);
});

test('stable mode follows the stable value (Knative StableModeIncreaseWithConcurrencyDefault / RPS)', () => {
  for (const metric of ['concurrency', 'rps'] as const) {
    const d = run(knative(10, 101, { metric }), FRESH);
    assert.deepEqual(d.step(at(T0, { stable: 50, panic: 10, ready: 1 })), {
      desiredPods: 5,
      excessBurstCapacity: ebcOf(10, 101, 10, 1),
      valid: true,
    });
    assert.equal(d.step(at(T0, { stable: 100, panic: 10, ready: 1 })).desiredPods, 10);
  }
});

test('stable mode decrease: 10 → 5 (Knative TestAutoscalerStableModeDecrease)', () => {
  const d = run(knative(10, 98), FRESH);
  assert.equal(d.step(at(T0, { stable: 100, panic: 100, ready: 8 })).desiredPods, 10);
  assert.equal(d.step(at(T0, { stable: 50, panic: 50, ready: 8 })).desiredPods, 5);
});

test('no traffic scales to zero: 1 → 0 (Knative TestAutoscalerStableModeNoTrafficScaleToZero)', () => {
  const d = run(knative(10, 75), FRESH);
  assert.equal(d.step(at(T0, { stable: 1, panic: 0, ready: 1 })).desiredPods, 1);
  assert.equal(d.step(at(T0, { stable: 0, panic: 0, ready: 1 })).desiredPods, 0);
});

test('panic: enter at 200 %, stay through a drop, exit only after a full stable window', () => {
  // Knative TestAutoscalerPanicThenUnPanicScaleDown.
  const d = run(knative(10, 93), FRESH);
  assert.equal(d.step(at(T0, { stable: 100, panic: 100, ready: 1 })).desiredPods, 10);
  const panicAt = T0 + 1000;
  assert.deepEqual(d.step(at(panicAt, { stable: 100, panic: 1000, ready: 10 })), {
    desiredPods: 100,
    excessBurstCapacity: ebcOf(10, 93, 1000, 10),
    valid: true,
  });
  assert.equal(d.state.panicSinceMs, panicAt);
  // Traffic dropped: no scale-down while panicking.
  assert.equal(d.step(at(panicAt + 30_000, { stable: 1, panic: 1, ready: 10 })).desiredPods, 100);
  assert.equal(d.step(at(panicAt + 60_000, { stable: 1, panic: 1, ready: 10 })).desiredPods, 100);
  // More than a stable window since the last time over the threshold: back to stable mode.
  assert.equal(d.step(at(panicAt + 61_000, { stable: 1, panic: 1, ready: 10 })).desiredPods, 1);
  assert.deepEqual(d.state, { panicSinceMs: null, maxPanicPods: 0, delay: null });
});

test('panic does not move while under the threshold, exits after the window (Knative UnpanicAfterSlowIncrease)', () => {
  const d = run(knative(1, 98), FRESH);
  assert.equal(d.step(at(T0, { stable: 11, panic: 25, ready: 10 })).desiredPods, 25);
  assert.equal(d.state.panicSinceMs, T0);
  assert.equal(d.step(at(T0 + 30_000, { stable: 30, panic: 41, ready: 40 })).desiredPods, 41);
  assert.equal(d.state.panicSinceMs, T0);
  const r = d.step(at(T0 + 62_000, { stable: 50, panic: 56, ready: 55 }));
  assert.deepEqual(r, { desiredPods: 50, excessBurstCapacity: ebcOf(1, 98, 56, 55), valid: true });
  assert.equal(d.state.panicSinceMs, null);
});

test('still over the threshold extends the panic window (Knative TestAutoscalerExtendPanicWindow)', () => {
  const d = run(knative(1, 98), FRESH);
  assert.equal(d.step(at(T0, { stable: 11, panic: 25, ready: 10 })).desiredPods, 25);
  assert.equal(d.step(at(T0 + 30_000, { stable: 30, panic: 80, ready: 40 })).desiredPods, 80);
  assert.equal(d.state.panicSinceMs, T0 + 30_000);
});

test('exponential growth is tracked in panic and stabilises at 1296 (Knative ExponentialTrackAndStabilize)', () => {
  const d = run(knative(1, 101), FRESH);
  assert.equal(d.step(at(T0, { stable: 6, panic: 6, ready: 1 })).desiredPods, 6);
  assert.equal(d.step(at(T0, { stable: 36, panic: 36, ready: 6 })).desiredPods, 36);
  assert.equal(d.state.panicSinceMs, T0);
  assert.equal(d.step(at(T0 + 1000, { stable: 216, panic: 216, ready: 36 })).desiredPods, 216);
  assert.equal(d.step(at(T0 + 1000, { stable: 1296, panic: 1296, ready: 216 })).desiredPods, 1296);
  assert.equal(d.step(at(T0 + 2000, { stable: 1296, panic: 1296, ready: 1296 })).desiredPods, 1296);
});

test('rate limits: ×10 up per step (Knative TestAutoscalerRateLimitScaleUp)', () => {
  const d = run(knative(10, 61), FRESH);
  assert.equal(d.step(at(T0, { stable: 1000, panic: 1001, ready: 1 })).desiredPods, 10);
  assert.equal(d.step(at(T0, { stable: 1000, panic: 1001, ready: 10 })).desiredPods, 100);
});

test('rate limits: ÷10 down per step (Knative TestAutoscalerRateLimitScaleDown)', () => {
  const d = run(knative(10, 61), FRESH);
  assert.equal(d.step(at(T0, { stable: 1, panic: 1, ready: 100 })).desiredPods, 10);
  assert.equal(d.step(at(T0, { stable: 1, panic: 1, ready: 10 })).desiredPods, 1);
});

test('a new spec applies on the next decision (Knative TestAutoscalerUpdateTarget)', () => {
  const d = run(knative(10, 77), FRESH);
  assert.equal(d.step(at(T0, { stable: 100, panic: 101, ready: 1 })).desiredPods, 10);
  d.update(knative(1, 71));
  assert.deepEqual(d.step(at(T0, { stable: 100, panic: 101, ready: 10 })), {
    desiredPods: 100,
    excessBurstCapacity: ebcOf(1, 71, 101, 10),
    valid: true,
  });
});

const DELAYED = knative(10, 0, { panicThreshold: 100, scaleDownDelayMs: 300_000 });

test('scale-down-delay 5m: holds the max for the delay, then drops (Knative TestAutoscalerScaleDownDelay)', () => {
  const d = run(DELAYED, newKpaState(0, 0));
  // simple
  assert.equal(d.step(at(2000, { stable: 40, panic: 40, ready: 0 })).desiredPods, 4);
  assert.equal(d.step(at(300_000, { stable: 0, panic: 0, ready: 0 })).desiredPods, 4);
  assert.equal(d.step(at(302_000, { stable: 0, panic: 0, ready: 0 })).desiredPods, 0);
  // gradual
  assert.equal(d.step(at(540_000, { stable: 40, panic: 40, ready: 0 })).desiredPods, 4);
  assert.equal(d.step(at(600_000, { stable: 30, panic: 30, ready: 0 })).desiredPods, 4);
  assert.equal(d.step(at(660_000, { stable: 0, panic: 0, ready: 0 })).desiredPods, 4);
  assert.equal(d.step(at(840_000, { stable: 0, panic: 0, ready: 0 })).desiredPods, 3);
  assert.equal(d.step(at(900_000, { stable: 0, panic: 0, ready: 0 })).desiredPods, 0);
});

test('scale-down-delay is skipped once the revision is unreachable (Knative ScaleDownDelayNotReachable)', () => {
  const d = run(DELAYED, newKpaState(0, 0));
  assert.equal(d.step(at(2000, { stable: 40, panic: 40, ready: 0 })).desiredPods, 4);
  assert.equal(d.step(at(60_000, { stable: 0, panic: 0, ready: 0 })).desiredPods, 4);
  d.update({ ...DELAYED, reachable: false });
  assert.equal(d.step(at(62_000, { stable: 0, panic: 0, ready: 0 })).desiredPods, 0);
});

test('scale-down-delay 0 scales down at once (Knative TestAutoscalerScaleDownDelayZero)', () => {
  const d = run({ ...DELAYED, scaleDownDelayMs: 0 }, newKpaState(0, 0));
  assert.equal(d.step(at(0, { stable: 40, panic: 40, ready: 0 })).desiredPods, 4);
  assert.equal(d.step(at(500, { stable: 20, panic: 20, ready: 0 })).desiredPods, 2);
  assert.equal(d.state.delay, null);
});

test('decide does not mutate the state it is given', () => {
  const prev = Object.freeze({ panicSinceMs: null, maxPanicPods: 0, delay: null });
  const { next } = decide(DELAYED, prev, at(2000, { stable: 40, panic: 40, ready: 0 }));
  assert.notEqual(next, prev);
  assert.equal(next.delay?.entries.length, 1);
});

interface EbcCase {
  readonly name: string;
  readonly spec: KpaSpec;
  readonly ready: number;
  readonly panic: number;
  readonly want: number;
}

// §1.7 with the defaults: total 100, TBC 211.
const ebcCases: readonly EbcCase[] = [
  {
    name: '1 ready pod, idle → < 0: the gateway stays in the path',
    spec: DEFAULT_KPA,
    ready: 1,
    panic: 0,
    want: -111,
  },
  { name: '3 ready pods, idle → ≥ 0', spec: DEFAULT_KPA, ready: 3, panic: 0, want: 89 },
  { name: '3 ready pods, 100 in flight → < 0', spec: DEFAULT_KPA, ready: 3, panic: 100, want: -11 },
  { name: '0 ready pods use the real count, not 1', spec: DEFAULT_KPA, ready: 0, panic: 0, want: -211 },
  { name: 'fractions floor toward −∞', spec: kpa({ totalValue: 10 / 0.75 }), ready: 1, panic: 0, want: -198 },
  { name: 'TBC 0 → 0', spec: kpa({ targetBurstCapacity: 0 }), ready: 1, panic: 500, want: 0 },
  { name: 'TBC -1 → -1', spec: kpa({ targetBurstCapacity: -1 }), ready: 50, panic: 0, want: -1 },
];

for (const c of ebcCases) {
  test(`EBC: ${c.name}`, () => {
    assert.equal(excessBurstCapacity(c.spec, c.ready, c.panic), c.want);
    const { result } = decide(
      c.spec,
      INITIAL_KPA_STATE,
      at(T0, { stable: 0, panic: c.panic, ready: c.ready }),
    );
    assert.equal(result.excessBurstCapacity, c.want);
  });
}
