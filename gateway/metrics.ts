// Gateway metrics on the caller's prom-client registry. Per request the hot path only adds to
// plain numbers (request counts by class, the duration histogram's buckets); they reach the
// exposition at scrape time, as do the gauges (DESIGN.md "Metrics").
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { RevisionKey } from '../controller/state.js';
import { BucketHistogram } from './bucket-histogram.js';
import type { GatewayErrorCode } from './errors.js';

export interface RevisionLoadSample {
  readonly key: RevisionKey;
  readonly namespace: string;
  readonly name: string;
  readonly inFlight: number;
  readonly queued: number;
}

/** Index by status / 100; 0 holds requests the client abandoned before a status was sent. */
const CODE_CLASSES = ['aborted', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/**
 * Per-revision request counts by status class. The hot path adds to plain numbers; they reach
 * prom-client at scrape time (prom-client hashes a child's labels on every inc(), even a cached
 * child's: ~1 % of the proxy's CPU at c=64).
 */
export class RevisionCounters {
  private readonly pending = new Float64Array(CODE_CLASSES.length);
  private readonly byClass: (Counter.Internal | undefined)[] = [];
  constructor(
    private readonly counter: Counter<'namespace' | 'revision' | 'code_class'>,
    private readonly namespace: string,
    private readonly revision: string,
  ) {}
  inc(status: number): void {
    const i = status >= 100 && status < 600 ? Math.floor(status / 100) : 0;
    this.pending[i] = (this.pending[i] ?? 0) + 1;
  }
  /** Moves the pending counts into the counter (its collect() calls this). */
  flush(): void {
    const pending = this.pending;
    for (let i = 0; i < pending.length; i++) {
      const n = pending[i] ?? 0;
      if (n === 0) continue;
      pending[i] = 0;
      let child = this.byClass[i];
      if (child === undefined) {
        child = this.counter.labels(this.namespace, this.revision, CODE_CLASSES[i] ?? 'aborted');
        this.byClass[i] = child;
      }
      child.inc(n);
    }
  }
}

export class GatewayMetrics {
  readonly requests: Counter<'namespace' | 'revision' | 'code_class'>;
  private readonly errors: Counter<'code'>;
  private readonly errorChildren = new Map<GatewayErrorCode, Counter.Internal>();
  private readonly duration: BucketHistogram;
  private readonly coldStarts: Counter<'namespace' | 'revision'>;
  private readonly coldStartSeconds: Histogram;
  private readonly revisionCounters = new Map<string, RevisionCounters>();

  /**
   * `accessLogDropped`: access-log records dropped since the last call (ring full or sink behind),
   * read at scrape time.
   */
  constructor(
    registry: Registry,
    load: () => Iterable<RevisionLoadSample>,
    accessLogDropped: () => number = () => 0,
  ) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'kedge_requests_total',
      help: 'Requests answered by the gateway, by revision and status class',
      labelNames: ['namespace', 'revision', 'code_class'] as const,
      registers,
      collect: () => {
        for (const rc of this.revisionCounters.values()) rc.flush();
      },
    });
    this.errors = new Counter({
      name: 'kedge_request_errors_total',
      help: 'Requests the gateway answered with its own error, by KEDGE_* code',
      labelNames: ['code'] as const,
      registers,
    });
    this.duration = new BucketHistogram(
      'kedge_request_duration_seconds',
      'Time from request arrival to the end of the response, queue wait included',
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    );
    this.coldStarts = new Counter({
      name: 'kedge_cold_starts_total',
      help: 'Requests that found a revision at zero replicas and started a cold start',
      labelNames: ['namespace', 'revision'] as const,
      registers,
    });
    this.coldStartSeconds = new Histogram({
      name: 'kedge_cold_start_seconds',
      help: 'From arrival of the request that found a revision at zero to its first byte sent upstream',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    const dropped = new Counter({
      name: 'kedge_access_log_dropped_total',
      help: 'Access-log lines dropped because the buffer was full or the writer was behind',
      registers,
      collect: () => {
        const n = accessLogDropped();
        if (n > 0) dropped.inc(n);
      },
    });
    const inFlight = new Gauge({
      name: 'kedge_revision_in_flight',
      help: 'Requests proxied to a replica right now, per revision',
      labelNames: ['namespace', 'revision'] as const,
      registers,
      collect: () => {
        inFlight.reset();
        for (const s of load()) inFlight.labels(s.namespace, s.name).set(s.inFlight);
      },
    });
    const queueDepth = new Gauge({
      name: 'kedge_revision_queue_depth',
      help: 'Requests waiting for capacity in the activator queue, per revision',
      labelNames: ['namespace', 'revision'] as const,
      registers,
      collect: () => {
        queueDepth.reset();
        for (const s of load()) queueDepth.labels(s.namespace, s.name).set(s.queued);
      },
    });
  }

  /** One per revision, shared by its runtimes over time (label children live as long anyway). */
  forRevision(namespace: string, name: string): RevisionCounters {
    const key = `${namespace}/${name}`;
    let rc = this.revisionCounters.get(key);
    if (rc === undefined) {
      rc = new RevisionCounters(this.requests, namespace, name);
      this.revisionCounters.set(key, rc);
    }
    return rc;
  }

  error(code: GatewayErrorCode): void {
    let child = this.errorChildren.get(code);
    if (child === undefined) {
      child = this.errors.labels(code);
      this.errorChildren.set(code, child);
    }
    child.inc();
  }

  observeDuration(seconds: number): void {
    this.duration.observe(seconds);
  }

  coldStart(namespace: string, name: string): void {
    this.coldStarts.labels(namespace, name).inc();
  }

  observeColdStart(seconds: number): void {
    this.coldStartSeconds.observe(seconds);
  }
}
