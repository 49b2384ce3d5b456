// The gateway's view of a State, built off the hot path (STYLE.md "Config snapshots flow one way"):
// one Map keyed by normalised host, cumulative weights per route, per-revision settings in ms.
// Pure: no I/O, no clock.
import type { RevisionKey, RevisionSpec, State } from '../controller/state.js';

/** What the hot path needs of a revision, with units in the names. */
export interface RevisionSettings {
  readonly key: RevisionKey;
  readonly namespace: string;
  readonly name: string;
  readonly service: string;
  /** Hard per-replica cap; 0 = unlimited. */
  readonly containerConcurrency: number;
  /** Total, queue wait included (Knative counts the activator's wait). */
  readonly timeoutMs: number;
  /** 0 = no response-start timer. */
  readonly responseStartTimeoutMs: number;
  /** 0 = no idle timer. */
  readonly idleTimeoutMs: number;
  /** The longest wait for capacity, never above timeoutMs. */
  readonly queueTimeoutMs: number;
}

export interface RouteEntry {
  readonly host: string;
  readonly namespace: string;
  readonly service: string;
  readonly tag: string | null;
  /** Revisions in split order; empty when the route has no ready revision yet. */
  readonly revisions: readonly RevisionKey[];
  /** cumulative[i] = sum of percents of splits 0..i; the last one is the total (100). */
  readonly cumulative: readonly number[];
}

export interface RouteTable {
  readonly version: number;
  readonly routes: ReadonlyMap<string, RouteEntry>;
  readonly revisions: ReadonlyMap<RevisionKey, RevisionSettings>;
}

export const EMPTY_ROUTE_TABLE: RouteTable = Object.freeze({
  version: 0,
  routes: new Map<string, RouteEntry>(),
  revisions: new Map<RevisionKey, RevisionSettings>(),
});

/** Knative activator fallbacks when a revision is unknown: 300 s total and response start, no idle timer. */
export const DEFAULT_TIMEOUT_MS = 300_000;

export function revisionSettings(spec: RevisionSpec): RevisionSettings {
  const timeoutMs = secondsToMs(spec.timeoutSeconds, DEFAULT_TIMEOUT_MS);
  return Object.freeze({
    key: spec.key,
    namespace: spec.namespace,
    name: spec.name,
    service: spec.service,
    containerConcurrency: Math.max(0, Math.floor(spec.containerConcurrency)),
    timeoutMs,
    responseStartTimeoutMs:
      spec.responseStartTimeoutSeconds === null ? 0 : secondsToMs(spec.responseStartTimeoutSeconds, 0),
    idleTimeoutMs: spec.idleTimeoutSeconds === null ? 0 : secondsToMs(spec.idleTimeoutSeconds, 0),
    queueTimeoutMs: Math.min(timeoutMs, secondsToMs(spec.queueTimeoutSeconds, timeoutMs)),
  });
}

/** Settings for a revision the State does not (yet) name, e.g. endpoints that arrive before the State. */
export function defaultRevisionSettings(key: RevisionKey): RevisionSettings {
  const slash = key.indexOf('/');
  return Object.freeze({
    key,
    namespace: slash < 0 ? '' : key.slice(0, slash),
    name: slash < 0 ? key : key.slice(slash + 1),
    service: '',
    containerConcurrency: 0,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    responseStartTimeoutMs: 0,
    idleTimeoutMs: 0,
    queueTimeoutMs: DEFAULT_TIMEOUT_MS,
  });
}

function secondsToMs(seconds: number, fallbackMs: number): number {
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : fallbackMs;
}

// pre: state passed controller/state.ts consistent() (known revisions, percents sum to 100).
export function buildRouteTable(state: State): RouteTable {
  const revisions = new Map<RevisionKey, RevisionSettings>();
  for (const spec of state.revisions) revisions.set(spec.key, revisionSettings(spec));
  const routes = new Map<string, RouteEntry>();
  for (const route of state.routes) {
    const keys: RevisionKey[] = [];
    const cumulative: number[] = [];
    let sum = 0;
    for (const split of route.splits) {
      if (!(split.percent > 0)) continue;
      sum += split.percent;
      keys.push(split.revision);
      cumulative.push(sum);
    }
    const host = normalizeHost(route.host);
    if (host === '') continue;
    routes.set(
      host,
      Object.freeze({
        host,
        namespace: route.namespace,
        service: route.service,
        tag: route.tag,
        revisions: Object.freeze(keys),
        cumulative: Object.freeze(cumulative),
      }),
    );
  }
  return Object.freeze({ version: state.version, routes, revisions });
}

/**
 * Normalises a Host header for lookup: lowercase, no port, no trailing dots (RFC 9110 §7.2: the
 * port is optional; RFC 1034 §3.1: a trailing dot marks the absolute name). IPv6 literals keep
 * their brackets: `[::1]:8080` → `[::1]`. Returns '' for an empty or unusable host.
 */
export function normalizeHost(raw: string): string {
  let end = raw.length;
  if (end === 0) return '';
  if (raw.charCodeAt(0) === 0x5b /* [ */) {
    const close = raw.indexOf(']');
    if (close < 0) return '';
    return raw.slice(0, close + 1).toLowerCase();
  }
  const colon = raw.indexOf(':');
  if (colon >= 0) {
    // More than one colon without brackets: a bare IPv6 literal (not valid in Host, but harmless).
    if (raw.indexOf(':', colon + 1) >= 0) return raw.toLowerCase();
    end = colon;
  }
  // Every trailing dot, so that normalizeHost(normalizeHost(h)) === normalizeHost(h) ('h..' → 'h').
  while (end > 0 && raw.charCodeAt(end - 1) === 0x2e /* . */) end--;
  if (end === 0) return '';
  const host = end === raw.length ? raw : raw.slice(0, end);
  return hasUpper(host) ? host.toLowerCase() : host;
}

/**
 * RFC 9112 §3.2 / RFC 9110 §7.2: Host = uri-host [ ":" port ], with uri-host an IP-literal in
 * brackets or a non-empty reg-name / IPv4address (RFC 3986 §3.2.2: unreserved, pct-encoded and
 * sub-delims), port = *DIGIT. A server must answer 400 to any other value. Only called for a Host
 * with no route, so the routed path never pays for it.
 */
export function isValidHost(raw: string): boolean {
  const n = raw.length;
  let i = 0;
  if (n > 0 && raw.charCodeAt(0) === 0x5b /* [ */) {
    const close = raw.indexOf(']');
    if (close < 2) return false;
    for (i = 1; i < close; i++) {
      const c = raw.charCodeAt(i);
      if (c !== 0x3a /* : */ && !isRegNameChar(c)) return false;
    }
    i = close + 1;
  } else {
    while (i < n && isRegNameChar(raw.charCodeAt(i))) i++;
    if (i === 0) return false;
  }
  if (i === n) return true;
  if (raw.charCodeAt(i) !== 0x3a /* : */) return false;
  for (i++; i < n; i++) {
    const c = raw.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** RFC 3986: unreserved / "%" (pct-encoded, loosely) / sub-delims. */
function isRegNameChar(c: number): boolean {
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) return true;
  switch (c) {
    case 0x2d: // -
    case 0x2e: // .
    case 0x5f: // _
    case 0x7e: // ~
    case 0x25: // %
    case 0x21: // !
    case 0x24: // $
    case 0x26: // &
    case 0x27: // '
    case 0x28: // (
    case 0x29: // )
    case 0x2a: // *
    case 0x2b: // +
    case 0x2c: // ,
    case 0x3b: // ;
    case 0x3d: // =
      return true;
    default:
      return false;
  }
}

function hasUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}
