// Knative's admission rules for a Service, with Knative's messages and field paths, for the fields
// kedge supports (types.ts rejects the rest). Sources, knative/serving: pkg/apis/serving/v1/
// service_validation.go, revision_validation.go, route_validation.go; pkg/apis/serving/
// k8s_validation.go, metadata_validation.go; knative/pkg apis/metadata_validation.go.
//
// Everything returns a FieldError (empty when valid) so all problems are reported at once.
import {
  type AutoscalerConfig,
  isAutoscalingAnnotation,
  validateRevisionAnnotations,
} from './autoscaling.js';
import { parseGoDurationMs } from '../../lib/go-duration.js';
import {
  CURRENT_FIELD,
  FieldError,
  disallowedFields,
  genericError,
  goQuote,
  invalidKeyName,
  invalidValue,
  missingField,
  notSupported,
  outOfBounds,
} from './field-error.js';
import { goStringSlice, isDNS1035Label, isDNS1123Label, isQualifiedName } from './names.js';
import { isEmptyResources, validateResources } from './resources.js';
import type { Container, ObjectMeta, RevisionTemplate, Service, TrafficTarget } from './types.js';
import type { DefaultsConfig } from '../config/defaults.js';
import { VISIBILITY_CLUSTER_LOCAL, VISIBILITY_LABEL } from '../config/domain.js';

export interface ValidationContext {
  readonly defaults: DefaultsConfig;
  readonly autoscaler: AutoscalerConfig;
  /** local: containers run as processes, so `command` is required and the image is not pulled. */
  readonly mode: 'local' | 'cluster';
}

/** Knative reserves these for the queue-proxy and the runtime contract (k8s_validation.go). */
export const RESERVED_ENV_VARS: readonly string[] = ['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION'];
export const RESERVED_CONTAINER_NAMES: readonly string[] = ['queue-proxy'];
/** 8012/8013 queue-proxy HTTP/H2C, 8022 queue admin, 9090/9091 metrics, 8008 profiling. */
export const RESERVED_PORTS: readonly number[] = [8012, 8013, 8022, 9090, 9091, 8008];
const VALID_PORT_NAMES: readonly string[] = ['', 'h2c', 'http1'];

export const QUEUE_TIMEOUT_ANNOTATION = 'kedge.dev/queue-timeout';
export const PROGRESS_DEADLINE_ANNOTATION = 'serving.knative.dev/progress-deadline';
const KEDGE_ANNOTATIONS: readonly string[] = [QUEUE_TIMEOUT_ANNOTATION];
/**
 * The gradual rollout duration of a Service (its Route), in priority order: Knative reads the
 * first key present (pkg/apis/serving/register.go RolloutDurationAnnotation, a kmap.KeyPriority).
 */
export const ROLLOUT_DURATION_ANNOTATIONS: readonly string[] = [
  'serving.knative.dev/rollout-duration',
  'serving.knative.dev/rolloutDuration',
];
const UNSUPPORTED_TEMPLATE_ANNOTATIONS: readonly string[] = [
  'queue.sidecar.serving.knative.dev/resource-percentage',
  'queue.sidecar.serving.knative.dev/cpu-resource-request',
  'queue.sidecar.serving.knative.dev/memory-resource-request',
  'features.knative.dev/queueproxy-podinfo',
];

const SERVING_GROUP_PREFIX = 'serving.knative.dev/';
const AUTOSCALING_GROUP = 'autoscaling.knative.dev';

function dns1035(value: string, path: string, asKnativeInvalidValue: boolean): FieldError {
  const msgs = isDNS1035Label(value);
  if (msgs.length === 0) return FieldError.none;
  const text = `not a DNS 1035 label: ${goStringSlice(msgs)}`;
  return asKnativeInvalidValue ? invalidValue(text, path) : genericError(text, path);
}

/** knative/pkg ValidateObjectMetadata + serving's Service label/annotation rules. Paths under `metadata`. */
function validateServiceMetadata(meta: ObjectMeta): FieldError {
  let errs = FieldError.none;
  if (meta.name !== '') errs = errs.also(dns1035(meta.name, 'name', false));
  else if (meta.generateName !== '') {
    // The API server fills name from generateName; files have no server to do it.
    errs = errs.also(notSupported('generateName'));
  } else errs = errs.also(genericError('name or generateName is required', 'name'));
  if (meta.namespace !== '') {
    const msgs = isDNS1123Label(meta.namespace);
    if (msgs.length > 0)
      errs = errs.also(invalidValue(`not a DNS 1123 label: ${goStringSlice(msgs)}`, 'namespace'));
  }
  for (const [key, value] of Object.entries(meta.labels)) {
    if (key === VISIBILITY_LABEL) {
      if (value !== VISIBILITY_CLUSTER_LOCAL) errs = errs.also(invalidValue(value, key).viaField('labels'));
    } else if (key.startsWith(SERVING_GROUP_PREFIX)) {
      errs = errs.also(invalidKeyName(key, CURRENT_FIELD).viaField('labels'));
    }
  }
  for (const key of Object.keys(meta.annotations)) {
    // serving ValidateHasNoAutoscalingAnnotation: only the revision template may carry them.
    if (key.startsWith(AUTOSCALING_GROUP)) {
      errs = errs.also(
        invalidKeyName(
          key,
          CURRENT_FIELD,
          'autoscaling annotations must be put under "spec.template.metadata.annotations" to work',
        ).viaField('annotations'),
      );
    }
  }
  return errs.also(validateRolloutDuration(meta.annotations).viaField('annotations')).viaField('metadata');
}

/** The annotation that names the rollout duration, and its value; null when none is set. */
function rolloutDurationAnnotation(
  annotations: Readonly<Record<string, string>>,
): { readonly key: string; readonly value: string } | null {
  for (const key of ROLLOUT_DURATION_ANNOTATIONS) {
    const value = annotations[key];
    if (value !== undefined) return { key, value };
  }
  return null;
}

const ROLLOUT_DURATION_FIX =
  'write a duration in whole seconds, e.g. "90s" or "5m" ("0s": the config-network default)';

/**
 * Knative ValidateRolloutDurationAnnotation (pkg/apis/serving/metadata_validation.go): a Go
 * duration, at second precision, not negative. Messages are Knative's; the details say the fix.
 */
function validateRolloutDuration(annotations: Readonly<Record<string, string>>): FieldError {
  const found = rolloutDurationAnnotation(annotations);
  if (found === null || found.value === '') return FieldError.none;
  const { key, value } = found;
  const ms = parseGoDurationMs(value);
  if (ms === null) return invalidValue(value, key, ROLLOUT_DURATION_FIX);
  if (Math.round(ms / 1000) * 1000 !== ms) {
    return FieldError.of(`rollout-duration=${value} is not at second precision`, [key], ROLLOUT_DURATION_FIX);
  }
  if (ms < 0) return FieldError.of(`rollout-duration=${value} must be positive`, [key], ROLLOUT_DURATION_FIX);
  return FieldError.none;
}

/**
 * Knative Route.RolloutDuration, in whole seconds (route.go truncates to int): 0 when unset or
 * unparsable (admission rejected those), and then config-network's rollout-duration applies.
 */
export function rolloutDurationSeconds(annotations: Readonly<Record<string, string>>): number {
  const found = rolloutDurationAnnotation(annotations);
  if (found === null || found.value === '') return 0;
  const ms = parseGoDurationMs(found.value);
  return ms === null ? 0 : Math.trunc(ms / 1000);
}

/** serving.ValidateRevisionName for spec.template.metadata.name (paths relative to the template). */
function validateRevisionName(name: string, serviceName: string): FieldError {
  if (name === '') return FieldError.none;
  const dns = dns1035(name, 'metadata.name', true);
  if (!dns.isEmpty()) return dns;
  const prefix = `${serviceName}-`;
  if (!name.startsWith(prefix)) {
    return invalidValue(`${goQuote(name)} must have prefix ${goQuote(prefix)}`, 'metadata.name');
  }
  return FieldError.none;
}

/** Parses kedge.dev/queue-timeout: "30" (seconds) or a Go duration ("30s", "2m"); null if invalid. */
export function parseQueueTimeoutSeconds(value: string): number | null {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) {
    const s = Number(text);
    return s > 0 ? s : null;
  }
  const ms = parseGoDurationMs(text);
  return ms !== null && ms > 0 ? ms / 1000 : null;
}

/** Template annotations: autoscaling (autoscaler's rules), progress-deadline, kedge.dev/*. Paths under `metadata.annotations`. */
function validateTemplateAnnotations(
  annotations: Readonly<Record<string, string>>,
  ctx: ValidationContext,
): FieldError {
  let errs = FieldError.none;
  for (const p of validateRevisionAnnotations(annotations, ctx.autoscaler)) {
    errs = errs.also(genericError(p.message, p.key));
  }
  for (const [key, value] of Object.entries(annotations)) {
    if (key === PROGRESS_DEADLINE_ANNOTATION) {
      // Knative: a Go duration at whole-second precision, not negative.
      const ms = parseGoDurationMs(value);
      if (ms === null) errs = errs.also(invalidValue(value, key));
      else if (Math.round(ms / 1000) * 1000 !== ms) {
        errs = errs.also(genericError(`progress-deadline=${value} is not at second precision`, key));
      } else if (ms < 0) errs = errs.also(genericError(`progress-deadline=${value} must be positive`, key));
    } else if (key === QUEUE_TIMEOUT_ANNOTATION) {
      if (parseQueueTimeoutSeconds(value) === null) {
        errs = errs.also(
          invalidValue(value, key, 'write a positive number of seconds ("30") or a duration ("30s", "2m")'),
        );
      }
    } else if (key.startsWith('kedge.dev/') && !KEDGE_ANNOTATIONS.includes(key)) {
      errs = errs.also(
        invalidKeyName(key, CURRENT_FIELD, `kedge knows only ${KEDGE_ANNOTATIONS.join(', ')}`),
      );
    } else if (UNSUPPORTED_TEMPLATE_ANNOTATIONS.includes(key)) {
      errs = errs.also(notSupported(key));
    } else if (key.startsWith(AUTOSCALING_GROUP) && !isAutoscalingAnnotation(key)) {
      errs = errs.also(invalidKeyName(key, CURRENT_FIELD));
    }
  }
  return errs.viaField('metadata.annotations');
}

// A loose form of go-containerregistry's name.ParseReference: [registry/]repo[:tag][@digest],
// lower-case repository path components.
const IMAGE_REFERENCE =
  /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$/;

/** The single serving container (k8s_validation.go validate/ValidateContainer); paths relative to it. */
function validateContainer(c: Container, ctx: ValidationContext): FieldError {
  const empty =
    c.name === '' &&
    c.image === '' &&
    c.command.length === 0 &&
    c.args.length === 0 &&
    c.workingDir === '' &&
    c.env.length === 0 &&
    c.ports.length === 0 &&
    c.resources === null &&
    c.readinessProbe === null;
  if (empty) return missingField(CURRENT_FIELD);
  let errs = FieldError.none;
  if (RESERVED_CONTAINER_NAMES.includes(c.name)) {
    errs = errs.also(genericError(`${goQuote(c.name)} is a reserved container name`, 'name'));
  }
  c.env.forEach((e, i) => {
    if (e.name === '') errs = errs.also(missingField('name').viaFieldIndex('env', i));
    else if (RESERVED_ENV_VARS.includes(e.name)) {
      errs = errs.also(
        genericError(`${goQuote(e.name)} is a reserved environment variable`, 'name').viaFieldIndex('env', i),
      );
    }
  });
  if (c.image === '') errs = errs.also(missingField('image'));
  else if (ctx.mode === 'cluster' && !IMAGE_REFERENCE.test(c.image)) {
    // Only a cluster pulls the image; locally `command` runs and the image is documentation.
    errs = errs.also(
      FieldError.of(
        'Failed to parse image reference',
        ['image'],
        `image: ${goQuote(c.image)}, error: could not parse reference: ${c.image}`,
      ),
    );
  }
  if (ctx.mode === 'local' && c.command.length === 0) {
    errs = errs.also(
      FieldError.of(
        'missing field(s)',
        ['command'],
        'kedge runs the container as a local process: set command (and args, workingDir)',
      ),
    );
  }
  if (c.resources !== null) errs = errs.also(validateResources(c.resources).viaField('resources'));
  const port = c.ports[0];
  if (port !== undefined) {
    let perrs = FieldError.none;
    const cp = port.containerPort;
    if (cp !== null && RESERVED_PORTS.includes(cp)) {
      perrs = perrs.also(
        invalidValue(
          `${cp} is a reserved port`,
          'containerPort',
          `${cp} is a reserved port, please use a different value`,
        ),
      );
    }
    if (cp !== null && (cp < 0 || cp > 65535)) perrs = perrs.also(outOfBounds(0, cp, 65535, 'containerPort'));
    if (port.protocol !== '' && port.protocol !== 'TCP')
      perrs = perrs.also(invalidValue(port.protocol, 'protocol'));
    if (!VALID_PORT_NAMES.includes(port.name)) {
      perrs = perrs.also(
        FieldError.of(
          `Port name ${port.name} is not allowed`,
          [CURRENT_FIELD],
          "Name must be empty, or one of: 'h2c', 'http1'",
        ),
      );
    }
    if (port.name === 'h2c') {
      // kedge's gateway proxies HTTP/1.1 only.
      perrs = perrs.also(notSupported('name'));
    }
    errs = errs.also(perrs.viaField('ports'));
  }
  const probePort = c.readinessProbe?.tcpSocketPort ?? null;
  if (probePort !== null) {
    const servingPort = port?.containerPort ?? 8080;
    const servingName = port?.name === '' || port === undefined ? 'http' : port.name;
    const ok =
      typeof probePort === 'number'
        ? probePort === servingPort || probePort === 0
        : probePort === servingName;
    if (!ok) {
      errs = errs.also(
        invalidValue(
          String(probePort),
          'readinessProbe.tcpSocket.port',
          'Probe port must match container port',
        ),
      );
    }
  }
  return errs;
}

/** RevisionTemplateSpec.Validate (paths relative to the template). */
export function validateTemplate(
  template: RevisionTemplate,
  serviceName: string,
  ctx: ValidationContext,
): FieldError {
  let spec = FieldError.none;
  const containers = template.spec.containers;
  let portCount = 0;
  for (const c of containers) portCount += c.ports.length;
  if (portCount > 1) {
    spec = spec.also(
      FieldError.of(
        'more than one container port is set',
        ['ports'],
        'Only a single port is allowed across all containers',
      ).viaField('containers[*]'),
    );
  }
  const first = containers[0];
  if (first === undefined) spec = spec.also(missingField('containers'));
  else if (containers.length > 1) {
    // Knative's message when the multi-container feature is off; kedge runs one process per replica.
    spec = spec.also(genericError(`multi-container is off, but found ${containers.length} containers`));
  } else spec = spec.also(validateContainer(first, ctx).viaFieldIndex('containers', 0));

  const maxTimeout = ctx.defaults.maxRevisionTimeoutSeconds;
  const timeout = template.spec.timeoutSeconds;
  if (timeout !== null && timeout !== 0 && (timeout > maxTimeout || timeout < 0)) {
    spec = spec.also(outOfBounds(0, timeout, maxTimeout, 'timeoutSeconds'));
  }
  // Knative has no per-revision range check for these two; kedge rejects what cannot be a timer.
  for (const field of ['responseStartTimeoutSeconds', 'idleTimeoutSeconds'] as const) {
    const v = template.spec[field];
    if (v !== null && (v < 0 || v > maxTimeout)) spec = spec.also(outOfBounds(0, v, maxTimeout, field));
  }
  const cc = template.spec.containerConcurrency;
  if (cc !== null) {
    const min = ctx.defaults.allowContainerConcurrencyZero ? 0 : 1;
    const max = ctx.defaults.containerConcurrencyMaxLimit;
    if (cc < min || cc > max) spec = spec.also(outOfBounds(min, cc, max, 'containerConcurrency'));
  }
  return spec
    .viaField('spec')
    .also(validateTemplateAnnotations(template.metadata.annotations, ctx))
    .also(validateRevisionName(template.metadata.name, serviceName));
}

/** TrafficTarget.Validate inside a Service spec (a default configurationName exists). Paths relative to the entry. */
function validateTrafficTarget(tt: TrafficTarget): FieldError {
  let errs = FieldError.none;
  if (tt.latestRevision !== null) {
    const pinned = tt.revisionName !== '';
    if (pinned === tt.latestRevision) {
      errs = errs.also(
        genericError(
          `may not set revisionName ${goQuote(tt.revisionName)} when latestRevision is ${String(tt.latestRevision)}`,
          'latestRevision',
        ),
      );
    }
  }
  if (tt.configurationName !== '') errs = errs.also(disallowedFields('configurationName'));
  else if (tt.revisionName !== '') {
    const msgs = isQualifiedName(tt.revisionName);
    if (msgs.length > 0) errs = errs.also(invalidKeyName(tt.revisionName, 'revisionName', ...msgs));
  }
  if (tt.percent !== null && (tt.percent < 0 || tt.percent > 100))
    errs = errs.also(outOfBounds(0, tt.percent, 100, 'percent'));
  if (tt.url !== '') {
    // Not allowed in spec, and not without a tag: Knative reports both, merged into one line.
    errs = errs.also(disallowedFields('url'));
    if (tt.tag === '') errs = errs.also(disallowedFields('url'));
  }
  return errs;
}

/** validateTrafficList (paths relative to spec.traffic); an empty list means Knative's default. */
function validateTraffic(traffic: readonly TrafficTarget[]): FieldError {
  if (traffic.length === 0) return FieldError.none;
  let errs = FieldError.none;
  const firstByTag = new Map<string, number>();
  let sum = 0;
  traffic.forEach((tt, i) => {
    errs = errs.also(validateTrafficTarget(tt).viaIndex(i));
    sum += tt.percent ?? 0;
    if (tt.tag === '') return;
    const msgs = isDNS1035Label(tt.tag);
    if (msgs.length > 0)
      errs = errs.also(
        invalidValue(`not a DNS 1035 label: ${goStringSlice(msgs)}`, CURRENT_FIELD).viaFieldIndex('tag', i),
      );
    const seen = firstByTag.get(tt.tag);
    if (seen === undefined) firstByTag.set(tt.tag, i);
    else
      errs = errs.also(
        genericError(`Multiple definitions for ${goQuote(tt.tag)}`, `[${i}].tag`, `[${seen}].tag`),
      );
  });
  if (sum !== 100) errs = errs.also(genericError(`Traffic targets sum to ${sum}, want 100`, CURRENT_FIELD));
  return errs;
}

/** Service.Validate for a create (or an update; see verifyNameChange for the BYO-name rule). */
export function validateService(service: Service, ctx: ValidationContext): FieldError {
  return validateServiceMetadata(service.metadata)
    .also(validateTemplate(service.spec.template, service.metadata.name, ctx).viaField('spec.template'))
    .also(validateTraffic(service.spec.traffic).viaField('spec.traffic'));
}

/**
 * Knative VerifyNameChange: with a BYO revision name, changing the template without changing the
 * name is rejected (the name would then stand for two different revisions). The details list the
 * changed fields as `-old`/`+new` lines (Knative prints a go-cmp diff; the fields are the same).
 */
export function verifyNameChange(previous: RevisionTemplate, next: RevisionTemplate): FieldError {
  if (next.metadata.name === '' || next.metadata.name !== previous.metadata.name) return FieldError.none;
  const diff = diffJson(templateIdentity(previous), templateIdentity(next), '');
  if (diff.length === 0) return FieldError.none;
  return FieldError.of(
    'Saw the following changes without a name change (-old +new)',
    ['metadata.name'],
    diff.join('\n'),
  ).viaField('spec.template');
}

function diffJson(a: unknown, b: unknown, path: string): string[] {
  if (canonicalJson(a) === canonicalJson(b)) return [];
  const bothObjects =
    typeof a === 'object' &&
    a !== null &&
    typeof b === 'object' &&
    b !== null &&
    Array.isArray(a) === Array.isArray(b);
  if (!bothObjects) {
    return [
      `${path === '' ? '.' : path}:`,
      `\t-: ${canonicalJson(a) ?? 'undefined'}`,
      `\t+: ${canonicalJson(b) ?? 'undefined'}`,
    ];
  }
  const ra = a as Readonly<Record<string, unknown>>;
  const rb = b as Readonly<Record<string, unknown>>;
  const keys = [...new Set([...Object.keys(ra), ...Object.keys(rb)])].sort();
  return keys.flatMap((k) =>
    diffJson(ra[k], rb[k], Array.isArray(a) ? `${path}[${k}]` : path === '' ? k : `${path}.${k}`),
  );
}

/**
 * The template as Knative compares templates: through typed Go structs, where `resources: {}` and
 * empty `requests`/`limits` maps are the same as no resources at all (corev1.ResourceRequirements
 * is a value, and equality.Semantic.DeepEqual treats empty and nil maps alike). The parser already
 * gives absent maps as `{}`, so only the empty object is left to fold into null. Templates without
 * resources come back unchanged, so their identity (and revision) stays what it was.
 */
export function templateIdentity(template: RevisionTemplate): RevisionTemplate {
  const containers = template.spec.containers;
  if (!containers.some((c) => c.resources !== null && isEmptyResources(c.resources))) return template;
  return {
    ...template,
    spec: {
      ...template.spec,
      containers: containers.map((c) =>
        c.resources !== null && isEmptyResources(c.resources) ? { ...c, resources: null } : c,
      ),
    },
  };
}

/** JSON with object keys sorted at every level: equal data gives equal text. */
export function canonicalJson(value: unknown): string | undefined {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Readonly<Record<string, unknown>>)[k];
    return sorted;
  });
}
