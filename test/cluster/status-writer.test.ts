// StatusWriter against the test API server: Knative-shaped status through the status subresource,
// writes only on change, lastTransitionTime kept while a condition holds, a 409 re-read and retried.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceStatus } from '../../controller/reconcile.js';
import type { KubeService } from '../../controller/sources/kube.js';
import { StatusWriter, type StatusWriteOutcome } from '../../controller/status-writer.js';
import { silentLogger } from '../../lib/log.js';
import { KSVC, knativeService, startCluster } from './support.js';

function status(o: Partial<ServiceStatus> = {}): ServiceStatus {
  return {
    namespace: 'default',
    name: 'hello',
    origin: 'kube:default/hello',
    generation: 1,
    observedGeneration: 1,
    conditions: [
      { type: 'Ready', status: 'True', reason: '', message: '' },
      { type: 'ConfigurationsReady', status: 'True', reason: '', message: '' },
      { type: 'RoutesReady', status: 'True', reason: '', message: '' },
    ],
    url: 'http://hello.default.example.com',
    address: { url: 'http://hello.default.svc.cluster.local' },
    latestCreatedRevisionName: 'hello-00001',
    latestReadyRevisionName: 'hello-00001',
    traffic: [{ revisionName: 'hello-00001', percent: 100, latestRevision: true, tag: '', url: '' }],
    ...o,
  };
}

test('StatusWriter: Knative status via the subresource, only on change, 409 retried', async (t) => {
  const cluster = await startCluster();
  t.after(() => cluster.server.close());
  const { custom } = cluster;
  await custom.createNamespacedCustomObject({ ...KSVC, namespace: 'default', body: knativeService('hello') });
  const read = async (): Promise<KubeService> =>
    (await custom.getNamespacedCustomObject({ ...KSVC, namespace: 'default', name: 'hello' })) as KubeService;

  let cached: KubeService | undefined = await read();
  const outcomes: StatusWriteOutcome[] = [];
  let now = '2025-01-01T00:00:00.000Z';
  const writer = new StatusWriter({
    kc: cluster.kc,
    logger: silentLogger,
    current: () => cached,
    nowIso: () => now,
    onOutcome: (o) => outcomes.push(o),
  });
  t.after(() => writer.close());

  writer.write([status()]);
  await writer.idle();
  let svc = await read();
  assert.deepEqual(svc.status, {
    observedGeneration: 1,
    conditions: [
      { type: 'ConfigurationsReady', status: 'True', lastTransitionTime: now },
      { type: 'Ready', status: 'True', lastTransitionTime: now },
      { type: 'RoutesReady', status: 'True', lastTransitionTime: now },
    ],
    url: 'http://hello.default.example.com',
    address: { url: 'http://hello.default.svc.cluster.local' },
    latestCreatedRevisionName: 'hello-00001',
    latestReadyRevisionName: 'hello-00001',
    traffic: [{ revisionName: 'hello-00001', latestRevision: true, percent: 100 }],
  });
  assert.equal(svc.metadata?.generation, 1, 'a status write does not bump the generation');

  // The same status again, later: nothing written (the cache has not caught up: `cached` is stale).
  now = '2025-01-01T00:01:00.000Z';
  writer.write([status()]);
  await writer.idle();
  assert.deepEqual(outcomes, ['written', 'unchanged']);

  // Someone changes the Service after our copy was read: the PUT gets 409, the writer re-reads and
  // retries. Ready flips, so its lastTransitionTime moves; RoutesReady holds, so its time stays.
  await custom.patchNamespacedCustomObject({
    ...KSVC,
    namespace: 'default',
    name: 'hello',
    body: [{ op: 'add', path: '/metadata/labels', value: { touched: 'yes' } }],
  });
  cached = svc;
  writer.write([
    status({
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'RevisionFailed',
          message: 'Revision "hello-00001" failed.',
        },
        {
          type: 'ConfigurationsReady',
          status: 'False',
          reason: 'RevisionFailed',
          message: 'Revision "hello-00001" failed.',
        },
        { type: 'RoutesReady', status: 'True', reason: '', message: '' },
      ],
    }),
  ]);
  await writer.idle();
  assert.deepEqual(outcomes, ['written', 'unchanged', 'conflict']);
  svc = await read();
  const conditions = (svc.status?.['conditions'] ?? []) as {
    type: string;
    status: string;
    lastTransitionTime: string;
    reason?: string;
  }[];
  const ready = conditions.find((c) => c.type === 'Ready');
  assert.equal(ready?.status, 'False');
  assert.equal(ready.reason, 'RevisionFailed');
  assert.equal(ready.lastTransitionTime, '2025-01-01T00:01:00.000Z');
  assert.equal(
    conditions.find((c) => c.type === 'RoutesReady')?.lastTransitionTime,
    '2025-01-01T00:00:00.000Z',
  );
  assert.equal(svc.metadata?.labels?.['touched'], 'yes', 'the retry kept the other writer’s change');

  // A Service that is gone is forgotten.
  await custom.deleteNamespacedCustomObject({ ...KSVC, namespace: 'default', name: 'hello' });
  cached = undefined;
  writer.write([status()]);
  await writer.idle();
  assert.equal(outcomes.at(-1), 'gone');
});
