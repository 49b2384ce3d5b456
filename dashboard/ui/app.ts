// The dashboard page: polls the admin JSON API every 2 s and keeps one card per Service up to date.
// Elements are created once per service and revision and patched in place (a part is rebuilt only
// when its data changed), so keyboard focus, open log panels and scrolling survive every refresh.
// Every text goes in through textContent, and links only ever get http(s) URLs.
import type { LogsReply, RevisionView, ServiceView } from '../../cli/admin-api.js';
import type { DocsReply, ErrorsReply, HistoryReply, InfoReply } from '../api-types.js';
import type { RecentError } from '../recent-errors.js';
import type { ServiceDoc } from '../service-docs.js';
import { chartModel } from './chart.js';
import type { DetailsEl, Doc, El, InputEl } from './dom.js';
import { browseUrl, failureInWords, formatAge, formatClock, formatNumber, matchesSearch } from './format.js';

declare const document: Doc;

const POLL_MS = 2_000;
const LOG_LINES = 15;
const ERRORS_SHOWN = 8;
const SVG = 'http://www.w3.org/2000/svg';

type HistorySeries = HistoryReply['revisions'][number];

interface Data {
  readonly info: InfoReply;
  readonly services: readonly ServiceView[];
  readonly revisions: readonly RevisionView[];
  readonly history: HistoryReply;
  readonly errors: ReadonlyMap<string, readonly RecentError[]>;
  readonly docs: ReadonlyMap<string, ServiceDoc>;
}

interface RevisionCard {
  readonly root: El;
  readonly facts: El;
  readonly chart: El;
  readonly failure: El;
  readonly logs: DetailsEl;
  readonly logsBody: El;
}

interface ServiceCard {
  readonly root: El;
  readonly head: El;
  readonly reason: El;
  readonly doc: El;
  readonly traffic: El;
  readonly revisionList: El;
  readonly noRevisions: El;
  readonly revisions: Map<string, RevisionCard>;
  readonly errors: El;
  /** What the search matches against. */
  fields: readonly string[];
}

const cards = new Map<string, ServiceCard>();
/** The data each part was last built from, so unchanged parts are left alone. */
const built = new WeakMap<El, string>();
let logsAvailable = true;

// ---- small DOM helpers ----

function h(tag: string, props: Readonly<Record<string, string>> = {}, ...children: (El | string)[]): El {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') el.className = v;
    else el.setAttribute(k, v);
  }
  el.append(...children);
  return el;
}

function svg(
  tag: string,
  attrs: Readonly<Record<string, string | number>> = {},
  ...children: (El | string)[]
): El {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

function link(href: string, text: string, props: Readonly<Record<string, string>> = {}): El {
  return /^https?:\/\//.test(href) || href.startsWith('/')
    ? h('a', { href, ...props }, text)
    : h('span', {}, text);
}

/** Rebuilds el's children only when `data` differs from what it was last built from. */
function patch(el: El, data: unknown, build: () => readonly (El | string)[]): void {
  const sig = JSON.stringify(data);
  if (built.get(el) === sig) return;
  built.set(el, sig);
  el.replaceChildren(...build());
}

/**
 * Puts child right after `after` (first when null) unless it is there already: moving a node that
 * holds the keyboard focus would drop the focus, so nodes in place are never touched.
 */
function place(parent: El, child: El, after: El | null): void {
  if (after === null) {
    if (parent.firstElementChild !== child) parent.prepend(child);
  } else if (after.nextElementSibling !== child) after.after(child);
}

function byId(id: string): El {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`dashboard: the page has no #${id}`);
  return el;
}

function domId(prefix: string, key: string): string {
  return `${prefix}-${key.replace(/[^a-zA-Z0-9_-]/g, '-')}`;
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${(await res.text()).trim()}`);
  return (await res.json()) as T;
}

// ---- data ----

async function load(): Promise<Data> {
  const [info, services, revisions, history, errors, docs] = await Promise.all([
    getJson<InfoReply>('/api/v1/info'),
    getJson<ServiceView[]>('/api/v1/services'),
    getJson<RevisionView[]>('/api/v1/revisions'),
    getJson<HistoryReply>('/api/v1/history'),
    getJson<ErrorsReply>(`/api/v1/errors?limit=${ERRORS_SHOWN}`),
    getJson<DocsReply>('/api/v1/docs'),
  ]);
  return {
    info,
    services,
    revisions,
    history,
    errors: new Map(errors.map((e) => [e.service, e.errors])),
    docs: new Map(docs.map((d) => [`${d.namespace}/${d.name}`, d])),
  };
}

// ---- service card ----

function serviceCard(key: string): ServiceCard {
  const headingId = domId('svc', key);
  const head = h('div', { class: 'service-head' });
  const reason = h('div');
  const doc = h('div', { class: 'doc' });
  const traffic = h('div', { class: 'traffic' });
  const revisionList = h('div');
  const noRevisions = h('p', { class: 'none' }, 'No revisions yet.');
  const errors = h('div', { class: 'errors' });
  const root = h(
    'section',
    { class: 'service', 'aria-labelledby': headingId, 'data-service': key },
    head,
    reason,
    h('div', { class: 'cols' }, doc, traffic),
    h('div', { class: 'revisions' }, h('h3', {}, 'Revisions'), revisionList, noRevisions),
    errors,
  );
  root.id = domId('card', key);
  return {
    root,
    head,
    reason,
    doc,
    traffic,
    revisionList,
    noRevisions,
    revisions: new Map(),
    errors,
    fields: [],
  };
}

function renderHead(card: ServiceCard, key: string, s: ServiceView, gatewayPort: number): void {
  const ready = s.conditions.find((c) => c.type === 'Ready');
  patch(card.head, { s: [s.name, s.namespace, s.url, s.ready, ready?.status], gatewayPort }, () => {
    const badge =
      ready?.status === 'Unknown'
        ? h('span', { class: 'badge warn' }, 'Not ready yet')
        : s.ready
          ? h('span', { class: 'badge ok' }, 'Ready')
          : h('span', { class: 'badge bad' }, 'Not ready');
    const urls = h('ul', { class: 'urls', 'aria-label': 'Addresses' });
    if (s.url !== '') {
      const local = browseUrl(s.url, gatewayPort);
      urls.append(
        h('li', {}, 'URL ', h('code', {}, s.url)),
        h('li', {}, local === '' ? '' : link(local, `Open ${s.name}`, { 'data-role': 'open' })),
      );
    } else urls.append(h('li', { class: 'muted' }, 'No URL yet'));
    return [
      h('h2', { id: domId('svc', key) }, s.name, ' ', h('span', { class: 'ns' }, s.namespace)),
      badge,
      urls,
    ];
  });
  patch(card.reason, [s.ready, ready?.reason, ready?.message], () =>
    s.ready || ready === undefined || (ready.reason === '' && ready.message === '')
      ? []
      : [
          h(
            'p',
            { class: 'reason' },
            h('strong', {}, ready.reason || 'Not ready'),
            ready.message === '' ? '' : `: ${ready.message}`,
          ),
        ],
  );
}

function renderDoc(card: ServiceCard, doc: ServiceDoc | undefined, browse: string): void {
  patch(card.doc, [doc, browse], () => {
    const out: El[] = [h('h3', {}, 'What it does')];
    if (
      doc === undefined ||
      (doc.description === '' && doc.parameters.length === 0 && doc.openapiUrl === '')
    ) {
      out.push(
        h(
          'p',
          { class: 'none' },
          'No description. Add the kedge.dev/description and kedge.dev/parameters-schema annotations to the Service.',
        ),
      );
    } else {
      if (doc.description !== '') out.push(h('p', { 'data-role': 'description' }, doc.description));
      if (doc.openapiUrl !== '') {
        const href =
          doc.openapiUrl.startsWith('/') && browse !== ''
            ? new URL(doc.openapiUrl, browse).href
            : doc.openapiUrl;
        out.push(h('p', {}, link(href, 'OpenAPI document', { 'data-role': 'openapi' })));
      }
      if (doc.parameters.length > 0) {
        const rows = doc.parameters.map((p) =>
          h(
            'tr',
            {},
            h('td', {}, h('code', {}, p.name)),
            h('td', {}, p.type, p.enum.length > 0 ? ` (${p.enum.join(', ')})` : ''),
            h('td', {}, p.required ? 'yes' : 'no'),
            h('td', {}, p.description, p.default === '' ? '' : ` Default ${p.default}.`),
          ),
        );
        out.push(
          h(
            'table',
            { 'data-role': 'parameters' },
            h('caption', { class: 'sr-only' }, 'Parameters'),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { scope: 'col' }, 'Parameter'),
                h('th', { scope: 'col' }, 'Type'),
                h('th', { scope: 'col' }, 'Required'),
                h('th', { scope: 'col' }, 'Meaning'),
              ),
            ),
            h('tbody', {}, ...rows),
          ),
        );
      }
    }
    for (const problem of doc?.problems ?? []) out.push(h('p', { class: 'reason' }, problem));
    return out;
  });
}

function renderTraffic(card: ServiceCard, s: ServiceView, gatewayPort: number): void {
  patch(card.traffic, [s.traffic, gatewayPort], () => {
    const out: El[] = [h('h3', {}, 'Traffic')];
    const routed = s.traffic.filter((t) => t.percent > 0);
    if (s.traffic.length === 0) {
      out.push(h('p', { class: 'none' }, 'No traffic targets yet.'));
      return out;
    }
    const label = routed.map((t) => `${t.revisionName} ${t.percent}%`).join(', ');
    const bar = h('div', { class: 'split', role: 'img', 'aria-label': `Traffic split: ${label || 'none'}` });
    routed.forEach((t, i) => {
      const seg = h(
        'span',
        { class: `seg${i % 6}`, title: `${t.revisionName}: ${t.percent}%` },
        t.percent >= 8 ? `${t.percent}%` : '',
      );
      seg.style.setProperty('width', `${t.percent}%`);
      bar.append(seg);
    });
    out.push(bar);
    const legend = h('ul', { class: 'legend', 'data-role': 'traffic' });
    let seg = 0;
    for (const t of s.traffic) {
      const swatch = h('span', {
        class: t.percent > 0 ? `swatch seg${seg++ % 6}` : 'swatch',
        'aria-hidden': 'true',
      });
      const tagLink = t.url === '' ? '' : browseUrl(t.url, gatewayPort);
      legend.append(
        h(
          'li',
          {},
          swatch,
          h('code', {}, t.revisionName),
          h('strong', {}, `${t.percent}%`),
          t.latestRevision ? h('span', { class: 'muted' }, 'latest') : '',
          t.tag === '' ? '' : h('span', {}, 'tag ', h('code', {}, t.tag)),
          t.url === ''
            ? ''
            : tagLink === ''
              ? h('code', {}, t.url)
              : link(tagLink, t.url, { 'data-role': 'tag-url' }),
        ),
      );
    }
    out.push(legend);
    return out;
  });
}

function renderErrors(card: ServiceCard, errors: readonly RecentError[], connected: boolean): void {
  patch(card.errors, [errors, connected], () => {
    const out: El[] = [h('h3', {}, 'Recent errors')];
    if (errors.length === 0) {
      out.push(
        h(
          'p',
          { class: 'none' },
          connected ? 'None recorded.' : 'This kedge does not report request errors to the dashboard yet.',
        ),
      );
      return out;
    }
    out.push(
      h(
        'table',
        { 'data-role': 'errors' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Time'),
            h('th', { scope: 'col', class: 'num' }, 'Status'),
            h('th', { scope: 'col' }, 'Code'),
            h('th', { scope: 'col' }, 'Reason'),
          ),
        ),
        h(
          'tbody',
          {},
          ...errors.map((e) =>
            h(
              'tr',
              {},
              h('td', {}, h('time', { datetime: e.time }, formatClock(Date.parse(e.time)))),
              h('td', { class: 'num' }, String(e.status)),
              h('td', {}, h('code', {}, e.code || '—')),
              h('td', {}, e.message),
            ),
          ),
        ),
      ),
    );
    return out;
  });
}

// ---- revision card ----

function revisionCard(key: string, r: RevisionView): RevisionCard {
  const facts = h('div');
  const chart = h('figure', { class: 'chart-box' });
  chart.style.setProperty('margin', '0');
  const failure = h('div', { class: 'failure-slot' });
  const logsBody = h('pre', { 'aria-live': 'off' }, 'Loading…');
  const logs = h(
    'details',
    { class: 'logs' },
    h('summary', {}, `Last output of ${r.name}`),
    logsBody,
  ) as DetailsEl;
  logs.addEventListener('toggle', () => {
    if (logs.open) void refreshLogs(key, r, card);
  });
  const root = h(
    'article',
    { class: 'revision', 'data-revision': key, 'aria-label': `Revision ${r.name}` },
    facts,
    chart,
    failure,
    logs,
  );
  const card: RevisionCard = { root, facts, chart, failure, logs, logsBody };
  return card;
}

function renderRevision(
  card: RevisionCard,
  r: RevisionView,
  nowMs: number,
  series: HistorySeries | undefined,
  d: Data,
): void {
  const fact = (name: string, value: string, role: string): El[] => [
    h('dt', {}, name),
    h('dd', { 'data-role': role }, value),
  ];
  patch(card.facts, [r, formatAge(r.createdAt, nowMs)], () => {
    const state =
      r.failure !== null
        ? h('span', { class: 'badge bad' }, 'Failed')
        : r.panic
          ? h('span', { class: 'badge warn' }, 'Panic')
          : r.ready
            ? h('span', { class: 'badge ok' }, 'Ready')
            : h('span', { class: 'badge warn' }, 'Starting');
    return [
      h('h4', {}, r.name, ' ', state),
      h(
        'dl',
        { class: 'facts' },
        ...fact('Age', formatAge(r.createdAt, nowMs), 'age'),
        ...fact('Replicas', `${r.desiredReplicas} desired / ${r.readyReplicas} ready`, 'replicas'),
        ...fact('In flight', String(r.inFlight), 'in-flight'),
        ...fact('Queued', String(r.queued), 'queued'),
        ...fact(
          'Concurrency',
          `${formatNumber(r.stableConcurrency)} (target ${formatNumber(r.targetConcurrency)})`,
          'concurrency',
        ),
        ...fact('Routing', r.routingState, 'routing'),
      ),
    ];
  });
  patch(card.failure, r.failure, () => {
    if (r.failure === null) return [];
    const { headline, detail } = failureInWords(r.failure.reason, r.failure.message);
    return [
      h(
        'div',
        { class: 'failure', role: 'alert', 'data-role': 'failure' },
        h('strong', {}, `${r.name} failed to start. `),
        headline,
        detail === '' ? '' : h('pre', {}, detail),
      ),
    ];
  });
  renderChart(card, series, d);
}

function renderChart(card: RevisionCard, series: HistorySeries | undefined, d: Data): void {
  const empty = {
    timeMs: [],
    observedConcurrency: [],
    stableConcurrency: [],
    desiredReplicas: [],
    readyReplicas: [],
    panic: [],
    coldStarts: [],
  };
  const m = chartModel(series ?? empty, d.history.nowMs, d.history.windowMs, d.history.sampleIntervalMs);
  patch(card.chart, m, () => {
    const { plot } = m;
    const g = svg('svg', {
      class: 'chart',
      viewBox: `0 0 ${m.width} ${m.height}`,
      role: 'img',
      'aria-label': m.summary,
      'data-role': 'chart',
    });
    g.append(svg('title', {}, m.summary));
    for (const b of m.panic)
      g.append(svg('rect', { class: 'panic', x: b.x, y: plot.y, width: Math.max(b.w, 1), height: plot.h }));
    for (const t of m.concurrencyTicks) {
      g.append(svg('line', { class: 'grid', x1: plot.x, x2: plot.x + plot.w, y1: t.at, y2: t.at }));
      g.append(svg('text', { x: plot.x - 4, y: t.at + 3, 'text-anchor': 'end' }, t.label));
    }
    for (const t of m.replicaTicks) g.append(svg('text', { x: plot.x + plot.w + 4, y: t.at + 3 }, t.label));
    for (const t of m.timeTicks)
      g.append(svg('text', { x: t.at, y: m.height - 4, 'text-anchor': 'middle' }, t.label));
    if (m.ready !== '') g.append(svg('path', { class: 'ready', d: m.ready }));
    if (m.desired !== '') g.append(svg('path', { class: 'desired', d: m.desired }));
    if (m.stable !== '') g.append(svg('path', { class: 'stable', d: m.stable }));
    if (m.observed !== '') g.append(svg('path', { class: 'observed', d: m.observed }));
    for (const c of m.coldStarts) {
      g.append(
        svg(
          'line',
          { class: 'cold', x1: c.x, x2: c.x, y1: plot.y - 2, y2: plot.y + plot.h },
          svg('title', {}, c.title),
        ),
      );
      const anchor = c.x > plot.x + plot.w - 40 ? 'end' : 'start';
      g.append(
        svg(
          'text',
          {
            class: 'cold-label',
            x: anchor === 'end' ? c.x - 3 : c.x + 3,
            y: plot.y - 4,
            'text-anchor': anchor,
            'data-role': 'cold-start',
          },
          c.label,
        ),
      );
    }
    const legend = h(
      'ul',
      { class: 'chart-legend', 'aria-hidden': 'true' },
      h('li', {}, 'Left axis:'),
      h('li', {}, h('span', { class: 'key observed' }), 'in flight + queued'),
      h('li', {}, h('span', { class: 'key stable' }), 'stable average'),
      h('li', {}, 'Right axis:'),
      h('li', {}, h('span', { class: 'key desired' }), 'desired replicas'),
      h('li', {}, h('span', { class: 'key ready' }), 'ready replicas'),
      h('li', {}, h('span', { class: 'key panic' }), 'panic'),
      h('li', {}, h('span', { class: 'key cold' }), 'cold start'),
    );
    return [g, legend];
  });
}

async function refreshLogs(key: string, r: RevisionView, card: RevisionCard): Promise<void> {
  if (!logsAvailable) return;
  const q = new URLSearchParams({
    kind: 'revision',
    namespace: r.namespace,
    name: r.name,
    tail: String(LOG_LINES),
  });
  const res = await fetch(`/api/v1/logs?${q.toString()}`);
  if (res.status === 404 && (await res.text()).includes('no such path')) {
    logsAvailable = false;
    card.logsBody.textContent = 'This kedge has no /api/v1/logs; use `kedge logs`.';
    return;
  }
  if (!res.ok) return;
  const reply = (await res.json()) as LogsReply;
  patch(
    card.logsBody,
    reply.lines.map((l) => l.seq),
    () => {
      if (reply.lines.length === 0) return [`No output from ${key} yet.`];
      return reply.lines.map((l) =>
        h(
          'span',
          l.stream === 'stderr' ? { class: 'stderr' } : {},
          `${formatClock(Date.parse(l.time))} ${l.line}\n`,
        ),
      );
    },
  );
}

// ---- page ----

function render(d: Data, query: string): void {
  const main = byId('services');
  const empty = byId('empty');
  const nowMs = d.history.nowMs;
  const seen = new Set<string>();
  const revisionsByService = new Map<string, RevisionView[]>();
  for (const r of d.revisions) {
    const k = `${r.namespace}/${r.service}`;
    revisionsByService.set(k, [...(revisionsByService.get(k) ?? []), r]);
  }
  const series = new Map(d.history.revisions.map((s) => [s.revision, s]));
  let shown = 0;
  let previous: El | null = null;
  for (const s of d.services) {
    const key = `${s.namespace}/${s.name}`;
    seen.add(key);
    let card = cards.get(key);
    if (card === undefined) {
      card = serviceCard(key);
      cards.set(key, card);
    }
    // The order of /api/v1/services (sorted by namespace/name).
    place(main, card.root, previous);
    previous = card.root;
    const doc = d.docs.get(key);
    const browse = s.url === '' ? '' : browseUrl(s.url, d.info.gatewayPort);
    renderHead(card, key, s, d.info.gatewayPort);
    renderDoc(card, doc, browse);
    renderTraffic(card, s, d.info.gatewayPort);
    renderErrors(card, d.errors.get(key) ?? [], d.info.errorsConnected);
    const revisions = [...(revisionsByService.get(key) ?? [])].sort((a, b) => b.generation - a.generation);
    const keep = new Set<string>();
    let previousRevision: El | null = null;
    for (const r of revisions) {
      const rk = `${r.namespace}/${r.name}`;
      keep.add(rk);
      let rc = card.revisions.get(rk);
      if (rc === undefined) {
        rc = revisionCard(rk, r);
        card.revisions.set(rk, rc);
      }
      place(card.revisionList, rc.root, previousRevision);
      previousRevision = rc.root;
      renderRevision(rc, r, nowMs, series.get(rk), d);
      if (rc.logs.open) void refreshLogs(rk, r, rc);
    }
    for (const [rk, rc] of card.revisions) {
      if (!keep.has(rk)) {
        rc.root.remove();
        card.revisions.delete(rk);
      }
    }
    card.noRevisions.hidden = revisions.length > 0;
    card.fields = [
      s.name,
      s.namespace,
      s.url,
      doc?.description ?? '',
      ...(doc?.parameters.map((p) => p.name) ?? []),
    ];
    card.root.hidden = !matchesSearch(query, card.fields);
    if (!card.root.hidden) shown++;
  }
  for (const [key, card] of cards) {
    if (!seen.has(key)) {
      card.root.remove();
      cards.delete(key);
    }
  }
  place(main, empty, previous);
  empty.hidden = shown > 0;
  empty.textContent =
    d.services.length === 0
      ? 'No services yet: put a Service YAML file in the folder kedge watches.'
      : `No service matches “${query}”.`;
  const ready = d.services.filter((s) => s.ready).length;
  byId('summary').textContent =
    `${d.services.length} service${d.services.length === 1 ? '' : 's'}, ${ready} ready, ${d.revisions.length} revision${d.revisions.length === 1 ? '' : 's'}`;
  byId('search-count').textContent = query.trim() === '' ? '' : `${shown} of ${d.services.length} shown`;
}

function applySearch(query: string): void {
  let shown = 0;
  for (const card of cards.values()) {
    card.root.hidden = !matchesSearch(query, card.fields);
    if (!card.root.hidden) shown++;
  }
  const empty = byId('empty');
  empty.hidden = shown > 0 || cards.size === 0;
  if (!empty.hidden) empty.textContent = `No service matches “${query}”.`;
  byId('search-count').textContent = query.trim() === '' ? '' : `${shown} of ${cards.size} shown`;
}

function start(): void {
  const search = byId('search') as InputEl;
  const status = byId('status');
  byId('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
  });
  search.addEventListener('input', () => {
    applySearch(search.value);
  });
  // `/` jumps to the search box, as on many sites; typing in a field is left alone.
  document.addEventListener('keydown', (e) => {
    const active = document.activeElement;
    const typing = active !== null && (active.tagName === 'INPUT' || active.tagName === 'TEXTAREA');
    if (e.key === '/' && !typing && e.ctrlKey !== true && e.metaKey !== true && e.altKey !== true) {
      e.preventDefault();
      search.focus();
    }
  });
  let failures = 0;
  const tick = async (): Promise<void> => {
    try {
      const d = await load();
      render(d, search.value);
      failures = 0;
      status.className = 'status muted';
      status.textContent = `Updated ${formatClock(d.info.nowMs)}`;
    } catch (err) {
      failures++;
      status.className = 'status stale';
      status.textContent = `Cannot reach kedge (${err instanceof Error ? err.message : String(err)}); retrying…`;
    }
    // Back off while kedge is down, up to 10 s; a hidden tab polls every 10 s.
    const delay = document.hidden ? 10_000 : Math.min(10_000, POLL_MS * 2 ** Math.min(failures, 3));
    setTimeout(() => void tick(), delay);
  };
  void tick();
}

start();
