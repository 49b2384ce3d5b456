// uWebSockets.js front end (perf-baseline: twice node:http's throughput with the same client).
// Rules from perf-baseline §4 and the uWS docs: copy the stack-allocated request synchronously,
// attach onAborted before any async step, cork every write made from a callback, tryEnd() with
// getWriteOffset() resend from onWritable, pause()/resume() for request bodies, never touch res
// after abort/end, endWithoutBody() with no argument (content-length written by us) for HEAD.
import { STATUS_CODES } from 'node:http';
import { randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type {
  HttpRequest,
  HttpResponse,
  TemplatedApp,
  us_listen_socket,
  us_socket_context_t,
  WebSocket,
} from '@trufflesuite/uws-js-unofficial';
import type { GatewayCore } from '../core.js';
import { ClientAddressText } from '../client-address.js';
import { requestRefusal } from '../errors.js';
import { ParsedHead } from '../upstream/response-parser.js';
import { closePayload, encodeFrame, FrameDecoder, Opcode } from '../upstream/ws-frames.js';
import type { FrameEvents } from '../upstream/ws-frames.js';
import type {
  Downstream,
  DownstreamEvents,
  IncomingRequest,
  TunnelDownstream,
  UpstreamHead,
} from './types.js';
import type { Frontend } from './node-http.js';

interface UwsModule {
  App(): TemplatedApp & { close(): void };
  us_listen_socket_close(s: us_listen_socket): void;
  us_socket_local_port(s: us_listen_socket): number;
}

/**
 * Loads the native binary directly: the package's main entry falls back to a slow JS shim, and
 * our fallback is the node:http front end instead. Throws when no binary fits this platform/ABI.
 */
export function loadUws(): UwsModule {
  const require = createRequire(import.meta.url);
  const file = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  return require(`@trufflesuite/uws-js-unofficial/binaries/${file}`) as UwsModule;
}

/** "200 OK" etc. as bytes, made once per status: uWS reads a Uint8Array without a UTF-8 pass. */
const statusLines: (Buffer | undefined)[] = [];
function statusLine(status: number): Buffer {
  let line = statusLines[status];
  if (line === undefined) {
    line = Buffer.from(`${status} ${STATUS_CODES[status] ?? 'Unknown'}`, 'latin1');
    statusLines[status] = line;
  }
  return line;
}

const CONTENT_LENGTH = Buffer.from('content-length', 'latin1');
/** uWS's own text form spells IPv6 out in full (and v4 clients of a dual-stack listener as IPv6). */
const clientAddress = new ClientAddressText();
const X_REQUEST_ID = Buffer.from('x-request-id', 'latin1');
const SWITCHING_PROTOCOLS = Buffer.from('101 Switching Protocols', 'latin1');

/** Where the run found by scanRun() ends: the end of its last field's value. */
let runValueEnd = 0;

/**
 * A raw-path head's kept fields (ParsedHead.fields, four numbers each) from field index i: while
 * the next kept field starts right after this line's CRLF, the lines form one run that goes to
 * uWS as they came. Returns the index after the run and sets runValueEnd (a module-level slot
 * instead of a returned pair: no allocation per run).
 */
function scanRun(f: readonly number[], i: number): number {
  let ve = f[i + 3] as number;
  let j = i + 4;
  while (j < f.length && f[j] === ve + 2) {
    ve = f[j + 3] as number;
    j += 4;
  }
  runValueEnd = ve;
  return j;
}

/**
 * Writes a head's fields. Raw-path heads pass runs of adjacent upstream lines as one field whose
 * value spans the following lines (each one already validated by the parser), so a typical
 * response costs two or three native calls instead of one per field (perf-baseline §4: the
 * JS↔native crossings are what remains). The fallback of writeHeadInOne() for heads too large for
 * its scratch buffer.
 * pre: inside cork, after writeStatus.
 */
function writeFields(res: HttpResponse, head: UpstreamHead): void {
  if (head instanceof ParsedHead) {
    const f = head.fields;
    const buf = head.buf;
    for (let i = 0; i < f.length;) {
      const j = scanRun(f, i);
      res.writeHeader(buf.subarray(f[i], f[i + 1]), buf.subarray(f[i + 2], runValueEnd));
      i = j;
    }
    return;
  }
  const h = head.headers;
  for (let i = 0; i + 1 < h.length; i += 2) res.writeHeader(h[i] as Buffer, h[i + 1] as Buffer);
}

/**
 * A proxied response head goes to uWS in ONE call: the status, the replica's fields and
 * x-request-id (and Content-Length for a bodyless answer) are assembled here and passed as
 * writeStatus()'s argument, which uWS 20.30 writes verbatim between "HTTP/1.1 " and CRLF into the
 * corked buffer, copying it at once. Field by field that was four calls and five typed arrays per
 * response; v8::ArrayBuffer::GetBackingStore, which uWS runs for every typed-array argument, was
 * the largest user-space symbol in the gateway's profile (~0.27 µs per request), ahead of the JS↔
 * native call overhead itself. The bytes on the wire are the same as the field-by-field path's
 * ("name: value" lines, the replica's own runs of adjacent lines kept verbatim); a conformance
 * test compares both. Every byte copied was validated before: field lines by the parser or
 * undici, the request id as printable ASCII (trace-context.ts isSaneRequestId, or our own ids).
 */
const HEAD_SCRATCH = Buffer.allocUnsafe(16 * 1024);
const X_REQUEST_ID_LINE = Buffer.from('\r\nx-request-id: ', 'latin1');
const CONTENT_LENGTH_LINE = Buffer.from('\r\ncontent-length: ', 'latin1');

/** Copies src[s, e) to HEAD_SCRATCH at `at`; short spans byte by byte (no native call, no view). */
function putSpan(at: number, src: Uint8Array, s: number, e: number): number {
  const dst = HEAD_SCRATCH;
  if (e - s > 64) {
    dst.set(src.subarray(s, e), at);
    return at + e - s;
  }
  for (let k = s; k < e; k++) dst[at++] = src[k] as number;
  return at;
}

/** pre: `text` is ASCII. */
function putAscii(at: number, text: string): number {
  const dst = HEAD_SCRATCH;
  for (let k = 0; k < text.length; k++) dst[at++] = text.charCodeAt(k);
  return at;
}

function putCrlfField(at: number, name: Uint8Array, ns: number, ne: number): number {
  const dst = HEAD_SCRATCH;
  dst[at++] = 13;
  dst[at++] = 10;
  at = putSpan(at, name, ns, ne);
  dst[at++] = 0x3a; // ':'
  dst[at++] = 0x20;
  return at;
}

/**
 * pre: inside cork, nothing written yet for this response. `contentLength` < 0: none written.
 * Returns false, having written nothing, when the head does not fit HEAD_SCRATCH.
 */
function writeHeadInOne(
  res: HttpResponse,
  status: number,
  head: UpstreamHead,
  requestId: string,
  contentLength: number,
): boolean {
  // Upper bound of what is written below: the status, every field with its CRLF and ": ", and the
  // two trailing fields (a Content-Length has at most 16 digits).
  const line = statusLine(status);
  let size = line.length + X_REQUEST_ID_LINE.length + requestId.length + CONTENT_LENGTH_LINE.length + 16;
  if (head instanceof ParsedHead) {
    const f = head.fields;
    for (let i = 0; i < f.length; i += 4) size += (f[i + 3] as number) - (f[i] as number) + 4;
  } else {
    const h = head.headers;
    for (let i = 0; i < h.length; i++) size += (h[i] as Buffer).length + 2;
  }
  if (size > HEAD_SCRATCH.length) return false;
  let at = putSpan(0, line, 0, line.length);
  if (head instanceof ParsedHead) {
    const f = head.fields;
    const buf = head.buf;
    for (let i = 0; i < f.length;) {
      const j = scanRun(f, i);
      at = putCrlfField(at, buf, f[i] as number, f[i + 1] as number);
      at = putSpan(at, buf, f[i + 2] as number, runValueEnd);
      i = j;
    }
  } else {
    const h = head.headers;
    for (let i = 0; i + 1 < h.length; i += 2) {
      const name = h[i] as Buffer;
      const value = h[i + 1] as Buffer;
      at = putCrlfField(at, name, 0, name.length);
      at = putSpan(at, value, 0, value.length);
    }
  }
  at = putSpan(at, X_REQUEST_ID_LINE, 0, X_REQUEST_ID_LINE.length);
  at = putAscii(at, requestId);
  if (contentLength >= 0) {
    at = putSpan(at, CONTENT_LENGTH_LINE, 0, CONTENT_LENGTH_LINE.length);
    at = putAscii(at, String(contentLength));
  }
  res.writeStatus(HEAD_SCRATCH.subarray(0, at));
  return true;
}

// Arguments for the cork callbacks below. cork() runs its callback synchronously and no uWS call
// made inside re-enters it, so module-level slots avoid a closure per write.
const EMPTY = Buffer.alloc(0);
const cork: { ds: UwsDownstream | null; chunk: Buffer; ok: boolean } = { ds: null, chunk: EMPTY, ok: true };
function corkedWrite(): void {
  cork.ok = (cork.ds as UwsDownstream).writeCorked(cork.chunk);
}
function corkedFlush(): void {
  (cork.ds as UwsDownstream).writeHead();
}
function corkedEnd(): void {
  (cork.ds as UwsDownstream).endCorked();
}
function corkedBodyless(): void {
  (cork.ds as UwsDownstream).bodylessCorked();
}

export class UwsDownstream implements Downstream {
  events: DownstreamEvents | null = null;
  requestId = '';
  /** Aborted, ended or closed: res must not be touched again. */
  done = false;
  private bodyPaused = false;
  /** Content-Length of the response being streamed with tryEnd(); -1 = chunked write(). */
  private total = -1;
  /** Body bytes handed to uWS so far. */
  private written = 0;
  /** A chunk tryEnd() could not take in full, and the write offset it started at. */
  private pending: Buffer | null = null;
  private pendingOffset = 0;
  private endRequested = false;
  private writableSet = false;
  /** The head waits for the first chunk so both leave in one write (or for flush()). */
  private headStatus = 0;
  private headFields: UpstreamHead | null = null;

  constructor(readonly res: HttpResponse) {}

  aborted(): void {
    this.done = true;
    const ev = this.events;
    this.events = null;
    ev?.onClientAbort();
  }

  respond(status: number, headers: readonly string[], body: string): void {
    if (this.done) return;
    this.done = true;
    const res = this.res;
    res.cork(() => {
      if (this.bodyPaused) res.resume();
      res.writeStatus(statusLine(status));
      for (let i = 0; i + 1 < headers.length; i += 2)
        res.writeHeader(headers[i] as string, headers[i + 1] as string);
      if (this.requestId !== '') res.writeHeader(X_REQUEST_ID, this.requestId);
      res.end(body);
    });
  }

  /**
   * A no-op: uWebSockets.js 20.30 cannot send an informational response before the final one.
   * writeStatus() may be called once per response (a second call is ignored; docs/index.d.ts:
   * "This has to be called first in any response"), so a 1xx written through it would become the
   * final status, and there is no raw write to the socket ahead of the response. 1xx heads from
   * the replica are skipped here, as they were by every kedge front end before; the README lists
   * this among the front-end differences. (uWS answers Expect: 100-continue itself.)
   */
  interim(): void {
    // Nothing to do: see above.
  }

  head(status: number, head: UpstreamHead, bodyless: boolean): void {
    if (this.done) return;
    this.headStatus = status;
    this.headFields = head;
    if (bodyless) {
      this.done = true;
      cork.ds = this;
      this.res.cork(corkedBodyless);
      cork.ds = null;
      return;
    }
    this.total = head.contentLength;
  }

  /** pre: inside cork. */
  bodylessCorked(): void {
    const res = this.res;
    const head = this.headFields as UpstreamHead;
    this.headFields = null;
    if (this.bodyPaused) res.resume();
    // perf-baseline §7.4: endWithoutBody(n) leaves the socket expecting n bytes; write the
    // length ourselves (HEAD and 304 describe the selected representation) and pass nothing.
    const length = head.contentLength >= 0 && this.headStatus !== 204 ? head.contentLength : -1;
    if (!writeHeadInOne(res, this.headStatus, head, this.requestId, length)) {
      res.writeStatus(statusLine(this.headStatus));
      writeFields(res, head);
      res.writeHeader(X_REQUEST_ID, this.requestId);
      if (length >= 0) res.writeHeader(CONTENT_LENGTH, String(length));
    }
    res.endWithoutBody();
  }

  flush(): void {
    if (this.headFields === null || this.done) return;
    // uWS sends the head's bytes when the cork ends; the blank line that closes it leaves with the
    // first body chunk (an empty write() would be ignored: a zero-size chunk ends a response).
    cork.ds = this;
    this.res.cork(corkedFlush);
    cork.ds = null;
  }

  /** pre: inside cork. */
  writeHead(): void {
    const head = this.headFields;
    if (head === null) return;
    this.headFields = null;
    const res = this.res;
    if (writeHeadInOne(res, this.headStatus, head, this.requestId, -1)) return;
    res.writeStatus(statusLine(this.headStatus));
    writeFields(res, head);
    res.writeHeader(X_REQUEST_ID, this.requestId);
  }

  write(chunk: Buffer): boolean {
    if (this.done) return false;
    cork.ds = this;
    cork.chunk = chunk;
    this.res.cork(corkedWrite);
    cork.ds = null;
    cork.chunk = EMPTY;
    return cork.ok;
  }

  /** pre: inside cork. */
  writeCorked(chunk: Buffer): boolean {
    this.writeHead();
    const res = this.res;
    const total = this.total;
    if (total < 0) {
      // write() keeps what it could not send.
      if (res.write(chunk)) return true;
      this.watchWritable();
      return false;
    }
    if (this.written === 0 && chunk.length === total) {
      // The whole body in one chunk (the common small response): end() buffers what the socket
      // does not take at once, at most this one read's worth.
      this.written = total;
      this.done = true;
      res.end(chunk);
      return true;
    }
    // tryEnd() does not keep what it could not send: remember the chunk and where it started.
    const start = res.getWriteOffset();
    this.written += chunk.length;
    const [ok, responded] = res.tryEnd(chunk, total);
    if (responded) {
      this.done = true;
      return true;
    }
    if (!ok) {
      // Borrowed (Downstream.write): uWS took a prefix, the rest is resent from onWritable.
      this.pending = Buffer.from(chunk);
      this.pendingOffset = start;
      this.watchWritable();
    }
    return ok;
  }

  private watchWritable(): void {
    if (this.writableSet) return;
    this.writableSet = true;
    this.res.onWritable((offset) => this.writable(offset));
  }

  private writable(offset: number): boolean {
    if (this.done) return true;
    const pending = this.pending;
    if (pending === null) {
      // write() drained.
      this.events?.onWritable();
      if (this.endRequested) this.end();
      return true;
    }
    const [ok, responded] = this.res.tryEnd(pending.subarray(offset - this.pendingOffset), this.total);
    if (responded) {
      this.done = true;
      this.pending = null;
      return true;
    }
    if (ok) {
      this.pending = null;
      this.events?.onWritable();
    }
    return ok;
  }

  end(): void {
    if (this.done) return;
    if (this.pending !== null) {
      // The last chunk is still draining; onWritable finishes the response.
      this.endRequested = true;
      return;
    }
    this.done = true;
    cork.ds = this;
    this.res.cork(corkedEnd);
    cork.ds = null;
  }

  /** pre: inside cork. */
  endCorked(): void {
    const res = this.res;
    if (this.bodyPaused) res.resume();
    this.writeHead();
    if (this.total <= 0) res.end();
    else res.close(); // unreachable: both upstream paths reject a body shorter than its Content-Length
  }

  cut(): void {
    if (this.done) return;
    this.done = true;
    this.events = null;
    this.res.close();
  }

  pauseBody(): void {
    if (this.done || this.bodyPaused) return;
    this.bodyPaused = true;
    this.res.pause();
  }

  resumeBody(): void {
    if (this.done || !this.bodyPaused) return;
    this.bodyPaused = false;
    this.res.resume();
  }
}

/** `METHOD SP target SP HTTP/1.1 CRLF` and the final CRLF, besides the method and the target. */
const REQUEST_LINE_OVERHEAD = 13;
/** `name: value CRLF` besides the name and the value. */
const FIELD_OVERHEAD = 4;

function targetBytes(url: string, query: string | undefined): number {
  return query === undefined || query === '' ? url.length : url.length + 1 + query.length;
}

/**
 * What scanFields() copied from the request being handled. req.forEach() calls back
 * synchronously and nothing re-enters it, so one module-level record spares a closure and its
 * context per request (the same reasoning as the cork slots above).
 */
const scan = {
  headers: [] as string[],
  /** Header section size, request line included (uWS sets no limit: counted as node:http does). */
  bytes: 0,
  host: '',
  hosts: 0,
  contentLength: '',
  chunked: false,
  websocketKey: '',
};

function scanField(k: string, v: string): void {
  scan.headers.push(k, v);
  scan.bytes += k.length + v.length + FIELD_OVERHEAD;
  if (k === 'host') {
    scan.host = v;
    scan.hosts++;
  } else if (k === 'content-length') scan.contentLength = v;
  else if (k === 'transfer-encoding') scan.chunked = true;
  else if (k === 'sec-websocket-key') scan.websocketKey = v;
}

/** Copies the fields of `req` into `scan`, fresh for this request. */
function scanFields(req: HttpRequest, requestLineBytes: number): void {
  scan.headers = [];
  scan.bytes = requestLineBytes;
  scan.host = '';
  scan.hosts = 0;
  scan.contentLength = '';
  scan.chunked = false;
  scan.websocketKey = '';
  req.forEach(scanField);
}

function onRequest(core: GatewayCore, res: HttpResponse, req: HttpRequest): void {
  // Copy everything from the stack-allocated request first.
  const method = req.getCaseSensitiveMethod();
  // getQuery() returns undefined (not '') when the URL has no query string.
  const query = req.getQuery() as string | undefined;
  const url = req.getUrl();
  const target = targetBytes(url, query);
  scanFields(req, method.length + target + REQUEST_LINE_OVERHEAD);
  const { headers, host, hosts, contentLength, chunked } = scan;
  const headerBytes = scan.bytes;
  const ds = new UwsDownstream(res);
  res.onAborted(() => {
    ds.aborted();
  });
  const hasBody = chunked || (contentLength !== '' && contentLength !== '0');
  const incoming: IncomingRequest = {
    method,
    path: query === undefined || query === '' ? url : `${url}?${query}`,
    host,
    headers,
    clientIp: clientAddress.format(new Uint8Array(res.getRemoteAddress())),
    hasBody,
    chunked,
    upgrade: '',
  };
  if (hasBody) {
    // The body waits until undici asks for it (request body backpressure); onData must be set now.
    ds.pauseBody();
    res.onData((ab, isLast) => {
      const ev = ds.events;
      // The ArrayBuffer is neutered when this callback returns: copy it.
      if (ev !== null) ev.onBodyChunk(Buffer.copyBytesFrom(new Uint8Array(ab)), isLast);
    });
  }
  const refusal = requestRefusal(hosts, target, headerBytes);
  if (refusal === null) core.handle(incoming, ds);
  else core.refuse(incoming, ds, refusal);
  // Answered at once (404, 503 ...): let uWS read and drop the rest of the body.
  if (hasBody && ds.events === null && !ds.done) ds.resumeBody();
}

// ---- WebSockets ----
//
// uWS cannot hand over a raw socket, so WebSockets are proxied at the message level: uWS
// terminates the client's WebSocket (its upgrade/open/message/close handlers), and the gateway
// speaks WebSocket to the replica as a client over the socket from upstream/tunnel.ts. Messages
// keep their type and boundaries, upstream fragments stay fragments, close codes pass both ways,
// pings are answered per hop. No extension is negotiated on either hop (the replica never sees
// Sec-WebSocket-Extensions), so frames need no re-compression. Backpressure: replica → client by
// pausing the upstream socket above WS_HIGH_WATER buffered in uWS (resumed in drain); client →
// replica cannot be paused in this uWS version (no WebSocket pause()), so what a replica has not
// read is capped instead: past WS_UPSTREAM_BACKLOG the client is closed with 1013 (Try Again
// Later) and the replica's socket dropped, rather than buffering without bound.

/** Largest message either way (uWS closes the client on a larger one; the decoder errors). */
const WS_MAX_MESSAGE = 16 << 20;
const WS_HIGH_WATER = 1 << 20;
/** Above any backlog the high-water pause allows, so uWS never drops a message. */
const WS_MAX_BACKPRESSURE = 64 << 20;
/** Client → replica bytes the replica has not read yet: room for a largest message and more. */
const WS_UPSTREAM_BACKLOG = 2 * WS_MAX_MESSAGE;
/** RFC 6455 §7.4.2 (IANA registry): the server is overloaded, the client may retry later. */
const TRY_AGAIN_LATER = 1013;

interface TunnelData {
  readonly bridge: WsBridge;
}

const MASK = Buffer.alloc(4);
const allocBuffer = (n: number): Buffer => Buffer.allocUnsafe(n);

function frame(opcode: number, payload: Uint8Array): Buffer {
  // RFC 6455 §5.3: a fresh, unpredictable mask for every client frame.
  randomFillSync(MASK);
  return encodeFrame(allocBuffer, opcode, payload, true, MASK);
}

/** RFC 6455 §7.4.1: 1005, 1006 and 1015 are never sent in a Close frame. */
function sendableCode(code: number): number {
  return code === 1005 || code === 1006 || code === 1015 || code < 1000 || code > 4999 ? 1000 : code;
}

class WsBridge implements FrameEvents<Buffer> {
  private ws: WebSocket<TunnelData> | null = null;
  private readonly decoder = new FrameDecoder<Buffer>(this, allocBuffer, WS_MAX_MESSAGE);
  private upstreamPaused = false;
  private upstreamClosing = false;
  private finished = false;

  constructor(
    private readonly upstream: Socket,
    private rest: Buffer,
    private readonly closed: () => void,
  ) {
    upstream.pause();
    upstream.on('error', () => undefined);
    upstream.on('close', this.onUpstreamClose);
  }

  open(ws: WebSocket<TunnelData>): void {
    this.ws = ws;
    const rest = this.rest;
    this.rest = EMPTY;
    if (rest.length > 0) this.onUpstreamData(rest);
    this.upstream.on('data', this.onUpstreamData);
    if (!this.upstreamPaused) this.upstream.resume();
  }

  fromClient(message: ArrayBuffer, isBinary: boolean): void {
    if (this.upstreamClosing) return;
    // encodeFrame copies (masking), so the ArrayBuffer may be neutered when this returns.
    const upstream = this.upstream;
    upstream.write(frame(isBinary ? Opcode.Binary : Opcode.Text, new Uint8Array(message)));
    if (upstream.writableLength > WS_UPSTREAM_BACKLOG) {
      this.upstreamClosing = true;
      upstream.destroy();
      // Detached first: the upstream 'close' that follows must not cut the client before the
      // Close frame is out (uWS completes the closing handshake and then calls clientClosed).
      const ws = this.ws;
      this.ws = null;
      ws?.end(TRY_AGAIN_LATER, 'replica is not reading');
    }
  }

  drained(): void {
    const ws = this.ws;
    if (ws !== null && this.upstreamPaused && ws.getBufferedAmount() < WS_HIGH_WATER) {
      this.upstreamPaused = false;
      this.upstream.resume();
    }
  }

  /** uWS close handler: the client's WebSocket is gone (closed by either side). */
  clientClosed(code: number, message: ArrayBuffer): void {
    this.ws = null;
    if (!this.upstreamClosing) {
      this.upstreamClosing = true;
      this.upstream.end(frame(Opcode.Close, closePayload(sendableCode(code), new Uint8Array(message))));
    }
    this.finish();
  }

  onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    const ws = this.ws;
    if (ws === null) return;
    switch (opcode) {
      case Opcode.Text:
      case Opcode.Binary:
        if (fin) ws.send(payload, opcode === Opcode.Binary);
        else ws.sendFirstFragment(payload, opcode === Opcode.Binary);
        break;
      case Opcode.Continuation:
        if (fin) ws.sendLastFragment(payload);
        else ws.sendFragment(payload);
        break;
      case Opcode.Ping:
        this.upstream.write(frame(Opcode.Pong, payload));
        return;
      case Opcode.Pong:
        return;
      case Opcode.Close: {
        const code = payload.length >= 2 ? ((payload[0] as number) << 8) | (payload[1] as number) : 1000;
        // Answer the replica's close (RFC 6455 §5.5.1), then close the client with its code.
        this.upstreamClosing = true;
        this.upstream.end(frame(Opcode.Close, payload.subarray(0, 2)));
        ws.end(sendableCode(code), payload.subarray(2));
        return;
      }
      default:
        this.protocolError();
        return;
    }
    if (!this.upstreamPaused && ws.getBufferedAmount() >= WS_HIGH_WATER) {
      this.upstreamPaused = true;
      this.upstream.pause();
    }
  }

  private readonly onUpstreamData = (chunk: Buffer): void => {
    if (!this.decoder.push(chunk)) this.protocolError();
  };

  private protocolError(): void {
    // RFC 6455 §7.4.1: 1002, protocol error (the replica's frames could not be read).
    this.upstreamClosing = true;
    this.upstream.destroy();
    this.ws?.end(1002);
  }

  private readonly onUpstreamClose = (): void => {
    this.upstreamClosing = true;
    // Gone without a Close frame: the client's connection goes the same way.
    this.ws?.close();
    this.finish();
  };

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.upstream.destroy();
    this.closed();
  }
}

class UwsTunnelDownstream extends UwsDownstream implements TunnelDownstream {
  constructor(
    res: HttpResponse,
    private readonly key: string,
    private readonly context: us_socket_context_t,
  ) {
    super(res);
  }

  upgraded(head: ParsedHead<Buffer>, upstream: Socket, rest: Buffer, closed: () => void): void {
    if (this.done) {
      upstream.destroy();
      closed();
      return;
    }
    this.done = true;
    this.events = null;
    let protocol = '';
    const f = head.fields;
    for (let i = 0; i < f.length; i += 4) {
      if (head.buf.toString('latin1', f[i], f[i + 1]).toLowerCase() === 'sec-websocket-protocol')
        protocol = head.buf.toString('latin1', f[i + 2], f[i + 3]);
    }
    const data: TunnelData = { bridge: new WsBridge(upstream, rest, closed) };
    const res = this.res;
    // uWS answers the client with its own 101 (Sec-WebSocket-Accept from the same key the
    // replica accepted), carrying the subprotocol the replica chose and no extensions. Its status
    // is written first so the request id can follow: upgrade() then adds only its own fields.
    res.cork(() => {
      res.writeStatus(SWITCHING_PROTOCOLS);
      if (this.requestId !== '') res.writeHeader(X_REQUEST_ID, this.requestId);
      res.upgrade(data, this.key, protocol, '', this.context);
    });
  }
}

function onUpgrade(
  core: GatewayCore,
  res: HttpResponse,
  req: HttpRequest,
  context: us_socket_context_t,
): void {
  const method = req.getCaseSensitiveMethod();
  const query = req.getQuery() as string | undefined;
  const url = req.getUrl();
  const target = targetBytes(url, query);
  scanFields(req, method.length + target + REQUEST_LINE_OVERHEAD);
  const { headers, host, hosts, websocketKey: key } = scan;
  const headerBytes = scan.bytes;
  const ds = new UwsTunnelDownstream(res, key, context);
  res.onAborted(() => {
    ds.aborted();
  });
  const incoming: IncomingRequest = {
    method,
    path: query === undefined || query === '' ? url : `${url}?${query}`,
    host,
    headers,
    clientIp: clientAddress.format(new Uint8Array(res.getRemoteAddress())),
    hasBody: false,
    chunked: false,
    upgrade: 'websocket',
  };
  const refusal = requestRefusal(hosts, target, headerBytes);
  if (refusal === null) core.handle(incoming, ds);
  else core.refuse(incoming, ds, refusal);
}

export function startUws(core: GatewayCore, host: string, port: number): Promise<Frontend> {
  const uws = loadUws();
  const app = uws.App();
  // Only requests with a valid WebSocket handshake reach upgrade(); uWS yields every other GET to any().
  app.ws<TunnelData>('/*', {
    compression: 0, // uWS.DISABLED
    maxPayloadLength: WS_MAX_MESSAGE,
    maxBackpressure: WS_MAX_BACKPRESSURE,
    closeOnBackpressureLimit: 0,
    // Knative's hijack tracker puts no timer on an upgraded connection; neither do we.
    idleTimeout: 0,
    sendPingsAutomatically: false,
    upgrade: (res, req, context) => {
      onUpgrade(core, res, req, context);
    },
    open: (ws) => {
      ws.getUserData().bridge.open(ws);
    },
    message: (ws, message, isBinary) => {
      ws.getUserData().bridge.fromClient(message, isBinary);
    },
    drain: (ws) => {
      ws.getUserData().bridge.drained();
    },
    close: (ws, code, message) => {
      ws.getUserData().bridge.clientClosed(code, message);
    },
  });
  app.any('/*', (res, req) => {
    onRequest(core, res, req);
  });
  return new Promise<Frontend>((resolve, reject) => {
    app.listen(host, port, (listenSocket) => {
      if (listenSocket === false) {
        reject(new Error(`uWS could not listen on ${host}:${port} (address in use or not permitted)`));
        return;
      }
      resolve({
        kind: 'uws',
        port: uws.us_socket_local_port(listenSocket),
        close: () => {
          uws.us_listen_socket_close(listenSocket);
          app.close();
          return Promise.resolve();
        },
      });
    });
  });
}
