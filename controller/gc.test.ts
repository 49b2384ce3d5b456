import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { DEFAULT_GC, type GcConfig } from './config/gc.js';
import { type GcRevision, revisionsToCollect } from './gc.js';

const HOUR = 3_600_000;
const NOW = 1000 * HOUR;

const gc = (o: Partial<GcConfig>): GcConfig => ({ ...DEFAULT_GC, ...o });
/** A reserve revision created `createdHoursAgo` and last active `activeHoursAgo` (null: never routed). */
const rev = (
  name: string,
  createdHoursAgo: number,
  activeHoursAgo: number | null = null,
  o: Partial<GcRevision> = {},
): GcRevision => ({
  name,
  createdAtMs: NOW - createdHoursAgo * HOUR,
  routingState: 'reserve',
  routingStateModifiedMs: activeHoursAgo === null ? null : NOW - activeHoursAgo * HOUR,
  noGc: false,
  ...o,
});
/** Only the count matters: times disabled, min 0. */
const countOnly = (max: number | null): GcConfig =>
  gc({
    retainSinceCreateTimeMs: null,
    retainSinceLastActiveTimeMs: null,
    minNonActiveRevisions: 0,
    maxNonActiveRevisions: max,
  });

interface GcCase {
  readonly name: string;
  readonly config: GcConfig;
  readonly latestReady?: string;
  readonly revisions: readonly GcRevision[];
  readonly want: readonly string[];
}

const cases: readonly GcCase[] = [
  {
    name: 'Knative defaults: 25 reserve revisions, all 100 h old → 5 oldest go, 20 stay (min)',
    config: DEFAULT_GC,
    revisions: Array.from({ length: 25 }, (_, i) => rev(`s-${String(i + 1).padStart(5, '0')}`, 100 + 25 - i)),
    want: ['s-00001', 's-00002', 's-00003', 's-00004', 's-00005'],
  },
  {
    name: 'Knative defaults: 25 revisions, but created 47 h ago (< 48 h) → none',
    config: DEFAULT_GC,
    revisions: Array.from({ length: 25 }, (_, i) => rev(`s-${String(i + 1).padStart(5, '0')}`, 47)),
    want: [],
  },
  {
    name: 'old but active 14 h ago (< 15 h retain-since-last-active-time) → kept',
    config: gc({ minNonActiveRevisions: 0 }),
    revisions: [rev('s-00001', 100, 14), rev('s-00002', 100, 16)],
    want: ['s-00002'],
  },
  {
    name: 'retain-since-create-time disabled: last-active time alone decides',
    config: gc({ minNonActiveRevisions: 0, retainSinceCreateTimeMs: null }),
    revisions: [rev('s-00001', 1, 16), rev('s-00002', 1, 14)],
    want: ['s-00001'],
  },
  {
    name: 'both retention times disabled: nothing is stale, max alone decides',
    config: gc({
      minNonActiveRevisions: 0,
      retainSinceCreateTimeMs: null,
      retainSinceLastActiveTimeMs: null,
    }),
    revisions: [rev('s-00001', 1000), rev('s-00002', 1000)],
    want: [],
  },
  {
    name: 'everything disabled → nothing, whatever the count',
    config: countOnly(null),
    revisions: [rev('s-00001', 1000), rev('s-00002', 1000), rev('s-00003', 1000)],
    want: [],
  },
  {
    name: 'max 1: the oldest by last-active time go, not by creation',
    config: countOnly(1),
    revisions: [rev('s-00001', 10, 1), rev('s-00002', 9), rev('s-00003', 8)],
    want: ['s-00002', 's-00003'],
  },
  {
    name: 'max 1: the latest ready revision is never collected',
    config: countOnly(1),
    latestReady: 's-00001',
    revisions: [rev('s-00001', 10), rev('s-00002', 9), rev('s-00003', 8)],
    want: ['s-00002'],
  },
  {
    name: 'max 0: routed (active) and just created (pending) revisions stay',
    config: countOnly(0),
    revisions: [
      rev('s-00001', 10, null, { routingState: 'active' }),
      rev('s-00002', 9),
      rev('s-00003', 8, null, { routingState: 'pending' }),
    ],
    want: ['s-00002'],
  },
  {
    name: 'max 0: serving.knative.dev/no-gc keeps a revision',
    config: countOnly(0),
    revisions: [rev('s-00001', 10, null, { noGc: true }), rev('s-00002', 9)],
    want: ['s-00002'],
  },
  {
    name: 'min 2 with max 2: three non-active → the oldest goes',
    config: gc({
      minNonActiveRevisions: 2,
      maxNonActiveRevisions: 2,
      retainSinceCreateTimeMs: null,
      retainSinceLastActiveTimeMs: null,
    }),
    revisions: [rev('s-00001', 3), rev('s-00002', 2), rev('s-00003', 1)],
    want: ['s-00001'],
  },
  {
    name: 'no more revisions in all than min → nothing, even past max',
    config: gc({ minNonActiveRevisions: 3, maxNonActiveRevisions: 3 }),
    revisions: [rev('s-00001', 1000), rev('s-00002', 1000), rev('s-00003', 1000)],
    want: [],
  },
  {
    name: 'stale deletions stop at min: 4 stale, min 3 → only the oldest goes',
    config: gc({ minNonActiveRevisions: 3 }),
    revisions: [rev('s-00001', 100), rev('s-00002', 99), rev('s-00003', 98), rev('s-00004', 97)],
    want: ['s-00001'],
  },
  {
    name: 'stale first, then max among the rest: 2 stale + 3 fresh, max 2',
    config: gc({ minNonActiveRevisions: 0, maxNonActiveRevisions: 2 }),
    revisions: [
      rev('s-00001', 100),
      rev('s-00002', 100),
      rev('s-00003', 1),
      rev('s-00004', 1, 0.5),
      rev('s-00005', 1, 0.1),
    ],
    want: ['s-00001', 's-00002', 's-00003'],
  },
];

for (const c of cases) {
  test(`gc: ${c.name}`, () => {
    const got = revisionsToCollect(
      c.config,
      { latestReadyRevisionName: c.latestReady ?? '', revisions: c.revisions },
      NOW,
    );
    assert.deepEqual([...got].sort(), [...c.want].sort());
  });
}

test('gc: the input is not reordered', () => {
  const revisions = [rev('s-00002', 1), rev('s-00001', 2)];
  const frozen = Object.freeze([...revisions]);
  revisionsToCollect(countOnly(0), { latestReadyRevisionName: '', revisions: frozen }, NOW);
  assert.deepEqual(frozen, revisions);
});
