// Cluster mode: follows the controller's snapshots over HTTP (lib/cluster-protocol.ts), the way an
// Envoy follows an xDS server: a long-poll answered only when the version moves, full snapshots,
// and the last good one keeps serving while the controller is away. Errors restart the poll with
// capped exponential backoff and full jitter (kubernetes-client cache.ts restarts the same way).
// Used by `kedge gateway` and `kedge autoscaler`; it holds no cluster credentials.
import { Pool } from 'undici';
import type { ClusterSnapshot } from '../lib/cluster-protocol.js';
import { SNAPSHOT_PATH } from '../lib/cluster-protocol.js';
import type { Logger } from '../lib/log.js';

/** go-control-plane style: the controller holds the poll this long before answering 304. */
export const DEFAULT_POLL_TIMEOUT_S = 30;
const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 5_000;
/** Slack on top of the poll timeout before we give up on an answer ourselves. */
const POLL_SLACK_MS = 10_000;

export interface FollowerOptions {
  /** http://controller:8081 */
  readonly controllerUrl: string;
  readonly logger: Logger;
  /** Called with every snapshot whose version differs from the last one, in order, never concurrently. */
  readonly onSnapshot: (snapshot: ClusterSnapshot) => void;
  readonly pollTimeoutSeconds?: number;
  readonly random?: () => number;
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
}

/**
 * Full-jitter backoff (AWS architecture blog "Exponential Backoff And Jitter"): a uniform pick in
 * [0, min(max, base·2^attempt)), so that many gateways that lost the controller together do not
 * come back together. pre: attempt >= 0, random() in [0, 1).
 * Example: base 100, attempt 3 → a delay in [0, 800) ms.
 */
export function backoffDelayMs(attempt: number, random: () => number, baseMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}

/** Thrown for a body that is not a ClusterSnapshot; the follower logs it and retries. */
export class SnapshotFormatError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SnapshotFormatError';
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks the shape a consumer relies on at the trust boundary (not every field of every
 * revision: the controller built them from validated objects).
 */
export function parseSnapshot(body: unknown): ClusterSnapshot {
  if (!isRecord(body)) throw new SnapshotFormatError('snapshot: not a JSON object');
  const { version, state, endpoints, draining, failures } = body;
  if (typeof version !== 'number' || !Number.isFinite(version)) {
    throw new SnapshotFormatError('snapshot: version is not a number');
  }
  if (
    !isRecord(state) ||
    typeof state['version'] !== 'number' ||
    !Array.isArray(state['revisions']) ||
    !Array.isArray(state['routes']) ||
    !isRecord(state['autoscalerConfig'])
  ) {
    throw new SnapshotFormatError('snapshot: state needs version, revisions, routes, autoscalerConfig');
  }
  if (!isRecord(endpoints) || !Object.values(endpoints).every(Array.isArray)) {
    throw new SnapshotFormatError('snapshot: endpoints is not a map of arrays');
  }
  if (!Array.isArray(draining) || !draining.every((d) => typeof d === 'string')) {
    throw new SnapshotFormatError('snapshot: draining is not a list of endpoint ids');
  }
  if (!isRecord(failures)) throw new SnapshotFormatError('snapshot: failures is not an object');
  return body as unknown as ClusterSnapshot;
}

export class SnapshotFollower {
  private readonly pool: Pool;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly pollTimeoutS: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private version = 0;
  private current: ClusterSnapshot | null = null;
  private stopped = false;
  private running: Promise<void> | null = null;
  private abort: AbortController | null = null;
  private wakeBackoff: (() => void) | null = null;
  /** Failures since the last answer; drives the backoff and keeps the log quiet. */
  private failures = 0;

  constructor(private readonly options: FollowerOptions) {
    this.logger = options.logger.child({ part: 'snapshot-follower' });
    this.random = options.random ?? Math.random;
    this.pollTimeoutS = options.pollTimeoutSeconds ?? DEFAULT_POLL_TIMEOUT_S;
    this.baseMs = options.backoffBaseMs ?? BACKOFF_BASE_MS;
    this.maxMs = options.backoffMaxMs ?? BACKOFF_MAX_MS;
    this.pool = new Pool(new URL(options.controllerUrl).origin, {
      connections: 1,
      headersTimeout: this.pollTimeoutS * 1000 + POLL_SLACK_MS,
      bodyTimeout: POLL_SLACK_MS,
    });
  }

  /** The last snapshot received; null before the first. */
  get snapshot(): ClusterSnapshot | null {
    return this.current;
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wakeBackoff?.();
    await this.running;
    await this.pool.close().catch(() => undefined);
  }

  /** Read through a call: stop() flips the flag while the loop awaits. */
  private isStopped(): boolean {
    return this.stopped;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        const snapshot = await this.pollOnce();
        if (this.failures > 0) {
          this.logger.info('controller reachable again', { afterFailures: this.failures });
        }
        this.failures = 0;
        // "Differs", not "greater": a restarted controller may hold a lower number (controller/publish.ts).
        if (snapshot !== null && snapshot.version !== this.version) {
          this.version = snapshot.version;
          this.current = snapshot;
          this.options.onSnapshot(snapshot);
        }
      } catch (err) {
        if (this.isStopped()) break;
        this.failures++;
        const message = err instanceof Error ? err.message : String(err);
        // The first failure is news; repeats are logged at debug so a long outage is not a flood.
        const fields = {
          controller: this.options.controllerUrl,
          error: message,
          failures: this.failures,
          version: this.version,
        };
        if (this.failures === 1) this.logger.warn('snapshot poll failed; serving the last snapshot', fields);
        else this.logger.debug('snapshot poll failed', fields);
        await this.sleep(backoffDelayMs(this.failures - 1, this.random, this.baseMs, this.maxMs));
      }
    }
  }

  /** One long-poll: the new snapshot, or null when the controller answered 304 (no change). */
  private async pollOnce(): Promise<ClusterSnapshot | null> {
    const abort = new AbortController();
    this.abort = abort;
    try {
      const res = await this.pool.request({
        method: 'GET',
        path: `${SNAPSHOT_PATH}?after=${this.version}&timeoutSeconds=${this.pollTimeoutS}`,
        headers: { accept: 'application/json' },
        signal: abort.signal,
      });
      if (res.statusCode === 304) {
        await res.body.dump();
        return null;
      }
      if (res.statusCode !== 200) {
        const text = (await res.body.text()).slice(0, 200);
        throw new Error(`GET ${SNAPSHOT_PATH}: HTTP ${res.statusCode} ${text}`);
      }
      return parseSnapshot(await res.body.json());
    } finally {
      this.abort = null;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeBackoff = () => {
        this.wakeBackoff = null;
        done();
      };
    });
  }
}
