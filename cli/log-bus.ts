// Every output line of every replica, numbered, for `kedge logs` and `kedge logs -f`. A bounded
// ring (old lines fall off), read with a cursor: a reader asks for the lines after the last
// number it saw and, when there are none yet, waits for the next one (a long poll, like the
// State stream's `?after=N`), so following needs no open stream on the admin server.
import type { LogLine } from '../controller/runtime.js';

export interface LogEntry extends LogLine {
  /** Strictly increasing from 1; the cursor. */
  readonly seq: number;
  /** The owning Service; '' when it was not known when the line arrived. */
  readonly service: string;
}

export type LogFilter = (entry: LogEntry) => boolean;

interface Waiter {
  readonly filter: LogFilter;
  readonly done: () => void;
  readonly timer: NodeJS.Timeout;
}

export const DEFAULT_LOG_CAPACITY = 20_000;

export class LogBus {
  private readonly ring: (LogEntry | undefined)[];
  private head = 0;
  private size = 0;
  private seq = 0;
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  constructor(readonly capacity = DEFAULT_LOG_CAPACITY) {
    this.ring = new Array<LogEntry | undefined>(capacity);
  }

  /** The number of the newest line (0 before any). */
  get last(): number {
    return this.seq;
  }

  push(line: LogLine, service: string): void {
    this.seq += 1;
    const entry: LogEntry = { ...line, seq: this.seq, service };
    this.ring[(this.head + this.size) % this.capacity] = entry;
    if (this.size < this.capacity) this.size += 1;
    else this.head = (this.head + 1) % this.capacity;
    for (const w of this.waiters) {
      if (w.filter(entry)) this.release(w);
    }
  }

  /** Matching lines numbered above `after`, oldest first, at most the newest `limit` of them. */
  read(filter: LogFilter, after: number, limit: number): LogEntry[] {
    const out: LogEntry[] = [];
    for (let i = this.size - 1; i >= 0 && out.length < limit; i--) {
      const entry = this.ring[(this.head + i) % this.capacity];
      if (entry === undefined || entry.seq <= after) break;
      if (filter(entry)) out.push(entry);
    }
    return out.reverse();
  }

  /** Resolves when a matching line above `after` exists, after waitMs, or on close(). */
  wait(filter: LogFilter, after: number, waitMs: number): Promise<void> {
    if (this.closed || waitMs <= 0 || this.read(filter, after, 1).length > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = {
        filter,
        done: resolve,
        timer: setTimeout(() => {
          this.release(waiter);
        }, waitMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Releases every waiting reader (kedge is stopping). */
  close(): void {
    this.closed = true;
    for (const w of this.waiters) this.release(w);
  }

  private release(w: Waiter): void {
    if (!this.waiters.delete(w)) return;
    clearTimeout(w.timer);
    w.done();
  }
}
