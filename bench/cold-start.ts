// Cold-start overhead of `kedge up`: the time from a request at a revision scaled to zero to its
// response, minus the time the same app takes on its own from spawn to its first 200 (connect
// polled every 5 ms, as perf-baseline §8 measured it). The two are sampled alternately, so drift
// on this shared machine hits both alike. Also reports kedge's RSS when idle (the target:
// <= 80 MB idle).
//
// Usage: node dist/bench/cold-start.js [--samples 10] [--keep-tmp]
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KEDGE_NODE_FLAGS } from '../lib/node-flags.js';
import {
  LOOPBACK,
  REPO_ROOT,
  canConnect,
  fmtFixed,
  freePort,
  httpGet,
  killAllStarted,
  machineInfo,
  median,
  memoryMb,
  processTree,
  quantile,
  resultsDir,
  snapshotApp,
  sleep,
  startProcess,
  stopProcess,
  timestamp,
  waitForPort,
} from './common.js';

const HOST = 'helloworld-nodejs.default.example.com';
/** perf-baseline §8: connect polled every 5 ms (adds up to 5 ms of quantization, both sides alike). */
const POLL_MS = 5;

// Knative's minimum stable window is 6 s; with a 1 s grace the revision is back at zero ~8 s after
// a request. initial-scale 0 needs allow-zero-initial-scale (Knative config-autoscaler).
const CONFIG_AUTOSCALER = `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-autoscaler
  namespace: knative-serving
data:
  stable-window: "6s"
  scale-to-zero-grace-period: "1s"
  allow-zero-initial-scale: "true"
  initial-scale: "0"
`;

interface RevisionView {
  readonly name: string;
  readonly desiredReplicas: number;
  readonly readyReplicas: number;
  readonly pendingReplicas: number;
}

async function revisions(adminPort: number): Promise<RevisionView[]> {
  const r = await httpGet(adminPort, '/api/v1/revisions', `${LOOPBACK}:${adminPort}`, 2_000);
  if (r.status !== 200) throw new Error(`admin API answered ${r.status}`);
  return JSON.parse(r.body) as RevisionView[];
}

/**
 * The environment kedge's ProcessRuntime gives a replica: PATH and HOME only from its own, the
 * container's env, PORT and Knative's K_* variables. Not process.env: this sandbox sets
 * NODE_EXTRA_CA_CERTS, which makes every Node start read a CA bundle (~20-40 ms here), and a
 * replica under kedge never sees it; comparing with it would credit kedge with negative overhead.
 */
function replicaEnv(port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  if (process.env['PATH'] !== undefined) env['PATH'] = process.env['PATH'];
  if (process.env['HOME'] !== undefined) env['HOME'] = process.env['HOME'];
  // examples/helloworld-nodejs/service.yaml
  env['TARGET'] = 'Node.js Sample Native v1';
  env['PORT'] = String(port);
  env['K_SERVICE'] = 'helloworld-nodejs';
  env['K_CONFIGURATION'] = 'helloworld-nodejs';
  env['K_REVISION'] = 'helloworld-nodejs-00001';
  return env;
}

/** spawn `node index.js` → first connect → first 200, polling every 5 ms; the process is stopped after. */
async function directSample(dir: string): Promise<{ totalMs: number; connectMs: number }> {
  const port = await freePort();
  const t0 = performance.now();
  // The same command kedge runs for this revision: `node index.js` in its folder, PORT in env.
  const child = spawn('node', ['index.js'], {
    cwd: dir,
    env: replicaEnv(port),
    stdio: 'ignore',
  });
  const exited = new Promise<void>((r) => {
    child.once('exit', () => {
      r();
    });
  });
  try {
    const deadline = t0 + 10_000;
    while (!(await canConnect(port, 100))) {
      if (performance.now() > deadline || child.exitCode !== null)
        throw new Error('hello world never listened');
      await sleep(POLL_MS);
    }
    const connectMs = performance.now() - t0;
    const r = await httpGet(port, '/', HOST);
    if (r.status !== 200) throw new Error(`hello world answered ${r.status}`);
    return { totalMs: performance.now() - t0, connectMs };
  } finally {
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(kill);
  }
}

/** Waits until the revision is at zero and its replica process is gone (bounded). */
async function waitForZero(adminPort: number, kedgePid: number, limitMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const revs = await revisions(adminPort).catch(() => []);
    const zero =
      revs.length > 0 &&
      revs.every((r) => r.desiredReplicas === 0 && r.readyReplicas === 0 && r.pendingReplicas === 0);
    // processTree includes kedge itself: 1 means no replica process is left.
    if (zero && processTree(kedgePid).length === 1) return performance.now() - t0;
    if (performance.now() - t0 > limitMs) {
      throw new Error(`revision not back at zero after ${limitMs} ms: ${JSON.stringify(revs)}`);
    }
    await sleep(200);
  }
}

function stats(all: readonly number[]): { median: number; p90: number; min: number; max: number } {
  // Failed samples are NaN.
  const values = all.filter((v) => Number.isFinite(v));
  return {
    median: median(values),
    p90: quantile(values, 0.9),
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      samples: { type: 'string', default: '10' },
      'keep-tmp': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const samples = Number(values.samples);
  if (!Number.isInteger(samples) || samples < 1) throw new Error('--samples must be a positive integer');
  const log = (s: string): void => {
    process.stdout.write(s + '\n');
  };
  const started = new Date();
  const root = mkdtempSync(join(tmpdir(), 'kedge-coldstart-'));
  const appDir = join(root, 'services');
  mkdirSync(appDir);
  const example = join(REPO_ROOT, 'examples', 'helloworld-nodejs');
  for (const f of readdirSync(example)) copyFileSync(join(example, f), join(appDir, f));
  writeFileSync(join(appDir, 'config-autoscaler.yaml'), CONFIG_AUTOSCALER);

  const app = snapshotApp(root);
  const port = await freePort();
  const adminPort = await freePort();
  const tSpawn = performance.now();
  const kedge = startProcess(
    'kedge-up',
    process.execPath,
    [
      ...KEDGE_NODE_FLAGS,
      app.kedgeJs,
      'up',
      '-f',
      appDir,
      '--port',
      String(port),
      '--admin-port',
      String(adminPort),
    ],
    join(root, 'kedge-up.log'),
  );
  try {
    if (!(await waitForPort(port, 15_000, POLL_MS)))
      throw new Error(`kedge up did not listen; see ${kedge.logPath}`);
    const kedgeStartMs = performance.now() - tSpawn;
    await waitForZero(adminPort, kedge.pid, 15_000);
    const revs = await revisions(adminPort);
    log(
      `kedge up listening after ${kedgeStartMs.toFixed(0)} ms; revisions: ${revs.map((r) => r.name).join(', ')}`,
    );
    await sleep(5_000);
    const idleBefore = memoryMb(kedge.pid);
    log(`kedge RSS after 5 s idle at zero: ${idleBefore.rssMb.toFixed(1)} MB`);

    const direct: number[] = [];
    const directConnect: number[] = [];
    const through: number[] = [];
    const toZeroMs: number[] = [];
    const load: number[] = [];
    const failures: { sample: number; ms: number; answer: string }[] = [];
    for (let i = 0; i < samples; i++) {
      // One request on a fresh connection at a revision with no replica: the gateway queues it,
      // pokes the autoscaler, the runtime spawns and probes, and the request leaves the queue.
      // A failed cold request is recorded and left out of the statistics, not fatal: how often
      // it happens is itself a result.
      const cold = async (): Promise<number> => {
        const t0 = performance.now();
        let answer: string;
        try {
          const r = await httpGet(port, '/', HOST, 30_000);
          if (r.status === 200) return performance.now() - t0;
          answer = `${r.status} ${r.body.trim()}`;
        } catch (err) {
          answer = err instanceof Error ? err.message : String(err);
        }
        const ms = performance.now() - t0;
        failures.push({ sample: i + 1, ms, answer });
        log(`sample ${i + 1}: cold request FAILED after ${ms.toFixed(1)} ms: ${answer}`);
        return Number.NaN;
      };
      // Which one goes first alternates: the first after ~10 s of idle may pay for a cold vCPU.
      let ms: number;
      let d: { totalMs: number; connectMs: number };
      if (i % 2 === 0) {
        d = await directSample(appDir);
        ms = await cold();
      } else {
        ms = await cold();
        d = await directSample(appDir);
      }
      direct.push(d.totalMs);
      directConnect.push(d.connectMs);
      through.push(ms);
      load.push(loadavg()[0] ?? 0);
      log(
        `sample ${i + 1}/${samples}: direct ${d.totalMs.toFixed(1)} ms (connect ${d.connectMs.toFixed(1)}), ` +
          `through kedge ${ms.toFixed(1)} ms, overhead ${(ms - d.totalMs).toFixed(1)} ms (load ${fmtFixed(load[i] ?? 0, 2)})`,
      );
      toZeroMs.push(await waitForZero(adminPort, kedge.pid, 60_000));
    }
    await sleep(5_000);
    const idleAfter = memoryMb(kedge.pid);
    const diff = through.map((t, i) => t - (direct[i] ?? Number.NaN));
    const summary = {
      coldFailures: failures.length,
      direct: stats(direct),
      directFirstConnect: stats(directConnect),
      throughKedge: stats(through),
      overheadPaired: stats(diff),
      overheadOfMedians: median(through) - median(direct),
      kedgeStartToListeningMs: kedgeStartMs,
      backToZeroMs: stats(toZeroMs),
      kedgeRssIdleMb: { atStart: idleBefore.rssMb, afterSamples: idleAfter.rssMb, hwm: idleAfter.hwmMb },
    };
    const row = (name: string, s: { median: number; p90: number; min: number; max: number }): string =>
      `| ${name} | ${fmtFixed(s.median, 1)} | ${fmtFixed(s.p90, 1)} | ${fmtFixed(s.min, 1)}–${fmtFixed(s.max, 1)} |`;
    log(
      `\n${samples} samples, ${failures.length} failed cold request(s) left out; ms (p90 by linear interpolation)\n`,
    );
    log('| what | median | p90 | min–max |\n|---|---|---|---|');
    log(row('app alone: spawn → first 200 (connect polled every 5 ms)', summary.direct));
    log(row('app alone: spawn → first connect', summary.directFirstConnect));
    log(row('through kedge up: request at zero → response', summary.throughKedge));
    log(row('**overhead** (paired: kedge − app alone, same round)', summary.overheadPaired));
    log(
      `\noverhead of medians: ${summary.overheadOfMedians.toFixed(1)} ms; back at zero ${fmtFixed(summary.backToZeroMs.median / 1000, 1)} s after a request (median)`,
    );
    log(
      `kedge RSS idle: ${idleBefore.rssMb.toFixed(1)} MB at start, ${idleAfter.rssMb.toFixed(1)} MB after the samples ` +
        `(VmHWM ${idleAfter.hwmMb.toFixed(1)} MB); target <= 80 MB idle`,
    );
    const kedgeWarnings = readFileSync(kedge.logPath, 'utf8')
      .split('\n')
      .filter((l) => /\b(warn|error)\b/.test(l))
      .slice(0, 20);
    if (kedgeWarnings.length > 0) log(`kedge log warnings/errors:\n  ${kedgeWarnings.join('\n  ')}`);
    const file = join(resultsDir(), `cold-start-${timestamp()}.json`);
    writeFileSync(
      file,
      JSON.stringify(
        {
          kind: 'kedge-cold-start-bench',
          started: started.toISOString(),
          finished: new Date().toISOString(),
          machine: machineInfo(),
          gatewayBuild: app.gatewayBuild,
          samples: { direct, directConnect, through, toZeroMs, loadavg1: load },
          failures,
          kedgeWarnings,
          summary,
        },
        null,
        2,
      ) + '\n',
    );
    log(`wrote ${file}`);
  } finally {
    await stopProcess(kedge);
    if (!values['keep-tmp']) rmSync(root, { recursive: true, force: true });
  }
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
    `cold-start bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  killAllStarted();
  process.exitCode = 1;
});
