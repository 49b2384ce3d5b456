// The four patch types the real server accepts on PATCH, chosen by Content-Type:
//  - application/merge-patch+json: RFC 7386, exactly.
//  - application/json-patch+json: RFC 6902, exactly (pointers per RFC 6901).
//  - application/strategic-merge-patch+json: an approximation of Kubernetes' strategic merge patch:
//    a merge patch, except lists of objects are merged item by item on their merge key (`name`
//    for containers/env/volumes, `type` for conditions, …), and the `$patch`, `$retainKeys`,
//    `$setElementOrder/…` and `$deleteFromPrimitiveList/…` directives that kubectl sends are honoured.
//  - application/apply-patch+yaml: server-side apply approximated as a three-way merge from the
//    field manager's previous applied configuration (see `applyConfiguration`); no conflict detection.
import { ApiError } from './errors.js';
import { clone, deepEqual, deleteKey, isObject, scalarText, type Json, type JsonObject } from './json.js';

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

export const PATCH_CONTENT_TYPES: Readonly<Record<string, PatchType>> = {
  'application/merge-patch+json': 'merge',
  'application/json-patch+json': 'json',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

/** RFC 7386 section 2: null deletes, objects recurse, anything else replaces. */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) deleteKey(out, key);
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** RFC 6902. Throws `ApiError` 422 (as the real server does) when an operation cannot apply. */
export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new ApiError('BadRequest', 'json patch must be an array of operations');
  let doc = clone(target);
  for (const op of ops) {
    if (!isObject(op) || typeof op['op'] !== 'string' || typeof op['path'] !== 'string') {
      throw new ApiError('BadRequest', `invalid json patch operation: ${JSON.stringify(op)}`);
    }
    const path = op['path'];
    switch (op['op']) {
      case 'add':
        doc = pointerAdd(doc, path, requireValue(op));
        break;
      case 'remove':
        doc = pointerRemove(doc, path).doc;
        break;
      case 'replace':
        doc = pointerRemove(doc, path).doc;
        doc = pointerAdd(doc, path, requireValue(op));
        break;
      case 'move': {
        const from = requireFrom(op);
        const removed = pointerRemove(doc, from);
        doc = pointerAdd(removed.doc, path, removed.value);
        break;
      }
      case 'copy':
        doc = pointerAdd(doc, path, clone(pointerGet(doc, requireFrom(op))));
        break;
      case 'test':
        if (!deepEqual(pointerGet(doc, path), requireValue(op))) {
          throw patchFailed(`testing value ${path} failed`);
        }
        break;
      default:
        throw new ApiError('BadRequest', `unexpected json patch operation: ${op['op']}`);
    }
  }
  return doc;
}

function patchFailed(message: string): ApiError {
  return new ApiError(
    'Invalid',
    `the server rejected our request due to an error in our request: ${message}`,
  );
}

function requireValue(op: JsonObject): Json {
  const v = op['value'];
  if (v === undefined) throw new ApiError('BadRequest', `json patch ${scalarText(op['op'])} needs a value`);
  return clone(v);
}

function requireFrom(op: JsonObject): string {
  const from = op['from'];
  if (typeof from !== 'string')
    throw new ApiError('BadRequest', `json patch ${scalarText(op['op'])} needs from`);
  return from;
}

/** RFC 6901: `/a/b~1c` → ['a', 'b/c']. */
function tokens(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw patchFailed(`invalid pointer ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function pointerGet(doc: Json, pointer: string): Json {
  let cur: Json = doc;
  for (const t of tokens(pointer)) {
    const next: Json | undefined = Array.isArray(cur) ? cur[Number(t)] : isObject(cur) ? cur[t] : undefined;
    if (next === undefined) throw patchFailed(`path ${pointer} does not exist`);
    cur = next;
  }
  return cur;
}

function parentOf(doc: Json, pointer: string): { parent: Json; last: string } {
  const ts = tokens(pointer);
  const last = ts.pop();
  if (last === undefined) return { parent: null, last: '' };
  const parentPointer = ts.map((t) => '/' + t.replaceAll('~', '~0').replaceAll('/', '~1')).join('');
  return { parent: pointerGet(doc, parentPointer), last };
}

function pointerAdd(doc: Json, pointer: string, value: Json): Json {
  if (pointer === '') return value;
  const { parent, last } = parentOf(doc, pointer);
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(index) || index < 0 || index > parent.length) {
      throw patchFailed(`index ${last} out of range in ${pointer}`);
    }
    parent.splice(index, 0, value);
  } else if (isObject(parent)) parent[last] = value;
  else throw patchFailed(`path ${pointer} has no parent object`);
  return doc;
}

function pointerRemove(doc: Json, pointer: string): { doc: Json; value: Json } {
  const value = pointerGet(doc, pointer);
  if (pointer === '') return { doc: null, value };
  const { parent, last } = parentOf(doc, pointer);
  if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else if (isObject(parent)) deleteKey(parent, last);
  return { doc, value };
}

/**
 * Merge keys of the list fields kedge and kubectl touch, from the `patchMergeKey` tags in
 * k8s.io/api. A list not named here is merged on `name` when every item has one, else replaced.
 */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  conditions: 'type',
  ownerReferences: 'uid',
  hostAliases: 'ip',
};

function mergeKeyFor(field: string, items: readonly Json[]): string | undefined {
  const known = MERGE_KEYS[field];
  if (known !== undefined) return known;
  return items.length > 0 && items.every((i) => isObject(i) && typeof i['name'] === 'string')
    ? 'name'
    : undefined;
}

export function strategicMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  if (patch['$patch'] === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return clone(rest);
  }
  if (patch['$patch'] === 'delete') return null;
  const out: JsonObject = isObject(target) ? clone(target) : {};
  const retain = patch['$retainKeys'];
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const list = out[field];
      if (Array.isArray(list) && Array.isArray(value)) {
        out[field] = list.filter((item) => !value.some((v) => deepEqual(v, item)));
      }
      continue;
    }
    if (value === null) {
      deleteKey(out, key);
      continue;
    }
    const current = out[key];
    if (Array.isArray(value)) {
      const mergeKey = mergeKeyFor(key, Array.isArray(current) && current.length > 0 ? current : value);
      out[key] =
        mergeKey !== undefined && Array.isArray(current)
          ? mergeListByKey(current, value, mergeKey)
          : clone(value);
      continue;
    }
    const merged = strategicMergePatch(current, value);
    if (merged === null) deleteKey(out, key);
    else out[key] = merged;
  }
  if (Array.isArray(retain)) {
    for (const key of Object.keys(out)) if (!retain.includes(key)) deleteKey(out, key);
  }
  return out;
}

function mergeListByKey(current: readonly Json[], patch: readonly Json[], mergeKey: string): Json[] {
  const out = current.map((item) => clone(item));
  for (const item of patch) {
    if (!isObject(item)) continue;
    const key = item[mergeKey];
    const index = out.findIndex((c) => isObject(c) && deepEqual(c[mergeKey], key));
    if (item['$patch'] === 'delete') {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    if (index >= 0) {
      const merged = strategicMergePatch(out[index], item);
      if (merged !== null) out[index] = merged;
    } else {
      const { $patch: _ignored, ...rest } = item;
      out.push(clone(rest));
    }
  }
  return out;
}

/**
 * Server-side apply, approximated: fields the manager applied last time and no longer applies are
 * removed from the live object, then the new configuration is merged in (lists of keyed objects
 * item by item). The real server tracks ownership per field in `managedFields` and reports
 * conflicts between managers; this server lets the last applier win, like `--force-conflicts`.
 */
export function applyConfiguration(
  live: JsonObject,
  lastApplied: JsonObject | undefined,
  applied: JsonObject,
): JsonObject {
  const pruned = lastApplied === undefined ? clone(live) : removeDropped(live, lastApplied, applied);
  const merged = strategicMergePatch(pruned, applied);
  return isObject(merged) ? merged : {};
}

function removeDropped(live: JsonObject, last: JsonObject, applied: JsonObject): JsonObject {
  const out = clone(live);
  for (const [key, lastValue] of Object.entries(last)) {
    const now = applied[key];
    if (now === undefined) {
      deleteKey(out, key);
    } else if (isObject(lastValue) && isObject(now) && isObject(out[key])) {
      out[key] = removeDropped(out[key], lastValue, now);
    } else if (Array.isArray(lastValue) && Array.isArray(now) && Array.isArray(out[key])) {
      const mergeKey = mergeKeyFor(key, lastValue);
      if (mergeKey === undefined) continue;
      const keep = new Set(now.map((i) => (isObject(i) ? JSON.stringify(i[mergeKey]) : '')));
      const dropped = new Set(
        lastValue.map((i) => (isObject(i) ? JSON.stringify(i[mergeKey]) : '')).filter((k) => !keep.has(k)),
      );
      out[key] = out[key].filter((i) => !(isObject(i) && dropped.has(JSON.stringify(i[mergeKey]))));
    }
  }
  return out;
}
