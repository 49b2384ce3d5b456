// `kedge controller`: the cluster-mode controller, one of kedge's three Deployments (DESIGN.md
// "Processes"). Watches Knative Services and the config-* ConfigMaps, reconciles them into a State,
// makes revisions real as Deployments, writes Service status, and serves versioned snapshots
// (State + ready endpoints + draining + failures) to gateways and the autoscaler.
//
// Data flow, one way (STYLE.md "Config snapshots flow one way"):
//   KubeSource ─snapshot─> reconcile ─State─> KubeRuntime.ensure ─> publish ─> remove gone revisions
//                                        └──> StatusWriter
//   KubeRuntime (pods) ─endpoints, draining, failures─> publish;  readiness edges ─> reconcile
import { parseArgs } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { parseAutoscalerConfig, resolveRevisionSpec } from '../autoscaler/config.js';
import {
  SnapshotPublisher,
  startSnapshotServer,
  type SnapshotContent,
  type SnapshotServer,
} from '../controller/publish.js';
import {
  previousFromHistory,
  reconcile,
  type ReconcileOutput,
  type ReconcilePrevious,
} from '../controller/reconcile.js';
import { HistoryStore } from '../controller/history-store.js';
import { EMPTY_HISTORY } from '../controller/revision-history.js';
import {
  affectsRouting,
  type Endpoint,
  type RevisionFailure,
  type RevisionRuntimeStatus,
} from '../controller/runtime.js';
import { Coalescer } from '../lib/coalesce.js';
import { RolloutTimer } from '../controller/rollout-timer.js';
import { KubeRuntime } from '../controller/runtimes/kube.js';
import type { SourceSnapshot } from '../controller/sources/file.js';
import { KubeSource } from '../controller/sources/kube.js';
import { StatusWriter } from '../controller/status-writer.js';
import { EMPTY_STATE, type RevisionKey, type RevisionSpec, type State } from '../controller/state.js';
import { AdminServer } from '../lib/admin-server.js';
import { CONTROLLER_SNAPSHOT_PORT, SNAPSHOT_PATH } from '../lib/cluster-protocol.js';
import { loadKubeConfig } from '../lib/kube-config.js';
import { createLogger, type LogLevel, type Logger } from '../lib/log.js';
import { UsageError, parsePort } from './usage.js';

const HELP = `Usage: kedge controller [options]

Runs kedge's cluster controller: watches Knative Services (all namespaces) and the config-*
ConfigMaps, creates one Deployment per revision, writes Service status, and serves snapshots to
gateways and the autoscaler on GET ${SNAPSHOT_PATH}?after=N.

Options:
      --kubeconfig FILE   kubeconfig to use (default: in-cluster service account, else $KUBECONFIG
                          or ~/.kube/config)
      --namespace NS      where the config-* ConfigMaps live (default: kedge-system)
      --snapshot-port N   snapshot port (default: ${CONTROLLER_SNAPSHOT_PORT}; 0 picks a free one)
      --admin-port N      health, readiness and metrics (default: 9090; 0 picks a free one)
      --listen ADDR       address of both ports (default: 0.0.0.0)
      --log-level LEVEL   debug, info, warn or error (default: info)
  -h, --help              this text
`;

/** Reconcile this often with no event, so time-based revision GC (retain-since-*) happens. */
const PERIODIC_RECONCILE_MS = 30_000;

export interface ControllerOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly listen: string;
  readonly snapshotPort: number;
  readonly adminPort: number;
  readonly logger: Logger;
}

export class ClusterController {
  private readonly registry = new Registry();
  private readonly source: KubeSource;
  private readonly runtime: KubeRuntime;
  private readonly statusWriter: StatusWriter;
  private readonly history: HistoryStore;
  private readonly runtimeStatus = new Map<RevisionKey, RevisionRuntimeStatus>();
  private readonly metrics;
  private snapshot: SourceSnapshot = { objects: [], errors: [] };
  private previous: ReconcilePrevious = previousFromHistory(EMPTY_HISTORY);
  private last: ReconcileOutput | null = null;
  private publisher: SnapshotPublisher | null = null;
  private snapshotServer: SnapshotServer | null = null;
  private admin: AdminServer | null = null;
  private periodic: NodeJS.Timeout | null = null;
  private readonly reconciles = new Coalescer(() => {
    this.reconcileNow();
  });
  private readonly publishes = new Coalescer(() => {
    this.publish();
  });
  /** Wakes reconcile for the next step of a gradual rollout (rollout-duration). */
  private readonly rolloutTimer = new RolloutTimer(() => {
    this.scheduleReconcile();
  });
  private reportedProblems = new Set<string>();
  private stopped = false;

  constructor(private readonly options: ControllerOptions) {
    const { kc, logger } = options;
    collectDefaultMetrics({ register: this.registry, prefix: 'kedge_process_' });
    const registers = [this.registry];
    this.metrics = {
      reconciles: new Counter({
        name: 'kedge_controller_reconciles_total',
        help: 'Reconciles run.',
        registers,
      }),
      snapshotVersion: new Gauge({
        name: 'kedge_controller_snapshot_version',
        help: 'Version of the snapshot served to gateways and the autoscaler.',
        registers,
      }),
      revisions: new Gauge({
        name: 'kedge_controller_revisions',
        help: 'Revisions in the State.',
        registers,
      }),
      statusWrites: new Counter({
        name: 'kedge_controller_status_writes_total',
        help: 'Service status writes by outcome (written, unchanged, conflict, gone, error).',
        labelNames: ['outcome'],
        registers,
      }),
      watchRestarts: new Counter({
        name: 'kedge_controller_watch_restarts_total',
        help: 'Watch restarts by resource and reason (error, stale, relist).',
        labelNames: ['resource', 'reason'],
        registers,
      }),
      pollers: new Gauge({
        name: 'kedge_controller_snapshot_waiting_polls',
        help: 'Snapshot long-polls waiting for a change.',
        registers,
        collect: () => {
          this.metrics.pollers.set(this.publisher?.waiting ?? 0);
        },
      }),
    };
    const onWatchRestart = (resource: string, reason: string): void => {
      this.metrics.watchRestarts.inc({ resource, reason });
    };
    this.source = new KubeSource({
      kc,
      namespace: options.namespace,
      logger: logger.child({ part: 'source' }),
      onWatchRestart,
    });
    this.runtime = new KubeRuntime({
      kc,
      logger: logger.child({ part: 'runtime' }),
      listener: {
        endpoints: () => {
          this.schedulePublish();
        },
        status: (s) => {
          this.onRuntimeStatus(s);
        },
      },
      owner: (namespace, name) => {
        const uid = this.source.service(namespace, name)?.metadata?.uid;
        return uid === undefined ? undefined : { name, uid };
      },
      initialScale: (revision) => this.initialScale(revision),
      onDrainingChange: () => {
        this.schedulePublish();
      },
      onWatchRestart,
    });
    this.history = new HistoryStore(kc, options.namespace, logger.child({ part: 'history' }));
    this.statusWriter = new StatusWriter({
      kc,
      logger: logger.child({ part: 'status' }),
      current: (namespace, name) => this.source.service(namespace, name),
      onOutcome: (outcome) => {
        this.metrics.statusWrites.inc({ outcome });
      },
    });
  }

  /** Serves health at once, then syncs, reconciles and serves snapshots; stop() may come at any time. */
  async start(): Promise<void> {
    const { options } = this;
    const { logger } = options;
    // Health answers from the start; readiness only after the first sync and reconcile.
    this.admin = await AdminServer.start({
      host: options.listen,
      port: options.adminPort,
      registry: this.registry,
      ready: () => this.publisher !== null && !this.isStopped(),
    });
    logger.info('admin listening', { address: `${options.listen}:${this.admin.port}` });
    if (this.isStopped()) return;
    // A history that cannot be read stops the controller: better than reusing revision names.
    this.previous = previousFromHistory(await this.history.load());
    await this.runtime.start();
    this.snapshot = await this.source.start((snapshot) => {
      this.snapshot = snapshot;
      this.scheduleReconcile();
    });
    if (this.isStopped()) return;
    logger.info('first sync done', { objects: this.snapshot.objects.length });
    this.reconcileNow();
    this.periodic = setInterval(() => {
      this.scheduleReconcile();
    }, PERIODIC_RECONCILE_MS);
    this.periodic.unref();
    // Only now: a gateway must never see an empty State just because the controller started.
    this.snapshotServer = await startSnapshotServer(
      this.publisherOrThrow(),
      options.listen,
      options.snapshotPort,
    );
    logger.info('serving snapshots', {
      address: `${options.listen}:${this.snapshotServer.port}`,
      path: SNAPSHOT_PATH,
    });
    if (this.isStopped()) await this.snapshotServer.close();
  }

  /** A method, not the field: TypeScript keeps a field's narrowing across awaits. */
  private isStopped(): boolean {
    return this.stopped;
  }

  get adminPort(): number {
    return this.admin?.port ?? 0;
  }

  get snapshotPort(): number {
    return this.snapshotServer?.port ?? 0;
  }

  /** Stops the watches, answers pending long-polls (304), lets status writes finish, closes the ports. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.reconciles.stop();
    this.publishes.stop();
    this.rolloutTimer.stop();
    if (this.periodic !== null) clearInterval(this.periodic);
    await Promise.all([this.source.stop(), this.runtime.close()]);
    await this.snapshotServer?.close();
    this.publisher?.close();
    await this.statusWriter.close();
    await this.history.idle();
    await this.admin?.close();
  }

  private publisherOrThrow(): SnapshotPublisher {
    if (this.publisher === null) throw new Error('no snapshot before the first reconcile');
    return this.publisher;
  }

  private initialScale(revision: RevisionSpec): number {
    const config = parseAutoscalerConfig(this.last?.state.autoscalerConfig ?? {}).config;
    return resolveRevisionSpec(config, revision).spec.initialScale;
  }

  private onRuntimeStatus(status: RevisionRuntimeStatus): void {
    const before = this.runtimeStatus.get(status.key);
    this.runtimeStatus.set(status.key, status);
    // Replica counts alone reach the snapshot through schedulePublish, without a reconcile.
    if (affectsRouting(before, status)) this.scheduleReconcile();
    this.schedulePublish();
  }

  private scheduleReconcile(): void {
    this.reconciles.schedule();
  }

  private schedulePublish(): void {
    if (this.publisher !== null) this.publishes.schedule();
  }

  private reconcileNow(): void {
    const { logger } = this.options;
    const previousState = this.last?.state ?? null;
    const output = reconcile({
      objects: this.snapshot.objects,
      loadErrors: this.snapshot.errors,
      runtime: this.runtimeStatus,
      previous: this.previous,
      nowIso: new Date().toISOString(),
      mode: 'cluster',
    });
    this.metrics.reconciles.inc();
    // Saved before anything acts on it (not awaited: a failed save is logged and retried with the next change).
    this.history.save(output.history);
    this.last = output;
    this.previous = output;
    this.rolloutTimer.arm(output.nextRolloutStepAtMs);
    for (const key of output.collected)
      logger.info('revision garbage-collected (config-gc)', { revision: key });
    const problems = new Set(output.problems.map((p) => `${p.origin}: ${p.message}`));
    for (const p of problems) if (!this.reportedProblems.has(p)) logger.warn(p);
    this.reportedProblems = problems;
    if (previousState === null || output.state !== previousState) this.apply(previousState, output.state);
    this.statusWriter.write(output.services);
  }

  /**
   * Order matters: Deployments exist before gateways learn the revision; gateways stop routing
   * to a revision (new snapshot) before its Deployment is deleted.
   */
  private apply(previous: State | null, next: State): void {
    for (const revision of next.revisions) this.runtime.ensure(revision);
    this.metrics.revisions.set(next.revisions.length);
    this.publish();
    const nextKeys = new Set(next.revisions.map((r) => r.key));
    for (const revision of previous?.revisions ?? []) {
      if (nextKeys.has(revision.key)) continue;
      this.runtimeStatus.delete(revision.key);
      this.runtime.remove(revision.key).catch((err: unknown) => {
        this.options.logger.error('removing a revision failed', {
          revision: revision.key,
          error: String(err),
        });
      });
    }
  }

  private publish(): void {
    const state = this.last?.state ?? EMPTY_STATE;
    const endpoints: Record<RevisionKey, readonly Endpoint[]> = {};
    const failures: Record<RevisionKey, RevisionFailure> = {};
    for (const r of state.revisions) {
      endpoints[r.key] = this.runtime.endpoints(r.key);
      const failure = this.runtime.status(r.key)?.failure ?? null;
      if (failure !== null) failures[r.key] = failure;
    }
    const content: SnapshotContent = { state, endpoints, draining: this.runtime.draining(), failures };
    if (this.publisher === null) {
      // Versions start at the wall clock in ms, so they keep growing across controller restarts.
      this.publisher = new SnapshotPublisher(Date.now(), content);
    } else if (!this.publisher.update(content)) return;
    const version = this.publisher.latest.snapshot.version;
    this.metrics.snapshotVersion.set(version);
    this.options.logger.debug('snapshot published', { version, revisions: state.revisions.length });
  }
}

export async function runController(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string', default: 'kedge-system' },
      'snapshot-port': { type: 'string', default: String(CONTROLLER_SNAPSHOT_PORT) },
      'admin-port': { type: 'string', default: '9090' },
      listen: { type: 'string', default: '0.0.0.0' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const level = values['log-level'];
  if (level !== 'debug' && level !== 'info' && level !== 'warn' && level !== 'error') {
    throw new UsageError(`--log-level must be debug, info, warn or error, got "${level}"`);
  }
  if (values.namespace === '') throw new UsageError('--namespace must not be empty');
  const logger = createLogger({
    format: 'json',
    level: level satisfies LogLevel,
    write: (line) => process.stdout.write(line + '\n'),
  }).child({ component: 'controller' });
  let kc: KubeConfig;
  try {
    kc = loadKubeConfig(values.kubeconfig, 'controller');
  } catch (err) {
    throw new UsageError(
      `cannot load a kubeconfig${values.kubeconfig === undefined ? '' : ` from ${values.kubeconfig}`}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  logger.info('starting', { server: kc.getCurrentCluster()?.server ?? '?', namespace: values.namespace });
  const options: ControllerOptions = {
    kc,
    namespace: values.namespace,
    listen: values.listen,
    snapshotPort: parsePort('snapshot-port', values['snapshot-port']),
    adminPort: parsePort('admin-port', values['admin-port']),
    logger,
  };
  const controller = new ClusterController(options);
  return new Promise<number>((done, fail) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn(`${signal} again: exiting now`);
        process.exit(130);
      }
      stopping = true;
      logger.info(`${signal}: stopping watches, answering pending polls`);
      controller.stop().then(
        () => {
          logger.info('stopped');
          done(0);
        },
        (err: unknown) => {
          logger.error('shutdown failed', { error: String(err) });
          done(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    controller.start().then(
      () => {
        if (!stopping) {
          logger.info('ready', { adminPort: controller.adminPort, snapshotPort: controller.snapshotPort });
        }
      },
      (err: unknown) => {
        fail(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
