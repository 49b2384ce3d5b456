// `kedge autoscaler`: the cluster's KPA Deployment. It holds the credentials to scale revision
// Deployments and annotate their pods; snapshots come from the controller, stats from the gateways.
import { Registry, collectDefaultMetrics } from 'prom-client';
import { ClusterAutoscaler } from '../autoscaler/cluster-autoscaler.js';
import { AdminServer } from '../lib/admin-server.js';
import { systemClock } from '../lib/clock.js';
import { AUTOSCALER_STATS_PORT, CONTROLLER_SNAPSHOT_PORT } from '../lib/cluster-protocol.js';
import { loadKubeConfig } from '../lib/kube-config.js';
import { createLogger } from '../lib/log.js';
import { logOptions, parseFlags, parseBaseUrl, waitForSignal } from './data-plane-cli.js';
import { UsageError, parsePort } from './usage.js';

const HELP = `Usage: kedge autoscaler --controller URL [options]

Runs the cluster autoscaler: Knative's KPA over the gateways' stats, scaling each revision's
Deployment through its scale subresource, draining pods with the gateways before a scale-down.

Options:
      --controller URL     controller snapshot endpoint (e.g. http://kedge-controller:${CONTROLLER_SNAPSHOT_PORT})
      --kubeconfig PATH    kubeconfig file (default: in-cluster service account, else $KUBECONFIG
                           or ~/.kube/config)
      --stats-port N       where gateways POST stats and pokes (default: ${AUTOSCALER_STATS_PORT})
      --admin-port N       /healthz, /readyz, /metrics (default: 9090)
      --listen ADDR        address for both ports (default: 0.0.0.0)
      --log-level LEVEL    debug, info, warn or error (default: info)
      --log-format FMT     json or text (default: json)
  -h, --help               this text
`;

export async function runAutoscaler(argv: readonly string[]): Promise<number> {
  const { values } = parseFlags('autoscaler', argv, {
    controller: { type: 'string' },
    kubeconfig: { type: 'string' },
    'stats-port': { type: 'string', default: String(AUTOSCALER_STATS_PORT) },
    'admin-port': { type: 'string', default: '9090' },
    listen: { type: 'string', default: '0.0.0.0' },
    'log-level': { type: 'string', default: 'info' },
    'log-format': { type: 'string', default: 'json' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.controller === undefined) throw new UsageError('--controller URL is required');
  const controllerUrl = parseBaseUrl('controller', values.controller);
  const statsPort = parsePort('stats-port', values['stats-port']);
  const adminPort = parsePort('admin-port', values['admin-port']);
  const logger = createLogger(logOptions(values['log-level'], values['log-format'])).child({
    component: 'kedge-autoscaler',
  });

  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig(values.kubeconfig, 'autoscaler');
  } catch (err) {
    throw new UsageError(
      `cannot load a kubeconfig${values.kubeconfig === undefined ? '' : ` from ${values.kubeconfig}`}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kedge_process_' });
  const ca = await ClusterAutoscaler.start({
    kubeConfig,
    controllerUrl,
    host: values.listen,
    statsPort,
    clock: systemClock,
    logger,
    registry,
  });
  const admin = await AdminServer.start({
    host: values.listen,
    port: adminPort,
    registry,
    ready: () => ca.ready,
  });
  admin.get('/api/v1/autoscaler', () => ({ status: 200, body: ca.describe() }));
  logger.info('kedge autoscaler started', {
    statsPort: ca.stats.port,
    adminPort: admin.port,
    controller: controllerUrl,
    cluster: kubeConfig.getCurrentCluster()?.server ?? '',
  });

  const signal = await waitForSignal(logger, 'stopping the autoscaler');
  await ca.stop();
  await admin.close();
  logger.info('stopped', { signal });
  return 0;
}
