// The KPA decision: Knative's autoscaler.Scale() (pkg/autoscaler/scaling/autoscaler.go), step by
// step (reference §1.5), as a function from (spec, state, input) to (result, state): no `this`,
// no clock, no I/O. Knative keeps panicTime/maxPanicPods/delayWindow in struct fields; here they
// are the KpaState passed in and returned.
import type { KpaSpec } from './config.js';
import { currentMax, newMaxWindow, recordMax, type MaxWindow } from './window.js';

export interface KpaState {
  /** When panic mode was entered or last extended (Knative panicTime); null when not panicking. */
  readonly panicSinceMs: number | null;
  /** The most pods asked for during this panic; never scaled below while panicking. */
  readonly maxPanicPods: number;
  /** The scale-down-delay max window; null when the delay is 0 or nothing was recorded yet. */
  readonly delay: MaxWindow | null;
}

export interface KpaInput {
  /** The metric (concurrency or rps, per spec.metric) averaged over the stable window, revision total. */
  readonly stableValue: number;
  /** The same averaged over the panic window. */
  readonly panicValue: number;
  /** Ready replicas right now (may be 0). */
  readonly readyPods: number;
  readonly nowMs: number;
  /** False when there are no stats to decide on (Knative ErrNoData): the result is invalid. */
  readonly hasData: boolean;
}

export interface ScaleResult {
  /** Pods the KPA wants, before min/max bounds and the scale-to-zero rules. */
  readonly desiredPods: number;
  /** Spare capacity beyond the target burst capacity; < 0 means the activator must stay in the path. */
  readonly excessBurstCapacity: number;
  /** False: no decision (no data); apply nothing. */
  readonly valid: boolean;
}

export const INITIAL_KPA_STATE: KpaState = Object.freeze({
  panicSinceMs: null,
  maxPanicPods: 0,
  delay: null,
});

/** Knative invalidSR. */
export const INVALID_RESULT: ScaleResult = Object.freeze({
  desiredPods: 0,
  excessBurstCapacity: 0,
  valid: false,
});

/**
 * A decider's first state. With more than one ready pod it starts in panic mode holding the current
 * scale: metric history is lost on restart, and a momentary scale-down would hurt (Knative
 * newAutoscaler).
 */
export function newKpaState(readyPods: number, nowMs: number): KpaState {
  const ready = Math.max(0, readyPods);
  return Object.freeze({
    panicSinceMs: ready > 1 ? nowMs : null,
    maxPanicPods: ready,
    delay: null,
  });
}

/**
 * Knative EBC = floor(ready × TotalValue − TBC − panic), with the *un-clamped* ready count
 * (may be 0); TBC 0 → 0, TBC −1 → −1 (the activator always stays in the path).
 * §1.7: the defaults (total 100, TBC 211) give EBC < 0 with 1 ready pod.
 */
export function excessBurstCapacity(spec: KpaSpec, readyPods: number, panicValue: number): number {
  if (spec.targetBurstCapacity === 0) return 0;
  if (spec.targetBurstCapacity > 0) {
    return Math.floor(readyPods * spec.totalValue - spec.targetBurstCapacity - panicValue);
  }
  return -1;
}

export function decide(
  spec: KpaSpec,
  prev: KpaState,
  input: KpaInput,
): { result: ScaleResult; next: KpaState } {
  // pre: spec.targetValue >= 0.01, spec.maxScaleUpRate > 1, spec.maxScaleDownRate > 1 (config.ts validates)
  const { stableValue, panicValue, nowMs } = input;
  // 2. No metric: invalid, change nothing.
  if (!input.hasData || !Number.isFinite(stableValue) || !Number.isFinite(panicValue)) {
    return { result: INVALID_RESULT, next: prev };
  }
  // 1. Zero ready pods count as one, so rates still allow growth from zero.
  const ready = Math.max(0, input.readyPods);
  const readyF = Math.max(1, ready);

  // 3. Rate limits. Worked example (Knative's MSUR note): rate 1.1, 2 ready, need 3 → ceil(2.2) = 3,
  // so a conservative rate never gets stuck below a needed pod. Unreachable revisions may drop at once.
  const maxScaleUp = Math.ceil(spec.maxScaleUpRate * readyF);
  const maxScaleDown = spec.reachable ? Math.floor(readyF / spec.maxScaleDownRate) : 0;

  // 4-5. Pods wanted by each window, kept within [maxScaleDown, maxScaleUp].
  const dspc = Math.ceil(stableValue / spec.targetValue);
  const dppc = Math.ceil(panicValue / spec.targetValue);
  let desiredStable = Math.min(Math.max(dspc, maxScaleDown), maxScaleUp);
  let desiredPanic = Math.min(Math.max(dppc, maxScaleDown), maxScaleUp);

  // 6. activation-scale: any traffic at all asks for at least that many pods.
  if (spec.activationScale > 1) {
    if (dspc > 0 && spec.activationScale > desiredStable) desiredStable = spec.activationScale;
    if (dppc > 0 && spec.activationScale > desiredPanic) desiredPanic = spec.activationScale;
  }

  // 7. The threshold uses dppc before clamping, against readyF.
  const overThreshold = dppc / readyF >= spec.panicThreshold;

  // 8. Enter or extend panic while over; leave only after a full stable window below the threshold,
  // once the surge has made its way into the stable average.
  let panicSinceMs = prev.panicSinceMs;
  let maxPanicPods = prev.maxPanicPods;
  if (overThreshold) {
    panicSinceMs = nowMs;
  } else if (panicSinceMs !== null && panicSinceMs + spec.stableWindowMs < nowMs) {
    panicSinceMs = null;
    maxPanicPods = 0;
  }

  // 9. In panic, provision for the larger window and never scale down.
  let desired = desiredStable;
  if (panicSinceMs !== null) {
    desired = Math.max(desired, desiredPanic);
    maxPanicPods = Math.max(maxPanicPods, desired);
    desired = maxPanicPods;
  }

  // 10. scale-down-delay: the maximum wanted over the delay (2 s buckets), reachable revisions only.
  let delay: MaxWindow | null = null;
  if (spec.reachable && spec.scaleDownDelayMs > 0) {
    const fresh = newMaxWindow(spec.scaleDownDelayMs);
    const base = prev.delay !== null && prev.delay.size === fresh.size ? prev.delay : fresh;
    delay = recordMax(base, nowMs, desired);
    desired = currentMax(delay);
  } else if (spec.scaleDownDelayMs > 0) {
    delay = prev.delay;
  }

  // 11. Excess burst capacity, with the un-clamped ready count.
  const ebc = excessBurstCapacity(spec, ready, panicValue);

  return {
    result: { desiredPods: desired, excessBurstCapacity: ebc, valid: true },
    next: { panicSinceMs, maxPanicPods, delay },
  };
}
