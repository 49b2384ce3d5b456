// Weighted random pick of a route's split, per request and not sticky (Knative spec: "traffic
// routing MUST NOT be 'sticky' in a way which violates the weight distributions"). Pure.
import type { RouteEntry } from './route-table.js';

/**
 * Returns the index of the chosen split, or -1 when the route has none.
 * pre: route.cumulative is non-decreasing; random() returns [0, 1).
 */
export function pickSplit(route: Pick<RouteEntry, 'cumulative'>, random: () => number): number {
  const cumulative = route.cumulative;
  const n = cumulative.length;
  if (n <= 1) return n - 1;
  const total = cumulative[n - 1] ?? 0;
  const x = random() * total;
  // Routes have a handful of splits: a linear scan beats a binary search here.
  for (let i = 0; i < n - 1; i++) if (x < (cumulative[i] ?? 0)) return i;
  return n - 1;
}
