// Table-driven tests of the patch functions: RFC 7386 and RFC 6902 examples, and the strategic
// merge patch directives kubectl sends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from './errors.js';
import type { Json, JsonObject } from './json.js';
import { applyConfiguration, jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { parseLabelSelector, matchesLabels } from './selectors.js';

interface Case {
  name: string;
  target: Json;
  patch: Json;
  want: Json;
}

// RFC 7386 appendix A, a selection.
const mergeCases: readonly Case[] = [
  { name: 'replace a value', target: { a: 'b' }, patch: { a: 'c' }, want: { a: 'c' } },
  { name: 'add a member', target: { a: 'b' }, patch: { b: 'c' }, want: { a: 'b', b: 'c' } },
  { name: 'null removes', target: { a: 'b', b: 'c' }, patch: { a: null }, want: { b: 'c' } },
  { name: 'arrays replace', target: { a: ['b'] }, patch: { a: ['c', 'd'] }, want: { a: ['c', 'd'] } },
  {
    name: 'nested null removes',
    target: { a: { b: 'c' } },
    patch: { a: { b: 'd', c: null } },
    want: { a: { b: 'd' } },
  },
  { name: 'non-object patch replaces', target: { a: 'foo' }, patch: 'bar', want: 'bar' },
];
for (const c of mergeCases)
  test(`merge patch: ${c.name}`, () => {
    assert.deepEqual(mergePatch(c.target, c.patch), c.want);
  });

// RFC 6902 appendix A, a selection.
const jsonCases: readonly Case[] = [
  {
    name: 'add to object',
    target: { foo: 'bar' },
    patch: [{ op: 'add', path: '/baz', value: 'qux' }],
    want: { foo: 'bar', baz: 'qux' },
  },
  {
    name: 'insert into array',
    target: { foo: ['bar', 'baz'] },
    patch: [{ op: 'add', path: '/foo/1', value: 'qux' }],
    want: { foo: ['bar', 'qux', 'baz'] },
  },
  {
    name: 'append with -',
    target: { foo: ['bar'] },
    patch: [{ op: 'add', path: '/foo/-', value: 'x' }],
    want: { foo: ['bar', 'x'] },
  },
  {
    name: 'remove array element',
    target: { foo: ['bar', 'qux', 'baz'] },
    patch: [{ op: 'remove', path: '/foo/1' }],
    want: { foo: ['bar', 'baz'] },
  },
  {
    name: 'replace',
    target: { baz: 'qux', foo: 'bar' },
    patch: [{ op: 'replace', path: '/baz', value: 'boo' }],
    want: { baz: 'boo', foo: 'bar' },
  },
  {
    name: 'move',
    target: { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } },
    patch: [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }],
    want: { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
  },
  {
    name: 'escaped pointer',
    target: { 'a/b': 1, 'm~n': 2 },
    patch: [
      { op: 'replace', path: '/a~1b', value: 3 },
      { op: 'remove', path: '/m~0n' },
    ],
    want: { 'a/b': 3 },
  },
  {
    name: 'copy',
    target: { a: { b: 1 } },
    patch: [{ op: 'copy', from: '/a', path: '/c' }],
    want: { a: { b: 1 }, c: { b: 1 } },
  },
];
for (const c of jsonCases)
  test(`json patch: ${c.name}`, () => {
    assert.deepEqual(jsonPatch(c.target, c.patch), c.want);
  });

test('json patch: a failed test or a missing path is 422 Invalid', () => {
  for (const ops of [
    [{ op: 'test', path: '/a', value: 2 }],
    [{ op: 'remove', path: '/nope' }],
    [{ op: 'add', path: '/x/y', value: 1 }],
  ]) {
    assert.throws(
      () => jsonPatch({ a: 1 }, ops),
      (err: unknown) => err instanceof ApiError && err.code === 422,
    );
  }
});

const container = (name: string, extra: JsonObject = {}): JsonObject => ({
  name,
  image: `${name}:1`,
  ...extra,
});
const strategicCases: readonly Case[] = [
  {
    name: 'containers merge by name',
    target: { containers: [container('a'), container('b')] },
    patch: { containers: [{ name: 'b', image: 'b:2' }] },
    want: { containers: [container('a'), container('b', { image: 'b:2' })] },
  },
  {
    name: '$patch: delete removes a list item',
    target: { containers: [container('a'), container('b')] },
    patch: { containers: [{ name: 'a', $patch: 'delete' }] },
    want: { containers: [container('b')] },
  },
  {
    name: 'new items are appended',
    target: { env: [{ name: 'A', value: '1' }] },
    patch: { env: [{ name: 'B', value: '2' }] },
    want: {
      env: [
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ],
    },
  },
  {
    name: 'conditions merge by type',
    target: {
      conditions: [
        { type: 'Ready', status: 'False' },
        { type: 'Other', status: 'True' },
      ],
    },
    patch: { conditions: [{ type: 'Ready', status: 'True' }] },
    want: {
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'Other', status: 'True' },
      ],
    },
  },
  {
    name: '$setElementOrder is ignored, primitive lists replace',
    target: { args: ['a'], containers: [container('a')] },
    patch: { args: ['b'], '$setElementOrder/containers': [{ name: 'a' }] },
    want: { args: ['b'], containers: [container('a')] },
  },
  {
    name: '$retainKeys drops the other keys',
    target: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } },
    patch: { strategy: { $retainKeys: ['type'], type: 'Recreate' } },
    want: { strategy: { type: 'Recreate' } },
  },
  {
    name: '$patch: replace on a map',
    target: { selector: { a: '1', b: '2' } },
    patch: { selector: { $patch: 'replace', c: '3' } },
    want: { selector: { c: '3' } },
  },
  {
    name: '$deleteFromPrimitiveList',
    target: { finalizers: ['a', 'b', 'c'] },
    patch: { '$deleteFromPrimitiveList/finalizers': ['b'] },
    want: { finalizers: ['a', 'c'] },
  },
  {
    name: 'lists without a merge key replace',
    target: { items: [{ x: 1 }] },
    patch: { items: [{ x: 2 }] },
    want: { items: [{ x: 2 }] },
  },
];
for (const c of strategicCases) {
  test(`strategic merge patch: ${c.name}`, () => {
    assert.deepEqual(strategicMergePatch(c.target, c.patch), c.want);
  });
}

test('apply: fields dropped from the applied configuration are removed, others kept', () => {
  const live: JsonObject = {
    metadata: { labels: { a: '1', b: '2', other: 'x' } },
    spec: { env: [{ name: 'A' }, { name: 'B' }] },
  };
  const last: JsonObject = {
    metadata: { labels: { a: '1', b: '2' } },
    spec: { env: [{ name: 'A' }, { name: 'B' }] },
  };
  const applied: JsonObject = {
    metadata: { labels: { a: '1' } },
    spec: { env: [{ name: 'A', value: 'v' }] },
  };
  assert.deepEqual(applyConfiguration(live, last, applied), {
    metadata: { labels: { a: '1', other: 'x' } },
    spec: { env: [{ name: 'A', value: 'v' }] },
  });
});

const selectorCases: readonly { selector: string; labels: Record<string, string>; want: boolean }[] = [
  { selector: 'a=1', labels: { a: '1' }, want: true },
  { selector: 'a==1', labels: { a: '2' }, want: false },
  { selector: 'a!=1', labels: {}, want: true },
  { selector: 'a in (1, 2),b', labels: { a: '2', b: '' }, want: true },
  { selector: 'a notin (1,2)', labels: { a: '2' }, want: false },
  { selector: '!a', labels: { b: '1' }, want: true },
  { selector: '', labels: { b: '1' }, want: true },
];
for (const c of selectorCases) {
  test(`label selector ${JSON.stringify(c.selector)} on ${JSON.stringify(c.labels)} → ${c.want}`, () => {
    assert.equal(matchesLabels(parseLabelSelector(c.selector), c.labels), c.want);
  });
}

test('a malformed label selector is 400', () => {
  assert.throws(
    () => parseLabelSelector('a in b'),
    (err: unknown) => err instanceof ApiError && err.code === 400,
  );
});
