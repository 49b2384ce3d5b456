// Conformance with a client nobody here wrote: kubectl applies the Knative Service CRD and the
// shipped hello world, lists it with `get ksvc` (server-side Table printing), scales a Deployment
// through the scale subresource and deletes it all again. Each kubectl named in $KUBECTL
// (comma-separated paths; default `kubectl` on PATH) runs the whole scenario against its own
// server, so an old (Debian's 1.20) and a new (1.3x) kubectl can both be checked in one run.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startApiServer } from './server.js';

const TESTDATA = fileURLToPath(new URL('../../../test/apiserver/testdata/', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));
const CRD = join(TESTDATA, 'serving.knative.dev_services.yaml');
const SERVICE = join(EXAMPLES, 'helloworld-nodejs', 'service.yaml');

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: helloworld-nodejs-00001-deployment
  namespace: default
spec:
  replicas: 1
  selector:
    matchLabels: {serving.knative.dev/revision: helloworld-nodejs-00001}
  template:
    metadata:
      labels: {serving.knative.dev/revision: helloworld-nodejs-00001}
    spec:
      containers:
        - name: user-container
          image: docker.io/example/helloworld-nodejs
`;

/** `kubectl version --client` works: the binary exists and runs. Checked before any server starts. */
function usable(kubectl: string): string | undefined {
  const probe = spawnSync(kubectl, ['version', '--client'], { encoding: 'utf8', timeout: 20_000 });
  if (probe.error !== undefined || probe.status !== 0) return undefined;
  return /v\d+\.\d+\.\d+/.exec(probe.stdout)?.[0] ?? 'unknown version';
}

const candidates = (process.env['KUBECTL'] ?? 'kubectl')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '');

for (const kubectl of candidates) {
  const version = usable(kubectl);
  const skip =
    version === undefined
      ? `${kubectl} is not installed (apt-get install kubernetes-client, or set KUBECTL)`
      : false;
  describe(`kubectl ${kubectl} (${version ?? 'missing'})`, { skip }, () => {
    test('apply the CRD and the hello world, get ksvc, scale, delete', async (t) => {
      const server = await startApiServer();
      const home = mkdtempSync(join(tmpdir(), 'kedge-kubectl-'));
      t.after(async () => {
        await server.close();
        rmSync(home, { recursive: true, force: true });
      });
      // A private HOME and discovery cache: nothing read from or left in the user's ~/.kube.
      const run = (...args: string[]): Promise<string> =>
        new Promise((resolve, reject) => {
          execFile(
            kubectl,
            [`--kubeconfig=${server.kubeconfigPath}`, `--cache-dir=${join(home, 'cache')}`, ...args],
            { env: { PATH: process.env['PATH'] ?? '', HOME: home }, timeout: 30_000, encoding: 'utf8' },
            (err, stdout, stderr) => {
              if (err !== null)
                reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr || err.message}`));
              else resolve(stdout);
            },
          );
        });

      assert.match(
        await run('apply', '-f', CRD),
        /customresourcedefinition.apiextensions.k8s.io\/services.serving.knative.dev created/,
      );
      assert.match(
        await run('apply', '-f', SERVICE),
        /service.serving.knative.dev\/helloworld-nodejs created/,
      );
      assert.match(
        await run('apply', '-f', SERVICE),
        /service.serving.knative.dev\/helloworld-nodejs unchanged/,
      );

      const table = await run('get', 'ksvc');
      assert.match(table, /^NAME\s+URL\s+LATESTCREATED\s+LATESTREADY\s+READY\s+REASON\s*$/m);
      assert.match(table, /^helloworld-nodejs\s/m);

      const changed = join(home, 'service.yaml');
      writeFileSync(
        changed,
        readFileSync(SERVICE, 'utf8').replace('Node.js Sample Native v1', 'Node.js Sample Native v2'),
      );
      assert.match(await run('apply', '-f', changed), /helloworld-nodejs configured/);
      assert.equal(
        await run(
          'get',
          'ksvc',
          'helloworld-nodejs',
          '-o',
          'jsonpath={.metadata.generation} {.spec.template.spec.containers[0].env[0].value}',
        ),
        '2 Node.js Sample Native v2',
      );

      const deployment = join(home, 'deployment.yaml');
      writeFileSync(deployment, DEPLOYMENT);
      assert.match(await run('apply', '-f', deployment), /created/);
      assert.match(
        await run('scale', 'deployment/helloworld-nodejs-00001-deployment', '--replicas=3'),
        /scaled/,
      );
      assert.equal(
        await run('get', 'deploy', 'helloworld-nodejs-00001-deployment', '-o', 'jsonpath={.spec.replicas}'),
        '3',
      );
      assert.match(await run('get', 'deploy'), /^helloworld-nodejs-00001-deployment\s+0\/3\s/m);

      assert.match(await run('delete', '-f', SERVICE), /"helloworld-nodejs" deleted/);
      const gone = await run('get', 'ksvc', '-o', 'name');
      assert.equal(gone.trim(), '');
      assert.match(await run('delete', '-f', CRD), /deleted/);
    });
  });
}
