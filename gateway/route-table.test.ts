import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { buildRouteTable, DEFAULT_TIMEOUT_MS, isValidHost, normalizeHost } from './route-table.js';
import { rev, route, stateOf } from './testing/fixtures.js';

const hosts: readonly { readonly raw: string; readonly want: string }[] = [
  { raw: 'hello.default.example.com', want: 'hello.default.example.com' },
  { raw: 'HELLO.Default.Example.COM', want: 'hello.default.example.com' },
  { raw: 'hello.default.example.com:8080', want: 'hello.default.example.com' },
  { raw: 'hello.default.example.com.', want: 'hello.default.example.com' },
  { raw: 'Hello.default.example.com.:80', want: 'hello.default.example.com' },
  { raw: '127.0.0.1:8080', want: '127.0.0.1' },
  { raw: '[::1]:8080', want: '[::1]' },
  { raw: '[::1]', want: '[::1]' },
  { raw: '[FE80::1]', want: '[fe80::1]' },
  { raw: '::1', want: '::1' },
  { raw: '[::1', want: '' },
  { raw: '', want: '' },
  { raw: ':8080', want: '' },
  { raw: '.', want: '' },
  { raw: 'hello.default.example.com..', want: 'hello.default.example.com' },
  { raw: '..', want: '' },
  { raw: 'h..:80', want: 'h' },
];
for (const c of hosts) {
  test(`normalizeHost(${JSON.stringify(c.raw)}) = ${JSON.stringify(c.want)}, and again the same`, () => {
    assert.equal(normalizeHost(c.raw), c.want);
    assert.equal(normalizeHost(c.want), c.want);
  });
}

// RFC 9112 §3.2: Host = uri-host [ ":" port ]; anything else gets 400.
const validity: readonly { readonly raw: string; readonly valid: boolean }[] = [
  { raw: 'hello.default.example.com', valid: true },
  { raw: 'hello.default.example.com:8080', valid: true },
  { raw: 'hello.default.example.com.', valid: true },
  { raw: 'host:', valid: true },
  { raw: '127.0.0.1', valid: true },
  { raw: '[::1]:8080', valid: true },
  { raw: '[::1]', valid: true },
  { raw: 'a%20b', valid: true },
  { raw: '', valid: false },
  { raw: ':80', valid: false },
  { raw: 'hello.default.example.com/x', valid: false },
  { raw: 'hello example', valid: false },
  { raw: 'user@host', valid: false },
  { raw: 'host:80:80', valid: false },
  { raw: 'host:8x', valid: false },
  { raw: '[::1', valid: false },
  { raw: '[]', valid: false },
  { raw: '[::1]x', valid: false },
];
for (const c of validity) {
  test(`isValidHost(${JSON.stringify(c.raw)}) = ${String(c.valid)}`, () => {
    assert.equal(isValidHost(c.raw), c.valid);
  });
}

test('buildRouteTable: cumulative weights, settings in ms, queue timeout capped by the total', () => {
  const table = buildRouteTable(
    stateOf(
      [
        rev('hello-00001', { timeoutSeconds: 10, queueTimeoutSeconds: 60, responseStartTimeoutSeconds: 2 }),
        rev('hello-00002', { containerConcurrency: 3, idleTimeoutSeconds: 1.5, timeoutSeconds: 0 }),
      ],
      [
        route('Hello.Default.Example.com', [
          ['hello-00001', 80],
          ['hello-00002', 20],
        ]),
        route('empty.default.example.com', []),
      ],
    ),
  );
  const r = table.routes.get('hello.default.example.com');
  assert.ok(r !== undefined);
  assert.deepEqual(r.revisions, ['default/hello-00001', 'default/hello-00002']);
  assert.deepEqual(r.cumulative, [80, 100]);
  assert.deepEqual(table.routes.get('empty.default.example.com')?.revisions, []);
  const one = table.revisions.get('default/hello-00001');
  assert.ok(one !== undefined);
  assert.equal(one.timeoutMs, 10_000);
  assert.equal(one.queueTimeoutMs, 10_000);
  assert.equal(one.responseStartTimeoutMs, 2_000);
  assert.equal(one.idleTimeoutMs, 0);
  const two = table.revisions.get('default/hello-00002');
  assert.ok(two !== undefined);
  assert.equal(two.containerConcurrency, 3);
  assert.equal(two.idleTimeoutMs, 1_500);
  assert.equal(two.timeoutMs, DEFAULT_TIMEOUT_MS, 'an invalid timeout falls back to Knative 300 s');
});
