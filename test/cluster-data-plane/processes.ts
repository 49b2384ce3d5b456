// Runs `kedge gateway` / `kedge autoscaler` as real child processes and reads their JSON log
// lines, so tests wait for what the process says it did instead of sleeping.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { KEDGE_BIN } from '../support/kedge-process.js';

export type LogLine = Readonly<Record<string, unknown>>;

export interface DataPlaneProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  /** The first log line (already seen or still to come) for which `match` holds. */
  waitFor(what: string, match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM, then the exit code (SIGKILL after timeoutMs). */
  stop(timeoutMs?: number): Promise<number | null>;
}

export function startDataPlane(args: readonly string[]): DataPlaneProcess {
  const child = spawn(process.execPath, [KEDGE_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const waiters = new Set<(line: LogLine) => void>();
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      raw.push(text);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      lines.push(line);
      for (const w of [...waiters]) w(line);
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => raw.push(chunk));
  const exited = once(child, 'exit');

  const waitFor = (what: string, match: (line: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> => {
    const seen = lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = (line: LogLine): void => {
        if (!match(line)) return;
        clearTimeout(timer);
        waiters.delete(waiter);
        resolve(line);
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no log line for ${what} within ${timeoutMs} ms; output:\n${raw.join('\n')}`));
      }, timeoutMs);
      waiters.add(waiter);
      void exited.then(() => {
        if (!waiters.has(waiter)) return;
        clearTimeout(timer);
        waiters.delete(waiter);
        reject(new Error(`process exited before ${what}; output:\n${raw.join('\n')}`));
      });
    });
  };
  const stop = async (timeoutMs = 10_000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
    return child.exitCode;
  };
  return { child, lines, waitFor, stop };
}

export const msg =
  (text: string, fields: Readonly<Record<string, unknown>> = {}) =>
  (line: LogLine): boolean =>
    line['msg'] === text && Object.entries(fields).every(([k, v]) => line[k] === v);
