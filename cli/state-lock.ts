// One `kedge up` per state folder: an exclusive lock file `<state-dir>/lock` naming the holder
// (pid, start, ports). Without it, two `kedge up` on one folder would both write revisions.json
// and both spawn every revision's replicas.
//
// The lock appears with its whole content at once: the content goes to a private temporary file
// that is then hard-linked to the lock path (link(2) fails with EEXIST when the path exists), so a
// reader never sees a half-written lock and mistakes it for garbage. File systems without hard
// links fall back to open(O_CREAT|O_EXCL), which is just as exclusive.
//
// A stale lock (its holder is gone, see lock-holder.ts) is taken over under a second lock,
// `lock.takeover`: only its holder may delete the stale lock, and only after reading it again and
// finding it unchanged, so two starters that both found the same stale lock cannot both win.
import {
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  type LockHolder,
  type ProcessFacts,
  decodeHolder,
  encodeHolder,
  heldMessage,
  judgeHolder,
} from './lock-holder.js';

export const LOCK_FILE = 'lock';
/** A takeover takes microseconds; a guard this old belongs to a starter that died in it. */
const ABANDONED_GUARD_MS = 10_000;
const ATTEMPTS = 3;

/** The state folder is in use (or could not be locked): one line for the user, exit code 1. */
export class StateLockError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StateLockError';
  }
}

/** How the lock learns about processes; the real one reads /proc, tests substitute facts. */
export interface ProcessProbe {
  readonly selfPid: number;
  hostname(): string;
  bootId(): string | null;
  pidState(pid: number): ProcessFacts['pid'];
  procStartTicks(pid: number): string | null;
}

export const systemProbe: ProcessProbe = {
  selfPid: process.pid,
  hostname: () => hostname(),
  bootId: () => readTrimmed('/proc/sys/kernel/random/boot_id'),
  pidState: (pid) => {
    try {
      process.kill(pid, 0);
    } catch (err) {
      // EPERM: the pid exists but belongs to another user. Only ESRCH proves it gone.
      if (codeOf(err) === 'ESRCH') return 'gone';
    }
    // proc(5) state Z (zombie) or X (dead): exited, only its process table entry is left.
    const state = statFields(pid)?.[0];
    return state === 'Z' || state === 'X' ? 'exited' : 'alive';
  },
  // proc(5): starttime is field 22.
  procStartTicks: (pid) => statFields(pid)?.[19] ?? null,
};

/**
 * /proc/PID/stat from field 3 on (Linux); null elsewhere. Field 2 (comm) is in parentheses and may
 * hold spaces or ')', so the fields start after the last ')'.
 */
function statFields(pid: number): readonly string[] | null {
  const stat = readTrimmed(`/proc/${pid}/stat`);
  if (stat === null) return null;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

export interface AcquireOptions {
  /** The state folder; made if missing. */
  readonly stateDir: string;
  /** The folder of Service YAML (-f), for the message a second `kedge up` prints. */
  readonly dir: string;
  readonly listen: string;
  /** The requested ports (0 until bound; update() records the bound ones). */
  readonly gatewayPort: number;
  readonly adminPort: number;
  /** Told when a stale lock is taken over, with whose it was and why it counts as stale. */
  readonly onTakeover?: (previous: LockHolder | null, why: string) => void;
  readonly probe?: ProcessProbe;
}

export class StateLock {
  private released = false;

  private constructor(
    readonly path: string,
    private holder: LockHolder,
    private text: string,
  ) {}

  /** Takes the lock or throws StateLockError with the one line to show. */
  static acquire(options: AcquireOptions): StateLock {
    const path = join(options.stateDir, LOCK_FILE);
    try {
      return StateLock.tryAcquire(path, options);
    } catch (err) {
      if (err instanceof StateLockError) throw err;
      throw new StateLockError(
        `cannot lock the state folder ${options.stateDir} (${err instanceof Error ? err.message : String(err)}); pass a writable --state-dir`,
        { cause: err },
      );
    }
  }

  private static tryAcquire(path: string, options: AcquireOptions): StateLock {
    const probe = options.probe ?? systemProbe;
    mkdirSync(options.stateDir, { recursive: true });
    const holder: LockHolder = {
      pid: probe.selfPid,
      startedAt: new Date().toISOString(),
      hostname: probe.hostname(),
      procStartTicks: probe.procStartTicks(probe.selfPid),
      bootId: probe.bootId(),
      dir: options.dir,
      listen: options.listen,
      gatewayPort: options.gatewayPort,
      adminPort: options.adminPort,
    };
    const text = encodeHolder(holder);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (createExclusive(path, text)) return new StateLock(path, holder, text);
      const existing = readIfExists(path);
      if (existing === null) continue; // released between our two steps: try again
      const previous = decodeHolder(existing);
      let why: string;
      if (previous === null) why = 'the lock file is not one kedge wrote';
      else {
        const verdict = judgeHolder(previous, factsAbout(previous.pid, probe));
        if (verdict.held) throw new StateLockError(heldMessage(previous, path, verdict.verified));
        why = verdict.why;
      }
      const outcome = takeOver(path, existing, text);
      if (outcome === 'taken') {
        options.onTakeover?.(previous, why);
        return new StateLock(path, holder, text);
      }
      if (outcome === 'busy') {
        throw new StateLockError(
          `another kedge up is starting on ${options.dir} right now (${path}.takeover exists); stop it, or pass a different -f folder`,
        );
      }
    }
    throw new StateLockError(
      `${path} keeps changing while kedge up starts: another kedge up is starting on ${options.dir}; stop it, or pass a different -f folder`,
    );
  }

  /** Records the bound ports, so a second `kedge up` can say where the first one answers. */
  update(ports: { readonly gatewayPort: number; readonly adminPort: number }): void {
    if (this.released || !this.stillOurs()) return;
    const holder = { ...this.holder, ...ports };
    const text = encodeHolder(holder);
    // rename(2) replaces the lock atomically: it exists throughout, so no starter can slip in.
    const tmp = `${this.path}.${this.holder.pid}.tmp`;
    try {
      writeFileSync(tmp, text, { mode: 0o644 });
      renameSync(tmp, this.path);
    } catch {
      // The ports are a courtesy to the next starter's message; the lock itself still holds.
      rmSync(tmp, { force: true });
      return;
    }
    this.holder = holder;
    this.text = text;
  }

  /**
   * Removes the lock if it is still ours (a user may have deleted it and started another kedge).
   * Synchronous and idempotent, so process 'exit' can call it after the signal path did.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (!this.stillOurs()) return;
    try {
      rmSync(this.path, { force: true });
    } catch {
      // Left behind, it is judged stale by the next start (its pid is gone).
    }
  }

  private stillOurs(): boolean {
    try {
      return readIfExists(this.path) === this.text;
    } catch {
      return false;
    }
  }
}

function factsAbout(pid: number, probe: ProcessProbe): ProcessFacts {
  const state = probe.pidState(pid);
  return {
    selfPid: probe.selfPid,
    hostname: probe.hostname(),
    bootId: probe.bootId(),
    pid: state,
    procStartTicks: state === 'alive' ? probe.procStartTicks(pid) : null,
  };
}

/** Under the takeover guard: delete the stale lock if it is unchanged, then create ours. */
function takeOver(path: string, staleText: string, text: string): 'taken' | 'retry' | 'busy' {
  const guard = `${path}.takeover`;
  if (!createExclusive(guard, text)) {
    const ageMs = ageOf(guard);
    // Removing an abandoned guard races only with another starter doing the same, which needs a
    // starter to have died inside a takeover first: rare enough not to guard the guard.
    if (ageMs !== null && ageMs > ABANDONED_GUARD_MS) {
      rmSync(guard, { force: true });
      return 'retry';
    }
    return ageMs === null ? 'retry' : 'busy';
  }
  try {
    if (readIfExists(path) !== staleText) return 'retry';
    rmSync(path, { force: true });
    return createExclusive(path, text) ? 'taken' : 'retry';
  } finally {
    rmSync(guard, { force: true });
  }
}

// link(2) is unsupported on some file systems (FAT, some network mounts).
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/** Creates `path` with `text` unless it exists; false when it does. */
function createExclusive(path: string, text: string): boolean {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    const code = codeOf(err);
    if (code === 'EEXIST') return false;
    if (code === undefined || !NO_HARD_LINKS.has(code)) throw err;
    try {
      writeFileSync(path, text, { flag: 'wx', mode: 0o644 });
      return true;
    } catch (err2) {
      if (codeOf(err2) === 'EEXIST') return false;
      throw err2;
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // Already gone; nothing to clean up.
    }
  }
}

function ageOf(path: string): number | null {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

function readIfExists(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return null;
    throw err;
  }
}

function readTrimmed(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
