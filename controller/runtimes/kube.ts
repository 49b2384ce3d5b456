/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   client-node 1.x models (V1Deployment, V1Container, ...) are data-only classes; their own examples
   pass object literals, and the API serializes plain JSON either way. */
// KubeRuntime: cluster mode. Each revision is one Deployment, `{revision}-deployment` as Knative
// names it (pkg/reconciler/revision/resources/names), labelled like Knative's and owned by the
// Service, so deleting a Service takes its revisions' Deployments and pods with it (the API server's
// garbage collector, not us).
//
// Who writes what (DESIGN.md "Processes"):
// - ensure() creates the Deployment with replicas = the revision's initial scale (Knative
//   MakeDeployment) and afterwards never touches spec.replicas: the autoscaler owns it, through
//   scale(), which patches the `scale` subresource.
// - Ready endpoints come from watching Pods labelled serving.knative.dev/revision: Ready condition,
//   pod IP and the user container's port. A pod annotated kedge.dev/draining: "true" (the
//   autoscaler picked it for removal) is out of the ready set and listed as draining, so gateways
//   stop sending it requests and report its in-flight count (lib/cluster-protocol.ts).
// - Failures come from the pods and the Deployment, as Knative's revision reconciler reads them, and
//   only while no pod is ready: a crashing container (ExitCode<N>), a waiting reason that will not
//   heal by itself (ErrImagePull, CrashLoopBackOff, ...), an unschedulable pod, or the Deployment's
//   progress deadline.
import {
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Container,
  type V1Deployment,
  type V1Pod,
} from '@kubernetes/client-node';
import { parseGoDurationMs } from '../../lib/go-duration.js';
import type { Logger } from '../../lib/log.js';
import { childName } from '../api/names.js';
import { canonicalJson } from '../api/validate.js';
import type {
  Endpoint,
  LogLine,
  RevisionFailure,
  RevisionRuntimeStatus,
  Runtime,
  RuntimeListener,
} from '../runtime.js';
import {
  WatchedCollection,
  describeError,
  type WatchRestartReason,
  type WatchTuning,
} from '../sources/kube-watch.js';
import type { RevisionKey, RevisionSpec } from '../state.js';

export const SERVICE_LABEL = 'serving.knative.dev/service';
export const CONFIGURATION_LABEL = 'serving.knative.dev/configuration';
export const CONFIGURATION_GENERATION_LABEL = 'serving.knative.dev/configurationGeneration';
export const REVISION_LABEL = 'serving.knative.dev/revision';
/** Set on a pod by the autoscaler when it picks the pod for removal (lib/cluster-protocol.ts). */
export const DRAINING_ANNOTATION = 'kedge.dev/draining';
/** A hash of what ensure() wrote, so a changed spec (not a replica change) is re-applied. */
export const SPEC_HASH_ANNOTATION = 'kedge.dev/spec-hash';
/** Knative's config-defaults container-name-template default. */
export const USER_CONTAINER = 'user-container';
const PROGRESS_DEADLINE_ANNOTATION = 'serving.knative.dev/progress-deadline';
/** Knative config-deployment progress-deadline default. */
const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
/** Waiting reasons that will not heal on their own (Knative's revision reconciler reports these). */
const FATAL_WAITING_REASONS = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);
const SYNC_INITIAL_BACKOFF_MS = 500;
const SYNC_MAX_BACKOFF_MS = 30_000;

export interface OwnerService {
  readonly name: string;
  readonly uid: string;
}

export interface KubeRuntimeOptions {
  readonly kc: KubeConfig;
  readonly logger: Logger;
  readonly listener: RuntimeListener;
  /** The Service object that owns a revision; undefined while unknown (nothing is created then). */
  readonly owner: (namespace: string, service: string) => OwnerService | undefined;
  /** Replicas of a newly created Deployment: Knative's initial scale. */
  readonly initialScale: (revision: RevisionSpec) => number;
  /** The set of draining endpoint ids changed. */
  readonly onDrainingChange?: () => void;
  /** Default progress deadline (Knative config-deployment), seconds; default 600. */
  readonly progressDeadlineSeconds?: number;
  readonly onWatchRestart?: (resource: string, reason: WatchRestartReason) => void;
  readonly tuning?: Partial<WatchTuning>;
}

interface Revision {
  spec: RevisionSpec;
  /** A create/patch of the Deployment is running, or waiting for its retry timer. */
  syncing: boolean;
  /** ensure() changed the spec while a sync ran: sync again after it. */
  again: boolean;
  /** The Deployment was written (or found) for the current spec. */
  applied: boolean;
  failures: number;
  retryTimer: NodeJS.Timeout | null;
  /** The Deployment was in the watch cache once (so its disappearance means it was deleted). */
  seen: boolean;
  everReady: boolean;
  endpoints: readonly Endpoint[];
  draining: readonly string[];
  status: RevisionRuntimeStatus;
  statusKey: string;
}

interface ScaleRequest {
  replicas: number;
  inFlight: boolean;
  pending: boolean;
}

export class KubeRuntime implements Runtime {
  private readonly apps: AppsV1Api;
  private readonly deployments: WatchedCollection<V1Deployment>;
  private readonly pods: WatchedCollection<V1Pod>;
  private readonly revisions = new Map<RevisionKey, Revision>();
  private readonly scales = new Map<RevisionKey, ScaleRequest>();
  private drainingKey = '';
  private scheduled = false;
  private closed = false;

  constructor(private readonly options: KubeRuntimeOptions) {
    this.apps = options.kc.makeApiClient(AppsV1Api);
    const core = options.kc.makeApiClient(CoreV1Api);
    const changed = (): void => {
      this.schedule();
    };
    const tuning = options.tuning === undefined ? {} : { tuning: options.tuning };
    this.deployments = new WatchedCollection<V1Deployment>({
      kc: options.kc,
      path: '/apis/apps/v1/deployments',
      labelSelector: REVISION_LABEL,
      list: () => this.apps.listDeploymentForAllNamespaces({ labelSelector: REVISION_LABEL }),
      logger: options.logger,
      onChange: changed,
      onRestart: (reason) => options.onWatchRestart?.('deployments', reason),
      ...tuning,
    });
    this.pods = new WatchedCollection<V1Pod>({
      kc: options.kc,
      path: '/api/v1/pods',
      labelSelector: REVISION_LABEL,
      list: () => core.listPodForAllNamespaces({ labelSelector: REVISION_LABEL }),
      logger: options.logger,
      onChange: changed,
      onRestart: (reason) => options.onWatchRestart?.('pods', reason),
      ...tuning,
    });
  }

  /** Lists Deployments and Pods; resolves once both caches are filled. */
  async start(): Promise<void> {
    await Promise.all([this.deployments.start(), this.pods.start()]);
  }

  get synced(): boolean {
    return this.deployments.isSynced && this.pods.isSynced;
  }

  ensure(revision: RevisionSpec): void {
    if (this.closed) return;
    const known = this.revisions.get(revision.key);
    if (known !== undefined) {
      if (canonicalJson(known.spec) === canonicalJson(revision)) {
        // Not written yet because the owner Service was unknown: try again now.
        if (!known.applied && !known.syncing) this.sync(known);
        return;
      }
      known.spec = revision;
      known.applied = false;
      this.sync(known);
      return;
    }
    const status: RevisionRuntimeStatus = {
      key: revision.key,
      desiredReplicas: 0,
      readyReplicas: 0,
      pendingReplicas: 0,
      everReady: false,
      failure: null,
    };
    const r: Revision = {
      spec: revision,
      syncing: false,
      again: false,
      applied: false,
      failures: 0,
      retryTimer: null,
      seen: false,
      everReady: false,
      endpoints: [],
      draining: [],
      status,
      statusKey: '',
    };
    this.revisions.set(revision.key, r);
    // What the caches already hold (a restarted controller finds its pods running): known at once,
    // so the snapshot published right after ensure() lists them instead of an empty set.
    if (this.synced) this.observeOne(r);
    this.sync(r);
    this.schedule();
  }

  /** PATCHes the Deployment's scale subresource; the latest request wins while one is in flight. */
  scale(key: RevisionKey, replicas: number): void {
    if (this.closed) return;
    const req = this.scales.get(key) ?? { replicas, inFlight: false, pending: false };
    req.replicas = replicas;
    this.scales.set(key, req);
    if (req.inFlight) {
      req.pending = true;
      return;
    }
    this.sendScale(key, req);
  }

  async remove(key: RevisionKey): Promise<void> {
    const r = this.revisions.get(key);
    this.revisions.delete(key);
    this.scales.delete(key);
    if (r?.retryTimer != null) clearTimeout(r.retryTimer);
    const { namespace, name } = splitKey(key);
    try {
      await this.apps.deleteNamespacedDeployment({
        name: deploymentName(name),
        namespace,
        propagationPolicy: 'Background',
      });
      this.options.logger.info('deleted the Deployment of a removed revision', { revision: key });
    } catch (err) {
      if (statusOf(err) !== 404)
        throw new Error(`deleting the Deployment of ${key}: ${describeError(err)}`, { cause: err });
    }
    this.schedule();
  }

  status(key: RevisionKey): RevisionRuntimeStatus | undefined {
    return this.revisions.get(key)?.status;
  }

  /** The ready endpoints of a revision, as last published. */
  endpoints(key: RevisionKey): readonly Endpoint[] {
    return this.revisions.get(key)?.endpoints ?? [];
  }

  /** Pod names of every draining pod of every revision, sorted. */
  draining(): readonly string[] {
    const all: string[] = [];
    for (const r of this.revisions.values()) all.push(...r.draining);
    return all.sort();
  }

  /** Cluster logs are the pods' (kubectl logs); the runtime keeps none. */
  logs(): readonly LogLine[] {
    return [];
  }

  /** Stops watching. Deployments and pods keep running: the cluster owns them. */
  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.revisions.values()) if (r.retryTimer !== null) clearTimeout(r.retryTimer);
    await Promise.all([this.deployments.stop(), this.pods.stop()]);
  }

  // ---- Deployments --------------------------------------------------------------------------------

  private sync(r: Revision): void {
    if (r.syncing) {
      r.again = true;
      return;
    }
    r.syncing = true;
    r.again = false;
    this.apply(r.spec).then(
      (done) => {
        r.syncing = false;
        r.failures = 0;
        if (!done) return; // the owner is not known yet; the next ensure() tries again
        if (!r.again) r.applied = true;
        if (r.again && this.revisions.get(r.spec.key) === r) this.sync(r);
      },
      (err: unknown) => {
        const delayMs = Math.min(SYNC_MAX_BACKOFF_MS, SYNC_INITIAL_BACKOFF_MS * 2 ** r.failures);
        r.failures = Math.min(r.failures + 1, 30);
        this.options.logger.warn('writing a Deployment failed; retrying', {
          revision: r.spec.key,
          error: describeError(err),
          retryInMs: delayMs,
        });
        r.retryTimer = setTimeout(() => {
          r.retryTimer = null;
          r.syncing = false;
          if (!this.closed && this.revisions.get(r.spec.key) === r) this.sync(r);
        }, delayMs);
        r.retryTimer.unref();
      },
    );
  }

  /** Creates the Deployment, or re-applies a changed spec to an existing one (replicas untouched). */
  private async apply(spec: RevisionSpec): Promise<boolean> {
    const owner = this.options.owner(spec.namespace, spec.service);
    if (owner === undefined) {
      this.options.logger.debug('owner Service unknown; Deployment not created yet', { revision: spec.key });
      return false;
    }
    const wanted = buildDeployment(
      spec,
      owner,
      this.options.initialScale(spec),
      this.options.progressDeadlineSeconds,
    );
    const name = wanted.metadata?.name ?? '';
    try {
      await this.apps.createNamespacedDeployment({ namespace: spec.namespace, body: wanted });
      this.options.logger.info('created a Deployment', {
        revision: spec.key,
        deployment: name,
        replicas: wanted.spec?.replicas ?? 0,
      });
      return true;
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
    }
    const existing = await this.apps.readNamespacedDeployment({ name, namespace: spec.namespace });
    const hash = wanted.metadata?.annotations?.[SPEC_HASH_ANNOTATION];
    if (existing.metadata?.annotations?.[SPEC_HASH_ANNOTATION] === hash) return true;
    // Everything ensure() owns, never spec.replicas (the autoscaler's).
    await this.apps.patchNamespacedDeployment(
      {
        name,
        namespace: spec.namespace,
        body: {
          metadata: {
            labels: wanted.metadata?.labels,
            annotations: wanted.metadata?.annotations,
            ownerReferences: wanted.metadata?.ownerReferences,
          },
          spec: {
            template: wanted.spec?.template,
            progressDeadlineSeconds: wanted.spec?.progressDeadlineSeconds,
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    this.options.logger.info('updated a Deployment', { revision: spec.key, deployment: name });
    return true;
  }

  private sendScale(key: RevisionKey, req: ScaleRequest): void {
    req.inFlight = true;
    req.pending = false;
    const replicas = req.replicas;
    const { namespace, name } = splitKey(key);
    this.apps
      .patchNamespacedDeploymentScale(
        {
          name: deploymentName(name),
          namespace,
          // RFC 6902 §4.1: "add" replaces an existing member, and also works when the Scale
          // object omits replicas (0 is omitempty in autoscaling/v1 Scale), where "replace" fails.
          body: [{ op: 'add', path: '/spec/replicas', value: replicas }],
        },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      )
      .then(
        () => {
          this.options.logger.debug('scaled', { revision: key, replicas });
        },
        (err: unknown) => {
          this.options.logger.warn('scaling failed', { revision: key, replicas, error: describeError(err) });
        },
      )
      .finally(() => {
        req.inFlight = false;
        if (req.pending && this.scales.get(key) === req && !this.closed) this.sendScale(key, req);
      });
  }

  // ---- endpoints and status -------------------------------------------------------------------------

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.closed) this.recompute();
    });
  }

  private recompute(): void {
    const podsByRevision = new Map<RevisionKey, V1Pod[]>();
    for (const pod of this.pods.list()) {
      const rev = pod.metadata?.labels?.[REVISION_LABEL];
      if (rev === undefined) continue;
      const key = `${pod.metadata?.namespace ?? ''}/${rev}`;
      const list = podsByRevision.get(key) ?? [];
      list.push(pod);
      podsByRevision.set(key, list);
    }
    for (const r of this.revisions.values()) {
      const { namespace, name } = r.spec;
      const deployment = this.deployments.get(namespace, deploymentName(name));
      if (deployment !== undefined) r.seen = true;
      else if (r.seen && this.deployments.isSynced) {
        // Deleted behind our back (not by remove()): put it back, as Knative's reconciler does.
        r.seen = false;
        r.applied = false;
        this.options.logger.warn('the Deployment of a live revision disappeared; recreating it', {
          revision: r.spec.key,
        });
        this.sync(r);
      }
      this.observe(r, deployment, podsByRevision.get(r.spec.key) ?? []);
    }
    const draining = this.draining().join('\n');
    if (draining !== this.drainingKey) {
      this.drainingKey = draining;
      this.options.onDrainingChange?.();
    }
  }

  private observeOne(r: Revision): void {
    const { namespace, name } = r.spec;
    const pods = this.pods
      .list()
      .filter((p) => p.metadata?.namespace === namespace && p.metadata.labels?.[REVISION_LABEL] === name);
    const deployment = this.deployments.get(namespace, deploymentName(name));
    if (deployment !== undefined) r.seen = true;
    this.observe(r, deployment, pods);
  }

  private observe(r: Revision, deployment: V1Deployment | undefined, pods: readonly V1Pod[]): void {
    const spec = r.spec;
    const ready: Endpoint[] = [];
    const draining: string[] = [];
    let pending = 0;
    for (const pod of pods) {
      const podName = pod.metadata?.name ?? '';
      if (pod.metadata?.deletionTimestamp != null) continue;
      if (pod.metadata?.annotations?.[DRAINING_ANNOTATION] === 'true') {
        draining.push(podName);
        continue;
      }
      const ip = pod.status?.podIP ?? '';
      if (isPodReady(pod) && ip !== '') {
        ready.push({ id: podName, host: ip, port: containerPort(pod) ?? spec.container.port });
      } else if (pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed') pending++;
    }
    ready.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    draining.sort();
    if (ready.length > 0 || draining.length > 0 || (deployment?.status?.readyReplicas ?? 0) > 0)
      r.everReady = true;
    r.draining = draining;
    if (canonicalJson(ready) !== canonicalJson(r.endpoints)) {
      r.endpoints = Object.freeze(ready);
      this.options.listener.endpoints(spec.key, r.endpoints);
    }
    const status: RevisionRuntimeStatus = {
      key: spec.key,
      desiredReplicas: deployment?.spec?.replicas ?? 0,
      readyReplicas: ready.length,
      pendingReplicas: pending,
      everReady: r.everReady,
      failure: ready.length > 0 ? null : failureOf(deployment, pods),
    };
    const statusKey = canonicalJson(status) ?? '';
    if (statusKey !== r.statusKey) {
      r.statusKey = statusKey;
      r.status = status;
      this.options.listener.status(status);
    }
  }
}

// ---- pure helpers ------------------------------------------------------------------------------------

export function deploymentName(revision: string): string {
  return childName(revision, '-deployment');
}

function splitKey(key: RevisionKey): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** Knative's labels on a revision's Deployment and pods (pkg/reconciler/revision/resources/meta.go). */
export function revisionLabels(spec: RevisionSpec): Record<string, string> {
  return {
    [SERVICE_LABEL]: spec.service,
    [CONFIGURATION_LABEL]: spec.service,
    [CONFIGURATION_GENERATION_LABEL]: String(spec.generation),
    [REVISION_LABEL]: spec.name,
  };
}

/** The Deployment of a revision (Knative MakeDeployment, without the queue-proxy sidecar). */
export function buildDeployment(
  spec: RevisionSpec,
  owner: OwnerService,
  replicas: number,
  defaultProgressDeadlineSeconds = DEFAULT_PROGRESS_DEADLINE_SECONDS,
): V1Deployment {
  const c = spec.container;
  const labels = revisionLabels(spec);
  const annotated = spec.annotations[PROGRESS_DEADLINE_ANNOTATION];
  const annotatedMs = annotated === undefined ? null : parseGoDurationMs(annotated);
  const progressDeadlineSeconds =
    annotatedMs !== null && annotatedMs > 0 ? Math.ceil(annotatedMs / 1000) : defaultProgressDeadlineSeconds;
  const container: V1Container = {
    name: USER_CONTAINER,
    image: c.image,
    env: [
      ...c.env.map((e) => ({ name: e.name, value: e.value })),
      // Knative sets these on the user container (revision/resources/deploy.go); they are reserved
      // names, so validation already keeps users from setting them.
      { name: 'PORT', value: String(c.port) },
      { name: 'K_REVISION', value: spec.name },
      { name: 'K_CONFIGURATION', value: spec.service },
      { name: 'K_SERVICE', value: spec.service },
    ],
    ports: [{ name: 'user-port', containerPort: c.port, protocol: 'TCP' }],
    // Without Knative's queue-proxy, the kubelet probes the app's port itself.
    readinessProbe: {
      tcpSocket: { port: c.port },
      periodSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    },
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  // Only when asked for: a Deployment without them keeps the spec hash it had before kedge knew them.
  if (c.resources !== undefined) {
    const { requests, limits } = c.resources;
    container.resources = {
      ...(Object.keys(requests).length > 0 ? { requests: { ...requests } } : {}),
      ...(Object.keys(limits).length > 0 ? { limits: { ...limits } } : {}),
    };
  }
  if (c.command.length > 0) container.command = [...c.command];
  if (c.args.length > 0) container.args = [...c.args];
  // A relative workingDir is local mode's (relative to the YAML file, e.g. the hello world's
  // `workingDir: .`); in a container it means nothing and runc rejects it, so the image's own
  // WORKDIR applies and the same YAML runs unchanged on a cluster.
  if (c.workingDir.startsWith('/')) container.workingDir = c.workingDir;
  const podSpec = {
    containers: [container],
    // Knative: the pod gets the revision's timeout to finish in-flight requests on shutdown.
    terminationGracePeriodSeconds: spec.timeoutSeconds,
    // Knative config-defaults enable-service-links: false.
    enableServiceLinks: false,
  };
  const template = { metadata: { labels, annotations: { ...spec.annotations } }, spec: podSpec };
  const hash = canonicalJson({ labels, template, progressDeadlineSeconds, owner }) ?? '';
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: deploymentName(spec.name),
      namespace: spec.namespace,
      labels,
      annotations: { [SPEC_HASH_ANNOTATION]: shortHash(hash) },
      ownerReferences: [
        {
          apiVersion: 'serving.knative.dev/v1',
          kind: 'Service',
          name: owner.name,
          uid: owner.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      replicas,
      selector: { matchLabels: { [REVISION_LABEL]: spec.name } },
      progressDeadlineSeconds,
      // Knative: surge, never go below the current capacity while rolling.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '100%' } },
      template,
    },
  };
}

/** FNV-1a, 32 bits, hex: a change detector for an annotation, not a security boundary. */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

export function isPodReady(pod: V1Pod): boolean {
  return (
    pod.status?.phase === 'Running' &&
    (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

function userContainerStatus(
  pod: V1Pod,
): NonNullable<NonNullable<V1Pod['status']>['containerStatuses']>[number] | undefined {
  const all = pod.status?.containerStatuses ?? [];
  return all.find((s) => s.name === USER_CONTAINER) ?? all[0];
}

/** The user container's port as the pod declares it. */
export function containerPort(pod: V1Pod): number | undefined {
  const containers = pod.spec?.containers ?? [];
  const c = containers.find((x) => x.name === USER_CONTAINER) ?? containers[0];
  return c?.ports?.[0]?.containerPort;
}

/** Why a revision with no ready pod cannot get one (Knative revision reconcile_resources.go). */
export function failureOf(
  deployment: V1Deployment | undefined,
  pods: readonly V1Pod[],
): RevisionFailure | null {
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp != null) continue;
    const scheduled = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
    if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
      return { reason: 'Unschedulable', message: scheduled.message ?? 'the pod cannot be scheduled' };
    }
    const cs = userContainerStatus(pod);
    const terminated = cs?.lastState?.terminated ?? cs?.state?.terminated;
    if (terminated !== undefined && terminated.exitCode !== 0) {
      return {
        reason: `ExitCode${terminated.exitCode}`,
        message: `Container failed with: ${(terminated.message ?? terminated.reason ?? '').trim()}`,
      };
    }
    const waiting = cs?.state?.waiting;
    if (waiting?.reason !== undefined && FATAL_WAITING_REASONS.has(waiting.reason)) {
      return { reason: waiting.reason, message: waiting.message ?? waiting.reason };
    }
  }
  const progressing = (deployment?.status?.conditions ?? []).find((c) => c.type === 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    // Knative revision_lifecycle.go: "Initial scale was never achieved" when the first rollout stalls.
    return {
      reason: 'ProgressDeadlineExceeded',
      message: progressing.message ?? 'Initial scale was never achieved',
    };
  }
  return null;
}
