/**
 * Runs `task` once on the next turn of the event loop however many times `schedule()` is called
 * before then: a burst (a file save, several replicas becoming ready) becomes one reconcile.
 * After `stop()`, nothing runs any more.
 */
export class Coalescer {
  private scheduled = false;
  private stopped = false;

  constructor(private readonly task: () => void) {}

  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.stopped) this.task();
    });
  }

  stop(): void {
    this.stopped = true;
  }
}
