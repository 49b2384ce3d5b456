// The `config-defaults` ConfigMap: what a revision gets when its template leaves a field unset,
// and the bounds validation applies. Keys, defaults and checks are Knative's
// (knative/serving pkg/apis/config/defaults.go NewDefaultsConfigFromMap).
import { parseQuantity } from '../api/quantity.js';
import { type ConfigProblem, type ParsedConfig, parseGoBool, parseGoInt } from './problem.js';

export interface DefaultsConfig {
  /** revision-timeout-seconds: timeoutSeconds when unset (Knative: 300). */
  readonly revisionTimeoutSeconds: number;
  /** max-revision-timeout-seconds: upper bound of timeoutSeconds (Knative: 600). */
  readonly maxRevisionTimeoutSeconds: number;
  /** revision-response-start-timeout-seconds: defaults to revision-timeout-seconds. */
  readonly revisionResponseStartTimeoutSeconds: number;
  /** revision-idle-timeout-seconds: 0 means no idle timer. */
  readonly revisionIdleTimeoutSeconds: number;
  /** container-concurrency: 0 means unlimited. */
  readonly containerConcurrency: number;
  /** container-concurrency-max-limit (Knative: 1000). */
  readonly containerConcurrencyMaxLimit: number;
  /** allow-container-concurrency-zero: false makes the lower bound 1. */
  readonly allowContainerConcurrencyZero: boolean;
  /** container-name-template / init-container-name-template, verbatim (kedge names no containers). */
  readonly containerNameTemplate: string;
  readonly initContainerNameTemplate: string;
  /** enable-service-links: null = leave to Kubernetes. */
  readonly enableServiceLinks: boolean | null;
  /** revision-{cpu,memory,ephemeral-storage}-{request,limit}: quantities verbatim, null when unset. */
  readonly revisionCpuRequest: string | null;
  readonly revisionCpuLimit: string | null;
  readonly revisionMemoryRequest: string | null;
  readonly revisionMemoryLimit: string | null;
  readonly revisionEphemeralStorageRequest: string | null;
  readonly revisionEphemeralStorageLimit: string | null;
}

export const DEFAULT_DEFAULTS: DefaultsConfig = Object.freeze({
  revisionTimeoutSeconds: 300,
  maxRevisionTimeoutSeconds: 600,
  revisionResponseStartTimeoutSeconds: 300,
  revisionIdleTimeoutSeconds: 0,
  containerConcurrency: 0,
  containerConcurrencyMaxLimit: 1000,
  allowContainerConcurrencyZero: true,
  containerNameTemplate: 'user-container',
  initContainerNameTemplate: 'init-container',
  // Knative's defaultDefaultsConfig sets EnableServiceLinks to false.
  enableServiceLinks: false,
  revisionCpuRequest: null,
  revisionCpuLimit: null,
  revisionMemoryRequest: null,
  revisionMemoryLimit: null,
  revisionEphemeralStorageRequest: null,
  revisionEphemeralStorageLimit: null,
});

const INT_KEYS = {
  'revision-timeout-seconds': 'revisionTimeoutSeconds',
  'max-revision-timeout-seconds': 'maxRevisionTimeoutSeconds',
  'revision-idle-timeout-seconds': 'revisionIdleTimeoutSeconds',
  'container-concurrency': 'containerConcurrency',
  'container-concurrency-max-limit': 'containerConcurrencyMaxLimit',
} as const;

const QUANTITY_KEYS = {
  'revision-cpu-request': 'revisionCpuRequest',
  'revision-cpu-limit': 'revisionCpuLimit',
  'revision-memory-request': 'revisionMemoryRequest',
  'revision-memory-limit': 'revisionMemoryLimit',
  'revision-ephemeral-storage-request': 'revisionEphemeralStorageRequest',
  'revision-ephemeral-storage-limit': 'revisionEphemeralStorageLimit',
} as const;

const KNOWN_KEYS = new Set<string>([
  ...Object.keys(INT_KEYS),
  ...Object.keys(QUANTITY_KEYS),
  'revision-response-start-timeout-seconds',
  'allow-container-concurrency-zero',
  'enable-service-links',
  'container-name-template',
  'init-container-name-template',
  '_example',
]);

/** Parses `config-defaults` data; see ParsedConfig for what `rejected` means. */
export function parseDefaultsConfig(data: Readonly<Record<string, string>>): ParsedConfig<DefaultsConfig> {
  const problems: ConfigProblem[] = [];
  const c: { -readonly [K in keyof DefaultsConfig]: DefaultsConfig[K] } = { ...DEFAULT_DEFAULTS };
  const intOf = (key: string, fix: string): number | null => {
    const raw = data[key];
    if (raw === undefined) return null;
    const n = parseGoInt(raw.trim());
    if (n === null) problems.push({ key, value: raw, message: `${key}: "${raw}" is not an integer; ${fix}` });
    return n;
  };

  for (const [key, field] of Object.entries(INT_KEYS)) {
    const n = intOf(key, 'write a whole number, e.g. "300"');
    if (n !== null) c[field] = n;
  }
  // Knative: the response-start default follows revision-timeout-seconds unless set itself.
  c.revisionResponseStartTimeoutSeconds = c.revisionTimeoutSeconds;
  const rst = intOf('revision-response-start-timeout-seconds', 'write a whole number of seconds, e.g. "300"');
  if (rst !== null) c.revisionResponseStartTimeoutSeconds = rst;

  for (const [key, field] of Object.entries(QUANTITY_KEYS)) {
    const raw = data[key];
    if (raw === undefined) continue;
    if (parseQuantity(raw.trim()).ok) c[field] = raw.trim();
    else
      problems.push({
        key,
        value: raw,
        message: `${key}: "${raw}" is not a Kubernetes quantity; write e.g. "500m" or "128Mi"`,
      });
  }

  const allowZero = data['allow-container-concurrency-zero'];
  if (allowZero !== undefined) {
    const b = parseGoBool(allowZero.trim());
    if (b === null) {
      problems.push({
        key: 'allow-container-concurrency-zero',
        value: allowZero,
        message: `allow-container-concurrency-zero: "${allowZero}" is not a boolean; write "true" or "false"`,
      });
    } else c.allowContainerConcurrencyZero = b;
  }
  // Knative asTriState: anything but true/false (any case) means "unset".
  const links = data['enable-service-links'];
  if (links !== undefined) {
    const lower = links.trim().toLowerCase();
    c.enableServiceLinks = lower === 'true' ? true : lower === 'false' ? false : null;
  }
  for (const [key, field] of [
    ['container-name-template', 'containerNameTemplate'],
    ['init-container-name-template', 'initContainerNameTemplate'],
  ] as const) {
    const raw = data[key];
    if (raw === undefined) continue;
    if (raw.trim() === '' || (raw.match(/\{\{/g) ?? []).length !== (raw.match(/\}\}/g) ?? []).length) {
      problems.push({
        key,
        value: raw,
        message: `${key}: "${raw}" is not a valid Go template; write e.g. "user-container" or "{{.Name}}"`,
      });
    } else c[field] = raw;
  }

  // Cross-checks, in Knative's order and with its bounds.
  if (problems.length === 0) {
    if (c.revisionTimeoutSeconds > c.maxRevisionTimeoutSeconds) {
      problems.push({
        key: 'revision-timeout-seconds',
        value: String(c.revisionTimeoutSeconds),
        message: `revision-timeout-seconds (${c.revisionTimeoutSeconds}) cannot be greater than max-revision-timeout-seconds (${c.maxRevisionTimeoutSeconds}); lower it or raise max-revision-timeout-seconds`,
      });
    }
    if (
      c.revisionResponseStartTimeoutSeconds > 0 &&
      c.revisionResponseStartTimeoutSeconds > c.revisionTimeoutSeconds
    ) {
      problems.push({
        key: 'revision-response-start-timeout-seconds',
        value: String(c.revisionResponseStartTimeoutSeconds),
        message: `revision-response-start-timeout-seconds (${c.revisionResponseStartTimeoutSeconds}) cannot be greater than revision-timeout-seconds (${c.revisionTimeoutSeconds}); lower it`,
      });
    }
    if (c.revisionIdleTimeoutSeconds > 0 && c.revisionIdleTimeoutSeconds > c.revisionTimeoutSeconds) {
      problems.push({
        key: 'revision-idle-timeout-seconds',
        value: String(c.revisionIdleTimeoutSeconds),
        message: `revision-idle-timeout-seconds (${c.revisionIdleTimeoutSeconds}) cannot be greater than revision-timeout-seconds (${c.revisionTimeoutSeconds}); lower it`,
      });
    }
    if (c.containerConcurrencyMaxLimit < 1) {
      problems.push({
        key: 'container-concurrency-max-limit',
        value: String(c.containerConcurrencyMaxLimit),
        message: `container-concurrency-max-limit: expected 1 <= ${c.containerConcurrencyMaxLimit} <= 2147483647`,
      });
    } else if (c.containerConcurrency < 0 || c.containerConcurrency > c.containerConcurrencyMaxLimit) {
      problems.push({
        key: 'container-concurrency',
        value: String(c.containerConcurrency),
        message: `container-concurrency: expected 0 <= ${c.containerConcurrency} <= ${c.containerConcurrencyMaxLimit} (container-concurrency-max-limit)`,
      });
    }
  }
  for (const key of Object.keys(data)) {
    if (!KNOWN_KEYS.has(key)) {
      problems.push({
        key,
        value: data[key] ?? '',
        message: `${key}: unknown config-defaults key; check the spelling (Knative ignores it too)`,
      });
    }
  }
  // An unknown key alone does not reject the map (Knative ignores unknown keys); it is only reported.
  const rejected = problems.some((p) => KNOWN_KEYS.has(p.key));
  return { config: rejected ? DEFAULT_DEFAULTS : Object.freeze(c), problems, rejected };
}
