// What the lock file of a state folder says about the `kedge up` holding it, and whether that
// process is still the one that wrote it. Pure: the adapter (state-lock.ts) reads the file and the
// process facts; this module decides and words the messages, so every case is a table row.

/** The lock file's content: enough to find the holder and to tell the user how to reach it. */
export interface LockHolder {
  readonly pid: number;
  /** Wall-clock start of the holder, RFC 3339; for people only, never compared. */
  readonly startedAt: string;
  /** os.hostname() of the holder: a pid means nothing on another host (a shared folder). */
  readonly hostname: string;
  /**
   * Linux: field 22 of /proc/PID/stat (start time in clock ticks since boot), which tells the
   * holder from a later process that was given the same pid. null where there is no /proc.
   */
  readonly procStartTicks: string | null;
  /** Linux: /proc/sys/kernel/random/boot_id; start ticks only compare within one boot. */
  readonly bootId: string | null;
  /** The folder of Service YAML (-f) the holder serves. */
  readonly dir: string;
  readonly listen: string;
  /** 0 until the holder has bound its ports (`--port 0` picks one). */
  readonly gatewayPort: number;
  readonly adminPort: number;
}

/** What the adapter found out about the process that now has the holder's pid. */
export interface ProcessFacts {
  readonly selfPid: number;
  readonly hostname: string;
  readonly bootId: string | null;
  /**
   * gone: process.kill(pid, 0) failed with ESRCH. exited: the pid is a zombie (it has exited and its
   * parent has not reaped it yet, common under a container init that never reaps). alive: anything
   * else, EPERM included (the pid exists and belongs to another user).
   */
  readonly pid: 'alive' | 'exited' | 'gone';
  /** Start ticks of the process that has the pid now; null when unknown (no /proc, or gone). */
  readonly procStartTicks: string | null;
}

export type Verdict =
  { readonly held: true; readonly verified: boolean } | { readonly held: false; readonly why: string };

export function encodeHolder(holder: LockHolder): string {
  return JSON.stringify(holder) + '\n';
}

/** null when the text is not a lock written by kedge (hand edits, another tool). */
export function decodeHolder(text: string): LockHolder | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const r = raw as Readonly<Record<string, unknown>>;
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const port = (v: unknown): number | null =>
    typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535 ? v : null;
  const pid = r.pid;
  const gatewayPort = port(r.gatewayPort);
  const adminPort = port(r.adminPort);
  const startedAt = str(r.startedAt);
  const hostname = str(r.hostname);
  const dir = str(r.dir);
  const listen = str(r.listen);
  if (
    typeof pid !== 'number' ||
    !Number.isSafeInteger(pid) ||
    pid <= 0 ||
    gatewayPort === null ||
    adminPort === null ||
    startedAt === null ||
    hostname === null ||
    dir === null ||
    listen === null
  ) {
    return null;
  }
  return {
    pid,
    startedAt,
    hostname,
    procStartTicks: str(r.procStartTicks),
    bootId: str(r.bootId),
    dir,
    listen,
    gatewayPort,
    adminPort,
  };
}

/**
 * Is the lock still held? A lock is stale only on positive evidence that its writer is gone; when
 * in doubt it counts as held, because refusing to start costs a message, while two platforms on
 * one folder would both write the history and both spawn replicas.
 *
 * Without /proc (macOS, Windows) only pid liveness is known: a holder that died and whose pid went
 * to an unrelated process then looks alive. That errs on the safe side, and the message names the
 * pid and the lock file so the user can check and delete it (`verified: false`).
 */
export function judgeHolder(holder: LockHolder, facts: ProcessFacts): Verdict {
  // A pid on another machine or in another container's pid namespace cannot be checked from here.
  if (holder.hostname !== facts.hostname) return { held: true, verified: false };
  // We are only now taking the lock, so a lock naming our own pid was written by an earlier
  // process (a container restarted with kedge as pid 1 again).
  if (holder.pid === facts.selfPid) {
    return { held: false, why: `its pid ${holder.pid} is now this process` };
  }
  if (holder.bootId !== null && facts.bootId !== null && holder.bootId !== facts.bootId) {
    return { held: false, why: 'the machine has restarted since it was written' };
  }
  if (facts.pid === 'gone') return { held: false, why: `no process has pid ${holder.pid}` };
  if (facts.pid === 'exited') return { held: false, why: `pid ${holder.pid} has exited (a zombie)` };
  if (holder.procStartTicks !== null && facts.procStartTicks !== null) {
    if (holder.procStartTicks !== facts.procStartTicks) {
      return { held: false, why: `pid ${holder.pid} now belongs to a process started later` };
    }
    return { held: true, verified: true };
  }
  return { held: true, verified: false };
}

function endpoint(listen: string, port: number): string {
  return port === 0 ? 'starting' : `http://${listen}:${port}`;
}

/** The one line `kedge up` prints when the folder is taken. */
export function heldMessage(holder: LockHolder, lockPath: string, verified: boolean): string {
  const where = `gateway ${endpoint(holder.listen, holder.gatewayPort)}, admin ${endpoint('127.0.0.1', holder.adminPort)}`;
  const unsure = verified
    ? ''
    : ` (if pid ${holder.pid}${holder.hostname === '' ? '' : ` on ${holder.hostname}`} is not kedge, delete ${lockPath})`;
  return `${holder.dir} is already served by kedge up pid ${holder.pid} (since ${holder.startedAt}; ${where}; lock ${lockPath}); stop it, or pass a different -f folder${unsure}`;
}
