import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { pickSplit } from './traffic-split.js';
import { seeded } from './testing/fixtures.js';

const cases: readonly { readonly name: string; readonly cumulative: number[]; readonly want: number[] }[] = [
  { name: 'one split takes all', cumulative: [100], want: [1] },
  { name: '80/20', cumulative: [80, 100], want: [0.8, 0.2] },
  { name: '50/30/20', cumulative: [50, 80, 100], want: [0.5, 0.3, 0.2] },
  { name: '1/99', cumulative: [1, 100], want: [0.01, 0.99] },
];
for (const c of cases) {
  test(`pickSplit ${c.name}: 100 000 seeded picks within ±1 %`, () => {
    const random = seeded(7);
    const counts = c.want.map(() => 0);
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const k = pickSplit({ cumulative: c.cumulative }, random);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    c.want.forEach((share, i) => {
      assert.ok(Math.abs((counts[i] ?? 0) / n - share) < 0.01, `split ${i}: ${counts[i]} of ${n}`);
    });
  });
}

test('pickSplit: no splits → -1; boundaries go to the next split', () => {
  assert.equal(pickSplit({ cumulative: [] }, Math.random), -1);
  assert.equal(
    pickSplit({ cumulative: [80, 100] }, () => 0),
    0,
  );
  assert.equal(
    pickSplit({ cumulative: [80, 100] }, () => 0.8),
    1,
  );
  assert.equal(
    pickSplit({ cumulative: [80, 100] }, () => 0.999999),
    1,
  );
});
