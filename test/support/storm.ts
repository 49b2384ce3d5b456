// The abort storm of test/faults/queue-storm.test.ts: many clients, one connection and one GET
// each, that wait for an answer until the test disconnects them. A process may hold only as many
// files as its open-file limit (20 000 on the machine the suite was written on, a hard limit even
// root cannot raise), and a 20 000-client storm needs a socket per client, so the clients are
// spread over child processes (test/support/storm-client.ts), each with its own limit, that report
// what became of every client over IPC.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const STORM_CLIENT = fileURLToPath(new URL('./storm-client.js', import.meta.url));

/**
 * What became of a storm's clients so far. Every client is counted exactly once: as a connect
 * error, or opened and then waiting, answered (once in each of `statuses`, `retryAfter` and
 * `codes`), closed by the gateway unanswered, or aborted by us.
 */
export interface StormCounts {
  /** Connected, with the request written. */
  readonly opened: number;
  readonly connectErrors: number;
  /** Answers by status code (`garbled` when the status line is not HTTP/1.1). */
  readonly statuses: Readonly<Record<string, number>>;
  /** Answers by Retry-After value, `none` when absent. */
  readonly retryAfter: Readonly<Record<string, number>>;
  /** Answers by x-kedge-error code, `none` when absent. */
  readonly codes: Readonly<Record<string, number>>;
  /** Connected and not answered: queued by the gateway, or not yet accepted. */
  readonly waiting: number;
  /** Closed by the gateway before any answer. */
  readonly closedUnanswered: number;
  /** Waiting clients disconnected by the abort. */
  readonly aborted: number;
}

/** A storm client's reports, one JSON-serialisable message each. */
export type StormMessage =
  | { readonly event: 'sent'; readonly ms: number; readonly counts: StormCounts }
  | { readonly event: 'status'; readonly counts: StormCounts }
  | { readonly event: 'done'; readonly counts: StormCounts };

/** The one command a storm client takes: disconnect every waiting client, report, exit. */
export const ABORT_COMMAND = 'abort';

export const NO_CLIENTS: StormCounts = {
  opened: 0,
  connectErrors: 0,
  statuses: {},
  retryAfter: {},
  codes: {},
  waiting: 0,
  closedUnanswered: 0,
  aborted: 0,
};

export const answeredOf = (c: StormCounts): number =>
  Object.values(c.statuses).reduce((sum, n) => sum + n, 0);

function addTallies(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
): Record<string, number> {
  const sum: Record<string, number> = { ...a };
  for (const [key, n] of Object.entries(b)) sum[key] = (sum[key] ?? 0) + n;
  return sum;
}

export function addCounts(a: StormCounts, b: StormCounts): StormCounts {
  return {
    opened: a.opened + b.opened,
    connectErrors: a.connectErrors + b.connectErrors,
    statuses: addTallies(a.statuses, b.statuses),
    retryAfter: addTallies(a.retryAfter, b.retryAfter),
    codes: addTallies(a.codes, b.codes),
    waiting: a.waiting + b.waiting,
    closedUnanswered: a.closedUnanswered + b.closedUnanswered,
    aborted: a.aborted + b.aborted,
  };
}

function isStormMessage(m: unknown): m is StormMessage {
  return (
    typeof m === 'object' &&
    m !== null &&
    'event' in m &&
    (m.event === 'sent' || m.event === 'status' || m.event === 'done') &&
    'counts' in m
  );
}

export interface StormOptions {
  readonly port: number;
  readonly host: string;
  readonly clients: number;
  /**
   * Sockets per process at most. 5 000 leaves each process far below a 20 000-file limit, and
   * keeps the process count (and the spawn cost on a 2-core machine) small.
   */
  readonly maxSocketsPerProcess?: number;
}

/**
 * Connects being set up at once, over all processes. uSockets listens with a backlog of 512;
 * staying well below it means no SYN is dropped and retried a second later.
 */
const CONNECTS_IN_FLIGHT = 256;

interface Share {
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
  counts: StormCounts;
  sentMs: number | undefined;
  done: boolean;
}

export class Storm {
  private constructor(private readonly shares: readonly Share[]) {}

  static start(o: StormOptions): Storm {
    const processes = Math.max(1, Math.ceil(o.clients / (o.maxSocketsPerProcess ?? 5_000)));
    const batch = Math.max(1, Math.floor(CONNECTS_IN_FLIGHT / processes));
    const shares: Share[] = [];
    for (let i = 0; i < processes; i++) {
      const clients = Math.floor(o.clients / processes) + (i < o.clients % processes ? 1 : 0);
      // The soft limit is raised to the hard one where it is lower (a common default is 1 024).
      // `exec` keeps the IPC channel: node finds it through NODE_CHANNEL_FD.
      const child = spawn(
        '/bin/sh',
        [
          '-c',
          'ulimit -Sn "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"',
          process.execPath,
          STORM_CLIENT,
          String(o.port),
          o.host,
          String(clients),
          String(batch),
        ],
        { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
      );
      const share: Share = {
        child,
        exited: once(child, 'exit'),
        counts: NO_CLIENTS,
        sentMs: undefined,
        done: false,
      };
      child.on('message', (m: unknown) => {
        if (!isStormMessage(m)) return;
        share.counts = m.counts;
        if (m.event === 'sent') share.sentMs = m.ms;
        if (m.event === 'done') share.done = true;
      });
      shares.push(share);
    }
    return new Storm(shares);
  }

  get processes(): number {
    return this.shares.length;
  }

  /** The sum of every process's latest report. */
  get counts(): StormCounts {
    return this.shares.reduce((sum, s) => addCounts(sum, s.counts), NO_CLIENTS);
  }

  /** Once every process has tried all its connects: the slowest one's time, else undefined. */
  get sentMs(): number | undefined {
    let slowest = 0;
    for (const s of this.shares) {
      if (s.sentMs === undefined) return undefined;
      slowest = Math.max(slowest, s.sentMs);
    }
    return slowest;
  }

  /**
   * Disconnects every waiting client and resolves with the final counts once every process has
   * reported them and exited; a process that does not within timeoutMs is killed, and the
   * promise rejects.
   */
  async abort(timeoutMs: number): Promise<StormCounts> {
    for (const s of this.shares) {
      if (s.child.connected) s.child.send(ABORT_COMMAND);
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`storm clients did not exit within ${timeoutMs} ms of the abort`));
      }, timeoutMs);
    });
    try {
      await Promise.race([Promise.all(this.shares.map((s) => s.exited)), late]);
    } finally {
      clearTimeout(timer);
      this.kill();
    }
    const silent = this.shares.filter((s) => !s.done).length;
    if (silent > 0) throw new Error(`${silent} storm client(s) exited without their final counts`);
    return this.counts;
  }

  /** SIGKILL for every process still running (test teardown). */
  kill(): void {
    for (const s of this.shares) {
      if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    }
  }
}
