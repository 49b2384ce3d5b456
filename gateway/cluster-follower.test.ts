import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { ClusterSnapshot } from '../lib/cluster-protocol.js';
import { silentLogger } from '../lib/log.js';
import { FakeController, Signal } from '../test/cluster-data-plane/fakes.js';
import { SnapshotFollower, SnapshotFormatError, backoffDelayMs, parseSnapshot } from './cluster-follower.js';
import { rev, route, stateOf } from './testing/fixtures.js';

test('backoff: full jitter under a doubling cap', () => {
  const rows: readonly { attempt: number; random: number; want: number }[] = [
    { attempt: 0, random: 0.5, want: 50 },
    { attempt: 3, random: 0.5, want: 400 },
    { attempt: 3, random: 0, want: 0 },
    { attempt: 10, random: 0.999, want: 4995 }, // capped at 5 s
    { attempt: 1000, random: 0.5, want: 2500 }, // no overflow
  ];
  for (const r of rows) {
    assert.equal(
      backoffDelayMs(r.attempt, () => r.random, 100, 5000),
      r.want,
      `attempt ${r.attempt}`,
    );
  }
});

test('parseSnapshot rejects what a consumer cannot use', () => {
  const good = {
    version: 2,
    state: stateOf([], []),
    endpoints: {},
    draining: [],
    failures: {},
  };
  assert.equal(parseSnapshot(good).version, 2);
  const bad: readonly unknown[] = [
    null,
    { ...good, version: '2' },
    { ...good, state: { version: 1 } },
    { ...good, endpoints: { a: 1 } },
    { ...good, draining: [1] },
    { ...good, failures: [] },
  ];
  for (const b of bad) assert.throws(() => parseSnapshot(b), SnapshotFormatError);
});

test('follows snapshots by long-poll, and keeps the last one through an outage', async (t) => {
  const state = stateOf([rev('hello-00001')], [route('hello.default.example.com', [['hello-00001', 100]])]);
  const controller = new FakeController({ state });
  await controller.start();
  const seen: ClusterSnapshot[] = [];
  const got = new Signal();
  const follower = new SnapshotFollower({
    controllerUrl: controller.url,
    logger: silentLogger,
    onSnapshot: (s) => {
      seen.push(s);
      got.notify();
    },
    pollTimeoutSeconds: 1,
    backoffBaseMs: 20,
    backoffMaxMs: 50,
  });
  t.after(async () => {
    await follower.stop();
    await controller.stop();
  });
  follower.start();
  await got.until('the first snapshot', () => seen.length === 1);
  assert.equal(follower.snapshot?.version, 1);

  controller.publish({ state, draining: ['p9'] });
  await got.until('the second snapshot', () => seen.length === 2);
  assert.deepEqual(seen[1]?.draining, ['p9']);

  await controller.stop();
  const pollsBefore = controller.polls;
  await controller.start(); // same port, and a restarted controller may start from a lower version
  controller.publish({ state, endpoints: { 'default/hello-00001': [] } });
  await got.until('a snapshot after the outage', () => seen.length === 3);
  assert.ok(controller.polls > pollsBefore);
  assert.equal(follower.snapshot.version, controller.version);
});

test('an unchanged snapshot is answered with 304 and not delivered again', async (t) => {
  let polls = 0;
  const polled = new Signal();
  const server = createServer((req, res) => {
    polls++;
    polled.notify();
    if (polls === 1) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ version: 7, state: stateOf([], []), endpoints: {}, draining: [], failures: {} }),
      );
      return;
    }
    assert.match(req.url ?? '', /after=7&timeoutSeconds=1/);
    res.writeHead(304).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const seen: number[] = [];
  const follower = new SnapshotFollower({
    controllerUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    logger: silentLogger,
    onSnapshot: (s) => seen.push(s.version),
    pollTimeoutSeconds: 1,
  });
  t.after(async () => {
    await follower.stop();
    server.closeAllConnections();
    server.close();
  });
  follower.start();
  await polled.until('three polls after the first answer', () => polls >= 4);
  assert.deepEqual(seen, [7]);
});
