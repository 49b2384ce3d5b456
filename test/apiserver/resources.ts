// The resource types this server serves: the built-ins kedge needs, plus whatever the stored
// CustomResourceDefinitions declare. A ResourceDef is one (group, version, resource); versions of
// one CRD share a storage key and differ only in apiVersion (conversion strategy None).
import type { GroupResource } from './errors.js';
import { getObject, getPath, getString, isObject, type Json, type JsonObject } from './json.js';
import { AGE_COLUMN, NAME_COLUMN, column, crdColumn, type Column } from './printers.js';

export interface ScaleSpec {
  specReplicasPath: readonly string[];
  statusReplicasPath: readonly string[];
  /** Where the scale's `status.selector` comes from: a LabelSelector object or a string path. */
  labelSelector: { path: readonly string[]; form: 'object' | 'string' } | undefined;
}

export interface ResourceDef extends GroupResource {
  version: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: readonly string[];
  categories: readonly string[];
  /** Objects of every served version of one resource live under this key. */
  storageKey: string;
  status: boolean;
  scale: ScaleSpec | undefined;
  /**
   * When `metadata.generation` moves: on `spec` changes (apps/v1), on any change outside
   * metadata and status (custom resources, per apiextensions' strategy), or never.
   */
  generation: 'spec' | 'content' | 'none';
  /** Custom resources refuse a PUT without metadata.resourceVersion; most built-ins accept it. */
  unconditionalUpdate: boolean;
  fieldLabels: readonly string[];
  columns: readonly Column[];
  /** The CRD's structural schema; unknown fields are pruned on write (apiextensions pruning). */
  schema: JsonObject | undefined;
}

export const VERBS = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
] as const;

function builtin(
  d: Partial<ResourceDef> & Pick<ResourceDef, 'group' | 'version' | 'plural' | 'kind'>,
): ResourceDef {
  const namespaced = d.namespaced ?? true;
  return {
    singular: d.kind.toLowerCase(),
    listKind: `${d.kind}List`,
    namespaced,
    shortNames: [],
    categories: [],
    storageKey: `${d.group}/${d.plural}`,
    status: false,
    scale: undefined,
    generation: 'none',
    unconditionalUpdate: true,
    fieldLabels: namespaced ? ['metadata.name', 'metadata.namespace'] : ['metadata.name'],
    columns: [NAME_COLUMN, AGE_COLUMN],
    schema: undefined,
    ...d,
  };
}

function str(obj: JsonObject, ...path: string[]): string {
  const v = getPath(obj, path);
  return typeof v === 'string' || typeof v === 'number' ? String(v) : '';
}

function num(obj: JsonObject, ...path: string[]): number {
  const v = getPath(obj, path);
  return typeof v === 'number' ? v : 0;
}

function count(obj: JsonObject, ...path: string[]): number {
  const v = getPath(obj, path);
  return isObject(v) ? Object.keys(v).length : Array.isArray(v) ? v.length : 0;
}

const REPLICAS_SCALE: ScaleSpec = {
  specReplicasPath: ['spec', 'replicas'],
  statusReplicasPath: ['status', 'replicas'],
  labelSelector: { path: ['spec', 'selector'], form: 'object' },
};

function podReady(pod: JsonObject): string {
  const statuses = getPath(pod, ['status', 'containerStatuses']);
  const containers = getPath(pod, ['spec', 'containers']);
  const total = Array.isArray(containers) ? containers.length : 0;
  const ready = Array.isArray(statuses)
    ? statuses.filter((s) => isObject(s) && s['ready'] === true).length
    : 0;
  return `${ready}/${total}`;
}

function servicePorts(svc: JsonObject): string {
  const ports = getPath(svc, ['spec', 'ports']);
  if (!Array.isArray(ports) || ports.length === 0) return '<none>';
  return ports.map((p) => (isObject(p) ? `${str(p, 'port')}/${str(p, 'protocol') || 'TCP'}` : '')).join(',');
}

export const BUILTIN_RESOURCES: readonly ResourceDef[] = [
  builtin({
    group: '',
    version: 'v1',
    plural: 'namespaces',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    status: true,
    fieldLabels: ['metadata.name', 'status.phase'],
    columns: [NAME_COLUMN, column('Status', (o) => str(o, 'status', 'phase')), AGE_COLUMN],
  }),
  builtin({
    group: '',
    version: 'v1',
    plural: 'configmaps',
    kind: 'ConfigMap',
    shortNames: ['cm'],
    columns: [
      NAME_COLUMN,
      column('Data', (o) => count(o, 'data') + count(o, 'binaryData'), 'integer'),
      AGE_COLUMN,
    ],
  }),
  builtin({
    group: '',
    version: 'v1',
    plural: 'secrets',
    kind: 'Secret',
    fieldLabels: ['metadata.name', 'metadata.namespace', 'type'],
    columns: [
      NAME_COLUMN,
      column('Type', (o) => str(o, 'type')),
      column('Data', (o) => count(o, 'data'), 'integer'),
      AGE_COLUMN,
    ],
  }),
  builtin({
    group: '',
    version: 'v1',
    plural: 'pods',
    kind: 'Pod',
    shortNames: ['po'],
    categories: ['all'],
    status: true,
    fieldLabels: [
      'metadata.name',
      'metadata.namespace',
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
    columns: [
      NAME_COLUMN,
      column('Ready', podReady),
      column('Status', (o) => str(o, 'status', 'phase')),
      column('Restarts', () => 0, 'integer'),
      AGE_COLUMN,
      column('IP', (o) => str(o, 'status', 'podIP') || '<none>', 'string', 1),
      column('Node', (o) => str(o, 'spec', 'nodeName') || '<none>', 'string', 1),
    ],
  }),
  builtin({
    group: '',
    version: 'v1',
    plural: 'services',
    kind: 'Service',
    shortNames: ['svc'],
    categories: ['all'],
    status: true,
    columns: [
      NAME_COLUMN,
      column('Type', (o) => str(o, 'spec', 'type')),
      column('Cluster-IP', (o) => str(o, 'spec', 'clusterIP') || '<none>'),
      column('External-IP', (o) => str(o, 'spec', 'externalName') || '<none>'),
      column('Port(s)', servicePorts),
      AGE_COLUMN,
    ],
  }),
  builtin({
    group: '',
    version: 'v1',
    plural: 'endpoints',
    kind: 'Endpoints',
    singular: 'endpoints',
    shortNames: ['ep'],
  }),
  builtin({
    group: '',
    version: 'v1',
    plural: 'events',
    kind: 'Event',
    shortNames: ['ev'],
    // kubectl describe lists an object's events with these (core/v1 Event field label conversion).
    fieldLabels: [
      'metadata.name',
      'metadata.namespace',
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
  }),
  builtin({
    group: '',
    version: 'v1',
    plural: 'serviceaccounts',
    kind: 'ServiceAccount',
    shortNames: ['sa'],
  }),
  builtin({
    group: 'apps',
    version: 'v1',
    plural: 'deployments',
    kind: 'Deployment',
    shortNames: ['deploy'],
    categories: ['all'],
    status: true,
    scale: REPLICAS_SCALE,
    generation: 'spec',
    columns: [
      NAME_COLUMN,
      column('Ready', (o) => `${num(o, 'status', 'readyReplicas')}/${num(o, 'spec', 'replicas')}`),
      column('Up-to-date', (o) => num(o, 'status', 'updatedReplicas'), 'integer'),
      column('Available', (o) => num(o, 'status', 'availableReplicas'), 'integer'),
      AGE_COLUMN,
    ],
  }),
  builtin({
    group: 'apps',
    version: 'v1',
    plural: 'replicasets',
    kind: 'ReplicaSet',
    shortNames: ['rs'],
    categories: ['all'],
    status: true,
    scale: REPLICAS_SCALE,
    generation: 'spec',
  }),
  builtin({ group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease' }),
  builtin({
    group: 'apiextensions.k8s.io',
    version: 'v1',
    plural: 'customresourcedefinitions',
    kind: 'CustomResourceDefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    status: true,
    generation: 'spec',
    columns: [
      NAME_COLUMN,
      {
        name: 'Created At',
        type: 'date',
        format: '',
        description: 'creation time',
        priority: 0,
        cell: (o) => str(o, 'metadata', 'creationTimestamp'),
      },
    ],
  }),
];

export const CRD_STORAGE_KEY = 'apiextensions.k8s.io/customresourcedefinitions';
export const NAMESPACE_STORAGE_KEY = '/namespaces';

/** Validation failures of a CRD, as `field: message` pairs (apiextensions validation, much reduced). */
export function validateCrd(crd: JsonObject): { field: string; message: string }[] {
  const errors: { field: string; message: string }[] = [];
  const spec = getObject(crd, 'spec');
  const names = spec === undefined ? undefined : getObject(spec, 'names');
  const group = getString(spec, 'group');
  const plural = getString(names, 'plural');
  if (group === undefined || group === '') errors.push({ field: 'spec.group', message: 'Required value' });
  if (plural === undefined || plural === '')
    errors.push({ field: 'spec.names.plural', message: 'Required value' });
  if (getString(names, 'kind') === undefined)
    errors.push({ field: 'spec.names.kind', message: 'Required value' });
  const scope = getString(spec, 'scope');
  if (scope !== 'Namespaced' && scope !== 'Cluster') {
    errors.push({ field: 'spec.scope', message: 'Unsupported value: must be "Namespaced" or "Cluster"' });
  }
  const name = getString(getObject(crd, 'metadata') ?? {}, 'name');
  if (group !== undefined && plural !== undefined && name !== `${plural}.${group}`) {
    errors.push({ field: 'metadata.name', message: `must be spec.names.plural+"."+spec.group` });
  }
  const versions = spec?.['versions'];
  if (!Array.isArray(versions) || versions.length === 0) {
    errors.push({
      field: 'spec.versions',
      message: 'Required value: must have exactly one version marked as storage version',
    });
  } else if (versions.filter((v) => isObject(v) && v['storage'] === true).length !== 1) {
    errors.push({
      field: 'spec.versions',
      message: 'Invalid value: must have exactly one version marked as storage version',
    });
  }
  return errors;
}

/** One ResourceDef per served version of a (valid) CRD. */
export function crdResources(crd: JsonObject): ResourceDef[] {
  const spec = getObject(crd, 'spec') ?? {};
  const names = getObject(spec, 'names') ?? {};
  const group = getString(spec, 'group') ?? '';
  const plural = getString(names, 'plural') ?? '';
  const kind = getString(names, 'kind') ?? '';
  const versions = Array.isArray(spec['versions']) ? spec['versions'].filter(isObject) : [];
  const strings = (v: Json | undefined): string[] =>
    Array.isArray(v) ? v.filter((s) => typeof s === 'string') : [];
  return versions
    .filter((v) => v['served'] === true)
    .map((v) => {
      const subresources = getObject(v, 'subresources') ?? {};
      const scale = getObject(subresources, 'scale');
      const columnsSpec = Array.isArray(v['additionalPrinterColumns'])
        ? v['additionalPrinterColumns'].filter(isObject)
        : [];
      const schema = getObject(getObject(v, 'schema') ?? {}, 'openAPIV3Schema');
      const dotted = (p: string | undefined): string[] => (p ?? '').replace(/^\./, '').split('.');
      return {
        group,
        version: getString(v, 'name') ?? '',
        plural,
        singular: getString(names, 'singular') ?? kind.toLowerCase(),
        kind,
        listKind: getString(names, 'listKind') ?? `${kind}List`,
        namespaced: spec['scope'] === 'Namespaced',
        shortNames: strings(names['shortNames']),
        categories: strings(names['categories']),
        storageKey: `${group}/${plural}`,
        status: getObject(subresources, 'status') !== undefined,
        scale:
          scale === undefined
            ? undefined
            : {
                specReplicasPath: dotted(getString(scale, 'specReplicasPath')),
                statusReplicasPath: dotted(getString(scale, 'statusReplicasPath')),
                labelSelector:
                  getString(scale, 'labelSelectorPath') === undefined
                    ? undefined
                    : { path: dotted(getString(scale, 'labelSelectorPath')), form: 'string' },
              },
        generation: 'content',
        unconditionalUpdate: false,
        fieldLabels:
          spec['scope'] === 'Namespaced' ? ['metadata.name', 'metadata.namespace'] : ['metadata.name'],
        // apiextensions-apiserver: NAME, then the declared columns, else a default AGE column.
        columns: [NAME_COLUMN, ...(columnsSpec.length > 0 ? columnsSpec.map(crdColumn) : [AGE_COLUMN])],
        schema,
      };
    });
}

/**
 * Structural-schema pruning (apiextensions "Pruning versus preserving unknown fields"): drops
 * fields the schema does not declare, except under `x-kubernetes-preserve-unknown-fields: true`.
 * apiVersion, kind and metadata at the root are never pruned.
 */
export function prune(value: Json, schema: JsonObject | undefined, root = false): Json {
  if (schema === undefined || schema['x-kubernetes-preserve-unknown-fields'] === true) {
    if (!isObject(value) || schema === undefined) return value;
  }
  if (Array.isArray(value)) {
    const items = getObject(schema, 'items');
    return value.map((v) => prune(v, items));
  }
  if (!isObject(value)) return value;
  const properties = getObject(schema, 'properties');
  const additional = getObject(schema, 'additionalProperties');
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) {
    if (root && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) {
      out[key] = v;
      continue;
    }
    const sub = properties === undefined ? undefined : getObject(properties, key);
    if (sub !== undefined) out[key] = prune(v, sub);
    else if (additional !== undefined) out[key] = prune(v, additional);
    else if (preserve || (properties === undefined && schema['additionalProperties'] === true)) out[key] = v;
  }
  return out;
}
