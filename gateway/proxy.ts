// Upstream side: one undici Pool per replica (keep-alive, pipelining 1: perf-baseline §5 measured
// pipelining 4 at -20% with c=256, and it risks head-of-line blocking and unsafe retries), driven
// by dispatch() with the legacy handler API (perf-baseline §5: 10-25% cheaper than request(), raw
// header Buffers straight from the parser).
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { Endpoint } from '../controller/runtime.js';
import { RawPool } from './upstream/raw-pool.js';

/**
 * Which client carries proxied requests: 'raw' (default) is the hand-written keep-alive pool in
 * upstream/raw-pool.ts; 'undici' sends everything through undici. With 'raw', undici still
 * carries what the raw path does not cover (see exchange.ts Exchange.dispatchUpstream).
 */
export type UpstreamMode = 'raw' | 'undici';

/** Connections per replica when containerConcurrency is 0 (unlimited); requests beyond wait in undici. */
const DEFAULT_CONNECTIONS = 256;

export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();
  private readonly rawPools = new Map<string, RawPool>();

  /** The coarse clock as of the last sweep (new raw pools start from it). */
  private nowMs: number;

  constructor(
    readonly mode: UpstreamMode,
    nowMs: number,
  ) {
    this.nowMs = nowMs;
  }

  /** The raw pool for `endpoint`, created on first use; same connection cap as undici's. */
  getRaw(endpoint: Endpoint, containerConcurrency: number): RawPool {
    let pool = this.rawPools.get(endpoint.id);
    if (pool === undefined) {
      pool = new RawPool(
        endpoint,
        containerConcurrency > 0 ? containerConcurrency : DEFAULT_CONNECTIONS,
        this.nowMs,
      );
      this.rawPools.set(endpoint.id, pool);
    }
    return pool;
  }

  /** Coarse ticker: idle and connect timeouts of the raw pools. */
  sweep(nowMs: number): void {
    this.nowMs = nowMs;
    for (const pool of this.rawPools.values()) pool.sweep(nowMs);
  }

  /** The pool for `endpoint`, created on first use. */
  get(endpoint: Endpoint, containerConcurrency: number): Pool {
    let pool = this.pools.get(endpoint.id);
    if (pool === undefined) {
      const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
      pool = new Pool(`http://${host}:${endpoint.port}`, {
        connections: containerConcurrency > 0 ? containerConcurrency : DEFAULT_CONNECTIONS,
        pipelining: 1,
        // Our own coarse ticker enforces the revision's timeouts; undici's per-request ones stay off.
        headersTimeout: 0,
        bodyTimeout: 0,
        connectTimeout: 5_000,
      });
      this.pools.set(endpoint.id, pool);
    }
    return pool;
  }

  /** The replica left: let running requests finish, then close its sockets. */
  retire(endpointId: string): void {
    const raw = this.rawPools.get(endpointId);
    if (raw !== undefined) {
      this.rawPools.delete(endpointId);
      raw.retire();
    }
    const pool = this.pools.get(endpointId);
    if (pool === undefined) return;
    this.pools.delete(endpointId);
    pool.close().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    for (const raw of this.rawPools.values()) raw.destroyAll();
    this.rawPools.clear();
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((p) => p.destroy().catch(() => undefined)));
  }
}

/**
 * The request body as undici reads it: a Readable whose _read() asks the front end for more
 * (uWS resume()/node:http resume()); the front end pauses again when push() returns false.
 */
export class BodyStream extends Readable {
  constructor(private readonly pull: () => void) {
    super({ highWaterMark: 64 * 1024 });
  }
  override _read(): void {
    this.pull();
  }
}

export type DispatchHandler = Dispatcher.DispatchHandler;

export function dispatch(
  pool: Pool,
  method: string,
  path: string,
  headers: string[],
  body: BodyStream | null,
  handler: DispatchHandler,
): void {
  pool.dispatch(
    {
      path,
      method,
      headers,
      body,
      headersTimeout: 0,
      bodyTimeout: 0,
    },
    handler,
  );
}
