// Label and field selectors as `?labelSelector=` and `?fieldSelector=` carry them
// (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors).
import { badRequest } from './errors.js';
import { isObject, scalarText, type Json, type JsonObject } from './json.js';

export type Requirement =
  { key: string; op: 'in' | 'notin'; values: readonly string[] } | { key: string; op: 'exists' | '!' };

export type LabelSelector = readonly Requirement[];

/**
 * Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h`. `=` and `==` are `in` with one value and `!=`
 * is `notin`, which also matches objects without the key, as in apimachinery's labels package.
 */
export function parseLabelSelector(text: string): LabelSelector {
  const out: Requirement[] = [];
  for (const part of splitTopLevel(text)) {
    const s = part.trim();
    if (s === '') continue;
    const set = /^([^\s!=<>()]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(s);
    if (set?.[1] !== undefined && set[3] !== undefined) {
      out.push({
        key: set[1],
        op: set[2] === 'in' ? 'in' : 'notin',
        values: set[3]
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== ''),
      });
      continue;
    }
    const eq = /^([^\s!=<>()]+)\s*(==|=|!=)\s*([^\s!=<>()]*)$/.exec(s);
    if (eq?.[1] !== undefined && eq[3] !== undefined) {
      out.push({ key: eq[1], op: eq[2] === '!=' ? 'notin' : 'in', values: [eq[3]] });
      continue;
    }
    const exists = /^(!?)([^\s!=<>()]+)$/.exec(s);
    if (exists?.[2] !== undefined) {
      out.push({ key: exists[2], op: exists[1] === '!' ? '!' : 'exists' });
      continue;
    }
    throw badRequest(`unable to parse requirement: ${JSON.stringify(s)}`);
  }
  return out;
}

/** Splits on commas outside parentheses, so `a in (x,y),b` gives two parts. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

export function matchesLabels(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return selector.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case '!':
        return !has;
      case 'in':
        return has && r.values.includes(labels[r.key] ?? '');
      case 'notin':
        return !has || !r.values.includes(labels[r.key] ?? '');
    }
  });
}

/** Field selectors allow only `=`, `==` and `!=` on fields the resource declares. */
export interface FieldRequirement {
  path: string;
  value: string;
  equal: boolean;
}

export function parseFieldSelector(text: string, supported: readonly string[]): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  for (const part of text.split(',')) {
    const s = part.trim();
    if (s === '') continue;
    const m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(s);
    if (m?.[1] === undefined || m[3] === undefined) throw badRequest(`invalid selector: '${text}'`);
    // The real server answers an unknown field with this exact message (BadRequest).
    if (!supported.includes(m[1])) throw badRequest(`field label not supported: ${m[1]}`);
    out.push({ path: m[1], value: m[3], equal: m[2] !== '!=' });
  }
  return out;
}

export function matchesFields(selector: readonly FieldRequirement[], obj: JsonObject): boolean {
  return selector.every((r) => {
    let cur: Json | undefined = obj;
    for (const step of r.path.split('.')) cur = isObject(cur) ? cur[step] : undefined;
    const text = cur === undefined || cur === null ? '' : typeof cur === 'object' ? '' : String(cur);
    return (text === r.value) === r.equal;
  });
}

/** Turns a `metav1.LabelSelector` (matchLabels + matchExpressions) into the query-string form. */
export function formatLabelSelector(sel: Json | undefined): string {
  if (!isObject(sel)) return '';
  const parts: string[] = [];
  const ml = sel['matchLabels'];
  if (isObject(ml)) for (const [k, v] of Object.entries(ml)) parts.push(`${k}=${scalarText(v)}`);
  const me = sel['matchExpressions'];
  if (Array.isArray(me)) {
    for (const e of me) {
      if (!isObject(e) || typeof e['key'] !== 'string' || typeof e['operator'] !== 'string') continue;
      const values = Array.isArray(e['values']) ? e['values'].map(String).join(',') : '';
      switch (e['operator']) {
        case 'In':
          parts.push(`${e['key']} in (${values})`);
          break;
        case 'NotIn':
          parts.push(`${e['key']} notin (${values})`);
          break;
        case 'Exists':
          parts.push(e['key']);
          break;
        case 'DoesNotExist':
          parts.push(`!${e['key']}`);
          break;
        default:
          break;
      }
    }
  }
  return parts.join(',');
}
