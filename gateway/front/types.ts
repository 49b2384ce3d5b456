// The contract between a front end (uWS or node:http) and the shared core. A front end copies
// what the request needs synchronously into an IncomingRequest, wraps its response in a
// Downstream, and forwards three events (abort, writable, body chunk) to whatever the core set
// as `events`.
import type { ErrorSink } from '../errors.js';
import type { Socket } from 'node:net';
import type { ResponseHead, UpgradeKind } from '../headers.js';
import type { ParsedHead } from '../upstream/response-parser.js';

/** An upstream response head: undici's raw field list (filtered), or the raw parser's spans. */
export type UpstreamHead = ResponseHead | ParsedHead<Buffer>;

export interface IncomingRequest {
  /** As sent (case preserved). */
  readonly method: string;
  /** Path plus `?query`, as sent. */
  readonly path: string;
  /** The Host header as sent ('' when missing). */
  readonly host: string;
  /** Flat name/value pairs, lowercase names, in arrival order. */
  readonly headers: string[];
  readonly clientIp: string;
  /** True when a body follows (Content-Length > 0 or Transfer-Encoding). */
  readonly hasBody: boolean;
  /** The body has no Content-Length (Transfer-Encoding): it is re-framed as chunked upstream. */
  readonly chunked: boolean;
  /** '' for plain requests; an upgrade's Downstream is a TunnelDownstream (see headers.ts). */
  readonly upgrade: UpgradeKind;
}

export interface DownstreamEvents {
  /** The client went away; the response must not be touched again. */
  onClientAbort(): void;
  /** A write that returned false has drained. */
  onWritable(): void;
  /** A request body chunk (already copied, owned by the receiver); `last` ends the body. */
  onBodyChunk(chunk: Buffer, last: boolean): void;
}

export interface Downstream extends ErrorSink {
  events: DownstreamEvents | null;
  /**
   * Set by the core before any answer: written as `x-request-id` on every response, the gateway's
   * own errors included (the replica's own x-request-id field is dropped).
   */
  requestId: string;
  /**
   * Sends a 1xx informational response (102, 103, ...; never 100 or 101, which the exchange
   * keeps back) ahead of the final head, where the front end can: node:http writes it, uWS cannot
   * and skips it (see each front end). Only before head(); the head is borrowed for the call. Its
   * fields are the replica's, filtered as a final head's are; no x-request-id is added (it names
   * the exchange on the final response; RFC 8297 §2: a 103's fields are hints about the final
   * response, not fields of it).
   */
  interim(status: number, head: UpstreamHead): void;
  /**
   * Takes the status line and headers; with `bodyless` the response ends here. Otherwise the head
   * waits for the first body chunk so both leave in one write, or for flush().
   */
  head(status: number, head: UpstreamHead, bodyless: boolean): void;
  /** Sends a head still held back (nothing else arrived in this turn: SSE, long polls). */
  flush(): void;
  /**
   * Writes a body chunk; false = backpressure, wait for onWritable(). The chunk is borrowed (the
   * raw upstream path reuses one read buffer): copy whatever is kept past the call.
   */
  write(chunk: Buffer): boolean;
  /** Ends the response (all chunks written before this). */
  end(): void;
  /** Cuts the connection: an error after the head was sent, or a timeout mid-body. */
  cut(): void;
  pauseBody(): void;
  resumeBody(): void;
}

/**
 * The Downstream of an upgrade request. Errors and refusals (any status but 101) use the
 * Downstream methods; a 101 hands over the replica's socket.
 */
export interface TunnelDownstream extends Downstream {
  /**
   * The replica switched protocols: join `upstream` (with `rest`, bytes it already sent past its
   * head) to the client. `closed` runs once, when both sides are gone.
   */
  upgraded(head: ParsedHead<Buffer>, upstream: Socket, rest: Buffer, closed: () => void): void;
}
