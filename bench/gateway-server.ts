// The "kedge-uws" and "kedge-node" rows of the load bench: the real Gateway, alone in its own
// process, with one Service route (hello.default.example.com -> one revision, containerConcurrency
// 0) whose only endpoint is the bench's nginx backend. No controller, autoscaler or replicas: this
// isolates the data plane, as the baseline's proxies were isolated.
//
// Usage: node dist/bench/gateway-server.js --frontend uws|node --port N --backend-port M
// Prints one JSON line {"ready":true,"port":N,"frontend":"uws"} on stdout once it serves.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import type { RevisionSpec, Route, State } from '../controller/state.js';
import { Gateway } from '../gateway/gateway.js';
import { systemClock } from '../lib/clock.js';
import { silentLogger } from '../lib/log.js';
import type { StatsSink } from '../lib/stats.js';

const { values } = parseArgs({
  options: {
    frontend: { type: 'string', default: 'uws' },
    port: { type: 'string', default: '0' },
    'backend-port': { type: 'string' },
    host: { type: 'string', default: 'hello.default.example.com' },
    // GET /metrics on this port: the bench reads error counters by code from it after each run.
    'metrics-port': { type: 'string' },
  },
  strict: true,
});
const frontend = values.frontend;
if (frontend !== 'uws' && frontend !== 'node' && frontend !== 'auto') {
  throw new Error(`--frontend must be uws, node or auto, got "${frontend}"`);
}
const backendPort = Number(values['backend-port']);
if (!Number.isInteger(backendPort) || backendPort <= 0) throw new Error('--backend-port N is required');

/** A pure data-plane bench: nobody scales anything, so stats go nowhere. */
const noStats: StatsSink = { record: () => undefined, poke: () => undefined };

const revision: RevisionSpec = {
  key: 'default/hello-00001',
  name: 'hello-00001',
  namespace: 'default',
  service: 'hello',
  generation: 1,
  container: { image: 'bench', command: [], args: [], workingDir: '', env: [], port: backendPort },
  // Knative's default: unlimited per replica, so the gateway never queues in this bench.
  containerConcurrency: 0,
  timeoutSeconds: 300,
  responseStartTimeoutSeconds: null,
  idleTimeoutSeconds: null,
  queueTimeoutSeconds: 300,
  annotations: {},
  createdAt: new Date().toISOString(),
};
const route: Route = {
  host: values.host.toLowerCase(),
  namespace: 'default',
  service: 'hello',
  tag: null,
  splits: [{ revision: revision.key, percent: 100 }],
};
const state: State = { version: 1, revisions: [revision], routes: [route], autoscalerConfig: {} };

const registry = new Registry();
const gateway = await Gateway.start({
  host: '127.0.0.1',
  port: Number(values.port),
  frontend,
  clock: systemClock,
  stats: noStats,
  logger: silentLogger,
  registry,
});
gateway.applyState(state);
gateway.setEndpoints(revision.key, [{ id: 'nginx-backend', host: '127.0.0.1', port: backendPort }]);
const metricsPort = values['metrics-port'] === undefined ? null : Number(values['metrics-port']);
const metricsServer =
  metricsPort === null
    ? null
    : createServer((_req, res) => {
        registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': registry.contentType });
            res.end(text);
          },
          (err: unknown) => {
            res.writeHead(500);
            res.end(String(err));
          },
        );
      });
if (metricsServer !== null && metricsPort !== null) {
  await new Promise<void>((resolve) => metricsServer.listen(metricsPort, '127.0.0.1', resolve));
}
process.stdout.write(JSON.stringify({ ready: true, port: gateway.port, frontend: gateway.frontend }) + '\n');

const stop = (): void => {
  metricsServer?.close();
  gateway.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
