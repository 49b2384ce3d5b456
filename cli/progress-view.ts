// `kedge up`'s live view in a terminal: a pure function from what the platform reports (services,
// revisions, cold starts in progress) plus the time and the terminal size to the lines of the
// block kept at the bottom of the screen. cli/terminal.ts draws them; this file does no I/O.
import type { RevisionView, ServiceView } from './admin-api.js';

export type ProgressService = Pick<ServiceView, 'name' | 'namespace' | 'url' | 'conditions' | 'traffic'>;
export type ProgressRevision = Pick<
  RevisionView,
  | 'name'
  | 'namespace'
  | 'service'
  | 'desiredReplicas'
  | 'readyReplicas'
  | 'inFlight'
  | 'queued'
  | 'panic'
  | 'failure'
>;

export interface ActiveColdStart {
  /** `namespace/name`, as RevisionKey. */
  readonly revision: string;
  readonly startedAtMs: number;
}

export interface ProgressModel {
  readonly gatewayUrl: string;
  readonly adminUrl: string;
  /** After the first Ctrl-C: requests drain and revisions stop. */
  readonly stopping: boolean;
  readonly services: readonly ProgressService[];
  readonly revisions: readonly ProgressRevision[];
  readonly coldStarts: readonly ActiveColdStart[];
}

export interface RenderOptions {
  /** Monotonic, same clock as ActiveColdStart.startedAtMs. */
  readonly nowMs: number;
  /** Terminal columns; every line stays below this so none wraps. */
  readonly width: number;
  /** Terminal rows; the block keeps one free for the cursor. */
  readonly height: number;
  /** SGR colours (off for NO_COLOR). */
  readonly color: boolean;
}

/**
 * Which revisions are starting from zero, and since when: the same rule as ColdStartLog (asked
 * for replicas while none is ready), timed from the scale request, so the spinner's clock and the
 * "first replica ready in N ms" line agree.
 */
export class ColdStartTracker {
  private readonly startedAtMs = new Map<string, number>();

  /** Call on every scale request; `readyNow` is the ready count before it. */
  scaling(revision: string, replicas: number, readyNow: number, nowMs: number): void {
    if (replicas === 0) this.startedAtMs.delete(revision);
    else if (readyNow === 0 && !this.startedAtMs.has(revision)) this.startedAtMs.set(revision, nowMs);
  }

  /** Forgets cold starts that ended (a ready replica, or the revision is gone); the rest, oldest first. */
  settle(
    revisions: readonly Pick<ProgressRevision, 'namespace' | 'name' | 'readyReplicas'>[],
  ): ActiveColdStart[] {
    const ready = new Map(revisions.map((r) => [`${r.namespace}/${r.name}`, r.readyReplicas]));
    const active: ActiveColdStart[] = [];
    for (const [revision, startedAtMs] of this.startedAtMs) {
      const readyReplicas = ready.get(revision);
      if (readyReplicas === undefined || readyReplicas > 0) this.startedAtMs.delete(revision);
      else active.push({ revision, startedAtMs });
    }
    return active;
  }
}

type Style = 'plain' | 'bold' | 'dim' | 'green' | 'yellow' | 'red' | 'cyan';
type Segment = readonly [Style, string];

// ECMA-48 SGR; one reset after each styled segment keeps styles from leaking into the next.
const SGR: Readonly<Record<Style, string>> = {
  plain: '',
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  red: '\x1b[31m',
  cyan: '\x1b[36m',
};
const RESET = '\x1b[0m';

/** Braille spinner frames, one per 100 ms redraw. */
export const SPINNER_FRAMES: readonly string[] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const ELLIPSIS = '…';

export function renderProgress(model: ProgressModel, options: RenderOptions): string[] {
  // pre: the last column stays free (a full line leaves the cursor in the pending-wrap state,
  // which terminals handle differently), and the last row too (the cursor waits there).
  const columns = Math.floor(options.width) - 1;
  const maxLines = Math.floor(options.height) - 1;
  if (columns < 1 || maxLines < 1) return [];
  const lines: Segment[][] = [header(model)];
  if (model.services.length === 0) {
    lines.push([['dim', 'no services yet: add a Knative Service YAML file to the folder']]);
  }
  const rows = model.services.map((s) => serviceRow(s, model, options.nowMs));
  const nameWidth = Math.max(0, ...rows.map((r) => width(r.name)));
  const urlWidth = Math.max(0, ...rows.map((r) => width(r.url)));
  const revisionsWidth = Math.max(0, ...rows.map((r) => segmentsWidth(r.revisions)));
  for (const r of rows) {
    const line: Segment[] = [
      r.mark,
      ['plain', ' '],
      ['bold', r.name],
      ['plain', ' '.repeat(nameWidth - width(r.name) + 2)],
      ['plain', r.url],
      ['plain', ' '.repeat(urlWidth - width(r.url) + 2)],
      ...r.revisions,
      ['plain', ' '.repeat(revisionsWidth - segmentsWidth(r.revisions) + 2)],
      ...r.load,
    ];
    if (r.problem.length > 0) line.push(['plain', '  '], ...r.problem);
    lines.push(line);
    for (const sub of r.details) lines.push([['plain', '  '], ...sub]);
  }
  if (lines.length > maxLines) {
    const hidden = lines.length - maxLines + 1;
    lines.length = maxLines - 1;
    if (maxLines > 1) lines.push([['dim', `${ELLIPSIS} ${hidden} more line(s): kedge get ksvc`]]);
  }
  return lines.map((l) => serialize(fit(l, columns), options.color));
}

function header(model: ProgressModel): Segment[] {
  const head: Segment[] = [['bold', 'kedge up']];
  if (model.stopping) {
    return [...head, ['yellow', ' · stopping: draining requests, Ctrl-C again to stop at once']];
  }
  return [...head, ['dim', ` · gateway ${model.gatewayUrl} · admin ${model.adminUrl} · Ctrl-C to stop`]];
}

interface ServiceRow {
  readonly mark: Segment;
  readonly name: string;
  readonly url: string;
  readonly revisions: readonly Segment[];
  readonly load: readonly Segment[];
  readonly problem: readonly Segment[];
  /** Lines under the service: cold starts in progress, failing revisions. */
  readonly details: readonly (readonly Segment[])[];
}

function serviceRow(s: ProgressService, model: ProgressModel, nowMs: number): ServiceRow {
  const ready = s.conditions.find((c) => c.type === 'Ready');
  const status = ready?.status ?? 'Unknown';
  const mine = model.revisions.filter((r) => r.namespace === s.namespace && r.service === s.name);
  // Traffic targets first, in the Service's order; then revisions that still have replicas
  // (a new one starting, an old one draining), newest first.
  const percent = new Map<string, number>();
  for (const t of s.traffic) percent.set(t.revisionName, (percent.get(t.revisionName) ?? 0) + t.percent);
  const byName = new Map(mine.map((r) => [r.name, r]));
  const shown: ProgressRevision[] = [];
  for (const name of percent.keys()) {
    const r = byName.get(name);
    if (r !== undefined) shown.push(r);
  }
  const rest = mine
    .filter((r) => !percent.has(r.name) && (r.desiredReplicas > 0 || r.readyReplicas > 0))
    .sort((a, b) => (a.name < b.name ? 1 : -1));
  shown.push(...rest);
  const revisions: Segment[] = [['dim', 'rev ']];
  if (shown.length === 0) revisions.push(['dim', '-']);
  shown.forEach((r, i) => {
    if (i > 0) revisions.push(['dim', ', ']);
    const short = r.name.startsWith(`${s.name}-`) ? r.name.slice(s.name.length + 1) : r.name;
    const style: Style =
      r.failure !== null ? 'red' : r.readyReplicas < r.desiredReplicas ? 'yellow' : 'plain';
    revisions.push(['plain', short + ' '], [style, `${r.readyReplicas}/${r.desiredReplicas}`]);
    const p = percent.get(r.name);
    if (percent.size > 1 && p !== undefined) revisions.push(['dim', ` ${p}%`]);
  });
  const inFlight = mine.reduce((n, r) => n + r.inFlight, 0);
  const queued = mine.reduce((n, r) => n + r.queued, 0);
  const load: Segment[] = [
    [inFlight > 0 ? 'plain' : 'dim', `${inFlight} in flight`],
    ['dim', ' · '],
    [queued > 0 ? 'yellow' : 'dim', `${queued} queued`],
  ];
  if (mine.some((r) => r.panic)) load.push(['plain', ' '], ['yellow', 'panic']);
  const problem: Segment[] = [];
  const reason = oneLine(ready?.reason ?? '');
  const message = oneLine(ready?.message ?? '');
  if (status === 'False') problem.push(['red', message === '' ? reason : `${reason}: ${message}`]);
  else if (status !== 'True' && reason !== '') problem.push(['dim', reason]);
  const details: Segment[][] = [];
  for (const r of mine) {
    const key = `${r.namespace}/${r.name}`;
    if (r.failure !== null) {
      details.push([['red', `✗ ${r.name} ${oneLine(r.failure.reason)}: ${oneLine(r.failure.message)}`]]);
      continue;
    }
    const cold = model.coldStarts.find((c) => c.revision === key);
    if (cold === undefined) continue;
    details.push([
      ['cyan', spinnerAt(nowMs)],
      ['plain', ` cold start ${r.name} `],
      ['bold', formatElapsed(nowMs - cold.startedAtMs)],
    ]);
  }
  return {
    mark: status === 'True' ? ['green', '✓'] : status === 'False' ? ['red', '✗'] : ['yellow', '○'],
    name: s.namespace === 'default' ? s.name : `${s.namespace}/${s.name}`,
    url: s.url === '' ? '-' : s.url,
    revisions,
    load,
    problem,
    details,
  };
}

function spinnerAt(nowMs: number): string {
  return SPINNER_FRAMES[Math.floor(nowMs / 100) % SPINNER_FRAMES.length] ?? '*';
}

/** 0.4s, 12.3s, 2m05s. */
export function formatElapsed(ms: number): string {
  const clamped = Math.max(0, ms);
  if (clamped < 60_000) return `${(Math.floor(clamped / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(clamped / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** Control characters (newlines in a condition message, escapes) would break the block's geometry. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
}

/** Columns a code point takes: 0 for combining marks, 2 for East Asian wide and emoji, else 1. */
function charWidth(cp: number): number {
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f)) {
    return 0;
  }
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

function width(text: string): number {
  let n = 0;
  for (const ch of text) n += charWidth(ch.codePointAt(0) ?? 0);
  return n;
}

function segmentsWidth(segments: readonly Segment[]): number {
  return segments.reduce((n, [, text]) => n + width(text), 0);
}

// eslint-disable-next-line no-control-regex
const SGR_PATTERN = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** Columns a rendered line takes on screen (SGR sequences take none). */
export function visibleWidth(line: string): number {
  return width(line.replace(SGR_PATTERN, ''));
}

/** Cuts a line to `columns`, ending it with an ellipsis when something was cut. */
function fit(line: readonly Segment[], columns: number): Segment[] {
  if (segmentsWidth(line) <= columns) return [...line];
  const out: Segment[] = [];
  let left = columns - 1; // room for the ellipsis
  for (const [style, text] of line) {
    if (left <= 0) break;
    let kept = '';
    for (const ch of text) {
      const w = charWidth(ch.codePointAt(0) ?? 0);
      if (w > left) {
        left = 0;
        break;
      }
      kept += ch;
      left -= w;
    }
    if (kept !== '') out.push([style, kept]);
  }
  out.push(['dim', ELLIPSIS]);
  return out;
}

function serialize(line: readonly Segment[], color: boolean): string {
  let out = '';
  for (const [style, text] of line) out += color && style !== 'plain' ? SGR[style] + text + RESET : text;
  return out.trimEnd();
}

const LOG_PREFIX = /^(\d\d:\d\d:\d\d\.\d{3}) (debug|info |warn |error) /;
const LEVEL_STYLE: Readonly<Record<string, Style>> = {
  debug: 'dim',
  info: 'dim',
  warn: 'yellow',
  error: 'red',
};

/** A text log line (lib/log.ts) with a dim time and a coloured level; the message stays as is. */
export function styleLogLine(line: string, color: boolean): string {
  const m = color ? LOG_PREFIX.exec(line) : null;
  if (m === null) return line;
  const [prefix, time = '', level = ''] = m;
  const style = LEVEL_STYLE[level.trim()] ?? 'plain';
  return `${SGR.dim}${time}${RESET} ${SGR[style]}${level}${RESET} ${line.slice(prefix.length)}`;
}
