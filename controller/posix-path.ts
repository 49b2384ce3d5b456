// POSIX path joining in plain string code: reconcile() is pure and may not import node:path.

/** Normalises `.`/`..`/duplicate slashes of an absolute path; never climbs above `/`. */
export function normalizeAbsolute(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/** `dir` joined with `path` unless `path` is already absolute; the result is normalised. */
export function resolvePosix(dir: string, path: string): string {
  return normalizeAbsolute(path.startsWith('/') ? path : `${dir}/${path}`);
}
