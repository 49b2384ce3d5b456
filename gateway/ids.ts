// Trace, span and request ids, generated cheaply. Random bytes come from the CSPRNG in batches,
// and ids are formatted a batch at a time into a scratch Buffer that becomes one flat string each
// request takes a slice of: a slice of a flat string is itself flat, so it is written to a socket
// or handed to uWS without the concatenation and flattening a per-request `a + '-' + b` would
// cost, and a batch allocates one string instead of a few per id. Request ids are a
// per-process random prefix plus a counter. Measured in gateway/ids.bench.ts.

/** Ids prepared per batch (the random bytes: 4 KiB for traces, 2 KiB for spans). */
const BATCH = 128;
/** `00-<32 hex trace-id>-<16 hex parent-id>-01` (W3C Trace Context §3.2, sampled). */
const TRACEPARENT_CHARS = 55;
/** Hex digits of the request counter: 2^48 requests per process before it wraps. */
const COUNTER_DIGITS = 12;
const COUNTER_LIMIT = 16 ** COUNTER_DIGITS;
const REQUEST_ID_CHARS = 16 + 1 + COUNTER_DIGITS;

export interface IdSource {
  /** A traceparent that starts a new, sampled trace: new trace-id, new parent-id (the gateway's span). */
  newTraceparent(): string;
  /** 16 lowercase hex digits, never all zeros (§3.2.2.4): the gateway's span, passed on as parent-id. */
  spanId(): string;
  /** Unique per process and, through the random prefix, across processes: `<16 hex>-<12 hex counter>`. */
  requestId(): string;
}

/** Lowercase hex digits as Latin-1 codes. */
const HEX = Buffer.from('0123456789abcdef', 'latin1');
const DASH = 0x2d;
const ZERO = 0x30;

/** Writes `bytes[from, from + n)` as 2n hex digits at `out[at]`; returns the offset after them. */
function writeHex(out: Buffer, at: number, bytes: Uint8Array, from: number, n: number): number {
  let o = at;
  for (let i = from; i < from + n; i++) {
    const b = bytes[i] as number;
    out[o++] = HEX[b >> 4] as number;
    out[o++] = HEX[b & 15] as number;
  }
  return o;
}

/** True when `bytes[from, from + n)` are all zero (its hex would be an invalid all-zero id). */
function zeroBytes(bytes: Uint8Array, from: number, n: number): boolean {
  for (let i = from; i < from + n; i++) if (bytes[i] !== 0) return false;
  return true;
}

export class RandomIds implements IdSource {
  private traces = '';
  private tracePos = 0;
  private spans = '';
  private spanPos = 0;
  private requests = '';
  private requestPos = 0;
  private seq = 0;
  private prefix: string;
  /** Scratch for one batch of formatted ids: each batch becomes one flat Latin-1 string. */
  private readonly out = Buffer.allocUnsafe(BATCH * TRACEPARENT_CHARS);
  private readonly random = new Uint8Array(BATCH * 24);

  constructor(private readonly fill: (bytes: Uint8Array) => void = (b) => crypto.getRandomValues(b)) {
    this.prefix = this.randomHex(8);
  }

  newTraceparent(): string {
    if (this.tracePos === this.traces.length) this.refillTraces();
    const s = this.traces.slice(this.tracePos, this.tracePos + TRACEPARENT_CHARS);
    this.tracePos += TRACEPARENT_CHARS;
    return s;
  }

  spanId(): string {
    if (this.spanPos === this.spans.length) this.refillSpans();
    const s = this.spans.slice(this.spanPos, this.spanPos + 16);
    this.spanPos += 16;
    return s;
  }

  requestId(): string {
    if (this.requestPos === this.requests.length) this.refillRequests();
    const s = this.requests.slice(this.requestPos, this.requestPos + REQUEST_ID_CHARS);
    this.requestPos += REQUEST_ID_CHARS;
    return s;
  }

  private randomHex(bytes: number): string {
    const b = new Uint8Array(bytes);
    this.fill(b);
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  }

  /** Random bytes for `n` ids of `size` bytes each, none of them all zeros (§3.2.2.3–4). */
  private randomIds(n: number, size: number): Uint8Array {
    const r = this.random.subarray(0, n * size);
    this.fill(r);
    // An all-zero id turns up once in 2^64 draws or fewer: draw that one again.
    for (let i = 0; i < n * size; i += size) while (zeroBytes(r, i, size)) this.fill(r.subarray(i, i + size));
    return r;
  }

  private refillTraces(): void {
    // `00-<trace-id>-<parent-id>-01`: the trace-id (16 bytes) and the parent-id (8) are each
    // nonzero, so they are drawn as separate ids.
    const traceBytes = this.randomIds(BATCH, 16).slice();
    const spanBytes = this.randomIds(BATCH, 8);
    const out = this.out;
    let o = 0;
    for (let i = 0; i < BATCH; i++) {
      out[o++] = ZERO;
      out[o++] = ZERO;
      out[o++] = DASH;
      o = writeHex(out, o, traceBytes, i * 16, 16);
      out[o++] = DASH;
      o = writeHex(out, o, spanBytes, i * 8, 8);
      out[o++] = DASH;
      out[o++] = ZERO;
      out[o++] = ZERO + 1;
    }
    this.traces = out.toString('latin1', 0, o);
    this.tracePos = 0;
  }

  private refillSpans(): void {
    const bytes = this.randomIds(BATCH, 8);
    const o = writeHex(this.out, 0, bytes, 0, BATCH * 8);
    this.spans = this.out.toString('latin1', 0, o);
    this.spanPos = 0;
  }

  private refillRequests(): void {
    if (this.seq + BATCH >= COUNTER_LIMIT) {
      // The counter would need a 13th digit: a new random prefix keeps ids unique and fixed-width.
      this.prefix = this.randomHex(8);
      this.seq = 0;
    }
    const out = this.out;
    const prefix = this.prefix;
    let o = 0;
    for (let i = 0; i < BATCH; i++) {
      o += out.write(prefix, o, 'latin1');
      out[o++] = DASH;
      // 12 hex digits of the counter, most significant first (2^48 fits a double exactly).
      let n = ++this.seq;
      for (let d = o + COUNTER_DIGITS - 1; d >= o; d--) {
        out[d] = HEX[n % 16] as number;
        n = Math.floor(n / 16);
      }
      o += COUNTER_DIGITS;
    }
    this.requests = out.toString('latin1', 0, o);
    this.requestPos = 0;
  }
}
