/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   client-node 1.x models are data-only classes; object literals stand in for them. */
// KubeSource against the test API server through the real client-node: list, events, the
// re-list diff after a 410, ConfigMaps of the kedge namespace only.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SourceSnapshot } from '../../controller/sources/file.js';
import { KubeSource } from '../../controller/sources/kube.js';
import { silentLogger } from '../../lib/log.js';
import { Changes, KEDGE_NS, KSVC, Partition, knativeService, poll, startCluster } from './support.js';

function names(s: SourceSnapshot): string[] {
  return s.objects.map((o) => o.origin);
}

test('KubeSource: list, add/modify/delete, ConfigMaps of the kedge namespace, status writes ignored', async (t) => {
  const cluster = await startCluster();
  t.after(() => cluster.server.close());
  const { custom, core } = cluster;
  await custom.createNamespacedCustomObject({ ...KSVC, namespace: 'default', body: knativeService('first') });
  await core.createNamespacedConfigMap({
    namespace: KEDGE_NS,
    body: { metadata: { name: 'config-autoscaler' }, data: { 'container-concurrency-target-default': '50' } },
  });
  // Neither ours: another name in our namespace, and a config-* name elsewhere.
  await core.createNamespacedConfigMap({ namespace: KEDGE_NS, body: { metadata: { name: 'unrelated' } } });
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'config-gc' } } });

  const source = new KubeSource({ kc: cluster.kc, namespace: KEDGE_NS, logger: silentLogger });
  t.after(() => source.stop());
  let latest: SourceSnapshot | null = null;
  const changes = new Changes();
  const first = await source.start((s) => {
    latest = s;
    changes.notify();
  });
  assert.deepEqual(names(first), ['kube:kedge-system/config-autoscaler', 'kube:default/first']);
  const svc = first.objects[1]?.object as {
    metadata: Record<string, unknown>;
    status?: unknown;
    kind: string;
  };
  assert.equal(svc.kind, 'Service');
  assert.equal(typeof svc.metadata['uid'], 'string');
  assert.equal(svc.metadata['generation'], 1);
  assert.equal(svc.metadata['resourceVersion'], undefined, 'resourceVersion is left out');
  const cm = first.objects[0]?.object as { data: Record<string, string> };
  assert.deepEqual(cm.data, { 'container-concurrency-target-default': '50' });
  const current = (): SourceSnapshot => latest ?? first;

  // Add, modify, delete.
  await core.createNamespace({ body: { metadata: { name: 'other' } } });
  await custom.createNamespacedCustomObject({
    ...KSVC,
    namespace: 'other',
    body: knativeService('second', { namespace: 'other' }),
  });
  await changes.waitFor('the added Service', () => names(current()).includes('kube:other/second'));
  await custom.patchNamespacedCustomObject({
    ...KSVC,
    namespace: 'default',
    name: 'first',
    body: [
      { op: 'add', path: '/spec/template/spec/containers/0/env', value: [{ name: 'TARGET', value: 'v2' }] },
    ],
  });
  await changes.waitFor('the modified Service', () =>
    JSON.stringify(current().objects.find((o) => o.origin === 'kube:default/first')?.object).includes('"v2"'),
  );
  await custom.deleteNamespacedCustomObject({ ...KSVC, namespace: 'other', name: 'second' });
  await changes.waitFor('the delete', () => !names(current()).includes('kube:other/second'));

  // A status write changes no snapshot (it would only cause a reconcile for nothing).
  const before = current();
  const obj = (await custom.getNamespacedCustomObject({
    ...KSVC,
    namespace: 'default',
    name: 'first',
  })) as Record<string, unknown>;
  await custom.replaceNamespacedCustomObjectStatus({
    ...KSVC,
    namespace: 'default',
    name: 'first',
    body: { ...obj, status: { observedGeneration: 2 } },
  });
  await poll('the status in the cache', () =>
    Promise.resolve(source.service('default', 'first')?.status?.['observedGeneration'] === 2),
  );
  assert.equal(current(), before, 'no new snapshot for a status write');

  await source.stop();
});

test('KubeSource: a delete made during a partition arrives through the re-list after 410', async (t) => {
  const cluster = await startCluster();
  t.after(() => cluster.server.close());
  const { custom, core } = cluster;
  const partition = await Partition.start(cluster.server.url);
  t.after(() => partition.close());
  await custom.createNamespacedCustomObject({ ...KSVC, namespace: 'default', body: knativeService('stays') });
  await custom.createNamespacedCustomObject({ ...KSVC, namespace: 'default', body: knativeService('goes') });
  await core.createNamespacedConfigMap({
    namespace: KEDGE_NS,
    body: { metadata: { name: 'config-gc' }, data: { 'min-non-active-revisions': '5' } },
  });
  const restarts: string[] = [];
  const source = new KubeSource({
    kc: partition.kubeConfig(cluster.kc),
    namespace: KEDGE_NS,
    logger: silentLogger,
    tuning: { initialBackoffMs: 20, maxBackoffMs: 100 },
    onWatchRestart: (resource, reason) => restarts.push(`${resource} ${reason}`),
  });
  t.after(() => source.stop());
  let latest: SourceSnapshot | null = null;
  const changes = new Changes();
  const first = await source.start((s) => {
    latest = s;
    changes.notify();
  });
  assert.deepEqual(names(first), ['kube:kedge-system/config-gc', 'kube:default/goes', 'kube:default/stays']);

  // While the watches are cut off: a delete, a ConfigMap change, then the history is gone.
  partition.disconnect();
  await custom.deleteNamespacedCustomObject({ ...KSVC, namespace: 'default', name: 'goes' });
  await core.replaceNamespacedConfigMap({
    name: 'config-gc',
    namespace: KEDGE_NS,
    body: { metadata: { name: 'config-gc' }, data: { 'min-non-active-revisions': '7' } },
  });
  cluster.server.compact();
  partition.reconnect();

  const healed = await changes.waitFor('the re-listed state', () => {
    const s = latest;
    return s !== null &&
      !names(s).includes('kube:default/goes') &&
      JSON.stringify(s.objects[0]?.object).includes('"7"')
      ? s
      : undefined;
  });
  assert.deepEqual(names(healed), ['kube:kedge-system/config-gc', 'kube:default/stays']);
  assert.ok(restarts.includes('services relist'), `re-listed services (restarts: ${restarts.join(', ')})`);
  // And the watch runs again after the re-list.
  await custom.createNamespacedCustomObject({ ...KSVC, namespace: 'default', body: knativeService('later') });
  await changes.waitFor(
    'an event after the re-list',
    () => latest !== null && names(latest).includes('kube:default/later'),
  );
});

test('KubeSource: the staleness watchdog re-lists a silent watch', async (t) => {
  // No bookmarks from this server within the test: a quiet watch is a stale one.
  const cluster = await startCluster({ bookmarkIntervalMs: 60_000 });
  t.after(() => cluster.server.close());
  const restarts: string[] = [];
  const source = new KubeSource({
    kc: cluster.kc,
    namespace: KEDGE_NS,
    logger: silentLogger,
    tuning: { staleAfterMs: 100 },
    onWatchRestart: (resource, reason) => restarts.push(`${resource} ${reason}`),
  });
  t.after(() => source.stop());
  const changes = new Changes();
  await source.start(() => undefined);
  const timer = setInterval(() => {
    changes.notify();
  }, 20);
  t.after(() => {
    clearInterval(timer);
  });
  await changes.waitFor(
    'a stale re-list',
    () => restarts.includes('services stale') && restarts.includes('services relist'),
    3000,
  );
});
