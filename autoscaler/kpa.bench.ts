// tinybench: decide() per call, applyScaleRules() per call, one tick() over 10 000 revisions, and
// a cold-start poke. Run: `npx tsc -p . && node dist/autoscaler/kpa.bench.js`. Not a test.
import { Registry } from 'prom-client';
import { Bench } from 'tinybench';
import { EMPTY_STATE, type RevisionSpec, type State } from '../controller/state.js';
import { ManualClock } from '../lib/clock.js';
import { silentLogger } from '../lib/log.js';
import { Autoscaler } from './autoscaler.js';
import { DEFAULT_KPA } from './config.js';
import { decide, newKpaState } from './kpa.js';
import { applyScaleRules, newScalerState } from './scaler.js';

const REVISIONS = 10_000;

function revision(i: number, annotations: Readonly<Record<string, string>> = {}): RevisionSpec {
  const name = `svc-${i}-00001`;
  return {
    key: `default/${name}`,
    name,
    namespace: 'default',
    service: `svc-${i}`,
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

function stateOf(revisions: readonly RevisionSpec[]): State {
  return {
    ...EMPTY_STATE,
    version: 1,
    revisions,
    routes: revisions.map((r) => ({
      host: `${r.service}.default.example.com`,
      namespace: 'default',
      service: r.service,
      tag: null,
      splits: [{ revision: r.key, percent: 100 }],
    })),
    autoscalerConfig: {},
  };
}

// decide(): a busy revision in stable mode, and one with a 5 min scale-down delay.
let kpaState = newKpaState(1, 0);
let nowMs = 0;
const delayed = { ...DEFAULT_KPA, scaleDownDelayMs: 300_000 };
let delayedState = newKpaState(1, 0);
let scalerState = newScalerState(DEFAULT_KPA, 0);

// tick(): 10 000 revisions at 1 ready replica with load every second, like a busy cluster.
const clock = new ManualClock(0);
const many = Array.from({ length: REVISIONS }, (_, i) => revision(i));
const autoscaler = new Autoscaler({
  clock,
  registry: new Registry(),
  logger: silentLogger,
  scale: () => undefined,
  readyReplicas: () => 1,
});
autoscaler.applyState(stateOf(many));
const stats = many.map((r) => ({ revision: r.key, averageConcurrency: 30, requestCount: 30 }));
for (let t = 1000; t <= 60_000; t += 1000) autoscaler.record('gateway-0', stats, t);
let tickMs = 60_000;

// poke(): a revision at zero that gets a request; each iteration gets a fresh one at zero.
const pokeClock = new ManualClock(0);
const poked = new Autoscaler({
  clock: pokeClock,
  registry: new Registry(),
  logger: silentLogger,
  scale: () => undefined,
  readyReplicas: () => 0,
});
let pokeRevision = revision(0);
let pokeN = 0;
function freshAtZero(): void {
  pokeN += 1;
  pokeRevision = revision(pokeN, { 'autoscaling.knative.dev/initial-scale': '0' });
  poked.applyState({ ...stateOf([pokeRevision]), autoscalerConfig: { 'allow-zero-initial-scale': 'true' } });
}

const bench = new Bench({ time: 1000 });
bench
  .add('decide() stable mode', () => {
    nowMs += 2000;
    kpaState = decide(DEFAULT_KPA, kpaState, {
      stableValue: 150,
      panicValue: 160,
      readyPods: 3,
      nowMs,
      hasData: true,
    }).next;
  })
  .add('decide() with scale-down-delay 5m', () => {
    nowMs += 2000;
    delayedState = decide(delayed, delayedState, {
      stableValue: (nowMs / 2000) % 300,
      panicValue: 160,
      readyPods: 3,
      nowMs,
      hasData: true,
    }).next;
  })
  .add('applyScaleRules()', () => {
    nowMs += 2000;
    scalerState = applyScaleRules(DEFAULT_KPA, scalerState, {
      decided: 2,
      readyPods: 2,
      nowMs,
      reachable: true,
    }).next;
  })
  .add(`tick() over ${REVISIONS} revisions`, () => {
    tickMs += 2000;
    autoscaler.record('gateway-0', stats, tickMs);
    autoscaler.tick(tickMs);
  })
  .add(
    'poke() at zero → scale(1)',
    () => {
      poked.poke(pokeRevision.key, 1000);
    },
    { beforeEach: freshAtZero },
  );

await bench.run();
console.table(bench.table());
