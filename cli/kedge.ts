#!/usr/bin/env node
// The `kedge` command. Each subcommand lives in its own module and is loaded on demand, so
// `kedge get` does not pay for the gateway's dependencies at start-up.
import { UsageError } from './usage.js';

const USAGE = `kedge: a lightweight, Knative-Serving-compatible serverless platform

Usage:
  kedge up [-f DIR] [--port 8080] [--admin-port 9090] [--listen 127.0.0.1] [--state-dir DIR]
      Run controller, gateway, autoscaler and local revisions in one process, serving the
      Knative Service YAML files under DIR (default: current folder).

Run 'kedge <command> --help' for a command's options.
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up': {
      const { runUp } = await import('./up.js');
      return runUp(rest);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}"; run 'kedge --help' for the list`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`kedge: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`kedge: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
