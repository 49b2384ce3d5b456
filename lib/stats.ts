// What the gateway tells the autoscaler. Knative's queue-proxy and activator send the same facts
// (time-weighted average concurrency and request count per 1 s period, per revision).
import type { RevisionKey } from '../controller/state.js';

export interface RevisionStat {
  readonly revision: RevisionKey;
  /** Time-weighted average of requests in flight or queued over the period (Knative AverageConcurrentRequests). */
  readonly averageConcurrency: number;
  /** Requests that arrived in the period. */
  readonly requestCount: number;
}

export interface StatsSink {
  /**
   * One report per source per period (the gateway cuts one every second). `source` tells gateway
   * replicas apart: reports from different sources in the same second are summed.
   */
  record(source: string, stats: readonly RevisionStat[], nowMs: number): void;
  /**
   * A request arrived for a revision with no ready replica: decide now, not at the next tick
   * (Knative's activator sends {concurrency 1, count 1} and the autoscaler pokes the decider).
   */
  poke(revision: RevisionKey, nowMs: number): void;
}
