// Which of the controller's endpoints a gateway may route to. Kubernetes readiness lags (the
// kubelet probes every few seconds, then the endpoints reach the controller, then the snapshot
// reaches us), so, like Knative's activator (revision_backends.go: 200 ms period, 300 ms timeout),
// the gateway probes a new pod itself and routes to it as soon as it answers; once healthy it
// stays healthy until the controller drops it. Pure: time comes in as `nowMs`, the probing
// itself is the adapter's (cluster-prober.ts).
import type { Endpoint } from '../controller/runtime.js';
import type { RevisionKey } from '../controller/state.js';

interface Tracked {
  readonly endpoint: Endpoint;
  readonly revision: RevisionKey;
  healthy: boolean;
  /** A probe is running; its result is awaited before the next one. */
  probing: boolean;
  nextProbeMs: number;
}

const NONE: readonly Endpoint[] = Object.freeze([]);

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.id === b.id && a.host === b.host && a.port === b.port;
}

export class ProbeTracker {
  private readonly byId = new Map<string, Tracked>();
  /** The controller's list per revision, in its order. */
  private readonly listed = new Map<RevisionKey, readonly Endpoint[]>();
  /** What the gateway routes to per revision (healthy, in the controller's order). */
  private readonly routed = new Map<RevisionKey, readonly Endpoint[]>();

  constructor(private readonly intervalMs: number) {}

  /**
   * The controller's ready list for a revision. New endpoints are probed at once, gone ones are
   * forgotten. Returns true when the routable list changed (a removal takes effect at once).
   */
  set(revision: RevisionKey, endpoints: readonly Endpoint[], nowMs: number): boolean {
    const before = this.listed.get(revision) ?? NONE;
    const keep = new Set<string>();
    for (const ep of endpoints) {
      keep.add(ep.id);
      const t = this.byId.get(ep.id);
      // An id that moves (another address, another revision) is a new replica as far as we know.
      if (t !== undefined && t.revision === revision && sameEndpoint(t.endpoint, ep)) continue;
      this.byId.set(ep.id, { endpoint: ep, revision, healthy: false, probing: false, nextProbeMs: nowMs });
    }
    for (const ep of before) {
      const t = this.byId.get(ep.id);
      if (!keep.has(ep.id) && t?.revision === revision) this.byId.delete(ep.id);
    }
    if (endpoints.length === 0) this.listed.delete(revision);
    else this.listed.set(revision, endpoints);
    return this.refresh(revision);
  }

  /** Revisions the controller lists endpoints for. */
  revisions(): IterableIterator<RevisionKey> {
    return this.listed.keys();
  }

  /** Endpoints due for a probe at `nowMs`; they are marked as probing until result() is called. */
  due(nowMs: number): Endpoint[] {
    const out: Endpoint[] = [];
    for (const t of this.byId.values()) {
      if (t.healthy || t.probing || t.nextProbeMs > nowMs) continue;
      t.probing = true;
      out.push(t.endpoint);
    }
    return out;
  }

  /** When the next probe is due; null when every endpoint is healthy or probing. */
  nextDueMs(): number | null {
    let next: number | null = null;
    for (const t of this.byId.values()) {
      if (t.healthy || t.probing) continue;
      if (next === null || t.nextProbeMs < next) next = t.nextProbeMs;
    }
    return next;
  }

  /**
   * A probe finished. Healthy: routed from now on; returns its revision if the routable list
   * changed. Failed: probed again `intervalMs` after it *started* failing, not after the timeout.
   */
  result(endpoint: Endpoint, ok: boolean, startedMs: number): RevisionKey | null {
    const t = this.byId.get(endpoint.id);
    if (t?.probing !== true || !sameEndpoint(t.endpoint, endpoint)) return null; // forgotten meanwhile
    t.probing = false;
    if (!ok) {
      t.nextProbeMs = startedMs + this.intervalMs;
      return null;
    }
    t.healthy = true;
    return this.refresh(t.revision) ? t.revision : null;
  }

  /** The endpoints to route to, in the controller's order (copy-on-write: never mutated). */
  routable(revision: RevisionKey): readonly Endpoint[] {
    return this.routed.get(revision) ?? NONE;
  }

  private refresh(revision: RevisionKey): boolean {
    const listed = this.listed.get(revision) ?? NONE;
    const next = listed.filter((ep) => this.byId.get(ep.id)?.healthy === true);
    const prev = this.routed.get(revision) ?? NONE;
    if (
      next.length === prev.length &&
      next.every((ep, i) => {
        const old = prev[i];
        return old !== undefined && sameEndpoint(ep, old);
      })
    )
      return false;
    if (next.length === 0) this.routed.delete(revision);
    else this.routed.set(revision, Object.freeze(next));
    return true;
  }
}
