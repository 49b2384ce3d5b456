// What reconcile() remembers between runs, as plain JSON data: per Service the revisions created so
// far (immutable, with the template they came from), the Configuration generation that numbers the
// next one, the last valid Service, which keeps serving while a newer version of the object is
// invalid or its file does not parse, and the names garbage collection took (never reused).
// Local mode persists it (cli/state-dir.ts) so names and generations survive a restart.
import type { Service } from './api/types.js';
import { childName } from './api/names.js';
import type { RoutingState } from './gc.js';
import { type ConfigurationRollout, type Rollout, isValidRollout } from './rollout.js';
import type { RevisionSpec } from './state.js';

export const HISTORY_FORMAT_VERSION = 1;

export interface RevisionRecord {
  /** The revision exactly as published in the State; never changes after creation. */
  readonly spec: RevisionSpec;
  /** canonicalJson of the template (plus the base folder when workingDir is relative). */
  readonly templateKey: string;
  /**
   * A replica has been ready once. Kept across restarts: a revision that was ready stays Ready
   * (Knative keeps Ready at zero replicas) and may take traffic before its first cold start.
   */
  readonly everReady: boolean;
  /** Knative's serving.knative.dev/routingState: pending until first routed or superseded. */
  readonly routingState: RoutingState;
  /** serving.knative.dev/routingStateModified (RFC 3339); '' until the state first changed. */
  readonly routingStateModified: string;
}

/** A revision garbage collection deleted; its name is never given out again. */
export interface DeletedRevision {
  readonly name: string;
  /** RFC 3339. */
  readonly deletedAt: string;
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
  /** Collected by GC, oldest first. */
  readonly deletedRevisions: readonly DeletedRevision[];
  readonly lastGood: LastGood;
  /**
   * Where the gradual rollout of its traffic stands (controller/rollout.ts); absent when there is
   * nothing to remember. Kept here so a restart resumes it, as Knative keeps it in an annotation
   * of the Route's Ingress: same split, same step timing (wall clock), no jump to 100 %.
   */
  readonly rollout?: Rollout;
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

/** The history as the state file holds it: stable key order is not needed, only valid JSON. */
export function encodeHistory(history: RevisionHistory): string {
  return JSON.stringify(history, null, 1) + '\n';
}

/** A state file that cannot be trusted: kedge refuses to start rather than reuse revision names. */
export class HistoryDecodeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HistoryDecodeError';
  }
}

/**
 * Parses a state file written by encodeHistory(). The file is ours, but it crosses a trust
 * boundary (disk, hand edits, older kedge), so the shape is checked where reconcile relies on it.
 * Records written before a field existed get its neutral value.
 */
export function decodeHistory(text: string): RevisionHistory {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new HistoryDecodeError(`not JSON: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  const root = record(raw, 'the file');
  if (root.formatVersion !== HISTORY_FORMAT_VERSION) {
    throw new HistoryDecodeError(
      `formatVersion ${JSON.stringify(root.formatVersion)} is not ${HISTORY_FORMAT_VERSION}; this kedge cannot read it`,
    );
  }
  const services = array(root.services, 'services').map((value, i): ServiceHistory => {
    const path = `services[${i}]`;
    const h = record(value, path);
    const revisions = array(h.revisions, `${path}.revisions`).map((rv, j): RevisionRecord => {
      const rpath = `${path}.revisions[${j}]`;
      const r = record(rv, rpath);
      const spec = record(r.spec, `${rpath}.spec`);
      string(spec.name, `${rpath}.spec.name`);
      string(spec.key, `${rpath}.spec.key`);
      number(spec.generation, `${rpath}.spec.generation`);
      string(spec.createdAt, `${rpath}.spec.createdAt`);
      const state = r.routingState;
      return {
        spec: spec as unknown as RevisionSpec,
        templateKey: string(r.templateKey, `${rpath}.templateKey`),
        everReady: r.everReady === true,
        routingState: state === 'active' || state === 'reserve' ? state : 'pending',
        routingStateModified: typeof r.routingStateModified === 'string' ? r.routingStateModified : '',
      };
    });
    const deletedRevisions = (
      h.deletedRevisions === undefined ? [] : array(h.deletedRevisions, `${path}.deletedRevisions`)
    ).map((dv, j): DeletedRevision => {
      const d = record(dv, `${path}.deletedRevisions[${j}]`);
      return {
        name: string(d.name, `${path}.deletedRevisions[${j}].name`),
        deletedAt: typeof d.deletedAt === 'string' ? d.deletedAt : '',
      };
    });
    const lastGood = record(h.lastGood, `${path}.lastGood`);
    const service = record(lastGood.service, `${path}.lastGood.service`);
    record(service.metadata, `${path}.lastGood.service.metadata`);
    record(service.spec, `${path}.lastGood.service.spec`);
    return {
      namespace: string(h.namespace, `${path}.namespace`),
      name: string(h.name, `${path}.name`),
      generation: number(h.generation, `${path}.generation`),
      specKey: string(h.specKey, `${path}.specKey`),
      configurationGeneration: number(h.configurationGeneration, `${path}.configurationGeneration`),
      templateKey: string(h.templateKey, `${path}.templateKey`),
      latestCreatedRevisionName: string(h.latestCreatedRevisionName, `${path}.latestCreatedRevisionName`),
      latestReadyRevisionName: string(h.latestReadyRevisionName, `${path}.latestReadyRevisionName`),
      revisions,
      deletedRevisions,
      lastGood: {
        service: service as unknown as Service,
        origin: string(lastGood.origin, `${path}.lastGood.origin`),
        baseDir: string(lastGood.baseDir, `${path}.lastGood.baseDir`),
      },
      ...optionalRollout(h.rollout),
    };
  });
  return { formatVersion: HISTORY_FORMAT_VERSION, services };
}

/**
 * A rollout that does not read back as a valid one is dropped, not refused: like Knative with a
 * damaged rollout annotation, the traffic then goes to its goal at once, and nothing else is lost.
 */
function optionalRollout(v: unknown): { readonly rollout?: Rollout } {
  const rec = (x: unknown): Readonly<Record<string, unknown>> | null =>
    typeof x === 'object' && x !== null && !Array.isArray(x)
      ? (x as Readonly<Record<string, unknown>>)
      : null;
  const num = (x: unknown): number => (typeof x === 'number' ? x : Number.NaN);
  const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);
  const root = rec(v);
  if (root === null || !Array.isArray(root.configurations)) return {};
  const configurations: ConfigurationRollout[] = [];
  for (const item of root.configurations as readonly unknown[]) {
    const c = rec(item);
    const step = rec(c?.step);
    const name = str(c?.configurationName);
    const tag = str(c?.tag);
    if (c === null || step === null || name === null || tag === null || !Array.isArray(c.revisions))
      return {};
    const revisions = [];
    for (const r of c.revisions as readonly unknown[]) {
      const rr = rec(r);
      const revisionName = str(rr?.revisionName);
      if (rr === null || revisionName === null) return {};
      revisions.push({ revisionName, percent: num(rr.percent) });
    }
    configurations.push({
      configurationName: name,
      tag,
      percent: num(c.percent),
      revisions,
      step: {
        startAtMs: num(step.startAtMs),
        nextStepAtMs: num(step.nextStepAtMs),
        stepDurationMs: num(step.stepDurationMs),
        stepSize: num(step.stepSize),
      },
    });
  }
  const rollout: Rollout = { configurations };
  return isValidRollout(rollout) ? { rollout } : {};
}

function record(v: unknown, path: string): Readonly<Record<string, unknown>> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new HistoryDecodeError(`${path}: expected an object`);
  }
  return v as Readonly<Record<string, unknown>>;
}
function array(v: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(v)) throw new HistoryDecodeError(`${path}: expected an array`);
  return v as readonly unknown[];
}
function string(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new HistoryDecodeError(`${path}: expected a string`);
  return v;
}
function number(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new HistoryDecodeError(`${path}: expected a non-negative integer`);
  }
  return v;
}
