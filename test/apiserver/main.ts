// Runs the test API server on its own, for trying kubectl or a controller against it by hand:
//   node dist/test/apiserver/main.js --port 6443 [--kubeconfig PATH]
//   kubectl --kubeconfig=PATH get ksvc
import { parseArgs } from 'node:util';
import { startApiServer, type ApiServerOptions } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '6443' },
    kubeconfig: { type: 'string' },
    'max-event-history': { type: 'string' },
  },
});

const options: ApiServerOptions = { port: Number(values.port) };
if (values.kubeconfig !== undefined) options.kubeconfigPath = values.kubeconfig;
if (values['max-event-history'] !== undefined) options.maxEventHistory = Number(values['max-event-history']);
const server = await startApiServer(options);
process.stdout.write(
  `kedge test apiserver listening on ${server.url}\nkubeconfig: ${server.kubeconfigPath}\n`,
);
process.stdout.write(`try: kubectl --kubeconfig=${server.kubeconfigPath} get namespaces\n`);

const shutdown = (): void => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
