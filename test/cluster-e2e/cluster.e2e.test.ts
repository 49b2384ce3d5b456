// The whole cluster path on one machine: the in-repo API server, the test kubelet (pods as local
// processes on 127.0.0.x), and kedge's controller, autoscaler and two gateways as separate
// processes, exactly as deploy/ runs them (`kedge controller|autoscaler|gateway`). The hello world
// goes in with kubectl; requests go through both gateways; the Service scales to zero and back,
// rolls out a second revision, survives a controller restart under load and scales down with the
// drain protocol, and no request fails on the way. Every API call is recorded (the API server's
// audit hook; components are told apart by User-Agent) and checked against deploy/'s RBAC.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type KubernetesObject,
  type V1Pod,
} from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { parse as parseYaml, parseAllDocuments, stringify as stringifyYaml } from 'yaml';
import type { ClusterSnapshot } from '../../lib/cluster-protocol.js';
import { UserAgentKubeConfig } from '../../lib/kube-config.js';
import { startApiServer, type ApiServer, type AuditRecord } from '../apiserver/server.js';
import { Kubelet } from '../cluster/kubelet.js';
import { msg, startDataPlane, type DataPlaneProcess } from '../cluster-data-plane/processes.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
const HELLO_DIR = join(ROOT, 'examples', 'helloworld-nodejs');
const KEDGE_NS = 'kedge-system';
const KSVC = { group: 'serving.knative.dev', version: 'v1', plural: 'services' } as const;
const HOST = 'helloworld-nodejs.default.example.com';
const V1 = 'Hello Node.js Sample Native v1!\n';
const V2 = 'Hello Node.js Sample Native v2!\n';
const REV1 = 'helloworld-nodejs-00001';
const REV2 = 'helloworld-nodejs-00002';
const TEST_UA = 'kedge-e2e-test';
const KUBELET_UA = 'kedge-test-kubelet';

// ---- the cluster --------------------------------------------------------------------------------

let api: ApiServer;
let kubelet: Kubelet;
let core: CoreV1Api;
let apps: AppsV1Api;
let custom: CustomObjectsApi;
let home: string;
let kubectl: string | undefined;
let controller: DataPlaneProcess;
let autoscaler: DataPlaneProcess;
let autoscalerArgs: string[] = [];
const gateways: { name: string; proc: DataPlaneProcess; port: number; adminPort: number }[] = [];
let snapshotPort = 0;
const processes: DataPlaneProcess[] = [];
const agent = new Agent({ connections: 32, keepAliveTimeout: 2_000 });
const started = Date.now();

/** (user agent, verb, group, resource[/subresource], namespace) → count. Bounded by the key space. */
const calls = new Map<string, number>();

function record(r: AuditRecord): void {
  const resource = r.subresource === '' ? r.resource : `${r.resource}/${r.subresource}`;
  const key = JSON.stringify([r.userAgent, r.verb, r.group, resource, r.namespace]);
  calls.set(key, (calls.get(key) ?? 0) + 1);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => {
        resolve(port);
      });
    });
  });
}

async function poll<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function usableKubectl(): string | undefined {
  const candidates = (process.env['KUBECTL'] ?? 'kubectl')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const k of candidates) {
    const probe = spawnSync(k, ['version', '--client'], { encoding: 'utf8', timeout: 20_000 });
    if (probe.error === undefined && probe.status === 0) return k;
  }
  return undefined;
}

function runKubectl(...args: string[]): Promise<string> {
  const bin = kubectl;
  if (bin === undefined) return Promise.reject(new Error('no kubectl'));
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      [`--kubeconfig=${api.kubeconfigPath}`, `--cache-dir=${join(home, 'cache')}`, ...args],
      { env: { PATH: process.env['PATH'] ?? '', HOME: home }, timeout: 30_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err !== null) reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr || err.message}`));
        else resolve(stdout);
      },
    );
  });
}

type Ksvc = KubernetesObject & { metadata: { name: string; namespace: string }; spec: unknown };

/** The hello world as shipped, with an absolute workingDir and a real image name. */
function helloWorld(target: string): Ksvc {
  const svc = parseYaml(readFileSync(join(HELLO_DIR, 'service.yaml'), 'utf8')) as Ksvc & {
    spec: { template: { spec: { containers: { workingDir: string; image: string; env: unknown[] }[] } } };
  };
  const [container] = svc.spec.template.spec.containers;
  assert.ok(container !== undefined);
  container.workingDir = HELLO_DIR;
  // `docker.io/{username}/...` is a placeholder; cluster mode rejects it as Knative's webhook would.
  container.image = 'docker.io/kedge-test/helloworld-nodejs';
  container.env = [{ name: 'TARGET', value: target }];
  return svc;
}

/** `kubectl apply -f` when a kubectl is installed, else a create or replace through client-node. */
async function applyService(svc: Ksvc): Promise<void> {
  if (kubectl !== undefined) {
    const file = join(home, 'service.yaml');
    writeFileSync(file, stringifyYaml(svc));
    assert.match(await runKubectl('apply', '-f', file), /service.serving.knative.dev\/helloworld-nodejs/);
    return;
  }
  // CustomObjectsApi, not KubernetesObjectApi: the latter serializes kind Service with the core
  // V1Service model and drops spec.template.
  const ref = { ...KSVC, namespace: svc.metadata.namespace, name: svc.metadata.name };
  let resourceVersion: string | undefined;
  try {
    const live = (await custom.getNamespacedCustomObject(ref)) as KubernetesObject;
    resourceVersion = live.metadata?.resourceVersion;
  } catch {
    resourceVersion = undefined;
  }
  if (resourceVersion === undefined) {
    await custom.createNamespacedCustomObject({ ...KSVC, namespace: svc.metadata.namespace, body: svc });
  } else {
    const metadata = { name: svc.metadata.name, namespace: svc.metadata.namespace, resourceVersion };
    await custom.replaceNamespacedCustomObject({ ...ref, body: { ...svc, metadata } });
  }
}

interface KsvcStatus {
  url?: string;
  latestCreatedRevisionName?: string;
  latestReadyRevisionName?: string;
  conditions?: { type: string; status: string }[];
  traffic?: { revisionName: string; percent: number }[];
}

async function ksvcStatus(): Promise<KsvcStatus> {
  const s = (await custom.getNamespacedCustomObject({
    ...KSVC,
    namespace: 'default',
    name: 'helloworld-nodejs',
  })) as { status?: KsvcStatus };
  return s.status ?? {};
}

async function controllerSnapshot(): Promise<ClusterSnapshot> {
  const res = await request(`http://127.0.0.1:${snapshotPort}/v1/snapshot?after=0`, { dispatcher: agent });
  assert.equal(res.statusCode, 200);
  return (await res.body.json()) as ClusterSnapshot;
}

async function gatewayVersion(adminPort: number): Promise<number> {
  const res = await request(`http://127.0.0.1:${adminPort}/metrics`, { dispatcher: agent });
  const text = await res.body.text();
  return Number(/^kedge_gateway_snapshot_version (\d+)/m.exec(text)?.[1] ?? '0');
}

/** Both gateways hold the controller's current snapshot. */
async function gatewaysCaughtUp(what: string): Promise<ClusterSnapshot> {
  return poll(
    `both gateways on the controller's snapshot (${what})`,
    async () => {
      const s = await controllerSnapshot();
      for (const g of gateways) if ((await gatewayVersion(g.adminPort)) < s.version) return undefined;
      return s;
    },
    10_000,
  );
}

async function pods(revision: string): Promise<V1Pod[]> {
  const list = await core.listNamespacedPod({
    namespace: 'default',
    labelSelector: `serving.knative.dev/revision=${revision}`,
  });
  return list.items.filter((p) => p.metadata?.deletionTimestamp == null);
}

async function replicas(revision: string): Promise<number> {
  const scale = await apps.readNamespacedDeploymentScale({
    name: `${revision}-deployment`,
    namespace: 'default',
  });
  return scale.spec?.replicas ?? 0;
}

// ---- load ----------------------------------------------------------------------------------------

interface LoadResult {
  ok: number;
  failures: string[];
  bodies: Map<string, number>;
  /** Per client, the responses in order (for "v1 then v2"). */
  sequences: string[][];
}

/** One GET through a gateway; a failure is anything but 200 with a hello body. */
async function hello(port: number): Promise<{ ok: true; body: string } | { ok: false; why: string }> {
  try {
    const res = await request(`http://127.0.0.1:${port}/`, {
      headers: { host: HOST },
      dispatcher: agent,
      headersTimeout: 20_000,
      bodyTimeout: 20_000,
    });
    const body = await res.body.text();
    if (res.statusCode !== 200 || !/^Hello Node\.js Sample Native v\d!\n$/.test(body)) {
      return { ok: false, why: `${res.statusCode} ${body.slice(0, 200)}` };
    }
    return { ok: true, body };
  } catch (err) {
    return { ok: false, why: String(err) };
  }
}

/**
 * `clients` closed-loop clients, spread over the gateways, until `stop()` says so or `maxMs` has
 * passed (whichever first); at most `maxRequests` per client.
 */
function load(
  clients: number,
  stop: () => boolean,
  maxMs: number,
  maxRequests = 20_000,
): { done: Promise<LoadResult>; result: LoadResult } {
  const result: LoadResult = { ok: 0, failures: [], bodies: new Map(), sequences: [] };
  const deadline = Date.now() + maxMs;
  const one = async (i: number): Promise<void> => {
    const gateway = gateways[i % gateways.length];
    assert.ok(gateway !== undefined);
    const seq: string[] = [];
    result.sequences.push(seq);
    for (let n = 0; n < maxRequests && !stop() && Date.now() < deadline; n++) {
      const r = await hello(gateway.port);
      if (r.ok) {
        result.ok++;
        result.bodies.set(r.body, (result.bodies.get(r.body) ?? 0) + 1);
        if (seq[seq.length - 1] !== r.body) seq.push(r.body);
      } else result.failures.push(`${gateway.name}: ${r.why}`);
    }
  };
  const done = Promise.all(Array.from({ length: clients }, (_, i) => one(i))).then(() => result);
  return { done, result };
}

// ---- RBAC ------------------------------------------------------------------------------------------

interface Grant {
  readonly namespace: string | null; // null: cluster-wide (ClusterRoleBinding)
  readonly group: string;
  readonly resource: string;
  readonly verb: string;
}

/** What deploy/ grants each ServiceAccount of kedge-system, through every binding naming it. */
function grantsFromDeploy(): Map<string, Grant[]> {
  const docs: Record<string, unknown>[] = [];
  for (const file of readdirSync(DEPLOY).filter((f) => f.endsWith('.yaml'))) {
    for (const d of parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8'))) {
      const v = d.toJS() as unknown;
      if (typeof v === 'object' && v !== null) docs.push(v as Record<string, unknown>);
    }
  }
  type Role = { kind: string; metadata: { name: string; namespace?: string }; rules?: unknown[] };
  const roles = docs.filter((d) => d['kind'] === 'ClusterRole' || d['kind'] === 'Role') as Role[];
  const out = new Map<string, Grant[]>();
  for (const b of docs) {
    if (b['kind'] !== 'ClusterRoleBinding' && b['kind'] !== 'RoleBinding') continue;
    const meta = b['metadata'] as { namespace?: string };
    const ref = b['roleRef'] as { kind: string; name: string };
    const role = roles.find(
      (r) =>
        r.kind === ref.kind &&
        r.metadata.name === ref.name &&
        (r.kind === 'ClusterRole' || r.metadata.namespace === meta.namespace),
    );
    assert.ok(role !== undefined, `role ${ref.kind}/${ref.name}`);
    const namespace = b['kind'] === 'ClusterRoleBinding' ? null : (meta.namespace ?? null);
    for (const s of b['subjects'] as { kind: string; name: string; namespace: string }[]) {
      if (s.kind !== 'ServiceAccount' || s.namespace !== KEDGE_NS) continue;
      const list = out.get(s.name) ?? [];
      for (const rule of (role.rules ?? []) as {
        apiGroups: string[];
        resources: string[];
        verbs: string[];
      }[]) {
        for (const group of rule.apiGroups)
          for (const resource of rule.resources)
            for (const verb of rule.verbs) list.push({ namespace, group, resource, verb });
      }
      out.set(s.name, list);
    }
  }
  return out;
}

function grantKey(g: { group: string; resource: string; verb: string }): string {
  return `${g.verb} ${g.group === '' ? 'core' : g.group}/${g.resource}`;
}

// ---- the scenario ----------------------------------------------------------------------------------

describe('cluster mode end to end: API server, kubelet, controller, autoscaler, two gateways', () => {
  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'kedge-cluster-e2e-'));
    kubectl = usableKubectl();
    api = await startApiServer({ port: 0, onRequest: record });
    const kc = new UserAgentKubeConfig(TEST_UA);
    kc.loadFromFile(api.kubeconfigPath);
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    const objects = kc.makeApiClient(KubernetesObjectApi);

    // deploy/'s CRD, namespace and config-* ConfigMaps, with short windows.
    const load = (path: string): KubernetesObject[] =>
      parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as KubernetesObject);
    for (const o of load(join(DEPLOY, 'crd', 'services.serving.knative.dev.yaml'))) await objects.create(o);
    for (const o of load(join(DEPLOY, 'namespace.yaml'))) await objects.create(o);
    const overrides: Record<string, Record<string, string>> = {
      'config-autoscaler': { 'stable-window': '6s', 'scale-to-zero-grace-period': '1s' },
    };
    for (const file of readdirSync(join(DEPLOY, 'config'))) {
      for (const o of load(join(DEPLOY, 'config', file)) as (KubernetesObject & {
        data?: Record<string, string>;
      })[]) {
        o.data = { ...o.data, ...overrides[o.metadata?.name ?? ''] };
        await objects.create(o);
      }
    }

    const kubeletKc = new UserAgentKubeConfig(KUBELET_UA);
    kubeletKc.loadFromFile(api.kubeconfigPath);
    kubelet = new Kubelet({ kc: kubeletKc, maxGraceMs: 3000 });
    await kubelet.start();

    snapshotPort = await freePort();
    const statsPort = await freePort();
    const controllerUrl = `http://127.0.0.1:${snapshotPort}`;
    controller = startController();
    autoscalerArgs = [
      'autoscaler',
      '--controller',
      controllerUrl,
      '--kubeconfig',
      api.kubeconfigPath,
      '--stats-port',
      String(statsPort),
      '--admin-port',
      '0',
      '--listen',
      '127.0.0.1',
    ];
    autoscaler = startDataPlane(autoscalerArgs);
    processes.push(autoscaler);
    for (const name of ['gw-a', 'gw-b']) {
      const proc = startDataPlane([
        'gateway',
        '--controller',
        controllerUrl,
        '--autoscaler',
        `http://127.0.0.1:${statsPort}`,
        '--port',
        '0',
        '--admin-port',
        '0',
        '--listen',
        '127.0.0.1',
        '--source',
        name,
        '--drain-seconds',
        '0',
      ]);
      processes.push(proc);
      gateways.push({ name, proc, port: 0, adminPort: 0 });
    }
    await controller.waitFor('the controller ready', msg('ready'), 20_000);
    await autoscaler.waitFor('the autoscaler started', msg('kedge autoscaler started'), 20_000);
    for (const g of gateways) {
      const line = await g.proc.waitFor(`${g.name} started`, msg('kedge gateway started'), 20_000);
      g.port = Number(line['port']);
      g.adminPort = Number(line['adminPort']);
    }
  });

  function startController(): DataPlaneProcess {
    const proc = startDataPlane([
      'controller',
      '--kubeconfig',
      api.kubeconfigPath,
      '--namespace',
      KEDGE_NS,
      '--snapshot-port',
      String(snapshotPort),
      '--admin-port',
      '0',
      '--listen',
      '127.0.0.1',
    ]);
    processes.push(proc);
    return proc;
  }

  after(async () => {
    await Promise.all(processes.map((p) => p.stop(5_000)));
    if (process.env['KEDGE_TEST_DEBUG'] !== undefined) {
      for (const p of processes)
        process.stderr.write(p.lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    }
    await kubelet.close();
    await api.close();
    await agent.close();
    rmSync(home, { recursive: true, force: true });
    process.stdout.write(`# cluster e2e: ${((Date.now() - started) / 1000).toFixed(1)} s in all\n`);
  });

  test('kubectl apply the hello world: Ready with its URL, answered through each gateway', async () => {
    await applyService(helloWorld('Node.js Sample Native v1'));
    const status = await poll(
      'a Ready Service',
      async () => {
        const s = await ksvcStatus();
        return s.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true ? s : undefined;
      },
      20_000,
    );
    assert.equal(status.url, `http://${HOST}`);
    assert.equal(status.latestReadyRevisionName, REV1);
    if (kubectl !== undefined) {
      const table = await runKubectl('get', 'ksvc', 'helloworld-nodejs', '-n', 'default');
      const row = table.split('\n').find((l) => l.startsWith('helloworld-nodejs '));
      assert.ok(row !== undefined, table);
      assert.match(row, new RegExp(`http://${HOST.replaceAll('.', '\\.')}\\s+${REV1}\\s+${REV1}\\s+True`));
    }
    await gatewaysCaughtUp('hello world ready');
    for (const g of gateways) {
      const r = await hello(g.port);
      assert.deepEqual(r, { ok: true, body: V1 }, g.name);
    }
  });

  test('idle: scales to zero (Deployment at 0, pods gone); a request wakes it through each gateway', async () => {
    await poll('scale to zero', async () => (await replicas(REV1)) === 0, 30_000);
    await poll('the pods gone', async () => (await pods(REV1)).length === 0, 10_000);
    assert.equal(kubelet.running().length, 0, 'no process left');
    await gatewaysCaughtUp('at zero');

    // From zero: requests wait in the gateways, the autoscaler is poked and scales to 1, the
    // kubelet starts the pod, the gateways probe it and answer. Two per gateway, none may fail.
    const t0 = Date.now();
    const results = await Promise.all([...gateways, ...gateways].map((g) => hello(g.port)));
    const coldMs = Date.now() - t0;
    for (const r of results) assert.deepEqual(r, { ok: true, body: V1 });
    assert.equal(await replicas(REV1), 1);
    await autoscaler.waitFor('the scale from zero', msg('scaled', { from: 0, to: 1 }), 1_000);
    process.stdout.write(`# cold start through the gateways: ${coldMs} ms\n`);
  });

  test('rollout: v2 becomes -00002, traffic moves once it is ready, no request fails', async () => {
    let moved = false;
    const run = load(4, () => moved, 30_000);
    await sleep(300);
    await applyService(helloWorld('Node.js Sample Native v2'));
    await poll(
      'traffic on v2',
      async () => {
        const s = await ksvcStatus();
        return s.latestReadyRevisionName === REV2 && s.traffic?.[0]?.revisionName === REV2;
      },
      20_000,
    );
    await gatewaysCaughtUp('v2 routed');
    // Once both gateways route to v2, a client's answers stay v2.
    const seenAt = run.result.ok;
    await poll('v2 answers after the switch', () => Promise.resolve(run.result.ok > seenAt + 20), 10_000);
    moved = true;
    const result = await run.done;
    assert.deepEqual(result.failures, [], 'no request failed during the rollout');
    assert.ok((result.bodies.get(V1) ?? 0) > 0, 'v1 answered before the switch');
    assert.ok((result.bodies.get(V2) ?? 0) > 0, 'v2 answered after the switch');
    // Each client stays on one gateway: it sees v1 until the switch, then only v2.
    for (const seq of result.sequences)
      assert.ok(['1,2', '2'].includes(seq.map((b) => (b === V1 ? 1 : 2)).join(',')), seq.join('|'));
    const s = await controllerSnapshot();
    assert.deepEqual(s.state.revisions.map((r) => r.name).sort(), [REV1, REV2]);
  });

  test('the controller and the autoscaler restart under load: gateways keep serving, no request fails, no renaming', async () => {
    const before = await controllerSnapshot();
    const revisionsBefore = before.state.revisions.map((r) => r.key).sort();
    // Every snapshot the restarted controller serves, as a gateway would follow them: none may
    // lose the route or the ready pods (a gateway applies whatever it gets).
    const seen: { at: number; snapshot: ClusterSnapshot }[] = [];
    const follow = { on: true };
    const follower = (async () => {
      let version = before.version;
      const deadline = Date.now() + 30_000;
      while (follow.on && Date.now() < deadline) {
        try {
          const res = await request(
            `http://127.0.0.1:${snapshotPort}/v1/snapshot?after=${version}&timeoutSeconds=1`,
            { dispatcher: agent },
          );
          if (res.statusCode === 200) {
            const s = (await res.body.json()) as ClusterSnapshot;
            seen.push({ at: Date.now(), snapshot: s });
            version = s.version;
          } else await res.body.dump();
        } catch {
          await sleep(20);
        }
      }
    })();
    // The Service's status as written meanwhile: it must stay Ready (the history remembers readiness).
    const notReady: string[] = [];
    const statusKc = new UserAgentKubeConfig(TEST_UA);
    statusKc.loadFromFile(api.kubeconfigPath);
    const statusWatch = await new Watch(statusKc).watch(
      '/apis/serving.knative.dev/v1/namespaces/default/services',
      { resourceVersion: api.resourceVersion() },
      (phase, obj: { status?: KsvcStatus }) => {
        const ready = obj.status?.conditions?.find((c) => c.type === 'Ready')?.status;
        if (ready !== 'True') notReady.push(`${phase} Ready=${ready ?? 'none'}`);
      },
      () => undefined,
    );
    const run = load(8, () => false, 6_000);
    await sleep(1_000);
    const old = controller;
    assert.equal(await old.stop(10_000), 0, 'the controller exits 0 on SIGTERM');
    const stoppedAt = Date.now();
    const down = run.result.ok;
    await sleep(1_000);
    assert.ok(run.result.ok > down, 'requests are answered while the controller is away');
    controller = startController();
    await controller.waitFor('the controller ready again', msg('ready'), 20_000);
    // The autoscaler too: it reads the Deployments' replicas before deciding anything again.
    assert.equal(await autoscaler.stop(10_000), 0, 'the autoscaler exits 0 on SIGTERM');
    autoscaler = startDataPlane(autoscalerArgs);
    processes.push(autoscaler);
    const booted = await autoscaler.waitFor(
      'the autoscaler running again',
      msg('read current replicas'),
      20_000,
    );
    assert.ok(Number(booted['running']) >= 1, 'v2 (and maybe v1, not idle long enough yet) found running');
    const result = await run.done;
    assert.deepEqual(result.failures, [], 'no request failed across the restart');
    assert.ok(result.ok > 100, `answers under load: ${result.ok}`);
    process.stdout.write(`# restart under load: ${result.ok} responses, 0 failures\n`);

    // The same revisions, under the same names (the history is kept in a ConfigMap).
    const after = await gatewaysCaughtUp('after the restart');
    follow.on = false;
    await follower;
    statusWatch.abort();
    assert.deepEqual(notReady, [], 'the Service stayed Ready across the restarts');
    const fresh = seen.filter((x) => x.at > stoppedAt).map((x) => x.snapshot);
    assert.ok(fresh.length > 0, 'snapshots from the restarted controller');
    for (const x of fresh) {
      const route = x.state.routes.find((r) => r.host === HOST);
      assert.deepEqual(
        route?.splits.map((t) => [t.revision, t.percent]),
        [[`default/${REV2}`, 100]],
        `snapshot ${x.version}: the route still goes to v2`,
      );
      assert.ok(
        (x.endpoints[`default/${REV2}`]?.length ?? 0) > 0,
        `snapshot ${x.version}: v2's pods are listed`,
      );
    }
    assert.ok(after.version > before.version, 'versions keep growing across restarts');
    assert.deepEqual(after.state.revisions.map((r) => r.key).sort(), revisionsBefore);
    const history = await core.readNamespacedConfigMap({
      name: 'kedge-revision-history',
      namespace: KEDGE_NS,
    });
    assert.match(history.data?.['history.json'] ?? '', new RegExp(REV2));
    const deployments = await apps.listNamespacedDeployment({ namespace: 'default' });
    assert.deepEqual(deployments.items.map((d) => d.metadata?.name).sort(), [
      `${REV1}-deployment`,
      `${REV2}-deployment`,
    ]);
    const s = await ksvcStatus();
    assert.equal(s.latestCreatedRevisionName, REV2);
    assert.equal(s.latestReadyRevisionName, REV2);
  });

  test('scale up under load, then down with the drain: no request fails, removed pods had none in flight', async () => {
    // A low target so that 8 clients need several pods (config-autoscaler, applied within a second).
    await core.patchNamespacedConfigMap(
      {
        name: 'config-autoscaler',
        namespace: KEDGE_NS,
        body: { data: { 'container-concurrency-target-default': '2' } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    // Watch the pods of v2: the annotations each had when it was deleted.
    const removed = new Map<string, Record<string, string>>();
    const watchKc = new UserAgentKubeConfig(TEST_UA);
    watchKc.loadFromFile(api.kubeconfigPath);
    const watch = await new Watch(watchKc).watch(
      '/api/v1/namespaces/default/pods',
      { labelSelector: `serving.knative.dev/revision=${REV2}` },
      (phase, obj: V1Pod) => {
        if (phase === 'DELETED') removed.set(obj.metadata?.name ?? '', { ...obj.metadata?.annotations });
      },
      () => undefined,
    );
    let high = true;
    const heavy = load(8, () => !high, 20_000);
    await poll('≥ 2 ready pods', async () => (await pods(REV2)).filter(isReady).length >= 2, 20_000);
    const peak = await replicas(REV2);
    high = false;
    await heavy.done;
    // A light load keeps going while the autoscaler drains and removes the extra pods.
    let light = true;
    const trickle = load(2, () => !light, 30_000);
    await poll(
      'scaled back down',
      async () => (await replicas(REV2)) < peak && (await pods(REV2)).length <= 2,
      25_000,
    );
    await autoscaler.waitFor('a drained scale-down', msg('draining pods before scale-down'), 1_000);
    await sleep(1_500);
    light = false;
    const lightResult = await trickle.done;
    watch.abort();
    const heavyResult = heavy.result;
    process.stdout.write(
      `# scale-up to ${peak}, down to ${await replicas(REV2)}: ${heavyResult.ok + lightResult.ok} responses, ${removed.size} pods removed\n`,
    );
    assert.deepEqual(heavyResult.failures, [], 'no request failed while scaling up');
    assert.deepEqual(lightResult.failures, [], 'no request failed while scaling down');
    assert.ok(removed.size > 0, 'some pods were removed');
    const drained = new Set(
      autoscaler.lines
        .filter((l) => l['msg'] === 'draining pods before scale-down')
        .flatMap((l) => String(l['pods']).split(',')),
    );
    for (const [name, annotations] of removed) {
      assert.ok(drained.has(name), `${name} removed, but the autoscaler drained ${[...drained].join(',')}`);
      assert.equal(annotations['kedge.dev/draining'], 'true', `${name} was drained before removal`);
      assert.equal(annotations['controller.kubernetes.io/pod-deletion-cost'], '-1000', name);
    }
    // drainProgress only lets a pod go once every gateway reported it idle, else it logs a timeout.
    assert.equal(
      autoscaler.lines.find(
        (l) =>
          l['msg'] === 'drain timed out: removing pods that gateways still report busy or unacknowledged',
      ),
      undefined,
      'every removed pod had 0 requests in flight on every gateway',
    );
  });

  test('kubectl delete ksvc: the Deployments and pods go, the gateways answer 404', async () => {
    if (kubectl !== undefined) {
      assert.match(await runKubectl('delete', 'ksvc', 'helloworld-nodejs', '-n', 'default'), /deleted/);
    } else {
      await custom.deleteNamespacedCustomObject({ ...KSVC, namespace: 'default', name: 'helloworld-nodejs' });
    }
    await poll(
      'no Deployment left',
      async () => (await apps.listNamespacedDeployment({ namespace: 'default' })).items.length === 0,
      10_000,
    );
    await poll('no pod left', () => Promise.resolve(kubelet.running().length === 0), 10_000);
    const s = await gatewaysCaughtUp('after the delete');
    assert.deepEqual(s.state.revisions, []);
    for (const g of gateways) {
      const res = await request(`http://127.0.0.1:${g.port}/`, {
        headers: { host: HOST },
        dispatcher: agent,
      });
      await res.body.dump();
      assert.equal(res.statusCode, 404, g.name);
    }
  });

  test('RBAC: each component uses only what deploy/ grants it (and the gateway nothing)', () => {
    const grants = grantsFromDeploy();
    const components: Record<string, string> = {
      'kedge-controller/': 'kedge-controller',
      'kedge-autoscaler/': 'kedge-autoscaler',
    };
    const used = new Map<string, Set<string>>();
    const problems: string[] = [];
    for (const [key, count] of calls) {
      const [ua, verb, group, resource, namespace] = JSON.parse(key) as string[];
      assert.ok(ua !== undefined && verb !== undefined && group !== undefined && resource !== undefined);
      if (ua === TEST_UA || ua === KUBELET_UA || ua.startsWith('kubectl/')) continue;
      const prefix = Object.keys(components).find((p) => ua.startsWith(p));
      if (prefix === undefined) {
        problems.push(`an API call from an unknown client "${ua}": ${verb} ${group}/${resource} (${count}x)`);
        continue;
      }
      const sa = components[prefix] ?? '';
      const allowed = (grants.get(sa) ?? []).some(
        (g) =>
          g.group === group &&
          g.resource === resource &&
          g.verb === verb &&
          (g.namespace === null || g.namespace === namespace),
      );
      if (!allowed)
        problems.push(
          `${sa}: ${verb} ${group === '' ? 'core' : group}/${resource} in "${namespace ?? ''}" not granted`,
        );
      const set = used.get(sa) ?? new Set<string>();
      set.add(grantKey({ group, resource, verb }));
      used.set(sa, set);
    }
    const lines: string[] = [];
    for (const sa of Object.values(components)) {
      const granted = [...new Set((grants.get(sa) ?? []).map(grantKey))].sort();
      const usedSet = used.get(sa) ?? new Set<string>();
      lines.push(`# ${sa}: used ${[...usedSet].sort().join(', ')}`);
      const unused = granted.filter((g) => !usedSet.has(g));
      lines.push(
        `# ${sa}: granted, not used in this run: ${unused.length === 0 ? '(none)' : unused.join(', ')}`,
      );
    }
    assert.equal(grants.get('kedge-gateway'), undefined, 'the gateway is bound to no role');
    process.stdout.write(lines.join('\n') + '\n');
    assert.deepEqual(problems, []);
  });
});

function isReady(p: V1Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}
