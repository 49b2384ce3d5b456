// The adapter around ProbeTracker: one timer for all pending probes, TCP connects with a 300 ms
// timeout (Knative activator PROBE_TIMEOUT), retried every 100 ms (Knative PROBE_FREQUENCY is
// 200 ms; a kedge replica starts in tens of ms, so a shorter period saves cold-start time).
import { connect } from 'node:net';
import type { Endpoint } from '../controller/runtime.js';
import type { RevisionKey } from '../controller/state.js';
import type { Clock } from '../lib/clock.js';
import { ProbeTracker } from './cluster-probes.js';

export const DEFAULT_PROBE_INTERVAL_MS = 100;
export const DEFAULT_PROBE_TIMEOUT_MS = 300;

export type ProbeFn = (endpoint: Endpoint, timeoutMs: number) => Promise<boolean>;

/** True once a TCP connection to the endpoint is accepted within `timeoutMs`. */
export const tcpProbe: ProbeFn = (endpoint, timeoutMs) =>
  new Promise((resolve) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port });
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => {
      finish(false);
    }, timeoutMs);
    socket.once('connect', () => {
      finish(true);
    });
    socket.once('error', () => {
      finish(false);
    });
  });

export interface ProberOptions {
  readonly clock: Clock;
  /** The routable list of a revision changed (copy-on-write array). */
  readonly onRoutable: (revision: RevisionKey, endpoints: readonly Endpoint[]) => void;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  readonly probe?: ProbeFn;
}

export class EndpointProber {
  private readonly tracker: ProbeTracker;
  private readonly timeoutMs: number;
  private readonly probe: ProbeFn;
  private timer: NodeJS.Timeout | null = null;
  private timerDueMs = Infinity;
  private closed = false;

  constructor(private readonly options: ProberOptions) {
    this.tracker = new ProbeTracker(options.intervalMs ?? DEFAULT_PROBE_INTERVAL_MS);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    this.probe = options.probe ?? tcpProbe;
  }

  /** The controller's ready list for one revision (an empty list: scaled to zero or gone). */
  set(revision: RevisionKey, endpoints: readonly Endpoint[]): void {
    if (this.closed) return;
    if (this.tracker.set(revision, endpoints, this.options.clock.nowMs())) {
      this.options.onRoutable(revision, this.tracker.routable(revision));
    }
    this.run();
  }

  /** Revisions that currently have listed endpoints. */
  revisions(): RevisionKey[] {
    return [...this.tracker.revisions()];
  }

  routable(revision: RevisionKey): readonly Endpoint[] {
    return this.tracker.routable(revision);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private run(): void {
    if (this.closed) return;
    const nowMs = this.options.clock.nowMs();
    for (const ep of this.tracker.due(nowMs)) {
      this.probe(ep, this.timeoutMs).then(
        (ok) => {
          this.done(ep, ok, nowMs);
        },
        () => {
          this.done(ep, false, nowMs);
        },
      );
    }
    this.schedule();
  }

  private done(ep: Endpoint, ok: boolean, startedMs: number): void {
    if (this.closed) return;
    const revision = this.tracker.result(ep, ok, startedMs);
    if (revision !== null) this.options.onRoutable(revision, this.tracker.routable(revision));
    this.schedule();
  }

  /** One timer, set for the earliest due probe. */
  private schedule(): void {
    const due = this.tracker.nextDueMs();
    if (due === null) {
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      this.timerDueMs = Infinity;
      return;
    }
    if (this.timer !== null && this.timerDueMs <= due) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerDueMs = due;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerDueMs = Infinity;
        this.run();
      },
      Math.max(0, due - this.options.clock.nowMs()),
    );
    this.timer.unref();
  }
}
