// One line per cold start in `kedge up`'s output: when a revision with no ready replica is asked
// for some, and how long until the first one could take requests.
import type { RevisionKey } from '../controller/state.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';

export class ColdStartLog {
  private readonly startedAtMs = new Map<RevisionKey, number>();

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Told of each cold start too (the dashboard marks them on its charts). */
    private readonly onColdStart?: (revision: RevisionKey, readyMs: number) => void,
  ) {}

  /** Call before Runtime.scale(): `readyNow` is the ready count before the change. */
  scaling(revision: RevisionKey, replicas: number, readyNow: number): void {
    if (replicas === 0) {
      this.startedAtMs.delete(revision);
      return;
    }
    if (readyNow === 0 && !this.startedAtMs.has(revision)) this.startedAtMs.set(revision, this.clock.nowMs());
  }

  /** Call on every ready-set change. */
  endpoints(revision: RevisionKey, readyCount: number): void {
    if (readyCount === 0) return;
    const startedAtMs = this.startedAtMs.get(revision);
    if (startedAtMs === undefined) return;
    this.startedAtMs.delete(revision);
    const ms = Math.round(this.clock.nowMs() - startedAtMs);
    this.logger.info(`cold start ${revision}: first replica ready in ${ms} ms`, { revision, readyMs: ms });
    this.onColdStart?.(revision, ms);
  }
}
