// Two `kedge gateway` processes against one fake controller and one fake autoscaler: they are
// plain HTTP peers (lib/cluster-protocol.ts), so no Kubernetes is needed here.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { rev, route, send, startBackend, stateOf, type Backend } from '../../gateway/testing/fixtures.js';
import { FakeAutoscaler, FakeController } from './fakes.js';
import { msg, startDataPlane, type DataPlaneProcess } from './processes.js';

const HELLO = rev('hello-00001');
const COLD = rev('cold-00001');
const HELLO_HOST = 'hello.default.example.com';
const COLD_HOST = 'cold.default.example.com';
const routes = [route(HELLO_HOST, [['hello-00001', 100]]), route(COLD_HOST, [['cold-00001', 100]], 'cold')];

let backend: Backend;
let controller: FakeController;
let autoscaler: FakeAutoscaler;
const gateways: { proc: DataPlaneProcess; port: number; source: string }[] = [];
/** Responses to /slow wait here until the test lets them go. */
const held: ServerResponse[] = [];
let heldSignal: (() => void) | null = null;

function releaseHeld(): void {
  for (const res of held.splice(0)) res.end('slow done\n');
}

async function startGateway(
  source: string,
): Promise<{ proc: DataPlaneProcess; port: number; source: string }> {
  const proc = startDataPlane([
    'gateway',
    '--controller',
    controller.url,
    '--autoscaler',
    autoscaler.url,
    '--port',
    '0',
    '--admin-port',
    '0',
    '--listen',
    '127.0.0.1',
    '--source',
    source,
    '--drain-seconds',
    '0',
    '--log-level',
    'debug',
  ]);
  const started = await proc.waitFor('start-up', msg('kedge gateway started'));
  await proc.waitFor('the first snapshot', msg('first snapshot applied'));
  return { proc, port: Number(started['port']), source };
}

/** Both gateways have applied this snapshot version. */
async function applied(version: number): Promise<void> {
  await Promise.all(
    gateways.map((g) =>
      g.proc.waitFor(
        `snapshot ${version} on ${g.source}`,
        (l) =>
          (l['msg'] === 'snapshot applied' || l['msg'] === 'first snapshot applied') &&
          l['version'] === version,
      ),
    ),
  );
}

before(async () => {
  backend = await startBackend((req, res) => {
    if (req.url === '/slow') {
      held.push(res);
      heldSignal?.();
      return;
    }
    res.end(`hello from the backend (${req.headers.host ?? ''})\n`);
  });
  autoscaler = new FakeAutoscaler();
  await autoscaler.start();
  controller = new FakeController({
    state: stateOf([HELLO, COLD], routes),
    endpoints: { [HELLO.key]: [backend.endpoint('pod-1')] },
  });
  await controller.start();
  gateways.push(...(await Promise.all([startGateway('gw-a'), startGateway('gw-b')])));
});

after(async () => {
  releaseHeld();
  await Promise.all(gateways.map((g) => g.proc.stop()));
  await controller.stop();
  await autoscaler.stop();
  await backend.close();
});

test('both gateways route to a probed pod and report to the autoscaler', async () => {
  for (const g of gateways) {
    const reply = await send(g.port, { host: HELLO_HOST });
    assert.equal(reply.status, 200, g.source);
    assert.match(reply.body.toString(), /hello from the backend/);
  }
  await autoscaler.received.until('reports from both gateways', () => {
    const s = autoscaler.sources();
    return s.has('gw-a') && s.has('gw-b');
  });
  await autoscaler.received.until('a report with hello-00001 stats', () =>
    autoscaler.reports.some((r) => r.stats.some((s) => s.revision === HELLO.key && s.requestCount > 0)),
  );
});

test('in-flight requests per endpoint are reported while they run', async () => {
  const g = gateways[0];
  assert.ok(g !== undefined);
  const arrived = new Promise<void>((resolve) => {
    heldSignal = resolve;
  });
  const slow = send(g.port, { host: HELLO_HOST, path: '/slow', timeoutMs: 10_000 });
  await arrived;
  await autoscaler.received.until('pod-1 busy in gw-a report', () =>
    autoscaler.reports.some((r) => r.source === 'gw-a' && r.inFlight['pod-1'] === 1),
  );
  releaseHeld();
  assert.equal((await slow).status, 200);
});

test('a draining endpoint is reported, with 0 once idle', async () => {
  const from = autoscaler.reports.length;
  controller.publish({
    state: stateOf([HELLO, COLD], routes),
    endpoints: { [HELLO.key]: [backend.endpoint('pod-1')] },
    draining: ['pod-0'],
  });
  await applied(controller.version);
  await autoscaler.received.until('pod-0 reported idle by both', () => {
    const later = autoscaler.reports.slice(from);
    return ['gw-a', 'gw-b'].every((s) => later.some((r) => r.source === s && r.inFlight['pod-0'] === 0));
  });
});

test('a cold start pokes the autoscaler at once; the request waits for the endpoint', async () => {
  const g = gateways[1];
  assert.ok(g !== undefined);
  const started = Date.now();
  const reply = send(g.port, { host: COLD_HOST, timeoutMs: 10_000 });
  await autoscaler.received.until('the poke', () => autoscaler.pokes.some((p) => p.revision === COLD.key));
  const poke = autoscaler.pokes.find((p) => p.revision === COLD.key);
  assert.equal(poke?.source, 'gw-b');
  assert.ok(poke.atMs - started < 500, 'poked on the request path, not at the next report');
  controller.publish({
    state: stateOf([HELLO, COLD], routes),
    endpoints: { [HELLO.key]: [backend.endpoint('pod-1')], [COLD.key]: [backend.endpoint('cold-pod-1')] },
  });
  const r = await reply;
  assert.equal(r.status, 200);
  assert.match(r.body.toString(), /cold\.default\.example\.com/);
});

test('with the controller gone, both gateways keep serving the last snapshot', async () => {
  await controller.stop();
  for (const g of gateways) {
    await g.proc.waitFor(`${g.source} notices`, msg('snapshot poll failed; serving the last snapshot'));
    for (const host of [HELLO_HOST, COLD_HOST]) {
      const reply = await send(g.port, { host });
      assert.equal(reply.status, 200, `${g.source} ${host}`);
    }
  }
  await controller.start();
});

test('SIGTERM: the request in flight finishes, then the gateway exits 0', async () => {
  const g = gateways[0];
  assert.ok(g !== undefined);
  const arrived = new Promise<void>((resolve) => {
    heldSignal = resolve;
  });
  const slow = send(g.port, { host: HELLO_HOST, path: '/slow', timeoutMs: 10_000 });
  await arrived;
  const exit = g.proc.stop();
  await g.proc.waitFor('the signal', (l) => typeof l['msg'] === 'string' && l['msg'].startsWith('SIGTERM'));
  releaseHeld();
  assert.equal((await slow).status, 200);
  assert.equal(await exit, 0);
});
