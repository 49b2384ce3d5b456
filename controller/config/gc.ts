// The `config-gc` ConfigMap, parsed now for the revision GC a later issue adds. Keys and defaults
// are Knative's (pkg/gc/config.go; config/core/configmaps/gc.yaml): durations in Go syntax or
// "disabled", counts as integers, max "disabled" too.
import { parseGoDurationMs } from '../../lib/go-duration.js';
import { type ConfigProblem, type ParsedConfig, parseGoInt } from './problem.js';

export interface GcConfig {
  /** retain-since-create-time (48h): keep a revision at least this long after creation; null = disabled. */
  readonly retainSinceCreateTimeMs: number | null;
  /** retain-since-last-active-time (15h): keep it this long after it last had traffic; null = disabled. */
  readonly retainSinceLastActiveTimeMs: number | null;
  /** min-non-active-revisions (20): never collect below this many non-active revisions. */
  readonly minNonActiveRevisions: number;
  /** max-non-active-revisions (1000): collect the oldest beyond this many; null = disabled. */
  readonly maxNonActiveRevisions: number | null;
}

const HOUR_MS = 3_600_000;

export const DEFAULT_GC: GcConfig = Object.freeze({
  retainSinceCreateTimeMs: 48 * HOUR_MS,
  retainSinceLastActiveTimeMs: 15 * HOUR_MS,
  minNonActiveRevisions: 20,
  maxNonActiveRevisions: 1000,
});

const KNOWN = new Set([
  'retain-since-create-time',
  'retain-since-last-active-time',
  'min-non-active-revisions',
  'max-non-active-revisions',
  '_example',
]);

export function parseGcConfig(data: Readonly<Record<string, string>>): ParsedConfig<GcConfig> {
  const problems: ConfigProblem[] = [];
  const c: { -readonly [K in keyof GcConfig]: GcConfig[K] } = { ...DEFAULT_GC };

  for (const [key, field] of [
    ['retain-since-create-time', 'retainSinceCreateTimeMs'],
    ['retain-since-last-active-time', 'retainSinceLastActiveTimeMs'],
  ] as const) {
    const raw = data[key];
    if (raw === undefined) continue;
    const text = raw.trim();
    if (text.toLowerCase() === 'disabled') {
      c[field] = null;
      continue;
    }
    const ms = parseGoDurationMs(text);
    if (ms === null || ms < 0) {
      problems.push({
        key,
        value: raw,
        message: `${key}: "${raw}" is not a non-negative duration; write e.g. "48h" or "disabled"`,
      });
    } else c[field] = ms;
  }

  const minRaw = data['min-non-active-revisions'];
  if (minRaw !== undefined) {
    const n = parseGoInt(minRaw.trim());
    if (n === null || n < 0) {
      problems.push({
        key: 'min-non-active-revisions',
        value: minRaw,
        message: `min-non-active-revisions: "${minRaw}" must be a non-negative integer, e.g. "20"`,
      });
    } else c.minNonActiveRevisions = n;
  }
  const maxRaw = data['max-non-active-revisions'];
  if (maxRaw !== undefined) {
    const text = maxRaw.trim();
    const n = text.toLowerCase() === 'disabled' ? null : parseGoInt(text);
    if (n === null && text.toLowerCase() !== 'disabled') {
      problems.push({
        key: 'max-non-active-revisions',
        value: maxRaw,
        message: `max-non-active-revisions: "${maxRaw}" must be a non-negative integer or "disabled", e.g. "1000"`,
      });
    } else if (n !== null && n < 0) {
      problems.push({
        key: 'max-non-active-revisions',
        value: maxRaw,
        message: `max-non-active-revisions: "${maxRaw}" must be a non-negative integer or "disabled", e.g. "1000"`,
      });
    } else c.maxNonActiveRevisions = n;
  }
  if (
    problems.length === 0 &&
    c.maxNonActiveRevisions !== null &&
    c.minNonActiveRevisions > c.maxNonActiveRevisions
  ) {
    problems.push({
      key: 'min-non-active-revisions',
      value: String(c.minNonActiveRevisions),
      message: `min-non-active-revisions (${c.minNonActiveRevisions}) must be <= max-non-active-revisions (${c.maxNonActiveRevisions}); lower it or raise max-non-active-revisions`,
    });
  }
  for (const key of Object.keys(data)) {
    if (!KNOWN.has(key)) {
      problems.push({
        key,
        value: data[key] ?? '',
        message: `${key}: unknown config-gc key; check the spelling (Knative ignores it too)`,
      });
    }
  }
  const rejected = problems.some((p) => KNOWN.has(p.key));
  return { config: rejected ? DEFAULT_GC : Object.freeze(c), problems, rejected };
}
