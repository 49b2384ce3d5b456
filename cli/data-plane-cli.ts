// Flag parsing and signal handling shared by `kedge gateway` and `kedge autoscaler`.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Logger, LoggerOptions } from '../lib/log.js';
import { UsageError } from './usage.js';

/** Cluster components log JSON lines to stdout (one object per line) unless told otherwise. */
export function logOptions(level: string, format: string): LoggerOptions {
  if (level !== 'debug' && level !== 'info' && level !== 'warn' && level !== 'error') {
    throw new UsageError(`--log-level must be debug, info, warn or error, got "${level}"`);
  }
  if (format !== 'text' && format !== 'json') {
    throw new UsageError(`--log-format must be json or text, got "${format}"`);
  }
  return { level, format, write: (line) => process.stdout.write(line + '\n') };
}

/** An http:// base URL such as http://kedge-controller:8081 (a path, if any, is ignored). */
export function parseBaseUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--${name} must be a URL such as http://kedge-${name}:8081, got "${value}"`);
  }
  if (url.protocol !== 'http:') {
    throw new UsageError(`--${name} must be an http:// URL (cluster traffic is plain HTTP), got "${value}"`);
  }
  return url.origin;
}

/** A non-negative number of seconds. */
export function parseSeconds(name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`--${name} must be a number of seconds (0 or more), got "${value}"`);
  }
  return n;
}

/**
 * Resolves on the first SIGTERM/SIGINT (the kubelet sends SIGTERM); a second one exits at once
 * with 130, for an operator who does not want to wait for the drain.
 */
export function waitForSignal(logger: Logger, what: string): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (received) {
        logger.warn(`${signal} again: exiting now`);
        process.exit(130);
      }
      received = true;
      logger.info(`${signal}: ${what} (again to force)`);
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** parseArgs with its errors (unknown option, missing value) as one-line usage errors. */
export function parseFlags<O extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: readonly string[],
  options: O,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>> {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new UsageError(`${message}; run 'kedge ${command} --help' for the options`, { cause: err });
  }
}
