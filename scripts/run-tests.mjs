// Runs every compiled *.test.js under dist/ with Node's test runner.
// Usage: node scripts/run-tests.mjs [path-prefix ...]   e.g. `node scripts/run-tests.mjs gateway autoscaler/kpa`
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..', 'dist');
const prefixes = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else if (entry.name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = walk(root)
  .filter((f) => prefixes.length === 0 || prefixes.some((p) => relative(root, f).startsWith(p)))
  .sort();
if (files.length === 0) {
  console.error('no test files found under dist/ (run `npm run build` first)');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
