/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   client-node 1.x models (V1Pod, V1Deployment, …) are data-only classes; its own examples pass
   object literals, as test/apiserver/client-node.test.ts does. */
// `kedge autoscaler` as a real process against the in-repo Kubernetes API server and a fake
// controller: stats in over HTTP, the revision's Deployment scaled through the scale subresource,
// and a restart that must not scale a running revision down.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import { DRAINING_ANNOTATION, REVISION_LABEL } from '../../autoscaler/cluster-drain.js';
import { rev, route, stateOf } from '../../gateway/testing/fixtures.js';
import type { StatsReport } from '../../lib/cluster-protocol.js';
import { startApiServer, type ApiServer } from '../apiserver/server.js';
import { FakeController } from './fakes.js';
import { msg, startDataPlane, type DataPlaneProcess } from './processes.js';

const NS = 'default';
const HELLO = rev('hello-00001');
const state = stateOf([HELLO], [route('hello.default.example.com', [['hello-00001', 100]])]);
const endpoint = (i: number): { id: string; host: string; port: number } => ({
  id: `pod-${i}`,
  host: `10.0.0.${i}`,
  port: 8080,
});

let api: ApiServer;
let apps: AppsV1Api;
let core: CoreV1Api;
let controller: FakeController;

before(async () => {
  api = await startApiServer({ port: 0 });
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  apps = kc.makeApiClient(AppsV1Api);
  core = kc.makeApiClient(CoreV1Api);
  await apps.createNamespacedDeployment({
    namespace: NS,
    body: {
      metadata: { name: 'hello-00001-deployment' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { [REVISION_LABEL]: 'hello-00001' } },
        template: {
          metadata: { labels: { [REVISION_LABEL]: 'hello-00001' } },
          spec: { containers: [{ name: 'user-container', image: 'x' }] },
        },
      },
    },
  });
  controller = new FakeController({ state, endpoints: { [HELLO.key]: [endpoint(1)] } });
  await controller.start();
});

after(async () => {
  await controller.stop();
  await api.close();
});

async function startAutoscaler(): Promise<{ proc: DataPlaneProcess; statsPort: number; adminPort: number }> {
  const proc = startDataPlane([
    'autoscaler',
    '--kubeconfig',
    api.kubeconfigPath,
    '--controller',
    controller.url,
    '--stats-port',
    '0',
    '--admin-port',
    '0',
    '--listen',
    '127.0.0.1',
  ]);
  const started = await proc.waitFor('start-up', msg('kedge autoscaler started'));
  await proc.waitFor('the first decision point', msg('autoscaler running'));
  return { proc, statsPort: Number(started['statsPort']), adminPort: Number(started['adminPort']) };
}

async function post(port: number, path: string, body: unknown): Promise<number> {
  const res = await request(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.body.dump();
  return res.statusCode;
}

async function replicas(): Promise<number | undefined> {
  const scale = await apps.readNamespacedDeploymentScale({ name: 'hello-00001-deployment', namespace: NS });
  return scale.spec?.replicas;
}

test('stats that demand 3 replicas scale the Deployment to 3; readyz after the first snapshot', async () => {
  const { proc, statsPort, adminPort } = await startAutoscaler();
  try {
    const ready = await request(`http://127.0.0.1:${adminPort}/readyz`);
    assert.equal(ready.statusCode, 200);
    await ready.body.dump();
    // Knative defaults: target 100 × 70 % = 70 per pod, so 210 in flight wants 3 pods.
    const report: StatsReport = {
      source: 'gw-test',
      stats: [{ revision: HELLO.key, averageConcurrency: 210, requestCount: 210 }],
      inFlight: { 'pod-1': 210 },
    };
    assert.equal(await post(statsPort, '/v1/stats', report), 204);
    // A gateway reports every second; so does this test until the scale-up happens.
    const gateway = setInterval(() => {
      post(statsPort, '/v1/stats', report).catch(() => undefined);
    }, 1_000);
    try {
      await proc.waitFor('the scale-up', msg('scaled', { revision: HELLO.key, to: 3 }), 8_000);
    } finally {
      clearInterval(gateway);
    }
    assert.equal(await replicas(), 3);
  } finally {
    assert.equal(await proc.stop(), 0);
  }
});

test('a restart with 3 running replicas does not scale down at once', async () => {
  assert.equal(await replicas(), 3);
  controller.publish({ state, endpoints: { [HELLO.key]: [endpoint(1), endpoint(2), endpoint(3)] } });
  for (let i = 1; i <= 3; i++) {
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: `hello-00001-p${i}`, labels: { [REVISION_LABEL]: 'hello-00001' } },
        spec: { nodeName: 'node-1', containers: [{ name: 'user-container', image: 'x' }] },
      },
    });
  }
  const { proc, statsPort } = await startAutoscaler();
  try {
    // An idle gateway reports; the new loop's initial scale (1) must not reach the Deployment.
    assert.equal(await post(statsPort, '/v1/stats', { source: 'gw-test', stats: [], inFlight: {} }), 204);
    await proc.waitFor('the hold', msg('scale-down held until a full stable window of stats has arrived'));
    // Knative starts the decider in panic with the ready count: the first tick keeps 3.
    await proc.waitFor('the first tick', msg('scale', { revision: HELLO.key, to: 3 }), 8_000);
    assert.equal(await replicas(), 3);
    const pods = await core.listNamespacedPod({
      namespace: NS,
      labelSelector: `${REVISION_LABEL}=hello-00001`,
    });
    assert.deepEqual(
      pods.items.filter((p) => p.metadata?.annotations?.[DRAINING_ANNOTATION] !== undefined),
      [],
      'no pod was chosen for draining',
    );
  } finally {
    assert.equal(await proc.stop(), 0);
  }
});
