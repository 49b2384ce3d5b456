// serving.knative.dev/v1 Service and v1 ConfigMap as kedge reads them, and the trust boundary:
// parseService()/parseConfigMap() turn untrusted parsed YAML (`unknown`) into typed, frozen data or
// FieldErrors that name the path of every wrong type.
//
// Fields are either supported, or rejected: Knative's disallowed fields (lifecycle, stdin, tty, and
// anything outside its field masks, pkg/apis/serving/fieldmask.go) get Knative's
// `must not set the field(s)`, and fields Knative accepts but kedge does not implement (envFrom,
// volumes, probes other than the default, ...) get `not supported by kedge`. Nothing is ignored
// silently, so a Service never behaves differently from what its YAML says.
import { CURRENT_FIELD, FieldError, disallowedFields, genericError, notSupported } from './field-error.js';

export const SERVING_API_VERSION = 'serving.knative.dev/v1';

export interface ObjectMeta {
  readonly name: string;
  /** '' when unset; the caller defaults it to `default` like kubectl does. */
  readonly namespace: string;
  readonly generateName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** metadata.generation as set by the API server (cluster mode); null in files. */
  readonly generation: number | null;
}

export interface EnvVar {
  readonly name: string;
  readonly value: string;
}

export interface ContainerPort {
  /** null when unset (Knative defaults it to 8080). */
  readonly containerPort: number | null;
  readonly name: string;
  readonly protocol: string;
}

export interface ResourceRequirements {
  /** Quantities verbatim (`"500m"`, `"128Mi"`); numbers in YAML are turned into their text. */
  readonly requests: Readonly<Record<string, string>>;
  readonly limits: Readonly<Record<string, string>>;
}

/** The only probe kedge runs is Knative's default: TCP on the serving port. */
export interface ReadinessProbe {
  /** The probe's port when given (must equal the container port). */
  readonly tcpSocketPort: number | string | null;
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly command: readonly string[];
  readonly args: readonly string[];
  readonly workingDir: string;
  readonly env: readonly EnvVar[];
  readonly ports: readonly ContainerPort[];
  readonly resources: ResourceRequirements | null;
  readonly readinessProbe: ReadinessProbe | null;
}

export interface RevisionTemplateMetadata {
  /** BYO revision name, '' when unset. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface RevisionTemplateSpecBody {
  readonly containers: readonly Container[];
  /** null: unset, defaulted from config-defaults. */
  readonly containerConcurrency: number | null;
  readonly timeoutSeconds: number | null;
  readonly responseStartTimeoutSeconds: number | null;
  readonly idleTimeoutSeconds: number | null;
}

export interface RevisionTemplate {
  readonly metadata: RevisionTemplateMetadata;
  readonly spec: RevisionTemplateSpecBody;
}

export interface TrafficTarget {
  readonly tag: string;
  readonly revisionName: string;
  readonly configurationName: string;
  /** null when unset; Knative defaults it to `revisionName == ""`. */
  readonly latestRevision: boolean | null;
  /** null when unset; Knative defaults it to 0 (and an empty list to one 100 % target). */
  readonly percent: number | null;
  /** Only allowed in status; kept so validation can reject it with Knative's message. */
  readonly url: string;
}

export interface ServiceSpec {
  readonly template: RevisionTemplate;
  readonly traffic: readonly TrafficTarget[];
}

export interface Service {
  readonly apiVersion: typeof SERVING_API_VERSION;
  readonly kind: 'Service';
  readonly metadata: ObjectMeta;
  readonly spec: ServiceSpec;
}

export interface ConfigMap {
  readonly apiVersion: 'v1';
  readonly kind: 'ConfigMap';
  readonly metadata: ObjectMeta;
  readonly data: Readonly<Record<string, string>>;
}

export type ParseResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: FieldError };

/** What an untrusted object is, by apiVersion/kind (and name for ConfigMaps). */
export type ObjectKind =
  | { readonly kind: 'service' }
  | { readonly kind: 'configmap'; readonly name: string }
  | { readonly kind: 'other'; readonly description: string };

export function classifyObject(obj: unknown): ObjectKind {
  if (!isRecord(obj)) return { kind: 'other', description: `a ${typeName(obj)}, not an object` };
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  if (apiVersion === SERVING_API_VERSION && kind === 'Service') return { kind: 'service' };
  if (apiVersion === 'v1' && kind === 'ConfigMap') {
    const meta = obj.metadata;
    const name = isRecord(meta) && typeof meta.name === 'string' ? meta.name : '';
    return { kind: 'configmap', name };
  }
  return { kind: 'other', description: `${kind === '' ? '(no kind)' : kind} ${apiVersion}`.trim() };
}

// ---- the reader: typed access with paths ----

type Rec = Readonly<Record<string, unknown>>;

function isRecord(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function wrongType(want: string, got: unknown, path: string): FieldError {
  return genericError(`expected ${want}, got ${typeName(got)}`, path);
}

/** Collects errors while reading one object; every getter returns a safe default on error. */
class Reader {
  errors: FieldError = FieldError.none;

  fail(err: FieldError): void {
    this.errors = this.errors.also(err);
  }

  record(v: unknown, path: string): Rec | null {
    if (v === undefined || v === null) return null;
    if (isRecord(v)) return v;
    this.fail(wrongType('object', v, path));
    return null;
  }

  string(v: unknown, path: string): string {
    if (v === undefined || v === null) return '';
    if (typeof v === 'string') return v;
    this.fail(wrongType('string', v, path));
    return '';
  }

  /** Integer fields (int32/int64 in Kubernetes); null when unset. */
  integer(v: unknown, path: string): number | null {
    if (v === undefined || v === null) return null;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    this.fail(wrongType('integer', v, path));
    return null;
  }

  boolean(v: unknown, path: string): boolean | null {
    if (v === undefined || v === null) return null;
    if (typeof v === 'boolean') return v;
    this.fail(wrongType('boolean', v, path));
    return null;
  }

  array(v: unknown, path: string): readonly unknown[] {
    if (v === undefined || v === null) return [];
    if (Array.isArray(v)) return v as readonly unknown[];
    this.fail(wrongType('array', v, path));
    return [];
  }

  strings(v: unknown, path: string): readonly string[] {
    return this.array(v, path).map((item, i) => this.string(item, `${path}[${i}]`));
  }

  stringMap(v: unknown, path: string): Readonly<Record<string, string>> {
    const rec = this.record(v, path);
    const out: Record<string, string> = {};
    if (rec === null) return out;
    for (const [k, val] of Object.entries(rec)) {
      if (typeof val === 'string') out[k] = val;
      else this.fail(wrongType('string', val, `${path}.${k}`));
    }
    return out;
  }

  /**
   * Checks the keys of `rec` at `path`: supported ones pass, `unsupported` ones get
   * `not supported by kedge`, `ignored` ones (server-managed) pass, everything else is disallowed.
   */
  keys(
    rec: Rec,
    path: string,
    supported: readonly string[],
    unsupported: readonly string[] = [],
    ignored: readonly string[] = [],
  ): void {
    const join = (k: string): string => (path === CURRENT_FIELD ? k : `${path}.${k}`);
    const bad: string[] = [];
    const unimplemented: string[] = [];
    for (const [k, v] of Object.entries(rec)) {
      if (supported.includes(k) || ignored.includes(k)) continue;
      // An explicit null is "unset" in Kubernetes JSON (e.g. `creationTimestamp: null` from kubectl).
      if (v === null || v === undefined) continue;
      if (unsupported.includes(k)) unimplemented.push(join(k));
      else bad.push(join(k));
    }
    if (bad.length > 0) this.fail(disallowedFields(...bad));
    if (unimplemented.length > 0) this.fail(notSupported(...unimplemented));
  }
}

// Server-managed ObjectMeta fields: present on objects read from a cluster, never user intent.
const SERVER_META = [
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
  'finalizers',
  'ownerReferences',
];

function readMeta(r: Reader, v: unknown, path: string): ObjectMeta {
  const rec = r.record(v, path) ?? {};
  r.keys(
    rec,
    path,
    ['name', 'namespace', 'generateName', 'labels', 'annotations', 'generation'],
    [],
    SERVER_META,
  );
  return {
    name: r.string(rec.name, `${path}.name`),
    namespace: r.string(rec.namespace, `${path}.namespace`),
    generateName: r.string(rec.generateName, `${path}.generateName`),
    labels: r.stringMap(rec.labels, `${path}.labels`),
    annotations: r.stringMap(rec.annotations, `${path}.annotations`),
    generation: r.integer(rec.generation, `${path}.generation`),
  };
}

// Knative's ContainerMask (fieldmask.go) minus what kedge implements.
const CONTAINER_SUPPORTED = [
  'name',
  'image',
  'command',
  'args',
  'workingDir',
  'env',
  'ports',
  'resources',
  'readinessProbe',
];
const CONTAINER_UNSUPPORTED = [
  'envFrom',
  'imagePullPolicy',
  'livenessProbe',
  'startupProbe',
  'securityContext',
  'terminationMessagePath',
  'terminationMessagePolicy',
  'volumeMounts',
];
// Knative's PodSpecMask (default features) minus what kedge implements; feature-gated and other
// PodSpec fields are disallowed as in Knative with its default config-features.
const POD_SPEC_SUPPORTED = [
  'containers',
  'containerConcurrency',
  'timeoutSeconds',
  'responseStartTimeoutSeconds',
  'idleTimeoutSeconds',
];
const POD_SPEC_UNSUPPORTED = [
  'serviceAccountName',
  'volumes',
  'imagePullSecrets',
  'enableServiceLinks',
  'automountServiceAccountToken',
];

function readProbe(r: Reader, v: unknown, path: string): ReadinessProbe | null {
  const rec = r.record(v, path);
  if (rec === null) return null;
  // Knative's default readiness probe is a TCP probe on the serving port (revision_defaults.go);
  // that is what kedge runs. Handlers and tuning knobs it would not honour are rejected.
  r.keys(
    rec,
    path,
    ['tcpSocket'],
    [
      'httpGet',
      'exec',
      'grpc',
      'initialDelaySeconds',
      'timeoutSeconds',
      'periodSeconds',
      'successThreshold',
      'failureThreshold',
      'terminationGracePeriodSeconds',
    ],
  );
  const tcp = r.record(rec.tcpSocket, `${path}.tcpSocket`);
  let port: number | string | null = null;
  if (tcp !== null) {
    r.keys(tcp, `${path}.tcpSocket`, ['port'], ['host']);
    if (typeof tcp.port === 'number' || typeof tcp.port === 'string') port = tcp.port;
    else if (tcp.port !== undefined && tcp.port !== null)
      r.fail(wrongType('integer or string', tcp.port, `${path}.tcpSocket.port`));
  }
  return { tcpSocketPort: port };
}

function readQuantities(r: Reader, v: unknown, path: string): Readonly<Record<string, string>> {
  const rec = r.record(v, path) ?? {};
  const out: Record<string, string> = {};
  for (const [k, q] of Object.entries(rec)) {
    if (typeof q === 'string') out[k] = q;
    else if (typeof q === 'number') out[k] = String(q);
    else r.fail(wrongType('quantity', q, `${path}.${k}`));
  }
  return out;
}

function readContainer(r: Reader, v: unknown, path: string): Container {
  const rec = r.record(v, path) ?? {};
  r.keys(rec, path, CONTAINER_SUPPORTED, CONTAINER_UNSUPPORTED);
  const env = r.array(rec.env, `${path}.env`).map((item, i): EnvVar => {
    const p = `${path}.env[${i}]`;
    const e = r.record(item, p) ?? {};
    r.keys(e, p, ['name', 'value'], ['valueFrom']);
    return { name: r.string(e.name, `${p}.name`), value: r.string(e.value, `${p}.value`) };
  });
  const ports = r.array(rec.ports, `${path}.ports`).map((item, i): ContainerPort => {
    const p = `${path}.ports[${i}]`;
    const port = r.record(item, p) ?? {};
    r.keys(port, p, ['containerPort', 'name', 'protocol']);
    return {
      containerPort: r.integer(port.containerPort, `${p}.containerPort`),
      name: r.string(port.name, `${p}.name`),
      protocol: r.string(port.protocol, `${p}.protocol`),
    };
  });
  const res = r.record(rec.resources, `${path}.resources`);
  let resources: ResourceRequirements | null = null;
  if (res !== null) {
    r.keys(res, `${path}.resources`, ['requests', 'limits']);
    resources = {
      requests: readQuantities(r, res.requests, `${path}.resources.requests`),
      limits: readQuantities(r, res.limits, `${path}.resources.limits`),
    };
  }
  return {
    name: r.string(rec.name, `${path}.name`),
    image: r.string(rec.image, `${path}.image`),
    command: r.strings(rec.command, `${path}.command`),
    args: r.strings(rec.args, `${path}.args`),
    workingDir: r.string(rec.workingDir, `${path}.workingDir`),
    env,
    ports,
    resources,
    readinessProbe: readProbe(r, rec.readinessProbe, `${path}.readinessProbe`),
  };
}

function readTemplate(r: Reader, v: unknown, path: string): RevisionTemplate {
  const rec = r.record(v, path) ?? {};
  r.keys(rec, path, ['metadata', 'spec']);
  const metaPath = `${path}.metadata`;
  const meta = r.record(rec.metadata, metaPath) ?? {};
  r.keys(meta, metaPath, ['name', 'labels', 'annotations'], ['generateName'], ['creationTimestamp']);
  const specPath = `${path}.spec`;
  const spec = r.record(rec.spec, specPath) ?? {};
  r.keys(spec, specPath, POD_SPEC_SUPPORTED, POD_SPEC_UNSUPPORTED);
  return {
    metadata: {
      name: r.string(meta.name, `${metaPath}.name`),
      labels: r.stringMap(meta.labels, `${metaPath}.labels`),
      annotations: r.stringMap(meta.annotations, `${metaPath}.annotations`),
    },
    spec: {
      containers: r
        .array(spec.containers, `${specPath}.containers`)
        .map((c, i) => readContainer(r, c, `${specPath}.containers[${i}]`)),
      containerConcurrency: r.integer(spec.containerConcurrency, `${specPath}.containerConcurrency`),
      timeoutSeconds: r.integer(spec.timeoutSeconds, `${specPath}.timeoutSeconds`),
      responseStartTimeoutSeconds: r.integer(
        spec.responseStartTimeoutSeconds,
        `${specPath}.responseStartTimeoutSeconds`,
      ),
      idleTimeoutSeconds: r.integer(spec.idleTimeoutSeconds, `${specPath}.idleTimeoutSeconds`),
    },
  };
}

function readTraffic(r: Reader, v: unknown, path: string): TrafficTarget {
  const rec = r.record(v, path) ?? {};
  r.keys(rec, path, ['tag', 'revisionName', 'configurationName', 'latestRevision', 'percent', 'url']);
  return {
    tag: r.string(rec.tag, `${path}.tag`),
    revisionName: r.string(rec.revisionName, `${path}.revisionName`),
    configurationName: r.string(rec.configurationName, `${path}.configurationName`),
    latestRevision: r.boolean(rec.latestRevision, `${path}.latestRevision`),
    percent: r.integer(rec.percent, `${path}.percent`),
    url: r.string(rec.url, `${path}.url`),
  };
}

/** Untrusted object → typed Service, or every type/field error found (all of them, not the first). */
export function parseService(obj: unknown): ParseResult<Service> {
  const r = new Reader();
  const rec = r.record(obj, CURRENT_FIELD);
  if (rec === null) return { ok: false, errors: wrongType('object', obj, CURRENT_FIELD) };
  if (rec.apiVersion !== SERVING_API_VERSION || rec.kind !== 'Service') {
    return {
      ok: false,
      errors: genericError(`expected apiVersion ${SERVING_API_VERSION}, kind Service`, 'apiVersion', 'kind'),
    };
  }
  // status is written by the controller; a copy fetched from a cluster may carry one.
  r.keys(rec, CURRENT_FIELD, ['apiVersion', 'kind', 'metadata', 'spec'], [], ['status']);
  const metadata = readMeta(r, rec.metadata, 'metadata');
  const spec = r.record(rec.spec, 'spec') ?? {};
  r.keys(spec, 'spec', ['template', 'traffic']);
  const service: Service = {
    apiVersion: SERVING_API_VERSION,
    kind: 'Service',
    metadata,
    spec: {
      template: readTemplate(r, spec.template, 'spec.template'),
      traffic: r.array(spec.traffic, 'spec.traffic').map((t, i) => readTraffic(r, t, `spec.traffic[${i}]`)),
    },
  };
  if (!r.errors.isEmpty()) return { ok: false, errors: r.errors };
  return { ok: true, value: deepFreeze(service) };
}

/** Untrusted object → typed ConfigMap (data values must be strings, as in Kubernetes). */
export function parseConfigMap(obj: unknown): ParseResult<ConfigMap> {
  const r = new Reader();
  const rec = r.record(obj, CURRENT_FIELD);
  if (rec === null || rec.apiVersion !== 'v1' || rec.kind !== 'ConfigMap') {
    return {
      ok: false,
      errors: genericError('expected apiVersion v1, kind ConfigMap', 'apiVersion', 'kind'),
    };
  }
  r.keys(rec, CURRENT_FIELD, ['apiVersion', 'kind', 'metadata', 'data'], ['binaryData'], ['immutable']);
  const configMap: ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: readMeta(r, rec.metadata, 'metadata'),
    data: r.stringMap(rec.data, 'data'),
  };
  if (!r.errors.isEmpty()) return { ok: false, errors: r.errors };
  return { ok: true, value: deepFreeze(configMap) };
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
