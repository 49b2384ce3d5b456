// Runs every compiled tinybench micro-benchmark (*.bench.js under dist/) one after another.
// Usage: node scripts/run-benches.mjs [path-prefix ...]   e.g. `node scripts/run-benches.mjs gateway`
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
    else if (entry.name.endsWith('.bench.js')) out.push(path);
  }
  return out;
}

const files = walk(root)
  .filter((f) => prefixes.length === 0 || prefixes.some((p) => relative(root, f).startsWith(p)))
  .sort();
let failed = 0;
for (const file of files) {
  console.log(`\n== ${relative(root, file)}`);
  const result = spawnSync(process.execPath, [file], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
