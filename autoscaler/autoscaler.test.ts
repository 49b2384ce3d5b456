import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { EMPTY_STATE, type RevisionSpec, type Route, type State } from '../controller/state.js';
import { ManualClock } from '../lib/clock.js';
import { silentLogger, type LogFields, type Logger } from '../lib/log.js';
import { Autoscaler } from './autoscaler.js';

const A = 'autoscaling.knative.dev/';

function revision(name: string, annotations: Readonly<Record<string, string>> = {}): RevisionSpec {
  return {
    key: `default/${name}`,
    name,
    namespace: 'default',
    service: name.replace(/-\d+$/, ''),
    generation: 1,
    container: { image: 'x', command: [], args: [], workingDir: '', env: [], port: 8080 },
    containerConcurrency: 0,
    timeoutSeconds: 300,
    responseStartTimeoutSeconds: null,
    idleTimeoutSeconds: null,
    queueTimeoutSeconds: 300,
    annotations,
    createdAt: '2024-01-01T00:00:00Z',
  };
}

function route(rev: RevisionSpec): Route {
  return {
    host: `${rev.service}.default.example.com`,
    namespace: 'default',
    service: rev.service,
    tag: null,
    splits: [{ revision: rev.key, percent: 100 }],
  };
}

let version = 0;
function stateOf(
  revisions: readonly RevisionSpec[],
  o: { routed?: readonly RevisionSpec[]; config?: Readonly<Record<string, string>> } = {},
): State {
  return {
    ...EMPTY_STATE,
    version: ++version,
    revisions,
    routes: (o.routed ?? revisions).map(route),
    autoscalerConfig: o.config ?? {},
  };
}

/** An autoscaler over a fake runtime whose replicas are ready the moment they are asked for. */
function harness(o: { logger?: Logger; readyLag?: boolean } = {}) {
  const clock = new ManualClock(0);
  const calls: [string, number][] = [];
  const replicas = new Map<string, number>();
  const registry = new Registry();
  const autoscaler = new Autoscaler({
    clock,
    registry,
    logger: o.logger ?? silentLogger,
    scale: (key, n) => {
      calls.push([key, n]);
      replicas.set(key, n);
    },
    readyReplicas: (key) => (o.readyLag === true ? 0 : (replicas.get(key) ?? 0)),
  });
  /** Steps the clock to `untilMs`, one stat per second and a tick every 2 s, as the real parts do. */
  const run = (untilMs: number, load: Readonly<Record<string, number>> = {}): void => {
    while (clock.nowMs() < untilMs) {
      clock.advance(1000);
      const now = clock.nowMs();
      const stats = Object.entries(load).map(([rev, c]) => ({
        revision: rev,
        averageConcurrency: c,
        requestCount: c,
      }));
      autoscaler.record('gateway-0', stats, now);
      if (now % 2000 === 0) autoscaler.tick(now);
    }
  };
  return { clock, calls, replicas, registry, autoscaler, run };
}

const SHORT = { 'stable-window': '6s', 'scale-to-zero-grace-period': '1s' };

test('a new revision gets its initial scale at once', () => {
  const h = harness();
  const a = revision('a-00001');
  const b = revision('b-00001', { [`${A}initial-scale`]: '3' });
  h.autoscaler.applyState(stateOf([a, b]));
  assert.deepEqual(h.calls, [
    ['default/a-00001', 1],
    ['default/b-00001', 3],
  ]);
  assert.equal(h.autoscaler.revision(a.key)?.decidedReplicas, -1);
  assert.equal(h.autoscaler.revision(b.key)?.desiredReplicas, 3);
  // Knative: a new decider's EBC is initial-scale × total − TBC = 1 × 100 − 211.
  assert.equal(h.autoscaler.revision(a.key)?.excessBurstCapacity, -111);
  // The same State again changes nothing.
  h.autoscaler.applyState(stateOf([a, b]));
  assert.equal(h.calls.length, 2);
});

test('scale() is called only when the value changes', () => {
  const h = harness();
  const a = revision('a-00001');
  h.autoscaler.applyState(stateOf([a]));
  h.run(20_000, { [a.key]: 10 });
  assert.deepEqual(h.calls, [[a.key, 1]]);
});

test('40 in flight at target 10 → 4 replicas through the loop', () => {
  const h = harness();
  const a = revision('a-00001', { [`${A}target`]: '10', [`${A}target-utilization-percentage`]: '100' });
  h.autoscaler.applyState(stateOf([a]));
  h.run(10_000, { [a.key]: 40 });
  assert.equal(h.replicas.get(a.key), 4);
  const status = h.autoscaler.revision(a.key);
  assert.ok(status !== undefined);
  assert.equal(status.stableConcurrency, 40);
  assert.equal(status.targetConcurrency, 10);
  // 1 ready pod asked for 4 → 400 % of the threshold: panic.
  assert.equal(status.panic, true);
});

test('stable-window 6s + grace 1s: zero after about 10 s of idle time', () => {
  const h = harness();
  const a = revision('a-00001');
  h.autoscaler.applyState(stateOf([a], { config: SHORT }));
  h.run(10_000, { [a.key]: 5 });
  assert.equal(h.replicas.get(a.key), 1);
  const idleFrom = h.clock.nowMs();
  while (h.replicas.get(a.key) !== 0 && h.clock.nowMs() < 60_000) h.run(h.clock.nowMs() + 1000);
  const idleMs = h.clock.nowMs() - idleFrom;
  assert.equal(h.replicas.get(a.key), 0);
  // A stable window of zeros (6 s), then Inactive, then the grace (1 s) at the next 2 s tick.
  assert.ok(idleMs >= 6000 && idleMs <= 10_000, `reached zero after ${idleMs} ms idle`);
  assert.deepEqual(h.calls, [
    [a.key, 1],
    [a.key, 0],
  ]);
});

test('a poke at zero scales to 1 synchronously, in well under 5 ms', () => {
  const h = harness();
  const a = revision('a-00001', { [`${A}initial-scale`]: '0' });
  h.autoscaler.applyState(stateOf([a], { config: { ...SHORT, 'allow-zero-initial-scale': 'true' } }));
  h.run(4000);
  assert.deepEqual(h.calls, [[a.key, 0]]);
  const started = performance.now();
  h.autoscaler.poke(a.key, h.clock.nowMs() + 300);
  const tookMs = performance.now() - started;
  assert.deepEqual(h.calls, [
    [a.key, 0],
    [a.key, 1],
  ]);
  assert.ok(tookMs < 5, `poke took ${tookMs} ms`);
  assert.equal(h.autoscaler.revision(a.key)?.decidedReplicas, 1);
});

test('a poke when not at zero records the stat but decides at the next tick', () => {
  const h = harness({ readyLag: true });
  const a = revision('a-00001');
  h.autoscaler.applyState(stateOf([a]));
  h.autoscaler.poke(a.key, 500);
  assert.deepEqual(h.calls, [[a.key, 1]]);
  h.autoscaler.tick(1000);
  assert.equal(h.autoscaler.revision(a.key)?.stableConcurrency, 1);
  h.autoscaler.poke('default/unknown', 1000);
});

test('a scale to zero and back: idle → 0, request → poke → 1', () => {
  const h = harness();
  const a = revision('a-00001');
  h.autoscaler.applyState(stateOf([a], { config: SHORT }));
  h.run(30_000);
  assert.equal(h.replicas.get(a.key), 0);
  h.autoscaler.poke(a.key, h.clock.nowMs() + 100);
  assert.equal(h.replicas.get(a.key), 1);
  // The gateway's report for that second adds to the poke's stat; the replica stays.
  h.run(h.clock.nowMs() + 4000, { [a.key]: 1 });
  assert.equal(h.replicas.get(a.key), 1);
});

test('a config change is applied on the next tick', () => {
  const h = harness();
  const a = revision('a-00001');
  h.autoscaler.applyState(stateOf([a]));
  h.run(4000, { [a.key]: 20 });
  assert.equal(h.autoscaler.revision(a.key)?.targetConcurrency, 70);
  assert.equal(h.replicas.get(a.key), 1);
  const problems = h.autoscaler.applyState(
    stateOf([a], { config: { 'container-concurrency-target-default': '10' } }),
  );
  assert.deepEqual(problems, []);
  assert.equal(h.autoscaler.config().containerConcurrencyTargetDefault, 10);
  assert.equal(h.autoscaler.revision(a.key)?.targetConcurrency, 70);
  h.run(6000, { [a.key]: 20 });
  assert.equal(h.autoscaler.revision(a.key)?.targetConcurrency, 7);
  assert.equal(h.replicas.get(a.key), 3);
});

test('a stable-window change resizes the windows and keeps the series', () => {
  const h = harness();
  const a = revision('a-00001');
  h.autoscaler.applyState(stateOf([a]));
  h.run(10_000, { [a.key]: 20 });
  h.autoscaler.applyState(stateOf([a], { config: { 'stable-window': '6s' } }));
  h.run(12_000, { [a.key]: 20 });
  assert.equal(h.autoscaler.revision(a.key)?.stableConcurrency, 20);
});

test('config problems are returned and logged; the last good value is kept', () => {
  const lines: [string, LogFields | undefined][] = [];
  const logger: Logger = {
    ...silentLogger,
    warn: (msg, fields) => {
      lines.push([msg, fields]);
    },
    child: () => logger,
  };
  const h = harness({ logger });
  h.autoscaler.applyState(stateOf([], { config: { 'stable-window': '10s' } }));
  const problems = h.autoscaler.applyState(stateOf([], { config: { 'stable-window': '2s' } }));
  assert.deepEqual(problems, [{ key: 'stable-window', value: '2s', message: 'expected 6s <= 2s <= 1h0m0s' }]);
  assert.equal(h.autoscaler.config().stableWindowMs, 10_000);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]?.[1]?.['problem'], 'expected 6s <= 2s <= 1h0m0s');
  // Unchanged data: the same problems, not logged again.
  assert.deepEqual(h.autoscaler.applyState(stateOf([], { config: { 'stable-window': '2s' } })), problems);
  assert.equal(lines.length, 1);
});

test('an invalid annotation is logged once and ignored: the config value applies', () => {
  const warnings: LogFields[] = [];
  const logger: Logger = {
    ...silentLogger,
    warn: (_msg, fields) => {
      if (fields !== undefined) warnings.push(fields);
    },
    child: () => logger,
  };
  const h = harness({ logger });
  const a = revision('a-00001', { [`${A}target`]: '0' });
  h.autoscaler.applyState(stateOf([a]));
  h.autoscaler.applyState(stateOf([a], { config: { 'max-scale-up-rate': '10' } }));
  h.run(4000);
  assert.deepEqual(warnings, [
    { revision: a.key, key: `${A}target`, value: '0', problem: 'target 0 should be at least 0.01' },
  ]);
  assert.equal(h.autoscaler.revision(a.key)?.targetConcurrency, 70);
});

test('a removed revision is dropped with its metrics', async () => {
  const h = harness();
  const a = revision('a-00001');
  const b = revision('b-00001');
  h.autoscaler.applyState(stateOf([a, b]));
  h.run(4000);
  assert.match(
    await h.registry.metrics(),
    /kedge_revision_desired_replicas\{namespace="default",revision="a-00001"\} 1/,
  );
  h.autoscaler.applyState(stateOf([b]));
  assert.equal(h.autoscaler.revision(a.key), undefined);
  assert.notEqual(h.autoscaler.revision(b.key), undefined);
  const text = await h.registry.metrics();
  assert.doesNotMatch(text, /revision="a-00001"/);
  assert.match(text, /kedge_revision_panic_mode\{namespace="default",revision="b-00001"\} 0/);
  // Stats for a revision the autoscaler does not know are ignored.
  h.autoscaler.record('gateway-0', [{ revision: a.key, averageConcurrency: 5, requestCount: 5 }], 5000);
  h.autoscaler.tick(6000);
  assert.equal(h.autoscaler.revision(a.key), undefined);
});

test('min-scale is ignored for revisions no route sends traffic to', () => {
  const h = harness();
  const routed = revision('a-00002', { [`${A}min-scale`]: '2' });
  const reserve = revision('a-00001', { [`${A}min-scale`]: '2' });
  h.autoscaler.applyState(stateOf([reserve, routed], { routed: [routed], config: SHORT }));
  h.run(30_000);
  assert.equal(h.replicas.get(routed.key), 2);
  assert.equal(h.replicas.get(reserve.key), 0);
  // Routed again: min-scale applies on the next tick.
  h.autoscaler.applyState(stateOf([reserve, routed], { config: SHORT }));
  h.run(32_000);
  assert.equal(h.replicas.get(reserve.key), 2);
});

test('rps metric scales on request counts', () => {
  const h = harness();
  const a = revision('a-00001', { [`${A}metric`]: 'rps', [`${A}target`]: '10' });
  h.autoscaler.applyState(stateOf([a]));
  h.run(10_000, { [a.key]: 70 });
  // target = 10 × 0.7 = 7 rps per pod: 70 rps → 10 pods.
  assert.equal(h.replicas.get(a.key), 10);
});

test('gauges carry the decision', async () => {
  const h = harness();
  const a = revision('a-00001');
  h.autoscaler.applyState(stateOf([a]));
  h.run(10_000, { [a.key]: 140 });
  const text = await h.registry.metrics();
  for (const line of [
    'kedge_revision_desired_replicas{namespace="default",revision="a-00001"} 2',
    'kedge_revision_ready_replicas{namespace="default",revision="a-00001"} 2',
    'kedge_revision_stable_concurrency{namespace="default",revision="a-00001"} 140',
    'kedge_revision_panic_concurrency{namespace="default",revision="a-00001"} 140',
    'kedge_revision_target_concurrency{namespace="default",revision="a-00001"} 70',
    'kedge_revision_excess_burst_capacity{namespace="default",revision="a-00001"} -151',
  ]) {
    assert.ok(text.includes(line), `missing ${line}`);
  }
});

test('a scale change logs one info line with from, to and the concurrencies', () => {
  const infos: LogFields[] = [];
  const logger: Logger = {
    ...silentLogger,
    info: (_msg, fields) => {
      if (fields !== undefined) infos.push(fields);
    },
    child: () => logger,
  };
  const h = harness({ logger });
  const a = revision('a-00001');
  h.autoscaler.applyState(stateOf([a]));
  h.run(4000, { [a.key]: 140 });
  assert.deepEqual(infos[0], { revision: a.key, from: 'new', to: 1, stable: 0, panic: 0, panicMode: 'no' });
  const second = infos[1];
  assert.ok(second !== undefined);
  assert.equal(second['to'], 2);
  assert.equal(second['from'], 1);
  assert.equal(infos.length, 2);
});

test('start() ticks every tickIntervalMs; stop() ends it', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const clock = new ManualClock(0);
  const calls: number[] = [];
  const autoscaler = new Autoscaler({
    clock,
    registry: new Registry(),
    logger: silentLogger,
    scale: (_key, n) => calls.push(n),
    readyReplicas: () => 1,
  });
  autoscaler.applyState(stateOf([revision('a-00001')], { config: SHORT }));
  autoscaler.start();
  autoscaler.start();
  for (let i = 0; i < 10; i++) {
    clock.advance(2000);
    t.mock.timers.tick(2000);
  }
  assert.deepEqual(calls, [1, 0]);
  autoscaler.stop();
  autoscaler.stop();
});
