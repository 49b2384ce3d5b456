// Runs every compiled tinybench micro-benchmark (*.bench.js under dist/) one after another.
// Usage: node scripts/run-benches.mjs [path-prefix ...]   e.g. `node scripts/run-benches.mjs gateway`
import { spawnSync } from 'node:child_process';
import { relative } from 'node:path';
import { DIST, compiledFiles } from './compiled-files.mjs';

let failed = 0;
for (const file of compiledFiles('.bench.js', process.argv.slice(2))) {
  console.log(`\n== ${relative(DIST, file)}`);
  const result = spawnSync(process.execPath, [file], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
