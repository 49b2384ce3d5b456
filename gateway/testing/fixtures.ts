// Shared fixtures for gateway tests: State builders (rows show only what they change), a
// recording StatsSink, backends on 127.0.0.1:0 and a small HTTP client.
import { request as httpRequest, createServer } from 'node:http';
import type { Agent, IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { connect as netConnect, createServer as createNetServer } from 'node:net';
import type { Socket } from 'node:net';
import type { Endpoint } from '../../controller/runtime.js';
import type { RevisionSpec, Route, State } from '../../controller/state.js';
import type { RevisionStat, StatsSink } from '../../lib/stats.js';
import { closePayload, encodeFrame, FrameDecoder, Opcode } from '../upstream/ws-frames.js';

export const NS = 'default';

export function rev(name: string, o: Partial<RevisionSpec> = {}): RevisionSpec {
  return {
    key: `${NS}/${name}`,
    name,
    namespace: NS,
    service: name.replace(/-\d+$/, ''),
    generation: 1,
    container: { image: 'x', command: [], args: [], workingDir: '', env: [], port: 8080 },
    containerConcurrency: 0,
    timeoutSeconds: 30,
    responseStartTimeoutSeconds: null,
    idleTimeoutSeconds: null,
    queueTimeoutSeconds: 30,
    annotations: {},
    createdAt: '2026-01-01T00:00:00Z',
    ...o,
  };
}

export function route(
  host: string,
  splits: readonly (readonly [string, number])[],
  service = 'hello',
): Route {
  return {
    host,
    namespace: NS,
    service,
    tag: null,
    splits: splits.map(([name, percent]) => ({ revision: `${NS}/${name}`, percent })),
  };
}

let version = 0;
export function stateOf(revisions: readonly RevisionSpec[], routes: readonly Route[]): State {
  return { version: ++version, revisions, routes, autoscalerConfig: {} };
}

export class RecordingStats implements StatsSink {
  readonly pokes: string[] = [];
  readonly records: (readonly RevisionStat[])[] = [];
  record(_source: string, stats: readonly RevisionStat[]): void {
    this.records.push(stats);
  }
  poke(revision: string): void {
    this.pokes.push(revision);
  }
}

export interface Backend {
  readonly port: number;
  readonly server: Server;
  endpoint(id: string): Endpoint;
  close(): Promise<void>;
}

export async function startBackend(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Backend> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    server,
    endpoint: (id) => ({ id, host: '127.0.0.1', port }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

/** A port nothing listens on (bound, then closed). */
export async function deadPort(): Promise<number> {
  const b = await startBackend(() => undefined);
  await b.close();
  return b.port;
}

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: Buffer;
  readonly reusedSocket: boolean;
}

export interface SendOptions {
  readonly method?: string;
  readonly path?: string;
  readonly host?: string;
  readonly headers?: Record<string, string | string[]>;
  readonly body?: Buffer | ((write: (chunk: Buffer) => void) => void);
  readonly agent?: Agent | false;
  readonly timeoutMs?: number;
}

/** One request to the gateway on 127.0.0.1; rejects on socket errors and after timeoutMs (default 5 s). */
export function send(port: number, o: SendOptions = {}): Promise<Reply> {
  return new Promise<Reply>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: o.method ?? 'GET',
        path: o.path ?? '/',
        headers: { host: o.host ?? 'hello.default.example.com', ...o.headers },
        agent: o.agent ?? false,
        setHost: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks),
            reusedSocket: req.reusedSocket,
          });
        });
        res.on('error', reject);
        res.on('aborted', () => {
          reject(new Error('response aborted'));
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error('test request timed out'));
    }, o.timeoutMs ?? 5_000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    const body = o.body;
    if (body === undefined) req.end();
    else if (typeof body === 'function') {
      body((chunk) => {
        if (chunk.length === 0) req.end();
        else req.write(chunk);
      });
    } else req.end(body);
  });
}

/** Polls `cond` every 5 ms, at most `limitMs`; rejects with `what` when it never holds. */
export async function until(what: string, cond: () => boolean, limitMs = 3_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A seeded PRNG (mulberry32) for deterministic splits and picks. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RawBackend {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: () => number;
  endpoint(id: string): Endpoint;
  close(): Promise<void>;
}

/**
 * A backend on a bare `net` server, for responses node:http will not produce (close-delimited,
 * HTTP/1.0, malformed, a reset before any byte). `onRequest` gets each request head as text and
 * its index on that connection (0 = first); request bodies are not read.
 */
export async function startRawBackend(
  onRequest: (socket: Socket, head: string, indexOnConnection: number) => void,
): Promise<RawBackend> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = '';
    let index = 0;
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      let end = buffered.indexOf('\r\n\r\n');
      while (end >= 0) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        onRequest(socket, head, index++);
        end = buffered.indexOf('\r\n\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    connections: () => connections,
    endpoint: (id) => ({ id, host: '127.0.0.1', port }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

const allocBuffer = (n: number): Buffer => Buffer.allocUnsafe(n);

export interface WsFrame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
}

export interface WsEchoBackend extends Backend {
  /** Sec-WebSocket-Extensions of the last upgrade ('' when absent). */
  readonly lastExtensions: () => string;
}

/**
 * A WebSocket echo replica on node:http's 'upgrade' event with the gateway's frame codec. It
 * echoes data frames as they come, answers pings, and on the text 'fragments' sends one message
 * in three frames, on 'close-me' a Close 4000 'bye'. `/refuse` answers 403.
 */
export async function startWsEchoBackend(): Promise<WsEchoBackend> {
  const backend = await startBackend((_req, res) => res.end('plain'));
  const upgraded = new Set<Socket>();
  let lastExtensions = '';
  backend.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => undefined);
    if (req.url === '/refuse') {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 7\r\nconnection: close\r\n\r\nrefused');
      return;
    }
    upgraded.add(socket);
    socket.on('close', () => upgraded.delete(socket));
    lastExtensions = req.headers['sec-websocket-extensions'] ?? '';
    const accept = createHash('sha1')
      .update(`${req.headers['sec-websocket-key'] ?? ''}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    const protocol = (req.headers['sec-websocket-protocol'] ?? '').split(',')[0]?.trim() ?? '';
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n` +
        (protocol === '' ? '' : `sec-websocket-protocol: ${protocol}\r\n`) +
        '\r\n',
    );
    const out = (opcode: number, payload: Uint8Array, fin = true): void => {
      socket.write(encodeFrame(allocBuffer, opcode, payload, fin, null));
    };
    const decoder = new FrameDecoder<Buffer>(
      {
        onFrame: (fin, opcode, payload) => {
          const text = opcode === Opcode.Text ? payload.toString() : '';
          if (opcode === Opcode.Close)
            socket.end(encodeFrame(allocBuffer, Opcode.Close, payload, true, null));
          else if (opcode === Opcode.Ping) out(Opcode.Pong, payload);
          else if (text === 'close-me') out(Opcode.Close, closePayload(4000, Buffer.from('bye')));
          else if (text === 'stop-reading') {
            // A replica that stops reading: what the gateway sends it piles up in between.
            out(Opcode.Text, payload);
            socket.pause();
          } else if (text === 'fragments') {
            out(Opcode.Text, Buffer.from('frag'), false);
            out(Opcode.Continuation, Buffer.from('men'), false);
            out(Opcode.Continuation, Buffer.from('ts'), true);
          } else if (opcode !== Opcode.Pong) out(opcode, payload, fin);
        },
      },
      allocBuffer,
      64 << 20,
    );
    if (head.length > 0) decoder.push(head);
    socket.on('data', (c: Buffer) => decoder.push(c));
  });
  return {
    ...backend,
    lastExtensions: () => lastExtensions,
    close: () => {
      for (const s of upgraded) s.destroy();
      return backend.close();
    },
  };
}

export interface WsClient {
  readonly status: number;
  /** The response head as text (status line and fields). */
  readonly head: string;
  /** A refused upgrade's body. */
  readonly body: () => string;
  send(opcode: number, payload: Buffer | string): void;
  /** The next frame from the gateway; rejects after `timeoutMs`. */
  next(timeoutMs?: number): Promise<WsFrame>;
  readonly closed: Promise<void>;
  destroy(): void;
}

/** Opens a WebSocket through the gateway with a raw socket (client frames masked). */
export function openWebSocket(
  port: number,
  o: { path?: string; host?: string; protocol?: string; extensions?: string; timeoutMs?: number } = {},
): Promise<WsClient> {
  return new Promise<WsClient>((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1');
    const frames: WsFrame[] = [];
    const waiters: ((f: WsFrame) => void)[] = [];
    const decoder = new FrameDecoder<Buffer>(
      {
        onFrame: (fin, opcode, payload) => {
          const f = { fin, opcode, payload };
          const w = waiters.shift();
          if (w !== undefined) w(f);
          else frames.push(f);
        },
      },
      allocBuffer,
      64 << 20,
    );
    let buffered = Buffer.alloc(0);
    let client: WsClient | null = null;
    let refusal = '';
    const closed = new Promise<void>((r) =>
      socket.on('close', () => {
        r();
      }),
    );
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('WebSocket handshake timed out'));
    }, o.timeoutMs ?? 5_000);
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      socket.write(
        `GET ${o.path ?? '/'} HTTP/1.1\r\nhost: ${o.host ?? 'hello.default.example.com'}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n` +
          `sec-websocket-key: ${randomBytes(16).toString('base64')}\r\nsec-websocket-version: 13\r\n` +
          (o.protocol === undefined ? '' : `sec-websocket-protocol: ${o.protocol}\r\n`) +
          (o.extensions === undefined ? '' : `sec-websocket-extensions: ${o.extensions}\r\n`) +
          '\r\n',
      );
    });
    socket.on('data', (chunk: Buffer) => {
      if (client !== null) {
        if (client.status === 101) decoder.push(chunk);
        else refusal += chunk.toString('latin1');
        return;
      }
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      const head = buffered.subarray(0, end).toString('latin1');
      const rest = buffered.subarray(end + 4);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? '0');
      const mask = Buffer.alloc(4);
      client = {
        status,
        head,
        body: () => refusal,
        send: (opcode, payload) => {
          randomBytes(4).copy(mask);
          socket.write(
            encodeFrame(
              allocBuffer,
              opcode,
              typeof payload === 'string' ? Buffer.from(payload) : payload,
              true,
              mask,
            ),
          );
        },
        next: (timeoutMs = 3_000) =>
          new Promise<WsFrame>((res, rej) => {
            const f = frames.shift();
            if (f !== undefined) {
              res(f);
              return;
            }
            const t = setTimeout(() => {
              rej(new Error('no WebSocket frame in time'));
            }, timeoutMs);
            waiters.push((frame) => {
              clearTimeout(t);
              res(frame);
            });
          }),
        closed,
        destroy: () => socket.destroy(),
      };
      if (status === 101) decoder.push(rest);
      else refusal += rest.toString('latin1');
      resolve(client);
    });
  });
}
