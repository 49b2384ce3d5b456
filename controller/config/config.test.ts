import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { DEFAULT_DEFAULTS, parseDefaultsConfig } from './defaults.js';
import { CLUSTER_LOCAL_DOMAIN, DEFAULT_DOMAIN, lookupDomain, parseDomainConfig } from './domain.js';
import { DEFAULT_GC, parseGcConfig } from './gc.js';
import { DEFAULT_NETWORK, parseNetworkConfig } from './network.js';
import type { ParsedConfig } from './problem.js';

test('config-defaults: Knative defaults with no data', () => {
  const got = parseDefaultsConfig({});
  assert.deepEqual(got, { config: DEFAULT_DEFAULTS, problems: [], rejected: false });
  assert.equal(DEFAULT_DEFAULTS.revisionTimeoutSeconds, 300);
  assert.equal(DEFAULT_DEFAULTS.maxRevisionTimeoutSeconds, 600);
  assert.equal(DEFAULT_DEFAULTS.containerConcurrencyMaxLimit, 1000);
});

const defaultsRows: readonly {
  name: string;
  data: Record<string, string>;
  want: string | Partial<typeof DEFAULT_DEFAULTS>;
}[] = [
  {
    name: 'response start follows revision-timeout-seconds',
    data: { 'revision-timeout-seconds': '100' },
    want: { revisionTimeoutSeconds: 100, revisionResponseStartTimeoutSeconds: 100 },
  },
  {
    name: 'zero concurrency can be forbidden',
    data: { 'allow-container-concurrency-zero': 'false' },
    want: { allowContainerConcurrencyZero: false },
  },
  {
    name: 'quantities kept verbatim',
    data: { 'revision-memory-limit': '256Mi' },
    want: { revisionMemoryLimit: '256Mi' },
  },
  {
    name: 'not a quantity',
    data: { 'revision-cpu-limit': '1 core' },
    want: 'revision-cpu-limit: "1 core" is not a Kubernetes quantity; write e.g. "500m" or "128Mi"',
  },
  {
    name: 'not an integer',
    data: { 'container-concurrency': 'ten' },
    want: 'container-concurrency: "ten" is not an integer; write a whole number, e.g. "300"',
  },
  {
    name: 'timeout above max',
    data: { 'revision-timeout-seconds': '700' },
    want: 'revision-timeout-seconds (700) cannot be greater than max-revision-timeout-seconds (600); lower it or raise max-revision-timeout-seconds',
  },
  {
    name: 'idle above timeout',
    data: { 'revision-idle-timeout-seconds': '400' },
    want: 'revision-idle-timeout-seconds (400) cannot be greater than revision-timeout-seconds (300); lower it',
  },
  {
    name: 'container-concurrency above its limit',
    data: { 'container-concurrency': '2000' },
    want: 'container-concurrency: expected 0 <= 2000 <= 1000 (container-concurrency-max-limit)',
  },
  {
    name: 'max limit below 1',
    data: { 'container-concurrency-max-limit': '0' },
    want: 'container-concurrency-max-limit: expected 1 <= 0 <= 2147483647',
  },
  {
    name: 'bad bool',
    data: { 'allow-container-concurrency-zero': 'yes' },
    want: 'allow-container-concurrency-zero: "yes" is not a boolean; write "true" or "false"',
  },
];
/** A map with one bad value: exactly that problem, and the whole map's defaults in force. */
function assertRejectedWith<C>(got: ParsedConfig<C>, message: string, defaults: C): void {
  assert.deepEqual(
    got.problems.map((p) => p.message),
    [message],
  );
  assert.equal(got.rejected, true);
  assert.deepEqual(got.config, defaults);
}

for (const row of defaultsRows) {
  test(`config-defaults: ${row.name}`, () => {
    const got = parseDefaultsConfig(row.data);
    if (typeof row.want === 'string') {
      assertRejectedWith(got, row.want, DEFAULT_DEFAULTS);
    } else {
      assert.deepEqual(got.problems, []);
      for (const [k, v] of Object.entries(row.want))
        assert.equal(got.config[k as keyof typeof DEFAULT_DEFAULTS], v, k);
    }
  });
}

test('config-defaults: an unknown key is reported but does not reject the map', () => {
  const got = parseDefaultsConfig({ 'revision-timeout-second': '5', 'revision-timeout-seconds': '5' });
  assert.equal(got.rejected, false);
  assert.equal(got.config.revisionTimeoutSeconds, 5);
  assert.equal(got.problems.length, 1);
});

test('config-domain: selectors, specificity, lexicographic ties, cluster-local', () => {
  const { config, problems } = parseDomainConfig({
    'b.example.org': 'selector:\n  app: x',
    'a.example.org': 'selector:\n  app: x',
    'both.example.org': 'selector:\n  app: x\n  tier: web',
    _example: 'ignored',
  });
  assert.deepEqual(problems, []);
  assert.equal(lookupDomain(config, {}), DEFAULT_DOMAIN, 'default added when no empty selector');
  assert.equal(lookupDomain(config, { app: 'x' }), 'a.example.org');
  assert.equal(lookupDomain(config, { app: 'x', tier: 'web' }), 'both.example.org');
  assert.equal(
    lookupDomain(config, { 'networking.knative.dev/visibility': 'cluster-local', app: 'x' }),
    CLUSTER_LOCAL_DOMAIN,
  );
  const own = parseDomainConfig({ 'mine.dev': '' });
  assert.equal(lookupDomain(own.config, { app: 'x' }), 'mine.dev');
});

test('config-domain: bad entries are rejected with the key and a fix', () => {
  const got = parseDomainConfig({ Bad_Domain: '', 'ok.dev': 'selector: [1]' });
  assert.equal(got.rejected, true);
  assert.deepEqual(
    got.problems.map((p) => p.key),
    ['Bad_Domain', 'ok.dev'],
  );
});

test('config-gc: Knative defaults, disabled, and errors', () => {
  assert.deepEqual(parseGcConfig({}).config, DEFAULT_GC);
  const got = parseGcConfig({
    'retain-since-create-time': 'disabled',
    'max-non-active-revisions': 'disabled',
    'min-non-active-revisions': '3',
  });
  assert.deepEqual(got.config, {
    ...DEFAULT_GC,
    retainSinceCreateTimeMs: null,
    maxNonActiveRevisions: null,
    minNonActiveRevisions: 3,
  });
  const bad = parseGcConfig({ 'min-non-active-revisions': '30', 'max-non-active-revisions': '10' });
  assert.deepEqual(
    bad.problems.map((p) => p.message),
    [
      'min-non-active-revisions (30) must be <= max-non-active-revisions (10); lower it or raise max-non-active-revisions',
    ],
  );
  assert.equal(parseGcConfig({ 'retain-since-last-active-time': '2days' }).rejected, true);
});

const networkRows: readonly {
  name: string;
  data: Record<string, string>;
  want: number | string;
}[] = [
  { name: 'no data: no gradual rollout (Knative default 0)', data: {}, want: 0 },
  { name: 'seconds as an integer', data: { 'rollout-duration': '211' }, want: 211 },
  { name: 'the camelCase key of older Knative', data: { rolloutDuration: '30' }, want: 30 },
  { name: 'the kebab-case key wins', data: { rolloutDuration: '30', 'rollout-duration': '60' }, want: 60 },
  {
    name: 'a Go duration is not config-network’s format',
    data: { 'rollout-duration': '5m' },
    want: 'rollout-duration: "5m" is not a whole number of seconds; write e.g. "300" (0 switches traffic at once)',
  },
  {
    name: 'negative',
    data: { 'rollout-duration': '-444' },
    want: 'rollout-duration: -444 must not be negative; write 0 (switch at once) or a number of seconds, e.g. "300"',
  },
];
for (const row of networkRows) {
  test(`config-network: ${row.name}`, () => {
    const got = parseNetworkConfig(row.data);
    if (typeof row.want === 'number') {
      assert.deepEqual(got.problems, []);
      assert.equal(got.config.rolloutDurationSeconds, row.want);
    } else {
      assertRejectedWith(got, row.want, DEFAULT_NETWORK);
    }
  });
}

test('config-network: Knative keys kedge does not implement are reported, the map still accepted', () => {
  const got = parseNetworkConfig({
    'ingress-class': 'kourier.ingress.networking.knative.dev',
    'rollout-duration': '9',
  });
  assert.equal(got.rejected, false);
  assert.equal(got.config.rolloutDurationSeconds, 9);
  assert.deepEqual(got.problems, [
    {
      key: 'ingress-class',
      value: 'kourier.ingress.networking.knative.dev',
      message:
        'ingress-class: not implemented by kedge and ignored; kedge reads only rollout-duration from config-network',
    },
  ]);
  assert.equal(
    parseNetworkConfig({ 'rollout-durration': '9' }).problems[0]?.message.includes('check the spelling'),
    true,
  );
});
