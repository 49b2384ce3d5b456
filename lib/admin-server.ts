// The admin endpoint: health, metrics and the JSON API. It never carries user traffic and, in local
// mode, binds to 127.0.0.1 only. node:http is plenty here: this is not the hot path.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export type AdminHandler = (req: IncomingMessage, url: URL) => AdminReply | Promise<AdminReply>;

export interface AdminReply {
  readonly status: number;
  /** Objects and arrays are sent as JSON; strings as text/plain. */
  readonly body: unknown;
  readonly contentType?: string;
}

export interface AdminServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  /** /readyz answers 200 only once this returns true (e.g. after the first reconcile). */
  readonly ready: () => boolean;
}

export class AdminServer {
  private readonly routes = new Map<string, AdminHandler>();
  private readonly prefixRoutes: [string, AdminHandler][] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(options: AdminServerOptions): Promise<AdminServer> {
    const holder: { admin?: AdminServer } = {};
    const server = createServer((req, res) => {
      const admin = holder.admin;
      if (admin === undefined) {
        reply(res, { status: 503, body: 'starting\n' });
        return;
      }
      admin.dispatch(req, res).catch((err: unknown) => {
        reply(res, { status: 500, body: `admin: ${err instanceof Error ? err.message : String(err)}\n` });
      });
    });
    server.listen(options.port, options.host);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const port = (server.address() as AddressInfo).port;
    const admin = new AdminServer(server, port);
    holder.admin = admin;
    admin.get('/healthz', () => ({ status: 200, body: 'ok\n' }));
    admin.get('/readyz', () =>
      options.ready()
        ? { status: 200, body: 'ready\n' }
        : { status: 503, body: 'not ready: first reconcile pending\n' },
    );
    admin.get('/metrics', async () => ({
      status: 200,
      body: await options.registry.metrics(),
      contentType: options.registry.contentType,
    }));
    return admin;
  }

  /** Exact path match. */
  get(path: string, handler: AdminHandler): void {
    this.routes.set(path, handler);
  }

  /** Prefix match, for paths that carry a name (`/api/v1/logs/`). Longest prefix wins. */
  getPrefix(prefix: string, handler: AdminHandler): void {
    this.prefixRoutes.push([prefix, handler]);
    this.prefixRoutes.sort((a, b) => b[0].length - a[0].length);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply(res, {
        status: 405,
        body: `admin: ${req.method ?? '?'} not allowed; the admin API is read-only\n`,
      });
      return;
    }
    let handler = this.routes.get(url.pathname);
    if (handler === undefined) {
      handler = this.prefixRoutes.find(([prefix]) => url.pathname.startsWith(prefix))?.[1];
    }
    if (handler === undefined) {
      reply(res, { status: 404, body: `admin: no such path ${url.pathname}\n` });
      return;
    }
    reply(res, await handler(req, url));
  }
}

function reply(res: ServerResponse, r: AdminReply): void {
  const isText = typeof r.body === 'string';
  const payload = typeof r.body === 'string' ? r.body : JSON.stringify(r.body, null, 2) + '\n';
  res.writeHead(r.status, {
    'content-type': r.contentType ?? (isText ? 'text/plain; charset=utf-8' : 'application/json'),
    'cache-control': 'no-store',
  });
  res.end(payload);
}
