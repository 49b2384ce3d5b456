// End to end: a real `kedge up` writes one access-log line per request to the default file,
// `<state-dir>/access.log`, with the request id the client sees.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import type { AccessLogEntry } from '../gateway/access-log.js';
import { get, startKedge, waitFor, type KedgeProcess } from './support/kedge-process.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const HOST = 'helloworld-nodejs.default.example.com';

let dir: string;
let kedge: KedgeProcess;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kedge-e2e-access-'));
  cpSync(join(EXAMPLES, 'helloworld-nodejs'), join(dir, 'helloworld-nodejs'), { recursive: true });
  kedge = await startKedge(dir);
});

after(async () => {
  await kedge.stop();
  rmSync(dir, { recursive: true, force: true });
});

function lines(path: string): AccessLogEntry[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AccessLogEntry);
}

test('kedge up appends one JSON line per request to <state-dir>/access.log', async () => {
  const path = join(dir, '.kedge', 'access.log');
  await waitFor(
    'the service to answer',
    async () => ((await get(kedge.gatewayPort, HOST)).status === 200 ? true : undefined),
    30_000,
  );
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await request(`http://127.0.0.1:${kedge.gatewayPort}/hello?secret=1`, {
      headers: { host: HOST, 'x-request-id': `e2e-${i}` },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-request-id'], `e2e-${i}`);
    await res.body.text();
    ids.push(`e2e-${i}`);
  }
  const missing = await get(kedge.gatewayPort, 'nope.default.example.com');
  assert.equal(missing.status, 404);
  const missingId = String(missing.headers['x-request-id']);
  ids.push(missingId);
  // Lines for the readiness polls above may land in the same batches: pick ours by request id.
  const mine = (): AccessLogEntry[] => lines(path).filter((e) => ids.includes(e.requestId));
  await waitFor('four lines', () => Promise.resolve(mine().length >= 4 ? true : undefined), 5_000);
  const recent = mine();
  assert.equal(recent.length, 4, 'one line per request');
  assert.deepEqual(
    recent.map((e) => e.requestId),
    ids,
  );
  for (const e of recent.slice(0, 3)) {
    assert.equal(e.host, HOST);
    assert.equal(e.path, '/hello', 'no query string');
    assert.equal(e.revision, 'default/helloworld-nodejs-00001');
    assert.equal(e.status, 200);
    assert.ok(e.bytesSent > 0);
    assert.match(e.traceId, /^[0-9a-f]{32}$/);
    assert.equal(e.error, null);
  }
  const notFound = recent[3] as AccessLogEntry;
  assert.equal(notFound.status, 404);
  assert.equal(notFound.error, 'KEDGE_ROUTE_NOT_FOUND');
  assert.ok(kedge.output.some((l) => l.includes(`access log: ${path}`)));
});
