// tinybench: the access log's per-record cost, paid in the batch writer (off the request path):
// building an entry from the record and serialising it.
// Run: npx tsc -p . && node dist/gateway/access-log.bench.js (not part of the tests).
import { Bench } from 'tinybench';
import { accessLogLine, buildEntry } from './access-log.js';

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
let t = 1_000;
const entry = (): ReturnType<typeof buildEntry> =>
  buildEntry(
    1_700_000_000_000,
    'uws',
    (t += 0.02),
    'd89ee4184fce9b0b-00000000002a',
    TP,
    'GET',
    'hello.default.example.com',
    '/api/items?id=7',
    'default/hello-00001',
    200,
    13,
    t + 1.2,
    t,
    t + 1.1,
    false,
    null,
  );
const e = entry();
let sink = '';

const bench = new Bench({ name: 'access log', time: 500 });
bench
  .add('buildEntry', () => {
    sink = entry().path;
  })
  .add('JSON.stringify(entry)', () => {
    sink = JSON.stringify(e);
  })
  .add('accessLogLine(entry)', () => {
    sink = accessLogLine(e);
  });
await bench.run();
console.table(bench.table());
if (sink === 'never') console.log(sink);
