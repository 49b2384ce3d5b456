import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_DEFAULTS } from '../config/defaults.js';
import { parseAutoscalerConfig } from './autoscaling.js';
import { parseService } from './types.js';
import {
  type ValidationContext,
  rolloutDurationSeconds,
  validateService,
  verifyNameChange,
} from './validate.js';

const CTX: ValidationContext = {
  defaults: DEFAULT_DEFAULTS,
  autoscaler: parseAutoscalerConfig({}).config,
  mode: 'local',
};

type Obj = Record<string, unknown>;

/** The smallest valid local Service; rows change only what they test. */
function svc(
  o: {
    meta?: Obj;
    template?: Obj;
    templateMeta?: Obj;
    container?: Obj;
    containers?: Obj[];
    traffic?: Obj[];
  } = {},
): Obj {
  const container = { image: 'ghcr.io/acme/hello:1', command: ['node', 'index.js'], ...o.container };
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'hello', namespace: 'default', ...o.meta },
    spec: {
      template: {
        ...(o.templateMeta === undefined ? {} : { metadata: o.templateMeta }),
        spec: { containers: o.containers ?? [container], ...o.template },
      },
      ...(o.traffic === undefined ? {} : { traffic: o.traffic }),
    },
  };
}

/** A Service whose container asks for `resources`; rows show only the requests and limits. */
function res(resources: { requests?: Obj; limits?: Obj }): Obj {
  return svc({ container: { resources } });
}
const RES = 'spec.template.spec.containers[0].resources';
const HINT = 'write a quantity such as 500m or 0.5 (cpu), 128Mi or 1G (memory)';

function errorsOf(obj: Obj, ctx: ValidationContext = CTX): string {
  const parsed = parseService(obj);
  if (!parsed.ok) return parsed.errors.format();
  return validateService(parsed.value, ctx).format();
}

const ROLLOUT_FIX =
  'write a duration in whole seconds, e.g. "90s" or "5m" ("0s": the config-network default)';

const DNS1035 =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

interface Row {
  readonly name: string;
  readonly obj: Obj;
  readonly want: string;
  readonly ctx?: ValidationContext;
}

const rows: readonly Row[] = [
  { name: 'valid minimal service', obj: svc(), want: '' },
  {
    name: 'metadata.name missing',
    obj: svc({ meta: { name: undefined } }),
    want: 'name or generateName is required: metadata.name',
  },
  {
    name: 'metadata.name not DNS-1035',
    obj: svc({ meta: { name: 'Hello_World' } }),
    want: `not a DNS 1035 label: [${DNS1035}]: metadata.name`,
  },
  {
    name: 'metadata.name longer than 63',
    obj: svc({ meta: { name: 'a'.repeat(64) } }),
    want: 'not a DNS 1035 label: [must be no more than 63 characters]: metadata.name',
  },
  {
    name: 'generateName without name',
    obj: svc({ meta: { name: undefined, generateName: 'hello-' } }),
    want: 'not supported by kedge: metadata.generateName',
  },
  {
    name: 'namespace not DNS-1123',
    obj: svc({ meta: { namespace: 'Prod' } }),
    want: "invalid value: not a DNS 1123 label: [a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')]: metadata.namespace",
  },
  {
    name: 'autoscaling annotation on the Service',
    obj: svc({ meta: { annotations: { 'autoscaling.knative.dev/min-scale': '1' } } }),
    want: 'invalid key name "autoscaling.knative.dev/min-scale": metadata.annotations\nautoscaling annotations must be put under "spec.template.metadata.annotations" to work',
  },
  {
    name: 'bad visibility label',
    obj: svc({ meta: { labels: { 'networking.knative.dev/visibility': 'public' } } }),
    want: 'invalid value: public: metadata.labels.networking.knative.dev/visibility',
  },
  {
    name: 'serving.knative.dev label on the Service',
    obj: svc({ meta: { labels: { 'serving.knative.dev/route': 'x' } } }),
    want: 'invalid key name "serving.knative.dev/route": metadata.labels',
  },
  {
    name: 'no containers',
    obj: svc({ containers: [] }),
    want: 'missing field(s): spec.template.spec.containers',
  },
  {
    name: 'two containers (multi-container off)',
    obj: svc({
      containers: [
        { image: 'a', command: ['a'] },
        { image: 'b', command: ['b'] },
      ],
    }),
    want: 'multi-container is off, but found 2 containers: ',
  },
  {
    name: 'image missing',
    obj: svc({ container: { image: undefined } }),
    want: 'missing field(s): spec.template.spec.containers[0].image',
  },
  {
    name: 'image unparsable (cluster mode)',
    obj: svc({ container: { image: 'docker.io/{username}/hello' } }),
    ctx: { ...CTX, mode: 'cluster' },
    want: 'Failed to parse image reference: spec.template.spec.containers[0].image\nimage: "docker.io/{username}/hello", error: could not parse reference: docker.io/{username}/hello',
  },
  {
    name: 'image placeholder is fine locally',
    obj: svc({ container: { image: 'docker.io/{username}/hello' } }),
    want: '',
  },
  {
    name: 'command missing in local mode',
    obj: svc({ container: { command: undefined } }),
    want: 'missing field(s): spec.template.spec.containers[0].command\nkedge runs the container as a local process: set command (and args, workingDir)',
  },
  {
    name: 'command optional on a cluster',
    obj: svc({ container: { command: undefined } }),
    ctx: { ...CTX, mode: 'cluster' },
    want: '',
  },
  {
    name: 'reserved env var PORT',
    obj: svc({ container: { env: [{ name: 'PORT', value: '1' }] } }),
    want: '"PORT" is a reserved environment variable: spec.template.spec.containers[0].env[0].name',
  },
  {
    name: 'reserved env var K_REVISION',
    obj: svc({
      container: {
        env: [
          { name: 'A', value: '1' },
          { name: 'K_REVISION', value: '1' },
        ],
      },
    }),
    want: '"K_REVISION" is a reserved environment variable: spec.template.spec.containers[0].env[1].name',
  },
  {
    name: 'env name missing',
    obj: svc({ container: { env: [{ value: '1' }] } }),
    want: 'missing field(s): spec.template.spec.containers[0].env[0].name',
  },
  {
    name: 'reserved container name',
    obj: svc({ container: { name: 'queue-proxy' } }),
    want: '"queue-proxy" is a reserved container name: spec.template.spec.containers[0].name',
  },
  ...[8012, 8013, 8022, 9090, 9091, 8008].map((port): Row => ({
    name: `reserved port ${port}`,
    obj: svc({ container: { ports: [{ containerPort: port }] } }),
    want: `invalid value: ${port} is a reserved port: spec.template.spec.containers[0].ports.containerPort\n${port} is a reserved port, please use a different value`,
  })),
  {
    name: 'port out of range',
    obj: svc({ container: { ports: [{ containerPort: 70000 }] } }),
    want: 'expected 0 <= 70000 <= 65535: spec.template.spec.containers[0].ports.containerPort',
  },
  {
    name: 'two ports',
    obj: svc({ container: { ports: [{ containerPort: 8080 }, { containerPort: 8081 }] } }),
    want: 'more than one container port is set: spec.template.spec.containers[*].ports\nOnly a single port is allowed across all containers',
  },
  {
    name: 'port name not allowed',
    obj: svc({ container: { ports: [{ name: 'grpc', containerPort: 8080 }] } }),
    want: "Port name grpc is not allowed: spec.template.spec.containers[0].ports\nName must be empty, or one of: 'h2c', 'http1'",
  },
  {
    name: 'port protocol UDP',
    obj: svc({ container: { ports: [{ containerPort: 8080, protocol: 'UDP' }] } }),
    want: 'invalid value: UDP: spec.template.spec.containers[0].ports.protocol',
  },
  {
    name: 'timeoutSeconds above max-revision-timeout-seconds',
    obj: svc({ template: { timeoutSeconds: 900 } }),
    want: 'expected 0 <= 900 <= 600: spec.template.spec.timeoutSeconds',
  },
  {
    name: 'containerConcurrency above container-concurrency-max-limit',
    obj: svc({ template: { containerConcurrency: 2000 } }),
    want: 'expected 0 <= 2000 <= 1000: spec.template.spec.containerConcurrency',
  },
  {
    name: 'containerConcurrency 0 when zero is not allowed',
    obj: svc({ template: { containerConcurrency: 0 } }),
    ctx: { ...CTX, defaults: { ...DEFAULT_DEFAULTS, allowContainerConcurrencyZero: false } },
    want: 'expected 1 <= 0 <= 1000: spec.template.spec.containerConcurrency',
  },
  {
    name: 'BYO revision name without the service prefix',
    obj: svc({ templateMeta: { name: 'foo' } }),
    want: 'invalid value: "foo" must have prefix "hello-": spec.template.metadata.name',
  },
  {
    name: 'BYO revision name not DNS-1035',
    obj: svc({ templateMeta: { name: 'hello-V2' } }),
    want: `invalid value: not a DNS 1035 label: [${DNS1035}]: spec.template.metadata.name`,
  },
  { name: 'BYO revision name valid', obj: svc({ templateMeta: { name: 'hello-v2' } }), want: '' },
  {
    name: 'progress-deadline not a duration',
    obj: svc({ templateMeta: { annotations: { 'serving.knative.dev/progress-deadline': 'soon' } } }),
    want: 'invalid value: soon: spec.template.metadata.annotations.serving.knative.dev/progress-deadline',
  },
  {
    name: 'progress-deadline below a second',
    obj: svc({ templateMeta: { annotations: { 'serving.knative.dev/progress-deadline': '1500ms' } } }),
    want: 'progress-deadline=1500ms is not at second precision: spec.template.metadata.annotations.serving.knative.dev/progress-deadline',
  },
  {
    name: 'queue-timeout not positive',
    obj: svc({ templateMeta: { annotations: { 'kedge.dev/queue-timeout': '0' } } }),
    want: 'invalid value: 0: spec.template.metadata.annotations.kedge.dev/queue-timeout\nwrite a positive number of seconds ("30") or a duration ("30s", "2m")',
  },
  {
    name: 'queue-timeout as a duration',
    obj: svc({ templateMeta: { annotations: { 'kedge.dev/queue-timeout': '45s' } } }),
    want: '',
  },
  {
    name: 'unknown kedge.dev annotation',
    obj: svc({ templateMeta: { annotations: { 'kedge.dev/queue-timout': '5' } } }),
    want: 'invalid key name "kedge.dev/queue-timout": spec.template.metadata.annotations\nkedge knows only kedge.dev/queue-timeout',
  },
  {
    name: 'rollout-duration on the Service: a Go duration in whole seconds',
    obj: svc({ meta: { annotations: { 'serving.knative.dev/rollout-duration': '2m30s' } } }),
    want: '',
  },
  {
    name: 'rolloutDuration, the older spelling, is read too',
    obj: svc({ meta: { annotations: { 'serving.knative.dev/rolloutDuration': '0s' } } }),
    want: '',
  },
  {
    name: 'rollout-duration not a duration (a number of seconds is config-network’s spelling, not the annotation’s)',
    obj: svc({ meta: { annotations: { 'serving.knative.dev/rollout-duration': '90' } } }),
    want: `invalid value: 90: metadata.annotations.serving.knative.dev/rollout-duration\n${ROLLOUT_FIX}`,
  },
  {
    name: 'rollout-duration below a second',
    obj: svc({ meta: { annotations: { 'serving.knative.dev/rollout-duration': '1500ms' } } }),
    want: `rollout-duration=1500ms is not at second precision: metadata.annotations.serving.knative.dev/rollout-duration\n${ROLLOUT_FIX}`,
  },
  {
    name: 'rollout-duration negative',
    obj: svc({ meta: { annotations: { 'serving.knative.dev/rolloutDuration': '-5m' } } }),
    want: `rollout-duration=-5m must be positive: metadata.annotations.serving.knative.dev/rolloutDuration\n${ROLLOUT_FIX}`,
  },
  {
    name: 'rollout-duration: the kebab-case key wins over the older one, as Knative reads them',
    obj: svc({
      meta: {
        annotations: {
          'serving.knative.dev/rollout-duration': '10s',
          'serving.knative.dev/rolloutDuration': 'soon',
        },
      },
    }),
    want: '',
  },
  {
    name: 'traffic sum not 100',
    obj: svc({ traffic: [{ latestRevision: true, percent: 90 }] }),
    want: 'Traffic targets sum to 90, want 100: spec.traffic',
  },
  {
    name: 'traffic percent out of range',
    obj: svc({ traffic: [{ latestRevision: true, percent: 101 }] }),
    want: 'Traffic targets sum to 101, want 100: spec.traffic\nexpected 0 <= 101 <= 100: spec.traffic[0].percent',
  },
  {
    name: 'latestRevision true with revisionName',
    obj: svc({ traffic: [{ revisionName: 'hello-00001', latestRevision: true, percent: 100 }] }),
    want: 'may not set revisionName "hello-00001" when latestRevision is true: spec.traffic[0].latestRevision',
  },
  {
    name: 'latestRevision false without revisionName',
    obj: svc({ traffic: [{ latestRevision: false, percent: 100 }] }),
    want: 'may not set revisionName "" when latestRevision is false: spec.traffic[0].latestRevision',
  },
  {
    name: 'configurationName inside a Service',
    obj: svc({ traffic: [{ configurationName: 'hello', percent: 100 }] }),
    want: 'must not set the field(s): spec.traffic[0].configurationName',
  },
  {
    name: 'url in spec',
    obj: svc({ traffic: [{ tag: 'a', latestRevision: true, percent: 100, url: 'http://x' }] }),
    want: 'must not set the field(s): spec.traffic[0].url',
  },
  {
    name: 'duplicate tags',
    obj: svc({
      traffic: [
        { tag: 'v2', latestRevision: true, percent: 50 },
        { tag: 'v2', latestRevision: true, percent: 50 },
      ],
    }),
    want: 'Multiple definitions for "v2": spec.traffic[0].tag, spec.traffic[1].tag',
  },
  {
    name: 'tag not DNS-1035',
    obj: svc({ traffic: [{ tag: 'V2', latestRevision: true, percent: 100 }] }),
    // Knative builds this one with ErrInvalidArrayValue(.., "tag", i), hence `traffic.tag[0]`.
    want: `invalid value: not a DNS 1035 label: [${DNS1035}]: spec.traffic.tag[0]`,
  },
  {
    name: 'revisionName not a qualified name',
    obj: svc({ traffic: [{ revisionName: 'bad name', percent: 100 }] }),
    want: `invalid key name "bad name": spec.traffic[0].revisionName\nname part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
  },
  // parseService: wrong types and fields kedge or Knative do not take.
  {
    name: 'wrong type named with its path',
    obj: svc({ container: { env: [{ name: 'N', value: 1 }] } }),
    want: 'expected string, got number: spec.template.spec.containers[0].env[0].value',
  },
  {
    name: 'lifecycle, stdin and tty are disallowed (Knative)',
    obj: svc({ container: { lifecycle: {}, stdin: true, tty: true } }),
    want: 'must not set the field(s): spec.template.spec.containers[0].lifecycle, spec.template.spec.containers[0].stdin, spec.template.spec.containers[0].tty',
  },
  {
    name: 'envFrom, valueFrom, volumeMounts, volumes are not supported by kedge',
    obj: svc({
      container: { envFrom: [{}], env: [{ name: 'A', valueFrom: {} }], volumeMounts: [{}] },
      template: { volumes: [{}] },
    }),
    want: 'not supported by kedge: spec.template.spec.containers[0].envFrom, spec.template.spec.containers[0].env[0].valueFrom, spec.template.spec.containers[0].volumeMounts, spec.template.spec.volumes',
  },
  {
    name: 'an httpGet readiness probe is not supported',
    obj: svc({ container: { readinessProbe: { httpGet: { path: '/' } } } }),
    want: 'not supported by kedge: spec.template.spec.containers[0].readinessProbe.httpGet',
  },
  {
    name: 'the default TCP readiness probe is fine',
    obj: svc({ container: { readinessProbe: { tcpSocket: { port: 8080 } } } }),
    want: '',
  },
  // resources: Kubernetes' quantity grammar and request/limit rules, Knative-style paths.
  {
    name: 'resources from Knative’s hello world variants are valid',
    obj: res({ requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '128Mi' } }),
    want: '',
  },
  {
    name: 'resources: YAML numbers are quantities',
    obj: res({ requests: { cpu: 0.5 }, limits: { cpu: 1, memory: 1e9 } }),
    want: '',
  },
  {
    name: 'resources: every form Kubernetes parses',
    obj: res({
      requests: { cpu: '.5', memory: '+64Mi', 'ephemeral-storage': '1.G' },
      limits: { cpu: '1e3', memory: '1G', 'ephemeral-storage': '1.5Gi' },
    }),
    want: '',
  },
  {
    name: 'resources: request equal to limit in other units',
    obj: res({ requests: { cpu: '1000m', memory: '1024Ki' }, limits: { cpu: '1', memory: '1Mi' } }),
    want: '',
  },
  {
    name: 'resources: garbage quantity named with its path',
    obj: res({ limits: { memory: '64MB' } }),
    want: `invalid value: 64MB: ${RES}.limits.memory\nquantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'; ${HINT}`,
  },
  {
    name: 'resources: unknown suffix',
    obj: res({ requests: { memory: '64mi' } }),
    want: `invalid value: 64mi: ${RES}.requests.memory\nunable to parse quantity's suffix; ${HINT}`,
  },
  {
    name: 'resources: request above limit',
    obj: res({ requests: { cpu: '2' }, limits: { cpu: '1500m' } }),
    want: `invalid value: 2: ${RES}.requests.cpu\nmust be less than or equal to cpu limit of 1500m`,
  },
  {
    name: 'resources: 1Gi is more than 1G',
    obj: res({ requests: { memory: '1Gi' }, limits: { memory: '1G' } }),
    want: `invalid value: 1Gi: ${RES}.requests.memory\nmust be less than or equal to memory limit of 1G`,
  },
  {
    name: 'resources: negative',
    obj: res({ limits: { cpu: '-1' } }),
    want: `invalid value: -1: ${RES}.limits.cpu\nmust be greater than or equal to 0`,
  },
  {
    name: 'resources: not a container resource',
    obj: res({ limits: { gpu: '1' } }),
    want: `invalid value: gpu: ${RES}.limits.gpu\nmust be a standard resource for containers`,
  },
  {
    name: 'resources: an extended resource with request == limit',
    obj: res({ requests: { 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': 1 } }),
    want: '',
  },
  {
    name: 'resources: an extended resource cannot be overcommitted',
    obj: res({ requests: { 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '2' } }),
    want: `invalid value: 1: ${RES}.requests.nvidia.com/gpu\nmust be equal to nvidia.com/gpu limit of 2`,
  },
  {
    name: 'resources: an extended resource needs a limit',
    obj: res({ requests: { 'nvidia.com/gpu': '1' } }),
    want: `missing field(s): ${RES}.limits.nvidia.com/gpu\nLimit must be set for non overcommitable resources`,
  },
  {
    name: 'resources: an extended resource is a whole number',
    obj: res({ limits: { 'nvidia.com/gpu': '500m' } }),
    want: `invalid value: 500m: ${RES}.limits.nvidia.com/gpu\nmust be an integer`,
  },
  {
    name: 'resources: an extended name that is not a qualified name',
    obj: res({ limits: { 'Example.com/gpu': '1' } }),
    want: `invalid value: Example.com/gpu: ${RES}.limits.Example.com/gpu\ndoesn't follow extended resource name standard`,
  },
  {
    name: 'resources: hugepages are not supported by kedge',
    obj: res({ limits: { 'hugepages-2Mi': '2Mi', memory: '64Mi' } }),
    want: `not supported by kedge: ${RES}.limits.hugepages-2Mi`,
  },
  {
    name: 'resources: claims are outside Knative’s mask',
    obj: svc({ container: { resources: { claims: [{ name: 'gpu' }] } } }),
    want: `must not set the field(s): ${RES}.claims`,
  },
  {
    name: 'resources: a quantity of the wrong type',
    obj: res({ limits: { cpu: true } }),
    want: `expected quantity, got boolean: ${RES}.limits.cpu`,
  },
  {
    name: 'unknown field',
    obj: { ...svc(), spec: { ...(svc().spec as Obj), replicas: 3 } },
    want: 'must not set the field(s): spec.replicas',
  },
];

for (const row of rows) {
  test(`validate: ${row.name}`, () => {
    assert.equal(errorsOf(row.obj, row.ctx), row.want);
  });
}

test('validate: several errors are sorted by message and joined by newlines', () => {
  const got = errorsOf(
    svc({ container: { image: undefined, env: [{ name: 'PORT' }] }, template: { timeoutSeconds: 601 } }),
  );
  assert.equal(
    got,
    [
      '"PORT" is a reserved environment variable: spec.template.spec.containers[0].env[0].name',
      'expected 0 <= 601 <= 600: spec.template.spec.timeoutSeconds',
      'missing field(s): spec.template.spec.containers[0].image',
    ].join('\n'),
  );
});

test('verifyNameChange: same BYO name with a changed template is rejected with the changed fields', () => {
  const a = parseService(svc({ templateMeta: { name: 'hello-a' } }));
  const b = parseService(
    svc({ templateMeta: { name: 'hello-a' }, container: { image: 'ghcr.io/acme/hello:2' } }),
  );
  assert.ok(a.ok && b.ok);
  assert.equal(
    verifyNameChange(a.value.spec.template, b.value.spec.template).format(),
    'Saw the following changes without a name change (-old +new): spec.template.metadata.name\nspec.containers[0].image:\n\t-: "ghcr.io/acme/hello:1"\n\t+: "ghcr.io/acme/hello:2"',
  );
  assert.equal(verifyNameChange(a.value.spec.template, a.value.spec.template).format(), '');
});

test('verifyNameChange: adding resources: {} (or empty requests/limits) under a BYO name is no change', () => {
  const a = parseService(svc({ templateMeta: { name: 'hello-a' } }));
  assert.ok(a.ok);
  for (const resources of [{}, { requests: {} }, { limits: {}, requests: {} }]) {
    const b = parseService(svc({ templateMeta: { name: 'hello-a' }, container: { resources } }));
    assert.ok(b.ok);
    assert.equal(verifyNameChange(a.value.spec.template, b.value.spec.template).format(), '');
    assert.equal(verifyNameChange(b.value.spec.template, a.value.spec.template).format(), '');
  }
});

test('rolloutDurationSeconds: whole seconds of the first key present, 0 when unset', () => {
  const of = (annotations: Record<string, string>): number => rolloutDurationSeconds(annotations);
  assert.equal(of({}), 0);
  assert.equal(of({ 'serving.knative.dev/rollout-duration': '2m' }), 120);
  assert.equal(of({ 'serving.knative.dev/rolloutDuration': '1h' }), 3600);
  assert.equal(
    of({ 'serving.knative.dev/rollout-duration': '', 'serving.knative.dev/rolloutDuration': '9s' }),
    0,
  );
  assert.equal(of({ 'serving.knative.dev/rollout-duration': 'soon' }), 0);
});

// Knative TestOurConfig habit: the shipped examples must pass validation.
const examples = join(import.meta.dirname, '..', '..', '..', 'examples');
test(
  'validate: shipped example Services are valid',
  { skip: existsSync(examples) ? false : 'no examples/ folder' },
  () => {
    const files = ['helloworld-nodejs/service.yaml']
      .map((f) => join(examples, f))
      .filter((f) => existsSync(f));
    for (const file of files) {
      for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
        const obj: unknown = doc.toJS();
        if ((obj as Obj | null)?.kind !== 'Service') continue;
        assert.equal(errorsOf(obj as Obj), '', file);
      }
    }
  },
);
