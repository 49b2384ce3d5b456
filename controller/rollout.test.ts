// The rollout arithmetic, row by row. The numbers are the scenarios of Knative's own tests
// (knative/serving pkg/reconciler/route/traffic/rollout_test.go: TestStep, TestAdjustPercentage,
// TestValidateFailures, TestConfigDone, TestObserveReady), written as kedge rows; times are ms.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  type ConfigurationRollout,
  type ConfigurationTarget,
  type RevisionShare,
  type Rollout,
  type StepParams,
  NO_STEP,
  adjustPercentage,
  advanceRollout,
  computeStepParams,
  goalRollout,
  isRolloutDone,
  isValidRollout,
  observeReady,
  stepRollout,
} from './rollout.js';

/** Shares as `[name, percent]` pairs, oldest first. */
type Shares = readonly (readonly [string, number])[];

const shares = (s: Shares): readonly RevisionShare[] =>
  s.map(([revisionName, percent]) => ({ revisionName, percent }));

/** One configuration rollout; rows give only what they change. */
function cfg(
  name: string,
  percent: number,
  revs: Shares,
  step: Partial<StepParams> = {},
  tag = '',
): ConfigurationRollout {
  return { configurationName: name, tag, percent, revisions: shares(revs), step: { ...NO_STEP, ...step } };
}
const ro = (...configurations: ConfigurationRollout[]): Rollout => ({ configurations });
/** The goal Step is given: one revision at the configuration's percent. */
const goal = (name: string, percent: number, revision: string, tag = ''): ConfigurationRollout =>
  cfg(name, percent, [[revision, percent]], {}, tag);

function sorted(r: Rollout): Rollout {
  const key = (c: ConfigurationRollout): string => `${c.tag}\u0000${c.configurationName}`;
  return { configurations: [...r.configurations].sort((a, b) => (key(a) < key(b) ? -1 : 1)) };
}

/** Knative TestStep's clock. */
const NOW = 2020;

function nextStepOf(r: Rollout): number | null {
  let next: number | null = null;
  for (const c of r.configurations) {
    const at = c.step.nextStepAtMs;
    if (at > 0 && (next === null || at < next)) next = at;
  }
  return next;
}

interface StepCase {
  readonly name: string;
  readonly cur: Rollout;
  readonly prev: Rollout | null;
  readonly want: Rollout;
  readonly wantNext?: number;
}

/** Knative's two-configuration rollout scenario, mid-way: each configuration steps on its own. */
const TWO_CONFIGS_MID_ROLLOUT = ro(
  cfg(
    'mick',
    42,
    [
      ['a', 37],
      ['b', 5],
    ],
    { nextStepAtMs: 2019, stepDurationMs: 43, startAtMs: 1961, stepSize: 3 },
  ),
  cfg(
    'keith',
    52,
    [
      ['c', 36],
      ['d', 16],
    ],
    { nextStepAtMs: 2018, stepDurationMs: 55, startAtMs: 1971, stepSize: 4 },
  ),
);

const stepCases: readonly StepCase[] = [
  { name: 'no previous state: the goal', cur: ro(), prev: null, want: ro() },
  {
    name: 'previous state without revisions: the goal',
    cur: ro(goal('web', 100, 'b')),
    prev: ro(cfg('web', 100, [])),
    want: ro(goal('web', 100, 'b')),
  },
  {
    name: 'same revision: the goal, its step data dropped',
    cur: ro(
      cfg('web', 100, [['b', 100]], {
        nextStepAtMs: 2009,
        stepDurationMs: 2020,
        startAtMs: 2004,
        stepSize: 14,
      }),
    ),
    prev: ro(goal('web', 100, 'b')),
    want: ro(goal('web', 100, 'b')),
  },
  {
    name: 'a due step moves stepSize points to the newest: 95/5 → 92/8',
    cur: ro(goal('web', 100, 'b')),
    prev: ro(
      cfg(
        'web',
        100,
        [
          ['a', 95],
          ['b', 5],
        ],
        { nextStepAtMs: 2019, stepDurationMs: 5, startAtMs: 2004, stepSize: 3 },
      ),
    ),
    want: ro(
      cfg(
        'web',
        100,
        [
          ['a', 92],
          ['b', 8],
        ],
        { nextStepAtMs: NOW + 5, stepDurationMs: 5, startAtMs: 2004, stepSize: 3 },
      ),
    ),
    wantNext: NOW + 5,
  },
  {
    name: 'two configurations step, each by its own size; the next step is the earlier one',
    cur: ro(goal('mick', 42, 'b'), goal('keith', 52, 'd')),
    prev: TWO_CONFIGS_MID_ROLLOUT,
    want: ro(
      cfg(
        'keith',
        52,
        [
          ['c', 32],
          ['d', 20],
        ],
        { nextStepAtMs: NOW + 55, stepDurationMs: 55, startAtMs: 1971, stepSize: 4 },
      ),
      cfg(
        'mick',
        42,
        [
          ['a', 34],
          ['b', 8],
        ],
        { nextStepAtMs: NOW + 43, stepDurationMs: 43, startAtMs: 1961, stepSize: 3 },
      ),
    ),
    wantNext: NOW + 43,
  },
  {
    name: 'one configuration steps while the other starts a new rollout',
    cur: ro(goal('mick', 42, 'b'), goal('keith', 52, 'e')),
    prev: TWO_CONFIGS_MID_ROLLOUT,
    want: ro(
      cfg(
        'keith',
        52,
        [
          ['c', 36],
          ['d', 15],
          ['e', 1],
        ],
        { startAtMs: NOW },
      ),
      cfg(
        'mick',
        42,
        [
          ['a', 34],
          ['b', 8],
        ],
        { nextStepAtMs: NOW + 43, stepDurationMs: 43, startAtMs: 1961, stepSize: 3 },
      ),
    ),
    wantNext: NOW + 43,
  },
  {
    name: 'no step size yet (before the 1 % is observed): nothing moves',
    cur: ro(goal('web', 100, 'b')),
    prev: ro(
      cfg(
        'web',
        100,
        [
          ['a', 95],
          ['b', 5],
        ],
        { startAtMs: 2004 },
      ),
    ),
    want: ro(
      cfg(
        'web',
        100,
        [
          ['a', 95],
          ['b', 5],
        ],
        { startAtMs: 2004 },
      ),
    ),
  },
  {
    name: 'the configuration drops to 0 %: no rollout left',
    cur: ro(goal('web', 0, 'b')),
    prev: ro(goal('web', 100, 'a')),
    want: ro(),
  },
  {
    name: 'a configuration added at 0 % is left out',
    cur: ro(goal('charlie', 0, 'z'), goal('mick', 100, 'b')),
    prev: ro(goal('mick', 100, 'b')),
    want: ro(goal('mick', 100, 'b')),
  },
  {
    name: 'a new revision starts at 1 %, old timing thrown away',
    cur: ro(goal('web', 100, 'b')),
    prev: ro(
      cfg('web', 100, [['a', 100]], {
        nextStepAtMs: 1984,
        startAtMs: 1981,
        stepDurationMs: 1988,
        stepSize: 11,
      }),
    ),
    want: ro(
      cfg(
        'web',
        100,
        [
          ['a', 99],
          ['b', 1],
        ],
        { startAtMs: NOW },
      ),
    ),
  },
  {
    name: 'a new revision while the percent went down: the oldest lose it, then 1 % from the newest',
    cur: ro(goal('web', 33, 'c')),
    prev: ro(
      cfg('web', 42, [
        ['a', 11],
        ['b', 31],
      ]),
    ),
    want: ro(
      cfg(
        'web',
        33,
        [
          ['a', 2],
          ['b', 30],
          ['c', 1],
        ],
        { startAtMs: NOW },
      ),
    ),
  },
  {
    name: 'a new revision while the percent went up: the newest gains it, then gives 1 %',
    cur: ro(goal('web', 75, 'c')),
    prev: ro(
      cfg('web', 25, [
        ['a', 11],
        ['b', 14],
      ]),
    ),
    want: ro(
      cfg(
        'web',
        75,
        [
          ['a', 11],
          ['b', 63],
          ['c', 1],
        ],
        { startAtMs: NOW },
      ),
    ),
  },
  {
    name: 'a configuration share below 100 % (a pinned revision has the rest) rolls the same way',
    cur: ro(goal('web', 70, 'b')),
    prev: ro(goal('web', 70, 'a')),
    want: ro(
      cfg(
        'web',
        70,
        [
          ['a', 69],
          ['b', 1],
        ],
        { startAtMs: NOW },
      ),
    ),
  },
  {
    name: 'a newer revision mid-rollout: 1 % from the previous newest, the oldest keeps its share',
    cur: ro(goal('web', 100, 'c')),
    prev: ro(
      cfg(
        'web',
        100,
        [
          ['a', 95],
          ['b', 5],
        ],
        { startAtMs: NOW - 1982 },
      ),
    ),
    want: ro(
      cfg(
        'web',
        100,
        [
          ['a', 95],
          ['b', 4],
          ['c', 1],
        ],
        { startAtMs: NOW },
      ),
    ),
  },
  {
    name: 'two quick new revisions: the one at 1 % is emptied and leaves',
    cur: ro(goal('web', 100, 'c')),
    prev: ro(
      cfg(
        'web',
        100,
        [
          ['a', 99],
          ['b', 1],
        ],
        { startAtMs: NOW - 1984 },
      ),
    ),
    want: ro(
      cfg(
        'web',
        100,
        [
          ['a', 99],
          ['c', 1],
        ],
        { startAtMs: NOW },
      ),
    ),
  },
  {
    name: 'a configuration at 1 % is not rolled: the goal at once',
    cur: ro(goal('web', 1, 'b')),
    prev: ro(goal('web', 1, 'a')),
    want: ro(goal('web', 1, 'b')),
  },
  {
    name: 'a new tag has nothing to roll from',
    cur: ro(goal('web', 100, 'a'), goal('web', 100, 'a', 'next')),
    prev: ro(goal('web', 100, 'a')),
    want: ro(goal('web', 100, 'a'), goal('web', 100, 'a', 'next')),
  },
  {
    name: 'a configuration removed from the route is dropped',
    cur: ro(goal('mick', 100, 'b')),
    prev: ro(goal('keith', 50, 'x'), goal('mick', 50, 'b')),
    want: ro(goal('mick', 100, 'b')),
  },
  {
    name: 'A/B between configurations: 99 % rolls, 1 % switches at once',
    cur: ro(goal('keith', 99, 'x2'), goal('mick', 1, 'y2')),
    prev: ro(goal('keith', 99, 'x1'), goal('mick', 1, 'y1')),
    want: ro(
      cfg(
        'keith',
        99,
        [
          ['x1', 98],
          ['x2', 1],
        ],
        { startAtMs: NOW },
      ),
      goal('mick', 1, 'y2'),
    ),
  },
  {
    name: 'a configuration added next to another (sorted before it) takes its share at once',
    cur: ro(goal('keith', 50, 'x'), goal('mick', 50, 'b')),
    prev: ro(goal('mick', 100, 'b')),
    want: ro(goal('keith', 50, 'x'), goal('mick', 50, 'b')),
  },
  {
    name: 'a configuration added next to another (sorted after it) takes its share at once',
    cur: ro(goal('keith', 50, 'x'), goal('mick', 50, 'b')),
    prev: ro(goal('keith', 100, 'x')),
    want: ro(goal('keith', 50, 'x'), goal('mick', 50, 'b')),
  },
];

for (const c of stepCases) {
  test(`step: ${c.name}`, () => {
    // Both come sorted in real use (goalRollout, and the previous output).
    const got = stepRollout(sorted(c.cur), c.prev === null ? null : sorted(c.prev), NOW);
    assert.deepEqual(got, c.want);
    assert.ok(isValidRollout(got), 'a stepped rollout is valid');
    assert.equal(nextStepOf(got), c.wantNext ?? null);
  });
}

const adjustCases: readonly {
  name: string;
  goal: number;
  prev: readonly number[];
  want: readonly number[];
}[] = [
  { name: 'unchanged 100 %', goal: 100, prev: [71, 29], want: [71, 29] },
  { name: 'unchanged 42 %', goal: 42, prev: [21, 21], want: [21, 21] },
  { name: 'up 42 → 75: the newest gains 33', goal: 75, prev: [21, 21], want: [21, 54] },
  { name: 'down 75 → 42: the oldest leaves', goal: 42, prev: [21, 54], want: [42] },
  { name: 'down 75 → 42: one leaves, one shrinks, one stays', goal: 42, prev: [21, 22, 32], want: [10, 32] },
  { name: 'down 75 → 42: two leave, the newest shrinks', goal: 42, prev: [10, 5, 60], want: [42] },
  { name: 'down to 0 %: nothing left', goal: 0, prev: [10, 5, 60], want: [] },
];
for (const c of adjustCases) {
  test(`adjustPercentage: ${c.name}`, () => {
    const named = c.prev.map((p, i) => ({ revisionName: `r${i}`, percent: p }));
    assert.deepEqual(
      adjustPercentage(c.goal, named).map((r) => r.percent),
      c.want,
    );
  });
}

test('isValidRollout refuses what Knative Validate refuses, and what a decoder must not trust', () => {
  const bad: readonly [string, Rollout][] = [
    ['a configuration above 100 %', ro(goal('web', 101, 'a'))],
    ['a revision above its configuration', ro(cfg('web', 42, [['a', 43]]))],
    [
      'revisions summing above their configuration',
      ro(
        cfg('web', 42, [
          ['a', 41],
          ['b', 3],
        ]),
      ),
    ],
    ['a second configuration above 100 %', ro(goal('rob', 10, 'roy'), goal('web', 101, 'a', 'tag'))],
    ['a step larger than the configuration', ro(cfg('web', 10, [['a', 10]], { stepSize: 11 }))],
    [
      'a fractional percent',
      ro(
        cfg('web', 100, [
          ['a', 99.5],
          ['b', 0.5],
        ]),
      ),
    ],
    ['a time that is not a number', ro(cfg('web', 100, [['a', 100]], { nextStepAtMs: Number.NaN }))],
  ];
  for (const [what, r] of bad) assert.equal(isValidRollout(r), false, what);
  assert.equal(isValidRollout(ro(goal('web', 100, 'a'), cfg('web', 0, []))), true);
});

test('done: zero or one revision per configuration', () => {
  assert.equal(isRolloutDone(ro(goal('one', 100, 'a'), cfg('none', 0, []))), true);
  assert.equal(
    isRolloutDone(
      ro(
        goal('one', 100, 'a'),
        cfg('many', 100, [
          ['a', 83],
          ['b', 17],
        ]),
      ),
    ),
    false,
  );
});

// Knative TestObserveReady's rows, with the formula of current Knative (the rest of the duration
// after the first 1 % is spread, not the whole duration).
test('observeReady: step data from the time the first 1 % took', () => {
  const startedAt = 200_000;
  const duration = 120_000;
  const got = observeReady(
    ro(
      cfg('has-step', 100, [['a', 100]], { stepDurationMs: 11 }),
      cfg('not-started', 100, [['a', 100]]),
      cfg(
        'fast',
        100,
        [
          ['a', 99],
          ['b', 1],
        ],
        { startAtMs: startedAt + 2400 },
      ),
      cfg(
        'slow',
        100,
        [
          ['a', 99],
          ['b', 1],
        ],
        { startAtMs: startedAt },
      ),
      cfg(
        'slow-75',
        75,
        [
          ['a', 74],
          ['b', 1],
        ],
        { startAtMs: startedAt },
      ),
      cfg(
        'slow-50',
        50,
        [
          ['a', 49],
          ['b', 1],
        ],
        { startAtMs: startedAt },
      ),
    ),
    startedAt + 2400 + 500,
    duration,
  );
  const now = startedAt + 2900;
  const step = (name: string): StepParams | undefined =>
    got.configurations.find((c) => c.configurationName === name)?.step;
  assert.deepEqual(step('has-step'), { ...NO_STEP, stepDurationMs: 11 }, 'already known: kept');
  assert.deepEqual(step('not-started'), NO_STEP, 'no start time: nothing to compute');
  // 0.5 s → at least 1 s: 119 s left over min(119, 99) steps of 1 point, 1.202 s apart.
  assert.deepEqual(step('fast'), {
    startAtMs: startedAt + 2400,
    nextStepAtMs: now + 1202,
    stepDurationMs: 1202,
    stepSize: 1,
  });
  // 2.9 s → 3 s: 117 s left, 39 steps of 3 s; 99/39 rounds to 3 points, 74/39 to 2, 49/39 to 1.
  assert.deepEqual(step('slow'), {
    startAtMs: startedAt,
    nextStepAtMs: now + 3000,
    stepDurationMs: 3000,
    stepSize: 3,
  });
  assert.equal(step('slow-75')?.stepSize, 2);
  assert.equal(step('slow-50')?.stepSize, 1);
});

const paramCases: readonly {
  name: string;
  percent: number;
  durationS: number;
  wantMs: number;
  wantSize: number;
}[] = [
  { name: '120 s: 99 steps of 1 point', percent: 100, durationS: 120, wantMs: 1202, wantSize: 1 },
  { name: '10 s: 9 steps of 11 points, 1 s apart', percent: 100, durationS: 10, wantMs: 1000, wantSize: 11 },
  { name: '6 s: 5 steps of 20 points', percent: 100, durationS: 6, wantMs: 1000, wantSize: 20 },
  { name: '4 s: 3 steps of 33 points', percent: 100, durationS: 4, wantMs: 1000, wantSize: 33 },
  {
    name: 'shorter than the first step: one step of everything',
    percent: 100,
    durationS: 1,
    wantMs: 1000,
    wantSize: 99,
  },
  { name: '2 %: one point to move', percent: 2, durationS: 60, wantMs: 59_000, wantSize: 1 },
  { name: '1 h at 50 %: 49 steps of 1 point', percent: 50, durationS: 3600, wantMs: 73_448, wantSize: 1 },
];
for (const c of paramCases) {
  test(`computeStepParams: ${c.name}`, () => {
    const p = computeStepParams(c.percent, 5000, 5000, 1000, c.durationS * 1000);
    assert.deepEqual(p, {
      startAtMs: 5000,
      nextStepAtMs: 5000 + c.wantMs,
      stepDurationMs: c.wantMs,
      stepSize: c.wantSize,
    });
  });
}

// ---- whole rollouts, stepping a fake clock ----

const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const target = (revisionName: string, percent = 100, tag = ''): ConfigurationTarget => ({
  configurationName: 'web',
  tag,
  percent,
  revisionName,
});

/** The newest revision's share on the default route after each call, one call per tick. */
function run(
  ticksMs: readonly number[],
  goalAt: (ms: number) => readonly ConfigurationTarget[],
  durationMs: number,
  start: Rollout | null,
): { readonly split: Shares[]; readonly next: (number | null)[]; readonly last: Rollout } {
  let prev = start;
  const split: Shares[] = [];
  const next: (number | null)[] = [];
  for (const t of ticksMs) {
    const r = advanceRollout({ previous: prev, goal: goalAt(t), durationMs, nowMs: T0 + t });
    const c = r.rollout.configurations.find((x) => x.tag === '');
    split.push(c?.revisions.map((x) => [x.revisionName, x.percent] as const) ?? []);
    next.push(r.nextStepAtMs === null ? null : r.nextStepAtMs - T0);
    prev = r.rollout;
  }
  return { split, next, last: prev ?? { configurations: [] } };
}

test('6 s rollout: 1 → 21 → 41 → 61 → 81 → 100 %, one step a second, then nothing scheduled', () => {
  const baseline = goalRollout([target('a')]);
  const got = run([0, 1000, 2000, 3000, 4000, 5000], () => [target('b')], 6000, baseline);
  assert.deepEqual(got.split, [
    [
      ['a', 99],
      ['b', 1],
    ],
    [
      ['a', 79],
      ['b', 21],
    ],
    [
      ['a', 59],
      ['b', 41],
    ],
    [
      ['a', 39],
      ['b', 61],
    ],
    [
      ['a', 19],
      ['b', 81],
    ],
    [['b', 100]],
  ]);
  assert.deepEqual(got.next, [1000, 2000, 3000, 4000, 5000, null]);
  assert.ok(isRolloutDone(got.last));
  assert.deepEqual(got.last.configurations[0]?.step, NO_STEP, 'a finished rollout keeps no timing');
});

test('calls between steps (other objects reloaded) change nothing and keep the schedule', () => {
  const baseline = goalRollout([target('a')]);
  const got = run([0, 10, 400, 999, 1000, 1001, 1999], () => [target('b')], 6000, baseline);
  assert.deepEqual(
    got.split.map((s) => s.at(-1)?.[1]),
    [1, 1, 1, 1, 21, 21, 21],
  );
  assert.deepEqual(got.next, [1000, 1000, 1000, 1000, 2000, 2000, 2000]);
});

test('a late call takes one step, not all it missed, and the rest keeps its pace', () => {
  const baseline = goalRollout([target('a')]);
  const got = run([0, 3500, 3600, 4500], () => [target('b')], 6000, baseline);
  assert.deepEqual(
    got.split.map((s) => s.at(-1)?.[1]),
    [1, 21, 21, 41],
  );
  assert.deepEqual(got.next, [1000, 4500, 4500, 5500]);
});

test('a newer revision at 41 %: it starts at 1 % taken from the previous newest, which drains first', () => {
  const baseline = goalRollout([target('a')]);
  const got = run([0, 1000, 2000, 2500, 3500, 4500], (t) => [target(t < 2500 ? 'b' : 'c')], 6000, baseline);
  assert.deepEqual(got.split, [
    [
      ['a', 99],
      ['b', 1],
    ],
    [
      ['a', 79],
      ['b', 21],
    ],
    [
      ['a', 59],
      ['b', 41],
    ],
    [
      ['a', 59],
      ['b', 40],
      ['c', 1],
    ],
    [
      ['a', 59],
      ['b', 20],
      ['c', 21],
    ],
    [
      ['a', 59],
      ['c', 41],
    ],
  ]);
  assert.deepEqual(got.next.slice(3), [3500, 4500, 5500], 'the new rollout has its own timing');
});

test('no duration: the goal at once, nothing scheduled (and it is the baseline a later duration rolls from)', () => {
  const baseline = goalRollout([target('a')]);
  const got = run([0], () => [target('b')], 0, baseline);
  assert.deepEqual(got.split, [[['b', 100]]]);
  assert.deepEqual(got.next, [null]);
  const later = run([0], () => [target('c')], 6000, got.last);
  assert.deepEqual(later.split, [
    [
      ['b', 99],
      ['c', 1],
    ],
  ]);
});

test('only the latest-revision share rolls: 70 % of the route, the pinned 30 % never moves', () => {
  const baseline = goalRollout([target('a', 70)]);
  const got = run([0, 1000, 5000], () => [target('b', 70)], 6000, baseline);
  assert.deepEqual(got.split, [
    [
      ['a', 69],
      ['b', 1],
    ],
    [
      ['a', 55],
      ['b', 15],
    ],
    [
      ['a', 41],
      ['b', 29],
    ],
  ]);
  // 69 points in 5 steps round to 14 a step.
  assert.equal(got.last.configurations[0]?.step.stepSize, 14);
});

test('a tag route that follows the latest revision rolls on its own, at 100 %', () => {
  const baseline = goalRollout([target('a', 0), target('a', 100, 'next')]);
  const got = advanceRollout({
    previous: baseline,
    goal: [target('b', 0), target('b', 100, 'next')],
    durationMs: 6000,
    nowMs: T0,
  });
  assert.deepEqual(
    got.rollout.configurations.map((c) => [c.tag, c.revisions.map((r) => r.percent)]),
    [['next', [99, 1]]],
  );
  assert.equal(got.nextStepAtMs, T0 + 1000);
});

test('a wall clock that went back never delays a step by more than one interval', () => {
  const baseline = goalRollout([target('a')]);
  const started = run([0], () => [target('b')], 6000, baseline).last;
  const back = advanceRollout({
    previous: started,
    goal: [target('b')],
    durationMs: 6000,
    nowMs: T0 - 3_600_000,
  });
  assert.equal(back.nextStepAtMs, T0 - 3_600_000 + 1000);
});

test('an invalid previous rollout is discarded: the goal at once, as Knative does with a bad annotation', () => {
  const broken = ro(
    cfg('web', 100, [
      ['a', 60],
      ['b', 30],
    ]),
  );
  const got = advanceRollout({ previous: broken, goal: [target('b')], durationMs: 6000, nowMs: T0 });
  assert.deepEqual(got.rollout, goalRollout([target('b')]));
  assert.equal(got.nextStepAtMs, null);
});
