// Small HTTP helpers for tests that talk to the test API server with raw requests. Every wait is
// bounded: a missing event fails the test within `timeoutMs` instead of hanging it.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { isObject, parseJson, type Json, type JsonObject } from './json.js';

export interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: JsonObject;
  text: string;
}

export interface RequestOptions {
  body?: Json | string;
  contentType?: string;
  accept?: string;
}

/** One request; the reply body parsed as a JSON object (`{}` when it is not one). */
export function call(
  baseUrl: string,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload =
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body);
    const headers: Record<string, string> = { Accept: options.accept ?? 'application/json' };
    if (payload !== undefined) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      // Node frames a DELETE body only with an explicit length (no chunked encoding by default).
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const req = httpRequest(new URL(path, baseUrl), { method, headers, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const parsed = parseJson(text);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: isObject(parsed) ? parsed : {},
          text,
        });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 5s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface WatchEvent {
  type: string;
  object: JsonObject;
}

/** A watch stream read line by line into a queue; `next()` takes the next event in order. */
export class WatchStream {
  readonly events: WatchEvent[] = [];
  status = 0;
  ended = false;
  private waiter: (() => void) | undefined;
  private readonly req: ReturnType<typeof httpRequest>;

  constructor(baseUrl: string, path: string) {
    let buffered = '';
    this.req = httpRequest(new URL(path, baseUrl), { headers: { Accept: 'application/json' } }, (res) => {
      this.status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          const parsed = parseJson(line);
          if (isObject(parsed) && typeof parsed['type'] === 'string' && isObject(parsed['object'])) {
            this.events.push({ type: parsed['type'], object: parsed['object'] });
          } else if (isObject(parsed)) {
            this.events.push({ type: 'HTTP', object: parsed });
          }
        }
        this.wake();
      });
      res.on('end', () => {
        this.ended = true;
        this.wake();
      });
    });
    this.req.on('error', () => {
      this.ended = true;
      this.wake();
    });
    this.req.end();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Resolves with the next event, or rejects after `timeoutMs` or when the stream has ended. */
  async next(timeoutMs = 2000): Promise<WatchEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.shift();
      if (e !== undefined) return e;
      if (this.ended) throw new Error('watch ended without another event');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no watch event within ${timeoutMs}ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Waits for the next event that is not a BOOKMARK. */
  async nextChange(timeoutMs = 2000): Promise<WatchEvent> {
    for (;;) {
      const e = await this.next(timeoutMs);
      if (e.type !== 'BOOKMARK') return e;
    }
  }

  close(): void {
    this.req.destroy();
  }
}

export function nameOf(obj: Json | undefined): string | undefined {
  if (!isObject(obj)) return undefined;
  const meta = obj['metadata'];
  return isObject(meta) && typeof meta['name'] === 'string' ? meta['name'] : undefined;
}

export function metaField(obj: JsonObject, field: string): Json | undefined {
  const meta = obj['metadata'];
  return isObject(meta) ? meta[field] : undefined;
}
