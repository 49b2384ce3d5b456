// Header rewriting at the proxy boundary. Hop-by-hop fields are dropped both ways (RFC 9110
// §7.6.1: Connection, the names it lists, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding,
// Upgrade); undici also throws on most of them. Forwarding fields are added as Go's ReverseProxy
// and Knative's queue-proxy shim do (X-Forwarded-*, RFC 7239 Forwarded).

/**
 * Request fields never passed upstream (names lowercase, as both front ends give them). A switch on
 * the length, then one string compare: names arrive as fresh strings, and a Set lookup would hash
 * each one on every request.
 */
export function isDroppedRequestField(name: string): boolean {
  switch (name.length) {
    case 2:
      return name === 'te';
    case 6:
      // undici rejects Expect (NotSupportedError); the front end answered 100-continue itself.
      return name === 'expect';
    case 7:
      return name === 'trailer' || name === 'upgrade';
    case 9:
      return name === 'forwarded'; // re-added below, appended to
    case 10:
      return name === 'connection' || name === 'keep-alive';
    // W3C Trace Context and X-Request-Id: replaced by the gateway's own (TraceHeaders).
    case 11:
      return name === 'traceparent';
    case 12:
      return name === 'x-request-id';
    case 14:
      return name === 'http2-settings';
    case 15:
      return name === 'x-forwarded-for'; // re-added below, appended to
    case 16:
      return name === 'proxy-connection' || name === 'x-forwarded-host';
    case 17:
      return name === 'transfer-encoding' || name === 'x-forwarded-proto';
    case 24:
      // Knative: the activator and queue-proxy remove these before the app sees the request.
      return name === 'knative-serving-revision';
    case 25:
      return name === 'knative-serving-namespace';
    default:
      return false;
  }
}

/** Tokens of a Connection value other than close/keep-alive (those are already dropped). */
function connectionTokens(value: string, into: string[]): void {
  for (const part of value.split(',')) {
    const t = part.trim().toLowerCase();
    if (t !== '' && t !== 'close' && t !== 'keep-alive') into.push(t);
  }
}

/** How an upgrade request is carried: see rawRequestHead(). */
export type UpgradeKind = '' | 'tunnel' | 'websocket';

/**
 * What the gateway passes on for tracing (the Exchange implements it): its traceparent (the
 * client's trace-id and flags, the gateway's span as parent-id), the request id, and whether the
 * client's tracestate fields go with them (only when its traceparent was valid: W3C Trace Context
 * §3.3.1).
 */
export interface TraceHeaders {
  readonly traceparent: string;
  readonly requestId: string;
  readonly keepTracestate: boolean;
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
export function upstreamRequestHeaders(
  incoming: readonly string[],
  fwd: ForwardInfo,
  trace: TraceHeaders,
): string[] {
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
    if (isDroppedRequestField(name)) continue;
    if (!trace.keepTracestate && name.length === 10 && name === 'tracestate') continue;
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
    'traceparent',
    trace.traceparent,
    'x-request-id',
    trace.requestId,
  );
  return out;
}

/**
 * The request head for the raw upstream path, as one string (written Latin-1, as undici writes
 * its heads): request line, the same fields upstreamRequestHeaders() passes, and the empty line.
 * `chunked`: the client's body has no Content-Length, so it is re-framed as chunked (RFC 9112
 * §6.1; the front end already removed the client's own transfer coding).
 * `upgrade`: '' for plain requests; 'tunnel' keeps Upgrade and sends `Connection: upgrade` (the
 * bytes after the 101 pass through untouched); 'websocket' also drops Sec-WebSocket-Extensions,
 * because the front end terminates the client's WebSocket and re-frames messages without any.
 * pre: `incoming` holds lowercase names at even indexes.
 */
export function rawRequestHead(
  method: string,
  path: string,
  incoming: readonly string[],
  clientIp: string,
  host: string,
  chunked: boolean,
  trace: TraceHeaders,
  upgrade: UpgradeKind = '',
): string {
  let xff = '';
  let forwarded = '';
  let listed: string[] | null = null;
  for (let i = 0; i < incoming.length; i += 2) {
    const name = incoming[i] as string;
    const n = name.length;
    if (n === 10 && name === 'connection') {
      listed ??= [];
      connectionTokens(incoming[i + 1] as string, listed);
    } else if (n === 15 && name === 'x-forwarded-for') {
      xff = xff === '' ? (incoming[i + 1] as string) : `${xff}, ${incoming[i + 1] as string}`;
    } else if (n === 9 && name === 'forwarded') {
      forwarded =
        forwarded === '' ? (incoming[i + 1] as string) : `${forwarded}, ${incoming[i + 1] as string}`;
    }
  }
  if (listed !== null && listed.length === 0) listed = null;
  const dropTracestate = !trace.keepTracestate;
  let head = method + ' ' + path + ' HTTP/1.1\r\n';
  for (let i = 0; i < incoming.length; i += 2) {
    const name = incoming[i] as string;
    if (isDroppedRequestField(name)) {
      if (upgrade !== '' && name.length === 7 && name === 'upgrade')
        head += 'upgrade: ' + (incoming[i + 1] as string) + '\r\n';
      continue;
    }
    if (dropTracestate && name.length === 10 && name === 'tracestate') continue;
    if (upgrade === 'websocket' && name.length === 24 && name === 'sec-websocket-extensions') continue;
    // A chunked body goes out chunked; a stray Content-Length beside it would be smuggling.
    if (chunked && name.length === 14 && name === 'content-length') continue;
    if (listed !== null && listed.includes(name)) continue;
    head += name + ': ' + (incoming[i + 1] as string) + '\r\n';
  }
  head +=
    'x-forwarded-for: ' +
    (xff === '' ? clientIp : xff + ', ' + clientIp) +
    '\r\nx-forwarded-proto: http\r\nx-forwarded-host: ' +
    host +
    '\r\nforwarded: ' +
    (forwarded === '' ? '' : forwarded + ', ') +
    'for=' +
    forwardedNode(clientIp) +
    ';host=' +
    forwardedValue(host) +
    ';proto=http\r\ntraceparent: ' +
    trace.traceparent +
    '\r\nx-request-id: ' +
    trace.requestId +
    (upgrade === '' ? '' : '\r\nconnection: upgrade') +
    (chunked ? '\r\ntransfer-encoding: chunked\r\n\r\n' : '\r\n\r\n');
  return head;
}

/** RFC 7239 §6: an IPv6 node is bracketed and quoted. */
function forwardedNode(ip: string): string {
  if (ip === '') return 'unknown';
  return ip.includes(':') ? `"[${ip}]"` : ip;
}

let lastHost = '';
let lastHostValue = '';

/** RFC 7239 §4: a value that is not a token (e.g. host:port) is a quoted-string. */
function forwardedValue(v: string): string {
  // Nearly every request repeats the previous Host: skip the regex then.
  if (v === lastHost) return lastHostValue;
  const out = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`;
  lastHost = v;
  lastHostValue = out;
  return out;
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
    case 12:
      // The front end writes the gateway's own (the one the replica was given).
      return lowerEquals(name, 'x-request-id') ? Kind.Drop : Kind.Keep;
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
