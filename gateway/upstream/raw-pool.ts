// The raw upstream fast path (perf-baseline §0: uWS + a hand-written `net` pool reached 0.62–0.65×
// nginx where uWS + undici reached 0.45×). One pool of keep-alive sockets per replica, LIFO so the
// warmest socket is reused and idle ones age out; each request is written as one Latin-1 string
// (request line + fields, built once by the exchange); responses go through the strict parser in
// response-parser.ts. Timers: none of its own; the gateway's coarse ticker calls sweep().
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { Endpoint } from '../../controller/runtime.js';
import { ResponseParser, Result } from './response-parser.js';
import type { ParsedHead, ResponseEvents } from './response-parser.js';

/** Idle keep-alive sockets are closed after this (undici's keepAliveTimeout default; Node servers close at 5 s). */
export const IDLE_TIMEOUT_MS = 4_000;
/** As undici's connectTimeout in proxy.ts. */
export const CONNECT_TIMEOUT_MS = 5_000;

/** An upstream failure on the raw path; `code` is what upstreamErrorCode() maps. */
export class RawUpstreamError extends Error {
  constructor(
    readonly code:
      | 'ERR_UPSTREAM_CLOSED'
      | 'ERR_UPSTREAM_PROTOCOL'
      | 'ERR_UPSTREAM_CONNECT_TIMEOUT'
      | 'ERR_UPSTREAM_CONNECT',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'RawUpstreamError';
  }
}

/**
 * The error for a socket that closed before it connected: ECONNREFUSED as it is, anything else
 * (a reset during the handshake, an unreachable host) as ERR_UPSTREAM_CONNECT with the socket's
 * error as its cause. Either maps to KEDGE_UPSTREAM_CONNECT, which is retried: no byte was sent.
 */
export function connectFailure(err: Error | null): Error {
  const code = err === null ? undefined : (err as { code?: unknown }).code;
  if (err !== null && code === 'ECONNREFUSED') return err;
  return new RawUpstreamError(
    'ERR_UPSTREAM_CONNECT',
    `closed before the connection was established (${typeof code === 'string' && code !== '' ? code : 'no error'})`,
    { cause: err },
  );
}

/** The request side of one exchange, as the pool drives it (implemented by exchange.ts's Exchange). */
export interface RawExchange {
  /** The request head: request line, fields and the empty line, Latin-1. */
  readonly rawHead: string;
  /** HEAD request: the response has no body whatever its framing says. */
  readonly rawHeadOnly: boolean;
  /** Bodiless and idempotent: may be re-sent once when a pooled socket turns out stale (false after). */
  readonly rawRetryable: boolean;
  /** A request body follows the head (writeBody() ... endBody()). */
  readonly rawHasBody: boolean;
  /** False once the client left or the exchange ended (a queued exchange is then skipped). */
  rawWanted(): boolean;
  /**
   * Its pooled socket turned out stale; dispatch() follows at once. From here the exchange is not
   * attached (rawWanted() may be true again) and rawRetryable is false: one re-send at most.
   */
  onRawDetach(): void;
  /** A socket took the request; `connected` false = still connecting (onRawConnected follows). */
  onRawAttach(conn: RawConn, connected: boolean): void;
  onRawConnected(): void;
  /** A 1xx interim head (101 aside), borrowed for the call only; the final head follows. */
  onRawInterim(head: ParsedHead<Buffer>): void;
  onRawHead(head: ParsedHead<Buffer>): void;
  /** A body chunk; false = the client is slow, the socket stays paused until resume(). */
  onRawBody(chunk: Buffer): boolean;
  /** The last read of a batch was handled: a head still held back may go out now. */
  onRawFlush(): void;
  onRawComplete(): void;
  /** The upstream socket drained a request-body write that returned false. */
  onRawDrain(): void;
  onRawError(err: Error): void;
}

const EMPTY = Buffer.alloc(0);
const allocBuffer = (n: number): Buffer => Buffer.allocUnsafe(n);

/**
 * Every pooled socket reads into this one buffer (net's `onread`): a read is parsed and handed on
 * synchronously, so no read outlives its callback and one buffer serves them all. It spares a
 * fresh ArrayBuffer per read (V8 sweeps each one in the scavenge that follows: most of its pause
 * at 50 k req/s) and the Readable stream machinery around 'data'. Consumers of onRawBody() and
 * onRawHead() therefore borrow their bytes: whatever they keep past the call, they copy.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export class RawConn implements ResponseEvents<Buffer> {
  private readonly socket: Socket;
  private readonly parser: ResponseParser<Buffer>;
  private ex: RawExchange | null = null;
  connected = false;
  private dead = false;
  /** Requests sent on this socket before the current one. */
  private requests = 0;
  private reused = false;
  private completed = false;
  private paused = false;
  /** The request body has not ended: an early response leaves the socket unusable. */
  private bodyPending = false;
  private error: Error | null = null;
  /**
   * When a sweep first saw this socket still connecting; -1 before that. The connect deadline
   * counts from there, not from a clock value handed in at creation: a pool's `nowMs` is only as
   * fresh as its last sweep, and a stale (or zero) value failed new connects at once (bug 1).
   */
  connectSeenMs = -1;
  idleSinceMs = 0;

  constructor(
    private readonly pool: RawPool,
    endpoint: Endpoint,
  ) {
    this.parser = new ResponseParser<Buffer>(this, allocBuffer, EMPTY);
    const socket = connect({
      host: endpoint.host,
      port: endpoint.port,
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: this.onRead },
    });
    this.socket = socket;
    socket.on('connect', this.onConnect);
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /** pre: idle (no exchange). Writes the request head; the body follows through writeBody(). */
  assign(ex: RawExchange): void {
    this.ex = ex;
    this.reused = this.requests > 0;
    this.requests++;
    this.completed = false;
    this.bodyPending = ex.rawHasBody;
    this.parser.reset(ex.rawHeadOnly, false);
    this.socket.write(ex.rawHead, 'latin1');
    ex.onRawAttach(this, this.connected);
  }

  /** A request-body chunk; false = wait for onRawDrain(). */
  writeBody(chunk: Buffer, chunked: boolean): boolean {
    if (this.dead) return true;
    const s = this.socket;
    if (!chunked) return s.write(chunk);
    // RFC 9112 §7.1: chunk-size CRLF chunk-data CRLF.
    s.cork();
    s.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
    s.write(chunk);
    const ok = s.write('\r\n', 'latin1');
    s.uncork();
    return ok;
  }

  /** The request body ended: the last-chunk for a chunked body (no trailers). */
  endBody(chunked: boolean): void {
    this.bodyPending = false;
    if (!this.dead && chunked) this.socket.write('0\r\n\r\n', 'latin1');
  }

  /** The client is ready for more of the response. */
  resume(): void {
    if (this.paused && !this.dead) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** The exchange ended early (client gone, timeout): the socket cannot be reused. */
  abort(): void {
    this.ex = null;
    this.parser.stop();
    this.destroy();
  }

  destroy(): void {
    if (this.dead) return;
    this.dead = true;
    this.pool.forget(this);
    this.socket.destroy();
  }

  // ---- parser events ----

  onInterim(head: ParsedHead<Buffer>): void {
    this.ex?.onRawInterim(head);
  }

  onHead(head: ParsedHead<Buffer>): void {
    this.ex?.onRawHead(head);
  }

  onBody(buf: Buffer, start: number, end: number): void {
    const ex = this.ex;
    if (ex === null) return;
    const chunk = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
    if (!ex.onRawBody(chunk) && !this.paused && !this.dead) {
      this.paused = true;
      this.socket.pause();
    }
  }

  onComplete(): void {
    this.completed = true;
  }

  // ---- socket events (bound once per socket, not per request) ----

  private readonly onConnect = (): void => {
    this.connected = true;
    this.ex?.onRawConnected();
  };

  /** net's onread: true keeps reading (onData pauses the socket itself when the client is slow). */
  private readonly onRead = (n: number, buf: Uint8Array): boolean => {
    this.onData((buf as Buffer).subarray(0, n));
    return true;
  };

  private onData(chunk: Buffer): void {
    const ex = this.ex;
    if (ex === null) {
      // Bytes on an idle socket: nothing was asked, so nothing after them can be trusted.
      this.destroy();
      return;
    }
    const parser = this.parser;
    const r = parser.execute(chunk);
    switch (r) {
      case Result.More:
        if (this.ex === ex) ex.onRawFlush();
        return;
      case Result.Done: {
        this.ex = null;
        if (this.paused) {
          this.paused = false;
          this.socket.resume();
        }
        // Extra bytes after a complete response were never asked for (pipelining is off).
        if (parser.head.keepAlive && parser.leftover === 0 && !this.bodyPending) this.pool.release(this);
        else this.destroy();
        ex.onRawComplete();
        return;
      }
      case Result.Error:
        this.ex = null;
        this.destroy();
        ex.onRawError(new RawUpstreamError('ERR_UPSTREAM_PROTOCOL', `invalid response: ${parser.error}`));
        return;
      case Result.Stopped:
        return;
    }
  }

  private readonly onDrain = (): void => {
    this.ex?.onRawDrain();
  };

  private readonly onError = (err: Error): void => {
    this.error = err;
  };

  private readonly onClose = (): void => {
    const wasDead = this.dead;
    this.dead = true;
    if (!wasDead) this.pool.forget(this);
    const ex = this.ex;
    if (ex === null) return;
    this.ex = null;
    // A close-delimited body ends here (RFC 9112 §6.3 rule 8).
    if (this.parser.untilClose && this.error === null) {
      this.parser.finish();
      if (this.completed) ex.onRawComplete();
      return;
    }
    // perf-baseline §7.10: a pooled socket the replica closed while idle races with reuse. Only a
    // bodiless idempotent request with no response byte received is sent again, once.
    if (this.reused && !this.parser.started && ex.rawRetryable) {
      ex.onRawDetach();
      this.pool.dispatch(ex, true);
      return;
    }
    if (!this.connected) {
      // Nothing reached the replica: a connect failure, which the exchange may retry elsewhere.
      ex.onRawError(connectFailure(this.error));
      return;
    }
    ex.onRawError(
      this.error ??
        new RawUpstreamError(
          'ERR_UPSTREAM_CLOSED',
          this.parser.started ? 'closed mid-response' : 'closed before responding',
        ),
    );
  };

  connectTimedOut(): void {
    const ex = this.ex;
    this.ex = null;
    this.destroy();
    ex?.onRawError(
      new RawUpstreamError(
        'ERR_UPSTREAM_CONNECT_TIMEOUT',
        `connect timed out after ${CONNECT_TIMEOUT_MS / 1000}s`,
      ),
    );
  }
}

/** Keep-alive sockets to one replica. */
export class RawPool {
  /** LIFO: the most recently used socket is on top. */
  private readonly idle: RawConn[] = [];
  /** Every socket open or connecting (busy or idle). */
  private readonly all = new Set<RawConn>();
  /** Exchanges waiting for a socket when `maxConnections` are busy (FIFO). */
  private waiting: (RawExchange | null)[] = [];
  private waitingHead = 0;
  private retired = false;
  /** Set by the first protocol error: this replica's responses go through undici from then on. */
  rawDisabled = false;

  /** `nowMs`: the coarse clock now (idle ages count from it), then refreshed by every sweep(). */
  constructor(
    readonly endpoint: Endpoint,
    private readonly maxConnections: number,
    public nowMs: number,
  ) {}

  /** Sends `ex` on an idle socket, a new one, or queues it. `fresh` skips idle sockets (retry). */
  dispatch(ex: RawExchange, fresh = false): void {
    if (!fresh) {
      const conn = this.idle.pop();
      if (conn !== undefined) {
        conn.assign(ex);
        return;
      }
    }
    if (this.retired) {
      ex.onRawError(new RawUpstreamError('ERR_UPSTREAM_CLOSED', 'replica removed'));
      return;
    }
    if (this.all.size < this.maxConnections) {
      const conn = new RawConn(this, this.endpoint);
      this.all.add(conn);
      conn.assign(ex);
      return;
    }
    this.waiting.push(ex);
  }

  /** A response ended on a reusable socket: the next waiting exchange takes it, or it idles. */
  release(conn: RawConn): void {
    if (this.retired) {
      conn.destroy();
      return;
    }
    const next = this.nextWaiting();
    if (next !== null) {
      conn.assign(next);
      return;
    }
    conn.idleSinceMs = this.nowMs;
    this.idle.push(conn);
  }

  /** A socket closed or was destroyed: it no longer counts, and a waiting exchange may connect. */
  forget(conn: RawConn): void {
    if (!this.all.delete(conn)) return;
    const i = this.idle.lastIndexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    if (this.retired) return;
    const next = this.nextWaiting();
    if (next !== null) this.dispatch(next, true);
  }

  /** Coarse ticker: ages out idle sockets (oldest at the bottom) and fails slow connects. */
  sweep(nowMs: number): void {
    this.nowMs = nowMs;
    const idle = this.idle;
    while (idle.length > 0 && nowMs - (idle[0] as RawConn).idleSinceMs >= IDLE_TIMEOUT_MS) {
      (idle[0] as RawConn).destroy();
    }
    for (const c of this.all) {
      if (c.connected) continue;
      if (c.connectSeenMs < 0) c.connectSeenMs = nowMs;
      else if (nowMs - c.connectSeenMs >= CONNECT_TIMEOUT_MS) c.connectTimedOut();
    }
  }

  /** The replica left: idle sockets close now, busy ones when their response ends. */
  retire(): void {
    this.retired = true;
    for (const c of this.idle.splice(0)) c.destroy();
    const waiting = this.waiting;
    this.waiting = [];
    for (let i = this.waitingHead; i < waiting.length; i++) {
      const ex = waiting[i];
      if (ex?.rawWanted() === true)
        ex.onRawError(
          new RawUpstreamError('ERR_UPSTREAM_CLOSED', 'replica removed while the request waited'),
        );
    }
    this.waitingHead = 0;
  }

  /** Shutdown: every socket closes now, busy ones included. */
  destroyAll(): void {
    this.retire();
    for (const c of [...this.all]) c.abort();
  }

  get idleCount(): number {
    return this.idle.length;
  }

  get openCount(): number {
    return this.all.size;
  }

  private nextWaiting(): RawExchange | null {
    const w = this.waiting;
    while (this.waitingHead < w.length) {
      const ex = w[this.waitingHead];
      w[this.waitingHead++] = null;
      if (ex?.rawWanted() === true) {
        if (this.waitingHead === w.length) {
          w.length = 0;
          this.waitingHead = 0;
        }
        return ex;
      }
    }
    w.length = 0;
    this.waitingHead = 0;
    return null;
  }
}
