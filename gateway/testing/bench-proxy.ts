// A quick side-by-side load check of the gateway against an nginx proxy (the full comparison
// lives in bench/). Every configuration proxies to one nginx `return 200` backend on 127.0.0.1;
// nginx runs by hand (`master_process off`, so its pid is the worker) with a config written to a
// temp folder, never as a service, and every process is stopped by its pid.
//
//   node dist/gateway/testing/bench-proxy.js [--reps 3] [--duration 10] [--connections 64] [--no-pin]
//     [--only nginx-proxy,uws+raw,...] [--baseline OTHER/dist]
//
// A gateway configuration is FRONT+UPSTREAM, optionally followed by `+log` (the access log on, to
// a file in the temp folder) and `@base` (the bench-server.js of another build, `--baseline`: an
// A/B of two builds in one run, e.g. `--only nginx-proxy,uws+raw,uws+raw@base`).
//
// Per rep: fresh processes, a 3 s warm-up for each configuration, then one measured wrk run per
// configuration, interleaved, the order rotating each rep (perf-baseline §2). Pinned layout as in
// the baseline: wrk and the backend on CPU0, the system under test on CPU1. Reported: req/s,
// p99, and the SUT's CPU µs per request from /proc/PID/stat (utime + stime).
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { connect } from 'node:net';
import { KEDGE_NODE_FLAGS } from '../../lib/node-flags.js';

const HOST = 'hello.default.example.com';
const CONFIGS = ['nginx-proxy', 'uws+raw', 'uws+undici', 'node+raw', 'node+undici'] as const;
type Config = string;
const CONFIG_PATTERN = /^(nginx-proxy|(uws|node)\+(raw|undici)(\+log)?(@base)?)$/;

interface Args {
  reps: number;
  durationS: number;
  connections: number;
  pin: boolean;
  only: readonly Config[];
  warmupS: number;
  /** A dist/ folder whose gateway/testing/bench-server.js the `@base` configurations run. */
  baseline: string;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    reps: 3,
    durationS: 10,
    connections: 64,
    pin: true,
    only: CONFIGS,
    warmupS: 3,
    baseline: '',
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1] ?? '';
    if (k === '--reps') a.reps = Math.min(10, Number(v));
    else if (k === '--duration') a.durationS = Math.min(60, Number(v));
    else if (k === '--warmup') a.warmupS = Math.min(30, Number(v));
    else if (k === '--connections') a.connections = Math.min(1024, Number(v));
    else if (k === '--no-pin') {
      a.pin = false;
      continue;
    } else if (k === '--only') a.only = v.split(',').filter((c) => CONFIG_PATTERN.test(c));
    else if (k === '--baseline') a.baseline = v;
    else continue;
    i++;
  }
  return a;
}

const dir = mkdtempSync(join(tmpdir(), 'kedge-bench-proxy-'));
const children = new Set<ChildProcess>();

function nginxConf(name: string, body: string): string {
  const file = join(dir, `${name}.conf`);
  writeFileSync(
    file,
    `daemon off;
master_process off;
worker_processes 1;
pid ${join(dir, name + '.pid')};
error_log ${join(dir, name + '.error.log')} warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/${name}-body;
  proxy_temp_path ${dir}/${name}-proxy;
  fastcgi_temp_path ${dir}/${name}-fastcgi;
  uwsgi_temp_path ${dir}/${name}-uwsgi;
  scgi_temp_path ${dir}/${name}-scgi;
  keepalive_requests 1000000;
  keepalive_timeout 65;
${body}
}
`,
  );
  return file;
}

function start(
  cmd: string,
  args: readonly string[],
  cpu: number | null,
  env: NodeJS.ProcessEnv = process.env,
): ChildProcess {
  const argv = cpu === null ? [cmd, ...args] : ['taskset', '-c', String(cpu), cmd, ...args];
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.add(child);
  child.on('exit', () => children.delete(child));
  child.stderr.on('data', (d: Buffer) => process.stderr.write(`[${cmd}] ${d.toString()}`));
  return child;
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Stops one child we started, by its pid: SIGTERM, then SIGKILL after 3 s. */
async function stop(child: ChildProcess): Promise<void> {
  if (!running(child) || child.pid === undefined) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(3_000)]);
  if (running(child)) child.kill('SIGKILL');
}

async function waitPort(port: number, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => {
        resolve(false);
      });
    });
    if (ok) return;
    await sleep(20);
  }
  throw new Error(`nothing listens on ${port} after ${limitMs} ms`);
}

/** utime + stime of a process, in µs (clock ticks of 10 ms on Linux). */
function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks * 10_000;
}

interface WrkResult {
  rps: number;
  p99Ms: number;
  errors: string;
}

function parseLatencyMs(s: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(s);
  if (m === null) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

async function wrk(port: number, a: Args, seconds: number): Promise<WrkResult> {
  const args = [
    '-t1',
    `-c${a.connections}`,
    `-d${seconds}s`,
    '--latency',
    '-H',
    `Host: ${HOST}`,
    `http://127.0.0.1:${port}/`,
  ];
  const child = start('wrk', args, a.pin ? 0 : null);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.once('exit', r));
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 'NaN');
  const p99 = parseLatencyMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const errors = [/Socket errors:.*/.exec(out)?.[0], /Non-2xx or 3xx responses: \d+/.exec(out)?.[0]]
    .filter((x) => x !== undefined)
    .join('; ');
  return { rps, p99Ms: p99, errors };
}

interface Sut {
  readonly child: ChildProcess;
  readonly port: number;
}

let nextPort = 18_100;

async function startSut(config: Config, backendPort: number, a: Args): Promise<Sut> {
  const port = nextPort++;
  const cpu = a.pin ? 1 : null;
  if (config === 'nginx-proxy') {
    const conf = nginxConf(
      `proxy-${port}`,
      `  upstream hello { server 127.0.0.1:${backendPort}; keepalive 256; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port} default_server;
    return 404;
  }
  server {
    listen 127.0.0.1:${port};
    server_name ${HOST};
    location / {
      proxy_pass http://hello;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }`,
    );
    const child = start('nginx', ['-p', dir, '-c', conf, '-e', join(dir, 'proxy-stderr.log')], cpu);
    await waitPort(port);
    return { child, port };
  }
  const base = config.endsWith('@base');
  const [front, upstream, log] = config.replace('@base', '').split('+') as [string, string, string?];
  if (base && a.baseline === '') throw new Error(`${config} needs --baseline OTHER/dist`);
  const server = base
    ? join(a.baseline, 'gateway', 'testing', 'bench-server.js')
    : fileURLToPath(new URL('./bench-server.js', import.meta.url));
  const child = start(
    process.execPath,
    [...KEDGE_NODE_FLAGS, server, String(port), String(backendPort)],
    cpu,
    {
      ...process.env,
      KEDGE_FRONTEND: front,
      KEDGE_UPSTREAM: upstream,
      KEDGE_BENCH_ACCESS_LOG: log === 'log' ? dir : '',
    },
  );
  await waitPort(port);
  return { child, port };
}

interface Row {
  config: Config;
  rep: number;
  rps: number;
  p99Ms: number;
  cpuUsPerReq: number;
  errors: string;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const n = s.length;
  return n === 0
    ? NaN
    : n % 2 === 1
      ? (s[(n - 1) / 2] as number)
      : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (spawnSync('which', ['wrk']).status !== 0 || spawnSync('which', ['nginx']).status !== 0)
    throw new Error(
      'needs wrk and nginx (apt-get install wrk nginx-light; nginx is run by hand, not as a service)',
    );
  const backendPort = 18_090;
  const backendConf = nginxConf(
    'backend',
    `  server { listen 127.0.0.1:${backendPort}; location / { return 200 "Hello World!\\n"; } }`,
  );
  const backend = start(
    'nginx',
    ['-p', dir, '-c', backendConf, '-e', join(dir, 'backend-stderr.log')],
    a.pin ? 0 : null,
  );
  await waitPort(backendPort);
  const rows: Row[] = [];
  try {
    for (let rep = 0; rep < a.reps; rep++) {
      const order = a.only.map((_, i) => a.only[(i + rep) % a.only.length] as Config);
      const suts = new Map<Config, Sut>();
      for (const c of order) suts.set(c, await startSut(c, backendPort, a));
      for (const c of order) await wrk((suts.get(c) as Sut).port, a, a.warmupS);
      for (const c of order) {
        const sut = suts.get(c) as Sut;
        const pid = sut.child.pid as number;
        const before = cpuMicros(pid);
        const r = await wrk(sut.port, a, a.durationS);
        const used = cpuMicros(pid) - before;
        const row: Row = {
          config: c,
          rep,
          rps: r.rps,
          p99Ms: r.p99Ms,
          cpuUsPerReq: used / (r.rps * a.durationS),
          errors: r.errors,
        };
        rows.push(row);
        process.stderr.write(
          `rep ${rep} ${c.padEnd(12)} ${r.rps.toFixed(0).padStart(7)} req/s  p99 ${r.p99Ms.toFixed(2)} ms  ${row.cpuUsPerReq.toFixed(1)} µs/req ${r.errors}\n`,
        );
      }
      for (const sut of suts.values()) await stop(sut.child);
    }
  } finally {
    await stop(backend);
  }
  const base = rows.filter((r) => r.config === 'nginx-proxy');
  const lines = [
    `c=${a.connections}, ${a.durationS} s runs, ${a.reps} reps, ${a.pin ? 'pinned (wrk+backend CPU0, SUT CPU1)' : 'unpinned'}; medians, ratios per rep then median`,
    '',
    '| config | req/s | /nginx-proxy | p99 | p99 /nginx | CPU µs/req |',
    '|---|---|---|---|---|---|',
  ];
  for (const c of a.only) {
    const mine = rows.filter((r) => r.config === c);
    const ratio = (f: (r: Row) => number): number =>
      median(
        mine.map((r) => {
          const b = base.find((x) => x.rep === r.rep);
          return b === undefined ? NaN : f(r) / f(b);
        }),
      );
    lines.push(
      `| ${c} | ${median(mine.map((r) => r.rps)).toFixed(0)} | ${ratio((r) => r.rps).toFixed(2)} | ${median(mine.map((r) => r.p99Ms)).toFixed(2)} ms | ${ratio((r) => r.p99Ms).toFixed(2)} | ${median(mine.map((r) => r.cpuUsPerReq)).toFixed(1)} |`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

try {
  await main();
} finally {
  for (const c of children) await stop(c);
  rmSync(dir, { recursive: true, force: true });
}
