// One catalogue of gateway errors (STYLE.md "Errors"): every failure the gateway answers itself has
// a stable code, an HTTP status and a one-line body that names the thing and the fix. Both front
// ends turn a GatewayError into a response through sendError(), and nowhere else.

export type GatewayErrorCode =
  | 'KEDGE_ROUTE_NOT_FOUND'
  | 'KEDGE_QUEUE_FULL'
  | 'KEDGE_NO_CAPACITY_TIMEOUT'
  | 'KEDGE_REVISION_FAILED'
  | 'KEDGE_NO_READY_REVISION'
  | 'KEDGE_UPSTREAM_CONNECT'
  | 'KEDGE_UPSTREAM_TIMEOUT'
  | 'KEDGE_UPSTREAM_RESET'
  | 'KEDGE_BAD_REQUEST'
  | 'KEDGE_URI_TOO_LONG'
  | 'KEDGE_HEADERS_TOO_LARGE';

export type GatewayErrorStatus = 400 | 404 | 414 | 431 | 502 | 503 | 504;

export interface GatewayErrorInfo {
  readonly code: GatewayErrorCode;
  readonly status: GatewayErrorStatus;
  /** When the gateway answers with this code. */
  readonly meaning: string;
  /** What the operator or client should do about it. */
  readonly fix: string;
}

/** The catalogue as data, so the README's error table can be checked against it. */
export const GATEWAY_ERRORS: Readonly<Record<GatewayErrorCode, GatewayErrorInfo>> = Object.freeze({
  KEDGE_ROUTE_NOT_FOUND: {
    code: 'KEDGE_ROUTE_NOT_FOUND',
    status: 404,
    meaning: 'no route for the Host header',
    fix: 'check the Host header against `kedge get services` (hosts are {name}.{namespace}.{domain})',
  },
  KEDGE_QUEUE_FULL: {
    code: 'KEDGE_QUEUE_FULL',
    status: 503,
    meaning: 'the revision queue is at its limit (Knative activator breaker queue depth)',
    fix: 'retry after the Retry-After delay, or raise maxScale / containerConcurrency',
  },
  KEDGE_NO_CAPACITY_TIMEOUT: {
    code: 'KEDGE_NO_CAPACITY_TIMEOUT',
    status: 504,
    meaning: 'no replica had capacity before the queue timeout',
    fix: 'check the revision logs for slow start-up, or raise kedge.dev/queue-timeout / maxScale',
  },
  KEDGE_REVISION_FAILED: {
    code: 'KEDGE_REVISION_FAILED',
    status: 503,
    meaning: 'the revision cannot become ready',
    fix: 'read the reason and the revision logs (`kedge logs`), fix the container and re-apply',
  },
  KEDGE_NO_READY_REVISION: {
    code: 'KEDGE_NO_READY_REVISION',
    status: 503,
    meaning: 'the route has no revision to send traffic to',
    fix: 'wait for the first revision to become ready, or check the service status',
  },
  KEDGE_UPSTREAM_CONNECT: {
    code: 'KEDGE_UPSTREAM_CONNECT',
    status: 502,
    meaning: 'the replica refused the connection or did not accept it in time',
    fix: 'check that the container listens on $PORT',
  },
  KEDGE_UPSTREAM_TIMEOUT: {
    code: 'KEDGE_UPSTREAM_TIMEOUT',
    status: 504,
    meaning:
      'the replica did not answer within timeoutSeconds / responseStartTimeoutSeconds / idleTimeoutSeconds',
    fix: 'make the handler answer sooner, or raise the revision timeouts',
  },
  KEDGE_UPSTREAM_RESET: {
    code: 'KEDGE_UPSTREAM_RESET',
    status: 502,
    meaning: 'the replica closed the connection before the response was complete',
    fix: 'check the revision logs for crashes',
  },
  KEDGE_BAD_REQUEST: {
    code: 'KEDGE_BAD_REQUEST',
    status: 400,
    meaning: 'the request cannot be routed (no Host header, two Host headers, or an invalid Host)',
    fix: 'send an HTTP/1.1 request with exactly one valid Host header',
  },
  KEDGE_URI_TOO_LONG: {
    code: 'KEDGE_URI_TOO_LONG',
    status: 414,
    meaning: 'the request target is longer than 8 KB (nginx large_client_header_buffers default)',
    fix: 'send large parameters in the request body (POST) instead of the URL',
  },
  KEDGE_HEADERS_TOO_LARGE: {
    code: 'KEDGE_HEADERS_TOO_LARGE',
    status: 431,
    meaning: "the request's header section is larger than 16 KB (node:http's default limit)",
    fix: 'send fewer or smaller header fields (large cookies are the usual cause)',
  },
});

/** RFC 9112 §3: the longest request target kedge takes (nginx's large_client_header_buffers 8k). */
export const MAX_URI_BYTES = 8 * 1024;
/** The longest header section (request line included), as node:http's default maxHeaderSize. */
export const MAX_HEADER_BYTES = 16 * 1024;

export class GatewayError extends Error {
  readonly status: GatewayErrorStatus;
  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'GatewayError';
    this.status = GATEWAY_ERRORS[code].status;
  }
}

/**
 * What a front end refuses before routing, or null (no allocation) for an ordinary request:
 * a request target over MAX_URI_BYTES (414, RFC 9110 §15.5.15), a header section over
 * MAX_HEADER_BYTES (431, RFC 6585 §5), more than one Host field (400, RFC 9112 §3.2: a server
 * MUST answer 400). `headerBytes` 0: the front end enforces its own header limit (node:http).
 */
export function requestRefusal(
  hostFields: number,
  targetBytes: number,
  headerBytes: number,
): GatewayError | null {
  if (targetBytes > MAX_URI_BYTES)
    return new GatewayError(
      'KEDGE_URI_TOO_LONG',
      `request target of ${targetBytes} bytes is over the ${MAX_URI_BYTES}-byte limit; send large parameters in the request body`,
    );
  if (headerBytes > MAX_HEADER_BYTES)
    return new GatewayError(
      'KEDGE_HEADERS_TOO_LARGE',
      `request header section of ${headerBytes} bytes is over the ${MAX_HEADER_BYTES}-byte limit; send fewer or smaller header fields`,
    );
  if (hostFields > 1)
    return new GatewayError(
      'KEDGE_BAD_REQUEST',
      `request has ${hostFields} Host header fields (RFC 9112 §3.2); send exactly one Host: {name}.{namespace}.{domain}`,
    );
  return null;
}

/** Where an error response goes; each front end implements it in a few lines. */
export interface ErrorSink {
  /** Writes a complete response; `headers` are lowercase name/value pairs, flat. */
  respond(status: number, headers: readonly string[], body: string): void;
}

/** The response body: one line, status first (e.g. `503 revision default/hello-00001: queue full ...`). */
export function errorBody(err: GatewayError): string {
  return `${err.status} ${err.message}\n`;
}

/**
 * Turns a GatewayError into a response: text/plain, one line, `x-kedge-error: <code>` (the front
 * end adds x-request-id). Returns the body's size in bytes, for the access log.
 */
export function sendError(sink: ErrorSink, err: GatewayError): number {
  const headers =
    err.retryAfterSeconds === undefined
      ? ['content-type', 'text/plain; charset=utf-8', 'x-kedge-error', err.code]
      : [
          'content-type',
          'text/plain; charset=utf-8',
          'x-kedge-error',
          err.code,
          'retry-after',
          String(err.retryAfterSeconds),
        ];
  const body = errorBody(err);
  sink.respond(err.status, headers, body);
  return Buffer.byteLength(body);
}

/**
 * Maps an undici/socket error to the gateway's catalogue by `err.code` (never by message).
 * Returns null for our own aborts (UND_ERR_ABORTED), which the aborting side answers.
 */
export function upstreamErrorCode(err: unknown): GatewayErrorCode | null {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : '';
  switch (code) {
    case 'UND_ERR_ABORTED':
      return null;
    // ERR_UPSTREAM_CONNECT*: the raw pool's own (no connection within CONNECT_TIMEOUT_MS, or a
    // socket closed before it connected).
    case 'ECONNREFUSED':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ERR_UPSTREAM_CONNECT_TIMEOUT':
    case 'ERR_UPSTREAM_CONNECT':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return 'KEDGE_UPSTREAM_CONNECT';
    case 'UND_ERR_INVALID_ARG':
    case 'UND_ERR_NOT_SUPPORTED':
      return 'KEDGE_BAD_REQUEST';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return 'KEDGE_UPSTREAM_TIMEOUT';
    default:
      // UND_ERR_SOCKET, ECONNRESET, EPIPE, content-length mismatches, parser errors: the replica broke the exchange.
      return 'KEDGE_UPSTREAM_RESET';
  }
}
