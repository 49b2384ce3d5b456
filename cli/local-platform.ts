// The composition root of local mode: controller, gateway, autoscaler and the process runtime in
// one process, talking through in-memory interfaces (DESIGN.md "Processes").
import { Registry, collectDefaultMetrics } from 'prom-client';
import { Autoscaler } from '../autoscaler/autoscaler.js';
import {
  previousFromHistory,
  reconcile,
  type ReconcileOutput,
  type ReconcilePrevious,
} from '../controller/reconcile.js';
import { affectsRouting, type LogLine, type RevisionRuntimeStatus } from '../controller/runtime.js';
import { Coalescer } from '../lib/coalesce.js';
import { RolloutTimer } from '../controller/rollout-timer.js';
import { ProcessRuntime } from '../controller/runtimes/process.js';
import { FileSource, type SourceSnapshot } from '../controller/sources/file.js';
import type { RevisionKey, State } from '../controller/state.js';
import type { AccessLogSink } from '../gateway/access-log.js';
import { Gateway } from '../gateway/gateway.js';
import { AdminServer } from '../lib/admin-server.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import { RecentErrorLog } from '../dashboard/recent-errors.js';
import { registerDashboard, type Dashboard } from '../dashboard/register.js';
import { registerAdminApi } from './admin-api.js';
import { ColdStartLog } from './cold-start-log.js';
import { LogBus } from './log-bus.js';
import { StateDir } from './state-dir.js';

/**
 * Reconcile at least this often with no event, so that time-based revision GC (retain-since-*)
 * happens on an idle platform too.
 */
const PERIODIC_RECONCILE_MS = 30_000;

export interface LocalPlatformOptions {
  readonly dir: string;
  readonly listen: string;
  readonly port: number;
  readonly adminHost: string;
  readonly adminPort: number;
  /** Requests a revision may queue while it has no capacity (the gateway's activator queue). */
  readonly queueLimit?: number;
  /** The state folder (revision history); default `<dir>/.kedge`. */
  readonly stateDir: string;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** The gateway's access log (one JSON line per request); the gateway closes it when it stops. */
  readonly accessLog?: AccessLogSink;
  /** Called after every reconcile that changed what users see (services, URLs, readiness). */
  readonly onReconciled?: (output: ReconcileOutput, platform: LocalPlatform) => void;
  /** Told of every scale request with the ready count before it (`kedge up` times cold starts). */
  readonly onScale?: (revision: RevisionKey, replicas: number, readyNow: number) => void;
}

export class LocalPlatform {
  private last: ReconcileOutput | null = null;
  /** Before the first reconcile: the persisted history; then the last output. */
  private previous: ReconcilePrevious | null = null;
  private periodic: NodeJS.Timeout | null = null;
  /** Every replica's output, numbered, for `kedge logs [-f]`. */
  readonly logs = new LogBus();
  private snapshot: SourceSnapshot = { objects: [], errors: [] };
  private readonly runtimeStatus = new Map<RevisionKey, RevisionRuntimeStatus>();
  private readonly reconciles = new Coalescer(() => {
    this.reconcileNow();
  });
  /** Wakes reconcile for the next step of a gradual rollout (rollout-duration). */
  private readonly rolloutTimer = new RolloutTimer(() => {
    this.scheduleReconcile();
  });
  private dashboard: Dashboard | null = null;
  private stopped = false;

  private constructor(
    private readonly options: LocalPlatformOptions,
    readonly registry: Registry,
    readonly gateway: Gateway,
    readonly autoscaler: Autoscaler,
    readonly runtime: ProcessRuntime,
    private readonly source: FileSource,
    readonly admin: AdminServer,
    private readonly stateDir: StateDir,
  ) {}

  static async start(options: LocalPlatformOptions): Promise<LocalPlatform> {
    const { logger } = options;
    const clock = options.clock ?? systemClock;
    // Read the history first: a damaged state folder stops kedge before anything listens.
    const stateDir = new StateDir(options.stateDir);
    const history = stateDir.loadHistory();
    if (history.services.length > 0) {
      logger.info(
        `restored the revision history of ${history.services.length} service(s) from ${stateDir.historyPath}`,
      );
    }
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'kedge_process_' });

    // The parts reference each other through callbacks, bound here once they all exist.
    const late: { gateway?: Gateway; platform?: LocalPlatform } = {};
    const coldStarts = new ColdStartLog(clock, logger, (key, readyMs) => {
      late.platform?.dashboard?.history.coldStart(key, Date.now() - readyMs, readyMs);
    });
    const runtime = new ProcessRuntime({
      logger: logger.child({ part: 'runtime' }),
      listener: {
        endpoints: (key, endpoints) => {
          late.gateway?.setEndpoints(key, endpoints);
          coldStarts.endpoints(key, endpoints.length);
        },
        status: (status) => late.platform?.onRuntimeStatus(status),
      },
      // Scale-down drains through the gateway: it alone knows what is in flight on a replica.
      drain: (endpoint) => late.gateway?.waitForIdle(endpoint.id) ?? Promise.resolve(),
      onLog: (line) => late.platform?.onLog(line),
    });
    const autoscaler = new Autoscaler({
      clock,
      logger: logger.child({ part: 'autoscaler' }),
      registry,
      scale: (key, replicas) => {
        coldStarts.scaling(key, replicas, runtime.status(key)?.readyReplicas ?? 0);
        options.onScale?.(key, replicas, runtime.status(key)?.readyReplicas ?? 0);
        runtime.scale(key, replicas);
      },
      readyReplicas: (key) => runtime.status(key)?.readyReplicas ?? 0,
    });
    const recentErrors = new RecentErrorLog();
    const gateway = await Gateway.start({
      host: options.listen,
      port: options.port,
      clock,
      stats: autoscaler,
      logger: logger.child({ part: 'gateway' }),
      registry,
      ...(options.queueLimit === undefined ? {} : { queueLimit: options.queueLimit }),
      errors: recentErrors,
      ...(options.accessLog === undefined ? {} : { accessLog: options.accessLog }),
    });
    late.gateway = gateway;
    const source = new FileSource({ dir: options.dir, logger: logger.child({ part: 'source' }) });
    const admin = await AdminServer.start({
      host: options.adminHost,
      port: options.adminPort,
      registry,
      ready: () => late.platform !== undefined && late.platform.last !== null,
    });
    const platform = new LocalPlatform(
      options,
      registry,
      gateway,
      autoscaler,
      runtime,
      source,
      admin,
      stateDir,
    );
    platform.previous = previousFromHistory(history);
    late.platform = platform;
    registerAdminApi(admin, platform);
    platform.dashboard = registerDashboard(admin, platform, {
      serviceObjects: () => platform.snapshot.objects,
      errors: recentErrors,
    });
    platform.snapshot = await source.start((snapshot) => {
      platform.snapshot = snapshot;
      platform.scheduleReconcile();
    });
    platform.reconcileNow();
    autoscaler.start();
    platform.periodic = setInterval(() => {
      platform.scheduleReconcile();
    }, PERIODIC_RECONCILE_MS);
    platform.periodic.unref();
    return platform;
  }

  /** The latest reconcile result; null before the first one. */
  get current(): ReconcileOutput | null {
    return this.last;
  }

  get state(): State | null {
    return this.last?.state ?? null;
  }

  /** Drains and stops everything: no new requests, in-flight ones finish, every child exits. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.reconciles.stop();
    this.rolloutTimer.stop();
    if (this.periodic !== null) clearInterval(this.periodic);
    this.logs.close();
    this.dashboard?.stop();
    this.source.stop();
    this.autoscaler.stop();
    await this.gateway.close();
    await this.runtime.close();
    await this.admin.close();
  }

  /** Last resort from process 'exit': no orphan survives kedge. */
  killAllNow(): void {
    this.runtime.killAllNow();
  }

  private onLog(line: LogLine): void {
    const revision = this.last?.state.revisions.find((r) => r.key === line.revision);
    this.logs.push(line, revision?.service ?? '');
  }

  private onRuntimeStatus(status: RevisionRuntimeStatus): void {
    const before = this.runtimeStatus.get(status.key);
    this.runtimeStatus.set(status.key, status);
    this.gateway.setRevisionFailure(status.key, status.failure);
    if (affectsRouting(before, status)) this.scheduleReconcile();
  }

  private scheduleReconcile(): void {
    this.reconciles.schedule();
  }

  private reconcileNow(): void {
    const { logger } = this.options;
    const previous = this.last;
    const output = reconcile({
      objects: this.snapshot.objects,
      loadErrors: this.snapshot.errors,
      runtime: this.runtimeStatus,
      previous: this.previous,
      nowIso: new Date().toISOString(),
      mode: 'local',
    });
    // Persist before anything acts on the result: a revision name is on disk before it runs,
    // so a crash can never hand the same name to a different template.
    try {
      this.stateDir.saveHistory(output.history);
    } catch (err) {
      logger.error(`cannot write the revision history to ${this.stateDir.historyPath}: ${String(err)}`);
    }
    this.last = output;
    this.previous = output;
    this.rolloutTimer.arm(output.nextRolloutStepAtMs);
    for (const key of output.collected) logger.info(`revision ${key} garbage-collected (config-gc)`);
    for (const problem of output.problems) {
      const key = `${problem.origin}\u0000${problem.message}`;
      if (!this.reportedProblems.has(key)) logger.warn(`${problem.origin}: ${problem.message}`);
    }
    this.reportedProblems = new Set(output.problems.map((p) => `${p.origin}\u0000${p.message}`));
    if (previous !== null && output.state === previous.state) {
      this.options.onReconciled?.(output, this);
      return;
    }
    this.apply(previous?.state ?? null, output.state);
    this.options.onReconciled?.(output, this);
  }

  private reportedProblems = new Set<string>();

  /**
   * Order matters: the runtime must know a revision before the autoscaler asks for its initial
   * scale, and the gateway must stop routing to a revision before the runtime removes it.
   */
  private apply(previous: State | null, next: State): void {
    const nextKeys = new Set(next.revisions.map((r) => r.key));
    for (const revision of next.revisions) this.runtime.ensure(revision);
    // The autoscaler logs its own config problems, once per ConfigMap change.
    this.autoscaler.applyState(next);
    this.gateway.applyState(next);
    for (const revision of previous?.revisions ?? []) {
      if (!nextKeys.has(revision.key)) {
        this.runtimeStatus.delete(revision.key);
        this.runtime.remove(revision.key).catch((err: unknown) => {
          this.options.logger.error(`removing ${revision.key} failed: ${String(err)}`);
        });
      }
    }
  }
}
