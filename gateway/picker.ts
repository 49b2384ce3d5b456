// Endpoint choice per revision (DESIGN.md): least in-flight of two random picks (power of two
// choices, as Knative's activator does for containerConcurrency 0), with containerConcurrency > 0
// as a hard per-replica cap. Pure: the random source is injected.

/** One replica as the picker sees it; `inFlight` is owned by reserve()/release(). */
export interface Slot {
  readonly id: string;
  inFlight: number;
  /**
   * Refused a connection: never picked until the runtime lists it again (Knative's activator
   * likewise stops sending to a pod whose probe failed, without waiting for the endpoints update).
   */
  readonly unhealthy?: boolean;
}

/** Releases a reservation; idempotent, so success, error, abort and timeout may all call it. */
export type Release = () => void;

/**
 * Picks a healthy replica with spare capacity, or null when every one is at `containerConcurrency`
 * or unhealthy (or there are none). `exclude` is skipped (a retry goes to another replica).
 * pre: containerConcurrency >= 0 (0 = unlimited); random() returns [0, 1).
 */
export function pickEndpoint<S extends Slot>(
  slots: readonly S[],
  containerConcurrency: number,
  random: () => number,
  exclude: S | null = null,
): S | null {
  const n = slots.length;
  if (n === 0) return null;
  const cap = containerConcurrency > 0 ? containerConcurrency : Infinity;
  if (n === 1) {
    const only = slots[0] as S;
    return only !== exclude && only.unhealthy !== true && only.inFlight < cap ? only : null;
  }
  const i = Math.floor(random() * n) % n;
  let j = Math.floor(random() * (n - 1)) % (n - 1);
  if (j >= i) j++;
  const a = slots[i] as S;
  const b = slots[j] as S;
  const aOk = a !== exclude && a.unhealthy !== true && a.inFlight < cap;
  const bOk = b !== exclude && b.unhealthy !== true && b.inFlight < cap;
  if (aOk && bOk) return b.inFlight < a.inFlight ? b : a;
  if (aOk) return a;
  if (bOk) return b;
  // Both samples were full or unhealthy: scan once from i so a usable replica is always found (n is small).
  for (let k = 1; k < n; k++) {
    const s = slots[(i + k) % n] as S;
    if (s !== exclude && s.unhealthy !== true && s.inFlight < cap) return s;
  }
  return null;
}

/**
 * Counts one request on `slot` and returns its idempotent release (Knative's breaker Reserve).
 * `onRelease` runs once, after the count went down (the gateway drains its queue there).
 */
export function reserve<S extends Slot>(slot: S, onRelease: (slot: S) => void): Release {
  slot.inFlight++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    slot.inFlight--;
    onRelease(slot);
  };
}

/** True when at least one replica has a free slot (a cheap check before dequeuing). */
export function hasCapacity(slots: readonly Slot[], containerConcurrency: number): boolean {
  const cap = containerConcurrency > 0 ? containerConcurrency : Infinity;
  for (const s of slots) if (s.unhealthy !== true && s.inFlight < cap) return true;
  return false;
}
