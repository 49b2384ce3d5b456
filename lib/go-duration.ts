// Go durations at the boundary. Knative reads `config-autoscaler` durations and duration
// annotations with Go's time.ParseDuration ("60s", "1m30s", "1h") and prints bounds with
// Duration.String() ("1h0m0s"), so kedge accepts and prints exactly the same spellings.

const NS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5 micro sign, as Go accepts
  μs: 1e3, // U+03BC Greek mu, as Go accepts
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

// One `<number><unit>` group of a Go duration: "1.5h", ".5s", "10ms".
const GROUP = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/**
 * Parses a Go duration into milliseconds (fractions allowed, e.g. "1.5ms" → 1.5).
 * Returns undefined where Go's time.ParseDuration returns an error: empty text, a number
 * without a unit (except "0"), an unknown unit.
 */
export function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  // Go: "0" is the one unit-less duration it accepts.
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let totalNs = 0;
  while (rest !== '') {
    const match = GROUP.exec(rest);
    if (match === null) return undefined;
    const [whole, amount, unit] = match;
    if (amount === undefined || unit === undefined) return undefined;
    const perUnit = NS_PER_UNIT[unit];
    if (perUnit === undefined) return undefined;
    totalNs += Number(amount) * perUnit;
    rest = rest.slice(whole.length);
  }
  return (sign * totalNs) / 1e6;
}

/** The same as parseGoDuration, with null for "not a duration" (the controller's convention). */
export function parseGoDurationMs(text: string): number | null {
  return parseGoDuration(text) ?? null;
}

function trimFraction(integer: number, fractionDigits: string): string {
  const trimmed = fractionDigits.replace(/0+$/, '');
  return trimmed === '' ? String(integer) : `${integer}.${trimmed}`;
}

/** Prints milliseconds the way Go's Duration.String() does: "0s", "1.5s", "2m0s", "1h0m0s", "500ms". */
export function formatGoDuration(ms: number): string {
  const totalNs = Math.round(Math.abs(ms) * 1e6);
  const sign = ms < 0 && totalNs !== 0 ? '-' : '';
  if (totalNs === 0) return '0s';
  // Go switches to ns/µs/ms below one second.
  if (totalNs < 1e3) return `${sign}${totalNs}ns`;
  if (totalNs < 1e6) {
    return `${sign}${trimFraction(Math.floor(totalNs / 1e3), String(totalNs % 1e3).padStart(3, '0'))}µs`;
  }
  if (totalNs < 1e9) {
    return `${sign}${trimFraction(Math.floor(totalNs / 1e6), String(totalNs % 1e6).padStart(6, '0'))}ms`;
  }
  const hours = Math.floor(totalNs / 3600e9);
  const minutes = Math.floor((totalNs % 3600e9) / 60e9);
  const secNs = totalNs % 60e9;
  const seconds = trimFraction(Math.floor(secNs / 1e9), String(secNs % 1e9).padStart(9, '0'));
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}
