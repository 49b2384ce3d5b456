/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   client-node 1.x models (V1Deployment, V1Container, ...) are data-only classes; their own examples
   pass object literals, and the API serializes plain JSON either way. */
// KubeSource: the cluster-mode provider. Lists and watches Knative Services in every namespace and
// the config-* ConfigMaps in kedge's own namespace, and publishes the same SourceSnapshot as the
// FileSource, whenever the content changes. Like the FileSource it only publishes: validation and
// reconcile happen downstream.
//
// What a snapshot object holds: the Service as the API server has it (metadata.uid and generation
// included) minus status, resourceVersion and managedFields. Those change on every status write the
// controller makes itself; keeping them would turn each write into another reconcile for nothing.
// The full objects stay available through service().
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import type { Logger } from '../../lib/log.js';
import type { SourceObject, SourceSnapshot } from './file.js';
import { WatchedCollection, type WatchRestartReason, type WatchTuning } from './kube-watch.js';

export const SERVING_GROUP = 'serving.knative.dev';
export const SERVING_VERSION = 'v1';
export const SERVICES_PLURAL = 'services';
/** The ConfigMaps reconcile reads (controller/reconcile.ts); others in the namespace are not ours. */
export const CONFIG_MAP_NAMES: readonly string[] = [
  'config-autoscaler',
  'config-defaults',
  'config-domain',
  'config-gc',
  'config-network',
];

/** A Knative Service as the API server returns it; only the fields kedge reads are typed. */
export interface KubeService extends KubernetesObject {
  spec?: unknown;
  status?: Record<string, unknown>;
}

export interface KubeSourceOptions {
  readonly kc: KubeConfig;
  /** Where the config-* ConfigMaps live (kedge-system by default). */
  readonly namespace: string;
  readonly logger: Logger;
  readonly onWatchRestart?: (resource: string, reason: WatchRestartReason) => void;
  readonly tuning?: Partial<WatchTuning>;
}

export class KubeSource {
  private readonly services: WatchedCollection<KubeService>;
  private readonly configMaps: WatchedCollection<V1ConfigMap>;
  private last: SourceSnapshot = Object.freeze({ objects: Object.freeze([]), errors: Object.freeze([]) });
  private lastText = '';
  private onChange: ((snapshot: SourceSnapshot) => void) | null = null;
  private scheduled = false;
  private stopped = false;

  constructor(options: KubeSourceOptions) {
    const custom = options.kc.makeApiClient(CustomObjectsApi);
    const core = options.kc.makeApiClient(CoreV1Api);
    const changed = (): void => {
      this.schedule();
    };
    this.services = new WatchedCollection<KubeService>({
      kc: options.kc,
      path: `/apis/${SERVING_GROUP}/${SERVING_VERSION}/${SERVICES_PLURAL}`,
      list: async () =>
        (await custom.listClusterCustomObject({
          group: SERVING_GROUP,
          version: SERVING_VERSION,
          plural: SERVICES_PLURAL,
        })) as KubernetesListObject<KubeService>,
      logger: options.logger,
      onChange: changed,
      onRestart: (reason) => options.onWatchRestart?.('services', reason),
      ...(options.tuning === undefined ? {} : { tuning: options.tuning }),
    });
    this.configMaps = new WatchedCollection<V1ConfigMap>({
      kc: options.kc,
      path: `/api/v1/namespaces/${options.namespace}/configmaps`,
      list: () => core.listNamespacedConfigMap({ namespace: options.namespace }),
      logger: options.logger,
      onChange: changed,
      onRestart: (reason) => options.onWatchRestart?.('configmaps', reason),
      ...(options.tuning === undefined ? {} : { tuning: options.tuning }),
    });
  }

  /** Lists both collections, returns the first snapshot, then calls onChange on every change until stop(). */
  async start(onChange: (snapshot: SourceSnapshot) => void): Promise<SourceSnapshot> {
    await Promise.all([this.services.start(), this.configMaps.start()]);
    const first = this.snapshot();
    if (!this.stopped) this.onChange = onChange;
    return first;
  }

  get synced(): boolean {
    return this.services.isSynced && this.configMaps.isSynced;
  }

  /** The Service as last seen, status and resourceVersion included. */
  service(namespace: string, name: string): KubeService | undefined {
    return this.services.get(namespace, name);
  }

  /** Test and operations hook: end both watches; they resume from their resourceVersion. */
  restartWatches(): void {
    this.services.restartWatch();
    this.configMaps.restartWatch();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.onChange = null;
    await Promise.all([this.services.stop(), this.configMaps.stop()]);
  }

  /** Bursts of events (a re-list applies many at once) become one snapshot. */
  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.onChange === null) return;
      const before = this.lastText;
      const snapshot = this.snapshot();
      if (this.lastText !== before) this.onChange(snapshot);
    });
  }

  private snapshot(): SourceSnapshot {
    const objects: SourceObject[] = [];
    const byKey = (a: KubernetesObject, b: KubernetesObject): number => {
      const ka = `${a.metadata?.namespace ?? ''}/${a.metadata?.name ?? ''}`;
      const kb = `${b.metadata?.namespace ?? ''}/${b.metadata?.name ?? ''}`;
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    };
    for (const cm of [...this.configMaps.list()].sort(byKey)) {
      if (!CONFIG_MAP_NAMES.includes(cm.metadata?.name ?? '')) continue;
      objects.push(configMapObject(cm));
    }
    for (const svc of [...this.services.list()].sort(byKey)) objects.push(serviceObject(svc));
    const text = JSON.stringify(objects);
    if (text !== this.lastText) {
      this.lastText = text;
      this.last = Object.freeze({ objects: Object.freeze(objects), errors: Object.freeze([]) });
    }
    return this.last;
  }
}

function serviceObject(svc: KubeService): SourceObject {
  const { status: _status, ...rest } = svc;
  const { resourceVersion: _rv, managedFields: _mf, ...metadata } = svc.metadata ?? {};
  // Items of a list may come without kind (the list carries it); reconcile classifies by it.
  const object = { ...rest, apiVersion: `${SERVING_GROUP}/${SERVING_VERSION}`, kind: 'Service', metadata };
  return Object.freeze({
    origin: `kube:${metadata.namespace ?? ''}/${metadata.name ?? ''}`,
    baseDir: '',
    object: JSON.parse(JSON.stringify(object)) as unknown,
  });
}

/**
 * Only what reconcile reads. A typed list from client-node turns timestamps into Dates while watch
 * events carry strings, so copying more would make a re-list look like a change.
 */
function configMapObject(cm: V1ConfigMap): SourceObject {
  const namespace = cm.metadata?.namespace ?? '';
  const name = cm.metadata?.name ?? '';
  return Object.freeze({
    origin: `kube:${namespace}/${name}`,
    baseDir: '',
    object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: { ...cm.data } },
  });
}
