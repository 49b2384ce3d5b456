import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentErrorLog, type RecentError } from './recent-errors.js';

function e(n: number): RecentError {
  return {
    time: new Date(n * 1000).toISOString(),
    status: 503,
    code: 'KEDGE_QUEUE_FULL',
    message: `error ${n}`,
    revision: 'default/hello-00001',
  };
}

test('newest first, at most limit', () => {
  const log = new RecentErrorLog();
  for (let i = 1; i <= 5; i++) log.record('default/hello', e(i));
  assert.deepEqual(
    log.recent('default/hello', 3).map((x) => x.message),
    ['error 5', 'error 4', 'error 3'],
  );
  assert.deepEqual(log.recent('default/other', 3), []);
});

test('each service keeps its last N errors', () => {
  const log = new RecentErrorLog(2);
  for (let i = 1; i <= 5; i++) log.record('default/hello', e(i));
  log.record('default/other', e(9));
  assert.deepEqual(
    log.recent('default/hello', 10).map((x) => x.message),
    ['error 5', 'error 4'],
  );
  assert.deepEqual(log.services(), ['default/hello', 'default/other']);
});

test('the least recently written service is evicted past the service bound', () => {
  const log = new RecentErrorLog(2, 2);
  log.record('a', e(1));
  log.record('b', e(2));
  log.record('a', e(3));
  log.record('c', e(4));
  assert.deepEqual(log.services(), ['a', 'c']);
});
