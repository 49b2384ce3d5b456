// The access log: one JSON line per request, written off the hot path. A finished request copies
// its fields (numbers and references to strings it already holds) into a preallocated,
// column-wise ring; nothing is allocated per request, and the request's objects (its Exchange,
// the front end's request and response) are not kept alive until the batch is written, which
// would get them promoted out of the young generation. The ring is turned into entries,
// serialised and written in batches from the gateway's 100 ms ticker, or from a setImmediate
// once FLUSH_AT records wait. When the ring is full or the sink's writer is behind, records are
// dropped and counted (kedge_access_log_dropped_total): logging never blocks a request and
// never grows without bound.
import { closeSync, createWriteStream, openSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { LineEncoder } from './access-log-encoder.js';
import type { GatewayErrorCode } from './errors.js';
import { TRACE_ID_END, TRACE_ID_START } from './trace-context.js';

/** One line of the access log (JSON keys in this order). */
export interface AccessLogEntry {
  /** RFC 3339 (UTC, ms) of the request's arrival. */
  readonly time: string;
  /** The X-Request-Id passed upstream and returned to the client. */
  readonly requestId: string;
  /** The W3C trace-id passed upstream (the client's, or a new one). */
  readonly traceId: string;
  readonly method: string;
  /** The Host header as sent (at most 256 characters). */
  readonly host: string;
  /** The request path without the query string, which may carry secrets (at most 2048 characters). */
  readonly path: string;
  /** `namespace/name`, or null when the request never reached a revision (404, 400). */
  readonly revision: string | null;
  /** The status sent; 0 when the client left before the response ended. */
  readonly status: number;
  /** Response body bytes handed to the client connection. */
  readonly bytesSent: number;
  /** Arrival to the end of the response. */
  readonly totalMs: number;
  /** Arrival to the request being handed to a replica (0 when one was free at once). */
  readonly queueMs: number;
  /**
   * Request handed to the upstream client (after any queue wait; connecting included) to the
   * response head arriving from the replica: its time to first byte. Null when no head arrived.
   */
  readonly upstreamMs: number | null;
  /** The request arrived while its revision had no ready replica and waited for one to start. */
  readonly coldStart: boolean;
  /** The KEDGE_* code the gateway counted for this request (sent as x-kedge-error before any byte), or null. */
  readonly error: GatewayErrorCode | null;
  readonly frontend: 'uws' | 'node';
}

/** Where batches go. `write` must not block; false = behind, the batch is dropped and counted. */
export interface AccessLogSink {
  write(batch: readonly AccessLogEntry[]): boolean;
  /**
   * A sink of JSON lines takes this instead of write() when it has it: the batch already encoded
   * (UTF-8, each line what accessLogLine() gives), straight from the ring with no entry objects.
   */
  writeLines?(lines: Buffer): boolean;
  /** Writes what it holds and releases its file; called once by Gateway.close(). */
  close?(): Promise<void>;
}

const MAX_HOST_CHARS = 256;
const MAX_PATH_CHARS = 2048;

function ms(x: number): number {
  return Math.round(x * 1000) / 1000;
}

// At load, many requests of a batch start in the same millisecond: format each one once.
let lastTimeMs = NaN;
let lastTime = '';
function rfc3339(epochMs: number): string {
  const t = Math.round(epochMs);
  if (t !== lastTimeMs) {
    lastTimeMs = t;
    lastTime = new Date(t).toISOString();
  }
  return lastTime;
}

/**
 * One entry as a JSON line, byte for byte what JSON.stringify(e) + '\n' gives (a test pins it),
 * at a fraction of the cost: only the strings a client controls go through JSON.stringify; the
 * others are hex, digits, codes and Kubernetes names, which need no escaping.
 */
export function accessLogLine(e: AccessLogEntry): string {
  return (
    '{"time":"' +
    e.time +
    '","requestId":' +
    JSON.stringify(e.requestId) +
    ',"traceId":"' +
    e.traceId +
    '","method":' +
    JSON.stringify(e.method) +
    ',"host":' +
    JSON.stringify(e.host) +
    ',"path":' +
    JSON.stringify(e.path) +
    ',"revision":' +
    (e.revision === null ? 'null' : '"' + e.revision + '"') +
    ',"status":' +
    String(e.status) +
    ',"bytesSent":' +
    String(e.bytesSent) +
    ',"totalMs":' +
    String(e.totalMs) +
    ',"queueMs":' +
    String(e.queueMs) +
    ',"upstreamMs":' +
    (e.upstreamMs === null ? 'null' : String(e.upstreamMs)) +
    ',"coldStart":' +
    (e.coldStart ? 'true' : 'false') +
    ',"error":' +
    (e.error === null ? 'null' : '"' + e.error + '"') +
    ',"frontend":"' +
    e.frontend +
    '"}\n'
  );
}

/** Builds an entry from a record's raw fields (times are Clock readings). */
export function buildEntry(
  wallOffsetMs: number,
  frontend: 'uws' | 'node',
  arrivalMs: number,
  requestId: string,
  traceparent: string,
  method: string,
  host: string,
  target: string,
  revision: string,
  status: number,
  bytesSent: number,
  endMs: number,
  dispatchMs: number,
  headMs: number,
  coldStart: boolean,
  error: GatewayErrorCode | null,
): AccessLogEntry {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  return {
    time: rfc3339(wallOffsetMs + arrivalMs),
    requestId,
    traceId: traceparent.slice(TRACE_ID_START, TRACE_ID_END),
    method,
    host: host.length > MAX_HOST_CHARS ? host.slice(0, MAX_HOST_CHARS) : host,
    path: path.length > MAX_PATH_CHARS ? path.slice(0, MAX_PATH_CHARS) : path,
    revision: revision === '' ? null : revision,
    status,
    bytesSent,
    totalMs: ms(endMs - arrivalMs),
    queueMs: dispatchMs < 0 ? ms(endMs - arrivalMs) : ms(dispatchMs - arrivalMs),
    upstreamMs: headMs < 0 || dispatchMs < 0 ? null : ms(headMs - dispatchMs),
    coldStart,
    error,
    frontend,
  };
}

/** `x` ms as the thousandths ms() rounds it to. */
const thousandths = (x: number): number => Math.round(x * 1000);

/**
 * accessLogLine(buildEntry(...)) for the same arguments, encoded into `enc` (a test pins the
 * bytes). Only the strings a client controls go through JSON escaping; the others are hex,
 * digits, codes and Kubernetes names.
 */
export function encodeLine(
  enc: LineEncoder,
  wallOffsetMs: number,
  frontend: 'uws' | 'node',
  arrivalMs: number,
  requestId: string,
  traceparent: string,
  method: string,
  host: string,
  target: string,
  revision: string,
  status: number,
  bytesSent: number,
  endMs: number,
  dispatchMs: number,
  headMs: number,
  coldStart: boolean,
  error: GatewayErrorCode | null,
): void {
  const q = target.indexOf('?');
  const pathEnd = Math.min(q < 0 ? target.length : q, MAX_PATH_CHARS);
  enc.ascii('{"time":"');
  enc.ascii(rfc3339(wallOffsetMs + arrivalMs));
  enc.ascii('","requestId":');
  enc.jsonString(requestId);
  enc.ascii(',"traceId":"');
  enc.ascii(traceparent.slice(TRACE_ID_START, TRACE_ID_END));
  enc.ascii('","method":');
  enc.jsonString(method);
  enc.ascii(',"host":');
  enc.jsonString(host.length > MAX_HOST_CHARS ? host.slice(0, MAX_HOST_CHARS) : host);
  enc.ascii(',"path":');
  enc.jsonString(pathEnd === target.length ? target : target.slice(0, pathEnd));
  if (revision === '') enc.ascii(',"revision":null,"status":');
  else {
    enc.ascii(',"revision":"');
    enc.ascii(revision);
    enc.ascii('","status":');
  }
  enc.uint(status);
  enc.ascii(',"bytesSent":');
  enc.uint(bytesSent);
  enc.ascii(',"totalMs":');
  enc.millis(thousandths(endMs - arrivalMs));
  enc.ascii(',"queueMs":');
  enc.millis(thousandths(dispatchMs < 0 ? endMs - arrivalMs : dispatchMs - arrivalMs));
  enc.ascii(',"upstreamMs":');
  if (headMs < 0 || dispatchMs < 0) enc.ascii('null');
  else enc.millis(thousandths(headMs - dispatchMs));
  enc.ascii(coldStart ? ',"coldStart":true,"error":' : ',"coldStart":false,"error":');
  if (error === null) enc.ascii('null');
  else {
    enc.ascii('"');
    enc.ascii(error);
    enc.ascii('"');
  }
  enc.ascii(frontend === 'uws' ? ',"frontend":"uws"}\n' : ',"frontend":"node"}\n');
}

/** Records the ring holds (a power of two); past it, records are dropped and counted. */
export const DEFAULT_ACCESS_LOG_CAPACITY = 16_384;
/**
 * A batch is written at once (setImmediate) when this many wait, otherwise by the 100 ms ticker:
 * small enough that, at load, records (and the strings they reference) are written before a
 * young-generation GC would have to copy them.
 */
const FLUSH_AT = 256;

export class AccessLog {
  // Columns, one slot per record (Clock readings in ms; -1 = never happened).
  private readonly arrival: Float64Array;
  private readonly end: Float64Array;
  private readonly dispatch: Float64Array;
  private readonly headAt: Float64Array;
  private readonly status: Uint16Array;
  private readonly bytes: Float64Array;
  private readonly cold: Uint8Array;
  private readonly requestId: string[];
  private readonly traceparent: string[];
  private readonly method: string[];
  private readonly host: string[];
  private readonly target: string[];
  private readonly revision: string[];
  private readonly error: (GatewayErrorCode | null)[];
  private readonly mask: number;
  private head = 0;
  private size = 0;
  private scheduled = false;
  /** Dropped since the last takeDropped(): the ring was full or the sink was behind. */
  private dropped = 0;
  private readonly encoder = new LineEncoder();
  frontend: 'uws' | 'node' = 'uws';
  private readonly flushSoon = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(
    readonly sink: AccessLogSink,
    /** Epoch ms minus the gateway Clock's reading, taken once per batch. */
    private readonly wallOffsetMs: () => number,
    capacity = DEFAULT_ACCESS_LOG_CAPACITY,
  ) {
    // pre: capacity is a power of two (the index is masked)
    if (capacity <= 0 || (capacity & (capacity - 1)) !== 0)
      throw new RangeError(`access log capacity must be a power of two, got ${capacity}`);
    this.mask = capacity - 1;
    this.arrival = new Float64Array(capacity);
    this.end = new Float64Array(capacity);
    this.dispatch = new Float64Array(capacity);
    this.headAt = new Float64Array(capacity);
    this.status = new Uint16Array(capacity);
    this.bytes = new Float64Array(capacity);
    this.cold = new Uint8Array(capacity);
    const strings = (): string[] => new Array<string>(capacity).fill('');
    this.requestId = strings();
    this.traceparent = strings();
    this.method = strings();
    this.host = strings();
    this.target = strings();
    this.revision = strings();
    this.error = new Array<GatewayErrorCode | null>(capacity).fill(null);
  }

  /**
   * Hot path: stores into preallocated columns, no allocation. Times are Clock readings;
   * `dispatchMs` -1 = never handed to a replica, `headMs` -1 = no response head.
   */
  push(
    arrivalMs: number,
    requestId: string,
    traceparent: string,
    method: string,
    host: string,
    target: string,
    revision: string,
    status: number,
    bytesSent: number,
    endMs: number,
    dispatchMs: number,
    headMs: number,
    coldStart: boolean,
    error: GatewayErrorCode | null,
  ): void {
    if (this.size > this.mask) {
      this.dropped++;
      return;
    }
    const i = (this.head + this.size) & this.mask;
    this.arrival[i] = arrivalMs;
    this.requestId[i] = requestId;
    this.traceparent[i] = traceparent;
    this.method[i] = method;
    this.host[i] = host;
    this.target[i] = target;
    this.revision[i] = revision;
    this.status[i] = status;
    this.bytes[i] = bytesSent;
    this.end[i] = endMs;
    this.dispatch[i] = dispatchMs;
    this.headAt[i] = headMs;
    this.cold[i] = coldStart ? 1 : 0;
    this.error[i] = error;
    if (++this.size === FLUSH_AT && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
  }

  /**
   * Hands the waiting records to the sink as one batch: encoded lines when it takes them,
   * entries otherwise.
   */
  flush(): void {
    const n = this.size;
    if (n === 0) return;
    const sink = this.sink;
    let ok: boolean;
    try {
      if (sink.writeLines !== undefined) {
        const enc = this.encoder;
        this.drain(n, (...args) => {
          encodeLine(enc, ...args);
        });
        ok = sink.writeLines(enc.take());
      } else {
        const batch: AccessLogEntry[] = [];
        this.drain(n, (...args) => {
          batch.push(buildEntry(...args));
        });
        ok = sink.write(batch);
      }
    } catch {
      // A sink must not throw; if one does, the batch is lost like a refused one.
      ok = false;
    }
    if (!ok) this.dropped += n;
  }

  /** Gives `each` the first n records in order, as buildEntry() takes them; then they are gone. */
  private drain(n: number, each: (...args: Parameters<typeof buildEntry>) => void): void {
    const wall = this.wallOffsetMs();
    const frontend = this.frontend;
    for (let k = 0; k < n; k++) {
      const i = (this.head + k) & this.mask;
      each(
        wall,
        frontend,
        this.arrival[i] as number,
        this.requestId[i] as string,
        this.traceparent[i] as string,
        this.method[i] as string,
        this.host[i] as string,
        this.target[i] as string,
        this.revision[i] as string,
        this.status[i] as number,
        this.bytes[i] as number,
        this.end[i] as number,
        this.dispatch[i] as number,
        this.headAt[i] as number,
        this.cold[i] === 1,
        this.error[i] ?? null,
      );
      // Let go of the strings (a long path must not outlive its line).
      this.target[i] = this.host[i] = this.requestId[i] = this.traceparent[i] = '';
    }
    this.head = (this.head + n) & this.mask;
    this.size = 0;
  }

  addDropped(n: number): void {
    this.dropped += n;
  }

  /** Records dropped since the last call (moved into kedge_access_log_dropped_total at scrape). */
  takeDropped(): number {
    const d = this.dropped;
    this.dropped = 0;
    return d;
  }
}

/** What a stream sink writes to: a file stream, process.stdout, or a terminal view's printer. */
export interface LineOutput {
  write(chunk: string | Buffer): boolean;
  /** Bytes accepted but not yet written (a Writable's writableLength); 0 for synchronous outputs. */
  readonly writableLength: number;
}

/** Past this many bytes waiting in the output, batches are dropped until it drains. */
const MAX_PENDING_BYTES = 8 << 20;

/** JSON lines, one write per batch. */
export class StreamAccessLogSink implements AccessLogSink {
  constructor(
    private readonly out: LineOutput,
    private readonly onClose: () => Promise<void> = () => Promise.resolve(),
  ) {}

  write(batch: readonly AccessLogEntry[]): boolean {
    if (this.out.writableLength > MAX_PENDING_BYTES) return false;
    let text = '';
    for (const e of batch) text += accessLogLine(e);
    this.out.write(text);
    return true;
  }

  writeLines(lines: Buffer): boolean {
    if (this.out.writableLength > MAX_PENDING_BYTES) return false;
    this.out.write(lines);
    return true;
  }

  close(): Promise<void> {
    return this.onClose();
  }
}

/**
 * Appends to PATH (created 0600: lines name hosts and paths). Opened here, synchronously, so a
 * bad path fails at start with the OS's reason; written asynchronously, so a slow disk never
 * stalls the event loop (batches are dropped and counted while 8 MiB wait). `onError`: a write
 * failed (disk full); later batches are dropped and counted.
 */
export function fileAccessLogSink(path: string, onError: (err: Error) => void): StreamAccessLogSink {
  const fd = openSync(path, 'a', 0o600);
  let stream: WriteStream;
  try {
    stream = createWriteStream('', { fd, flags: 'a' });
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  let failed = false;
  stream.on('error', (err) => {
    if (failed) return;
    failed = true;
    onError(err);
  });
  const out: LineOutput = {
    write: (chunk) => (failed ? false : stream.write(chunk)),
    get writableLength() {
      return failed ? Infinity : stream.writableLength;
    },
  };
  return new StreamAccessLogSink(
    out,
    () =>
      new Promise<void>((resolve) => {
        if (failed || stream.destroyed) {
          resolve();
          return;
        }
        stream.end(() => {
          resolve();
        });
      }),
  );
}

/** Standard output (cluster logs are collected from it), shared with the process's own log lines. */
export function stdoutAccessLogSink(): StreamAccessLogSink {
  return new StreamAccessLogSink(process.stdout);
}

/** Keeps every entry (tests, embedding); at most `limit`, then counts them as dropped. */
export class MemoryAccessLogSink implements AccessLogSink {
  readonly entries: AccessLogEntry[] = [];
  constructor(private readonly limit = 100_000) {}
  write(batch: readonly AccessLogEntry[]): boolean {
    if (this.entries.length + batch.length > this.limit) return false;
    for (const e of batch) this.entries.push(e);
    return true;
  }
}
