// The conformance suite, run for each front end × upstream client (gateway.test.ts: raw,
// gateway-undici.test.ts: undici): real sockets on 127.0.0.1, port 0, backends started here.
// Every wait is bounded.
import { createHash } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, InformationEvent, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import * as assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { RevisionSpec, Route } from '../../controller/state.js';
import { systemClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { RecentErrorLog } from '../../dashboard/recent-errors.js';
import { MemoryAccessLogSink } from '../access-log.js';
import type { AccessLogEntry } from '../access-log.js';
import { MAX_INTERIM_RESPONSES } from '../exchange.js';
import { Gateway } from '../gateway.js';
import { Opcode } from '../upstream/ws-frames.js';
import type { GatewayOptions } from '../gateway.js';
import type { UpstreamMode } from '../proxy.js';
import {
  deadPort,
  RecordingStats,
  rev,
  route,
  seeded,
  send,
  startBackend,
  openWebSocket,
  startRawBackend,
  startWsEchoBackend,
  stateOf,
  until,
} from './fixtures.js';
import type { Backend } from './fixtures.js';

const HOST = 'hello.default.example.com';
const KEY = 'default/hello-00001';

interface Rig {
  readonly gw: Gateway;
  readonly stats: RecordingStats;
  readonly registry: Registry;
  readonly backend: Backend | null;
}

interface RigOptions {
  readonly revision?: Partial<RevisionSpec>;
  readonly routes?: readonly Route[];
  readonly revisions?: readonly RevisionSpec[];
  /** null: no endpoints (revision at zero). */
  readonly handler?: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  readonly gateway?: Partial<GatewayOptions>;
}

export function conformance(frontend: 'uws' | 'node', upstream: UpstreamMode): void {
  async function rig(t: TestContext, o: RigOptions = {}): Promise<Rig> {
    const stats = new RecordingStats();
    const registry = new Registry();
    const gw = await Gateway.start({
      host: '127.0.0.1',
      port: 0,
      frontend,
      upstream,
      clock: systemClock,
      stats,
      logger: silentLogger,
      registry,
      ...o.gateway,
    });
    t.after(() => gw.close());
    assert.equal(gw.frontend, frontend);
    assert.equal(gw.upstream, upstream);
    gw.applyState(
      stateOf(
        o.revisions ?? [rev('hello-00001', o.revision)],
        o.routes ?? [route(HOST, [['hello-00001', 100]])],
      ),
    );
    let backend: Backend | null = null;
    if (o.handler !== null) {
      backend = await startBackend(o.handler ?? echoHandler);
      t.after(() => backend?.close());
      gw.setEndpoints(KEY, [backend.endpoint('e1')]);
    }
    return { gw, stats, registry, backend };
  }

  describe(`gateway conformance (${frontend} + ${upstream})`, () => {
    test('GET is proxied with forwarding headers, Knative and hop-by-hop headers stripped both ways', async (t) => {
      const { gw } = await rig(t);
      const r = await send(gw.port, {
        path: '/a/b?x=1',
        headers: {
          'x-forwarded-for': '10.0.0.1',
          connection: 'x-secret, keep-alive',
          'x-secret': 'drop me',
          'keep-alive': 'timeout=5',
          te: 'trailers',
          'knative-serving-revision': 'hello-00001',
          'knative-serving-namespace': 'default',
          'x-custom': 'kept',
        },
      });
      assert.equal(r.status, 200);
      const seen = JSON.parse(String(r.headers['x-seen'])) as Record<string, string>;
      assert.equal(seen['x-url'], '/a/b?x=1');
      assert.equal(seen['host'], HOST);
      assert.equal(seen['x-custom'], 'kept');
      assert.equal(seen['x-forwarded-for'], '10.0.0.1, 127.0.0.1');
      assert.equal(seen['x-forwarded-proto'], 'http');
      assert.equal(seen['x-forwarded-host'], HOST);
      assert.equal(seen['forwarded'], `for=127.0.0.1;host=${HOST};proto=http`);
      for (const h of [
        'x-secret',
        'keep-alive',
        'te',
        'knative-serving-revision',
        'knative-serving-namespace',
      ]) {
        assert.equal(seen[h], undefined, h);
      }
      // Upstream hop-by-hop response headers never reach the client.
      assert.equal(r.headers['x-upstream-secret'], undefined);
      assert.equal(r.headers['x-kept'], 'yes');
      assert.equal(r.body.toString(), 'hello');
      // One Date only (uWS writes its own; the upstream one is stripped there).
      assert.equal(r.rawHeaders.filter((h) => h.toLowerCase() === 'date').length, 1);
    });

    test('trace context and x-request-id reach the replica; x-request-id comes back, also on a 404; one access-log record each', async (t) => {
      const accessLog = new MemoryAccessLogSink();
      const { gw } = await rig(t, { gateway: { accessLog } });
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      const incoming = `00-${traceId}-b7ad6b7169203331-00`;
      const seenOf = (r: { headers: Record<string, unknown> }): Record<string, string> =>
        JSON.parse(String(r.headers['x-seen'])) as Record<string, string>;

      // A valid traceparent: the trace-id and flags are kept, the parent is the gateway's span.
      const kept = await send(gw.port, {
        path: '/a?token=secret',
        headers: { traceparent: incoming, tracestate: 'congo=t61rcWkgMzE', 'x-request-id': 'my-id-1' },
      });
      assert.equal(kept.status, 200);
      const seen = seenOf(kept);
      const tp = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(seen['traceparent'] ?? '');
      assert.ok(tp !== null, `a valid traceparent upstream: ${seen['traceparent'] ?? 'none'}`);
      assert.equal(tp[1], traceId, 'same trace-id');
      assert.notEqual(tp[2], 'b7ad6b7169203331', 'a new parent-id: the gateway span');
      assert.equal(tp[3], '00', 'flags kept');
      assert.equal(seen['tracestate'], 'congo=t61rcWkgMzE', 'tracestate passed on unchanged');
      assert.equal(seen['x-request-id'], 'my-id-1', 'a sane x-request-id is kept');
      assert.equal(kept.headers['x-request-id'], 'my-id-1');

      // None: a new sampled trace and a new request id, the same one upstream and in the response.
      const fresh = await send(gw.port);
      const seenFresh = seenOf(fresh);
      assert.match(seenFresh['traceparent'] ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      assert.match(seenFresh['x-request-id'] ?? '', /^[0-9a-f]{16}-[0-9a-f]{12}$/);
      assert.equal(fresh.headers['x-request-id'], seenFresh['x-request-id']);

      // Invalid (all-zero trace-id) with tracestate, and an x-request-id with a control character.
      const bad = await send(gw.port, {
        headers: {
          traceparent: `00-${'0'.repeat(32)}-b7ad6b7169203331-01`,
          tracestate: 'congo=t61rcWkgMzE',
          'x-request-id': 'x'.repeat(201),
        },
      });
      const seenBad = seenOf(bad);
      assert.match(seenBad['traceparent'] ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      assert.notEqual(seenBad['traceparent']?.slice(3, 35), '0'.repeat(32));
      assert.equal(seenBad['tracestate'], undefined, 'tracestate dropped with an invalid traceparent');
      assert.notEqual(seenBad['x-request-id'], 'x'.repeat(201));
      assert.equal(bad.headers['x-request-id'], seenBad['x-request-id']);

      // The replica's own x-request-id is replaced by the gateway's: exactly one comes back.
      const own = await send(gw.port, { path: '/rid', headers: { 'x-request-id': 'client-id' } });
      assert.deepEqual(
        own.rawHeaders.filter((_, i) => i % 2 === 0 && own.rawHeaders[i]?.toLowerCase() === 'x-request-id')
          .length,
        1,
      );
      assert.equal(own.headers['x-request-id'], 'client-id');

      // An error the gateway answers itself carries one too.
      const missing = await send(gw.port, {
        host: 'nope.default.example.com',
        headers: { 'x-request-id': 'quote-me' },
      });
      assert.equal(missing.status, 404);
      assert.equal(missing.headers['x-request-id'], 'quote-me');
      const unnamed = await send(gw.port, { host: 'nope.default.example.com' });
      assert.match(String(unnamed.headers['x-request-id']), /^[0-9a-f]{16}-[0-9a-f]{12}$/);

      await until('6 access-log records', () => accessLog.entries.length >= 6, 2_000);
      assert.equal(accessLog.entries.length, 6, 'one record per request');
      const byId = new Map(accessLog.entries.map((e) => [e.requestId, e]));
      const first = byId.get('my-id-1') as AccessLogEntry;
      assert.deepEqual({ ...first, time: '', totalMs: 0, upstreamMs: 0 }, {
        time: '',
        requestId: 'my-id-1',
        traceId,
        method: 'GET',
        host: HOST,
        path: '/a',
        revision: KEY,
        status: 200,
        bytesSent: 5,
        totalMs: 0,
        queueMs: 0,
        upstreamMs: 0,
        coldStart: false,
        error: null,
        frontend,
      } satisfies AccessLogEntry);
      assert.ok(Math.abs(Date.parse(first.time) - Date.now()) < 10_000, first.time);
      assert.match(first.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(first.upstreamMs !== null && first.upstreamMs >= 0 && first.upstreamMs <= first.totalMs);
      assert.equal(
        byId.get(String(fresh.headers['x-request-id']))?.traceId,
        seenFresh['traceparent']?.slice(3, 35),
      );
      const notFound = byId.get('quote-me') as AccessLogEntry;
      assert.equal(notFound.status, 404);
      assert.equal(notFound.revision, null);
      assert.equal(notFound.error, 'KEDGE_ROUTE_NOT_FOUND');
      assert.equal(notFound.bytesSent, missing.body.length);
      assert.equal(notFound.upstreamMs, null);
      assert.equal(notFound.queueMs, 0);
    });

    test('the access log: a cold start is logged with coldStart and its queue wait; an upstream error with its code', async (t) => {
      const accessLog = new MemoryAccessLogSink();
      const { gw } = await rig(t, { handler: null, gateway: { accessLog } });
      const pending = send(gw.port, { path: '/cold' });
      await until('queued', () => gw.revisionLoad(KEY).queued === 1);
      const b = await startBackend(echoHandler);
      t.after(() => b.close());
      await new Promise((r) => setTimeout(r, 20));
      gw.setEndpoints(KEY, [b.endpoint('cold')]);
      const r = await pending;
      assert.equal(r.status, 200);
      await until('a record', () => accessLog.entries.length === 1, 2_000);
      const e = accessLog.entries[0] as AccessLogEntry;
      assert.equal(e.requestId, r.headers['x-request-id']);
      assert.equal(e.coldStart, true);
      assert.ok(e.queueMs >= 15, `queue wait ${e.queueMs} ms`);
      assert.ok(e.totalMs >= e.queueMs);
      assert.equal(e.status, 200);
      // A warm request after it: no cold start, no wait.
      await send(gw.port);
      await until('two records', () => accessLog.entries.length === 2, 2_000);
      const warm = accessLog.entries[1] as AccessLogEntry;
      assert.equal(warm.coldStart, false);
      assert.equal(warm.queueMs, 0);
      // A revision that failed: 503 with its code and the revision in the log.
      gw.setEndpoints(KEY, []);
      gw.setRevisionFailure(KEY, { reason: 'Test', message: 'gone' });
      const failed = await send(gw.port);
      assert.equal(failed.status, 503);
      await until('three records', () => accessLog.entries.length === 3, 2_000);
      const f = accessLog.entries[2] as AccessLogEntry;
      assert.equal(f.error, 'KEDGE_REVISION_FAILED');
      assert.equal(f.status, 503);
      assert.equal(f.revision, KEY);
      assert.equal(f.bytesSent, failed.body.length);
      assert.equal(f.requestId, failed.headers['x-request-id']);
    });

    test('unknown host → 404 with the code header and a one-line body', async (t) => {
      const { gw } = await rig(t);
      const r = await send(gw.port, { host: 'nope.default.example.com' });
      assert.equal(r.status, 404);
      assert.equal(r.headers['x-kedge-error'], 'KEDGE_ROUTE_NOT_FOUND');
      assert.match(r.headers['content-type'] ?? '', /^text\/plain/);
      assert.match(r.body.toString(), /^404 host nope\.default\.example\.com: no route; .+\n$/);
    });

    test('Host with uppercase, port and trailing dot is routed', async (t) => {
      const { gw } = await rig(t);
      for (const host of [
        'HELLO.Default.Example.COM',
        `${HOST}:8080`,
        `${HOST}.`,
        `Hello.default.example.com.:80`,
      ]) {
        const r = await send(gw.port, { host });
        assert.equal(r.status, 200, host);
        const seen = JSON.parse(String(r.headers['x-seen'])) as Record<string, string>;
        assert.equal(seen['host'], host, 'the original Host is passed on');
      }
    });

    test('1 MB POST echo with content-length and chunked, checked by hash', async (t) => {
      const { gw } = await rig(t, { handler: pipeEcho });
      const payload = Buffer.alloc(1 << 20);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff;
      const want = createHash('sha256').update(payload).digest('hex');
      const withLength = await send(gw.port, { method: 'POST', path: '/echo', body: payload });
      assert.equal(withLength.status, 200);
      assert.equal(withLength.headers['content-length'], String(payload.length));
      assert.equal(createHash('sha256').update(withLength.body).digest('hex'), want);
      const chunked = await send(gw.port, {
        method: 'POST',
        path: '/echo',
        body: (write) => {
          for (let off = 0; off < payload.length; off += 100_000) write(payload.subarray(off, off + 100_000));
          write(Buffer.alloc(0));
        },
      });
      assert.equal(chunked.status, 200);
      assert.equal(chunked.headers['transfer-encoding'], 'chunked');
      assert.equal(createHash('sha256').update(chunked.body).digest('hex'), want);
    });

    test('HEAD keeps content-length and the keep-alive connection', async (t) => {
      const { gw } = await rig(t);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      t.after(() => {
        agent.destroy();
      });
      const head = await send(gw.port, { method: 'HEAD', path: '/sized', agent });
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], '5');
      assert.equal(head.body.length, 0);
      const get = await send(gw.port, { path: '/sized', agent });
      assert.equal(get.status, 200);
      assert.equal(get.body.toString(), 'hello');
      assert.equal(get.reusedSocket, true, 'the connection survived the HEAD');
    });

    test('a response head reaches the client field for field: order, case, adjacent runs, hop-by-hop gone', async (t) => {
      // Kept fields in runs (a, b), split by dropped ones (Date is the front end's own, Connection
      // and Keep-Alive hop-by-hop), and once a head over 16 KB (uWS: the field-by-field path).
      const big = 'v'.repeat(17 * 1024);
      const raw = await startRawBackend((socket, head) => {
        const large = head.includes('/large');
        const bodyless = head.startsWith('HEAD ');
        socket.write(
          'HTTP/1.1 200 OK\r\nServer: replica/1\r\nX-A:  one \r\nDate: Wed, 25 Nov 2026 20:00:00 GMT\r\n' +
            'Content-Type: text/plain\r\nX-B:two\r\nConnection: keep-alive\r\nKeep-Alive: timeout=99, max=7\r\n' +
            (large ? `X-Large: ${big}\r\n` : '') +
            'X-Last: 3\r\nContent-Length: 4\r\n\r\n' +
            (bodyless ? '' : 'body'),
        );
      });
      t.after(() => raw.close());
      const { gw } = await rig(t, { handler: null });
      gw.setEndpoints(KEY, [raw.endpoint('raw')]);
      // undici refuses a head over 16 KB (its maxHeaderSize), so the large one is for the raw path.
      const paths = upstream === 'raw' ? (['/', '/large'] as const) : (['/'] as const);
      for (const [method, path] of [...paths.map((p) => ['GET', p] as const), ['HEAD', '/'] as const]) {
        const text = await rawExchange(
          gw.port,
          `${method} ${path} HTTP/1.1\r\nHost: ${HOST}\r\nX-Request-Id: pinned-id-1\r\n\r\n`,
        );
        const headEnd = text.indexOf('\r\n\r\n');
        assert.ok(headEnd > 0, `${method} ${path}: a complete head`);
        const lines = text.slice(0, headEnd).split('\r\n');
        assert.equal(lines[0], 'HTTP/1.1 200 OK', `${method} ${path}`);
        const fields = lines.slice(1);
        const names = fields.map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
        // What each front end adds of its own (uWS: Date, uWebSockets; node:http: Date, Connection,
        // Keep-Alive) is not the replica's; everything else comes in the replica's order.
        const own = new Set(['date', 'uwebsockets', 'connection', 'keep-alive', 'content-length']);
        // Field values without their optional whitespace (RFC 9110 §5.5); inside a run of
        // adjacent lines uWS passes the replica's bytes as they came.
        const replicas = fields
          .filter((_, i) => !own.has(names[i] as string))
          .map((l) => `${l.slice(0, l.indexOf(':'))}: ${l.slice(l.indexOf(':') + 1).trim()}`);
        assert.deepEqual(
          replicas,
          [
            'Server: replica/1',
            'X-A: one',
            'Content-Type: text/plain',
            'X-B: two',
            ...(path === '/large' ? [`X-Large: ${big}`] : []),
            'X-Last: 3',
            'x-request-id: pinned-id-1',
          ],
          `${method} ${path}`,
        );
        assert.ok(
          !fields.some((l) => l.includes('max=7')),
          `${method} ${path}: the replica's Keep-Alive is not passed on`,
        );
        assert.deepEqual(
          fields.filter((l) => l.toLowerCase().startsWith('content-length:')).map((l) => l.toLowerCase()),
          ['content-length: 4'],
          `${method} ${path}: one Content-Length, the replica's`,
        );
        assert.equal(text.slice(headEnd + 4), method === 'HEAD' ? '' : 'body', `${method} ${path}`);
      }
    });

    test('204 and 304 have no body; two set-cookie headers survive', async (t) => {
      const { gw } = await rig(t);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      t.after(() => {
        agent.destroy();
      });
      const r204 = await send(gw.port, { path: '/204', agent });
      assert.equal(r204.status, 204);
      assert.equal(r204.body.length, 0);
      const r304 = await send(gw.port, { path: '/304', agent });
      assert.equal(r304.status, 304);
      assert.equal(r304.body.length, 0);
      const cookies = await send(gw.port, { path: '/cookies', agent });
      assert.deepEqual(cookies.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
      assert.equal(cookies.reusedSocket, true);
    });

    test('80/20 split over 1000 requests is within ±5 %', async (t) => {
      const b2 = await startBackend((_req, res) => res.end('two'));
      t.after(() => b2.close());
      const { gw } = await rig(t, {
        revisions: [rev('hello-00001'), rev('hello-00002')],
        routes: [
          route(HOST, [
            ['hello-00001', 80],
            ['hello-00002', 20],
          ]),
        ],
        handler: (_req, res) => res.end('one'),
        gateway: { random: seeded(42) },
      });
      gw.setEndpoints('default/hello-00002', [b2.endpoint('e2')]);
      const agent = new Agent({ keepAlive: true, maxSockets: 8 });
      t.after(() => {
        agent.destroy();
      });
      let one = 0;
      for (let batch = 0; batch < 100; batch++) {
        const replies = await Promise.all(Array.from({ length: 10 }, () => send(gw.port, { agent })));
        for (const r of replies) if (r.body.toString() === 'one') one++;
      }
      assert.ok(one >= 750 && one <= 850, `revision 1 got ${one} of 1000`);
    });

    test('cold start: the request waits, poke() fires once synchronously, setEndpoints answers it', async (t) => {
      const { gw, stats, registry } = await rig(t, { handler: null });
      const pending = send(gw.port);
      await until('queued', () => gw.revisionLoad(KEY).queued === 1);
      assert.deepEqual(stats.pokes, [KEY], 'poked in the same turn that queued the request');
      const second = send(gw.port);
      await until('second queued', () => gw.revisionLoad(KEY).queued === 2);
      assert.equal(stats.pokes.length, 1, 'one poke per cold start');
      const b = await startBackend(echoHandler);
      t.after(() => b.close());
      gw.setEndpoints(KEY, [b.endpoint('cold')]);
      assert.equal((await pending).status, 200);
      assert.equal((await second).status, 200);
      assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 0, queued: 0 });
      const text = await registry.metrics();
      assert.match(text, /kedge_cold_starts_total\{namespace="default",revision="hello-00001"\} 1/);
      assert.match(text, /kedge_cold_start_seconds_count 1/);
      assert.match(
        text,
        /kedge_requests_total\{namespace="default",revision="hello-00001",code_class="2xx"\} 2/,
      );
    });

    test('queue full → 503 with Retry-After', async (t) => {
      const { gw } = await rig(t, { handler: null, gateway: { queueLimit: 2 } });
      const waiting = [send(gw.port).catch(() => null), send(gw.port).catch(() => null)];
      await until('two queued', () => gw.revisionLoad(KEY).queued === 2);
      const r = await send(gw.port);
      assert.equal(r.status, 503);
      assert.equal(r.headers['retry-after'], '1');
      assert.equal(r.headers['x-kedge-error'], 'KEDGE_QUEUE_FULL');
      assert.equal(r.body.toString(), `503 revision ${KEY}: queue full (2 waiting); retry after 1s\n`);
      gw.setRevisionFailure(KEY, { reason: 'Test', message: 'end of test' });
      await Promise.all(waiting);
    });

    test('no capacity before queueTimeoutSeconds → 504', async (t) => {
      const { gw } = await rig(t, { handler: null, revision: { queueTimeoutSeconds: 0.3 } });
      const started = Date.now();
      const r = await send(gw.port);
      assert.equal(r.status, 504);
      assert.equal(r.headers['x-kedge-error'], 'KEDGE_NO_CAPACITY_TIMEOUT');
      assert.ok(Date.now() - started >= 250, 'not before the deadline');
      assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 0, queued: 0 });
    });

    test('client abort while queued leaves the queue and the counts go back to 0', async (t) => {
      const { gw } = await rig(t, { handler: null });
      const req = httpRequest({ host: '127.0.0.1', port: gw.port, headers: { host: HOST }, agent: false });
      req.on('error', () => undefined);
      req.end();
      await until('queued', () => gw.revisionLoad(KEY).queued === 1);
      req.destroy();
      await until('dequeued', () => gw.revisionLoad(KEY).queued === 0);
      assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 0, queued: 0 });
      // The revision still works afterwards, FIFO from an empty queue.
      const b = await startBackend(echoHandler);
      t.after(() => b.close());
      gw.setEndpoints(KEY, [b.endpoint('late')]);
      assert.equal((await send(gw.port)).status, 200);
    });

    test('containerConcurrency 1: the second request waits until the first finishes', async (t) => {
      const held: ServerResponse[] = [];
      const { gw } = await rig(t, {
        revision: { containerConcurrency: 1 },
        handler: (req, res) => {
          if (req.url === '/hold') held.push(res);
          else res.end('quick');
        },
      });
      const first = send(gw.port, { path: '/hold' });
      await until('first in flight', () => held.length === 1);
      const second = send(gw.port, { path: '/quick' });
      await until('second queued', () => gw.revisionLoad(KEY).queued === 1);
      assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 1, queued: 1 });
      held[0]?.end('held');
      assert.equal((await first).body.toString(), 'held');
      assert.equal((await second).body.toString(), 'quick');
      assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 0, queued: 0 });
    });

    test('connection refused: the request waits at the head of the queue for the next replica; the dead one is not picked again', async (t) => {
      const dead = await deadPort();
      // random() = 0 makes the picker choose slots[0] (the dead one) first.
      const { gw, backend } = await rig(t, { gateway: { random: () => 0 } });
      assert.ok(backend !== null);
      const deadEp = (id: string): { id: string; host: string; port: number } => ({
        id,
        host: '127.0.0.1',
        port: dead,
      });
      // The only replica refuses: the request goes back to the queue (nothing reached a replica).
      gw.setEndpoints(KEY, [deadEp('dead')]);
      const waiting = send(gw.port);
      await until('the refused request to be queued again', () => gw.revisionLoad(KEY).queued === 1);
      // Another request does not try the dead replica: it queues behind the first one.
      const second = send(gw.port, { method: 'POST', body: Buffer.from('abc') });
      await until('the second request to queue', () => gw.revisionLoad(KEY).queued === 2);
      assert.equal(gw.endpointLoad('dead'), 0);
      gw.setEndpoints(KEY, [deadEp('dead'), backend.endpoint('e1')]);
      assert.equal((await waiting).status, 200);
      const posted = await second;
      assert.equal(posted.status, 200, 'a body is never lost by a refused connect');
      assert.equal(posted.body.toString(), 'hello');
      // Listed again by setEndpoints, the dead one is picked again (the runtime's word counts),
      // and a refusal there costs one trip through the queue, not a 502.
      gw.setEndpoints(KEY, [deadEp('dead'), backend.endpoint('e1')]);
      const retried = await send(gw.port, { method: 'POST', body: Buffer.from('abc') });
      assert.equal(retried.status, 200);
      assert.equal(retried.body.toString(), 'hello');
      assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 0, queued: 0 });
    });

    test('connection refused everywhere → 502 KEDGE_UPSTREAM_CONNECT after a bounded number of tries', async (t) => {
      const dead = await deadPort();
      const { gw } = await rig(t, { handler: null, gateway: { random: () => 0 } });
      gw.setEndpoints(
        KEY,
        ['d1', 'd2', 'd3', 'd4'].map((id) => ({ id, host: '127.0.0.1', port: dead })),
      );
      const refused = await send(gw.port);
      assert.equal(refused.status, 502);
      assert.equal(refused.headers['x-kedge-error'], 'KEDGE_UPSTREAM_CONNECT');
      assert.match(refused.body.toString(), /refused the connection \(ECONNREFUSED\)/);
      // Three tries (the first and two trips back through the queue) marked three replicas.
      const next = send(gw.port);
      await until(
        'the next request to take the last healthy replica and queue again',
        () => gw.revisionLoad(KEY).queued === 1,
      );
      gw.setEndpoints(KEY, []);
      gw.setRevisionFailure(KEY, { reason: 'Test', message: 'gone' });
      assert.equal((await next).status, 503);
      assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 0, queued: 0 });
    });

    test('upstream reset mid-body cuts the client connection; counts go back to 0', async (t) => {
      const { gw } = await rig(t, {
        handler: (_req, res) => {
          res.writeHead(200, { 'content-length': '100000' });
          res.write(Buffer.alloc(1000, 1));
          setTimeout(() => res.socket?.destroy(), 20);
        },
      });
      await assert.rejects(send(gw.port));
      await until('released', () => gw.revisionLoad(KEY).inFlight === 0);
      assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 0, queued: 0 });
    });

    test('client abort mid-response cancels the upstream request; counts go back to 0', async (t) => {
      let upstreamClosed = false;
      const { gw } = await rig(t, {
        handler: (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('first part');
          res.on('close', () => {
            upstreamClosed = true;
          });
        },
      });
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port: gw.port, headers: { host: HOST }, agent: false },
          (res) => {
            res.once('data', () => {
              req.destroy();
              resolve();
            });
          },
        );
        req.on('error', () => undefined);
        req.on('timeout', reject);
        req.end();
      });
      await until('upstream request cancelled', () => upstreamClosed);
      await until('released', () => gw.revisionLoad(KEY).inFlight === 0);
      assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 0, queued: 0 });
    });

    test('responseStartTimeoutSeconds → 504, and the total timeout → 504', async (t) => {
      const { gw } = await rig(t, {
        revision: { responseStartTimeoutSeconds: 0.3 },
        handler: () => undefined,
      });
      const r = await send(gw.port);
      assert.equal(r.status, 504);
      assert.equal(r.headers['x-kedge-error'], 'KEDGE_UPSTREAM_TIMEOUT');
      assert.match(r.body.toString(), /responseStartTimeoutSeconds=0\.3/);
      assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 0, queued: 0 });
      gw.applyState(
        stateOf([rev('hello-00001', { timeoutSeconds: 0.3 })], [route(HOST, [['hello-00001', 100]])]),
      );
      const total = await send(gw.port);
      assert.equal(total.status, 504);
      assert.match(total.body.toString(), /timeoutSeconds=0\.3/);
    });

    test('idleTimeoutSeconds after the head cuts the response', async (t) => {
      const { gw } = await rig(t, {
        revision: { idleTimeoutSeconds: 0.3 },
        handler: (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('partial');
        },
      });
      await assert.rejects(send(gw.port));
      await until('released', () => gw.revisionLoad(KEY).inFlight === 0);
    });

    test('setRevisionFailure answers queued requests with 503 at once, and new ones too', async (t) => {
      const { gw } = await rig(t, { handler: null });
      const queued = send(gw.port);
      await until('queued', () => gw.revisionLoad(KEY).queued === 1);
      gw.setRevisionFailure(KEY, {
        reason: 'ExitCode1',
        message: 'the process exited with code 1\nlast lines',
      });
      const r = await queued;
      assert.equal(r.status, 503);
      assert.equal(r.headers['x-kedge-error'], 'KEDGE_REVISION_FAILED');
      assert.equal(
        r.body.toString(),
        `503 revision ${KEY}: failed (ExitCode1): the process exited with code 1 last lines; see \`kedge logs\`, fix the container and re-apply\n`,
      );
      assert.equal((await send(gw.port)).status, 503);
      gw.setRevisionFailure(KEY, null);
      assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 0, queued: 0 });
    });

    test('a route with no splits → 503 naming the service', async (t) => {
      const { gw } = await rig(t, { routes: [route(HOST, [])] });
      const r = await send(gw.port);
      assert.equal(r.status, 503);
      assert.equal(r.headers['x-kedge-error'], 'KEDGE_NO_READY_REVISION');
      assert.match(r.body.toString(), /^503 service default\/hello: no ready revision/);
    });

    test('waitForIdle resolves after the in-flight request ends', async (t) => {
      const held: ServerResponse[] = [];
      const { gw, backend } = await rig(t, { handler: (_req, res) => held.push(res) });
      assert.ok(backend !== null);
      const r = send(gw.port);
      await until('in flight', () => held.length === 1);
      gw.setEndpoints(KEY, []);
      let idle = false;
      const waiting = gw.waitForIdle('e1').then(() => {
        idle = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 30));
      assert.equal(idle, false);
      held[0]?.end('done');
      await waiting;
      assert.equal((await r).body.toString(), 'done');
      await gw.waitForIdle('unknown-endpoint');
    });

    test('SSE events arrive one by one', async (t) => {
      let next: (() => void) | null = null;
      const { gw } = await rig(t, {
        handler: (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
          let n = 0;
          const emit = (): void => {
            n++;
            res.write(`data: event ${n}\n\n`);
            if (n === 3) res.end();
            else next = emit;
          };
          emit();
        },
      });
      const got: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port: gw.port, headers: { host: HOST }, agent: false },
          (res) => {
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              got.push(chunk);
              const emit = next;
              next = null;
              // The next event is only written after this one arrived.
              if (emit !== null) setTimeout(emit, 5);
            });
            res.on('end', resolve);
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.deepEqual(got, ['data: event 1\n\n', 'data: event 2\n\n', 'data: event 3\n\n']);
    });

    test('a slow reader of a large body holds the upstream back (no whole-body buffering)', async (t) => {
      const total = 64 << 20;
      let written = 0;
      const { gw } = await rig(t, {
        handler: (_req, res) => {
          res.writeHead(200, { 'content-length': String(total) });
          const chunk = Buffer.alloc(64 << 10, 7);
          const pump = (): void => {
            while (written < total) {
              written += chunk.length;
              if (!res.write(chunk)) {
                res.once('drain', pump);
                return;
              }
            }
            res.end();
          };
          pump();
        },
      });
      const received = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port: gw.port, headers: { host: HOST }, agent: false },
          (res) => {
            res.pause();
            setTimeout(() => {
              // Socket buffers on three hops plus a few chunks in flight; far below the 64 MB body.
              assert.ok(written < 24 << 20, `upstream wrote ${written} bytes while the client read nothing`);
              let n = 0;
              res.on('data', (c: Buffer) => (n += c.length));
              res.on('end', () => {
                resolve(n);
              });
              res.resume();
            }, 400);
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.equal(received, total);
      await until('released', () => gw.revisionLoad(KEY).inFlight === 0);
    });

    test('Expect: 100-continue is answered and the body still arrives', async (t) => {
      const { gw } = await rig(t, { handler: pipeEcho });
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port: gw.port,
            method: 'POST',
            path: '/echo',
            headers: { host: HOST, expect: '100-continue', 'content-length': '5' },
            agent: false,
          },
          (res) => {
            let s = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (s += c));
            res.on('end', () => {
              resolve(s);
            });
          },
        );
        req.on('continue', () => req.end('12345'));
        req.on('error', reject);
        const fallback = setTimeout(() => {
          if (!req.writableEnded) req.end('12345');
        }, 1_000);
        req.on('close', () => {
          clearTimeout(fallback);
        });
      });
      assert.equal(body, '12345');
    });

    test('a request with an empty Host → 400 KEDGE_BAD_REQUEST', async (t) => {
      const { gw } = await rig(t);
      const raw = await rawExchange(gw.port, 'GET / HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n');
      assert.match(raw, /^HTTP\/1\.[01] 400/);
      assert.match(raw, /x-kedge-error: KEDGE_BAD_REQUEST/i);
    });

    test('two Host fields, an invalid Host, a target over 8 KB, a header section over 16 KB: 400/400/414/431, never forwarded', async (t) => {
      let forwarded = 0;
      const { gw } = await rig(t, {
        handler: (req, res) => {
          forwarded++;
          res.end(`seen ${req.url?.length ?? 0}`);
        },
      });
      const rows: readonly { name: string; bytes: string; status: number; code: string | null }[] = [
        {
          name: 'two Host fields, good first',
          bytes: `GET /a HTTP/1.1\r\nHost: ${HOST}\r\nHost: evil.example.com\r\n\r\n`,
          status: 400,
          code: 'KEDGE_BAD_REQUEST',
        },
        {
          name: 'two Host fields, good last',
          bytes: `GET /a HTTP/1.1\r\nHost: evil.example.com\r\nHost: ${HOST}\r\n\r\n`,
          status: 400,
          code: 'KEDGE_BAD_REQUEST',
        },
        {
          name: 'an invalid Host value',
          bytes: `GET /a HTTP/1.1\r\nHost: ${HOST}/x\r\n\r\n`,
          status: 400,
          code: 'KEDGE_BAD_REQUEST',
        },
        {
          name: 'a 10 KB request target',
          bytes: `GET /a?x=${'a'.repeat(10 * 1024)} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
          status: 414,
          code: 'KEDGE_URI_TOO_LONG',
        },
        {
          name: 'a 20 KB header field',
          bytes: `GET /a HTTP/1.1\r\nHost: ${HOST}\r\nX-Big: ${'b'.repeat(20 * 1024)}\r\n\r\n`,
          status: 431,
          // node:http answers 431 itself past its maxHeaderSize, before our handler runs.
          code: frontend === 'uws' ? 'KEDGE_HEADERS_TOO_LARGE' : null,
        },
      ];
      for (const row of rows) {
        const raw = await rawExchange(gw.port, row.bytes);
        assert.match(raw, new RegExp(`^HTTP/1\\.[01] ${row.status} `), `${row.name}: ${raw.slice(0, 200)}`);
        if (row.code !== null) assert.match(raw, new RegExp(`x-kedge-error: ${row.code}`, 'i'), row.name);
      }
      assert.equal(forwarded, 0, 'none of them reached the replica');
      // Just under the limits, the request goes through.
      const target = `/a?x=${'a'.repeat(8 * 1024 - 5)}`;
      const ok = await rawExchange(
        gw.port,
        `GET ${target} HTTP/1.1\r\nHost: ${HOST}\r\nX-Big: ${'b'.repeat(6 * 1024)}\r\nConnection: close\r\n\r\n`,
      );
      assert.match(ok, /^HTTP\/1\.1 200 /);
      assert.match(ok, new RegExp(`seen ${target.length}`));
      assert.equal(forwarded, 1);
    });

    test('errors the gateway answers are recorded for the dashboard, by service', async (t) => {
      const errors = new RecentErrorLog();
      const dead = await deadPort();
      const { gw } = await rig(t, {
        handler: null,
        gateway: { errors },
        revision: { queueTimeoutSeconds: 0.2 },
      });
      assert.equal((await send(gw.port, { host: 'nope.default.example.com' })).status, 404);
      assert.equal((await send(gw.port)).status, 504, 'no replica within the queue timeout');
      gw.setEndpoints(
        KEY,
        ['d1', 'd2', 'd3'].map((id) => ({ id, host: '127.0.0.1', port: dead })),
      );
      assert.equal((await send(gw.port)).status, 502, 'refused by all three');
      assert.deepEqual(errors.services(), ['', 'default/hello']);
      const [notFound] = errors.recent('', 10);
      assert.equal(notFound?.status, 404);
      assert.equal(notFound.code, 'KEDGE_ROUTE_NOT_FOUND');
      assert.equal(notFound.revision, '');
      assert.match(notFound.message, /^host nope\.default\.example\.com: no route/);
      assert.ok(!Number.isNaN(Date.parse(notFound.time)));
      const [refused, timedOut] = errors.recent('default/hello', 10);
      assert.deepEqual(
        [refused?.status, refused?.code, refused?.revision],
        [502, 'KEDGE_UPSTREAM_CONNECT', KEY],
      );
      assert.deepEqual(
        [timedOut?.status, timedOut?.code, timedOut?.revision],
        [504, 'KEDGE_NO_CAPACITY_TIMEOUT', KEY],
      );
    });

    test('stats: record() reports concurrency and request counts each second', async (t) => {
      const { gw, stats } = await rig(t);
      await Promise.all([send(gw.port), send(gw.port)]);
      await until('a report', () => stats.records.some((r) => r.some((s) => s.revision === KEY)), 2_500);
      const stat = stats.records.flat().find((s) => s.revision === KEY);
      assert.ok(stat !== undefined);
      assert.equal(stat.requestCount, 2);
      assert.ok(stat.averageConcurrency > 0);
    });

    test('chunked response with trailers: body intact, trailers dropped, both sockets reused', async (t) => {
      const { gw, backend } = await rig(t, {
        handler: (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
          res.write('abc');
          res.addTrailers({ 'x-checksum': '123' });
          res.end('def');
        },
      });
      let connections = 0;
      backend?.server.on('connection', () => connections++);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      t.after(() => {
        agent.destroy();
      });
      for (let i = 0; i < 3; i++) {
        const r = await send(gw.port, { agent });
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), 'abcdef');
        assert.equal(r.headers['trailer'], undefined, 'Trailer is hop-by-hop here');
        assert.equal(r.headers['x-checksum'], undefined);
        if (i > 0) assert.equal(r.reusedSocket, true);
      }
      assert.equal(connections, 1, 'one upstream connection for three requests');
    });

    // The front end's capability, stated once: node:http writes 1xx informational responses;
    // uWebSockets.js 20.30 cannot (one writeStatus per response) and skips them (front/uws.ts
    // UwsDownstream.interim). Every 1xx test below checks the one or the other, never neither.
    const forwardsInterim = frontend === 'node';

    test('103 Early Hints reach the client before the final response (node:http; uWS skips them): Link kept, hop-by-hop and the replica request id dropped, only the 200 counted', async (t) => {
      const raw = await startRawBackend((socket) => {
        socket.write(
          'HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload; as=style\r\nConnection: x-hop\r\n' +
            'X-Hop: secret\r\nKeep-Alive: timeout=5\r\nX-Request-Id: replica-id\r\n\r\n',
        );
        // The final head comes later, so the 103 cannot ride along with it.
        setTimeout(() => {
          if (!socket.destroyed)
            socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nfinal');
        }, 50);
      });
      t.after(() => raw.close());
      const accessLog = new MemoryAccessLogSink();
      const { gw, registry } = await rig(t, { handler: null, gateway: { accessLog } });
      gw.setEndpoints(KEY, [raw.endpoint('raw')]);
      const r = await sendInformed(gw.port, { headers: { 'x-request-id': 'client-id' } });
      assert.equal(r.status, 200);
      assert.equal(r.body, 'final');
      assert.equal(r.headers['x-request-id'], 'client-id', 'the final response names the request');
      if (forwardsInterim) {
        assert.equal(r.interims.length, 1);
        const hint = r.interims[0] as Interim;
        assert.equal(hint.status, 103);
        assert.equal(hint.statusMessage, 'Early Hints');
        assert.equal(hint.headers['link'], '</app.css>; rel=preload; as=style');
        for (const h of ['x-hop', 'keep-alive', 'connection', 'x-request-id', 'content-length'])
          assert.equal(hint.headers[h], undefined, h);
        assert.equal(r.interimsBeforeHead, 1, 'the 103 came before the final head');
      } else {
        assert.deepEqual(r.interims, [], 'uWS cannot send a 1xx: skipped');
      }
      await until('a record', () => accessLog.entries.length === 1, 2_000);
      assert.equal(accessLog.entries.length, 1, 'one record: the 1xx is no response of its own');
      assert.equal((accessLog.entries[0] as AccessLogEntry).status, 200);
      const text = await registry.metrics();
      assert.match(text, /kedge_requests_total\{[^}]*code_class="2xx"\} 1\n/);
      assert.doesNotMatch(text, /code_class="1xx"/);
      if (forwardsInterim) {
        // RFC 9110 §15.2: no 1xx to an HTTP/1.0 client. (uWS 20.30 does not answer HTTP/1.0.)
        const ten = await rawExchange(gw.port, `GET / HTTP/1.0\r\nHost: ${HOST}\r\n\r\n`);
        assert.match(ten, /^HTTP\/1\.1 200 /, ten);
        assert.doesNotMatch(ten, / 103 /);
      }
      await until('released', () => gw.revisionLoad(KEY).inFlight === 0);
    });

    test('102 Processing from a node:http replica, then 200: forwarded on node:http, skipped on uWS', async (t) => {
      const { gw } = await rig(t, {
        handler: (_req, res) => {
          res.writeProcessing();
          setTimeout(() => res.end('final'), 20);
        },
      });
      const r = await sendInformed(gw.port);
      assert.equal(r.status, 200);
      assert.equal(r.body, 'final');
      assert.deepEqual(
        r.interims.map((i) => i.status),
        forwardsInterim ? [102] : [],
      );
    });

    test('an unregistered 1xx (199) passes with its fields and an empty reason phrase (node:http; uWS skips it)', async (t) => {
      const raw = await startRawBackend((socket) => {
        socket.write(
          'HTTP/1.1 199 Whatever\r\nX-Note: a\r\n\r\nHTTP/1.1 204 No Content\r\nX-Final: b\r\n\r\n',
        );
      });
      t.after(() => raw.close());
      const { gw } = await rig(t, { handler: null });
      gw.setEndpoints(KEY, [raw.endpoint('raw')]);
      const r = await sendInformed(gw.port);
      assert.equal(r.status, 204);
      assert.equal(r.headers['x-final'], 'b');
      if (forwardsInterim) {
        assert.equal(r.interims.length, 1);
        const note = r.interims[0] as Interim;
        assert.equal(note.status, 199);
        assert.equal(note.statusMessage, '');
        assert.equal(note.headers['x-note'], 'a');
      } else {
        assert.deepEqual(r.interims, []);
      }
    });

    test("a replica's 100 Continue is never forwarded: the client gets the front end's own, once", async (t) => {
      // The client asks for 100-continue; the front end answers it (node:http and uWS both do)
      // and the gateway sends no Expect upstream. This replica sends a 100 of its own anyway.
      const raw = await startRawBackend((socket) => {
        socket.write(
          'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nfinal',
        );
      });
      t.after(() => raw.close());
      const { gw } = await rig(t, { handler: null });
      gw.setEndpoints(KEY, [raw.endpoint('raw')]);
      const r = await sendInformed(gw.port, {
        method: 'POST',
        headers: { expect: '100-continue', 'content-length': '5' },
        body: '12345',
      });
      assert.deepEqual(
        r.interims.map((i) => i.status),
        [100],
        "exactly one 100: the front end's",
      );
      if (upstream === 'undici') {
        // undici 7 destroys the socket on a 100 it did not ask for (lib/dispatcher/client-h1.js
        // onHeadersComplete: 'bad response'): the request fails as a reset.
        assert.equal(r.status, 502);
        assert.equal(r.headers['x-kedge-error'], 'KEDGE_UPSTREAM_RESET');
      } else {
        assert.equal(r.status, 200);
        assert.equal(r.body, 'final');
      }
      await until('released', () => gw.revisionLoad(KEY).inFlight === 0);
    });

    test(`more 1xx than the cap (${String(MAX_INTERIM_RESPONSES)}): the first ones pass (node:http), the rest are skipped, the final response arrives`, async (t) => {
      let hints = '';
      for (let i = 0; i < 3 * MAX_INTERIM_RESPONSES; i++)
        hints += `HTTP/1.1 103 Early Hints\r\nLink: </${String(i)}.css>; rel=preload\r\n\r\n`;
      const raw = await startRawBackend((socket) => {
        socket.write(`${hints}HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfinal`);
      });
      t.after(() => raw.close());
      const { gw } = await rig(t, { handler: null });
      gw.setEndpoints(KEY, [raw.endpoint('raw')]);
      const r = await sendInformed(gw.port);
      assert.equal(r.status, 200);
      assert.equal(r.body, 'final');
      assert.deepEqual(
        r.interims.map((i) => i.headers['link']),
        forwardsInterim
          ? Array.from({ length: MAX_INTERIM_RESPONSES }, (_, i) => `</${String(i)}.css>; rel=preload`)
          : [],
      );
      assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 0, queued: 0 });
    });

    test('a 1xx ends the response-start wait (as in Knative) but is no final head: the total timeout still answers 504', async (t) => {
      const { gw } = await rig(t, {
        revision: { responseStartTimeoutSeconds: 0.3, timeoutSeconds: 1 },
        handler: (req, res) => {
          res.writeEarlyHints({ link: '</app.css>; rel=preload; as=style' });
          // '/late' answers past responseStartTimeoutSeconds; '/hang' never does.
          if (req.url === '/late') setTimeout(() => res.end('late'), 600);
        },
      });
      const late = await sendInformed(gw.port, { path: '/late' });
      assert.equal(late.status, 200, late.body);
      assert.equal(late.body, 'late');
      const hang = await sendInformed(gw.port, { path: '/hang' });
      assert.equal(hang.status, 504);
      assert.equal(hang.headers['x-kedge-error'], 'KEDGE_UPSTREAM_TIMEOUT');
      assert.match(hang.body, /no complete response within timeoutSeconds=1/);
      for (const r of [late, hang])
        assert.deepEqual(
          r.interims.map((i) => i.status),
          forwardsInterim ? [103] : [],
        );
      await until('released', () => gw.revisionLoad(KEY).inFlight === 0);
    });

    test('Connection: close from the replica: the response arrives, the next request reconnects', async (t) => {
      const { gw, backend } = await rig(t, {
        handler: (_req, res) => {
          res.setHeader('connection', 'close');
          res.end('bye');
        },
      });
      let connections = 0;
      backend?.server.on('connection', () => connections++);
      for (let i = 0; i < 2; i++) {
        const r = await send(gw.port);
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), 'bye');
      }
      assert.equal(connections, 2);
      assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 0, queued: 0 });
    });

    test('close-delimited and HTTP/1.0 responses are read to the end of the connection', async (t) => {
      const raw = await startRawBackend((socket, head) => {
        if (head.startsWith('GET /http10'))
          socket.end('HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\n\r\nten');
        else socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil close');
      });
      t.after(() => raw.close());
      const { gw } = await rig(t, { handler: null });
      gw.setEndpoints(KEY, [raw.endpoint('raw')]);
      const r = await send(gw.port);
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'until close');
      const r10 = await send(gw.port, { path: '/http10' });
      assert.equal(r10.status, 200);
      assert.equal(r10.body.toString(), 'ten');
      assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 0, queued: 0 });
    });

    test('a replica that resets before responding → 502 KEDGE_UPSTREAM_RESET', async (t) => {
      const raw = await startRawBackend((socket) => {
        socket.resetAndDestroy();
      });
      t.after(() => raw.close());
      const { gw } = await rig(t, { handler: null });
      gw.setEndpoints(KEY, [raw.endpoint('raw')]);
      const r = await send(gw.port);
      assert.equal(r.status, 502);
      assert.equal(r.headers['x-kedge-error'], 'KEDGE_UPSTREAM_RESET');
      const post = await send(gw.port, { method: 'POST', body: Buffer.from('data') });
      assert.equal(post.status, 502);
      assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 0, queued: 0 });
    });

    test(
      'a stale pooled socket is retried once for a bodiless GET, never for a POST',
      { skip: upstream === 'undici' ? 'undici does not re-send on a stale pooled socket' : false },
      async (t) => {
        // Each connection answers its first request and drops the second unanswered: what a
        // replica closing an idle keep-alive socket looks like when the request crosses the FIN.
        const raw = await startRawBackend((socket, _head, index) => {
          if (index === 0) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst');
          else socket.destroy();
        });
        t.after(() => raw.close());
        const { gw } = await rig(t, { handler: null });
        gw.setEndpoints(KEY, [raw.endpoint('raw')]);
        assert.equal((await send(gw.port)).body.toString(), 'first');
        const retried = await send(gw.port);
        assert.equal(retried.status, 200, 'the GET went again on a new connection');
        assert.equal(retried.body.toString(), 'first');
        assert.equal(raw.connections(), 2);
        const post = await send(gw.port, { method: 'POST', body: Buffer.from('once') });
        assert.equal(post.status, 502, 'a request with a body is never sent twice');
        assert.equal(post.headers['x-kedge-error'], 'KEDGE_UPSTREAM_RESET');
        assert.equal(raw.connections(), 2);
        assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 0, queued: 0 });
      },
    );

    test('a response the strict parser refuses goes through undici for that replica', async (t) => {
      // llhttp accepts a transfer-coding list ending in chunked; the raw parser does not.
      const raw = await startRawBackend((socket) => {
        socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n');
      });
      t.after(() => raw.close());
      const { gw } = await rig(t, { handler: null });
      gw.setEndpoints(KEY, [raw.endpoint('raw')]);
      for (let i = 0; i < 2; i++) {
        const r = await send(gw.port);
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), 'ok');
      }
      assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 0, queued: 0 });
    });

    test('100 concurrent requests with bodies over a pool capped by containerConcurrency', async (t) => {
      const { gw } = await rig(t, { handler: pipeEcho, revision: { containerConcurrency: 8 } });
      const agent = new Agent({ keepAlive: true, maxSockets: 100 });
      t.after(() => {
        agent.destroy();
      });
      const replies = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          send(gw.port, { method: 'POST', path: '/echo', body: Buffer.from(`body-${i}`), agent }),
        ),
      );
      replies.forEach((r, i) => {
        assert.equal(r.body.toString(), `body-${i}`);
      });
      assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 0, queued: 0 });
    });

    test('WebSocket: messages both ways, fragments, close codes; held open past the response timers; counted in flight', async (t) => {
      const ws = await startWsEchoBackend();
      t.after(() => ws.close());
      const { gw } = await rig(t, {
        handler: null,
        revision: { responseStartTimeoutSeconds: 0.2, idleTimeoutSeconds: 0.2, timeoutSeconds: 0.4 },
      });
      gw.setEndpoints(KEY, [ws.endpoint('ws')]);
      const c = await openWebSocket(gw.port, {
        protocol: 'chat, superchat',
        extensions: 'permessage-deflate',
      });
      t.after(() => {
        c.destroy();
      });
      assert.equal(c.status, 101, c.head);
      assert.match(c.head, /sec-websocket-protocol: chat/i);
      assert.match(c.head, /\r\nx-request-id: [0-9a-f]{16}-[0-9a-f]{12}\r\n/i, 'the 101 names the request');
      // uWS terminates the client's WebSocket and negotiates no extension on either hop.
      if (frontend === 'uws') assert.equal(ws.lastExtensions(), '');
      c.send(Opcode.Text, 'hello');
      const hello = await c.next();
      assert.equal(hello.opcode, Opcode.Text);
      assert.equal(hello.payload.toString(), 'hello');
      const big = Buffer.alloc(300_000);
      for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
      c.send(Opcode.Binary, big);
      const echoed = await c.next();
      assert.equal(echoed.opcode, Opcode.Binary);
      assert.ok(echoed.payload.equals(big), 'binary message intact');
      assert.deepEqual(
        gw.revisionLoad(KEY),
        { inFlight: 1, queued: 0 },
        'an open WebSocket is one request in flight',
      );
      // Past responseStart, idle and total timeouts: the 101 was the response start.
      await new Promise((r) => setTimeout(r, 700));
      c.send(Opcode.Text, 'fragments');
      let message = '';
      for (;;) {
        const f = await c.next();
        message += f.payload.toString();
        if (f.fin) break;
      }
      assert.equal(message, 'fragments');
      c.send(Opcode.Text, 'close-me');
      const close = await c.next();
      assert.equal(close.opcode, Opcode.Close);
      assert.equal(close.payload.readUInt16BE(0), 4000);
      assert.equal(close.payload.subarray(2).toString(), 'bye');
      // RFC 6455 §5.5.1: the client answers the Close; then the replica closes the connection.
      c.send(Opcode.Close, close.payload.subarray(0, 2));
      await c.closed;
      await until('released', () => gw.revisionLoad(KEY).inFlight === 0);
    });

    test(
      'WebSocket: a replica that stops reading holds a bounded backlog; the client is closed with 1013',
      {
        skip:
          frontend === 'node' &&
          'node:http tunnels the raw sockets with TCP backpressure: the client itself is held back',
      },
      async (t) => {
        const ws = await startWsEchoBackend();
        t.after(() => ws.close());
        const { gw } = await rig(t, { handler: null });
        gw.setEndpoints(KEY, [ws.endpoint('ws')]);
        const c = await openWebSocket(gw.port);
        t.after(() => {
          c.destroy();
        });
        c.send(Opcode.Text, 'stop-reading');
        assert.equal((await c.next()).payload.toString(), 'stop-reading');
        // 64 MB against a 32 MB backlog plus what the kernel's socket buffers take.
        const mb = Buffer.alloc(1 << 20, 7);
        for (let i = 0; i < 64; i++) c.send(Opcode.Binary, mb);
        const close = await c.next(10_000);
        assert.equal(close.opcode, Opcode.Close);
        assert.equal(close.payload.readUInt16BE(0), 1013, close.payload.subarray(2).toString());
        assert.equal(close.payload.subarray(2).toString(), 'replica is not reading');
        await until('the WebSocket no longer counts in flight', () => gw.revisionLoad(KEY).inFlight === 0);
      },
    );

    test('WebSocket: cold start queues the upgrade; a refused upgrade is passed on', async (t) => {
      const ws = await startWsEchoBackend();
      t.after(() => ws.close());
      const { gw, stats } = await rig(t, { handler: null });
      const pending = openWebSocket(gw.port);
      await until('queued', () => gw.revisionLoad(KEY).queued === 1);
      assert.deepEqual(stats.pokes, [KEY]);
      gw.setEndpoints(KEY, [ws.endpoint('ws')]);
      const c = await pending;
      t.after(() => {
        c.destroy();
      });
      assert.equal(c.status, 101);
      c.send(Opcode.Text, 'after cold start');
      assert.equal((await c.next()).payload.toString(), 'after cold start');
      c.send(Opcode.Close, Buffer.from([0x03, 0xe8]));
      await c.closed;
      await until('released', () => gw.revisionLoad(KEY).inFlight === 0);
      const refused = await openWebSocket(gw.port, { path: '/refuse' });
      assert.equal(refused.status, 403);
      await refused.closed;
      assert.equal(refused.body(), 'refused');
      const unknown = await openWebSocket(gw.port, { host: 'nope.default.example.com' });
      assert.equal(unknown.status, 404);
      unknown.destroy();
      assert.deepEqual(gw.revisionLoad(KEY), { inFlight: 0, queued: 0 });
    });
  });
}

/** Writes exact bytes, returns what came back until the server closed or went quiet for 1 s. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => {
      sock.write(bytes, 'latin1');
    });
    let s = '';
    sock.setEncoding('latin1');
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(s);
    }, 1_000);
    sock.on('data', (c: string) => {
      s += c;
      // One complete response is enough (every one here has a Content-Length).
      const head = s.indexOf('\r\n\r\n');
      const length = /content-length: *(\d+)/i.exec(s.slice(0, head))?.[1];
      if (head >= 0 && length !== undefined && s.length >= head + 4 + Number(length)) {
        clearTimeout(timer);
        sock.destroy();
        resolve(s);
      }
    });
    sock.on('end', () => {
      clearTimeout(timer);
      resolve(s);
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      if (s === '') reject(err);
      else resolve(s);
    });
  });
}

interface Interim {
  readonly status: number;
  readonly statusMessage: string;
  readonly headers: IncomingHttpHeaders;
}

interface InformedReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The 1xx responses node:http's client reported ('information'), in order. */
  readonly interims: readonly Interim[];
  /** How many of them had arrived when the final head did. */
  readonly interimsBeforeHead: number;
}

/**
 * One request to the gateway that records the 1xx responses the client saw. With
 * `expect: 100-continue` the body waits for the 100 (1 s at most). Bounded: 5 s.
 */
function sendInformed(
  port: number,
  o: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<InformedReply> {
  return new Promise<InformedReply>((resolve, reject) => {
    const interims: Interim[] = [];
    let interimsBeforeHead = -1;
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: o.method ?? 'GET',
        path: o.path ?? '/',
        headers: { host: HOST, ...o.headers },
        agent: false,
      },
      (res) => {
        interimsBeforeHead = interims.length;
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, interims, interimsBeforeHead });
        });
        res.on('error', reject);
      },
    );
    req.on('information', (info: InformationEvent) => {
      interims.push({ status: info.statusCode, statusMessage: info.statusMessage, headers: info.headers });
    });
    const timer = setTimeout(() => {
      req.destroy(new Error('test request timed out'));
    }, 5_000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    const body = o.body;
    if (body === undefined) req.end();
    else if (o.headers?.['expect'] === '100-continue') {
      const fallback = setTimeout(() => {
        if (!req.writableEnded) req.end(body);
      }, 1_000);
      req.on('continue', () => {
        clearTimeout(fallback);
        if (!req.writableEnded) req.end(body);
      });
    } else req.end(body);
  });
}

function echoHandler(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    switch (req.url ?? '/') {
      case '/204':
        res.writeHead(204).end();
        return;
      case '/304':
        res.writeHead(304, { etag: '"x"' }).end();
        return;
      case '/cookies':
        res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
        res.end('cookies');
        return;
      case '/rid':
        res.setHeader('x-request-id', "the replica's own");
        res.end('rid');
        return;
      case '/sized':
        res.writeHead(200, { 'content-length': '5' });
        res.end(req.method === 'HEAD' ? undefined : 'hello');
        return;
      default:
        res.setHeader('x-seen', JSON.stringify({ ...req.headers, 'x-url': req.url }));
        res.setHeader('connection', 'x-upstream-secret');
        res.setHeader('x-upstream-secret', 'hop');
        res.setHeader('x-kept', 'yes');
        res.end('hello');
    }
  });
}

/** Echoes the body as it arrives: Content-Length in → Content-Length out, chunked otherwise. */
function pipeEcho(req: IncomingMessage, res: ServerResponse): void {
  const cl = req.headers['content-length'];
  res.writeHead(200, cl === undefined ? {} : { 'content-length': cl });
  req.pipe(res);
}
