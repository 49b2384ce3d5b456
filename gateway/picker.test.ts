import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { hasCapacity, pickEndpoint, reserve } from './picker.js';
import type { Slot } from './picker.js';
import { seeded } from './testing/fixtures.js';

const slots = (...inFlight: number[]): Slot[] => inFlight.map((n, i) => ({ id: `e${i}`, inFlight: n }));

const cases: readonly {
  readonly name: string;
  readonly inFlight: number[];
  readonly cc: number;
  readonly random: number[];
  readonly want: string | null;
}[] = [
  { name: 'no replicas', inFlight: [], cc: 0, random: [0], want: null },
  { name: 'one replica, unlimited', inFlight: [100], cc: 0, random: [0], want: 'e0' },
  { name: 'one replica at its cap', inFlight: [1], cc: 1, random: [0], want: null },
  { name: 'p2c prefers the less loaded of the two', inFlight: [5, 2, 9], cc: 0, random: [0, 0], want: 'e1' },
  { name: 'p2c tie keeps the first sample', inFlight: [3, 3], cc: 0, random: [0.9, 0], want: 'e1' },
  {
    name: 'both samples full → scan finds the free one',
    inFlight: [1, 1, 0],
    cc: 1,
    random: [0, 0],
    want: 'e2',
  },
  { name: 'all full → null', inFlight: [2, 2, 2], cc: 2, random: [0.5, 0.5], want: null },
  { name: 'a full sample loses to a free one', inFlight: [0, 4], cc: 4, random: [0.6, 0], want: 'e0' },
];
for (const c of cases) {
  test(`pickEndpoint: ${c.name}`, () => {
    let i = 0;
    const random = (): number => c.random[i++ % c.random.length] ?? 0;
    assert.equal(pickEndpoint(slots(...c.inFlight), c.cc, random)?.id ?? null, c.want);
  });
}

test('pickEndpoint: exclude skips a replica (retry elsewhere)', () => {
  const s = slots(0, 0);
  assert.equal(pickEndpoint(s, 0, () => 0, s[0])?.id, 'e1');
  assert.equal(
    pickEndpoint(s.slice(0, 1), 0, () => 0, s[0]),
    null,
  );
});

test('containerConcurrency is a hard cap under a stream of reservations', () => {
  const s = slots(0, 0, 0);
  const random = seeded(3);
  const releases = [];
  for (let i = 0; i < 6; i++) {
    const slot = pickEndpoint(s, 2, random);
    assert.ok(slot !== null);
    releases.push(reserve(slot, () => undefined));
  }
  assert.deepEqual(
    s.map((x) => x.inFlight),
    [2, 2, 2],
  );
  assert.equal(pickEndpoint(s, 2, random), null);
  assert.equal(hasCapacity(s, 2), false);
  releases[0]?.();
  assert.equal(hasCapacity(s, 2), true);
});

test('p2c spreads load: 10 000 reservations over 4 replicas stay within 1 of each other', () => {
  const s = slots(0, 0, 0, 0);
  const random = seeded(11);
  for (let i = 0; i < 10_000; i++) {
    const slot = pickEndpoint(s, 0, random);
    assert.ok(slot !== null);
    slot.inFlight++;
  }
  const counts = s.map((x) => x.inFlight);
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 2, counts.join(','));
});

test('reserve(): release is idempotent and calls onRelease once', () => {
  const slot: Slot = { id: 'e0', inFlight: 0 };
  let released = 0;
  const release = reserve(slot, () => released++);
  assert.equal(slot.inFlight, 1);
  release();
  release();
  release();
  assert.equal(slot.inFlight, 0);
  assert.equal(released, 1);
});

test('an unhealthy replica is never picked, whatever its load and the random draws', () => {
  const mk = (id: string, inFlight: number, unhealthy: boolean): Slot => ({ id, inFlight, unhealthy });
  const cases: readonly { name: string; s: Slot[]; cc: number; want: string | null }[] = [
    { name: 'the only replica', s: [mk('e0', 0, true)], cc: 0, want: null },
    { name: 'idle but unhealthy vs busy', s: [mk('e0', 0, true), mk('e1', 9, false)], cc: 0, want: 'e1' },
    {
      name: 'all unhealthy',
      s: [mk('e0', 0, true), mk('e1', 0, true), mk('e2', 0, true)],
      cc: 0,
      want: null,
    },
    { name: 'the healthy one is full', s: [mk('e0', 0, true), mk('e1', 2, false)], cc: 2, want: null },
    {
      name: 'one healthy among many',
      s: [mk('e0', 0, true), mk('e1', 0, true), mk('e2', 5, false), mk('e3', 0, true)],
      cc: 0,
      want: 'e2',
    },
  ];
  for (const c of cases) {
    const random = seeded(5);
    for (let i = 0; i < 50; i++) assert.equal(pickEndpoint(c.s, c.cc, random)?.id ?? null, c.want, c.name);
    assert.equal(hasCapacity(c.s, c.cc), c.want !== null, c.name);
  }
});
