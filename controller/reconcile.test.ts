import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  type ReconcileInput,
  type ReconcileOutput,
  type ReconcilePrevious,
  type ServiceStatus,
  type SourceObject,
  previousFromHistory,
  reconcile,
} from './reconcile.js';
import { parseService } from './api/types.js';
import { HistoryDecodeError, decodeHistory, encodeHistory } from './revision-history.js';
import { canonicalJson } from './api/validate.js';
import type { RevisionRuntimeStatus } from './runtime.js';
import type { Route, State } from './state.js';

const BASE = '/srv/app';
type Obj = Record<string, unknown>;

interface SvcOptions {
  readonly name?: string;
  readonly namespace?: string;
  readonly image?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** metadata.annotations of the Service (serving.knative.dev/rollout-duration lives there). */
  readonly annotations?: Readonly<Record<string, string>>;
  readonly templateName?: string;
  readonly templateAnnotations?: Readonly<Record<string, string>>;
  readonly spec?: Obj;
  /** Fields merged into the one container. */
  readonly container?: Obj;
  readonly traffic?: readonly Obj[];
  readonly origin?: string;
}

/** A local Service as a SourceObject; options show only what a test changes. */
function svc(o: SvcOptions = {}): SourceObject {
  const name = o.name ?? 'hello';
  const templateMeta: Obj = {};
  if (o.templateName !== undefined) templateMeta.name = o.templateName;
  if (o.templateAnnotations !== undefined) templateMeta.annotations = o.templateAnnotations;
  return {
    origin: o.origin ?? `services/${name}.yaml#0`,
    baseDir: BASE,
    object: {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: {
        name,
        namespace: o.namespace ?? 'default',
        ...(o.labels === undefined ? {} : { labels: o.labels }),
        ...(o.annotations === undefined ? {} : { annotations: o.annotations }),
      },
      spec: {
        template: {
          ...(Object.keys(templateMeta).length === 0 ? {} : { metadata: templateMeta }),
          spec: {
            containers: [
              {
                image: o.image ?? 'ghcr.io/acme/hello:1',
                command: ['node', 'index.js'],
                workingDir: '.',
                ...o.container,
              },
            ],
            ...o.spec,
          },
        },
        ...(o.traffic === undefined ? {} : { traffic: o.traffic }),
      },
    },
  };
}

function configMap(name: string, data: Readonly<Record<string, string>>): SourceObject {
  return {
    origin: `config/${name}.yaml#0`,
    baseDir: '/srv/config',
    object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'knative-serving' }, data },
  };
}

type Runtime = ReadonlyMap<string, RevisionRuntimeStatus>;

function status(key: string, o: Partial<RevisionRuntimeStatus>): RevisionRuntimeStatus {
  return {
    key,
    desiredReplicas: 1,
    readyReplicas: 0,
    pendingReplicas: 0,
    everReady: false,
    failure: null,
    ...o,
  };
}
const ready = (name: string): [string, RevisionRuntimeStatus] => [
  `default/${name}`,
  status(`default/${name}`, { everReady: true, readyReplicas: 1 }),
];
const failed = (name: string): [string, RevisionRuntimeStatus] => [
  `default/${name}`,
  status(`default/${name}`, { failure: { reason: 'ExitCode1', message: 'boom' } }),
];

function run(
  objects: readonly SourceObject[],
  previous: ReconcilePrevious | null = null,
  runtime: Runtime = new Map(),
  extra: Partial<ReconcileInput> = {},
): ReconcileOutput {
  return reconcile({
    objects,
    loadErrors: [],
    runtime,
    previous,
    nowIso: '2024-01-01T00:00:00.000Z',
    mode: 'local',
    ...extra,
  });
}

function route(state: State, host: string): Route | undefined {
  return state.routes.find((r) => r.host === host);
}
function splitsOf(state: State, host: string): readonly [string, number][] | undefined {
  return route(state, host)?.splits.map((s) => [s.revision, s.percent]);
}
function svcStatus(out: ReconcileOutput, name = 'hello'): ServiceStatus {
  const s = out.services.find((x) => x.name === name);
  assert.ok(s, `no status for ${name}`);
  return s;
}
function cond(s: ServiceStatus, type: string): readonly [string, string, string] {
  const c = s.conditions.find((x) => x.type === type);
  assert.ok(c, `no ${type}`);
  return [c.status, c.reason, c.message];
}
const names = (out: ReconcileOutput): readonly string[] => out.state.revisions.map((r) => r.name);

test('first revision: {service}-00001 with Knative defaults, routed while it starts', () => {
  const out = run([svc()]);
  assert.deepEqual(names(out), ['hello-00001']);
  const rev = out.state.revisions[0];
  assert.ok(rev);
  assert.equal(rev.key, 'default/hello-00001');
  assert.equal(rev.generation, 1);
  assert.equal(rev.container.workingDir, '/srv/app');
  assert.equal(rev.container.port, 8080);
  assert.equal(rev.timeoutSeconds, 300);
  assert.equal(rev.responseStartTimeoutSeconds, null);
  assert.equal(rev.idleTimeoutSeconds, null);
  assert.equal(rev.containerConcurrency, 0);
  assert.equal(rev.queueTimeoutSeconds, 300);
  assert.equal(out.state.version, 1);
  assert.deepEqual(
    out.state.routes.map((r) => r.host),
    [
      'hello.default',
      'hello.default.example.com',
      'hello.default.localhost',
      'hello.default.svc',
      'hello.default.svc.cluster.local',
    ],
  );
  // No revision ready yet: the first start still gets the traffic (requests queue in the gateway).
  assert.deepEqual(splitsOf(out.state, 'hello.default.example.com'), [['default/hello-00001', 100]]);
  const s = svcStatus(out);
  assert.deepEqual(cond(s, 'Ready'), [
    'Unknown',
    'RevisionMissing',
    'Configuration "hello" is waiting for a Revision to become ready.',
  ]);
  assert.deepEqual(cond(s, 'ConfigurationsReady'), ['Unknown', '', '']);
  assert.equal(s.url, 'http://hello.default.example.com');
  assert.equal(s.address.url, 'http://hello.default.svc.cluster.local');
  assert.equal(s.latestCreatedRevisionName, 'hello-00001');
  assert.equal(s.latestReadyRevisionName, '');
  assert.equal(s.observedGeneration, 1);
  assert.deepEqual(out.revisions[0]?.conditions, [
    { type: 'Ready', status: 'Unknown', reason: 'Deploying', message: '' },
  ]);
});

test('ready revision: all conditions True, traffic status resolved', () => {
  const first = run([svc()]);
  const out = run([svc()], first, new Map([ready('hello-00001')]));
  const s = svcStatus(out);
  assert.deepEqual(cond(s, 'Ready'), ['True', '', '']);
  assert.equal(s.latestReadyRevisionName, 'hello-00001');
  assert.deepEqual(s.traffic, [
    { revisionName: 'hello-00001', percent: 100, latestRevision: true, tag: '', url: '' },
  ]);
  assert.deepEqual(
    out.revisions.map((r) => [r.routingState, r.actualReplicas]),
    [['active', 1]],
  );
});

test('nothing changed: the same State object, version kept', () => {
  const first = run([svc()]);
  const again = run([svc()], first);
  assert.equal(again.state, first.state);
  assert.equal(again.state.version, 1);
});

test('template change → -00002; Service metadata change → no new revision', () => {
  const r1 = new Map([ready('hello-00001')]);
  const first = run([svc()], null, r1);
  const labelled = run([svc({ labels: { team: 'a' } })], first, r1);
  assert.deepEqual(names(labelled), ['hello-00001']);
  assert.equal(labelled.state, first.state, 'an unrelated label changes nothing routed');
  const changed = run([svc({ image: 'ghcr.io/acme/hello:2' })], labelled, r1);
  assert.deepEqual(names(changed), ['hello-00001', 'hello-00002']);
  assert.equal(changed.state.version, 2);
  assert.equal(svcStatus(changed).latestCreatedRevisionName, 'hello-00002');
  // The new revision gets traffic only once ready.
  assert.deepEqual(splitsOf(changed.state, 'hello.default.example.com'), [['default/hello-00001', 100]]);
  assert.deepEqual(cond(svcStatus(changed), 'Ready'), ['Unknown', '', '']);
  const readyBoth = run(
    [svc({ image: 'ghcr.io/acme/hello:2' })],
    changed,
    new Map([ready('hello-00001'), ready('hello-00002')]),
  );
  assert.deepEqual(splitsOf(readyBoth.state, 'hello.default.example.com'), [['default/hello-00002', 100]]);
  assert.equal(readyBoth.state.version, 3);
});

test('resources reach the revision; changing them makes a new revision, as any template change', () => {
  const r1 = new Map([ready('hello-00001')]);
  const first = run([svc()], null, r1);
  assert.equal(
    first.state.revisions[0]?.container.resources,
    undefined,
    'none asked: the spec keeps its shape',
  );
  const asked = { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } };
  const withResources = run([svc({ container: { resources: asked } })], first, r1);
  assert.deepEqual(names(withResources), ['hello-00001', 'hello-00002']);
  assert.deepEqual(withResources.state.revisions[1]?.container.resources, asked);

  const same = run([svc({ container: { resources: asked } })], withResources, r1);
  assert.equal(same.state, withResources.state, 'the same resources: no new revision');

  const moreCpu = { ...asked, requests: { ...asked.requests, cpu: '200m' } };
  const changed = run([svc({ container: { resources: moreCpu } })], same, r1);
  assert.deepEqual(names(changed), ['hello-00001', 'hello-00002', 'hello-00003']);
  assert.deepEqual(changed.state.revisions[2]?.container.resources, moreCpu);
  assert.deepEqual(
    changed.state.revisions[1]?.container.resources,
    asked,
    'revisions are immutable: the older one keeps what it was created with',
  );

  // Removing them is a change too.
  const removed = run([svc()], changed, r1);
  assert.deepEqual(names(removed).at(-1), 'hello-00004');
  assert.equal(removed.state.revisions[3]?.container.resources, undefined);
});

test('invalid resources keep the last good revision serving, with the path in the status', () => {
  const r1 = new Map([ready('hello-00001')]);
  const first = run([svc()], null, r1);
  const out = run(
    [svc({ container: { resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } } })],
    first,
    r1,
  );
  assert.equal(out.state, first.state);
  assert.deepEqual(cond(svcStatus(out), 'Ready'), [
    'False',
    'ValidationFailed',
    'validation failed: invalid value: 2: spec.template.spec.containers[0].resources.requests.cpu\nmust be less than or equal to cpu limit of 1',
  ]);
});

test('a failed new revision never gets traffic; the previous ready one keeps it', () => {
  const first = run([svc()], null, new Map([ready('hello-00001')]));
  const out = run(
    [svc({ image: 'ghcr.io/acme/bad' })],
    first,
    new Map([ready('hello-00001'), failed('hello-00002')]),
  );
  assert.deepEqual(splitsOf(out.state, 'hello.default.example.com'), [['default/hello-00001', 100]]);
  const s = svcStatus(out);
  assert.deepEqual(cond(s, 'ConfigurationsReady'), [
    'False',
    'RevisionFailed',
    'Revision "hello-00002" failed with message: boom.',
  ]);
  assert.deepEqual(cond(s, 'RoutesReady'), ['True', '', '']);
  assert.deepEqual(cond(s, 'Ready'), [
    'False',
    'RevisionFailed',
    'Revision "hello-00002" failed with message: boom.',
  ]);
  assert.deepEqual(
    out.revisions.map((r) => [r.name, r.conditions[0]?.status, r.conditions[0]?.reason, r.routingState]),
    [
      ['hello-00001', 'True', '', 'active'],
      ['hello-00002', 'False', 'ExitCode1', 'reserve'],
    ],
  );
});

test('first start failed with nothing else: empty split list (503), RoutesReady False', () => {
  const out = run([svc()], null, new Map([failed('hello-00001')]));
  assert.deepEqual(splitsOf(out.state, 'hello.default.example.com'), []);
  assert.deepEqual(cond(svcStatus(out), 'RoutesReady'), [
    'False',
    'RevisionMissing',
    'Configuration "hello" does not have any ready Revision.',
  ]);
});

test('while nothing is ready, the newest revision that has not failed gets the traffic', () => {
  const first = run([svc()]);
  const out = run([svc({ image: 'ghcr.io/acme/bad' })], first, new Map([failed('hello-00002')]));
  assert.deepEqual(splitsOf(out.state, 'hello.default.example.com'), [['default/hello-00001', 100]]);
});

test('BYO revision names: created, reused when unchanged, rejected when the template changes under the same name', () => {
  const first = run([svc({ templateName: 'hello-blue' })], null, new Map([ready('hello-blue')]));
  assert.deepEqual(names(first), ['hello-blue']);
  const same = run([svc({ templateName: 'hello-blue' })], first, new Map([ready('hello-blue')]));
  assert.equal(same.state, first.state);
  const bad = run(
    [svc({ templateName: 'hello-blue', image: 'ghcr.io/acme/hello:2' })],
    first,
    new Map([ready('hello-blue')]),
  );
  assert.equal(bad.state, first.state, 'the last good spec keeps serving');
  const [status, reason, message] = cond(svcStatus(bad), 'Ready');
  assert.equal(status, 'False');
  assert.equal(reason, 'ValidationFailed');
  assert.equal(
    message,
    'validation failed: Saw the following changes without a name change (-old +new): spec.template.metadata.name\nspec.containers[0].image:\n\t-: "ghcr.io/acme/hello:1"\n\t+: "ghcr.io/acme/hello:2"',
  );
  // Generation 2 names the next unnamed revision, as Knative's configuration generation does.
  const renamed = run([svc({ image: 'ghcr.io/acme/hello:2' })], first);
  assert.deepEqual(names(renamed), ['hello-blue', 'hello-00002']);
});

test('BYO name with the wrong prefix is rejected with Knative’s message', () => {
  const out = run([svc({ templateName: 'blue' })]);
  assert.deepEqual(out.state.routes, []);
  assert.deepEqual(cond(svcStatus(out), 'Ready'), [
    'False',
    'ValidationFailed',
    'validation failed: invalid value: "blue" must have prefix "hello-": spec.template.metadata.name',
  ]);
});

test('tags: {tag}-{name} hosts at 100 % to the tagged revision, tag URLs in status', () => {
  const r = new Map([ready('hello-00001'), ready('hello-00002')]);
  const first = run([svc()], null, r);
  const out = run(
    [
      svc({
        image: 'ghcr.io/acme/hello:2',
        traffic: [
          { tag: 'current', latestRevision: true, percent: 90 },
          { tag: 'prev', revisionName: 'hello-00001', percent: 10 },
          { tag: 'staging', revisionName: 'hello-00001', percent: 0 },
        ],
      }),
    ],
    first,
    r,
  );
  assert.deepEqual(splitsOf(out.state, 'hello.default.example.com'), [
    ['default/hello-00002', 90],
    ['default/hello-00001', 10],
  ]);
  assert.deepEqual(splitsOf(out.state, 'current-hello.default.example.com'), [['default/hello-00002', 100]]);
  assert.deepEqual(splitsOf(out.state, 'prev-hello.default.localhost'), [['default/hello-00001', 100]]);
  assert.deepEqual(splitsOf(out.state, 'staging-hello.default.svc.cluster.local'), [
    ['default/hello-00001', 100],
  ]);
  assert.equal(route(out.state, 'prev-hello.default')?.tag, 'prev');
  assert.deepEqual(
    svcStatus(out).traffic.map((t) => [t.tag, t.revisionName, t.percent, t.url]),
    [
      ['current', 'hello-00002', 90, 'http://current-hello.default.example.com'],
      ['prev', 'hello-00001', 10, 'http://prev-hello.default.example.com'],
      ['staging', 'hello-00001', 0, 'http://staging-hello.default.example.com'],
    ],
  );
});

test('traffic naming an unknown revision keeps the previous spec, RevisionMissing', () => {
  const first = run([svc()], null, new Map([ready('hello-00001')]));
  const out = run(
    [svc({ traffic: [{ revisionName: 'hello-00009', percent: 100 }] })],
    first,
    new Map([ready('hello-00001')]),
  );
  assert.equal(out.state, first.state);
  assert.deepEqual(cond(svcStatus(out), 'Ready'), [
    'False',
    'RevisionMissing',
    'Revision "hello-00009" referenced in traffic not found.',
  ]);
});

test('cluster-local visibility: no external host, cluster-local URL', () => {
  const out = run([svc({ labels: { 'networking.knative.dev/visibility': 'cluster-local' } })]);
  assert.deepEqual(
    out.state.routes.map((r) => r.host),
    ['hello.default', 'hello.default.localhost', 'hello.default.svc', 'hello.default.svc.cluster.local'],
  );
  assert.equal(svcStatus(out).url, 'http://hello.default.svc.cluster.local');
});

test('config-domain: most specific selector wins, else the default entry', () => {
  const domain = configMap('config-domain', {
    'prod.example.org': 'selector:\n  app: prod',
    'dev.example.org': '',
  });
  const out = run([domain, svc({ labels: { app: 'prod' } }), svc({ name: 'other' })]);
  assert.equal(svcStatus(out).url, 'http://hello.default.prod.example.org');
  assert.equal(svcStatus(out, 'other').url, 'http://other.default.dev.example.org');
  assert.ok(route(out.state, 'hello.default.prod.example.org'));
});

test('config-defaults apply to new revisions', () => {
  const defaults = configMap('config-defaults', {
    'revision-timeout-seconds': '120',
    'container-concurrency': '10',
  });
  const out = run([defaults, svc()]);
  assert.deepEqual(
    out.state.revisions.map((r) => [r.timeoutSeconds, r.queueTimeoutSeconds, r.containerConcurrency]),
    [[120, 120, 10]],
  );
  assert.equal(out.configs.defaults.revisionTimeoutSeconds, 120);
});

const resourcesOf = (out: ReconcileOutput): readonly unknown[] =>
  out.state.revisions.map((r) => [r.name, r.container.resources ?? null]);

test('config-defaults resource defaults fill in what the template leaves unset', () => {
  const defaults = configMap('config-defaults', {
    'revision-cpu-request': '100m',
    'revision-cpu-limit': '2',
    'revision-memory-limit': '128Mi',
  });
  const out = run([defaults, svc({ container: { resources: { limits: { cpu: '1' } } } })]);
  assert.deepEqual(resourcesOf(out), [
    ['hello-00001', { requests: { cpu: '100m' }, limits: { cpu: '1', memory: '128Mi' } }],
  ]);
  assert.deepEqual(
    out.history.services[0]?.revisions.map((r) => r.spec.container.resources),
    [{ requests: { cpu: '100m' }, limits: { cpu: '1', memory: '128Mi' } }],
    'the history holds the revision as created, defaults in',
  );
});

test('no resource defaults and no resources: the revision has no resources field', () => {
  const out = run([configMap('config-defaults', { 'revision-timeout-seconds': '60' }), svc()]);
  assert.equal(Object.hasOwn(out.state.revisions[0]?.container ?? {}, 'resources'), false);
});

test('a config-defaults change alone creates no revision and changes none; the next template change picks it up', () => {
  const v1 = configMap('config-defaults', { 'revision-cpu-request': '100m' });
  const v2 = configMap('config-defaults', {
    'revision-cpu-request': '250m',
    'revision-memory-limit': '256Mi',
  });
  const first = run([v1, svc()], null, new Map([ready('hello-00001')]));
  const changed = run([v2, svc()], first, new Map([ready('hello-00001')]));
  assert.equal(changed.state, first.state, 'no new State: nothing changed for the data plane');
  assert.deepEqual(resourcesOf(changed), [['hello-00001', { requests: { cpu: '100m' }, limits: {} }]]);
  assert.equal(changed.history.services[0]?.configurationGeneration, 1);

  // Across a restart too: the persisted revision keeps what it was created with.
  const restored = previousFromHistory(decodeHistory(encodeHistory(first.history)));
  const afterRestart = run([v2, svc()], restored, new Map([ready('hello-00001')]));
  assert.deepEqual(resourcesOf(afterRestart), resourcesOf(first));

  const next = run([v2, svc({ image: 'ghcr.io/acme/hello:2' })], changed, new Map([ready('hello-00001')]));
  assert.deepEqual(resourcesOf(next), [
    ['hello-00001', { requests: { cpu: '100m' }, limits: {} }],
    ['hello-00002', { requests: { cpu: '250m' }, limits: { memory: '256Mi' } }],
  ]);
});

test('a default request above the template’s limit rejects the Service, reported against it', () => {
  const clash = configMap('config-defaults', { 'revision-cpu-request': '500m' });
  const limited = svc({ container: { resources: { limits: { cpu: '200m' } } } });
  const message =
    'validation failed: invalid value: 500m: spec.template.spec.containers[0].resources.requests.cpu\n' +
    'must be less than or equal to cpu limit of 200m; requests.cpu 500m comes from config-defaults revision-cpu-request: set requests.cpu in the template, or change revision-cpu-request';

  const fresh = run([clash, limited]);
  assert.deepEqual(names(fresh), []);
  assert.deepEqual(cond(svcStatus(fresh), 'Ready'), ['False', 'ValidationFailed', message]);
  assert.ok(fresh.problems.some((p) => p.message === `Service default/hello: ${message}`));

  // A serving Service keeps serving what it has; only the revision the new template asks for is refused.
  const serving = run([limited], null, new Map([ready('hello-00001')]));
  const unchanged = run([clash, limited], serving, new Map([ready('hello-00001')]));
  assert.equal(unchanged.state, serving.state);
  assert.deepEqual(cond(svcStatus(unchanged), 'Ready'), ['True', '', ''], 'no revision to create, no check');
  const edited = svc({
    image: 'ghcr.io/acme/hello:2',
    container: { resources: { limits: { cpu: '200m' } } },
  });
  const refused = run([clash, edited], unchanged, new Map([ready('hello-00001')]));
  assert.equal(refused.state, serving.state);
  assert.deepEqual(cond(svcStatus(refused), 'Ready'), ['False', 'ValidationFailed', message]);
});

test('a default limit below the template’s request rejects the Service with Kubernetes’ message', () => {
  const out = run([
    configMap('config-defaults', { 'revision-memory-limit': '512Mi' }),
    svc({ container: { resources: { requests: { memory: '1Gi' } } } }),
  ]);
  assert.deepEqual(names(out), []);
  assert.equal(
    cond(svcStatus(out), 'Ready')[2],
    'validation failed: invalid value: 1Gi: spec.template.spec.containers[0].resources.requests.memory\n' +
      'must be less than or equal to memory limit of 512Mi; limits.memory 512Mi comes from config-defaults revision-memory-limit: set limits.memory in the template, or change revision-memory-limit',
  );
});

test('a rejected config-defaults keeps the previous accepted one and is reported', () => {
  const good = run([configMap('config-defaults', { 'revision-timeout-seconds': '120' }), svc()]);
  const bad = run([configMap('config-defaults', { 'revision-timeout-seconds': 'soon' }), svc()], good);
  assert.equal(bad.configs.defaults.revisionTimeoutSeconds, 120);
  assert.ok(
    bad.problems.some((p) => p.message.includes('revision-timeout-seconds: "soon" is not an integer')),
  );
});

test('config-autoscaler data reaches the State verbatim', () => {
  const out = run([configMap('config-autoscaler', { 'stable-window': '6s' }), svc()]);
  assert.deepEqual(out.state.autoscalerConfig, { 'stable-window': '6s' });
});

test('an invalid update keeps the previous revisions and routes, Ready=False with the message', () => {
  const first = run([svc()], null, new Map([ready('hello-00001')]));
  const out = run([svc({ spec: { timeoutSeconds: 900 } })], first, new Map([ready('hello-00001')]));
  assert.equal(out.state, first.state);
  const s = svcStatus(out);
  assert.deepEqual(cond(s, 'Ready'), [
    'False',
    'ValidationFailed',
    'validation failed: expected 0 <= 900 <= 600: spec.template.spec.timeoutSeconds',
  ]);
  assert.deepEqual(cond(s, 'RoutesReady'), ['True', '', ''], 'the serving spec is still fine');
  assert.equal(s.observedGeneration, 1);
  assert.equal(s.generation, 2);
  assert.ok(
    out.problems.some((p) => p.origin === 'services/hello.yaml#0' && p.message.includes('timeoutSeconds')),
  );
  // Fixing it continues from the kept history.
  const fixed = run([svc({ spec: { timeoutSeconds: 60 } })], out, new Map([ready('hello-00001')]));
  assert.deepEqual(names(fixed), ['hello-00001', 'hello-00002']);
});

test('an invalid Service seen for the first time: status only, no routes', () => {
  const out = run([svc({ image: '' })]);
  assert.deepEqual(out.state.routes, []);
  assert.equal(out.state.version, 0);
  assert.deepEqual(cond(svcStatus(out), 'Ready'), [
    'False',
    'ValidationFailed',
    'validation failed: missing field(s): spec.template.spec.containers[0].image',
  ]);
  assert.equal(svcStatus(out).observedGeneration, 0);
});

test('a file that fails to parse keeps its Services serving', () => {
  const first = run([svc()], null, new Map([ready('hello-00001')]));
  const out = run([], first, new Map([ready('hello-00001')]), {
    loadErrors: [{ origin: 'services/hello.yaml', message: 'YAML: bad indentation at line 3' }],
  });
  assert.equal(out.state, first.state);
  assert.deepEqual(cond(svcStatus(out), 'Ready'), ['False', 'LoadFailed', 'YAML: bad indentation at line 3']);
});

test('a broken file whose last good objects the source still hands back: serving, and LoadFailed', () => {
  const first = run([svc()], null, new Map([ready('hello-00001')]));
  const out = run([svc()], first, new Map([ready('hello-00001')]), {
    loadErrors: [{ origin: 'services/hello.yaml', message: 'services/hello.yaml:3:1: bad indentation' }],
  });
  assert.equal(out.state, first.state);
  assert.deepEqual(cond(svcStatus(out), 'Ready'), [
    'False',
    'LoadFailed',
    'services/hello.yaml:3:1: bad indentation',
  ]);
});

test('deleting a Service drops its revisions and routes', () => {
  const first = run([svc(), svc({ name: 'other' })]);
  const out = run([svc({ name: 'other' })], first);
  assert.deepEqual(names(out), ['other-00001']);
  assert.ok(out.state.routes.every((r) => r.service === 'other'));
  assert.equal(out.state.version, 2);
  assert.deepEqual(
    out.services.map((s) => s.name),
    ['other'],
  );
});

test('the same Service in two files: the second is reported and ignored', () => {
  const out = run([svc(), svc({ image: 'x', origin: 'elsewhere.yaml#0' })]);
  assert.deepEqual(names(out), ['hello-00001']);
  assert.ok(
    out.problems.some(
      (p) =>
        p.origin === 'elsewhere.yaml#0' && p.message.includes('already defined in services/hello.yaml#0'),
    ),
  );
});

test('other kinds are reported as ignored, not errors', () => {
  const out = run([
    { origin: 'd.yaml#0', baseDir: BASE, object: { apiVersion: 'apps/v1', kind: 'Deployment' } },
    svc(),
  ]);
  assert.ok(
    out.problems.some((p) => p.origin === 'd.yaml#0' && p.message.startsWith('ignored Deployment apps/v1')),
  );
  assert.deepEqual(names(out), ['hello-00001']);
});

test('cluster mode: no .localhost hosts, workingDir verbatim', () => {
  const out = run([svc()], null, new Map(), { mode: 'cluster' });
  assert.ok(out.state.routes.every((r) => !r.host.endsWith('.localhost')));
  assert.equal(out.state.revisions[0]?.container.workingDir, '.');
});

test('history is plain JSON: a round-trip continues the numbering', () => {
  const first = run([svc()]);
  const revived = JSON.parse(JSON.stringify(first)) as ReconcileOutput;
  const out = run([svc({ image: 'ghcr.io/acme/hello:2' })], revived);
  assert.deepEqual(names(out), ['hello-00001', 'hello-00002']);
});

test('a long Service name gets Knative’s md5-shortened revision name', () => {
  const name = `s${'a'.repeat(59)}`;
  const out = run([svc({ name })]);
  const rev = out.state.revisions[0]?.name ?? '';
  assert.equal(rev.length, 63);
  assert.ok(rev.startsWith(name.slice(0, 25)) && rev.endsWith('-00001'));
});

test('a host already served by one Service is not taken by a newcomer', () => {
  // Service "a-b" tag "x" and Service "x-a-b" both want x-a-b.default.example.com.
  const first = run([svc({ name: 'x-a-b' })]);
  const out = run(
    [
      svc({ name: 'x-a-b' }),
      svc({ name: 'a-b', traffic: [{ tag: 'x', latestRevision: true, percent: 100 }] }),
    ],
    first,
  );
  assert.equal(route(out.state, 'x-a-b.default.example.com')?.service, 'x-a-b');
  assert.equal(cond(svcStatus(out, 'a-b'), 'RoutesReady')[1], 'HostConflict');
});

// ---- persisted history, readiness across restarts, revision GC ----

test('a restart from the encoded history keeps names, generations and the ready revision', () => {
  const v1 = run([svc()], null, new Map([ready('hello-00001')]));
  const v2 = run(
    [svc({ image: 'ghcr.io/acme/hello:2' })],
    v1,
    new Map([ready('hello-00001'), ready('hello-00002')]),
  );
  const restored = previousFromHistory(decodeHistory(encodeHistory(v2.history)));
  // Nothing runs yet after the restart; the revision that was ready keeps the traffic.
  const after = run([svc({ image: 'ghcr.io/acme/hello:2' })], restored);
  assert.deepEqual(names(after), ['hello-00001', 'hello-00002']);
  assert.deepEqual(splitsOf(after.state, 'hello.default.example.com'), [['default/hello-00002', 100]]);
  assert.equal(svcStatus(after).latestReadyRevisionName, 'hello-00002');
  assert.equal(svcStatus(after).observedGeneration, 2);
  assert.equal(after.revisions[1]?.conditions[0]?.status, 'True');
  const next = run([svc({ image: 'ghcr.io/acme/hello:3' })], after);
  assert.deepEqual(names(next), ['hello-00001', 'hello-00002', 'hello-00003']);
  assert.equal(svcStatus(next).observedGeneration, 3);
});

test('a restored revision that fails on restart loses the traffic to an older ready one', () => {
  const v1 = run([svc()], null, new Map([ready('hello-00001')]));
  const v2 = run(
    [svc({ image: 'ghcr.io/acme/hello:2' })],
    v1,
    new Map([ready('hello-00001'), ready('hello-00002')]),
  );
  const restored = previousFromHistory(decodeHistory(encodeHistory(v2.history)));
  const out = run([svc({ image: 'ghcr.io/acme/hello:2' })], restored, new Map([failed('hello-00002')]));
  assert.deepEqual(splitsOf(out.state, 'hello.default.example.com'), [['default/hello-00001', 100]]);
});

test('decodeHistory refuses what it cannot trust', () => {
  assert.throws(() => decodeHistory('{'), HistoryDecodeError);
  assert.throws(() => decodeHistory('{"formatVersion":99,"services":[]}'), /formatVersion 99/);
  assert.throws(
    () => decodeHistory('{"formatVersion":1,"services":[{"name":"x"}]}'),
    /services\[0\]\.revisions: expected an array/,
  );
});

const gcCount = (max: string): SourceObject =>
  configMap('config-gc', {
    'retain-since-create-time': 'disabled',
    'retain-since-last-active-time': 'disabled',
    'min-non-active-revisions': '0',
    'max-non-active-revisions': max,
  });

test('GC with max-non-active-revisions 1 collects the oldest reserve revision, never a routed one', () => {
  const image = (n: number): string => `ghcr.io/acme/hello:${n}`;
  const allReady = new Map([
    ready('hello-00001'),
    ready('hello-00002'),
    ready('hello-00003'),
    ready('hello-00004'),
  ]);
  const pinV1 = [
    { latestRevision: true, percent: 100 },
    { tag: 'old', revisionName: 'hello-00001', percent: 0 },
  ];
  let out = run([gcCount('1'), svc({ image: image(1) })], null, allReady, {
    nowIso: '2024-01-01T00:00:01.000Z',
  });
  out = run([gcCount('1'), svc({ image: image(2), traffic: pinV1 })], out, allReady, {
    nowIso: '2024-01-01T00:00:02.000Z',
  });
  out = run([gcCount('1'), svc({ image: image(3), traffic: pinV1 })], out, allReady, {
    nowIso: '2024-01-01T00:00:03.000Z',
  });
  assert.deepEqual(out.collected, []);
  out = run([gcCount('1'), svc({ image: image(4), traffic: pinV1 })], out, allReady, {
    nowIso: '2024-01-01T00:00:04.000Z',
  });
  // 00001 is pinned by its tag, 00004 serves; of the reserve 00002 and 00003, the older goes.
  assert.deepEqual(out.collected, ['default/hello-00002']);
  assert.deepEqual(names(out), ['hello-00001', 'hello-00003', 'hello-00004']);
  const h = out.history.services[0];
  assert.deepEqual(h?.deletedRevisions, [{ name: 'hello-00002', deletedAt: '2024-01-01T00:00:04.000Z' }]);
  // Rolling back to a collected revision is refused; the last good spec keeps serving.
  const back = run(
    [gcCount('1'), svc({ traffic: [{ revisionName: 'hello-00002', percent: 100 }] })],
    out,
    allReady,
  );
  assert.equal(cond(svcStatus(back), 'Ready')[1], 'RevisionMissing');
  assert.deepEqual(splitsOf(back.state, 'hello.default.example.com'), [['default/hello-00004', 100]]);
});

test('GC never reuses a collected BYO name', () => {
  const allReady = new Map([ready('hello-a'), ready('hello-b'), ready('hello-c')]);
  let out = run([gcCount('0'), svc({ templateName: 'hello-a' })], null, allReady);
  out = run([gcCount('0'), svc({ templateName: 'hello-b', image: 'x:2' })], out, allReady);
  out = run([gcCount('0'), svc({ templateName: 'hello-c', image: 'x:3' })], out, allReady);
  assert.deepEqual(names(out), ['hello-c']);
  const again = run([gcCount('0'), svc({ templateName: 'hello-a', image: 'x:4' })], out, allReady);
  assert.equal(cond(svcStatus(again), 'Ready')[1], 'RevisionNameTaken');
  assert.match(cond(svcStatus(again), 'Ready')[2], /garbage-collected/);
});

test('GC keeps revisions annotated serving.knative.dev/no-gc', () => {
  const allReady = new Map([ready('hello-00001'), ready('hello-00002'), ready('hello-00003')]);
  const keep = { 'serving.knative.dev/no-gc': 'true' };
  let out = run([gcCount('0'), svc({ templateAnnotations: keep })], null, allReady);
  out = run([gcCount('0'), svc({ image: 'x:2' })], out, allReady);
  out = run([gcCount('0'), svc({ image: 'x:3' })], out, allReady);
  assert.deepEqual(names(out), ['hello-00001', 'hello-00003']);
});

// ---- gradual rollout (serving.knative.dev/rollout-duration, config-network rollout-duration) ----

const T0 = Date.parse('2024-01-01T00:00:00.000Z');
const at = (ms: number): string => new Date(T0 + ms).toISOString();
const ROLL_10S = { 'serving.knative.dev/rollout-duration': '10s' };
const HOST = 'hello.default.example.com';
const both = (): Runtime => new Map([ready('hello-00001'), ready('hello-00002')]);

/** hello-00001 ready and serving, then a template change whose revision becomes ready at `readyAtMs`. */
function rollingFrom(
  o: {
    annotations?: Readonly<Record<string, string>>;
    traffic?: readonly Obj[];
    extra?: readonly SourceObject[];
  },
  readyAtMs = 1000,
): { readonly objects: readonly SourceObject[]; readonly started: ReconcileOutput } {
  const base = { ...(o.annotations === undefined ? {} : { annotations: o.annotations }) };
  const v1 = [
    svc({ ...base, ...(o.traffic === undefined ? {} : { traffic: o.traffic }) }),
    ...(o.extra ?? []),
  ];
  const first = run(v1, null, new Map([ready('hello-00001')]), { nowIso: at(0) });
  const objects = [
    svc({
      ...base,
      image: 'ghcr.io/acme/hello:2',
      ...(o.traffic === undefined ? {} : { traffic: o.traffic }),
    }),
    ...(o.extra ?? []),
  ];
  const created = run(objects, first, new Map([ready('hello-00001')]), { nowIso: at(readyAtMs / 2) });
  assert.deepEqual(
    splitsOf(created.state, HOST),
    [['default/hello-00001', 100]],
    'not ready yet: no rollout',
  );
  assert.equal(created.nextRolloutStepAtMs, null);
  const started = run(objects, created, both(), { nowIso: at(readyAtMs) });
  return { objects, started };
}

test('rollout-duration 10s: the new revision takes over in 9 steps of 11 points, a second apart', () => {
  const { objects, started } = rollingFrom({ annotations: ROLL_10S });
  assert.deepEqual(splitsOf(started.state, HOST), [
    ['default/hello-00001', 99],
    ['default/hello-00002', 1],
  ]);
  assert.equal(started.nextRolloutStepAtMs, T0 + 2000);
  const s = svcStatus(started);
  assert.deepEqual(
    s.traffic.map((t) => [t.revisionName, t.percent, t.latestRevision]),
    [
      ['hello-00001', 99, true],
      ['hello-00002', 1, true],
    ],
  );
  const rolling = 'A gradual rollout of the latest revision(s) is in progress.';
  assert.deepEqual(cond(s, 'RoutesReady'), ['Unknown', 'RolloutInProgress', rolling]);
  assert.deepEqual(cond(s, 'Ready'), ['Unknown', 'RolloutInProgress', rolling]);
  assert.deepEqual(cond(s, 'ConfigurationsReady'), ['True', '', '']);
  assert.equal(s.latestReadyRevisionName, 'hello-00002');
  // Both revisions carry traffic: routed, so neither is collected meanwhile.
  assert.deepEqual(
    started.revisions.map((r) => r.routingState),
    ['active', 'active'],
  );

  const newShare: number[] = [];
  let out = started;
  for (let k = 1; k <= 9; k++) {
    out = run(objects, out, both(), { nowIso: at(1000 + k * 1000) });
    newShare.push(splitsOf(out.state, HOST)?.find(([r]) => r === 'default/hello-00002')?.[1] ?? 0);
  }
  assert.deepEqual(newShare, [12, 23, 34, 45, 56, 67, 78, 89, 100]);
  assert.deepEqual(splitsOf(out.state, HOST), [['default/hello-00002', 100]]);
  assert.equal(out.nextRolloutStepAtMs, null, 'done: nothing scheduled');
  assert.deepEqual(cond(svcStatus(out), 'Ready'), ['True', '', '']);
  assert.deepEqual(
    svcStatus(out).traffic.map((t) => [t.revisionName, t.percent]),
    [['hello-00002', 100]],
  );
});

test('a reconcile between steps (another object reloaded) keeps the split and the schedule', () => {
  const { objects, started } = rollingFrom({ annotations: ROLL_10S });
  const reloaded = run([...objects, svc({ name: 'other' })], started, both(), { nowIso: at(1500) });
  assert.deepEqual(splitsOf(reloaded.state, HOST), splitsOf(started.state, HOST));
  assert.equal(reloaded.nextRolloutStepAtMs, T0 + 2000);
  const stepped = run([...objects, svc({ name: 'other' })], reloaded, both(), { nowIso: at(2000) });
  assert.deepEqual(splitsOf(stepped.state, HOST), [
    ['default/hello-00001', 88],
    ['default/hello-00002', 12],
  ]);
});

test('a restart resumes the rollout from the persisted history, at the same split and pace', () => {
  const { objects, started } = rollingFrom({ annotations: ROLL_10S });
  const atTwo = run(objects, started, both(), { nowIso: at(2000) });
  const restored = previousFromHistory(decodeHistory(encodeHistory(atTwo.history)));
  // Nothing runs yet after a restart; the revisions were ready once, which is recorded.
  const between = run(objects, restored, new Map(), { nowIso: at(2500) });
  assert.deepEqual(splitsOf(between.state, HOST), [
    ['default/hello-00001', 88],
    ['default/hello-00002', 12],
  ]);
  assert.equal(between.nextRolloutStepAtMs, T0 + 3000);
  const next = run(objects, between, new Map(), { nowIso: at(3000) });
  assert.deepEqual(
    splitsOf(next.state, HOST)?.map(([, p]) => p),
    [77, 23],
  );
});

test('pinned revisions never roll: only the latestRevision share moves', () => {
  const traffic = [
    { revisionName: 'hello-00001', percent: 50 },
    { latestRevision: true, percent: 50 },
  ];
  const { objects, started } = rollingFrom({ annotations: ROLL_10S, traffic });
  // The pinned 50 % plus the rollout's 49/1 of the other 50 %.
  assert.deepEqual(splitsOf(started.state, HOST), [
    ['default/hello-00001', 99],
    ['default/hello-00002', 1],
  ]);
  assert.deepEqual(
    svcStatus(started).traffic.map((t) => [t.revisionName, t.percent, t.latestRevision]),
    [
      ['hello-00001', 50, false],
      ['hello-00001', 49, true],
      ['hello-00002', 1, true],
    ],
  );
  // 49 points over 9 steps round to 5 a step.
  const stepped = run(objects, started, both(), { nowIso: at(2000) });
  assert.deepEqual(
    splitsOf(stepped.state, HOST)?.map(([, p]) => p),
    [94, 6],
  );
  let out = stepped;
  for (let k = 2; k <= 10; k++) out = run(objects, out, both(), { nowIso: at(1000 + k * 1000) });
  assert.deepEqual(splitsOf(out.state, HOST), [
    ['default/hello-00001', 50],
    ['default/hello-00002', 50],
  ]);
});

test('config-network rollout-duration is the default; the annotation wins over it', () => {
  const network = (seconds: string): SourceObject =>
    configMap('config-network', { 'rollout-duration': seconds });
  const byDefault = rollingFrom({ extra: [network('10')] }).started;
  assert.deepEqual(
    splitsOf(byDefault.state, HOST)?.map(([, p]) => p),
    [99, 1],
  );
  assert.equal(byDefault.nextRolloutStepAtMs, T0 + 2000);
  // 4 s: 3 steps of 33 points.
  const own = rollingFrom({
    annotations: { 'serving.knative.dev/rollout-duration': '4s' },
    extra: [network('600')],
  });
  const stepped = run(own.objects, own.started, both(), { nowIso: at(2000) });
  assert.deepEqual(
    splitsOf(stepped.state, HOST)?.map(([, p]) => p),
    [66, 34],
  );
  // An annotation of 0s means "not set": the default applies (Knative route.go).
  const zero = rollingFrom({
    annotations: { 'serving.knative.dev/rollout-duration': '0s' },
    extra: [network('10')],
  });
  assert.deepEqual(
    splitsOf(zero.started.state, HOST)?.map(([, p]) => p),
    [99, 1],
  );
});

test('no rollout-duration anywhere: the new revision takes all traffic at once, as before', () => {
  const { started } = rollingFrom({});
  assert.deepEqual(splitsOf(started.state, HOST), [['default/hello-00002', 100]]);
  assert.equal(started.nextRolloutStepAtMs, null);
  assert.deepEqual(cond(svcStatus(started), 'Ready'), ['True', '', '']);
});

test('a bad config-network rollout-duration is reported with key, value and fix, and not used', () => {
  const bad = configMap('config-network', { 'rollout-duration': 'ten', 'domain-template': '{{.Name}}' });
  const { started } = rollingFrom({ extra: [bad] });
  assert.deepEqual(splitsOf(started.state, HOST), [['default/hello-00002', 100]]);
  const messages = started.problems.map((p) => p.message);
  assert.ok(
    messages.includes(
      'config-network: rollout-duration: "ten" is not a whole number of seconds; write e.g. "300" (0 switches traffic at once)',
    ),
    messages.join('\n'),
  );
  assert.ok(
    messages.includes(
      'config-network: domain-template: not implemented by kedge and ignored; kedge reads only rollout-duration from config-network',
    ),
    messages.join('\n'),
  );
  const negative = run([configMap('config-network', { 'rollout-duration': '-444' })]);
  assert.ok(
    negative.problems.some(
      (p) =>
        p.message ===
        'config-network: rollout-duration: -444 must not be negative; write 0 (switch at once) or a number of seconds, e.g. "300"',
    ),
  );
});

test('a revision that fails mid-rollout loses its share at once; traffic never stays on a failed one', () => {
  const { objects, started } = rollingFrom({ annotations: ROLL_10S });
  const stepped = run(objects, started, both(), { nowIso: at(2000) });
  assert.deepEqual(
    splitsOf(stepped.state, HOST)?.map(([, p]) => p),
    [88, 12],
  );
  const crashed = run(objects, stepped, new Map([ready('hello-00001'), failed('hello-00002')]), {
    nowIso: at(2100),
  });
  assert.deepEqual(splitsOf(crashed.state, HOST), [['default/hello-00001', 100]]);
  assert.equal(crashed.nextRolloutStepAtMs, null);
});

test('a tag that follows the latest revision rolls on its own host, the default route too', () => {
  const traffic = [
    { latestRevision: true, percent: 100 },
    { latestRevision: true, tag: 'next', percent: 0 },
  ];
  const { started } = rollingFrom({ annotations: ROLL_10S, traffic });
  assert.deepEqual(
    splitsOf(started.state, HOST)?.map(([, p]) => p),
    [99, 1],
  );
  assert.deepEqual(
    splitsOf(started.state, 'next-hello.default.example.com')?.map(([, p]) => p),
    [99, 1],
  );
});

// ---- template identity (resources: {} is no change) ----

test('resources: {} and empty requests/limits are the same template as no resources: no new revision', () => {
  const first = run([svc()]);
  for (const resources of [{}, { requests: {} }, { requests: {}, limits: {} }]) {
    const out = run([svc({ container: { resources } })], first);
    assert.deepEqual(names(out), ['hello-00001'], JSON.stringify(resources));
  }
  const withCpu = run([svc({ container: { resources: { requests: { cpu: '100m' }, limits: {} } } })], first);
  assert.deepEqual(names(withCpu), ['hello-00001', 'hello-00002'], 'a real request still is a change');
});

test('a template without resources keeps the identity it always had (no revision churn on upgrade)', () => {
  const out = run([svc()]);
  const h = out.history.services[0];
  assert.ok(h);
  // The key kedge has always written: the parsed template as is, plus the base folder.
  const parsed = parseService(svc().object);
  assert.ok(parsed.ok);
  assert.equal(h.templateKey, canonicalJson({ template: parsed.value.spec.template, baseDir: BASE }));
  assert.equal(h.revisions[0]?.templateKey, h.templateKey);
  assert.match(h.templateKey, /"resources":null/);
});

test('a history written before the rule, with resources: {} in its key, still matches: no new revision', () => {
  const withEmpty = svc({ container: { resources: {} } });
  const first = run([withEmpty]);
  const parsed = parseService(withEmpty.object);
  assert.ok(parsed.ok);
  // What an older kedge recorded for that template.
  const legacy = canonicalJson({ template: parsed.value.spec.template, baseDir: BASE }) ?? '';
  assert.match(legacy, /"resources":\{"limits":\{\},"requests":\{\}\}/);
  const old = decodeHistory(
    encodeHistory({
      ...first.history,
      services: first.history.services.map((h) => ({
        ...h,
        templateKey: legacy,
        revisions: h.revisions.map((r) => ({ ...r, templateKey: legacy })),
      })),
    }),
  );
  const upgraded = run([withEmpty], previousFromHistory(old));
  assert.deepEqual(names(upgraded), ['hello-00001']);
  const dropped = run([svc()], upgraded);
  assert.deepEqual(names(dropped), ['hello-00001'], 'and removing the empty resources is no change either');
});

test('a damaged rollout in the history is dropped on reading, nothing else: the goal at once', () => {
  const { objects, started } = rollingFrom({ annotations: ROLL_10S });
  const text = encodeHistory(started.history).replace('"percent": 99', '"percent": 98');
  const decoded = decodeHistory(text);
  assert.equal(decoded.services[0]?.rollout, undefined, 'percents that do not add up are not trusted');
  assert.deepEqual(decoded.services[0]?.revisions.length, 2);
  const out = run(objects, previousFromHistory(decoded), both(), { nowIso: at(1500) });
  assert.deepEqual(splitsOf(out.state, HOST), [['default/hello-00002', 100]]);
});
