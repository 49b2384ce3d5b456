// Trace, span and request ids, generated cheaply. Random bytes come from the CSPRNG in batches,
// and ids are prepared a batch at a time as one flat string each request takes a slice of: a
// slice of a flat string is itself flat, so it is written to a socket or handed to uWS without
// the concatenation and flattening a per-request `a + '-' + b` would cost. Request ids are a
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

/** True when every character is '0' (an all-zero id is invalid, §3.2.2.3–4). */
function allZeros(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== 0x30) return false;
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

  /** `bytes` of random hex that is not all zeros (drawn again in the ~never case). */
  private nonZeroHex(bytes: number): string {
    for (;;) {
      const h = this.randomHex(bytes);
      if (!allZeros(h)) return h;
    }
  }

  private refillTraces(): void {
    const hex = this.randomHex(BATCH * 24);
    const parts: string[] = [];
    for (let i = 0; i < BATCH; i++) {
      let trace = hex.slice(i * 48, i * 48 + 32);
      let span = hex.slice(i * 48 + 32, i * 48 + 48);
      if (allZeros(trace)) trace = this.nonZeroHex(16);
      if (allZeros(span)) span = this.nonZeroHex(8);
      parts.push('00-', trace, '-', span, '-01');
    }
    this.traces = parts.join('');
    this.tracePos = 0;
  }

  private refillSpans(): void {
    const hex = this.randomHex(BATCH * 8);
    const parts: string[] = [];
    for (let i = 0; i < BATCH; i++) {
      const span = hex.slice(i * 16, i * 16 + 16);
      parts.push(allZeros(span) ? this.nonZeroHex(8) : span);
    }
    this.spans = parts.join('');
    this.spanPos = 0;
  }

  private refillRequests(): void {
    if (this.seq + BATCH >= COUNTER_LIMIT) {
      // The counter would need a 13th digit: a new random prefix keeps ids unique and fixed-width.
      this.prefix = this.randomHex(8);
      this.seq = 0;
    }
    const parts: string[] = [];
    for (let i = 0; i < BATCH; i++)
      parts.push(this.prefix, '-', (++this.seq).toString(16).padStart(COUNTER_DIGITS, '0'));
    this.requests = parts.join('');
    this.requestPos = 0;
  }
}
