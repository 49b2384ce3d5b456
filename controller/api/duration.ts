// Go's time.ParseDuration, because Knative reads its duration annotations and ConfigMap keys
// (progress-deadline, retain-since-create-time, ...) with it: "300ms", "1.5h", "2h45m", "-1s", "0".

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/** Milliseconds, or null when `text` is not a Go duration. */
export function parseGoDurationMs(text: string): number | null {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  // Go accepts a bare "0" (with optional sign) and nothing else without a unit.
  if (rest === '0') return 0;
  if (rest === '') return null;
  let totalMs = 0;
  while (rest !== '') {
    const m = PART.exec(rest);
    if (m === null) return null;
    const [whole, num = '', unit = ''] = m;
    totalMs += Number(num) * (UNIT_MS[unit] ?? Number.NaN);
    rest = rest.slice(whole.length);
  }
  return Number.isFinite(totalMs) ? sign * totalMs : null;
}
