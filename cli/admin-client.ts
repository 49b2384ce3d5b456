// The client side of the admin API, for `kedge get`, `describe` and `logs`: one GET, JSON back,
// and failures turned into one line that says what to do.
import { CliError, UsageError } from './usage.js';

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9090';

/** --admin, else $KEDGE_ADMIN, else the local default; must be an http(s) URL. */
export function adminBase(flag: string | undefined): string {
  const raw = flag ?? process.env.KEDGE_ADMIN ?? DEFAULT_ADMIN_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--admin must be a URL like ${DEFAULT_ADMIN_URL}, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--admin must be an http:// URL like ${DEFAULT_ADMIN_URL}, got "${raw}"`);
  }
  return url.origin;
}

export function unreachable(base: string, cause?: unknown): CliError {
  return new CliError(`cannot reach the admin API at ${base} — is 'kedge up' running?`, { cause });
}

/** GET base+path as JSON. A refused or failed connection, or a non-2xx answer, is a CliError. */
export async function getJson<T>(base: string, path: string, timeoutMs = 10_000): Promise<T> {
  let res: Response;
  try {
    res = await fetch(base + path, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw unreachable(base, err);
  }
  const text = await res.text().catch((err: unknown) => {
    throw unreachable(base, err);
  });
  if (!res.ok) throw new CliError(text.trim() === '' ? `${path}: HTTP ${res.status}` : text.trim());
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new CliError(`${base}${path} did not answer JSON; is ${base} the admin port of 'kedge up'?`, {
      cause: err,
    });
  }
}
