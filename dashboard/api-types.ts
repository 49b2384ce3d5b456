// The JSON the dashboard endpoints answer with: one contract for the server (register.ts) and the
// page (ui/app.ts, which imports these as types only, so nothing here reaches the browser).
import type { ColdStart } from './history.js';
import type { RecentError } from './recent-errors.js';
import type { ServiceDoc } from './service-docs.js';

/** GET /api/v1/info */
export interface InfoReply {
  /** The gateway's traffic port, for links a browser can open (`{name}.{namespace}.localhost:PORT`). */
  readonly gatewayPort: number;
  readonly sampleIntervalMs: number;
  readonly windowMs: number;
  /** false until the gateway records its errors in the dashboard's RecentErrors. */
  readonly errorsConnected: boolean;
  /** Server wall-clock time, so the page draws against the server's clock, not the browser's. */
  readonly nowMs: number;
}

/** GET /api/v1/history[?revision=ns/name][&since=ms]: columns, oldest first. */
export interface HistoryReply {
  readonly nowMs: number;
  readonly sampleIntervalMs: number;
  readonly windowMs: number;
  readonly revisions: readonly {
    readonly revision: string;
    readonly timeMs: readonly number[];
    readonly observedConcurrency: readonly number[];
    readonly stableConcurrency: readonly number[];
    readonly desiredReplicas: readonly number[];
    readonly readyReplicas: readonly number[];
    readonly panic: readonly boolean[];
    readonly coldStarts: readonly ColdStart[];
  }[];
}

/** GET /api/v1/errors[?service=ns/name][&limit=N]: newest first. */
export type ErrorsReply = readonly {
  /** `namespace/name`; '' for errors no service owns (no route for the Host). */
  readonly service: string;
  readonly errors: readonly RecentError[];
}[];

/** GET /api/v1/docs */
export type DocsReply = readonly ServiceDoc[];
