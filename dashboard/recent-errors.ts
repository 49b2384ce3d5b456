// The last errors per service, for the dashboard: what failed, with which status and KEDGE_* code,
// and when. The gateway writes (record), the dashboard reads (recent). Pure and bounded: one ring
// per service, so a service that fails a million times holds as much as one that failed ten.

export interface RecentError {
  /** Wall-clock time, RFC 3339. */
  readonly time: string;
  readonly status: number;
  /** A KEDGE_* code for the gateway's own errors; '' for a 5xx the replica itself answered. */
  readonly code: string;
  /** The one-line reason the client got (GatewayError.message). */
  readonly message: string;
  /** `namespace/name` of the revision, or '' when the request never reached one. */
  readonly revision: string;
}

/** What the dashboard reads. `service` is `namespace/name`; '' holds errors no service owns (404). */
export interface RecentErrors {
  /** The newest `limit` errors of a service, newest first. */
  recent(service: string, limit: number): readonly RecentError[];
  /** Services with at least one kept error. */
  services(): readonly string[];
}

/** What the gateway writes. */
export interface RecentErrorSink {
  record(service: string, error: RecentError): void;
}

export const ERRORS_KEPT_PER_SERVICE = 50;
/** Bounds the number of rings too: a scan of random Host headers must not grow memory. */
export const SERVICES_KEPT = 1_000;

class Ring {
  private readonly items: (RecentError | undefined)[];
  private next = 0;
  size = 0;
  constructor(private readonly capacity: number) {
    this.items = new Array<RecentError | undefined>(capacity);
  }
  push(e: RecentError): void {
    this.items[this.next] = e;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }
  newest(limit: number): RecentError[] {
    const out: RecentError[] = [];
    for (let i = 1; i <= Math.min(limit, this.size); i++) {
      const e = this.items[(this.next - i + this.capacity) % this.capacity];
      if (e !== undefined) out.push(e);
    }
    return out;
  }
}

export class RecentErrorLog implements RecentErrors, RecentErrorSink {
  /** Insertion order = least recently written first (re-inserted on write), for eviction. */
  private readonly rings = new Map<string, Ring>();

  constructor(
    private readonly perService = ERRORS_KEPT_PER_SERVICE,
    private readonly maxServices = SERVICES_KEPT,
  ) {}

  record(service: string, error: RecentError): void {
    let ring = this.rings.get(service);
    if (ring === undefined) {
      ring = new Ring(this.perService);
      if (this.rings.size >= this.maxServices) {
        const oldest = this.rings.keys().next();
        if (oldest.done !== true) this.rings.delete(oldest.value);
      }
    } else this.rings.delete(service);
    this.rings.set(service, ring);
    ring.push(error);
  }

  recent(service: string, limit: number): readonly RecentError[] {
    return this.rings.get(service)?.newest(limit) ?? [];
  }

  services(): readonly string[] {
    return [...this.rings.keys()].sort();
  }
}
