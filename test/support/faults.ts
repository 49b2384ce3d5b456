// Shared pieces of the fault suite (test/faults/): Service YAML for the fault app, admin API views,
// memory sampling from /proc, bounded load generators that count every response, and reporting.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { getJson, startKedge } from './kedge-process.js';
import type { KedgeProcess, StartOptions } from './kedge-process.js';

export const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));
export const FAULT_APP = join(FIXTURES, 'fault-app.mjs');

/** KEDGE_FAULTS=full selects the long variants (documented in docs/reliability.md). */
export const FULL = process.env['KEDGE_FAULTS'] === 'full';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- admin API views (the fields the fault suite reads) ----

export interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
}

export interface RevisionView {
  readonly name: string;
  readonly service: string;
  readonly ready: boolean;
  readonly conditions: readonly Condition[];
  readonly desiredReplicas: number;
  readonly readyReplicas: number;
  readonly pendingReplicas: number;
  readonly inFlight: number;
  readonly queued: number;
  readonly failure: { readonly reason: string; readonly message: string } | null;
}

export interface ServiceView {
  readonly name: string;
  readonly ready: boolean;
  readonly latestCreatedRevisionName: string;
  readonly latestReadyRevisionName: string;
  readonly conditions: readonly Condition[];
  readonly traffic: readonly { readonly revisionName: string; readonly percent: number }[];
}

export async function revisionView(kedge: KedgeProcess, name: string): Promise<RevisionView | undefined> {
  const all = await getJson<RevisionView[]>(kedge.adminPort, '/api/v1/revisions');
  return all.find((r) => r.name === name);
}

export async function serviceView(kedge: KedgeProcess, name: string): Promise<ServiceView | undefined> {
  const all = await getJson<ServiceView[]>(kedge.adminPort, '/api/v1/services');
  return all.find((s) => s.name === name);
}

// ---- YAML (JSON is YAML, so no quoting rules to get wrong) ----

export interface TrafficSpec {
  readonly revisionName?: string;
  readonly latestRevision?: boolean;
  readonly percent: number;
  readonly tag?: string;
}

export interface AppService {
  readonly name: string;
  /** Env of the fault app (see test/fixtures/fault-app.mjs). */
  readonly env?: Readonly<Record<string, string>>;
  /** spec.template.metadata.annotations (autoscaling.knative.dev/*, kedge.dev/queue-timeout, ...). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** BYO revision name (spec.template.metadata.name). */
  readonly revisionName?: string;
  readonly containerConcurrency?: number;
  readonly timeoutSeconds?: number;
  readonly responseStartTimeoutSeconds?: number;
  readonly idleTimeoutSeconds?: number;
  readonly traffic?: readonly TrafficSpec[];
  /** Default: node test/fixtures/fault-app.mjs. */
  readonly command?: readonly string[];
}

/** A Knative Service running the fault app locally, as a plain object. */
export function appService(s: AppService): Record<string, unknown> {
  const env = Object.entries(s.env ?? {}).map(([name, value]) => ({ name, value }));
  const templateMeta: Record<string, unknown> = {};
  if (s.revisionName !== undefined) templateMeta['name'] = s.revisionName;
  if (s.annotations !== undefined) templateMeta['annotations'] = s.annotations;
  const spec: Record<string, unknown> = {
    containers: [
      {
        image: 'example.com/kedge/fault-app',
        command: s.command ?? ['node', FAULT_APP],
        env,
      },
    ],
  };
  if (s.containerConcurrency !== undefined) spec['containerConcurrency'] = s.containerConcurrency;
  if (s.timeoutSeconds !== undefined) spec['timeoutSeconds'] = s.timeoutSeconds;
  if (s.responseStartTimeoutSeconds !== undefined)
    spec['responseStartTimeoutSeconds'] = s.responseStartTimeoutSeconds;
  if (s.idleTimeoutSeconds !== undefined) spec['idleTimeoutSeconds'] = s.idleTimeoutSeconds;
  const service: Record<string, unknown> = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: s.name, namespace: 'default' },
    spec: {
      template: { ...(Object.keys(templateMeta).length > 0 ? { metadata: templateMeta } : {}), spec },
      ...(s.traffic === undefined ? {} : { traffic: s.traffic }),
    },
  };
  return service;
}

export function writeService(dir: string, s: AppService): void {
  writeFileSync(join(dir, `${s.name}.yaml`), JSON.stringify(appService(s), null, 2) + '\n');
}

/** config-autoscaler with Knative's keys; the fault suite shortens the windows. */
export function writeAutoscalerConfig(dir: string, data: Readonly<Record<string, string>>): void {
  writeFileSync(
    join(dir, 'config-autoscaler.yaml'),
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config-autoscaler', namespace: 'knative-serving' },
      data,
    }) + '\n',
  );
}

export const hostOf = (service: string): string => `${service}.default.example.com`;

/** A temporary folder with the given services, and kedge serving it; torn down by `close()`. */
export interface Platform {
  readonly dir: string;
  readonly kedge: KedgeProcess;
  close(): Promise<void>;
}

export async function startPlatform(
  prefix: string,
  setup: (dir: string) => void,
  options: StartOptions = {},
): Promise<Platform> {
  const dir = mkdtempSync(join(tmpdir(), `kedge-faults-${prefix}-`));
  setup(dir);
  const kedge = await startKedge(dir, [], options);
  return {
    dir,
    kedge,
    close: async () => {
      await kedge.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- memory ----

export interface Memory {
  /** VmRSS, bytes. */
  readonly rss: number;
  /** VmHWM (peak RSS since start), bytes. */
  readonly hwm: number;
}

export function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
}

/**
 * Reads a figure every intervalMs until stop(); the peak seen. A read that throws means the
 * process is gone: it is skipped, and the test notices elsewhere.
 */
export class PeakSampler {
  peak = 0;
  samples = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(
    private readonly read: () => number,
    intervalMs: number,
  ) {
    this.sample();
    this.timer = setInterval(() => {
      this.sample();
    }, intervalMs);
  }
  private sample(): void {
    try {
      const value = this.read();
      this.samples++;
      if (value > this.peak) this.peak = value;
    } catch {
      // The process is gone.
    }
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

/** Samples VmRSS every intervalMs until stop(); the peak seen, in bytes. */
export class RssSampler extends PeakSampler {
  constructor(pid: number, intervalMs = 25) {
    super(() => memoryOf(pid).rss, intervalMs);
  }
}

export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** Open file descriptors of a process. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * Samples the open files of a process every intervalMs until stop(); the peak seen. Reading
 * /proc/<pid>/fd lists every descriptor, so keep the interval well above a millisecond per
 * thousand files.
 */
export class OpenFdSampler extends PeakSampler {
  constructor(pid: number, intervalMs = 100) {
    super(() => openFds(pid), intervalMs);
  }
}

/** The soft open-file limit of a process (from /proc/<pid>/limits). */
export function maxOpenFiles(pid: number): number {
  const limits = readFileSync(`/proc/${pid}/limits`, 'latin1');
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  return m?.[1] === undefined || m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
}

/** Pids of processes whose environment contains `marker` (revision replicas of one test). */
export function pidsWithMarker(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(marker)) pids.push(Number(entry));
    } catch {
      // Exited while we looked, or not ours to read.
    }
  }
  return pids;
}

// ---- load that counts every response ----

/** Every response by status, with the first few non-2xx bodies kept for the failure message. */
export class Tally {
  total = 0;
  ok = 0;
  readonly byStatus = new Map<number, number>();
  readonly byBody = new Map<string, number>();
  readonly samples: string[] = [];
  /** Transport errors (no response at all), counted as status 0. */
  errors = 0;
  add(status: number, detail: string): void {
    this.total++;
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    if (status >= 200 && status < 300) {
      this.ok++;
      return;
    }
    if (status === 0) this.errors++;
    if (this.samples.length < 10) this.samples.push(`${status} ${detail.trim().slice(0, 300)}`);
  }
  /** Counts answers by the body's first word (the fault app answers `${K_REVISION} ${pid}`). */
  seen(body: string): void {
    const key = body.split(' ', 1)[0] ?? '';
    this.byBody.set(key, (this.byBody.get(key) ?? 0) + 1);
  }
  get failed(): number {
    return this.total - this.ok;
  }
  summary(): string {
    const statuses = [...this.byStatus].map(([s, n]) => `${s}:${n}`).join(' ');
    return `${this.total} requests, ${this.failed} failed (${statuses})${this.samples.length > 0 ? `; first failures:\n  ${this.samples.join('\n  ')}` : ''}`;
  }
}

export interface Shot {
  readonly status: number;
  readonly body: string;
  readonly ms: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** One GET through the gateway; a transport error becomes status 0 with the error text. */
export async function shoot(
  port: number,
  host: string,
  path = '/',
  dispatcher?: Dispatcher,
  timeoutMs = 30_000,
): Promise<Shot> {
  const started = performance.now();
  try {
    const res = await request(`http://127.0.0.1:${port}${path}`, {
      headers: { host },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(dispatcher === undefined ? {} : { dispatcher }),
    });
    const body = await res.body.text();
    return { status: res.statusCode, body, ms: performance.now() - started, headers: res.headers };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return {
      status: 0,
      body: `${typeof code === 'string' ? code : ''} ${err instanceof Error ? err.message : String(err)}`,
      ms: performance.now() - started,
      headers: {},
    };
  }
}

export interface ClosedLoop {
  readonly port: number;
  readonly host: string;
  readonly path?: string;
  readonly clients: number;
  /** Stop when this many requests were sent in all ... */
  readonly maxRequests: number;
  /** ... or at this time (ms since epoch), whichever comes first. */
  readonly untilMs: number;
  readonly tally: Tally;
  readonly onResponse?: (shot: Shot) => void;
  /** Stops early when this returns true (checked before every request). */
  readonly stop?: () => boolean;
}

/** `clients` workers, each sending its next request when the previous one is answered. */
export async function closedLoop(o: ClosedLoop): Promise<void> {
  const agent = new Agent({ connections: o.clients, pipelining: 1 });
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (sent < o.maxRequests && Date.now() < o.untilMs && o.stop?.() !== true) {
      sent++;
      const shot = await shoot(o.port, o.host, o.path, agent);
      o.tally.add(shot.status, shot.body);
      if (shot.status === 200) o.tally.seen(shot.body);
      o.onResponse?.(shot);
    }
  };
  try {
    await Promise.all(Array.from({ length: o.clients }, worker));
  } finally {
    await agent.close();
  }
}

export interface Paced {
  readonly port: number;
  readonly host: string;
  readonly path?: string;
  readonly rps: number;
  readonly durationMs: number;
  /** Requests outstanding at most (the generator skips a beat rather than exceed it). */
  readonly maxInFlight: number;
  readonly tally: Tally;
  readonly onResponse?: (shot: Shot) => void;
  /** Stops early when this returns true (checked every tick). */
  readonly stop?: () => boolean;
}

/** Open loop: `rps` requests per second for `durationMs`, each one answered or counted as failed. */
export async function pacedLoad(o: Paced): Promise<{ skipped: number }> {
  const agent = new Agent({ connections: o.maxInFlight, pipelining: 1 });
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  const tickMs = 10;
  let due = 0;
  let skipped = 0;
  try {
    for (;;) {
      const elapsed = performance.now() - started;
      if (elapsed >= o.durationMs || o.stop?.() === true) break;
      const target = Math.floor((elapsed / 1000) * o.rps);
      while (due < target) {
        due++;
        if (pending.size >= o.maxInFlight) {
          skipped++;
          continue;
        }
        const p = shoot(o.port, o.host, o.path, agent).then((shot) => {
          o.tally.add(shot.status, shot.body);
          if (shot.status === 200) o.tally.seen(shot.body);
          o.onResponse?.(shot);
        });
        pending.add(p);
        void p.finally(() => pending.delete(p));
      }
      await sleep(tickMs);
    }
    await Promise.all([...pending]);
  } finally {
    await agent.close();
  }
  return { skipped };
}

// ---- reporting ----

/**
 * Prints a scenario's figures as a test diagnostic, and appends them as one JSON line to
 * $KEDGE_FAULTS_REPORT when set (docs/reliability.md is written from that file).
 */
export function report(t: TestContext, scenario: string, figures: Readonly<Record<string, unknown>>): void {
  const line = Object.entries(figures)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  t.diagnostic(`${scenario}: ${line}`);
  const file = process.env['KEDGE_FAULTS_REPORT'];
  if (file !== undefined && file !== '') {
    appendFileSync(
      file,
      JSON.stringify({ scenario, at: new Date().toISOString(), full: FULL, ...figures }) + '\n',
    );
  }
}
