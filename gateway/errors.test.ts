import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  GATEWAY_ERRORS,
  GatewayError,
  MAX_HEADER_BYTES,
  MAX_URI_BYTES,
  requestRefusal,
  sendError,
  upstreamErrorCode,
} from './errors.js';
import type { GatewayErrorCode } from './errors.js';

test('the catalogue: every code names itself, has a status, a meaning and a fix', () => {
  for (const [code, info] of Object.entries(GATEWAY_ERRORS)) {
    assert.equal(info.code, code);
    assert.ok([400, 404, 414, 431, 502, 503, 504].includes(info.status));
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
  // The raw pool's own: a connect that timed out, a socket closed before it connected.
  { code: 'ERR_UPSTREAM_CONNECT_TIMEOUT', want: 'KEDGE_UPSTREAM_CONNECT' },
  { code: 'ERR_UPSTREAM_CONNECT', want: 'KEDGE_UPSTREAM_CONNECT' },
  { code: 'ERR_UPSTREAM_CLOSED', want: 'KEDGE_UPSTREAM_RESET' },
  { code: 'ERR_UPSTREAM_PROTOCOL', want: 'KEDGE_UPSTREAM_RESET' },
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

const refusals: readonly {
  readonly name: string;
  readonly hosts: number;
  readonly target: number;
  readonly header: number;
  readonly want: GatewayErrorCode | null;
}[] = [
  { name: 'an ordinary request', hosts: 1, target: 20, header: 200, want: null },
  { name: 'no Host (the core answers it)', hosts: 0, target: 20, header: 200, want: null },
  { name: 'two Host fields', hosts: 2, target: 20, header: 200, want: 'KEDGE_BAD_REQUEST' },
  { name: 'a target at the limit', hosts: 1, target: MAX_URI_BYTES, header: 0, want: null },
  {
    name: 'a target over the limit',
    hosts: 1,
    target: MAX_URI_BYTES + 1,
    header: 0,
    want: 'KEDGE_URI_TOO_LONG',
  },
  { name: 'a header section at the limit', hosts: 1, target: 1, header: MAX_HEADER_BYTES, want: null },
  {
    name: 'a header section over the limit',
    hosts: 1,
    target: 1,
    header: MAX_HEADER_BYTES + 1,
    want: 'KEDGE_HEADERS_TOO_LARGE',
  },
];
for (const r of refusals) {
  test(`requestRefusal: ${r.name} → ${String(r.want)}`, () => {
    const err = requestRefusal(r.hosts, r.target, r.header);
    assert.equal(err?.code ?? null, r.want);
    if (err !== null) assert.ok(err.message.length > 0 && !err.message.includes('\n'));
  });
}
