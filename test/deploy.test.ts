// deploy/ and the image, checked without a cluster: every manifest parses and is listed in the
// kustomization, the CRD is structural and accepts the shipped Services, the ConfigMaps document
// exactly the keys (and defaults) kedge parses, RBAC grants each component exactly the rules in
// test/deploy-rbac.json (the gateway none), and the Deployments, Services, Dockerfiles and
// microk8s scripts agree with each other and with the command lines in lib/cluster-protocol.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { CONFIG_KEYS, DEFAULT_AUTOSCALER, parseAutoscalerConfig } from '../autoscaler/config.js';
import { parseService } from '../controller/api/types.js';
import { validateService } from '../controller/api/validate.js';
import { DEFAULT_DEFAULTS, parseDefaultsConfig } from '../controller/config/defaults.js';
import { DEFAULT_DOMAIN_CONFIG, parseDomainConfig } from '../controller/config/domain.js';
import { DEFAULT_GC, parseGcConfig } from '../controller/config/gc.js';
import { DEFAULT_NETWORK, parseNetworkConfig } from '../controller/config/network.js';
import { AUTOSCALER_STATS_PORT, CONTROLLER_SNAPSHOT_PORT } from '../lib/cluster-protocol.js';
import { KEDGE_NODE_FLAGS } from '../lib/node-flags.js';
import {
  checkStructural,
  leafPaths,
  validate,
  type JsonSchema,
  type SchemaProblem,
} from './support/openapi-schema.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
const NAMESPACE = 'kedge-system';
/** Folders of deploy/ applied on their own, never by `kubectl apply -k deploy/`. */
const NOT_IN_KUSTOMIZATION = ['optional/', 'microk8s/'];

type Obj = Readonly<Record<string, unknown>>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function obj(v: unknown, what: string): Obj {
  assert.ok(isObj(v), `${what}: expected an object, got ${JSON.stringify(v)}`);
  return v;
}
function list(v: unknown, what: string): readonly unknown[] {
  assert.ok(Array.isArray(v), `${what}: expected a list, got ${JSON.stringify(v)}`);
  return v as readonly unknown[];
}
function text(v: unknown, what: string): string {
  assert.equal(typeof v, 'string', `${what}: expected a string, got ${JSON.stringify(v)}`);
  return v as string;
}
/** Follows a dotted path (`spec.template.spec.containers.0.image`); undefined when absent. */
function at(v: unknown, path: string): unknown {
  let cur = v;
  for (const key of path.split('.')) {
    if (Array.isArray(cur)) cur = (cur as readonly unknown[])[Number(key)];
    else if (isObj(cur)) cur = cur[key];
    else return undefined;
  }
  return cur;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}
const isYaml = (f: string): boolean => f.endsWith('.yaml') || f.endsWith('.yml');

/** Every document of a YAML file; fails on any parse error or warning. */
function loadDocs(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const out: Obj[] = [];
  for (const doc of docs) {
    assert.deepEqual([...doc.errors, ...doc.warnings].map(String), [], `${file} parses`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) out.push(obj(value, file));
  }
  return out;
}

const DEPLOY_FILES = walk(DEPLOY)
  .filter(isYaml)
  .map((f) => relative(DEPLOY, f))
  .sort();
const KUSTOMIZATION = obj(
  parseYaml(readFileSync(join(DEPLOY, 'kustomization.yaml'), 'utf8')),
  'kustomization',
);
const RESOURCES = list(KUSTOMIZATION.resources, 'kustomization resources').map((r) => text(r, 'resource'));
/** The objects `kubectl apply -k deploy/` creates, with the file each one came from. */
const INSTALLED: readonly { file: string; o: Obj }[] = RESOURCES.flatMap((file) =>
  loadDocs(join(DEPLOY, file)).map((o) => ({ file, o })),
);

function kindOf(o: Obj): string {
  return text(o.kind, 'kind');
}
function nameOf(o: Obj): string {
  return text(at(o, 'metadata.name'), 'metadata.name');
}
function find(kind: string, name: string): Obj {
  const hit = INSTALLED.find(({ o }) => kindOf(o) === kind && nameOf(o) === name);
  assert.ok(hit !== undefined, `deploy/ has no ${kind} ${name}`);
  return hit.o;
}
function all(kind: string): Obj[] {
  return INSTALLED.filter(({ o }) => kindOf(o) === kind).map(({ o }) => o);
}

describe('manifests', () => {
  test('every YAML file parses; every object has apiVersion, kind and metadata.name', () => {
    assert.ok(DEPLOY_FILES.length > 0);
    for (const file of DEPLOY_FILES) {
      for (const o of loadDocs(join(DEPLOY, file))) {
        const where = `deploy/${file}`;
        text(o.apiVersion, `${where} apiVersion`);
        text(o.kind, `${where} kind`);
        if (file.endsWith('kustomization.yaml')) continue;
        assert.notEqual(text(at(o, 'metadata.name'), `${where} metadata.name`), '', where);
      }
    }
  });

  test('the kustomization lists every manifest outside optional/ and microk8s/, and nothing else', () => {
    const expected = DEPLOY_FILES.filter(
      (f) => f !== 'kustomization.yaml' && !NOT_IN_KUSTOMIZATION.some((d) => f.startsWith(d)),
    );
    assert.deepEqual([...RESOURCES].sort(), expected);
    assert.equal(new Set(RESOURCES).size, RESOURCES.length, 'no file is listed twice');
  });

  test('namespaced objects live in kedge-system; no two objects share kind and name', () => {
    const clusterScoped = new Set([
      'Namespace',
      'CustomResourceDefinition',
      'ClusterRole',
      'ClusterRoleBinding',
    ]);
    const seen = new Set<string>();
    for (const { file, o } of INSTALLED) {
      const key = `${kindOf(o)}/${nameOf(o)}`;
      assert.ok(!seen.has(key), `${key} appears twice`);
      seen.add(key);
      const ns = at(o, 'metadata.namespace');
      if (clusterScoped.has(kindOf(o))) assert.equal(ns, undefined, `${file}: ${key} is cluster-scoped`);
      else assert.equal(ns, NAMESPACE, `${file}: ${key}`);
    }
  });

  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8', timeout: 20_000 });
  test(
    'kubectl kustomize builds deploy/ into exactly those objects, with the kustomization image',
    { skip: kubectl.status === 0 ? false : 'kubectl is not installed' },
    () => {
      const built = spawnSync('kubectl', ['kustomize', DEPLOY], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(built.status, 0, built.stderr);
      const objects = parseAllDocuments(built.stdout).map((d) => obj(d.toJS(), 'kustomize output'));
      const key = (o: Obj): string => `${kindOf(o)}/${nameOf(o)}`;
      assert.deepEqual(objects.map(key).sort(), INSTALLED.map(({ o }) => key(o)).sort());
      const image = obj(list(KUSTOMIZATION.images, 'images')[0], 'images[0]');
      const want = `${text(image.newName, 'newName')}:${text(image.newTag, 'newTag')}`;
      for (const d of objects.filter((o) => kindOf(o) === 'Deployment')) {
        assert.equal(at(d, 'spec.template.spec.containers.0.image'), want, nameOf(d));
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------

const CRD = find('CustomResourceDefinition', 'services.serving.knative.dev');
const CRD_VERSION = obj(list(at(CRD, 'spec.versions'), 'versions')[0], 'versions[0]');
const SCHEMA: JsonSchema = obj(at(CRD_VERSION, 'schema.openAPIV3Schema'), 'openAPIV3Schema');

/** Every Service in examples/ and deploy/microk8s/, with the mode kedge runs it in. */
function shippedServices(): { file: string; mode: 'local' | 'cluster'; o: Obj }[] {
  const examples = walk(join(ROOT, 'examples'))
    .filter((f) => isYaml(f) && !f.includes('node_modules'))
    .map((f) => ({ f, mode: 'local' as const }));
  const cluster = walk(join(DEPLOY, 'microk8s'))
    .filter(isYaml)
    .map((f) => ({ f, mode: 'cluster' as const }));
  return [...examples, ...cluster].flatMap(({ f, mode }) =>
    loadDocs(f)
      .filter((o) => o.apiVersion === 'serving.knative.dev/v1' && o.kind === 'Service')
      .map((o) => ({ file: relative(ROOT, f), mode, o })),
  );
}

/** A Service that sets every field kedge reads (controller/api/types.ts), each validly. */
const EVERY_FIELD: Obj = {
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: {
    name: 'hello',
    namespace: 'default',
    labels: { team: 'a' },
    annotations: { note: 'x' },
  },
  spec: {
    template: {
      metadata: {
        name: 'hello-v1',
        labels: { tier: 'web' },
        annotations: { 'autoscaling.knative.dev/target': '10' },
      },
      spec: {
        containers: [
          {
            name: 'user-container',
            image: 'ghcr.io/acme/hello:1',
            command: ['node', 'index.js'],
            args: ['--verbose'],
            workingDir: '/app',
            env: [{ name: 'TARGET', value: 'World' }],
            ports: [{ containerPort: 8080, name: 'http1', protocol: 'TCP' }],
            resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: 1, memory: '128Mi' } },
            readinessProbe: { tcpSocket: { port: 8080 } },
          },
        ],
        containerConcurrency: 10,
        timeoutSeconds: 300,
        responseStartTimeoutSeconds: 60,
        idleTimeoutSeconds: 30,
      },
    },
    traffic: [
      { tag: 'current', revisionName: 'hello-v1', percent: 100 },
      { tag: 'latest', latestRevision: true, percent: 0 },
    ],
  },
};

/** The spec fields of controller/api/types.ts (ServiceSpec and below), as schema leaf paths. */
const KEDGE_SPEC_FIELDS = [
  'template.metadata.name',
  'template.metadata.annotations.*',
  'template.metadata.labels.*',
  'template.spec.containers[*].name',
  'template.spec.containers[*].image',
  'template.spec.containers[*].command[*]',
  'template.spec.containers[*].args[*]',
  'template.spec.containers[*].workingDir',
  'template.spec.containers[*].env[*].name',
  'template.spec.containers[*].env[*].value',
  'template.spec.containers[*].ports[*].containerPort',
  'template.spec.containers[*].ports[*].name',
  'template.spec.containers[*].ports[*].protocol',
  'template.spec.containers[*].resources.limits.*',
  'template.spec.containers[*].resources.requests.*',
  'template.spec.containers[*].readinessProbe.tcpSocket.port',
  'template.spec.containerConcurrency',
  'template.spec.timeoutSeconds',
  'template.spec.responseStartTimeoutSeconds',
  'template.spec.idleTimeoutSeconds',
  'traffic[*].tag',
  'traffic[*].revisionName',
  'traffic[*].configurationName',
  'traffic[*].latestRevision',
  'traffic[*].percent',
  'traffic[*].url',
];

/** EVERY_FIELD with one change: `path` (dotted, numeric list indices) set to `value`. */
function changed(path: string, value: unknown): Obj {
  const copy = structuredClone(EVERY_FIELD) as Record<string, unknown>;
  const keys = path.split('.');
  const last = keys.pop() ?? '';
  const parent = (keys.length === 0 ? copy : at(copy, keys.join('.'))) as Record<string, unknown>;
  if (value === undefined) Reflect.deleteProperty(parent, last);
  else parent[last] = value;
  return copy;
}

describe('the Service CRD', () => {
  test('is a structural schema within the subset the validator models', () => {
    assert.deepEqual(checkStructural(SCHEMA), []);
  });

  test("has Knative's names, scope, version, status subresource and printer columns", () => {
    assert.equal(CRD.apiVersion, 'apiextensions.k8s.io/v1');
    assert.deepEqual(at(CRD, 'spec.group'), 'serving.knative.dev');
    assert.deepEqual(at(CRD, 'spec.scope'), 'Namespaced');
    assert.deepEqual(at(CRD, 'spec.names'), {
      kind: 'Service',
      plural: 'services',
      singular: 'service',
      categories: ['all', 'knative', 'serving'],
      shortNames: ['kservice', 'ksvc'],
    });
    assert.equal(list(at(CRD, 'spec.versions'), 'versions').length, 1);
    assert.equal(CRD_VERSION.name, 'v1');
    assert.equal(CRD_VERSION.served, true);
    assert.equal(CRD_VERSION.storage, true);
    assert.deepEqual(at(CRD_VERSION, 'subresources'), { status: {} });
    const columns = list(CRD_VERSION.additionalPrinterColumns, 'columns').map((c) => {
      const col = obj(c, 'column');
      return `${text(col.name, 'name')} ${text(col.type, 'type')} ${text(col.jsonPath, 'jsonPath')}`;
    });
    assert.deepEqual(columns, [
      'URL string .status.url',
      'LatestCreated string .status.latestCreatedRevisionName',
      'LatestReady string .status.latestReadyRevisionName',
      'Ready string .status.conditions[?(@.type=="Ready")].status',
      'Reason string .status.conditions[?(@.type=="Ready")].reason',
      'Age date .metadata.creationTimestamp',
    ]);
  });

  test('declares exactly the spec fields kedge reads', () => {
    const spec = obj(at(SCHEMA, 'properties.spec'), 'spec schema');
    assert.deepEqual(leafPaths(spec).sort(), [...KEDGE_SPEC_FIELDS].sort());
  });

  test('preserves unknown fields where Knative does: template metadata and spec, and status', () => {
    for (const path of [
      'properties.spec.properties.template.properties.metadata',
      'properties.spec.properties.template.properties.spec',
      'properties.status',
    ]) {
      assert.equal(at(SCHEMA, `${path}.x-kubernetes-preserve-unknown-fields`), true, path);
    }
    for (const path of ['properties.spec', 'properties.spec.properties.template']) {
      assert.equal(at(SCHEMA, `${path}.x-kubernetes-preserve-unknown-fields`), undefined, path);
    }
  });

  test('accepts every shipped Service, which kedge accepts too', () => {
    const services = shippedServices();
    assert.ok(services.some((s) => s.mode === 'local') && services.some((s) => s.mode === 'cluster'));
    for (const { file, mode, o } of services) {
      assert.deepEqual(validate(o, SCHEMA), [], file);
      const parsed = parseService(o);
      assert.ok(parsed.ok, `${file}: ${parsed.ok ? '' : parsed.errors.format()}`);
      const errors = validateService(parsed.value, {
        defaults: DEFAULT_DEFAULTS,
        autoscaler: DEFAULT_AUTOSCALER,
        mode,
      });
      assert.ok(errors.isEmpty(), `${file}: ${errors.format()}`);
    }
  });

  test('accepts a Service with every field kedge reads, as kedge does', () => {
    assert.deepEqual(validate(EVERY_FIELD, SCHEMA), []);
    assert.ok(parseService(EVERY_FIELD).ok);
  });

  interface Row {
    readonly name: string;
    readonly path: string;
    readonly value: unknown;
    /** The problems as `path kind`; [] when the CRD accepts the change. */
    readonly want: readonly string[];
  }
  const C = 'spec.template.spec.containers.0';
  const P = 'spec.template.spec.containers[0]';
  const rows: readonly Row[] = [
    {
      name: 'containerConcurrency as a string',
      path: 'spec.template.spec.containerConcurrency',
      value: '10',
      want: ['spec.template.spec.containerConcurrency type'],
    },
    {
      name: 'a fractional percent',
      path: 'spec.traffic.0.percent',
      value: 12.5,
      want: ['spec.traffic[0].percent type'],
    },
    {
      name: 'an env value that is a number',
      path: `${C}.env.0.value`,
      value: 1,
      want: [`${P}.env[0].value type`],
    },
    {
      name: 'an env entry without a name',
      path: `${C}.env.0.name`,
      value: undefined,
      want: [`${P}.env[0].name required`],
    },
    {
      name: 'no containers',
      path: 'spec.template.spec.containers',
      value: undefined,
      want: ['spec.template.spec.containers required'],
    },
    {
      name: 'a containerPort beyond int32',
      path: `${C}.ports.0.containerPort`,
      value: 2 ** 31,
      want: [`${P}.ports[0].containerPort range`],
    },
    {
      name: 'envFrom (a container field kedge does not read)',
      path: `${C}.envFrom`,
      value: [{ configMapRef: { name: 'x' } }],
      want: [`${P}.envFrom unknown`],
    },
    {
      name: 'an httpGet readiness probe',
      path: `${C}.readinessProbe.httpGet`,
      value: { path: '/' },
      want: [`${P}.readinessProbe.httpGet unknown`],
    },
    {
      name: 'a label that is a number',
      path: 'metadata.labels.team',
      value: 1,
      want: ['metadata.labels.team type'],
    },
    { name: 'a probe port by name', path: `${C}.readinessProbe.tcpSocket.port`, value: 'http1', want: [] },
    { name: 'a CPU quantity as a number', path: `${C}.resources.requests.cpu`, value: 2, want: [] },
    {
      name: 'a template spec field kedge reports itself (preserved)',
      path: 'spec.template.spec.volumes',
      value: [],
      want: [],
    },
    {
      name: 'a template metadata field (preserved)',
      path: 'spec.template.metadata.creationTimestamp',
      value: null,
      want: [],
    },
    { name: 'a server-managed metadata field', path: 'metadata.uid', value: 'abc', want: [] },
    {
      name: 'a status written by the controller',
      path: 'status',
      value: { url: 'http://x', kedge: { any: 1 } },
      want: [],
    },
  ];
  for (const row of rows) {
    test(`schema: ${row.name}`, () => {
      const got = validate(changed(row.path, row.value), SCHEMA).map(
        (p: SchemaProblem) => `${p.path} ${p.kind}`,
      );
      assert.deepEqual(got, row.want);
    });
  }
});

// ---------------------------------------------------------------------------------------------

/** A ConfigMap's `_example` block as data (Knative keeps every key there, commented). */
function example(name: string): { raw: string; data: Record<string, string> } {
  const cm = find('ConfigMap', name);
  assert.equal(at(cm, 'metadata.namespace'), NAMESPACE);
  const data = obj(cm.data, `${name} data`);
  assert.deepEqual(Object.keys(data), ['_example'], `${name}: only an _example block, as in Knative`);
  const raw = text(data._example, `${name} _example`);
  const parsed = obj(parseYaml(raw), `${name} _example`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) out[k] = text(v, `${name} _example ${k} (quote it)`);
  return { raw, data: out };
}

const kebab = (field: string): string => field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

describe('ConfigMaps', () => {
  test('config-autoscaler documents every key kedge parses, each at its default', () => {
    const { data } = example('config-autoscaler');
    assert.deepEqual(Object.keys(data).sort(), CONFIG_KEYS.map((k) => k.key).sort());
    const { config, problems } = parseAutoscalerConfig(data);
    assert.deepEqual(problems, []);
    assert.deepEqual(config, DEFAULT_AUTOSCALER);
  });

  test('config-defaults documents every key kedge parses, at its default where one is set', () => {
    const { data } = example('config-defaults');
    assert.deepEqual(Object.keys(data).sort(), Object.keys(DEFAULT_DEFAULTS).map(kebab).sort());
    const parsed = parseDefaultsConfig(data);
    assert.deepEqual(parsed.problems, []);
    for (const [field, want] of Object.entries(DEFAULT_DEFAULTS)) {
      const got: unknown = (parsed.config as unknown as Obj)[field];
      // Unset by default (the revision-* quantities): the example shows a valid value instead.
      if (want === null) assert.equal(typeof got, 'string', field);
      else assert.equal(got, want, field);
    }
  });

  test('config-gc documents every key kedge parses, each at its default', () => {
    const { data } = example('config-gc');
    const keys = Object.keys(DEFAULT_GC).map((f) => kebab(f.replace(/Ms$/, '')));
    assert.deepEqual(Object.keys(data).sort(), keys.sort());
    const parsed = parseGcConfig(data);
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(parsed.config, DEFAULT_GC);
  });

  test('config-network documents the one key kedge reads, at its default', () => {
    const { data } = example('config-network');
    assert.deepEqual(Object.keys(data), ['rollout-duration']);
    const parsed = parseNetworkConfig(data);
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(parsed.config, DEFAULT_NETWORK);
  });

  test('config-domain documents the default domain', () => {
    const parsed = parseDomainConfig(example('config-domain').data);
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(parsed.config, DEFAULT_DOMAIN_CONFIG);
  });

  test('every key in an _example block has a comment line right above it', () => {
    for (const name of [
      'config-autoscaler',
      'config-defaults',
      'config-domain',
      'config-gc',
      'config-network',
    ]) {
      const lines = example(name).raw.split('\n');
      lines.forEach((line, i) => {
        if (!/^[a-z0-9][a-z0-9.-]*:/.test(line)) return;
        assert.match(lines[i - 1] ?? '', /^# \S/, `${name}: "${line}" needs a one-line explanation above it`);
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------

interface RbacRule {
  readonly scope: string;
  readonly apiGroup: string;
  readonly resource: string;
  readonly verbs: readonly string[];
}
const RBAC_TABLE = obj(
  JSON.parse(readFileSync(join(ROOT, 'test', 'deploy-rbac.json'), 'utf8')),
  'deploy-rbac.json',
);
const COMPONENTS = ['controller', 'autoscaler', 'gateway'] as const;

/** `scope group resource verb` strings, one per permission. */
function expand(rules: readonly RbacRule[]): string[] {
  return rules.flatMap((r) => r.verbs.map((v) => `${r.scope} ${r.apiGroup} ${r.resource} ${v}`)).sort();
}

/** What the manifests grant a ServiceAccount of kedge-system, through every binding naming it. */
function granted(serviceAccount: string): string[] {
  const rules: RbacRule[] = [];
  for (const binding of [...all('ClusterRoleBinding'), ...all('RoleBinding')]) {
    const subjects = list(binding.subjects, 'subjects').map((s) => obj(s, 'subject'));
    const named = subjects.some(
      (s) => s.kind === 'ServiceAccount' && s.name === serviceAccount && s.namespace === NAMESPACE,
    );
    if (!named) continue;
    const roleRef = obj(binding.roleRef, 'roleRef');
    const roleKind = text(roleRef.kind, 'roleRef.kind');
    const role = find(roleKind, text(roleRef.name, 'roleRef.name'));
    const scope =
      binding.kind === 'ClusterRoleBinding' ? 'cluster' : text(at(binding, 'metadata.namespace'), 'ns');
    for (const r of list(role.rules, 'rules').map((x) => obj(x, 'rule'))) {
      assert.equal(r.resourceNames, undefined, 'no resourceNames (list/watch ignore them)');
      assert.equal(r.nonResourceURLs, undefined);
      const verbs = list(r.verbs, 'verbs').map((v) => text(v, 'verb'));
      for (const group of list(r.apiGroups, 'apiGroups').map((g) => text(g, 'apiGroup'))) {
        for (const resource of list(r.resources, 'resources').map((x) => text(x, 'resource'))) {
          assert.ok(![group, resource, ...verbs].includes('*'), `${nameOf(role)}: no wildcards`);
          rules.push({ scope, apiGroup: group, resource, verbs });
        }
      }
    }
  }
  return expand(rules);
}

describe('RBAC', () => {
  for (const component of COMPONENTS) {
    test(`${component}: exactly the permissions of test/deploy-rbac.json`, () => {
      const entry = obj(RBAC_TABLE[component], component);
      const sa = text(entry.serviceAccount, 'serviceAccount');
      assert.equal(at(find('ServiceAccount', sa), 'metadata.namespace'), NAMESPACE);
      const want = expand(
        list(entry.rules, 'rules').map((r) => {
          const rule = obj(r, 'rule');
          return {
            scope: text(rule.scope, 'scope'),
            apiGroup: text(rule.apiGroup, 'apiGroup'),
            resource: text(rule.resource, 'resource'),
            verbs: list(rule.verbs, 'verbs').map((v) => text(v, 'verb')),
          };
        }),
      );
      assert.deepEqual(granted(sa), want);
    });
  }

  test('the gateway holds no credentials: no binding, no token mounted', () => {
    const sa = find('ServiceAccount', 'kedge-gateway');
    assert.equal(sa.automountServiceAccountToken, false);
    for (const binding of [...all('ClusterRoleBinding'), ...all('RoleBinding')]) {
      const subjects = JSON.stringify(binding.subjects);
      assert.ok(!subjects.includes('kedge-gateway'), `${nameOf(binding)} must not name the gateway`);
    }
    const pod = obj(at(find('Deployment', 'kedge-gateway'), 'spec.template.spec'), 'gateway pod');
    assert.equal(pod.serviceAccountName, 'kedge-gateway');
    assert.equal(pod.automountServiceAccountToken, false);
  });

  test('every binding names an existing role and ServiceAccount', () => {
    for (const binding of [...all('ClusterRoleBinding'), ...all('RoleBinding')]) {
      const roleRef = obj(binding.roleRef, 'roleRef');
      find(text(roleRef.kind, 'kind'), text(roleRef.name, 'name'));
      for (const s of list(binding.subjects, 'subjects').map((x) => obj(x, 'subject'))) {
        find(text(s.kind, 'kind'), text(s.name, 'name'));
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------

const CONTROLLER_URL = `http://kedge-controller.${NAMESPACE}.svc:${CONTROLLER_SNAPSHOT_PORT}`;
const AUTOSCALER_URL = `http://kedge-autoscaler.${NAMESPACE}.svc:${AUTOSCALER_STATS_PORT}`;
const ADMIN = ['--admin-port', '9090', '--listen', '0.0.0.0'];
const COMPONENT_SPECS: Record<
  (typeof COMPONENTS)[number],
  { args: readonly string[]; containerPorts: Record<string, number>; servicePorts: Record<string, number> }
> = {
  controller: {
    args: [
      'controller',
      '--namespace',
      NAMESPACE,
      '--snapshot-port',
      String(CONTROLLER_SNAPSHOT_PORT),
      ...ADMIN,
    ],
    containerPorts: { snapshots: CONTROLLER_SNAPSHOT_PORT, admin: 9090 },
    servicePorts: { snapshots: CONTROLLER_SNAPSHOT_PORT, admin: 9090 },
  },
  autoscaler: {
    args: [
      'autoscaler',
      '--controller',
      CONTROLLER_URL,
      '--stats-port',
      String(AUTOSCALER_STATS_PORT),
      ...ADMIN,
    ],
    containerPorts: { stats: AUTOSCALER_STATS_PORT, admin: 9090 },
    servicePorts: { stats: AUTOSCALER_STATS_PORT, admin: 9090 },
  },
  gateway: {
    args: [
      'gateway',
      '--controller',
      CONTROLLER_URL,
      '--autoscaler',
      AUTOSCALER_URL,
      '--port',
      '8080',
      ...ADMIN,
    ],
    containerPorts: { http: 8080, admin: 9090 },
    servicePorts: { http: 8080 },
  },
};

/** CPU in cores, memory in bytes (the quantity suffixes deploy/ uses). */
function quantity(q: unknown): number {
  const s = typeof q === 'number' ? String(q) : text(q, 'quantity');
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(s);
  assert.ok(m !== null, `quantity ${s}`);
  const scale: Record<string, number> = { '': 1, m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };
  return Number(m[1]) * (scale[m[2] ?? ''] ?? Number.NaN);
}

function container(component: string): Obj {
  const containers = list(
    at(find('Deployment', `kedge-${component}`), 'spec.template.spec.containers'),
    'containers',
  );
  assert.equal(containers.length, 1);
  return obj(containers[0], 'container');
}

describe('Deployments and Services', () => {
  const image = obj(list(KUSTOMIZATION.images, 'images')[0], 'images[0]');
  const IMAGE = `${text(image.newName, 'newName')}:${text(image.newTag, 'newTag')}`;

  for (const component of COMPONENTS) {
    const spec = COMPONENT_SPECS[component];
    test(`${component}: command line, image, ports, probes, POD_NAME`, () => {
      const c = container(component);
      assert.equal(c.image, IMAGE, 'the image the kustomization names');
      assert.equal(c.command, undefined, "the image's ENTRYPOINT runs");
      assert.deepEqual(c.args, spec.args);
      const ports = Object.fromEntries(
        list(c.ports, 'ports').map((p) => [text(at(p, 'name'), 'port name'), at(p, 'containerPort')]),
      );
      assert.deepEqual(ports, spec.containerPorts);
      assert.deepEqual(at(c, 'readinessProbe.httpGet'), { path: '/readyz', port: 'admin' });
      assert.deepEqual(at(c, 'livenessProbe.httpGet'), { path: '/healthz', port: 'admin' });
      const env = list(c.env, 'env').map((e) => obj(e, 'env'));
      assert.deepEqual(env.find((e) => e.name === 'POD_NAME')?.valueFrom, {
        fieldRef: { fieldPath: 'metadata.name' },
      });
    });

    test(`${component}: non-root, read-only root, no privilege escalation, requests and limits`, () => {
      const pod = obj(at(find('Deployment', `kedge-${component}`), 'spec.template.spec'), 'pod');
      assert.equal(at(pod, 'securityContext.runAsNonRoot'), true);
      assert.equal(at(pod, 'securityContext.runAsUser'), 1000);
      assert.equal(at(pod, 'securityContext.seccompProfile.type'), 'RuntimeDefault');
      assert.equal(pod.serviceAccountName, `kedge-${component}`);
      const c = container(component);
      assert.deepEqual(c.securityContext, {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      for (const r of ['cpu', 'memory']) {
        const request = quantity(at(c, `resources.requests.${r}`));
        const limit = quantity(at(c, `resources.limits.${r}`));
        assert.ok(request > 0 && request <= limit, `${r}: 0 < request <= limit`);
      }
    });

    test(`${component}: the Service selects its pods and names its ports`, () => {
      const deployment = find('Deployment', `kedge-${component}`);
      const service = find('Service', `kedge-${component}`);
      const selector = obj(at(service, 'spec.selector'), 'selector');
      assert.deepEqual(selector, at(deployment, 'spec.selector.matchLabels'));
      const labels = obj(at(deployment, 'spec.template.metadata.labels'), 'pod labels');
      for (const [k, v] of Object.entries(selector)) assert.equal(labels[k], v, `pod label ${k}`);
      const ports = list(at(service, 'spec.ports'), 'ports').map((p) => obj(p, 'port'));
      assert.deepEqual(
        Object.fromEntries(ports.map((p) => [text(p.name, 'name'), p.port])),
        spec.servicePorts,
      );
      for (const p of ports) assert.equal(p.targetPort, p.name, 'targetPort by the container port name');
    });
  }

  test('the gateway is a NodePort on 31080; the controller and autoscaler stay inside', () => {
    assert.equal(at(find('Service', 'kedge-gateway'), 'spec.type'), 'NodePort');
    assert.equal(at(find('Service', 'kedge-gateway'), 'spec.ports.0.nodePort'), 31080);
    assert.equal(at(find('Service', 'kedge-controller'), 'spec.type'), 'ClusterIP');
    assert.equal(at(find('Service', 'kedge-autoscaler'), 'spec.type'), 'ClusterIP');
  });

  test('the whole platform asks little of a 2-core/4 GB VM', () => {
    let cpuRequests = 0;
    let cpuLimits = 0;
    let memoryLimits = 0;
    for (const component of COMPONENTS) {
      const c = container(component);
      const replicas = Number(at(find('Deployment', `kedge-${component}`), 'spec.replicas'));
      cpuRequests += replicas * quantity(at(c, 'resources.requests.cpu'));
      cpuLimits += replicas * quantity(at(c, 'resources.limits.cpu'));
      memoryLimits += replicas * quantity(at(c, 'resources.limits.memory'));
    }
    assert.ok(cpuRequests <= 0.5, `CPU requests ${cpuRequests} <= 0.5 cores`);
    assert.ok(cpuLimits <= 2, `CPU limits ${cpuLimits} <= 2 cores`);
    assert.ok(memoryLimits <= 1 * 2 ** 30, `memory limits ${memoryLimits / 2 ** 20} MiB <= 1 GiB`);
  });

  test('the controller and the autoscaler never run twice at once', () => {
    for (const component of ['controller', 'autoscaler']) {
      const d = find('Deployment', `kedge-${component}`);
      assert.equal(at(d, 'spec.replicas'), 1);
      assert.equal(at(d, 'spec.strategy.type'), 'Recreate');
    }
  });
});

// ---------------------------------------------------------------------------------------------

function read(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

describe('image and microk8s scripts', () => {
  test('the Dockerfile builds with dev dependencies and runs with production ones, as uid 1000', () => {
    const lines = read('Dockerfile')
      .split('\n')
      .filter((l) => !l.startsWith('#') && l.trim() !== '');
    const from = lines.filter((l) => l.startsWith('FROM '));
    assert.deepEqual(from, ['FROM node:20-bookworm-slim AS build', 'FROM node:20-bookworm-slim AS runtime']);
    const joined = lines.join('\n');
    assert.match(joined, /RUN npm ci --ignore-scripts[^\n]*\n/);
    assert.match(joined, /RUN npm run build/);
    assert.match(joined, /RUN npm ci --omit=dev --ignore-scripts/);
    assert.match(joined, /COPY --from=build \/src\/dist\/cli \.\/dist\/cli/);
    assert.equal(lines.filter((l) => l.startsWith('USER ')).at(-1), 'USER 1000:1000');
    assert.equal(
      lines.filter((l) => l.startsWith('ENTRYPOINT ')).at(-1),
      `ENTRYPOINT [${['node', ...KEDGE_NODE_FLAGS, 'dist/cli/kedge.js'].map((a) => JSON.stringify(a)).join(', ')}]`,
    );
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['node_modules', 'dist', '.git']) assert.ok(ignored.includes(entry), entry);
  });

  test('the hello world image runs index.js as uid 1000', () => {
    const dockerfile = read('examples/helloworld-nodejs/Dockerfile');
    assert.match(dockerfile, /^FROM node:20-bookworm-slim$/m);
    assert.match(dockerfile, /^USER 1000:1000$/m);
    assert.match(dockerfile, /^CMD \["node", "index.js"\]$/m);
  });

  test('the scripts name the images the manifests use', () => {
    const lib = read('deploy/microk8s/lib.sh');
    const image = obj(list(KUSTOMIZATION.images, 'images')[0], 'images[0]');
    const kedgeImage = `${text(image.newName, 'newName')}:${text(image.newTag, 'newTag')}`;
    assert.ok(lib.includes(`KEDGE_IMAGE=\${KEDGE_IMAGE:-${kedgeImage}}`), 'lib.sh KEDGE_IMAGE default');
    const hello = loadDocs(join(DEPLOY, 'microk8s', 'helloworld.yaml'))[0];
    const helloImage = text(at(hello, 'spec.template.spec.containers.0.image'), 'hello image');
    assert.ok(lib.includes(`HELLO_IMAGE=\${HELLO_IMAGE:-${helloImage}}`), 'lib.sh HELLO_IMAGE default');
    assert.ok(lib.includes('NODE_PORT=${KEDGE_NODE_PORT:-31080}'), 'lib.sh NodePort');
  });

  const scripts = walk(join(DEPLOY, 'microk8s')).filter((f) => f.endsWith('.sh'));
  test('every script parses (bash -n); every runnable one is executable', () => {
    assert.ok(scripts.length >= 6);
    for (const script of scripts) {
      const r = spawnSync('bash', ['-n', script], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${script}: ${r.stderr}`);
      const executable = (statSync(script).mode & 0o111) !== 0;
      assert.equal(executable, !script.endsWith('lib.sh'), `${script}: executable unless sourced`);
    }
  });

  const shellcheck = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
  test(
    'shellcheck finds nothing',
    { skip: shellcheck.status === 0 ? false : 'shellcheck is not installed (apt-get install shellcheck)' },
    () => {
      const r = spawnSync('shellcheck', ['-x', ...scripts.map((s) => relative(ROOT, s))], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stdout + r.stderr);
    },
  );
});
