// The one timer of a controller adapter that wakes reconcile for the next step of a gradual
// rollout (ReconcileOutput.nextRolloutStepAtMs). Knative re-enqueues the Route after the step
// interval (route.go reconcileRollout, enqueueAfter); here each reconcile re-arms the timer for
// the earliest step of all Services, so there is never more than one.

/** setTimeout's longest delay (2^31 - 1 ms, about 24.8 days); longer ones would fire at once. */
const MAX_DELAY_MS = 2_147_483_647;

export class RolloutTimer {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  /**
   * @param wake schedules a reconcile (the adapter's coalescer); it runs at or after the step time.
   * @param nowMs wall clock, as the step times are (Date.now by default; tests pass their own).
   */
  constructor(
    private readonly wake: () => void,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /**
   * Replaces the pending wake-up with one at `atMs` (wall clock), or none for null. Waking early
   * is harmless: reconcile takes no step before its time and arms the timer again.
   */
  arm(atMs: number | null): void {
    this.clear();
    if (this.stopped || atMs === null) return;
    const delayMs = Math.min(MAX_DELAY_MS, Math.max(0, Math.ceil(atMs - this.nowMs())));
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.wake();
    }, delayMs);
    // Never the reason a stopping process stays alive; stop() clears it anyway.
    this.timer.unref();
  }

  /** The pending wake-up time is dropped and no other is armed. */
  stop(): void {
    this.stopped = true;
    this.clear();
  }

  /** True while a wake-up is pending (tests, metrics). */
  get armed(): boolean {
    return this.timer !== null;
  }

  private clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
