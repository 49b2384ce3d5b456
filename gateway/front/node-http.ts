// node:http front end: the fallback when the uWS binary cannot load, and the one that runs the
// same conformance suite. Same contract as front/uws.ts; node:http does the framing itself.
import { createServer, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayCore } from '../core.js';
import { normalizeNodeAddress } from '../client-address.js';
import { requestRefusal } from '../errors.js';
import { ParsedHead } from '../upstream/response-parser.js';
import type {
  Downstream,
  DownstreamEvents,
  IncomingRequest,
  TunnelDownstream,
  UpstreamHead,
} from './types.js';

export interface Frontend {
  readonly kind: 'uws' | 'node';
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Flat name/value strings for writeHead() (node:http validates and frames them itself), with the
 * gateway's x-request-id.
 */
function flatFields(head: UpstreamHead, requestId: string): string[] {
  const flat: string[] = [];
  if (head instanceof ParsedHead) {
    const f = head.fields;
    const buf = head.buf;
    for (let i = 0; i < f.length; i += 4)
      flat.push(buf.toString('latin1', f[i], f[i + 1]), buf.toString('latin1', f[i + 2], f[i + 3]));
    // node:http adds Date only when none is set: keep the replica's.
    if (head.dateStart >= 0) flat.push('date', buf.toString('latin1', head.dateStart, head.dateEnd));
  } else {
    const h = head.headers;
    for (let i = 0; i < h.length; i++) flat.push((h[i] as Buffer).toString('latin1'));
    if (head.date !== null) flat.push('date', head.date.toString('latin1'));
  }
  if (head.contentLength >= 0) flat.push('content-length', String(head.contentLength));
  if (requestId !== '') flat.push('x-request-id', requestId);
  return flat;
}

/**
 * A 1xx head as text, written Latin-1 (the field bytes as the replica sent them). The fields are
 * those the parser or scanResponseHeaders() kept (hop-by-hop and the replica's x-request-id
 * dropped, RFC 9110 §7.6.1), plus the replica's Date if it sent one; never Content-Length (RFC 9110
 * §8.6: not in a 1xx). Names and values were validated upstream (no CR, LF or other controls), so
 * nothing can be injected. Node's STATUS_CODES knows 102 and 103; an unregistered 1xx goes out
 * with an empty reason phrase, which RFC 9112 §4 allows.
 */
function interimHeadText(status: number, head: UpstreamHead): string {
  let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
  if (head instanceof ParsedHead) {
    const f = head.fields;
    const buf = head.buf;
    for (let i = 0; i < f.length; i += 4)
      text += `${buf.toString('latin1', f[i], f[i + 1])}: ${buf.toString('latin1', f[i + 2], f[i + 3])}\r\n`;
    if (head.dateStart >= 0) text += `date: ${buf.toString('latin1', head.dateStart, head.dateEnd)}\r\n`;
  } else {
    const h = head.headers;
    for (let i = 0; i + 1 < h.length; i += 2)
      text += `${(h[i] as Buffer).toString('latin1')}: ${(h[i + 1] as Buffer).toString('latin1')}\r\n`;
    if (head.date !== null) text += `date: ${head.date.toString('latin1')}\r\n`;
  }
  return text + '\r\n';
}

class NodeDownstream implements Downstream {
  events: DownstreamEvents | null = null;
  requestId = '';
  done = false;
  private headPending = false;
  private drainSet = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {}

  closed(): void {
    if (this.done) return;
    this.done = true;
    const ev = this.events;
    this.events = null;
    ev?.onClientAbort();
  }

  respond(status: number, headers: readonly string[], body: string): void {
    if (this.done) return;
    this.done = true;
    const res = this.res;
    const flat = [...headers, 'content-length', String(Buffer.byteLength(body))];
    if (this.requestId !== '') flat.push('x-request-id', this.requestId);
    res.writeHead(status, flat);
    res.end(body);
  }

  /**
   * Node 20 has no public way to send an arbitrary 1xx: writeHead(1xx) takes it for the final head
   * (a later writeHead throws ERR_HTTP_HEADERS_SENT); writeProcessing() writes a 102 without
   * fields; writeEarlyHints() drops a 103 without Link, throws on Link values its pattern does not
   * know (several links in one field, quoted parameters) and knows no other 1xx. All three write
   * through the private _writeRaw(). The head is therefore written on the response's socket
   * (public res.socket), which is exactly what _writeRaw does for an assigned response, and only
   * when that is correct:
   * - before the final head (headersSent false), so it cannot land inside the response;
   * - res.socket not null: node:http assigns the socket to a response only when the ones before it
   *   on the connection have finished (a pipelined request's response waits unassigned); such a
   *   response skips its interims: they would reach the client behind the earlier response
   *   anyway, and browsers do not pipeline (RFC 9112 §9.3.2);
   * - the client speaks HTTP/1.1: RFC 9110 §15.2, no 1xx to an HTTP/1.0 client;
   * - the client is reading: an interim response is advisory, so one the socket cannot take now
   *   (writableNeedDrain) is skipped rather than buffered.
   */
  interim(status: number, head: UpstreamHead): void {
    const res = this.res;
    if (this.done || res.headersSent) return;
    const req = this.req;
    if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) return;
    const socket = res.socket;
    if (socket === null || !socket.writable || socket.writableNeedDrain) return;
    socket.write(interimHeadText(status, head), 'latin1');
  }

  head(status: number, head: UpstreamHead, bodyless: boolean): void {
    if (this.done) return;
    const res = this.res;
    res.writeHead(status, flatFields(head, this.requestId));
    if (bodyless) {
      this.done = true;
      res.end();
      return;
    }
    this.headPending = true;
  }

  flush(): void {
    // Nothing was written in the same turn as the head: send it now (SSE, long polls).
    if (this.headPending && !this.done) {
      this.headPending = false;
      this.res.flushHeaders();
    }
  }

  write(chunk: Buffer): boolean {
    if (this.done) return false;
    this.headPending = false;
    // Borrowed (Downstream.write), and node:http may hold it: in its output queue while the
    // socket is busy, or inside libuv for a partial write.
    if (this.res.write(Buffer.from(chunk))) return true;
    if (!this.drainSet) {
      this.drainSet = true;
      this.res.on('drain', () => {
        this.events?.onWritable();
      });
    }
    return false;
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    this.headPending = false;
    this.res.end();
  }

  cut(): void {
    if (this.done) return;
    this.done = true;
    this.events = null;
    this.res.destroy();
  }

  pauseBody(): void {
    if (!this.done) this.req.pause();
  }

  resumeBody(): void {
    if (!this.done) this.req.resume();
  }
}

/** Lowercase names into `into`; returns how many Host fields there are (node:http keeps the first). */
function copyHeaders(raw: readonly string[], into: string[]): number {
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    into[i] = name;
    into[i + 1] = raw[i + 1] as string;
    if (name === 'host') hosts++;
  }
  return hosts;
}

function onRequest(core: GatewayCore, req: IncomingMessage, res: ServerResponse): void {
  const raw = req.rawHeaders;
  const headers: string[] = new Array<string>(raw.length);
  const hosts = copyHeaders(raw, headers);
  const cl = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  const hasBody = chunked || (cl !== undefined && cl !== '0');
  const incoming: IncomingRequest = {
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    host: req.headers.host ?? '',
    headers,
    clientIp: normalizeNodeAddress(req.socket.remoteAddress ?? ''),
    hasBody,
    chunked,
    upgrade: '',
  };
  const ds = new NodeDownstream(req, res);
  res.on('close', () => {
    if (!res.writableFinished) ds.closed();
  });
  if (hasBody) {
    // Paused before the listener, so adding it does not start the flow; undici's reads resume it.
    req.pause();
    req.on('data', (chunk: Buffer) => {
      ds.events?.onBodyChunk(chunk, false);
    });
    req.on('end', () => {
      ds.events?.onBodyChunk(Buffer.alloc(0), true);
    });
  }
  // node:http answers 431 itself past maxHeaderSize (16 KB, the request line included).
  const refusal = requestRefusal(hosts, incoming.path.length, 0);
  if (refusal === null) core.handle(incoming, ds);
  else core.refuse(incoming, ds, refusal);
  if (ds.events === null && !req.complete) req.resume(); // answered at once: drain and drop the body
}

/** A refused upgrade's answer is collected whole (it is short); past this the client is cut. */
const MAX_REFUSAL_BYTES = 1 << 20;

/** Writes a complete response on a socket node:http gave up for an upgrade, then closes it. */
function writeRawResponse(socket: Socket, status: number, flat: readonly string[], body: Buffer): void {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    if (flat[i] === 'content-length') continue;
    head += `${flat[i] as string}: ${flat[i + 1] as string}\r\n`;
  }
  head += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  socket.write(head, 'latin1');
  socket.end(body);
}

/**
 * An upgrade on node:http: the client's socket is ours after the 'upgrade' event. Before the
 * replica says 101 we answer like any response (errors, refusals); after it, the two sockets are
 * piped together byte for byte (pipe() carries backpressure both ways), whatever the protocol.
 */
class NodeTunnelDownstream implements TunnelDownstream {
  events: DownstreamEvents | null = null;
  requestId = '';
  done = false;
  private status = 0;
  private fields: string[] = [];
  private body: Buffer[] = [];
  private bodyBytes = 0;

  constructor(
    private readonly socket: Socket,
    private readonly early: Buffer,
    private readonly protocol: string,
    private readonly tunnels: Set<Socket>,
  ) {
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.done) return;
      this.done = true;
      const ev = this.events;
      this.events = null;
      ev?.onClientAbort();
    });
  }

  respond(status: number, headers: readonly string[], body: string): void {
    if (this.done) return;
    this.done = true;
    writeRawResponse(
      this.socket,
      status,
      this.requestId === '' ? headers : [...headers, 'x-request-id', this.requestId],
      Buffer.from(body),
    );
  }

  head(status: number, head: UpstreamHead, bodyless: boolean): void {
    if (this.done) return;
    this.status = status;
    this.fields = flatFields(head, this.requestId);
    if (bodyless) this.end();
  }

  interim(): void {
    // Never called: an upgrade's upstream (upstream/tunnel.ts) passes 1xx heads over and waits
    // for its 101 or a refusal.
  }

  flush(): void {
    // The refusal goes out whole at end().
  }

  write(chunk: Buffer): boolean {
    if (this.done) return false;
    this.bodyBytes += chunk.length;
    if (this.bodyBytes > MAX_REFUSAL_BYTES) {
      this.cut();
      return false;
    }
    this.body.push(Buffer.from(chunk));
    return true;
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    writeRawResponse(this.socket, this.status, this.fields, Buffer.concat(this.body));
  }

  cut(): void {
    if (this.done) return;
    this.done = true;
    this.events = null;
    this.socket.destroy();
  }

  pauseBody(): void {
    // An upgrade request has no body to hold back.
  }

  resumeBody(): void {
    // See pauseBody().
  }

  upgraded(head: ParsedHead<Buffer>, upstream: Socket, rest: Buffer, closed: () => void): void {
    const client = this.socket;
    if (this.done) {
      upstream.destroy();
      closed();
      return;
    }
    this.done = true;
    this.events = null;
    // The parser holds Upgrade and Connection back as hop-by-hop; the 101 needs them.
    const flat = flatFields(head, this.requestId);
    let text = 'HTTP/1.1 101 Switching Protocols\r\n';
    for (let i = 0; i + 1 < flat.length; i += 2) text += `${flat[i] as string}: ${flat[i + 1] as string}\r\n`;
    text += `upgrade: ${this.protocol}\r\nconnection: Upgrade\r\n\r\n`;
    client.write(text, 'latin1');
    if (rest.length > 0) client.write(rest);
    if (this.early.length > 0) upstream.write(this.early);
    this.tunnels.add(client);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.tunnels.delete(client);
      client.destroy();
      upstream.destroy();
      closed();
    };
    upstream.on('error', () => undefined);
    upstream.on('close', end);
    client.on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

function onUpgrade(
  core: GatewayCore,
  req: IncomingMessage,
  socket: Socket,
  early: Buffer,
  tunnels: Set<Socket>,
): void {
  const raw = req.rawHeaders;
  const headers: string[] = new Array<string>(raw.length);
  const hosts = copyHeaders(raw, headers);
  const incoming: IncomingRequest = {
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    host: req.headers.host ?? '',
    headers,
    clientIp: normalizeNodeAddress(socket.remoteAddress ?? ''),
    hasBody: false,
    chunked: false,
    upgrade: 'tunnel',
  };
  const ds = new NodeTunnelDownstream(socket, early, req.headers.upgrade ?? 'websocket', tunnels);
  const refusal = requestRefusal(hosts, incoming.path.length, 0);
  if (refusal === null) core.handle(incoming, ds);
  else core.refuse(incoming, ds, refusal);
}

/**
 * The whole header section must arrive within this (slowloris); node:http answers 408 and closes.
 * Close to uWS's ~10 s idle timeout, so both front ends cut a slow client alike.
 */
export const HEADERS_TIMEOUT_MS = 10_000;
/**
 * How often node:http checks headersTimeout (default 30 s, which would let a slowloris client
 * hold its connection for up to 40 s). One pass over the open connections a second is cheap.
 */
const CONNECTIONS_CHECK_MS = 1_000;
/**
 * An idle keep-alive client connection is closed after this (node's default). It stays above the
 * raw pool's 4 s upstream idle timeout, and keep-alive clients (undici: 4 s) give up first.
 */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;

export function startNode(core: GatewayCore, host: string, port: number): Promise<Frontend> {
  // requestTimeout 0: our own per-revision timers govern requests (node's would cut long queue
  // waits and long uploads); headersTimeout still bounds how long the head may take.
  const server = createServer(
    {
      requestTimeout: 0,
      headersTimeout: HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    },
    (req, res) => {
      onRequest(core, req, res);
    },
  );
  // Upgraded sockets leave the server's bookkeeping: close() ends them from this set.
  const tunnels = new Set<Socket>();
  server.on('upgrade', (req: IncomingMessage, socket: Socket, early: Buffer) => {
    onUpgrade(core, req, socket, early, tunnels);
  });
  return new Promise<Frontend>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      resolve({
        kind: 'node',
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => {
              done();
            });
            server.closeAllConnections();
            for (const t of tunnels) t.destroy();
          }),
      });
    });
  });
}
