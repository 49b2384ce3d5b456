// Runs every compiled *.test.js under dist/ with Node's test runner.
// Usage: node scripts/run-tests.mjs [path-prefix ...]   e.g. `node scripts/run-tests.mjs gateway autoscaler/kpa`
import { spawnSync } from 'node:child_process';
import { compiledFiles } from './compiled-files.mjs';

const files = compiledFiles('.test.js', process.argv.slice(2));
if (files.length === 0) {
  console.error('no test files found under dist/ (run `npm run build` first)');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
