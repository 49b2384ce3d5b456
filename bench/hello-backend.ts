// The Node hello world of the load bench: the baseline's hello.js (node:http, 13-byte body). It
// is the "direct-node" row and the replica of the "kedge-up" row. Unlike examples/helloworld-nodejs
// it logs nothing per request, so kedge-up measures the platform, not its log plumbing.
import { createServer } from 'node:http';

const port = Number(process.env['PORT'] ?? '8080');
const body = Buffer.from('Hello World!\n');

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
// Longer than any pool's idle timeout, so a pooled upstream socket is never closed under the
// proxy's feet between runs (perf-baseline §7.10: stale pooled connections race with reuse).
server.keepAliveTimeout = 120_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`hello-backend listening on 127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
