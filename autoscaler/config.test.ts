import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ACTIVATION_TIMEOUT_MS,
  DEFAULT_AUTOSCALER,
  DEFAULT_KPA,
  isAutoscalingAnnotation,
  parseAutoscalerConfig,
  resolveRevisionSpec,
  validateRevisionAnnotations,
  type AutoscalerConfig,
  type ConfigProblem,
  type KpaSpec,
} from './config.js';

const A = 'autoscaling.knative.dev/';

test('DEFAULT_AUTOSCALER holds Knative defaults and is frozen', () => {
  assert.ok(Object.isFrozen(DEFAULT_AUTOSCALER));
  assert.deepEqual(DEFAULT_AUTOSCALER, {
    podAutoscalerClass: 'kpa.autoscaling.knative.dev',
    enableScaleToZero: true,
    allowZeroInitialScale: false,
    targetUtilization: 0.7,
    containerConcurrencyTargetDefault: 100,
    rpsTargetUtilization: 0.7,
    rpsTargetDefault: 200,
    maxScaleUpRate: 1000,
    maxScaleDownRate: 2,
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
  const { config, problems } = parseAutoscalerConfig({});
  assert.deepEqual(config, DEFAULT_AUTOSCALER);
  assert.deepEqual(problems, []);
});

interface ConfigCase {
  readonly data: Readonly<Record<string, string>>;
  /** Fields that differ from the defaults. */
  readonly want?: Partial<AutoscalerConfig>;
  readonly problems?: readonly ConfigProblem[];
}

const p = (key: string, value: string, message: string): ConfigProblem => ({ key, value, message });

// Every config-autoscaler key: a valid value, then each kind of invalid value with its message.
const configCases: readonly ConfigCase[] = [
  { data: { 'pod-autoscaler-class': 'kpa.autoscaling.knative.dev' } },
  {
    data: { 'pod-autoscaler-class': 'hpa.autoscaling.knative.dev' },
    problems: [
      p(
        'pod-autoscaler-class',
        'hpa.autoscaling.knative.dev',
        'kedge implements only kpa.autoscaling.knative.dev, not hpa.autoscaling.knative.dev',
      ),
    ],
  },
  {
    data: { 'pod-autoscaler-class': 'foo.knative.dev' },
    problems: [p('pod-autoscaler-class', 'foo.knative.dev', 'invalid value: foo.knative.dev')],
  },
  { data: { 'enable-scale-to-zero': 'false' }, want: { enableScaleToZero: false } },
  { data: { 'enable-scale-to-zero': 'True' }, want: { enableScaleToZero: true } },
  {
    data: { 'enable-scale-to-zero': 'yes' },
    problems: [p('enable-scale-to-zero', 'yes', 'invalid value: yes, expected true or false')],
  },
  { data: { 'allow-zero-initial-scale': 'true' }, want: { allowZeroInitialScale: true } },
  {
    data: { 'allow-zero-initial-scale': '' },
    problems: [p('allow-zero-initial-scale', '', 'invalid value: , expected true or false')],
  },
  { data: { 'max-scale-up-rate': '10' }, want: { maxScaleUpRate: 10 } },
  {
    data: { 'max-scale-up-rate': '1' },
    problems: [p('max-scale-up-rate', '1', 'must be greater than 1.0, was: 1')],
  },
  {
    data: { 'max-scale-up-rate': 'fast' },
    problems: [p('max-scale-up-rate', 'fast', 'invalid value: fast, expected a number')],
  },
  { data: { 'max-scale-down-rate': '4.5' }, want: { maxScaleDownRate: 4.5 } },
  {
    data: { 'max-scale-down-rate': '0.5' },
    problems: [p('max-scale-down-rate', '0.5', 'must be greater than 1.0, was: 0.5')],
  },
  { data: { 'container-concurrency-target-percentage': '80' }, want: { targetUtilization: 0.8 } },
  // Knative: a value ≤ 1 is already a fraction.
  { data: { 'container-concurrency-target-percentage': '0.5' }, want: { targetUtilization: 0.5 } },
  {
    data: { 'container-concurrency-target-percentage': '120' },
    problems: [p('container-concurrency-target-percentage', '120', 'expected 0 < 120 <= 100')],
  },
  {
    data: { 'container-concurrency-target-percentage': '0' },
    problems: [p('container-concurrency-target-percentage', '0', 'expected 0 < 0 <= 100')],
  },
  { data: { 'container-concurrency-target-default': '10' }, want: { containerConcurrencyTargetDefault: 10 } },
  {
    data: { 'container-concurrency-target-default': '0.01' },
    problems: [
      p(
        'container-concurrency-target-default',
        '0.01',
        "container-concurrency-target-percentage and container-concurrency-target-default yield target concurrency of 0.006999999999999999, can't be less than 0.01",
      ),
    ],
  },
  { data: { 'requests-per-second-target-default': '50' }, want: { rpsTargetDefault: 50 } },
  {
    data: { 'requests-per-second-target-default': '0.001' },
    problems: [p('requests-per-second-target-default', '0.001', 'must be at least 0.01, was: 0.001')],
  },
  { data: { 'target-burst-capacity': '0' }, want: { targetBurstCapacity: 0 } },
  { data: { 'target-burst-capacity': '-1' }, want: { targetBurstCapacity: -1 } },
  {
    data: { 'target-burst-capacity': '-2' },
    problems: [
      p('target-burst-capacity', '-2', 'must be either non-negative or -1 (for unlimited), was: -2'),
    ],
  },
  { data: { 'panic-window-percentage': '20' }, want: { panicWindowPercentage: 20 } },
  {
    data: { 'panic-window-percentage': '0.5' },
    problems: [p('panic-window-percentage', '0.5', 'expected 1 <= 0.5 <= 100')],
  },
  {
    data: { 'panic-window-percentage': '101' },
    problems: [p('panic-window-percentage', '101', 'expected 1 <= 101 <= 100')],
  },
  // Knative checks no range on the ConfigMap key (the annotation has 110..1000).
  { data: { 'panic-threshold-percentage': '50' }, want: { panicThresholdPercentage: 50 } },
  {
    data: { 'panic-threshold-percentage': '2x' },
    problems: [p('panic-threshold-percentage', '2x', 'invalid value: 2x, expected a number')],
  },
  { data: { 'activator-capacity': '50' }, want: { activatorCapacity: 50 } },
  {
    data: { 'activator-capacity': '0.5' },
    problems: [p('activator-capacity', '0.5', 'must be at least 1, was: 0.5')],
  },
  { data: { 'initial-scale': '3' }, want: { initialScale: 3 } },
  {
    data: { 'initial-scale': '0', 'allow-zero-initial-scale': 'true' },
    want: { initialScale: 0, allowZeroInitialScale: true },
  },
  {
    data: { 'initial-scale': '0' },
    problems: [
      p(
        'initial-scale',
        '0',
        'must be at least 0 (or at least 1 when allow-zero-initial-scale is false), was: 0',
      ),
    ],
  },
  {
    data: { 'initial-scale': '-1' },
    problems: [
      p(
        'initial-scale',
        '-1',
        'must be at least 0 (or at least 1 when allow-zero-initial-scale is false), was: -1',
      ),
    ],
  },
  {
    data: { 'initial-scale': '1.5' },
    problems: [p('initial-scale', '1.5', 'invalid value: 1.5, expected an integer')],
  },
  {
    data: { 'initial-scale': '3000000000' },
    problems: [p('initial-scale', '3000000000', 'expected -2147483648 <= 3000000000 <= 2147483647')],
  },
  { data: { 'min-scale': '2' }, want: { minScale: 2 } },
  { data: { 'min-scale': '-1' }, problems: [p('min-scale', '-1', 'must be at least 0, was: -1')] },
  { data: { 'max-scale': '5' }, want: { maxScale: 5 } },
  { data: { 'max-scale': '-5' }, problems: [p('max-scale', '-5', 'must be at least 0, was: -5')] },
  {
    data: { 'min-scale': '4', 'max-scale': '2' },
    want: { maxScale: 2 },
    problems: [p('min-scale', '4', 'max-scale=2 is less than min-scale=4')],
  },
  { data: { 'max-scale-limit': '10', 'max-scale': '10' }, want: { maxScaleLimit: 10, maxScale: 10 } },
  {
    data: { 'max-scale-limit': '10', 'max-scale': '20' },
    want: { maxScaleLimit: 10, maxScale: 10 },
    problems: [p('max-scale', '20', 'expected 1 <= 20 <= 10 (max-scale-limit)')],
  },
  {
    data: { 'max-scale-limit': '10' },
    want: { maxScaleLimit: 10, maxScale: 10 },
    problems: [p('max-scale', '0', 'expected 1 <= 0 <= 10 (max-scale-limit)')],
  },
  {
    data: { 'max-scale-limit': '-1' },
    problems: [p('max-scale-limit', '-1', 'must be at least 0, was: -1')],
  },
  { data: { 'stable-window': '6s' }, want: { stableWindowMs: 6000 } },
  { data: { 'stable-window': '1h' }, want: { stableWindowMs: 3_600_000 } },
  { data: { 'stable-window': '2m30s' }, want: { stableWindowMs: 150_000 } },
  { data: { 'stable-window': '2s' }, problems: [p('stable-window', '2s', 'expected 6s <= 2s <= 1h0m0s')] },
  { data: { 'stable-window': '2h' }, problems: [p('stable-window', '2h', 'expected 6s <= 2h <= 1h0m0s')] },
  {
    data: { 'stable-window': '6500ms' },
    problems: [p('stable-window', '6500ms', 'must be specified with at most second precision, was: 6500ms')],
  },
  {
    data: { 'stable-window': '60' },
    problems: [p('stable-window', '60', 'invalid value: 60, expected a duration such as 30s or 1m')],
  },
  { data: { 'scale-down-delay': '5m' }, want: { scaleDownDelayMs: 300_000 } },
  {
    data: { 'scale-down-delay': '-1s' },
    problems: [p('scale-down-delay', '-1s', 'cannot be negative, was: -1s')],
  },
  {
    data: { 'scale-down-delay': '1.5s' },
    problems: [p('scale-down-delay', '1.5s', 'must be specified with at most second precision, was: 1.5s')],
  },
  { data: { 'scale-to-zero-grace-period': '1s' }, want: { scaleToZeroGracePeriodMs: 1000 } },
  {
    data: { 'scale-to-zero-grace-period': '0s' },
    problems: [p('scale-to-zero-grace-period', '0s', 'must be positive, was: 0s')],
  },
  {
    data: { 'scale-to-zero-pod-retention-period': '1m5s' },
    want: { scaleToZeroPodRetentionPeriodMs: 65_000 },
  },
  {
    data: { 'scale-to-zero-pod-retention-period': '-5s' },
    problems: [p('scale-to-zero-pod-retention-period', '-5s', 'cannot be negative, was: -5s')],
  },
  // Knative ignores keys it does not know, like the `_example` block.
  { data: { _example: '################################', 'no-such-key': '1' } },
  // All problems are returned, not just the first (Knative stops at the first).
  {
    data: { 'stable-window': '2s', 'max-scale-up-rate': '1', 'max-scale-down-rate': '3' },
    want: { maxScaleDownRate: 3 },
    problems: [
      p('max-scale-up-rate', '1', 'must be greater than 1.0, was: 1'),
      p('stable-window', '2s', 'expected 6s <= 2s <= 1h0m0s'),
    ],
  },
];

for (const c of configCases) {
  const name = Object.entries(c.data)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  test(`config-autoscaler ${name}`, () => {
    const { config, problems } = parseAutoscalerConfig(c.data);
    assert.deepEqual(config, { ...DEFAULT_AUTOSCALER, ...c.want });
    assert.deepEqual(problems, c.problems ?? []);
  });
}

test('an invalid key keeps the fallback (last good) value, a missing key the default', () => {
  const good = parseAutoscalerConfig({ 'stable-window': '10s', 'max-scale-up-rate': '5' }).config;
  const { config, problems } = parseAutoscalerConfig({ 'stable-window': 'soon' }, good);
  assert.equal(config.stableWindowMs, 10_000);
  assert.equal(config.maxScaleUpRate, 1000);
  assert.equal(problems.length, 1);
});

test('a sample config-autoscaler as shipped by Knative parses clean', () => {
  // Knative config/core/configmaps/autoscaler.yaml, the documented defaults written out.
  const data = {
    'container-concurrency-target-percentage': '70',
    'container-concurrency-target-default': '100',
    'requests-per-second-target-default': '200',
    'target-burst-capacity': '211',
    'stable-window': '60s',
    'panic-window-percentage': '10.0',
    'panic-threshold-percentage': '200.0',
    'max-scale-up-rate': '1000.0',
    'max-scale-down-rate': '2.0',
    'enable-scale-to-zero': 'true',
    'scale-to-zero-grace-period': '30s',
    'scale-to-zero-pod-retention-period': '0s',
    'pod-autoscaler-class': 'kpa.autoscaling.knative.dev',
    'activator-capacity': '100.0',
    'initial-scale': '1',
    'allow-zero-initial-scale': 'false',
    'min-scale': '0',
    'max-scale': '0',
    'scale-down-delay': '0s',
    'max-scale-limit': '0',
  };
  const { config, problems } = parseAutoscalerConfig(data);
  assert.deepEqual(problems, []);
  assert.deepEqual(config, DEFAULT_AUTOSCALER);
});

interface AnnotationCase {
  readonly name: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly config?: Partial<AutoscalerConfig>;
  readonly problems: readonly ConfigProblem[];
}

const annotationCases: readonly AnnotationCase[] = [
  { name: 'none', annotations: {}, problems: [] },
  {
    name: 'every annotation valid',
    annotations: {
      [`${A}class`]: 'kpa.autoscaling.knative.dev',
      [`${A}metric`]: 'rps',
      [`${A}target`]: '50',
      [`${A}target-utilization-percentage`]: '80',
      [`${A}target-burst-capacity`]: '-1',
      [`${A}window`]: '30s',
      [`${A}panic-window-percentage`]: '20',
      [`${A}panic-threshold-percentage`]: '150',
      [`${A}min-scale`]: '1',
      [`${A}max-scale`]: '10',
      [`${A}initial-scale`]: '2',
      [`${A}activation-scale`]: '3',
      [`${A}scale-down-delay`]: '1m',
      [`${A}scale-to-zero-pod-retention-period`]: '1m30s',
      [`${A}metric-aggregation-algorithm`]: 'weighted-exponential',
    },
    problems: [],
  },
  {
    name: 'class hpa',
    annotations: { [`${A}class`]: 'hpa.autoscaling.knative.dev' },
    problems: [
      p(
        `${A}class`,
        'hpa.autoscaling.knative.dev',
        'kedge implements only kpa.autoscaling.knative.dev, not hpa.autoscaling.knative.dev',
      ),
    ],
  },
  {
    name: 'class unknown knative.dev',
    annotations: { [`${A}class`]: 'xpa.knative.dev' },
    problems: [p(`${A}class`, 'xpa.knative.dev', 'invalid value: xpa.knative.dev')],
  },
  {
    name: 'max-scale=1 is less than min-scale=2',
    annotations: { [`${A}min-scale`]: '2', [`${A}max-scale`]: '1' },
    problems: [p(`${A}max-scale`, '1', 'max-scale=1 is less than min-scale=2')],
  },
  {
    name: 'legacy minScale/maxScale keys',
    annotations: { [`${A}minScale`]: '3', [`${A}maxScale`]: '2' },
    problems: [p(`${A}maxScale`, '2', 'max-scale=2 is less than min-scale=3')],
  },
  {
    name: 'min-scale negative',
    annotations: { [`${A}min-scale`]: '-1' },
    problems: [p(`${A}min-scale`, '-1', 'expected 0 <= -1 <= 2147483647')],
  },
  {
    name: 'min-scale not a number',
    annotations: { [`${A}min-scale`]: 'one' },
    problems: [p(`${A}min-scale`, 'one', 'invalid value: one')],
  },
  {
    name: 'max-scale beyond max-scale-limit',
    annotations: { [`${A}max-scale`]: '20' },
    config: { maxScaleLimit: 10, maxScale: 10 },
    problems: [p(`${A}max-scale`, '20', 'expected 1 <= 20 <= 10')],
  },
  {
    name: 'max-scale 0 under max-scale-limit',
    annotations: { [`${A}max-scale`]: '0' },
    config: { maxScaleLimit: 10, maxScale: 10 },
    problems: [p(`${A}max-scale`, '0', 'max-scale=0 (unlimited), must be less than 10')],
  },
  {
    name: 'activation-scale below min-scale',
    annotations: { [`${A}min-scale`]: '3', [`${A}activation-scale`]: '2' },
    problems: [p(`${A}activation-scale`, '2', 'min-scale=3 is greater than activation-scale=2')],
  },
  {
    name: 'activation-scale above max-scale',
    annotations: { [`${A}max-scale`]: '2', [`${A}activation-scale`]: '3' },
    problems: [p(`${A}activation-scale`, '3', 'max-scale=2 is less than activation-scale=3')],
  },
  {
    name: 'activation-scale 1',
    annotations: { [`${A}activation-scale`]: '1' },
    problems: [p(`${A}activation-scale`, '1', 'activation-scale=1 must be greater than 1')],
  },
  {
    name: 'activation-scale not a number',
    annotations: { [`${A}activation-scale`]: 'x' },
    problems: [p(`${A}activation-scale`, 'x', 'invalid value: x')],
  },
  {
    name: 'panic-window-percentage out of range',
    annotations: { [`${A}panic-window-percentage`]: '0.5' },
    problems: [p(`${A}panic-window-percentage`, '0.5', 'expected 1 <= 0.5 <= 100')],
  },
  {
    name: 'legacy panicWindowPercentage not a number',
    annotations: { [`${A}panicWindowPercentage`]: 'ten' },
    problems: [p(`${A}panicWindowPercentage`, 'ten', 'invalid value: ten')],
  },
  {
    name: 'panic-threshold-percentage out of range',
    annotations: { [`${A}panic-threshold-percentage`]: '100' },
    problems: [p(`${A}panic-threshold-percentage`, '100', 'expected 110 <= 100 <= 1000')],
  },
  {
    name: 'panic-threshold-percentage above range',
    annotations: { [`${A}panicThresholdPercentage`]: '1001' },
    problems: [p(`${A}panicThresholdPercentage`, '1001', 'expected 110 <= 1001 <= 1000')],
  },
  {
    name: 'target below 0.01',
    annotations: { [`${A}target`]: '0.001' },
    problems: [p(`${A}target`, '0.001', 'target 0.001 should be at least 0.01')],
  },
  {
    name: 'target not a number',
    annotations: { [`${A}target`]: 'lots' },
    problems: [p(`${A}target`, 'lots', 'invalid value: lots')],
  },
  {
    name: 'target-utilization-percentage out of range',
    annotations: { [`${A}target-utilization-percentage`]: '0.5' },
    problems: [p(`${A}target-utilization-percentage`, '0.5', 'expected 1 <= 0.5 <= 100')],
  },
  {
    name: 'legacy targetUtilizationPercentage above range',
    annotations: { [`${A}targetUtilizationPercentage`]: '101' },
    problems: [p(`${A}targetUtilizationPercentage`, '101', 'expected 1 <= 101 <= 100')],
  },
  {
    name: 'target-burst-capacity -2',
    annotations: { [`${A}target-burst-capacity`]: '-2' },
    problems: [p(`${A}target-burst-capacity`, '-2', 'invalid value: -2')],
  },
  {
    name: 'legacy targetBurstCapacity not a number',
    annotations: { [`${A}targetBurstCapacity`]: 'big' },
    problems: [p(`${A}targetBurstCapacity`, 'big', 'invalid value: big')],
  },
  {
    name: 'window 2s',
    annotations: { [`${A}window`]: '2s' },
    problems: [p(`${A}window`, '2s', 'expected 6s <= 2s <= 1h0m0s')],
  },
  {
    name: 'window above 1h',
    annotations: { [`${A}window`]: '61m' },
    problems: [p(`${A}window`, '61m', 'expected 6s <= 61m <= 1h0m0s')],
  },
  {
    name: 'window sub-second',
    annotations: { [`${A}window`]: '6500ms' },
    problems: [p(`${A}window`, '6500ms', 'must be specified with at most second precision')],
  },
  {
    name: 'window not a duration',
    annotations: { [`${A}window`]: '60' },
    problems: [p(`${A}window`, '60', 'invalid value: 60')],
  },
  {
    name: 'scale-to-zero-pod-retention-period above 1h',
    annotations: { [`${A}scale-to-zero-pod-retention-period`]: '2h' },
    problems: [p(`${A}scale-to-zero-pod-retention-period`, '2h', 'expected 0s <= 2h <= 1h0m0s')],
  },
  {
    name: 'scale-to-zero-pod-retention-period sub-second is fine (Knative checks no precision)',
    annotations: { [`${A}scaleToZeroPodRetentionPeriod`]: '1500ms' },
    problems: [],
  },
  {
    name: 'scale-down-delay negative',
    annotations: { [`${A}scale-down-delay`]: '-1s' },
    problems: [p(`${A}scale-down-delay`, '-1s', 'expected 0s <= -1s <= 1h0m0s')],
  },
  {
    name: 'legacy scaleDownDelay sub-second',
    annotations: { [`${A}scaleDownDelay`]: '1.5s' },
    problems: [p(`${A}scaleDownDelay`, '1.5s', 'must be specified with at most second precision')],
  },
  {
    name: 'metric cpu on KPA',
    annotations: { [`${A}metric`]: 'cpu' },
    problems: [p(`${A}metric`, 'cpu', 'invalid value: cpu')],
  },
  {
    name: 'metric-aggregation-algorithm unknown',
    annotations: { [`${A}metric-aggregation-algorithm`]: 'median' },
    problems: [p(`${A}metric-aggregation-algorithm`, 'median', 'invalid value: median')],
  },
  {
    name: 'legacy metricAggregationAlgorithm weightedExponential',
    annotations: { [`${A}metricAggregationAlgorithm`]: 'weightedExponential' },
    problems: [],
  },
  {
    name: 'initial-scale negative',
    annotations: { [`${A}initial-scale`]: '-1' },
    problems: [p(`${A}initial-scale`, '-1', 'invalid value: -1, must be greater than 0')],
  },
  {
    name: 'initial-scale 0 not allowed by cluster',
    annotations: { [`${A}initialScale`]: '0' },
    problems: [p(`${A}initialScale`, '0', `invalid value: 0, ${A}initialScale=0 not allowed by cluster`)],
  },
  {
    name: 'initial-scale 0 allowed',
    annotations: { [`${A}initial-scale`]: '0' },
    config: { allowZeroInitialScale: true },
    problems: [],
  },
  {
    name: 'initial-scale not a number',
    annotations: { [`${A}initial-scale`]: 'two' },
    problems: [p(`${A}initial-scale`, 'two', 'invalid value: two')],
  },
  {
    name: 'canonical key wins over the legacy one',
    annotations: { [`${A}min-scale`]: '1', [`${A}minScale`]: 'bogus' },
    problems: [],
  },
  {
    name: 'several problems are all returned',
    annotations: { [`${A}window`]: '2s', [`${A}target`]: '0', [`${A}metric`]: 'memory' },
    problems: [
      p(`${A}target`, '0', 'target 0 should be at least 0.01'),
      p(`${A}window`, '2s', 'expected 6s <= 2s <= 1h0m0s'),
      p(`${A}metric`, 'memory', 'invalid value: memory'),
    ],
  },
];

for (const c of annotationCases) {
  test(`annotations: ${c.name}`, () => {
    assert.deepEqual(
      validateRevisionAnnotations(c.annotations, { ...DEFAULT_AUTOSCALER, ...c.config }),
      c.problems,
    );
  });
}

test('isAutoscalingAnnotation matches the autoscaling.knative.dev/ prefix only', () => {
  assert.equal(isAutoscalingAnnotation(`${A}min-scale`), true);
  assert.equal(isAutoscalingAnnotation(`${A}minScale`), true);
  assert.equal(isAutoscalingAnnotation('serving.knative.dev/creator'), false);
  assert.equal(isAutoscalingAnnotation('autoscaling.knative.dev'), false);
});

interface SpecCase {
  readonly name: string;
  readonly cc?: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly config?: Partial<AutoscalerConfig>;
  readonly want: Partial<KpaSpec>;
}

const specCases: readonly SpecCase[] = [
  { name: 'defaults: target 70 of total 100, panic window 6s', want: {} },
  { name: 'containerConcurrency 10 → total 10, target 7', cc: 10, want: { totalValue: 10, targetValue: 7 } },
  {
    name: 'target annotation with CC 0 → total = target',
    annotations: { [`${A}target`]: '50' },
    want: { totalValue: 50, targetValue: 35 },
  },
  {
    name: 'target annotation above CC → total = CC',
    cc: 10,
    annotations: { [`${A}target`]: '50' },
    want: { totalValue: 10, targetValue: 7 },
  },
  {
    name: 'target annotation below CC → total = target',
    cc: 10,
    annotations: { [`${A}target`]: '5' },
    want: { totalValue: 5, targetValue: 3.5 },
  },
  {
    name: 'target-utilization-percentage 100',
    annotations: { [`${A}target`]: '10', [`${A}target-utilization-percentage`]: '100' },
    want: { totalValue: 10, targetValue: 10 },
  },
  {
    name: 'ConfigMap container-concurrency-target-default and percentage',
    config: { containerConcurrencyTargetDefault: 10, targetUtilization: 0.5 },
    want: { totalValue: 10, targetValue: 5 },
  },
  {
    name: 'target is at least 0.01',
    annotations: { [`${A}target`]: '0.01', [`${A}target-utilization-percentage`]: '1' },
    want: { totalValue: 0.01, targetValue: 0.01 },
  },
  {
    name: 'rps: total 200 × 0.7 = 140, CC ignored',
    cc: 5,
    annotations: { [`${A}metric`]: 'rps' },
    want: { metric: 'rps', totalValue: 200, targetValue: 140 },
  },
  {
    name: 'rps with target annotation above CC: CC not applied',
    cc: 5,
    annotations: { [`${A}metric`]: 'rps', [`${A}target`]: '100' },
    want: { metric: 'rps', totalValue: 100, targetValue: 70 },
  },
  {
    name: 'window 30s, panic 10% → 3s',
    annotations: { [`${A}window`]: '30s' },
    want: { stableWindowMs: 30_000, panicWindowMs: 3000 },
  },
  {
    name: 'panic window rounds to whole seconds: 6s × 25% = 1.5s → 2s',
    annotations: { [`${A}window`]: '6s', [`${A}panic-window-percentage`]: '25' },
    want: { stableWindowMs: 6000, panicWindowMs: 2000 },
  },
  {
    name: 'panic window is at least 1s: 6s × 1% → 1s',
    annotations: { [`${A}window`]: '6s', [`${A}panic-window-percentage`]: '1' },
    want: { stableWindowMs: 6000, panicWindowMs: 1000 },
  },
  {
    name: 'panic threshold 150% → 1.5',
    annotations: { [`${A}panic-threshold-percentage`]: '150' },
    want: { panicThreshold: 1.5 },
  },
  {
    name: 'scale bounds, activation scale, delay, retention from annotations',
    annotations: {
      [`${A}min-scale`]: '1',
      [`${A}max-scale`]: '9',
      [`${A}activation-scale`]: '3',
      [`${A}scale-down-delay`]: '2m',
      [`${A}scale-to-zero-pod-retention-period`]: '10s',
      [`${A}target-burst-capacity`]: '0',
    },
    want: {
      minScale: 1,
      maxScale: 9,
      activationScale: 3,
      scaleDownDelayMs: 120_000,
      scaleToZeroPodRetentionPeriodMs: 10_000,
      targetBurstCapacity: 0,
    },
  },
  {
    name: 'initial-scale annotation',
    annotations: { [`${A}initial-scale`]: '4' },
    want: { initialScale: 4 },
  },
  {
    name: 'initial-scale 0 not allowed falls back to the ConfigMap value',
    annotations: { [`${A}initial-scale`]: '0' },
    config: { initialScale: 2 },
    want: { initialScale: 2 },
  },
  {
    name: 'initial-scale 0 allowed',
    annotations: { [`${A}initial-scale`]: '0' },
    config: { allowZeroInitialScale: true },
    want: { initialScale: 0 },
  },
  {
    name: 'weighted-exponential, also as legacy weightedExponential',
    annotations: { [`${A}metricAggregationAlgorithm`]: 'weightedExponential' },
    want: { aggregation: 'weighted-exponential' },
  },
  {
    name: 'ConfigMap values flow through',
    config: {
      maxScaleUpRate: 10,
      maxScaleDownRate: 4,
      enableScaleToZero: false,
      scaleToZeroGracePeriodMs: 5000,
      minScale: 1,
      maxScale: 7,
      maxScaleLimit: 8,
      activatorCapacity: 50,
      targetBurstCapacity: -1,
      stableWindowMs: 120_000,
      panicWindowPercentage: 5,
      panicThresholdPercentage: 300,
    },
    want: {
      maxScaleUpRate: 10,
      maxScaleDownRate: 4,
      enableScaleToZero: false,
      scaleToZeroGracePeriodMs: 5000,
      minScale: 1,
      maxScale: 7,
      maxScaleLimit: 8,
      activatorCapacity: 50,
      targetBurstCapacity: -1,
      stableWindowMs: 120_000,
      panicWindowMs: 6000,
      panicThreshold: 3,
    },
  },
  {
    name: 'invalid annotations are ignored: the config applies',
    annotations: { [`${A}window`]: '2s', [`${A}min-scale`]: '3', [`${A}max-scale`]: '1' },
    want: { minScale: 3 },
  },
];

for (const c of specCases) {
  test(`resolveRevisionSpec: ${c.name}`, () => {
    const { spec } = resolveRevisionSpec(
      { ...DEFAULT_AUTOSCALER, ...c.config },
      { containerConcurrency: c.cc ?? 0, annotations: c.annotations ?? {} },
    );
    assert.deepEqual(spec, { ...DEFAULT_KPA, ...c.want });
  });
}

test('DEFAULT_KPA: Knative defaults with CC 0 (§1.7)', () => {
  assert.equal(DEFAULT_KPA.targetValue, 70);
  assert.equal(DEFAULT_KPA.totalValue, 100);
  assert.equal(DEFAULT_KPA.targetBurstCapacity, 211);
  assert.equal(DEFAULT_KPA.panicWindowMs, 6000);
  assert.equal(DEFAULT_KPA.panicThreshold, 2);
  assert.equal(DEFAULT_KPA.activationTimeoutMs, ACTIVATION_TIMEOUT_MS);
});

test('resolveRevisionSpec returns the annotation problems', () => {
  const { problems } = resolveRevisionSpec(DEFAULT_AUTOSCALER, {
    containerConcurrency: 0,
    annotations: { [`${A}window`]: '2s' },
  });
  assert.deepEqual(problems, [p(`${A}window`, '2s', 'expected 6s <= 2s <= 1h0m0s')]);
});
