// A ConfigMap key kedge could not accept: names the key, the value and what to write instead
// (the same shape as the autoscaler's config problems, so the CLI prints them alike).
export interface ConfigProblem {
  readonly key: string;
  readonly value: string;
  readonly message: string;
}

/** Go strconv.ParseInt(s, 10, 64) accepts an optional sign and decimal digits only. */
export function parseGoInt(text: string): number | null {
  if (!/^[+-]?\d+$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

/** Go strconv.ParseBool, which Knative's configmap.AsBool uses. */
export function parseGoBool(text: string): boolean | null {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return null;
}

/**
 * A parsed ConfigMap. `rejected`: a known key was invalid, so (as Knative does) the whole map is
 * refused and `config` holds the defaults; the caller keeps its last good config instead. Problems
 * about unknown keys alone do not reject the map (Knative ignores them; kedge reports typos).
 */
export interface ParsedConfig<T> {
  readonly config: T;
  readonly problems: readonly ConfigProblem[];
  readonly rejected: boolean;
}
