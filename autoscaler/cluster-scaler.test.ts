/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment, @typescript-eslint/no-misused-spread --
   client-node 1.x models (V1Pod, V1Deployment, …) are data-only classes; its own examples pass
   object literals, as test/apiserver/client-node.test.ts does. */
// ClusterScaler against the in-repo Kubernetes API server (test/apiserver): real REST, the scale
// subresource, merge patches on pods. There is no ReplicaSet controller, so pods are made by hand
// and stay; what is checked is what the scaler writes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Endpoint } from '../controller/runtime.js';
import type { RevisionSpec } from '../controller/state.js';
import { rev, route, stateOf } from '../gateway/testing/fixtures.js';
import type { ClusterSnapshot } from '../lib/cluster-protocol.js';
import { ManualClock, systemClock, type Clock } from '../lib/clock.js';
import { silentLogger } from '../lib/log.js';
import { startApiServer, type ApiServer } from '../test/apiserver/server.js';
import { DELETION_COST_ANNOTATION, DRAINING_ANNOTATION, REVISION_LABEL } from './cluster-drain.js';
import { ClusterScaler } from './cluster-scaler.js';

const NS = 'default';
let server: ApiServer;
let apps: AppsV1Api;
let core: CoreV1Api;
let kc: KubeConfig;
let n = 0;

before(async () => {
  server = await startApiServer({ port: 0 });
  kc = new KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  apps = kc.makeApiClient(AppsV1Api);
  core = kc.makeApiClient(CoreV1Api);
});
after(() => server.close());

interface Fixture {
  readonly spec: RevisionSpec;
  readonly endpoints: Endpoint[];
  snapshot(): ClusterSnapshot;
}

let fx: Fixture;

/** A revision with a Deployment at `replicas` and that many ready pods p1..pN (endpoint ids e1..eN). */
async function revisionWith(replicas: number): Promise<Fixture> {
  const name = `hello${++n}-00001`;
  const spec = rev(name, { timeoutSeconds: 30 });
  await apps.createNamespacedDeployment({
    namespace: NS,
    body: {
      metadata: { name: `${name}-deployment`, labels: { [REVISION_LABEL]: name } },
      spec: {
        replicas,
        selector: { matchLabels: { [REVISION_LABEL]: name } },
        template: {
          metadata: { labels: { [REVISION_LABEL]: name } },
          spec: { containers: [{ name: 'user-container', image: 'x' }] },
        },
      },
    },
  });
  const endpoints: Endpoint[] = [];
  for (let i = 1; i <= replicas; i++) {
    const pod = `${name}-p${i}`;
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: pod, labels: { [REVISION_LABEL]: name } },
        spec: { nodeName: 'node-1', containers: [{ name: 'user-container', image: 'x' }] },
      },
    });
    const read = await core.readNamespacedPod({ name: pod, namespace: NS });
    const ip = `10.${n}.0.${i}`;
    await core.replaceNamespacedPodStatus({
      name: pod,
      namespace: NS,
      body: {
        ...read,
        status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
      },
    });
    endpoints.push({ id: `e${i}`, host: ip, port: 8080 });
  }
  const state = stateOf([spec], [route(`${name}.default.example.com`, [[name, 100]])]);
  return {
    spec,
    endpoints,
    snapshot: () => ({ version: 1, state, endpoints: { [spec.key]: endpoints }, draining: [], failures: {} }),
  };
}

function newScaler(clock: Clock = systemClock, stableWindowMs = 60_000): ClusterScaler {
  return new ClusterScaler({ apps, core, clock, logger: silentLogger, stableWindowMs: () => stableWindowMs });
}

async function replicas(spec: RevisionSpec): Promise<number | undefined> {
  return (await apps.readNamespacedDeploymentScale({ name: `${spec.name}-deployment`, namespace: NS })).spec
    ?.replicas;
}

async function annotations(spec: RevisionSpec): Promise<Record<string, Record<string, string>>> {
  const pods = await core.listNamespacedPod({
    namespace: NS,
    labelSelector: `${REVISION_LABEL}=${spec.name}`,
  });
  const out: Record<string, Record<string, string>> = {};
  for (const p of pods.items) {
    const a = p.metadata?.annotations ?? {};
    const mine = Object.fromEntries(
      Object.entries(a).filter(([k]) => k === DRAINING_ANNOTATION || k === DELETION_COST_ANNOTATION),
    );
    if (Object.keys(mine).length > 0) out[(p.metadata?.name ?? '').replace(`${spec.name}-`, '')] = mine;
  }
  return out;
}

test('a scale-up patches the scale subresource at once', async () => {
  fx = await revisionWith(1);
  const scaler = newScaler();
  scaler.setSnapshot(fx.snapshot());
  scaler.scale(fx.spec.key, 3);
  await scaler.idle();
  assert.equal(await replicas(fx.spec), 3);
  assert.deepEqual(scaler.status(fx.spec.key), { want: 3, current: 3, draining: [] });
});

test('scale-down drains the least busy pods, waits for every gateway, then sets the deletion cost', async () => {
  fx = await revisionWith(3);
  const scaler = newScaler();
  scaler.setSnapshot(fx.snapshot());
  const report = (source: string, inFlight: Record<string, number>): void => {
    scaler.report({ source, stats: [], inFlight }, systemClock.nowMs());
  };
  report('gw-a', { e1: 4, e3: 1 });
  report('gw-b', { e1: 1 });
  scaler.scale(fx.spec.key, 1);
  await scaler.idle();
  assert.deepEqual(await annotations(fx.spec), {
    p2: { [DRAINING_ANNOTATION]: 'true' },
    p3: { [DRAINING_ANNOTATION]: 'true' },
  });
  assert.equal(await replicas(fx.spec), 3, 'nothing removed while the gateways have not reported');

  // gw-a acknowledges both (they are in its report) but still has a request on e3; gw-b is idle.
  report('gw-a', { e1: 4, e2: 0, e3: 1 });
  report('gw-b', { e1: 1, e2: 0, e3: 0 });
  await scaler.idle();
  assert.equal(await replicas(fx.spec), 3, 'a request still in flight on p3');
  assert.equal(Object.keys((await annotations(fx.spec))['p3'] ?? {}).length, 1);

  report('gw-a', { e1: 2, e2: 0, e3: 0 });
  await scaler.idle();
  assert.deepEqual(await annotations(fx.spec), {
    p2: { [DRAINING_ANNOTATION]: 'true', [DELETION_COST_ANNOTATION]: '-1000' },
    p3: { [DRAINING_ANNOTATION]: 'true', [DELETION_COST_ANNOTATION]: '-1000' },
  });
  assert.equal(await replicas(fx.spec), 1);
  assert.deepEqual(scaler.status(fx.spec.key), { want: 1, current: 1, draining: [] });
});

test('a scale-up while draining cancels the drain', async () => {
  fx = await revisionWith(3);
  const scaler = newScaler();
  scaler.setSnapshot(fx.snapshot());
  scaler.report({ source: 'gw', stats: [], inFlight: { e1: 1, e2: 1, e3: 1 } }, systemClock.nowMs());
  scaler.scale(fx.spec.key, 2);
  await scaler.idle();
  assert.equal(Object.keys(await annotations(fx.spec)).length, 1);
  scaler.scale(fx.spec.key, 4);
  await scaler.idle();
  assert.deepEqual(await annotations(fx.spec), {});
  assert.equal(await replicas(fx.spec), 4);
});

test('after a restart, a running revision is not scaled down before a stable window of stats', async () => {
  fx = await revisionWith(3);
  const clock = new ManualClock(1_000);
  const scaler = newScaler(clock, 5_000);
  scaler.setSnapshot(fx.snapshot());
  await scaler.boot();
  assert.equal(scaler.readyReplicas(fx.spec.key), 3);
  scaler.scale(fx.spec.key, 1);
  await scaler.idle();
  assert.equal(await replicas(fx.spec), 3, 'no stats yet');
  scaler.report({ source: 'gw', stats: [], inFlight: {} }, clock.nowMs());
  clock.advance(4_999);
  scaler.scale(fx.spec.key, 1);
  await scaler.idle();
  assert.deepEqual(await annotations(fx.spec), {}, 'window not full yet');
  clock.advance(1);
  scaler.scale(fx.spec.key, 1);
  await scaler.idle();
  assert.equal(Object.keys(await annotations(fx.spec)).length, 2, 'the drain starts once the window is full');
});

test('left-over draining annotations are removed at start once the ReplicaSet has converged', async () => {
  fx = await revisionWith(2);
  await core.patchNamespacedPod(
    {
      name: `${fx.spec.name}-p2`,
      namespace: NS,
      body: { metadata: { annotations: { [DRAINING_ANNOTATION]: 'true' } } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  assert.equal(Object.keys(await annotations(fx.spec)).length, 1);
  const scaler = newScaler();
  scaler.setSnapshot(fx.snapshot());
  await scaler.boot();
  scaler.scale(fx.spec.key, 2);
  await scaler.idle();
  assert.deepEqual(await annotations(fx.spec), {});
});
