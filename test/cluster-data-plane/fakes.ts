// Tiny HTTP peers for the data plane's cluster protocol (lib/cluster-protocol.ts): a controller
// that serves snapshots by long-poll, and an autoscaler that records stats and pokes. Both listen
// on 127.0.0.1:0 and can be stopped and restarted on the same port. Waits are event-driven and
// bounded.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Endpoint, RevisionFailure } from '../../controller/runtime.js';
import type { State } from '../../controller/state.js';
import type { ClusterSnapshot, PokeRequest, StatsReport } from '../../lib/cluster-protocol.js';
import { POKE_PATH, SNAPSHOT_PATH, STATS_PATH } from '../../lib/cluster-protocol.js';

export interface SnapshotContent {
  readonly state: State;
  readonly endpoints?: Readonly<Record<string, readonly Endpoint[]>>;
  readonly draining?: readonly string[];
  readonly failures?: Readonly<Record<string, RevisionFailure>>;
}

/** Resolves when `check` holds, re-checked on every `notify()`; rejects after `timeoutMs`. */
export class Signal {
  private readonly waiters = new Set<() => void>();

  notify(): void {
    for (const w of [...this.waiters]) w();
  }

  async until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
    if (check()) return;
    await new Promise<void>((resolve, reject) => {
      const waiter = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}

async function listen(server: Server, port: number): Promise<number> {
  server.listen(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return (server.address() as AddressInfo).port;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections();
  });
}

export class FakeController {
  private snapshot: ClusterSnapshot;
  private server: Server | null = null;
  private readonly waiting = new Set<{ after: number; res: ServerResponse; timer: NodeJS.Timeout }>();
  /** Poll requests seen (each GET /v1/snapshot). */
  polls = 0;
  readonly changed = new Signal();
  port = 0;

  constructor(content: SnapshotContent, firstVersion = 1) {
    this.snapshot = toSnapshot(firstVersion, content);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get version(): number {
    return this.snapshot.version;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res);
    });
    this.server = server;
    this.port = await listen(server, this.port);
  }

  /** A new snapshot version; waiting polls are answered at once. */
  publish(content: SnapshotContent): void {
    this.snapshot = toSnapshot(this.snapshot.version + 1, content);
    for (const w of [...this.waiting]) {
      if (w.after !== this.snapshot.version) this.answer(w);
    }
  }

  /** Closes the port and every connection (a controller that went away). */
  async stop(): Promise<void> {
    for (const w of [...this.waiting]) {
      clearTimeout(w.timer);
      this.waiting.delete(w);
    }
    if (this.server !== null) await closeServer(this.server);
    this.server = null;
  }

  private answer(w: { after: number; res: ServerResponse; timer: NodeJS.Timeout }): void {
    clearTimeout(w.timer);
    this.waiting.delete(w);
    w.res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.snapshot));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://controller.invalid');
    if (url.pathname !== SNAPSHOT_PATH) {
      res.writeHead(404).end();
      return;
    }
    this.polls++;
    this.changed.notify();
    const after = Number(url.searchParams.get('after') ?? '0');
    const timeoutMs = Number(url.searchParams.get('timeoutSeconds') ?? '30') * 1000;
    const w = {
      after,
      res,
      timer: setTimeout(() => {
        this.waiting.delete(w);
        res.writeHead(304).end();
      }, timeoutMs),
    };
    this.waiting.add(w);
    res.on('close', () => {
      clearTimeout(w.timer);
      this.waiting.delete(w);
    });
    if (after !== this.snapshot.version) this.answer(w);
  }
}

function toSnapshot(version: number, c: SnapshotContent): ClusterSnapshot {
  return {
    version,
    state: c.state,
    endpoints: c.endpoints ?? {},
    draining: c.draining ?? [],
    failures: c.failures ?? {},
  };
}

export interface ReceivedReport extends StatsReport {
  readonly atMs: number;
}

export class FakeAutoscaler {
  readonly reports: ReceivedReport[] = [];
  readonly pokes: (PokeRequest & { atMs: number })[] = [];
  readonly received = new Signal();
  /** Answer this status instead of 204 (to test failures). */
  status = 204;
  private server: Server | null = null;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') as unknown;
        if (req.url === STATS_PATH) this.reports.push({ ...(body as StatsReport), atMs: Date.now() });
        else if (req.url === POKE_PATH) this.pokes.push({ ...(body as PokeRequest), atMs: Date.now() });
        res.writeHead(this.status).end();
        this.received.notify();
      });
    });
    this.server = server;
    this.port = await listen(server, this.port);
  }

  sources(): Set<string> {
    return new Set(this.reports.map((r) => r.source));
  }

  async stop(): Promise<void> {
    if (this.server !== null) await closeServer(this.server);
    this.server = null;
  }
}
