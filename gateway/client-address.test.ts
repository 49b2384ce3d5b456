import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { test } from 'node:test';
import { ClientAddressText, formatV6, normalizeNodeAddress } from './client-address.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const v6 = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex.replace(/:/g, ''), 'hex'));

const CASES: readonly (readonly [name: string, input: Uint8Array, text: string])[] = [
  ['IPv4', bytes(127, 0, 0, 1), '127.0.0.1'],
  ['IPv4 with zeros and 255s', bytes(10, 0, 255, 0), '10.0.255.0'],
  ['IPv4-mapped IPv6 is the IPv4 it maps', v6('0000:0000:0000:0000:0000:ffff:7f00:0001'), '127.0.0.1'],
  ['loopback', v6('0000:0000:0000:0000:0000:0000:0000:0001'), '::1'],
  ['unspecified', v6('0000:0000:0000:0000:0000:0000:0000:0000'), '::'],
  ['leading zeros dropped, lowercase', v6('2001:0DB8:0000:0000:0000:0000:0002:0001'), '2001:db8::2:1'],
  // RFC 5952 §4.2.2: a single zero group is not compressed.
  ['one zero group stays', v6('2001:0db8:0000:0001:0001:0001:0001:0001'), '2001:db8:0:1:1:1:1:1'],
  // §4.2.3: the longest run, and the first of equal runs.
  ['longest run', v6('2001:0000:0000:0001:0000:0000:0000:0001'), '2001:0:0:1::1'],
  ['first of equal runs', v6('2001:0db8:0000:0000:0001:0000:0000:0001'), '2001:db8::1:0:0:1'],
  ['run at the end', v6('fe80:0000:0000:0000:0000:0000:0000:0000'), 'fe80::'],
  ['no zeros', v6('1111:2222:3333:4444:5555:6666:7777:8888'), '1111:2222:3333:4444:5555:6666:7777:8888'],
  ['neither 4 nor 16 bytes', bytes(1, 2, 3), ''],
];

for (const [name, input, text] of CASES)
  test(`client address: ${name} -> ${text === '' ? "''" : text}`, () => {
    assert.equal(new ClientAddressText().format(input), text);
  });

test('formatV6 agrees with node:net on random addresses (every one parses back to itself)', () => {
  let seed = 7;
  const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
  for (let n = 0; n < 2_000; n++) {
    // Mostly zero bytes, so that runs of zero groups of every length turn up.
    const b = Uint8Array.from({ length: 16 }, () => (next() < 160 ? 0 : next()));
    const text = formatV6(b);
    assert.equal(isIP(text), 6, text);
    const back = new URL(`http://[${text}]/`).hostname.slice(1, -1);
    assert.equal(back, text, 'the WHATWG URL parser serialises IPv6 as RFC 5952 does');
  }
});

test('IPv4 strings are reused for a returning client', () => {
  const f = new ClientAddressText();
  const a = f.format(bytes(192, 168, 1, 20));
  assert.equal(a, '192.168.1.20');
  assert.equal(f.format(bytes(192, 168, 1, 20)), a);
});

test("node:http's mapped form becomes the IPv4; others pass unchanged", () => {
  assert.equal(normalizeNodeAddress('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(normalizeNodeAddress('::ffff:7f00:1'), '::ffff:7f00:1');
  assert.equal(normalizeNodeAddress('::1'), '::1');
  assert.equal(normalizeNodeAddress('10.1.2.3'), '10.1.2.3');
});
