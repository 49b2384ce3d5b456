import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chartModel, niceScale, type ChartInput } from './chart.js';

const NOW = 10_000_000;
const WINDOW = 600_000;

function input(rows: readonly { t: number; c?: number; d?: number; r?: number; p?: boolean }[]): ChartInput {
  return {
    timeMs: rows.map((x) => NOW - x.t),
    observedConcurrency: rows.map((x) => x.c ?? 0),
    stableConcurrency: rows.map((x) => x.c ?? 0),
    desiredReplicas: rows.map((x) => x.d ?? 1),
    readyReplicas: rows.map((x) => x.r ?? 1),
    panic: rows.map((x) => x.p ?? false),
    coldStarts: [],
  };
}

test('niceScale covers the value in at most 4 steps', () => {
  assert.deepEqual(niceScale(0, 1), { max: 1, step: 1 });
  assert.deepEqual(niceScale(3, 1), { max: 3, step: 1 });
  assert.deepEqual(niceScale(7, 1), { max: 8, step: 2 });
  assert.deepEqual(niceScale(0.3, 0.25), { max: 0.5, step: 0.25 });
  assert.deepEqual(niceScale(130, 1), { max: 150, step: 50 });
  assert.deepEqual(niceScale(1e6, 1), { max: 1e6, step: 1e6 / 4 });
});

test('an empty history draws nothing and says so', () => {
  const m = chartModel(input([]), NOW, WINDOW, 2000);
  assert.equal(m.observed, '');
  assert.equal(m.ready, '');
  assert.equal(m.summary, 'No samples yet.');
  assert.equal(m.windowMs, 120_000);
  assert.deepEqual(
    m.timeTicks.map((t) => t.label),
    ['-2m', '-1m', 'now'],
  );
});

test('points map into the plot box; the newest sample sits at the right edge minus one interval', () => {
  const m = chartModel(
    input([
      { t: 2000, c: 4, d: 2, r: 2 },
      { t: 0, c: 2, d: 2, r: 2 },
    ]),
    NOW,
    WINDOW,
    2000,
  );
  const { plot } = m;
  const right = plot.x + plot.w;
  // Concurrency max 4 → the first point is at the top of the plot.
  assert.match(m.observed, new RegExp(`^M[\\d.]+ ${plot.y}L${right} `));
  // The desired step line ends at "now", the right edge.
  assert.ok(m.desired.endsWith(`H${right}`), m.desired);
  assert.ok(m.ready.endsWith('Z'));
  assert.match(m.summary, /peak concurrency 4, ready replicas 2, 0 panic periods, 0 cold starts/);
});

test('the axis grows with the samples, in whole minutes, up to the window', () => {
  const at = (t: number): number => chartModel(input([{ t }, { t: 0 }]), NOW, WINDOW, 2000).windowMs;
  assert.equal(at(30_000), 120_000);
  assert.equal(at(150_000), 180_000);
  assert.equal(at(WINDOW), WINDOW);
  assert.equal(at(WINDOW + 60_000), WINDOW);
  const ticks = chartModel(input([{ t: WINDOW }]), NOW, WINDOW, 2000).timeTicks.map((t) => t.label);
  assert.deepEqual(ticks, ['-10m', '-8m', '-6m', '-4m', '-2m', 'now']);
});

test('samples older than the window are left out, and a gap breaks the line', () => {
  const m = chartModel(
    input([{ t: WINDOW + 2000, c: 99 }, { t: 20_000 }, { t: 18_000 }, { t: 4000 }, { t: 2000 }]),
    NOW,
    WINDOW,
    2000,
  );
  assert.equal(m.observed.split('M').length - 1, 2);
  assert.doesNotMatch(m.summary, /99/);
});

test('consecutive panic samples make one band; cold starts become labelled markers', () => {
  const i = input([{ t: 8000, p: true }, { t: 6000, p: true }, { t: 4000 }, { t: 2000, p: true }]);
  const m = chartModel(
    {
      ...i,
      coldStarts: [
        { timeMs: NOW - 5000, durationMs: 1200, estimated: false },
        { timeMs: NOW - 3000, durationMs: 2000, estimated: true },
      ],
    },
    NOW,
    WINDOW,
    2000,
  );
  assert.equal(m.panic.length, 2);
  assert.deepEqual(
    m.coldStarts.map((c) => c.label),
    ['1.2 s', '≤ 2.0 s'],
  );
  assert.match(m.summary, /2 panic periods, 2 cold starts \(1.2 s, ≤ 2.0 s\)/);
});
