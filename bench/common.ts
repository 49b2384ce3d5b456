// Shared plumbing of the load and cold-start benches: tools (wrk, nginx) installed on demand,
// child processes started and stopped by pid only, /proc sampling, ports, small HTTP probes and
// statistics. Everything listens on 127.0.0.1 only.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  closeSync,
  copyFileSync,
  cpSync,
  symlinkSync,
  writeFileSync,
  rmSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect, createServer } from 'node:net';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LOOPBACK = '127.0.0.1';
/** The Host every row is hit with; nginx backends ignore it, the proxies route on it. */
export const BENCH_HOST = 'hello.default.example.com';
/** The 13-byte body of the baseline's backends (perf-baseline §2). */
export const HELLO_BODY = 'Hello World!\n';

/** dist/bench/ at run time; the repository root is two levels up. */
export const BENCH_DIST_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(BENCH_DIST_DIR, '..', '..');
export const BENCH_SRC_DIR = join(REPO_ROOT, 'bench');

export const sleep = (ms: number): Promise<void> =>
  new Promise((r) => {
    setTimeout(r, ms);
  });

// ---------------------------------------------------------------------------------------------
// Tools

const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

function which(name: string): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(':'), ...SBIN_DIRS].filter((d) => d !== '');
  for (const d of dirs) {
    const p = join(d, name);
    if (existsSync(p)) return p;
  }
  return null;
}

export interface Tools {
  readonly wrk: string;
  readonly nginx: string;
  readonly wrkVersion: string;
  readonly nginxVersion: string;
}

/**
 * wrk and nginx from Debian, installed when missing (the bench runs as root on a fresh machine).
 * A policy-rc.d that exits 101 keeps dpkg from starting nginx as a system service; we only ever
 * run nginx by hand with our own config, and stop it by pid.
 */
export function ensureTools(log: (line: string) => void): Tools {
  let wrk = which('wrk');
  let nginx = which('nginx');
  if (wrk === null || nginx === null) {
    if (process.getuid?.() !== 0) {
      throw new Error(
        'wrk and nginx are missing; install them with `apt-get install -y wrk nginx` (as root)',
      );
    }
    log('installing wrk and nginx from Debian (apt-get) ...');
    const policy = '/usr/sbin/policy-rc.d';
    const ownPolicy = !existsSync(policy);
    if (ownPolicy)
      writeFileSync(policy, '#!/bin/sh\n# kedge bench: never start services on install\nexit 101\n', {
        mode: 0o755,
      });
    try {
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'wrk', 'nginx']]) {
        const r = spawnSync('apt-get', args, {
          stdio: ['ignore', 'ignore', 'inherit'],
          env,
          timeout: 600_000,
        });
        if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${String(r.status)})`);
      }
    } finally {
      if (ownPolicy) rmSync(policy, { force: true });
    }
    wrk = which('wrk');
    nginx = which('nginx');
    if (wrk === null || nginx === null) throw new Error('apt-get finished but wrk or nginx is still missing');
  }
  // `wrk -v` prints its banner and exits 1; nginx -v prints to stderr.
  const wrkBanner = spawnSync(wrk, ['-v'], { encoding: 'utf8' });
  const nginxBanner = spawnSync(nginx, ['-v'], { encoding: 'utf8' });
  return {
    wrk,
    nginx,
    wrkVersion: (wrkBanner.stdout + wrkBanner.stderr).split('\n')[0]?.trim() ?? '',
    nginxVersion: nginxBanner.stderr.trim(),
  };
}

export function machineInfo(): Record<string, string | number> {
  const cpuList = cpus();
  let commit: string;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    }).trim();
  } catch {
    commit = 'unknown';
  }
  return {
    cpuModel: cpuList[0]?.model ?? 'unknown',
    cpus: cpuList.length,
    kernel: release(),
    node: process.version,
    loadavg1: loadavg()[0] ?? 0,
    gitCommit: commit,
  };
}

// ---------------------------------------------------------------------------------------------
// A frozen copy of the build

export interface AppSnapshot {
  /** dist/bench of the copy. */
  readonly benchDir: string;
  /** dist/cli/kedge.js of the copy. */
  readonly kedgeJs: string;
  /** sha1 of the gateway's compiled files: tells runs of different gateway builds apart. */
  readonly gatewayBuild: string;
}

/**
 * Copies dist/ (with package.json for "type": "module", and a node_modules symlink) into `root`.
 * Other engineers rebuild dist/ while a 10-minute run goes on; every rep starts fresh processes,
 * so without a copy the later reps could measure a different gateway than the earlier ones.
 */
export function snapshotApp(root: string): AppSnapshot {
  const app = join(root, 'app');
  mkdirSync(app, { recursive: true });
  cpSync(join(REPO_ROOT, 'dist'), join(app, 'dist'), {
    recursive: true,
    filter: (src) => !src.endsWith('.map') && !src.endsWith('.tsbuildinfo'),
  });
  copyFileSync(join(REPO_ROOT, 'package.json'), join(app, 'package.json'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(app, 'node_modules'), 'dir');
  const hash = createHash('sha1');
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js') && !e.name.endsWith('.test.js'))
        hash.update(e.name).update(readFileSync(p));
    }
  };
  walk(join(app, 'dist', 'gateway'));
  return {
    benchDir: join(app, 'dist', 'bench'),
    kedgeJs: join(app, 'dist', 'cli', 'kedge.js'),
    gatewayBuild: hash.digest('hex').slice(0, 12),
  };
}

// ---------------------------------------------------------------------------------------------
// Ports and HTTP probes

/** A free port on 127.0.0.1 (bound, then released; the caller binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolveP, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, LOOPBACK, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => {
        resolveP(port);
      });
    });
  });
}

/** One TCP connect attempt; true when something accepts on the port. */
export function canConnect(port: number, timeoutMs = 200): Promise<boolean> {
  return new Promise((resolveP) => {
    const socket = connect({ host: LOOPBACK, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolveP(ok);
    };
    socket.setTimeout(timeoutMs, () => {
      done(false);
    });
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}

/** Polls connect every `everyMs` until it succeeds; false after `limitMs`. */
export async function waitForPort(port: number, limitMs: number, everyMs = 20): Promise<boolean> {
  const deadline = performance.now() + limitMs;
  while (performance.now() < deadline) {
    if (await canConnect(port)) return true;
    await sleep(everyMs);
  }
  return false;
}

export interface HttpReply {
  readonly status: number;
  readonly body: string;
}

/** A GET on a fresh connection (no agent), bounded by `timeoutMs`. */
export function httpGet(port: number, path: string, host: string, timeoutMs = 5_000): Promise<HttpReply> {
  return new Promise((resolveP, reject) => {
    const req = httpRequest(
      { host: LOOPBACK, port, path, method: 'GET', headers: { host }, agent: false, setHost: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolveP({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`GET http://${host}${path} on port ${port}: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// Child processes: each started here is stopped here, by its own pid.

export interface Managed {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves with the exit code or signal once the process has exited. */
  readonly exited: Promise<string>;
}

/** Spawns with stdout and stderr appended to `logPath`, so a chatty child never blocks on a pipe. */
export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  logPath: string,
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Managed {
  mkdirSync(dirname(logPath), { recursive: true });
  const fd = openSync(logPath, 'a');
  const child = spawn(command, [...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name}: spawn ${command} failed`);
  const exited = new Promise<string>((resolveP) => {
    child.once('exit', (code, signal) => {
      resolveP(signal ?? String(code));
    });
    child.once('error', (err) => {
      resolveP(`error: ${err.message}`);
    });
  });
  const managed: Managed = { name, child, pid: child.pid, logPath, exited };
  live.add(managed);
  void exited.then(() => live.delete(managed));
  return managed;
}

const live = new Set<Managed>();

/** Stops whatever this bench started and is still running (e.g. a SUT that failed its start); returns their names. */
export async function stopAllStarted(): Promise<string[]> {
  const left = [...live];
  await Promise.all(left.map((m) => stopProcess(m)));
  return left.map((m) => m.name);
}

/** SIGTERM, then SIGKILL after `graceMs`; also SIGKILLs descendants left behind (replicas of kedge up). */
export async function stopProcess(p: Managed, graceMs = 5_000): Promise<void> {
  const descendants = processTree(p.pid).filter((pid) => pid !== p.pid);
  if (p.child.exitCode === null && p.child.signalCode === null) {
    p.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      p.child.kill('SIGKILL');
    }, graceMs);
    await p.exited;
    clearTimeout(timer);
  }
  for (const pid of descendants) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone: the parent stopped it, which is what should happen.
    }
  }
}

/** Last resort on exit or a signal: kill whatever this bench started and is still running. */
export function killAllStarted(): void {
  for (const { pid: root } of live) {
    for (const pid of processTree(root).reverse()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  live.clear();
}

// ---------------------------------------------------------------------------------------------
// /proc sampling

interface ProcStat {
  readonly ppid: number;
  /** utime + stime, clock ticks. */
  readonly cpuTicks: number;
  /** cutime + cstime: children already exited and reaped. */
  readonly childTicks: number;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm (field 2) may hold spaces and parentheses; the fields after the last ')' are fixed.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const n = (i: number): number => Number(f[i] ?? '0');
  return { ppid: n(1), cpuTicks: n(11) + n(12), childTicks: n(13) + n(14) };
}

/** `root` and all its live descendants, parents first. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const st = readStat(Number(entry));
    if (st === null) continue;
    const list = children.get(st.ppid);
    if (list === undefined) children.set(st.ppid, [Number(entry)]);
    else list.push(Number(entry));
  }
  const out: number[] = [];
  const walk = (pid: number): void => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  if (readStat(root) !== null) walk(root);
  return out;
}

/** Children of `pid` (e.g. the nginx worker under its master). */
export function childPids(pid: number): number[] {
  return processTree(pid).filter((p) => readStat(p)?.ppid === pid);
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds of one process. */
export function cpuSeconds(pid: number): number {
  const st = readStat(pid);
  return st === null ? 0 : st.cpuTicks / CLK_TCK;
}

/**
 * CPU seconds of a process tree: live members plus the root's reaped children, so a replica that
 * exits mid-run still counts (once kedge has waited for it).
 */
export function treeCpuSeconds(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) {
    const st = readStat(pid);
    if (st === null) continue;
    ticks += st.cpuTicks + (pid === root ? st.childTicks : 0);
  }
  return ticks / CLK_TCK;
}

/** VmRSS and VmHWM in MB (0 when the process is gone). */
export function memoryMb(pid: number): { rssMb: number; hwmMb: number } {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return { rssMb: 0, hwmMb: 0 };
  }
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? '0');
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/**
 * Established TCP connections from any process in `pids` to 127.0.0.1:`remotePort` (the
 * proxy's upstream sockets), by joining /proc/PID/fd socket inodes with /proc/net/tcp.
 */
export function upstreamSockets(pids: readonly number[], remotePort: number): number {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m?.[1] !== undefined) inodes.add(m[1]);
      } catch {
        // The fd closed between readdir and readlink.
      }
    }
  }
  // /proc/net/tcp: sl local rem st ... inode (field 9); addresses are hex, ports big-endian hex.
  const want = `0100007F:${remotePort.toString(16).toUpperCase().padStart(4, '0')}`;
  let n = 0;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[2] === want && f[3] === '01' && inodes.has(f[9] ?? '')) n++;
  }
  return n;
}

/** Whole-machine CPU counters from /proc/stat (all cores, jiffies). */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

// ---------------------------------------------------------------------------------------------
// Statistics

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Linear interpolation between closest ranks (numpy's default); NaN for an empty list. */
export function quantile(values: readonly number[], q: number): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const pos = (v.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = v[lo] ?? Number.NaN;
  const b = v[hi] ?? Number.NaN;
  return a + (b - a) * (pos - lo);
}

export function fmtMs(us: number): string {
  if (!Number.isFinite(us)) return '-';
  return us >= 1000 ? `${(us / 1000).toFixed(2)}ms` : `${us.toFixed(0)}us`;
}

export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-';
}

export function fmtFixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

export function timestamp(): string {
  return new Date()
    .toISOString()
    .replace(/[:.]/g, '-')
    .replace(/-\d{3}Z$/, 'Z');
}

export function resultsDir(): string {
  const dir = join(BENCH_SRC_DIR, 'results');
  mkdirSync(dir, { recursive: true });
  return dir;
}
