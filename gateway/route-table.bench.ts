// tinybench: the per-request route lookup (Host normalisation + one Map get + split pick).
// Run: npx tsc -p . && node dist/gateway/route-table.bench.js (not part of the tests).
import { Bench } from 'tinybench';
import type { RevisionSpec, Route } from '../controller/state.js';
import { buildRouteTable, normalizeHost } from './route-table.js';
import { pickSplit } from './traffic-split.js';
import { rev, route, stateOf } from './testing/fixtures.js';

const revisions: RevisionSpec[] = [];
const routes: Route[] = [];
for (let i = 0; i < 1_000; i++) {
  revisions.push(rev(`svc${i}-00001`), rev(`svc${i}-00002`));
  routes.push(
    route(`svc${i}.default.example.com`, [
      [`svc${i}-00001`, 80],
      [`svc${i}-00002`, 20],
    ]),
  );
}
const table = buildRouteTable(stateOf(revisions, routes));
const hosts = [
  'svc500.default.example.com',
  'SVC500.Default.example.com:8080',
  'svc999.default.example.com.',
];
let sink = 0;

const bench = new Bench({ name: 'route lookup', time: 500 });
bench
  .add('normalizeHost (already normal)', () => {
    sink += normalizeHost(hosts[0] as string).length;
  })
  .add('normalizeHost (case + port)', () => {
    sink += normalizeHost(hosts[1] as string).length;
  })
  .add('lookup + split (1000 routes)', () => {
    const r = table.routes.get(normalizeHost(hosts[0] as string));
    if (r !== undefined) sink += pickSplit(r, Math.random);
  })
  .add('buildRouteTable (1000 services, off the hot path)', () => {
    sink += buildRouteTable(stateOf(revisions, routes)).routes.size;
  });
await bench.run();
console.table(bench.table());
if (sink === -1) console.log(sink);
