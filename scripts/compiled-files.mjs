// Finds compiled files under dist/ by suffix, optionally limited to path prefixes relative to dist/.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

export const DIST = join(import.meta.dirname, '..', 'dist');

export function compiledFiles(suffix, prefixes) {
  const walk = (dir) =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return walk(path);
      return entry.name.endsWith(suffix) ? [path] : [];
    });
  return walk(DIST)
    .filter((f) => prefixes.length === 0 || prefixes.some((p) => relative(DIST, f).startsWith(p)))
    .sort();
}
