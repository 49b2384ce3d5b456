import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { ManualClock } from '../lib/clock.js';
import { LiveTerminal, wantsColor, wantsLiveView, type TerminalStream } from './terminal.js';

class FakeTerminal extends EventEmitter implements TerminalStream {
  readonly writes: string[] = [];
  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }
  write(chunk: string): boolean {
    this.writes.push(chunk);
    return true;
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Frames are driven by refresh() in these tests, never by the timer. */
const NO_TIMER_MS = 3_600_000;

const liveCases: readonly { name: string; tty: boolean; env: Record<string, string>; want: boolean }[] = [
  { name: 'a terminal', tty: true, env: {}, want: true },
  { name: 'a pipe or a file', tty: false, env: {}, want: false },
  { name: 'CI=true', tty: true, env: { CI: 'true' }, want: false },
  { name: 'CI=1', tty: true, env: { CI: '1' }, want: false },
  { name: 'CI=false', tty: true, env: { CI: 'false' }, want: true },
  { name: 'KEDGE_PLAIN=1', tty: true, env: { KEDGE_PLAIN: '1' }, want: false },
  { name: 'TERM=dumb', tty: true, env: { TERM: 'dumb' }, want: false },
];
for (const c of liveCases) {
  test(`live view for ${c.name}: ${c.want}`, () => {
    assert.equal(wantsLiveView(c.tty, c.env), c.want);
  });
}

test('NO_COLOR set and not empty turns colour off (no-color.org)', () => {
  assert.equal(wantsColor({}), true);
  assert.equal(wantsColor({ NO_COLOR: '' }), true);
  assert.equal(wantsColor({ NO_COLOR: '1' }), false);
});

test('before start and after stop, text goes straight through', () => {
  const out = new FakeTerminal(80, 24);
  const live = new LiveTerminal(out, new ManualClock(), NO_TIMER_MS);
  live.print('before\n');
  live.start(() => ['block']);
  live.stop();
  live.print('after\n');
  assert.deepEqual(out.writes, ['before\n', '\x1b[?25l', 'block\n', '\r\x1b[1A\x1b[J\x1b[?25h', 'after\n']);
});

test('log lines go above the block in one write, coalesced within a turn', async (t) => {
  const out = new FakeTerminal(80, 24);
  const live = new LiveTerminal(out, new ManualClock(), NO_TIMER_MS);
  t.after(() => {
    live.stop();
  });
  live.start(() => ['head', 'svc']);
  out.writes.length = 0;
  live.print('one\n');
  live.print('two'); // a missing newline is added
  assert.deepEqual(out.writes, [], 'nothing until the turn ends');
  await nextTurn();
  assert.deepEqual(out.writes, ['\r\x1b[2A\x1b[Jone\ntwo\nhead\nsvc\n']);
});

test('the block is redrawn only when it changed', (t) => {
  const out = new FakeTerminal(80, 24);
  const clock = new ManualClock();
  const live = new LiveTerminal(out, clock, NO_TIMER_MS);
  t.after(() => {
    live.stop();
  });
  live.start((nowMs) => ['head', nowMs < 200 ? 'starting' : 'ready']);
  out.writes.length = 0;
  clock.advance(100);
  live.refresh();
  assert.deepEqual(out.writes, []);
  clock.advance(100);
  live.refresh();
  assert.deepEqual(out.writes, ['\r\x1b[2A\x1b[Jhead\nready\n']);
});

test('the frame gets the terminal size; a resize redraws at once and erases re-wrapped rows', (t) => {
  const out = new FakeTerminal(80, 24);
  const sizes: string[] = [];
  const live = new LiveTerminal(out, new ManualClock(), NO_TIMER_MS);
  t.after(() => {
    live.stop();
  });
  live.start((_now, columns, rows) => {
    sizes.push(`${columns}x${rows}`);
    return ['x'.repeat(columns - 1)];
  });
  out.writes.length = 0;
  // Narrower: the terminal re-wrapped the 79-column line into 3 rows of 30.
  out.columns = 30;
  out.emit('resize');
  assert.deepEqual(sizes, ['80x24', '30x24']);
  assert.deepEqual(out.writes, [`\r\x1b[3A\x1b[J${'x'.repeat(29)}\n`]);
});

test('stop writes pending lines, removes the block and shows the cursor', () => {
  const out = new FakeTerminal(80, 24);
  const live = new LiveTerminal(out, new ManualClock(), NO_TIMER_MS);
  live.start(() => ['head', 'svc']);
  out.writes.length = 0;
  live.print('stopped\n');
  live.stop();
  assert.deepEqual(out.writes, ['\r\x1b[2A\x1b[Jstopped\n\x1b[?25h']);
  live.refresh();
  assert.equal(out.writes.length, 1, 'no frame after stop');
});
