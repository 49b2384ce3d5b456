// The contract between a front end (uWS or node:http) and the shared core. A front end copies
// what the request needs synchronously into an IncomingRequest, wraps its response in a
// Downstream, and forwards three events (abort, writable, body chunk) to whatever the core set
// as `events`.
import type { ErrorSink } from '../errors.js';
import type { ResponseHead } from '../headers.js';

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
  /** Writes the status line and headers; with `bodyless` the response ends here. */
  head(status: number, head: ResponseHead, bodyless: boolean): void;
  /** Writes a body chunk; false = backpressure, wait for onWritable(). */
  write(chunk: Buffer): boolean;
  /** Ends the response (all chunks written before this). */
  end(): void;
  /** Cuts the connection: an error after the head was sent, or a timeout mid-body. */
  cut(): void;
  pauseBody(): void;
  resumeBody(): void;
}
