// StatusWriter: writes reconcile's ServiceStatus into each Service's `status` subresource, in
// Knative's shape (knative-semantics.md §4.5), so `kubectl get ksvc` shows URL and Ready.
//
// - Only on change: the status is compared with what the Service already has, ignoring
//   lastTransitionTime, and with what this writer last wrote (the watch cache may lag behind).
// - lastTransitionTime moves only when a condition's status changes (Knative's ConditionSet).
// - Optimistic concurrency: a PUT carries the resourceVersion it was computed from; a 409 Conflict
//   re-reads the Service and tries again (client-go's RetryOnConflict), a few times at most.
// - Per Service, one write at a time and the latest status wins; a Service that is gone (404) is
//   forgotten.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../lib/log.js';
import { canonicalJson } from './api/validate.js';
import type { Condition, ServiceStatus } from './reconcile.js';
import { SERVICES_PLURAL, SERVING_GROUP, SERVING_VERSION, type KubeService } from './sources/kube.js';
import { describeError } from './sources/kube-watch.js';

/** client-go's retry.DefaultRetry makes 5 attempts. */
const MAX_ATTEMPTS = 5;

export type StatusWriteOutcome = 'written' | 'unchanged' | 'conflict' | 'gone' | 'error';

export interface StatusWriterOptions {
  readonly kc: KubeConfig;
  readonly logger: Logger;
  /** The Service as last seen by the watch (status and resourceVersion included). */
  readonly current: (namespace: string, name: string) => KubeService | undefined;
  /** Wall clock for lastTransitionTime; default `new Date().toISOString()`. */
  readonly nowIso?: () => string;
  readonly onOutcome?: (outcome: StatusWriteOutcome) => void;
}

interface Slot {
  desired: ServiceStatus;
  running: Promise<void> | null;
  pending: boolean;
}

export class StatusWriter {
  private readonly api: CustomObjectsApi;
  private readonly slots = new Map<string, Slot>();
  /** `${uid}` → the status (without times) this writer last wrote for that object. */
  private readonly written = new Map<string, string>();
  private closed = false;

  constructor(private readonly options: StatusWriterOptions) {
    this.api = options.kc.makeApiClient(CustomObjectsApi);
  }

  /** Queues every Service's status; returns at once. */
  write(statuses: readonly ServiceStatus[]): void {
    if (this.closed) return;
    for (const s of statuses) {
      const key = `${s.namespace}/${s.name}`;
      const slot = this.slots.get(key);
      if (slot === undefined) {
        const fresh: Slot = { desired: s, running: null, pending: false };
        this.slots.set(key, fresh);
        this.run(key, fresh);
      } else {
        slot.desired = s;
        if (slot.running !== null) slot.pending = true;
        else this.run(key, slot);
      }
    }
  }

  /** Resolves when no write is running or queued (tests, shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.slots.values()].map((s) => s.running).filter((p) => p !== null);
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  /** Lets running writes finish; queues no more. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }

  private run(key: string, slot: Slot): void {
    slot.pending = false;
    slot.running = this.writeOne(slot.desired)
      .then((outcome) => {
        this.options.onOutcome?.(outcome);
      })
      .finally(() => {
        slot.running = null;
        if (slot.pending && !this.closed) this.run(key, slot);
        else if (this.slots.get(key) === slot) this.slots.delete(key);
      });
  }

  private async writeOne(s: ServiceStatus): Promise<StatusWriteOutcome> {
    const now = this.options.nowIso ?? (() => new Date().toISOString());
    let obj = this.options.current(s.namespace, s.name);
    let conflicts = 0;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        obj ??= (await this.api.getNamespacedCustomObject({ ...this.ref(s), name: s.name })) as KubeService;
        const uid = obj.metadata?.uid ?? '';
        const status = knativeStatus(s, obj.status, now());
        const key = statusKey(status);
        if (key === statusKey(obj.status) || this.written.get(uid) === key) return 'unchanged';
        await this.api.replaceNamespacedCustomObjectStatus({
          ...this.ref(s),
          name: s.name,
          body: { ...obj, status },
        });
        this.written.set(uid, key);
        this.options.logger.debug('wrote Service status', { service: `${s.namespace}/${s.name}` });
        return conflicts > 0 ? 'conflict' : 'written';
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code === 404) return 'gone';
        if (code !== 409) {
          this.options.logger.warn('writing Service status failed', {
            service: `${s.namespace}/${s.name}`,
            error: describeError(err),
          });
          return 'error';
        }
        // Someone wrote the Service since we read it: re-read, recompute, retry.
        conflicts++;
        obj = undefined;
      }
    }
    this.options.logger.warn('writing Service status: still conflicting; the next reconcile retries', {
      service: `${s.namespace}/${s.name}`,
      attempts: MAX_ATTEMPTS,
    });
    return 'error';
  }

  private ref(s: ServiceStatus): { group: string; version: string; plural: string; namespace: string } {
    return {
      group: SERVING_GROUP,
      version: SERVING_VERSION,
      plural: SERVICES_PLURAL,
      namespace: s.namespace,
    };
  }
}

// ---- pure: the Knative status object ------------------------------------------------------------

export interface KnativeCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime: string;
}

/**
 * A Service's status as Knative writes it; `existing` (the current status) supplies the
 * lastTransitionTime of every condition whose status did not change. Empty strings are left out,
 * as Go's omitempty does; conditions are sorted by type, as Knative's ConditionSet keeps them.
 */
export function knativeStatus(s: ServiceStatus, existing: unknown, nowIso: string): Record<string, unknown> {
  const before = new Map<string, { status: unknown; lastTransitionTime: unknown }>();
  const old =
    isRecord(existing) && Array.isArray(existing['conditions']) ? (existing['conditions'] as unknown[]) : [];
  for (const c of old) {
    if (isRecord(c) && typeof c['type'] === 'string') {
      before.set(c['type'], { status: c['status'], lastTransitionTime: c['lastTransitionTime'] });
    }
  }
  const conditions = [...s.conditions]
    .sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0))
    .map((c: Condition): KnativeCondition => {
      const prev = before.get(c.type);
      const time =
        prev !== undefined && prev.status === c.status && typeof prev.lastTransitionTime === 'string'
          ? prev.lastTransitionTime
          : nowIso;
      return {
        type: c.type,
        status: c.status,
        ...(c.reason === '' ? {} : { reason: c.reason }),
        ...(c.message === '' ? {} : { message: c.message }),
        lastTransitionTime: time,
      };
    });
  const status: Record<string, unknown> = { observedGeneration: s.observedGeneration, conditions };
  if (s.url !== '') status['url'] = s.url;
  if (s.address.url !== '') status['address'] = { url: s.address.url };
  if (s.latestCreatedRevisionName !== '') status['latestCreatedRevisionName'] = s.latestCreatedRevisionName;
  if (s.latestReadyRevisionName !== '') status['latestReadyRevisionName'] = s.latestReadyRevisionName;
  if (s.traffic.length > 0) {
    status['traffic'] = s.traffic.map((t) => ({
      ...(t.tag === '' ? {} : { tag: t.tag }),
      revisionName: t.revisionName,
      latestRevision: t.latestRevision,
      percent: t.percent,
      ...(t.url === '' ? {} : { url: t.url }),
    }));
  }
  return status;
}

/** The status without lastTransitionTime: what "changed" means for a write. */
export function statusKey(status: unknown): string {
  if (!isRecord(status)) return '';
  const conditions = Array.isArray(status['conditions'])
    ? (status['conditions'] as unknown[]).map((c) => {
        if (!isRecord(c)) return c;
        const { lastTransitionTime: _t, ...rest } = c;
        return rest;
      })
    : status['conditions'];
  return canonicalJson({ ...status, conditions }) ?? '';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
