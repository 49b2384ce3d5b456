// WebSocket frames (RFC 6455 §5), for the uWS front end's bridge: uWS terminates the client's
// WebSocket, so the gateway speaks the protocol again towards the replica, as a client (masked
// frames out, unmasked frames in). Pure: bytes in, frames out; the mask is passed in.

/** Frame opcodes (RFC 6455 §5.2); plain numbers, since a frame may carry one we do not know. */
export const Opcode = {
  Continuation: 0,
  Text: 1,
  Binary: 2,
  Close: 8,
  Ping: 9,
  Pong: 10,
} as const;

/**
 * One frame as bytes. With `mask` (4 bytes; a client MUST mask, RFC 6455 §5.3) the payload is
 * XORed into the copy, never in place.
 */
export function encodeFrame<B extends Uint8Array>(
  alloc: (size: number) => B,
  opcode: number,
  payload: Uint8Array,
  fin: boolean,
  mask: Uint8Array | null,
): B {
  const n = payload.length;
  const lenBytes = n < 126 ? 0 : n < 65_536 ? 2 : 8;
  const headLen = 2 + lenBytes + (mask === null ? 0 : 4);
  const out = alloc(headLen + n);
  out[0] = (fin ? 0x80 : 0) | opcode;
  const maskBit = mask === null ? 0 : 0x80;
  if (lenBytes === 0) out[1] = maskBit | n;
  else if (lenBytes === 2) {
    out[1] = maskBit | 126;
    out[2] = n >>> 8;
    out[3] = n & 0xff;
  } else {
    out[1] = maskBit | 127;
    const hi = Math.floor(n / 2 ** 32);
    const lo = n >>> 0;
    out[2] = 0;
    out[3] = 0;
    out[4] = (hi >>> 8) & 0xff;
    out[5] = hi & 0xff;
    out[6] = lo >>> 24;
    out[7] = (lo >>> 16) & 0xff;
    out[8] = (lo >>> 8) & 0xff;
    out[9] = lo & 0xff;
  }
  if (mask === null) {
    out.set(payload, headLen);
    return out;
  }
  const m = 2 + lenBytes;
  for (let i = 0; i < 4; i++) out[m + i] = mask[i] as number;
  for (let i = 0; i < n; i++) out[headLen + i] = (payload[i] as number) ^ (mask[i & 3] as number);
  return out;
}

/** A Close frame's payload: 2-byte code then UTF-8 reason (RFC 6455 §5.5.1); code 0 = none. */
export function closePayload(code: number, reason: Uint8Array): Uint8Array {
  if (code === 0) return new Uint8Array(0);
  const out = new Uint8Array(2 + Math.min(reason.length, 123));
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  out.set(reason.subarray(0, 123), 2);
  return out;
}

export interface FrameEvents<B extends Uint8Array> {
  /** One complete frame (`opcode`: an Opcode, or an unknown one); `payload` is unmasked, owned by the receiver. */
  onFrame(fin: boolean, opcode: number, payload: B): void;
}

/** Incremental frame parser; frames split across reads are joined (up to `maxPayload`). */
export class FrameDecoder<B extends Uint8Array> {
  private readonly head = new Uint8Array(14);
  private headLen = 0;
  private need = 2;
  private payload: B | null = null;
  private filled = 0;
  private fin = false;
  private opcode = 0;
  private mask: Uint8Array | null = null;
  error = '';

  constructor(
    private readonly events: FrameEvents<B>,
    private readonly alloc: (size: number) => B,
    private readonly maxPayload: number,
  ) {}

  /** Feeds bytes; false on a protocol error (`error` says which). */
  push(buf: B): boolean {
    let pos = 0;
    const end = buf.length;
    while (pos < end) {
      if (this.payload === null) {
        // Header: 2 bytes, then the extended length and the mask key they announce.
        while (this.headLen < this.need && pos < end) this.head[this.headLen++] = buf[pos++] as number;
        if (this.headLen < this.need) return true;
        if (this.headLen === 2) {
          const b0 = this.head[0] as number;
          const b1 = this.head[1] as number;
          if ((b0 & 0x70) !== 0) return this.fail('reserved bits set (no extension was negotiated)');
          const len7 = b1 & 0x7f;
          this.need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((b1 & 0x80) !== 0 ? 4 : 0);
          if (this.headLen < this.need) continue;
        }
        if (!this.startPayload()) return false;
      }
      const payload = this.payload;
      if (payload === null) continue; // empty payload: the frame was delivered already
      const n = Math.min(payload.length - this.filled, end - pos);
      payload.set(buf.subarray(pos, pos + n), this.filled);
      this.filled += n;
      pos += n;
      if (this.filled === payload.length) this.deliver(payload);
    }
    return true;
  }

  private startPayload(): boolean {
    const h = this.head;
    const b0 = h[0] as number;
    const b1 = h[1] as number;
    const len7 = b1 & 0x7f;
    let len = len7;
    let at = 2;
    if (len7 === 126) {
      len = ((h[2] as number) << 8) | (h[3] as number);
      at = 4;
    } else if (len7 === 127) {
      if ((h[2] as number) !== 0 || (h[3] as number) !== 0 || (h[4] as number) > 0x1f)
        return this.fail('frame too large');
      len =
        ((h[4] as number) * 2 ** 8 + (h[5] as number)) * 2 ** 32 +
        (((h[6] as number) << 24) >>> 0) +
        ((h[7] as number) << 16) +
        ((h[8] as number) << 8) +
        (h[9] as number);
      at = 10;
    }
    this.fin = (b0 & 0x80) !== 0;
    this.opcode = b0 & 0x0f;
    const control = (this.opcode & 0x08) !== 0;
    // RFC 6455 §5.5: control frames are never fragmented and carry at most 125 bytes.
    if (control && (!this.fin || len > 125)) return this.fail('invalid control frame');
    if (len > this.maxPayload) return this.fail(`frame of ${len} bytes exceeds ${this.maxPayload}`);
    this.mask = (b1 & 0x80) !== 0 ? h.slice(at, at + 4) : null;
    this.headLen = 0;
    this.need = 2;
    const payload = this.alloc(len);
    if (len === 0) this.deliver(payload);
    else {
      this.payload = payload;
      this.filled = 0;
    }
    return true;
  }

  private deliver(payload: B): void {
    this.payload = null;
    const mask = this.mask;
    if (mask !== null)
      for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number);
    this.events.onFrame(this.fin, this.opcode, payload);
  }

  private fail(message: string): false {
    this.error = message;
    return false;
  }
}
