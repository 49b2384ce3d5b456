import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../lib/log.js';
import type { DrainEndpoint, Endpoint, RevisionRuntimeStatus, RuntimeListener } from '../runtime.js';
import type { RevisionSpec } from '../state.js';
import { killAllNow, ProcessRuntime, type ProcessRuntimeOptions } from './process.js';

// The fixture is compiled next to this test (dist/controller/runtimes/fixtures/echo-env.js).
const FIXTURE = fileURLToPath(new URL('./fixtures/echo-env.js', import.meta.url));
const FIXTURE_DIR = dirname(FIXTURE);
const CANARY = 'KEDGE_TEST_CANARY_SECRET';
process.env[CANARY] = 'must-not-leak';

function revision(name: string, args: readonly string[], o: Partial<RevisionSpec> = {}): RevisionSpec {
  return {
    key: `default/${name}`,
    name,
    namespace: 'default',
    service: 'svc',
    generation: 1,
    container: {
      image: 'ignored-locally',
      command: [process.execPath],
      args: [FIXTURE, ...args],
      workingDir: '',
      env: [{ name: 'GREETING', value: 'hello' }],
      port: 8080,
    },
    containerConcurrency: 0,
    timeoutSeconds: 300,
    responseStartTimeoutSeconds: null,
    idleTimeoutSeconds: null,
    queueTimeoutSeconds: 300,
    annotations: {},
    createdAt: '2024-01-01T00:00:00Z',
    ...o,
  };
}

/** Records what the runtime publishes and lets a test await a condition on it, with a deadline. */
class Recorder implements RuntimeListener {
  readonly endpointLists = new Map<string, (readonly Endpoint[])[]>();
  readonly statuses = new Map<string, RevisionRuntimeStatus>();
  private waiters: { check: () => boolean; wake: () => void }[] = [];

  endpoints(key: string, endpoints: readonly Endpoint[]): void {
    const lists = this.endpointLists.get(key) ?? [];
    lists.push(endpoints);
    this.endpointLists.set(key, lists);
    this.notify();
  }
  status(status: RevisionRuntimeStatus): void {
    this.statuses.set(status.key, status);
    this.notify();
  }
  current(key: string): readonly Endpoint[] {
    return this.endpointLists.get(key)?.at(-1) ?? [];
  }
  status_(key: string): RevisionRuntimeStatus | undefined {
    return this.statuses.get(key);
  }
  /** Resolves when check() holds after some publish; rejects after timeoutMs naming what we waited for. */
  until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        check,
        wake: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
  private notify(): void {
    const due = this.waiters.filter((w) => w.check());
    this.waiters = this.waiters.filter((w) => !due.includes(w));
    for (const w of due) w.wake();
  }
}

function setup(
  t: { after: (fn: () => Promise<void>) => void },
  o: Partial<ProcessRuntimeOptions> = {},
): { runtime: ProcessRuntime; rec: Recorder; drained: Endpoint[] } {
  const rec = new Recorder();
  const drained: Endpoint[] = [];
  const drain: DrainEndpoint = (endpoint) => {
    drained.push(endpoint);
    return Promise.resolve();
  };
  const runtime = new ProcessRuntime({ listener: rec, drain, logger: silentLogger, ...o });
  t.after(async () => {
    await runtime.close();
  });
  return { runtime, rec, drained };
}

function getJson(
  endpoint: Endpoint,
  path = '/',
): Promise<{ pid: number; grandchild?: number; env: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: endpoint.host, port: endpoint.port, path, agent: false, timeout: 2000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          try {
            resolve(JSON.parse(body) as { pid: number; grandchild?: number; env: Record<string, string> });
          } catch (err) {
            reject(new Error(`bad JSON from ${path}: ${body}`, { cause: err }));
          }
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function get(endpoint: Endpoint, path: string): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ host: endpoint.host, port: endpoint.port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
      res.on('error', () => {
        resolve();
      });
    });
    req.on('error', () => {
      resolve();
    });
    req.end();
  });
}

/** A pid is alive when it exists and is not a zombie (PID 1 in a container may not reap orphans). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Bounded wait for pids that are not our children (no exit event to await). */
async function waitGone(pids: readonly number[], timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 300 && Date.now() < deadline; i++) {
    if (pids.every((p) => !alive(p))) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.deepEqual(
    pids.filter((p) => alive(p)),
    [],
    'processes still alive',
  );
}

void test('scale 1 publishes an endpoint whose process sees PORT, K_* and declared env only', async (t) => {
  const { runtime, rec } = setup(t);
  const spec = revision('svc-00001', ['serve']);
  runtime.ensure(spec);
  runtime.scale(spec.key, 1);
  await rec.until('one endpoint', () => rec.current(spec.key).length === 1);
  const [ep] = rec.current(spec.key);
  assert.ok(ep);
  const { env } = await getJson(ep);
  assert.equal(env['PORT'], String(ep.port));
  assert.equal(env['K_SERVICE'], 'svc');
  assert.equal(env['K_CONFIGURATION'], 'svc');
  assert.equal(env['K_REVISION'], 'svc-00001');
  assert.equal(env['GREETING'], 'hello');
  assert.equal(env[CANARY], undefined);
  const allowed = new Set(['PATH', 'HOME', 'PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION', 'GREETING']);
  assert.deepEqual(
    Object.keys(env).filter((k) => !allowed.has(k)),
    [],
  );
  assert.deepEqual(runtime.status(spec.key), {
    key: spec.key,
    desiredReplicas: 1,
    readyReplicas: 1,
    pendingReplicas: 0,
    everReady: true,
    failure: null,
  });
  // Logs: both streams, with replica id and an RFC 3339 time.
  await rec.until('log lines', () => runtime.logs(spec.key, 10).length >= 2, 2000).catch(() => undefined);
  const lines = runtime.logs(spec.key, 10);
  assert.ok(lines.some((l) => l.stream === 'stdout' && l.line === `listening on ${ep.port}`));
  assert.ok(lines.some((l) => l.stream === 'stderr' && l.line === 'starting on stderr'));
  for (const l of lines) {
    assert.equal(l.replica, ep.id);
    assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  }
});

void test('relative args resolve against workingDir', async (t) => {
  const { runtime, rec } = setup(t);
  const spec = revision('svc-00002', []);
  const withDir: RevisionSpec = {
    ...spec,
    container: { ...spec.container, args: ['./echo-env.js', 'serve'], workingDir: FIXTURE_DIR },
  };
  runtime.ensure(withDir);
  runtime.scale(spec.key, 1);
  await rec.until('one endpoint', () => rec.current(spec.key).length === 1);
});

void test('scale 2 then 0: two endpoints, drain before stop, processes gone', async (t) => {
  const rec = new Recorder();
  const events: string[] = [];
  const pidsById = new Map<string, number>();
  const runtime = new ProcessRuntime({
    listener: rec,
    logger: silentLogger,
    drain: (endpoint) => {
      // At drain time the endpoint is already unpublished and its process still runs.
      assert.ok(!rec.current('default/svc-00003').some((e) => e.id === endpoint.id));
      const pid = pidsById.get(endpoint.id);
      assert.ok(pid !== undefined && alive(pid));
      events.push(`drain ${endpoint.id}`);
      return Promise.resolve();
    },
  });
  t.after(async () => {
    await runtime.close();
  });
  const spec = revision('svc-00003', ['serve']);
  runtime.ensure(spec);
  runtime.scale(spec.key, 2);
  await rec.until('two endpoints', () => rec.current(spec.key).length === 2);
  const eps = rec.current(spec.key);
  assert.notEqual(eps[0]?.port, eps[1]?.port);
  for (const ep of eps) pidsById.set(ep.id, (await getJson(ep)).pid);
  runtime.scale(spec.key, 0);
  await rec.until('no endpoints', () => rec.current(spec.key).length === 0);
  await runtime.whenStopped();
  assert.equal(runtime.pids(spec.key).length, 0);
  assert.deepEqual(events.sort(), eps.map((e) => `drain ${e.id}`).sort());
  await waitGone([...pidsById.values()]);
  assert.equal(runtime.status(spec.key)?.readyReplicas, 0);
  assert.equal(runtime.status(spec.key)?.everReady, true);
});

const missing: readonly { name: string; command: string; workingDir: string; want: RegExp }[] = [
  {
    name: 'not on PATH',
    command: 'kedge-no-such-command',
    workingDir: '',
    want: /kedge-no-such-command.*PATH=/,
  },
  { name: 'relative path', command: './no-such-file', workingDir: FIXTURE_DIR, want: /no-such-file/ },
  { name: 'not executable', command: FIXTURE, workingDir: '', want: /not executable/ },
];
for (const c of missing) {
  void test(`missing command (${c.name}) → ContainerMissing`, async (t) => {
    const { runtime, rec } = setup(t);
    const spec = revision('svc-00004', []);
    runtime.ensure({
      ...spec,
      container: { ...spec.container, command: [c.command], workingDir: c.workingDir },
    });
    runtime.scale(spec.key, 1);
    await rec.until('failure', () => rec.status_(spec.key)?.failure != null);
    const st = rec.status_(spec.key);
    assert.equal(st?.failure?.reason, 'ContainerMissing');
    assert.match(st.failure.message, c.want);
    assert.equal(st.desiredReplicas, 1);
    assert.equal(st.pendingReplicas, 0);
  });
}

void test('exit 1 before ready → ExitCode1 with the output tail; no restart until scale changes', async (t) => {
  const { runtime, rec } = setup(t, { logLinesPerRevision: 5 });
  const spec = revision('svc-00005', ['exit-1']);
  runtime.ensure(spec);
  runtime.scale(spec.key, 1);
  await rec.until('failure', () => rec.status_(spec.key)?.failure?.reason === 'ExitCode1');
  // The message is refined once stdio has closed; wait for the last line to appear in it.
  await rec.until(
    'tail',
    () => rec.status_(spec.key)?.failure?.message.includes('fatal: cannot start') === true,
  );
  const msg = rec.status_(spec.key)?.failure?.message ?? '';
  assert.match(msg, /exited with code 1 before it was ready/);
  assert.match(msg, /line 15/);
  assert.doesNotMatch(msg, /line 5\n/); // only the last ~10 lines
  assert.equal(runtime.pids(spec.key).length, 0);
  assert.equal(runtime.status(spec.key)?.pendingReplicas, 0);
  // The ring buffer keeps the newest lines only.
  const logs = runtime.logs(spec.key, 100);
  assert.equal(logs.length, 5);
  assert.equal(logs.at(-1)?.line, 'fatal: cannot start');
  // Same count again: still blocked. A new count: one more attempt.
  runtime.scale(spec.key, 1);
  assert.equal(runtime.status(spec.key)?.pendingReplicas, 0);
  runtime.scale(spec.key, 2);
  assert.equal(runtime.status(spec.key)?.pendingReplicas, 2);
  await rec.until('blocked again', () => runtime.status(spec.key)?.pendingReplicas === 0);
});

void test('never listening → ProgressDeadlineExceeded (annotation wins over the option) and the process is stopped', async (t) => {
  const { runtime, rec } = setup(t, { progressDeadlineMs: 60_000, stopGraceMs: 500 });
  const spec = revision('svc-00006', ['never-listens'], {
    annotations: { 'serving.knative.dev/progress-deadline': '300ms' },
  });
  runtime.ensure(spec);
  runtime.scale(spec.key, 1);
  await rec.until('failure', () => rec.status_(spec.key)?.failure != null, 3000);
  const failure = rec.status_(spec.key)?.failure;
  assert.equal(failure?.reason, 'ProgressDeadlineExceeded');
  assert.match(failure.message, /Initial scale was never achieved/);
  const pid = /busy doing nothing \(pid (\d+)\)/.exec(failure.message)?.[1];
  assert.ok(pid !== undefined, failure.message);
  await runtime.whenStopped();
  assert.equal(runtime.pids(spec.key).length, 0);
  await waitGone([Number(pid)]);
});

void test('a ready replica that crashes leaves the endpoints at once and is replaced', async (t) => {
  const { runtime, rec } = setup(t, { restartInitialBackoffMs: 50 });
  const spec = revision('svc-00007', ['serve']);
  runtime.ensure(spec);
  runtime.scale(spec.key, 1);
  await rec.until('endpoint', () => rec.current(spec.key).length === 1);
  const first = rec.current(spec.key)[0];
  assert.ok(first);
  await get(first, '/crash');
  await rec.until('endpoint removed', () => rec.current(spec.key).length === 0);
  assert.equal(rec.status_(spec.key)?.failure?.reason, 'ExitCode3');
  await rec.until('replacement', () => rec.current(spec.key).length === 1);
  const second = rec.current(spec.key)[0];
  assert.ok(second);
  assert.notEqual(second.id, first.id);
  assert.equal(rec.status_(spec.key)?.failure, null);
  await getJson(second);
});

void test('close() stops every replica and its grandchildren', async (t) => {
  const { runtime, rec } = setup(t);
  const spec = revision('svc-00008', ['grandchild']);
  runtime.ensure(spec);
  runtime.scale(spec.key, 2);
  await rec.until('two endpoints', () => rec.current(spec.key).length === 2);
  const pids: number[] = [];
  for (const ep of rec.current(spec.key)) {
    const body = await getJson(ep);
    pids.push(body.pid);
    if (body.grandchild !== undefined) pids.push(body.grandchild);
  }
  assert.equal(pids.length, 4);
  await runtime.close();
  await waitGone(pids);
  assert.equal(runtime.status(spec.key), undefined);
});

void test('rapid 1 → 0 → 1 converges to one replica without leaking', async (t) => {
  const { runtime, rec } = setup(t);
  const spec = revision('svc-00009', ['serve']);
  runtime.ensure(spec);
  runtime.scale(spec.key, 1);
  runtime.scale(spec.key, 0);
  runtime.scale(spec.key, 1);
  await rec.until('one ready', () => runtime.status(spec.key)?.readyReplicas === 1);
  await runtime.whenStopped();
  assert.equal(runtime.pids(spec.key).length, 1);
  // Again once ready: the old one drains while the new one starts.
  runtime.scale(spec.key, 0);
  runtime.scale(spec.key, 1);
  runtime.scale(spec.key, 0);
  runtime.scale(spec.key, 1);
  await rec.until('one ready again', () => runtime.status(spec.key)?.readyReplicas === 1);
  await runtime.whenStopped();
  assert.equal(runtime.pids(spec.key).length, 1);
  assert.equal(rec.current(spec.key).length, 1);
});

void test('scale 1 while the last replica drains starts a new one at once', async (t) => {
  let release = (): void => undefined;
  const drainGate = new Promise<void>((r) => (release = r));
  const rec = new Recorder();
  const slow = new ProcessRuntime({ listener: rec, logger: silentLogger, drain: () => drainGate });
  t.after(async () => {
    release();
    await slow.close();
  });
  const spec = revision('svc-00010', ['serve']);
  slow.ensure(spec);
  slow.scale(spec.key, 1);
  await rec.until('first', () => rec.current(spec.key).length === 1);
  const first = rec.current(spec.key)[0];
  slow.scale(spec.key, 0);
  slow.scale(spec.key, 1);
  await rec.until('second ready while the first drains', () => {
    const eps = rec.current(spec.key);
    return eps.length === 1 && eps[0]?.id !== first?.id;
  });
  assert.equal(slow.pids(spec.key).length, 2);
  release();
  await slow.whenStopped();
  assert.equal(slow.pids(spec.key).length, 1);
});

void test('a replica that ignores SIGTERM is killed after stopGraceMs', async (t) => {
  const { runtime, rec } = setup(t, { stopGraceMs: 200 });
  const spec = revision('svc-00011', ['ignore-term']);
  runtime.ensure(spec);
  runtime.scale(spec.key, 1);
  await rec.until('endpoint', () => rec.current(spec.key).length === 1);
  const pids = [...runtime.pids(spec.key)];
  const startedMs = performance.now();
  runtime.scale(spec.key, 0);
  await runtime.whenStopped();
  assert.equal(runtime.pids(spec.key).length, 0);
  assert.ok(performance.now() - startedMs >= 150);
  await waitGone(pids);
});

void test('killAllNow() kills every group synchronously', async (t) => {
  const { runtime, rec } = setup(t);
  const spec = revision('svc-00012', ['grandchild']);
  runtime.ensure(spec);
  runtime.scale(spec.key, 1);
  await rec.until('endpoint', () => rec.current(spec.key).length === 1);
  const ep = rec.current(spec.key)[0];
  assert.ok(ep);
  const body = await getJson(ep);
  killAllNow();
  await waitGone([body.pid, body.grandchild ?? body.pid]);
});

void test('ensure() with a fixed spec retries a revision that failed before it was ever ready', async (t) => {
  const { runtime, rec } = setup(t);
  const good = revision('svc-00013', ['serve']);
  runtime.ensure({ ...good, container: { ...good.container, command: ['kedge-no-such-command'] } });
  runtime.scale(good.key, 1);
  await rec.until('failure', () => rec.status_(good.key)?.failure?.reason === 'ContainerMissing');
  runtime.ensure(good);
  await rec.until('ready after the fix', () => rec.current(good.key).length === 1);
  assert.equal(rec.status_(good.key)?.failure, null);
});

void test('a drain that never finishes is cut off after timeoutSeconds', async (t) => {
  const rec = new Recorder();
  const runtime = new ProcessRuntime({
    listener: rec,
    logger: silentLogger,
    drain: () => new Promise<void>(() => undefined),
  });
  t.after(async () => {
    await runtime.close();
  });
  const spec = revision('svc-00014', ['serve'], { timeoutSeconds: 1 });
  runtime.ensure(spec);
  runtime.scale(spec.key, 1);
  await rec.until('endpoint', () => rec.current(spec.key).length === 1);
  const startedMs = performance.now();
  runtime.scale(spec.key, 0);
  await runtime.whenStopped();
  const tookMs = performance.now() - startedMs;
  assert.ok(tookMs >= 900 && tookMs < 3000, `took ${tookMs} ms`);
  assert.equal(runtime.pids(spec.key).length, 0);
});

void test('remove() drains, stops and forgets the revision', async (t) => {
  const { runtime, rec, drained } = setup(t);
  const spec = revision('svc-00015', ['serve']);
  runtime.ensure(spec);
  runtime.scale(spec.key, 1);
  await rec.until('endpoint', () => rec.current(spec.key).length === 1);
  const [ep] = rec.current(spec.key);
  assert.ok(ep);
  const { pid } = await getJson(ep);
  await runtime.remove(spec.key);
  assert.deepEqual(rec.current(spec.key), []);
  assert.deepEqual(
    drained.map((e) => e.id),
    [ep.id],
  );
  assert.equal(runtime.status(spec.key), undefined);
  assert.equal(alive(pid), false);
  runtime.scale(spec.key, 1); // unknown now: ignored
  assert.equal(runtime.status(spec.key), undefined);
});
