// tinybench: endpoint pick + reserve/release, the per-request cost of the picker.
// Run: npx tsc -p . && node dist/gateway/picker.bench.js (not part of the tests).
import { Bench } from 'tinybench';
import { pickEndpoint, reserve } from './picker.js';
import type { Slot } from './picker.js';

const make = (n: number): Slot[] => Array.from({ length: n }, (_, i) => ({ id: `e${i}`, inFlight: i % 3 }));
const one = make(1);
const ten = make(10);
const hundred = make(100);
const full = make(50).map((s) => ({ ...s, inFlight: 4 }));
full[49] = { id: 'free', inFlight: 0 };
const noop = (): void => undefined;

const bench = new Bench({ name: 'picker', time: 500 });
bench
  .add('p2c, 1 replica', () => {
    pickEndpoint(one, 0, Math.random);
  })
  .add('p2c, 10 replicas', () => {
    pickEndpoint(ten, 0, Math.random);
  })
  .add('p2c, 100 replicas, cc=8', () => {
    pickEndpoint(hundred, 8, Math.random);
  })
  .add('cc cap, 49 of 50 full (scan)', () => {
    pickEndpoint(full, 4, Math.random);
  })
  .add('pick + reserve + release', () => {
    const s = pickEndpoint(ten, 0, Math.random);
    if (s !== null) reserve(s, noop)();
  });
await bench.run();
console.table(bench.table());
