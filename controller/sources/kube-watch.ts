// WatchedCollection: one Kubernetes collection kept in memory, the way client-go's reflector does
// it (STYLE.md "Kubernetes watch code"), on top of @kubernetes/client-node's ListWatch:
//
// - list, then watch from the list's resourceVersion (treated as opaque);
// - on 410 Gone, re-list and diff, so deletes missed while away still arrive (ListWatch does this
//   for the ERROR event and for a plain 410 response);
// - restart on every other error, after an exponential backoff with jitter (ListWatch reports the
//   error and stops; restarting is ours);
// - a staleness watchdog: no event and no BOOKMARK for staleAfterMs while a watch is open → re-list.
//   A watch whose TCP connection died silently (NAT timeout, a node gone) otherwise looks healthy
//   forever. Bookmarks (allowWatchBookmarks, which ListWatch does not ask for) keep a quiet watch alive;
//   the real apiserver sends one about every minute.
//
// Each watch also carries timeoutSeconds, random in [5, 10) min as client-go's reflector picks, so
// watches end and resume from their resourceVersion now and then instead of living forever.
import {
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { Logger } from '../../lib/log.js';

export interface WatchTuning {
  /** No event or bookmark for this long on an open watch → re-list. Default 180 s. */
  readonly staleAfterMs: number;
  /** First restart delay after an error; doubles up to maxBackoffMs. Default 500 ms. */
  readonly initialBackoffMs: number;
  /** Default 30 s. */
  readonly maxBackoffMs: number;
  /** [0, 1); jitter source, injectable for tests. */
  readonly random: () => number;
}

export const DEFAULT_WATCH_TUNING: WatchTuning = Object.freeze({
  staleAfterMs: 180_000,
  initialBackoffMs: 500,
  maxBackoffMs: 30_000,
  random: Math.random,
});

export type WatchRestartReason = 'error' | 'stale' | 'relist';

export interface WatchedCollectionOptions<T extends KubernetesObject> {
  readonly kc: KubeConfig;
  /** The collection's URL path, e.g. `/api/v1/namespaces/kedge-system/configmaps`. */
  readonly path: string;
  /** Lists the same collection (with the same selectors) as one page. */
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly labelSelector?: string;
  readonly logger: Logger;
  /** Called after the cached set changed (an event, or a list applied); callers coalesce. */
  readonly onChange: () => void;
  /** Counted in metrics by the caller. */
  readonly onRestart?: (reason: WatchRestartReason) => void;
  readonly tuning?: Partial<WatchTuning>;
}

/** How the watch that is ending should be resumed; set by us before we abort it. */
type Intent = 'none' | 'resume' | 'relist';

interface WatchCall {
  controller: AbortController | null;
  intent: Intent;
}

interface WatchHooks {
  begin(call: WatchCall): void;
  opened(call: WatchCall): void;
  activity(): void;
  timeoutSeconds(): number;
  finish(call: WatchCall, err: unknown, done: (err: unknown) => void): void;
}

/**
 * ListWatch takes a Watch; this one adds bookmarks and a timeout to every request, notes activity
 * for the watchdog, and lets the collection turn its own aborts into "resume" or "relist" (a 410).
 */
class TrackingWatch extends Watch {
  constructor(
    kc: KubeConfig,
    private readonly hooks: WatchHooks,
  ) {
    super(kc);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const call: WatchCall = { controller: null, intent: 'none' };
    this.hooks.begin(call);
    const params = { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: this.hooks.timeoutSeconds() };
    const controller = await super.watch(
      path,
      params,
      (phase, obj, raw) => {
        this.hooks.activity();
        callback(phase, obj, raw);
      },
      (err: unknown) => {
        this.hooks.finish(call, err, done);
      },
    );
    call.controller = controller;
    this.hooks.opened(call);
    return controller;
  }
}

export class WatchedCollection<T extends KubernetesObject> {
  private readonly tuning: WatchTuning;
  private readonly informer: ListWatch<T>;
  private current: WatchCall | null = null;
  private lastActivityMs = 0;
  private failures = 0;
  private lists = 0;
  private running = false;
  private synced = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private resolveSynced: (() => void) | null = null;

  constructor(private readonly options: WatchedCollectionOptions<T>) {
    this.tuning = { ...DEFAULT_WATCH_TUNING, ...options.tuning };
    const watch = new TrackingWatch(options.kc, {
      begin: (call) => {
        this.current = call;
      },
      opened: (call) => {
        if (this.current === call) this.noteActivity();
      },
      activity: () => {
        this.noteActivity();
      },
      timeoutSeconds: () => Math.floor(300 + this.tuning.random() * 300),
      finish: (call, err, done) => {
        if (this.current === call) this.current = null;
        if (!this.running) return; // stop(): nothing to resume
        if (call.intent === 'relist') done(Object.assign(new Error('relist'), { statusCode: 410 }));
        else if (call.intent === 'resume') done(null);
        else done(err);
      },
    });
    const list = async (): Promise<KubernetesListObject<T>> => {
      const result = await options.list();
      this.lists++;
      if (this.lists > 1) options.onRestart?.('relist');
      // ListWatch applies the list right after this promise resolves; look once it has.
      setImmediate(() => {
        this.noteActivity();
        this.failures = 0;
        if (!this.synced) {
          this.synced = true;
          this.resolveSynced?.();
          this.resolveSynced = null;
        }
        if (this.running) options.onChange();
      });
      return result;
    };
    this.informer = new ListWatch<T>(options.path, watch, list, false, options.labelSelector);
    const changed = (): void => {
      if (this.synced && this.running) options.onChange();
    };
    this.informer.on('add', changed);
    this.informer.on('update', changed);
    this.informer.on('delete', changed);
    this.informer.on('error', (err: unknown) => {
      this.onError(err);
    });
  }

  /** Starts list + watch; resolves after the first list was applied (or on stop()). */
  start(): Promise<void> {
    if (this.running) return this.synced ? Promise.resolve() : this.waitSynced();
    this.running = true;
    const synced = this.waitSynced();
    const period = Math.max(10, Math.min(10_000, Math.floor(this.tuning.staleAfterMs / 4)));
    this.watchdog = setInterval(() => {
      this.checkStale();
    }, period);
    this.watchdog.unref();
    this.startInformer();
    return synced;
  }

  get isSynced(): boolean {
    return this.synced;
  }

  list(): readonly T[] {
    return this.informer.list();
  }

  get(namespace: string, name: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  /** Ends the open watch; it resumes from the last resourceVersion (a 410 then re-lists). */
  restartWatch(): void {
    this.abortCurrent('resume');
  }

  /** Ends the open watch and re-lists (what the watchdog does). */
  relist(): void {
    this.abortCurrent('relist');
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.restartTimer = null;
    this.watchdog = null;
    this.resolveSynced?.();
    this.resolveSynced = null;
    await this.informer.stop();
  }

  private waitSynced(): Promise<void> {
    return new Promise((resolve) => {
      if (this.synced || !this.running) resolve();
      else {
        const before = this.resolveSynced;
        this.resolveSynced = () => {
          before?.();
          resolve();
        };
      }
    });
  }

  private startInformer(): void {
    this.informer.start().catch((err: unknown) => {
      this.onError(err);
    });
  }

  private noteActivity(): void {
    this.lastActivityMs = performance.now();
  }

  private abortCurrent(intent: Intent): void {
    const call = this.current;
    if (call?.controller == null) return;
    call.intent = intent;
    call.controller.abort();
  }

  private checkStale(): void {
    if (!this.running || this.current?.controller == null) return;
    const idleMs = performance.now() - this.lastActivityMs;
    if (idleMs < this.tuning.staleAfterMs) return;
    this.options.logger.warn('watch silent for too long; re-listing', {
      path: this.options.path,
      idleMs: Math.round(idleMs),
    });
    this.options.onRestart?.('stale');
    this.relist();
  }

  private onError(err: unknown): void {
    if (!this.running || this.restartTimer !== null) return;
    const base = Math.min(this.tuning.maxBackoffMs, this.tuning.initialBackoffMs * 2 ** this.failures);
    // Equal jitter: half the delay fixed, half random, so restarts of many watches spread out.
    const delayMs = Math.round(base / 2 + (this.tuning.random() * base) / 2);
    this.failures = Math.min(this.failures + 1, 30);
    this.options.logger.warn('watch failed; restarting', {
      path: this.options.path,
      error: describeError(err),
      retryInMs: delayMs,
    });
    this.options.onRestart?.('error');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.running) this.startInformer();
    }, delayMs);
    this.restartTimer.unref();
  }
}

export function describeError(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; statusCode?: unknown; message?: unknown; body?: unknown };
    const status =
      typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : null;
    const message = typeof e.message === 'string' ? (e.message.split('\n', 1)[0] ?? '') : JSON.stringify(err);
    return status === null ? message : `HTTP ${status}: ${message}`;
  }
  return String(err);
}
