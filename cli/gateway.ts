// `kedge gateway`: the cluster's edge Deployment. No cluster credentials: snapshots come from the
// controller, stats go to the autoscaler (lib/cluster-protocol.ts).
import { hostname } from 'node:os';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { fileAccessLogSink, stdoutAccessLogSink } from '../gateway/access-log.js';
import type { AccessLogSink } from '../gateway/access-log.js';
import { ClusterGateway } from '../gateway/cluster-gateway.js';
import { AdminServer } from '../lib/admin-server.js';
import { systemClock } from '../lib/clock.js';
import { CONTROLLER_SNAPSHOT_PORT, AUTOSCALER_STATS_PORT } from '../lib/cluster-protocol.js';
import { createLogger } from '../lib/log.js';
import { logOptions, parseFlags, parseBaseUrl, parseSeconds, waitForSignal } from './data-plane-cli.js';
import { UsageError, parsePort } from './usage.js';

const HELP = `Usage: kedge gateway --controller URL --autoscaler URL [options]

Runs the cluster gateway: follows the controller's snapshots, proxies requests to revision pods
(probing each new pod before routing to it), reports load to the autoscaler every second and
pokes it at once on a cold start. Needs no cluster credentials.

Options:
      --controller URL     controller snapshot endpoint (e.g. http://kedge-controller:${CONTROLLER_SNAPSHOT_PORT})
      --autoscaler URL     autoscaler stats endpoint (e.g. http://kedge-autoscaler:${AUTOSCALER_STATS_PORT})
      --port N             traffic port (default: 8080)
      --admin-port N       /healthz, /readyz, /metrics (default: 9090)
      --listen ADDR        address for both ports (default: 0.0.0.0)
      --source NAME        name in stats reports (default: $POD_NAME, else the hostname)
      --drain-seconds N    after SIGTERM, keep serving this long while the Service drops this pod
                           (default: 5), then finish what is in flight and exit
      --shutdown-timeout N longest wait for in-flight requests after the drain (default: 300)
      --log-level LEVEL    debug, info, warn or error (default: info)
      --log-format FMT     json or text (default: json)
      --access-log PATH    one JSON line per request: - for standard output (default), off for
                           none, or a file appended to
  -h, --help               this text
`;

export async function runGateway(argv: readonly string[]): Promise<number> {
  const { values } = parseFlags('gateway', argv, {
    controller: { type: 'string' },
    autoscaler: { type: 'string' },
    port: { type: 'string', default: '8080' },
    'admin-port': { type: 'string', default: '9090' },
    listen: { type: 'string', default: '0.0.0.0' },
    source: { type: 'string' },
    'drain-seconds': { type: 'string', default: '5' },
    'shutdown-timeout': { type: 'string', default: '300' },
    'log-level': { type: 'string', default: 'info' },
    'log-format': { type: 'string', default: 'json' },
    'access-log': { type: 'string', default: '-' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.controller === undefined) throw new UsageError('--controller URL is required');
  if (values.autoscaler === undefined) throw new UsageError('--autoscaler URL is required');
  const controllerUrl = parseBaseUrl('controller', values.controller);
  const autoscalerUrl = parseBaseUrl('autoscaler', values.autoscaler);
  const port = parsePort('port', values.port);
  const adminPort = parsePort('admin-port', values['admin-port']);
  const drainMs = parseSeconds('drain-seconds', values['drain-seconds']) * 1000;
  const shutdownMs = parseSeconds('shutdown-timeout', values['shutdown-timeout']) * 1000;
  const source = values.source ?? process.env['POD_NAME'] ?? hostname();
  const logger = createLogger(logOptions(values['log-level'], values['log-format'])).child({
    component: 'kedge-gateway',
    source,
  });

  const accessLogPath = values['access-log'];
  // Opened before anything starts, so a bad path stops the command with the reason.
  let accessLog: AccessLogSink | null = null;
  if (accessLogPath === '-') accessLog = stdoutAccessLogSink();
  else if (accessLogPath !== 'off') {
    try {
      accessLog = fileAccessLogSink(accessLogPath, (err) => {
        logger.error('access log write failed, lines are dropped from now on', { error: err.message });
      });
    } catch (err) {
      throw new UsageError(
        `--access-log ${accessLogPath}: cannot open it (${err instanceof Error ? err.message : String(err)}); pass a writable file, - or off`,
      );
    }
  }

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kedge_process_' });
  const cg = await ClusterGateway.start({
    controllerUrl,
    autoscalerUrl,
    source,
    host: values.listen,
    port,
    clock: systemClock,
    logger,
    registry,
  });
  // ClusterGatewayOptions has no access-log field: attached once the gateway is up (before the
  // first snapshot, so before any request is routed).
  await cg.gateway.setAccessLog(accessLog);
  const admin = await AdminServer.start({
    host: values.listen,
    port: adminPort,
    registry,
    ready: () => cg.ready,
  });
  logger.info('kedge gateway started', {
    port: cg.port,
    adminPort: admin.port,
    frontend: cg.gateway.frontend,
    controller: controllerUrl,
    autoscaler: autoscalerUrl,
  });

  const signal = await waitForSignal(logger, 'draining: not ready, finishing requests in flight');
  await cg.shutdown(drainMs, shutdownMs);
  await admin.close();
  logger.info('stopped', { signal });
  return 0;
}
