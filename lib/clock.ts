/** Monotonic time source. Pure code takes `nowMs` as a parameter; loops take a Clock so tests can fake it. */
export interface Clock {
  nowMs(): number;
}

/** performance.now() is monotonic: wall-clock jumps (NTP, suspend) must never look like a stable window passing. */
export const systemClock: Clock = { nowMs: () => performance.now() };

/** A clock that only moves when told to; for tests of loops and timeouts. */
export class ManualClock implements Clock {
  constructor(private current = 0) {}
  nowMs(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(ms: number): void {
    this.current = ms;
  }
}
