// The shared request path behind both front ends: Host → route → weighted split → revision →
// endpoint (or the activator queue) → undici → back to the client, with exact accounting through
// success, error, abort and timeout. Timeouts come from one coarse ticker scanning an intrusive
// list of exchanges (undici lib/util/timers.js keeps one timer for many requests the same way).
// Per-revision state lives in revision-runtime.ts, one request's lifecycle in exchange.ts.
import type { Endpoint, RevisionFailure } from '../controller/runtime.js';
import type { RevisionKey, State } from '../controller/state.js';
import type { RecentErrorSink } from '../dashboard/recent-errors.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { StatsSink } from '../lib/stats.js';
import type { AccessLog } from './access-log.js';
import { GatewayError, sendError } from './errors.js';
import { Exchange } from './exchange.js';
import type { Downstream, IncomingRequest } from './front/types.js';
import type { IdSource } from './ids.js';
import { ConcurrencyAccountant } from './in-flight.js';
import type { GatewayMetrics, RevisionLoadSample } from './metrics.js';
import { pickEndpoint, reserve } from './picker.js';
import type { Release } from './picker.js';
import { UpstreamPools } from './proxy.js';
import type { UpstreamMode } from './proxy.js';
import { EndpointSlot, RevisionRuntime } from './revision-runtime.js';
import {
  buildRouteTable,
  defaultRevisionSettings,
  EMPTY_ROUTE_TABLE,
  isValidHost,
  normalizeHost,
} from './route-table.js';
import type { RevisionSettings, RouteTable } from './route-table.js';
import { SnapshotStore } from './snapshot-store.js';
import {
  formatTraceparent,
  isSaneRequestId,
  TRACE_ID_END,
  TRACE_ID_START,
  traceFlags,
  trimOws,
} from './trace-context.js';
import { pickSplit } from './traffic-split.js';

/** Retry-After for a full queue: the autoscaler decides every 2 s, a replica starts in ~60 ms. */
const QUEUE_FULL_RETRY_AFTER_S = 1;

export interface CoreOptions {
  readonly clock: Clock;
  readonly stats: StatsSink;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly source: string;
  readonly queueLimit: number;
  readonly random: () => number;
  readonly upstream: UpstreamMode;
  /** Where every answered GatewayError is recorded for the dashboard (errors only, never on success). */
  readonly errors: RecentErrorSink | null;
  readonly ids: IdSource;
  /** null: no access log (nothing is kept per request). */
  readonly accessLog: AccessLog | null;
}

export class GatewayCore {
  readonly store = new SnapshotStore<RouteTable>(EMPTY_ROUTE_TABLE);
  readonly pools: UpstreamPools;
  readonly accountant: ConcurrencyAccountant;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly random: () => number;
  /** Refreshed by every tick; good enough for idle tracking, never used for accounting. */
  coarseNowMs: number;
  private readonly runtimes = new Map<RevisionKey, RevisionRuntime>();
  private readonly slotsById = new Map<string, EndpointSlot>();
  private readonly stats: StatsSink;
  private readonly source: string;
  private readonly queueLimit: number;
  readonly errors: RecentErrorSink | null;
  readonly ids: IdSource;
  accessLog: AccessLog | null;
  /**
   * The trace context of the request handle() or refuse() is answering, set by beginTrace() and
   * read synchronously in the same call (by the Exchange's constructor or by reject()).
   */
  private traceparent = '';
  private keepTracestate = false;
  /** Head of the intrusive list of exchanges holding a reservation (scanned by tick()). */
  activeHead: Exchange | null = null;
  private readonly onSlotRelease = (slot: EndpointSlot): void => {
    this.slotReleased(slot);
  };

  constructor(o: CoreOptions) {
    this.clock = o.clock;
    this.stats = o.stats;
    this.logger = o.logger;
    this.metrics = o.metrics;
    this.source = o.source;
    this.queueLimit = o.queueLimit;
    this.random = o.random;
    this.errors = o.errors;
    this.ids = o.ids;
    this.accessLog = o.accessLog;
    this.coarseNowMs = o.clock.nowMs();
    this.pools = new UpstreamPools(o.upstream, this.coarseNowMs);
    this.accountant = new ConcurrencyAccountant(this.coarseNowMs);
  }

  // ---- control path (off the hot path) ----

  applyState(state: State): boolean {
    if (state.version === this.store.current.version && this.store.current !== EMPTY_ROUTE_TABLE)
      return false;
    const table = buildRouteTable(state);
    for (const settings of table.revisions.values()) {
      const rt = this.runtimes.get(settings.key);
      if (rt === undefined) this.runtimes.set(settings.key, this.newRuntime(settings));
      else rt.settings = settings;
    }
    for (const [key, rt] of this.runtimes) {
      if (!table.revisions.has(key) && rt.slots.length === 0 && rt.inFlight === 0 && rt.queue.size === 0) {
        this.runtimes.delete(key);
      }
    }
    this.store.swap(table);
    return true;
  }

  setEndpoints(key: RevisionKey, endpoints: readonly Endpoint[]): void {
    const rt = this.runtime(key);
    const next: EndpointSlot[] = [];
    for (const ep of endpoints) {
      let slot = this.slotsById.get(ep.id);
      if (slot === undefined || slot.runtime !== rt) {
        slot = new EndpointSlot(ep, rt);
        this.slotsById.set(ep.id, slot);
      }
      slot.removed = false;
      // Listed again: the runtime says it is ready, so a refusal seen before no longer counts.
      slot.unhealthy = false;
      next.push(slot);
    }
    for (const old of rt.slots) {
      if (next.includes(old)) continue;
      old.removed = true;
      if (old.inFlight === 0) this.forgetSlot(old);
    }
    rt.slots = Object.freeze(next);
    if (next.length > 0) rt.poked = false;
    this.dispatchQueued(rt);
  }

  setRevisionFailure(key: RevisionKey, failure: RevisionFailure | null): void {
    const rt = this.runtime(key);
    rt.failure = failure;
    if (failure === null) return;
    const err = revisionFailed(rt.settings, failure);
    rt.queue.drain((ex) => {
      ex.fail(err);
    });
  }

  waitForIdle(endpointId: string): Promise<void> {
    const slot = this.slotsById.get(endpointId);
    if (slot === undefined || slot.inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      (slot.idleWaiters ??= []).push(resolve);
    });
  }

  /** Requests holding a reservation on one endpoint now; 0 once it is idle, forgotten or unknown. */
  endpointInFlight(id: string): number {
    return this.slotsById.get(id)?.inFlight ?? 0;
  }

  revisionLoad(key: RevisionKey): { inFlight: number; queued: number } {
    const rt = this.runtimes.get(key);
    return rt === undefined ? { inFlight: 0, queued: 0 } : { inFlight: rt.inFlight, queued: rt.queue.size };
  }

  *load(): Iterable<RevisionLoadSample> {
    for (const rt of this.runtimes.values()) {
      yield {
        key: rt.key,
        namespace: rt.settings.namespace,
        name: rt.settings.name,
        inFlight: rt.inFlight,
        queued: rt.queue.size,
      };
    }
  }

  /** Called by the coarse ticker: queue deadlines, then total / response-start / idle timers. */
  tick(nowMs: number): void {
    this.coarseNowMs = nowMs;
    this.pools.sweep(nowMs);
    for (const rt of this.runtimes.values()) {
      if (rt.queue.size === 0) continue;
      rt.queue.expire(nowMs, (ex) => {
        ex.fail(noCapacity(rt));
      });
    }
    let ex = this.activeHead;
    while (ex !== null) {
      const next = ex.next;
      ex.checkTimers(nowMs);
      ex = next;
    }
  }

  /** Called every second: one stat per revision with activity (queued requests count, as in Knative). */
  report(nowMs: number): void {
    const stats = this.accountant.report(nowMs);
    if (stats.length > 0) this.stats.record(this.source, stats, nowMs);
  }

  /** Shutdown: queued requests are cut (another gateway replica may take the retry). */
  shutdown(): void {
    for (const rt of this.runtimes.values()) {
      rt.queue.drain((ex) => {
        ex.cutAndFinish();
      });
    }
  }

  // ---- hot path ----

  /** The one entry point both front ends call, synchronously inside their request callback. */
  handle(req: IncomingRequest, ds: Downstream): void {
    this.beginTrace(req, ds);
    if (req.host === '') {
      this.reject(
        req,
        ds,
        new GatewayError(
          'KEDGE_BAD_REQUEST',
          'request has no Host header; send Host: {name}.{namespace}.{domain}',
        ),
      );
      return;
    }
    const table = this.store.current;
    const host = normalizeHost(req.host);
    const route = table.routes.get(host);
    if (route === undefined) {
      // Validated only on a miss: a routed Host is one the route table holds, so it is valid.
      this.reject(
        req,
        ds,
        isValidHost(req.host)
          ? new GatewayError(
              'KEDGE_ROUTE_NOT_FOUND',
              `host ${host}: no route; check the Host header against \`kedge get services\``,
            )
          : new GatewayError(
              'KEDGE_BAD_REQUEST',
              `invalid Host header ${JSON.stringify(req.host.slice(0, 100))} (RFC 9112 §3.2); send Host: {name}.{namespace}.{domain}[:port]`,
            ),
      );
      return;
    }
    const i = pickSplit(route, this.random);
    const key = route.revisions[i];
    if (key === undefined) {
      this.reject(
        req,
        ds,
        new GatewayError(
          'KEDGE_NO_READY_REVISION',
          `service ${route.namespace}/${route.service}: no ready revision; wait for its first revision to become ready (kedge get services)`,
        ),
        `${route.namespace}/${route.service}`,
      );
      return;
    }
    if (req.method === 'CONNECT') {
      this.reject(
        req,
        ds,
        new GatewayError('KEDGE_BAD_REQUEST', 'CONNECT is not proxied; send a plain HTTP/1.1 request'),
        `${route.namespace}/${route.service}`,
      );
      return;
    }
    const rt = this.runtimes.get(key) ?? this.runtime(key);
    const nowMs = this.clock.nowMs();
    const ex = new Exchange(this, rt, req, ds, nowMs, ds.requestId, this.traceparent, this.keepTracestate);
    ds.events = ex;
    this.accountant.arrive(key, nowMs);
    if (rt.slots.length === 0 && rt.failure !== null) {
      ex.fail(revisionFailed(rt.settings, rt.failure));
      return;
    }
    // FIFO: a new request never overtakes queued ones.
    if (rt.queue.size === 0) {
      const slot = pickEndpoint(rt.slots, rt.settings.containerConcurrency, this.random);
      if (slot !== null) {
        ex.start(slot);
        return;
      }
    }
    const handle = rt.queue.offer(ex, nowMs + rt.settings.queueTimeoutMs);
    if (handle === false) {
      ex.fail(
        new GatewayError(
          'KEDGE_QUEUE_FULL',
          `revision ${rt.key}: queue full (${rt.queue.limit} waiting); retry after ${QUEUE_FULL_RETRY_AFTER_S}s`,
          QUEUE_FULL_RETRY_AFTER_S,
        ),
      );
      return;
    }
    ex.enqueued(handle);
    if (rt.slots.length === 0) ex.coldStartWait = true;
    if (rt.slots.length === 0 && !rt.poked) {
      // Knative activator: the first request for a revision at zero reports at once (synchronously).
      rt.poked = true;
      ex.coldStartPending = true;
      this.metrics.coldStart(rt.settings.namespace, rt.settings.name);
      this.stats.poke(key, nowMs);
    }
  }

  reserveSlot(slot: EndpointSlot): Release {
    slot.runtime.inFlight++;
    return reserve(slot, this.onSlotRelease);
  }

  /** FIFO hand-off of free capacity to queued requests; re-entrant calls fold into one loop. */
  dispatchQueued(rt: RevisionRuntime): void {
    if (rt.draining) {
      rt.drainAgain = true;
      return;
    }
    rt.draining = true;
    try {
      do {
        rt.drainAgain = false;
        while (rt.queue.size > 0) {
          const slot = pickEndpoint(rt.slots, rt.settings.containerConcurrency, this.random);
          if (slot === null) break;
          const ex = rt.queue.shift();
          if (ex === undefined) break;
          ex.start(slot);
        }
      } while (rt.anotherPass());
    } finally {
      rt.draining = false;
    }
  }

  private slotReleased(slot: EndpointSlot): void {
    slot.runtime.inFlight--;
    if (slot.inFlight === 0) {
      if (slot.removed) this.forgetSlot(slot);
      else this.resolveIdle(slot);
    }
    if (!slot.removed) this.dispatchQueued(slot.runtime);
  }

  private forgetSlot(slot: EndpointSlot): void {
    if (this.slotsById.get(slot.id) === slot) this.slotsById.delete(slot.id);
    this.pools.retire(slot.id);
    this.resolveIdle(slot);
  }

  private resolveIdle(slot: EndpointSlot): void {
    const waiters = slot.idleWaiters;
    if (waiters === null) return;
    slot.idleWaiters = null;
    for (const w of waiters) w();
  }

  /**
   * Answers a request the front end refused before routing (two Host fields, a request target or
   * header section over the limits): counted, recorded and sent like every other gateway error.
   */
  refuse(req: IncomingRequest, ds: Downstream, err: GatewayError): void {
    this.beginTrace(req, ds);
    this.reject(req, ds, err);
  }

  /**
   * W3C Trace Context (https://www.w3.org/TR/trace-context-1/) and X-Request-Id for one request:
   * a valid traceparent keeps its trace-id and flags (and its tracestate goes on unchanged), with
   * the gateway's own span as the new parent-id; a missing, invalid or repeated one (§3.2: one
   * field only) starts a new, sampled trace. A sane X-Request-Id is kept, else one is made.
   */
  private beginTrace(req: IncomingRequest, ds: Downstream): void {
    const h = req.headers;
    let tp = '';
    let tps = 0;
    let rid = '';
    for (let i = 0; i < h.length; i += 2) {
      const name = h[i] as string;
      const n = name.length;
      if (n === 11) {
        if (name === 'traceparent') {
          tp = h[i + 1] as string;
          tps++;
        }
      } else if (n === 12 && rid === '' && name === 'x-request-id') rid = h[i + 1] as string;
    }
    const ids = this.ids;
    let flags = '';
    if (tps === 1) {
      tp = trimOws(tp);
      flags = traceFlags(tp);
    }
    if (flags === '') {
      this.traceparent = ids.newTraceparent();
      this.keepTracestate = false;
    } else {
      this.traceparent = formatTraceparent(tp.slice(TRACE_ID_START, TRACE_ID_END), ids.spanId(), flags);
      this.keepTracestate = true;
    }
    ds.requestId = rid !== '' && isSaneRequestId(rid) ? rid : ids.requestId();
  }

  /** `service`: `namespace/name` when the route is known, '' when no service owns the request. */
  private reject(req: IncomingRequest, ds: Downstream, err: GatewayError, service = ''): void {
    this.metrics.error(err.code);
    this.recordError(service, err, '');
    const bytes = sendError(ds, err);
    const log = this.accessLog;
    if (log !== null) {
      const nowMs = this.clock.nowMs();
      log.push(
        nowMs,
        ds.requestId,
        this.traceparent,
        req.method,
        req.host,
        req.path,
        '',
        err.status,
        bytes,
        nowMs,
        nowMs,
        -1,
        false,
        err.code,
      );
    }
  }

  /** Off the success path: only ever called with an error about to be answered. */
  recordError(service: string, err: GatewayError, revision: string): void {
    const sink = this.errors;
    if (sink === null) return;
    sink.record(service, {
      time: new Date().toISOString(),
      status: err.status,
      code: err.code,
      message: err.message,
      revision,
    });
  }

  private runtime(key: RevisionKey): RevisionRuntime {
    let rt = this.runtimes.get(key);
    if (rt === undefined) {
      rt = this.newRuntime(this.store.current.revisions.get(key) ?? defaultRevisionSettings(key));
      this.runtimes.set(key, rt);
    }
    return rt;
  }

  private newRuntime(settings: RevisionSettings): RevisionRuntime {
    return new RevisionRuntime(settings, this.queueLimit, this.metrics);
  }
}

function noCapacity(rt: RevisionRuntime): GatewayError {
  const s = rt.settings;
  return new GatewayError(
    'KEDGE_NO_CAPACITY_TIMEOUT',
    `revision ${s.key}: no replica had capacity within ${s.queueTimeoutMs / 1000}s (${rt.slots.length} ready, containerConcurrency ${s.containerConcurrency}); check the revision logs, or raise kedge.dev/queue-timeout or maxScale`,
  );
}

function revisionFailed(s: RevisionSettings, failure: RevisionFailure): GatewayError {
  // The body is one line: the runtime's summary plus the last line the process printed, which is
  // where a crash usually says why ("Error: Cannot find module ...").
  const lines = failure.message.split('\n').filter((l) => l.trim() !== '');
  let detail = lines.length > 1 ? `${lines[0] ?? ''} ${lines[lines.length - 1] ?? ''}` : (lines[0] ?? '');
  if (detail.length > 200) detail = detail.slice(0, 197) + '...';
  return new GatewayError(
    'KEDGE_REVISION_FAILED',
    `revision ${s.key}: failed (${failure.reason})${detail === '' ? '' : ': ' + detail}; see \`kedge logs\`, fix the container and re-apply`,
  );
}
