// What a service does and what it accepts, from its annotations, so that a user can find a function
// on the dashboard and call it. Pure: annotations in, a checked document out; a bad annotation is
// reported as a problem on the service, never thrown.
//
// Annotations, on the Service's metadata.annotations (they describe the service, not one revision;
// kedge's validation rejects unknown kedge.dev/* keys on spec.template, where typos matter):
//   kedge.dev/description        plain text: what the service does
//   kedge.dev/openapi-url        where its OpenAPI document is: an absolute http(s) URL, or a path
//                                starting with `/` served by the service itself (e.g. /openapi.json)
//   kedge.dev/parameters-schema  inline JSON Schema (as JSON) of what it accepts: an object schema's
//                                `properties` and `required` become the parameter list

export const DESCRIPTION_ANNOTATION = 'kedge.dev/description';
export const OPENAPI_URL_ANNOTATION = 'kedge.dev/openapi-url';
export const PARAMETERS_SCHEMA_ANNOTATION = 'kedge.dev/parameters-schema';

/** Longest description or schema kept; a larger annotation is cut (Kubernetes allows 256 KiB in all). */
const MAX_TEXT = 16_384;
const MAX_PARAMETERS = 100;

export interface ServiceParameter {
  readonly name: string;
  /** JSON Schema type(s), e.g. `string`, `integer | null`, `array of string`; '' if unstated. */
  readonly type: string;
  readonly required: boolean;
  readonly description: string;
  /** JSON of the default value, '' if none. */
  readonly default: string;
  readonly enum: readonly string[];
}

export interface ServiceDoc {
  readonly namespace: string;
  readonly name: string;
  readonly description: string;
  /** Absolute http(s) URL or a path on the service; '' if none. */
  readonly openapiUrl: string;
  readonly parameters: readonly ServiceParameter[];
  /** What was wrong with the annotations, in plain words. */
  readonly problems: readonly string[];
}

export interface AnnotatedService {
  readonly namespace: string;
  readonly name: string;
  /** metadata.annotations of the Service. */
  readonly annotations: Readonly<Record<string, string>>;
}

export function serviceDoc(s: AnnotatedService): ServiceDoc {
  const get = (key: string): string => (s.annotations[key] ?? '').trim();
  const problems: string[] = [];
  const description = get(DESCRIPTION_ANNOTATION).slice(0, MAX_TEXT);
  let openapiUrl = get(OPENAPI_URL_ANNOTATION);
  if (openapiUrl !== '' && !isSafeLink(openapiUrl)) {
    problems.push(
      `${OPENAPI_URL_ANNOTATION} must be an http(s) URL or a path starting with "/", got "${openapiUrl.slice(0, 200)}"`,
    );
    openapiUrl = '';
  }
  const schemaText = get(PARAMETERS_SCHEMA_ANNOTATION);
  let parameters: ServiceParameter[] = [];
  if (schemaText !== '') {
    if (schemaText.length > MAX_TEXT) {
      problems.push(
        `${PARAMETERS_SCHEMA_ANNOTATION} is longer than ${MAX_TEXT} characters; link an OpenAPI document instead`,
      );
    } else {
      try {
        parameters = parametersFromSchema(JSON.parse(schemaText) as unknown, problems);
      } catch (err) {
        problems.push(
          `${PARAMETERS_SCHEMA_ANNOTATION} is not valid JSON (${err instanceof Error ? err.message : String(err)}); write the schema as JSON`,
        );
      }
    }
  }
  return { namespace: s.namespace, name: s.name, description, openapiUrl, parameters, problems };
}

/** Only links a browser treats as a plain navigation: never `javascript:` or `data:`. */
function isSafeLink(value: string): boolean {
  if (value.startsWith('/') && !value.startsWith('//')) return true;
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text(v: unknown): string {
  return typeof v === 'string' ? v.slice(0, MAX_TEXT) : '';
}

/** A JSON Schema's type in a few words: `string`, `integer | null`, `array of string`, `Pet`. */
export function schemaType(schema: unknown): string {
  if (!isRecord(schema)) return '';
  const t = schema.type;
  if (typeof t === 'string') {
    if (t === 'array' && isRecord(schema.items)) {
      const item = schemaType(schema.items);
      return item === '' ? 'array' : `array of ${item}`;
    }
    return typeof schema.format === 'string' ? `${t} (${schema.format})` : t;
  }
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === 'string').join(' | ');
  if (typeof schema.$ref === 'string') return schema.$ref.slice(schema.$ref.lastIndexOf('/') + 1);
  for (const key of ['oneOf', 'anyOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options))
      return options
        .map(schemaType)
        .filter((x) => x !== '')
        .join(' | ');
  }
  if (Array.isArray(schema.enum)) return 'enum';
  return '';
}

function parametersFromSchema(schema: unknown, problems: string[]): ServiceParameter[] {
  if (!isRecord(schema)) {
    problems.push(
      `${PARAMETERS_SCHEMA_ANNOTATION} must be a JSON Schema object, e.g. {"type":"object","properties":{...}}`,
    );
    return [];
  }
  const properties = schema.properties;
  if (!isRecord(properties)) {
    // Not an object schema: the whole body is the one parameter.
    return [
      {
        name: '(body)',
        type: schemaType(schema),
        required: true,
        description: text(schema.description),
        default: schema.default === undefined ? '' : JSON.stringify(schema.default),
        enum: enumOf(schema),
      },
    ];
  }
  const required = new Set(
    Array.isArray(schema.required) ? schema.required.filter((x): x is string => typeof x === 'string') : [],
  );
  const names = Object.keys(properties);
  if (names.length > MAX_PARAMETERS) {
    problems.push(
      `${PARAMETERS_SCHEMA_ANNOTATION}: only the first ${MAX_PARAMETERS} of ${names.length} properties are shown`,
    );
  }
  return names.slice(0, MAX_PARAMETERS).map((name) => {
    const p = properties[name];
    return {
      name,
      type: schemaType(p),
      required: required.has(name),
      description: isRecord(p) ? text(p.description) : '',
      default: isRecord(p) && p.default !== undefined ? JSON.stringify(p.default) : '',
      enum: enumOf(p),
    };
  });
}

function enumOf(schema: unknown): string[] {
  if (!isRecord(schema) || !Array.isArray(schema.enum)) return [];
  return schema.enum.slice(0, MAX_PARAMETERS).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
}

/**
 * The annotations of every Service among source objects (FileSource/KubeSource `SourceObject.object`,
 * still unparsed): `apiVersion: serving.knative.dev/v1`, `kind: Service`. Anything else is skipped;
 * a namespace defaults to `default` as kedge's reconcile does.
 */
export function annotatedServices(objects: readonly { readonly object: unknown }[]): AnnotatedService[] {
  const out: AnnotatedService[] = [];
  for (const { object } of objects) {
    if (!isRecord(object) || object.kind !== 'Service') continue;
    if (typeof object.apiVersion !== 'string' || !object.apiVersion.startsWith('serving.knative.dev/'))
      continue;
    const meta = object.metadata;
    if (!isRecord(meta) || typeof meta.name !== 'string') continue;
    const namespace =
      typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
    out.push({
      namespace,
      name: meta.name,
      annotations: stringMap(meta.annotations),
    });
  }
  return out;
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(v)) return out;
  for (const [k, value] of Object.entries(v)) if (typeof value === 'string') out[k] = value;
  return out;
}
