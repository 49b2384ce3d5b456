import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import type { PokeRequest, StatsReport } from '../lib/cluster-protocol.js';
import { StatsServer, parsePokeRequest, parseStatsReport } from './cluster-stats-server.js';

test('parseStatsReport names the first bad field', () => {
  const good = {
    source: 'gw',
    stats: [{ revision: 'default/a', averageConcurrency: 1, requestCount: 2 }],
    inFlight: { p: 0 },
  };
  assert.deepEqual(parseStatsReport(good), { ok: true, value: good });
  const rows: readonly [unknown, RegExp][] = [
    [[], /not a JSON object/],
    [{ ...good, source: '' }, /source/],
    [{ ...good, stats: {} }, /stats: want a list/],
    [{ ...good, stats: [{ revision: 'x', averageConcurrency: -1, requestCount: 0 }] }, /stats\[0\]/],
    [{ ...good, inFlight: { p: 'x' } }, /inFlight\[p\]/],
  ];
  for (const [body, want] of rows) {
    const parsed = parseStatsReport(body);
    assert.ok(!parsed.ok && want.test(parsed.message), JSON.stringify(body));
  }
  assert.ok(!parsePokeRequest({ source: 'gw', revision: 'no-namespace' }).ok);
});

test('POST /v1/stats and /v1/poke reach the handlers; anything else is refused', async (t) => {
  const reports: StatsReport[] = [];
  const pokes: PokeRequest[] = [];
  const server = await StatsServer.start('127.0.0.1', 0, {
    stats: (r) => reports.push(r),
    poke: (p) => pokes.push(p),
  });
  t.after(() => server.close());
  const post = async (path: string, body: string, method = 'POST'): Promise<number> => {
    const res = await request(`http://127.0.0.1:${server.port}${path}`, {
      method,
      body,
      headers: { 'content-type': 'application/json' },
    });
    await res.body.dump();
    return res.statusCode;
  };
  assert.equal(await post('/v1/stats', JSON.stringify({ source: 'gw', stats: [], inFlight: {} })), 204);
  assert.equal(await post('/v1/poke', JSON.stringify({ source: 'gw', revision: 'default/a-00001' })), 204);
  assert.equal(await post('/v1/stats', '{'), 400);
  assert.equal(await post('/v1/stats', JSON.stringify({ source: 'gw' })), 400);
  assert.equal(await post('/v1/other', '{}'), 404);
  assert.equal(await post('/v1/stats', '', 'PUT'), 405);
  assert.equal(reports.length, 1);
  assert.deepEqual(pokes, [{ source: 'gw', revision: 'default/a-00001' }]);
});
