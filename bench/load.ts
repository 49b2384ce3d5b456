// The load bench of issue "Gateway: a data plane at C-proxy speed": wrk against the kedge gateway
// (uWS and node:http front ends), nginx as a reverse proxy, and the backends directly, all side
// by side in one run on 127.0.0.1. The method is the baseline's (shared/reference/perf-baseline.md
// §2): fresh processes per rep, an unrecorded warm-up, interleaved runs with the order rotated
// every rep, SUT CPU and memory from /proc. On a shared 2-core VM the absolute numbers drift; the
// ratios to nginx-proxy measured in the same rep are what this bench is for.
//
// Usage: node dist/bench/load.js [--duration 10] [--reps 3] [--connections 64,256] [--quick]
//                                [--suts direct,nginx-proxy,...] [--warmup 10] [--keep-tmp]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGetRaw } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BENCH_HOST,
  BENCH_SRC_DIR,
  HELLO_BODY,
  LOOPBACK,
  childPids,
  cpuSeconds,
  ensureTools,
  fmtFixed,
  fmtInt,
  fmtMs,
  freePort,
  httpGet,
  killAllStarted,
  machineCpu,
  machineInfo,
  snapshotApp,
  stopAllStarted,
  processTree,
  upstreamSockets,
  median,
  memoryMb,
  resultsDir,
  sleep,
  startProcess,
  stopProcess,
  timestamp,
  treeCpuSeconds,
  waitForPort,
} from './common.js';
import type { AppSnapshot, Managed, Tools } from './common.js';
import { KEDGE_NODE_FLAGS } from '../lib/node-flags.js';

// ---------------------------------------------------------------------------------------------
// Options

const SUT_NAMES = ['direct', 'direct-node', 'nginx-proxy', 'kedge-uws', 'kedge-node', 'kedge-up'] as const;
type SutName = (typeof SUT_NAMES)[number];

const DESCRIPTIONS: Readonly<Record<SutName, string>> = {
  direct: 'wrk straight at a second nginx backend instance (load-generator bound; a ceiling, not a target)',
  'direct-node': 'wrk straight at the Node hello world (node:http), for reference',
  'nginx-proxy': 'nginx 1 worker as reverse proxy to the nginx backend (the number to beat)',
  'kedge-uws': 'kedge Gateway alone (bench/gateway-server.ts), uWS front end, to the nginx backend',
  'kedge-node': 'kedge Gateway alone, node:http front end, to the nginx backend',
  'kedge-up':
    'full `kedge up` (controller+autoscaler+gateway) with its own Node hello-world replica(s); NOT comparable to the nginx-backend rows',
};

/** Rows that route on Host and must answer 404 for an unknown one. */
const ROUTING: ReadonlySet<SutName> = new Set(['nginx-proxy', 'kedge-uws', 'kedge-node', 'kedge-up']);
const REFERENCE: SutName = 'nginx-proxy';

interface Options {
  readonly durationS: number;
  readonly reps: number;
  readonly connections: readonly number[];
  readonly warmupS: number;
  readonly suts: readonly SutName[];
  readonly keepTmp: boolean;
  readonly quick: boolean;
  /** Only re-print the summary table of an earlier results file. */
  readonly summarize: string | null;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: 'string' },
      reps: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      suts: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'keep-tmp': { type: 'boolean', default: false },
      summarize: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      'Usage: node dist/bench/load.js [--duration 10] [--reps 3] [--connections 64,256] [--quick]\n' +
        `       [--warmup 10] [--suts ${SUT_NAMES.join(',')}] [--keep-tmp]\n` +
        '--quick: 1 rep, 3 s, c=64, 1 s warm-up (a smoke run).\n' +
        '--summarize bench/results/load-<timestamp>.json: re-print the table of an earlier run.\n',
    );
    process.exit(0);
  }
  const quick = values.quick;
  const num = (name: string, raw: string | undefined, dflt: number, min: number): number => {
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got "${raw}"`);
    return n;
  };
  const connections = (values.connections ?? (quick ? '64' : '64,256')).split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new Error(`--connections: bad value "${s}"`);
    return n;
  });
  const suts = (values.suts ?? SUT_NAMES.join(',')).split(',').map((s) => {
    const name = s.trim();
    if (!(SUT_NAMES as readonly string[]).includes(name)) {
      throw new Error(`--suts: unknown "${name}"; known: ${SUT_NAMES.join(', ')}`);
    }
    return name as SutName;
  });
  return {
    durationS: num('duration', values.duration, quick ? 3 : 10, 1),
    reps: Math.floor(num('reps', values.reps, quick ? 1 : 3, 1)),
    connections,
    warmupS: num('warmup', values.warmup, quick ? 1 : 10, 0),
    suts,
    keepTmp: values['keep-tmp'],
    quick,
    summarize: values.summarize ?? null,
  };
}

// ---------------------------------------------------------------------------------------------
// Systems under test

interface RunningSut {
  readonly name: SutName;
  readonly port: number;
  readonly proc: Managed;
  /** The process doing the proxying (nginx worker, gateway node process, kedge): RSS and µs/req. */
  readonly mainPid: number;
  /** Extra facts (front end actually loaded, replicas, ...). */
  readonly info: Record<string, string | number>;
}

interface RepContext {
  readonly dir: string;
  readonly tools: Tools;
  readonly backendPort: number;
  /** stub_status of the upstream backend: new upstream connections per run (perf-baseline §2). */
  readonly backendStatusPort: number;
  readonly maxConnections: number;
  readonly app: AppSnapshot;
}

function nginxConf(dir: string, name: string, port: number, httpBody: string): string {
  const tmp = join(dir, `${name}-tmp`);
  mkdirSync(tmp, { recursive: true });
  // daemon off + our own pid/error/temp paths: nginx runs as a child we stop by pid, never as
  // the system service, and writes nothing outside the temp folder.
  return `worker_processes 1;
daemon off;
master_process on;
pid ${join(dir, `${name}.pid`)};
error_log ${join(dir, `${name}.error.log`)} warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${tmp}/client_body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  default_type text/plain;
  # perf-baseline §7.2: the default of 1000 requests per connection forces reconnects under wrk.
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  ${httpBody.replaceAll('PORT', String(port))}
}
`;
}

const BACKEND_SERVER = `server {
    listen ${LOOPBACK}:PORT default_server;
    location / { return 200 "Hello World!\\n"; }
  }`;

/** The upstream backend also answers stub_status on a second port, for its accepts counter. */
function backendWithStatus(statusPort: number): string {
  return `${BACKEND_SERVER}
  server {
    listen ${LOOPBACK}:${statusPort};
    location / { stub_status; }
  }`;
}

function proxyServers(backendPort: number, keepalive: number): string {
  return `upstream hello_backend {
    server ${LOOPBACK}:${backendPort};
    # perf-baseline §7.1: keepalive caps only the idle cache; below the client concurrency nginx
    # opens and closes upstream connections by the tens of thousands per run.
    keepalive ${keepalive};
    keepalive_requests 1000000;
    keepalive_timeout 300s;
  }
  server {
    listen ${LOOPBACK}:PORT default_server;
    server_name _;
    return 404;
  }
  server {
    listen ${LOOPBACK}:PORT;
    server_name ${BENCH_HOST};
    location / {
      proxy_pass http://hello_backend;
      # perf-baseline §7.2: the proxy side defaults to HTTP/1.0 with Connection: close.
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
    }
  }`;
}

async function startNginx(
  ctx: { dir: string; tools: Tools },
  name: string,
  port: number,
  body: string,
): Promise<Managed> {
  const conf = join(ctx.dir, `${name}.conf`);
  writeFileSync(conf, nginxConf(ctx.dir, name, port, body));
  const proc = startProcess(
    name,
    ctx.tools.nginx,
    ['-p', ctx.dir, '-c', conf, '-e', join(ctx.dir, `${name}.startup.log`)],
    join(ctx.dir, `${name}.out.log`),
  );
  if (!(await waitForPort(port, 5_000))) {
    await stopProcess(proc);
    throw new Error(`${name}: nginx did not listen on ${port}; see ${join(ctx.dir, `${name}.error.log`)}`);
  }
  return proc;
}

/** The nginx worker under its master (1 worker): that is where the proxying CPU and RSS are. */
async function nginxWorker(master: Managed): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const w = childPids(master.pid)[0];
    if (w !== undefined) return w;
    await sleep(20);
  }
  return master.pid;
}

async function startSut(name: SutName, ctx: RepContext): Promise<RunningSut> {
  const port = await freePort();
  const node = process.execPath;
  switch (name) {
    case 'direct': {
      const proc = await startNginx(ctx, 'direct', port, BACKEND_SERVER);
      return { name, port, proc, mainPid: await nginxWorker(proc), info: {} };
    }
    case 'nginx-proxy': {
      const body = proxyServers(ctx.backendPort, Math.max(256, ctx.maxConnections));
      const proc = await startNginx(ctx, 'nginx-proxy', port, body);
      return { name, port, proc, mainPid: await nginxWorker(proc), info: {} };
    }
    case 'direct-node': {
      const proc = startProcess(
        name,
        node,
        [join(ctx.app.benchDir, 'hello-backend.js')],
        join(ctx.dir, `${name}.log`),
        {
          env: { ...process.env, PORT: String(port) },
        },
      );
      if (!(await waitForPort(port, 10_000))) throw new Error(`${name}: did not listen on ${port}`);
      return { name, port, proc, mainPid: proc.pid, info: {} };
    }
    case 'kedge-uws':
    case 'kedge-node': {
      const frontend = name === 'kedge-uws' ? 'uws' : 'node';
      const log = join(ctx.dir, `${name}.log`);
      const metricsPort = await freePort();
      const proc = startProcess(
        name,
        node,
        [
          ...KEDGE_NODE_FLAGS,
          join(ctx.app.benchDir, 'gateway-server.js'),
          '--frontend',
          frontend,
          '--port',
          String(port),
          '--backend-port',
          String(ctx.backendPort),
          '--metrics-port',
          String(metricsPort),
        ],
        log,
      );
      if (!(await waitForPort(port, 15_000)))
        throw new Error(`${name}: did not listen on ${port}; see ${log}`);
      // The ready line comes after the route and endpoints are set, a little after the port opens.
      let ready: string | undefined;
      for (let i = 0; i < 300 && ready === undefined; i++) {
        ready = readFileSync(log, 'utf8')
          .split('\n')
          .find((l) => l.startsWith('{"ready"'));
        if (ready === undefined) {
          if (proc.child.exitCode !== null) throw new Error(`${name}: exited at start; see ${log}`);
          await sleep(50);
        }
      }
      const loaded =
        ready === undefined ? 'unknown' : String((JSON.parse(ready) as { frontend?: unknown }).frontend);
      if (loaded !== frontend) throw new Error(`${name}: asked for the ${frontend} front end, got ${loaded}`);
      return { name, port, proc, mainPid: proc.pid, info: { frontend: loaded, metricsPort } };
    }
    case 'kedge-up':
      return startKedgeUp(ctx, port);
  }
}

async function startKedgeUp(ctx: RepContext, port: number): Promise<RunningSut> {
  const adminPort = await freePort();
  const dir = join(ctx.dir, 'kedge-up-services');
  mkdirSync(dir, { recursive: true });
  // min-scale 1: between two of its runs this row idles for about a minute while the others
  // run, and a scale to zero there would put a cold start into the next measurement.
  writeFileSync(
    join(dir, 'hello.yaml'),
    `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
  namespace: default
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: "1"
    spec:
      containers:
        - image: kedge-bench/hello
          command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(join(ctx.app.benchDir, 'hello-backend.js'))}]
`,
  );
  const log = join(ctx.dir, 'kedge-up.log');
  const proc = startProcess(
    'kedge-up',
    process.execPath,
    [
      ...KEDGE_NODE_FLAGS,
      ctx.app.kedgeJs,
      'up',
      '-f',
      dir,
      '--port',
      String(port),
      '--admin-port',
      String(adminPort),
      '--listen',
      LOOPBACK,
    ],
    log,
    { env: withoutFrontendOverride() },
  );
  const deadline = performance.now() + 30_000;
  for (;;) {
    const revs = await revisions(adminPort).catch(() => []);
    if (revs.some((r) => r.readyReplicas >= 1)) break;
    if (performance.now() > deadline || proc.child.exitCode !== null) {
      await stopProcess(proc);
      throw new Error(`kedge-up: no ready replica within 30 s; see ${log}`);
    }
    await sleep(100);
  }
  const text = readFileSync(log, 'utf8');
  const frontend = /\((\w+) front end\)/.exec(text)?.[1] ?? 'unknown';
  return { name: 'kedge-up', port, proc, mainPid: proc.pid, info: { frontend, adminPort } };
}

function withoutFrontendOverride(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['KEDGE_FRONTEND'];
  return env;
}

interface RevisionView {
  readonly name: string;
  readonly desiredReplicas: number;
  readonly readyReplicas: number;
}

function revisions(adminPort: number): Promise<RevisionView[]> {
  return new Promise((resolveP, reject) => {
    const req = httpGetRaw(
      { host: LOOPBACK, port: adminPort, path: '/api/v1/revisions', agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          try {
            resolveP(JSON.parse(text) as RevisionView[]);
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      },
    );
    req.setTimeout(2_000, () => req.destroy(new Error('admin API timed out')));
    req.on('error', reject);
  });
}

/** nginx stub_status: "Active connections: N" and the accepts counter. */
async function stubStatus(port: number): Promise<{ accepts: number }> {
  const r = await httpGet(port, '/', 'status');
  return { accepts: Number(/\n\s*(\d+)\s+\d+\s+\d+/.exec(r.body)?.[1] ?? 'NaN') };
}

/** kedge's request and error counters (prom-client text), keyed by series. */
async function kedgeCounters(sut: RunningSut): Promise<Map<string, number> | null> {
  const port = sut.info['metricsPort'] ?? sut.info['adminPort'];
  if (typeof port !== 'number') return null;
  try {
    const r = await httpGet(port, '/metrics', `${LOOPBACK}:${port}`, 3_000);
    const out = new Map<string, number>();
    for (const line of r.body.split('\n')) {
      const m = /^(kedge_(?:requests_total|request_errors_total|cold_starts_total)\S*)\s+(\S+)$/.exec(line);
      if (m?.[1] !== undefined) out.set(m[1], Number(m[2]));
    }
    return out;
  } catch {
    return null;
  }
}

/** Series that moved during the run, except the 2xx request count (that is wrk's `requests`). */
function counterDelta(
  before: Map<string, number> | null,
  after: Map<string, number> | null,
): Record<string, number> {
  const out: Record<string, number> = {};
  if (before === null || after === null) return out;
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d !== 0 && !(k.startsWith('kedge_requests_total') && k.includes('2xx'))) out[k] = d;
  }
  return out;
}

/** Correctness gate before any load: the right body for the route, 404 for an unknown host. */
async function preflight(sut: RunningSut): Promise<string | null> {
  try {
    const ok = await httpGet(sut.port, '/', BENCH_HOST);
    if (ok.status !== 200 || ok.body !== HELLO_BODY) {
      return `GET / (Host ${BENCH_HOST}) answered ${ok.status} ${JSON.stringify(ok.body.slice(0, 200))}`;
    }
    if (ROUTING.has(sut.name)) {
      const miss = await httpGet(sut.port, '/', 'nobody.default.example.com');
      if (miss.status !== 404) return `unknown Host answered ${miss.status}, want 404`;
    }
    return null;
  } catch (err) {
    return `preflight failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// One wrk run

interface WrkReport {
  readonly requests: number;
  readonly durationUs: number;
  readonly bytes: number;
  readonly errors: { connect: number; read: number; write: number; status: number; timeout: number };
  readonly latencyUs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

interface RunResult {
  readonly rep: number;
  readonly connections: number;
  readonly sut: SutName;
  /** Position in this rep's rotated order. */
  readonly slot: number;
  readonly ok: boolean;
  readonly failure?: string;
  readonly rps: number;
  readonly requests: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
  readonly errors: WrkReport['errors'] | null;
  /** Socket errors + HTTP >= 400 (wrk's `status` counts responses above 399). */
  readonly errorsTotal: number;
  /** CPU of the proxying process ÷ requests. */
  readonly cpuUsPerReq: number;
  readonly cpuPct: number;
  /** CPU of the SUT's whole process tree ÷ requests (kedge-up: includes its replicas). */
  readonly treeCpuUsPerReq: number;
  readonly rssMidMb: number;
  readonly hwmMb: number;
  readonly backendCpuPct: number;
  /**
   * Connections the upstream backend accepted during the run (all proxies idle but this one), and
   * the SUT's own established sockets to it at mid-run. A pooling proxy opens at most its pool
   * size once, then 0 per run.
   */
  readonly newUpstreamConns: number;
  readonly upstreamConnsMid: number;
  /** kedge rows: non-2xx request and error counters (by code) that moved during the run. */
  readonly kedgeCountersDelta?: Record<string, number>;
  /** kedge-up: replicas the autoscaler wanted / had ready at mid-run. */
  readonly replicasMid?: string;
  readonly wrkCpuPct: number;
  /** Busy CPU of the whole machine (200 % = both cores), and the part no process of ours used. */
  readonly machineBusyPct: number;
  readonly otherCpuPct: number;
  /** When the run had errors: what one GET right after it got. */
  readonly probeAfter?: string;
}

async function runWrk(
  tools: Tools,
  port: number,
  connections: number,
  durationS: number,
  onSample?: (atFraction: number, wrkPid: number) => void,
): Promise<{ report: WrkReport | null; output: string }> {
  const lua = join(BENCH_SRC_DIR, 'wrk-report.lua');
  const args = [
    '-t1',
    `-c${connections}`,
    `-d${durationS}s`,
    '--latency',
    '--timeout',
    '5s',
    '-H',
    `Host: ${BENCH_HOST}`,
    '-s',
    lua,
    `http://${LOOPBACK}:${port}/`,
  ];
  const child = spawn(tools.wrk, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
  const timers: NodeJS.Timeout[] = [];
  const pid = child.pid;
  if (onSample !== undefined && pid !== undefined) {
    for (const f of [0.1, 0.5, 0.9])
      timers.push(
        setTimeout(
          () => {
            onSample(f, pid);
          },
          durationS * 1000 * f,
        ),
      );
  }
  // Every load run is bounded: wrk stops itself at -d; this is the backstop.
  const kill = setTimeout(
    () => {
      child.kill('SIGKILL');
    },
    (durationS + 20) * 1000,
  );
  await new Promise<void>((r) => {
    child.once('exit', () => {
      r();
    });
  });
  clearTimeout(kill);
  for (const t of timers) clearTimeout(t);
  const line = output.split('\n').find((l) => l.startsWith('WRKJSON '));
  return { report: line === undefined ? null : (JSON.parse(line.slice(8)) as WrkReport), output };
}

async function measure(
  ctx: RepContext,
  sut: RunningSut,
  backendPid: number,
  rep: number,
  slot: number,
  connections: number,
  durationS: number,
): Promise<RunResult> {
  const base = { rep, connections, sut: sut.name, slot };
  if (sut.proc.child.exitCode !== null || sut.proc.child.signalCode !== null) {
    return failed(
      base,
      `process exited before the run (${String(sut.proc.child.exitCode ?? sut.proc.child.signalCode)})`,
    );
  }
  const t0 = performance.now();
  const main0 = cpuSeconds(sut.mainPid);
  const tree0 = treeCpuSeconds(sut.proc.pid);
  const backend0 = cpuSeconds(backendPid);
  const status = (): Promise<{ accepts: number }> =>
    stubStatus(ctx.backendStatusPort).catch(() => ({ accepts: Number.NaN }));
  const accepts0 = (await status()).accepts;
  const counters0 = await kedgeCounters(sut);
  let upstreamConnsMid = Number.NaN;
  const mid: { replicas: Promise<string> | null } = { replicas: null };
  let rssMidMb = 0;
  let wrkA = { cpu: 0, at: 0 };
  let wrkB = { cpu: 0, at: 0 };
  let machA = machineCpu();
  let machB = machA;
  let oursA = 0;
  let oursB = 0;
  const ours = (wrkPid: number): number =>
    treeCpuSeconds(sut.proc.pid) + cpuSeconds(backendPid) + cpuSeconds(wrkPid);
  const { report, output } = await runWrk(ctx.tools, sut.port, connections, durationS, (f, wrkPid) => {
    if (f === 0.5) {
      rssMidMb = memoryMb(sut.mainPid).rssMb;
      upstreamConnsMid = upstreamSockets(processTree(sut.proc.pid), ctx.backendPort);
      const adminPort = sut.info['adminPort'];
      if (typeof adminPort === 'number') {
        mid.replicas = revisions(adminPort).then(
          (revs) => revs.map((r) => `${r.desiredReplicas}/${r.readyReplicas}`).join(','),
          (err: unknown) => String(err),
        );
      }
    }
    // Machine and wrk CPU between 10 % and 90 % of the run: inside it, wrk is surely running.
    const sample = { cpu: cpuSeconds(wrkPid), at: performance.now() };
    if (f === 0.1) {
      wrkA = sample;
      machA = machineCpu();
      oursA = ours(wrkPid);
    }
    if (f === 0.9) {
      wrkB = sample;
      machB = machineCpu();
      oursB = ours(wrkPid);
    }
  });
  const elapsedS = (performance.now() - t0) / 1000;
  const mainCpu = cpuSeconds(sut.mainPid) - main0;
  const treeCpu = treeCpuSeconds(sut.proc.pid) - tree0;
  const backendCpu = cpuSeconds(backendPid) - backend0;
  const hwmMb = memoryMb(sut.mainPid).hwmMb;
  const accepts1 = (await status()).accepts;
  const kedgeCountersDelta = counterDelta(counters0, await kedgeCounters(sut));
  // The stub_status request before is a connection too.
  const newUpstreamConns = accepts1 - accepts0 - 1;
  if (report === null) return failed(base, `wrk printed no report: ${output.trim().slice(0, 500)}`);
  const windowS = (wrkB.at - wrkA.at) / 1000;
  const machTicks = machB.total - machA.total;
  // /proc/stat counts jiffies across all cores: busy/total is the fraction of the whole machine.
  const machineBusyPct = machTicks > 0 ? ((machB.busy - machA.busy) / machTicks) * 100 * machineCores() : 0;
  const oursPct = windowS > 0 ? ((oursB - oursA) / windowS) * 100 : 0;
  const e = report.errors;
  const errorsTotal = e.connect + e.read + e.write + e.status + e.timeout;
  const requests = report.requests;
  const result: RunResult = {
    ...base,
    ok: true,
    rps: requests / (report.durationUs / 1e6),
    requests,
    p50Us: report.latencyUs.p50,
    p90Us: report.latencyUs.p90,
    p99Us: report.latencyUs.p99,
    maxUs: report.latencyUs.max,
    errors: e,
    errorsTotal,
    cpuUsPerReq: requests > 0 ? (mainCpu * 1e6) / requests : Number.NaN,
    cpuPct: (mainCpu / elapsedS) * 100,
    treeCpuUsPerReq: requests > 0 ? (treeCpu * 1e6) / requests : Number.NaN,
    rssMidMb,
    hwmMb,
    backendCpuPct: (backendCpu / elapsedS) * 100,
    newUpstreamConns,
    upstreamConnsMid,
    kedgeCountersDelta,
    ...(mid.replicas === null ? {} : { replicasMid: await mid.replicas }),
    wrkCpuPct: windowS > 0 ? ((wrkB.cpu - wrkA.cpu) / windowS) * 100 : 0,
    machineBusyPct,
    otherCpuPct: Math.max(0, machineBusyPct - oursPct),
  };
  if (errorsTotal === 0) return result;
  // Name what the errors were: wrk only counts them.
  let probeAfter: string;
  try {
    const r = await httpGet(sut.port, '/', BENCH_HOST);
    probeAfter = `${r.status} ${JSON.stringify(r.body.slice(0, 200))}`;
  } catch (err) {
    probeAfter = err instanceof Error ? err.message : String(err);
  }
  return { ...result, probeAfter };
}

function machineCores(): number {
  return readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm)?.length ?? 1;
}

function failed(base: Pick<RunResult, 'rep' | 'connections' | 'sut' | 'slot'>, failure: string): RunResult {
  return {
    ...base,
    ok: false,
    failure,
    rps: Number.NaN,
    requests: 0,
    p50Us: Number.NaN,
    p90Us: Number.NaN,
    p99Us: Number.NaN,
    maxUs: Number.NaN,
    errors: null,
    errorsTotal: 0,
    cpuUsPerReq: Number.NaN,
    cpuPct: Number.NaN,
    treeCpuUsPerReq: Number.NaN,
    rssMidMb: Number.NaN,
    hwmMb: Number.NaN,
    backendCpuPct: Number.NaN,
    newUpstreamConns: Number.NaN,
    upstreamConnsMid: Number.NaN,
    wrkCpuPct: Number.NaN,
    machineBusyPct: Number.NaN,
    otherCpuPct: Number.NaN,
  };
}

// ---------------------------------------------------------------------------------------------
// A rep: fresh processes, warm-up, interleaved runs in rotated order.

interface RepNotes {
  readonly rep: number;
  readonly order: readonly SutName[];
  readonly info: Record<string, Record<string, string | number>>;
  readonly preflightFailures: Record<string, string>;
  /** warn/error lines and crashes seen in the kedge logs during the rep. */
  readonly logProblems: Record<string, string[]>;
}

async function runRep(
  opts: Options,
  tools: Tools,
  app: AppSnapshot,
  root: string,
  rep: number,
  out: RunResult[],
  log: (s: string) => void,
): Promise<RepNotes> {
  const dir = join(root, `rep-${rep}`);
  mkdirSync(dir, { recursive: true });
  const order = opts.suts.map((_, i) => opts.suts[(i + rep) % opts.suts.length] as SutName);
  const notes: RepNotes = { rep, order, info: {}, preflightFailures: {}, logProblems: {} };
  const backendPort = await freePort();
  const backendStatusPort = await freePort();
  const backend = await startNginx(
    { dir, tools },
    'backend',
    backendPort,
    backendWithStatus(backendStatusPort),
  );
  const ctx: RepContext = {
    dir,
    tools,
    backendPort,
    backendStatusPort,
    maxConnections: Math.max(...opts.connections),
    app,
  };
  const running: RunningSut[] = [];
  try {
    const backendPid = await nginxWorker(backend);
    for (const name of order) {
      try {
        const sut = await startSut(name, ctx);
        running.push(sut);
        notes.info[name] = sut.info;
        const problem = await preflight(sut);
        if (problem !== null) notes.preflightFailures[name] = problem;
      } catch (err) {
        notes.preflightFailures[name] = err instanceof Error ? err.message : String(err);
      }
    }
    for (const [name, problem] of Object.entries(notes.preflightFailures)) log(`  ! ${name}: ${problem}`);
    const usable = running.filter((s) => notes.preflightFailures[s.name] === undefined);
    log(
      `rep ${rep + 1}/${opts.reps}: ${opts.warmupS}s unrecorded warm-up right before each run, order ${order.join(', ')}`,
    );
    for (const c of opts.connections) {
      for (const [slot, name] of order.entries()) {
        const sut = usable.find((s) => s.name === name);
        if (sut === undefined) {
          out.push(
            failed({ rep, connections: c, sut: name, slot }, notes.preflightFailures[name] ?? 'not started'),
          );
          continue;
        }
        // Warmed at the run's own concurrency and right before it, not once per rep: perf-baseline
        // §7.6 (a Node process's first seconds show a poor p99), and kedge's p99 kept improving over
        // ~10 s of load, also after sitting idle through the other systems' runs (bench/README.md,
        // "warm-up"); nginx's is steady from the first second.
        if (opts.warmupS > 0) await runWrk(tools, sut.port, c, opts.warmupS);
        await sleep(1_000);
        const r = await measure(ctx, sut, backendPid, rep, slot, c, opts.durationS);
        out.push(r);
        log(
          r.ok
            ? `  c=${c} ${name.padEnd(11)} ${fmtInt(r.rps).padStart(8)} rps  p50 ${fmtMs(r.p50Us)}  p99 ${fmtMs(r.p99Us)}  ` +
                `${fmtFixed(r.cpuUsPerReq, 1)} µs/req  rss ${fmtFixed(r.rssMidMb, 1)} MB  errors ${r.errorsTotal}` +
                `  upstream new/held ${fmtInt(r.newUpstreamConns)}/${fmtInt(r.upstreamConnsMid)}` +
                (r.replicasMid === undefined ? '' : `  replicas desired/ready ${r.replicasMid}`) +
                `  (other load ${fmtFixed(r.otherCpuPct, 0)}%)` +
                (r.probeAfter === undefined ? '' : `  probe after: ${r.probeAfter}`) +
                (r.errorsTotal > 0 && r.kedgeCountersDelta !== undefined
                  ? `\n      kedge counters: ${JSON.stringify(r.kedgeCountersDelta)}`
                  : '')
            : `  c=${c} ${name.padEnd(11)} FAILED: ${r.failure ?? ''}`,
        );
      }
    }
  } finally {
    for (const sut of running) {
      const crashed = sut.proc.child.exitCode !== null || sut.proc.child.signalCode !== null;
      await stopProcess(sut.proc);
      const problems = logProblems(sut);
      if (crashed)
        problems.unshift(
          `process had exited during the rep (${String(sut.proc.child.exitCode ?? sut.proc.child.signalCode)})`,
        );
      if (problems.length > 0) notes.logProblems[sut.name] = problems;
    }
    await stopProcess(backend);
    // A system that failed after its process started is in no list above; nothing outlives a rep.
    const stragglers = await stopAllStarted();
    if (stragglers.length > 0) log(`  stopped leftover processes: ${stragglers.join(', ')}`);
  }
  return notes;
}

/** warn/error lines of a kedge process's log (kedge-up logs at info; gateway-server logs nothing). */
function logProblems(sut: RunningSut): string[] {
  if (!sut.name.startsWith('kedge')) return [];
  let text: string;
  try {
    text = readFileSync(sut.proc.logPath, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => /\b(warn|error)\b|Error|uncaught|FATAL/i.test(l) && !l.startsWith('{"ready"'))
    .slice(0, 20);
}

// ---------------------------------------------------------------------------------------------
// Summary

interface SummaryRow {
  readonly connections: number;
  readonly sut: SutName;
  readonly reps: number;
  readonly rps: number;
  readonly rpsMin: number;
  readonly rpsMax: number;
  /** Median over reps of (this rps ÷ nginx-proxy's rps in the same rep and c). */
  readonly rpsRatio: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** Median over reps of (this p99 ÷ nginx-proxy's p99): above 1 is worse. */
  readonly p99Ratio: number;
  /**
   * Median over reps of (this µs/req ÷ nginx-proxy's): CPU cost per request. When other work
   * starves the SUT of CPU, rps drops but µs/req barely moves, so on a busy machine this is the
   * steadier comparison (perf-baseline §3: "the most portable figure").
   */
  readonly cpuRatio: number;
  readonly errors: number;
  readonly cpuUsPerReq: number;
  readonly treeCpuUsPerReq: number;
  readonly cpuPct: number;
  readonly rssMidMb: number;
  readonly hwmMb: number;
  readonly otherCpuPct: number;
  readonly newUpstreamConns: number;
  readonly upstreamConnsMid: number;
  readonly failures: readonly string[];
}

function summarize(opts: Options, runs: readonly RunResult[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const c of opts.connections) {
    for (const sut of SUT_NAMES.filter((s) => opts.suts.includes(s))) {
      const all = runs.filter((r) => r.connections === c && r.sut === sut);
      const ok = all.filter((r) => r.ok);
      const ratio = (pick: (r: RunResult) => number): number =>
        median(
          ok.flatMap((r) => {
            const ref = runs.find(
              (x) => x.ok && x.rep === r.rep && x.connections === c && x.sut === REFERENCE,
            );
            return ref === undefined ? [] : [pick(r) / pick(ref)];
          }),
        );
      const rps = ok.map((r) => r.rps);
      rows.push({
        connections: c,
        sut,
        reps: ok.length,
        rps: median(rps),
        rpsMin: Math.min(...rps),
        rpsMax: Math.max(...rps),
        rpsRatio: ratio((r) => r.rps),
        p50Us: median(ok.map((r) => r.p50Us)),
        p99Us: median(ok.map((r) => r.p99Us)),
        p99Ratio: ratio((r) => r.p99Us),
        cpuRatio: ratio((r) => r.cpuUsPerReq),
        errors: ok.reduce((a, r) => a + r.errorsTotal, 0),
        cpuUsPerReq: median(ok.map((r) => r.cpuUsPerReq)),
        treeCpuUsPerReq: median(ok.map((r) => r.treeCpuUsPerReq)),
        cpuPct: median(ok.map((r) => r.cpuPct)),
        rssMidMb: median(ok.map((r) => r.rssMidMb)),
        hwmMb: Math.max(...ok.map((r) => r.hwmMb)),
        otherCpuPct: median(ok.map((r) => r.otherCpuPct)),
        newUpstreamConns: median(ok.map((r) => r.newUpstreamConns)),
        upstreamConnsMid: median(ok.map((r) => r.upstreamConnsMid)),
        failures: all.filter((r) => !r.ok).map((r) => `rep ${r.rep + 1}: ${r.failure ?? ''}`),
      });
    }
  }
  return rows;
}

function table(rows: readonly SummaryRow[]): string {
  const head =
    '| c | system | rps | min–max | ×nginx-proxy rps | p50 | p99 | ×nginx-proxy p99 | errors | µs/req | ×nginx-proxy µs/req | SUT CPU % | RSS MB mid | HWM MB | upstream conns new / held | other load % |\n' +
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
  return (
    head +
    rows
      .map((r) =>
        r.reps === 0
          ? `| ${r.connections} | ${r.sut} | FAILED | ${r.failures.join('; ').replaceAll('|', '/')} |${' |'.repeat(12)}`
          : `| ${r.connections} | ${r.sut} | ${fmtInt(r.rps)} | ${fmtInt(r.rpsMin)}–${fmtInt(r.rpsMax)} | ${fmtFixed(r.rpsRatio, 2)} | ` +
            `${fmtMs(r.p50Us)} | ${fmtMs(r.p99Us)} | ${fmtFixed(r.p99Ratio, 2)} | ${r.errors} | ` +
            `${fmtFixed(r.cpuUsPerReq, 1)}${r.sut === 'kedge-up' ? ` (tree ${fmtFixed(r.treeCpuUsPerReq, 1)})` : ''} | ` +
            `${fmtFixed(r.cpuRatio, 2)} | ${fmtFixed(r.cpuPct, 0)} | ${fmtFixed(r.rssMidMb, 1)} | ${fmtFixed(r.hwmMb, 1)} | ` +
            `${r.sut.startsWith('direct') || r.sut === 'kedge-up' ? '-' : `${fmtInt(r.newUpstreamConns)} / ${fmtInt(r.upstreamConnsMid)}`} | ` +
            `${fmtFixed(r.otherCpuPct, 0)} |`,
      )
      .join('\n') +
    '\n'
  );
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const log = (s: string): void => {
    process.stdout.write(s + '\n');
  };
  if (opts.summarize !== null) {
    const earlier = JSON.parse(readFileSync(opts.summarize, 'utf8')) as {
      options: Options;
      runs: RunResult[];
    };
    log(table(summarize(earlier.options, earlier.runs)));
    return;
  }
  const tools = ensureTools(log);
  const started = new Date();
  const root = mkdtempSync(join(tmpdir(), 'kedge-bench-'));
  const machine = machineInfo();
  const app = snapshotApp(root);
  log(
    `kedge load bench: ${opts.reps} rep(s) × c=${opts.connections.join(',')} × ${opts.durationS}s, ` +
      `${opts.suts.length} systems; ${String(machine['cpus'])} CPUs (${String(machine['cpuModel'])}), ` +
      `load ${fmtFixed(Number(machine['loadavg1']), 2)}; gateway build ${app.gatewayBuild}; ${tools.wrkVersion}; ${tools.nginxVersion}; temp ${root}`,
  );
  const runs: RunResult[] = [];
  const reps: RepNotes[] = [];
  try {
    for (let rep = 0; rep < opts.reps; rep++) reps.push(await runRep(opts, tools, app, root, rep, runs, log));
  } finally {
    if (!opts.keepTmp) rmSync(root, { recursive: true, force: true });
  }
  const summary = summarize(opts, runs);
  const finished = new Date();
  log('\nMedians over reps; ratios are medians of per-rep ratios to nginx-proxy (same rep, same c).');
  log('×nginx-proxy: rps above 1 is faster; p99 and µs/req below 1 are better.');
  log(
    'µs/req and RSS are of the proxying process (nginx worker, gateway process, kedge); kedge-up adds its replicas as "tree".\n',
  );
  log(table(summary));
  for (const n of reps) {
    for (const [name, problems] of Object.entries(n.logProblems)) {
      log(`rep ${n.rep + 1} ${name} log:\n  ${problems.join('\n  ')}`);
    }
  }
  const file = join(resultsDir(), `load-${timestamp()}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        kind: 'kedge-load-bench',
        started: started.toISOString(),
        finished: finished.toISOString(),
        machine: { ...machine, loadavg1End: machineInfo()['loadavg1'] },
        gatewayBuild: app.gatewayBuild,
        tools: { wrk: tools.wrkVersion, nginx: tools.nginxVersion },
        options: opts,
        method:
          'wrk -t1 -cN -d<dur>s --latency --timeout 5s -H "Host: hello.default.example.com" -s bench/wrk-report.lua; ' +
          'fresh processes per rep; a warm-up at the same concurrency right before each run; interleaved, order rotated per rep; unpinned',
        descriptions: DESCRIPTIONS,
        reps,
        summary,
        runs,
      },
      null,
      2,
    ) + '\n',
  );
  log(`wrote ${file} (${((finished.getTime() - started.getTime()) / 1000).toFixed(0)} s)`);
}

process.on('exit', killAllStarted);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllStarted();
    process.exit(130);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(
    `load bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  killAllStarted();
  process.exitCode = 1;
});
