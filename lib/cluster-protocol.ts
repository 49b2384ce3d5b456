// Cluster mode: what the three Deployments say to each other over HTTP (DESIGN.md "Processes").
// Only the controller and the autoscaler hold cluster credentials; gateways learn everything
// from the controller's snapshots and report to the autoscaler.
//
//   controller  GET  /v1/snapshot?after=N[&timeoutSeconds=30]
//               200 ClusterSnapshot when its version > N (at once if it already is), else, after the
//               timeout, 304 with no body (go-control-plane style long-poll: answered only on change).
//               Full snapshots, never deltas; a gateway keeps serving the last one it has while the
//               controller is away.
//   autoscaler  POST /v1/stats   StatsReport   -> 204
//               POST /v1/poke    PokeRequest   -> 204  (sent at once, on the request path, on a cold start)
import type { Endpoint, RevisionFailure } from '../controller/runtime.js';
import type { RevisionKey, State } from '../controller/state.js';
import type { RevisionStat } from './stats.js';

export const SNAPSHOT_PATH = '/v1/snapshot';
export const STATS_PATH = '/v1/stats';
export const POKE_PATH = '/v1/poke';

/** Default ports inside the cluster (admin: health, metrics; not user traffic). */
export const CONTROLLER_SNAPSHOT_PORT = 8081;
export const AUTOSCALER_STATS_PORT = 8082;

export interface ClusterSnapshot {
  /** Increases on any change of state, endpoints, draining or failures. */
  readonly version: number;
  readonly state: State;
  /** Ready pods per revision, as the controller sees them (pod IP + container port). */
  readonly endpoints: Readonly<Record<RevisionKey, readonly Endpoint[]>>;
  /**
   * Endpoint ids chosen for removal by the autoscaler: gateways stop sending new requests to
   * them, and report their in-flight count until it reaches 0 (then the pod may be deleted).
   */
  readonly draining: readonly string[];
  readonly failures: Readonly<Record<RevisionKey, RevisionFailure>>;
}

export interface StatsReport {
  /** The reporting gateway (its pod name); reports from several gateways in one second are summed. */
  readonly source: string;
  readonly stats: readonly RevisionStat[];
  /** In-flight requests per endpoint id, for every endpoint with any (and every draining one). */
  readonly inFlight: Readonly<Record<string, number>>;
}

export interface PokeRequest {
  readonly source: string;
  readonly revision: RevisionKey;
}
