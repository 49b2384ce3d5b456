import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../lib/clock.js';
import type { LogFields, Logger } from '../lib/log.js';
import { ColdStartLog } from './cold-start-log.js';

function recorder(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: (msg: string, _fields?: LogFields) => lines.push(msg),
    warn: () => undefined,
    error: () => undefined,
    child: () => logger,
  };
  return { logger, lines };
}

test('a scale from zero is logged once, with the time to the first ready replica', () => {
  const clock = new ManualClock(1_000);
  const { logger, lines } = recorder();
  const log = new ColdStartLog(clock, logger);
  log.scaling('default/hello-00001', 1, 0);
  clock.advance(63);
  log.scaling('default/hello-00001', 2, 0); // a second ask while starting does not restart the clock
  clock.advance(2);
  log.endpoints('default/hello-00001', 1);
  log.endpoints('default/hello-00001', 2);
  assert.deepEqual(lines, ['cold start default/hello-00001: first replica ready in 65 ms']);
});

test('scaling up a revision that already has ready replicas is not a cold start', () => {
  const { logger, lines } = recorder();
  const log = new ColdStartLog(new ManualClock(), logger);
  log.scaling('default/hello-00001', 3, 1);
  log.endpoints('default/hello-00001', 3);
  assert.deepEqual(lines, []);
});

test('a cold start abandoned by a scale back to zero is forgotten', () => {
  const clock = new ManualClock();
  const { logger, lines } = recorder();
  const log = new ColdStartLog(clock, logger);
  log.scaling('default/hello-00001', 1, 0);
  log.scaling('default/hello-00001', 0, 0);
  clock.advance(10_000);
  log.scaling('default/hello-00001', 1, 0);
  clock.advance(70);
  log.endpoints('default/hello-00001', 1);
  assert.deepEqual(lines, ['cold start default/hello-00001: first replica ready in 70 ms']);
});
