import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { LineEncoder } from './access-log-encoder.js';
import { AccessLog, accessLogLine, buildEntry, encodeLine, StreamAccessLogSink } from './access-log.js';
import type { GatewayErrorCode } from './errors.js';

type Args = Parameters<typeof buildEntry>;

/** A deterministic stream of awkward values: every branch of the encoder, and JSON's escapes. */
function randomArgs(seed: number): Args {
  let s = seed;
  const next = (n: number): number => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s % n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[next(xs.length)] as T;
  const strings = [
    '',
    'hello.default.example.com',
    'a"b\\c',
    'ctl\u0000\u0007\u001f',
    'line\u2028sep\u2029',
    'é/ü/漢字',
    '\ud800lone',
    'tail\udfff',
    '😀',
    'x'.repeat(300),
    '/p?q="1"',
  ];
  const time = (): number => pick([0, 1, 0.0004, 0.0005, 1.2345, 999.9995, 123456.789, 1e9 + 0.25, 3e12]);
  const arrival = time();
  const end = arrival + time();
  const dispatch = pick([-1, arrival, arrival + time()]);
  const head = pick([-1, dispatch + time(), arrival - 0.5]);
  const target = pick([...strings, '/' + 'y'.repeat(3_000) + '?q', '/a?b?c', '?only-query']);
  const errors: readonly (GatewayErrorCode | null)[] = [
    null,
    'KEDGE_ROUTE_NOT_FOUND',
    'KEDGE_UPSTREAM_RESET',
  ];
  return [
    pick([0, 1_700_000_000_000, 1_700_000_000_000.4]),
    pick(['uws', 'node'] as const),
    arrival,
    pick(strings),
    pick(['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', '']),
    pick(['GET', 'POST', 'M"', 'X\u0001']),
    pick(strings),
    target,
    pick(['', 'default/hello-00001']),
    pick([0, 200, 404, 599]),
    pick([0, 5, 2 ** 40, 2 ** 53 + 2, 1.5]),
    end,
    dispatch,
    head,
    next(2) === 1,
    pick(errors),
  ];
}

test('encodeLine writes, byte for byte, the UTF-8 of accessLogLine(buildEntry(...)), for 5 000 awkward records', () => {
  const enc = new LineEncoder(16);
  for (let seed = 1; seed <= 5_000; seed++) {
    const args = randomArgs(seed);
    encodeLine(enc, ...args);
    const expected = accessLogLine(buildEntry(...args));
    assert.equal(enc.take().toString('utf8'), expected, `seed ${seed}`);
  }
});

test('millis: thousandths as JSON writes the number', () => {
  const enc = new LineEncoder(4);
  for (const k of [
    0,
    -0,
    1,
    10,
    100,
    1000,
    1001,
    1010,
    1100,
    -1,
    -500,
    -1500,
    123456789,
    999999999999999,
    1e15,
    2 ** 53,
    -(2 ** 60),
  ]) {
    enc.millis(k);
    assert.equal(enc.take().toString('latin1'), JSON.stringify(k / 1000), String(k));
  }
});

test('the stream sink takes encoded lines: the same bytes as the entry path, one write per batch', () => {
  const viaLines: Buffer[] = [];
  const viaEntries: string[] = [];
  const lines = new StreamAccessLogSink({
    write: (chunk) => viaLines.push(Buffer.from(chunk)) > 0,
    writableLength: 0,
  });
  const entries = {
    write: (batch: Parameters<StreamAccessLogSink['write']>[0]): boolean =>
      viaEntries.push(batch.map((e) => accessLogLine(e)).join('')) > 0,
  };
  const a = new AccessLog(lines, () => 1_700_000_000_000, 8);
  const b = new AccessLog(entries, () => 1_700_000_000_000, 8);
  for (let seed = 1; seed <= 5; seed++) {
    const [, , ...rest] = randomArgs(seed);
    a.push(...rest);
    b.push(...rest);
  }
  a.flush();
  b.flush();
  assert.equal(viaLines.length, 1);
  assert.equal(viaLines[0]?.toString('utf8'), viaEntries[0]);
});
