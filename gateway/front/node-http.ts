// node:http front end: the fallback when the uWS binary cannot load, and the one that runs the
// same conformance suite. Same contract as front/uws.ts; node:http does the framing itself.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayCore } from '../core.js';
import type { ResponseHead } from '../headers.js';
import type { Downstream, DownstreamEvents, IncomingRequest } from './types.js';

export interface Frontend {
  readonly kind: 'uws' | 'node';
  readonly port: number;
  close(): Promise<void>;
}

class NodeDownstream implements Downstream {
  events: DownstreamEvents | null = null;
  done = false;
  private headPending = false;
  private readonly flushHead = (): void => {
    // Nothing was written in the same turn as the head: send it now (SSE, long polls).
    if (this.headPending && !this.done) {
      this.headPending = false;
      this.res.flushHeaders();
    }
  };

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {}

  closed(): void {
    if (this.done) return;
    this.done = true;
    const ev = this.events;
    this.events = null;
    ev?.onClientAbort();
  }

  respond(status: number, headers: readonly string[], body: string): void {
    if (this.done) return;
    this.done = true;
    const res = this.res;
    res.writeHead(status, [...headers, 'content-length', String(Buffer.byteLength(body))]);
    res.end(body);
  }

  head(status: number, head: ResponseHead, bodyless: boolean): void {
    if (this.done) return;
    const h = head.headers;
    const flat: string[] = new Array<string>(h.length);
    for (let i = 0; i < h.length; i++) flat[i] = (h[i] as Buffer).toString('latin1');
    if (head.contentLength >= 0) flat.push('content-length', String(head.contentLength));
    // node:http adds Date only when none is set: keep the replica's.
    if (head.date !== null) flat.push('date', head.date.toString('latin1'));
    const res = this.res;
    res.writeHead(status, flat);
    if (bodyless) {
      this.done = true;
      res.end();
      return;
    }
    res.on('drain', () => {
      this.events?.onWritable();
    });
    this.headPending = true;
    queueMicrotask(this.flushHead);
  }

  write(chunk: Buffer): boolean {
    if (this.done) return false;
    this.headPending = false;
    return this.res.write(chunk);
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    this.headPending = false;
    this.res.end();
  }

  cut(): void {
    if (this.done) return;
    this.done = true;
    this.events = null;
    this.res.destroy();
  }

  pauseBody(): void {
    if (!this.done) this.req.pause();
  }

  resumeBody(): void {
    if (!this.done) this.req.resume();
  }
}

function onRequest(core: GatewayCore, req: IncomingMessage, res: ServerResponse): void {
  const raw = req.rawHeaders;
  const headers: string[] = new Array<string>(raw.length);
  for (let i = 0; i < raw.length; i += 2) {
    headers[i] = (raw[i] as string).toLowerCase();
    headers[i + 1] = raw[i + 1] as string;
  }
  const cl = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
  const incoming: IncomingRequest = {
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    host: req.headers.host ?? '',
    headers,
    clientIp: req.socket.remoteAddress ?? '',
    hasBody,
  };
  const ds = new NodeDownstream(req, res);
  res.on('close', () => {
    if (!res.writableFinished) ds.closed();
  });
  if (hasBody) {
    // Paused before the listener, so adding it does not start the flow; undici's reads resume it.
    req.pause();
    req.on('data', (chunk: Buffer) => {
      ds.events?.onBodyChunk(chunk, false);
    });
    req.on('end', () => {
      ds.events?.onBodyChunk(Buffer.alloc(0), true);
    });
  }
  core.handle(incoming, ds);
  if (ds.events === null && !req.complete) req.resume(); // answered at once: drain and drop the body
}

export function startNode(core: GatewayCore, host: string, port: number): Promise<Frontend> {
  // Our own per-revision timers govern requests; node's requestTimeout would cut long queue waits.
  const server = createServer({ requestTimeout: 0, keepAliveTimeout: 5_000 }, (req, res) => {
    onRequest(core, req, res);
  });
  return new Promise<Frontend>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      resolve({
        kind: 'node',
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => {
              done();
            });
            server.closeAllConnections();
          }),
      });
    });
  });
}
