// A Runtime makes revisions real: processes locally, Deployments on a cluster. The autoscaler is the
// only caller of scale(); the controller calls ensure() and remove(); the gateway consumes endpoints.
import type { RevisionKey, RevisionSpec } from './state.js';

/** One ready replica the gateway may send requests to. */
export interface Endpoint {
  /** Unique for the life of the replica (a restarted replica gets a new id). */
  readonly id: string;
  readonly host: string;
  readonly port: number;
}

export interface RevisionFailure {
  /** Knative-style reason: ContainerMissing, ExitCode<N>, ProgressDeadlineExceeded, ... */
  readonly reason: string;
  /** Plain words plus the last lines of the revision's output. */
  readonly message: string;
}

export interface RevisionRuntimeStatus {
  readonly key: RevisionKey;
  /** What the runtime was last asked for. */
  readonly desiredReplicas: number;
  /** Replicas that passed readiness and are not draining. */
  readonly readyReplicas: number;
  /** Replicas started but not ready yet. */
  readonly pendingReplicas: number;
  /** True once any replica of this revision has ever been ready (Knative's Ready stays True at zero). */
  readonly everReady: boolean;
  /** Set when the revision cannot become ready; cleared when a replica becomes ready. */
  readonly failure: RevisionFailure | null;
}

export interface LogLine {
  readonly revision: RevisionKey;
  readonly replica: string;
  readonly stream: 'stdout' | 'stderr';
  /** Wall-clock time, RFC 3339. */
  readonly time: string;
  readonly line: string;
}

export interface RuntimeListener {
  /** The full ready set for a revision, every time it changes (copy-on-write: never mutated afterwards). */
  endpoints(key: RevisionKey, endpoints: readonly Endpoint[]): void;
  status(status: RevisionRuntimeStatus): void;
}

/**
 * Waits until the gateway has no request in flight on an endpoint that was already removed from
 * the ready set; the runtime calls it before it stops a replica, so scale-down never cuts a request.
 */
export type DrainEndpoint = (endpoint: Endpoint) => Promise<void>;

export interface Runtime {
  /** Registers a revision (idempotent); nothing starts until scale() asks for replicas. */
  ensure(revision: RevisionSpec): void;
  /** Sets the replica count; scale-down drains before it stops. */
  scale(key: RevisionKey, replicas: number): void;
  /** Drains and stops every replica, then forgets the revision. */
  remove(key: RevisionKey): Promise<void>;
  status(key: RevisionKey): RevisionRuntimeStatus | undefined;
  /** The most recent output lines, oldest first. */
  logs(key: RevisionKey, limit: number): readonly LogLine[];
  /** Drains and stops everything. */
  close(): Promise<void>;
}

/**
 * Whether a runtime status change can move traffic or change what status says: readiness and
 * failure decide where `latestRevision` traffic goes, so they feed reconcile; replica counts alone
 * do not.
 */
export function affectsRouting(
  before: RevisionRuntimeStatus | undefined,
  after: RevisionRuntimeStatus,
): boolean {
  return (
    before === undefined ||
    before.everReady !== after.everReady ||
    (before.failure === null) !== (after.failure === null) ||
    before.failure?.message !== after.failure?.message
  );
}
