// Cluster mode's Runtime.scale: the autoscaler's decisions become patches of each revision's
// Deployment (`{revision}-deployment`) through the scale subresource, as Knative's KPA does
// (JSON patch on /spec/replicas). Scale-down is coordinated with the gateways (cluster-drain.ts)
// so that no pod is removed with requests in flight, and a restart never scales down in panic:
// the current replicas are read before the first decision, and a revision that was running when
// the autoscaler started is not scaled down before a full stable window of stats has arrived.
import {
  ApiException,
  PatchStrategy,
  setHeaderOptions,
  type AppsV1Api,
  type CoreV1Api,
  type V1Pod,
} from '@kubernetes/client-node';
import { Gauge, type Registry } from 'prom-client';
import type { Endpoint } from '../controller/runtime.js';
import type { RevisionKey, RevisionSpec } from '../controller/state.js';
import type { ClusterSnapshot, StatsReport } from '../lib/cluster-protocol.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import {
  DELETION_COST_ANNOTATION,
  DELETION_COST_VALUE,
  DRAIN_PROPAGATION_MS,
  DRAINING_ANNOTATION,
  GATEWAY_FRESH_MS,
  REVISION_LABEL,
  chooseVictims,
  drainProgress,
  endpointIdsOf,
  podLoad,
  type DrainingPod,
  type GatewayReport,
  type PodView,
} from './cluster-drain.js';

/** How often pending work (drains, failed patches, missing Deployments) is looked at again. */
export const DEFAULT_SCALER_PERIOD_MS = 1_000;

export interface ClusterScalerOptions {
  readonly apps: AppsV1Api;
  readonly core: CoreV1Api;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The revision's stable window (config-autoscaler + its annotations). */
  readonly stableWindowMs: (revision: RevisionSpec) => number;
  readonly registry?: Registry;
  readonly periodMs?: number;
  readonly freshMs?: number;
  readonly propagationMs?: number;
}

interface Entry {
  spec: RevisionSpec;
  /** What the autoscaler asks for; null before its first call. */
  want: number | null;
  /** The Deployment's spec.replicas as last read or written; null: not read yet or missing. */
  current: number | null;
  /** Running when we started: no scale-down before a full stable window of stats. */
  guarded: boolean;
  heldLogged: boolean;
  drain: Map<string, DrainingPod> | null;
  /** Look for draining annotations left behind (a restart mid-drain, a ReplicaSet that chose otherwise). */
  cleanup: boolean;
  busy: boolean;
  again: boolean;
}

export function deploymentName(revision: RevisionSpec): string {
  return `${revision.name}-deployment`;
}

export function podView(pod: V1Pod): PodView {
  const annotations = pod.metadata?.annotations ?? {};
  const created = pod.metadata?.creationTimestamp as Date | string | undefined;
  return {
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
    ip: pod.status?.podIP ?? null,
    scheduled: (pod.spec?.nodeName ?? '') !== '',
    phase: pod.status?.phase ?? 'Pending',
    ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    terminating: pod.metadata?.deletionTimestamp != null,
    draining: annotations[DRAINING_ANNOTATION] === 'true',
    deletionCost: annotations[DELETION_COST_ANNOTATION] !== undefined,
    createdMs: created === undefined ? 0 : new Date(created).getTime(),
  };
}

function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

function errorText(err: unknown): string {
  if (err instanceof ApiException) return `HTTP ${err.code}: ${String(err.body).slice(0, 200)}`;
  return err instanceof Error ? err.message : String(err);
}

export class ClusterScaler {
  private readonly entries = new Map<RevisionKey, Entry>();
  private readonly gateways = new Map<string, GatewayReport>();
  private endpoints: ClusterSnapshot['endpoints'] = {};
  /** Deployment status.readyReplicas read at boot, used until the snapshot's endpoints take over. */
  private readonly bootReady = new Map<RevisionKey, number>();
  private firstReportMs: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly logger: Logger;
  private readonly freshMs: number;
  private readonly propagationMs: number;
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly o: ClusterScalerOptions) {
    this.logger = o.logger.child({ part: 'cluster-scaler' });
    this.freshMs = o.freshMs ?? GATEWAY_FRESH_MS;
    this.propagationMs = o.propagationMs ?? DRAIN_PROPAGATION_MS;
    if (o.registry !== undefined) {
      const entries = this.entries;
      new Gauge({
        name: 'kedge_autoscaler_draining_pods',
        help: 'Pods being drained before a scale-down',
        labelNames: ['namespace', 'revision'],
        registers: [o.registry],
        collect() {
          this.reset();
          for (const e of entries.values()) {
            this.set({ namespace: e.spec.namespace, revision: e.spec.name }, e.drain?.size ?? 0);
          }
        },
      });
    }
  }

  // ---- inputs ----

  /** The controller's snapshot: which revisions exist and which pods are ready. */
  setSnapshot(snapshot: ClusterSnapshot): void {
    this.endpoints = snapshot.endpoints;
    const present = new Set<RevisionKey>();
    for (const spec of snapshot.state.revisions) {
      present.add(spec.key);
      const e = this.entries.get(spec.key);
      if (e !== undefined) e.spec = spec;
      else this.entries.set(spec.key, newEntry(spec));
    }
    // A removed revision's Deployment goes with it (the controller deletes it); nothing to undo.
    for (const key of this.entries.keys()) if (!present.has(key)) this.entries.delete(key);
  }

  /**
   * Reads every known revision's Deployment before the first decision: its replicas become the
   * starting point, and a revision already running is guarded against an early scale-down.
   */
  async boot(): Promise<void> {
    await Promise.all(
      [...this.entries.values()].map(async (e) => {
        try {
          const dep = await this.o.apps.readNamespacedDeployment({
            name: deploymentName(e.spec),
            namespace: e.spec.namespace,
          });
          e.current = dep.spec?.replicas ?? 1;
          e.guarded = e.current > 0;
          e.cleanup = true;
          this.bootReady.set(e.spec.key, dep.status?.readyReplicas ?? 0);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }),
    );
    const running = [...this.entries.values()].filter((e) => e.guarded).length;
    this.logger.info('read current replicas', { revisions: this.entries.size, running });
  }

  /** The boot-time ready counts stop counting once the autoscaler has seen every revision. */
  endBoot(): void {
    this.bootReady.clear();
  }

  /**
   * Ready replicas for the autoscaler: the snapshot's endpoints (draining pods excluded); at
   * boot, at least what the Deployment reported, so that the KPA starts in panic with the real
   * count (Knative newAutoscaler) even if the controller's endpoints lag.
   */
  readyReplicas(key: RevisionKey): number {
    const listed = this.endpoints[key]?.length ?? 0;
    return Math.max(listed, this.bootReady.get(key) ?? 0);
  }

  /** Runtime.scale: recorded at once, carried out asynchronously (serialized per revision). */
  scale(key: RevisionKey, replicas: number): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    e.want = replicas;
    this.kick(e);
  }

  /** A gateway's 1 s report: its per-endpoint in-flight counts drive the drains. */
  report(report: StatsReport, nowMs: number): void {
    this.gateways.set(report.source, { receivedAtMs: nowMs, inFlight: report.inFlight });
    this.firstReportMs ??= nowMs;
    for (const e of this.entries.values()) if (e.drain !== null) this.kick(e);
    // Forget gateways long gone (scaled down, restarted under a new name).
    for (const [source, r] of this.gateways) {
      if (r.receivedAtMs < nowMs - 10 * this.freshMs) this.gateways.delete(source);
    }
  }

  start(): void {
    if (this.timer !== null || this.stopped) return;
    this.timer = setInterval(() => {
      for (const e of this.entries.values()) {
        if (e.drain !== null || e.cleanup || (e.want !== null && e.want !== e.current)) this.kick(e);
      }
    }, this.o.periodMs ?? DEFAULT_SCALER_PERIOD_MS);
    this.timer.unref();
  }

  /** Stops acting; a drain in progress is left as is (the next start cleans its annotations up). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.idle();
  }

  /** Resolves once no reconcile is running (tests; shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /** For status and tests. */
  status(key: RevisionKey): { want: number | null; current: number | null; draining: string[] } | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    return { want: e.want, current: e.current, draining: [...(e.drain?.keys() ?? [])] };
  }

  // ---- reconcile ----

  private kick(e: Entry): void {
    if (this.stopped) return;
    if (e.busy) {
      e.again = true;
      return;
    }
    e.busy = true;
    const run = (async () => {
      try {
        do {
          e.again = false;
          await this.reconcile(e);
        } while (askedAgain(e) && !this.stopped);
      } catch (err) {
        // Retried by the periodic pass.
        this.logger.warn('scaling failed; retrying', { revision: e.spec.key, error: errorText(err) });
      } finally {
        e.busy = false;
      }
    })();
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  private async reconcile(e: Entry): Promise<void> {
    const want = e.want;
    if (want === null || this.entries.get(e.spec.key) !== e) return;
    const current = await this.readReplicas(e);
    if (current === null) return;
    if (want >= current) {
      if (e.drain !== null) await this.cancelDrain(e, want);
      if (want > current) await this.patchScale(e, want, current);
      else if (e.cleanup) await this.cleanup(e, current);
      return;
    }
    if (e.guarded) {
      const windowMs = this.o.stableWindowMs(e.spec);
      const nowMs = this.o.clock.nowMs();
      if (this.firstReportMs === null || nowMs - this.firstReportMs < windowMs) {
        if (!e.heldLogged) {
          e.heldLogged = true;
          this.logger.info('scale-down held until a full stable window of stats has arrived', {
            revision: e.spec.key,
            from: current,
            to: want,
            stableWindowSeconds: windowMs / 1000,
          });
        }
        return;
      }
      e.guarded = false;
    }
    await this.drainAndScaleDown(e, want, current);
  }

  /** The Deployment's replicas, read fresh (someone may have scaled it); null when it is missing. */
  private async readReplicas(e: Entry): Promise<number | null> {
    try {
      const scale = await this.o.apps.readNamespacedDeploymentScale({
        name: deploymentName(e.spec),
        namespace: e.spec.namespace,
      });
      e.current = scale.spec?.replicas ?? 0;
      return e.current;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      // The controller has not created it yet; the periodic pass tries again.
      e.current = null;
      return null;
    }
  }

  private async patchScale(e: Entry, replicas: number, from: number): Promise<void> {
    // Knative kpa/scaler.go applyScale: a JSON patch on the scale subresource.
    await this.o.apps.patchNamespacedDeploymentScale(
      {
        name: deploymentName(e.spec),
        namespace: e.spec.namespace,
        body: [{ op: 'add', path: '/spec/replicas', value: replicas }],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    e.current = replicas;
    this.logger.info('scaled', { revision: e.spec.key, from, to: replicas });
  }

  private async listPods(e: Entry): Promise<PodView[]> {
    const list = await this.o.core.listNamespacedPod({
      namespace: e.spec.namespace,
      labelSelector: `${REVISION_LABEL}=${e.spec.name}`,
    });
    return list.items.map(podView);
  }

  private async annotate(e: Entry, pod: string, annotations: Record<string, string | null>): Promise<void> {
    try {
      await this.o.core.patchNamespacedPod(
        { name: pod, namespace: e.spec.namespace, body: { metadata: { annotations } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      if (!isNotFound(err)) throw err; // a pod that is gone needs no annotation
    }
  }

  private async drainAndScaleDown(e: Entry, want: number, current: number): Promise<void> {
    const nowMs = this.o.clock.nowMs();
    const pods = (await this.listPods(e)).filter((p) => !p.terminating);
    const live = new Set(pods.map((p) => p.name));
    const drain = (e.drain ??= new Map<string, DrainingPod>());
    for (const name of drain.keys()) if (!live.has(name)) drain.delete(name);
    // Only pods beyond `want` need to go; replicas not created yet simply will not be.
    const needed = Math.min(Math.max(0, pods.length - want), current - want);

    // Fewer to remove than are draining (the load rose a little): give back the newest drains.
    const extra = [...drain.values()]
      .sort((a, b) => b.startedMs - a.startedMs)
      .slice(0, Math.max(0, drain.size - needed));
    for (const d of extra) {
      await this.annotate(e, d.name, { [DRAINING_ANNOTATION]: null, [DELETION_COST_ANNOTATION]: null });
      drain.delete(d.name);
    }
    if (drain.size < needed) {
      const endpoints: readonly Endpoint[] = this.endpoints[e.spec.key] ?? [];
      const idsOf = new Map(pods.map((p) => [p.name, endpointIdsOf(p, endpoints)]));
      const victims = chooseVictims(
        pods.filter((p) => !drain.has(p.name)),
        needed - drain.size,
        (p) => podLoad(idsOf.get(p.name)?.ids ?? [], this.gateways, nowMs, this.freshMs),
      );
      for (const p of victims) {
        await this.annotate(e, p.name, { [DRAINING_ANNOTATION]: 'true' });
        const { ids, routed } = idsOf.get(p.name) ?? { ids: [p.name], routed: false };
        drain.set(p.name, { name: p.name, ids, routed, startedMs: this.o.clock.nowMs() });
      }
      if (victims.length > 0) {
        this.logger.info('draining pods before scale-down', {
          revision: e.spec.key,
          from: current,
          to: want,
          pods: victims.map((p) => p.name).join(','),
        });
      }
    }

    const deadlineMs = e.spec.timeoutSeconds * 1000 + this.propagationMs;
    const checkMs = this.o.clock.nowMs();
    const timedOut: string[] = [];
    for (const d of drain.values()) {
      const progress = drainProgress(d, this.gateways, checkMs, deadlineMs, this.freshMs);
      if (progress === 'waiting') return;
      if (progress === 'timeout') timedOut.push(d.name);
    }
    if (timedOut.length > 0) {
      this.logger.warn('drain timed out: removing pods that gateways still report busy or unacknowledged', {
        revision: e.spec.key,
        pods: timedOut.join(','),
        timeoutSeconds: e.spec.timeoutSeconds,
      });
    }
    // Lowest deletion cost first: the ReplicaSet removes exactly the drained pods.
    for (const d of drain.values()) {
      await this.annotate(e, d.name, { [DELETION_COST_ANNOTATION]: DELETION_COST_VALUE });
    }
    await this.patchScale(e, want, current);
    e.drain = null;
    e.cleanup = true;
  }

  /** A scale-up (or a return to the current count) while draining: the pods stay. */
  private async cancelDrain(e: Entry, want: number): Promise<void> {
    const drain = e.drain;
    if (drain === null) return;
    for (const name of drain.keys()) {
      await this.annotate(e, name, { [DRAINING_ANNOTATION]: null, [DELETION_COST_ANNOTATION]: null });
    }
    this.logger.info('drain cancelled', { revision: e.spec.key, want, pods: [...drain.keys()].join(',') });
    e.drain = null;
  }

  /**
   * Annotations on live pods with no drain in progress are left over (a restart mid-drain, or a
   * ReplicaSet that removed another pod). Once the ReplicaSet has converged (no more live pods
   * than replicas) they are removed, so those pods serve again.
   */
  private async cleanup(e: Entry, current: number): Promise<void> {
    const pods = (await this.listPods(e)).filter((p) => !p.terminating);
    if (pods.length > current) return; // the ReplicaSet is still removing pods
    for (const p of pods) {
      if (!p.draining && !p.deletionCost) continue;
      await this.annotate(e, p.name, { [DRAINING_ANNOTATION]: null, [DELETION_COST_ANNOTATION]: null });
      this.logger.info('removed a left-over draining annotation', { revision: e.spec.key, pod: p.name });
    }
    e.cleanup = false;
  }
}

/** Read through a call: the flag is set by kick() while reconcile() awaits. */
function askedAgain(e: Entry): boolean {
  return e.again;
}

function newEntry(spec: RevisionSpec): Entry {
  return {
    spec,
    want: null,
    current: null,
    guarded: false,
    heldLogged: false,
    drain: null,
    cleanup: false,
    busy: false,
    again: false,
  };
}
