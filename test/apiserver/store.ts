// In-memory storage with the semantics clients depend on (API conventions, "Concurrency Control
// and Consistency"; API concepts, "Efficient detection of changes"):
//  - one global resourceVersion counter, bumped by every write, handed out as an opaque string;
//  - a bounded history of events, so a watch from an old resourceVersion either replays exactly the
//    events after it or fails with 410 Expired once that history has been dropped;
//  - optimistic concurrency (409 Conflict on a stale resourceVersion), generation rules, the
//    status and scale subresources, finalizers and owner-reference garbage collection.
import { randomBytes, randomUUID } from 'node:crypto';
import { ApiError, alreadyExists, badRequest, conflict, invalid, notFound } from './errors.js';
import {
  clone,
  deepEqual,
  deleteKey,
  getObject,
  getPath,
  getString,
  isObject,
  scalarText,
  setPath,
  type Json,
  type JsonObject,
} from './json.js';
import {
  BUILTIN_RESOURCES,
  CRD_STORAGE_KEY,
  NAMESPACE_STORAGE_KEY,
  crdResources,
  prune,
  validateCrd,
  type ResourceDef,
} from './resources.js';
import {
  formatLabelSelector,
  matchesFields,
  matchesLabels,
  type FieldRequirement,
  type LabelSelector,
} from './selectors.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface StoredEvent {
  rv: number;
  storageKey: string;
  type: EventType;
  object: JsonObject;
  /** The object before a MODIFIED, so a selector watch can turn it into ADDED or DELETED. */
  previous: JsonObject | undefined;
}

export interface Filter {
  namespace: string | undefined;
  labels: LabelSelector;
  fields: readonly FieldRequirement[];
}

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export interface WriteOptions {
  dryRun: boolean;
}

interface Watcher {
  storageKey: string;
  filter: Filter;
  send: (type: EventType, object: JsonObject) => void;
}

/** A fixed-capacity FIFO of events; pushing into a full ring drops (and returns) the oldest. */
class EventRing {
  private readonly items: (StoredEvent | undefined)[];
  private head = 0;
  private size = 0;
  constructor(readonly capacity: number) {
    this.items = new Array<StoredEvent | undefined>(capacity);
  }
  push(e: StoredEvent): StoredEvent | undefined {
    let dropped: StoredEvent | undefined;
    if (this.size === this.capacity) {
      dropped = this.items[this.head];
      this.head = (this.head + 1) % this.capacity;
      this.size--;
    }
    this.items[(this.head + this.size) % this.capacity] = e;
    this.size++;
    return dropped;
  }
  clear(): void {
    this.items.fill(undefined);
    this.head = 0;
    this.size = 0;
  }
  *since(rv: number): Generator<StoredEvent> {
    for (let i = 0; i < this.size; i++) {
      const e = this.items[(this.head + i) % this.capacity];
      if (e !== undefined && e.rv > rv) yield e;
    }
  }
}

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789'; // apiserver's generateName alphabet: no vowels, no 0/1/3
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function nowTimestamp(): string {
  // metav1.Time marshals as RFC 3339 with second precision.
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function metadataOf(obj: JsonObject): JsonObject {
  return getObject(obj, 'metadata') ?? {};
}

export class Store {
  private rv = 0;
  /** Every event with a resourceVersion above this one is still in `history`. */
  private compactedRv = 0;
  private readonly history: EventRing;
  private readonly objects = new Map<string, Map<string, JsonObject>>();
  private readonly byUid = new Map<string, { def: ResourceDef; key: string }>();
  private readonly resources = new Map<string, ResourceDef>();
  private readonly watchers = new Set<Watcher>();
  /** Server-side apply: each field manager's last applied configuration, per object uid. */
  private readonly applied = new Map<string, JsonObject>();
  private gcScheduled = false;
  private nextClusterIp = 1;

  constructor(maxEventHistory: number) {
    this.history = new EventRing(Math.max(1, maxEventHistory));
    for (const def of BUILTIN_RESOURCES) this.resources.set(gvrKey(def.group, def.version, def.plural), def);
    const ns = this.lookup('', 'v1', 'namespaces');
    if (ns === undefined) throw new Error('namespaces missing from BUILTIN_RESOURCES');
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.create(
        ns,
        undefined,
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
        { dryRun: false },
      );
    }
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  lookup(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.resources.get(gvrKey(group, version, plural));
  }

  allResources(): ResourceDef[] {
    return [...this.resources.values()];
  }

  /** Forgets the watch history: a watch from any resourceVersion before now gets 410 Expired. */
  compact(): void {
    this.history.clear();
    this.compactedRv = this.rv;
  }

  get(def: ResourceDef, namespace: string | undefined, name: string): JsonObject {
    const obj = this.bucket(def).get(objectKey(def, namespace, name));
    if (obj === undefined) throw notFound(def, name);
    return present(def, obj);
  }

  list(def: ResourceDef, filter: Filter): JsonObject[] {
    const out: JsonObject[] = [];
    for (const obj of this.bucket(def).values()) if (matches(obj, filter)) out.push(present(def, obj));
    // Code-point order of namespace/name, like etcd's key order; list `continue` tokens rely on it.
    return out.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
  }

  create(def: ResourceDef, namespace: string | undefined, input: JsonObject, opts: WriteOptions): JsonObject {
    checkTypeMeta(def, input);
    const obj = clone(input);
    const meta = getObject(obj, 'metadata') ?? {};
    obj['metadata'] = meta;
    this.checkNamespace(def, namespace, meta);
    let name = getString(meta, 'name') ?? '';
    const generateName = getString(meta, 'generateName');
    if (name === '' && generateName !== undefined) {
      // apiserver: generateName plus five random characters, retried on collision.
      do {
        const bytes = randomBytes(5);
        name = generateName + [...bytes].map((b) => NAME_CHARS[b % NAME_CHARS.length] ?? 'x').join('');
      } while (this.bucket(def).has(objectKey(def, namespace, name)));
    }
    if (name === '')
      throw invalid(def, '', [
        { field: 'metadata.name', message: 'Required value: name or generateName is required' },
      ]);
    this.validateName(def, name);
    const key = objectKey(def, namespace, name);
    if (this.bucket(def).has(key)) throw alreadyExists(def, name);
    if (def.storageKey === CRD_STORAGE_KEY) {
      const errors = validateCrd(obj);
      if (errors.length > 0) throw invalid(def, name, errors);
    }
    meta['name'] = name;
    if (def.namespaced && namespace !== undefined) meta['namespace'] = namespace;
    else delete meta['namespace'];
    meta['uid'] = randomUUID();
    meta['creationTimestamp'] = nowTimestamp();
    delete meta['deletionTimestamp'];
    delete meta['deletionGracePeriodSeconds'];
    delete meta['managedFields'];
    if (def.generation !== 'none') meta['generation'] = 1;
    else delete meta['generation'];
    // Status is written only through the status subresource (API conventions, "Spec and Status").
    if (def.status) delete obj['status'];
    this.applyDefaults(def, obj);
    const stored = this.normalize(def, obj);
    validateKind(def, stored, name);
    if (opts.dryRun) return present(def, stored);
    this.store(def, key, stored, 'ADDED', undefined);
    if (def.storageKey === CRD_STORAGE_KEY) this.registerCrd(stored);
    return present(def, stored);
  }

  /**
   * PUT of the main resource (`subresource` undefined) or of its status. The new object's
   * resourceVersion, when set, must equal the stored one; this is the only lock clients have.
   */
  update(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    input: JsonObject,
    subresource: 'status' | undefined,
    opts: WriteOptions,
  ): JsonObject {
    checkTypeMeta(def, input);
    const key = objectKey(def, namespace, name);
    const old = this.bucket(def).get(key);
    if (old === undefined) throw notFound(def, name);
    const inMeta = getObject(input, 'metadata') ?? {};
    const inName = getString(inMeta, 'name');
    if (inName !== undefined && inName !== name) {
      throw badRequest(`the name of the object (${inName}) does not match the name on the URL (${name})`);
    }
    const inNamespace = getString(inMeta, 'namespace');
    if (def.namespaced && inNamespace !== undefined && inNamespace !== '' && inNamespace !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    const rv = getString(inMeta, 'resourceVersion');
    if (rv === undefined || rv === '') {
      if (!def.unconditionalUpdate) {
        throw invalid(def, name, [
          {
            field: 'metadata.resourceVersion',
            message: 'Invalid value: 0x0: must be specified for an update',
          },
        ]);
      }
    } else if (rv !== getString(metadataOf(old), 'resourceVersion')) {
      throw conflict(def, name);
    }

    let next: JsonObject;
    if (subresource === 'status') {
      // Status strategies keep everything but status from the stored object.
      next = clone(old);
      if (input['status'] === undefined) delete next['status'];
      else next['status'] = clone(input['status']);
    } else {
      next = clone(input);
      const meta = clone(inMeta);
      next['metadata'] = meta;
      const oldMeta = metadataOf(old);
      for (const field of [
        'name',
        'namespace',
        'uid',
        'creationTimestamp',
        'deletionTimestamp',
        'deletionGracePeriodSeconds',
        'generation',
      ]) {
        const v = oldMeta[field];
        if (v === undefined) deleteKey(meta, field);
        else meta[field] = v;
      }
      delete meta['managedFields'];
      if (def.status) {
        if (old['status'] === undefined) delete next['status'];
        else next['status'] = clone(old['status']);
      }
      this.applyDefaults(def, next);
      if (getString(oldMeta, 'deletionTimestamp') !== undefined) {
        const added = stringList(meta['finalizers']).filter(
          (f) => !stringList(oldMeta['finalizers']).includes(f),
        );
        if (added.length > 0) {
          throw invalid(def, name, [
            {
              field: 'metadata.finalizers',
              message: 'Forbidden: no new finalizers can be added if the object is being deleted',
            },
          ]);
        }
      }
    }
    next = this.normalize(def, next);
    validateKind(def, next, name);
    if (def.storageKey === CRD_STORAGE_KEY && subresource === undefined) {
      const errors = validateCrd(next);
      if (errors.length > 0) throw invalid(def, name, errors);
    }
    const nextMeta = metadataOf(next);
    nextMeta['resourceVersion'] = metadataOf(old)['resourceVersion'] ?? '';
    if (def.generation !== 'none' && generationChanged(def, old, next)) {
      nextMeta['generation'] =
        (typeof metadataOf(old)['generation'] === 'number' ? (metadataOf(old)['generation'] as number) : 0) +
        1;
    }
    // A no-op write stores nothing and sends no event; its resourceVersion stays (apiserver GuaranteedUpdate).
    if (deepEqual(next, old)) return present(def, old);
    if (opts.dryRun) return present(def, next);

    if (
      getString(nextMeta, 'deletionTimestamp') !== undefined &&
      stringList(nextMeta['finalizers']).length === 0
    ) {
      // The last finalizer is gone: the pending deletion completes now.
      return this.remove(def, key, next, 'Background');
    }
    this.store(def, key, next, 'MODIFIED', old);
    if (def.storageKey === CRD_STORAGE_KEY) this.registerCrd(next);
    return present(def, next);
  }

  /**
   * DELETE. Objects with finalizers only get a deletionTimestamp (202 in HTTP terms, `pending`);
   * the rest go at once, and their dependents follow by the propagation policy.
   */
  delete(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    policy: PropagationPolicy,
    preconditions: { uid?: string; resourceVersion?: string },
    opts: WriteOptions,
  ): { object: JsonObject; pending: boolean } {
    const key = objectKey(def, namespace, name);
    const old = this.bucket(def).get(key);
    if (old === undefined) throw notFound(def, name);
    const meta = metadataOf(old);
    if (preconditions.uid !== undefined && preconditions.uid !== getString(meta, 'uid')) {
      throw new ApiError(
        'Conflict',
        `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${getString(meta, 'uid') ?? ''}`,
        { name, group: def.group, kind: def.plural },
      );
    }
    if (
      preconditions.resourceVersion !== undefined &&
      preconditions.resourceVersion !== getString(meta, 'resourceVersion')
    ) {
      throw conflict(def, name);
    }
    if (opts.dryRun) return { object: present(def, old), pending: false };
    if (stringList(meta['finalizers']).length > 0) {
      if (getString(meta, 'deletionTimestamp') !== undefined)
        return { object: present(def, old), pending: true };
      const next = clone(old);
      const nextMeta = metadataOf(next);
      nextMeta['deletionTimestamp'] = nowTimestamp();
      nextMeta['deletionGracePeriodSeconds'] = 0;
      this.store(def, key, next, 'MODIFIED', old);
      return { object: present(def, next), pending: true };
    }
    return { object: this.remove(def, key, old, policy), pending: false };
  }

  /** Reads the autoscaling/v1 Scale view of an object with a scale subresource. */
  getScale(def: ResourceDef, namespace: string | undefined, name: string): JsonObject {
    return scaleOf(def, this.get(def, namespace, name));
  }

  /** Writes `spec.replicas` of a Scale through to its object; a stale resourceVersion conflicts. */
  updateScale(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    scale: JsonObject,
    opts: WriteOptions,
  ): JsonObject {
    const spec = def.scale;
    if (spec === undefined) throw notFound(def, name);
    const current = this.get(def, namespace, name);
    const replicas = getPath(scale, ['spec', 'replicas']);
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw invalid({ group: 'autoscaling', plural: 'scales', kind: 'Scale' }, name, [
        {
          field: 'spec.replicas',
          message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`,
        },
      ]);
    }
    const next = clone(current);
    setPath(next, spec.specReplicasPath, replicas);
    const rv = getString(getObject(scale, 'metadata') ?? {}, 'resourceVersion');
    if (rv !== undefined && rv !== '') metadataOf(next)['resourceVersion'] = rv;
    return scaleOf(def, this.update(def, namespace, name, next, undefined, opts));
  }

  lastApplied(uid: string, manager: string): JsonObject | undefined {
    return this.applied.get(`${uid}/${manager}`);
  }

  rememberApplied(uid: string, manager: string, config: JsonObject): void {
    this.applied.set(`${uid}/${manager}`, clone(config));
  }

  /**
   * Subscribes to changes. `fromRv` undefined means "current state, then changes": a synthetic
   * ADDED for each existing object first. A number replays the history after it, or throws
   * 410 Expired when that part of the history is gone (API concepts, "410 Gone responses").
   */
  watch(def: ResourceDef, filter: Filter, fromRv: number | undefined, send: Watcher['send']): () => void {
    if (fromRv === undefined) {
      for (const obj of this.list(def, filter)) send('ADDED', obj);
    } else {
      if (fromRv < this.compactedRv) {
        throw new ApiError('Expired', `too old resource version: ${fromRv} (${this.compactedRv + 1})`);
      }
      for (const e of this.history.since(fromRv)) {
        if (e.storageKey === def.storageKey) deliver(def, filter, e, send);
      }
    }
    const watcher: Watcher = {
      storageKey: def.storageKey,
      filter,
      send: (type, obj) => {
        send(type, present(def, obj));
      },
    };
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  // ---- internals ----

  private bucket(def: ResourceDef): Map<string, JsonObject> {
    let b = this.objects.get(def.storageKey);
    if (b === undefined) {
      b = new Map();
      this.objects.set(def.storageKey, b);
    }
    return b;
  }

  private store(
    def: ResourceDef,
    key: string,
    obj: JsonObject,
    type: EventType,
    previous: JsonObject | undefined,
  ): void {
    this.rv++;
    const meta = metadataOf(obj);
    meta['resourceVersion'] = String(this.rv);
    Object.freeze(obj);
    const uid = getString(meta, 'uid') ?? '';
    if (type === 'DELETED') {
      this.bucket(def).delete(key);
      this.byUid.delete(uid);
      for (const k of this.applied.keys()) if (k.startsWith(`${uid}/`)) this.applied.delete(k);
    } else {
      this.bucket(def).set(key, obj);
      this.byUid.set(uid, { def, key });
    }
    const event: StoredEvent = { rv: this.rv, storageKey: def.storageKey, type, object: obj, previous };
    const dropped = this.history.push(event);
    if (dropped !== undefined) this.compactedRv = dropped.rv;
    for (const w of this.watchers) {
      if (w.storageKey === def.storageKey) deliver(def, w.filter, event, w.send);
    }
  }

  private remove(def: ResourceDef, key: string, current: JsonObject, policy: PropagationPolicy): JsonObject {
    const uid = getString(metadataOf(current), 'uid') ?? '';
    if (policy === 'Foreground') {
      // Approximates the foregroundDeletion finalizer: dependents are gone before the owner.
      for (const d of this.dependents(uid)) this.remove(d.def, d.key, d.obj, 'Foreground');
    } else if (policy === 'Orphan') {
      for (const d of this.dependents(uid)) {
        const next = clone(d.obj);
        const meta = metadataOf(next);
        const refs = Array.isArray(meta['ownerReferences']) ? meta['ownerReferences'] : [];
        meta['ownerReferences'] = refs.filter((r) => !(isObject(r) && r['uid'] === uid));
        if (meta['ownerReferences'].length === 0) delete meta['ownerReferences'];
        this.store(d.def, d.key, next, 'MODIFIED', d.obj);
      }
    }
    if (def.storageKey === NAMESPACE_STORAGE_KEY)
      this.emptyNamespace(getString(metadataOf(current), 'name') ?? '');
    if (def.storageKey === CRD_STORAGE_KEY) this.unregisterCrd(current);
    const gone = clone(current);
    this.store(def, key, gone, 'DELETED', undefined);
    // The garbage collector runs in the background, after the DELETE has answered (API concepts,
    // "Garbage collection": background cascading deletion).
    if (!this.gcScheduled) {
      this.gcScheduled = true;
      setImmediate(() => {
        this.gcScheduled = false;
        this.collectGarbage();
      });
    }
    return present(def, gone);
  }

  private dependents(uid: string): { def: ResourceDef; key: string; obj: JsonObject }[] {
    const out: { def: ResourceDef; key: string; obj: JsonObject }[] = [];
    for (const { def, key } of this.byUid.values()) {
      const obj = this.bucket(def).get(key);
      if (obj === undefined) continue;
      const refs = metadataOf(obj)['ownerReferences'];
      if (Array.isArray(refs) && refs.some((r) => isObject(r) && r['uid'] === uid))
        out.push({ def, key, obj });
    }
    return out;
  }

  /** Deletes every object whose owners are all gone, repeating until nothing changes. */
  private collectGarbage(): void {
    for (const { def, key } of [...this.byUid.values()]) {
      const obj = this.bucket(def).get(key);
      if (obj === undefined) continue;
      const meta = metadataOf(obj);
      const refs = meta['ownerReferences'];
      if (!Array.isArray(refs) || refs.length === 0) continue;
      const alive = refs.some((r) => isObject(r) && typeof r['uid'] === 'string' && this.byUid.has(r['uid']));
      if (alive || getString(meta, 'deletionTimestamp') !== undefined) continue;
      if (stringList(meta['finalizers']).length > 0) {
        const next = clone(obj);
        metadataOf(next)['deletionTimestamp'] = nowTimestamp();
        this.store(def, key, next, 'MODIFIED', obj);
      } else {
        this.remove(def, key, obj, 'Background');
      }
    }
  }

  /** The namespace controller's job, done at once: everything in the namespace goes with it. */
  private emptyNamespace(namespace: string): void {
    const done = new Set<string>();
    for (const def of this.resources.values()) {
      if (!def.namespaced || done.has(def.storageKey)) continue;
      done.add(def.storageKey);
      for (const [key, obj] of [...this.bucket(def)]) {
        if (getString(metadataOf(obj), 'namespace') === namespace) this.remove(def, key, obj, 'Background');
      }
    }
  }

  private registerCrd(crd: JsonObject): void {
    const defs = crdResources(crd);
    const first = defs[0];
    if (first === undefined) return;
    for (const [k, def] of this.resources) if (def.storageKey === first.storageKey) this.resources.delete(k);
    for (const def of defs) this.resources.set(gvrKey(def.group, def.version, def.plural), def);
  }

  private unregisterCrd(crd: JsonObject): void {
    const [first] = crdResources(crd);
    if (first === undefined) return;
    // apiextensions' customresourcecleanup finalizer: the custom resources go before the CRD.
    for (const [key, obj] of [...this.bucket(first)]) this.remove(first, key, obj, 'Background');
    for (const [k, def] of this.resources) if (def.storageKey === first.storageKey) this.resources.delete(k);
  }

  private checkNamespace(def: ResourceDef, namespace: string | undefined, meta: JsonObject): void {
    if (!def.namespaced) return;
    const inBody = getString(meta, 'namespace');
    if (inBody !== undefined && inBody !== '' && inBody !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    if (namespace === undefined) throw badRequest('a namespace is required to create a namespaced object');
    const nsBucket = this.objects.get(NAMESPACE_STORAGE_KEY);
    if (nsBucket?.has(namespace) !== true) throw notFound({ group: '', plural: 'namespaces' }, namespace);
  }

  private validateName(def: ResourceDef, name: string): void {
    // Namespaces and core Services must be DNS labels; everything else DNS subdomains.
    const label = def.storageKey === NAMESPACE_STORAGE_KEY || def.storageKey === '/services';
    const ok = label
      ? DNS_LABEL.test(name) && name.length <= 63
      : DNS_SUBDOMAIN.test(name) && name.length <= 253;
    if (!ok) {
      const what = label ? 'a lowercase RFC 1123 label' : 'a lowercase RFC 1123 subdomain';
      throw invalid(def, name, [
        { field: 'metadata.name', message: `Invalid value: "${name}": must be ${what}` },
      ]);
    }
  }

  /** The defaults the real server fills in on create and update for the types kedge reads back. */
  private applyDefaults(def: ResourceDef, obj: JsonObject): void {
    switch (def.storageKey) {
      case 'apps/deployments':
      case 'apps/replicasets':
        if (getPath(obj, ['spec', 'replicas']) === undefined) setPath(obj, ['spec', 'replicas'], 1);
        break;
      case '/services':
        if (getPath(obj, ['spec', 'type']) === undefined) setPath(obj, ['spec', 'type'], 'ClusterIP');
        if (
          getPath(obj, ['spec', 'clusterIP']) === undefined &&
          getPath(obj, ['spec', 'type']) !== 'ExternalName'
        ) {
          const n = this.nextClusterIp++;
          setPath(obj, ['spec', 'clusterIP'], `10.96.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`);
        }
        break;
      case NAMESPACE_STORAGE_KEY: {
        if (obj['status'] === undefined) obj['status'] = { phase: 'Active' };
        const meta = metadataOf(obj);
        const labels = isObject(meta['labels']) ? meta['labels'] : {};
        labels['kubernetes.io/metadata.name'] = getString(meta, 'name') ?? '';
        meta['labels'] = labels;
        break;
      }
      case '/pods':
        if (obj['status'] === undefined) obj['status'] = { phase: 'Pending' };
        break;
      case CRD_STORAGE_KEY: {
        const names = getPath(obj, ['spec', 'names']);
        const crdNames = isObject(names) ? clone(names) : {};
        if (crdNames['singular'] === undefined && typeof crdNames['kind'] === 'string')
          crdNames['singular'] = crdNames['kind'].toLowerCase();
        if (crdNames['listKind'] === undefined && typeof crdNames['kind'] === 'string')
          crdNames['listKind'] = `${crdNames['kind']}List`;
        setPath(obj, ['spec', 'names'], crdNames);
        if (obj['status'] === undefined) {
          // apiextensions' establishing controller, done at once: names accepted, CRD established.
          const now = nowTimestamp();
          obj['status'] = {
            acceptedNames: crdNames,
            conditions: [
              {
                type: 'NamesAccepted',
                status: 'True',
                reason: 'NoConflicts',
                message: 'no conflicts found',
                lastTransitionTime: now,
              },
              {
                type: 'Established',
                status: 'True',
                reason: 'InitialNamesAccepted',
                message: 'the initial names have been accepted',
                lastTransitionTime: now,
              },
            ],
            storedVersions: storedVersions(obj),
          };
        }
        break;
      }
      default:
        break;
    }
  }

  /** Custom resources are pruned to their schema and stored under the storage version. */
  private normalize(def: ResourceDef, obj: JsonObject): JsonObject {
    if (def.schema === undefined) return obj;
    const pruned = prune(obj, def.schema, true);
    return isObject(pruned) ? pruned : obj;
  }
}

function storedVersions(crd: JsonObject): Json[] {
  const versions = getPath(crd, ['spec', 'versions']);
  if (!Array.isArray(versions)) return [];
  return versions
    .filter((v) => isObject(v) && v['storage'] === true)
    .map((v) => (isObject(v) ? (v['name'] ?? '') : ''));
}

function gvrKey(group: string, version: string, plural: string): string {
  return `${group}/${version}/${plural}`;
}

function objectKey(def: ResourceDef, namespace: string | undefined, name: string): string {
  return def.namespaced ? `${namespace ?? ''}/${name}` : name;
}

function sortKey(obj: JsonObject): string {
  const meta = metadataOf(obj);
  return `${getString(meta, 'namespace') ?? ''}/${getString(meta, 'name') ?? ''}`;
}

function stringList(v: Json | undefined): string[] {
  return Array.isArray(v) ? v.filter((s) => typeof s === 'string') : [];
}

/** Every served version shares storage: on the way out only apiVersion changes. */
function present(def: ResourceDef, obj: JsonObject): JsonObject {
  const apiVersion = def.group === '' ? def.version : `${def.group}/${def.version}`;
  if (obj['apiVersion'] === apiVersion && obj['kind'] === def.kind) return obj;
  return { ...obj, apiVersion, kind: def.kind };
}

function checkTypeMeta(def: ResourceDef, obj: JsonObject): void {
  const apiVersion = obj['apiVersion'];
  const kind = obj['kind'];
  const group = typeof apiVersion === 'string' && apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  if (apiVersion !== undefined && group !== def.group) {
    throw badRequest(
      `the API version in the data (${scalarText(apiVersion)}) does not match the expected API version (${def.group === '' ? def.version : `${def.group}/${def.version}`})`,
    );
  }
  if (kind !== undefined && kind !== def.kind) {
    throw badRequest(
      `the kind in the data (${scalarText(kind)}) does not match the expected kind (${def.kind})`,
    );
  }
}

/** The few type-specific rules kedge's objects would hit on a real server. */
function validateKind(def: ResourceDef, obj: JsonObject, name: string): void {
  if (def.storageKey !== 'apps/deployments' && def.storageKey !== 'apps/replicasets') return;
  const selector = getPath(obj, ['spec', 'selector']);
  if (!isObject(selector)) throw invalid(def, name, [{ field: 'spec.selector', message: 'Required value' }]);
  const labels = getPath(obj, ['spec', 'template', 'metadata', 'labels']);
  const matchLabels = getObject(selector, 'matchLabels') ?? {};
  const templateLabels = isObject(labels) ? labels : {};
  if (!Object.entries(matchLabels).every(([k, v]) => templateLabels[k] === v)) {
    throw invalid(def, name, [
      { field: 'spec.template.metadata.labels', message: '`selector` does not match template `labels`' },
    ]);
  }
}

function generationChanged(def: ResourceDef, old: JsonObject, next: JsonObject): boolean {
  if (def.generation === 'spec') return !deepEqual(old['spec'], next['spec']);
  const strip = (o: JsonObject): JsonObject => {
    const { metadata: _m, status: _s, ...rest } = o;
    // Without a status subresource, status is part of the content and moves generation too.
    return def.status ? rest : { ...rest, status: o['status'] ?? null };
  };
  return !deepEqual(strip(old), strip(next));
}

function matches(obj: JsonObject, filter: Filter): boolean {
  const meta = metadataOf(obj);
  if (filter.namespace !== undefined && getString(meta, 'namespace') !== filter.namespace) return false;
  const labels = isObject(meta['labels']) ? meta['labels'] : {};
  const textLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') textLabels[k] = v;
  return matchesLabels(filter.labels, textLabels) && matchesFields(filter.fields, obj);
}

/**
 * Sends one stored event through a filtered watch. An object that starts matching arrives as
 * ADDED and one that stops matching as DELETED, as the watch cache does for selector watches.
 */
function deliver(def: ResourceDef, filter: Filter, e: StoredEvent, send: Watcher['send']): void {
  const now = matches(e.object, filter);
  if (e.type !== 'MODIFIED') {
    if (now) send(e.type, present(def, e.object));
    return;
  }
  const before = e.previous !== undefined && matches(e.previous, filter);
  if (now && before) send('MODIFIED', present(def, e.object));
  else if (now) send('ADDED', present(def, e.object));
  else if (before) send('DELETED', present(def, e.object));
}

function scaleOf(def: ResourceDef, obj: JsonObject): JsonObject {
  const spec = def.scale;
  const meta = metadataOf(obj);
  const specReplicas = spec === undefined ? undefined : getPath(obj, spec.specReplicasPath);
  const statusReplicas = spec === undefined ? undefined : getPath(obj, spec.statusReplicasPath);
  const status: JsonObject = { replicas: typeof statusReplicas === 'number' ? statusReplicas : 0 };
  if (spec?.labelSelector !== undefined) {
    const raw = getPath(obj, spec.labelSelector.path);
    const selector =
      spec.labelSelector.form === 'object' ? formatLabelSelector(raw) : typeof raw === 'string' ? raw : '';
    if (selector !== '') status['selector'] = selector;
  }
  const scaleMeta: JsonObject = {};
  for (const f of ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp']) {
    const v = meta[f];
    if (v !== undefined) scaleMeta[f] = v;
  }
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: scaleMeta,
    spec: { replicas: typeof specReplicas === 'number' ? specReplicas : 0 },
    status,
  };
}
