// A minimal, strict HTTP/1.1 response parser for the raw upstream path (RFC 9112). Pure: bytes in,
// callbacks out, no I/O, no timers. It handles exactly what a keep-alive reverse proxy needs:
// status line, header fields (spans into the input, no strings), Content-Length, chunked (chunk
// extensions skipped, trailers dropped), close-delimited bodies, no body for HEAD/204/304, 1xx
// interim responses reported (onInterim) and passed over, and 101 only when the request asked for
// an upgrade. Anything it does not accept is an error, never a guess (request smuggling lives in
// lenient parsers).

/** Largest head (status line + fields) accepted; undici/llhttp default to 16 KiB, nginx 4–8 KiB. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Largest trailer section skipped. */
const MAX_TRAILER_BYTES = 64 * 1024;

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const COLON = 58;

// Byte classes for the head loops: one table load per byte where a chain of comparisons was (the
// head is parsed once per proxied response, and these loops were its largest JavaScript cost).

/** In a field name: RFC 9110 §5.6.2 tchar, or the colon that ends the name; anything else is 0. */
const NAME_TCHAR = 1;
const NAME_COLON = 2;
const NAME_CLASS = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") NAME_CLASS[c.charCodeAt(0)] = NAME_TCHAR;
for (let c = 0x30; c <= 0x39; c++) NAME_CLASS[c] = NAME_TCHAR;
for (let c = 0x41; c <= 0x5a; c++) NAME_CLASS[c] = NAME_TCHAR;
for (let c = 0x61; c <= 0x7a; c++) NAME_CLASS[c] = NAME_TCHAR;
NAME_CLASS[COLON] = NAME_COLON;

/**
 * In a field value (RFC 9110 §5.5): field-vchar and obs-text (0), SP and HTAB (optional whitespace
 * when trailing), the CR that ends the line, a bare LF, and every other control character.
 */
const VALUE_VCHAR = 0;
const VALUE_WS = 1;
const VALUE_CR = 2;
const VALUE_LF = 3;
const VALUE_CTL = 4;
const VALUE_CLASS = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) VALUE_CLASS[c] = VALUE_CTL;
VALUE_CLASS[0x7f] = VALUE_CTL;
VALUE_CLASS[SP] = VALUE_WS;
VALUE_CLASS[HT] = VALUE_WS;
VALUE_CLASS[CR] = VALUE_CR;
VALUE_CLASS[LF] = VALUE_LF;

/** What the parser found in a response head (final, 101 or 1xx interim). One per parser, reused. */
export class ParsedHead<B extends Uint8Array> {
  /** The bytes every span below points into. */
  buf: B;
  status = 0;
  /** HTTP/1.0 response (keep-alive only when asked for). */
  http10 = false;
  /**
   * Fields to pass on, four numbers each: nameStart, nameEnd, valueStart, valueEnd (OWS trimmed).
   * A new array per head: emptying the old one (`length = 0`) is a call into the V8 runtime.
   */
  fields: number[] = [];
  /** Content-Length, or -1. Kept for HEAD/304 so the front end can repeat it. */
  contentLength = -1;
  chunked = false;
  /** The connection may carry another request after this response. */
  keepAlive = true;
  /** Span of the Date field value, or -1. */
  dateStart = -1;
  dateEnd = -1;
  constructor(buf: B) {
    this.buf = buf;
  }
}

/** Events from one response. Callbacks may call parser.stop(); the parser then returns at once. */
export interface ResponseEvents<B extends Uint8Array> {
  /**
   * A 1xx interim head (RFC 9110 §15.2), 101 aside: any number may precede the final head, and
   * parsing goes on with the next head when this returns. Its fields are filtered as a final
   * head's are (hop-by-hop, x-request-id; Content-Length and Date held apart). Valid only during
   * the call: the next head reuses the same ParsedHead. Optional: a consumer without it passes
   * them over (tunnel.ts: an upgrade waits for its 101).
   */
  onInterim?(head: ParsedHead<B>): void;
  /** A final head (status >= 200, or 101 on an upgrade request). Valid until the next response. */
  onHead(head: ParsedHead<B>): void;
  /** Body bytes buf[start, end) (transfer coding removed). Never empty. */
  onBody(buf: B, start: number, end: number): void;
  /** The response is complete. */
  onComplete(): void;
}

export const enum Result {
  /** Every byte was taken; more are needed. */
  More,
  /** The response ended at `parser.offset` (for 101: where the upgraded stream begins). */
  Done,
  /** Malformed or unsupported input; `parser.error` says what. */
  Error,
  /** A callback called stop(). */
  Stopped,
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkExt,
  ChunkSizeLf,
  ChunkData,
  ChunkDataCr,
  ChunkDataLf,
  Trailers,
  UntilClose,
  Done,
  Stopped,
}

const enum Kind {
  Keep,
  Drop,
  ContentLength,
  TransferEncoding,
  Connection,
  Date,
}

export class ResponseParser<B extends Uint8Array> {
  readonly head: ParsedHead<B>;
  /** Where parsing stopped in the last buffer (after Done: the first byte not of this response). */
  offset = 0;
  /** After Done: bytes of the last input past the end of this response. */
  leftover = 0;
  error = '';
  private state = State.Done;
  private headOnly = false;
  private upgrade = false;
  /** Head bytes of an earlier chunk, waiting for the rest. */
  private partial: B | null = null;
  private remaining = 0;
  private chunkDigits = 0;
  private trailerBytes = 0;
  private trailerLineLen = 0;
  private trailerCr = false;
  private listed: string[] | null = null;
  private end = 0;

  /** `alloc` makes a buffer of the input's kind (Buffer.allocUnsafe), used when a head spans reads. */
  constructor(
    private readonly events: ResponseEvents<B>,
    private readonly alloc: (size: number) => B,
    empty: B,
  ) {
    this.head = new ParsedHead(empty);
  }

  /** Starts a new response: `headOnly` for HEAD requests, `upgrade` when the request asked for one. */
  reset(headOnly: boolean, upgrade: boolean): void {
    this.state = State.Head;
    this.headOnly = headOnly;
    this.upgrade = upgrade;
    this.partial = null;
    this.error = '';
    this.offset = 0;
  }

  /** Ends the current response from a callback; execute() returns Stopped. */
  stop(): void {
    this.state = State.Stopped;
  }

  /** True once a byte of the response arrived (a stale pooled socket closes before any). */
  get started(): boolean {
    // offset > 0 in the Head state: a complete 1xx head was taken and the next has not begun
    // (reset() sets it to 0), so the replica did answer.
    return this.state !== State.Head || this.partial !== null || this.offset > 0;
  }

  /** True when the body runs until the connection closes (finish() completes it). */
  get untilClose(): boolean {
    return this.state === State.UntilClose;
  }

  execute(input: B): Result {
    let buf = input;
    if (this.partial !== null && this.state === State.Head) {
      // The head began in an earlier read: parse it again from its first byte.
      const joined = this.alloc(this.partial.length + buf.length);
      joined.set(this.partial, 0);
      joined.set(buf, this.partial.length);
      this.partial = null;
      buf = joined;
    }
    let pos = 0;
    const end = buf.length;
    this.end = end;
    while (pos < end) {
      switch (this.state) {
        case State.Head: {
          const r = this.parseHead(buf, pos);
          if (r === -1) return this.more(buf, pos);
          if (r < 0) return Result.Error;
          pos = r;
          // parseHead set the body state and ran onHead(); 1xx heads (onInterim) leave the state
          // at Head, and the loop goes on with the next head.
          const next = this.current();
          if (next === State.Stopped) return Result.Stopped;
          if (next === State.Done)
            return this.upgrade && this.head.status === 101 ? this.at(pos) : this.done(pos);
          break;
        }
        case State.Length: {
          const n = Math.min(this.remaining, end - pos);
          const from = pos;
          pos += n;
          this.remaining -= n;
          this.events.onBody(buf, from, pos);
          if (this.current() !== State.Length) return Result.Stopped;
          if (this.remaining === 0) return this.done(pos);
          break;
        }
        case State.ChunkSize: {
          const c = buf[pos++] as number;
          const v = hexValue(c);
          if (v >= 0) {
            if (++this.chunkDigits > 13) return this.fail('chunk size too large');
            this.remaining = this.remaining * 16 + v;
          } else if (this.chunkDigits === 0) {
            return this.fail('chunk size expected');
          } else if (c === CR) {
            this.state = State.ChunkSizeLf;
          } else if (c === 0x3b /* ; */ || c === SP || c === HT) {
            this.state = State.ChunkExt; // RFC 9112 §7.1.1: unknown extensions are ignored
          } else {
            return this.fail('invalid chunk size');
          }
          break;
        }
        case State.ChunkExt: {
          const c = buf[pos++] as number;
          if (c === CR) this.state = State.ChunkSizeLf;
          else if (c === LF) return this.fail('bare LF in chunk extension');
          break;
        }
        case State.ChunkSizeLf: {
          if (buf[pos++] !== LF) return this.fail('chunk size line must end with CRLF');
          if (this.remaining === 0) {
            this.state = State.Trailers;
            this.trailerBytes = 0;
            this.trailerLineLen = 0;
            this.trailerCr = false;
          } else {
            this.state = State.ChunkData;
          }
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.remaining, end - pos);
          const from = pos;
          pos += n;
          this.remaining -= n;
          this.events.onBody(buf, from, pos);
          if (this.current() !== State.ChunkData) return Result.Stopped;
          if (this.remaining === 0) this.state = State.ChunkDataCr;
          break;
        }
        case State.ChunkDataCr:
          if (buf[pos++] !== CR) return this.fail('chunk data must end with CRLF');
          this.state = State.ChunkDataLf;
          break;
        case State.ChunkDataLf:
          if (buf[pos++] !== LF) return this.fail('chunk data must end with CRLF');
          this.state = State.ChunkSize;
          this.remaining = 0;
          this.chunkDigits = 0;
          break;
        case State.Trailers: {
          // Trailer fields are dropped (RFC 9110 §6.5.1 lets a proxy discard them); the section
          // ends at an empty line.
          const c = buf[pos++] as number;
          if (++this.trailerBytes > MAX_TRAILER_BYTES) return this.fail('trailer section too large');
          if (this.trailerCr) {
            if (c !== LF) return this.fail('trailer line must end with CRLF');
            this.trailerCr = false;
            if (this.trailerLineLen === 0) return this.done(pos);
            this.trailerLineLen = 0;
          } else if (c === CR) {
            this.trailerCr = true;
          } else if (c === LF) {
            return this.fail('bare LF in trailer section');
          } else {
            this.trailerLineLen++;
          }
          break;
        }
        case State.UntilClose:
          this.events.onBody(buf, pos, end);
          if (this.current() !== State.UntilClose) return Result.Stopped;
          pos = end;
          break;
        case State.Done:
          return this.at(pos);
        case State.Stopped:
          return Result.Stopped;
      }
    }
    this.offset = pos;
    return Result.More;
  }

  /** The connection closed (EOF). True when that completes a close-delimited body. */
  finish(): boolean {
    if (this.state !== State.UntilClose) return false;
    this.state = State.Done;
    this.events.onComplete();
    return true;
  }

  /** The state as callbacks may have left it (keeps TypeScript from narrowing across calls). */
  private current(): State {
    return this.state;
  }

  private done(pos: number): Result {
    this.state = State.Done;
    this.offset = pos;
    this.leftover = this.end - pos;
    this.events.onComplete();
    return this.current() === State.Done ? Result.Done : Result.Stopped;
  }

  private at(pos: number): Result {
    this.offset = pos;
    this.leftover = this.end - pos;
    return Result.Done;
  }

  private fail(message: string): Result {
    this.error = message;
    this.state = State.Stopped;
    return Result.Error;
  }

  private more(buf: B, pos: number): Result {
    const size = buf.length - pos;
    if (size > MAX_HEAD_BYTES) return this.fail('response head too large');
    const keep = this.alloc(size);
    keep.set(buf.subarray(pos), 0);
    this.partial = keep;
    this.offset = buf.length;
    return Result.More;
  }

  /**
   * Parses one head starting at `start`. Returns the offset after it, -1 when the head is not
   * complete in `buf`, or -2 on error (this.error set). A 1xx head goes to onInterim() and this
   * returns after it with the state still Head (or Stopped, if the callback stopped).
   */
  private parseHead(buf: B, start: number): number {
    const end = buf.length;
    // Status line: HTTP/1.x SP 3DIGIT SP reason CRLF (RFC 9112 §4; the reason may be empty).
    // A short scan in JavaScript: Buffer#indexOf is a native call with more overhead than this line.
    let statusLf = start;
    while (statusLf < end && buf[statusLf] !== LF) statusLf++;
    if (statusLf === end) {
      if (end - start >= 12 && !isHttp1(buf, start)) return this.headError('not an HTTP/1.x response');
      return -1;
    }
    if (statusLf - start < 13 || buf[statusLf - 1] !== CR || !isHttp1(buf, start))
      return this.headError('malformed status line');
    const minor = (buf[start + 7] as number) - 0x30;
    const d0 = (buf[start + 9] as number) - 0x30;
    const d1 = (buf[start + 10] as number) - 0x30;
    const d2 = (buf[start + 11] as number) - 0x30;
    const after = buf[start + 12] as number;
    if (
      buf[start + 8] !== SP ||
      d0 < 1 ||
      d0 > 5 ||
      d1 < 0 ||
      d1 > 9 ||
      d2 < 0 ||
      d2 > 9 ||
      (after !== SP && after !== CR)
    )
      return this.headError('malformed status line');
    const status = d0 * 100 + d1 * 10 + d2;
    const head = this.head;
    head.buf = buf;
    head.status = status;
    head.http10 = minor === 0;
    head.fields = [];
    head.contentLength = -1;
    head.chunked = false;
    head.keepAlive = minor === 1;
    head.dateStart = -1;
    head.dateEnd = -1;
    this.listed = null;
    let sawLength = false;
    let sawTransferEncoding = false;
    let pos = statusLf + 1;
    // Field lines until the empty line (RFC 9112 §5), one pass over each line's bytes: the name is
    // checked up to the colon, then the value up to its CR, which must be followed by LF.
    for (;;) {
      if (pos >= end) return -1;
      const first = buf[pos] as number;
      if (first === CR) {
        if (pos + 1 >= end) return -1;
        if (buf[pos + 1] !== LF) return this.headError('bare CR in head');
        pos += 2;
        break;
      }
      // RFC 9112 §5.2: obs-fold is rejected (a proxy may not pass it on).
      if (first === SP || first === HT) return this.headError('obsolete line folding');
      let colon = pos;
      for (;;) {
        if (colon >= end) return -1;
        const c = buf[colon] as number;
        const k = NAME_CLASS[c] as number;
        if (k === NAME_TCHAR) {
          colon++;
          continue;
        }
        if (k === NAME_COLON) break;
        if (c === LF) return this.headError('header line must end with CRLF');
        if (c !== CR) return this.headError('invalid header name');
        if (colon + 1 >= end) return -1;
        // CRLF before any colon: a line that is not a field.
        return this.headError(buf[colon + 1] === LF ? 'invalid header line' : 'invalid header name');
      }
      // RFC 9112 §5.1: no whitespace between name and colon (caught above); an empty name is invalid.
      if (colon === pos) return this.headError('invalid header line');
      let vs = colon + 1;
      while (vs < end && (buf[vs] === SP || buf[vs] === HT)) vs++;
      // RFC 9110 §5.5: field-vchar / obs-text / SP / HTAB; no other control characters. `ve` ends
      // at the last byte that is not optional whitespace.
      let ve = vs;
      let i = vs;
      for (;;) {
        if (i >= end) return -1;
        const k = VALUE_CLASS[buf[i] as number] as number;
        if (k === VALUE_VCHAR) {
          ve = ++i;
          continue;
        }
        if (k === VALUE_WS) {
          i++;
          continue;
        }
        if (k === VALUE_CR) break;
        return this.headError(k === VALUE_LF ? 'header line must end with CRLF' : 'invalid header value');
      }
      if (i + 1 >= end) return -1;
      // A CR inside a value is a control character like any other.
      if (buf[i + 1] !== LF) return this.headError('invalid header value');
      const lf = i + 1;
      switch (classify(buf, pos, colon)) {
        case Kind.Keep:
          head.fields.push(pos, colon, vs, ve);
          break;
        case Kind.Drop:
          break;
        case Kind.ContentLength: {
          const n = parseDecimal(buf, vs, ve);
          // RFC 9112 §6.3: differing or invalid Content-Length values are unrecoverable.
          if (n < 0 || (sawLength && n !== head.contentLength))
            return this.headError('invalid Content-Length');
          sawLength = true;
          head.contentLength = n;
          break;
        }
        case Kind.TransferEncoding:
          // Only "chunked" alone is supported; any other coding would have to be passed on intact.
          if (sawTransferEncoding || !equalsLower(buf, vs, ve, 'chunked'))
            return this.headError('unsupported Transfer-Encoding');
          sawTransferEncoding = true;
          head.chunked = true;
          break;
        case Kind.Connection:
          this.connectionTokens(buf, vs, ve);
          break;
        case Kind.Date:
          head.dateStart = vs;
          head.dateEnd = ve;
          break;
      }
      pos = lf + 1;
    }
    // RFC 9112 §6.1: Transfer-Encoding with Content-Length may be smuggling; a proxy rejects it.
    if (sawTransferEncoding && sawLength) return this.headError('both Transfer-Encoding and Content-Length');
    if (this.hasListed()) this.dropListed(head);
    if (status < 200) {
      if (status === 101 && this.upgrade) {
        // The upgraded stream begins at `pos`; no onComplete() (the caller takes the socket).
        head.keepAlive = false;
        this.state = State.Done;
        this.events.onHead(head);
        return pos;
      }
      // RFC 9110 §15.2: 1xx interim responses have no body; 101 without an upgrade is an error.
      if (status === 101) return this.headError('101 Switching Protocols without an upgrade request');
      // Reported here and nowhere else: a final head never reaches this branch, so it costs the
      // common response nothing. What to pass on (100 never, how many) is the consumer's call.
      this.events.onInterim?.(head);
      return pos;
    }
    // RFC 9112 §6.3 message body length, in order.
    if (this.headOnly || status === 204 || status === 304) this.state = State.Done;
    else if (head.chunked) {
      this.state = State.ChunkSize;
      this.remaining = 0;
      this.chunkDigits = 0;
    } else if (head.contentLength >= 0) {
      this.state = head.contentLength === 0 ? State.Done : State.Length;
      this.remaining = head.contentLength;
    } else {
      this.state = State.UntilClose;
      head.keepAlive = false;
    }
    if (this.upgrade) head.keepAlive = false;
    const body = this.state;
    this.events.onHead(head);
    if (this.state !== body) this.state = State.Stopped;
    return pos;
  }

  private hasListed(): boolean {
    return this.listed !== null;
  }

  private headError(message: string): number {
    this.fail(message);
    return -2;
  }

  private connectionTokens(buf: B, vs: number, ve: number): void {
    const head = this.head;
    let i = vs;
    while (i < ve) {
      while (i < ve && (buf[i] === SP || buf[i] === HT || buf[i] === 0x2c)) i++;
      let j = i;
      while (j < ve && buf[j] !== 0x2c && buf[j] !== SP && buf[j] !== HT) j++;
      if (j > i) {
        if (equalsLower(buf, i, j, 'close')) head.keepAlive = false;
        else if (equalsLower(buf, i, j, 'keep-alive')) {
          if (head.http10) head.keepAlive = true;
        } else (this.listed ??= []).push(latin1Lower(buf, i, j));
      }
      i = j;
    }
  }

  /** RFC 9110 §7.6.1: fields named in Connection are hop-by-hop too (rare: names become strings). */
  private dropListed(head: ParsedHead<B>): void {
    const listed = this.listed ?? [];
    const f = head.fields;
    let w = 0;
    for (let r = 0; r < f.length; r += 4) {
      const name = latin1Lower(head.buf, f[r] as number, f[r + 1] as number);
      if (listed.includes(name)) continue;
      for (let k = 0; k < 4; k++) f[w + k] = f[r + k] as number;
      w += 4;
    }
    f.length = w;
  }
}

function isHttp1(buf: Uint8Array, i: number): boolean {
  return (
    buf[i] === 0x48 &&
    buf[i + 1] === 0x54 &&
    buf[i + 2] === 0x54 &&
    buf[i + 3] === 0x50 &&
    buf[i + 4] === 0x2f &&
    buf[i + 5] === 0x31 &&
    buf[i + 6] === 0x2e &&
    (buf[i + 7] === 0x31 || buf[i + 7] === 0x30)
  );
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** 1*DIGIT as a safe integer, or -1. */
function parseDecimal(buf: Uint8Array, s: number, e: number): number {
  if (s === e || e - s > 15) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = (buf[i] as number) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function equalsLower(buf: Uint8Array, s: number, e: number, lower: string): boolean {
  if (e - s !== lower.length) return false;
  for (let i = 0; i < lower.length; i++)
    if (((buf[s + i] as number) | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

function latin1Lower(buf: Uint8Array, s: number, e: number): string {
  let out = '';
  for (let i = s; i < e; i++) {
    const c = buf[i] as number;
    out += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
  }
  return out;
}

/** Classifies a field name without making a string (switch on length first). */
function classify(buf: Uint8Array, s: number, e: number): Kind {
  switch (e - s) {
    case 2:
      return equalsLower(buf, s, e, 'te') ? Kind.Drop : Kind.Keep;
    case 4:
      return equalsLower(buf, s, e, 'date') ? Kind.Date : Kind.Keep;
    case 7:
      return equalsLower(buf, s, e, 'upgrade') || equalsLower(buf, s, e, 'trailer') ? Kind.Drop : Kind.Keep;
    case 10:
      if (equalsLower(buf, s, e, 'connection')) return Kind.Connection;
      return equalsLower(buf, s, e, 'keep-alive') ? Kind.Drop : Kind.Keep;
    case 12:
      // The front end writes the gateway's own X-Request-Id (the one the replica was given).
      return equalsLower(buf, s, e, 'x-request-id') ? Kind.Drop : Kind.Keep;
    case 14:
      return equalsLower(buf, s, e, 'content-length') ? Kind.ContentLength : Kind.Keep;
    case 16:
      return equalsLower(buf, s, e, 'proxy-connection') ? Kind.Drop : Kind.Keep;
    case 17:
      return equalsLower(buf, s, e, 'transfer-encoding') ? Kind.TransferEncoding : Kind.Keep;
    default:
      return Kind.Keep;
  }
}
