// The JSON API on the admin port: what is running, as Knative would report it, plus what only the
// data plane knows (in-flight and queued requests, the autoscaler's view).
import type { AdminServer } from '../lib/admin-server.js';
import type { LocalPlatform } from './local-platform.js';

export interface ServiceView {
  readonly name: string;
  readonly namespace: string;
  readonly url: string;
  readonly ready: boolean;
  readonly generation: number;
  readonly observedGeneration: number;
  readonly latestCreatedRevisionName: string;
  readonly latestReadyRevisionName: string;
  readonly address: { readonly url: string };
  readonly conditions: readonly { type: string; status: string; reason: string; message: string }[];
  readonly traffic: readonly {
    revisionName: string;
    percent: number;
    latestRevision: boolean;
    tag: string;
    url: string;
  }[];
}

export interface RevisionView {
  readonly name: string;
  readonly namespace: string;
  readonly service: string;
  readonly generation: number;
  readonly createdAt: string;
  readonly ready: boolean;
  readonly conditions: readonly { type: string; status: string; reason: string; message: string }[];
  readonly routingState: 'active' | 'reserve';
  /** What the runtime is asked for, after bounds and scale-to-zero rules. */
  readonly desiredReplicas: number;
  readonly readyReplicas: number;
  readonly pendingReplicas: number;
  readonly inFlight: number;
  readonly queued: number;
  /** The KPA's raw decision (-1 before its first). */
  readonly decidedReplicas: number;
  readonly panic: boolean;
  readonly stableConcurrency: number;
  readonly panicConcurrency: number;
  readonly targetConcurrency: number;
  readonly excessBurstCapacity: number;
  readonly failure: { readonly reason: string; readonly message: string } | null;
}

export function serviceViews(platform: LocalPlatform): ServiceView[] {
  return (platform.current?.services ?? []).map((s) => ({
    name: s.name,
    namespace: s.namespace,
    url: s.url,
    ready: s.conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
    generation: s.generation,
    observedGeneration: s.observedGeneration,
    latestCreatedRevisionName: s.latestCreatedRevisionName,
    latestReadyRevisionName: s.latestReadyRevisionName,
    address: s.address,
    conditions: s.conditions,
    traffic: s.traffic,
  }));
}

export function revisionViews(platform: LocalPlatform): RevisionView[] {
  return (platform.current?.revisions ?? []).map((r) => {
    const runtime = platform.runtime.status(r.key);
    const scaler = platform.autoscaler.revision(r.key);
    const load = platform.gateway.revisionLoad(r.key);
    return {
      name: r.name,
      namespace: r.namespace,
      service: r.service,
      generation: r.generation,
      createdAt: r.createdAt,
      ready: r.conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
      conditions: r.conditions,
      routingState: r.routingState,
      desiredReplicas: scaler?.desiredReplicas ?? runtime?.desiredReplicas ?? 0,
      readyReplicas: runtime?.readyReplicas ?? 0,
      pendingReplicas: runtime?.pendingReplicas ?? 0,
      inFlight: load.inFlight,
      queued: load.queued,
      decidedReplicas: scaler?.decidedReplicas ?? -1,
      panic: scaler?.panic ?? false,
      stableConcurrency: scaler?.stableConcurrency ?? 0,
      panicConcurrency: scaler?.panicConcurrency ?? 0,
      targetConcurrency: scaler?.targetConcurrency ?? 0,
      excessBurstCapacity: scaler?.excessBurstCapacity ?? 0,
      failure: runtime?.failure ?? null,
    };
  });
}

export function registerAdminApi(admin: AdminServer, platform: LocalPlatform): void {
  admin.get('/api/v1/services', () => ({ status: 200, body: serviceViews(platform) }));
  admin.get('/api/v1/revisions', () => ({ status: 200, body: revisionViews(platform) }));
}
