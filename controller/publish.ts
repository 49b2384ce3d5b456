// The snapshot publisher of cluster mode (lib/cluster-protocol.ts): the controller hands it the
// latest content, gateways and the autoscaler long-poll `GET /v1/snapshot?after=N` for it.
//
// - Latest-wins: only the newest content is kept; a burst of updates between two polls costs
//   one response (traefik's providers: publish, never queue).
// - Equal content keeps its version (Envoy skips an equal hash), so a reconcile that changed
//   nothing wakes nobody.
// - A poll is answered when the version differs from the poller's (go-control-plane); else it waits
//   until the timeout and gets 304. "Differs", not "greater": a restarted controller must not be
//   ignored by gateways that hold a higher number. Versions also start from the wall clock at
//   start-up, so they grow across restarts and the protocol's "version > N" holds for strict clients.
//
// SnapshotPublisher is the pure core (no I/O, no timers); serveSnapshot() is the node:http adapter.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SNAPSHOT_PATH, type ClusterSnapshot } from '../lib/cluster-protocol.js';
import { canonicalJson } from './api/validate.js';

/** Everything of a ClusterSnapshot but its version. */
export type SnapshotContent = Omit<ClusterSnapshot, 'version'>;

export interface Published {
  readonly snapshot: ClusterSnapshot;
  /** The snapshot as sent on the wire, serialized once per version, however many pollers. */
  readonly body: string;
}

export type PollAnswer = { readonly kind: 'send'; readonly published: Published } | { readonly kind: 'wait' };

/** A waiting poll; resolve() is called at most once, with the new snapshot or null on close. */
interface Waiter {
  readonly after: number;
  readonly resolve: (published: Published | null) => void;
}

export class SnapshotPublisher {
  private current: Published;
  private contentKey: string;
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  /** pre: firstVersion ≥ 1 (0 is what a poller that holds nothing sends). */
  constructor(firstVersion: number, content: SnapshotContent) {
    this.contentKey = canonicalJson(content) ?? '';
    this.current = publishedOf({ version: firstVersion, ...content });
  }

  get latest(): Published {
    return this.current;
  }

  /** Sets the content; true when it differs from the current one (a new version, waiters woken). */
  update(content: SnapshotContent): boolean {
    const key = canonicalJson(content) ?? '';
    if (key === this.contentKey) return false;
    this.contentKey = key;
    this.current = publishedOf({ version: this.current.snapshot.version + 1, ...content });
    for (const w of [...this.waiters]) {
      if (w.after !== this.current.snapshot.version) {
        this.waiters.delete(w);
        w.resolve(this.current);
      }
    }
    return true;
  }

  /** What a poll from a client that holds version `after` gets right now. */
  poll(after: number): PollAnswer {
    return after === this.current.snapshot.version
      ? { kind: 'wait' }
      : { kind: 'send', published: this.current };
  }

  /**
   * Calls `resolve` once: with the next snapshot whose version differs from `after`, or with null
   * when the publisher closes. Returns a cancel function (timeout, client gone) that drops the waiter.
   */
  wait(after: number, resolve: (published: Published | null) => void): () => void {
    const answer = this.poll(after);
    if (answer.kind === 'send') {
      resolve(answer.published);
      return () => undefined;
    }
    if (this.closed) {
      resolve(null);
      return () => undefined;
    }
    const waiter: Waiter = { after, resolve };
    this.waiters.add(waiter);
    return () => {
      this.waiters.delete(waiter);
    };
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /** close() was called: the controller is shutting down. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Answers every pending poll with null (the adapter sends 304) and refuses new waits. */
  close(): void {
    this.closed = true;
    for (const w of [...this.waiters]) w.resolve(null);
    this.waiters.clear();
  }
}

function publishedOf(snapshot: ClusterSnapshot): Published {
  return { snapshot, body: JSON.stringify(snapshot) };
}

// ---- query parsing (pure) ----------------------------------------------------------------------

/** Default and ceiling of `timeoutSeconds`: go-control-plane style polls stay well under proxies' idle limits. */
export const DEFAULT_POLL_TIMEOUT_SECONDS = 30;
export const MAX_POLL_TIMEOUT_SECONDS = 300;

export type PollQuery =
  | { readonly ok: true; readonly after: number; readonly timeoutMs: number }
  | { readonly ok: false; readonly message: string };

/** `after` (default 0) and `timeoutSeconds` (default 30, 0..300) from the query string. */
export function parsePollQuery(params: URLSearchParams): PollQuery {
  const afterRaw = params.get('after') ?? '0';
  const after = Number(afterRaw);
  if (afterRaw === '' || !Number.isSafeInteger(after) || after < 0) {
    return { ok: false, message: `after=${afterRaw}: want the version you hold, a whole number ≥ 0` };
  }
  const timeoutRaw = params.get('timeoutSeconds') ?? String(DEFAULT_POLL_TIMEOUT_SECONDS);
  const timeout = Number(timeoutRaw);
  if (timeoutRaw === '' || !Number.isFinite(timeout) || timeout < 0 || timeout > MAX_POLL_TIMEOUT_SECONDS) {
    return {
      ok: false,
      message: `timeoutSeconds=${timeoutRaw}: want seconds from 0 to ${MAX_POLL_TIMEOUT_SECONDS}`,
    };
  }
  return { ok: true, after, timeoutMs: Math.round(timeout * 1000) };
}

// ---- HTTP adapter --------------------------------------------------------------------------------

/**
 * Answers one `GET /v1/snapshot` request: 200 with the snapshot at once when the client is behind,
 * else 200 when it changes or 304 after the timeout (or when the publisher closes).
 */
export function serveSnapshot(publisher: SnapshotPublisher, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://controller.invalid');
  if (req.method !== 'GET') {
    send(res, 405, `snapshot: ${req.method ?? '?'} not allowed; use GET\n`, { allow: 'GET' });
    return;
  }
  const query = parsePollQuery(url.searchParams);
  if (!query.ok) {
    send(res, 400, `snapshot: ${query.message}\n`);
    return;
  }
  let timer: NodeJS.Timeout | null = null;
  let answered = false;
  let cancel: () => void = () => undefined;
  const isAnswered = (): boolean => answered;
  const finish = (published: Published | null): void => {
    if (answered) return;
    answered = true;
    if (timer !== null) clearTimeout(timer);
    cancel();
    if (res.destroyed) return;
    if (published === null) {
      // At shutdown, also end the connection: a keep-alive client would otherwise send its next
      // poll on a socket the server is about to cut, and see a reset instead of a refused connect.
      const closing = publisher.isClosed ? { connection: 'close' } : {};
      res.writeHead(304, { 'cache-control': 'no-store', ...closing }).end();
      return;
    }
    send(res, 200, published.body, {
      'content-type': 'application/json',
      'x-kedge-snapshot-version': String(published.snapshot.version),
    });
  };
  // Attach the close listener before waiting: a client that goes away leaves no waiter behind.
  res.on('close', () => {
    if (!answered) {
      answered = true;
      if (timer !== null) clearTimeout(timer);
      cancel();
    }
  });
  cancel = publisher.wait(query.after, finish);
  // wait() may have answered synchronously (the client is behind): then no timer.
  if (!isAnswered()) {
    timer = setTimeout(() => {
      finish(null);
    }, query.timeoutMs);
  }
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

export interface SnapshotServer {
  readonly port: number;
  /** Answers pending polls (304), stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Serves SNAPSHOT_PATH on host:port (0: a free port); every other path is 404. */
export async function startSnapshotServer(
  publisher: SnapshotPublisher,
  host: string,
  port: number,
): Promise<SnapshotServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === SNAPSHOT_PATH) serveSnapshot(publisher, req, res);
    else send(res, 404, `snapshot: no such path ${path ?? ''}; the controller serves ${SNAPSHOT_PATH}\n`);
  });
  server.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      publisher.close();
      return new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        // The 304s above are written; idle keep-alive connections must not hold the close.
        server.closeIdleConnections();
        setImmediate(() => {
          server.closeAllConnections();
        });
      });
    },
  };
}
