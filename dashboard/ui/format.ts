// Words and numbers for the page: ages, durations, links a browser can open, failures in plain
// words, search. Pure (runs in the browser and in node tests): no DOM, no clock.

/** `12s`, `5m`, `3h 10m`, `2d 4h`, like kubectl's AGE column. */
export function formatAge(createdIso: string, nowMs: number): string {
  const created = Date.parse(createdIso);
  if (Number.isNaN(created)) return '?';
  const s = Math.max(0, Math.floor((nowMs - created) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 === 0 ? `${h}h` : `${h}h ${m % 60}m`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d}d` : `${d}d ${h % 24}h`;
}

/** `850 ms`, `2.4 s`, `1 m 5 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} m ${s % 60} s`;
}

/** `14:03:07` in the browser's time zone. */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** Up to 2 decimals, no trailing zeros: 0, 0.5, 12.25, 100. */
export function formatNumber(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/**
 * A link a browser on this machine can open: kedge answers `{label}.{namespace}.localhost` in local
 * mode for every `{label}.{namespace}.{domain}` it serves (label = name or `{tag}-{name}`).
 * '' when the URL is not one of kedge's.
 */
export function browseUrl(serviceUrl: string, gatewayPort: number): string {
  let u: URL;
  try {
    u = new URL(serviceUrl);
  } catch {
    return '';
  }
  const labels = u.hostname.split('.');
  const [label, namespace] = labels;
  if (
    labels.length < 2 ||
    label === undefined ||
    namespace === undefined ||
    label === '' ||
    namespace === ''
  ) {
    return '';
  }
  return `http://${label}.${namespace}.localhost:${gatewayPort}/`;
}

/** A revision's failure (RevisionFailure from the runtime) as a sentence a user can act on. */
export function failureInWords(reason: string, message: string): { headline: string; detail: string } {
  const exit = /^ExitCode(\d+)$/.exec(reason);
  let headline: string;
  if (exit !== null) {
    const code = Number(exit[1]);
    headline =
      code > 128
        ? `The process was killed by signal ${code - 128} before it became ready.`
        : `The process exited with code ${code} before it became ready.`;
  } else if (reason === 'ContainerMissing') {
    headline = 'The command could not be started: it was not found or is not executable.';
  } else if (reason === 'ProgressDeadlineExceeded') {
    headline =
      'It did not become ready within its progress deadline: it never listened on $PORT, or answered readiness probes too late.';
  } else {
    headline = `It failed to start (${reason || 'no reason given'}).`;
  }
  return { headline, detail: message };
}

/** True when every word of the query appears in one of the fields (case-insensitive). */
export function matchesSearch(query: string, fields: readonly string[]): boolean {
  const words = query
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w !== '');
  if (words.length === 0) return true;
  const haystack = fields.join('\n').toLowerCase();
  return words.every((w) => haystack.includes(w));
}
