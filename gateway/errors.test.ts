import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { GATEWAY_ERRORS, GatewayError, sendError, upstreamErrorCode } from './errors.js';
import type { GatewayErrorCode } from './errors.js';

test('the catalogue: every code names itself, has a status, a meaning and a fix', () => {
  for (const [code, info] of Object.entries(GATEWAY_ERRORS)) {
    assert.equal(info.code, code);
    assert.ok([400, 404, 502, 503, 504].includes(info.status));
    assert.ok(info.meaning.length > 0 && info.fix.length > 0);
    assert.equal(new GatewayError(info.code, 'x').status, info.status);
  }
});

test('sendError: one text/plain line, x-kedge-error, Retry-After when set', () => {
  const sent: { status: number; headers: readonly string[]; body: string }[] = [];
  const sink = {
    respond: (status: number, headers: readonly string[], body: string) =>
      sent.push({ status, headers, body }),
  };
  sendError(
    sink,
    new GatewayError(
      'KEDGE_QUEUE_FULL',
      'revision default/helloworld-nodejs-00001: queue full (10000 waiting); retry after 1s',
      1,
    ),
  );
  assert.deepEqual(sent[0], {
    status: 503,
    headers: [
      'content-type',
      'text/plain; charset=utf-8',
      'x-kedge-error',
      'KEDGE_QUEUE_FULL',
      'retry-after',
      '1',
    ],
    body: '503 revision default/helloworld-nodejs-00001: queue full (10000 waiting); retry after 1s\n',
  });
});

const mapping: readonly { readonly code: string; readonly want: GatewayErrorCode | null }[] = [
  { code: 'ECONNREFUSED', want: 'KEDGE_UPSTREAM_CONNECT' },
  { code: 'UND_ERR_CONNECT_TIMEOUT', want: 'KEDGE_UPSTREAM_CONNECT' },
  { code: 'UND_ERR_HEADERS_TIMEOUT', want: 'KEDGE_UPSTREAM_TIMEOUT' },
  { code: 'UND_ERR_BODY_TIMEOUT', want: 'KEDGE_UPSTREAM_TIMEOUT' },
  { code: 'UND_ERR_SOCKET', want: 'KEDGE_UPSTREAM_RESET' },
  { code: 'ECONNRESET', want: 'KEDGE_UPSTREAM_RESET' },
  { code: 'UND_ERR_INVALID_ARG', want: 'KEDGE_BAD_REQUEST' },
  { code: 'UND_ERR_ABORTED', want: null },
];
for (const m of mapping) {
  test(`upstreamErrorCode(${m.code}) = ${String(m.want)}`, () => {
    assert.equal(upstreamErrorCode(Object.assign(new Error('x'), { code: m.code })), m.want);
  });
}
