// tinybench: what trace context costs per request — ids (batched CSPRNG slices vs alternatives),
// traceparent validation and formatting, and the clock read the access log adds per response head.
// Run: npx tsc -p . && node dist/gateway/ids.bench.js (not part of the tests).
import { randomBytes, randomUUID } from 'node:crypto';
import { Bench } from 'tinybench';
import { RandomIds } from './ids.js';
import { formatTraceparent, isSaneRequestId, traceFlags } from './trace-context.js';

const ids = new RandomIds();
const prefix = randomBytes(4).toString('hex');
let seq = 0;
const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
let sink = '';

const bench = new Bench({ name: 'trace ids', time: 500 });
bench
  .add('newTraceparent (batched, pre-formatted, slice)', () => {
    sink = ids.newTraceparent();
  })
  .add('spanId (batched getRandomValues, slice)', () => {
    sink = ids.spanId();
  })
  .add('requestId (prefix + counter, pre-formatted, slice)', () => {
    sink = ids.requestId();
  })
  .add('span id as prefix + padded counter (alternative)', () => {
    sink = prefix + (++seq >>> 0).toString(16).padStart(8, '0');
  })
  .add('randomUUID (alternative)', () => {
    sink = randomUUID();
  })
  .add('randomBytes(16).toString(hex) (alternative)', () => {
    sink = randomBytes(16).toString('hex');
  })
  .add('traceFlags(valid incoming)', () => {
    sink = traceFlags(incoming);
  })
  .add('kept trace: formatTraceparent(incoming trace-id, spanId) (a concatenation)', () => {
    sink = formatTraceparent(incoming.slice(3, 35), ids.spanId(), '01');
  })
  .add('isSaneRequestId(36 chars)', () => {
    if (!isSaneRequestId('f81d4fae-7dec-11d0-a765-00a0c91e6bf6')) sink = '';
  })
  .add('performance.now()', () => {
    if (performance.now() < 0) sink = '';
  });
await bench.run();
console.table(bench.table());
if (sink === 'never') console.log(sink);
