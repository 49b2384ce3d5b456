// KubeRuntime + the test kubelet against the test API server: the Deployment it writes, scaling
// through the scale subresource, ready endpoints from pods, draining, failures, and the cascade
// when the Service goes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import type { Endpoint, RevisionRuntimeStatus } from '../../controller/runtime.js';
import { KubeRuntime, deploymentName } from '../../controller/runtimes/kube.js';
import { revisionKey, type RevisionKey, type RevisionSpec } from '../../controller/state.js';
import { silentLogger } from '../../lib/log.js';
import { Kubelet } from './kubelet.js';
import { Changes, EXAMPLES, KSVC, knativeService, poll, startCluster } from './support.js';

function revision(service: string, o: Partial<RevisionSpec> = {}): RevisionSpec {
  const name = `${service}-00001`;
  return {
    key: revisionKey('default', name),
    name,
    namespace: 'default',
    service,
    generation: 1,
    container: {
      image: 'example.invalid/hello',
      command: ['node', 'index.js'],
      args: [],
      workingDir: EXAMPLES + 'helloworld-nodejs',
      env: [{ name: 'TARGET', value: 'cluster' }],
      port: 8080,
    },
    containerConcurrency: 0,
    timeoutSeconds: 300,
    responseStartTimeoutSeconds: null,
    idleTimeoutSeconds: null,
    queueTimeoutSeconds: 300,
    annotations: {},
    createdAt: new Date().toISOString(),
    ...o,
  };
}

async function setUp(t: { after: (fn: () => Promise<void> | void) => void }) {
  const cluster = await startCluster();
  t.after(() => cluster.server.close());
  const kubelet = new Kubelet({ kc: cluster.kc });
  t.after(() => kubelet.close());
  await kubelet.start();
  const endpoints = new Map<RevisionKey, readonly Endpoint[]>();
  const statuses = new Map<RevisionKey, RevisionRuntimeStatus>();
  const changes = new Changes();
  const owners = new Map<string, { name: string; uid: string }>();
  const runtime = new KubeRuntime({
    kc: cluster.kc,
    logger: silentLogger,
    listener: {
      endpoints: (key, eps) => {
        endpoints.set(key, eps);
        changes.notify();
      },
      status: (s) => {
        statuses.set(s.key, s);
        changes.notify();
      },
    },
    owner: (namespace, name) => owners.get(`${namespace}/${name}`),
    initialScale: () => 0,
    onDrainingChange: () => {
      changes.notify();
    },
  });
  t.after(() => runtime.close());
  await runtime.start();
  const createService = async (name: string, command?: string[]): Promise<void> => {
    const created = (await cluster.custom.createNamespacedCustomObject({
      ...KSVC,
      namespace: 'default',
      body: knativeService(name, command === undefined ? {} : { command }),
    })) as { metadata: { uid: string } };
    owners.set(`default/${name}`, { name, uid: created.metadata.uid });
  };
  return { cluster, kubelet, runtime, endpoints, statuses, changes, createService };
}

test('KubeRuntime: Deployment, scale to 2 ready endpoints, draining, cascade on Service delete', async (t) => {
  const { cluster, kubelet, runtime, endpoints, changes, createService } = await setUp(t);
  await createService('hello');
  const resources = { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } };
  const spec = revision('hello', { container: { ...revision('hello').container, resources } });
  runtime.ensure(spec);

  const dep = await poll('the Deployment', () =>
    cluster.apps
      .readNamespacedDeployment({ name: 'hello-00001-deployment', namespace: 'default' })
      .catch(() => undefined),
  );
  assert.equal(deploymentName('hello-00001'), 'hello-00001-deployment');
  assert.deepEqual(dep.metadata?.labels, {
    'serving.knative.dev/service': 'hello',
    'serving.knative.dev/configuration': 'hello',
    'serving.knative.dev/configurationGeneration': '1',
    'serving.knative.dev/revision': 'hello-00001',
  });
  const [owner] = dep.metadata.ownerReferences ?? [];
  assert.equal(owner?.kind, 'Service');
  assert.equal(owner.name, 'hello');
  assert.equal(owner.controller, true);
  assert.equal(owner.blockOwnerDeletion, true);
  assert.equal(dep.spec?.replicas, 0, 'created at the initial scale');
  const container = dep.spec.template.spec?.containers[0];
  assert.equal(container?.name, 'user-container');
  assert.deepEqual(container.command, ['node', 'index.js']);
  assert.equal(container.workingDir, EXAMPLES + 'helloworld-nodejs');
  assert.deepEqual(Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value])), {
    TARGET: 'cluster',
    PORT: '8080',
    K_SERVICE: 'hello',
    K_CONFIGURATION: 'hello',
    K_REVISION: 'hello-00001',
  });
  assert.equal(container.ports?.[0]?.containerPort, 8080);
  assert.equal(container.readinessProbe?.tcpSocket?.port, 8080);
  // (client-node reads it back as a V1ResourceRequirements instance: compare the lists.)
  assert.deepEqual(
    { requests: container.resources?.requests, limits: container.resources?.limits },
    resources,
  );
  assert.equal(dep.spec.template.spec?.terminationGracePeriodSeconds, 300);

  // ensure() again is a no-op; the autoscaler's replicas are never overwritten.
  runtime.ensure(spec);
  runtime.scale(spec.key, 2);
  const two = await changes.waitFor(
    'two ready endpoints',
    () => {
      const eps = endpoints.get(spec.key) ?? [];
      return eps.length === 2 ? eps : undefined;
    },
    10_000,
  );
  for (const ep of two) {
    assert.match(ep.host, /^127\.0\.0\.([2-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-4])$/);
    const res = await request(`http://${ep.host}:${ep.port}/`);
    assert.equal(await res.body.text(), 'Hello cluster!\n');
  }
  const scaled = await cluster.apps.readNamespacedDeployment({
    name: 'hello-00001-deployment',
    namespace: 'default',
  });
  assert.equal(scaled.spec?.replicas, 2);
  assert.equal(runtime.status(spec.key)?.readyReplicas, 2);
  assert.equal(runtime.status(spec.key)?.everReady, true);

  // A restarted controller: a fresh KubeRuntime knows the running pods as soon as ensure() returns,
  // so the snapshot it publishes right after does not drop them (gateways would queue requests).
  const restarted = new KubeRuntime({
    kc: cluster.kc,
    logger: silentLogger,
    listener: { endpoints: () => undefined, status: () => undefined },
    owner: () => undefined,
    initialScale: () => 0,
  });
  t.after(() => restarted.close());
  await restarted.start();
  restarted.ensure(spec);
  assert.deepEqual(restarted.endpoints(spec.key), two);
  assert.equal(restarted.status(spec.key)?.everReady, true);
  await restarted.close();

  // The autoscaler marks a pod for removal: it leaves the endpoints and shows as draining.
  const [victim] = two;
  assert.ok(victim !== undefined);
  await cluster.core.patchNamespacedPod({
    name: victim.id,
    namespace: 'default',
    body: [{ op: 'add', path: '/metadata/annotations', value: { 'kedge.dev/draining': 'true' } }],
  });
  await changes.waitFor(
    'the draining pod out of the endpoints',
    () =>
      runtime.draining().includes(victim.id) &&
      (endpoints.get(spec.key) ?? []).every((e) => e.id !== victim.id),
  );
  assert.equal(endpoints.get(spec.key)?.length, 1);

  // Deleting the Service: the API server's GC deletes the Deployment, then its pods; processes stop.
  const pids = kubelet.running().map((p) => p.pid);
  await cluster.custom.deleteNamespacedCustomObject({ ...KSVC, namespace: 'default', name: 'hello' });
  await poll(
    'the Deployment gone',
    async () => (await cluster.apps.listNamespacedDeployment({ namespace: 'default' })).items.length === 0,
  );
  await changes.waitFor(
    'no endpoints',
    () => (endpoints.get(spec.key) ?? []).length === 0 && runtime.draining().length === 0,
    5000,
  );
  await poll('the processes gone', () =>
    Promise.resolve(kubelet.running().length === 0 && pids.every((pid) => !alive(pid))),
  );
});

test('KubeRuntime: a crashing container is a RevisionFailure; remove() deletes the Deployment', async (t) => {
  const { cluster, runtime, statuses, changes, createService } = await setUp(t);
  await createService('broken', ['node', '-e', 'console.error("no config"); process.exit(3)']);
  const spec = revision('broken', {
    container: {
      ...revision('broken').container,
      command: ['node', '-e', 'console.error("no config"); process.exit(3)'],
    },
  });
  runtime.ensure(spec);
  runtime.scale(spec.key, 1);
  const status = await changes.waitFor(
    'the failure',
    () => statuses.get(spec.key)?.failure ?? undefined,
    10_000,
  );
  assert.equal(status.reason, 'ExitCode3');
  assert.match(status.message, /no config/);
  await runtime.remove(spec.key);
  await poll(
    'the Deployment deleted',
    async () => (await cluster.apps.listNamespacedDeployment({ namespace: 'default' })).items.length === 0,
  );
});

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
