import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { LogLine } from '../controller/runtime.js';
import { LogBus } from './log-bus.js';

const line = (revision: string, text: string): LogLine => ({
  revision,
  replica: `${revision.split('/')[1] ?? ''}-r1`,
  stream: 'stdout',
  time: '2024-01-01T00:00:00.000Z',
  line: text,
});
const all = (): boolean => true;
const texts = (entries: readonly { line: string }[]): string[] => entries.map((e) => e.line);

test('lines are numbered from 1 and read oldest first, filtered, newest `limit` of them', () => {
  const bus = new LogBus(10);
  bus.push(line('default/a-00001', 'a1'), 'a');
  bus.push(line('default/b-00001', 'b1'), 'b');
  bus.push(line('default/a-00002', 'a2'), 'a');
  assert.equal(bus.last, 3);
  assert.deepEqual(texts(bus.read((e) => e.service === 'a', 0, 10)), ['a1', 'a2']);
  assert.deepEqual(texts(bus.read(all, 0, 2)), ['b1', 'a2']);
  assert.deepEqual(texts(bus.read(all, 2, 10)), ['a2']);
  assert.deepEqual(bus.read(all, 3, 10), []);
});

test('the ring keeps the newest `capacity` lines', () => {
  const bus = new LogBus(3);
  for (let i = 1; i <= 5; i++) bus.push(line('default/a-00001', `l${i}`), 'a');
  assert.deepEqual(texts(bus.read(all, 0, 10)), ['l3', 'l4', 'l5']);
  assert.deepEqual(
    bus.read(all, 0, 10).map((e) => e.seq),
    [3, 4, 5],
  );
});

test('wait() resolves on the next matching line, on its timeout, and on close()', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const bus = new LogBus(10);
  let woke = 0;
  const forA = bus.wait((e) => e.service === 'a', 0, 20_000).then(() => (woke += 1));
  bus.push(line('default/b-00001', 'b1'), 'b');
  await Promise.resolve();
  assert.equal(woke, 0, 'a line of another service does not wake it');
  bus.push(line('default/a-00001', 'a1'), 'a');
  await forA;
  assert.equal(woke, 1);

  let timedOut = false;
  const timer = bus.wait(all, bus.last, 1000).then(() => (timedOut = true));
  t.mock.timers.tick(999);
  await Promise.resolve();
  assert.equal(timedOut, false);
  t.mock.timers.tick(1);
  await timer;
  assert.equal(timedOut, true);

  const closing = bus.wait(all, bus.last, 20_000);
  bus.close();
  await closing;
  // Already available: answers at once.
  await bus.wait(all, 0, 20_000);
});
