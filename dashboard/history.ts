// The dashboard's memory: per revision, the last ten minutes of load and replicas sampled every
// 2 s (a fixed ring of columns, so a long-running kedge holds a bounded amount per revision), and
// the cold starts seen in that time. Pure: time comes in as a parameter, no timers, no I/O; the
// sampler in register.ts owns the 2 s interval.

/** Knative's autoscaler ticks every 2 s (multiscaler tickInterval); sampling faster shows nothing new. */
export const SAMPLE_INTERVAL_MS = 2_000;
export const HISTORY_WINDOW_MS = 600_000;
export const HISTORY_POINTS = HISTORY_WINDOW_MS / SAMPLE_INTERVAL_MS;
/** Cold starts older than the window are dropped too; this only bounds a revision that flaps. */
export const COLD_STARTS_KEPT = 100;

/** One revision's state at one sampling instant. */
export interface RevisionSample {
  /** `namespace/name`. */
  readonly revision: string;
  /** Requests in flight plus queued in the gateway at that instant. */
  readonly observedConcurrency: number;
  /** The autoscaler's stable-window average (concurrency or rps, per the revision's metric). */
  readonly stableConcurrency: number;
  readonly desiredReplicas: number;
  readonly readyReplicas: number;
  readonly panic: boolean;
}

export interface ColdStart {
  /** When the revision started leaving zero (wall-clock ms). */
  readonly timeMs: number;
  readonly durationMs: number;
  /**
   * true: derived from 2 s samples (the last sample at zero → the first with a ready replica), so
   * `durationMs` is an upper bound, off by at most one interval. false: reported by the gateway.
   */
  readonly estimated: boolean;
}

/** Columns, oldest first: index i of every array is one sample. */
export interface RevisionSeries {
  readonly revision: string;
  readonly timeMs: readonly number[];
  readonly observedConcurrency: readonly number[];
  readonly stableConcurrency: readonly number[];
  readonly desiredReplicas: readonly number[];
  readonly readyReplicas: readonly number[];
  readonly panic: readonly boolean[];
  readonly coldStarts: readonly ColdStart[];
}

export interface HistoryOptions {
  /** Samples kept per revision (default HISTORY_POINTS: ten minutes at 2 s). */
  readonly points?: number;
  readonly coldStartsKept?: number;
}

/** Column indexes of a Track. */
const Col = { Time: 0, Observed: 1, Stable: 2, Desired: 3, Ready: 4, Panic: 5, Count: 6 } as const;
type Col = (typeof Col)[keyof typeof Col];

class Track {
  /** One Float64Array per column; a ring of `capacity` rows starting at `head`. */
  private readonly cols: Float64Array[];
  private head = 0;
  size = 0;
  coldStarts: ColdStart[] = [];
  /** Time of the last sample with neither desired nor ready replicas (idle at zero), or null. */
  idleAtMs: number | null = null;
  /** Set while the revision is leaving zero: the start estimate of the cold start in progress. */
  startingAtMs: number | null = null;
  lastSampleMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly capacity: number) {
    this.cols = Array.from({ length: Col.Count }, () => new Float64Array(capacity));
  }

  push(s: RevisionSample, nowMs: number): void {
    const row = (this.head + this.size) % this.capacity;
    const values = [
      nowMs,
      s.observedConcurrency,
      s.stableConcurrency,
      s.desiredReplicas,
      s.readyReplicas,
      s.panic ? 1 : 0,
    ];
    for (let c = 0; c < Col.Count; c++) (this.cols[c] as Float64Array)[row] = values[c] ?? 0;
    if (this.size < this.capacity) this.size++;
    else this.head = (this.head + 1) % this.capacity;
    this.lastSampleMs = nowMs;
  }

  column(c: Col, sinceMs: number): number[] {
    const out: number[] = [];
    const time = this.cols[Col.Time] as Float64Array;
    const col = this.cols[c] as Float64Array;
    for (let i = 0; i < this.size; i++) {
      const row = (this.head + i) % this.capacity;
      if ((time[row] ?? 0) > sinceMs) out.push(col[row] ?? 0);
    }
    return out;
  }
}

/**
 * Ring buffers of samples per revision, plus cold starts. A revision absent from a sample() call
 * has been removed from the State and is forgotten.
 *
 * Cold starts come from two places: the gateway's exact events (coldStart(); it times a request
 * that found the revision at zero until its first byte went upstream), or, until the first exact
 * event arrives, they are derived from the samples. Once the gateway reports one, derivation stops
 * for every revision, so nothing is counted twice.
 */
export class MetricsHistory {
  private readonly tracks = new Map<string, Track>();
  private readonly points: number;
  private readonly coldStartsKept: number;
  private exactColdStarts = false;

  constructor(options: HistoryOptions = {}) {
    this.points = options.points ?? HISTORY_POINTS;
    this.coldStartsKept = options.coldStartsKept ?? COLD_STARTS_KEPT;
    // pre: at least one point, so a track always has its last sample
    if (!(this.points >= 1 && Number.isInteger(this.points))) {
      throw new RangeError(`history points must be a positive integer, got ${this.points}`);
    }
  }

  /** Appends one point per revision at nowMs (wall-clock ms, increasing). */
  sample(nowMs: number, samples: Iterable<RevisionSample>): void {
    const seen = new Set<string>();
    for (const s of samples) {
      seen.add(s.revision);
      let track = this.tracks.get(s.revision);
      if (track === undefined) {
        track = new Track(this.points);
        this.tracks.set(s.revision, track);
      }
      if (nowMs <= track.lastSampleMs) continue;
      if (!this.exactColdStarts) this.derive(track, s, nowMs);
      track.push(s, nowMs);
      this.prune(track, nowMs);
    }
    for (const key of this.tracks.keys()) if (!seen.has(key)) this.tracks.delete(key);
  }

  /** An exact cold start from the gateway: the request arrived at timeMs and waited durationMs. */
  coldStart(revision: string, timeMs: number, durationMs: number): void {
    if (!this.exactColdStarts) {
      // Drop the estimates: from now on the gateway is the one source.
      this.exactColdStarts = true;
      for (const t of this.tracks.values()) {
        t.coldStarts = t.coldStarts.filter((c) => !c.estimated);
        t.startingAtMs = null;
      }
    }
    let track = this.tracks.get(revision);
    if (track === undefined) {
      track = new Track(this.points);
      this.tracks.set(revision, track);
    }
    track.coldStarts.push({ timeMs, durationMs, estimated: false });
    if (track.coldStarts.length > this.coldStartsKept) track.coldStarts.shift();
  }

  revisions(): string[] {
    return [...this.tracks.keys()].sort();
  }

  /** The revision's samples newer than sinceMs (all by default), or undefined if unknown. */
  series(revision: string, sinceMs = Number.NEGATIVE_INFINITY): RevisionSeries | undefined {
    const t = this.tracks.get(revision);
    if (t === undefined) return undefined;
    return {
      revision,
      timeMs: t.column(Col.Time, sinceMs),
      observedConcurrency: t.column(Col.Observed, sinceMs),
      stableConcurrency: t.column(Col.Stable, sinceMs),
      desiredReplicas: t.column(Col.Desired, sinceMs),
      readyReplicas: t.column(Col.Ready, sinceMs),
      panic: t.column(Col.Panic, sinceMs).map((v) => v !== 0),
      coldStarts: t.coldStarts.filter((c) => c.timeMs > sinceMs),
    };
  }

  /**
   * A cold start, seen in samples: a revision idle at zero (desired 0, ready 0) that is later seen
   * with a ready replica. It starts at the last idle sample (the latest it can have started is the
   * next one, so the duration is an upper bound) and ends at the first sample with a ready replica.
   * A brand-new revision's first start is a deployment, not a cold start.
   */
  private derive(t: Track, s: RevisionSample, nowMs: number): void {
    const idle = s.desiredReplicas === 0 && s.readyReplicas === 0;
    if (idle) {
      t.idleAtMs = nowMs;
      t.startingAtMs = null;
      return;
    }
    if (s.readyReplicas === 0) {
      // Leaving zero: remember where the run started (only if it was idle just before).
      if (t.startingAtMs === null && t.idleAtMs !== null && t.idleAtMs === t.lastSampleMs) {
        t.startingAtMs = t.idleAtMs;
      }
      return;
    }
    const start =
      t.startingAtMs ?? (t.idleAtMs !== null && t.idleAtMs === t.lastSampleMs ? t.idleAtMs : null);
    if (start !== null) {
      t.coldStarts.push({ timeMs: start, durationMs: nowMs - start, estimated: true });
      if (t.coldStarts.length > this.coldStartsKept) t.coldStarts.shift();
    }
    t.startingAtMs = null;
    t.idleAtMs = null;
  }

  private prune(t: Track, nowMs: number): void {
    const oldest = nowMs - this.points * SAMPLE_INTERVAL_MS;
    if (t.coldStarts.length > 0 && (t.coldStarts[0]?.timeMs ?? 0) < oldest) {
      t.coldStarts = t.coldStarts.filter((c) => c.timeMs >= oldest);
    }
  }
}
