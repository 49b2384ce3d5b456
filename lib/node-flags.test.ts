import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KEDGE_NODE_FLAGS } from './node-flags.js';

// Tests run from dist/lib; the sources and package.json are two folders up.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

test('npm start runs kedge with the node flags', () => {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  assert.match(
    scripts['start'] ?? '',
    new RegExp(`node ${KEDGE_NODE_FLAGS.join(' ')} dist/cli/kedge\\.js up`),
  );
});

test('the kedge command carries the node flags in its shebang (npx kedge, npm i -g)', () => {
  assert.equal(read('cli/kedge.ts').split('\n')[0], `#!/usr/bin/env -S node ${KEDGE_NODE_FLAGS.join(' ')}`);
});

test('this Node accepts every flag', () => {
  const r = spawnSync(process.execPath, [...KEDGE_NODE_FLAGS, '-e', ''], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});
