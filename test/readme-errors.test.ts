// The README's error table and the gateway's error catalogue must say the same thing (fastify's
// guard): every code the gateway can answer is documented, and nothing documented is made up.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { GATEWAY_ERRORS } from '../gateway/errors.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function documentedErrors(): Map<string, number> {
  const start = README.indexOf('<!-- error-table:start -->');
  const end = README.indexOf('<!-- error-table:end -->');
  assert.ok(start >= 0 && end > start, 'README.md has the error-table markers');
  const rows = new Map<string, number>();
  for (const line of README.slice(start, end).split('\n')) {
    const m = /^\| (\d{3}) \| `(KEDGE_[A-Z_]+)` \|/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) rows.set(m[2], Number(m[1]));
  }
  return rows;
}

test('every gateway error code is in the README with its status', () => {
  const documented = documentedErrors();
  for (const info of Object.values(GATEWAY_ERRORS)) {
    assert.equal(documented.get(info.code), info.status, `${info.code} is documented as ${info.status}`);
  }
});

test('the README documents no code the gateway does not have', () => {
  const known = new Set<string>(Object.keys(GATEWAY_ERRORS));
  for (const code of documentedErrors().keys())
    assert.ok(known.has(code), `${code} exists in gateway/errors.ts`);
});
