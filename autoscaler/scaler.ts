// The KPA reconciler's part (reference §1.6; knative/serving pkg/reconciler/autoscaling/kpa/
// scaler.go and kpa.go): scale bounds, initial scale, and the scale-to-zero state machine, as a
// function from (spec, state, input) to (replicas, state). Knative re-enqueues the PodAutoscaler
// after each wait; kedge re-evaluates on every tick, which reaches the same decisions.
//
// kedge's gateway is always on the data path (it is the activator), so Knative's "the SKS has
// been in Proxy mode for at least the grace period" becomes "the decision to go to zero has stood
// for the grace period", and the activator probe always succeeds.
import type { KpaSpec } from './config.js';

/** Knative's PodAutoscaler Active condition: Unknown (activating), True, False. */
export type ActivePhase = 'activating' | 'active' | 'inactive';

export interface ScalerState {
  readonly phase: ActivePhase;
  /** When the phase last changed (the condition's lastTransitionTime). */
  readonly phaseSinceMs: number;
  /** True once the revision has had its initial scale (or min) ready (Knative ScaleTargetInitialized). */
  readonly scaleTargetInitialized: boolean;
  /** Since when the bounded decision has been 0; null while it is not. */
  readonly zeroSinceMs: number | null;
  /** What the runtime was last asked for. */
  readonly desiredReplicas: number;
}

export interface ScaleRulesInput {
  /** The KPA's decision; -1 when there is none yet. */
  readonly decided: number;
  readonly readyPods: number;
  readonly nowMs: number;
  readonly reachable: boolean;
}

/** A new PodAutoscaler: Activating, its Deployment created with initial-scale replicas (Knative deploy.go). */
export function newScalerState(spec: KpaSpec, nowMs: number): ScalerState {
  return Object.freeze({
    phase: 'activating',
    phaseSinceMs: nowMs,
    scaleTargetInitialized: false,
    zeroSinceMs: null,
    desiredReplicas: spec.initialScale,
  });
}

/**
 * Knative PodAutoscaler.ScaleBounds: min is ignored when the revision is unreachable (no route),
 * so a revision taken out of traffic can go to zero despite min-scale. max 0 = unlimited; with a
 * max-scale-limit the maximum never exceeds the limit.
 */
export function scaleBounds(spec: KpaSpec, reachable: boolean): { min: number; max: number } {
  const min = reachable ? spec.minScale : 0;
  let max = spec.maxScale;
  if (spec.maxScaleLimit > 0 && (max === 0 || max > spec.maxScaleLimit)) max = spec.maxScaleLimit;
  return { min, max };
}

/** Knative applyBounds. pre: 0 <= min, 0 <= max (0 = none) */
export function applyBounds(min: number, max: number, x: number): number {
  if (x < min) return min;
  if (max !== 0 && x > max) return max;
  return x;
}

/** The fewest ready pods that make the revision Active (Knative activeThreshold). */
function activeThreshold(spec: KpaSpec, min: number, initialized: boolean): number {
  return initialized ? Math.max(min, 1) : Math.max(spec.initialScale, min);
}

/** Knative handleScaleToZero: the replicas to apply, or null to leave the current scale alone. */
function handleScaleToZero(
  spec: KpaSpec,
  prev: ScalerState,
  bounded: number,
  zeroSinceMs: number | null,
  nowMs: number,
): { want: number; apply: boolean } {
  if (bounded !== 0) return { want: bounded, apply: true };
  if (!spec.enableScaleToZero) return { want: 1, apply: true };
  const since = nowMs - prev.phaseSinceMs;
  switch (prev.phase) {
    case 'activating':
      // Stuck activating past the progress deadline: give up and go to zero. Else wait.
      return since >= spec.activationTimeoutMs ? { want: 0, apply: true } : { want: -1, apply: false };
    case 'active':
      // Active for a whole stable window: mark Inactive (want 0) without scaling yet.
      // Before that, hold one pod for the rest of the window.
      return since >= spec.stableWindowMs ? { want: 0, apply: false } : { want: 1, apply: true };
    case 'inactive': {
      const retention = spec.scaleToZeroPodRetentionPeriodMs;
      if (since >= Math.max(spec.scaleToZeroGracePeriodMs, retention)) return { want: 0, apply: true };
      // The retention period is a hard floor since the revision went inactive.
      if (retention > 0 && since < retention) return { want: 0, apply: false };
      // Fast path: the decision to go to zero has already stood for the grace period.
      const zeroFor = zeroSinceMs === null ? 0 : nowMs - zeroSinceMs;
      return zeroFor >= spec.scaleToZeroGracePeriodMs ? { want: 0, apply: true } : { want: 0, apply: false };
    }
  }
}

/**
 * Bounds, initial scale and scale to zero for one decision. `desiredReplicas` is what the runtime
 * should run; it stays at the previous value while a rule says "wait" (e.g. 1 pod until the grace
 * period has passed).
 */
export function applyScaleRules(
  spec: KpaSpec,
  prev: ScalerState,
  input: ScaleRulesInput,
): { desiredReplicas: number; next: ScalerState } {
  // pre: spec.minScale >= 0, spec.maxScale >= 0, spec.initialScale >= 0
  const { decided, nowMs, reachable } = input;
  const ready = Math.max(0, input.readyPods);
  const { min, max } = scaleBounds(spec, reachable);

  let want: number;
  let apply: boolean;
  let zeroSinceMs = prev.zeroSinceMs;
  if (decided < 0 && prev.phase !== 'activating') {
    // No decision yet (Knative: "metrics are not yet being collected"): leave the scale alone.
    want = decided;
    apply = false;
  } else {
    // Until the revision has first reached its initial scale, the initial scale acts as min.
    const floor =
      spec.initialScale > 1 && !prev.scaleTargetInitialized && reachable
        ? Math.max(spec.initialScale, min)
        : min;
    const bounded = applyBounds(floor, max, decided);
    if (bounded === 0) zeroSinceMs ??= nowMs;
    else zeroSinceMs = null;
    ({ want, apply } = handleScaleToZero(spec, prev, bounded, zeroSinceMs, nowMs));
  }

  // Knative computeActiveCondition, from the outcome and the ready count.
  const minReady = activeThreshold(spec, min, prev.scaleTargetInitialized);
  const scaleTargetInitialized = prev.scaleTargetInitialized || ready >= minReady;
  let phase = prev.phase;
  if (want === 0 || minReady === 0) phase = 'inactive';
  else if (want > 0 || prev.phase !== 'inactive') phase = ready < minReady ? 'activating' : 'active';

  const desiredReplicas = apply ? want : prev.desiredReplicas;
  return {
    desiredReplicas,
    next: {
      phase,
      phaseSinceMs: phase === prev.phase ? prev.phaseSinceMs : nowMs,
      scaleTargetInitialized,
      zeroSinceMs,
      desiredReplicas,
    },
  };
}
