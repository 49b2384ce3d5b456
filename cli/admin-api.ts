// The JSON API on the admin port: what is running, as Knative would report it, plus what only the
// data plane knows (in-flight and queued requests, the autoscaler's view).
import type { ContainerResources } from '../controller/state.js';
import type { AdminReply, AdminServer } from '../lib/admin-server.js';
import type { LocalPlatform } from './local-platform.js';
import type { LogEntry, LogFilter } from './log-bus.js';

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
  /** The container's requests and limits as written; null when none. Local mode does not enforce them. */
  readonly resources: ContainerResources | null;
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
  const specs = new Map((platform.state?.revisions ?? []).map((spec) => [spec.key, spec]));
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
      resources: specs.get(r.key)?.container.resources ?? null,
    };
  });
}

/** Knative's Route, which kedge keeps inside the Service: its hosts and where each one sends traffic. */
export interface RouteView {
  readonly name: string;
  readonly namespace: string;
  readonly url: string;
  readonly ready: boolean;
  /** RoutesReady of the Service (Knative's Route Ready). */
  readonly conditions: readonly { type: string; status: string; reason: string; message: string }[];
  readonly traffic: ServiceView['traffic'];
  /** Every host the gateway answers for this Service; tag hosts carry their tag. */
  readonly hosts: readonly {
    readonly host: string;
    readonly tag: string;
    readonly splits: readonly { readonly revisionName: string; readonly percent: number }[];
  }[];
}

export function routeViews(platform: LocalPlatform): RouteView[] {
  const routes = platform.state?.routes ?? [];
  return (platform.current?.services ?? []).map((s) => {
    const routesReady = s.conditions.find((c) => c.type === 'RoutesReady');
    return {
      name: s.name,
      namespace: s.namespace,
      url: s.url,
      ready: routesReady?.status === 'True',
      conditions: routesReady === undefined ? [] : [{ ...routesReady, type: 'Ready' }],
      traffic: s.traffic,
      hosts: routes
        .filter((r) => r.namespace === s.namespace && r.service === s.name)
        .map((r) => ({
          host: r.host,
          tag: r.tag ?? '',
          splits: r.splits.map((x) => ({
            revisionName: x.revision.slice(x.revision.indexOf('/') + 1),
            percent: x.percent,
          })),
        })),
    };
  });
}

export interface LogsReply {
  readonly kind: 'service' | 'revision';
  readonly namespace: string;
  readonly name: string;
  readonly lines: readonly LogEntry[];
  /** Pass as `after` to get only newer lines. */
  readonly next: number;
}

/** The longest a `GET /api/v1/logs?after=N` waits for a new line before it answers with none. */
export const MAX_LOG_WAIT_MS = 30_000;

function nonNegativeInt(url: URL, key: string, fallback: number): number | string {
  const raw = url.searchParams.get(key);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : `${key} must be a non-negative integer, got "${raw}"`;
}

/**
 * GET /api/v1/logs?name=NAME[&namespace=default][&kind=service|revision][&tail=N][&after=SEQ&waitMs=MS]
 * NAME is a revision or a Service (a revision wins when both exist). Without `after`: the last
 * `tail` lines (all kept lines by default). With `after`: the lines numbered above it, waiting up
 * to waitMs for the first one (long poll; `kedge logs -f` loops on `next`).
 */
async function logs(platform: LocalPlatform, url: URL): Promise<AdminReply> {
  const name = url.searchParams.get('name') ?? '';
  const namespace = url.searchParams.get('namespace') || 'default';
  const kindParam = url.searchParams.get('kind') ?? '';
  if (name === '') return { status: 400, body: 'logs: name is required (a Service or a revision)\n' };
  if (kindParam !== '' && kindParam !== 'service' && kindParam !== 'revision') {
    return { status: 400, body: `logs: kind must be service or revision, got "${kindParam}"\n` };
  }
  const tail = nonNegativeInt(url, 'tail', platform.logs.capacity);
  const after = nonNegativeInt(url, 'after', -1);
  const waitMs = nonNegativeInt(url, 'waitMs', 0);
  for (const v of [tail, after, waitMs])
    if (typeof v === 'string') return { status: 400, body: `logs: ${v}\n` };
  const revisionKey = `${namespace}/${name}`;
  const isRevision =
    kindParam === 'revision' ||
    (kindParam === '' &&
      ((platform.state?.revisions.some((r) => r.key === revisionKey) ?? false) ||
        platform.logs.read((e) => e.revision === revisionKey, 0, 1).length > 0));
  const byRevision: LogFilter = (e) => e.revision === revisionKey;
  const byService: LogFilter = (e) => e.service === name && e.revision.startsWith(`${namespace}/`);
  if (!isRevision && kindParam === '') {
    const known =
      (platform.current?.services.some((s) => s.namespace === namespace && s.name === name) ?? false) ||
      platform.logs.read(byService, 0, 1).length > 0;
    if (!known) {
      return {
        status: 404,
        body: `logs: no Service or revision named "${name}" in namespace "${namespace}"\n`,
      };
    }
  }
  const filter = isRevision ? byRevision : byService;
  let lines: LogEntry[];
  if (typeof after === 'number' && after >= 0) {
    await platform.logs.wait(filter, after, Math.min(Number(waitMs), MAX_LOG_WAIT_MS));
    lines = platform.logs.read(filter, after, platform.logs.capacity);
  } else lines = platform.logs.read(filter, 0, Number(tail));
  const body: LogsReply = {
    kind: isRevision ? 'revision' : 'service',
    namespace,
    name,
    lines,
    next: platform.logs.last,
  };
  return { status: 200, body };
}

export function registerAdminApi(admin: AdminServer, platform: LocalPlatform): void {
  admin.get('/api/v1/services', () => ({ status: 200, body: serviceViews(platform) }));
  admin.get('/api/v1/revisions', () => ({ status: 200, body: revisionViews(platform) }));
  admin.get('/api/v1/routes', () => ({ status: 200, body: routeViews(platform) }));
  admin.get('/api/v1/logs', (_req, url) => logs(platform, url));
}
