// uWebSockets.js front end (perf-baseline: twice node:http's throughput with the same client).
// Rules from perf-baseline §4 and the uWS docs: copy the stack-allocated request synchronously,
// attach onAborted before any async step, cork every write made from a callback, tryEnd() with
// getWriteOffset() resend from onWritable, pause()/resume() for request bodies, never touch res
// after abort/end, endWithoutBody() with no argument (content-length written by us) for HEAD.
import { STATUS_CODES } from 'node:http';
import { createRequire } from 'node:module';
import type {
  HttpRequest,
  HttpResponse,
  TemplatedApp,
  us_listen_socket,
} from '@trufflesuite/uws-js-unofficial';
import type { GatewayCore } from '../core.js';
import type { ResponseHead } from '../headers.js';
import type { Downstream, DownstreamEvents, IncomingRequest } from './types.js';
import type { Frontend } from './node-http.js';

interface UwsModule {
  App(): TemplatedApp & { close(): void };
  us_listen_socket_close(s: us_listen_socket): void;
  us_socket_local_port(s: us_listen_socket): number;
}

/**
 * Loads the native binary directly: the package's main entry falls back to a slow JS shim, and
 * our fallback is the node:http front end instead. Throws when no binary fits this platform/ABI.
 */
export function loadUws(): UwsModule {
  const require = createRequire(import.meta.url);
  const file = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  return require(`@trufflesuite/uws-js-unofficial/binaries/${file}`) as UwsModule;
}

const statusLines = new Map<number, string>();
function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
    statusLines.set(status, line);
  }
  return line;
}

class UwsDownstream implements Downstream {
  events: DownstreamEvents | null = null;
  /** Aborted, ended or closed: res must not be touched again. */
  done = false;
  private bodyPaused = false;
  /** Content-Length of the response being streamed with tryEnd(); -1 = chunked write(). */
  private total = -1;
  /** A chunk tryEnd() could not take in full, and the write offset it started at. */
  private pending: Buffer | null = null;
  private pendingOffset = 0;
  private endRequested = false;
  /** The head waits for the first chunk so both leave in one write (flushed by a microtask otherwise). */
  private headStatus = 0;
  private headHeaders: Buffer[] | null = null;
  private readonly flushHead = (): void => {
    if (this.headHeaders === null || this.done) return;
    // uWS sends the head's bytes when the cork ends; the blank line that closes it leaves with the
    // first body chunk (an empty write() would be ignored: a zero-size chunk ends a response).
    this.res.cork(() => {
      this.writeHead();
    });
  };

  constructor(readonly res: HttpResponse) {}

  aborted(): void {
    this.done = true;
    const ev = this.events;
    this.events = null;
    ev?.onClientAbort();
  }

  respond(status: number, headers: readonly string[], body: string): void {
    if (this.done) return;
    this.done = true;
    const res = this.res;
    res.cork(() => {
      if (this.bodyPaused) res.resume();
      res.writeStatus(statusLine(status));
      for (let i = 0; i + 1 < headers.length; i += 2)
        res.writeHeader(headers[i] as string, headers[i + 1] as string);
      res.end(body);
    });
  }

  head(status: number, head: ResponseHead, bodyless: boolean): void {
    if (this.done) return;
    const res = this.res;
    if (bodyless) {
      this.done = true;
      res.cork(() => {
        if (this.bodyPaused) res.resume();
        res.writeStatus(statusLine(status));
        const h = head.headers;
        for (let i = 0; i + 1 < h.length; i += 2) res.writeHeader(h[i] as Buffer, h[i + 1] as Buffer);
        // perf-baseline §4: endWithoutBody(n) leaves the socket expecting n bytes; write the
        // length ourselves (HEAD and 304 describe the selected representation) and pass nothing.
        if (head.contentLength >= 0 && status !== 204)
          res.writeHeader('content-length', String(head.contentLength));
        res.endWithoutBody();
      });
      return;
    }
    this.total = head.contentLength;
    this.headStatus = status;
    this.headHeaders = head.headers;
    res.onWritable((offset) => this.writable(offset));
    queueMicrotask(this.flushHead);
  }

  /** pre: inside cork. */
  private writeHead(): void {
    const h = this.headHeaders;
    if (h === null) return;
    this.headHeaders = null;
    const res = this.res;
    res.writeStatus(statusLine(this.headStatus));
    for (let i = 0; i + 1 < h.length; i += 2) res.writeHeader(h[i] as Buffer, h[i + 1] as Buffer);
  }

  write(chunk: Buffer): boolean {
    if (this.done) return false;
    let ok = true;
    this.res.cork(() => {
      this.writeHead();
      ok = this.writeCorked(chunk);
    });
    return ok;
  }

  private writeCorked(chunk: Buffer): boolean {
    const res = this.res;
    if (this.total < 0) return res.write(chunk); // write() keeps what it could not send
    // tryEnd() does not keep what it could not send: remember the chunk and where it started.
    const start = res.getWriteOffset();
    const [ok, responded] = res.tryEnd(chunk, this.total);
    if (responded) {
      this.done = true;
      return true;
    }
    if (!ok) {
      this.pending = chunk;
      this.pendingOffset = start;
    }
    return ok;
  }

  private writable(offset: number): boolean {
    if (this.done) return true;
    const pending = this.pending;
    if (pending === null) {
      // write() drained.
      this.events?.onWritable();
      if (this.endRequested) this.end();
      return true;
    }
    const [ok, responded] = this.res.tryEnd(pending.subarray(offset - this.pendingOffset), this.total);
    if (responded) {
      this.done = true;
      this.pending = null;
      return true;
    }
    if (ok) {
      this.pending = null;
      this.events?.onWritable();
    }
    return ok;
  }

  end(): void {
    if (this.done) return;
    if (this.pending !== null) {
      // The last chunk is still draining; onWritable finishes the response.
      this.endRequested = true;
      return;
    }
    this.done = true;
    const res = this.res;
    res.cork(() => {
      if (this.bodyPaused) res.resume();
      this.writeHead();
      if (this.total <= 0) res.end();
      else res.close(); // unreachable: undici rejects a body shorter than its Content-Length
    });
  }

  cut(): void {
    if (this.done) return;
    this.done = true;
    this.events = null;
    this.res.close();
  }

  pauseBody(): void {
    if (this.done || this.bodyPaused) return;
    this.bodyPaused = true;
    this.res.pause();
  }

  resumeBody(): void {
    if (this.done || !this.bodyPaused) return;
    this.bodyPaused = false;
    this.res.resume();
  }
}

function onRequest(core: GatewayCore, res: HttpResponse, req: HttpRequest): void {
  // Copy everything from the stack-allocated request first.
  const method = req.getCaseSensitiveMethod();
  // getQuery() returns undefined (not '') when the URL has no query string.
  const query = req.getQuery() as string | undefined;
  const url = req.getUrl();
  const headers: string[] = [];
  let host = '';
  let contentLength = '';
  let chunked = false as boolean;
  req.forEach((k, v) => {
    headers.push(k, v);
    if (k === 'host') host = v;
    else if (k === 'content-length') contentLength = v;
    else if (k === 'transfer-encoding') chunked = true;
  });
  const ds = new UwsDownstream(res);
  res.onAborted(() => {
    ds.aborted();
  });
  const hasBody = chunked || (contentLength !== '' && contentLength !== '0');
  const incoming: IncomingRequest = {
    method,
    path: query === undefined || query === '' ? url : `${url}?${query}`,
    host,
    headers,
    clientIp: Buffer.from(res.getRemoteAddressAsText()).toString('latin1'),
    hasBody,
  };
  if (hasBody) {
    // The body waits until undici asks for it (request body backpressure); onData must be set now.
    ds.pauseBody();
    res.onData((ab, isLast) => {
      const ev = ds.events;
      // The ArrayBuffer is neutered when this callback returns: copy it.
      if (ev !== null) ev.onBodyChunk(Buffer.copyBytesFrom(new Uint8Array(ab)), isLast);
    });
  }
  core.handle(incoming, ds);
  // Answered at once (404, 503 ...): let uWS read and drop the rest of the body.
  if (hasBody && ds.events === null && !ds.done) ds.resumeBody();
}

export function startUws(core: GatewayCore, host: string, port: number): Promise<Frontend> {
  const uws = loadUws();
  const app = uws.App();
  app.any('/*', (res, req) => {
    onRequest(core, res, req);
  });
  return new Promise<Frontend>((resolve, reject) => {
    app.listen(host, port, (listenSocket) => {
      if (listenSocket === false) {
        reject(new Error(`uWS could not listen on ${host}:${port} (address in use or not permitted)`));
        return;
      }
      resolve({
        kind: 'uws',
        port: uws.us_socket_local_port(listenSocket),
        close: () => {
          uws.us_listen_socket_close(listenSocket);
          app.close();
          return Promise.resolve();
        },
      });
    });
  });
}
