// The gateway's StatsSink in cluster mode: what GatewayCore reports every second goes to the
// autoscaler as one POST /v1/stats per second (with the per-endpoint in-flight counts that drive
// coordinated scale-down), and a cold start goes out at once as POST /v1/poke, fire-and-forget,
// so the request that caused it never waits on the autoscaler (Knative's activator sends its
// first stat synchronously through a channel, never blocking on the network either).
import { Pool } from 'undici';
import type { RevisionKey } from '../controller/state.js';
import type { PokeRequest, StatsReport } from '../lib/cluster-protocol.js';
import { POKE_PATH, STATS_PATH } from '../lib/cluster-protocol.js';
import type { Logger } from '../lib/log.js';
import type { RevisionStat, StatsSink } from '../lib/stats.js';

/** Knative queue-proxy and activator report once per second. */
export const REPORT_PERIOD_MS = 1_000;
/** A report older than two periods is no longer worth sending. */
const REQUEST_TIMEOUT_MS = 2_000;

/**
 * Stats gathered between two sends. The gateway cuts one report per second and the forwarder
 * sends once per second on its own timer; when timer drift puts two reports in one send, they
 * are folded into one per-second value (the mean of both periods) so the autoscaler never
 * records a revision twice for one gateway in one second.
 */
export class StatsBatch {
  private readonly entries = new Map<RevisionKey, { concurrency: number; requests: number; n: number }>();

  add(stats: readonly RevisionStat[]): void {
    for (const s of stats) {
      const e = this.entries.get(s.revision);
      if (e === undefined) {
        this.entries.set(s.revision, { concurrency: s.averageConcurrency, requests: s.requestCount, n: 1 });
      } else {
        e.concurrency += s.averageConcurrency;
        e.requests += s.requestCount;
        e.n++;
      }
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The folded stats; the batch is empty afterwards. */
  take(): RevisionStat[] {
    const out: RevisionStat[] = [];
    for (const [revision, e] of this.entries) {
      out.push({ revision, averageConcurrency: e.concurrency / e.n, requestCount: e.requests / e.n });
    }
    this.entries.clear();
    return out;
  }
}

export interface StatsForwarderOptions {
  /** http://autoscaler:8082 */
  readonly autoscalerUrl: string;
  /** This gateway (its pod name); the autoscaler sums reports from different sources. */
  readonly source: string;
  readonly logger: Logger;
  /** In-flight requests per endpoint id: every endpoint with any, and every draining one. */
  readonly inFlight: () => Record<string, number>;
  readonly periodMs?: number;
}

export class StatsForwarder implements StatsSink {
  private readonly pool: Pool;
  private readonly batch = new StatsBatch();
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | null = null;
  private sending = false;
  private failing = false;
  private closed = false;
  /** Reports and pokes sent and failed, for tests and /metrics. */
  readonly counts = { reports: 0, pokes: 0, failures: 0 };

  constructor(private readonly options: StatsForwarderOptions) {
    this.logger = options.logger.child({ part: 'stats-forwarder' });
    this.pool = new Pool(new URL(options.autoscalerUrl).origin, {
      connections: 4,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
      connectTimeout: REQUEST_TIMEOUT_MS,
    });
  }

  record(_source: string, stats: readonly RevisionStat[], _nowMs: number): void {
    this.batch.add(stats);
  }

  poke(revision: RevisionKey, _nowMs: number): void {
    if (this.closed) return;
    const body: PokeRequest = { source: this.options.source, revision };
    this.counts.pokes++;
    this.post(POKE_PATH, body).catch((err: unknown) => {
      this.counts.failures++;
      this.logger.warn('cold-start poke failed; the autoscaler sees the request in the next report', {
        revision,
        error: err instanceof Error ? err.message : String(err),
      });
    });
  }

  /** Sends every `periodMs`, also with no stats: the report doubles as the drain heartbeat. */
  start(): void {
    if (this.timer !== null || this.closed) return;
    this.timer = setInterval(() => {
      void this.flush();
    }, this.options.periodMs ?? REPORT_PERIOD_MS);
    this.timer.unref();
  }

  /** One report now; skipped while the previous one is still on its way (stats keep batching). */
  async flush(): Promise<void> {
    if (this.sending || this.closed) return;
    this.sending = true;
    const report: StatsReport = {
      source: this.options.source,
      stats: this.batch.take(),
      inFlight: this.options.inFlight(),
    };
    try {
      await this.post(STATS_PATH, report);
      this.counts.reports++;
      if (this.failing) this.logger.info('autoscaler reachable again');
      this.failing = false;
    } catch (err) {
      // Stats are per second: a lost report is not resent (the next one carries the new second).
      this.counts.failures++;
      if (!this.failing) {
        this.logger.warn('stats report failed; dropping it and retrying next second', {
          autoscaler: this.options.autoscalerUrl,
          error: err instanceof Error ? err.message : String(err),
        });
      }
      this.failing = true;
    } finally {
      this.sending = false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.pool.close().catch(() => undefined);
  }

  private async post(path: string, body: StatsReport | PokeRequest): Promise<void> {
    const res = await this.pool.request({
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await res.body.dump();
    if (res.statusCode !== 204 && res.statusCode !== 200) {
      throw new Error(`POST ${path}: HTTP ${res.statusCode}`);
    }
  }
}
