// Hostile input at the gateway, on both front ends (KEDGE_FRONTEND=uws and =node), with exact
// bytes over raw TCP. The promise: a malformed or smuggling request gets the right status, never
// reaches a replica (the replica taps every byte it receives into a file), and never brings the
// gateway down; slow and idle clients do not hold up others; the admin API is never reachable
// through the traffic port; hop-by-hop fields are dropped both ways and X-Forwarded-For appends.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Socket } from 'node:net';
import {
  FULL,
  Tally,
  closedLoop,
  hostOf,
  report,
  revisionView,
  shoot,
  startPlatform,
  writeService,
  type Platform,
} from '../support/faults.js';
import { waitFor } from '../support/kedge-process.js';
import { header, openSocket, rawExchange, type RawResult } from '../support/raw-http.js';

type Frontend = 'uws' | 'node';

interface Case {
  readonly name: string;
  /** The exact bytes; `c=<name>` in the target marks them in the replica's tap file. */
  readonly bytes: (host: string, port: number) => string;
  /** Any of these statuses is right. */
  readonly status: readonly number[];
  /** The replica may see this request (a well-formed one that kedge routes). */
  readonly reaches: boolean;
  /** RFC 9112 §6.1/§6.3: after a framing conflict the server MUST close the connection. */
  readonly closes?: boolean;
  /** A request hidden in the body that must never reach the replica as a request of its own. */
  readonly smuggled?: string;
  /** Known failures, per front end: the status assertion is marked todo with this reason. */
  readonly statusTodo?: Partial<Record<Frontend, string>>;
  /** Known failures of the never-reaches / closes assertion. */
  readonly safetyTodo?: Partial<Record<Frontend, string>>;
}

const UWS_SILENT =
  'uWS front end: answers a malformed request with no 400 (closes it at once, or leaves it open until its ~10 s idle timeout)';

const CASES: readonly Case[] = [
  {
    name: 'cl-te',
    bytes: (h) =>
      `POST /echo?c=cl-te HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /echo?c=cl-te-smuggled HTTP/1.1\r\nHost: ${h}\r\n\r\n`,
    status: [400],
    reaches: false,
    closes: true,
    smuggled: 'c=cl-te-smuggled',
    statusTodo: { uws: UWS_SILENT },
  },
  {
    name: 'te-cl',
    bytes: (h) =>
      `POST /echo?c=te-cl HTTP/1.1\r\nHost: ${h}\r\nTransfer-Encoding: chunked\r\nContent-Length: 60\r\n\r\n0\r\n\r\nGET /echo?c=te-cl-smuggled HTTP/1.1\r\nHost: ${h}\r\n\r\n`,
    status: [400],
    reaches: false,
    closes: true,
    smuggled: 'c=te-cl-smuggled',
    statusTodo: { uws: UWS_SILENT },
  },
  {
    name: 'two-content-lengths',
    bytes: (h) =>
      `POST /echo?c=two-content-lengths HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 3\r\nContent-Length: 60\r\n\r\nabcGET /echo?c=two-cl-smuggled HTTP/1.1\r\nHost: ${h}\r\n\r\n`,
    status: [400],
    reaches: false,
    closes: true,
    smuggled: 'c=two-cl-smuggled',
    statusTodo: { uws: UWS_SILENT },
  },
  {
    name: 'unknown-transfer-coding',
    bytes: (h) =>
      `POST /echo?c=unknown-transfer-coding HTTP/1.1\r\nHost: ${h}\r\nTransfer-Encoding: xchunked\r\nContent-Length: 3\r\n\r\nabc`,
    status: [400, 501],
    reaches: false,
    closes: true,
    statusTodo: { uws: UWS_SILENT },
  },
  {
    name: 'obs-fold',
    bytes: (h) => `GET /echo?c=obs-fold HTTP/1.1\r\nHost: ${h}\r\nX-Folded: a\r\n b\r\n\r\n`,
    status: [400],
    reaches: false,
    statusTodo: { uws: UWS_SILENT },
  },
  {
    name: 'bare-lf',
    bytes: (h) => `GET /echo?c=bare-lf HTTP/1.1\nHost: ${h}\nX-A: 1\n\n`,
    status: [400],
    reaches: false,
    statusTodo: { uws: UWS_SILENT },
  },
  {
    name: 'bare-cr-in-value',
    bytes: (h) => `GET /echo?c=bare-cr-in-value HTTP/1.1\r\nHost: ${h}\r\nX-A: 1\rX-B: 2\r\n\r\n`,
    status: [400],
    reaches: false,
    statusTodo: { uws: UWS_SILENT },
  },
  {
    name: 'invalid-method',
    bytes: (h) => `G@T /echo?c=invalid-method HTTP/1.1\r\nHost: ${h}\r\n\r\n`,
    status: [400],
    reaches: false,
    statusTodo: { uws: UWS_SILENT },
  },
  {
    name: 'space-before-colon',
    bytes: (h) => `GET /echo?c=space-before-colon HTTP/1.1\r\nHost: ${h}\r\nX-Foo : bar\r\n\r\n`,
    status: [400],
    reaches: false,
    statusTodo: { uws: UWS_SILENT },
  },
  {
    name: 'invalid-header-name',
    bytes: (h) => `GET /echo?c=invalid-header-name HTTP/1.1\r\nHost: ${h}\r\nX(Foo): bar\r\n\r\n`,
    status: [400],
    reaches: false,
    statusTodo: { uws: UWS_SILENT },
  },
  {
    name: 'nul-in-value',
    bytes: (h) => `GET /echo?c=nul-in-value HTTP/1.1\r\nHost: ${h}\r\nX-Foo: a\x00b\r\n\r\n`,
    status: [400],
    reaches: false,
    statusTodo: { uws: UWS_SILENT },
  },
  {
    name: 'control-in-value',
    bytes: (h) => `GET /echo?c=control-in-value HTTP/1.1\r\nHost: ${h}\r\nX-Foo: a\x01b\r\n\r\n`,
    status: [400],
    reaches: false,
    statusTodo: { uws: UWS_SILENT },
  },
  {
    name: 'header-64k',
    bytes: (h) => `GET /echo?c=header-64k HTTP/1.1\r\nHost: ${h}\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
    status: [431],
    reaches: false,
  },
  {
    name: 'url-10k',
    bytes: (h) => `GET /echo?c=url-10k&x=${'a'.repeat(10 * 1024)} HTTP/1.1\r\nHost: ${h}\r\n\r\n`,
    status: [414],
    reaches: false,
  },
  {
    name: 'no-host',
    bytes: () => `GET /echo?c=no-host HTTP/1.1\r\n\r\n`,
    status: [400],
    reaches: false,
    statusTodo: { uws: UWS_SILENT },
  },
  {
    name: 'no-host-http10',
    bytes: () => `GET /echo?c=no-host-http10 HTTP/1.0\r\n\r\n`,
    status: [400],
    reaches: false,
    statusTodo: { uws: UWS_SILENT },
  },
  {
    name: 'uppercase-host',
    bytes: (h) => `GET /echo?c=uppercase-host HTTP/1.1\r\nHost: ${h.toUpperCase()}\r\n\r\n`,
    status: [200],
    reaches: true,
  },
  {
    name: 'trailing-dot-host',
    bytes: (h) => `GET /echo?c=trailing-dot-host HTTP/1.1\r\nHost: ${h}.\r\n\r\n`,
    status: [200],
    reaches: true,
  },
  {
    name: 'host-with-port',
    bytes: (h, port) => `GET /echo?c=host-with-port HTTP/1.1\r\nHost: ${h}:${port}\r\n\r\n`,
    status: [200],
    reaches: true,
  },
  {
    name: 'ipv6-literal-host',
    bytes: (_h, port) => `GET /echo?c=ipv6-literal-host HTTP/1.1\r\nHost: [::1]:${port}\r\n\r\n`,
    status: [404],
    reaches: false,
  },
  {
    name: 'duplicate-host-good-first',
    bytes: (h) =>
      `GET /echo?c=duplicate-host-good-first HTTP/1.1\r\nHost: ${h}\r\nHost: evil.example.com\r\n\r\n`,
    status: [400],
    reaches: false,
  },
  {
    name: 'duplicate-host-evil-first',
    bytes: (h) =>
      `GET /echo?c=duplicate-host-evil-first HTTP/1.1\r\nHost: evil.example.com\r\nHost: ${h}\r\n\r\n`,
    status: [400],
    reaches: false,
  },
  {
    name: 'invalid-host-value',
    bytes: (h) => `GET /echo?c=invalid-host-value HTTP/1.1\r\nHost: ${h}/x\r\n\r\n`,
    status: [400],
    reaches: false,
  },
];

/** How long one case may take: a right answer comes at once; a silent front end is cut off here. */
const CASE_TIMEOUT_MS = 2_000;
/** A slowloris client must be cut within this (uWS: ~10 s idle timeout). */
const SLOWLORIS_LIMIT_MS = FULL ? 75_000 : 20_000;
const IDLE_CONNECTIONS = 10_000;

for (const frontend of ['uws', 'node'] as const) {
  describe(`hostile input (${frontend} front end)`, () => {
    let platform: Platform;
    let tap: string;
    const results = new Map<string, RawResult>();
    let tapped = '';

    before(async () => {
      platform = await startPlatform(
        `hostile-${frontend}`,
        (dir) => {
          tap = join(dir, 'tap.log');
          writeFileSync(tap, '');
          writeService(dir, { name: 'app', env: { RECORD_RAW: tap } });
        },
        { env: { KEDGE_FRONTEND: frontend } },
      );
      await waitFor(
        'app to be ready',
        async () =>
          (await revisionView(platform.kedge, 'app-00001'))?.readyReplicas === 1 ? true : undefined,
        20_000,
      );
      const { gatewayPort } = platform.kedge;
      // Every case at once, each on its own connection: a silent front end costs CASE_TIMEOUT_MS once.
      await Promise.all(
        CASES.map(async (c) => {
          results.set(
            c.name,
            await rawExchange(gatewayPort, c.bytes(hostOf('app'), gatewayPort), {
              timeoutMs: CASE_TIMEOUT_MS,
            }),
          );
        }),
      );
      // The tap writes synchronously as bytes arrive; a moment for the last relays.
      await new Promise((r) => setTimeout(r, 200));
      tapped = readFileSync(tap, 'latin1');
    });
    after(async () => {
      await platform.close();
    });

    for (const c of CASES) {
      test(
        `${c.name}: answered ${c.status.join(' or ')}`,
        { todo: c.statusTodo?.[frontend] ?? false },
        () => {
          const r = results.get(c.name);
          assert.ok(r, 'ran');
          const status = r.responses[0]?.status ?? 0;
          assert.ok(
            c.status.includes(status),
            `got ${status === 0 ? `no answer (${r.closed ? 'closed' : 'still open'} after ${Math.round(r.ms)} ms)` : `${status} ${r.responses[0]?.body.trim() ?? ''}`}`,
          );
        },
      );
      test(
        `${c.name}: ${c.reaches ? 'reaches the replica intact' : 'never reaches the replica'}${c.closes === true ? ', connection closed' : ''}`,
        { todo: c.safetyTodo?.[frontend] ?? false },
        () => {
          const r = results.get(c.name);
          assert.ok(r, 'ran');
          const marker = `c=${c.name}`;
          if (c.reaches) {
            assert.ok(tapped.includes(marker), 'the replica got it');
            const echo = JSON.parse(r.responses[0]?.body ?? '{}') as { url?: string };
            assert.match(echo.url ?? '', new RegExp(`c=${c.name}$`));
          } else {
            assert.ok(
              !tapped.includes(marker + ' ') && !tapped.includes(marker + '&'),
              'the replica never saw it',
            );
          }
          if (c.smuggled !== undefined)
            assert.ok(!tapped.includes(c.smuggled), 'the hidden request never reached the replica');
          if (c.closes === true) assert.ok(r.closed, 'the gateway closed the connection');
          assert.ok(r.responses.length <= 1, `one answer at most, got ${r.responses.length}`);
        },
      );
    }

    test('after all of that the gateway still serves, and kedge is alive', async () => {
      const res = await shoot(platform.kedge.gatewayPort, hostOf('app'));
      assert.equal(res.status, 200, res.body);
      assert.equal(platform.kedge.child.exitCode, null);
    });

    test(`slowloris is cut within ${SLOWLORIS_LIMIT_MS / 1000} s, and ${IDLE_CONNECTIONS} idle connections do not slow others`, async (t) => {
      const { gatewayPort } = platform.kedge;
      const latency = async (): Promise<{ p50: number; p99: number; tally: Tally }> => {
        const tally = new Tally();
        const ms: number[] = [];
        await closedLoop({
          port: gatewayPort,
          host: hostOf('app'),
          clients: 8,
          maxRequests: 400,
          untilMs: Date.now() + 10_000,
          tally,
          onResponse: (s) => ms.push(s.ms),
        });
        ms.sort((a, b) => a - b);
        return {
          p50: ms[Math.floor(ms.length * 0.5)] ?? 0,
          p99: ms[Math.floor(ms.length * 0.99)] ?? 0,
          tally,
        };
      };
      const baseline = await latency();
      // Slowloris: a header, one byte a second.
      const slow = await openSocket(gatewayPort);
      const slowStarted = performance.now();
      let slowClosedMs = -1;
      slow.on('close', () => (slowClosedMs = performance.now() - slowStarted));
      slow.on('error', () => undefined);
      const text = `GET /echo?c=slowloris HTTP/1.1\r\nHost: ${hostOf('app')}\r\nX-Slow: ${'s'.repeat(200)}`;
      let i = 0;
      const drip = setInterval(() => {
        if (slowClosedMs >= 0 || i >= text.length) return;
        slow.write(text.charAt(i++));
      }, 1_000);
      const idle: Socket[] = [];
      try {
        // Idle connections: connected, never a byte (opened in batches, within the fd limit).
        for (let n = 0; n < IDLE_CONNECTIONS; n += 500) {
          const batch = await Promise.all(
            Array.from({ length: Math.min(500, IDLE_CONNECTIONS - n) }, () => openSocket(gatewayPort)),
          );
          for (const s of batch) {
            s.on('error', () => undefined);
            idle.push(s);
          }
        }
        const during = await latency();
        for (const s of idle) s.destroy();
        await waitFor(
          'the slowloris connection to be cut',
          () => Promise.resolve(slowClosedMs >= 0 ? true : undefined),
          SLOWLORIS_LIMIT_MS,
          250,
        ).catch(() => undefined);
        report(t, `slowloris and idle connections (${frontend})`, {
          slowlorisCutAfterMs:
            slowClosedMs < 0 ? `not within ${SLOWLORIS_LIMIT_MS}` : Math.round(slowClosedMs),
          slowlorisBytesSent: i,
          idleConnections: idle.length,
          p50Before: baseline.p50.toFixed(1),
          p99Before: baseline.p99.toFixed(1),
          p50With: during.p50.toFixed(1),
          p99With: during.p99.toFixed(1),
          failed: during.tally.failed,
        });
        assert.equal(during.tally.failed + baseline.tally.failed, 0, during.tally.summary());
        assert.ok(
          during.p99 <= Math.max(50, baseline.p99 * 5),
          `p99 ${during.p99.toFixed(1)} ms with idle connections, ${baseline.p99.toFixed(1)} ms before`,
        );
        assert.ok(!tapped.includes('c=slowloris') && !readFileSync(tap, 'latin1').includes('c=slowloris'));
        assert.ok(slowClosedMs >= 0, `slowloris not cut within ${SLOWLORIS_LIMIT_MS} ms`);
      } finally {
        clearInterval(drip);
        slow.destroy();
        for (const s of idle) s.destroy();
      }
    });

    test('the admin API and metrics are not reachable through the traffic port; admin binds 127.0.0.1', async () => {
      const { gatewayPort, adminPort, pid } = platform.kedge;
      for (const host of [`127.0.0.1:${gatewayPort}`, 'localhost', `127.0.0.1:${adminPort}`, hostOf('app')]) {
        for (const path of [
          '/metrics',
          '/api/v1/services',
          '/api/v1/revisions',
          '/api/v1/logs?name=app',
          '/healthz',
          '/readyz',
        ]) {
          const res = await shoot(gatewayPort, host, path);
          assert.ok(
            !/kedge_requests_total|latestReadyRevisionName|"readyReplicas"/.test(res.body),
            `${host}${path} leaked admin data`,
          );
          if (host !== hostOf('app')) assert.equal(res.status, 404, `${host}${path}: ${res.status}`);
        }
      }
      // Listening sockets of the admin port: only 127.0.0.1 (0100007F in /proc/net/tcp), never a wildcard.
      const listeners = ['tcp', 'tcp6'].flatMap((f) =>
        readFileSync(`/proc/${pid}/net/${f}`, 'latin1')
          .split('\n')
          .slice(1)
          .map((l) => l.trim().split(/\s+/))
          .filter(
            (cols) =>
              cols[3] === '0A' &&
              cols[1]?.endsWith(`:${adminPort.toString(16).toUpperCase().padStart(4, '0')}`),
          )
          .map((cols) => cols[1] ?? ''),
      );
      assert.ok(listeners.length > 0, 'the admin port is listening');
      for (const address of listeners) assert.match(address, /^0100007F:/, `admin listens on ${address}`);
    });

    test('hop-by-hop fields are dropped both ways, X-Forwarded-For appends', async () => {
      const { gatewayPort } = platform.kedge;
      const r = await rawExchange(
        gatewayPort,
        `GET /echo?c=hop HTTP/1.1\r\nHost: ${hostOf('app')}\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n` +
          `Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\nTrailer: X-T\r\n` +
          `X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-For: 198.51.100.2\r\nX-End-To-End: kept\r\n\r\n`,
        { responses: 1 },
      );
      const echo = JSON.parse(r.responses[0]?.body ?? '{}') as { rawHeaders?: string[] };
      const got = new Map<string, string[]>();
      const raw = echo.rawHeaders ?? [];
      for (let k = 0; k + 1 < raw.length; k += 2) {
        const name = (raw[k] ?? '').toLowerCase();
        got.set(name, [...(got.get(name) ?? []), raw[k + 1] ?? '']);
      }
      for (const name of ['x-hop', 'keep-alive', 'te', 'proxy-connection', 'trailer']) {
        assert.equal(got.get(name), undefined, `${name} reached the replica`);
      }
      assert.ok(!(got.get('connection') ?? []).some((v) => /x-hop/i.test(v)), 'Connection tokens dropped');
      assert.deepEqual(got.get('x-forwarded-for'), ['203.0.113.7, 198.51.100.2, 127.0.0.1']);
      assert.deepEqual(got.get('x-end-to-end'), ['kept']);

      const res = await rawExchange(gatewayPort, `GET /hop HTTP/1.1\r\nHost: ${hostOf('app')}\r\n\r\n`, {
        responses: 1,
      });
      const head = res.responses[0];
      assert.ok(head, 'answered');
      assert.equal(header(head, 'x-resp-hop'), undefined, 'a field the replica listed in Connection');
      assert.equal(header(head, 'proxy-connection'), undefined);
      assert.notEqual(header(head, 'keep-alive'), 'timeout=99', "the replica's Keep-Alive");
      assert.ok(!/x-resp-hop/i.test(header(head, 'connection') ?? ''));
      assert.equal(header(head, 'x-resp-end-to-end'), 'kept');
    });
  });
}
