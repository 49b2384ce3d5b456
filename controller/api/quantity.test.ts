import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  ERR_FORMAT_WRONG,
  ERR_SUFFIX,
  compareQuantities,
  isWholeQuantity,
  parseQuantity,
} from './quantity.js';

// Rows from the behaviour of k8s.io/apimachinery ParseQuantity (quantity_test.go's valid and
// invalid tables), written as the value each text stands for.
const valid: readonly (readonly [text: string, value: string])[] = [
  ['0', '0'],
  ['100m', '0.1'],
  ['0.5', '0.5'],
  ['.5', '0.5'],
  ['5.', '5'],
  ['1.G', '1000000000'],
  ['64Mi', String(64 * 2 ** 20)],
  ['1.5Gi', String(1.5 * 2 ** 30)],
  ['1G', '1000000000'],
  ['1e3', '1000'],
  ['1E3', '1000'],
  ['1e+3', '1000'],
  ['5e-3', '0.005'],
  ['1E', '1000000000000000000'],
  ['10n', '0.00000001'],
  ['7u', '0.000007'],
  ['+1k', '1000'],
  ['-1', '-1'],
  ['007', '7'],
  // Kubernetes' scanner takes an empty number as zero.
  ['+', '0'],
  ['.', '0'],
  ['Mi', '0'],
];

const invalid: readonly (readonly [text: string, reason: string])[] = [
  ['', ERR_FORMAT_WRONG],
  ['64MB', ERR_FORMAT_WRONG],
  ['1.5.5', ERR_FORMAT_WRONG],
  [' 1', ERR_FORMAT_WRONG],
  ['1 Gi', ERR_FORMAT_WRONG],
  ['0x10', ERR_FORMAT_WRONG],
  ['1e3.5', ERR_FORMAT_WRONG],
  ['one', ERR_FORMAT_WRONG],
  ['1K', ERR_SUFFIX],
  ['1ki', ERR_SUFFIX],
  ['64mi', ERR_SUFFIX],
  ['1e', ERR_SUFFIX],
  ['1ee3', ERR_SUFFIX],
  ['1Ki3', ERR_SUFFIX],
];

/** A decimal value as sign × digits × 10^exponent, for comparing with a row. */
function decimal(value: string): { sign: number; mantissa: bigint; exponent: number } {
  const negative = value.startsWith('-');
  const [whole = '', fraction = ''] = value.replace(/^-/, '').split('.');
  const digits = `${whole}${fraction}`.replace(/^0+/, '');
  if (digits === '') return { sign: 0, mantissa: 0n, exponent: 0 };
  return { sign: negative ? -1 : 1, mantissa: BigInt(digits), exponent: -fraction.length };
}

for (const [text, value] of valid) {
  test(`parseQuantity: ${JSON.stringify(text)} is ${value}`, () => {
    const parsed = parseQuantity(text);
    assert.ok(parsed.ok, text);
    assert.equal(compareQuantities(parsed.quantity, decimal(value)), 0);
  });
}

for (const [text, reason] of invalid) {
  test(`parseQuantity: ${JSON.stringify(text)} is rejected`, () => {
    assert.deepEqual(parseQuantity(text), { ok: false, reason });
  });
}

function q(text: string) {
  const parsed = parseQuantity(text);
  assert.ok(parsed.ok, text);
  return parsed.quantity;
}

const comparisons: readonly (readonly [a: string, b: string, want: number])[] = [
  ['100m', '0.1', 0],
  ['1Gi', '1G', 1],
  ['1000Mi', '1Gi', -1],
  ['1024Ki', '1Mi', 0],
  ['-1', '0', -1],
  ['-2', '-1', -1],
  ['1e999999', '1E', 1],
  ['1e-999999', '1n', -1],
  ['999m', '1', -1],
];

for (const [a, b, want] of comparisons) {
  test(`compareQuantities: ${a} vs ${b} → ${want}`, () => {
    assert.equal(compareQuantities(q(a), q(b)), want);
    assert.equal(compareQuantities(q(b), q(a)), want === 0 ? 0 : -want);
  });
}

test('isWholeQuantity: whole numbers in any notation', () => {
  for (const text of ['0', '1', '2000m', '1k', '1.0', '3e2'])
    assert.equal(isWholeQuantity(q(text)), true, text);
  for (const text of ['500m', '1.5', '1e-999999', '1001m'])
    assert.equal(isWholeQuantity(q(text)), false, text);
});
