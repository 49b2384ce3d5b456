// Holds the current snapshot; readers take `current` once per request and use it to the end, the
// writer builds the next one off the hot path and swaps one reference (traefik/Envoy style).
export class SnapshotStore<T extends { readonly version: number }> {
  constructor(private snapshot: T) {}

  get current(): T {
    return this.snapshot;
  }

  /** Swaps in `next`; false (and no swap) when it carries the version already held. */
  swap(next: T): boolean {
    if (next.version === this.snapshot.version) return false;
    this.snapshot = next;
    return true;
  }
}
