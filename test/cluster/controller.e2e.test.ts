// The controller process alone: `kedge controller` against the test API server, with the test
// kubelet running pods. Applying Knative's hello world gives a Deployment, a running pod, a Ready
// Service with its URL, and a snapshot with routes and endpoints; SIGTERM answers pending polls.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { parse as parseYaml } from 'yaml';
import type { ClusterSnapshot } from '../../lib/cluster-protocol.js';
import { Kubelet } from './kubelet.js';
import { EXAMPLES, KEDGE_NS, KSVC, poll, startCluster } from './support.js';

const KEDGE_BIN = fileURLToPath(new URL('../../cli/kedge.js', import.meta.url));

interface Ready {
  adminPort: number;
  snapshotPort: number;
}

test('kedge controller: hello world → Deployment, pod, Ready Service with URL, snapshot with endpoints', async (t) => {
  const cluster = await startCluster();
  t.after(() => cluster.server.close());
  const kubelet = new Kubelet({ kc: cluster.kc });
  t.after(() => kubelet.close());
  await kubelet.start();

  const child = spawn(
    process.execPath,
    [
      KEDGE_BIN,
      'controller',
      '--kubeconfig',
      cluster.server.kubeconfigPath,
      '--namespace',
      KEDGE_NS,
      '--snapshot-port',
      '0',
      '--admin-port',
      '0',
      '--listen',
      '127.0.0.1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let onReady: ((r: Ready) => void) | null = null;
  const ready = new Promise<Ready>((resolve) => (onReady = resolve));
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      lines.push(line);
      const parsed = JSON.parse(line) as { msg?: string; adminPort?: number; snapshotPort?: number };
      if (parsed.msg === 'ready')
        onReady?.({ adminPort: parsed.adminPort ?? 0, snapshotPort: parsed.snapshotPort ?? 0 });
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => lines.push(chunk));
  const exited = once(child, 'exit');
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  t.after(() => {
    // The controller's own log, for a failing run: KEDGE_TEST_DEBUG=1.
    if (process.env.KEDGE_TEST_DEBUG !== undefined) process.stderr.write(lines.join('\n') + '\n');
  });

  const ports = await Promise.race([
    ready,
    new Promise<never>((_, reject) =>
      setTimeout(() => {
        reject(new Error(`controller not ready:\n${lines.join('\n')}`));
      }, 10_000),
    ),
  ]);
  const admin = `http://127.0.0.1:${ports.adminPort}`;
  const snapshotUrl = `http://127.0.0.1:${ports.snapshotPort}/v1/snapshot`;
  assert.equal((await request(`${admin}/readyz`)).statusCode, 200);

  // Knative's hello world, with its workingDir made absolute for the test kubelet, and a real
  // image name: `docker.io/{username}/...` is a placeholder that cluster-mode validation rejects,
  // as Knative's webhook would.
  // (parsed with `yaml`: client-node's loadAllYaml maps kind Service to the core V1Service model.)
  const svc = parseYaml(readFileSync(EXAMPLES + 'helloworld-nodejs/service.yaml', 'utf8')) as {
    spec: { template: { spec: { containers: { workingDir: string; image: string }[] } } };
  };
  const [container] = svc.spec.template.spec.containers;
  assert.ok(container !== undefined);
  container.workingDir = EXAMPLES + 'helloworld-nodejs';
  container.image = 'docker.io/kedge-test/helloworld-nodejs';
  await cluster.custom.createNamespacedCustomObject({ ...KSVC, namespace: 'default', body: svc });

  const dep = await poll('the Deployment', () =>
    cluster.apps
      .readNamespacedDeployment({ name: 'helloworld-nodejs-00001-deployment', namespace: 'default' })
      .catch(() => undefined),
  );
  assert.equal(dep.spec?.replicas, 1, 'created at initial-scale 1 (config-autoscaler default)');

  const status = await poll(
    'a Ready Service',
    async () => {
      const s = (await cluster.custom.getNamespacedCustomObject({
        ...KSVC,
        namespace: 'default',
        name: 'helloworld-nodejs',
      })) as {
        status?: {
          url?: string;
          conditions?: { type: string; status: string }[];
          latestReadyRevisionName?: string;
        };
      };
      return s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
        ? s.status
        : undefined;
    },
    15_000,
  );
  assert.equal(status.url, 'http://helloworld-nodejs.default.example.com');
  assert.equal(status.latestReadyRevisionName, 'helloworld-nodejs-00001');

  const snapshot = await poll('a snapshot with an endpoint', async () => {
    const res = await request(`${snapshotUrl}?after=0`);
    const s = (await res.body.json()) as ClusterSnapshot;
    return (s.endpoints['default/helloworld-nodejs-00001']?.length ?? 0) > 0 ? s : undefined;
  });
  assert.ok(snapshot.state.routes.some((r) => r.host === 'helloworld-nodejs.default.example.com'));
  const [endpoint] = snapshot.endpoints['default/helloworld-nodejs-00001'] ?? [];
  assert.ok(endpoint !== undefined);
  assert.match(endpoint.host, /^127\.0\.0\.\d+$/);
  const hello = await request(`http://${endpoint.host}:${endpoint.port}/`);
  assert.equal(await hello.body.text(), 'Hello Node.js Sample Native v1!\n');

  // The revision history survives a restart of the controller.
  const history = await cluster.core.readNamespacedConfigMap({
    name: 'kedge-revision-history',
    namespace: KEDGE_NS,
  });
  assert.match(history.data?.['history.json'] ?? '', /helloworld-nodejs-00001/);

  const metrics = await (await request(`${admin}/metrics`)).body.text();
  assert.match(metrics, /kedge_controller_reconciles_total \d+/);

  // SIGTERM: a waiting poll is answered (304), the process exits 0.
  const latest = (await (await request(`${snapshotUrl}?after=0`)).body.json()) as ClusterSnapshot;
  const pending = request(`${snapshotUrl}?after=${latest.version}&timeoutSeconds=30`);
  await poll('the poll waiting', async () =>
    /kedge_controller_snapshot_waiting_polls 1/.test(await (await request(`${admin}/metrics`)).body.text()),
  );
  child.kill('SIGTERM');
  const answered = await pending;
  assert.equal(answered.statusCode, 304);
  await answered.body.dump();
  const [code] = (await Promise.race([
    exited,
    new Promise<never>((_, reject) =>
      setTimeout(() => {
        reject(new Error('no exit after SIGTERM'));
      }, 5000),
    ),
  ])) as [number | null];
  assert.equal(code, 0);
});
