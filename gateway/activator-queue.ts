// The activator's per-revision wait queue: a bounded FIFO built from fixed-size ring buffers, as
// undici's lib/dispatcher/fixed-queue.js, plus O(1) removal by handle (a client that disconnects
// leaves a tombstone that shift() skips). Deadlines are compared against a `nowMs` passed in. Pure.

/** A place in the queue; keep it to remove the waiter on abort. */
export interface QueueHandle<T> {
  readonly value: T;
  readonly deadlineMs: number;
  /** False once shifted, expired or removed. */
  queued: boolean;
}

// undici fixed-queue.js: 2048 slots per buffer, a power of two so the index wraps with a mask.
const BUFFER_SIZE = 2048;
const MASK = BUFFER_SIZE - 1;

class Ring<T> {
  readonly list: (QueueHandle<T> | undefined)[] = new Array<QueueHandle<T> | undefined>(BUFFER_SIZE);
  top = 0;
  bottom = 0;
  next: Ring<T> | null = null;
  isEmpty(): boolean {
    return this.top === this.bottom;
  }
  isFull(): boolean {
    return ((this.top + 1) & MASK) === this.bottom;
  }
  push(h: QueueHandle<T>): void {
    this.list[this.top] = h;
    this.top = (this.top + 1) & MASK;
  }
  /** pre: !isFull(). */
  unshift(h: QueueHandle<T>): void {
    this.bottom = (this.bottom - 1) & MASK;
    this.list[this.bottom] = h;
  }
  peek(): QueueHandle<T> | undefined {
    return this.list[this.bottom];
  }
  shift(): QueueHandle<T> | undefined {
    const h = this.list[this.bottom];
    if (h === undefined) return undefined;
    this.list[this.bottom] = undefined;
    this.bottom = (this.bottom + 1) & MASK;
    return h;
  }
}

export class ActivatorQueue<T> {
  private head = new Ring<T>();
  private tail = this.head;
  private live = 0;

  // pre: limit >= 0 (0 rejects every offer).
  constructor(readonly limit: number) {}

  /** Waiters still queued (tombstones excluded). */
  get size(): number {
    return this.live;
  }

  /** Enqueues at the tail; false when `limit` waiters are queued already (503 + Retry-After). */
  offer(value: T, deadlineMs: number): QueueHandle<T> | false {
    if (this.live >= this.limit) return false;
    const h: QueueHandle<T> = { value, deadlineMs, queued: true };
    if (this.tail.isFull()) {
      const ring = new Ring<T>();
      this.tail.next = ring;
      this.tail = ring;
    }
    this.tail.push(h);
    this.live++;
    return h;
  }

  /**
   * Puts a waiter back at the head, ahead of everyone: a request that already held a replica and
   * lost it before any byte was sent (Knative's throttler re-enqueues when a pick races). Not
   * bounded by `limit`: the request was admitted once and is only coming back, so the queue holds
   * at most `limit` plus the requests in flight. Its deadline is its original one, which may be
   * earlier than those of the waiters it overtakes, so expire() may see it up to one tick late.
   */
  offerFirst(value: T, deadlineMs: number): QueueHandle<T> {
    const h: QueueHandle<T> = { value, deadlineMs, queued: true };
    this.dropTombstones();
    if (this.head.isFull()) {
      const ring = new Ring<T>();
      ring.next = this.head;
      this.head = ring;
    }
    this.head.unshift(h);
    this.live++;
    return h;
  }

  /** Removes a waiter in O(1); true if it was still queued (so its slot is given back exactly once). */
  remove(handle: QueueHandle<T>): boolean {
    if (!handle.queued) return false;
    handle.queued = false;
    this.live--;
    if (this.live === 0) this.reset();
    return true;
  }

  /** The oldest live waiter, or undefined. */
  shift(): T | undefined {
    const h = this.shiftHandle();
    return h === undefined ? undefined : h.value;
  }

  /** The oldest live waiter without removing it. */
  peek(): T | undefined {
    this.dropTombstones();
    const h = this.head.peek();
    return h === undefined ? undefined : h.value;
  }

  /**
   * Removes waiters whose deadline is at or before `nowMs`, oldest first, and hands each to
   * `onExpired`. Deadlines of one revision grow in FIFO order (same queue timeout for all), so
   * this stops at the first live waiter still in time.
   */
  expire(nowMs: number, onExpired: (value: T) => void): number {
    let n = 0;
    for (;;) {
      this.dropTombstones();
      const h = this.head.peek();
      if (h === undefined || h.deadlineMs > nowMs) return n;
      this.shiftHandle();
      n++;
      onExpired(h.value);
    }
  }

  /** Empties the queue, oldest first (a failed revision answers every waiter at once). */
  drain(each: (value: T) => void): number {
    let n = 0;
    for (let h = this.shiftHandle(); h !== undefined; h = this.shiftHandle()) {
      n++;
      each(h.value);
    }
    return n;
  }

  private shiftHandle(): QueueHandle<T> | undefined {
    for (;;) {
      let h = this.head.shift();
      if (h === undefined) {
        if (this.head.next === null) return undefined;
        this.head = this.head.next;
        h = this.head.shift();
        if (h === undefined) return undefined;
      }
      if (h.queued) {
        h.queued = false;
        this.live--;
        return h;
      }
    }
  }

  private dropTombstones(): void {
    for (;;) {
      const h = this.head.peek();
      if (h === undefined) {
        if (this.head.next === null) return;
        this.head = this.head.next;
        continue;
      }
      if (h.queued) return;
      this.head.shift();
    }
  }

  /** With no live waiter left, tombstones are garbage: start over with one empty ring. */
  private reset(): void {
    if (this.head === this.tail && this.head.isEmpty()) return;
    this.head = new Ring<T>();
    this.tail = this.head;
  }
}
