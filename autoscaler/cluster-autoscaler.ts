// `kedge autoscaler`: the KPA loop of local mode (autoscaler.ts), fed over HTTP in cluster mode.
// State comes from the controller's snapshots, stats and pokes from the gateways, and decisions
// go to the revisions' Deployments through ClusterScaler. The order at start-up matters: the
// Deployments are read before the loop sees any revision, so that its first decision starts
// from the real replica count (Knative starts a decider in panic with the ready count).
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { SnapshotFollower } from '../gateway/cluster-follower.js';
import type { RevisionKey } from '../controller/state.js';
import type { ClusterSnapshot } from '../lib/cluster-protocol.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import { Autoscaler } from './autoscaler.js';
import { ClusterScaler } from './cluster-scaler.js';
import { StatsServer } from './cluster-stats-server.js';
import { resolveRevisionSpec } from './config.js';

export interface ClusterAutoscalerOptions {
  readonly kubeConfig: KubeConfig;
  readonly controllerUrl: string;
  readonly host: string;
  readonly statsPort: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly tickIntervalMs?: number;
  readonly pollTimeoutSeconds?: number;
}

export class ClusterAutoscaler {
  private booted = false;
  private stateVersion: number | null = null;
  /** Snapshots are applied one at a time, in order (the first one waits for the Deployments). */
  private chain: Promise<void> = Promise.resolve();
  private revisions: readonly RevisionKey[] = [];
  private stopped = false;

  private constructor(
    readonly autoscaler: Autoscaler,
    readonly scaler: ClusterScaler,
    readonly stats: StatsServer,
    private readonly follower: SnapshotFollower,
    private readonly logger: Logger,
  ) {}

  static async start(o: ClusterAutoscalerOptions): Promise<ClusterAutoscaler> {
    const logger = o.logger;
    const late: { autoscaler?: Autoscaler } = {};
    const scaler = new ClusterScaler({
      apps: o.kubeConfig.makeApiClient(AppsV1Api),
      core: o.kubeConfig.makeApiClient(CoreV1Api),
      clock: o.clock,
      logger,
      registry: o.registry,
      stableWindowMs: (revision) => {
        const config = late.autoscaler?.config();
        return config === undefined ? 60_000 : resolveRevisionSpec(config, revision).spec.stableWindowMs;
      },
    });
    const autoscaler = new Autoscaler({
      clock: o.clock,
      logger: logger.child({ part: 'kpa' }),
      registry: o.registry,
      scale: (key, replicas) => {
        scaler.scale(key, replicas);
      },
      readyReplicas: (key) => scaler.readyReplicas(key),
      ...(o.tickIntervalMs === undefined ? {} : { tickIntervalMs: o.tickIntervalMs }),
    });
    late.autoscaler = autoscaler;
    const holder: { ca?: ClusterAutoscaler } = {};
    // Stats before the first snapshot only feed the drain bookkeeping; the loop knows no revision yet.
    const stats = await StatsServer.start(o.host, o.statsPort, {
      stats: (report) => {
        const nowMs = o.clock.nowMs();
        scaler.report(report, nowMs);
        autoscaler.record(report.source, report.stats, nowMs);
      },
      poke: (poke) => {
        autoscaler.poke(poke.revision, o.clock.nowMs());
      },
    });
    const follower = new SnapshotFollower({
      controllerUrl: o.controllerUrl,
      logger,
      onSnapshot: (snapshot) => {
        holder.ca?.enqueue(snapshot);
      },
      ...(o.pollTimeoutSeconds === undefined ? {} : { pollTimeoutSeconds: o.pollTimeoutSeconds }),
    });
    const ca = new ClusterAutoscaler(autoscaler, scaler, stats, follower, logger);
    holder.ca = ca;
    follower.start();
    return ca;
  }

  /** Ready after the first snapshot and the Deployments it names have been read. */
  get ready(): boolean {
    return this.booted;
  }

  private enqueue(snapshot: ClusterSnapshot): void {
    this.chain = this.chain.then(
      () => this.apply(snapshot),
      () => this.apply(snapshot),
    );
  }

  private async apply(snapshot: ClusterSnapshot): Promise<void> {
    this.scaler.setSnapshot(snapshot);
    this.revisions = snapshot.state.revisions.map((r) => r.key);
    if (!this.booted) {
      // Until the Deployments are read, nothing decides; a failed read is retried with the next
      // snapshot or after a pause (the controller's snapshot may well not change meanwhile).
      for (;;) {
        if (this.stopped) return;
        try {
          await this.scaler.boot();
          break;
        } catch (err) {
          this.logger.warn('cannot read the revisions’ Deployments; retrying', {
            error: err instanceof Error ? err.message : String(err),
          });
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    }
    if (this.stateVersion !== snapshot.state.version) {
      this.stateVersion = snapshot.state.version;
      this.autoscaler.applyState(snapshot.state);
    }
    if (!this.booted) {
      this.booted = true;
      this.scaler.endBoot();
      this.scaler.start();
      this.autoscaler.start();
      this.logger.info('autoscaler running', {
        snapshot: snapshot.version,
        revisions: snapshot.state.revisions.length,
      });
    }
  }

  /** Per revision: the loop's view and the scaler's (admin API `/api/v1/autoscaler`). */
  describe(): Record<RevisionKey, unknown> {
    const out: Record<RevisionKey, unknown> = {};
    for (const key of this.revisions) {
      out[key] = { ...this.autoscaler.revision(key), deployment: this.scaler.status(key) };
    }
    return out;
  }

  /** SIGTERM: stop deciding and acting; in-progress calls finish, a drain resumes at the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.autoscaler.stop();
    await this.follower.stop();
    await this.scaler.stop();
    await this.stats.close();
  }
}
