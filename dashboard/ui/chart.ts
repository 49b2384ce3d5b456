// The per-revision chart as data: SVG path strings, bands and ticks for the last ten minutes of
// concurrency (left axis) against replicas (right axis). Pure (node tests run it); ui/app.ts turns
// the model into SVG elements.
import { formatDuration, formatNumber } from './format.js';

export interface ChartInput {
  readonly timeMs: readonly number[];
  readonly observedConcurrency: readonly number[];
  readonly stableConcurrency: readonly number[];
  readonly desiredReplicas: readonly number[];
  readonly readyReplicas: readonly number[];
  readonly panic: readonly boolean[];
  readonly coldStarts: readonly {
    readonly timeMs: number;
    readonly durationMs: number;
    readonly estimated: boolean;
  }[];
}

export interface ChartSize {
  readonly width: number;
  readonly height: number;
}

export interface Tick {
  /** Pixel position along the tick's axis. */
  readonly at: number;
  readonly label: string;
}

export interface ChartModel {
  readonly width: number;
  readonly height: number;
  /** The time the x axis spans (2 minutes up to the history window, by the samples there are). */
  readonly windowMs: number;
  /** The plot area inside the axes. */
  readonly plot: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  /** SVG path data; '' when there is nothing to draw. */
  readonly observed: string;
  readonly stable: string;
  readonly desired: string;
  /** A closed area under the ready-replicas step line. */
  readonly ready: string;
  readonly panic: readonly { readonly x: number; readonly w: number }[];
  readonly coldStarts: readonly { readonly x: number; readonly label: string; readonly title: string }[];
  readonly concurrencyTicks: readonly Tick[];
  readonly replicaTicks: readonly Tick[];
  readonly timeTicks: readonly Tick[];
  /** One sentence for screen readers: what the chart shows. */
  readonly summary: string;
}

export const DEFAULT_SIZE: ChartSize = { width: 640, height: 150 };
const PAD = { left: 34, right: 30, top: 20, bottom: 18 };
/** A gap of more than this many intervals between samples breaks the lines (no sample, no claim). */
const GAP_INTERVALS = 2.5;
const MANTISSAS = [1, 2, 2.5, 5];
const MIN_WINDOW_MS = 120_000;

/** The smallest 1-2-2.5-5 step (at least minStep) that covers v in at most 4 steps. */
export function niceScale(v: number, minStep: number): { max: number; step: number } {
  const value = Number.isFinite(v) && v > 0 ? v : 0;
  // pre: 0 < minStep; bounded: 10^15 covers any replica count or concurrency.
  for (let exp = -2; exp <= 15; exp++) {
    for (const m of MANTISSAS) {
      const step = m * 10 ** exp;
      if (step < minStep) continue;
      const n = Math.max(1, Math.ceil(value / step - 1e-9));
      if (n <= 4) return { max: n * step, step };
    }
  }
  return { max: value, step: value };
}

const round = (n: number): number => Math.round(n * 10) / 10;

export function chartModel(
  input: ChartInput,
  nowMs: number,
  maxWindowMs: number,
  intervalMs: number,
  size: ChartSize = DEFAULT_SIZE,
): ChartModel {
  const plot = {
    x: PAD.left,
    y: PAD.top,
    w: size.width - PAD.left - PAD.right,
    h: size.height - PAD.top - PAD.bottom,
  };
  const n = input.timeMs.length;
  let first = 0;
  while (first < n && (input.timeMs[first] ?? 0) < nowMs - maxWindowMs) first++;
  // The axis spans the samples there are, in whole minutes: at least 2, at most the history window,
  // so a young platform's first minutes are not squeezed into the right edge.
  const spanMs = first > 0 ? maxWindowMs : first < n ? nowMs - (input.timeMs[first] ?? nowMs) : 0;
  const windowMs = Math.min(maxWindowMs, Math.max(MIN_WINDOW_MS, Math.ceil(spanMs / 60_000) * 60_000));
  const startMs = nowMs - windowMs;
  const idx: number[] = [];
  for (let i = first; i < n; i++) idx.push(i);

  const at = (col: readonly number[], i: number): number => col[i] ?? 0;
  const maxOf = (col: readonly number[]): number => idx.reduce((m, i) => Math.max(m, at(col, i)), 0);
  const cScale = niceScale(Math.max(maxOf(input.observedConcurrency), maxOf(input.stableConcurrency)), 0.25);
  const rScale = niceScale(Math.max(maxOf(input.desiredReplicas), maxOf(input.readyReplicas)), 1);

  const x = (t: number): number => round(plot.x + ((t - startMs) / windowMs) * plot.w);
  const yc = (v: number): number => round(plot.y + plot.h - (v / cScale.max) * plot.h);
  const yr = (v: number): number => round(plot.y + plot.h - (v / rScale.max) * plot.h);
  const gap = (i: number, j: number): boolean =>
    at(input.timeMs, j) - at(input.timeMs, i) > GAP_INTERVALS * intervalMs;

  const line = (col: readonly number[]): string => {
    let d = '';
    idx.forEach((i, k) => {
      const prev = idx[k - 1];
      const cmd = prev === undefined || gap(prev, i) ? 'M' : 'L';
      d += `${cmd}${x(at(input.timeMs, i))} ${yc(at(col, i))}`;
    });
    return d;
  };
  // Replicas hold their value until the next sample: a step line, ended at the next sample or now.
  const stepEnd = (k: number): number => {
    const i = idx[k] ?? 0;
    const next = idx[k + 1];
    if (next !== undefined && !gap(i, next)) return at(input.timeMs, next);
    return Math.min(nowMs, at(input.timeMs, i) + intervalMs);
  };
  const step = (col: readonly number[], area: boolean): string => {
    let d = '';
    let runStart = 0;
    idx.forEach((i, k) => {
      const prev = idx[k - 1];
      const t0 = x(at(input.timeMs, i));
      const y = yr(at(col, i));
      if (prev === undefined || gap(prev, i)) {
        d += area ? `M${t0} ${yr(0)}V${y}` : `M${t0} ${y}`;
        runStart = t0;
      } else d += `V${y}`;
      d += `H${x(stepEnd(k))}`;
      const next = idx[k + 1];
      if (area && (next === undefined || gap(i, next))) d += `V${yr(0)}H${runStart}Z`;
    });
    return d;
  };

  const panic: { x: number; w: number }[] = [];
  idx.forEach((i, k) => {
    if (input.panic[i] !== true) return;
    const x0 = x(at(input.timeMs, i));
    const x1 = x(stepEnd(k));
    const last = panic[panic.length - 1];
    if (last !== undefined && Math.abs(last.x + last.w - x0) < 0.5)
      panic[panic.length - 1] = { x: last.x, w: round(x1 - last.x) };
    else panic.push({ x: x0, w: round(x1 - x0) });
  });

  const cold = input.coldStarts
    .filter((c) => c.timeMs >= startMs && c.timeMs <= nowMs)
    .map((c) => {
      const label = `${c.estimated ? '≤ ' : ''}${formatDuration(c.durationMs)}`;
      return {
        x: x(c.timeMs),
        label,
        title: `cold start: ${label}${c.estimated ? ' (estimated from 2 s samples)' : ''}`,
      };
    });

  const ticks = (scale: { max: number; step: number }, y: (v: number) => number): Tick[] => {
    const out: Tick[] = [];
    for (let v = 0; v <= scale.max + 1e-9 && out.length <= 5; v += scale.step)
      out.push({ at: y(v), label: formatNumber(v) });
    return out;
  };
  const timeTicks: Tick[] = [];
  const stepMin = windowMs > 300_000 ? 2 : 1;
  for (let m = Math.floor(windowMs / 60_000); m >= 0; m -= stepMin) {
    timeTicks.push({ at: x(nowMs - m * 60_000), label: m === 0 ? 'now' : `-${m}m` });
  }

  const peak = maxOf(input.observedConcurrency);
  const rMin = idx.reduce((m, i) => Math.min(m, at(input.readyReplicas, i)), Number.POSITIVE_INFINITY);
  const rMax = maxOf(input.readyReplicas);
  const summary =
    idx.length === 0
      ? 'No samples yet.'
      : `Last ${Math.round(windowMs / 60_000)} minutes: peak concurrency ${formatNumber(peak)}, ` +
        `ready replicas ${rMin === rMax ? formatNumber(rMax) : `${formatNumber(rMin)} to ${formatNumber(rMax)}`}, ` +
        `${panic.length} panic period${panic.length === 1 ? '' : 's'}, ` +
        `${cold.length} cold start${cold.length === 1 ? '' : 's'}${cold.length > 0 ? ` (${cold.map((c) => c.label).join(', ')})` : ''}.`;

  return {
    width: size.width,
    height: size.height,
    windowMs,
    plot,
    observed: line(input.observedConcurrency),
    stable: line(input.stableConcurrency),
    desired: step(input.desiredReplicas, false),
    ready: step(input.readyReplicas, true),
    panic,
    coldStarts: cold,
    concurrencyTicks: ticks(cScale, yc),
    replicaTicks: ticks(rScale, yr),
    timeTicks,
    summary,
  };
}
