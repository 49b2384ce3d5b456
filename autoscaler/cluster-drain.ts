// Coordinated scale-down in cluster mode, the pure part: which pods to remove, and when every
// gateway has let go of them. Time comes in as `nowMs`; the Kubernetes calls are the
// adapter's (cluster-scaler.ts).
//
// The protocol (lib/cluster-protocol.ts): the autoscaler annotates the chosen pods
// `kedge.dev/draining: "true"`; the controller drops them from the snapshot's endpoints and lists
// them in `draining`; each gateway stops sending them new requests and reports their in-flight
// count (present in its report, 0 once idle). When every gateway that reported lately has said 0
// (or the revision's timeout has passed), the pods get `controller.kubernetes.io/pod-deletion-cost:
// "-1000"` and the scale goes down, so the ReplicaSet removes exactly these.
import type { Endpoint } from '../controller/runtime.js';
import type { StatsReport } from '../lib/cluster-protocol.js';

export const DRAINING_ANNOTATION = 'kedge.dev/draining';
/** Kubernetes ≥ 1.22: the ReplicaSet deletes pods with the lowest cost first (among equally ready ones). */
export const DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';
export const DELETION_COST_VALUE = '-1000';
/** Knative's label on a revision's pods. */
export const REVISION_LABEL = 'serving.knative.dev/revision';

/** A gateway is "present" if it reported within this long (three 1 s reports). */
export const GATEWAY_FRESH_MS = 3_000;
/** Time for the annotation to reach the controller, its snapshot the gateways, and their report us. */
export const DRAIN_PROPAGATION_MS = 3_000;

/** What the scaler needs of a Pod. */
export interface PodView {
  readonly name: string;
  readonly uid: string;
  readonly ip: string | null;
  readonly scheduled: boolean;
  /** status.phase: Pending, Running, Succeeded, Failed, Unknown. */
  readonly phase: string;
  /** The Ready condition is True. */
  readonly ready: boolean;
  /** metadata.deletionTimestamp is set: already on its way out, not ours to choose. */
  readonly terminating: boolean;
  readonly draining: boolean;
  readonly deletionCost: boolean;
  /** Wall-clock creation time in ms (tie-break only). */
  readonly createdMs: number;
}

export interface GatewayReport {
  readonly receivedAtMs: number;
  readonly inFlight: StatsReport['inFlight'];
}

/**
 * The ids a gateway may report a pod under: the snapshot endpoint at the pod's IP (what the
 * controller calls it), else its name and uid. `routed` says whether a gateway may have sent it
 * requests, i.e. it was in the snapshot's endpoints.
 */
export function endpointIdsOf(
  pod: PodView,
  endpoints: readonly Endpoint[],
): { ids: readonly string[]; routed: boolean } {
  const ids = new Set<string>();
  let routed = false;
  if (pod.ip !== null) {
    for (const ep of endpoints) {
      if (ep.host === pod.ip) {
        ids.add(ep.id);
        routed = true;
      }
    }
  }
  ids.add(pod.name);
  if (pod.uid !== '') ids.add(pod.uid);
  return { ids: [...ids], routed };
}

/** Requests in flight on a pod, summed over the gateways that reported lately. */
export function podLoad(
  ids: readonly string[],
  reports: ReadonlyMap<string, GatewayReport>,
  nowMs: number,
  freshMs: number = GATEWAY_FRESH_MS,
): number {
  let total = 0;
  for (const r of reports.values()) {
    if (r.receivedAtMs < nowMs - freshMs) continue;
    let most = 0;
    for (const id of ids) most = Math.max(most, r.inFlight[id] ?? 0);
    total += most;
  }
  return total;
}

function phaseRank(phase: string): number {
  // Kubernetes controller_utils ActivePods: Pending < Unknown < Running.
  if (phase === 'Pending') return 0;
  if (phase === 'Unknown') return 1;
  return 2;
}

/**
 * The `count` pods to remove, ranked the way the ReplicaSet ranks them for deletion
 * (kubernetes pkg/controller/controller_utils.go ActivePods.Less): unscheduled, then pending, then
 * not ready first (the ReplicaSet deletes those before it looks at deletion cost, so choosing
 * anything else would not be honoured); then the fewest requests in flight; then the newest.
 * Terminating pods are not candidates. pre: count >= 0.
 */
export function chooseVictims(
  pods: readonly PodView[],
  count: number,
  load: (pod: PodView) => number,
): PodView[] {
  const candidates = pods.filter((p) => !p.terminating);
  const loads = new Map(candidates.map((p) => [p.name, load(p)]));
  candidates.sort(
    (a, b) =>
      Number(a.scheduled) - Number(b.scheduled) ||
      phaseRank(a.phase) - phaseRank(b.phase) ||
      Number(a.ready) - Number(b.ready) ||
      (loads.get(a.name) ?? 0) - (loads.get(b.name) ?? 0) ||
      b.createdMs - a.createdMs ||
      a.name.localeCompare(b.name),
  );
  return candidates.slice(0, Math.max(0, count));
}

export interface DrainingPod {
  readonly name: string;
  readonly ids: readonly string[];
  readonly routed: boolean;
  /** When the draining annotation was written. */
  readonly startedMs: number;
}

export type DrainProgress = 'waiting' | 'drained' | 'timeout';

/**
 * Whether every gateway has let go of a pod. A gateway counts when it reported within `freshMs`;
 * only a report received after the annotation proves anything. For a pod that was routed, the
 * report must also list one of its ids (a gateway lists every draining endpoint it knows, so that
 * is its acknowledgement of the draining snapshot) with 0 requests; a pod that was never routed
 * only needs no gateway to report requests on it. `deadlineMs` (the revision's timeoutSeconds plus
 * propagation) bounds the wait: past it the pod goes anyway, as Knative's drain does.
 */
export function drainProgress(
  pod: DrainingPod,
  reports: ReadonlyMap<string, GatewayReport>,
  nowMs: number,
  deadlineMs: number,
  freshMs: number = GATEWAY_FRESH_MS,
): DrainProgress {
  for (const r of reports.values()) {
    if (r.receivedAtMs < nowMs - freshMs) continue;
    if (r.receivedAtMs <= pod.startedMs) return nowMs - pod.startedMs >= deadlineMs ? 'timeout' : 'waiting';
    let seen = false;
    let busy = false;
    for (const id of pod.ids) {
      const n = r.inFlight[id];
      if (n === undefined) continue;
      seen = true;
      if (n > 0) busy = true;
    }
    if (busy || (pod.routed && !seen)) {
      return nowMs - pod.startedMs >= deadlineMs ? 'timeout' : 'waiting';
    }
  }
  return 'drained';
}
