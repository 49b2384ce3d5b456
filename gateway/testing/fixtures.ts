// Shared fixtures for gateway tests: State builders (rows show only what they change), a
// recording StatsSink, backends on 127.0.0.1:0 and a small HTTP client.
import { request as httpRequest, createServer } from 'node:http';
import type { Agent, IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Endpoint } from '../../controller/runtime.js';
import type { RevisionSpec, Route, State } from '../../controller/state.js';
import type { RevisionStat, StatsSink } from '../../lib/stats.js';

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
