import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { buildRouteTable, DEFAULT_TIMEOUT_MS, normalizeHost } from './route-table.js';
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
];
for (const c of hosts) {
  test(`normalizeHost(${JSON.stringify(c.raw)}) = ${JSON.stringify(c.want)}`, () => {
    assert.equal(normalizeHost(c.raw), c.want);
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
