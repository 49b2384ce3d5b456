// `kedge gateway`: the edge process of cluster mode. It holds no cluster credentials: it follows
// the controller's snapshots (routes, revisions, ready pods, draining pods, failures), routes to a
// pod only after probing it itself, and reports load to the autoscaler (DESIGN.md "Processes").
import { Gauge, type Registry } from 'prom-client';
import type { Endpoint, RevisionFailure } from '../controller/runtime.js';
import type { RevisionKey } from '../controller/state.js';
import type { ClusterSnapshot } from '../lib/cluster-protocol.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import { SnapshotFollower } from './cluster-follower.js';
import { EndpointProber, type ProbeFn } from './cluster-prober.js';
import { StatsForwarder } from './cluster-stats-forwarder.js';
import { Gateway, type GatewayOptions } from './gateway.js';

export interface ClusterGatewayOptions {
  readonly controllerUrl: string;
  readonly autoscalerUrl: string;
  /** This replica's name in stats reports (POD_NAME). */
  readonly source: string;
  readonly host: string;
  readonly port: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly frontend?: GatewayOptions['frontend'];
  readonly pollTimeoutSeconds?: number;
  readonly probeIntervalMs?: number;
  readonly probeTimeoutMs?: number;
  readonly probe?: ProbeFn;
  readonly reportPeriodMs?: number;
}

const NO_ENDPOINTS: readonly Endpoint[] = Object.freeze([]);
const IDLE_POLL_MS = 50;

function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  return a.every((ep, i) => {
    const o = b[i];
    return o !== undefined && o.id === ep.id && o.host === ep.host && o.port === ep.port;
  });
}

function sameFailure(a: RevisionFailure | undefined, b: RevisionFailure | undefined): boolean {
  return a?.reason === b?.reason && a?.message === b?.message;
}

export class ClusterGateway {
  private last: ClusterSnapshot | null = null;
  private draining: ReadonlySet<string> = new Set();
  /**
   * Endpoints that left the routable set while requests were on them: reported until idle, so
   * a pod the autoscaler drains is seen through to its last request even if it left routing
   * before its `draining` entry arrived.
   */
  private readonly leaving = new Set<string>();
  /** What the gateway was last told per revision (to see which endpoints left). */
  private readonly routed = new Map<RevisionKey, readonly Endpoint[]>();
  private stopping = false;

  private constructor(
    readonly gateway: Gateway,
    private readonly follower: SnapshotFollower,
    private readonly prober: EndpointProber,
    private readonly forwarder: StatsForwarder,
    private readonly logger: Logger,
  ) {}

  static async start(o: ClusterGatewayOptions): Promise<ClusterGateway> {
    const logger = o.logger;
    const late: { cg?: ClusterGateway } = {};
    const forwarder = new StatsForwarder({
      autoscalerUrl: o.autoscalerUrl,
      source: o.source,
      logger,
      inFlight: () => late.cg?.inFlight() ?? {},
      ...(o.reportPeriodMs === undefined ? {} : { periodMs: o.reportPeriodMs }),
    });
    const gateway = await Gateway.start({
      host: o.host,
      port: o.port,
      clock: o.clock,
      stats: forwarder,
      logger,
      registry: o.registry,
      source: o.source,
      ...(o.frontend === undefined ? {} : { frontend: o.frontend }),
    });
    const prober = new EndpointProber({
      clock: o.clock,
      onRoutable: (revision, endpoints) => {
        late.cg?.routable(revision, endpoints);
      },
      ...(o.probeIntervalMs === undefined ? {} : { intervalMs: o.probeIntervalMs }),
      ...(o.probeTimeoutMs === undefined ? {} : { timeoutMs: o.probeTimeoutMs }),
      ...(o.probe === undefined ? {} : { probe: o.probe }),
    });
    const follower = new SnapshotFollower({
      controllerUrl: o.controllerUrl,
      logger,
      onSnapshot: (snapshot) => {
        late.cg?.apply(snapshot);
      },
      ...(o.pollTimeoutSeconds === undefined ? {} : { pollTimeoutSeconds: o.pollTimeoutSeconds }),
    });
    const cg = new ClusterGateway(gateway, follower, prober, forwarder, logger);
    late.cg = cg;
    registerGauges(o.registry, cg);
    follower.start();
    forwarder.start();
    return cg;
  }

  /** Ready once the first snapshot is applied, until shutdown begins. */
  get ready(): boolean {
    return this.last !== null && !this.stopping;
  }

  get snapshotVersion(): number {
    return this.last?.version ?? 0;
  }

  get port(): number {
    return this.gateway.port;
  }

  /**
   * Order: the route table first (so a request for a new host finds its revision), then
   * failures, then endpoints (diffed: only revisions whose list changed go to the prober).
   */
  private apply(snapshot: ClusterSnapshot): void {
    const prev = this.last;
    this.gateway.applyState(snapshot.state);
    for (const [key, failure] of Object.entries(snapshot.failures)) {
      if (!sameFailure(prev?.failures[key], failure)) this.gateway.setRevisionFailure(key, failure);
    }
    for (const key of Object.keys(prev?.failures ?? {})) {
      if (snapshot.failures[key] === undefined) this.gateway.setRevisionFailure(key, null);
    }
    for (const [key, endpoints] of Object.entries(snapshot.endpoints)) {
      if (!sameEndpoints(prev?.endpoints[key] ?? NO_ENDPOINTS, endpoints)) this.prober.set(key, endpoints);
    }
    for (const key of Object.keys(prev?.endpoints ?? {})) {
      if (snapshot.endpoints[key] === undefined) this.prober.set(key, NO_ENDPOINTS);
    }
    this.draining = new Set(snapshot.draining);
    if (prev === null) {
      this.logger.info('first snapshot applied', {
        version: snapshot.version,
        revisions: snapshot.state.revisions.length,
        routes: snapshot.state.routes.length,
      });
    } else {
      this.logger.debug('snapshot applied', { version: snapshot.version });
    }
    this.last = snapshot;
  }

  private routable(revision: RevisionKey, endpoints: readonly Endpoint[]): void {
    const before = this.routed.get(revision) ?? NO_ENDPOINTS;
    this.routed.set(revision, endpoints);
    this.gateway.setEndpoints(revision, endpoints);
    for (const ep of before) {
      if (!endpoints.some((e) => e.id === ep.id)) this.leaving.add(ep.id);
    }
  }

  /** Per endpoint: the routable ones with requests, every draining one, and leaving ones until idle. */
  inFlight(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const revision of this.prober.revisions()) {
      for (const ep of this.prober.routable(revision)) {
        const n = this.gateway.endpointLoad(ep.id);
        if (n > 0) out[ep.id] = n;
      }
    }
    for (const id of this.leaving) {
      const n = this.gateway.endpointLoad(id);
      if (n > 0) out[id] = n;
      else this.leaving.delete(id);
    }
    for (const id of this.draining) out[id] = this.gateway.endpointLoad(id);
    return out;
  }

  /** Requests in flight or queued across all revisions. */
  load(): number {
    let total = 0;
    for (const r of this.last?.state.revisions ?? []) {
      const l = this.gateway.revisionLoad(r.key);
      total += l.inFlight + l.queued;
    }
    return total;
  }

  /**
   * SIGTERM: not ready at once (so the Service stops sending new connections), keep serving for
   * `drainDelayMs` while that propagates, then wait until nothing is in flight or queued (at most
   * `timeoutMs`), then close. The last stats report goes out before the forwarder closes.
   */
  async shutdown(drainDelayMs: number, timeoutMs: number): Promise<void> {
    this.stopping = true;
    if (drainDelayMs > 0) await delay(drainDelayMs);
    const deadline = Date.now() + timeoutMs;
    while (this.load() > 0 && Date.now() < deadline) await delay(IDLE_POLL_MS);
    const left = this.load();
    if (left > 0) this.logger.warn('shutdown timeout: cutting requests still in flight', { requests: left });
    this.prober.close();
    await this.follower.stop();
    await this.gateway.close();
    await this.forwarder.flush();
    await this.forwarder.close();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function registerGauges(registry: Registry, cg: ClusterGateway): void {
  new Gauge({
    name: 'kedge_gateway_snapshot_version',
    help: 'Version of the last controller snapshot applied (0: none yet)',
    registers: [registry],
    collect() {
      this.set(cg.snapshotVersion);
    },
  });
}
