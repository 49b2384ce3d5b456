// One process's share of the abort storm (started by test/support/storm.ts, which explains why the
// storm is split): opens COUNT connections, BATCH connects at a time, sends one GET on each and
// reports what became of every client over IPC, every 250 ms and once when all connects were tried.
// Usage: node storm-client.js PORT HOST COUNT BATCH (with an IPC channel).
// On `abort` it disconnects every waiting client, reports its final counts and exits.
import { connect, type Socket } from 'node:net';
import { ABORT_COMMAND, type StormCounts, type StormMessage } from './storm.js';

const [portText, host = '', countText, batchText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const batch = Number(batchText);
const STATUS_INTERVAL_MS = 250;
/** Never outlive the test that started us. */
const MAX_LIFE_MS = 120_000;
/** A response head longer than this is not the gateway's 503: counted as garbled. */
const MAX_HEAD_BYTES = 16 * 1024;

let opened = 0;
let connectErrors = 0;
let closedUnanswered = 0;
let aborted = 0;
const statuses: Record<string, number> = {};
const retryAfter: Record<string, number> = {};
const codes: Record<string, number> = {};
/** Connected and unanswered; a client leaves it when answered, closed or aborted, so once. */
const waiting = new Set<Socket>();
/** Aborted once: by the test's command, its going away, or MAX_LIFE_MS. */
const stopping = new AbortController();

const countOf = (tally: Record<string, number>, key: string): void => {
  tally[key] = (tally[key] ?? 0) + 1;
};

function answered(head: string): void {
  countOf(statuses, /^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 'garbled');
  countOf(retryAfter, /\r\nretry-after: *(\S+)/i.exec(head)?.[1] ?? 'none');
  countOf(codes, /\r\nx-kedge-error: *(\S+)/i.exec(head)?.[1] ?? 'none');
}

function track(socket: Socket): void {
  let head = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    if (!waiting.has(socket)) return;
    head += chunk;
    const end = head.indexOf('\r\n\r\n');
    if (end < 0 && head.length <= MAX_HEAD_BYTES) return;
    answered(end < 0 ? 'garbled' : head.slice(0, end));
    waiting.delete(socket);
    // Leave at once, as a client told to retry later does: the gateway keeps a 503'd connection
    // alive, and rejected clients that stayed would each hold one of its files.
    socket.destroy();
  });
  socket.on('close', () => {
    if (waiting.delete(socket)) closedUnanswered++;
  });
  // 'close' follows every error; it does the counting.
  socket.on('error', () => undefined);
}

function open(): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      opened++;
      waiting.add(socket);
      track(socket);
      socket.write(`GET /storm HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      resolve();
    });
    socket.once('error', () => {
      connectErrors++;
      resolve();
    });
  });
}

const counts = (): StormCounts => ({
  opened,
  connectErrors,
  statuses,
  retryAfter,
  codes,
  waiting: waiting.size,
  closedUnanswered,
  aborted,
});

const say = (message: StormMessage, then?: () => void): void => {
  if (process.send === undefined || !process.connected) {
    then?.();
    return;
  }
  process.send(message, undefined, {}, () => then?.());
};

let ticker: NodeJS.Timeout | undefined;

function abort(): void {
  if (stopping.signal.aborted) return;
  stopping.abort();
  clearInterval(ticker);
  for (const socket of waiting) {
    socket.destroy();
    aborted++;
  }
  waiting.clear();
  say({ event: 'done', counts: counts() }, () => process.exit(0));
}

process.on('message', (m: unknown) => {
  if (m === ABORT_COMMAND) abort();
});
// The test went away: so do we.
process.on('disconnect', abort);
setTimeout(abort, MAX_LIFE_MS).unref();

const started = performance.now();
for (let i = 0; i < count && !stopping.signal.aborted; i += batch) {
  await Promise.all(Array.from({ length: Math.min(batch, count - i) }, open));
}
if (!stopping.signal.aborted) {
  say({ event: 'sent', ms: Math.round(performance.now() - started), counts: counts() });
  ticker = setInterval(() => {
    say({ event: 'status', counts: counts() });
  }, STATUS_INTERVAL_MS);
}
