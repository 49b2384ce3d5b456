// The shared request path behind both front ends: Host → route → weighted split → revision →
// endpoint (or the activator queue) → undici → back to the client, with exact accounting through
// success, error, abort and timeout. Timeouts come from one coarse ticker scanning an intrusive
// list of exchanges (undici lib/util/timers.js keeps one timer for many requests the same way).
import type { Endpoint, RevisionFailure } from '../controller/runtime.js';
import type { RevisionKey, State } from '../controller/state.js';
import type { RecentErrorSink } from '../dashboard/recent-errors.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { StatsSink } from '../lib/stats.js';
import type { AccessLog } from './access-log.js';
import { ActivatorQueue } from './activator-queue.js';
import type { QueueHandle } from './activator-queue.js';
import { GatewayError, sendError, upstreamErrorCode } from './errors.js';
import type { GatewayErrorCode } from './errors.js';
import type { Socket } from 'node:net';
import type { Downstream, DownstreamEvents, IncomingRequest, TunnelDownstream } from './front/types.js';
import { rawRequestHead, scanResponseHeaders, upstreamRequestHeaders } from './headers.js';
import type { TraceHeaders } from './headers.js';
import type { IdSource } from './ids.js';
import { ConcurrencyAccountant } from './in-flight.js';
import type { GatewayMetrics, RevisionCounters, RevisionLoadSample } from './metrics.js';
import { pickEndpoint, reserve } from './picker.js';
import type { Release, Slot } from './picker.js';
import { BodyStream, UpstreamPools, dispatch } from './proxy.js';
import type { DispatchHandler, UpstreamMode } from './proxy.js';
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
import { RawUpstreamError } from './upstream/raw-pool.js';
import type { RawConn, RawExchange } from './upstream/raw-pool.js';
import type { ParsedHead } from './upstream/response-parser.js';
import { TunnelConn } from './upstream/tunnel.js';
import type { TunnelExchange } from './upstream/tunnel.js';

/** Retry-After for a full queue: the autoscaler decides every 2 s, a replica starts in ~60 ms. */
const QUEUE_FULL_RETRY_AFTER_S = 1;
/**
 * How often one request may go back to its queue after a replica refused its connection before
 * any byte was sent (Knative's activator retries such a pick too). Bounded, so a revision whose
 * every replica refuses answers 502 instead of cycling until the deadline.
 */
const MAX_REQUEUES = 2;

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

class EndpointSlot implements Slot {
  inFlight = 0;
  /** Left the ready set; forgotten once idle. */
  removed = false;
  /** Refused a connection: not picked until setEndpoints() lists it again. */
  unhealthy = false;
  idleWaiters: (() => void)[] | null = null;
  constructor(
    readonly endpoint: Endpoint,
    readonly runtime: RevisionRuntime,
  ) {}
  get id(): string {
    return this.endpoint.id;
  }
}

const NO_SLOTS: readonly EndpointSlot[] = Object.freeze([]);

class RevisionRuntime {
  slots: readonly EndpointSlot[] = NO_SLOTS;
  readonly queue: ActivatorQueue<Exchange>;
  /** Requests holding a replica reservation (queued ones are in `queue`). */
  inFlight = 0;
  failure: RevisionFailure | null = null;
  /** The autoscaler was poked for the current cold start; reset when endpoints appear. */
  poked = false;
  draining = false;
  drainAgain = false;
  counters: RevisionCounters;
  constructor(
    public settings: RevisionSettings,
    queueLimit: number,
    metrics: GatewayMetrics,
  ) {
    this.queue = new ActivatorQueue<Exchange>(queueLimit);
    this.counters = metrics.forRevision(settings.namespace, settings.name);
  }
  get key(): RevisionKey {
    return this.settings.key;
  }
  /** A release or new endpoints arrived while dispatchQueued() was looping. */
  anotherPass(): boolean {
    return this.drainAgain;
  }
}

const enum Phase {
  New,
  Queued,
  Proxying,
  Done,
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

/**
 * False for connect failures that come from this host, not the replica (out of ports or file
 * descriptors): the request still goes back to the queue, but the replica is not marked.
 */
function replicaAtFault(err: Error): boolean {
  const code = errorCode(err.cause) ?? errorCode(err);
  switch (code) {
    case 'EADDRNOTAVAIL':
    case 'EMFILE':
    case 'ENFILE':
    case 'ENOBUFS':
    case 'ENOMEM':
      return false;
    case null:
    default:
      return true;
  }
}

function errorCode(err: unknown): string | null {
  if (typeof err !== 'object' || err === null || !('code' in err)) return null;
  return typeof err.code === 'string' ? err.code : null;
}

/** RFC 9110 §9.2.2: methods whose repetition has the same intended effect. */
function isIdempotent(method: string): boolean {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'TRACE':
    case 'PUT':
    case 'DELETE':
      return true;
    default:
      return false;
  }
}

/**
 * One request from arrival to its last byte. It is the upstream handler for both clients (the raw
 * pool's RawExchange, and undici's legacy dispatch handler, which undici 7 runs without
 * re-wrapping) and the front end's event sink, so a request allocates one object of ours, not a
 * handful.
 */
class Exchange implements DownstreamEvents, DispatchHandler, RawExchange, TunnelExchange, TraceHeaders {
  prev: Exchange | null = null;
  next: Exchange | null = null;
  private linked = false;
  private phase = Phase.New;
  private handle: QueueHandle<Exchange> | null = null;
  private slot: EndpointSlot | null = null;
  private release: Release | null = null;
  private abortUpstream: ((err?: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;
  /** The raw-path socket carrying this request (null on the undici path). */
  private conn: RawConn | null = null;
  /** An upgrade request's upstream socket until the replica answers. */
  private tunnel: TunnelConn | null = null;
  /** 101 sent: a WebSocket holds the reservation until it closes, with no timers (Knative's hijack tracker). */
  private upgraded = false;
  private headersSent = false;
  private status = 0;
  private readonly deadlineMs: number;
  private responseStartDeadlineMs: number;
  private lastActivityMs: number;
  private upstreamHeaders: string[] | null = null;
  private body: BodyStream | null = null;
  /** Body bytes went upstream (undici asked, or a raw socket connected): no retry can replay them. */
  private bodyPulled = false;
  private early: Buffer[] | null = null;
  private bodyEnded = false;
  private bodyClosed = false;
  private flushLater: (() => void) | null = null;
  /** Times this request went back to its queue after a refused connect (at most MAX_REQUEUES). */
  private requeues = 0;
  /** This request's arrival poked the autoscaler: kedge_cold_start_seconds is observed on connect. */
  coldStartPending = false;
  /** Queued while the revision had no ready replica (the access log's coldStart). */
  coldStartWait = false;
  // Access log fields (Clock readings; -1 = never happened).
  /** Handed to the upstream client (a replica picked). */
  private dispatchMs = -1;
  /** Response head from the replica (read only while an access log is on). */
  private headMs = -1;
  private bytesSent = 0;
  private errorCode: GatewayErrorCode | null = null;
  rawHead = '';
  rawHeadOnly = false;
  rawRetryable = false;
  rawHasBody = false;

  constructor(
    private readonly core: GatewayCore,
    private readonly rt: RevisionRuntime,
    private readonly req: IncomingRequest,
    private readonly ds: Downstream,
    private readonly arrivalMs: number,
    readonly requestId: string,
    readonly traceparent: string,
    readonly keepTracestate: boolean,
  ) {
    const s = rt.settings;
    this.deadlineMs = arrivalMs + s.timeoutMs;
    // Knative's timeout handler wraps the throttler: the queue wait counts toward response start.
    this.responseStartDeadlineMs = s.responseStartTimeoutMs > 0 ? arrivalMs + s.responseStartTimeoutMs : 0;
    this.lastActivityMs = arrivalMs;
  }

  enqueued(handle: QueueHandle<Exchange>): void {
    this.phase = Phase.Queued;
    this.handle = handle;
  }

  start(slot: EndpointSlot): void {
    const core = this.core;
    // Straight from handle(): no wait, no clock read.
    this.dispatchMs = this.phase === Phase.Queued ? core.clock.nowMs() : this.arrivalMs;
    this.phase = Phase.Proxying;
    this.handle = null;
    this.slot = slot;
    this.release = core.reserveSlot(slot);
    this.lastActivityMs = core.coarseNowMs;
    if (!this.linked) {
      this.linked = true;
      this.next = core.activeHead;
      if (core.activeHead !== null) core.activeHead.prev = this;
      core.activeHead = this;
    }
    this.dispatchUpstream(slot);
  }

  /**
   * The raw pool carries every request unless the mode is 'undici' or the replica sent a
   * response the strict parser refused (then undici carries its traffic from there on).
   */
  private dispatchUpstream(slot: EndpointSlot): void {
    const core = this.core;
    const req = this.req;
    const cc = this.rt.settings.containerConcurrency;
    if (req.upgrade !== '') {
      // Upgrades always take their own socket (never pooled, never undici: it cannot hand one over).
      if (this.rawHead === '')
        this.rawHead = rawRequestHead(
          req.method,
          req.path,
          req.headers,
          req.clientIp,
          req.host,
          false,
          this,
          req.upgrade,
        );
      this.tunnel = new TunnelConn(slot.endpoint, this.rawHead, this, core.coarseNowMs);
      return;
    }
    if (core.pools.mode === 'raw') {
      const raw = core.pools.getRaw(slot.endpoint, cc);
      if (!raw.rawDisabled) {
        if (this.rawHead === '') {
          this.rawHead = rawRequestHead(
            req.method,
            req.path,
            req.headers,
            req.clientIp,
            req.host,
            req.chunked,
            this,
          );
          this.rawHeadOnly = req.method === 'HEAD';
          this.rawHasBody = req.hasBody;
          this.rawRetryable = !req.hasBody && isIdempotent(req.method);
        }
        raw.dispatch(this);
        return;
      }
    }
    this.upstreamHeaders ??= upstreamRequestHeaders(
      req.headers,
      {
        clientIp: req.clientIp,
        proto: 'http',
        host: req.host,
      },
      this,
    );
    let body: BodyStream | null = null;
    if (req.hasBody && !this.bodyClosed) {
      body = new BodyStream(() => {
        this.pullBody();
      });
      this.body = body;
    }
    const pool = core.pools.get(slot.endpoint, cc);
    try {
      dispatch(pool, req.method, req.path, this.upstreamHeaders, body, this);
    } catch (err) {
      this.upstreamFailed(err instanceof Error ? err : new Error(String(err)));
    }
  }

  // ---- raw pool ----

  rawWanted(): boolean {
    return this.phase === Phase.Proxying && this.conn === null;
  }

  onRawDetach(): void {
    this.conn = null;
    // Sent again once at most: the next socket may come from release() and be stale too.
    this.rawRetryable = false;
  }

  onRawAttach(conn: RawConn, connected: boolean): void {
    this.conn = conn;
    if (connected) this.onRawConnected();
  }

  onRawConnected(): void {
    if (this.phase === Phase.Done) return;
    this.connected();
    const conn = this.conn;
    if (!this.req.hasBody || this.bodyClosed || conn === null) return;
    // From here body bytes are on the wire: no retry elsewhere.
    this.bodyPulled = true;
    const chunked = this.req.chunked;
    let ok = true;
    const early = this.early;
    if (early !== null) {
      this.early = null;
      for (const c of early) ok = conn.writeBody(c, chunked);
    }
    if (this.bodyEnded) {
      this.bodyClosed = true;
      conn.endBody(chunked);
    } else if (ok) {
      this.ds.resumeBody();
    }
  }

  onRawHead(head: ParsedHead<Buffer>): void {
    if (this.phase === Phase.Done) return;
    this.responseStarted(head.status);
    // RFC 9110 §6.4.1: no content in responses to HEAD, and in 204 and 304.
    const status = head.status;
    this.ds.head(status, head, status === 204 || status === 304 || this.rawHeadOnly);
  }

  onRawBody(chunk: Buffer): boolean {
    this.lastActivityMs = this.core.coarseNowMs;
    this.bytesSent += chunk.length;
    return this.ds.write(chunk);
  }

  onRawFlush(): void {
    this.ds.flush();
  }

  onRawComplete(): void {
    this.conn = null;
    this.tunnel = null;
    if (this.phase === Phase.Done) return;
    this.ds.end();
    this.finish();
  }

  onRawDrain(): void {
    if (this.phase !== Phase.Done && !this.bodyEnded) this.ds.resumeBody();
  }

  onRawError(err: Error): void {
    this.conn = null;
    this.tunnel = null;
    if (this.phase === Phase.Done) return;
    const slot = this.slot;
    if (
      (err as { code?: string }).code === 'ERR_UPSTREAM_PROTOCOL' &&
      slot !== null &&
      this.req.upgrade === ''
    ) {
      // The replica speaks HTTP the strict parser will not pass on: undici carries it from now.
      const raw = this.core.pools.getRaw(slot.endpoint, this.rt.settings.containerConcurrency);
      if (!raw.rawDisabled) {
        raw.rawDisabled = true;
        this.core.logger.warn('raw upstream path disabled for a replica; using undici', {
          revision: this.rt.key,
          endpoint: slot.id,
          error: err.message,
        });
      }
      if (!this.headersSent && this.rawRetryable) {
        this.dispatchUpstream(slot);
        return;
      }
    }
    this.upstreamFailed(err);
  }

  // ---- upgrades ----

  onTunnelConnected(): void {
    if (this.phase !== Phase.Done) this.connected();
  }

  onTunnelOpen(head: ParsedHead<Buffer>, socket: Socket, rest: Buffer): void {
    this.tunnel = null;
    if (this.phase === Phase.Done) {
      socket.destroy();
      return;
    }
    this.responseStarted(101);
    this.upgraded = true;
    (this.ds as TunnelDownstream).upgraded(head, socket, rest, () => {
      this.finish();
    });
  }

  // ---- undici legacy handler ----

  onConnect(abort: (err?: Error) => void): void {
    if (this.phase === Phase.Done) {
      // The client left while undici still held the request in its pool queue.
      abort();
      return;
    }
    this.abortUpstream = abort;
    this.connected();
  }

  onHeaders(statusCode: number, headers: Buffer[], resume: () => void): boolean {
    if (this.phase === Phase.Done) return false;
    // 1xx: 100-continue was answered by the front end; 103 Early Hints are not forwarded.
    if (statusCode < 200) return true;
    this.resumeUpstream = resume;
    this.responseStarted(statusCode);
    // RFC 9110 §6.4.1: no content in responses to HEAD, and in 204 and 304.
    const bodyless = statusCode === 204 || statusCode === 304 || this.req.method === 'HEAD';
    this.ds.head(statusCode, scanResponseHeaders(headers), bodyless);
    // undici delivers the first body chunk in a later callback: flush the head if none came.
    if (!bodyless)
      queueMicrotask(
        (this.flushLater ??= () => {
          if (this.phase !== Phase.Done) this.ds.flush();
        }),
      );
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.phase === Phase.Done) return false;
    this.lastActivityMs = this.core.coarseNowMs;
    this.bytesSent += chunk.length;
    return this.ds.write(chunk);
  }

  onComplete(): void {
    if (this.phase === Phase.Done) return;
    this.abortUpstream = null;
    this.ds.end();
    this.finish();
  }

  onError(err: Error): void {
    this.upstreamFailed(err);
  }

  private connected(): void {
    if (this.coldStartPending) {
      this.coldStartPending = false;
      this.core.metrics.observeColdStart((this.core.clock.nowMs() - this.arrivalMs) / 1000);
    }
  }

  private responseStarted(status: number): void {
    if (this.core.accessLog !== null) this.headMs = this.core.clock.nowMs();
    this.responseStartDeadlineMs = 0;
    this.lastActivityMs = this.core.coarseNowMs;
    this.status = status;
    this.headersSent = true;
  }

  private upstreamFailed(err: Error): void {
    if (this.phase === Phase.Done) return;
    this.abortUpstream = null;
    const code = upstreamErrorCode(err) ?? 'KEDGE_UPSTREAM_RESET';
    const slot = this.slot;
    if (code === 'KEDGE_UPSTREAM_CONNECT' && slot !== null && !this.bodyPulled && !this.headersSent) {
      // Nothing reached the replica (never after a byte was sent): wait for the next free one.
      if (this.requeue(slot, err)) return;
    }
    const where = slot === null ? '' : ` ${slot.endpoint.host}:${slot.endpoint.port}`;
    const errCode = (err as { code?: unknown }).code;
    const why =
      err instanceof RawUpstreamError
        ? `${err.code}: ${err.message}`
        : typeof errCode === 'string'
          ? errCode
          : err.message;
    if (!this.headersSent) {
      this.fail(
        new GatewayError(code, upstreamMessage(code, this.rt.key, where, why), undefined, { cause: err }),
      );
    } else {
      this.core.metrics.error(code);
      this.errorCode = code;
      this.ds.cut();
      this.finish();
    }
  }

  /**
   * The replica refused (or never accepted) the connection: mark it so no request is sent there
   * until the runtime lists it again, and put this request back at the head of its revision's
   * queue with its original deadlines, where the next free replica takes it (Knative throttler.go
   * `try`: a pick that races re-enqueues instead of failing). False when the bound or the queue
   * deadline is reached: the caller answers 502.
   */
  private requeue(slot: EndpointSlot, err: Error): boolean {
    const core = this.core;
    const rt = this.rt;
    if (!slot.unhealthy && replicaAtFault(err)) {
      slot.unhealthy = true;
      core.logger.warn('replica refused a connection; not picked until the runtime lists it again', {
        revision: rt.key,
        endpoint: slot.id,
        error: err.message,
      });
    }
    if (this.requeues >= MAX_REQUEUES) return false;
    const queueDeadlineMs = this.arrivalMs + rt.settings.queueTimeoutMs;
    if (core.clock.nowMs() >= queueDeadlineMs) return false;
    this.requeues++;
    this.phase = Phase.Queued;
    this.handle = rt.queue.offerFirst(this, queueDeadlineMs);
    // Release only now that the request is back at the head: the release hands the freed
    // capacity to the queue, and this request must be first in line for it.
    this.releaseSlot();
    core.dispatchQueued(rt);
    return true;
  }

  // ---- front-end events ----

  onClientAbort(): void {
    if (this.phase === Phase.Done) return;
    const abort = this.abortUpstream;
    this.abortUpstream = null;
    this.status = 0;
    this.finish();
    abort?.();
  }

  onWritable(): void {
    if (this.phase === Phase.Done) return;
    this.resumeUpstream?.();
    this.conn?.resume();
  }

  onBodyChunk(chunk: Buffer, last: boolean): void {
    if (this.phase === Phase.Done || this.bodyClosed) return;
    this.lastActivityMs = this.core.coarseNowMs;
    const conn = this.conn;
    if (conn !== null && this.bodyPulled) {
      // Raw path, connected: straight to the socket, paused while it is full.
      const chunked = this.req.chunked;
      const ok = chunk.length === 0 || conn.writeBody(chunk, chunked);
      if (last) {
        this.bodyEnded = true;
        this.bodyClosed = true;
        conn.endBody(chunked);
      } else if (!ok) this.ds.pauseBody();
      return;
    }
    const body = this.body;
    if (body === null || !this.bodyPulled) {
      if (chunk.length > 0) (this.early ??= []).push(chunk);
      if (last) this.bodyEnded = true;
      else this.ds.pauseBody();
      return;
    }
    if (chunk.length > 0 && !body.push(chunk) && !last) this.ds.pauseBody();
    if (last) {
      this.bodyEnded = true;
      this.bodyClosed = true;
      body.push(null);
    }
  }

  private pullBody(): void {
    const body = this.body;
    if (this.phase === Phase.Done || body === null || this.bodyClosed) return;
    this.bodyPulled = true;
    const early = this.early;
    if (early !== null) {
      this.early = null;
      for (const c of early) body.push(c);
    }
    if (this.bodyEnded) {
      this.bodyClosed = true;
      body.push(null);
      return;
    }
    this.ds.resumeBody();
  }

  // ---- endings ----

  checkTimers(nowMs: number): void {
    if (this.upgraded) return;
    const s = this.rt.settings;
    if (nowMs >= this.deadlineMs)
      this.timeout(`no complete response within timeoutSeconds=${s.timeoutMs / 1000}`);
    else if (this.responseStartDeadlineMs > 0 && nowMs >= this.responseStartDeadlineMs)
      this.timeout(`no response start within responseStartTimeoutSeconds=${s.responseStartTimeoutMs / 1000}`);
    else if (s.idleTimeoutMs > 0 && nowMs - this.lastActivityMs >= s.idleTimeoutMs)
      this.timeout(`no byte either way for idleTimeoutSeconds=${s.idleTimeoutMs / 1000}`);
  }

  private timeout(what: string): void {
    const abort = this.abortUpstream;
    this.abortUpstream = null;
    if (!this.headersSent) {
      this.fail(
        new GatewayError(
          'KEDGE_UPSTREAM_TIMEOUT',
          `revision ${this.rt.key}: ${what}; make the handler answer sooner or raise the revision timeouts`,
        ),
      );
    } else {
      this.core.metrics.error('KEDGE_UPSTREAM_TIMEOUT');
      this.errorCode = 'KEDGE_UPSTREAM_TIMEOUT';
      this.ds.cut();
      this.finish();
    }
    abort?.();
  }

  /** Answers with a gateway error (before any response byte) and ends the exchange. */
  fail(err: GatewayError): void {
    if (this.phase === Phase.Done) return;
    const abort = this.abortUpstream;
    this.abortUpstream = null;
    const core = this.core;
    core.metrics.error(err.code);
    const s = this.rt.settings;
    core.recordError(s.service === '' ? '' : `${s.namespace}/${s.service}`, err, s.key);
    this.status = err.status;
    this.errorCode = err.code;
    this.headersSent = true;
    this.bytesSent = sendError(this.ds, err);
    this.finish();
    abort?.();
  }

  cutAndFinish(): void {
    if (this.phase === Phase.Done) return;
    this.ds.cut();
    this.finish();
  }

  private releaseSlot(): void {
    const release = this.release;
    if (release === null) return;
    this.release = null;
    this.slot = null;
    release();
  }

  private finish(): void {
    if (this.phase === Phase.Done) return;
    this.phase = Phase.Done;
    this.ds.events = null;
    const core = this.core;
    if (this.handle !== null) {
      this.rt.queue.remove(this.handle);
      this.handle = null;
    }
    if (this.linked) {
      this.linked = false;
      if (this.prev !== null) this.prev.next = this.next;
      else core.activeHead = this.next;
      if (this.next !== null) this.next.prev = this.prev;
      this.prev = this.next = null;
    }
    this.early = null;
    this.resumeUpstream = null;
    // A raw socket still attached is mid-exchange and cannot be reused; close it before the
    // release below lets queued requests look for sockets.
    const conn = this.conn;
    if (conn !== null) {
      this.conn = null;
      conn.abort();
    }
    const tunnel = this.tunnel;
    if (tunnel !== null) {
      this.tunnel = null;
      tunnel.abort();
    }
    const nowMs = core.clock.nowMs();
    core.accountant.depart(this.rt.key, nowMs);
    this.rt.counters.inc(this.status);
    core.metrics.observeDuration((nowMs - this.arrivalMs) / 1000);
    const log = core.accessLog;
    if (log !== null) {
      const req = this.req;
      log.push(
        this.arrivalMs,
        this.requestId,
        this.traceparent,
        req.method,
        req.host,
        req.path,
        this.rt.key,
        this.status,
        this.bytesSent,
        nowMs,
        this.dispatchMs,
        this.headMs,
        this.coldStartWait,
        this.errorCode,
      );
    }
    // Release last: it may start queued requests, which must see this one gone.
    this.releaseSlot();
  }
}

function upstreamMessage(code: GatewayErrorCode, key: RevisionKey, where: string, why: string): string {
  switch (code) {
    case 'KEDGE_UPSTREAM_CONNECT':
      return `revision ${key}: replica${where} ${why === 'ECONNREFUSED' ? 'refused the connection' : 'did not accept the connection'} (${why}); check that the container listens on $PORT`;
    case 'KEDGE_UPSTREAM_TIMEOUT':
      return `revision ${key}: replica${where} timed out (${why}); make the handler answer sooner or raise the revision timeouts`;
    case 'KEDGE_BAD_REQUEST':
      return `revision ${key}: the request cannot be forwarded (${why}); fix the request headers`;
    case 'KEDGE_ROUTE_NOT_FOUND':
    case 'KEDGE_QUEUE_FULL':
    case 'KEDGE_NO_CAPACITY_TIMEOUT':
    case 'KEDGE_REVISION_FAILED':
    case 'KEDGE_NO_READY_REVISION':
    case 'KEDGE_URI_TOO_LONG':
    case 'KEDGE_HEADERS_TOO_LARGE':
    case 'KEDGE_UPSTREAM_RESET':
      return `revision ${key}: replica${where} closed the connection before the response was complete (${why}); check the revision logs (\`kedge logs\`)`;
  }
}
