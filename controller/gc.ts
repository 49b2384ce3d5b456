// Revision garbage collection, as Knative's configuration GC does it (pkg/reconciler/gc/gc.go),
// for one Configuration at a time. Pure: the caller passes the clock reading and the routing
// state it tracks, and deletes what comes back.
//
// Knative's steps (collect() in gc.go, v1.x), kept in order here:
// 1. Nothing to do when max-non-active-revisions and both retention times are disabled, or when
//    the Configuration has no more than min-non-active-revisions revisions in all.
// 2. Active revisions are never candidates: the latest ready one, those annotated
//    serving.knative.dev/no-gc: "true", and every revision whose routingState is not "reserve"
//    (routed, or still "pending", i.e. just created). No more than `min` non-active: done.
// 3. Oldest last-active first (routingStateModified, else the creation time), the stale ones are
//    deleted, but never more than (non-active - min). Stale: created longer ago than
//    retain-since-create-time AND last active longer ago than retain-since-last-active-time; a
//    disabled setting does not hold a revision back, but with both disabled nothing is stale.
// 4. If more than max-non-active-revisions non-stale ones remain, the oldest are deleted down to max.
import type { GcConfig } from './config/gc.js';

/** Knative's serving.knative.dev/no-gc annotation: "true" keeps a revision forever. */
export const NO_GC_ANNOTATION = 'serving.knative.dev/no-gc';

/** Knative's serving.knative.dev/routingState. */
export type RoutingState = 'active' | 'reserve' | 'pending';

export interface GcRevision {
  readonly name: string;
  readonly createdAtMs: number;
  readonly routingState: RoutingState;
  /** serving.knative.dev/routingStateModified; null when it never changed (creation time counts). */
  readonly routingStateModifiedMs: number | null;
  /** Annotated serving.knative.dev/no-gc: "true". */
  readonly noGc: boolean;
}

export interface GcConfiguration {
  /** '' when no revision has been ready yet. */
  readonly latestReadyRevisionName: string;
  /** Every revision of the Configuration, in any order. */
  readonly revisions: readonly GcRevision[];
}

/** The names to delete, oldest last-active first; empty when nothing is due. */
export function revisionsToCollect(config: GcConfig, cfg: GcConfiguration, nowMs: number): string[] {
  const min = config.minNonActiveRevisions;
  const max = config.maxNonActiveRevisions;
  if (
    max === null &&
    config.retainSinceCreateTimeMs === null &&
    config.retainSinceLastActiveTimeMs === null
  ) {
    return [];
  }
  if (cfg.revisions.length <= min) return [];
  const nonActive = cfg.revisions.filter((r) => !isActive(r, cfg.latestReadyRevisionName));
  if (nonActive.length <= min) return [];
  // Oldest first; a tie (same millisecond) goes by name, which orders generated names by age.
  nonActive.sort(
    (a, b) => lastActiveMs(a) - lastActiveMs(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );

  const doomed: string[] = [];
  const maxStale = nonActive.length - min;
  const survivors: GcRevision[] = [];
  for (const r of nonActive) {
    if (doomed.length < maxStale && isStale(config, r, nowMs)) doomed.push(r.name);
    else survivors.push(r);
  }
  if (max !== null && survivors.length > max) {
    for (const r of survivors.slice(0, survivors.length - max)) doomed.push(r.name);
  }
  return doomed;
}

function isActive(r: GcRevision, latestReady: string): boolean {
  // Knative isRevisionActive: never the latest ready one, even if the Configuration is not routed.
  return r.name === latestReady || r.noGc || r.routingState !== 'reserve';
}

function lastActiveMs(r: GcRevision): number {
  return r.routingStateModifiedMs ?? r.createdAtMs;
}

function isStale(config: GcConfig, r: GcRevision, nowMs: number): boolean {
  const sinceCreate = config.retainSinceCreateTimeMs;
  const sinceActive = config.retainSinceLastActiveTimeMs;
  if (sinceCreate === null && sinceActive === null) return false;
  if (sinceCreate !== null && nowMs - r.createdAtMs < sinceCreate) return false;
  if (sinceActive !== null && nowMs - lastActiveMs(r) < sinceActive) return false;
  return true;
}
