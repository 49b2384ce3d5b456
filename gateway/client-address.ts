// The client's address as text for X-Forwarded-For, Forwarded and the access log, from the raw
// bytes a front end reads off the socket. One form whichever front end and listener: IPv4 dotted,
// an IPv4-mapped IPv6 address (a v4 client on a dual-stack listener) as the IPv4 it is, and other
// IPv6 addresses in RFC 5952's canonical text (uWS's own text form writes all eight groups in
// full, node:http writes mapped addresses as `::ffff:a.b.c.d`). IPv4 strings are cached by
// address, so a client that keeps coming back costs a map lookup and no string.

/** Cached IPv4 strings before the cache starts over (a bound, not an LRU: clients repeat). */
const IPV4_CACHE_LIMIT = 4096;

export class ClientAddressText {
  private readonly ipv4 = new Map<number, string>();

  /** `bytes`: 4 (IPv4) or 16 (IPv6) bytes in network order; anything else gives ''. */
  format(bytes: Uint8Array): string {
    if (bytes.length === 4) return this.v4(bytes, 0);
    if (bytes.length !== 16) return '';
    if (isV4Mapped(bytes)) return this.v4(bytes, 12);
    return formatV6(bytes);
  }

  private v4(b: Uint8Array, at: number): string {
    const key =
      (((b[at] as number) << 24) |
        ((b[at + 1] as number) << 16) |
        ((b[at + 2] as number) << 8) |
        (b[at + 3] as number)) >>>
      0;
    let text = this.ipv4.get(key);
    if (text === undefined) {
      if (this.ipv4.size >= IPV4_CACHE_LIMIT) this.ipv4.clear();
      text = `${b[at] as number}.${b[at + 1] as number}.${b[at + 2] as number}.${b[at + 3] as number}`;
      this.ipv4.set(key, text);
    }
    return text;
  }
}

/** `::ffff:0:0/96` (RFC 4291 §2.5.5.2). */
function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/**
 * RFC 5952 §4: lowercase hex without leading zeros; the longest run of two or more zero groups
 * (the first of equal runs) becomes `::`.
 */
export function formatV6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] as number) << 8) | (b[i + 1] as number));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/** node:http's text (`::ffff:a.b.c.d` for a v4 client on a dual-stack listener) in the same form. */
export function normalizeNodeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.', 7) ? address.slice(7) : address;
}
