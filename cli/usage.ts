/** A mistake in how the command was called: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** Parses a TCP port option: 0 (any free port) to 65535. */
export function parsePort(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UsageError(`--${name} must be a port number from 0 to 65535, got "${value}"`);
  }
  return n;
}

/** A failure explained in one line (kedge not running, a damaged state file): no stack, exit code 1. */
export class CliError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** Parses a whole number option of at least 1. */
export function parsePositiveInteger(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`--${name} must be a whole number of at least 1, got "${value}"`);
  }
  return n;
}
