// End to end: the Serving API in local mode through a real `kedge up` and real processes on
// 127.0.0.1 — a weighted split measured over 2 000 requests, a tag URL, rollback under load with
// no failed request, a revision that cannot start, a restart that keeps revision names, revision
// GC that keeps what traffic references, and the `kedge get|describe|logs` commands.
// The tests run in order and share one folder: each step edits the Service as a user would.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KEDGE_BIN, get, getJson, startKedge, waitFor, type KedgeProcess } from './support/kedge-process.js';

const HELLO = fileURLToPath(new URL('../../examples/helloworld-nodejs/index.js', import.meta.url));
const NAME = 'split';
const HOST = `${NAME}.default.example.com`;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface TrafficView {
  revisionName: string;
  percent: number;
  latestRevision: boolean;
  tag: string;
  url: string;
}
interface ServiceView {
  name: string;
  url: string;
  ready: boolean;
  generation: number;
  observedGeneration: number;
  latestCreatedRevisionName: string;
  latestReadyRevisionName: string;
  address: { url: string };
  conditions: Condition[];
  traffic: TrafficView[];
}
interface RevisionView {
  name: string;
  ready: boolean;
  conditions: Condition[];
  readyReplicas: number;
}
interface RouteView {
  name: string;
  hosts: { host: string; tag: string; splits: { revisionName: string; percent: number }[] }[];
}

interface ServiceOptions {
  readonly target: string;
  /** Replaces the hello world command (e.g. one that fails). */
  readonly command?: readonly string[];
  /** YAML lines of spec.traffic entries, without the leading `traffic:`. */
  readonly traffic?: readonly string[];
}

function serviceYaml(o: ServiceOptions): string {
  const command = o.command ?? ['node', HELLO];
  return [
    'apiVersion: serving.knative.dev/v1',
    'kind: Service',
    'metadata:',
    `  name: ${NAME}`,
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    '        - image: example.com/hello',
    `          command: ${JSON.stringify(command)}`,
    '          env:',
    '            - name: TARGET',
    `              value: ${JSON.stringify(o.target)}`,
    ...(o.traffic === undefined ? [] : ['  traffic:', ...o.traffic.map((l) => `    ${l}`)]),
    '',
  ].join('\n');
}

let dir: string;
let kedge: KedgeProcess;

function writeService(o: ServiceOptions): void {
  writeFileSync(join(dir, 'service.yaml'), serviceYaml(o));
}

const services = (): Promise<ServiceView[]> => getJson<ServiceView[]>(kedge.adminPort, '/api/v1/services');
const revisions = (): Promise<RevisionView[]> =>
  getJson<RevisionView[]>(kedge.adminPort, '/api/v1/revisions');
async function service(): Promise<ServiceView> {
  const s = (await services()).find((x) => x.name === NAME);
  assert.ok(s, `${NAME} is listed`);
  return s;
}
const revisionNames = async (): Promise<string[]> => (await revisions()).map((r) => r.name).sort();

/** `kedge <args>` against the running admin API; never throws on a non-zero exit. */
function kedgeCli(
  args: readonly string[],
  admin = `http://127.0.0.1:${kedge.adminPort}`,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [KEDGE_BIN, ...args, '--admin', admin],
      { timeout: 15_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

interface LoadResult {
  readonly bodies: Map<string, number>;
  readonly failures: string[];
  /** Per answer: when the request was sent (ms since the epoch) and what answered. */
  readonly timeline: { sentMs: number; body: string }[];
}

/** `concurrency` workers send requests until `count` were sent or `until()` says stop. */
async function load(
  host: string,
  count: number,
  concurrency: number,
  until: () => boolean = () => false,
): Promise<LoadResult> {
  const result: LoadResult = { bodies: new Map(), failures: [], timeline: [] };
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (sent < count && !until()) {
      sent += 1;
      const sentMs = Date.now();
      try {
        const res = await get(kedge.gatewayPort, host, '/', 10_000);
        if (res.status !== 200) result.failures.push(`${res.status} ${res.body.trim()}`);
        else {
          result.bodies.set(res.body, (result.bodies.get(res.body) ?? 0) + 1);
          result.timeline.push({ sentMs, body: res.body });
        }
      } catch (err) {
        result.failures.push(String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return result;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kedge-serving-'));
  // Knative's config-gc keys, set so that one non-active revision is kept and time plays no part.
  writeFileSync(
    join(dir, 'config-gc.yaml'),
    [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: config-gc',
      '  namespace: knative-serving',
      'data:',
      '  retain-since-create-time: "disabled"',
      '  retain-since-last-active-time: "disabled"',
      '  min-non-active-revisions: "0"',
      '  max-non-active-revisions: "1"',
      '',
    ].join('\n'),
  );
  writeService({ target: 'v1' });
  kedge = await startKedge(dir);
});

after(async () => {
  await kedge.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('v1 serves at its Knative host', async () => {
  const res = await waitFor(
    'v1 to answer',
    async () => {
      const r = await get(kedge.gatewayPort, HOST);
      return r.status === 200 ? r : undefined;
    },
    15_000,
  );
  assert.equal(res.body, 'Hello v1!\n');
});

test('v2 takes 20 % only once ready; the split holds within ±3 % over 2 000 requests', async (t) => {
  writeService({
    target: 'v2',
    traffic: [
      '- revisionName: split-00001',
      '  percent: 80',
      '- latestRevision: true',
      '  percent: 20',
      '  tag: candidate',
    ],
  });
  const s = await waitFor(
    'v2 to be ready and get its 20 %',
    async () => {
      const x = await service();
      return x.latestReadyRevisionName === 'split-00002' &&
        x.traffic.some((tt) => tt.revisionName === 'split-00002' && tt.percent === 20)
        ? x
        : undefined;
    },
    15_000,
  );
  // Knative's status: observedGeneration, conditions, url, address, latest revisions, traffic.
  assert.equal(s.observedGeneration, 2);
  assert.equal(s.generation, 2);
  assert.equal(s.url, 'http://split.default.example.com');
  assert.equal(s.address.url, 'http://split.default.svc.cluster.local');
  assert.equal(s.latestCreatedRevisionName, 'split-00002');
  assert.deepEqual(
    s.conditions.map((c) => [c.type, c.status]),
    [
      ['Ready', 'True'],
      ['ConfigurationsReady', 'True'],
      ['RoutesReady', 'True'],
    ],
  );
  assert.deepEqual(s.traffic, [
    { revisionName: 'split-00001', percent: 80, latestRevision: false, tag: '', url: '' },
    {
      revisionName: 'split-00002',
      percent: 20,
      latestRevision: true,
      tag: 'candidate',
      url: 'http://candidate-split.default.example.com',
    },
  ]);

  const n = 2000;
  const result = await load(HOST, n, 16);
  assert.deepEqual(result.failures, []);
  const v1 = result.bodies.get('Hello v1!\n') ?? 0;
  const v2 = result.bodies.get('Hello v2!\n') ?? 0;
  assert.equal(v1 + v2, n, `only v1 and v2 answer: ${JSON.stringify([...result.bodies])}`);
  t.diagnostic(
    `split over ${n} requests: v1 ${((100 * v1) / n).toFixed(1)} %, v2 ${((100 * v2) / n).toFixed(1)} %`,
  );
  assert.ok(Math.abs(v1 / n - 0.8) <= 0.03, `v1 got ${v1}/${n}`);
  assert.ok(Math.abs(v2 / n - 0.2) <= 0.03, `v2 got ${v2}/${n}`);
});

test('a tag gets its own host with 100 % to the tagged revision', async () => {
  const res = await Promise.all(
    Array.from({ length: 20 }, () => get(kedge.gatewayPort, 'candidate-split.default.example.com')),
  );
  for (const r of res) {
    assert.equal(r.status, 200);
    assert.equal(r.body, 'Hello v2!\n');
  }
  const routes = await getJson<RouteView[]>(kedge.adminPort, '/api/v1/routes');
  const tagHost = routes
    .find((r) => r.name === NAME)
    ?.hosts.find((h) => h.host === 'candidate-split.default.example.com');
  assert.deepEqual(tagHost, {
    host: 'candidate-split.default.example.com',
    tag: 'candidate',
    splits: [{ revisionName: 'split-00002', percent: 100 }],
  });
});

test('kedge get services|revisions|routes prints kubectl-like tables', async () => {
  const ksvc = await kedgeCli(['get', 'services']);
  assert.equal(ksvc.code, 0, ksvc.stderr);
  const [header, row] = ksvc.stdout.trimEnd().split('\n');
  assert.match(header ?? '', /^NAME\s+URL\s+LATESTCREATED\s+LATESTREADY\s+READY\s+REASON$/);
  assert.match(
    row ?? '',
    /^split\s+http:\/\/split\.default\.example\.com\s+split-00002\s+split-00002\s+True$/,
  );

  const rev = await kedgeCli(['get', 'rev', '-n', 'default']);
  assert.equal(rev.code, 0, rev.stderr);
  assert.match(
    rev.stdout,
    /^NAME\s+CONFIG NAME\s+GENERATION\s+READY\s+REASON\s+ACTUAL REPLICAS\s+DESIRED REPLICAS\n/,
  );
  assert.match(rev.stdout, /\nsplit-00001\s+split\s+1\s+True\s+\d+\s+\d+\n/);
  assert.match(rev.stdout, /\nsplit-00002\s+split\s+2\s+True\s+\d+\s+\d+\n/);

  const routes = await kedgeCli(['get', 'routes', '-o', 'wide']);
  assert.equal(routes.code, 0, routes.stderr);
  assert.match(
    routes.stdout,
    /split\s+http:\/\/split\.default\.example\.com\s+True\s+80% split-00001, 20% split-00002 \(latest\) #candidate/,
  );

  const other = await kedgeCli(['get', 'ksvc', '-n', 'nowhere']);
  assert.equal(other.code, 0);
  assert.match(other.stderr, /No services found in nowhere namespace/);
});

test('kedge describe service shows URL, traffic with tag URLs, revisions with replicas, conditions', async () => {
  const out = await kedgeCli(['describe', 'service', NAME]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /^URL:\s+http:\/\/split\.default\.example\.com$/m);
  assert.match(out.stdout, /^ {2}80%\s+split-00001\s*$/m);
  assert.match(
    out.stdout,
    /^ {2}20%\s+@latest \(split-00002\)\s+candidate\s+http:\/\/candidate-split\.default\.example\.com$/m,
  );
  assert.match(out.stdout, /^ {2}split-00002\s+2\s+True\s+\d+\/\d+\s+20%/m);
  assert.match(out.stdout, /^ {2}split-00001\s+1\s+True\s+\d+\/\d+\s+80%/m);
  assert.match(out.stdout, /^ {2}ConfigurationsReady\s+True/m);

  const missing = await kedgeCli(['describe', 'ksvc', 'nobody']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /service "nobody" not found in namespace "default"/);
});

test('kedge logs prints a service’s output with time and replica; -f follows new lines', async () => {
  const out = await kedgeCli(['logs', NAME, '--tail', '5']);
  assert.equal(out.code, 0, out.stderr);
  const lines = out.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 5);
  for (const l of lines) {
    assert.match(
      l,
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z split-0000[12]-r\d+ Hello world received a request\.$/,
    );
  }
  const rev = await kedgeCli(['logs', 'split-00001']);
  assert.match(rev.stdout, /split-00001-r\d+ helloworld: listening on port \d+/);
  assert.doesNotMatch(rev.stdout, /split-00002/);

  const follow = spawn(
    process.execPath,
    [KEDGE_BIN, 'logs', NAME, '-f', '--tail', '0', '--admin', `http://127.0.0.1:${kedge.adminPort}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  try {
    let seen = '';
    follow.stdout.setEncoding('utf8');
    follow.stdout.on('data', (chunk: string) => {
      seen += chunk;
    });
    await new Promise((r) => setTimeout(r, 300)); // let it ask for lines after the current end
    assert.equal((await get(kedge.gatewayPort, 'candidate-split.default.example.com')).status, 200);
    await waitFor(
      'the follower to print the new request line',
      () =>
        Promise.resolve(/split-00002-r\d+ Hello world received a request\./.test(seen) ? true : undefined),
      5_000,
    );
  } finally {
    follow.kill('SIGTERM');
  }
});

test('get/describe/logs say so in one line when kedge is not running', async () => {
  // A port that was free a moment ago: nothing listens on it.
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        resolve(typeof address === 'object' && address !== null ? address.port : 1);
      });
    });
  });
  for (const args of [
    ['get', 'services'],
    ['describe', 'service', NAME],
    ['logs', NAME],
  ]) {
    const out = await kedgeCli(args, `http://127.0.0.1:${port}`);
    assert.equal(out.code, 1);
    assert.equal(
      out.stderr,
      `kedge: cannot reach the admin API at http://127.0.0.1:${port} — is 'kedge up' running?\n`,
    );
  }
});

test('rollback to v1 by name takes effect within a second, with no failed request under load', async (t) => {
  let stop = false;
  let writtenAtMs = 0;
  const running = load(HOST, 50_000, 8, () => stop);
  await new Promise((r) => setTimeout(r, 500));
  writtenAtMs = Date.now();
  writeService({ target: 'v2', traffic: ['- revisionName: split-00001', '  percent: 100'] });
  await new Promise((r) => setTimeout(r, 2500));
  stop = true;
  const result = await running;
  assert.deepEqual(result.failures, [], 'every request of the load answered 200');
  const lastV2 = Math.max(...result.timeline.filter((x) => x.body === 'Hello v2!\n').map((x) => x.sentMs));
  const tookMs = lastV2 - writtenAtMs;
  t.diagnostic(
    `${result.timeline.length} requests; the last one to reach v2 was sent ${tookMs} ms after the edit`,
  );
  assert.ok(tookMs < 1000, `v2 still answered a request sent ${tookMs} ms after the edit`);
  const after = result.timeline.filter((x) => x.sentMs > writtenAtMs + 1000);
  assert.ok(after.length > 50, 'the load kept running after the rollback');
  assert.ok(after.every((x) => x.body === 'Hello v1!\n'));
  const s = await service();
  assert.deepEqual(
    s.traffic.map((x) => [x.revisionName, x.percent]),
    [['split-00001', 100]],
  );
  assert.equal(s.observedGeneration, 3);
});

test('a v3 that exits 1 gets no traffic; its queued requests fail at once with the reason', async (t) => {
  const failing = [
    'node',
    '-e',
    "console.log('boom: cannot read /etc/split.conf'); setTimeout(() => process.exit(1), 1500)",
  ];
  writeService({
    target: 'v3',
    command: failing,
    traffic: [
      '- latestRevision: true',
      '  percent: 100',
      '- revisionName: split-00003',
      '  percent: 0',
      '  tag: broken',
    ],
  });
  await waitFor(
    'the broken- tag host to route to v3',
    async () => {
      const routes = await getJson<RouteView[]>(kedge.adminPort, '/api/v1/routes');
      return routes
        .find((r) => r.name === NAME)
        ?.hosts.some((h) => h.host === 'broken-split.default.example.com')
        ? true
        : undefined;
    },
    10_000,
    50,
  );
  // v3 is still starting: the request waits in the gateway's queue, then fails as v3 exits.
  const started = Date.now();
  const queued = await get(kedge.gatewayPort, 'broken-split.default.example.com', '/', 20_000);
  const waitedMs = Date.now() - started;
  t.diagnostic(`queued request to v3: ${queued.status} after ${waitedMs} ms: ${queued.body.trim()}`);
  assert.ok(queued.status === 502 || queued.status === 503, `status ${queued.status}: ${queued.body}`);
  assert.match(queued.body, /split-00003/);
  assert.match(queued.body, /ExitCode1/);
  assert.ok(waitedMs < 5000, `the queued request waited ${waitedMs} ms`);

  // The latestRevision share stays on v2, the newest ready revision.
  const res = await get(kedge.gatewayPort, HOST);
  assert.equal(res.body, 'Hello v2!\n');
  const s = await service();
  assert.equal(s.latestCreatedRevisionName, 'split-00003');
  assert.equal(s.latestReadyRevisionName, 'split-00002');
  const configs = s.conditions.find((c) => c.type === 'ConfigurationsReady');
  assert.equal(configs?.status, 'False');
  assert.equal(configs.reason, 'RevisionFailed');
  assert.match(configs.message, /boom: cannot read \/etc\/split\.conf/);
  assert.equal(s.conditions.find((c) => c.type === 'Ready')?.status, 'False');
  const v3 = (await revisions()).find((r) => r.name === 'split-00003');
  const ready = v3?.conditions.find((c) => c.type === 'Ready');
  assert.equal(ready?.status, 'False');
  assert.equal(ready.reason, 'ExitCode1');
  assert.match(ready.message, /boom: cannot read \/etc\/split\.conf/);

  const described = await kedgeCli(['describe', 'revision', 'split-00003']);
  assert.match(described.stdout, /Ready\s+False\s+ExitCode1/);
  assert.match(described.stdout, /boom: cannot read/);
});

test('a restart of kedge up keeps revision names; the next change makes split-00004', async () => {
  assert.equal(await kedge.stop(), 0);
  const history = JSON.parse(readFileSync(join(dir, '.kedge', 'revisions.json'), 'utf8')) as {
    services: { name: string; configurationGeneration: number }[];
  };
  assert.equal(history.services[0]?.configurationGeneration, 3);

  kedge = await startKedge(dir);
  const s = await waitFor(
    'the restored service',
    async () => {
      const x = (await services()).find((y) => y.name === NAME);
      return x?.latestReadyRevisionName === 'split-00002' ? x : undefined;
    },
    15_000,
  );
  assert.equal(s.latestCreatedRevisionName, 'split-00003');
  assert.equal(s.observedGeneration, 4);
  assert.deepEqual(await revisionNames(), ['split-00001', 'split-00002', 'split-00003']);
  assert.equal((await get(kedge.gatewayPort, HOST)).body, 'Hello v2!\n');

  writeService({
    target: 'v4',
    traffic: [
      '- latestRevision: true',
      '  percent: 100',
      '- revisionName: split-00001',
      '  percent: 0',
      '  tag: old',
    ],
  });
  const v4 = await waitFor(
    'split-00004 to be ready',
    async () => {
      const x = await service();
      return x.latestReadyRevisionName === 'split-00004' ? x : undefined;
    },
    15_000,
  );
  assert.equal(v4.observedGeneration, 5);
  assert.equal((await get(kedge.gatewayPort, HOST)).body, 'Hello v4!\n');
});

test('revision GC (max-non-active-revisions 1) collects the oldest reserve revision and keeps referenced ones', async () => {
  // 00004 serves, 00001 is referenced by the "old" tag; of the reserve 00002 and 00003, the one
  // inactive the longest (00003, never routed since the edit) goes.
  await waitFor(
    'split-00003 to be collected',
    async () => {
      const names = await revisionNames();
      return names.includes('split-00003') ? undefined : names;
    },
    10_000,
  );
  assert.deepEqual(await revisionNames(), ['split-00001', 'split-00002', 'split-00004']);
  assert.equal((await get(kedge.gatewayPort, 'old-split.default.example.com')).body, 'Hello v1!\n');
  assert.ok(kedge.output.some((l) => /revision default\/split-00003 garbage-collected/.test(l)));
  const history = JSON.parse(readFileSync(join(dir, '.kedge', 'revisions.json'), 'utf8')) as {
    services: { deletedRevisions: { name: string }[] }[];
  };
  assert.deepEqual(
    history.services[0]?.deletedRevisions.map((d) => d.name),
    ['split-00003'],
  );
});
