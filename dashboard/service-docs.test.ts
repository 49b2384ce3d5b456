import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import {
  DESCRIPTION_ANNOTATION,
  OPENAPI_URL_ANNOTATION,
  PARAMETERS_SCHEMA_ANNOTATION,
  annotatedServices,
  schemaType,
  serviceDoc,
  type AnnotatedService,
} from './service-docs.js';

function svc(annotations: Record<string, string>): AnnotatedService {
  return { namespace: 'default', name: 'resize', annotations };
}

const SCHEMA = JSON.stringify({
  type: 'object',
  required: ['url'],
  properties: {
    url: { type: 'string', format: 'uri', description: 'Image to resize' },
    width: { type: 'integer', default: 256 },
    fit: { enum: ['cover', 'contain'] },
    tags: { type: 'array', items: { type: 'string' } },
  },
});

test('description, OpenAPI link and parameters from the annotations', () => {
  const doc = serviceDoc(
    svc({
      [DESCRIPTION_ANNOTATION]: '  Resizes images.  ',
      [OPENAPI_URL_ANNOTATION]: '/openapi.json',
      [PARAMETERS_SCHEMA_ANNOTATION]: SCHEMA,
    }),
  );
  assert.equal(doc.description, 'Resizes images.');
  assert.equal(doc.openapiUrl, '/openapi.json');
  assert.deepEqual(doc.problems, []);
  assert.deepEqual(
    doc.parameters.map((p) => [p.name, p.type, p.required, p.description, p.default, p.enum]),
    [
      ['url', 'string (uri)', true, 'Image to resize', '', []],
      ['width', 'integer', false, '', '256', []],
      ['fit', 'enum', false, '', '', ['cover', 'contain']],
      ['tags', 'array of string', false, '', '', []],
    ],
  );
});

interface ProblemCase {
  readonly name: string;
  readonly annotations: Record<string, string>;
  readonly want: RegExp;
}
const problems: readonly ProblemCase[] = [
  {
    name: 'a javascript: link is refused',
    annotations: { [OPENAPI_URL_ANNOTATION]: 'javascript:alert(1)' },
    want: /must be an http\(s\) URL/,
  },
  {
    name: 'a protocol-relative link is refused',
    annotations: { [OPENAPI_URL_ANNOTATION]: '//evil.test/x' },
    want: /must be an http\(s\) URL/,
  },
  {
    name: 'a schema that is not JSON',
    annotations: { [PARAMETERS_SCHEMA_ANNOTATION]: 'type: object' },
    want: /not valid JSON/,
  },
  {
    name: 'a schema that is not an object',
    annotations: { [PARAMETERS_SCHEMA_ANNOTATION]: '[1]' },
    want: /must be a JSON Schema object/,
  },
];
for (const c of problems) {
  test(`problem: ${c.name}`, () => {
    const doc = serviceDoc(svc(c.annotations));
    assert.equal(doc.problems.length, 1);
    assert.match(doc.problems[0] ?? '', c.want);
    assert.equal(doc.openapiUrl, '');
  });
}

test('a non-object schema is the one (body) parameter', () => {
  const doc = serviceDoc(
    svc({ [PARAMETERS_SCHEMA_ANNOTATION]: '{"type":"string","description":"text to echo"}' }),
  );
  assert.deepEqual(
    doc.parameters.map((p) => [p.name, p.type, p.required, p.description]),
    [['(body)', 'string', true, 'text to echo']],
  );
});

test('schemaType reads unions and refs', () => {
  assert.equal(schemaType({ type: ['integer', 'null'] }), 'integer | null');
  assert.equal(schemaType({ $ref: '#/components/schemas/Pet' }), 'Pet');
  assert.equal(schemaType({ oneOf: [{ type: 'string' }, { type: 'number' }] }), 'string | number');
  assert.equal(schemaType(42), '');
});

test('annotatedServices reads Services from YAML source objects and skips the rest', () => {
  const docs = parse(`
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: resize
  annotations:
    kedge.dev/description: Resizes images.
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/target: "10"
`) as unknown;
  const got = annotatedServices([
    { object: docs },
    { object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-autoscaler' } } },
    { object: 'not an object' },
  ]);
  assert.deepEqual(got, [
    {
      namespace: 'default',
      name: 'resize',
      annotations: { 'kedge.dev/description': 'Resizes images.' },
    },
  ]);
});
