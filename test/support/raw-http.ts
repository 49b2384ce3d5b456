// Exact bytes over a TCP socket (node:net), for requests an HTTP client library refuses to send,
// and a small HTTP/1.1 response parser that reports every response on the connection and whether
// the server closed it. Also a minimal RFC 6455 WebSocket client over the same kind of socket.
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly reason: string;
  /** Lowercase names, in order; repeated names kept. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
}

export interface RawResult {
  readonly responses: readonly RawResponse[];
  /** The server closed (FIN or RST) before we gave up. */
  readonly closed: boolean;
  /** ms from connect to close (or to giving up). */
  readonly ms: number;
  readonly raw: Buffer;
  /** Socket error code, if any (ECONNRESET ...). */
  readonly error: string;
}

export function header(res: RawResponse, name: string): string | undefined {
  return res.headers.find(([n]) => n === name)?.[1];
}

/** A response head (status line and fields, without the final CRLF CRLF). */
export function parseHead(text: string): { status: number; headers: [string, string][] } {
  const lines = text.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return { status, headers };
}

/**
 * Parses as many complete responses as `buf` holds. Bodies: Content-Length, chunked, or (when
 * `closed`) up to the end. HEAD-less: every response is assumed to have its body.
 */
export function parseResponses(buf: Buffer, closed: boolean): RawResponse[] {
  const out: RawResponse[] = [];
  let off = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', off);
    if (end < 0) return out;
    const head = buf.subarray(off, end).toString('latin1').split('\r\n');
    const statusLine = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(head[0] ?? '');
    if (statusLine === null) return out;
    const status = Number(statusLine[1]);
    const headers: [string, string][] = [];
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
    }
    let p = end + 4;
    const get = (n: string): string | undefined => headers.find(([k]) => k === n)?.[1];
    const cl = get('content-length');
    let body: string;
    if (status === 101 || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      body = '';
    } else if (get('transfer-encoding')?.toLowerCase().includes('chunked') === true) {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', p);
        if (lineEnd < 0) return out;
        const size = parseInt(buf.subarray(p, lineEnd).toString('latin1'), 16);
        if (Number.isNaN(size)) return out;
        p = lineEnd + 2;
        if (size === 0) {
          const trailerEnd = buf.indexOf('\r\n', p);
          if (trailerEnd < 0) return out;
          p = trailerEnd + 2;
          break;
        }
        if (buf.length < p + size + 2) return out;
        parts.push(buf.subarray(p, p + size));
        p += size + 2;
      }
      body = Buffer.concat(parts).toString('latin1');
    } else if (cl !== undefined) {
      const n = Number(cl);
      if (buf.length < p + n) return out;
      body = buf.subarray(p, p + n).toString('latin1');
      p += n;
    } else if (closed) {
      body = buf.subarray(p).toString('latin1');
      p = buf.length;
    } else return out;
    out.push({ status, reason: statusLine[2] ?? '', headers, body });
    off = p;
  }
}

export interface RawOptions {
  /** Give up (and destroy the socket) after this long; default 5000 ms. */
  readonly timeoutMs?: number;
  /** Resolve as soon as this many complete responses arrived (the socket is destroyed then). */
  readonly responses?: number;
}

/** Connects, writes `data` (all at once), collects what comes back until close, `responses` or timeout. */
export function rawExchange(port: number, data: string | Buffer, o: RawOptions = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let error = '';
    let settled = false;
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      resolve({
        responses: parseResponses(raw, closed),
        closed,
        ms: performance.now() - started,
        raw,
        error,
      });
    };
    const timer = setTimeout(() => {
      finish(false);
    }, o.timeoutMs ?? 5_000);
    socket.on('connect', () => {
      socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
    });
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (o.responses !== undefined && parseResponses(Buffer.concat(chunks), false).length >= o.responses) {
        finish(false);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
    });
    socket.on('close', () => {
      finish(true);
    });
  });
}

/** Opens a socket and resolves once connected (for idle-connection and slowloris tests). */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

// ---- WebSocket (RFC 6455), client side ----

export interface WsMessage {
  readonly opcode: number;
  readonly data: Buffer;
}

export interface WsClient {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  send(text: string): void;
  /** Resolves with the next data frame from the server; rejects after timeoutMs or on close. */
  next(timeoutMs: number): Promise<WsMessage>;
  readonly closed: boolean;
  /** Sends a close frame and waits (bounded) for the server's. */
  close(): Promise<void>;
  destroy(): void;
}

function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + 4);
  head[0] = 0x80 | opcode;
  if (ext === 0) head[1] = 0x80 | len;
  else if (ext === 2) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = randomBytes(4);
  mask.copy(head, 2 + ext);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] = (body[i] ?? 0) ^ (mask[i % 4] ?? 0);
  return Buffer.concat([head, body]);
}

/**
 * Opens a WebSocket through `port` with the given Host. Resolves after the handshake response,
 * whatever its status (a non-101 answer resolves with that status and a closed client).
 */
export function openWebSocket(port: number, host: string, path = '/', timeoutMs = 5_000): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const socket = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let handshaken = false;
    let closed = false;
    const frames: WsMessage[] = [];
    const waiters: { resolve: (m: WsMessage) => void; reject: (e: Error) => void }[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`WebSocket handshake: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const deliver = (): void => {
      while (frames.length > 0 && waiters.length > 0) {
        const f = frames.shift();
        const w = waiters.shift();
        if (f !== undefined && w !== undefined) w.resolve(f);
      }
      if (closed) for (const w of waiters.splice(0)) w.reject(new Error('WebSocket closed'));
    };
    const parseFrames = (): void => {
      for (;;) {
        if (buf.length < 2) return;
        const opcode = (buf[0] ?? 0) & 0x0f;
        let len = (buf[1] ?? 0) & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        if (buf.length < off + len) return;
        frames.push({ opcode, data: Buffer.from(buf.subarray(off, off + len)) });
        buf = buf.subarray(off + len);
      }
    };
    const client: WsClient = {
      status: 0,
      headers: [],
      send: (text) => {
        socket.write(maskedFrame(0x1, Buffer.from(text)));
      },
      next: (ms) =>
        new Promise<WsMessage>((res, rej) => {
          const t = setTimeout(() => {
            const i = waiters.findIndex((w) => w.resolve === wrapped);
            if (i >= 0) waiters.splice(i, 1);
            rej(new Error(`no WebSocket message within ${ms} ms`));
          }, ms);
          const wrapped = (m: WsMessage): void => {
            clearTimeout(t);
            res(m);
          };
          waiters.push({
            resolve: wrapped,
            reject: (e) => {
              clearTimeout(t);
              rej(e);
            },
          });
          deliver();
        }),
      get closed() {
        return closed;
      },
      close: async () => {
        if (closed) return;
        socket.write(maskedFrame(0x8, Buffer.from([0x03, 0xe8])));
        await new Promise<void>((res) => {
          const t = setTimeout(() => {
            socket.destroy();
            res();
          }, 2_000);
          socket.once('close', () => {
            clearTimeout(t);
            res();
          });
        });
      },
      destroy: () => {
        socket.destroy();
      },
    };
    socket.on('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (!handshaken) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        handshaken = true;
        clearTimeout(timer);
        const head = parseHead(buf.subarray(0, end).toString('latin1'));
        buf = buf.subarray(end + 4);
        const { status, headers } = head;
        const accept = headers.find(([n]) => n === 'sec-websocket-accept')?.[1];
        const want = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        Object.assign(client, { status: status === 101 && accept !== want ? -101 : status, headers });
        if (status !== 101) socket.destroy();
        resolve(client);
      }
      parseFrames();
      deliver();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      if (!handshaken) reject(new Error('WebSocket: connection closed before the handshake answer'));
      deliver();
    });
  });
}
