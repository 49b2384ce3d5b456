import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AccessLog,
  accessLogLine,
  buildEntry,
  fileAccessLogSink,
  MemoryAccessLogSink,
  StreamAccessLogSink,
} from './access-log.js';
import type { AccessLogEntry } from './access-log.js';

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

interface RecOptions {
  readonly target?: string;
  readonly dispatchMs?: number;
  readonly headMs?: number;
}

/** A record's raw fields: arrival `i` ms after the epoch (with a 0 offset), done 10 ms later. */
function fields(i: number, o: RecOptions = {}) {
  return [
    i,
    `r-${i}`,
    TP,
    'GET',
    'hello.default.example.com',
    o.target ?? '/a?token=secret',
    'default/hello-00001',
    200,
    5,
    i + 10,
    o.dispatchMs ?? i + 2,
    o.headMs ?? i + 7,
    false,
    null,
  ] as const;
}

function rec(
  i: number,
  o: RecOptions = {},
): { entry(wall: number, frontend: 'uws' | 'node'): AccessLogEntry } {
  return { entry: (wall, frontend) => buildEntry(wall, frontend, ...fields(i, o)) };
}

function push(log: AccessLog, i: number): void {
  log.push(...fields(i));
}

test('an entry: RFC 3339 time, trace-id from the traceparent, the path without its query, the three durations', () => {
  const e = rec(1_000).entry(1_700_000_000_000, 'node');
  assert.deepEqual(e, {
    time: '2023-11-14T22:13:21.000Z',
    requestId: 'r-1000',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    method: 'GET',
    host: 'hello.default.example.com',
    path: '/a',
    revision: 'default/hello-00001',
    status: 200,
    bytesSent: 5,
    totalMs: 10,
    queueMs: 2,
    upstreamMs: 5,
    coldStart: false,
    error: null,
    frontend: 'node',
  } satisfies AccessLogEntry);
  const never = rec(0, { dispatchMs: -1, headMs: -1 }).entry(0, 'uws');
  assert.equal(never.queueMs, 10, 'never dispatched: the whole time was queue wait');
  assert.equal(never.upstreamMs, null);
  assert.equal(rec(0, { target: '/' + 'x'.repeat(5_000) }).entry(0, 'uws').path.length, 2_048);
});

test('accessLogLine is exactly JSON.stringify + newline, for hostile strings too', () => {
  const base = rec(1_000).entry(1_700_000_000_000, 'uws');
  const rows: readonly AccessLogEntry[] = [
    base,
    { ...base, revision: null, upstreamMs: null, error: 'KEDGE_ROUTE_NOT_FOUND', coldStart: true },
    { ...base, requestId: 'a"b\\c', method: 'M"', host: 'h\u0000\u001f\u2028é', path: '/ü/"x"\\' },
    { ...base, totalMs: 0.001, queueMs: 1e-7, upstreamMs: 123456.789, status: 0, bytesSent: 2 ** 40 },
  ];
  for (const e of rows) assert.equal(accessLogLine(e), JSON.stringify(e) + '\n');
});

test('records wait in the ring until flush(), then go to the sink as one batch, in order', () => {
  const sink = new MemoryAccessLogSink();
  const log = new AccessLog(sink, () => 0, 8);
  for (let i = 0; i < 5; i++) push(log, i);
  assert.equal(sink.entries.length, 0, 'nothing is written per request');
  log.flush();
  assert.deepEqual(
    sink.entries.map((e) => e.requestId),
    ['r-0', 'r-1', 'r-2', 'r-3', 'r-4'],
  );
  log.flush();
  assert.equal(sink.entries.length, 5);
  assert.equal(log.takeDropped(), 0);
});

test('a full ring drops and counts; a sink that is behind drops the batch and counts it', () => {
  const sink = new MemoryAccessLogSink(3);
  const log = new AccessLog(sink, () => 0, 4);
  for (let i = 0; i < 6; i++) push(log, i);
  assert.equal(log.takeDropped(), 2, 'ring of 4: two dropped');
  log.flush();
  assert.equal(sink.entries.length, 0, 'the sink takes at most 3: the batch of 4 is dropped');
  assert.equal(log.takeDropped(), 4);
  assert.equal(log.takeDropped(), 0, 'taken once');
  // Wrapped around: the ring keeps working after drops.
  for (let i = 0; i < 3; i++) push(log, i);
  log.flush();
  assert.equal(sink.entries.length, 3);
});

test('a throwing sink loses the batch, counted, and never throws into the gateway', () => {
  const log = new AccessLog(
    {
      write: () => {
        throw new Error('boom');
      },
    },
    () => 0,
    4,
  );
  push(log, 1);
  log.flush();
  assert.equal(log.takeDropped(), 1);
});

test('capacity must be a power of two', () => {
  assert.throws(() => new AccessLog(new MemoryAccessLogSink(), () => 0, 1000), /power of two/);
});

test('stream sink: JSON lines in one write; over 8 MiB waiting, batches are refused', () => {
  const writes: string[] = [];
  let pending = 0;
  const sink = new StreamAccessLogSink({
    write: (s) => writes.push(typeof s === 'string' ? s : s.toString('utf8')) > 0,
    get writableLength() {
      return pending;
    },
  });
  assert.equal(sink.write([rec(1).entry(0, 'uws'), rec(2).entry(0, 'uws')]), true);
  assert.equal(writes.length, 1);
  const lines = (writes[0] ?? '').split('\n');
  assert.equal(lines.length, 3);
  assert.equal((JSON.parse(lines[1] ?? '') as AccessLogEntry).requestId, 'r-2');
  pending = 9 << 20;
  assert.equal(sink.write([rec(3).entry(0, 'uws')]), false);
  assert.equal(writes.length, 1);
});

test('file sink appends JSON lines and closes; a bad path fails at once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-access-log-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const path = join(dir, 'access.log');
  const errors: Error[] = [];
  const sink = fileAccessLogSink(path, (e) => errors.push(e));
  assert.equal(sink.write([rec(1).entry(0, 'uws')]), true);
  await sink.close();
  const again = fileAccessLogSink(path, (e) => errors.push(e));
  again.write([rec(2).entry(0, 'uws')]);
  await again.close();
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  assert.deepEqual(
    lines.map((l) => (JSON.parse(l) as AccessLogEntry).requestId),
    ['r-1', 'r-2'],
  );
  assert.deepEqual(errors, []);
  assert.throws(() => fileAccessLogSink(join(dir, 'no', 'such', 'dir', 'a.log'), () => undefined), /ENOENT/);
});
