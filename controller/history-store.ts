/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   client-node 1.x models are data-only classes; an object literal serializes the same. */
// The revision history of cluster mode, kept in a ConfigMap of kedge's namespace (local mode keeps
// it in a state folder). Without it, a restarted controller would number every Service's revisions
// from 00001 again: the current template would take the name (and the Deployment) of the oldest
// revision, and the Deployments of newer ones would be orphaned. Knative keeps Revision objects in
// the API for the same reason.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../lib/log.js';
import { EMPTY_HISTORY, decodeHistory, encodeHistory, type RevisionHistory } from './revision-history.js';
import { describeError } from './sources/kube-watch.js';

export const HISTORY_CONFIG_MAP = 'kedge-revision-history';
export const HISTORY_KEY = 'history.json';
/** A ConfigMap holds at most 1 MiB; warn well before. */
const WARN_BYTES = 768 * 1024;

export class HistoryStore {
  private readonly core: CoreV1Api;
  private saved = '';
  private writing: Promise<void> | null = null;
  private next: string | null = null;

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly logger: Logger,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  /** The stored history; empty when there is none. Throws on a history it cannot trust. */
  async load(): Promise<RevisionHistory> {
    try {
      const cm = await this.core.readNamespacedConfigMap({
        name: HISTORY_CONFIG_MAP,
        namespace: this.namespace,
      });
      const text = cm.data?.[HISTORY_KEY];
      if (text === undefined) return EMPTY_HISTORY;
      this.saved = text;
      return decodeHistory(text);
    } catch (err) {
      if ((err as { code?: unknown }).code === 404) return EMPTY_HISTORY;
      throw new Error(
        `cannot read the revision history (ConfigMap ${this.namespace}/${HISTORY_CONFIG_MAP}): ${describeError(err)}`,
        { cause: err },
      );
    }
  }

  /** Saves when changed; one write at a time, the latest history wins. */
  save(history: RevisionHistory): void {
    const text = encodeHistory(history);
    if (text === this.saved && this.writing === null) return;
    this.next = text;
    if (this.writing === null) this.writing = this.drain();
  }

  async idle(): Promise<void> {
    await this.writing;
  }

  private async drain(): Promise<void> {
    while (this.next !== null) {
      const text = this.next;
      this.next = null;
      if (text === this.saved) continue;
      if (text.length > WARN_BYTES) {
        this.logger.warn('the revision history is close to the 1 MiB ConfigMap limit', {
          bytes: text.length,
        });
      }
      try {
        await this.write(text);
        this.saved = text;
      } catch (err) {
        this.logger.error('cannot save the revision history; names may repeat after a restart', {
          error: describeError(err),
        });
      }
    }
    this.writing = null;
  }

  private async write(text: string): Promise<void> {
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: HISTORY_CONFIG_MAP, namespace: this.namespace },
      data: { [HISTORY_KEY]: text },
    };
    try {
      await this.core.replaceNamespacedConfigMap({
        name: HISTORY_CONFIG_MAP,
        namespace: this.namespace,
        body,
      });
    } catch (err) {
      if ((err as { code?: unknown }).code !== 404) throw err;
      await this.core.createNamespacedConfigMap({ namespace: this.namespace, body });
    }
  }
}
