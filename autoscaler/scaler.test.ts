import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_KPA, type KpaSpec } from './config.js';
import {
  applyBounds,
  applyScaleRules,
  newScalerState,
  scaleBounds,
  type ScaleRulesInput,
  type ScalerState,
} from './scaler.js';

const kpa = (o: Partial<KpaSpec> = {}): KpaSpec => ({ ...DEFAULT_KPA, ...o });
const T0 = 1_000_000;
const state = (o: Partial<ScalerState> = {}): ScalerState => ({
  phase: 'active',
  phaseSinceMs: T0,
  scaleTargetInitialized: true,
  zeroSinceMs: null,
  desiredReplicas: 1,
  ...o,
});
const input = (o: Partial<ScaleRulesInput> = {}): ScaleRulesInput => ({
  decided: 1,
  readyPods: 1,
  nowMs: T0,
  reachable: true,
  ...o,
});

test('scaleBounds: min ignored when unreachable; max capped by max-scale-limit', () => {
  assert.deepEqual(scaleBounds(kpa({ minScale: 2, maxScale: 5 }), true), { min: 2, max: 5 });
  assert.deepEqual(scaleBounds(kpa({ minScale: 2, maxScale: 5 }), false), { min: 0, max: 5 });
  assert.deepEqual(scaleBounds(kpa({ maxScaleLimit: 10 }), true), { min: 0, max: 10 });
  assert.deepEqual(scaleBounds(kpa({ maxScale: 20, maxScaleLimit: 10 }), true), { min: 0, max: 10 });
  assert.deepEqual(scaleBounds(kpa({ maxScale: 3, maxScaleLimit: 10 }), true), { min: 0, max: 3 });
});

test('applyBounds (Knative applyBounds)', () => {
  assert.equal(applyBounds(2, 5, 1), 2);
  assert.equal(applyBounds(2, 5, 7), 5);
  assert.equal(applyBounds(2, 5, 3), 3);
  assert.equal(applyBounds(0, 0, 1000), 1000);
  assert.equal(applyBounds(0, 0, -1), 0);
});

test('newScalerState: Activating, initial scale asked for', () => {
  assert.deepEqual(newScalerState(kpa({ initialScale: 3 }), T0), {
    phase: 'activating',
    phaseSinceMs: T0,
    scaleTargetInitialized: false,
    zeroSinceMs: null,
    desiredReplicas: 3,
  });
});

interface RulesCase {
  readonly name: string;
  readonly spec?: Partial<KpaSpec>;
  readonly prev?: Partial<ScalerState>;
  readonly input?: Partial<ScaleRulesInput>;
  readonly want: number;
  /** The phase afterwards, when it matters. */
  readonly phase?: ScalerState['phase'];
}

const G = DEFAULT_KPA.scaleToZeroGracePeriodMs; // 30 s
const W = DEFAULT_KPA.stableWindowMs; // 60 s

const cases: readonly RulesCase[] = [
  { name: 'a positive decision is applied', input: { decided: 4, readyPods: 4 }, want: 4, phase: 'active' },
  { name: 'min-scale lifts the decision', spec: { minScale: 2 }, input: { decided: 0 }, want: 2 },
  {
    name: 'min-scale is ignored when unreachable: 0 goes through scale to zero',
    spec: { minScale: 2 },
    prev: { phaseSinceMs: T0 - W },
    input: { decided: 0, reachable: false },
    want: 1,
    phase: 'inactive',
  },
  {
    name: 'max-scale caps the decision',
    spec: { maxScale: 5 },
    input: { decided: 9, readyPods: 5 },
    want: 5,
  },
  {
    name: 'max-scale-limit caps an unlimited max-scale',
    spec: { maxScaleLimit: 3 },
    input: { decided: 9, readyPods: 3 },
    want: 3,
  },
  {
    name: 'initial-scale acts as min until first reached',
    spec: { initialScale: 3 },
    prev: { phase: 'activating', scaleTargetInitialized: false, desiredReplicas: 3 },
    input: { decided: 1, readyPods: 2 },
    want: 3,
    phase: 'activating',
  },
  {
    name: 'initial-scale is ignored once reached',
    spec: { initialScale: 3 },
    prev: { scaleTargetInitialized: true, desiredReplicas: 3 },
    input: { decided: 1, readyPods: 3 },
    want: 1,
  },
  {
    name: 'initial-scale is ignored when unreachable',
    spec: { initialScale: 3 },
    prev: { phase: 'activating', scaleTargetInitialized: false, desiredReplicas: 3 },
    input: { decided: 1, readyPods: 0, reachable: false },
    want: 1,
  },
  {
    name: 'no decision yet (-1) and not activating: leave the scale alone',
    prev: { desiredReplicas: 2 },
    input: { decided: -1, readyPods: 2 },
    want: 2,
    phase: 'active',
  },
  {
    name: 'no decision yet while activating: wait (no scale to zero before the activation timeout)',
    prev: { phase: 'activating', scaleTargetInitialized: false, desiredReplicas: 1 },
    input: { decided: -1, readyPods: 0 },
    want: 1,
    phase: 'activating',
  },
  {
    name: 'activating with a zero decision: wait',
    prev: { phase: 'activating', phaseSinceMs: T0 - 629_000, desiredReplicas: 1 },
    input: { decided: 0, readyPods: 0 },
    want: 1,
  },
  {
    name: 'activating past progress-deadline + 30 s with a zero decision: give up, 0',
    prev: { phase: 'activating', phaseSinceMs: T0 - 630_000, desiredReplicas: 1 },
    input: { decided: 0, readyPods: 0 },
    want: 0,
    phase: 'inactive',
  },
  {
    name: 'enable-scale-to-zero false: 0 becomes 1',
    spec: { enableScaleToZero: false },
    prev: { phaseSinceMs: T0 - 10 * W },
    input: { decided: 0 },
    want: 1,
    phase: 'active',
  },
  {
    name: 'active for less than a stable window: held at 1',
    prev: { phaseSinceMs: T0 - W + 1, desiredReplicas: 3 },
    input: { decided: 0, readyPods: 3 },
    want: 1,
    phase: 'active',
  },
  {
    name: 'active for a stable window: marked inactive, the scale stays',
    prev: { phaseSinceMs: T0 - W },
    input: { decided: 0 },
    want: 1,
    phase: 'inactive',
  },
  {
    name: 'inactive, zero decision has stood for the grace period: 0 (fast path)',
    prev: { phase: 'inactive', phaseSinceMs: T0 - 1000, zeroSinceMs: T0 - G },
    input: { decided: 0 },
    want: 0,
    phase: 'inactive',
  },
  {
    name: 'inactive, zero decision younger than the grace period: wait at 1',
    prev: { phase: 'inactive', phaseSinceMs: T0 - 1000, zeroSinceMs: T0 - G + 1 },
    input: { decided: 0 },
    want: 1,
    phase: 'inactive',
  },
  {
    name: 'inactive for max(grace, retention): 0 whatever else',
    prev: { phase: 'inactive', phaseSinceMs: T0 - G, zeroSinceMs: null },
    input: { decided: 0 },
    want: 0,
  },
  {
    name: 'retention 2m: inactive for less keeps the last pod, even past the grace',
    spec: { scaleToZeroPodRetentionPeriodMs: 120_000 },
    prev: { phase: 'inactive', phaseSinceMs: T0 - 119_000, zeroSinceMs: T0 - 200_000 },
    input: { decided: 0 },
    want: 1,
  },
  {
    name: 'retention 2m: inactive for 2m → 0',
    spec: { scaleToZeroPodRetentionPeriodMs: 120_000 },
    prev: { phase: 'inactive', phaseSinceMs: T0 - 120_000, zeroSinceMs: T0 - 200_000 },
    input: { decided: 0 },
    want: 0,
  },
  {
    name: 'retention 5s shorter than grace: past retention, the grace fast path decides',
    spec: { scaleToZeroPodRetentionPeriodMs: 5000 },
    prev: { phase: 'inactive', phaseSinceMs: T0 - 6000, zeroSinceMs: T0 - G },
    input: { decided: 0 },
    want: 0,
  },
  {
    name: 'inactive, traffic again with the pod retained: 1, active again',
    prev: { phase: 'inactive', phaseSinceMs: T0 - 5000, zeroSinceMs: T0 - 5000 },
    input: { decided: 1, readyPods: 1 },
    want: 1,
    phase: 'active',
  },
  {
    name: 'at zero, a poke decides 1: activating until a pod is ready',
    prev: { phase: 'inactive', phaseSinceMs: T0 - 5000, zeroSinceMs: T0 - 5000, desiredReplicas: 0 },
    input: { decided: 1, readyPods: 0 },
    want: 1,
    phase: 'activating',
  },
  {
    name: 'inactive at zero with no decision stays inactive',
    prev: { phase: 'inactive', desiredReplicas: 0 },
    input: { decided: -1, readyPods: 0 },
    want: 0,
    phase: 'inactive',
  },
  {
    name: 'initial-scale 0: inactive from the start',
    spec: { initialScale: 0 },
    prev: { phase: 'activating', scaleTargetInitialized: false, desiredReplicas: 0 },
    input: { decided: -1, readyPods: 0 },
    want: 0,
    phase: 'inactive',
  },
];

for (const c of cases) {
  test(`applyScaleRules: ${c.name}`, () => {
    const { desiredReplicas, next } = applyScaleRules(kpa(c.spec), state(c.prev), input(c.input));
    assert.equal(desiredReplicas, c.want);
    assert.equal(next.desiredReplicas, c.want);
    if (c.phase !== undefined) assert.equal(next.phase, c.phase);
  });
}

test('phase changes stamp the transition time; a steady phase keeps it', () => {
  const prev = state({ phase: 'activating', phaseSinceMs: T0 - 5000, scaleTargetInitialized: false });
  const { next } = applyScaleRules(DEFAULT_KPA, prev, input({ decided: 1, readyPods: 1 }));
  assert.equal(next.phase, 'active');
  assert.equal(next.phaseSinceMs, T0);
  assert.equal(next.scaleTargetInitialized, true);
  const again = applyScaleRules(
    DEFAULT_KPA,
    next,
    input({ decided: 1, readyPods: 1, nowMs: T0 + 2000 }),
  ).next;
  assert.equal(again.phaseSinceMs, T0);
});

test('the zero decision is timed from its first tick and reset by any positive one', () => {
  let s = state({ phaseSinceMs: T0 - 1000 });
  s = applyScaleRules(DEFAULT_KPA, s, input({ decided: 0, nowMs: T0 })).next;
  assert.equal(s.zeroSinceMs, T0);
  s = applyScaleRules(DEFAULT_KPA, s, input({ decided: 0, nowMs: T0 + 2000 })).next;
  assert.equal(s.zeroSinceMs, T0);
  s = applyScaleRules(DEFAULT_KPA, s, input({ decided: 2, nowMs: T0 + 4000 })).next;
  assert.equal(s.zeroSinceMs, null);
});

test('scenario, defaults: an idle active revision goes to zero one stable window + grace after it became active', () => {
  const spec = DEFAULT_KPA;
  let s = newScalerState(spec, 0);
  const out: [number, number, string][] = [];
  // The pod is ready at 1 s; the KPA says 0 from the first tick (no traffic at all).
  for (let t = 2000; t <= 100_000; t += 2000) {
    const r = applyScaleRules(spec, s, {
      decided: 0,
      readyPods: s.desiredReplicas,
      nowMs: t,
      reachable: true,
    });
    if (r.desiredReplicas !== s.desiredReplicas || r.next.phase !== s.phase)
      out.push([t, r.desiredReplicas, r.next.phase]);
    s = r.next;
  }
  // Active at 2 s (ready), inactive at 62 s (active for 60 s), zero at 62 s + 0: the zero decision
  // has stood since 2 s, far longer than the 30 s grace, so the next tick (64 s) scales to 0.
  assert.deepEqual(out, [
    [2000, 1, 'active'],
    [62_000, 1, 'inactive'],
    [64_000, 0, 'inactive'],
  ]);
});
