// `kedge up`: the whole platform in one process, serving a folder of Knative YAML.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileAccessLogSink, StreamAccessLogSink } from '../gateway/access-log.js';
import type { AccessLogSink } from '../gateway/access-log.js';
import { systemClock } from '../lib/clock.js';
import { createLogger, type LogLevel, type Logger } from '../lib/log.js';
import { revisionViews, serviceViews } from './admin-api.js';
import { LocalPlatform } from './local-platform.js';
import { ColdStartTracker, renderProgress, styleLogLine } from './progress-view.js';
import { formatServiceTable } from './service-table.js';
import { STATE_DIR_NAME, StateDirError } from './state-dir.js';
import { type AcquireOptions, LOCK_FILE, StateLock, StateLockError } from './state-lock.js';
import { LiveTerminal, wantsColor, wantsLiveView } from './terminal.js';
import { CliError, UsageError, parsePort, parsePositiveInteger } from './usage.js';

const HELP = `Usage: kedge up [options]

Runs controller, gateway, autoscaler and local revisions in one process.

Options:
  -f, --dir DIR          folder of Service and ConfigMap YAML files, watched (default: .)
      --port N           gateway traffic port (default: 8080; 0 picks a free one)
      --listen ADDR      gateway address (default: 127.0.0.1; 0.0.0.0 exposes it)
      --admin-port N     admin port: health, metrics, JSON API (default: 9090; 0 picks a free one)
      --queue-limit N    requests a revision may hold while it has no capacity (default: 10000, as
                         Knative's activator); past it the gateway answers 503 + Retry-After
      --state-dir DIR    where the revision history is kept across restarts (default: DIR/.kedge);
                         one kedge up at a time holds it (its lock file names the holder)
      --access-log PATH  one JSON line per request, appended to PATH (default: access.log in the
                         state folder); - for standard output, off for none
      --log-level LEVEL  debug, info, warn or error (default: info)
      --log-format FMT   text or json (default: text)
  -h, --help             this text

At a terminal, a live view of services, replicas and cold starts stays at the bottom while the
log scrolls above it; KEDGE_PLAIN=1 (or CI, or a pipe) gives plain lines, NO_COLOR=1 no colours.
`;

export async function runUp(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      dir: { type: 'string', short: 'f', default: '.' },
      port: { type: 'string', default: '8080' },
      listen: { type: 'string', default: '127.0.0.1' },
      'admin-port': { type: 'string', default: '9090' },
      'queue-limit': { type: 'string', default: '10000' },
      'state-dir': { type: 'string' },
      'access-log': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      'log-format': { type: 'string', default: 'text' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const dir = resolve(values.dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(`-f ${values.dir}: no such folder; point -f at a folder of Service YAML files`);
  }
  const level = values['log-level'];
  if (level !== 'debug' && level !== 'info' && level !== 'warn' && level !== 'error') {
    throw new UsageError(`--log-level must be debug, info, warn or error, got "${level}"`);
  }
  const format = values['log-format'];
  if (format !== 'text' && format !== 'json') {
    throw new UsageError(`--log-format must be text or json, got "${format}"`);
  }
  // At a terminal, a live block at the bottom (cli/progress-view.ts); elsewhere the plain lines.
  const live =
    format === 'text' && wantsLiveView(process.stdout.isTTY, process.env)
      ? new LiveTerminal(process.stdout, systemClock)
      : null;
  const print = (text: string): void => {
    if (live === null) process.stdout.write(text);
    else live.print(text);
  };
  const color = wantsColor(process.env);
  const coldStarts = new ColdStartTracker();
  const logger = createLogger({
    format,
    level: level satisfies LogLevel,
    write: (line) => {
      print((live === null ? line : styleLogLine(line, color)) + '\n');
    },
  });

  const stateDir =
    values['state-dir'] === undefined ? join(dir, STATE_DIR_NAME) : resolve(values['state-dir']);
  const port = parsePort('port', values.port);
  const adminPort = parsePort('admin-port', values['admin-port']);
  const queueLimit = parsePositiveInteger('queue-limit', values['queue-limit']);
  // Before anything else touches the state folder or binds a port: a second `kedge up` on the
  // same folder stops here with the holder's pid, not with EADDRINUSE or a doubled history.
  const lock = lockStateDir({ stateDir, dir, listen: values.listen, gatewayPort: port, adminPort }, logger);
  // 'exit' covers every way out (a failed start, an exception, the forced second signal).
  process.on('exit', () => {
    lock.release();
  });
  // Signals are ours from here on: Node's default would end kedge at once, before the 'exit'
  // cleanup is in place and without draining. One that arrives while the platform starts stops
  // it as soon as it is up; a second one during the start exits now (the 'exit' handlers clean up).
  let pendingSignal: NodeJS.Signals | null = null;
  let onSignal = (signal: NodeJS.Signals): void => {
    if (pendingSignal !== null) process.exit(130);
    pendingSignal = signal;
    logger.info(`${signal}: stopping once started (again to exit now)`);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(signal, (s: NodeJS.Signals) => {
      onSignal(s);
    });
  const accessLog = openAccessLog(values['access-log'], stateDir, print, (err) => {
    logger.error(`access log write failed, lines are dropped from now on: ${err.message}`);
  });

  let lastTable = '';
  const starting = LocalPlatform.start({
    dir,
    listen: values.listen,
    port,
    // The admin API has no authentication: in local mode it never leaves the loopback interface.
    adminHost: '127.0.0.1',
    adminPort,
    queueLimit,
    stateDir,
    logger,
    ...(accessLog.sink === null ? {} : { accessLog: accessLog.sink }),
    onReconciled: (output, running) => {
      const table = formatServiceTable(output.services, values.listen, running.gateway.port);
      if (table !== lastTable) {
        lastTable = table;
        print(table);
      }
    },
    ...(live === null
      ? {}
      : {
          onScale: (key: string, replicas: number, readyNow: number) => {
            coldStarts.scaling(key, replicas, readyNow, systemClock.nowMs());
          },
        }),
  });
  const platform = await starting.catch((err: unknown) => {
    // A damaged state folder is the user's to resolve: one clear line, no stack.
    if (err instanceof StateDirError) throw new CliError(err.message, { cause: err });
    throw err;
  });
  lock.update({ gatewayPort: platform.gateway.port, adminPort: platform.admin.port });
  logger.info(
    `gateway listening on http://${values.listen}:${platform.gateway.port} (${platform.gateway.frontend} front end)`,
  );
  logger.info(
    `admin listening on http://127.0.0.1:${platform.admin.port} (dashboard at /, /metrics, /api/v1/*)`,
  );
  logger.info(`watching ${dir} for Service and ConfigMap YAML`);
  logger.info(`access log: ${accessLog.where}`);
  let stopping = false;
  const gatewayUrl = `http://${values.listen}:${platform.gateway.port}`;
  const adminUrl = `http://127.0.0.1:${platform.admin.port}`;
  live?.start((nowMs, width, height) => {
    const revisions = revisionViews(platform);
    const model = {
      gatewayUrl,
      adminUrl,
      stopping,
      services: serviceViews(platform),
      revisions,
      coldStarts: coldStarts.settle(revisions),
    };
    return renderProgress(model, { nowMs, width, height, color });
  });

  // SIGINT/SIGTERM drain; a second signal, or a drain that outlives its budget, kills at once.
  // 'exit' is the last resort so that no child outlives kedge, however kedge ends.
  process.on('exit', () => {
    platform.killAllNow();
  });
  return new Promise<number>((done) => {
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn(`${signal} again: stopping every revision now`);
        platform.killAllNow();
        process.exit(130);
      }
      stopping = true;
      logger.info(`${signal}: draining requests and stopping revisions (again to force)`);
      platform.stop().then(
        () => {
          lock.release();
          logger.info('stopped');
          live?.stop();
          done(0);
        },
        (err: unknown) => {
          logger.error(`shutdown failed: ${String(err)}`);
          platform.killAllNow();
          lock.release();
          live?.stop();
          done(1);
        },
      );
    };
    onSignal = stop;
    if (pendingSignal !== null) stop(pendingSignal);
  });
}

/** Takes the state folder's lock; a folder in use becomes one line and exit code 1. */
function lockStateDir(options: AcquireOptions, logger: Logger): StateLock {
  try {
    return StateLock.acquire({
      ...options,
      onTakeover: (previous, why) => {
        const whose =
          previous === null ? '' : ` of kedge up pid ${previous.pid} (started ${previous.startedAt})`;
        logger.warn(`took over the stale lock ${join(options.stateDir, LOCK_FILE)}${whose}: ${why}`);
      },
    });
  } catch (err) {
    if (err instanceof StateLockError) throw new CliError(err.message, { cause: err });
    throw err;
  }
}

/**
 * `--access-log`: undefined = `<state-dir>/access.log` (the folder is made if needed), `-` =
 * standard output (through the live view, so lines scroll above it), `off` = none, else a file
 * appended to. Opened now, so a bad path stops `kedge up` with the reason.
 */
function openAccessLog(
  option: string | undefined,
  stateDir: string,
  print: (text: string) => void,
  onError: (err: Error) => void,
): { sink: AccessLogSink | null; where: string } {
  if (option === 'off') return { sink: null, where: 'off' };
  if (option === '-') {
    const out = {
      write: (chunk: string | Buffer): boolean => {
        print(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
        return true;
      },
      writableLength: 0,
    };
    return { sink: new StreamAccessLogSink(out), where: 'standard output' };
  }
  let path: string;
  if (option === undefined) {
    path = join(stateDir, 'access.log');
    mkdirSync(stateDir, { recursive: true });
  } else path = resolve(option);
  try {
    return { sink: fileAccessLogSink(path, onError), where: path };
  } catch (err) {
    throw new CliError(
      `--access-log ${path}: cannot open it (${err instanceof Error ? err.message : String(err)}); pass a writable file, - for standard output, or off`,
      { cause: err },
    );
  }
}
