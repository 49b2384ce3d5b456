// Starts a real `kedge up` child process for end-to-end tests and learns its ports from its log.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

export const KEDGE_BIN = fileURLToPath(new URL('../../cli/kedge.js', import.meta.url));

export interface KedgeProcess {
  readonly child: ChildProcess;
  /** The kedge process id (for /proc/<pid>/status sampling). */
  readonly pid: number;
  readonly gatewayPort: number;
  readonly adminPort: number;
  /** Every line kedge printed so far (stdout and stderr). */
  readonly output: string[];
  /** Resolves with the first output line matching, waiting at most timeoutMs. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** SIGTERM, then wait for exit (SIGKILL after timeoutMs). Resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export interface StartOptions {
  /** Added to the environment kedge inherits (e.g. KEDGE_FRONTEND=node). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Raise the open-file limit of the kedge process to this (through `sh -c 'ulimit -n N; exec ...'`,
   * which keeps the pid). Raising the hard limit needs root; without it the soft limit is raised
   * as far as the hard one allows.
   */
  readonly maxOpenFiles?: number;
}

export async function startKedge(
  dir: string,
  extraArgs: readonly string[] = [],
  options: StartOptions = {},
): Promise<KedgeProcess> {
  const args = [KEDGE_BIN, 'up', '-f', dir, '--port', '0', '--admin-port', '0', ...extraArgs];
  const env = { ...process.env, ...options.env };
  const child =
    options.maxOpenFiles === undefined
      ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
      : spawn(
          '/bin/sh',
          [
            '-c',
            `ulimit -Hn ${options.maxOpenFiles} 2>/dev/null; ulimit -Sn ${options.maxOpenFiles} 2>/dev/null || ulimit -Sn "$(ulimit -Hn)"; exec "$0" "$@"`,
            process.execPath,
            ...args,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'], env },
        );
  const output: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  const onLine = (line: string): void => {
    output.push(line);
    for (const w of waiters) {
      if (w.pattern.test(line)) {
        waiters.delete(w);
        w.resolve(line);
      }
    }
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        onLine(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
  }
  const waitForLine = (pattern: RegExp, timeoutMs: number): Promise<string> => {
    const seen = output.find((l) => pattern.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        pattern,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(
          new Error(
            `no line matching ${String(pattern)} within ${timeoutMs} ms; output:\n${output.join('\n')}`,
          ),
        );
      }, timeoutMs);
      waiters.add(waiter);
    });
  };
  const gatewayLine = await waitForLine(/gateway listening on http:\/\/[^:]+:(\d+)/, 20_000);
  const adminLine = await waitForLine(/admin listening on http:\/\/[^:]+:(\d+)/, 20_000);
  const gatewayPort = Number(/gateway listening on http:\/\/[^:]+:(\d+)/.exec(gatewayLine)?.[1]);
  const adminPort = Number(/admin listening on http:\/\/[^:]+:(\d+)/.exec(adminLine)?.[1]);
  const stop = async (timeoutMs = 15_000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
    return child.exitCode;
  };
  return { child, pid: child.pid ?? 0, gatewayPort, adminPort, output, waitForLine, stop };
}

export interface TextResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/** One HTTP request to 127.0.0.1 with an explicit Host header, body read as text. */
export async function get(port: number, host: string, path = '/', timeoutMs = 30_000): Promise<TextResponse> {
  const res = await request(`http://127.0.0.1:${port}${path}`, {
    headers: { host },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

export async function getJson<T>(port: number, path: string): Promise<T> {
  const res = await get(port, `127.0.0.1:${port}`, path);
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.body}`);
  return JSON.parse(res.body) as T;
}

/** Polls until `check` returns a value other than undefined; fails after timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
