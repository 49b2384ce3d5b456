import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ResponseParser, Result } from './response-parser.js';
import type { ParsedHead, ResponseEvents } from './response-parser.js';

interface Seen {
  status: number;
  fields: string[];
  contentLength: number;
  keepAlive: boolean;
  date: string;
  body: string;
  complete: boolean;
  /** Each 1xx interim head in order: `status | field | ... | date=...` (fields as kept). */
  interims: string[];
}

function fieldsOf(head: ParsedHead<Buffer>): string[] {
  const fields: string[] = [];
  const f = head.fields;
  for (let i = 0; i < f.length; i += 4)
    fields.push(
      `${head.buf.toString('latin1', f[i], f[i + 1])}: ${head.buf.toString('latin1', f[i + 2], f[i + 3])}`,
    );
  return fields;
}

class Recorder implements ResponseEvents<Buffer> {
  seen: Seen | null = null;
  body: Buffer[] = [];
  completes = 0;
  interims: string[] = [];
  onInterim(head: ParsedHead<Buffer>): void {
    assert.equal(this.seen, null, 'interim heads come before the final one');
    const parts = [String(head.status), ...fieldsOf(head)];
    if (head.dateStart >= 0) parts.push(`date=${head.buf.toString('latin1', head.dateStart, head.dateEnd)}`);
    this.interims.push(parts.join(' | '));
  }
  onHead(head: ParsedHead<Buffer>): void {
    const fields = fieldsOf(head);
    this.seen = {
      status: head.status,
      fields,
      contentLength: head.contentLength,
      keepAlive: head.keepAlive,
      date: head.dateStart < 0 ? '' : head.buf.toString('latin1', head.dateStart, head.dateEnd),
      body: '',
      complete: false,
      interims: [],
    };
  }
  onBody(buf: Buffer, start: number, end: number): void {
    assert.ok(end > start, 'never an empty body chunk');
    this.body.push(Buffer.from(buf.subarray(start, end)));
  }
  onComplete(): void {
    this.completes++;
  }
}

interface Outcome {
  result: Result;
  error: string;
  seen: Seen | null;
  leftover: number;
}

/** Feeds `wire` in pieces cut at `cuts`; `eof` closes the connection after the last piece. */
function parse(
  wire: string,
  cuts: readonly number[],
  o: { head?: boolean; upgrade?: boolean; eof?: boolean },
): Outcome {
  const rec = new Recorder();
  const parser = new ResponseParser<Buffer>(rec, (n) => Buffer.allocUnsafe(n), Buffer.alloc(0));
  parser.reset(o.head ?? false, o.upgrade ?? false);
  const bytes = Buffer.from(wire, 'latin1');
  let result = Result.More;
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut <= from) continue;
    result = parser.execute(bytes.subarray(from, cut));
    from = cut;
    if (result !== Result.More) break;
  }
  if (result === Result.More && o.eof === true && parser.finish()) result = Result.Done;
  assert.ok(rec.completes <= 1, 'onComplete at most once');
  const seen =
    rec.seen === null
      ? null
      : {
          ...rec.seen,
          body: Buffer.concat(rec.body).toString('latin1'),
          complete: rec.completes === 1,
          interims: rec.interims,
        };
  return { result, error: parser.error, seen, leftover: result === Result.Done ? parser.leftover : 0 };
}

interface Case {
  name: string;
  wire: string;
  head?: boolean;
  upgrade?: boolean;
  eof?: boolean;
  want: Partial<Seen> & { leftover?: number };
}
interface ErrorCase {
  name: string;
  wire: string;
  error: RegExp;
}

const ok: readonly Case[] = [
  {
    name: 'empty values, tabs, obs-text and whitespace around values',
    wire: 'HTTP/1.1 200 OK\r\nX-E:\r\nX-T:\t a\tb \t\r\nX-O: caf\xe9\r\nX-S:   \r\nContent-Length: 0\r\n\r\n',
    want: { status: 200, fields: ['X-E: ', 'X-T: a\tb', 'X-O: caf\xe9', 'X-S: '], complete: true },
  },
  {
    name: 'content-length body, hop-by-hop and Date held apart',
    wire: 'HTTP/1.1 200 OK\r\nServer: x\r\nDate: Mon\r\nContent-Length: 5\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-A:  v  \r\n\r\nhello',
    want: {
      status: 200,
      fields: ['Server: x', 'X-A: v'],
      contentLength: 5,
      keepAlive: true,
      date: 'Mon',
      body: 'hello',
      complete: true,
    },
  },
  {
    name: 'chunked with extensions and trailers (dropped)',
    wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum\r\n\r\n3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nx-sum: 1\r\nx-other: 2\r\n\r\n',
    want: {
      status: 200,
      fields: [],
      contentLength: -1,
      body: 'abc0123456789',
      complete: true,
      keepAlive: true,
    },
  },
  {
    name: 'HEAD: no body whatever the framing says',
    wire: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n',
    head: true,
    want: { contentLength: 100, body: '', complete: true, keepAlive: true },
  },
  { name: '204 has no body', wire: 'HTTP/1.1 204 No Content\r\n\r\n', want: { status: 204, complete: true } },
  {
    name: '304 keeps its Content-Length, no body',
    wire: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\nETag: "x"\r\n\r\n',
    want: { status: 304, contentLength: 7, fields: ['ETag: "x"'], body: '', complete: true },
  },
  {
    name: '1xx interim heads are reported once each, then the final head',
    wire: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok',
    want: { status: 201, fields: [], body: 'ok', complete: true, interims: ['100', '103 | Link: </a>'] },
  },
  {
    name: "an interim head's fields are filtered as a final head's; nothing of it reaches the final head",
    wire:
      'HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload; as=style\r\nConnection: X-Hop, close\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n' +
      'X-Request-Id: replica\r\nDate: Mon\r\nLink: </app.js>; rel=preload; as=script\r\n\r\n' +
      'HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 199\r\n\r\n' +
      'HTTP/1.1 200 OK\r\nX-Hop: final\r\nContent-Length: 2\r\n\r\nok',
    want: {
      status: 200,
      fields: ['X-Hop: final'],
      date: '',
      keepAlive: true,
      body: 'ok',
      interims: [
        '103 | Link: </app.css>; rel=preload; as=style | Link: </app.js>; rel=preload; as=script | date=Mon',
        '102',
        '199',
      ],
    },
  },
  {
    name: 'HEAD: interim heads, then a final head without body',
    wire: 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n',
    head: true,
    want: { status: 200, contentLength: 9, body: '', complete: true, interims: ['103 | Link: </a>'] },
  },
  {
    name: 'an interim head before a 101 on an upgrade request',
    wire: 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    upgrade: true,
    want: { status: 101, fields: [], interims: ['103 | Link: </a>'], leftover: 0 },
  },
  {
    name: 'close-delimited body ends at EOF and the socket is not reused',
    wire: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end',
    eof: true,
    want: { body: 'until the end', keepAlive: false, complete: true },
  },
  {
    name: 'Connection: close',
    wire: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
    want: { keepAlive: false, complete: true, body: '' },
  },
  {
    name: 'HTTP/1.0 closes unless it asks for keep-alive',
    wire: 'HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx',
    want: { keepAlive: false, complete: true },
  },
  {
    name: 'HTTP/1.0 with Connection: keep-alive',
    wire: 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx',
    want: { keepAlive: true, complete: true },
  },
  {
    name: 'fields named in Connection are dropped',
    wire: 'HTTP/1.1 200 OK\r\nConnection: X-Secret, keep-alive\r\nx-secret: 1\r\nX-Kept: 2\r\nContent-Length: 0\r\n\r\n',
    want: { fields: ['X-Kept: 2'], keepAlive: true },
  },
  {
    name: 'status line without a reason phrase',
    wire: 'HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n',
    want: { status: 404, complete: true },
  },
  {
    name: 'equal duplicate Content-Length is accepted',
    wire: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok',
    want: { contentLength: 2, body: 'ok' },
  },
  {
    name: 'bytes after a complete response are reported as leftover',
    wire: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA',
    want: { body: 'ok', leftover: 5 },
  },
  {
    name: '101 on an upgrade request ends the head; the rest is the new protocol',
    wire: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: abc\r\n\r\n\x81\x02hi',
    upgrade: true,
    want: { status: 101, fields: ['Sec-WebSocket-Accept: abc'], complete: false, leftover: 4 },
  },
  {
    name: 'a refused upgrade is an ordinary response',
    wire: 'HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno',
    upgrade: true,
    want: { status: 403, body: 'no', complete: true, keepAlive: false },
  },
];

const bad: readonly ErrorCase[] = [
  { name: 'not HTTP', wire: 'SSH-2.0-OpenSSH\r\n\r\n', error: /status line|HTTP/ },
  { name: 'bare LF line endings', wire: 'HTTP/1.1 200 OK\nContent-Length: 0\n\n', error: /status line|CRLF/ },
  { name: 'obs-fold', wire: 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n', error: /folding/ },
  { name: 'space before colon', wire: 'HTTP/1.1 200 OK\r\nX-A : a\r\n\r\n', error: /header name/ },
  {
    name: 'control character in a value',
    wire: 'HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n\r\n',
    error: /header value/,
  },
  {
    name: 'differing Content-Length',
    wire: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n',
    error: /Content-Length/,
  },
  {
    name: 'negative Content-Length',
    wire: 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
    error: /Content-Length/,
  },
  {
    name: 'Transfer-Encoding and Content-Length',
    wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n',
    error: /both/,
  },
  {
    name: 'gzip, chunked',
    wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n',
    error: /Transfer-Encoding/,
  },
  {
    name: 'bad chunk size',
    wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    error: /chunk size/,
  },
  {
    name: 'chunk without CRLF after data',
    wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX',
    error: /CRLF/,
  },
  {
    name: 'huge chunk size',
    wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n',
    error: /too large/,
  },
  { name: '101 without an upgrade request', wire: 'HTTP/1.1 101 Switching Protocols\r\n\r\n', error: /101/ },
  {
    name: 'a malformed interim head',
    wire: 'HTTP/1.1 103 Early Hints\r\nLink : </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
    error: /header name/,
  },
  { name: 'status 600', wire: 'HTTP/1.1 600 Nope\r\n\r\n', error: /status line/ },
  { name: 'a line without a colon', wire: 'HTTP/1.1 200 OK\r\nX-A\r\n\r\n', error: /invalid header line/ },
  { name: 'an empty name', wire: 'HTTP/1.1 200 OK\r\n: a\r\n\r\n', error: /invalid header line/ },
  { name: 'a bare CR in a name', wire: 'HTTP/1.1 200 OK\r\nX\rA: a\r\n\r\n', error: /header name/ },
  { name: 'a bare CR in a value', wire: 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n', error: /header value/ },
  { name: 'a bare LF in a value', wire: 'HTTP/1.1 200 OK\r\nX-A: a\nb\r\n\r\n', error: /CRLF/ },
  { name: 'a field ending in a bare LF', wire: 'HTTP/1.1 200 OK\r\nX-A: a\n\r\n', error: /CRLF/ },
  { name: 'a name ending in a bare LF', wire: 'HTTP/1.1 200 OK\r\nX-A\n\r\n', error: /CRLF/ },
  { name: 'a bare CR for the empty line', wire: 'HTTP/1.1 200 OK\r\nX-A: a\r\n\rx', error: /bare CR/ },
  { name: 'DEL in a value', wire: 'HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\n\r\n', error: /header value/ },
];

/** Every way to cut `wire` into two pieces, plus byte by byte. */
function cutsOf(wire: string): number[][] {
  const all: number[][] = [[]];
  for (let i = 1; i < wire.length; i++) all.push([i]);
  all.push(Array.from({ length: wire.length }, (_, i) => i + 1));
  return all;
}

for (const c of ok) {
  test(`parses: ${c.name}`, () => {
    for (const cuts of cutsOf(c.wire)) {
      const out = parse(c.wire, cuts, c);
      const where = `cut at ${cuts.length > 2 ? 'every byte' : String(cuts)}`;
      assert.equal(out.result, Result.Done, `${where}: ${out.error}`);
      assert.ok(out.seen !== null, where);
      const { leftover, interims = [], ...want } = c.want;
      for (const [k, v] of Object.entries(want))
        assert.deepEqual(out.seen[k as keyof Seen], v, `${where}: ${k}`);
      // Each interim head exactly once, however the reads were cut (none unless the row lists some).
      assert.deepEqual(out.seen.interims, interims, `${where}: interims`);
      // Split reads report the leftover of the last piece only; whole reads the exact count.
      if (leftover !== undefined && cuts.length === 0) assert.equal(out.leftover, leftover);
    }
  });
}

for (const c of bad) {
  test(`refuses: ${c.name}`, () => {
    for (const cuts of cutsOf(c.wire)) {
      const out = parse(c.wire, cuts, {});
      assert.equal(out.result, Result.Error, `cut at ${String(cuts)}`);
      assert.match(out.error, c.error);
    }
  });
}

test('a head larger than 64 KiB is refused', () => {
  const wire = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`;
  const out = parse(wire, [10_000, 20_000, 40_000, 66_000], {});
  assert.equal(out.result, Result.Error);
  assert.match(out.error, /too large/);
});

test('the connection closing mid-body is not a complete response', () => {
  const out = parse('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort', [], { eof: true });
  assert.equal(out.result, Result.More);
  assert.equal(out.seen?.complete, false);
});

test('stop() from a callback ends parsing at once', () => {
  const events: ResponseEvents<Buffer> = {
    onHead: () => {
      parser.stop();
    },
    onBody: () => assert.fail('no body after stop()'),
    onComplete: () => assert.fail('no completion after stop()'),
  };
  const parser = new ResponseParser<Buffer>(events, (n) => Buffer.allocUnsafe(n), Buffer.alloc(0));
  parser.reset(false, false);
  assert.equal(parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')), Result.Stopped);
});

test('stop() from onInterim ends parsing at once', () => {
  let interims = 0;
  const events: ResponseEvents<Buffer> = {
    onInterim: () => {
      interims++;
      parser.stop();
    },
    onHead: () => assert.fail('no final head after stop()'),
    onBody: () => assert.fail('no body after stop()'),
    onComplete: () => assert.fail('no completion after stop()'),
  };
  const parser = new ResponseParser<Buffer>(events, (n) => Buffer.allocUnsafe(n), Buffer.alloc(0));
  parser.reset(false, false);
  const wire =
    'HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
  assert.equal(parser.execute(Buffer.from(wire)), Result.Stopped);
  assert.equal(interims, 1);
});

test('without onInterim, interim heads are passed over (the tunnel)', () => {
  const out = { status: 0 };
  const parser = new ResponseParser<Buffer>(
    {
      onHead: (head) => {
        out.status = head.status;
      },
      onBody: () => undefined,
      onComplete: () => undefined,
    },
    (n) => Buffer.allocUnsafe(n),
    Buffer.alloc(0),
  );
  parser.reset(false, false);
  const wire = 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n';
  assert.equal(parser.execute(Buffer.from(wire)), Result.Done);
  assert.equal(out.status, 204);
});

test('started: false until a byte arrives, true once a complete 1xx head did (no stale-socket re-send)', () => {
  const rec = new Recorder();
  const parser = new ResponseParser<Buffer>(rec, (n) => Buffer.allocUnsafe(n), Buffer.alloc(0));
  parser.reset(false, false);
  assert.equal(parser.started, false);
  assert.equal(parser.execute(Buffer.from('HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n')), Result.More);
  assert.deepEqual(rec.interims, ['103 | Link: </a>']);
  assert.equal(parser.started, true);
  parser.reset(false, false);
  assert.equal(parser.started, false, 'reset() starts over');
});
