// Per-revision state the gateway core keeps between requests: the revision's settings, one slot
// per ready replica (its in-flight count, health and idle waiters), the revision's activator queue
// and its counters. GatewayCore owns and mutates it; an Exchange holds its revision and slot.
import type { Endpoint, RevisionFailure } from '../controller/runtime.js';
import type { RevisionKey } from '../controller/state.js';
import { ActivatorQueue } from './activator-queue.js';
import type { Exchange } from './exchange.js';
import type { GatewayMetrics, RevisionCounters } from './metrics.js';
import type { Slot } from './picker.js';
import type { RevisionSettings } from './route-table.js';

export class EndpointSlot implements Slot {
  inFlight = 0;
  /** Left the ready set; forgotten once idle. */
  removed = false;
  /** Refused a connection: not picked until setEndpoints() lists it again. */
  unhealthy = false;
  idleWaiters: (() => void)[] | null = null;
  constructor(
    readonly endpoint: Endpoint,
    readonly runtime: RevisionRuntime,
  ) {}
  get id(): string {
    return this.endpoint.id;
  }
}

const NO_SLOTS: readonly EndpointSlot[] = Object.freeze([]);

export class RevisionRuntime {
  slots: readonly EndpointSlot[] = NO_SLOTS;
  readonly queue: ActivatorQueue<Exchange>;
  /** Requests holding a replica reservation (queued ones are in `queue`). */
  inFlight = 0;
  failure: RevisionFailure | null = null;
  /** The autoscaler was poked for the current cold start; reset when endpoints appear. */
  poked = false;
  draining = false;
  drainAgain = false;
  counters: RevisionCounters;
  constructor(
    public settings: RevisionSettings,
    queueLimit: number,
    metrics: GatewayMetrics,
  ) {
    this.queue = new ActivatorQueue<Exchange>(queueLimit);
    this.counters = metrics.forRevision(settings.namespace, settings.name);
  }
  get key(): RevisionKey {
    return this.settings.key;
  }
  /** A release or new endpoints arrived while dispatchQueued() was looping. */
  anotherPass(): boolean {
    return this.drainAgain;
  }
}
