/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment, @typescript-eslint/no-misused-spread --
   client-node 1.x models (V1ConfigMap, …) are data-only classes; its own examples pass object
   literals and spread them, which is what kedge's controller code will do too. */
// The test API server through the real @kubernetes/client-node (1.x): typed clients, Watch, and
// the informer's list + watch + relist-on-410 cycle, which is what kedge's KubeSource relies on.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  loadAllYaml,
  makeInformer,
  setHeaderOptions,
  type KubernetesObject,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { UserAgentKubeConfig } from '../../lib/kube-config.js';
import { startApiServer, type ApiServer, type ApiServerOptions, type AuditRecord } from './server.js';

const TESTDATA = fileURLToPath(new URL('../../../test/apiserver/testdata/', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));
const NS = 'default';
const KSVC = { group: 'serving.knative.dev', version: 'v1', plural: 'services', namespace: NS };

function configMap(name: string, labels: Record<string, string> = {}): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data: { k: 'v' } };
}

/** Polls `check` every 10 ms until it holds; fails after `timeoutMs`. */
async function waitFor(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function start(options: ApiServerOptions = {}): Promise<{ server: ApiServer; kc: KubeConfig }> {
  const server = await startApiServer({ port: 0, ...options });
  const kc = new KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  return { server, kc };
}

describe('typed clients', () => {
  let server: ApiServer;
  let kc: KubeConfig;
  before(async () => {
    ({ server, kc } = await start());
    const objects = kc.makeApiClient(KubernetesObjectApi);
    for (const spec of loadAllYaml(
      readFileSync(TESTDATA + 'serving.knative.dev_services.yaml', 'utf8'),
    ) as KubernetesObject[]) {
      await objects.create(spec);
    }
  });
  after(() => server.close());

  test('CoreV1Api: create, read, and a stale replace fails with 409', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const created = await core.createNamespacedConfigMap({ namespace: NS, body: configMap('typed') });
    assert.ok(created.metadata?.uid !== undefined);
    const read = await core.readNamespacedConfigMap({ name: 'typed', namespace: NS });
    assert.equal(read.metadata?.resourceVersion, created.metadata.resourceVersion);
    await core.replaceNamespacedConfigMap({
      name: 'typed',
      namespace: NS,
      body: { ...read, data: { k: 'v2' } },
    });
    await assert.rejects(
      core.replaceNamespacedConfigMap({ name: 'typed', namespace: NS, body: { ...read, data: { k: 'v3' } } }),
      (err: unknown) => err instanceof ApiException && err.code === 409,
    );
  });

  test('AppsV1Api: the scale subresource reads and writes replicas', async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: 'hello-00001-deployment' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'hello' } },
          template: {
            metadata: { labels: { app: 'hello' } },
            spec: { containers: [{ name: 'user-container', image: 'x' }] },
          },
        },
      },
    });
    const scale = await apps.readNamespacedDeploymentScale({ name: 'hello-00001-deployment', namespace: NS });
    assert.equal(scale.spec?.replicas, 1);
    assert.equal(scale.status?.selector, 'app=hello');
    await apps.replaceNamespacedDeploymentScale({
      name: 'hello-00001-deployment',
      namespace: NS,
      body: { ...scale, spec: { replicas: 3 } },
    });
    await apps.patchNamespacedDeploymentScale(
      { name: 'hello-00001-deployment', namespace: NS, body: { spec: { replicas: 0 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const dep = await apps.readNamespacedDeployment({ name: 'hello-00001-deployment', namespace: NS });
    assert.equal(dep.spec?.replicas, 0);
    assert.equal(dep.metadata?.generation, 3);
  });

  test('CustomObjectsApi and KubernetesObjectApi: the shipped hello world, then its status', async () => {
    const objects = kc.makeApiClient(KubernetesObjectApi);
    const [spec] = loadAllYaml(
      readFileSync(EXAMPLES + 'helloworld-nodejs/service.yaml', 'utf8'),
    ) as KubernetesObject[];
    assert.ok(spec !== undefined);
    await objects.create(spec);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const current = (await custom.getNamespacedCustomObject({
      ...KSVC,
      name: 'helloworld-nodejs',
    })) as KubernetesObject;
    const withStatus = (await custom.replaceNamespacedCustomObjectStatus({
      ...KSVC,
      name: 'helloworld-nodejs',
      body: {
        ...current,
        status: { observedGeneration: 1, url: 'http://helloworld-nodejs.default.example.com' },
      },
    })) as KubernetesObject & { status?: { url?: string } };
    assert.equal(withStatus.status?.url, 'http://helloworld-nodejs.default.example.com');
    assert.equal(withStatus.metadata?.generation, 1);
  });
});

describe('watch', () => {
  test('Watch from a list resourceVersion receives ADDED, MODIFIED, DELETED', async (t) => {
    const { server, kc } = await start();
    t.after(() => server.close());
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: NS, body: configMap('before-list') });
    const list = await core.listNamespacedConfigMap({ namespace: NS });
    const events: string[] = [];
    let done: unknown = 'open';
    const controller = await new Watch(kc).watch(
      `/api/v1/namespaces/${NS}/configmaps`,
      { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
      (phase: string, obj: KubernetesObject) => {
        if (phase !== 'BOOKMARK') events.push(`${phase} ${obj.metadata?.name ?? ''}`);
      },
      (err: unknown) => {
        done = err;
      },
    );
    t.after(() => {
      controller.abort();
    });
    const created = await core.createNamespacedConfigMap({ namespace: NS, body: configMap('watched') });
    await core.replaceNamespacedConfigMap({
      name: 'watched',
      namespace: NS,
      body: { ...created, data: { k: 'v2' } },
    });
    await core.deleteNamespacedConfigMap({ name: 'watched', namespace: NS });
    await waitFor('three events', () => events.length >= 3);
    assert.deepEqual(events, ['ADDED watched', 'MODIFIED watched', 'DELETED watched']);
    assert.equal(done, 'open', 'the watch is still open');
  });

  for (const expiredWatch of ['event', 'status'] as const) {
    test(`an informer re-lists after 410 (expiredWatch: ${expiredWatch}) and reports the delete it missed`, async (t) => {
      const { server, kc } = await start({ expiredWatch });
      t.after(() => server.close());
      const core = kc.makeApiClient(CoreV1Api);
      await core.createNamespacedConfigMap({ namespace: NS, body: configMap('stays', { informer: 'y' }) });
      await core.createNamespacedConfigMap({ namespace: NS, body: configMap('goes', { informer: 'y' }) });
      let lists = 0;
      const informer = makeInformer(
        kc,
        `/api/v1/namespaces/${NS}/configmaps`,
        () => {
          lists++;
          return core.listNamespacedConfigMap({ namespace: NS, labelSelector: 'informer=y' });
        },
        'informer=y',
      );
      const added: string[] = [];
      const deleted: string[] = [];
      const errors: unknown[] = [];
      informer.on('add', (o) => added.push(o.metadata?.name ?? ''));
      informer.on('delete', (o) => deleted.push(o.metadata?.name ?? ''));
      informer.on('error', (err) => errors.push(err));
      await informer.start();
      try {
        await waitFor('the initial list', () => added.length === 2);
        // While the informer is away: a delete, a create, and then the history is gone.
        await informer.stop();
        await core.deleteNamespacedConfigMap({ name: 'goes', namespace: NS });
        await core.createNamespacedConfigMap({ namespace: NS, body: configMap('new', { informer: 'y' }) });
        server.compact();
        await informer.start();
        await waitFor('the relist', () => deleted.includes('goes') && added.includes('new'));
        assert.equal(lists, 2, 'listed once at start and once after 410');
        assert.deepEqual(
          informer
            .list(NS)
            .map((o) => o.metadata?.name)
            .sort(),
          ['new', 'stays'],
        );
        // And it watches again from the new list.
        await core.createNamespacedConfigMap({ namespace: NS, body: configMap('later', { informer: 'y' }) });
        await waitFor('an event after the relist', () => added.includes('later'));
        // client-node reports its own stop() as an AbortError; anything else would be ours.
        assert.deepEqual(
          errors.filter((e) => !(e instanceof Error && e.name === 'AbortError')),
          [],
        );
      } finally {
        await informer.stop();
      }
    });
  }
});

describe('audit hook (onRequest)', () => {
  test('every resource call with its RBAC verb, and the User-Agent of a UserAgentKubeConfig', async (t) => {
    const records: AuditRecord[] = [];
    const server = await startApiServer({ port: 0, onRequest: (r) => records.push(r) });
    t.after(() => server.close());
    const kc = new UserAgentKubeConfig('kedge-test/1.2.3');
    kc.loadFromFile(server.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);

    await core.createNamespacedConfigMap({ namespace: NS, body: configMap('audited') });
    await core.readNamespacedConfigMap({ name: 'audited', namespace: NS });
    await core.listConfigMapForAllNamespaces();
    await core.patchNamespacedConfigMap(
      { name: 'audited', namespace: NS, body: { data: { k: 'v2' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await core.deleteNamespacedConfigMap({ name: 'audited', namespace: NS });
    await apps.readNamespacedDeploymentScale({ name: 'missing', namespace: NS }).catch(() => undefined);
    const watching = await new Watch(kc).watch(
      `/api/v1/namespaces/${NS}/pods`,
      {},
      () => undefined,
      () => undefined,
    );
    await waitFor('the watch request', () => records.some((r) => r.verb === 'watch'));
    watching.abort();

    assert.deepEqual(
      records.map((r) => [r.userAgent, r.verb, r.group, r.resource, r.subresource, r.namespace, r.name]),
      [
        ['kedge-test/1.2.3', 'create', '', 'configmaps', '', NS, ''],
        ['kedge-test/1.2.3', 'get', '', 'configmaps', '', NS, 'audited'],
        ['kedge-test/1.2.3', 'list', '', 'configmaps', '', '', ''],
        ['kedge-test/1.2.3', 'patch', '', 'configmaps', '', NS, 'audited'],
        ['kedge-test/1.2.3', 'delete', '', 'configmaps', '', NS, 'audited'],
        ['kedge-test/1.2.3', 'get', 'apps', 'deployments', 'scale', NS, 'missing'],
        ['kedge-test/1.2.3', 'watch', '', 'pods', '', NS, ''],
      ],
    );
  });
});
