// A gateway process for gateway/testing/bench-proxy.ts: routes hello.default.example.com to one
// backend. Usage: node dist/gateway/testing/bench-server.js <port> <backendPort>
// (KEDGE_FRONTEND=uws|node, KEDGE_UPSTREAM=raw|undici pick the configuration;
// KEDGE_BENCH_ACCESS_LOG=DIR turns the access log on, to DIR/access-<port>.log; bench-proxy.ts
// sets it for `+log` configurations).
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { fileAccessLogSink } from '../access-log.js';
import { systemClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/log.js';
import { Gateway } from '../gateway.js';
import { rev, route, stateOf } from './fixtures.js';

const port = Number(process.argv[2] ?? '0');
const backendPort = Number(process.argv[3] ?? '0');
const logDir = process.env['KEDGE_BENCH_ACCESS_LOG'] ?? '';
const gw = await Gateway.start({
  host: '127.0.0.1',
  port,
  clock: systemClock,
  stats: { record: () => undefined, poke: () => undefined },
  logger: silentLogger,
  registry: new Registry(),
  ...(logDir === ''
    ? {}
    : {
        accessLog: fileAccessLogSink(join(logDir, `access-${port}.log`), (err) => {
          process.stderr.write(`access log: ${err.message}\n`);
        }),
      }),
});
gw.applyState(stateOf([rev('hello-00001')], [route('hello.default.example.com', [['hello-00001', 100]])]));
gw.setEndpoints('default/hello-00001', [{ id: 'e1', host: '127.0.0.1', port: backendPort }]);
process.stdout.write(
  `ready ${gw.frontend} ${gw.upstream} ${gw.port} access log ${logDir === '' ? 'off' : 'on'}\n`,
);
const stop = (): void => {
  void gw.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
