// What reconcile() remembers between runs, as plain JSON data (a later issue persists it to disk):
// per Service the revisions created so far (immutable, with the template they came from), the
// Configuration generation that numbers the next one, and the last valid Service, which keeps
// serving while a newer version of the object is invalid or its file does not parse.
import type { Service } from './api/types.js';
import { childName } from './api/names.js';
import type { RevisionSpec } from './state.js';

export const HISTORY_FORMAT_VERSION = 1;

export interface RevisionRecord {
  /** The revision exactly as published in the State; never changes after creation. */
  readonly spec: RevisionSpec;
  /** canonicalJson of the template (plus the base folder when workingDir is relative). */
  readonly templateKey: string;
}

export interface LastGood {
  readonly service: Service;
  /** `file#index` the Service came from. */
  readonly origin: string;
  /** Absolute folder of that file; relative workingDirs resolve against it. */
  readonly baseDir: string;
}

export interface ServiceHistory {
  readonly namespace: string;
  readonly name: string;
  /** Bumps on every change of spec (local mode's metadata.generation; cluster mode reads the server's). */
  readonly generation: number;
  /** canonicalJson(spec) of lastGood, to detect spec changes. */
  readonly specKey: string;
  /** Bumps on every template change; unnamed revisions are `{service}-{generation:05}` (Knative). */
  readonly configurationGeneration: number;
  readonly templateKey: string;
  readonly latestCreatedRevisionName: string;
  /** '' until a revision has been ready. */
  readonly latestReadyRevisionName: string;
  /** Creation order, oldest first. */
  readonly revisions: readonly RevisionRecord[];
  readonly lastGood: LastGood;
}

export interface RevisionHistory {
  readonly formatVersion: typeof HISTORY_FORMAT_VERSION;
  /** Sorted by namespace/name. */
  readonly services: readonly ServiceHistory[];
}

export const EMPTY_HISTORY: RevisionHistory = Object.freeze({
  formatVersion: HISTORY_FORMAT_VERSION,
  services: Object.freeze([]),
});

/** Knative names unnamed revisions kmeta.ChildName(configuration, "-%05d" of the generation). */
export function generatedRevisionName(service: string, configurationGeneration: number): string {
  return childName(service, `-${String(configurationGeneration).padStart(5, '0')}`);
}

export function serviceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
