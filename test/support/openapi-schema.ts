// A validator for the OpenAPI v3 subset that kedge's CRD uses, with the semantics of a Kubernetes
// structural schema (apiextensions.k8s.io/v1, "Specifying a structural schema"): `type`,
// `properties`, `additionalProperties`, `items`, `required`, `enum`, `format` (int32/int64 ranges
// checked; date-time accepted as a string), `x-kubernetes-preserve-unknown-fields` and
// `x-kubernetes-int-or-string`. `description` is documentation only. Anything else in a schema is reported by checkStructural(), so a CRD cannot
// grow a keyword this validator would silently skip.
//
// Unknown fields are reported (kind 'unknown'), as the API server does under strict field
// validation, which kubectl asks for by default (`--validate=strict`); a client that does not ask
// gets them pruned with a warning instead. `null` counts as unset: the API server drops null values
// of fields that are not `nullable` before it validates (apiextensions pruning and defaulting).

export interface SchemaProblem {
  /** Dotted path with [i] for list items, e.g. `spec.template.spec.containers[0].image`. */
  readonly path: string;
  readonly kind: 'type' | 'required' | 'enum' | 'range' | 'unknown';
  readonly message: string;
}

export type JsonSchema = Readonly<Record<string, unknown>>;

const KEYWORDS = new Set([
  'type',
  'format',
  'description',
  'properties',
  'additionalProperties',
  'items',
  'required',
  'enum',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
]);
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

/**
 * ObjectMeta as the API server reads it at the root of every object. A CRD may restrict only
 * metadata.name and metadata.generateName there, so the root `metadata` is validated against this
 * instead of the CRD's own (apiextensions "Validation": the root metadata is ObjectMeta).
 */
export const OBJECT_META_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    generateName: { type: 'string' },
    namespace: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    finalizers: { type: 'array', items: { type: 'string' } },
    generation: { type: 'integer', format: 'int64' },
  },
  // uid, resourceVersion, creationTimestamp, managedFields, ...: the server's, not checked here.
  'x-kubernetes-preserve-unknown-fields': true,
};

function isRecord(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function child(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function schemaAt(schema: JsonSchema, key: string): JsonSchema | undefined {
  const v = schema[key];
  return isRecord(v) ? v : undefined;
}

function matchesType(value: unknown, type: unknown): boolean {
  switch (type) {
    case 'object':
      return isRecord(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return false;
  }
}

/** Every problem of `value` against `schema`; [] when it is accepted. */
export function validate(
  value: unknown,
  schema: JsonSchema,
  options: { root?: boolean } = {},
): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  visit(value, schema, '', options.root ?? true, out);
  return out;
}

function visit(value: unknown, schema: JsonSchema, path: string, root: boolean, out: SchemaProblem[]): void {
  if (value === null || value === undefined) return;
  const at = path === '' ? '<root>' : path;

  if (schema['x-kubernetes-int-or-string'] === true) {
    if (!(typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)))) {
      out.push({ path: at, kind: 'type', message: `must be an integer or a string, got ${typeOf(value)}` });
    }
    return;
  }
  const type = schema.type;
  if (type === undefined) {
    // Only a preserve-unknown-fields node may leave its type open: anything goes below it.
    return;
  }
  if (!matchesType(value, type)) {
    out.push({
      path: at,
      kind: 'type',
      message: `must be of type ${JSON.stringify(type)}, got ${typeOf(value)}`,
    });
    return;
  }
  const allowed = schema.enum;
  if (Array.isArray(allowed) && !allowed.includes(value)) {
    const list = allowed.map((a) => JSON.stringify(a)).join(', ');
    out.push({ path: at, kind: 'enum', message: `${JSON.stringify(value)} is not one of ${list}` });
  }
  if (typeof value === 'number') {
    if (schema.format === 'int32' && (value < INT32_MIN || value > INT32_MAX)) {
      out.push({ path: at, kind: 'range', message: `${value} does not fit an int32` });
    }
    if (schema.format === 'int64' && !Number.isSafeInteger(value)) {
      out.push({ path: at, kind: 'range', message: `${value} is not an exact int64 here` });
    }
  }
  if (Array.isArray(value)) {
    const items = schemaAt(schema, 'items');
    if (items !== undefined) {
      (value as readonly unknown[]).forEach((v, i) => {
        visit(v, items, `${path}[${i}]`, false, out);
      });
    }
    return;
  }
  if (!isRecord(value)) return;

  const required = schema.required;
  if (Array.isArray(required)) {
    for (const key of required) {
      if (typeof key === 'string' && (value[key] === undefined || value[key] === null)) {
        out.push({ path: child(path, key), kind: 'required', message: 'is required' });
      }
    }
  }
  const properties = schemaAt(schema, 'properties') ?? {};
  const additional = schemaAt(schema, 'additionalProperties');
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  for (const [key, v] of Object.entries(value)) {
    if (root && (key === 'apiVersion' || key === 'kind')) {
      if (typeof v !== 'string') out.push({ path: key, kind: 'type', message: 'must be a string' });
      continue;
    }
    if (root && key === 'metadata') {
      visit(v, OBJECT_META_SCHEMA, key, false, out);
      continue;
    }
    const sub = schemaAt(properties, key);
    if (sub !== undefined) visit(v, sub, child(path, key), false, out);
    else if (additional !== undefined) visit(v, additional, child(path, key), false, out);
    else if (!preserve && v !== null) {
      out.push({
        path: child(path, key),
        kind: 'unknown',
        message: 'unknown field (not declared in the schema)',
      });
    }
  }
}

/**
 * Problems that would make the API server refuse `schema` as a structural schema, or that this
 * validator does not model (an unknown keyword). [] for a schema both accept.
 */
export function checkStructural(schema: JsonSchema, path = ''): string[] {
  const out: string[] = [];
  const at = path === '' ? '<root>' : path;
  for (const key of Object.keys(schema)) {
    if (!KEYWORDS.has(key)) out.push(`${at}: keyword ${key} is outside the supported subset`);
  }
  const type = schema.type;
  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  if (type === undefined) {
    if (!intOrString && !preserve) out.push(`${at}: type is required`);
  } else if (typeof type !== 'string' || !TYPES.has(type)) {
    out.push(`${at}: unknown type ${JSON.stringify(type)}`);
  } else if (intOrString) {
    out.push(`${at}: x-kubernetes-int-or-string takes no type`);
  }
  if (schema['x-kubernetes-preserve-unknown-fields'] === false) {
    out.push(`${at}: x-kubernetes-preserve-unknown-fields must be true or absent`);
  }
  const properties = schema.properties;
  const additional = schema.additionalProperties;
  if (properties !== undefined || additional !== undefined) {
    if (type !== 'object') out.push(`${at}: properties need type object`);
    if (properties !== undefined && additional !== undefined) {
      out.push(`${at}: properties and additionalProperties are mutually exclusive`);
    }
  }
  if (properties !== undefined) {
    if (!isRecord(properties)) out.push(`${at}: properties must be a map`);
    else {
      for (const [key, sub] of Object.entries(properties)) {
        if (isRecord(sub)) out.push(...checkStructural(sub, child(path, key)));
        else out.push(`${child(path, key)}: schema must be a map`);
      }
    }
  }
  if (additional !== undefined) {
    if (isRecord(additional)) out.push(...checkStructural(additional, child(path, '*')));
    else out.push(`${at}: additionalProperties must be a schema (booleans are not structural)`);
  }
  if (type === 'array') {
    const items = schema.items;
    if (isRecord(items)) out.push(...checkStructural(items, `${path}[*]`));
    else out.push(`${at}: an array needs an items schema`);
  } else if (schema.items !== undefined) {
    out.push(`${at}: items need type array`);
  }
  const required = schema.required;
  if (required !== undefined) {
    if (!Array.isArray(required) || required.some((r) => typeof r !== 'string')) {
      out.push(`${at}: required must be a list of names`);
    } else if (isRecord(properties)) {
      for (const r of required as string[]) {
        if (!(r in properties)) out.push(`${at}: required ${r} is not in properties`);
      }
    }
  }
  if (schema.enum !== undefined && !Array.isArray(schema.enum)) out.push(`${at}: enum must be a list`);
  const format = schema.format;
  if (format !== undefined && !(type === 'integer' && (format === 'int32' || format === 'int64'))) {
    if (!(type === 'string' && format === 'date-time'))
      out.push(`${at}: format ${JSON.stringify(format)} not modelled`);
  }
  return out;
}

/**
 * Every leaf path a schema declares, for comparing a schema with the fields a program reads:
 * `a.b`, `a.list[*].c`; maps (`additionalProperties`) end in `.*`; preserve-unknown-fields nodes
 * without properties and int-or-string nodes are leaves.
 */
export function leafPaths(schema: JsonSchema, path = ''): string[] {
  const properties = schemaAt(schema, 'properties');
  if (properties !== undefined && Object.keys(properties).length > 0) {
    return Object.entries(properties).flatMap(([key, sub]) =>
      isRecord(sub) ? leafPaths(sub, child(path, key)) : [child(path, key)],
    );
  }
  const additional = schemaAt(schema, 'additionalProperties');
  if (additional !== undefined) return leafPaths(additional, child(path, '*'));
  const items = schemaAt(schema, 'items');
  if (schema.type === 'array' && items !== undefined) return leafPaths(items, `${path}[*]`);
  return [path];
}
