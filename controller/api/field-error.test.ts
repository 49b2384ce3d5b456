import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { parseGoDurationMs } from '../../lib/go-duration.js';
import { FieldError, disallowedFields, invalidKeyName, missingField, outOfBounds } from './field-error.js';
import { childName, md5Hex } from './names.js';

test('viaField/viaIndex/viaKey build Knative paths', () => {
  const err = missingField('image').viaIndex(0).viaField('containers').viaField('spec');
  assert.deepEqual(err.entries[0]?.paths, ['spec.containers[0].image']);
  assert.deepEqual(missingField('x').viaKey('a').viaField('m').entries[0]?.paths, ['m[a].x']);
  assert.deepEqual(missingField('').viaFieldIndex('env', 2).entries[0]?.paths, ['env[2]']);
});

test('format merges equal messages, sorts paths and errors, prints details on the next line', () => {
  const err = FieldError.none.also(
    missingField('b'),
    outOfBounds(0, 9, 5, 'n'),
    missingField('a', 'b'),
    invalidKeyName('k', 'annotations', 'put it elsewhere'),
    disallowedFields(),
  );
  assert.equal(
    err.format(),
    [
      'expected 0 <= 9 <= 5: n',
      'invalid key name "k": annotations\nput it elsewhere',
      'missing field(s): a, b',
      'must not set the field(s): ',
    ].join('\n'),
  );
  assert.equal(FieldError.none.format(), '');
  assert.ok(FieldError.none.also(FieldError.none).isEmpty());
});

test('md5 matches node:crypto', () => {
  for (const s of [
    '',
    'abc',
    'a'.repeat(55),
    'a'.repeat(56),
    'a'.repeat(64),
    'ünïcode-service',
    'x'.repeat(200),
  ]) {
    assert.equal(md5Hex(s), createHash('md5').update(s, 'utf8').digest('hex'), s);
  }
});

test('childName: short names concatenate, long ones get Knative md5 shortening', () => {
  assert.equal(childName('hello', '-00001'), 'hello-00001');
  const parent = 'a'.repeat(60);
  const got = childName(parent, '-00001');
  assert.equal(got, `${'a'.repeat(25)}${createHash('md5').update(parent).digest('hex')}-00001`);
  assert.equal(got.length, 63);
  assert.equal(childName('a'.repeat(57), '-00001').length, 63);
});

test('Go durations', () => {
  const cases: readonly [string, number | null][] = [
    ['30s', 30_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['300ms', 300],
    ['0', 0],
    ['-1s', -1000],
    ['10', null],
    ['', null],
    ['1d', null],
  ];
  for (const [text, want] of cases) assert.equal(parseGoDurationMs(text), want, text);
});
