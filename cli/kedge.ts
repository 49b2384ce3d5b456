#!/usr/bin/env -S node --max-semi-space-size=1 --heap-growing-percent=50 --gc-memory-reducer-start-delay-ms=60000
// The `kedge` command. Each subcommand lives in its own module and is loaded on demand, so
// `kedge get` does not pay for the gateway's dependencies at start-up.
import { CliError, UsageError } from './usage.js';

const USAGE = `kedge: a lightweight, Knative-Serving-compatible serverless platform

Usage:
  kedge up [-f DIR] [--port 8080] [--admin-port 9090] [--listen 127.0.0.1] [--state-dir DIR]
      Run controller, gateway, autoscaler and local revisions in one process, serving the
      Knative Service YAML files under DIR (default: current folder).
  kedge get services|revisions|routes [NAME] [-n NS | -A] [-o wide|json]
      List what a running 'kedge up' serves, like kubectl (aliases: ksvc, rev, rt).
  kedge describe service|revision NAME [-n NS]
      URL, conditions, traffic with percents and tag URLs, revisions with replicas.
  kedge logs NAME [-f] [--tail N] [-n NS]
      A Service's or a revision's output, with time and replica; -f follows.

  kedge controller [--kubeconfig FILE] [--namespace kedge-system] [--snapshot-port 8081] [--admin-port 9090]
      Cluster mode: watch Knative Services, run revisions as Deployments, serve snapshots.
  kedge gateway --controller URL --autoscaler URL [--port 8080] [--admin-port 9090]
      Cluster mode: the edge Deployment (snapshots from the controller, stats to the autoscaler).
  kedge autoscaler --controller URL [--kubeconfig PATH] [--stats-port 8082] [--admin-port 9090]
      Cluster mode: the KPA Deployment (scales revision Deployments, drains pods first).

get, describe and logs talk to the admin API of 'kedge up': --admin URL, or $KEDGE_ADMIN
(default: http://127.0.0.1:9090).

Run 'kedge <command> --help' for a command's options.
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up': {
      const { runUp } = await import('./up.js');
      return runUp(rest);
    }
    case 'get': {
      const { runGet } = await import('./get.js');
      return runGet(rest);
    }
    case 'describe': {
      const { runDescribe } = await import('./get.js');
      return runDescribe(rest);
    }
    case 'logs': {
      const { runLogs } = await import('./logs.js');
      return runLogs(rest);
    }
    case 'controller': {
      const { runController } = await import('./controller.js');
      return runController(rest);
    }
    case 'gateway': {
      const { runGateway } = await import('./gateway.js');
      return runGateway(rest);
    }
    case 'autoscaler': {
      const { runAutoscaler } = await import('./autoscaler.js');
      return runAutoscaler(rest);
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
    if (err instanceof CliError) {
      process.stderr.write(`kedge: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`kedge: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`kedge: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
