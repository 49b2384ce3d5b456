// The autoscaler's knobs: Knative's `config-autoscaler` ConfigMap keys and the
// `autoscaling.knative.dev/*` revision annotations, spelled exactly as Knative spells them, with
// Knative's defaults, ranges and messages (knative/serving pkg/autoscaler/config/config.go,
// pkg/apis/autoscaling/annotation_validation.go, register.go; reference §1.2-1.3).
// Pure: no I/O. Times are milliseconds, percentages become fractions once, here.
import type { RevisionSpec } from '../controller/state.js';
import { formatGoDuration, parseGoDuration } from '../lib/go-duration.js';

export type ScalingMetric = 'concurrency' | 'rps';
export type AggregationAlgorithm = 'linear' | 'weighted-exponential';

/** Knative's KPA class name (register.go); the only class kedge implements. */
export const KPA_CLASS = 'kpa.autoscaling.knative.dev';
export const HPA_CLASS = 'hpa.autoscaling.knative.dev';

/** Knative autoscaling.TargetMin: no target may be lower. */
export const TARGET_MIN = 0.01;
/** Knative autoscaling.WindowMin / WindowMax: the stable window's range. */
export const WINDOW_MIN_MS = 6_000;
export const WINDOW_MAX_MS = 3_600_000;
const INT32_MAX = 2_147_483_647;
const INT32_MIN = -2_147_483_648;

export interface AutoscalerConfig {
  /** pod-autoscaler-class */
  readonly podAutoscalerClass: string;
  /** enable-scale-to-zero */
  readonly enableScaleToZero: boolean;
  /** allow-zero-initial-scale */
  readonly allowZeroInitialScale: boolean;
  /** container-concurrency-target-percentage, as a fraction (70 → 0.7; Knative reads ≤ 1 as a fraction already). */
  readonly targetUtilization: number;
  /** container-concurrency-target-default: the soft concurrency total when containerConcurrency is 0. */
  readonly containerConcurrencyTargetDefault: number;
  /** The RPS utilization: no key, fixed at 0.7 (Knative config.go TargetUtilization). */
  readonly rpsTargetUtilization: number;
  /** requests-per-second-target-default */
  readonly rpsTargetDefault: number;
  /** max-scale-up-rate */
  readonly maxScaleUpRate: number;
  /** max-scale-down-rate */
  readonly maxScaleDownRate: number;
  /** target-burst-capacity; -1 means unlimited (activator always in the path). */
  readonly targetBurstCapacity: number;
  /** panic-window-percentage (1..100), a percentage of the stable window. */
  readonly panicWindowPercentage: number;
  /** panic-threshold-percentage (200 = panic when the panic window wants twice the ready pods). */
  readonly panicThresholdPercentage: number;
  /** activator-capacity */
  readonly activatorCapacity: number;
  /** stable-window */
  readonly stableWindowMs: number;
  /** scale-to-zero-grace-period */
  readonly scaleToZeroGracePeriodMs: number;
  /** scale-to-zero-pod-retention-period */
  readonly scaleToZeroPodRetentionPeriodMs: number;
  /** scale-down-delay */
  readonly scaleDownDelayMs: number;
  /** initial-scale */
  readonly initialScale: number;
  /** min-scale */
  readonly minScale: number;
  /** max-scale; 0 means unlimited. */
  readonly maxScale: number;
  /** max-scale-limit; 0 means none. */
  readonly maxScaleLimit: number;
}

/** Knative's defaults (config.go defaultConfig, knative-v1.23). */
export const DEFAULT_AUTOSCALER: AutoscalerConfig = Object.freeze({
  podAutoscalerClass: KPA_CLASS,
  enableScaleToZero: true,
  allowZeroInitialScale: false,
  targetUtilization: 0.7,
  containerConcurrencyTargetDefault: 100,
  rpsTargetUtilization: 0.7,
  rpsTargetDefault: 200,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  // Knative config.go: 211 since knative-v1.4 (a prime, "to guarantee no flipping"); the docs still say 200.
  targetBurstCapacity: 211,
  panicWindowPercentage: 10,
  panicThresholdPercentage: 200,
  activatorCapacity: 100,
  stableWindowMs: 60_000,
  scaleToZeroGracePeriodMs: 30_000,
  scaleToZeroPodRetentionPeriodMs: 0,
  scaleDownDelayMs: 0,
  initialScale: 1,
  minScale: 0,
  maxScale: 0,
  maxScaleLimit: 0,
});

/** One rejected key: the key as written, its raw value, and what is wrong in Knative's words (no field path). */
export interface ConfigProblem {
  readonly key: string;
  readonly value: string;
  readonly message: string;
}

// ---------------------------------------------------------------------------------------------
// Parsing primitives, matching Go's strconv / time as Knative's configmap helpers use them.

const FLOAT_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INT_RE = /^[+-]?\d+$/;
// Go strconv.ParseBool.
const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

function parseFloat64(raw: string): number | undefined {
  return FLOAT_RE.test(raw) ? Number(raw) : undefined;
}

/** Go strconv.ParseInt(raw, 10, 32): 'range' when it parses but does not fit an int32. */
function parseInt32(raw: string): number | 'range' | undefined {
  if (!INT_RE.test(raw)) return undefined;
  const n = Number(raw);
  return n > INT32_MAX || n < INT32_MIN ? 'range' : n;
}

function isWholeSeconds(ms: number): boolean {
  return Number.isInteger(ms / 1000);
}

// ---------------------------------------------------------------------------------------------
// The `config-autoscaler` parse table.

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type FieldsOf<V> = {
  [K in keyof AutoscalerConfig]: AutoscalerConfig[K] extends V ? K : never;
}[keyof AutoscalerConfig];
export type NumberField = FieldsOf<number>;
export type BoolField = FieldsOf<boolean>;

type Check = (value: number, raw: string) => string | undefined;

export interface NumberRule {
  readonly kind: 'float' | 'int32' | 'duration';
  readonly key: string;
  readonly field: NumberField;
  readonly check?: Check;
  /** Applied before the check (percent → fraction). */
  readonly transform?: (value: number) => number;
}
export interface BoolRule {
  readonly kind: 'bool';
  readonly key: string;
  readonly field: BoolField;
}
export interface ClassRule {
  readonly kind: 'class';
  readonly key: string;
}
/** One row of the config-autoscaler parse table. */
export type ConfigKeyRule = NumberRule | BoolRule | ClassRule;

const atLeast =
  (min: number, shown = String(min)): Check =>
  (v, raw) =>
    v < min ? `must be at least ${shown}, was: ${raw}` : undefined;
const greaterThanOne: Check = (v, raw) => (v <= 1 ? `must be greater than 1.0, was: ${raw}` : undefined);
const notNegativeDuration: Check = (v, raw) => (v < 0 ? `cannot be negative, was: ${raw}` : undefined);
const secondPrecision: Check = (v, raw) =>
  isWholeSeconds(v) ? undefined : `must be specified with at most second precision, was: ${raw}`;
const both =
  (a: Check, b: Check): Check =>
  (v, raw) =>
    a(v, raw) ?? b(v, raw);
const inRange =
  (min: number, max: number, show: (n: number) => string = String): Check =>
  (v, raw) =>
    v < min || v > max ? `expected ${show(min)} <= ${raw} <= ${show(max)}` : undefined;

/** Every key Knative's config.go parses, in its order; `_example` and unknown keys are ignored as Knative does. */
export const CONFIG_KEYS: readonly ConfigKeyRule[] = [
  { kind: 'class', key: 'pod-autoscaler-class' },
  { kind: 'bool', key: 'enable-scale-to-zero', field: 'enableScaleToZero' },
  { kind: 'bool', key: 'allow-zero-initial-scale', field: 'allowZeroInitialScale' },
  { kind: 'float', key: 'max-scale-up-rate', field: 'maxScaleUpRate', check: greaterThanOne },
  { kind: 'float', key: 'max-scale-down-rate', field: 'maxScaleDownRate', check: greaterThanOne },
  {
    kind: 'float',
    key: 'container-concurrency-target-percentage',
    field: 'targetUtilization',
    // Knative config.go: "for legacy reasons we allow values in the (0, 1] interval".
    transform: (v) => (v > 1 ? v / 100 : v),
    check: (v, raw) => (v <= 0 || v > 1 ? `expected 0 < ${raw} <= 100` : undefined),
  },
  { kind: 'float', key: 'container-concurrency-target-default', field: 'containerConcurrencyTargetDefault' },
  {
    kind: 'float',
    key: 'requests-per-second-target-default',
    field: 'rpsTargetDefault',
    check: atLeast(TARGET_MIN),
  },
  {
    kind: 'float',
    key: 'target-burst-capacity',
    field: 'targetBurstCapacity',
    check: (v, raw) =>
      v < 0 && v !== -1 ? `must be either non-negative or -1 (for unlimited), was: ${raw}` : undefined,
  },
  { kind: 'float', key: 'panic-window-percentage', field: 'panicWindowPercentage', check: inRange(1, 100) },
  { kind: 'float', key: 'activator-capacity', field: 'activatorCapacity', check: atLeast(1) },
  // Knative checks no range for this ConfigMap key (only the annotation has 110..1000).
  { kind: 'float', key: 'panic-threshold-percentage', field: 'panicThresholdPercentage' },
  {
    kind: 'int32',
    key: 'initial-scale',
    field: 'initialScale',
    check: (v, raw) => (v < 0 ? initialScaleMessage(raw) : undefined),
  },
  { kind: 'int32', key: 'min-scale', field: 'minScale', check: atLeast(0) },
  { kind: 'int32', key: 'max-scale', field: 'maxScale', check: atLeast(0) },
  { kind: 'int32', key: 'max-scale-limit', field: 'maxScaleLimit', check: atLeast(0) },
  {
    kind: 'duration',
    key: 'stable-window',
    field: 'stableWindowMs',
    check: both(inRange(WINDOW_MIN_MS, WINDOW_MAX_MS, formatGoDuration), secondPrecision),
  },
  {
    kind: 'duration',
    key: 'scale-down-delay',
    field: 'scaleDownDelayMs',
    check: both(notNegativeDuration, secondPrecision),
  },
  {
    kind: 'duration',
    key: 'scale-to-zero-grace-period',
    field: 'scaleToZeroGracePeriodMs',
    check: (v, raw) => (v <= 0 ? `must be positive, was: ${raw}` : undefined),
  },
  {
    kind: 'duration',
    key: 'scale-to-zero-pod-retention-period',
    field: 'scaleToZeroPodRetentionPeriodMs',
    check: notNegativeDuration,
  },
];

function initialScaleMessage(raw: string): string {
  return `must be at least 0 (or at least 1 when allow-zero-initial-scale is false), was: ${raw}`;
}

function classProblem(value: string): string | undefined {
  if (value === KPA_CLASS) return undefined;
  if (value.endsWith('.knative.dev') && value !== HPA_CLASS) return `invalid value: ${value}`;
  return `kedge implements only ${KPA_CLASS}, not ${value}`;
}

function parseNumber(rule: NumberRule, raw: string): number | string {
  let value: number | undefined;
  switch (rule.kind) {
    case 'float':
      value = parseFloat64(raw);
      if (value === undefined) return `invalid value: ${raw}, expected a number`;
      break;
    case 'int32': {
      const n = parseInt32(raw);
      if (n === undefined) return `invalid value: ${raw}, expected an integer`;
      if (n === 'range') return `expected ${INT32_MIN} <= ${raw} <= ${INT32_MAX}`;
      value = n;
      break;
    }
    case 'duration':
      value = parseGoDuration(raw);
      if (value === undefined) return `invalid value: ${raw}, expected a duration such as 30s or 1m`;
      break;
  }
  if (rule.transform !== undefined) value = rule.transform(value);
  return rule.check?.(value, raw) ?? value;
}

/**
 * Parses `config-autoscaler` data. A missing key takes Knative's default; an invalid key is
 * reported and takes `fallback`'s value (the default, or the last good config when the loop
 * re-parses a changed ConfigMap). All problems are returned, never thrown.
 * Knative rejects the whole ConfigMap on the first error; kedge keeps every valid key instead.
 */
export function parseAutoscalerConfig(
  data: Readonly<Record<string, string>>,
  fallback: AutoscalerConfig = DEFAULT_AUTOSCALER,
): { config: AutoscalerConfig; problems: readonly ConfigProblem[] } {
  const draft: Mutable<AutoscalerConfig> = { ...DEFAULT_AUTOSCALER };
  const problems: ConfigProblem[] = [];
  const valid = new Set<string>();
  const report = (key: string, value: string, message: string): void => {
    problems.push({ key, value, message });
  };

  for (const rule of CONFIG_KEYS) {
    const raw = data[rule.key];
    if (raw === undefined) continue;
    switch (rule.kind) {
      case 'class': {
        const message = classProblem(raw);
        if (message === undefined) draft.podAutoscalerClass = raw;
        else {
          report(rule.key, raw, message);
          draft.podAutoscalerClass = fallback.podAutoscalerClass;
        }
        break;
      }
      case 'bool':
        if (TRUE_WORDS.has(raw)) draft[rule.field] = true;
        else if (FALSE_WORDS.has(raw)) draft[rule.field] = false;
        else {
          report(rule.key, raw, `invalid value: ${raw}, expected true or false`);
          draft[rule.field] = fallback[rule.field];
          continue;
        }
        break;
      case 'float':
      case 'int32':
      case 'duration': {
        const parsed = parseNumber(rule, raw);
        if (typeof parsed === 'string') {
          report(rule.key, raw, parsed);
          draft[rule.field] = fallback[rule.field];
          continue;
        }
        draft[rule.field] = parsed;
        break;
      }
    }
    valid.add(rule.key);
  }

  // Cross-key rules (config.go validate), checked only between keys that parsed.
  const ccPct = 'container-concurrency-target-percentage';
  const ccDefault = 'container-concurrency-target-default';
  const yielded = draft.targetUtilization * draft.containerConcurrencyTargetDefault;
  if (yielded < TARGET_MIN) {
    const message = `${ccPct} and ${ccDefault} yield target concurrency of ${yielded}, can't be less than ${TARGET_MIN}`;
    for (const key of [ccPct, ccDefault]) {
      const raw = data[key];
      if (raw !== undefined && valid.has(key)) report(key, raw, message);
    }
    draft.targetUtilization = fallback.targetUtilization;
    draft.containerConcurrencyTargetDefault = fallback.containerConcurrencyTargetDefault;
  }
  if (draft.initialScale === 0 && !draft.allowZeroInitialScale) {
    report('initial-scale', data['initial-scale'] ?? '0', initialScaleMessage(data['initial-scale'] ?? '0'));
    draft.initialScale =
      fallback.initialScale === 0 ? DEFAULT_AUTOSCALER.initialScale : fallback.initialScale;
  }
  if (draft.maxScaleLimit > 0 && (draft.maxScale < 1 || draft.maxScale > draft.maxScaleLimit)) {
    // Knative config.go: with max-scale-limit set, max-scale must be in [1, max-scale-limit].
    const raw = data['max-scale'] ?? String(draft.maxScale);
    report('max-scale', raw, `expected 1 <= ${raw} <= ${draft.maxScaleLimit} (max-scale-limit)`);
    // The default (0, unlimited) is itself invalid under a limit: the limit is the closest valid bound.
    draft.maxScale = draft.maxScaleLimit;
  }
  if (draft.maxScale !== 0 && draft.minScale > draft.maxScale) {
    report(
      'min-scale',
      data['min-scale'] ?? String(draft.minScale),
      `max-scale=${draft.maxScale} is less than min-scale=${draft.minScale}`,
    );
    draft.minScale = fallback.minScale <= draft.maxScale ? fallback.minScale : 0;
  }
  return { config: Object.freeze(draft), problems };
}

// ---------------------------------------------------------------------------------------------
// Revision annotations.

export const ANNOTATION_PREFIX = 'autoscaling.knative.dev/';

/** Knative register.go: the canonical key first, then the camelCase key Knative still accepts (kmap.KeyPriority). */
export const ANNOTATIONS = {
  class: [`${ANNOTATION_PREFIX}class`],
  metric: [`${ANNOTATION_PREFIX}metric`],
  target: [`${ANNOTATION_PREFIX}target`],
  targetUtilizationPercentage: [
    `${ANNOTATION_PREFIX}target-utilization-percentage`,
    `${ANNOTATION_PREFIX}targetUtilizationPercentage`,
  ],
  targetBurstCapacity: [
    `${ANNOTATION_PREFIX}target-burst-capacity`,
    `${ANNOTATION_PREFIX}targetBurstCapacity`,
  ],
  window: [`${ANNOTATION_PREFIX}window`],
  panicWindowPercentage: [
    `${ANNOTATION_PREFIX}panic-window-percentage`,
    `${ANNOTATION_PREFIX}panicWindowPercentage`,
  ],
  panicThresholdPercentage: [
    `${ANNOTATION_PREFIX}panic-threshold-percentage`,
    `${ANNOTATION_PREFIX}panicThresholdPercentage`,
  ],
  minScale: [`${ANNOTATION_PREFIX}min-scale`, `${ANNOTATION_PREFIX}minScale`],
  maxScale: [`${ANNOTATION_PREFIX}max-scale`, `${ANNOTATION_PREFIX}maxScale`],
  initialScale: [`${ANNOTATION_PREFIX}initial-scale`, `${ANNOTATION_PREFIX}initialScale`],
  activationScale: [`${ANNOTATION_PREFIX}activation-scale`],
  scaleDownDelay: [`${ANNOTATION_PREFIX}scale-down-delay`, `${ANNOTATION_PREFIX}scaleDownDelay`],
  scaleToZeroPodRetentionPeriod: [
    `${ANNOTATION_PREFIX}scale-to-zero-pod-retention-period`,
    `${ANNOTATION_PREFIX}scaleToZeroPodRetentionPeriod`,
  ],
  metricAggregationAlgorithm: [
    `${ANNOTATION_PREFIX}metric-aggregation-algorithm`,
    `${ANNOTATION_PREFIX}metricAggregationAlgorithm`,
  ],
} as const satisfies Record<string, readonly string[]>;

/** True for every `autoscaling.knative.dev/*` key: Knative rejects them on Service metadata. */
export function isAutoscalingAnnotation(key: string): boolean {
  return key.startsWith(ANNOTATION_PREFIX);
}

type Annotations = Readonly<Record<string, string>>;

/** kmap.KeyPriority.Get: the first key present, canonical before legacy. */
function lookup(m: Annotations, keys: readonly string[]): { key: string; value: string } | undefined {
  for (const key of keys) {
    const value = m[key];
    if (value !== undefined) return { key, value };
  }
  return undefined;
}

/** Knative getIntGE0: 0 when absent or invalid (the problem is reported once). */
function intAtLeastZero(m: Annotations, keys: readonly string[], problems: ConfigProblem[]): number {
  const found = lookup(m, keys);
  if (found === undefined) return 0;
  const n = parseInt32(found.value);
  if (n === undefined) {
    problems.push({ ...found, message: `invalid value: ${found.value}` });
    return 0;
  }
  if (n === 'range' || n < 0) {
    problems.push({ ...found, message: `expected 0 <= ${found.value} <= ${INT32_MAX}` });
    return 0;
  }
  return n;
}

function checkFloat(
  m: Annotations,
  keys: readonly string[],
  problems: ConfigProblem[],
  check: (v: number, raw: string) => string | undefined,
): void {
  const found = lookup(m, keys);
  if (found === undefined) return;
  const v = parseFloat64(found.value);
  const message = v === undefined ? `invalid value: ${found.value}` : check(v, found.value);
  if (message !== undefined) problems.push({ ...found, message });
}

function checkDuration(
  m: Annotations,
  keys: readonly string[],
  problems: ConfigProblem[],
  minMs: number,
  maxMs: number,
  wholeSeconds: boolean,
): void {
  const found = lookup(m, keys);
  if (found === undefined) return;
  const d = parseGoDuration(found.value);
  let message: string | undefined;
  if (d === undefined) message = `invalid value: ${found.value}`;
  else if (d < minMs || d > maxMs)
    message = `expected ${formatGoDuration(minMs)} <= ${found.value} <= ${formatGoDuration(maxMs)}`;
  else if (wholeSeconds && !isWholeSeconds(d)) message = 'must be specified with at most second precision';
  if (message !== undefined) problems.push({ ...found, message });
}

/**
 * Knative ValidateAnnotations (annotation_validation.go), in its order, with its messages. The
 * controller wraps each key in its field path. `config` supplies max-scale-limit and
 * allow-zero-initial-scale.
 */
export function validateRevisionAnnotations(
  annotations: Annotations,
  config: AutoscalerConfig,
): readonly ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const m = annotations;

  const cls = lookup(m, ANNOTATIONS.class);
  if (cls !== undefined) {
    const message = classProblem(cls.value);
    if (message !== undefined) problems.push({ ...cls, message });
  }
  const isKpa = cls === undefined || cls.value === KPA_CLASS;

  // validateMinMaxScale
  const min = intAtLeastZero(m, ANNOTATIONS.minScale, problems);
  const max = intAtLeastZero(m, ANNOTATIONS.maxScale, problems);
  const maxFound = lookup(m, ANNOTATIONS.maxScale);
  if (max !== 0 && max < min) {
    problems.push({
      key: maxFound?.key ?? ANNOTATIONS.maxScale[0],
      value: maxFound?.value ?? String(max),
      message: `max-scale=${max} is less than min-scale=${min}`,
    });
  }
  if (maxFound !== undefined && config.maxScaleLimit > 0) {
    if (max > config.maxScaleLimit) {
      problems.push({ ...maxFound, message: `expected 1 <= ${max} <= ${config.maxScaleLimit}` });
    }
    if (max === 0) {
      problems.push({
        ...maxFound,
        message: `max-scale=0 (unlimited), must be less than ${config.maxScaleLimit}`,
      });
    }
  }
  const act = lookup(m, ANNOTATIONS.activationScale);
  if (act !== undefined) {
    const n = parseInt32(act.value);
    if (n === undefined || n === 'range') problems.push({ ...act, message: `invalid value: ${act.value}` });
    else if (min > n)
      problems.push({ ...act, message: `min-scale=${min} is greater than activation-scale=${n}` });
    else if (max !== 0 && max < n)
      problems.push({ ...act, message: `max-scale=${max} is less than activation-scale=${n}` });
    else if (n < 2) problems.push({ ...act, message: `activation-scale=${n} must be greater than 1` });
  }

  // validateFloats
  checkFloat(m, ANNOTATIONS.panicWindowPercentage, problems, (v, raw) =>
    v < 1 || v > 100 ? `expected 1 <= ${raw} <= 100` : undefined,
  );
  checkFloat(m, ANNOTATIONS.panicThresholdPercentage, problems, (v, raw) =>
    v < 110 || v > 1000 ? `expected 110 <= ${raw} <= 1000` : undefined,
  );
  checkFloat(m, ANNOTATIONS.target, problems, (v, raw) =>
    v < TARGET_MIN ? `target ${raw} should be at least ${TARGET_MIN}` : undefined,
  );
  checkFloat(m, ANNOTATIONS.targetUtilizationPercentage, problems, (v, raw) =>
    v < 1 || v > 100 ? `expected 1 <= ${raw} <= 100` : undefined,
  );
  checkFloat(m, ANNOTATIONS.targetBurstCapacity, problems, (v, raw) =>
    v < 0 && v !== -1 ? `invalid value: ${raw}` : undefined,
  );

  // Knative checks second precision for window and scale-down-delay, not for the retention period.
  checkDuration(m, ANNOTATIONS.window, problems, WINDOW_MIN_MS, WINDOW_MAX_MS, true);
  checkDuration(m, ANNOTATIONS.scaleToZeroPodRetentionPeriod, problems, 0, WINDOW_MAX_MS, false);
  checkDuration(m, ANNOTATIONS.scaleDownDelay, problems, 0, WINDOW_MAX_MS, true);

  const metric = lookup(m, ANNOTATIONS.metric);
  if (metric !== undefined && isKpa && metric.value !== 'concurrency' && metric.value !== 'rps') {
    problems.push({ ...metric, message: `invalid value: ${metric.value}` });
  }
  const algorithm = lookup(m, ANNOTATIONS.metricAggregationAlgorithm);
  if (
    algorithm !== undefined &&
    isKpa &&
    !['linear', 'weighted-exponential', 'weightedExponential'].includes(algorithm.value)
  ) {
    problems.push({ ...algorithm, message: `invalid value: ${algorithm.value}` });
  }

  const initial = lookup(m, ANNOTATIONS.initialScale);
  if (initial !== undefined) {
    const n = parseInt32(initial.value);
    if (n === undefined || n === 'range')
      problems.push({ ...initial, message: `invalid value: ${initial.value}` });
    else if (n < 0)
      problems.push({ ...initial, message: `invalid value: ${initial.value}, must be greater than 0` });
    else if (n === 0 && !config.allowZeroInitialScale) {
      problems.push({ ...initial, message: `invalid value: 0, ${initial.key}=0 not allowed by cluster` });
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Per-revision values (Knative MakeDecider, MakeMetric, ResolveMetricTarget, GetInitialScale).

/** Everything the decider and the scale rules need for one revision. */
export interface KpaSpec {
  readonly metric: ScalingMetric;
  /** Per-pod target of the metric (Knative TargetValue), ≥ 0.01. */
  readonly targetValue: number;
  /** Per-pod capacity (Knative TotalValue): containerConcurrency, the default, or the target annotation. */
  readonly totalValue: number;
  /** -1 = unlimited, 0 = none. */
  readonly targetBurstCapacity: number;
  /** A ratio: 2 means panic when the panic window wants twice the ready pods. */
  readonly panicThreshold: number;
  readonly maxScaleUpRate: number;
  readonly maxScaleDownRate: number;
  readonly stableWindowMs: number;
  readonly panicWindowMs: number;
  readonly scaleDownDelayMs: number;
  /** Applied only when > 1. */
  readonly activationScale: number;
  /** False when no route sends traffic to the revision (Knative routingState "reserve"). */
  readonly reachable: boolean;
  readonly aggregation: AggregationAlgorithm;
  readonly initialScale: number;
  readonly minScale: number;
  /** 0 = unlimited. */
  readonly maxScale: number;
  /** 0 = none. */
  readonly maxScaleLimit: number;
  readonly enableScaleToZero: boolean;
  readonly scaleToZeroGracePeriodMs: number;
  readonly scaleToZeroPodRetentionPeriodMs: number;
  /** A revision stuck activating this long may go to zero (progress-deadline 600 s + Knative's 30 s buffer). */
  readonly activationTimeoutMs: number;
  readonly activatorCapacity: number;
}

/** Knative config-deployment progress-deadline (600 s) + kpa/scaler.go activationTimeoutBuffer (30 s). */
export const ACTIVATION_TIMEOUT_MS = 630_000;

/** The part of a revision the autoscaler reads. */
export type AutoscaledRevision = Pick<RevisionSpec, 'containerConcurrency' | 'annotations'>;

/**
 * Resolves a revision's spec from the config and its annotations. Invalid annotations are
 * reported (same problems as validateRevisionAnnotations) and ignored: the config value applies.
 */
export function resolveRevisionSpec(
  config: AutoscalerConfig,
  revision: AutoscaledRevision,
): { spec: KpaSpec; problems: readonly ConfigProblem[] } {
  const m = revision.annotations;
  const problems = validateRevisionAnnotations(m, config);
  const bad = new Set(problems.map((p) => p.key));
  const read = (keys: readonly string[]): string | undefined => {
    const found = lookup(m, keys);
    return found === undefined || bad.has(found.key) ? undefined : found.value;
  };
  const readNumber = (keys: readonly string[]): number | undefined => {
    const raw = read(keys);
    return raw === undefined ? undefined : parseFloat64(raw);
  };
  const readDuration = (keys: readonly string[]): number | undefined => {
    const raw = read(keys);
    return raw === undefined ? undefined : parseGoDuration(raw);
  };

  const metric: ScalingMetric = read(ANNOTATIONS.metric) === 'rps' ? 'rps' : 'concurrency';
  const cc = revision.containerConcurrency;
  // Knative ResolveMetricTarget (reconciler/autoscaling/resources/target.go).
  let total: number;
  let utilization: number;
  if (metric === 'rps') {
    total = config.rpsTargetDefault;
    utilization = config.rpsTargetUtilization;
  } else {
    total = cc > 0 ? cc : config.containerConcurrencyTargetDefault;
    utilization = config.targetUtilization;
  }
  const target = readNumber(ANNOTATIONS.target);
  if (target !== undefined) {
    // Never aim above what containerConcurrency lets one pod take.
    total = metric === 'concurrency' && cc > 0 ? Math.min(target, cc) : target;
  }
  const tuPercent = readNumber(ANNOTATIONS.targetUtilizationPercentage);
  if (tuPercent !== undefined) utilization = tuPercent / 100;

  const stableWindowMs = readDuration(ANNOTATIONS.window) ?? config.stableWindowMs;
  const panicPct = readNumber(ANNOTATIONS.panicWindowPercentage) ?? config.panicWindowPercentage;
  // Knative MakeMetric: round(stable × pct / 100) to whole seconds, at least one 1 s bucket.
  const panicWindowMs = Math.max(1000, Math.round((stableWindowMs * panicPct) / 100 / 1000) * 1000);

  // Knative GetInitialScale: the annotation, unless it is 0 and the cluster does not allow 0.
  const initialAnnotation = readNumber(ANNOTATIONS.initialScale);
  const initialScale =
    initialAnnotation === undefined || (initialAnnotation === 0 && !config.allowZeroInitialScale)
      ? config.initialScale
      : initialAnnotation;

  const algorithm = read(ANNOTATIONS.metricAggregationAlgorithm);
  const spec: KpaSpec = {
    metric,
    targetValue: Math.max(TARGET_MIN, total * utilization),
    totalValue: total,
    targetBurstCapacity: readNumber(ANNOTATIONS.targetBurstCapacity) ?? config.targetBurstCapacity,
    panicThreshold:
      (readNumber(ANNOTATIONS.panicThresholdPercentage) ?? config.panicThresholdPercentage) / 100,
    maxScaleUpRate: config.maxScaleUpRate,
    maxScaleDownRate: config.maxScaleDownRate,
    stableWindowMs,
    panicWindowMs,
    scaleDownDelayMs: readDuration(ANNOTATIONS.scaleDownDelay) ?? config.scaleDownDelayMs,
    activationScale: readNumber(ANNOTATIONS.activationScale) ?? 0,
    reachable: true,
    aggregation:
      algorithm === 'weighted-exponential' || algorithm === 'weightedExponential'
        ? 'weighted-exponential'
        : 'linear',
    initialScale,
    minScale: readNumber(ANNOTATIONS.minScale) ?? config.minScale,
    maxScale: readNumber(ANNOTATIONS.maxScale) ?? config.maxScale,
    maxScaleLimit: config.maxScaleLimit,
    enableScaleToZero: config.enableScaleToZero,
    scaleToZeroGracePeriodMs: config.scaleToZeroGracePeriodMs,
    scaleToZeroPodRetentionPeriodMs:
      readDuration(ANNOTATIONS.scaleToZeroPodRetentionPeriod) ?? config.scaleToZeroPodRetentionPeriodMs,
    activationTimeoutMs: ACTIVATION_TIMEOUT_MS,
    activatorCapacity: config.activatorCapacity,
  };
  return { spec: Object.freeze(spec), problems };
}

/** The spec of a revision with no annotations and containerConcurrency 0 under the defaults: target 70, total 100. */
export const DEFAULT_KPA: KpaSpec = resolveRevisionSpec(DEFAULT_AUTOSCALER, {
  containerConcurrency: 0,
  annotations: {},
}).spec;
