// API discovery, both forms clients use: the legacy one (/api, /apis, then one APIResourceList per
// group version) and aggregated discovery (apidiscovery.k8s.io/v2, every group's resources in the
// answer to /api or /apis), which kubectl 1.26+ asks for through its Accept header (KEP-3352).
import type { Json, JsonObject } from './json.js';
import { VERBS, type ResourceDef } from './resources.js';

const SUBRESOURCE_VERBS = ['get', 'patch', 'update'];

export interface GroupVersions {
  group: string;
  versions: string[];
}

/** Groups in first-registered order, the core group first; versions in registration order. */
export function groupsOf(resources: readonly ResourceDef[]): GroupVersions[] {
  const out: GroupVersions[] = [];
  for (const def of resources) {
    let g = out.find((x) => x.group === def.group);
    if (g === undefined) {
      g = { group: def.group, versions: [] };
      out.push(g);
    }
    if (!g.versions.includes(def.version)) g.versions.push(def.version);
  }
  return out;
}

function groupVersion(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

export function apiVersions(serverAddress: string): JsonObject {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupEntry(g: GroupVersions): JsonObject {
  const versions = g.versions.map((v) => ({ groupVersion: groupVersion(g.group, v), version: v }));
  return { name: g.group, versions, preferredVersion: versions[0] ?? null };
}

export function apiGroupList(resources: readonly ResourceDef[]): JsonObject {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groupsOf(resources)
      .filter((g) => g.group !== '')
      .map(groupEntry),
  };
}

export function apiGroup(resources: readonly ResourceDef[], group: string): JsonObject | undefined {
  const g = groupsOf(resources).find((x) => x.group === group && group !== '');
  return g === undefined ? undefined : { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(g) };
}

export function apiResourceList(
  resources: readonly ResourceDef[],
  group: string,
  version: string,
): JsonObject | undefined {
  const defs = resources.filter((d) => d.group === group && d.version === version);
  if (defs.length === 0) return undefined;
  const list: Json[] = [];
  for (const d of defs) {
    const entry: JsonObject = {
      name: d.plural,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: [...VERBS],
    };
    if (d.shortNames.length > 0) entry['shortNames'] = [...d.shortNames];
    if (d.categories.length > 0) entry['categories'] = [...d.categories];
    list.push(entry);
    if (d.status) {
      list.push({
        name: `${d.plural}/status`,
        singularName: '',
        namespaced: d.namespaced,
        kind: d.kind,
        verbs: SUBRESOURCE_VERBS,
      });
    }
    if (d.scale !== undefined) {
      list.push({
        name: `${d.plural}/scale`,
        singularName: '',
        namespaced: d.namespaced,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        verbs: SUBRESOURCE_VERBS,
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupVersion(group, version),
    resources: list,
  };
}

/** `/api` (core only) or `/apis` (every other group) as an APIGroupDiscoveryList. */
export function aggregatedDiscovery(
  resources: readonly ResourceDef[],
  core: boolean,
  apiVersion: string,
): JsonObject {
  const groups = groupsOf(resources).filter((g) => (g.group === '') === core);
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion,
    metadata: {},
    items: groups.map((g) => ({
      metadata: { name: g.group, creationTimestamp: null },
      versions: g.versions.map((v) => ({
        version: v,
        freshness: 'Current',
        resources: resources
          .filter((d) => d.group === g.group && d.version === v)
          .map((d) => {
            const entry: JsonObject = {
              resource: d.plural,
              responseKind: { group: d.group, version: d.version, kind: d.kind },
              scope: d.namespaced ? 'Namespaced' : 'Cluster',
              singularResource: d.singular,
              verbs: [...VERBS],
            };
            if (d.shortNames.length > 0) entry['shortNames'] = [...d.shortNames];
            if (d.categories.length > 0) entry['categories'] = [...d.categories];
            const subresources: Json[] = [];
            if (d.status) {
              subresources.push({
                subresource: 'status',
                responseKind: { group: d.group, version: d.version, kind: d.kind },
                verbs: SUBRESOURCE_VERBS,
              });
            }
            if (d.scale !== undefined) {
              subresources.push({
                subresource: 'scale',
                responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
                verbs: SUBRESOURCE_VERBS,
              });
            }
            if (subresources.length > 0) entry['subresources'] = subresources;
            return entry;
          }),
      })),
    })),
  };
}
