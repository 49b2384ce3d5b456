// Knative's metric windows (pkg/autoscaler/aggregation/bucketing.go and max/window.go), with
// time passed in. Buckets are indexed by whole seconds of the monotonic clock.
import type { AggregationAlgorithm } from './config.js';

/** Knative config.go BucketSize: one bucket per second. */
export const BUCKET_MS = 1000;
/** Knative multiscaler tickInterval, the granularity of the scale-down-delay max window. */
export const DELAY_BUCKET_MS = 2000;

// Knative bucketing.go: the weights of a weighted-exponential average sum to at least this much
// over the window, and decay at least this fast (so huge windows do not become a plain average).
const WEIGHT_PRECISION = 0.9999;
const MIN_ALPHA = 0.2;
// Knative bucketing.go roundToNDigits(6): float residue such as 3.6e-17 must not keep a pod alive.
const PRECISION = 1e6;

/** alpha = max(1 - (1 - 0.9999)^(1/n), 0.2) for n buckets (Knative computeSmoothingCoeff). */
export function smoothingCoefficient(buckets: number): number {
  return Math.max(1 - Math.pow(1 - WEIGHT_PRECISION, 1 / buckets), MIN_ALPHA);
}

function floorTo6Digits(x: number): number {
  return Math.floor(x * PRECISION) / PRECISION;
}

/**
 * A ring of ceil(window / 1 s) buckets. Values recorded in the same second are summed (several
 * gateways report the same revision). Mutable on purpose: one per revision and metric, written
 * every second; the decision itself (kpa.ts) only sees the averages.
 */
export class MetricWindow {
  private buckets: Float64Array;
  private windowTotal = 0;
  /** Bucket index of the first write of the current series; null before any write. */
  private firstIndex: number | null = null;
  private lastIndex: number | null = null;
  private alpha: number;

  constructor(
    windowMs: number,
    readonly algorithm: AggregationAlgorithm = 'linear',
  ) {
    // pre: windowMs >= 1000
    const n = Math.max(1, Math.ceil(windowMs / BUCKET_MS));
    this.buckets = new Float64Array(n);
    this.alpha = smoothingCoefficient(n);
  }

  get bucketCount(): number {
    return this.buckets.length;
  }

  /** The bucket index of the last write, or null; lets the loop tell whether a second already has a stat. */
  get lastWriteIndex(): number | null {
    return this.lastIndex;
  }

  private slot(index: number): number {
    const n = this.buckets.length;
    return ((index % n) + n) % n;
  }

  /** Adds `value` to the bucket of `nowMs`. Writes older than the window are ignored. */
  record(nowMs: number, value: number): void {
    const index = Math.floor(nowMs / BUCKET_MS);
    const n = this.buckets.length;
    const last = this.lastIndex;
    if (last !== index) {
      // Knative: a value a whole window older than the last write is dropped.
      if (last !== null && index + n <= last) return;
      if (this.firstIndex === null || this.firstIndex > index) this.firstIndex = index;
      if (last === null || index > last) {
        if (last === null || index - last >= n) {
          // No write for a full window: a new series starts, averaged over a partial window.
          this.firstIndex = index;
          this.buckets.fill(0);
          this.windowTotal = 0;
        } else {
          // Seconds skipped since the last write are zeros, not stale values from a lap ago.
          for (let i = last + 1; i <= index; i++) {
            const s = this.slot(i);
            this.windowTotal -= this.buckets[s] ?? 0;
            this.buckets[s] = 0;
          }
        }
        this.lastIndex = index;
      }
    }
    const s = this.slot(index);
    this.buckets[s] = (this.buckets[s] ?? 0) + value;
    this.windowTotal += value;
  }

  /** The window's average at `nowMs`, by the window's algorithm; 0 when nothing was written for longer than the window. */
  average(nowMs: number): number {
    return this.algorithm === 'linear' ? this.linearAverage(nowMs) : this.weightedAverage(nowMs);
  }

  /**
   * Knative TimedFloat64Buckets.WindowAverage: the sum of the valid buckets over their count.
   * Valid buckets run from the first write to the last, capped at the window; gaps in between
   * count as 0; seconds after the last write are left out (a partial window) until a whole
   * window has passed, then the average is 0.
   */
  private linearAverage(nowMs: number): number {
    const last = this.lastIndex;
    const first = this.firstIndex;
    if (last === null || first === null) return 0;
    const n = this.buckets.length;
    const index = Math.floor(nowMs / BUCKET_MS);
    const sinceLast = index - last;
    if (sinceLast <= 0) {
      return floorTo6Digits(this.windowTotal / Math.min(last - first + 1, n));
    }
    if (sinceLast < n) {
      let total = this.windowTotal;
      // Those slots hold values from a lap ago that have left the window.
      for (let i = last + 1; i <= index; i++) total -= this.buckets[this.slot(i)] ?? 0;
      return floorTo6Digits(total / Math.min(last - first + 1, n - sinceLast));
    }
    return 0;
  }

  /**
   * Knative WeightedFloat64Buckets.WindowAverage: the newest bucket weighs alpha, the one before
   * alpha(1-alpha), and so on; seconds since the last write count as zeros.
   * Knative's example: 10 s window, [1,3,5,4,6,7,2,8,10,20] (newest last) → 15.430728...
   */
  private weightedAverage(nowMs: number): number {
    const last = this.lastIndex;
    if (last === null) return 0;
    const n = this.buckets.length;
    const index = Math.floor(nowMs / BUCKET_MS);
    if (index - last > n) return 0;
    let multiplier = this.alpha;
    let count = n;
    if (index > last) {
      const zeros = index - last;
      multiplier *= Math.pow(1 - this.alpha, zeros);
      count -= zeros;
    }
    let sum = 0;
    for (let i = 0; i < count; i++) {
      sum += (this.buckets[this.slot(last - i)] ?? 0) * multiplier;
      multiplier *= 1 - this.alpha;
    }
    return sum;
  }

  /**
   * Knative ResizeWindow (a config change of the stable window): keeps the newest buckets that
   * fit, so the series continues instead of starting over.
   */
  resize(windowMs: number, nowMs: number): void {
    const n = Math.max(1, Math.ceil(windowMs / BUCKET_MS));
    const old = this.buckets;
    if (n === old.length) return;
    const next = new Float64Array(n);
    let total = 0;
    const last = this.lastIndex;
    const index = Math.floor(nowMs / BUCKET_MS);
    if (last !== null && index - last <= old.length) {
      for (let k = 0; k < Math.min(n, old.length); k++) {
        const i = last - k;
        const v = old[((i % old.length) + old.length) % old.length] ?? 0;
        next[((i % n) + n) % n] = v;
        total += v;
      }
      // Knative: the earliest time data might have been written.
      this.firstIndex = last - (old.length - 1);
    } else {
      this.firstIndex = null;
      this.lastIndex = null;
    }
    this.buckets = next;
    this.windowTotal = total;
    this.alpha = smoothingCoefficient(n);
  }
}

/** One value of the max window: Knative max.window entry. */
export interface MaxEntry {
  readonly index: number;
  readonly value: number;
}

/**
 * The maximum over a sliding time window (scale-down-delay), immutable so that decide() stays a
 * function: Knative max.TimeWindow, an ascending-minima deque of (index, value) in descending
 * value order, so it holds few entries however long the window.
 */
export interface MaxWindow {
  /** Number of buckets: ceil(duration / granularity). */
  readonly size: number;
  readonly granularityMs: number;
  readonly entries: readonly MaxEntry[];
}

export function newMaxWindow(durationMs: number, granularityMs: number = DELAY_BUCKET_MS): MaxWindow {
  // pre: durationMs > 0, granularityMs > 0
  return { size: Math.max(1, Math.ceil(durationMs / granularityMs)), granularityMs, entries: [] };
}

/** Records `value` at `nowMs` and returns the new window; `prev` is not changed. */
export function recordMax(prev: MaxWindow, nowMs: number, value: number): MaxWindow {
  const index = Math.floor(nowMs / prev.granularityMs);
  const entries = prev.entries.slice();
  let v = value;
  // A smaller, older value can never be the maximum again: the new one is larger and newer.
  while (entries.length > 0 && !(v < (entries[entries.length - 1]?.value ?? 0))) entries.pop();
  // Entries that have slid out of the window leave from the front (oldest first).
  let drop = 0;
  while (drop < entries.length && index - (entries[drop]?.index ?? index) >= prev.size) drop++;
  if (drop > 0) entries.splice(0, drop);
  // Two values in the same bucket: keep the larger.
  const lastEntry = entries[entries.length - 1];
  if (lastEntry !== undefined && lastEntry.index === index) {
    v = Math.max(v, lastEntry.value);
    entries.pop();
  }
  entries.push({ index, value: v });
  return { size: prev.size, granularityMs: prev.granularityMs, entries };
}

/** The maximum recorded within the window, as of the last record; 0 when empty. */
export function currentMax(w: MaxWindow): number {
  return w.entries[0]?.value ?? 0;
}
