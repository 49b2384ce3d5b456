// Fault 9, long-lived streams through the gateway, on both front ends. The promise: a WebSocket
// stays open past responseStartTimeoutSeconds (the 101 is the response start) and echoes both
// ways; a server-sent-events stream delivers each event when it is sent, not when the stream ends.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import {
  hostOf,
  report,
  revisionView,
  sleep,
  startPlatform,
  writeService,
  type Platform,
} from '../support/faults.js';
import { waitFor } from '../support/kedge-process.js';
import { openWebSocket } from '../support/raw-http.js';

const EVENTS = 8;
const EVERY_MS = 400;
/** An event may arrive this much after the replica wrote it (loopback, a busy 2-core machine). */
const EVENT_LAG_MS = 250;

for (const frontend of ['uws', 'node'] as const) {
  describe(`streaming (${frontend} front end)`, () => {
    let platform: Platform;
    before(async () => {
      platform = await startPlatform(
        `stream-${frontend}`,
        (dir) => {
          writeService(dir, { name: 'ws', responseStartTimeoutSeconds: 1, timeoutSeconds: 30 });
          writeService(dir, { name: 'sse', responseStartTimeoutSeconds: 1, timeoutSeconds: 30 });
        },
        { env: { KEDGE_FRONTEND: frontend } },
      );
      for (const name of ['ws', 'sse']) {
        await waitFor(
          `${name} to be ready`,
          async () =>
            (await revisionView(platform.kedge, `${name}-00001`))?.readyReplicas === 1 ? true : undefined,
          20_000,
        );
      }
    });
    after(async () => {
      await platform.close();
    });

    test('a WebSocket stays open past responseStartTimeoutSeconds (1 s) and echoes both ways', async (t) => {
      const ws = await openWebSocket(platform.kedge.gatewayPort, hostOf('ws'), '/chat');
      try {
        assert.equal(ws.status, 101, `the handshake is answered 101 with a valid accept (got ${ws.status})`);
        ws.send('hello');
        const first = await ws.next(2_000);
        assert.equal(first.data.toString(), 'hello');
        await sleep(2_500);
        assert.equal(ws.closed, false, 'still open after 2.5 s');
        ws.send('still here');
        const second = await ws.next(2_000);
        assert.equal(second.data.toString(), 'still here');
        report(t, `websocket (${frontend})`, { status: ws.status, openForMs: 2_500, echoed: 2 });
        await ws.close();
      } finally {
        ws.destroy();
      }
    });

    test(`server-sent events: ${EVENTS} events ${EVERY_MS} ms apart, each delivered as it is sent`, async (t) => {
      const started = Date.now();
      const res = await request(
        `http://127.0.0.1:${platform.kedge.gatewayPort}/sse?n=${EVENTS}&ms=${EVERY_MS}`,
        {
          headers: { host: hostOf('sse'), accept: 'text/event-stream' },
        },
      );
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /text\/event-stream/);
      const lags: number[] = [];
      const arrivals: number[] = [];
      let text = '';
      for await (const chunk of res.body) {
        const now = Date.now();
        text += (chunk as Buffer).toString('utf8');
        for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
          const event = text.slice(0, end);
          text = text.slice(end + 2);
          const sentAt = Number(/^data: \d+ (\d+)$/m.exec(event)?.[1]);
          lags.push(now - sentAt);
          arrivals.push(now - started);
        }
      }
      report(t, `server-sent events (${frontend})`, {
        events: lags.length,
        maxLagMs: Math.max(...lags),
        arrivalsMs: arrivals,
      });
      assert.equal(lags.length, EVENTS);
      for (const [i, lag] of lags.entries()) {
        assert.ok(lag <= EVENT_LAG_MS, `event ${i} arrived ${lag} ms after it was sent`);
      }
      // The stream outlived responseStartTimeoutSeconds (1 s) without being cut.
      assert.ok(
        (arrivals.at(-1) ?? 0) >= (EVENTS - 1) * EVERY_MS,
        `last event at ${arrivals.at(-1) ?? -1} ms`,
      );
    });
  });
}
