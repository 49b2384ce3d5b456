// Access-log lines encoded straight into bytes: the same JSON line accessLogLine() builds (a
// test pins them byte for byte), without the entry object, the line string, the number strings
// and the batch string that the file stream would then encode again. At 50k req/s those were
// ~1 KB of garbage per request, twice the gateway's scavenges, and p99 up by a millisecond.

/** Grows a byte buffer as lines are appended; take() hands out a copy and starts over. */
export class LineEncoder {
  private buf: Buffer;
  private n = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.n;
  }

  /** The bytes so far, copied (the caller's writer keeps them until written); then empty. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.n);
    this.buf.copy(out, 0, 0, this.n);
    this.n = 0;
    return out;
  }

  private reserve(bytes: number): void {
    if (this.n + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + bytes));
    this.buf.copy(bigger, 0, 0, this.n);
    this.buf = bigger;
  }

  /** pre: `s` is ASCII and needs no JSON escaping (fixed fragments, hex ids, codes, names). */
  ascii(s: string): void {
    this.reserve(s.length);
    const buf = this.buf;
    let n = this.n;
    for (let i = 0; i < s.length; i++) buf[n++] = s.charCodeAt(i);
    this.n = n;
  }

  /** A JSON string, quotes included, exactly as JSON.stringify(s) writes it, in UTF-8. */
  jsonString(s: string): void {
    const len = s.length;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      // Escapes (", \, controls) and anything beyond ASCII: JSON.stringify's own rules, encoded.
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        const json = JSON.stringify(s);
        this.reserve(Buffer.byteLength(json, 'utf8'));
        this.n += this.buf.write(json, this.n, 'utf8');
        return;
      }
    }
    this.reserve(len + 2);
    const buf = this.buf;
    let n = this.n;
    buf[n++] = 0x22;
    for (let i = 0; i < len; i++) buf[n++] = s.charCodeAt(i);
    buf[n++] = 0x22;
    this.n = n;
  }

  /** A non-negative integer as JSON writes it (String() for anything else). */
  uint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) {
      this.ascii(String(v));
      return;
    }
    this.digits(v, 0);
  }

  /**
   * `thousandths / 1000` as JSON.stringify writes that number: for |thousandths| < 1e15 the
   * shortest decimal that round-trips is this one (15 significant digits identify one double), so
   * the digits can be written directly; beyond that, String().
   */
  millis(thousandths: number): void {
    if (!Number.isSafeInteger(thousandths) || Math.abs(thousandths) >= 1e15) {
      this.ascii(String(thousandths / 1000));
      return;
    }
    let k = thousandths;
    if (k < 0) {
      this.reserve(1);
      this.buf[this.n++] = 0x2d;
      k = -k;
    }
    const whole = Math.floor(k / 1000);
    let frac = k - whole * 1000;
    this.digits(whole, 0);
    if (frac === 0) return;
    let width = 3;
    while (frac % 10 === 0) {
      frac /= 10;
      width--;
    }
    this.reserve(1);
    this.buf[this.n++] = 0x2e;
    this.digits(frac, width);
  }

  /** `v` in decimal, zero-padded to `width` digits. pre: v is a non-negative safe integer. */
  private digits(v: number, width: number): void {
    let count = 1;
    for (let x = v; x >= 10; x = Math.floor(x / 10)) count++;
    if (count < width) count = width;
    this.reserve(count);
    const buf = this.buf;
    let x = v;
    for (let i = this.n + count - 1; i >= this.n; i--) {
      buf[i] = 0x30 + (x % 10);
      x = Math.floor(x / 10);
    }
    this.n += count;
  }
}
