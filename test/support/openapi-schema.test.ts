// The structural-schema validator the deploy tests rely on: what it accepts, what it rejects (with
// the path and kind of each problem), and the schemas checkStructural() refuses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkStructural, leafPaths, validate, type JsonSchema } from './openapi-schema.js';

const SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
    spec: {
      type: 'object',
      required: ['size'],
      properties: {
        size: { type: 'integer', format: 'int32' },
        ratio: { type: 'number' },
        on: { type: 'boolean' },
        mode: { type: 'string', enum: ['a', 'b'] },
        port: { 'x-kubernetes-int-or-string': true },
        tags: { type: 'array', items: { type: 'string' } },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        extra: {
          type: 'object',
          'x-kubernetes-preserve-unknown-fields': true,
          properties: { n: { type: 'integer' } },
        },
        anything: { 'x-kubernetes-preserve-unknown-fields': true },
      },
    },
  },
};

const base = { apiVersion: 'x/v1', kind: 'X', metadata: { name: 'x' }, spec: { size: 1 } };
const withSpec = (spec: Record<string, unknown>): unknown => ({ ...base, spec: { size: 1, ...spec } });

interface Row {
  readonly name: string;
  readonly value: unknown;
  /** `path kind` per problem; [] when accepted. */
  readonly want: readonly string[];
}
const rows: readonly Row[] = [
  { name: 'the smallest valid object', value: base, want: [] },
  {
    name: 'every kind of field, valid',
    value: withSpec({
      ratio: 0.5,
      on: true,
      mode: 'b',
      port: 'http',
      tags: ['a'],
      labels: { a: 'b' },
      extra: { n: 1, free: { deep: [1] } },
      anything: [1, 'two'],
    }),
    want: [],
  },
  { name: 'int-or-string takes an integer', value: withSpec({ port: 8080 }), want: [] },
  { name: 'null is unset, even for a required field', value: withSpec({ ratio: null }), want: [] },
  { name: 'a missing required field', value: { ...base, spec: {} }, want: ['spec.size required'] },
  { name: 'a string for an integer', value: withSpec({ size: '1' }), want: ['spec.size type'] },
  { name: 'a fraction for an integer', value: withSpec({ size: 1.5 }), want: ['spec.size type'] },
  { name: 'beyond int32', value: withSpec({ size: 2 ** 31 }), want: ['spec.size range'] },
  { name: 'a value outside the enum', value: withSpec({ mode: 'c' }), want: ['spec.mode enum'] },
  { name: 'int-or-string given a boolean', value: withSpec({ port: true }), want: ['spec.port type'] },
  { name: 'a list item of the wrong type', value: withSpec({ tags: ['a', 2] }), want: ['spec.tags[1] type'] },
  {
    name: 'a map value of the wrong type',
    value: withSpec({ labels: { a: 1 } }),
    want: ['spec.labels.a type'],
  },
  { name: 'an unknown field', value: withSpec({ sise: 1 }), want: ['spec.sise unknown'] },
  {
    name: 'a declared field under preserve is still checked',
    value: withSpec({ extra: { n: 'x' } }),
    want: ['spec.extra.n type'],
  },
  { name: 'an object where a list belongs', value: withSpec({ tags: { a: 1 } }), want: ['spec.tags type'] },
  {
    name: 'root metadata is ObjectMeta: labels are strings',
    value: { ...base, metadata: { name: 'x', labels: { a: 1 } } },
    want: ['metadata.labels.a type'],
  },
  {
    name: 'root metadata keeps server fields',
    value: { ...base, metadata: { name: 'x', uid: 'u', resourceVersion: '1' } },
    want: [],
  },
  {
    name: 'several problems, all reported',
    value: { ...base, kind: 1, spec: { mode: 'z' } },
    want: ['kind type', 'spec.size required', 'spec.mode enum'],
  },
];

for (const row of rows) {
  test(`validate: ${row.name}`, () => {
    assert.deepEqual(
      validate(row.value, SCHEMA).map((p) => `${p.path} ${p.kind}`),
      row.want,
    );
  });
}

test('validate: a wrong type at the root is one problem', () => {
  assert.deepEqual(validate([], SCHEMA), [
    { path: '<root>', kind: 'type', message: 'must be of type "object", got array' },
  ]);
});

test('checkStructural accepts the test schema', () => {
  assert.deepEqual(checkStructural(SCHEMA), []);
});

const badSchemas: readonly { name: string; schema: JsonSchema; want: string }[] = [
  {
    name: 'a node without a type',
    schema: { type: 'object', properties: { a: {} } },
    want: 'a: type is required',
  },
  {
    name: 'an array without items',
    schema: { type: 'array' },
    want: '<root>: an array needs an items schema',
  },
  {
    name: 'properties on a string',
    schema: { type: 'string', properties: {} },
    want: '<root>: properties need type object',
  },
  {
    name: 'properties and additionalProperties together',
    schema: { type: 'object', properties: {}, additionalProperties: { type: 'string' } },
    want: '<root>: properties and additionalProperties are mutually exclusive',
  },
  {
    name: 'a boolean additionalProperties',
    schema: { type: 'object', additionalProperties: true },
    want: '<root>: additionalProperties must be a schema (booleans are not structural)',
  },
  {
    name: 'a keyword outside the subset',
    schema: { type: 'string', pattern: '^a' },
    want: '<root>: keyword pattern is outside the supported subset',
  },
  {
    name: 'required names an undeclared field',
    schema: { type: 'object', required: ['a'], properties: {} },
    want: '<root>: required a is not in properties',
  },
  {
    name: 'int-or-string with a type',
    schema: { type: 'string', 'x-kubernetes-int-or-string': true },
    want: '<root>: x-kubernetes-int-or-string takes no type',
  },
];
for (const row of badSchemas) {
  test(`checkStructural rejects ${row.name}`, () => {
    assert.deepEqual(checkStructural(row.schema), [row.want]);
  });
}

test('leafPaths lists declared leaves, maps as .* and lists as [*]', () => {
  const spec = SCHEMA.properties as Record<string, JsonSchema>;
  assert.deepEqual(leafPaths(spec.spec ?? {}), [
    'size',
    'ratio',
    'on',
    'mode',
    'port',
    'tags[*]',
    'labels.*',
    'extra.n',
    'anything',
  ]);
});
