// The terminal side of `kedge up`'s live view: keeps a block of lines at the bottom of the screen,
// redrawn at most once per frame and only when it changed, while log lines scroll above it.
// Plain ECMA-48 sequences (cursor up, erase below, hide/show cursor); no dependency.
import type { Clock } from '../lib/clock.js';
import { visibleWidth } from './progress-view.js';

/** What the live view needs of process.stdout (a tty.WriteStream). */
export interface TerminalStream {
  readonly columns: number | undefined;
  readonly rows: number | undefined;
  write(chunk: string): boolean;
  on(event: 'resize', listener: () => void): unknown;
  off(event: 'resize', listener: () => void): unknown;
}

/** The block's lines for a time and a size; each line shorter than `columns`. */
export type FrameFn = (nowMs: number, columns: number, rows: number) => readonly string[];

const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';
const ERASE_BELOW = '\x1b[J';
const ERASE_LINE = '\x1b[2K';

/**
 * Live output only for a person at a terminal: a pipe, a file, CI logs, `TERM=dumb` and
 * `KEDGE_PLAIN=1` get the plain lines that scripts and the end-to-end tests read.
 */
export function wantsLiveView(isTTY: boolean, env: Readonly<Record<string, string | undefined>>): boolean {
  if (!isTTY) return false;
  if (env.KEDGE_PLAIN === '1') return false;
  const ci = env.CI;
  if (ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false') return false;
  return env.TERM !== 'dumb';
}

/** https://no-color.org: set and not empty turns colour off. */
export function wantsColor(env: Readonly<Record<string, string | undefined>>): boolean {
  return env.NO_COLOR === undefined || env.NO_COLOR === '';
}

export class LiveTerminal {
  /** The block as it is on screen; the cursor waits at the start of the row below it. */
  private shown: readonly string[] = [];
  /** Log text waiting to be written above the block (coalesced within one turn of the loop). */
  private pending = '';
  private flushScheduled = false;
  private frame: FrameFn | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly out: TerminalStream,
    private readonly clock: Clock,
    /** 100 ms: at most ten redraws a second, enough for a spinner and a 0.1 s clock. */
    private readonly frameMs = 100,
  ) {}

  /** Text (whole lines, ending in a newline) to scroll above the block. */
  print(text: string): void {
    if (this.frame === null || this.stopped) {
      this.out.write(text);
      return;
    }
    this.pending += text.endsWith('\n') ? text : text + '\n';
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.pending !== '' && this.frame !== null && !this.stopped) this.paint(this.shown);
    });
  }

  /** Shows the block and keeps it current until stop(). */
  start(frame: FrameFn): void {
    if (this.frame !== null || this.stopped) return;
    this.frame = frame;
    this.out.write(HIDE_CURSOR);
    this.out.on('resize', this.onResize);
    // Whatever ends the process (a second Ctrl-C, a crash), the cursor comes back.
    process.on('exit', this.onExit);
    this.refresh();
    this.timer = setInterval(() => {
      this.refresh();
    }, this.frameMs);
    this.timer.unref();
  }

  /** Redraws if the block changed (the timer calls this every frame). */
  refresh(force = false): void {
    if (this.frame === null || this.stopped) return;
    const lines = this.frame(this.clock.nowMs(), this.columns(), this.rows());
    if (!force && this.pending === '' && sameLines(lines, this.shown)) return;
    this.paint(lines);
  }

  /** Writes pending log lines, removes the block and shows the cursor again. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.out.off('resize', this.onResize);
    process.off('exit', this.onExit);
    if (this.frame === null) return;
    this.out.write(this.erase() + this.pending + SHOW_CURSOR);
    this.pending = '';
    this.shown = [];
  }

  /** One write: erase the block, the log lines, the block again (no flicker, no torn frame). */
  private paint(lines: readonly string[]): void {
    let text = this.erase() + this.pending;
    for (const line of lines) text += line + '\n';
    this.pending = '';
    this.shown = lines;
    this.out.write(text);
  }

  /**
   * Moves to the block's first row and erases to the end of the screen. After a resize the
   * terminal may have re-wrapped the block's lines (tmux, VTE, iTerm2 and Windows Terminal do), so
   * rows are counted at the current width.
   */
  private erase(): string {
    if (this.shown.length === 0) return '';
    const columns = this.columns();
    let rows = 0;
    for (const line of this.shown) rows += Math.max(1, Math.ceil(visibleWidth(line) / columns));
    // \r first: anything typed (an echoed ^C) moved the cursor right.
    return `\r\x1b[${rows}A${ERASE_BELOW}`;
  }

  private readonly onResize = (): void => {
    this.refresh(true);
  };

  private readonly onExit = (): void => {
    // No erase here: after a crash the stack trace is below the block, and the row count would
    // take the cursor into it. The block stays as the last state; pending lines go under it.
    if (this.stopped) return;
    this.stopped = true;
    this.out.write(`\r${ERASE_LINE}${this.pending}${SHOW_CURSOR}`);
    this.pending = '';
  };

  private columns(): number {
    return this.out.columns !== undefined && this.out.columns > 0 ? this.out.columns : 80;
  }

  private rows(): number {
    return this.out.rows !== undefined && this.out.rows > 0 ? this.out.rows : 24;
  }
}

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((line, i) => line === b[i]);
}
