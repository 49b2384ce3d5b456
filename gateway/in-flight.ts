// Concurrency accounting per revision, as Knative's queue-proxy/activator report it: the
// time-weighted average of requests in flight or queued over each period, plus the count of
// requests that arrived in it (Knative AverageConcurrentRequests / RequestCount). Pure: every
// call takes `nowMs`.
import type { RevisionKey } from '../controller/state.js';
import type { RevisionStat } from '../lib/stats.js';

interface Entry {
  /** Requests in flight or queued right now. */
  current: number;
  /** ∫ current dt since the period began, in request·ms. */
  areaMs: number;
  lastChangeMs: number;
  requests: number;
}

export class ConcurrencyAccountant {
  private readonly entries = new Map<RevisionKey, Entry>();
  private periodStartMs: number;

  constructor(nowMs: number) {
    this.periodStartMs = nowMs;
  }

  /** A request arrived for `revision` (queued or not): +1 concurrency, +1 request. */
  arrive(revision: RevisionKey, nowMs: number): void {
    let e = this.entries.get(revision);
    if (e === undefined) {
      e = { current: 0, areaMs: 0, lastChangeMs: nowMs, requests: 0 };
      this.entries.set(revision, e);
    }
    e.areaMs += e.current * (nowMs - e.lastChangeMs);
    e.lastChangeMs = nowMs;
    e.current++;
    e.requests++;
  }

  /** A request left (answered, failed, aborted or timed out). pre: it arrived once before. */
  depart(revision: RevisionKey, nowMs: number): void {
    const e = this.entries.get(revision);
    if (e === undefined || e.current === 0) return;
    e.areaMs += e.current * (nowMs - e.lastChangeMs);
    e.lastChangeMs = nowMs;
    e.current--;
  }

  current(revision: RevisionKey): number {
    return this.entries.get(revision)?.current ?? 0;
  }

  /**
   * Closes the period at `nowMs` and returns one stat per revision with activity in it. A revision
   * with nothing in flight and nothing in the period is dropped (Knative drops an entry after a
   * period with 0 average concurrency).
   * Worked example: one request from 0 to 500 ms of a 1000 ms period → averageConcurrency 0.5.
   */
  report(nowMs: number): RevisionStat[] {
    const periodMs = nowMs - this.periodStartMs;
    this.periodStartMs = nowMs;
    const out: RevisionStat[] = [];
    for (const [revision, e] of this.entries) {
      e.areaMs += e.current * (nowMs - e.lastChangeMs);
      e.lastChangeMs = nowMs;
      if (e.areaMs === 0 && e.requests === 0 && e.current === 0) {
        this.entries.delete(revision);
        continue;
      }
      const averageConcurrency = periodMs > 0 ? e.areaMs / periodMs : e.current;
      out.push({ revision, averageConcurrency, requestCount: e.requests });
      e.areaMs = 0;
      e.requests = 0;
    }
    return out;
  }
}
