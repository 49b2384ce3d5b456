// End to end: a real `kedge up` serving the shipped hello world from a temporary folder, with
// short autoscaler windows, through real sockets on 127.0.0.1.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KEDGE_BIN, get, getJson, startKedge, waitFor, type KedgeProcess } from './support/kedge-process.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const HOST = 'helloworld-nodejs.default.example.com';

interface RevisionView {
  name: string;
  namespace: string;
  service: string;
  ready: boolean;
  desiredReplicas: number;
  readyReplicas: number;
  inFlight: number;
  queued: number;
}
interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface ServiceView {
  name: string;
  namespace: string;
  url: string;
  ready: boolean;
  latestReadyRevisionName: string | null;
  conditions: Condition[];
}

/** A marker in the revision's env, so the test can find its processes in /proc and nobody else's. */
const MARKER = `kedge-e2e-${process.pid}-${Date.now()}`;

function revisionPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(MARKER)) pids.push(Number(entry));
    } catch {
      // The process exited while we looked, or is not ours to read.
    }
  }
  return pids;
}

let dir: string;
let kedge: KedgeProcess;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kedge-e2e-'));
  cpSync(join(EXAMPLES, 'helloworld-nodejs'), join(dir, 'helloworld-nodejs'), { recursive: true });
  const service = readFileSync(join(dir, 'helloworld-nodejs', 'service.yaml'), 'utf8');
  writeFileSync(
    join(dir, 'helloworld-nodejs', 'service.yaml'),
    service.replace(
      '              value: "Node.js Sample Native v1"',
      `              value: "Node.js Sample Native v1"\n            - name: KEDGE_E2E_MARKER\n              value: "${MARKER}"`,
    ),
  );
  // Knative's keys, shortened so that an idle revision reaches zero in about ten seconds.
  writeFileSync(
    join(dir, 'config-autoscaler.yaml'),
    [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: config-autoscaler',
      '  namespace: knative-serving',
      'data:',
      '  stable-window: "6s"',
      '  scale-to-zero-grace-period: "1s"',
      '',
    ].join('\n'),
  );
  kedge = await startKedge(dir);
});

after(async () => {
  await kedge.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the hello world answers through the gateway by its Knative host', async () => {
  const res = await get(kedge.gatewayPort, HOST);
  assert.equal(res.status, 200);
  assert.equal(res.body, 'Hello Node.js Sample Native v1!\n');
});

test('the local .localhost host needs no Host override in a browser', async () => {
  const res = await get(kedge.gatewayPort, `helloworld-nodejs.default.localhost:${kedge.gatewayPort}`);
  assert.equal(res.status, 200);
  assert.equal(res.body, 'Hello Node.js Sample Native v1!\n');
});

test('the admin API lists the service as ready with its URL and conditions', async () => {
  const services = await getJson<ServiceView[]>(kedge.adminPort, '/api/v1/services');
  const hello = services.find((s) => s.name === 'helloworld-nodejs');
  assert.ok(hello, 'helloworld-nodejs is listed');
  assert.equal(hello.namespace, 'default');
  assert.equal(hello.url, 'http://helloworld-nodejs.default.example.com');
  assert.equal(hello.ready, true);
  assert.equal(hello.latestReadyRevisionName, 'helloworld-nodejs-00001');
  for (const type of ['Ready', 'ConfigurationsReady', 'RoutesReady']) {
    assert.equal(hello.conditions.find((c) => c.type === type)?.status, 'True', `${type} is True`);
  }
});

test('an unknown host gets 404 with a reason and an error code', async () => {
  const res = await get(kedge.gatewayPort, 'nobody.default.example.com');
  assert.equal(res.status, 404);
  assert.equal(res.headers['x-kedge-error'], 'KEDGE_ROUTE_NOT_FOUND');
  assert.match(res.body, /nobody\.default\.example\.com/);
});

test('metrics are served on the admin port only', async () => {
  const metrics = await get(kedge.adminPort, `127.0.0.1:${kedge.adminPort}`, '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.body, /kedge_requests_total/);
  const viaGateway = await get(kedge.gatewayPort, `127.0.0.1:${kedge.gatewayPort}`, '/metrics');
  assert.notEqual(viaGateway.status, 200);
});

test('an idle revision scales to zero, and the next request cold-starts it without loss', async () => {
  const atZero = await waitFor(
    'the revision to scale to zero',
    async () => {
      const revisions = await getJson<RevisionView[]>(kedge.adminPort, '/api/v1/revisions');
      const rev = revisions.find((r) => r.name === 'helloworld-nodejs-00001');
      return rev && rev.desiredReplicas === 0 && rev.readyReplicas === 0 ? rev : undefined;
    },
    40_000,
    200,
  );
  assert.equal(atZero.ready, true, 'a revision at zero stays Ready, as in Knative');
  await waitFor(
    'the replica process to exit',
    () => Promise.resolve(revisionPids().length === 0 ? true : undefined),
    15_000,
  );

  // Several requests race the cold start; every one must be answered.
  const answers = await Promise.all([1, 2, 3, 4, 5].map(() => get(kedge.gatewayPort, HOST)));
  for (const res of answers) {
    assert.equal(res.status, 200);
    assert.equal(res.body, 'Hello Node.js Sample Native v1!\n');
  }
  const revisions = await getJson<RevisionView[]>(kedge.adminPort, '/api/v1/revisions');
  const rev = revisions.find((r) => r.name === 'helloworld-nodejs-00001');
  assert.ok(rev && rev.readyReplicas >= 1, 'a replica is up again');
  assert.equal(rev.inFlight, 0);
  assert.equal(rev.queued, 0);
});

test('an invalid Service is reported, and the last good version keeps serving', async () => {
  const file = join(dir, 'helloworld-nodejs', 'service.yaml');
  const good = readFileSync(file, 'utf8');
  writeFileSync(
    file,
    good.replace('- name: TARGET', '- name: PORT\n              value: "1"\n            - name: TARGET'),
  );
  const failed = await waitFor(
    'the invalid Service to be reported in its conditions',
    async () => {
      const services = await getJson<ServiceView[]>(kedge.adminPort, '/api/v1/services');
      const hello = services.find((s) => s.name === 'helloworld-nodejs');
      return hello && !hello.ready ? hello : undefined;
    },
    10_000,
  );
  const ready = failed.conditions.find((c) => c.type === 'Ready');
  assert.equal(ready?.status, 'False');
  assert.match(
    ready.message ?? '',
    /"PORT" is a reserved environment variable: spec\.template\.spec\.containers\[0\]\.env\[0\]\.name/,
  );
  await kedge.waitForLine(/reserved environment variable/, 5_000);

  const res = await get(kedge.gatewayPort, HOST);
  assert.equal(res.status, 200);
  assert.equal(res.body, 'Hello Node.js Sample Native v1!\n');

  // A file that is not even YAML is reported the same way, and still nothing stops serving.
  writeFileSync(file, 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: [unclosed\n');
  await kedge.waitForLine(/service\.yaml:\d+:\d+/, 5_000);
  const stillUp = await get(kedge.gatewayPort, HOST);
  assert.equal(stillUp.status, 200);
  writeFileSync(file, good);
});

test('a second kedge up on the same folder exits at once naming the holder; the first keeps serving', async () => {
  const second = spawn(process.execPath, [KEDGE_BIN, 'up', '-f', dir, '--port', '0', '--admin-port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  second.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(second, 'exit')) as [number | null];
  assert.equal(code, 1);
  assert.equal(stderr.trimEnd().split('\n').length, 1, `one line: ${stderr}`);
  assert.ok(stderr.startsWith(`kedge: ${dir} is already served by kedge up pid ${kedge.pid} `), stderr);
  assert.ok(stderr.includes(`gateway http://127.0.0.1:${kedge.gatewayPort}`), stderr);
  assert.ok(stderr.includes('stop it, or pass a different -f folder'), stderr);

  const res = await get(kedge.gatewayPort, HOST);
  assert.equal(res.status, 200);
  const lock = JSON.parse(readFileSync(join(dir, '.kedge', 'lock'), 'utf8')) as { pid: number };
  assert.equal(lock.pid, kedge.pid, 'the first kedge up still holds the lock');
});

test('a stale lock (its pid gone) is taken over with a log line and removed on a clean exit', async (t) => {
  const other = mkdtempSync(join(tmpdir(), 'kedge-e2e-stale-'));
  t.after(() => {
    rmSync(other, { recursive: true, force: true });
  });
  const lock = join(other, '.kedge', 'lock');
  mkdirSync(join(other, '.kedge'));
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  writeFileSync(
    lock,
    JSON.stringify({
      pid: dead,
      startedAt: '2024-05-01T10:00:00.000Z',
      hostname: hostname(),
      procStartTicks: null,
      bootId: null,
      dir: other,
      listen: '127.0.0.1',
      gatewayPort: 8080,
      adminPort: 9090,
    }),
  );
  const stale = await startKedge(other);
  try {
    await stale.waitForLine(new RegExp(`took over the stale lock .*: no process has pid ${dead}`), 5_000);
    const held = JSON.parse(readFileSync(lock, 'utf8')) as { pid: number; gatewayPort: number };
    assert.deepEqual([held.pid, held.gatewayPort], [stale.pid, stale.gatewayPort]);
  } finally {
    assert.equal(await stale.stop(), 0);
  }
  assert.equal(existsSync(lock), false, 'a clean exit removes the lock');
});

test('SIGTERM drains and leaves no revision process behind', async () => {
  assert.ok(revisionPids().length > 0 || (await get(kedge.gatewayPort, HOST)).status === 200);
  await waitFor(
    'a running replica',
    () => Promise.resolve(revisionPids().length > 0 ? true : undefined),
    15_000,
  );
  const code = await kedge.stop();
  assert.equal(code, 0);
  await waitFor(
    'every replica to exit',
    () => Promise.resolve(revisionPids().length === 0 ? true : undefined),
    5_000,
  );
  assert.equal(existsSync(join(dir, '.kedge', 'lock')), false, 'the lock goes with a clean exit');
});
