// The upstream half of an upgrade (WebSocket): a dedicated socket (never pooled), the request
// head written once, the response head read with the strict parser in upgrade mode. On 101 the
// socket, with any bytes read past the head, is handed to the front end, which joins it to the
// client; any other status is an ordinary response passed back through the exchange.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { Endpoint } from '../../controller/runtime.js';
import { connectFailure, RawUpstreamError } from './raw-pool.js';
import { ResponseParser, Result } from './response-parser.js';
import type { ParsedHead, ResponseEvents } from './response-parser.js';

/** What the exchange does with the replica's answer to an upgrade request. */
export interface TunnelExchange {
  onTunnelConnected(): void;
  /** 101: the socket now belongs to the caller; `rest` holds bytes already read past the head. */
  onTunnelOpen(head: ParsedHead<Buffer>, socket: Socket, rest: Buffer): void;
  /** Any other final status: an ordinary response (then onRawBody/onRawComplete). */
  onRawHead(head: ParsedHead<Buffer>): void;
  onRawBody(chunk: Buffer): boolean;
  onRawComplete(): void;
  onRawError(err: Error): void;
}

const EMPTY = Buffer.alloc(0);

export class TunnelConn implements ResponseEvents<Buffer> {
  private readonly socket: Socket;
  private readonly parser: ResponseParser<Buffer>;
  private ex: TunnelExchange | null;
  private completed = false;
  private error: Error | null = null;
  readonly createdMs: number;
  connected = false;

  constructor(endpoint: Endpoint, head: string, ex: TunnelExchange, nowMs: number) {
    this.ex = ex;
    this.createdMs = nowMs;
    this.parser = new ResponseParser<Buffer>(this, (n) => Buffer.allocUnsafe(n), EMPTY);
    this.parser.reset(false, true);
    const socket = connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
    this.socket = socket;
    socket.on('connect', this.onConnect);
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.write(head, 'latin1');
  }

  /** The exchange ended before the replica answered (or while a refusal streamed). */
  abort(): void {
    this.ex = null;
    this.parser.stop();
    this.socket.destroy();
  }

  onHead(head: ParsedHead<Buffer>): void {
    const ex = this.ex;
    if (ex === null || head.status === 101) return;
    ex.onRawHead(head);
  }

  onBody(buf: Buffer, start: number, end: number): void {
    this.ex?.onRawBody(buf.subarray(start, end));
  }

  onComplete(): void {
    this.completed = true;
  }

  private readonly onConnect = (): void => {
    this.connected = true;
    this.ex?.onTunnelConnected();
  };

  private readonly onData = (chunk: Buffer): void => {
    const ex = this.ex;
    if (ex === null) return;
    const parser = this.parser;
    switch (parser.execute(chunk)) {
      case Result.More:
        return;
      case Result.Done: {
        this.ex = null;
        if (parser.head.status === 101) {
          const socket = this.socket;
          socket.off('data', this.onData);
          socket.off('error', this.onError);
          socket.off('close', this.onClose);
          socket.off('connect', this.onConnect);
          const rest =
            parser.leftover > 0 ? Buffer.from(chunk.subarray(chunk.length - parser.leftover)) : EMPTY;
          ex.onTunnelOpen(parser.head, socket, rest);
          return;
        }
        // A refused upgrade: the connection asked for an upgrade, so it is not reused.
        this.socket.destroy();
        ex.onRawComplete();
        return;
      }
      case Result.Error:
        this.ex = null;
        this.socket.destroy();
        ex.onRawError(new RawUpstreamError('ERR_UPSTREAM_PROTOCOL', `invalid response: ${parser.error}`));
        return;
      case Result.Stopped:
        return;
    }
  };

  private readonly onError = (err: Error): void => {
    this.error = err;
  };

  private readonly onClose = (): void => {
    const ex = this.ex;
    if (ex === null) return;
    this.ex = null;
    if (this.parser.untilClose && this.error === null) {
      this.parser.finish();
      if (this.completed) ex.onRawComplete();
      return;
    }
    if (!this.connected) {
      // Nothing reached the replica: a connect failure, like the raw pool's.
      ex.onRawError(connectFailure(this.error));
      return;
    }
    ex.onRawError(
      this.error ??
        new RawUpstreamError(
          'ERR_UPSTREAM_CLOSED',
          this.parser.started ? 'closed mid-response' : 'closed before responding',
        ),
    );
  };
}
