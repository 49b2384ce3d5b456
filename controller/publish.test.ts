import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { SNAPSHOT_PATH } from '../lib/cluster-protocol.js';
import {
  type Published,
  type SnapshotContent,
  SnapshotPublisher,
  parsePollQuery,
  startSnapshotServer,
} from './publish.js';
import { EMPTY_STATE } from './state.js';

const EMPTY: SnapshotContent = { state: EMPTY_STATE, endpoints: {}, draining: [], failures: {} };
const content = (o: Partial<SnapshotContent>): SnapshotContent => ({ ...EMPTY, ...o });
const ONE_ENDPOINT = content({
  endpoints: { 'default/a-00001': [{ id: 'p1', host: '127.0.0.2', port: 8080 }] },
});

interface PollCase {
  readonly name: string;
  /** Contents handed to update() after the publisher starts at version 10 with EMPTY. */
  readonly updates: readonly SnapshotContent[];
  readonly after: number;
  /** The version sent at once, or 'wait'. */
  readonly want: number | 'wait';
}

const pollCases: readonly PollCase[] = [
  { name: 'a new client (after=0) gets the snapshot at once', updates: [], after: 0, want: 10 },
  { name: 'a client at the current version waits', updates: [], after: 10, want: 'wait' },
  { name: 'a client behind gets the latest at once', updates: [ONE_ENDPOINT], after: 10, want: 11 },
  { name: 'equal content keeps the version', updates: [EMPTY, content({})], after: 10, want: 'wait' },
  {
    name: 'a burst coalesces: one version per change, latest wins',
    updates: [ONE_ENDPOINT, EMPTY, ONE_ENDPOINT],
    after: 0,
    want: 13,
  },
  {
    name: 'a client ahead (controller restarted) gets the snapshot at once',
    updates: [],
    after: 99,
    want: 10,
  },
  {
    name: 'draining and failures are content too',
    updates: [
      content({ draining: ['p1'] }),
      content({ draining: ['p1'], failures: { 'default/a-00001': { reason: 'ExitCode1', message: 'x' } } }),
    ],
    after: 11,
    want: 12,
  },
];

for (const c of pollCases) {
  test(`poll: ${c.name}`, () => {
    const p = new SnapshotPublisher(10, EMPTY);
    for (const u of c.updates) p.update(u);
    const answer = p.poll(c.after);
    assert.equal(answer.kind === 'send' ? answer.published.snapshot.version : 'wait', c.want);
  });
}

test('wait: woken by a change, not by equal content; cancel drops the waiter; close answers null', () => {
  const p = new SnapshotPublisher(1, EMPTY);
  const got: (Published | null)[] = [];
  p.wait(1, (x) => got.push(x));
  assert.equal(p.update(EMPTY), false);
  assert.equal(got.length, 0);
  assert.equal(p.update(ONE_ENDPOINT), true);
  assert.equal(got.length, 1);
  assert.equal(got[0]?.snapshot.version, 2);
  assert.equal(p.waiting, 0);

  const cancel = p.wait(2, (x) => got.push(x));
  cancel();
  p.update(EMPTY);
  assert.equal(got.length, 1, 'a cancelled waiter is never called');

  p.wait(3, (x) => got.push(x));
  p.close();
  assert.deepEqual(got.slice(1), [null]);
  p.wait(3, (x) => got.push(x));
  assert.deepEqual(got.slice(1), [null, null], 'after close, a wait is answered at once');
});

const queryCases: readonly { q: string; want: string }[] = [
  { q: '', want: 'after=0 timeoutMs=30000' },
  { q: 'after=7&timeoutSeconds=0.5', want: 'after=7 timeoutMs=500' },
  { q: 'after=-1', want: 'error' },
  { q: 'after=abc', want: 'error' },
  { q: 'after=', want: 'error' },
  { q: 'timeoutSeconds=301', want: 'error' },
];
for (const c of queryCases) {
  test(`parsePollQuery(${JSON.stringify(c.q)}) → ${c.want}`, () => {
    const r = parsePollQuery(new URLSearchParams(c.q));
    assert.equal(r.ok ? `after=${r.after} timeoutMs=${r.timeoutMs}` : 'error', c.want);
  });
}

function get(port: number, path: string): Promise<{ status: number; body: string; connection: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection ?? '' });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in 5s`)));
    req.on('error', reject);
    req.end();
  });
}

test('HTTP: at once when behind, 304 after the timeout, woken by a change, 400 on a bad query, 304 on close', async (t) => {
  const p = new SnapshotPublisher(5, EMPTY);
  const server = await startSnapshotServer(p, '127.0.0.1', 0);
  t.after(() => server.close());

  const first = await get(server.port, `${SNAPSHOT_PATH}?after=0`);
  assert.equal(first.status, 200);
  assert.equal((JSON.parse(first.body) as { version: number }).version, 5);

  const timedOut = await get(server.port, `${SNAPSHOT_PATH}?after=5&timeoutSeconds=0.05`);
  assert.equal(timedOut.status, 304);

  const pending = get(server.port, `${SNAPSHOT_PATH}?after=5&timeoutSeconds=10`);
  while (p.waiting === 0) await new Promise((resolve) => setImmediate(resolve));
  p.update(ONE_ENDPOINT);
  const woken = await pending;
  assert.equal(woken.status, 200);
  const snapshot = JSON.parse(woken.body) as { version: number; endpoints: unknown };
  assert.equal(snapshot.version, 6);
  assert.deepEqual(snapshot.endpoints, ONE_ENDPOINT.endpoints);

  assert.equal((await get(server.port, `${SNAPSHOT_PATH}?after=x`)).status, 400);
  assert.equal((await get(server.port, '/nope')).status, 404);

  const atClose = get(server.port, `${SNAPSHOT_PATH}?after=6&timeoutSeconds=10`);
  while (p.waiting === 0) await new Promise((resolve) => setImmediate(resolve));
  await server.close();
  const closed = await atClose;
  assert.equal(closed.status, 304);
  assert.equal(closed.connection, 'close', 'no keep-alive into a closing server');
  assert.notEqual(timedOut.connection, 'close', 'a timeout keeps the connection');
});
