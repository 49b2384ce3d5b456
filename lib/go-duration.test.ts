import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatGoDuration, parseGoDuration } from './go-duration.js';

// Go time.ParseDuration facts.
const parses: readonly (readonly [string, number | undefined])[] = [
  ['0', 0],
  ['60s', 60_000],
  ['1m30s', 90_000],
  ['1h', 3_600_000],
  ['1.5s', 1500],
  ['.5s', 500],
  ['100ms', 100],
  ['1500us', 1.5],
  ['1500µs', 1.5],
  ['1000000ns', 1],
  ['-1s', -1000],
  ['+2m', 120_000],
  ['', undefined],
  ['60', undefined],
  ['1d', undefined],
  ['s', undefined],
  ['1s ', undefined],
  ['-', undefined],
];
for (const [text, want] of parses) {
  test(`parseGoDuration(${JSON.stringify(text)}) → ${String(want)}`, () => {
    assert.equal(parseGoDuration(text), want);
  });
}

// Go Duration.String() facts.
const formats: readonly (readonly [number, string])[] = [
  [0, '0s'],
  [6000, '6s'],
  [3_600_000, '1h0m0s'],
  [90_000, '1m30s'],
  [1500, '1.5s'],
  [500, '500ms'],
  [1.5, '1.5ms'],
  [0.5, '500µs'],
  [0.000001, '1ns'],
  [-1000, '-1s'],
  [7_261_000, '2h1m1s'],
];
for (const [ms, want] of formats) {
  test(`formatGoDuration(${ms}) → ${want}`, () => {
    assert.equal(formatGoDuration(ms), want);
  });
}
