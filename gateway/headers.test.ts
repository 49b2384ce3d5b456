import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { scanResponseHeaders, upstreamRequestHeaders } from './headers.js';

const fwd = { clientIp: '10.1.2.3', proto: 'http', host: 'Hello.example.com:8080' } as const;

test('request: hop-by-hop, Connection-listed, Expect and Knative headers are dropped; forwarding added', () => {
  const out = upstreamRequestHeaders(
    [
      'host', 'Hello.example.com:8080',
      'connection', 'keep-alive, X-Private',
      'x-private', 'secret',
      'keep-alive', 'timeout=5',
      'transfer-encoding', 'chunked',
      'te', 'trailers',
      'upgrade', 'h2c',
      'proxy-connection', 'keep-alive',
      'expect', '100-continue',
      'knative-serving-revision', 'r',
      'knative-serving-namespace', 'n',
      'x-forwarded-for', '1.1.1.1',
      'forwarded', 'for=1.1.1.1',
      'accept', '*/*',
    ], // prettier-ignore
    fwd,
  );
  assert.deepEqual(out, [
    'host', 'Hello.example.com:8080',
    'accept', '*/*',
    'x-forwarded-for', '1.1.1.1, 10.1.2.3',
    'x-forwarded-proto', 'http',
    'x-forwarded-host', 'Hello.example.com:8080',
    'forwarded', 'for=1.1.1.1, for=10.1.2.3;host="Hello.example.com:8080";proto=http',
  ]); // prettier-ignore
});

test('request: an IPv6 client is bracketed and quoted in Forwarded (RFC 7239 §6)', () => {
  const out = upstreamRequestHeaders([], { clientIp: '::1', proto: 'http', host: 'a.b' });
  assert.equal(out[out.length - 1], 'for="[::1]";host=a.b;proto=http');
});

test('response: hop-by-hop and Connection-listed names dropped, Content-Length and Date reported', () => {
  const raw = [
    'Content-Type', 'text/plain',
    'Connection', 'close, X-Hop',
    'X-Hop', '1',
    'Keep-Alive', 'timeout=5',
    'Transfer-Encoding', 'chunked',
    'Content-Length', '42',
    'Date', 'Wed, 25 Nov 2026 00:00:00 GMT',
    'Set-Cookie', 'a=1',
    'Set-Cookie', 'b=2',
    'TE', 'x',
    'Trailer', 'x',
    'Upgrade', 'x',
    'Proxy-Connection', 'x',
  ].map((s) => Buffer.from(s)); // prettier-ignore
  const head = scanResponseHeaders(raw);
  assert.deepEqual(
    head.headers.map((b) => b.toString()),
    ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'],
  );
  assert.equal(head.contentLength, 42);
  assert.equal(head.date?.toString(), 'Wed, 25 Nov 2026 00:00:00 GMT');
  assert.equal(scanResponseHeaders([]).contentLength, -1);
});
