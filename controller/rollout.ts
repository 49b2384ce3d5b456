// Gradual rollout: when a configuration's latest ready revision changes, its share of a route moves
// from the older revision(s) to the new one in steps, over `serving.knative.dev/rollout-duration`
// (or config-network's `rollout-duration`), instead of all at once.
//
// The arithmetic and every number are Knative's: knative/serving pkg/reconciler/route/traffic/
// rollout.go (Step, stepConfig, adjustPercentage, stepRevisions, ObserveReady, computeProperties;
// the version that spreads only the time left after the first 1 %), driven by
// pkg/reconciler/route/route.go reconcileRollout. Pure: state in, state out; no clock
// (nowMs comes in), no timers, no I/O. The adapter reconciles again at `nextStepAtMs`.
//
// In short:
// - A rollout is kept per (tag, configuration): the default route, and each tag route whose target
//   follows the latest revision. Only latestRevision targets roll; revisions pinned by name in
//   spec.traffic never do, and a configuration share of 0 % (or 1 %) is not rolled.
// - A new latest revision starts at 1 %, taken from the newest older revision that still has
//   traffic. Once that 1 % is live, the step size and interval are fixed (computeStepParams): the
//   remaining `percent - 1` points move in equal steps, each at least 1 point, spread over the
//   duration minus the time the first 1 % took (at least 1 s).
// - Each step moves `stepSize` points to the newest revision, draining the newest older revision
//   first. With one revision left the rollout is done and its step data is cleared.
// - A newer revision arriving mid-rollout starts a new rollout from the current split: it takes
//   1 % from the previous newest, and the older revisions keep their shares until stepped away.
// - A change of the configuration's percent mid-rollout goes to the newest revision when it grows
//   and comes off the oldest revisions when it shrinks (adjustPercentage).
//
// Times are wall-clock milliseconds (Date.parse of reconcile's nowIso), not the monotonic clock
// the rest of kedge times with: the rollout is persisted in the revision history and must survive
// a restart, as Knative's survives in an Ingress annotation (Unix nanoseconds there).

export interface RevisionShare {
  readonly revisionName: string;
  /** Share of the whole route (not of the configuration's share), 0..100. */
  readonly percent: number;
}

/** Timing of one configuration's rollout; 0 means "not set", as Knative's omitempty fields. */
export interface StepParams {
  /** When the rollout started (the 1 % went live). */
  readonly startAtMs: number;
  /** When the next step is due. */
  readonly nextStepAtMs: number;
  readonly stepDurationMs: number;
  /** Points moved per step. */
  readonly stepSize: number;
}

export const NO_STEP: StepParams = Object.freeze({
  startAtMs: 0,
  nextStepAtMs: 0,
  stepDurationMs: 0,
  stepSize: 0,
});

export interface ConfigurationRollout {
  readonly configurationName: string;
  /** '' for the default route. */
  readonly tag: string;
  /** The configuration's share of the route; the revisions' percents sum to it. */
  readonly percent: number;
  /** Oldest first; the last one is the one rolling in. One entry: nothing in progress. */
  readonly revisions: readonly RevisionShare[];
  readonly step: StepParams;
}

export interface Rollout {
  /** Sorted by tag, then configuration name. */
  readonly configurations: readonly ConfigurationRollout[];
}

export const EMPTY_ROLLOUT: Rollout = Object.freeze({ configurations: Object.freeze([]) });

/** A latestRevision traffic target as resolved now, before any rollout is applied. */
export interface ConfigurationTarget {
  readonly configurationName: string;
  readonly tag: string;
  /** Sum of the configuration's latestRevision shares on that route (a tag route: 100). */
  readonly percent: number;
  /** The configuration's latest ready revision. */
  readonly revisionName: string;
}

export interface RolloutInput {
  /** What the previous reconcile decided; null when there is none (first run, or discarded). */
  readonly previous: Rollout | null;
  /** Where traffic should end up (Knative BuildRollout). */
  readonly goal: readonly ConfigurationTarget[];
  /** 0 or less: no gradual rollout, traffic follows the goal at once. */
  readonly durationMs: number;
  /** Wall clock, ms since the epoch. */
  readonly nowMs: number;
}

export interface RolloutResult {
  /** The split to serve now; also the `previous` of the next call. */
  readonly rollout: Rollout;
  /** When to call again for the next step; null when nothing is scheduled. */
  readonly nextStepAtMs: number | null;
}

/** Knative Config.BuildRollout: one entry per (tag, configuration) with traffic, at its goal. */
export function goalRollout(targets: readonly ConfigurationTarget[]): Rollout {
  const configurations = targets
    // A configuration with 0 % on the default route is not rolled (buildRolloutForTag).
    .filter((t) => t.percent > 0)
    .map((t): ConfigurationRollout => ({
      configurationName: t.configurationName,
      tag: t.tag,
      percent: t.percent,
      revisions: [{ revisionName: t.revisionName, percent: t.percent }],
      step: NO_STEP,
    }));
  return { configurations: sortConfigurations(configurations) };
}

/**
 * Knative Rollout.Validate, plus the checks a decoder needs: a rollout that fails is discarded
 * (treated as no previous state), never repaired.
 */
export function isValidRollout(r: Rollout): boolean {
  const whole = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
  return r.configurations.every((c) => {
    if (!whole(c.percent) || c.percent > 100) return false;
    if (!whole(c.step.stepSize) || c.step.stepSize > c.percent) return false;
    const times = [c.step.startAtMs, c.step.nextStepAtMs, c.step.stepDurationMs];
    if (!times.every((t) => Number.isFinite(t) && t >= 0)) return false;
    let sum = 0;
    for (const rev of c.revisions) {
      if (!whole(rev.percent)) return false;
      sum += rev.percent;
    }
    return sum === c.percent;
  });
}

/** Knative ConfigurationRollout.done: zero or one revision means no rollout is going on. */
export function isConfigurationDone(c: ConfigurationRollout): boolean {
  return c.revisions.length < 2;
}

export function isRolloutDone(r: Rollout): boolean {
  return r.configurations.every(isConfigurationDone);
}

/** The rollout of one configuration on one route, if there is one. */
export function configurationRollout(
  r: Rollout,
  tag: string,
  configurationName: string,
): ConfigurationRollout | undefined {
  return r.configurations.find((c) => c.tag === tag && c.configurationName === configurationName);
}

/**
 * One reconcile's worth of rollout: Knative's reconcileRollout. With no duration the goal is
 * served as is (and kept, so that a duration set later rolls from it, as Knative keeps its
 * baseline annotation).
 */
export function advanceRollout(input: RolloutInput): RolloutResult {
  const goal = goalRollout(input.goal);
  if (input.durationMs <= 0) return { rollout: goal, nextStepAtMs: null };
  const previous =
    input.previous !== null && isValidRollout(input.previous)
      ? clampToClock(input.previous, input.nowMs)
      : null;
  const stepped = stepRollout(goal, previous, input.nowMs);
  // kedge publishes the new split in the same reconcile (local mode applies it synchronously, a
  // cluster's gateways long-poll it), so the 1 % is taken as live at once: Knative calls
  // ObserveReady when its Ingress reports ready, which for a fast ingress is the same moment.
  const rollout = observeReady(stepped, input.nowMs, input.durationMs);
  let next: number | null = null;
  for (const c of rollout.configurations) {
    const at = c.step.nextStepAtMs;
    if (at > 0 && (next === null || at < next)) next = at;
  }
  return { rollout, nextStepAtMs: next };
}

/**
 * A wall clock that went back would put the next step far in the future; a step is never more than
 * one step duration away. (Forward jumps are harmless: at most one step is taken per call.)
 */
function clampToClock(r: Rollout, nowMs: number): Rollout {
  return mapConfigurations(r, (c) => {
    const latest = nowMs + c.step.stepDurationMs;
    if (c.step.stepDurationMs === 0 || c.step.nextStepAtMs <= latest) return c;
    return { ...c, step: { ...c.step, nextStepAtMs: latest } };
  });
}

/** `r` itself when `f` changes no configuration, so unchanged input stays the same object. */
function mapConfigurations(r: Rollout, f: (c: ConfigurationRollout) => ConfigurationRollout): Rollout {
  const configurations = r.configurations.map(f);
  return configurations.every((c, i) => c === r.configurations[i]) ? r : { configurations };
}

/**
 * Knative Rollout.Step: merges the goal with the previous state, per tag and configuration.
 * Returns the goal itself when there is no previous state.
 */
export function stepRollout(goal: Rollout, prev: Rollout | null, nowMs: number): Rollout {
  if (prev === null || prev.configurations.length === 0) return goal;
  const prevByTag = groupByTag(prev.configurations);
  const out: ConfigurationRollout[] = [];
  for (const [tag, current] of groupByTag(goal.configurations)) {
    const previous = prevByTag.get(tag);
    if (previous === undefined) {
      // A new tag: nothing to roll from (Knative keeps only the first configuration of a new tag;
      // a kedge Service has one configuration, so that is all of them).
      out.push(...current);
      continue;
    }
    // An intersection of two lists sorted by configuration name.
    let j = 0;
    for (const cur of current) {
      while (j < previous.length && (previous[j]?.configurationName ?? '') < cur.configurationName) j++;
      const match = previous[j];
      if (match === undefined) {
        // Past the previous list: added by this update, its goal as is.
        out.push(cur);
        continue;
      }
      if (match.configurationName !== cur.configurationName) {
        // Added by this update too: no rollout for it, its goal if it gets traffic.
        if (cur.percent !== 0) out.push(cur);
        continue;
      }
      j++;
      // 0 %: not rolled at all. 1 %: a common A/B share, nothing to step; the goal as is.
      if (cur.percent > 1) out.push(stepConfiguration(cur, match, nowMs));
      else if (cur.percent === 1) out.push(cur);
    }
  }
  return { configurations: sortConfigurations(out) };
}

/**
 * Knative stepConfig: the previous split of one configuration, carried to the goal's percent and
 * stepped if a step is due; or a new rollout when the goal names a revision that is not the
 * previous newest.
 * pre: goal.revisions has exactly one entry (goalRollout builds it so).
 */
export function stepConfiguration(
  goal: ConfigurationRollout,
  prev: ConfigurationRollout,
  nowMs: number,
): ConfigurationRollout {
  const target = goal.revisions[0];
  // Timing is reset unless the previous rollout continues (set again below).
  const fresh: ConfigurationRollout = { ...goal, step: NO_STEP };
  if (target === undefined) return fresh;
  const revisions = prev.revisions.length > 0 ? adjustPercentage(goal.percent, prev.revisions) : [];
  // The newest after adjustment: Knative indexes the list by its length before adjustPercentage,
  // which is past the end when a lower percent emptied an old revision. The newest revision itself
  // is never emptied (the goal is above 0 here), so this is the revision Knative means.
  const newest = revisions.at(-1);
  if (newest === undefined || newest.revisionName === target.revisionName) {
    // No new revision. With two or more revisions a rollout is under way: keep its timing and step
    // if due (before its step data is known, i.e. before observeReady, nothing moves).
    if (revisions.length < 2) return fresh;
    const continued: ConfigurationRollout = { ...fresh, revisions, step: prev.step };
    return continued.step.stepSize > 0 ? stepRevisions(continued, nowMs) : continued;
  }
  // A new revision: take 1 % from the newest revision that still has traffic (the newest older
  // revision drains first), drop emptied entries, and append the new one at 1 %.
  const taken = [...revisions];
  for (let i = taken.length - 1; i >= 0; i--) {
    const r = taken[i];
    if (r !== undefined && r.percent > 0) {
      taken[i] = { ...r, percent: r.percent - 1 };
      break;
    }
  }
  return {
    ...fresh,
    revisions: [...taken.filter((r) => r.percent > 0), { revisionName: target.revisionName, percent: 1 }],
    step: { ...NO_STEP, startAtMs: nowMs },
  };
}

/**
 * Knative adjustPercentage: the previous split carried to a new configuration percent. More goes
 * to the newest revision; less comes off the oldest ones first (emptied ones are dropped); 0 %
 * leaves nothing.
 * pre: `revisions` sums to the previous percent.
 */
export function adjustPercentage(
  goal: number,
  revisions: readonly RevisionShare[],
): readonly RevisionShare[] {
  if (goal === 0) return [];
  let total = 0;
  for (const r of revisions) total += r.percent;
  const diff = goal - total;
  if (diff === 0) return revisions;
  if (diff > 0) {
    const last = revisions.at(-1);
    if (last === undefined) return revisions;
    return [...revisions.slice(0, -1), { ...last, percent: last.percent + diff }];
  }
  let remove = -diff;
  const out = [...revisions];
  let i = 0;
  while (remove > 0 && i < out.length) {
    const r = out[i];
    if (r === undefined) break;
    if (r.percent > remove) {
      out[i] = { ...r, percent: r.percent - remove };
      break;
    }
    remove -= r.percent;
    i++;
  }
  return out.slice(i);
}

/**
 * Knative stepRevisions: if a step is due, move `stepSize` points from the older revisions (newest
 * older first) to the newest; emptied revisions leave. The newest is capped at the configuration's
 * percent, which matters when that percent shrank below the step size. With one revision left the
 * rollout is done and its step data cleared; otherwise the next step is one interval from now.
 */
export function stepRevisions(c: ConfigurationRollout, nowMs: number): ConfigurationRollout {
  if (nowMs < c.step.nextStepAtMs || c.revisions.length < 2) return c;
  const older = c.revisions.slice(0, -1).map((r) => ({ ...r }));
  const newest = c.revisions.at(-1);
  if (newest === undefined) return c;
  let remaining = c.step.stepSize;
  let keep = older.length;
  for (let i = older.length - 1; i >= 0 && remaining > 0; i--) {
    const r = older[i];
    if (r === undefined) break;
    if (r.percent > remaining) {
      r.percent -= remaining;
      break;
    }
    remaining -= r.percent;
    keep = i;
  }
  // Worked example (Knative's note): was R1=40 R2=10, step 10, percent now 15. adjustPercentage
  // leaves R1=5 R2=10; the step empties R1 with 5 still to move, and R2 = 10+10 is capped at 15.
  const grown = { ...newest, percent: Math.min(newest.percent + c.step.stepSize, c.percent) };
  const revisions = [...older.slice(0, keep), grown];
  if (revisions.length < 2) return { ...c, revisions, step: NO_STEP };
  return { ...c, revisions, step: { ...c.step, nextStepAtMs: nowMs + c.step.stepDurationMs } };
}

/**
 * Knative Rollout.ObserveReady: every rollout that started but has no step data yet gets it, the
 * first 1 % having taken `now - start` (at least 1 s, rounded up to whole seconds).
 */
export function observeReady(r: Rollout, nowMs: number, durationMs: number): Rollout {
  return mapConfigurations(r, (c) => {
    if (c.step.stepDurationMs !== 0 || c.step.startAtMs <= 0 || c.percent <= 1) return c;
    const minStepMs = Math.max(1000, Math.ceil((nowMs - c.step.startAtMs) / 1000) * 1000);
    return { ...c, step: computeStepParams(c.percent, c.step.startAtMs, nowMs, minStepMs, durationMs) };
  });
}

/**
 * Knative computeProperties: step size and interval, fixed once per rollout.
 * pre: percent >= 2; minStepMs >= 1000; durationMs > 0.
 *
 * The first 1 % already took minStep, so the rest of the duration is `duration - minStep` (at
 * least 1 s). It is cut into steps of at least minStep each, and at most `percent - 1` steps
 * (a step moves at least 1 point). The step size is rounded, not floored: 99 points in 4 steps
 * are 25s (1 → 26 → 51 → 76 → 100), where flooring 24.75 would need a fifth step.
 * Example: 120 s at 100 % with minStep 1 s → 119 s over min(119, 99) = 99 steps of 1 point,
 * one every 1.202 s. 6 s → 5 steps of 20 points, one a second: 1, 21, 41, 61, 81, 100 %.
 */
export function computeStepParams(
  percent: number,
  startAtMs: number,
  nowMs: number,
  minStepMs: number,
  durationMs: number,
): StepParams {
  const minStepS = minStepMs / 1000;
  const restS = Math.max(1, durationMs / 1000 - minStepS);
  const remaining = percent - 1;
  const steps = Math.min(Math.max(1, restS / minStepS), remaining);
  const stepDurationMs = Math.floor((restS / steps) * 1000);
  return {
    startAtMs,
    nextStepAtMs: nowMs + stepDurationMs,
    stepDurationMs,
    stepSize: Math.round(remaining / steps),
  };
}

function groupByTag(configurations: readonly ConfigurationRollout[]): Map<string, ConfigurationRollout[]> {
  const byTag = new Map<string, ConfigurationRollout[]>();
  for (const c of configurations) {
    const list = byTag.get(c.tag) ?? [];
    list.push(c);
    byTag.set(c.tag, list);
  }
  return byTag;
}

/** By tag, then configuration name (Knative sortRollout), so equal rollouts encode equally. */
function sortConfigurations(list: readonly ConfigurationRollout[]): readonly ConfigurationRollout[] {
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...list].sort((a, b) => cmp(a.tag, b.tag) || cmp(a.configurationName, b.configurationName));
}
