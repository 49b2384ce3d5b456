// Table-driven: W3C Trace Context level 1 parsing (cases from the spec and its test suite,
// w3c/trace-context test/test.py), request id sanity, and the id generator.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { RandomIds } from './ids.js';
import { formatTraceparent, isSaneRequestId, traceFlags, trimOws } from './trace-context.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const P = '00f067aa0ba902b7';
const valid = (o: { v?: string; t?: string; p?: string; f?: string; rest?: string } = {}): string =>
  `${o.v ?? '00'}-${o.t ?? T}-${o.p ?? P}-${o.f ?? '01'}${o.rest ?? ''}`;

interface FlagsCase {
  readonly name: string;
  readonly value: string;
  /** The flags passed on; '' = invalid, a new trace starts. */
  readonly want: string;
}

const cases: readonly FlagsCase[] = [
  { name: 'the spec example (sampled)', value: valid(), want: '01' },
  { name: 'not sampled', value: valid({ f: '00' }), want: '00' },
  { name: 'unknown flag bits are kept in version 00', value: valid({ f: 'ff' }), want: 'ff' },
  { name: 'empty', value: '', want: '' },
  { name: 'garbage', value: 'hello', want: '' },
  { name: 'version ff is invalid', value: valid({ v: 'ff' }), want: '' },
  { name: 'version with illegal characters', value: valid({ v: '.0' }), want: '' },
  { name: 'version with uppercase hex', value: valid({ v: 'A0' }), want: '' },
  { name: 'version too long', value: valid({ v: '000' }), want: '' },
  { name: 'version too short', value: valid({ v: '0' }), want: '' },
  {
    name: 'version 00 with a trailing field',
    value: valid({ rest: '-what-the-future-will-be-like' }),
    want: '',
  },
  { name: 'version 00 with a trailing character', value: valid({ rest: '.' }), want: '' },
  { name: 'a higher version is read as 00', value: valid({ v: 'cc' }), want: '01' },
  {
    name: 'a higher version with future fields',
    value: valid({ v: 'cc', rest: '-what-the-future-will-be-like' }),
    want: '01',
  },
  {
    name: 'a higher version: only the sampled bit is kept',
    value: valid({ v: 'cc', f: '03' }),
    want: '01',
  },
  {
    name: 'a higher version needs a dash after the flags',
    value: valid({ v: 'cc', rest: '.what-the-future-will-be-like' }),
    want: '',
  },
  { name: 'trace-id all zeros', value: valid({ t: '0'.repeat(32) }), want: '' },
  { name: 'trace-id with illegal characters', value: valid({ t: '.bcdef' + T.slice(6) }), want: '' },
  { name: 'trace-id uppercase', value: valid({ t: T.toUpperCase() }), want: '' },
  { name: 'trace-id too long', value: valid({ t: T + '0' }), want: '' },
  { name: 'trace-id too short', value: valid({ t: T.slice(1) }), want: '' },
  { name: 'parent-id all zeros', value: valid({ p: '0'.repeat(16) }), want: '' },
  { name: 'parent-id with illegal characters', value: valid({ p: '.' + P.slice(1) }), want: '' },
  { name: 'parent-id too long', value: valid({ p: P + '0' }), want: '' },
  { name: 'parent-id too short', value: valid({ p: P.slice(1) }), want: '' },
  { name: 'flags with illegal characters', value: valid({ f: '.0' }), want: '' },
  { name: 'flags too long', value: valid({ f: '001' }), want: '' },
  { name: 'flags too short', value: valid({ f: '1' }), want: '' },
  { name: 'a wrong separator', value: valid().replace(/-/, '_'), want: '' },
];

for (const c of cases) {
  test(`traceFlags: ${c.name}`, () => {
    assert.equal(traceFlags(c.value), c.want);
  });
}

test('OWS around the value is trimmed (w3c test_traceparent_ows_handling)', () => {
  for (const v of [' ' + valid(), '\t' + valid(), valid() + ' ', valid() + '\t', '\t ' + valid() + ' \t']) {
    assert.equal(traceFlags(trimOws(v)), '01', JSON.stringify(v));
  }
  const plain = valid();
  assert.equal(trimOws(plain), plain);
});

test('formatTraceparent keeps the trace-id and flags, with a new parent', () => {
  assert.equal(formatTraceparent(T, 'b7ad6b7169203331', '00'), `00-${T}-b7ad6b7169203331-00`);
  assert.equal(traceFlags(formatTraceparent(T, 'b7ad6b7169203331', '01')), '01');
});

const requestIds: readonly (readonly [string, string, boolean])[] = [
  ['a UUID', 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6', true],
  ['printable with spaces', 'my request 1', true],
  ['200 characters', 'x'.repeat(200), true],
  ['201 characters', 'x'.repeat(201), false],
  ['empty', '', false],
  ['a control character', 'a\u0001b', false],
  ['DEL', 'a\u007fb', false],
  ['non-ASCII', 'caf\u00e9', false],
];
for (const [name, value, want] of requestIds) {
  test(`isSaneRequestId: ${name}`, () => {
    assert.equal(isSaneRequestId(value), want);
  });
}

test('RandomIds: valid new traceparents and span ids, no repeats across refills', () => {
  const ids = new RandomIds();
  const seen = new Set<string>();
  for (let i = 0; i < 2_000; i++) {
    const tp = ids.newTraceparent();
    const s = ids.spanId();
    assert.match(tp, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.equal(traceFlags(tp), '01', 'valid: no all-zero id');
    assert.match(s, /^[0-9a-f]{16}$/);
    const t = tp.slice(3, 35);
    assert.ok(!seen.has(t) && !seen.has(s));
    seen.add(t).add(s);
  }
});

test('RandomIds: all-zero random ids are drawn again', () => {
  let calls = 0;
  // The prefix, then a whole batch of zeros; every later draw is 0xab.
  const ids = new RandomIds((b) => {
    b.fill(calls++ === 1 ? 0 : 0xab);
  });
  assert.equal(ids.newTraceparent(), `00-${'ab'.repeat(16)}-${'ab'.repeat(8)}-01`);
  assert.equal(ids.spanId(), 'ab'.repeat(8));
});

test('RandomIds: request ids share a random prefix and count up', () => {
  const ids = new RandomIds();
  const a = ids.requestId();
  const b = ids.requestId();
  assert.match(a, /^[0-9a-f]{16}-000000000001$/);
  assert.equal(b, a.slice(0, 17) + '000000000002');
  for (let i = 0; i < 300; i++) ids.requestId();
  assert.equal(ids.requestId(), a.slice(0, 17) + (303).toString(16).padStart(12, '0'), 'across refills');
  assert.notEqual(new RandomIds().requestId().slice(0, 16), a.slice(0, 16));
  assert.ok(isSaneRequestId(a));
});
