// The cold-start poke, measured end to end in one process: from the moment a request for a revision
// at zero is written to the gateway's socket to the moment the autoscaler calls Runtime.scale(rev, 1).
// The target: under 5 ms locally. The real Gateway (uWS or node:http front end) and the
// real Autoscaler are wired as `kedge up` wires them; only the runtime is a recorder.
//
// Usage: node dist/bench/poke-latency.js [--samples 200] [--frontend uws|node]
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { Autoscaler } from '../autoscaler/autoscaler.js';
import type { RevisionSpec, Route, State } from '../controller/state.js';
import { Gateway } from '../gateway/gateway.js';
import { systemClock } from '../lib/clock.js';
import { silentLogger } from '../lib/log.js';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '200' },
    frontend: { type: 'string', default: 'uws' },
  },
  strict: true,
});
const samples = Number(values.samples);
const frontend = values.frontend;
if (!Number.isInteger(samples) || samples < 1) throw new Error('--samples must be a whole number >= 1');
if (frontend !== 'uws' && frontend !== 'node') throw new Error('--frontend must be uws or node');

// One revision per sample, each at zero (initial scale 0), so every request is a first request.
function revision(i: number): RevisionSpec {
  return {
    key: `default/svc${i}-00001`,
    name: `svc${i}-00001`,
    namespace: 'default',
    service: `svc${i}`,
    generation: 1,
    container: { image: 'bench', command: [], args: [], workingDir: '', env: [], port: 8080 },
    containerConcurrency: 0,
    timeoutSeconds: 300,
    responseStartTimeoutSeconds: null,
    idleTimeoutSeconds: null,
    queueTimeoutSeconds: 5,
    annotations: {},
    createdAt: new Date().toISOString(),
  };
}
const revisions = Array.from({ length: samples }, (_, i) => revision(i));
const routes: Route[] = revisions.map((r) => ({
  host: `${r.service}.default.example.com`,
  namespace: 'default',
  service: r.service,
  tag: null,
  splits: [{ revision: r.key, percent: 100 }],
}));
const state: State = {
  version: 1,
  revisions,
  routes,
  autoscalerConfig: { 'allow-zero-initial-scale': 'true', 'initial-scale': '0' },
};

const scaledAtMs = new Map<string, number>();
const registry = new Registry();
const autoscaler = new Autoscaler({
  clock: systemClock,
  logger: silentLogger,
  registry,
  scale: (key, replicas) => {
    if (replicas > 0 && !scaledAtMs.has(key)) scaledAtMs.set(key, performance.now());
  },
  readyReplicas: () => 0,
});
autoscaler.applyState(state);
const gateway = await Gateway.start({
  host: '127.0.0.1',
  port: 0,
  frontend,
  clock: systemClock,
  stats: autoscaler,
  logger: silentLogger,
  registry,
});
gateway.applyState(state);

/** A connected client socket; the request is timed from its write, not from the connect. */
async function connected(): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port: gateway.port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  // The request stays queued (nothing ever becomes ready); only the poke is being timed.
  socket.on('data', () => undefined);
  return socket;
}

// One connection per sample: servers handle pipelined requests one at a time, and each of these
// stays queued, so a second request on the same connection would wait behind the first.
const latenciesMs: number[] = [];
const sockets: Socket[] = [];
for (let i = 0; i < samples; i++) {
  const r = revisions[i];
  if (r === undefined) break;
  const socket = await connected();
  sockets.push(socket);
  const sentAtMs = performance.now();
  socket.write(`GET / HTTP/1.1\r\nHost: ${r.service}.default.example.com\r\n\r\n`);
  // Bounded wait: the poke is synchronous on the request path, so it lands within a few ms.
  const deadlineMs = sentAtMs + 1_000;
  while (!scaledAtMs.has(r.key) && performance.now() < deadlineMs) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  const at = scaledAtMs.get(r.key);
  if (at !== undefined) latenciesMs.push(at - sentAtMs);
}
for (const socket of sockets) socket.destroy();
await gateway.close();

latenciesMs.sort((a, b) => a - b);
const q = (p: number): number =>
  latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(p * latenciesMs.length))] ?? NaN;
console.log(
  `request written -> Runtime.scale(rev, 1), ${frontend} front end, ${latenciesMs.length}/${samples} samples: ` +
    `median ${q(0.5).toFixed(3)} ms, p90 ${q(0.9).toFixed(3)} ms, p99 ${q(0.99).toFixed(3)} ms, max ${q(1).toFixed(3)} ms (target < 5 ms)`,
);
process.exit(latenciesMs.length === samples ? 0 : 1);
