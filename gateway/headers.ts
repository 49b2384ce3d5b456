// Header rewriting at the proxy boundary. Hop-by-hop fields are dropped both ways (RFC 9110
// §7.6.1: Connection, the names it lists, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding,
// Upgrade); undici also throws on most of them. Forwarding fields are added as Go's ReverseProxy
// and Knative's queue-proxy shim do (X-Forwarded-*, RFC 7239 Forwarded).

/** Request fields never passed upstream (lowercase). */
const DROP_REQUEST = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  // undici rejects Expect (NotSupportedError); the front end answered 100-continue itself.
  'expect',
  // Knative: the activator and queue-proxy remove these before the app sees the request.
  'knative-serving-revision',
  'knative-serving-namespace',
  // Re-added below, appended to or overwritten.
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'forwarded',
]);

/** Tokens of a Connection value other than close/keep-alive (those are already dropped). */
function connectionTokens(value: string, into: string[]): void {
  for (const part of value.split(',')) {
    const t = part.trim().toLowerCase();
    if (t !== '' && t !== 'close' && t !== 'keep-alive') into.push(t);
  }
}

export interface ForwardInfo {
  /** The client's address as text (IPv4 dotted or IPv6). */
  readonly clientIp: string;
  readonly proto: 'http' | 'https';
  /** The Host header as the client sent it. */
  readonly host: string;
}

/**
 * Builds the upstream header list (flat name/value pairs, lowercase names, the form undici
 * takes without reparsing) from the client's flat list.
 * pre: `incoming` holds lowercase names at even indexes.
 */
export function upstreamRequestHeaders(incoming: readonly string[], fwd: ForwardInfo): string[] {
  let xff = '';
  let forwarded = '';
  let listed: string[] | null = null;
  for (let i = 0; i < incoming.length; i += 2) {
    const name = incoming[i] as string;
    if (name.length === 10 && name === 'connection') {
      listed ??= [];
      connectionTokens(incoming[i + 1] as string, listed);
    } else if (name === 'x-forwarded-for') {
      xff = xff === '' ? (incoming[i + 1] as string) : `${xff}, ${incoming[i + 1] as string}`;
    } else if (name === 'forwarded') {
      forwarded =
        forwarded === '' ? (incoming[i + 1] as string) : `${forwarded}, ${incoming[i + 1] as string}`;
    }
  }
  const out: string[] = [];
  for (let i = 0; i < incoming.length; i += 2) {
    const name = incoming[i] as string;
    if (DROP_REQUEST.has(name)) continue;
    if (listed !== null && listed.includes(name)) continue;
    out.push(name, incoming[i + 1] as string);
  }
  const ip = fwd.clientIp;
  out.push(
    'x-forwarded-for',
    xff === '' ? ip : `${xff}, ${ip}`,
    'x-forwarded-proto',
    fwd.proto,
    'x-forwarded-host',
    fwd.host,
    'forwarded',
    `${forwarded === '' ? '' : forwarded + ', '}for=${forwardedNode(ip)};host=${forwardedValue(fwd.host)};proto=${fwd.proto}`,
  );
  return out;
}

/** RFC 7239 §6: an IPv6 node is bracketed and quoted. */
function forwardedNode(ip: string): string {
  if (ip === '') return 'unknown';
  return ip.includes(':') ? `"[${ip}]"` : ip;
}

/** RFC 7239 §4: a value that is not a token (e.g. host:port) is a quoted-string. */
function forwardedValue(v: string): string {
  return /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`;
}

/** What the front ends need of an upstream response head. */
export interface ResponseHead {
  /** Flat name/value pairs to pass on: hop-by-hop, Content-Length and Date removed. */
  readonly headers: Buffer[];
  /** The upstream Content-Length, or -1 when absent (chunked or close-delimited). */
  readonly contentLength: number;
  /** The upstream Date value, or null (uWS writes its own, node:http keeps this one). */
  readonly date: Buffer | null;
}

const enum Kind {
  Keep,
  Drop,
  ContentLength,
  Date,
  Connection,
}

function lowerEquals(buf: Buffer, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) if (((buf[i] ?? 0) | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/** Classifies a response header name without allocating a string (switch on length first). */
function classify(name: Buffer): Kind {
  switch (name.length) {
    case 2:
      return lowerEquals(name, 'te') ? Kind.Drop : Kind.Keep;
    case 4:
      return lowerEquals(name, 'date') ? Kind.Date : Kind.Keep;
    case 7:
      return lowerEquals(name, 'upgrade') || lowerEquals(name, 'trailer') ? Kind.Drop : Kind.Keep;
    case 10:
      if (lowerEquals(name, 'connection')) return Kind.Connection;
      return lowerEquals(name, 'keep-alive') ? Kind.Drop : Kind.Keep;
    case 14:
      return lowerEquals(name, 'content-length') ? Kind.ContentLength : Kind.Keep;
    case 16:
      return lowerEquals(name, 'proxy-connection') ? Kind.Drop : Kind.Keep;
    case 17:
      return lowerEquals(name, 'transfer-encoding') ? Kind.Drop : Kind.Keep;
    default:
      return Kind.Keep;
  }
}

/** Filters undici's raw response header list (name, value, name, value, ...). */
export function scanResponseHeaders(raw: readonly Buffer[]): ResponseHead {
  const headers: Buffer[] = [];
  let contentLength = -1;
  let date: Buffer | null = null;
  let listed: string[] | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as Buffer;
    const value = raw[i + 1] as Buffer;
    switch (classify(name)) {
      case Kind.Keep:
        headers.push(name, value);
        break;
      case Kind.Drop:
        break;
      case Kind.ContentLength: {
        const n = Number(value.toString('latin1').trim());
        if (Number.isSafeInteger(n) && n >= 0) contentLength = n;
        break;
      }
      case Kind.Date:
        date = value;
        break;
      case Kind.Connection:
        listed ??= [];
        connectionTokens(value.toString('latin1'), listed);
        break;
    }
  }
  if (listed !== null && listed.length > 0) {
    const names = listed;
    const kept: Buffer[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as Buffer;
      if (!names.includes(name.toString('latin1').toLowerCase())) kept.push(name, headers[i + 1] as Buffer);
    }
    return { headers: kept, contentLength, date };
  }
  return { headers, contentLength, date };
}
