// kedge's gateway: ingress + activator + queue-proxy in one process. This file wires options,
// the front end, the coarse ticker, the 1 s stats report and metrics around GatewayCore.
import type { Registry } from 'prom-client';
import type { Endpoint, RevisionFailure } from '../controller/runtime.js';
import type { RecentErrorSink } from '../dashboard/recent-errors.js';
import type { RevisionKey, State } from '../controller/state.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { StatsSink } from '../lib/stats.js';
import { AccessLog } from './access-log.js';
import type { AccessLogSink } from './access-log.js';
import { GatewayCore } from './core.js';
import { startNode } from './front/node-http.js';
import type { Frontend } from './front/node-http.js';
import { startUws } from './front/uws.js';
import { RandomIds } from './ids.js';
import type { IdSource } from './ids.js';
import { GatewayMetrics } from './metrics.js';
import type { UpstreamMode } from './proxy.js';

export interface GatewayOptions {
  /** '127.0.0.1' by default. */
  host: string;
  /** 0 = ephemeral (tests). */
  port: number;
  /**
   * 'auto' (default): uWS, falling back to node:http if the binary cannot load. With 'auto', the
   * env KEDGE_FRONTEND=uws|node forces one; an explicit 'uws' or 'node' wins over the env.
   */
  frontend?: 'auto' | 'uws' | 'node';
  clock: Clock;
  /** record() every 1 s per revision with activity; poke() synchronously on the first request for a revision with no ready endpoint. */
  stats: StatsSink;
  logger: Logger;
  registry: Registry;
  /** Stats source id (default: 'gateway-<pid>'). */
  source?: string;
  /** Per revision; default 10 000 (Knative activator's breaker queue depth). */
  queueLimit?: number;
  /** Injected for tests. */
  random?: () => number;
  /**
   * Upstream client: 'raw' (default), the keep-alive `net` pool with its strict HTTP/1.1 parser,
   * with undici for what it does not cover; or 'undici' for everything. The env
   * KEDGE_UPSTREAM=raw|undici applies when this is not set.
   */
  upstream?: UpstreamMode;
  /**
   * Every error the gateway answers itself (a GatewayError: 4xx, 502, 503, 504) is recorded here
   * for the dashboard, under `namespace/service`, or '' when no service owns the request (404,
   * a malformed request). Written only on errors, never on the success path.
   */
  errors?: RecentErrorSink;
  /**
   * One JSON line per request (gateway/access-log.ts), written in batches off the hot path; the
   * gateway closes it in close(). Absent: no access log, and nothing is kept per request.
   */
  accessLog?: AccessLogSink;
  /** Trace, span and request ids (injected for tests; default: batched CSPRNG ids). */
  ids?: IdSource;
}

/** Knative activator: breaker QueueDepth 10000 (pkg/activator/net/throttler.go). */
export const DEFAULT_QUEUE_LIMIT = 10_000;
/** Timer resolution for queue deadlines and request timeouts (one interval for all requests). */
const TICK_MS = 100;
/** Knative queue-proxy and activator report once per second. */
const REPORT_MS = 1_000;

export class Gateway {
  readonly port: number;
  readonly frontend: 'uws' | 'node';
  readonly upstream: UpstreamMode;
  private readonly ticker: NodeJS.Timeout;
  private readonly reporter: NodeJS.Timeout;
  private closed: Promise<void> | null = null;

  private constructor(
    private readonly core: GatewayCore,
    private readonly front: Frontend,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {
    this.port = front.port;
    this.frontend = front.kind;
    this.upstream = core.pools.mode;
    this.ticker = setInterval(() => {
      core.tick(clock.nowMs());
      core.accessLog?.flush();
    }, TICK_MS);
    this.ticker.unref();
    this.reporter = setInterval(() => {
      core.report(clock.nowMs());
    }, REPORT_MS);
    this.reporter.unref();
  }

  static async start(options: GatewayOptions): Promise<Gateway> {
    const logger = options.logger.child({ component: 'gateway' });
    let core: GatewayCore | null = null;
    const metrics = new GatewayMetrics(
      options.registry,
      () => (core === null ? [] : core.load()),
      () => core?.accessLog?.takeDropped() ?? 0,
    );
    const clock = options.clock;
    core = new GatewayCore({
      clock: options.clock,
      stats: options.stats,
      logger,
      metrics,
      source: options.source ?? `gateway-${process.pid}`,
      queueLimit: options.queueLimit ?? DEFAULT_QUEUE_LIMIT,
      random: options.random ?? Math.random,
      upstream: chooseUpstream(options.upstream),
      errors: options.errors ?? null,
      ids: options.ids ?? new RandomIds(),
      accessLog: options.accessLog === undefined ? null : newAccessLog(options.accessLog, clock),
    });
    const host = options.host === '' ? '127.0.0.1' : options.host;
    const front = await startFrontend(core, chooseFrontend(options.frontend), host, options.port, logger);
    if (core.accessLog !== null) core.accessLog.frontend = front.kind;
    logger.info('gateway listening', {
      frontend: front.kind,
      upstream: core.pools.mode,
      host,
      port: front.port,
    });
    return new Gateway(core, front, logger, options.clock);
  }

  /** Rebuilds the route table off the hot path and swaps one reference; equal versions are skipped. */
  applyState(state: State): void {
    if (this.core.applyState(state)) this.logger.debug('state applied', { version: state.version });
  }

  /** Copy-on-write replace; queued requests for the revision proceed FIFO as capacity appears. */
  setEndpoints(revision: RevisionKey, endpoints: readonly Endpoint[]): void {
    this.core.setEndpoints(revision, endpoints);
  }

  /** Queued requests get 503 at once; new ones too while the revision has no endpoints. */
  setRevisionFailure(revision: RevisionKey, failure: RevisionFailure | null): void {
    this.core.setRevisionFailure(revision, failure);
  }

  /** Resolves when no request is in flight on that endpoint. */
  waitForIdle(endpointId: string): Promise<void> {
    return this.core.waitForIdle(endpointId);
  }

  revisionLoad(revision: RevisionKey): { inFlight: number; queued: number } {
    return this.core.revisionLoad(revision);
  }

  /**
   * Requests in flight on one endpoint right now; 0 once it is idle or unknown. Cluster mode
   * reports it to the autoscaler, which removes a pod only after every gateway reports 0.
   */
  endpointLoad(endpointId: string): number {
    return this.core.endpointInFlight(endpointId);
  }

  /**
   * Replaces the access log (null turns it off): what the old one holds is written to it first,
   * then it is closed. For embedders that start the gateway before they know where lines go.
   */
  async setAccessLog(sink: AccessLogSink | null): Promise<void> {
    const core = this.core;
    const old = core.accessLog;
    if (sink === null) core.accessLog = null;
    else {
      const log = newAccessLog(sink, this.clock);
      log.frontend = this.frontend;
      core.accessLog = log;
    }
    if (old === null) return;
    old.flush();
    // Its drops still reach kedge_access_log_dropped_total: carried over to the new one's count.
    core.accessLog?.addDropped(old.takeDropped());
    await old.sink.close?.();
  }

  /** Stops listening, cuts queued requests, closes upstream pools, then writes and closes the access log. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      clearInterval(this.ticker);
      clearInterval(this.reporter);
      this.core.shutdown();
      await Promise.all([this.front.close(), this.core.pools.closeAll()]);
      const log = this.core.accessLog;
      if (log !== null) {
        log.flush();
        await log.sink.close?.();
      }
      this.logger.info('gateway closed', { port: this.port });
    })();
    return this.closed;
  }
}

function newAccessLog(sink: AccessLogSink, clock: Clock): AccessLog {
  // Entries carry wall time; the Clock is monotonic. The offset is taken once per batch.
  return new AccessLog(sink, () => Date.now() - clock.nowMs());
}

function chooseFrontend(option: GatewayOptions['frontend']): 'auto' | 'uws' | 'node' {
  if (option === 'uws' || option === 'node') return option;
  const env = process.env['KEDGE_FRONTEND'];
  return env === 'uws' || env === 'node' ? env : 'auto';
}

function chooseUpstream(option: UpstreamMode | undefined): UpstreamMode {
  if (option !== undefined) return option;
  return process.env['KEDGE_UPSTREAM'] === 'undici' ? 'undici' : 'raw';
}

async function startFrontend(
  core: GatewayCore,
  choice: 'auto' | 'uws' | 'node',
  host: string,
  port: number,
  logger: Logger,
): Promise<Frontend> {
  if (choice === 'node') return startNode(core, host, port);
  if (choice === 'uws') return startUws(core, host, port);
  try {
    return await startUws(core, host, port);
  } catch (err) {
    logger.warn('uWebSockets.js unavailable, using the node:http front end', {
      error: err instanceof Error ? err.message : String(err),
    });
    return startNode(core, host, port);
  }
}
