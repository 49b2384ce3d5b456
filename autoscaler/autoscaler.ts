// The autoscaler loop: State snapshots in, stats and cold-start pokes in, Runtime.scale out.
// It owns the ticker, the metric windows, Prometheus gauges and logs; every decision is made by
// the pure cores (kpa.ts decide, scaler.ts applyScaleRules) with time passed in.
import { Gauge, type Registry } from 'prom-client';
import { routedRevisions, type RevisionKey, type RevisionSpec, type State } from '../controller/state.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { RevisionStat, StatsSink } from '../lib/stats.js';
import {
  DEFAULT_AUTOSCALER,
  parseAutoscalerConfig,
  resolveRevisionSpec,
  type AutoscalerConfig,
  type ConfigProblem,
  type KpaSpec,
} from './config.js';
import { decide, excessBurstCapacity, newKpaState, type KpaState } from './kpa.js';
import { applyScaleRules, newScalerState, type ScalerState } from './scaler.js';
import { BUCKET_MS, MetricWindow } from './window.js';

/** Knative multiscaler tickInterval: a const, not configurable. */
export const DEFAULT_TICK_INTERVAL_MS = 2000;

export interface AutoscalerOptions {
  clock: Clock;
  /** Runtime.scale; called only when the value changes. */
  scale: (revision: RevisionKey, replicas: number) => void;
  /** Ready replicas, from the runtime. */
  readyReplicas: (revision: RevisionKey) => number;
  logger: Logger;
  /** The autoscaler's gauges are registered here. */
  registry: Registry;
  tickIntervalMs?: number;
}

export interface AutoscalerRevisionStatus {
  /** What the runtime is asked for (after bounds and scale-to-zero rules). */
  readonly desiredReplicas: number;
  /** The KPA's raw decision (-1 before the first decision). */
  readonly decidedReplicas: number;
  readonly panic: boolean;
  readonly stableConcurrency: number;
  readonly panicConcurrency: number;
  readonly targetConcurrency: number;
  readonly excessBurstCapacity: number;
}

interface Entry {
  readonly key: RevisionKey;
  readonly labels: { readonly namespace: string; readonly revision: string };
  revision: RevisionSpec;
  spec: KpaSpec;
  /** Set when config or routing changed: the spec is resolved again on the next tick. */
  stale: boolean;
  /** Set when the revision's own annotations changed: their problems are logged again. */
  logProblems: boolean;
  reachable: boolean;
  readonly stable: MetricWindow;
  readonly panic: MetricWindow;
  kpa: KpaState;
  scaler: ScalerState;
  decided: number;
  ebc: number;
  stableValue: number;
  panicValue: number;
  /** The last value passed to scale(), or null before the first call. */
  scaled: number | null;
  /** Ready replicas at the last decision. */
  ready: number;
  /** The 1 s bucket of the last stat from the gateway or a poke (not the zero fill). */
  lastStatBucket: number | null;
}

/**
 * The gauges read the entries when Prometheus scrapes (prom-client `collect`), not on every tick:
 * a tick over 10 000 revisions stays cheap, and a dropped revision simply is not there any more.
 */
function registerGauges(registry: Registry, entries: ReadonlyMap<RevisionKey, Entry>): void {
  const gauge = (name: string, help: string, value: (e: Entry) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['namespace', 'revision'],
      registers: [registry],
      collect() {
        this.reset();
        for (const e of entries.values()) this.set(e.labels, value(e));
      },
    });
  };
  gauge(
    'kedge_revision_desired_replicas',
    'Replicas the autoscaler asks the runtime for',
    (e) => e.scaler.desiredReplicas,
  );
  gauge('kedge_revision_ready_replicas', 'Ready replicas seen by the autoscaler', (e) => e.ready);
  gauge(
    'kedge_revision_stable_concurrency',
    'Metric (concurrency or rps) averaged over the stable window, revision total',
    (e) => e.stableValue,
  );
  gauge(
    'kedge_revision_panic_concurrency',
    'Metric (concurrency or rps) averaged over the panic window, revision total',
    (e) => e.panicValue,
  );
  gauge('kedge_revision_target_concurrency', 'Per-replica target of the metric', (e) => e.spec.targetValue);
  gauge(
    'kedge_revision_excess_burst_capacity',
    'Excess burst capacity; below 0 requests queue in the gateway',
    (e) => e.ebc,
  );
  gauge('kedge_revision_panic_mode', '1 while the revision is in panic mode', (e) =>
    e.kpa.panicSinceMs !== null ? 1 : 0,
  );
}

function sameData(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  if (a === b) return true;
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) return false;
  return ak.every((k) => a[k] === b[k]);
}

export class Autoscaler implements StatsSink {
  private readonly clock: Clock;
  private readonly scaleFn: (revision: RevisionKey, replicas: number) => void;
  private readonly readyFn: (revision: RevisionKey) => number;
  private readonly logger: Logger;
  private readonly tickIntervalMs: number;
  private readonly entries = new Map<RevisionKey, Entry>();
  private currentConfig: AutoscalerConfig = DEFAULT_AUTOSCALER;
  private configData: Readonly<Record<string, string>> = {};
  private configProblems: readonly ConfigProblem[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(options: AutoscalerOptions) {
    this.clock = options.clock;
    this.scaleFn = options.scale;
    this.readyFn = options.readyReplicas;
    this.logger = options.logger;
    this.tickIntervalMs = options.tickIntervalMs ?? DEFAULT_TICK_INTERVAL_MS;
    registerGauges(options.registry, this.entries);
  }

  /**
   * A new State: parse its config-autoscaler (problems returned and logged, the last good value
   * kept for an invalid key), add new revisions (asking the runtime for the initial scale at
   * once), drop removed ones, recompute reachability. Existing revisions pick up a new config on
   * their next tick.
   */
  applyState(state: State): readonly ConfigProblem[] {
    const nowMs = this.clock.nowMs();
    let configChanged = false;
    if (!sameData(state.autoscalerConfig, this.configData)) {
      const { config, problems } = parseAutoscalerConfig(state.autoscalerConfig, this.currentConfig);
      for (const p of problems) {
        this.logger.warn('config-autoscaler: invalid value kept at its last good value', {
          key: p.key,
          value: p.value,
          problem: p.message,
        });
      }
      this.configData = state.autoscalerConfig;
      this.configProblems = problems;
      configChanged = true;
      this.currentConfig = config;
    }

    const routed = routedRevisions(state);
    const present = new Set<RevisionKey>();
    for (const revision of state.revisions) {
      present.add(revision.key);
      const reachable = routed.has(revision.key);
      const entry = this.entries.get(revision.key);
      if (entry === undefined) {
        this.add(revision, reachable, nowMs);
        continue;
      }
      // Knative revisions are immutable; a changed spec under the same key is still honoured.
      const changed =
        revision.containerConcurrency !== entry.revision.containerConcurrency ||
        !sameData(revision.annotations, entry.revision.annotations);
      if (configChanged || changed || entry.reachable !== reachable) {
        entry.revision = revision;
        entry.reachable = reachable;
        entry.stale = true;
        entry.logProblems ||= changed;
      }
    }
    for (const [key, entry] of this.entries) {
      if (!present.has(key)) this.drop(entry);
    }
    return this.configProblems;
  }

  /** Annotation problems are logged when a revision arrives or changes, not on every config change. */
  private resolve(revision: RevisionSpec, reachable: boolean, logProblems: boolean): KpaSpec {
    const { spec, problems } = resolveRevisionSpec(this.currentConfig, revision);
    const logged = logProblems ? problems : [];
    for (const p of logged) {
      this.logger.warn('revision annotation ignored', {
        revision: revision.key,
        key: p.key,
        value: p.value,
        problem: p.message,
      });
    }
    return { ...spec, reachable };
  }

  private add(revision: RevisionSpec, reachable: boolean, nowMs: number): void {
    const spec = this.resolve(revision, reachable, true);
    const ready = this.readyFn(revision.key);
    const entry: Entry = {
      key: revision.key,
      labels: { namespace: revision.namespace, revision: revision.name },
      revision,
      spec,
      stale: false,
      logProblems: false,
      reachable,
      stable: new MetricWindow(spec.stableWindowMs, spec.aggregation),
      panic: new MetricWindow(spec.panicWindowMs, spec.aggregation),
      kpa: newKpaState(ready, nowMs),
      scaler: newScalerState(spec, nowMs),
      decided: -1,
      // Knative multiscaler: a new decider's EBC is InitialScale × TotalValue − TBC.
      ebc: excessBurstCapacity(spec, spec.initialScale, 0),
      stableValue: 0,
      panicValue: 0,
      scaled: null,
      ready,
      lastStatBucket: null,
    };
    this.entries.set(revision.key, entry);
    this.apply(entry, entry.scaler.desiredReplicas, ready);
  }

  private drop(entry: Entry): void {
    this.entries.delete(entry.key);
  }

  record(_source: string, stats: readonly RevisionStat[], nowMs: number): void {
    for (const stat of stats) {
      const entry = this.entries.get(stat.revision);
      if (entry === undefined) continue;
      // Knative records RPS as the period's request count over the 1 s period.
      const value = entry.spec.metric === 'rps' ? stat.requestCount : stat.averageConcurrency;
      entry.stable.record(nowMs, value);
      entry.panic.record(nowMs, value);
      entry.lastStatBucket = Math.floor(nowMs / BUCKET_MS);
    }
  }

  poke(revision: RevisionKey, nowMs: number): void {
    const entry = this.entries.get(revision);
    if (entry === undefined) return;
    // Knative's activator sends {concurrency 1, count 1} for a revision it has no stat for yet.
    const bucket = Math.floor(nowMs / BUCKET_MS);
    if (entry.lastStatBucket !== bucket) {
      entry.stable.record(nowMs, 1);
      entry.panic.record(nowMs, 1);
      entry.lastStatBucket = bucket;
    }
    // Knative multiscaler.Poke: decide at once, not at the next tick, when the last scale was 0.
    if (entry.scaler.desiredReplicas === 0) this.step(entry, nowMs);
  }

  tick(nowMs: number): void {
    for (const entry of this.entries.values()) this.step(entry, nowMs);
  }

  private step(entry: Entry, nowMs: number): void {
    if (entry.stale) {
      entry.spec = this.resolve(entry.revision, entry.reachable, entry.logProblems);
      entry.stale = false;
      entry.logProblems = false;
      entry.stable.resize(entry.spec.stableWindowMs, nowMs);
      entry.panic.resize(entry.spec.panicWindowMs, nowMs);
    }
    const { spec } = entry;
    const ready = this.readyFn(entry.key);
    // Knative scrapes every pod each second, so an idle second is a recorded 0. The gateway may
    // report only busy revisions; recording 0 while pods run keeps the same semantics.
    if (ready > 0) {
      entry.stable.record(nowMs, 0);
      entry.panic.record(nowMs, 0);
    }
    entry.stableValue = entry.stable.average(nowMs);
    entry.panicValue = entry.panic.average(nowMs);
    // The gateway sees every request (it is the activator), so no report means no load: like
    // Knative with activator-only stats (TBC -1), there is always data.
    const { result, next } = decide(spec, entry.kpa, {
      stableValue: entry.stableValue,
      panicValue: entry.panicValue,
      readyPods: ready,
      nowMs,
      hasData: true,
    });
    entry.kpa = next;
    if (result.valid) {
      entry.decided = result.desiredPods;
      entry.ebc = result.excessBurstCapacity;
    }
    const rules = applyScaleRules(spec, entry.scaler, {
      decided: entry.decided,
      readyPods: ready,
      nowMs,
      reachable: entry.reachable,
    });
    entry.scaler = rules.next;
    this.apply(entry, rules.desiredReplicas, ready);
  }

  private apply(entry: Entry, replicas: number, ready: number): void {
    if (replicas !== entry.scaled) {
      this.logger.info('scale', {
        revision: entry.key,
        from: entry.scaled ?? 'new',
        to: replicas,
        stable: entry.stableValue,
        panic: entry.panicValue,
        panicMode: entry.kpa.panicSinceMs !== null ? 'yes' : 'no',
      });
      entry.scaled = replicas;
      this.scaleFn(entry.key, replicas);
    }
    entry.ready = ready;
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      this.tick(this.clock.nowMs());
    }, this.tickIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }

  revision(key: RevisionKey): AutoscalerRevisionStatus | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    return {
      desiredReplicas: entry.scaler.desiredReplicas,
      decidedReplicas: entry.decided,
      panic: entry.kpa.panicSinceMs !== null,
      stableConcurrency: entry.stableValue,
      panicConcurrency: entry.panicValue,
      targetConcurrency: entry.spec.targetValue,
      excessBurstCapacity: entry.ebc,
    };
  }

  config(): AutoscalerConfig {
    return this.currentConfig;
  }
}
