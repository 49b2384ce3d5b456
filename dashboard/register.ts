// The dashboard on the admin endpoint: the page at `/`, its script and style under `/dashboard/`,
// and the JSON it polls besides /api/v1/services, /revisions and /logs: /api/v1/info, /history,
// /errors and /docs. It also owns the 2 s sampler that feeds the history. Read-only, like the rest
// of the admin API; no build step: the script is this folder's ui/*.ts, compiled by tsc with the
// rest of kedge and served from dist.
import { readFile } from 'node:fs/promises';
import { revisionViews } from '../cli/admin-api.js';
import type { LocalPlatform } from '../cli/local-platform.js';
import type { AdminReply, AdminServer } from '../lib/admin-server.js';
import type { DocsReply, ErrorsReply, HistoryReply, InfoReply } from './api-types.js';
import {
  HISTORY_WINDOW_MS,
  MetricsHistory,
  SAMPLE_INTERVAL_MS,
  type RevisionSample,
  type RevisionSeries,
} from './history.js';
import { RecentErrorLog, type RecentErrors } from './recent-errors.js';
import { annotatedServices, serviceDoc, type AnnotatedService } from './service-docs.js';
import { DASHBOARD_CSS, DASHBOARD_HTML } from './ui/page.js';

export interface DashboardOptions {
  /**
   * The source objects (SourceObject.object: the unparsed YAML) whose Service metadata.annotations
   * document each service (kedge.dev/description, ...). Without it, no service has docs.
   */
  readonly serviceObjects?: () => readonly { readonly object: unknown }[];
  /** Where the gateway records its errors; default: an empty log of this dashboard's own. */
  readonly errors?: RecentErrors;
  /** Wall-clock ms (default Date.now): the chart's time axis is clock time. */
  readonly now?: () => number;
  /** Sampling period (default 2 s); tests pass their own and call `sampleNow()` instead. */
  readonly sampleIntervalMs?: number;
}

export interface Dashboard {
  readonly history: MetricsHistory;
  readonly errors: RecentErrors;
  /** Takes one sample at once (the sampler also runs every sampleIntervalMs). */
  sampleNow(): void;
  /** Stops the sampler; the routes stay (the admin server goes away with the platform). */
  stop(): void;
}

const ERRORS_DEFAULT_LIMIT = 10;
const ERRORS_MAX_LIMIT = 50;
/** The compiled page scripts servable under /dashboard/: nothing else in dist is reachable. */
const SCRIPTS = new Set(['app.js', 'chart.js', 'format.js']);
const UI_DIR = new URL('./ui/', import.meta.url);

const JS = 'text/javascript; charset=utf-8';

export function registerDashboard(
  admin: AdminServer,
  platform: LocalPlatform,
  options: DashboardOptions = {},
): Dashboard {
  const now = options.now ?? Date.now;
  const history = new MetricsHistory();
  const errors = options.errors ?? new RecentErrorLog();
  const scripts = new Map<string, string>();

  const sampleNow = (): void => {
    history.sample(now(), samples(platform));
  };
  const timer = setInterval(sampleNow, options.sampleIntervalMs ?? SAMPLE_INTERVAL_MS);
  timer.unref();

  const page = (): AdminReply => ({
    status: 200,
    body: DASHBOARD_HTML,
    contentType: 'text/html; charset=utf-8',
  });
  admin.get('/', page);
  admin.get('/index.html', page);
  admin.get('/dashboard/style.css', () => ({
    status: 200,
    body: DASHBOARD_CSS,
    contentType: 'text/css; charset=utf-8',
  }));
  admin.getPrefix('/dashboard/', async (_req, url) => {
    const file = url.pathname.slice('/dashboard/'.length);
    if (!SCRIPTS.has(file)) return { status: 404, body: `admin: no such path ${url.pathname}\n` };
    let body = scripts.get(file);
    if (body === undefined) {
      body = await readFile(new URL(file, UI_DIR), 'utf8');
      // Source maps point at ../../dashboard/ui/*.ts, which the admin server does not serve.
      body = body.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n');
      scripts.set(file, body);
    }
    return { status: 200, body, contentType: JS };
  });

  admin.get('/api/v1/info', () => {
    const body: InfoReply = {
      gatewayPort: platform.gateway.port,
      sampleIntervalMs: SAMPLE_INTERVAL_MS,
      windowMs: HISTORY_WINDOW_MS,
      errorsConnected: options.errors !== undefined,
      nowMs: now(),
    };
    return { status: 200, body };
  });

  admin.get('/api/v1/history', (_req, url) => {
    const revision = url.searchParams.get('revision');
    const sinceRaw = url.searchParams.get('since');
    const since = sinceRaw === null || sinceRaw === '' ? Number.NEGATIVE_INFINITY : Number(sinceRaw);
    if (Number.isNaN(since)) {
      return { status: 400, body: `history: since must be a time in ms, got "${sinceRaw ?? ''}"\n` };
    }
    let series: RevisionSeries[];
    if (revision === null || revision === '') {
      series = history.revisions().flatMap((r) => history.series(r, since) ?? []);
    } else {
      const one = history.series(revision, since);
      if (one === undefined) {
        return {
          status: 404,
          body: `history: no revision "${revision}"; name it as namespace/name, as in /api/v1/revisions\n`,
        };
      }
      series = [one];
    }
    const body: HistoryReply = {
      nowMs: now(),
      sampleIntervalMs: SAMPLE_INTERVAL_MS,
      windowMs: HISTORY_WINDOW_MS,
      revisions: series,
    };
    return { status: 200, body };
  });

  admin.get('/api/v1/errors', (_req, url) => {
    const service = url.searchParams.get('service');
    const limitRaw = url.searchParams.get('limit');
    const limit = limitRaw === null || limitRaw === '' ? ERRORS_DEFAULT_LIMIT : Number(limitRaw);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > ERRORS_MAX_LIMIT) {
      return { status: 400, body: `errors: limit must be 1..${ERRORS_MAX_LIMIT}, got "${limitRaw ?? ''}"\n` };
    }
    const keys = service === null ? errors.services() : [service];
    const body: ErrorsReply = keys.map((s) => ({ service: s, errors: errors.recent(s, limit) }));
    return { status: 200, body };
  });

  admin.get('/api/v1/docs', () => {
    const body: DocsReply = documented(platform, options.serviceObjects).map(serviceDoc);
    return { status: 200, body };
  });

  return {
    history,
    errors,
    sampleNow,
    stop: () => {
      clearInterval(timer);
    },
  };
}

function samples(platform: LocalPlatform): RevisionSample[] {
  return revisionViews(platform).map((r) => ({
    revision: `${r.namespace}/${r.name}`,
    observedConcurrency: r.inFlight + r.queued,
    stableConcurrency: r.stableConcurrency,
    desiredReplicas: r.desiredReplicas,
    readyReplicas: r.readyReplicas,
    panic: r.panic,
  }));
}

/** Every Service the platform reports, with the annotations of its source object (none if unknown). */
function documented(
  platform: LocalPlatform,
  serviceObjects: (() => readonly { readonly object: unknown }[]) | undefined,
): AnnotatedService[] {
  const fromSource = new Map(
    annotatedServices(serviceObjects?.() ?? []).map((s) => [`${s.namespace}/${s.name}`, s.annotations]),
  );
  return (platform.current?.services ?? []).map((s) => ({
    namespace: s.namespace,
    name: s.name,
    annotations: fromSource.get(`${s.namespace}/${s.name}`) ?? {},
  }));
}
