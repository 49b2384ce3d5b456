import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { rawRequestHead, scanResponseHeaders, upstreamRequestHeaders } from './headers.js';

const fwd = { clientIp: '10.1.2.3', proto: 'http', host: 'Hello.example.com:8080' } as const;
const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const trace = { traceparent: TP, requestId: 'r-1', keepTracestate: true } as const;

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
    trace,
  );
  assert.deepEqual(out, [
    'host', 'Hello.example.com:8080',
    'accept', '*/*',
    'x-forwarded-for', '1.1.1.1, 10.1.2.3',
    'x-forwarded-proto', 'http',
    'x-forwarded-host', 'Hello.example.com:8080',
    'forwarded', 'for=1.1.1.1, for=10.1.2.3;host="Hello.example.com:8080";proto=http',
    'traceparent', TP,
    'x-request-id', 'r-1',
  ]); // prettier-ignore
});

test('request: the client traceparent and x-request-id are replaced; tracestate goes on only with a valid traceparent', () => {
  const incoming = [
    'host', 'a.b',
    'traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    'tracestate', 'congo=t61rcWkgMzE',
    'x-request-id', 'client-id',
    'tracestate', 'rojo=00f067aa0ba902b7',
  ]; // prettier-ignore
  const keep = upstreamRequestHeaders(incoming, fwd, trace);
  assert.deepEqual(keep.slice(0, 6), [
    'host',
    'a.b',
    'tracestate',
    'congo=t61rcWkgMzE',
    'tracestate',
    'rojo=00f067aa0ba902b7',
  ]);
  assert.deepEqual(keep.slice(-4), ['traceparent', TP, 'x-request-id', 'r-1']);
  assert.equal(keep.filter((h) => h === 'traceparent' || h === 'x-request-id').length, 2);
  const drop = upstreamRequestHeaders(incoming, fwd, { ...trace, keepTracestate: false });
  assert.equal(drop.includes('tracestate'), false);
  const head = rawRequestHead('GET', '/', incoming, '10.1.2.3', 'a.b', false, trace);
  assert.match(head, /\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n/);
  assert.match(head, /\r\nx-request-id: r-1\r\n/);
  assert.equal(head.split('traceparent:').length, 2, 'the client traceparent is gone');
  assert.equal(head.split('tracestate:').length, 3, 'both tracestate fields kept, unchanged');
  const rawDrop = rawRequestHead('GET', '/', incoming, '10.1.2.3', 'a.b', false, {
    ...trace,
    keepTracestate: false,
  });
  assert.equal(rawDrop.includes('tracestate'), false);
  assert.ok(rawDrop.endsWith('\r\n\r\n'));
});

test('request: an IPv6 client is bracketed and quoted in Forwarded (RFC 7239 §6)', () => {
  const out = upstreamRequestHeaders([], { clientIp: '::1', proto: 'http', host: 'a.b' }, trace);
  assert.equal(out[out.indexOf('forwarded') + 1], 'for="[::1]";host=a.b;proto=http');
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
    'X-Request-Id', 'the replica\'s own',
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
