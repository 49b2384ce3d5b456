// What `kubectl get` prints comes from the server: a `meta.k8s.io/v1` Table built from printer
// columns (https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables).
// Cells are computed here; CRDs declare theirs as JSONPath in `additionalPrinterColumns`.
import { getObject, getString, isObject, scalarText, type Json, type JsonObject } from './json.js';

export interface Column {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
  cell: (obj: JsonObject, nowMs: number) => Json;
}

/** apimachinery `duration.HumanDuration`, which the server uses for every AGE cell. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

export function age(obj: JsonObject, nowMs: number): string {
  const created = getString(getObject(obj, 'metadata'), 'creationTimestamp');
  if (created === undefined) return '<unknown>';
  return humanDuration(nowMs - Date.parse(created));
}

export const NAME_COLUMN: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
  cell: (obj) => getString(getObject(obj, 'metadata'), 'name') ?? '',
};

export const AGE_COLUMN: Column = {
  name: 'Age',
  type: 'string',
  format: '',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  cell: age,
};

export function column(
  name: string,
  cell: Column['cell'],
  type: Column['type'] = 'string',
  priority = 0,
): Column {
  return { name, type, format: '', description: name, priority, cell };
}

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number | '*' }
  | { kind: 'filter'; key: string; value: string };

/**
 * The JSONPath subset CRD printer columns use: `.a.b`, `[0]`, `[*]` and `[?(@.type=="Ready")]`.
 * An unsupported expression yields an empty cell rather than an error, as kubectl would print.
 */
export function evalJsonPath(obj: Json, path: string): Json[] {
  const steps: Step[] = [];
  const re = /\.([A-Za-z0-9_-]+)|\[(\d+|\*)\]|\[\?\(@\.([A-Za-z0-9_-]+)\s*==\s*["']([^"']*)["']\)\]/gy;
  const text = path.replace(/^\{?|\}?$/g, '');
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[1] !== undefined) steps.push({ kind: 'field', name: m[1] });
    else if (m[2] !== undefined) steps.push({ kind: 'index', index: m[2] === '*' ? '*' : Number(m[2]) });
    else if (m[3] !== undefined && m[4] !== undefined) steps.push({ kind: 'filter', key: m[3], value: m[4] });
    if (re.lastIndex === text.length) break;
  }
  let current: Json[] = [obj];
  for (const step of steps) {
    const next: Json[] = [];
    for (const v of current) {
      if (step.kind === 'field' && isObject(v)) {
        const f = v[step.name];
        if (f !== undefined) next.push(f);
      } else if (step.kind === 'index' && Array.isArray(v)) {
        if (step.index === '*') next.push(...v);
        else if (v[step.index] !== undefined) next.push(v[step.index] ?? null);
      } else if (step.kind === 'filter' && Array.isArray(v)) {
        for (const item of v)
          if (isObject(item) && scalarText(item[step.key]) === step.value) next.push(item);
      }
    }
    current = next;
  }
  return current;
}

/** A CRD `additionalPrinterColumns` entry as a Column. */
export function crdColumn(spec: JsonObject): Column {
  const type = spec['type'];
  const jsonPath = typeof spec['jsonPath'] === 'string' ? spec['jsonPath'] : '';
  const columnType: Column['type'] =
    type === 'integer' || type === 'number' || type === 'boolean' || type === 'date' ? type : 'string';
  return {
    name: typeof spec['name'] === 'string' ? spec['name'] : jsonPath,
    type: columnType,
    format: typeof spec['format'] === 'string' ? spec['format'] : '',
    description: typeof spec['description'] === 'string' ? spec['description'] : '',
    priority: typeof spec['priority'] === 'number' ? spec['priority'] : 0,
    cell: (obj, nowMs) => {
      const [first] = evalJsonPath(obj, jsonPath);
      if (first === undefined) return null;
      // apiextensions-apiserver's table convertor prints dates as ages, like the AGE column.
      if (columnType === 'date' && typeof first === 'string') return humanDuration(nowMs - Date.parse(first));
      return isObject(first) || Array.isArray(first) ? JSON.stringify(first) : first;
    },
  };
}
