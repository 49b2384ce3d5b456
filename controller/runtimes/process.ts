// ProcessRuntime: local mode. Every replica of a revision is a child process running the container's
// command + args, reached on a free port on 127.0.0.1. The runtime probes readiness, publishes the
// ready set, drains before it stops a replica, and keeps the output per revision.
//
// Failure policy (decided here, see DESIGN.md "Runtimes"):
// - A replica that fails before the revision was EVER ready (command missing, exit, progress
//   deadline) sets status.failure and is not restarted: a broken revision must not become a crash
//   loop storm. The desired count is kept. The next scale() with a different count, or an ensure()
//   with a changed spec, tries again.
// - Once the revision has been ready, a replica that crashes (or a replacement that fails) is
//   removed from the endpoints at once and replaced after an exponential backoff (1 s doubling to
//   30 s, like the kubelet's CrashLoopBackOff, reset after a replica stayed ready for a minute).
//   status.failure is set only when no replica is left ready, as Knative only inspects pods for a
//   terminated container when the Deployment has no available replica (revision reconciler).
// - status.failure is cleared as soon as a replica becomes ready.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { constants as osConstants } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseGoDurationMs } from '../../lib/go-duration.js';
import type { Logger } from '../../lib/log.js';
import type {
  DrainEndpoint,
  Endpoint,
  LogLine,
  RevisionFailure,
  RevisionRuntimeStatus,
  Runtime,
  RuntimeListener,
} from '../runtime.js';
import type { RevisionKey, RevisionSpec } from '../state.js';

export interface ProcessRuntimeOptions {
  listener: RuntimeListener;
  /** Awaited before a replica that was taken out of the ready set is stopped. */
  drain: DrainEndpoint;
  logger: Logger;
  /** Where replicas listen and are probed; default 127.0.0.1. */
  host?: string;
  /** Readiness probe period; default 10 ms (Knative probes aggressively every 50 ms; local connects are cheap). */
  probeIntervalMs?: number;
  /**
   * Runtime-wide progress deadline, default 600 s (Knative config-deployment progress-deadline).
   * The per-revision annotation serving.knative.dev/progress-deadline overrides it.
   */
  progressDeadlineMs?: number;
  /** SIGTERM → SIGKILL grace; default 10 000 ms. */
  stopGraceMs?: number;
  /** Output lines kept per revision; default 1000. */
  logLinesPerRevision?: number;
  /** First restart delay of a crashed replica; default 1000 ms, doubling. */
  restartInitialBackoffMs?: number;
  /** Restart delay cap; default 30 000 ms. */
  restartMaxBackoffMs?: number;
  /** Every captured output line, as it arrives (for `kedge logs -f`). */
  onLog?: (line: LogLine) => void;
}

/** Knative's config-deployment progress-deadline default. */
const DEFAULT_PROGRESS_DEADLINE_MS = 600_000;
const PROGRESS_DEADLINE_ANNOTATION = 'serving.knative.dev/progress-deadline';
/** Lines of a replica's own output quoted in a failure message. */
const FAILURE_TAIL_LINES = 10;
/** Readiness is probed every FAST_PROBE_INTERVAL_MS for the first FAST_PROBE_WINDOW_MS after spawn. */
const FAST_PROBE_INTERVAL_MS = 2;
const FAST_PROBE_WINDOW_MS = 2_000;

/** A probe connect that takes longer than this is retried (Knative's aggressive probe uses 100 ms). */
const PROBE_CONNECT_TIMEOUT_MS = 100;
/** After the group leader exits, how long we wait for its stdio pipes to flush before moving on. */
const STDIO_CLOSE_WAIT_MS = 200;
/** A replica that stayed ready this long resets the crash backoff (the kubelet uses 10 min). */
const BACKOFF_RESET_AFTER_READY_MS = 60_000;
/** Attempts to find a port that no live replica of ours holds. */
const PORT_PICK_ATTEMPTS = 5;

/** Process groups of every live replica in this process, for killAllNow(). */
const liveGroups = new Set<number>();

/**
 * Synchronously SIGKILLs every process group this module started. kedge calls it from
 * process.on('exit') as the last resort, so no replica outlives kedge, whatever way kedge ends.
 */
export function killAllNow(): void {
  for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
  liveGroups.clear();
}

/** Raised (as the failure's cause, logged) when a replica cannot be started. */
export class ReplicaStartError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ReplicaStartError';
  }
}

type ReplicaState = 'starting' | 'ready' | 'draining' | 'stopping' | 'exited';

interface Replica {
  readonly id: string;
  readonly startedAtMs: number;
  state: ReplicaState;
  port: number;
  child: ChildProcess | null;
  /** The endpoint handed out while ready; null before. */
  endpoint: Endpoint | null;
  readyAtMs: number;
  /** The replica's own last lines, for failure messages (the revision buffer may be flooded by siblings). */
  readonly tail: string[];
  timers: NodeJS.Timeout[];
  /** Resolves once the process exited (or was never spawned). */
  readonly exited: Promise<void>;
  markExited: () => void;
}

interface Revision {
  spec: RevisionSpec;
  desired: number;
  readonly replicas: Replica[];
  everReady: boolean;
  failure: RevisionFailure | null;
  /** Set by a failure before the revision was ever ready: no start until scale()/ensure() changes something. */
  blocked: boolean;
  restartTimer: NodeJS.Timeout | null;
  nextBackoffMs: number;
  readonly logs: RingBuffer<LogLine>;
  /** Last published endpoint list, to publish only on change. */
  published: readonly Endpoint[];
  lastStatus: string;
  /** remove() is stopping everything; scale() is ignored. */
  removing: boolean;
}

export class ProcessRuntime implements Runtime {
  private readonly revisions = new Map<RevisionKey, Revision>();
  /** Stop tasks in flight, so remove()/close() can wait for every exit. */
  private readonly stopping = new Set<Promise<void>>();
  private readonly portsInUse = new Set<number>();
  private readonly groups = new Set<number>();
  private readonly host: string;
  private readonly probeIntervalMs: number;
  private readonly stopGraceMs: number;
  private readonly logLines: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private closed = false;
  private replicaSeq = 0;

  constructor(private readonly options: ProcessRuntimeOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.probeIntervalMs = options.probeIntervalMs ?? 10;
    this.stopGraceMs = options.stopGraceMs ?? 10_000;
    this.logLines = options.logLinesPerRevision ?? 1000;
    this.initialBackoffMs = options.restartInitialBackoffMs ?? 1000;
    this.maxBackoffMs = options.restartMaxBackoffMs ?? 30_000;
  }

  ensure(revision: RevisionSpec): void {
    if (this.closed) return;
    const existing = this.revisions.get(revision.key);
    // A revision being removed finishes its shutdown on the side; a re-added one starts afresh.
    if (existing === undefined || existing.removing) {
      this.revisions.set(revision.key, {
        spec: revision,
        desired: 0,
        replicas: [],
        everReady: false,
        failure: null,
        blocked: false,
        restartTimer: null,
        nextBackoffMs: this.initialBackoffMs,
        logs: new RingBuffer<LogLine>(this.logLines),
        published: [],
        lastStatus: '',
        removing: false,
      });
      return;
    }
    // Revisions are immutable in Knative; a changed spec here means the folder was edited in a way
    // that kept the name (e.g. workingDir). Running replicas keep their spec; new ones use the new one.
    if (JSON.stringify(existing.spec) === JSON.stringify(revision)) return;
    existing.spec = revision;
    existing.blocked = false;
    this.converge(existing);
  }

  scale(key: RevisionKey, replicas: number): void {
    if (this.closed) return;
    const rev = this.revisions.get(key);
    if (rev === undefined || rev.removing) {
      this.options.logger.warn('scale of an unknown revision ignored', { revision: key, replicas });
      return;
    }
    const n = Math.max(0, Math.floor(replicas));
    if (n !== rev.desired) rev.blocked = false;
    rev.desired = n;
    this.converge(rev);
  }

  async remove(key: RevisionKey): Promise<void> {
    const rev = this.revisions.get(key);
    if (rev === undefined || rev.removing) return;
    rev.desired = 0;
    this.clearRestart(rev);
    this.converge(rev); // publishes the empty ready set before draining starts
    rev.removing = true;
    await this.waitForExits(rev);
    this.clearRestart(rev);
    // Unless ensure() re-added the revision meanwhile (a new entry under the same key).
    if (this.revisions.get(key) === rev) this.revisions.delete(key);
  }

  status(key: RevisionKey): RevisionRuntimeStatus | undefined {
    const rev = this.revisions.get(key);
    return rev === undefined ? undefined : this.statusOf(rev);
  }

  logs(key: RevisionKey, limit: number): readonly LogLine[] {
    return this.revisions.get(key)?.logs.last(limit) ?? [];
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.revisions.keys()].map((key) => this.remove(key)));
    await this.whenStopped();
  }

  /** Resolves once every stop in flight (scale-down, deadline kill) has finished and its process exited. */
  async whenStopped(): Promise<void> {
    // Bounded: a stop that finishes may trigger another only through a new scale() call.
    for (let round = 0; round < 10 && this.stopping.size > 0; round++) await Promise.all([...this.stopping]);
  }

  /** SIGKILLs every process group of this runtime, synchronously (see the module-level killAllNow()). */
  killAllNow(): void {
    for (const pgid of this.groups) {
      killGroup(pgid, 'SIGKILL');
      liveGroups.delete(pgid);
    }
    this.groups.clear();
  }

  /** Process ids of live replicas (group leaders), for tests and `kedge get`. */
  pids(key: RevisionKey): readonly number[] {
    const out: number[] = [];
    for (const r of this.revisions.get(key)?.replicas ?? []) {
      if (r.child?.pid !== undefined && r.state !== 'exited') out.push(r.child.pid);
    }
    return out;
  }

  // ---- convergence -------------------------------------------------------------------------------

  /** Starts or stops replicas so that starting + ready replicas equal the desired count. Synchronous. */
  private converge(rev: Revision): void {
    const active = rev.replicas.filter((r) => r.state === 'starting' || r.state === 'ready');
    if (active.length > rev.desired) {
      // Newest not-ready first (they serve nothing yet), then the newest ready ones.
      const byNewest = (a: Replica, b: Replica): number => b.startedAtMs - a.startedAtMs;
      const victims = [
        ...active.filter((r) => r.state === 'starting').sort(byNewest),
        ...active.filter((r) => r.state === 'ready').sort(byNewest),
      ].slice(0, active.length - rev.desired);
      // Mark every victim before anything is published or awaited: a listener may call scale() from
      // inside publish(), and the nested converge() must already see these as gone.
      for (const r of victims) r.state = r.state === 'ready' ? 'draining' : 'stopping';
      this.publish(rev); // out of the ready set before anyone waits for in-flight requests
      for (const r of victims) this.track(this.stopReplica(rev, r));
    } else if (active.length < rev.desired && !rev.blocked && rev.restartTimer === null && !this.closed) {
      for (let i = active.length; i < rev.desired; i++) this.startReplica(rev);
    }
    this.publish(rev);
  }

  private track(task: Promise<void>): void {
    this.stopping.add(task);
    void task.finally(() => this.stopping.delete(task));
  }

  private async waitForExits(rev: Revision): Promise<void> {
    // scale() ignores a removing revision, so no replica appears after the first round; the bound
    // only guards against a bug turning this into a hang.
    for (let round = 0; round < 10 && rev.replicas.length > 0; round++) {
      await Promise.all(rev.replicas.map((r) => r.exited));
    }
  }

  private clearRestart(rev: Revision): void {
    if (rev.restartTimer !== null) clearTimeout(rev.restartTimer);
    rev.restartTimer = null;
  }

  // ---- starting ----------------------------------------------------------------------------------

  private startReplica(rev: Revision): void {
    // One counter per runtime, not per revision: ids stay unique when a revision is removed and re-added.
    this.replicaSeq += 1;
    let markExited = (): void => undefined;
    const exited = new Promise<void>((res) => (markExited = res));
    const replica: Replica = {
      id: `${rev.spec.name}-r${this.replicaSeq}`,
      startedAtMs: performance.now(),
      state: 'starting',
      port: 0,
      child: null,
      endpoint: null,
      readyAtMs: 0,
      tail: [],
      timers: [],
      exited,
      markExited,
    };
    rev.replicas.push(replica);
    this.launch(rev, replica).catch((err: unknown) => {
      const failure =
        err instanceof ReplicaStartError
          ? { reason: err.reason, message: err.message }
          : {
              reason: 'ContainerMissing',
              message: `could not start replica ${replica.id}: ${errorText(err)}`,
            };
      const prior = this.finish(rev, replica);
      if (prior !== 'starting') return; // it was stopped meanwhile: not a failure
      this.options.logger.warn('replica failed to start', {
        revision: rev.spec.key,
        replica: replica.id,
        reason: failure.reason,
        error: errorText(err),
      });
      this.fail(rev, failure, 0);
    });
  }

  /** Resolves the command, picks a port and spawns. Throws ReplicaStartError before a process exists. */
  private async launch(rev: Revision, replica: Replica): Promise<void> {
    const { spec } = rev;
    const c = spec.container;
    const cwd = c.workingDir === '' ? process.cwd() : c.workingDir;
    const env: Record<string, string> = {};
    // Only PATH and HOME from kedge's own environment: the app must not see kedge's secrets or config.
    if (process.env['PATH'] !== undefined) env['PATH'] = process.env['PATH'];
    if (process.env['HOME'] !== undefined) env['HOME'] = process.env['HOME'];
    for (const e of c.env) env[e.name] = e.value;
    const [command, ...commandArgs] = c.command;
    if (command === undefined || command === '') {
      throw new ReplicaStartError(
        'ContainerMissing',
        `revision ${spec.name} has no command: local mode runs spec.containers[0].command (the image's entrypoint exists only on a cluster); add command/args`,
      );
    }
    const file = await resolveCommand(command, cwd, env['PATH'] ?? '');
    const port = await this.pickPort();
    if (replica.state !== 'starting') return; // stopped while we were resolving
    replica.port = port;
    this.portsInUse.add(port);
    // Knative sets these on the user container (resources/deploy.go; revision_helpers.go).
    env['PORT'] = String(port);
    env['K_SERVICE'] = spec.service;
    env['K_CONFIGURATION'] = spec.service;
    env['K_REVISION'] = spec.name;

    // c.resources is not applied: a plain process has no portable cap that means what a cgroup
    // limit means (--max-old-space-size bounds one V8 heap, not the RSS of `npm start` and its
    // children; prlimit's RLIMIT_AS breaks runtimes that reserve address space), so local mode
    // records requests and limits (kedge describe shows them) and leaves enforcement to a cluster.
    const child = spawn(file, [...commandArgs, ...c.args], {
      cwd,
      env,
      argv0: command,
      // Own process group: a terminal Ctrl-C reaches kedge only, so kedge drains in order; and one
      // kill(-pgid) also reaches grandchildren (npm start → node).
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    replica.child = child;
    const pid = child.pid;
    if (pid !== undefined) {
      this.groups.add(pid);
      liveGroups.add(pid);
    }
    this.capture(rev, replica, child);
    child.once('error', (err: NodeJS.ErrnoException) => {
      // spawn() reports ENOENT/EACCES asynchronously when the file changed after resolveCommand.
      if (pid !== undefined) {
        this.options.logger.warn('replica process error', { replica: replica.id, error: err.message });
        return;
      }
      if (this.finish(rev, replica) !== 'starting') return;
      this.fail(
        rev,
        {
          reason: 'ContainerMissing',
          message: `cannot run ${JSON.stringify(command)} (${file}): ${err.code ?? err.message}; PATH=${env['PATH'] ?? ''}`,
        },
        0,
      );
    });
    child.once('exit', (code, signal) => {
      this.onExit(rev, replica, child, code, signal);
    });

    const deadlineMs = progressDeadlineMs(spec, this.options.progressDeadlineMs);
    replica.timers.push(
      setTimeout(() => {
        this.onDeadline(rev, replica, deadlineMs);
      }, deadlineMs),
    );
    this.probe(rev, replica);
  }

  private async pickPort(): Promise<number> {
    // Race: the port is free when we close it, and another process may take it before the child
    // binds. The kernel hands out ephemeral ports at random, so this is rare; we at least never give
    // one port to two live replicas of ours. A replica that loses the race fails to listen and exits.
    for (let i = 0; i < PORT_PICK_ATTEMPTS; i++) {
      const port = await freePort(this.host);
      if (!this.portsInUse.has(port)) return port;
    }
    throw new ReplicaStartError('ContainerMissing', `no free port on ${this.host}`);
  }

  private probe(rev: Revision, replica: Replica): void {
    if (replica.state !== 'starting') return;
    const socket = connect({ host: this.host, port: replica.port });
    let done = false;
    const retry = (): void => {
      if (done) return;
      done = true;
      socket.destroy();
      if (replica.state !== 'starting') return;
      // Most apps listen within a second of spawn (a Node hello world: ~60 ms), and every
      // millisecond between listening and our noticing is cold-start latency a user waits for;
      // a refused loopback connect costs microseconds, so probe fast at first, then relax.
      const sinceSpawnMs = performance.now() - replica.startedAtMs;
      const intervalMs = sinceSpawnMs < FAST_PROBE_WINDOW_MS ? FAST_PROBE_INTERVAL_MS : this.probeIntervalMs;
      const t = setTimeout(() => {
        replica.timers = replica.timers.filter((x) => x !== t);
        this.probe(rev, replica);
      }, intervalMs);
      replica.timers.push(t);
    };
    socket.setTimeout(PROBE_CONNECT_TIMEOUT_MS, retry);
    socket.once('error', retry);
    socket.once('connect', () => {
      done = true;
      socket.destroy();
      this.onReady(rev, replica);
    });
  }

  private onReady(rev: Revision, replica: Replica): void {
    if (replica.state !== 'starting') return;
    replica.state = 'ready';
    replica.readyAtMs = performance.now();
    replica.endpoint = Object.freeze({ id: replica.id, host: this.host, port: replica.port });
    this.clearTimers(replica);
    rev.everReady = true;
    rev.failure = null;
    rev.blocked = false;
    this.options.logger.debug('replica ready', {
      revision: rev.spec.key,
      replica: replica.id,
      port: replica.port,
      startToReadyMs: Math.round(replica.readyAtMs - replica.startedAtMs),
    });
    this.converge(rev);
  }

  private onDeadline(rev: Revision, replica: Replica, deadlineMs: number): void {
    if (replica.state !== 'starting') return;
    this.options.logger.warn('replica missed its progress deadline', {
      revision: rev.spec.key,
      replica: replica.id,
      deadlineMs,
    });
    // terminate() marks the replica 'stopping' synchronously, so its exit is not a second failure.
    this.track(this.terminate(rev, replica));
    this.fail(
      rev,
      {
        reason: 'ProgressDeadlineExceeded',
        message: `Initial scale was never achieved: replica ${replica.id} did not accept connections on port ${replica.port} within ${deadlineMs} ms${tailText(replica)}`,
      },
      0,
    );
  }

  // ---- failures and exits ------------------------------------------------------------------------

  private onExit(
    rev: Revision,
    replica: Replica,
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    const pid = child.pid;
    // The leader is gone; anything left in its group (a daemonised grandchild) goes too.
    if (pid !== undefined) {
      killGroup(pid, 'SIGKILL');
      this.groups.delete(pid);
      liveGroups.delete(pid);
    }
    const prior = replica.state;
    const unexpected = prior === 'starting' || prior === 'ready';
    let failure: RevisionFailure | null = null;
    if (unexpected) {
      // Out of the ready set at once; the restart decision is made now, not after stdio settles.
      replica.state = 'stopping';
      this.clearTimers(replica);
      this.options.logger.warn(prior === 'ready' ? 'ready replica exited' : 'replica exited before ready', {
        revision: rev.spec.key,
        replica: replica.id,
        code,
        signal,
      });
      failure = exitFailure(replica, code, signal, prior === 'ready');
      this.fail(rev, failure, prior === 'ready' ? performance.now() - replica.readyAtMs : 0);
    }
    // stdio 'close' comes after 'exit' once the pipes are drained; wait briefly so the failure
    // message quotes the last lines, but not forever (a grandchild may hold a pipe open).
    const settle = (): void => {
      this.finish(rev, replica);
      if (failure !== null && rev.failure === failure) {
        rev.failure = exitFailure(replica, code, signal, prior === 'ready');
      }
      this.converge(rev);
    };
    if (child.stdout === null || child.stdout.closed) {
      settle();
      return;
    }
    const timer = setTimeout(settle, STDIO_CLOSE_WAIT_MS);
    child.once('close', () => {
      clearTimeout(timer);
      settle();
    });
  }

  /**
   * A replica that was starting or ready failed (it is already out of the active set). Sets the
   * failure unless another replica still serves, and decides about a restart (see the file header).
   */
  private fail(rev: Revision, failure: RevisionFailure, readyForMs: number): void {
    if (!rev.replicas.some((r) => r.state === 'ready')) rev.failure = failure;
    if (!rev.everReady) {
      rev.blocked = true;
    } else if (rev.desired > 0 && !this.closed && rev.restartTimer === null) {
      const delayMs = readyForMs >= BACKOFF_RESET_AFTER_READY_MS ? this.initialBackoffMs : rev.nextBackoffMs;
      rev.nextBackoffMs = Math.min(delayMs * 2, this.maxBackoffMs);
      this.options.logger.info('replacing replica after backoff', {
        revision: rev.spec.key,
        backoffMs: delayMs,
      });
      rev.restartTimer = setTimeout(() => {
        rev.restartTimer = null;
        this.converge(rev);
      }, delayMs);
    }
    this.converge(rev);
  }

  /** The replica is gone for good: forget it and free its port. Returns the state it was in. */
  private finish(rev: Revision, replica: Replica): ReplicaState {
    const prior = replica.state;
    replica.state = 'exited';
    this.clearTimers(replica);
    const i = rev.replicas.indexOf(replica);
    if (i >= 0) rev.replicas.splice(i, 1);
    if (replica.port !== 0) this.portsInUse.delete(replica.port);
    replica.markExited();
    return prior;
  }

  private clearTimers(replica: Replica): void {
    for (const t of replica.timers) clearTimeout(t);
    replica.timers = [];
  }

  // ---- stopping ----------------------------------------------------------------------------------

  private async stopReplica(rev: Revision, replica: Replica): Promise<void> {
    if (replica.state === 'draining' && replica.endpoint !== null) {
      // Bounded by the revision's timeoutSeconds: no request may run longer, and Knative sets the
      // pod's terminationGracePeriodSeconds to the same value (resources/deploy.go).
      const limitMs = Math.max(1, rev.spec.timeoutSeconds) * 1000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((res) => {
        timer = setTimeout(() => {
          res('timeout');
        }, limitMs);
      });
      try {
        const outcome = await Promise.race([this.options.drain(replica.endpoint), timedOut]);
        if (outcome === 'timeout') {
          this.options.logger.warn('drain did not finish in time; stopping anyway', {
            replica: replica.id,
            limitMs,
          });
        }
      } catch (err) {
        this.options.logger.warn('drain failed; stopping anyway', {
          replica: replica.id,
          error: errorText(err),
        });
      } finally {
        clearTimeout(timer);
      }
      if (stateOf(replica) !== 'draining') return; // it exited on its own meanwhile
    }
    await this.terminate(rev, replica);
  }

  /** SIGTERM to the group, SIGKILL after the grace; resolves when the leader exited. */
  private async terminate(rev: Revision, replica: Replica): Promise<void> {
    replica.state = 'stopping';
    this.clearTimers(replica);
    const child = replica.child;
    const pid = child?.pid;
    if (child === null) {
      // Not spawned yet: launch() sees the state and gives up before spawning.
      this.finish(rev, replica);
      this.publish(rev);
      return;
    }
    if (pid === undefined || child.exitCode !== null || child.signalCode !== null) {
      await replica.exited;
      return;
    }
    killGroup(pid, 'SIGTERM');
    const kill = setTimeout(() => {
      this.options.logger.warn('replica ignored SIGTERM; killing its group', { replica: replica.id, pid });
      killGroup(pid, 'SIGKILL');
    }, this.stopGraceMs);
    try {
      await replica.exited;
    } finally {
      clearTimeout(kill);
    }
  }

  // ---- output ------------------------------------------------------------------------------------

  private capture(rev: Revision, replica: Replica, child: ChildProcess): void {
    const hook = (stream: 'stdout' | 'stderr'): void => {
      const input = child[stream];
      if (input === null) return;
      const lines = createInterface({ input, crlfDelay: Infinity });
      lines.on('line', (text) => {
        const line: LogLine = {
          revision: rev.spec.key,
          replica: replica.id,
          stream,
          time: new Date().toISOString(),
          line: text,
        };
        rev.logs.push(line);
        replica.tail.push(text);
        if (replica.tail.length > FAILURE_TAIL_LINES) replica.tail.shift();
        this.options.onLog?.(line);
      });
    };
    hook('stdout');
    hook('stderr');
  }

  // ---- publishing --------------------------------------------------------------------------------

  private publish(rev: Revision): void {
    // A removed revision's late exits must not overwrite what a re-added one publishes.
    if (this.revisions.get(rev.spec.key) !== rev) return;
    const ready = rev.replicas.flatMap((r) =>
      r.state === 'ready' && r.endpoint !== null ? [r.endpoint] : [],
    );
    if (!sameEndpoints(ready, rev.published)) {
      rev.published = Object.freeze(ready);
      this.options.listener.endpoints(rev.spec.key, rev.published);
    }
    const status = this.statusOf(rev);
    const text = JSON.stringify(status);
    if (text !== rev.lastStatus) {
      rev.lastStatus = text;
      this.options.listener.status(status);
    }
  }

  private statusOf(rev: Revision): RevisionRuntimeStatus {
    let ready = 0;
    let pending = 0;
    for (const r of rev.replicas) {
      if (r.state === 'ready') ready++;
      else if (r.state === 'starting') pending++;
    }
    return Object.freeze({
      key: rev.spec.key,
      desiredReplicas: rev.desired,
      readyReplicas: ready,
      pendingReplicas: pending,
      everReady: rev.everReady,
      failure: rev.failure,
    });
  }
}

// ---- helpers -------------------------------------------------------------------------------------

/** Fixed-size ring buffer: O(1) push, oldest entries overwritten. */
class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private start = 0;
  private size = 0;
  constructor(private readonly capacity: number) {
    this.items = new Array<T | undefined>(Math.max(1, capacity));
  }
  push(item: T): void {
    if (this.capacity <= 0) return;
    const end = (this.start + this.size) % this.capacity;
    this.items[end] = item;
    if (this.size < this.capacity) this.size++;
    else this.start = (this.start + 1) % this.capacity;
  }
  /** The newest `limit` items, oldest first. */
  last(limit: number): T[] {
    const n = Math.max(0, Math.min(Math.floor(limit), this.size));
    const out: T[] = [];
    for (let i = this.size - n; i < this.size; i++) {
      const item = this.items[(this.start + i) % this.capacity];
      if (item !== undefined) out.push(item);
    }
    return out;
  }
}

/** Reads the state afresh: TypeScript's narrowing does not know an await may have changed it. */
function stateOf(replica: Replica): ReplicaState {
  return replica.state;
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone, which is what we wanted.
  }
}

function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  return a.length === b.length && a.every((e, i) => e === b[i]);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function tailText(replica: Replica): string {
  return replica.tail.length === 0 ? '; no output' : `; last output:\n${replica.tail.join('\n')}`;
}

function exitFailure(
  replica: Replica,
  code: number | null,
  signal: NodeJS.Signals | null,
  afterReady: boolean,
): RevisionFailure {
  const when = afterReady ? 'after it was ready' : 'before it was ready';
  if (signal !== null) {
    // Kubernetes reports a signal death as exit code 128 + signal number; keep that reason.
    const number = osConstants.signals[signal];
    return {
      reason: `ExitCode${128 + number}`,
      message: `replica ${replica.id} was killed by ${signal} ${when}${tailText(replica)}`,
    };
  }
  const n = code ?? 0;
  return {
    reason: `ExitCode${n}`,
    message: `replica ${replica.id} exited with code ${n} ${when}${tailText(replica)}`,
  };
}

/** Resolves command[0] like execvp does, against the child's PATH; relative paths against cwd. */
async function resolveCommand(command: string, cwd: string, path: string): Promise<string> {
  if (command.includes('/')) {
    const file = isAbsolute(command) ? command : resolve(cwd, command);
    if (await isExecutableFile(file)) return file;
    throw new ReplicaStartError(
      'ContainerMissing',
      `command ${JSON.stringify(command)} not found or not executable at ${file}`,
    );
  }
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const file = join(resolve(cwd, dir), command);
    if (await isExecutableFile(file)) return file;
  }
  throw new ReplicaStartError(
    'ContainerMissing',
    `command ${JSON.stringify(command)} not found on PATH=${path} (set spec.containers[0].env PATH, or use an absolute command)`,
  );
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    const s = await stat(file);
    if (!s.isFile()) return false;
    await access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.unref();
    server.once('error', rej);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        res(port);
      });
    });
  });
}

/** The annotation (a Go duration: "600s", "10m", "1m30s") wins over the runtime-wide option. */
function progressDeadlineMs(spec: RevisionSpec, optionMs: number | undefined): number {
  const raw = spec.annotations[PROGRESS_DEADLINE_ANNOTATION];
  const parsed = raw === undefined ? null : parseGoDurationMs(raw);
  // Knative rejects a non-positive deadline at validation; here it only falls back.
  return parsed !== null && parsed > 0 ? parsed : (optionMs ?? DEFAULT_PROGRESS_DEADLINE_MS);
}
