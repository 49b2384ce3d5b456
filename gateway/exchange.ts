// One request from arrival to its last byte: dispatch to the picked replica over the raw pool,
// undici or a tunnel (upgrades), the response relayed with backpressure, the request body pulled
// on demand, the timers GatewayCore.tick() checks, a re-queue after a refused connect, and exact
// accounting in finish() through success, error, abort and timeout.
import type { RevisionKey } from '../controller/state.js';
import type { QueueHandle } from './activator-queue.js';
import type { GatewayCore } from './core.js';
import { GatewayError, sendError, upstreamErrorCode } from './errors.js';
import type { GatewayErrorCode } from './errors.js';
import type { Socket } from 'node:net';
import type { Downstream, DownstreamEvents, IncomingRequest, TunnelDownstream } from './front/types.js';
import { rawRequestHead, scanResponseHeaders, upstreamRequestHeaders } from './headers.js';
import type { TraceHeaders } from './headers.js';
import type { Release } from './picker.js';
import { BodyStream, dispatch } from './proxy.js';
import type { DispatchHandler } from './proxy.js';
import type { EndpointSlot, RevisionRuntime } from './revision-runtime.js';
import { RawUpstreamError } from './upstream/raw-pool.js';
import type { RawConn, RawExchange } from './upstream/raw-pool.js';
import type { ParsedHead } from './upstream/response-parser.js';
import { TunnelConn } from './upstream/tunnel.js';
import type { TunnelExchange } from './upstream/tunnel.js';

/**
 * How often one request may go back to its queue after a replica refused its connection before
 * any byte was sent (Knative's activator retries such a pick too). Bounded, so a revision whose
 * every replica refuses answers 502 instead of cycling until the deadline.
 */
const MAX_REQUEUES = 2;

/**
 * The most 1xx interim responses passed to the front end per request; later ones are skipped and
 * the final response still follows. Real uses need one or two (an Early Hints, a Processing), and
 * clients built on Go's net/http before Go 1.24 fail a request after 5 (transport.go
 * max1xxResponses; golang/go#65035 lifted it), as Knative's own data path did then: 5 never makes
 * kedge the cause of such a failure. It also bounds what a misbehaving replica can push at a
 * client ahead of the final head (5 × upstream/response-parser.ts MAX_HEAD_BYTES at most).
 */
export const MAX_INTERIM_RESPONSES = 5;

const enum Phase {
  New,
  Queued,
  Proxying,
  Done,
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
export class Exchange
  implements DownstreamEvents, DispatchHandler, RawExchange, TunnelExchange, TraceHeaders
{
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
  /** 1xx interim responses handed to the front end (at most MAX_INTERIM_RESPONSES). */
  private interims = 0;
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

  onRawInterim(head: ParsedHead<Buffer>): void {
    if (this.phase !== Phase.Done && this.interimStarted(head.status)) this.ds.interim(head.status, head);
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
    // undici 7 reports 1xx heads here too (lib/dispatcher/client-h1.js onHeadersComplete), 101
    // aside (upgrades never go through undici) and 100 aside: undici destroys the socket on any 100
    // (UND_ERR_SOCKET 'bad response', so 502 KEDGE_UPSTREAM_RESET). The gateway sends no Expect
    // upstream, so only a misbehaving replica sends one.
    if (statusCode < 200) {
      if (this.interimStarted(statusCode)) this.ds.interim(statusCode, scanResponseHeaders(headers));
      return true;
    }
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

  /**
   * A 1xx interim head arrived: true when it goes on to the front end. Every one the replica
   * sends ends the wait for a response start and counts as activity, whether the front end can
   * pass it on or not, as in Knative: its ReverseProxy writes each 1xx through the timeout
   * handler's writer (WriteHeader), which records the write time that responseStartTimeoutSeconds
   * and idleTimeoutSeconds read (knative/serving pkg/http/handler/timeout.go, timeoutWriter:
   * lastWriteTime is set for any status). So both front ends time a request alike. Nothing else
   * changes: the status, the access log's head time and headersSent stay the final head's, so a
   * timeout or an upstream error after a 1xx still answers with a gateway error, and only the
   * final status is logged and counted.
   */
  private interimStarted(status: number): boolean {
    this.responseStartDeadlineMs = 0;
    this.lastActivityMs = this.core.coarseNowMs;
    // RFC 9110 §10.1.1: the front end answered the client's Expect: 100-continue itself (node:http
    // and uWS both do), and the gateway sends no Expect upstream: a replica's 100 is never passed on.
    if (status === 100 || this.interims >= MAX_INTERIM_RESPONSES) return false;
    this.interims++;
    return true;
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
