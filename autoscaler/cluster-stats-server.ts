// The autoscaler's side of lib/cluster-protocol.ts: POST /v1/stats and POST /v1/poke from the
// gateways. node:http is plenty: a few requests per second per gateway, never the hot path.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PokeRequest, StatsReport } from '../lib/cluster-protocol.js';
import { POKE_PATH, STATS_PATH } from '../lib/cluster-protocol.js';
import type { RevisionStat } from '../lib/stats.js';

/** A report lists revisions and endpoints; a megabyte is thousands of them. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface StatsHandlers {
  readonly stats: (report: StatsReport) => void;
  readonly poke: (poke: PokeRequest) => void;
}

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/** Validates a StatsReport at the trust boundary; the message names the first bad field. */
export function parseStatsReport(body: unknown): Parsed<StatsReport> {
  if (!isRecord(body)) return { ok: false, message: 'body is not a JSON object' };
  const { source, stats, inFlight } = body;
  if (typeof source !== 'string' || source === '')
    return { ok: false, message: 'source: want a gateway name' };
  if (!Array.isArray(stats)) return { ok: false, message: 'stats: want a list' };
  const out: RevisionStat[] = [];
  for (const [i, s] of stats.entries()) {
    if (
      !isRecord(s) ||
      typeof s['revision'] !== 'string' ||
      !isCount(s['averageConcurrency']) ||
      !isCount(s['requestCount'])
    ) {
      return {
        ok: false,
        message: `stats[${i}]: want {revision, averageConcurrency ≥ 0, requestCount ≥ 0}`,
      };
    }
    out.push({
      revision: s['revision'],
      averageConcurrency: s['averageConcurrency'],
      requestCount: s['requestCount'],
    });
  }
  if (!isRecord(inFlight)) return { ok: false, message: 'inFlight: want an object of endpoint id → count' };
  for (const [id, n] of Object.entries(inFlight)) {
    if (!isCount(n)) return { ok: false, message: `inFlight[${id}]: want a count ≥ 0` };
  }
  return { ok: true, value: { source, stats: out, inFlight: inFlight as Record<string, number> } };
}

export function parsePokeRequest(body: unknown): Parsed<PokeRequest> {
  if (!isRecord(body)) return { ok: false, message: 'body is not a JSON object' };
  const { source, revision } = body;
  if (typeof source !== 'string') return { ok: false, message: 'source: want a gateway name' };
  if (typeof revision !== 'string' || !revision.includes('/')) {
    return { ok: false, message: 'revision: want a revision key "namespace/name"' };
  }
  return { ok: true, value: { source, revision } };
}

export class StatsServer {
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(host: string, port: number, handlers: StatsHandlers): Promise<StatsServer> {
    const server = createServer((req, res) => {
      handle(req, res, handlers);
    });
    // Gateways keep their connection open; idle ones are closed well after the 1 s report period.
    server.keepAliveTimeout = 65_000;
    server.listen(port, host);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    return new StatsServer(server, (server.address() as AddressInfo).port);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => {
        resolve();
      });
      this.server.closeAllConnections();
    });
  }
}

function send(res: ServerResponse, status: number, text?: string): void {
  if (text === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text + '\n');
}

function handle(req: IncomingMessage, res: ServerResponse, handlers: StatsHandlers): void {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== STATS_PATH && path !== POKE_PATH) {
    send(res, 404, `autoscaler: no such path ${path ?? ''}; gateways POST ${STATS_PATH} and ${POKE_PATH}`);
    req.resume();
    return;
  }
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    send(res, 405, `autoscaler: ${req.method ?? '?'} ${path} not allowed; use POST`);
    req.resume();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(chunk);
  });
  req.on('end', () => {
    if (tooLarge) {
      send(res, 413, `autoscaler: body over ${MAX_BODY_BYTES} bytes`);
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      send(res, 400, 'autoscaler: body is not JSON');
      return;
    }
    if (path === STATS_PATH) {
      const parsed = parseStatsReport(body);
      if (!parsed.ok) {
        send(res, 400, `autoscaler: stats report: ${parsed.message}`);
        return;
      }
      handlers.stats(parsed.value);
    } else {
      const parsed = parsePokeRequest(body);
      if (!parsed.ok) {
        send(res, 400, `autoscaler: poke: ${parsed.message}`);
        return;
      }
      handlers.poke(parsed.value);
    }
    send(res, 204);
  });
}
