// reconcile(): objects (Services, ConfigMaps) + runtime readiness + the previous result → a new
// State snapshot, Knative-style status for every Service and revision, and the revision history.
// Pure: no I/O, no clock (nowIso comes in), no node:* — so every scenario is a table row in tests.
//
// Rules that shape the code (Knative semantics unless noted):
// - every change to spec.template creates a new immutable revision `{service}-0000N`, N being the
//   Configuration generation, or the BYO name spec.template.metadata.name;
// - `latestRevision` traffic goes to the newest ready revision; while none is ready, to the newest
//   revision that has not failed (kedge: so first requests wait in the gateway during the first
//   start instead of getting a 404); never to a failed one;
// - a bad object never disturbs what is serving: an invalid Service, or one whose file does not
//   parse, keeps its last good spec, revisions and routes, and its status says why (Ready=False).
import { type AutoscalerConfig, parseAutoscalerConfig } from './api/autoscaling.js';
import type { FieldError } from './api/field-error.js';
import { applyResourceDefaults, validateDefaultedResources } from './api/resource-defaults.js';
import { isEmptyResources } from './api/resources.js';
import {
  type ResourceRequirements,
  type Service,
  classifyObject,
  deepFreeze,
  parseConfigMap,
  parseService,
} from './api/types.js';
import {
  PROGRESS_DEADLINE_ANNOTATION,
  QUEUE_TIMEOUT_ANNOTATION,
  canonicalJson,
  parseQueueTimeoutSeconds,
  rolloutDurationSeconds,
  templateIdentity,
  validateService,
  verifyNameChange,
} from './api/validate.js';
import { DEFAULT_DEFAULTS, type DefaultsConfig, parseDefaultsConfig } from './config/defaults.js';
import {
  CLUSTER_LOCAL_DOMAIN,
  DEFAULT_DOMAIN_CONFIG,
  type DomainConfig,
  lookupDomain,
  parseDomainConfig,
} from './config/domain.js';
import { DEFAULT_GC, type GcConfig, parseGcConfig } from './config/gc.js';
import { DEFAULT_NETWORK, type NetworkConfig, parseNetworkConfig } from './config/network.js';
import type { ConfigProblem, ParsedConfig } from './config/problem.js';
import { NO_GC_ANNOTATION, type RoutingState, revisionsToCollect } from './gc.js';
import { resolvePosix } from './posix-path.js';
import {
  EMPTY_HISTORY,
  HISTORY_FORMAT_VERSION,
  type RevisionHistory,
  type RevisionRecord,
  type ServiceHistory,
  generatedRevisionName,
  serviceKey,
} from './revision-history.js';
import {
  type ConfigurationRollout,
  type ConfigurationTarget,
  EMPTY_ROLLOUT,
  type Rollout,
  advanceRollout,
  configurationRollout,
  isConfigurationDone,
  isRolloutDone,
} from './rollout.js';
import type { RevisionRuntimeStatus } from './runtime.js';
import {
  EMPTY_STATE,
  type RevisionKey,
  type RevisionSpec,
  type Route,
  type State,
  type TrafficSplit,
  consistent,
  revisionKey,
} from './state.js';

export { PROGRESS_DEADLINE_ANNOTATION, QUEUE_TIMEOUT_ANNOTATION };

// ---- input / output contract ----

export interface SourceObject {
  /** Where the object came from, e.g. "examples/hello/service.yaml#0" or "kube:default/hello". */
  readonly origin: string;
  /** Absolute folder of the YAML file; relative workingDirs resolve against it (local mode). */
  readonly baseDir: string;
  readonly object: unknown;
}

/** A file (or watch) that failed to parse: its Services keep their last good spec. */
export interface LoadError {
  readonly origin: string;
  readonly message: string;
}

export type ReconcileMode = 'local' | 'cluster';

/**
 * What a reconcile continues from: the last output, or after a restart the persisted history with
 * an empty State (see previousFromHistory).
 */
export interface ReconcilePrevious {
  readonly state: State;
  readonly history: RevisionHistory;
  /** null: no config was accepted yet, so a rejected ConfigMap falls back to the defaults. */
  readonly configs: EffectiveConfigs | null;
}

/** Continues from a persisted history: names, generations and last good specs carry on. */
export function previousFromHistory(history: RevisionHistory): ReconcilePrevious {
  return { state: EMPTY_STATE, history, configs: null };
}

export interface ReconcileInput {
  readonly objects: readonly SourceObject[];
  readonly loadErrors: readonly LoadError[];
  readonly runtime: ReadonlyMap<RevisionKey, RevisionRuntimeStatus>;
  readonly previous: ReconcilePrevious | null;
  /**
   * Wall-clock time, RFC 3339; stamps new revisions and drives revision GC and the steps of a
   * gradual rollout (persisted times, so wall clock: see controller/rollout.ts).
   */
  readonly nowIso: string;
  /** local adds `{name}.{namespace}.localhost` hosts and resolves workingDir to an absolute path. */
  readonly mode: ReconcileMode;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  readonly type: string;
  readonly status: ConditionStatus;
  /** '' when Knative gives none (e.g. Ready=True). */
  readonly reason: string;
  readonly message: string;
}

export interface TrafficStatus {
  readonly revisionName: string;
  readonly percent: number;
  readonly latestRevision: boolean;
  readonly tag: string;
  /** Tagged entries only: `http://{tag}-{name}.{namespace}.{domain}`. */
  readonly url: string;
}

export interface ServiceStatus {
  readonly namespace: string;
  readonly name: string;
  readonly origin: string;
  /** The generation of the object as last seen (metadata.generation on a cluster; counted locally). */
  readonly generation: number;
  /** The generation the conditions and URLs describe: the last valid one (0 if none). */
  readonly observedGeneration: number;
  /** Ready, ConfigurationsReady, RoutesReady — in that order. */
  readonly conditions: readonly Condition[];
  /** '' while the Service has never been valid. */
  readonly url: string;
  readonly address: { readonly url: string };
  readonly latestCreatedRevisionName: string;
  readonly latestReadyRevisionName: string;
  readonly traffic: readonly TrafficStatus[];
}

export interface RevisionStatus {
  readonly key: RevisionKey;
  readonly namespace: string;
  readonly name: string;
  readonly service: string;
  readonly generation: number;
  readonly createdAt: string;
  /** Ready only: kedge has no separate ResourcesAvailable/ContainerHealthy signals. */
  readonly conditions: readonly Condition[];
  readonly actualReplicas: number;
  readonly desiredReplicas: number;
  /** Knative's serving.knative.dev/routingState: active when a route sends traffic to it. */
  readonly routingState: 'active' | 'reserve';
}

export interface ConfigsProblem extends ConfigProblem {
  readonly configMap: string;
  readonly origin: string;
}

export interface EffectiveConfigs {
  readonly defaults: DefaultsConfig;
  readonly domain: DomainConfig;
  readonly gc: GcConfig;
  readonly network: NetworkConfig;
  /** config-autoscaler data as accepted (also State.autoscalerConfig). */
  readonly autoscalerData: Readonly<Record<string, string>>;
  readonly problems: readonly ConfigsProblem[];
}

export interface ReconcileProblem {
  readonly origin: string;
  readonly message: string;
}

export interface ReconcileOutput {
  /** The previous State object itself when nothing changed, so consumers can skip it. */
  readonly state: State;
  /** Sorted by namespace/name. */
  readonly services: readonly ServiceStatus[];
  /** Same order as state.revisions. */
  readonly revisions: readonly RevisionStatus[];
  readonly history: RevisionHistory;
  /** Revisions garbage collection deleted in this run (gone from state and history.revisions). */
  readonly collected: readonly RevisionKey[];
  /** For the log: invalid objects, ignored kinds, duplicates, config problems. */
  readonly problems: readonly ReconcileProblem[];
  readonly configs: EffectiveConfigs;
  /**
   * Wall-clock ms of the next step of a gradual rollout; null when none is under way. The adapter
   * reconciles again at that time (one timer), or the split would stay where it is.
   */
  readonly nextRolloutStepAtMs: number | null;
}

// ---- config maps ----

const CONFIG_NAMES = [
  'config-autoscaler',
  'config-defaults',
  'config-domain',
  'config-gc',
  'config-network',
] as const;
type ConfigName = (typeof CONFIG_NAMES)[number];

function isConfigName(name: string): name is ConfigName {
  return (CONFIG_NAMES as readonly string[]).includes(name);
}

interface ConfigResolution {
  readonly configs: EffectiveConfigs;
  readonly autoscaler: AutoscalerConfig;
}

function resolveConfigs(
  maps: ReadonlyMap<ConfigName, { readonly origin: string; readonly data: Readonly<Record<string, string>> }>,
  previous: EffectiveConfigs | null,
): ConfigResolution {
  const problems: ConfigsProblem[] = [];
  // A rejected map keeps the previous accepted config (Knative's config store keeps the last good one).
  function pick<T>(
    name: ConfigName,
    parse: (d: Readonly<Record<string, string>>) => ParsedConfig<T>,
    fallback: T,
    prev: T | undefined,
  ): T {
    const found = maps.get(name);
    if (found === undefined) return fallback;
    const parsed = parse(found.data);
    for (const p of parsed.problems) problems.push({ ...p, configMap: name, origin: found.origin });
    return parsed.rejected ? (prev ?? fallback) : parsed.config;
  }
  const defaults = pick('config-defaults', parseDefaultsConfig, DEFAULT_DEFAULTS, previous?.defaults);
  const domain = pick('config-domain', parseDomainConfig, DEFAULT_DOMAIN_CONFIG, previous?.domain);
  const gc = pick('config-gc', parseGcConfig, DEFAULT_GC, previous?.gc);
  const network = pick('config-network', parseNetworkConfig, DEFAULT_NETWORK, previous?.network);

  // config-autoscaler goes to the State verbatim: the autoscaler keeps every valid key and falls
  // back per key itself (autoscaler/config.ts); problems are only reported here.
  const scaler = maps.get('config-autoscaler');
  const autoscalerData: Readonly<Record<string, string>> = scaler?.data ?? {};
  if (scaler !== undefined) {
    for (const p of parseAutoscalerConfig(scaler.data).problems) {
      problems.push({ ...p, configMap: 'config-autoscaler', origin: scaler.origin });
    }
  }
  const autoscaler = parseAutoscalerConfig(autoscalerData).config;
  return {
    configs: { defaults, domain, gc, network, autoscalerData, problems },
    autoscaler,
  };
}

// ---- per-service work ----

interface Candidate {
  readonly service: Service;
  readonly origin: string;
  readonly baseDir: string;
}

interface Rejection {
  readonly origin: string;
  readonly reason: string;
  readonly message: string;
  readonly generation: number | null;
}

interface Outcome {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  /** What serves (null: nothing valid yet). */
  readonly history: ServiceHistory | null;
  /** Why the current object is not what serves; null when it is. */
  readonly rejection: Rejection | null;
  readonly origin: string;
  readonly generation: number;
}

function fileOf(origin: string): string {
  const hash = origin.lastIndexOf('#');
  return hash < 0 ? origin : origin.slice(0, hash);
}

function needsBaseDir(service: Service): boolean {
  return service.spec.template.spec.containers.some(
    (c) => c.workingDir !== '' && !c.workingDir.startsWith('/'),
  );
}

/**
 * The identity of a template: a change of it makes a new revision. Knative compares typed
 * templates, so `resources: {}` is no change from no resources (templateIdentity). `legacy` is the
 * key kedge computed before that rule; a history written then still matches through it, so an
 * upgrade creates no revision for a template that only had an empty `resources`.
 */
function templateKeysOf(
  candidate: Candidate,
  mode: ReconcileMode,
): { readonly key: string; readonly legacy: string } {
  const base = mode === 'local' && needsBaseDir(candidate.service) ? candidate.baseDir : '';
  const template = candidate.service.spec.template;
  const key = canonicalJson({ template: templateIdentity(template), baseDir: base }) ?? '';
  const legacy = canonicalJson({ template, baseDir: base }) ?? '';
  return { key, legacy };
}

/**
 * config-defaults' resource defaults for the new revision's container, checked like the rest of the
 * template. Knative defaults and validates at admission, before a revision exists, so a default
 * that clashes with the template (a default request above the template's limit) is an error
 * against the Service, and nothing is created.
 */
function defaultedResourcesOf(
  service: Service,
  defaults: DefaultsConfig,
): { readonly resources: ResourceRequirements | null } | { readonly errors: FieldError } {
  const defaulted = applyResourceDefaults(
    service.spec.template.spec.containers[0]?.resources ?? null,
    defaults,
  );
  const errors = validateDefaultedResources(defaulted)
    .viaField('resources')
    .viaFieldIndex('containers', 0)
    .viaField('spec.template.spec');
  return errors.isEmpty() ? { resources: defaulted.resources } : { errors };
}

/**
 * Knative's revision defaulting (revision_defaults.go) plus kedge's queue timeout. `resources` is
 * the container's, defaults already in (defaultedResourcesOf).
 */
function buildRevisionSpec(
  candidate: Candidate,
  name: string,
  configurationGeneration: number,
  defaults: DefaultsConfig,
  resources: ResourceRequirements | null,
  mode: ReconcileMode,
  nowIso: string,
): RevisionSpec {
  const { service } = candidate;
  const template = service.spec.template;
  const container = template.spec.containers[0];
  const namespace = service.metadata.namespace;
  const timeoutSeconds =
    template.spec.timeoutSeconds === null || template.spec.timeoutSeconds === 0
      ? defaults.revisionTimeoutSeconds
      : template.spec.timeoutSeconds;
  // Knative sets these from config-defaults only when non-zero and strictly below the timeout;
  // 0 (set or defaulted) means "no such timer".
  const optionalTimer = (set: number | null, fallback: number): number | null => {
    const v = set ?? (fallback !== 0 && fallback < timeoutSeconds ? fallback : 0);
    return v === 0 ? null : v;
  };
  const queueAnnotation = template.metadata.annotations[QUEUE_TIMEOUT_ANNOTATION];
  const workingDir = container?.workingDir ?? '';
  return {
    key: revisionKey(namespace, name),
    name,
    namespace,
    service: service.metadata.name,
    generation: configurationGeneration,
    container: {
      image: container?.image ?? '',
      command: container?.command ?? [],
      args: container?.args ?? [],
      workingDir:
        mode === 'local' && workingDir !== '' ? resolvePosix(candidate.baseDir, workingDir) : workingDir,
      env: container?.env ?? [],
      // Knative: containerPort 0 or unset means 8080 (revision_helpers.go).
      port: container?.ports[0]?.containerPort || 8080,
      ...(resources === null || isEmptyResources(resources)
        ? {}
        : { resources: { requests: resources.requests, limits: resources.limits } }),
    },
    containerConcurrency: template.spec.containerConcurrency ?? defaults.containerConcurrency,
    timeoutSeconds,
    responseStartTimeoutSeconds: optionalTimer(
      template.spec.responseStartTimeoutSeconds,
      defaults.revisionResponseStartTimeoutSeconds,
    ),
    idleTimeoutSeconds: optionalTimer(template.spec.idleTimeoutSeconds, defaults.revisionIdleTimeoutSeconds),
    queueTimeoutSeconds:
      (queueAnnotation === undefined ? null : parseQueueTimeoutSeconds(queueAnnotation)) ?? timeoutSeconds,
    annotations: template.metadata.annotations,
    createdAt: nowIso,
  };
}

/** Applies a valid Service to its history: maybe a new revision. Returns the new history or a rejection. */
function applyService(
  candidate: Candidate,
  prev: ServiceHistory | null,
  takenElsewhere: ReadonlySet<string>,
  defaults: DefaultsConfig,
  mode: ReconcileMode,
  nowIso: string,
): { readonly history: ServiceHistory } | { readonly rejection: Rejection } {
  const { service } = candidate;
  const specKey = canonicalJson(service.spec) ?? '';
  const generation =
    service.metadata.generation ??
    (prev === null ? 1 : prev.specKey === specKey ? prev.generation : prev.generation + 1);
  const reject = (reason: string, message: string): { readonly rejection: Rejection } => ({
    rejection: { origin: candidate.origin, reason, message, generation },
  });

  if (prev !== null) {
    const nameChange = verifyNameChange(prev.lastGood.service.spec.template, service.spec.template);
    if (!nameChange.isEmpty()) return reject('ValidationFailed', `validation failed: ${nameChange.format()}`);
  }
  const { key: templateKey, legacy: legacyTemplateKey } = templateKeysOf(candidate, mode);
  const sameTemplate = (recorded: string): boolean =>
    recorded === templateKey || recorded === legacyTemplateKey;
  let configurationGeneration = prev?.configurationGeneration ?? 0;
  let latestCreated = prev?.latestCreatedRevisionName ?? '';
  let revisions: readonly RevisionRecord[] = prev?.revisions ?? [];
  if (prev === null || !sameTemplate(prev.templateKey)) {
    configurationGeneration += 1;
    const byo = service.spec.template.metadata.name;
    const name = byo !== '' ? byo : generatedRevisionName(service.metadata.name, configurationGeneration);
    const existing = revisions.find((r) => r.spec.name === name);
    // Resource defaults go into new revisions only: an existing one keeps what it was created with,
    // and the template key stays the user's template, so a config-defaults change alone creates
    // nothing (Knative: revisions are immutable, defaults apply at admission).
    const defaulted = existing === undefined ? defaultedResourcesOf(service, defaults) : null;
    if (defaulted !== null && 'errors' in defaulted) {
      return reject('ValidationFailed', `validation failed: ${defaulted.errors.format()}`);
    }
    if (existing === undefined && prev?.deletedRevisions.some((d) => d.name === name) === true) {
      return reject(
        'RevisionNameTaken',
        `Revision ${JSON.stringify(name)} was garbage-collected and its name is not reused; give spec.template.metadata.name a new value.`,
      );
    }
    if (existing !== undefined && !sameTemplate(existing.templateKey)) {
      return reject(
        'RevisionNameTaken',
        `Revision ${JSON.stringify(name)} already exists with a different template; give spec.template.metadata.name a new value.`,
      );
    }
    if (existing === undefined && takenElsewhere.has(revisionKey(service.metadata.namespace, name))) {
      return reject(
        'RevisionNameTaken',
        `Revision ${JSON.stringify(name)} belongs to another Service in namespace ${JSON.stringify(service.metadata.namespace)}; give spec.template.metadata.name a new value.`,
      );
    }
    if (defaulted !== null) {
      const spec = buildRevisionSpec(
        candidate,
        name,
        configurationGeneration,
        defaults,
        defaulted.resources,
        mode,
        nowIso,
      );
      revisions = [
        ...revisions,
        { spec, templateKey, everReady: false, routingState: 'pending', routingStateModified: '' },
      ];
    }
    latestCreated = name;
  }
  // Traffic may only name revisions of this Service (kedge: so deleting another Service can never
  // pull a revision from under this one's routes).
  for (const tt of service.spec.traffic) {
    if (tt.revisionName !== '' && !revisions.some((r) => r.spec.name === tt.revisionName)) {
      return reject(
        'RevisionMissing',
        `Revision ${JSON.stringify(tt.revisionName)} referenced in traffic not found.`,
      );
    }
  }
  return {
    history: {
      namespace: service.metadata.namespace,
      name: service.metadata.name,
      generation,
      specKey,
      configurationGeneration,
      templateKey,
      latestCreatedRevisionName: latestCreated,
      latestReadyRevisionName: prev?.latestReadyRevisionName ?? '',
      revisions,
      deletedRevisions: prev?.deletedRevisions ?? [],
      lastGood: { service, origin: candidate.origin, baseDir: candidate.baseDir },
      // Carried over: an edit of the Service, or of anything else, continues a rollout.
      ...(prev?.rollout === undefined ? {} : { rollout: prev.rollout }),
    },
  };
}

// ---- routing ----

type Readiness = 'ready' | 'failed' | 'pending';

/**
 * A revision that was ready once stays ready (Knative: Ready survives scale to zero), also across
 * a restart of kedge, where the runtime has not started it yet: until it fails, it cold-starts on
 * demand like any revision at zero.
 */
function readinessOf(
  runtime: ReadonlyMap<RevisionKey, RevisionRuntimeStatus>,
  key: RevisionKey,
  recordedReady: boolean,
): Readiness {
  const s = runtime.get(key);
  if (s !== undefined && s.failure !== null) return 'failed';
  return s?.everReady === true || recordedReady ? 'ready' : 'pending';
}

interface ResolvedTarget {
  readonly tag: string;
  readonly latestRevision: boolean;
  readonly percent: number;
  /** null: a latestRevision target with nothing routable. */
  readonly revision: string | null;
}

interface ServiceRouting {
  readonly targets: readonly ResolvedTarget[];
  readonly latestReady: string;
  readonly latestRoutable: string | null;
  readonly routesCondition: Condition;
  readonly configurationsCondition: Condition;
  /** Where each route's latestRevision share is in a gradual rollout (see rollService). */
  readonly rollout: Rollout;
}

function condition(type: string, status: ConditionStatus, reason = '', message = ''): Condition {
  return { type, status, reason, message };
}

function routeService(
  h: ServiceHistory,
  runtime: ReadonlyMap<RevisionKey, RevisionRuntimeStatus>,
): ServiceRouting {
  const svc = h.lastGood.service;
  const recordedReady = new Set(h.revisions.filter((r) => r.everReady).map((r) => r.spec.name));
  const readiness = (name: string): Readiness =>
    readinessOf(runtime, revisionKey(h.namespace, name), recordedReady.has(name));
  const newestFirst = [...h.revisions].reverse();
  const latestReady = newestFirst.find((r) => readiness(r.spec.name) === 'ready')?.spec.name ?? '';
  const latestRoutable =
    latestReady !== ''
      ? latestReady
      : (newestFirst.find((r) => readiness(r.spec.name) === 'pending')?.spec.name ?? null);

  // Knative route_defaults.go: no traffic means 100 % to the latest revision.
  const traffic =
    svc.spec.traffic.length === 0
      ? [{ tag: '', revisionName: '', latestRevision: true, percent: 100 }]
      : svc.spec.traffic.map((t) => ({
          tag: t.tag,
          revisionName: t.revisionName,
          latestRevision: t.latestRevision ?? t.revisionName === '',
          percent: t.percent ?? 0,
        }));
  const targets = traffic.map((t) => ({
    tag: t.tag,
    latestRevision: t.latestRevision,
    percent: t.percent,
    revision: t.latestRevision ? latestRoutable : t.revisionName,
  }));

  // RoutesReady (Knative route_lifecycle.go messages): first False wins, else first Unknown.
  const problems: Condition[] = [];
  for (const t of targets) {
    if (t.latestRevision) {
      if (latestReady !== '') continue;
      if (latestRoutable !== null) {
        problems.push(
          condition(
            'RoutesReady',
            'Unknown',
            'RevisionMissing',
            `Configuration ${JSON.stringify(h.name)} is waiting for a Revision to become ready.`,
          ),
        );
      } else {
        problems.push(
          condition(
            'RoutesReady',
            'False',
            'RevisionMissing',
            `Configuration ${JSON.stringify(h.name)} does not have any ready Revision.`,
          ),
        );
      }
    } else if (t.revision !== null) {
      const r = readiness(t.revision);
      if (r === 'failed')
        problems.push(
          condition(
            'RoutesReady',
            'False',
            'RevisionMissing',
            `Revision ${JSON.stringify(t.revision)} failed to become ready.`,
          ),
        );
      else if (r === 'pending')
        problems.push(
          condition(
            'RoutesReady',
            'Unknown',
            'RevisionMissing',
            `Revision ${JSON.stringify(t.revision)} is not yet ready.`,
          ),
        );
    }
  }
  const routes =
    problems.find((c) => c.status === 'False') ?? problems[0] ?? condition('RoutesReady', 'True');

  // ConfigurationsReady follows the latest created revision (configuration_lifecycle.go).
  const lcr = h.latestCreatedRevisionName;
  const lcrState = readiness(lcr);
  let configurations: Condition;
  if (lcrState === 'ready') configurations = condition('ConfigurationsReady', 'True');
  else if (lcrState === 'failed') {
    const msg = runtime.get(revisionKey(h.namespace, lcr))?.failure?.message ?? '';
    configurations = condition(
      'ConfigurationsReady',
      'False',
      'RevisionFailed',
      `Revision ${JSON.stringify(lcr)} failed with message: ${msg}.`,
    );
  } else configurations = condition('ConfigurationsReady', 'Unknown');

  return {
    targets,
    latestReady,
    latestRoutable,
    routesCondition: routes,
    configurationsCondition: configurations,
    rollout: EMPTY_ROLLOUT,
  };
}

// ---- gradual rollout ----

/**
 * Knative BuildRollout for one Service: its configuration (named after the Service) on the default
 * route, with the sum of the latestRevision shares, and on each tag route whose target follows the
 * latest revision, at 100 % (a tag's split is its one target, traffic.go consolidate). Pinned
 * revisions have no part in it. Nothing rolls before a revision has been ready: until then
 * latestRevision traffic goes to the newest revision that has not failed, as it always did.
 */
function rolloutGoal(h: ServiceHistory, routing: ServiceRouting): readonly ConfigurationTarget[] {
  if (routing.latestReady === '') return [];
  let share = 0;
  for (const t of routing.targets) if (t.latestRevision) share += t.percent;
  const goal: ConfigurationTarget[] = [
    { configurationName: h.name, tag: '', percent: share, revisionName: routing.latestReady },
  ];
  const seenTags = new Set<string>();
  for (const t of routing.targets) {
    if (t.tag === '' || seenTags.has(t.tag)) continue;
    seenTags.add(t.tag);
    if (t.latestRevision) {
      goal.push({ configurationName: h.name, tag: t.tag, percent: 100, revisionName: routing.latestReady });
    }
  }
  return goal;
}

/**
 * The previous rollout without the configurations that name a revision which can no longer take
 * traffic (failed, or gone from the history): kedge never routes to a failed revision, so such a
 * rollout ends at once at its goal (Step sees no previous state for it), instead of stepping on.
 */
function usableRollout(h: ServiceHistory, isReady: (name: string) => boolean): Rollout | null {
  const prev = h.rollout;
  if (prev === undefined) return null;
  const known = new Set(h.revisions.map((r) => r.spec.name));
  const configurations = prev.configurations.filter((c) =>
    c.revisions.every((r) => known.has(r.revisionName) && isReady(r.revisionName)),
  );
  return configurations.length === prev.configurations.length ? prev : { configurations };
}

const ROLLOUT_IN_PROGRESS_MESSAGE = 'A gradual rollout of the latest revision(s) is in progress.';

/**
 * Steps the Service's rollout (controller/rollout.ts) and folds it into its routing. The duration
 * is the Service's annotation, else config-network's rollout-duration (Knative route.go
 * reconcileRollout: an annotation of 0 also falls back to the default). While a rollout is under
 * way RoutesReady is Unknown with Knative's RolloutInProgress (route_lifecycle.go
 * MarkIngressRolloutInProgress), unless a target problem already holds the condition (Knative does
 * not reach its rollout then).
 */
function rollService(
  h: ServiceHistory,
  routing: ServiceRouting,
  network: NetworkConfig,
  runtime: ReadonlyMap<RevisionKey, RevisionRuntimeStatus>,
  nowMs: number,
): { readonly routing: ServiceRouting; readonly nextStepAtMs: number | null } {
  const recordedReady = new Set(h.revisions.filter((r) => r.everReady).map((r) => r.spec.name));
  const isReady = (name: string): boolean =>
    readinessOf(runtime, revisionKey(h.namespace, name), recordedReady.has(name)) === 'ready';
  const own = rolloutDurationSeconds(h.lastGood.service.metadata.annotations);
  const seconds = own !== 0 ? own : network.rolloutDurationSeconds;
  // An unreadable clock disables stepping rather than stepping at random.
  const durationMs = Number.isFinite(nowMs) ? seconds * 1000 : 0;
  const { rollout, nextStepAtMs } = advanceRollout({
    previous: usableRollout(h, isReady),
    goal: rolloutGoal(h, routing),
    durationMs,
    nowMs,
  });
  const rolling = !isRolloutDone(rollout);
  const routesCondition =
    rolling && routing.routesCondition.status === 'True'
      ? condition('RoutesReady', 'Unknown', 'RolloutInProgress', ROLLOUT_IN_PROGRESS_MESSAGE)
      : routing.routesCondition;
  return { routing: { ...routing, rollout, routesCondition }, nextStepAtMs };
}

/** The revisions a latestRevision target on route `tag` sends to; null when none is rolling. */
function rollingRevisions(
  h: { readonly name: string },
  routing: ServiceRouting,
  tag: string,
): ConfigurationRollout | null {
  const c = configurationRollout(routing.rollout, tag, h.name);
  return c === undefined || isConfigurationDone(c) ? null : c;
}

/** The history with the rollout recorded; left out when empty, so histories without one keep their shape. */
function withRollout(h: ServiceHistory, rollout: Rollout): ServiceHistory {
  const { rollout: before, ...rest } = h;
  if (rollout.configurations.length === 0) return before === undefined ? h : rest;
  if (before !== undefined && canonicalJson(before) === canonicalJson(rollout)) return h;
  return { ...rest, rollout };
}

function mergeSplits(namespace: string, targets: readonly ResolvedTarget[]): readonly TrafficSplit[] {
  const byRevision = new Map<string, number>();
  for (const t of targets) {
    if (t.percent <= 0) continue;
    if (t.revision === null) return []; // the gateway answers 503 rather than mis-split
    byRevision.set(t.revision, (byRevision.get(t.revision) ?? 0) + t.percent);
  }
  return [...byRevision.entries()].map(([name, percent]) => ({
    revision: revisionKey(namespace, name),
    percent,
  }));
}

interface HostPlan {
  readonly host: string;
  readonly route: Route;
}

/** Hosts for one target name (`name` or `{tag}-{name}`), Knative's domain rules plus kedge's .localhost. */
function hostsFor(label: string, namespace: string, domain: string, mode: ReconcileMode): readonly string[] {
  const hosts: string[] = [];
  if (domain !== CLUSTER_LOCAL_DOMAIN) hosts.push(`${label}.${namespace}.${domain}`);
  hosts.push(
    `${label}.${namespace}`,
    `${label}.${namespace}.svc`,
    `${label}.${namespace}.${CLUSTER_LOCAL_DOMAIN}`,
  );
  if (mode === 'local') hosts.push(`${label}.${namespace}.localhost`);
  return hosts.map((h) => h.toLowerCase());
}

function urlFor(label: string, namespace: string, domain: string): string {
  return `http://${label}.${namespace}.${domain}`.toLowerCase();
}

/**
 * A route's targets with its latestRevision share replaced by the revisions of a rollout under
 * way, at the place of the first such target (Knative resources/ingress.go makeBaseIngressPath).
 */
function targetsWithRollout(
  targets: readonly ResolvedTarget[],
  rolling: ConfigurationRollout | null,
): readonly ResolvedTarget[] {
  if (rolling === null) return targets;
  const out: ResolvedTarget[] = [];
  let placed = false;
  for (const t of targets) {
    if (!t.latestRevision || t.percent <= 0) {
      out.push(t);
      continue;
    }
    if (placed) continue;
    placed = true;
    for (const r of rolling.revisions) out.push({ ...t, revision: r.revisionName, percent: r.percent });
  }
  return out;
}

function planRoutes(
  h: ServiceHistory,
  routing: ServiceRouting,
  domain: string,
  mode: ReconcileMode,
): readonly HostPlan[] {
  const plans: HostPlan[] = [];
  const add = (label: string, tag: string | null, splits: readonly TrafficSplit[]): void => {
    for (const host of hostsFor(label, h.namespace, domain, mode)) {
      plans.push({ host, route: { host, namespace: h.namespace, service: h.name, tag, splits } });
    }
  };
  add(
    h.name,
    null,
    mergeSplits(h.namespace, targetsWithRollout(routing.targets, rollingRevisions(h, routing, ''))),
  );
  const seenTags = new Set<string>();
  for (const t of routing.targets) {
    if (t.tag === '' || seenTags.has(t.tag)) continue;
    seenTags.add(t.tag);
    // Knative traffic.go: a tag's route is its one revision at 100 % (or its rollout).
    const single = [{ ...t, percent: 100 }];
    add(
      `${t.tag}-${h.name}`,
      t.tag,
      mergeSplits(h.namespace, targetsWithRollout(single, rollingRevisions(h, routing, t.tag))),
    );
  }
  return plans;
}

// ---- status ----

/**
 * Knative's living condition set: any False makes Ready False, else any Unknown makes it Unknown.
 * The service reconciler marks ConfigurationsReady before RoutesReady, and Ready takes the reason
 * of the last one marked, so RoutesReady's reason wins a tie (knative/pkg apis/condition_set.go).
 */
function readyFrom(configurations: Condition, routes: Condition): Condition {
  const parts = [routes, configurations];
  const failed = parts.find((c) => c.status === 'False');
  if (failed !== undefined) return condition('Ready', 'False', failed.reason, failed.message);
  const unknown = parts.find((c) => c.status === 'Unknown');
  if (unknown !== undefined) return condition('Ready', 'Unknown', unknown.reason, unknown.message);
  return condition('Ready', 'True');
}

function revisionConditions(
  status: RevisionRuntimeStatus | undefined,
  recordedReady: boolean,
): readonly Condition[] {
  if (status?.failure) return [condition('Ready', 'False', status.failure.reason, status.failure.message)];
  if (status?.everReady === true || recordedReady) return [condition('Ready', 'True')];
  // Knative revision_lifecycle.go: ResourcesAvailable Unknown "Deploying" until the first pod is ready.
  return [condition('Ready', 'Unknown', 'Deploying', '')];
}

// ---- the reconcile ----

export function reconcile(input: ReconcileInput): ReconcileOutput {
  const { previous, runtime, mode, nowIso } = input;
  const problems: ReconcileProblem[] = input.loadErrors.map((e) => ({
    origin: e.origin,
    message: e.message,
  }));

  // 1. Sort objects into Services and the four ConfigMaps.
  const configMaps = new Map<
    ConfigName,
    { readonly origin: string; readonly data: Readonly<Record<string, string>> }
  >();
  const candidates = new Map<string, Candidate>();
  const invalid = new Map<string, Rejection & { readonly namespace: string; readonly name: string }>();
  const seenAt = new Map<string, string>();
  for (const src of input.objects) {
    const kind = classifyObject(src.object);
    if (kind.kind === 'other') {
      problems.push({
        origin: src.origin,
        message: `ignored ${kind.description}: kedge reads serving.knative.dev/v1 Services and the ConfigMaps ${CONFIG_NAMES.join(', ')}`,
      });
      continue;
    }
    if (kind.kind === 'configmap') {
      if (!isConfigName(kind.name)) {
        problems.push({
          origin: src.origin,
          message: `ignored ConfigMap ${JSON.stringify(kind.name)}: kedge reads only ${CONFIG_NAMES.join(', ')}`,
        });
        continue;
      }
      const parsed = parseConfigMap(src.object);
      if (!parsed.ok) {
        problems.push({ origin: src.origin, message: `ConfigMap ${kind.name}: ${parsed.errors.format()}` });
        continue;
      }
      const first = configMaps.get(kind.name);
      if (first !== undefined) {
        problems.push({
          origin: src.origin,
          message: `ConfigMap ${kind.name} is already defined in ${first.origin}; this copy is ignored`,
        });
        continue;
      }
      configMaps.set(kind.name, { origin: src.origin, data: parsed.value.data });
      continue;
    }
    const parsed = parseService(src.object);
    const identity = identityOf(src.object);
    const key = serviceKey(identity.namespace, identity.name);
    const firstOrigin = seenAt.get(key);
    if (firstOrigin !== undefined) {
      problems.push({
        origin: src.origin,
        message: `Service ${key} is already defined in ${firstOrigin}; this copy is ignored`,
      });
      continue;
    }
    if (identity.name !== '') seenAt.set(key, src.origin);
    if (!parsed.ok) {
      rejectObject(identity, key, src.origin, parsed.errors);
      continue;
    }
    const service: Service = deepFreeze({
      ...parsed.value,
      metadata: { ...parsed.value.metadata, namespace: identity.namespace },
    });
    candidates.set(key, { service, origin: src.origin, baseDir: src.baseDir });
  }

  function rejectObject(
    identity: { namespace: string; name: string; generation: number | null },
    key: string,
    origin: string,
    errors: FieldError,
  ): void {
    const message = `validation failed: ${errors.format()}`;
    problems.push({ origin, message: identity.name === '' ? message : `Service ${key}: ${message}` });
    if (identity.name === '') return;
    invalid.set(key, {
      ...identity,
      origin,
      reason: 'ValidationFailed',
      message,
      generation: identity.generation,
    });
  }

  // 2. Configs (a rejected ConfigMap keeps the previous accepted one).
  const { configs, autoscaler } = resolveConfigs(configMaps, previous?.configs ?? null);
  for (const p of configs.problems)
    problems.push({ origin: p.origin, message: `${p.configMap}: ${p.message}` });

  // 3. Validate and apply each Service against its history.
  const prevHistory = new Map(
    (previous?.history ?? EMPTY_HISTORY).services.map((h) => [serviceKey(h.namespace, h.name), h]),
  );
  for (const [key, c] of [...candidates]) {
    const errors = validateService(c.service, { defaults: configs.defaults, autoscaler, mode });
    if (!errors.isEmpty()) {
      candidates.delete(key);
      rejectObject(
        {
          namespace: c.service.metadata.namespace,
          name: c.service.metadata.name,
          generation: c.service.metadata.generation,
        },
        key,
        c.origin,
        errors,
      );
    }
  }
  const failedFiles = new Map(input.loadErrors.map((e) => [fileOf(e.origin), e.message]));
  const outcomes: Outcome[] = [];
  const allKeys = [...new Set([...candidates.keys(), ...invalid.keys(), ...prevHistory.keys()])].sort();
  // Revision names other Services hold (revision names are unique per namespace).
  const revisionOwners = new Map<string, string>();
  for (const h of prevHistory.values())
    for (const r of h.revisions) revisionOwners.set(r.spec.key, serviceKey(h.namespace, h.name));
  for (const key of allKeys) {
    const prev = prevHistory.get(key) ?? null;
    const c = candidates.get(key);
    const bad = invalid.get(key);
    if (c !== undefined) {
      const takenElsewhere = new Set(
        [...revisionOwners].filter(([, owner]) => owner !== key).map(([k]) => k),
      );
      const applied = applyService(c, prev, takenElsewhere, configs.defaults, mode, nowIso);
      if ('history' in applied) {
        for (const r of applied.history.revisions) revisionOwners.set(r.spec.key, key);
        // The source hands back a broken file's last good objects, so this one keeps serving; its
        // status still says the file is broken, or the user would never learn that the edit was lost.
        const loadError = failedFiles.get(fileOf(c.origin));
        outcomes.push({
          key,
          namespace: applied.history.namespace,
          name: applied.history.name,
          history: applied.history,
          rejection:
            loadError === undefined
              ? null
              : {
                  origin: c.origin,
                  reason: 'LoadFailed',
                  message: loadError,
                  generation: applied.history.generation,
                },
          origin: c.origin,
          generation: applied.history.generation,
        });
      } else {
        problems.push({ origin: c.origin, message: `Service ${key}: ${applied.rejection.message}` });
        outcomes.push({
          key,
          namespace: c.service.metadata.namespace,
          name: c.service.metadata.name,
          history: prev,
          rejection: applied.rejection,
          origin: c.origin,
          generation: applied.rejection.generation ?? (prev?.generation ?? 0) + 1,
        });
      }
    } else if (bad !== undefined) {
      const generation = bad.generation ?? (prev === null ? 1 : prev.generation + 1);
      outcomes.push({
        key,
        namespace: bad.namespace,
        name: bad.name,
        history: prev,
        rejection: bad,
        origin: bad.origin,
        generation,
      });
    } else if (prev !== null) {
      const loadError = failedFiles.get(fileOf(prev.lastGood.origin));
      // Gone from its (readable) file: the Service was deleted, so its revisions and routes go too.
      if (loadError === undefined) continue;
      outcomes.push({
        key,
        namespace: prev.namespace,
        name: prev.name,
        history: prev,
        rejection: {
          origin: prev.lastGood.origin,
          reason: 'LoadFailed',
          message: loadError,
          generation: prev.generation,
        },
        origin: prev.lastGood.origin,
        generation: prev.generation,
      });
    }
  }

  // 4. Routes: resolve traffic, then hosts. A host wanted twice goes to the Service that held it in
  // the previous State (a new object never steals a serving host), else to the first by name.
  const prevHostOwner = new Map(
    (previous?.state ?? EMPTY_STATE).routes.map((r) => [r.host, serviceKey(r.namespace, r.service)]),
  );
  const routings = new Map<string, ServiceRouting>();
  const plansByHost = new Map<string, HostPlan[]>();
  const domains = new Map<string, string>();
  const nowMs = Date.parse(nowIso);
  let nextRolloutStepAtMs: number | null = null;
  for (const o of outcomes) {
    if (o.history === null) continue;
    const rolled = rollService(o.history, routeService(o.history, runtime), configs.network, runtime, nowMs);
    const routing = rolled.routing;
    const next = rolled.nextStepAtMs;
    if (next !== null && (nextRolloutStepAtMs === null || next < nextRolloutStepAtMs)) {
      nextRolloutStepAtMs = next;
    }
    routings.set(o.key, routing);
    const domain = lookupDomain(configs.domain, o.history.lastGood.service.metadata.labels);
    domains.set(o.key, domain);
    for (const plan of planRoutes(o.history, routing, domain, mode)) {
      const list = plansByHost.get(plan.host) ?? [];
      list.push(plan);
      plansByHost.set(plan.host, list);
    }
  }
  const routes: Route[] = [];
  const hostConflicts = new Map<string, string>();
  for (const [host, plans] of plansByHost) {
    const owner = prevHostOwner.get(host);
    const winner = plans.find((p) => serviceKey(p.route.namespace, p.route.service) === owner) ?? plans[0];
    if (winner === undefined) continue;
    routes.push(winner.route);
    for (const p of plans) {
      if (p === winner) continue;
      const loser = serviceKey(p.route.namespace, p.route.service);
      if (loser === serviceKey(winner.route.namespace, winner.route.service)) continue;
      hostConflicts.set(
        loser,
        `Host ${JSON.stringify(host)} is already served by Service ${JSON.stringify(serviceKey(winner.route.namespace, winner.route.service))}.`,
      );
    }
  }
  routes.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));

  // 5. Histories (latest ready, readiness and routing state recorded; GC applied) and State revisions.
  const histories: ServiceHistory[] = [];
  const revisions: RevisionSpec[] = [];
  const collected: RevisionKey[] = [];
  for (const o of outcomes) {
    if (o.history === null) continue;
    const routing = routings.get(o.key);
    let h: ServiceHistory = recordRouting(o.history, routing, runtime, nowIso);
    h = withRollout(h, routing?.rollout ?? EMPTY_ROLLOUT);
    if (routing !== undefined && routing.latestReady !== '') {
      h = { ...h, latestReadyRevisionName: routing.latestReady };
    }
    if (Number.isFinite(nowMs)) {
      const doomed = new Set(revisionsToCollect(configs.gc, gcView(h, nowMs), nowMs));
      if (doomed.size > 0) {
        for (const name of doomed) collected.push(revisionKey(h.namespace, name));
        h = {
          ...h,
          revisions: h.revisions.filter((r) => !doomed.has(r.spec.name)),
          deletedRevisions: [
            ...h.deletedRevisions,
            ...h.revisions
              .filter((r) => doomed.has(r.spec.name))
              .map((r) => ({ name: r.spec.name, deletedAt: nowIso })),
          ],
        };
      }
    }
    histories.push(h);
    for (const r of h.revisions) revisions.push(r.spec);
  }

  const candidateState = { revisions, routes, autoscalerConfig: configs.autoscalerData };
  const prevState = previous?.state ?? EMPTY_STATE;
  let state: State;
  let history: RevisionHistory = deepFreeze({ formatVersion: HISTORY_FORMAT_VERSION, services: histories });
  if (sameState(prevState, candidateState)) state = prevState;
  else {
    const next: State = deepFreeze({ version: prevState.version + 1, ...candidateState });
    const broken = consistent(next);
    if (broken.length === 0) state = next;
    else {
      // Should not happen; if it does, keep serving the last good snapshot and say why.
      for (const b of broken) problems.push({ origin: 'reconcile', message: `State not published: ${b}` });
      state = prevState;
      history = previous?.history ?? EMPTY_HISTORY;
      collected.length = 0;
    }
  }

  // 6. Status.
  const routed = new Set<RevisionKey>();
  for (const r of state.routes) for (const s of r.splits) routed.add(s.revision);
  const services: ServiceStatus[] = outcomes.map((o) =>
    serviceStatus(
      o,
      histories.find((h) => serviceKey(h.namespace, h.name) === o.key) ?? null,
      routings.get(o.key),
      domains.get(o.key),
      hostConflicts.get(o.key),
    ),
  );
  const recordedReady = new Set<RevisionKey>();
  for (const h of history.services)
    for (const r of h.revisions) if (r.everReady) recordedReady.add(r.spec.key);
  const revisionStatuses: RevisionStatus[] = state.revisions.map((r) => {
    const s = runtime.get(r.key);
    return {
      key: r.key,
      namespace: r.namespace,
      name: r.name,
      service: r.service,
      generation: r.generation,
      createdAt: r.createdAt,
      conditions: revisionConditions(s, recordedReady.has(r.key)),
      actualReplicas: s?.readyReplicas ?? 0,
      desiredReplicas: s?.desiredReplicas ?? 0,
      routingState: routed.has(r.key) ? 'active' : 'reserve',
    };
  });

  return deepFreeze({
    state,
    services,
    revisions: revisionStatuses,
    history,
    collected,
    problems,
    configs,
    nextRolloutStepAtMs,
  });
}

/**
 * Records what GC and restarts need per revision: ready once, and Knative's routing state with the
 * time it last changed. Targets of the traffic block count as routed (Knative's labeler marks
 * every revision in the Route's traffic, 0 % tag targets included); the latest created revision
 * stays pending until it is routed or superseded (kedge: GC never takes the newest revision).
 */
function recordRouting(
  h: ServiceHistory,
  routing: ServiceRouting | undefined,
  runtime: ReadonlyMap<RevisionKey, RevisionRuntimeStatus>,
  nowIso: string,
): ServiceHistory {
  const targeted = new Set<string>();
  for (const t of routing?.targets ?? []) if (t.revision !== null) targeted.add(t.revision);
  // A revision a rollout still sends traffic to is routed too, however small its share.
  for (const c of routing?.rollout.configurations ?? [])
    for (const r of c.revisions) targeted.add(r.revisionName);
  const revisions = h.revisions.map((r): RevisionRecord => {
    const everReady = r.everReady || runtime.get(r.spec.key)?.everReady === true;
    let routingState: RoutingState;
    if (targeted.has(r.spec.name)) routingState = 'active';
    else if (r.routingState === 'pending' && r.spec.name === h.latestCreatedRevisionName)
      routingState = 'pending';
    else routingState = 'reserve';
    if (everReady === r.everReady && routingState === r.routingState) return r;
    return {
      ...r,
      everReady,
      routingState,
      routingStateModified: routingState === r.routingState ? r.routingStateModified : nowIso,
    };
  });
  return revisions.every((r, i) => r === h.revisions[i]) ? h : { ...h, revisions };
}

function gcView(h: ServiceHistory, nowMs: number): Parameters<typeof revisionsToCollect>[1] {
  // An unreadable time counts as now, which keeps the revision (never delete on bad data).
  const ms = (iso: string): number | null => {
    const t = iso === '' ? Number.NaN : Date.parse(iso);
    return Number.isFinite(t) ? t : null;
  };
  return {
    latestReadyRevisionName: h.latestReadyRevisionName,
    revisions: h.revisions.map((r) => {
      return {
        name: r.spec.name,
        createdAtMs: ms(r.spec.createdAt) ?? nowMs,
        routingState:
          // kedge: the newest revision is never collected, whatever its state (Knative's would be
          // recreated by its Configuration).
          r.spec.name === h.latestCreatedRevisionName ? 'pending' : r.routingState,
        routingStateModifiedMs: ms(r.routingStateModified),
        noGc: (r.spec.annotations[NO_GC_ANNOTATION] ?? '').toLowerCase() === 'true',
      };
    }),
  };
}

function sameState(a: State, b: Omit<State, 'version'>): boolean {
  return (
    canonicalJson({ revisions: a.revisions, routes: a.routes, autoscalerConfig: a.autoscalerConfig }) ===
    canonicalJson({ revisions: b.revisions, routes: b.routes, autoscalerConfig: b.autoscalerConfig })
  );
}

/** Name, namespace (default `default`, as kubectl) and generation read leniently from an untrusted object. */
function identityOf(obj: unknown): { namespace: string; name: string; generation: number | null } {
  const meta = typeof obj === 'object' && obj !== null ? (obj as { metadata?: unknown }).metadata : undefined;
  const m = typeof meta === 'object' && meta !== null ? (meta as Readonly<Record<string, unknown>>) : {};
  const name = typeof m.name === 'string' ? m.name : '';
  const namespace = typeof m.namespace === 'string' && m.namespace !== '' ? m.namespace : 'default';
  const generation = typeof m.generation === 'number' ? m.generation : null;
  return { namespace, name, generation };
}

function serviceStatus(
  o: Outcome,
  h: ServiceHistory | null,
  routing: ServiceRouting | undefined,
  domain: string | undefined,
  hostConflict: string | undefined,
): ServiceStatus {
  if (h === null || routing === undefined || domain === undefined) {
    // Never valid: nothing serves, every condition carries the reason.
    const reason = o.rejection?.reason ?? 'Unknown';
    const message = o.rejection?.message ?? '';
    return {
      namespace: o.namespace,
      name: o.name,
      origin: o.origin,
      generation: o.generation,
      observedGeneration: 0,
      conditions: [
        condition('Ready', 'False', reason, message),
        condition('ConfigurationsReady', 'False', reason, message),
        condition('RoutesReady', 'False', reason, message),
      ],
      url: '',
      address: { url: '' },
      latestCreatedRevisionName: '',
      latestReadyRevisionName: '',
      traffic: [],
    };
  }
  const routes =
    hostConflict === undefined
      ? routing.routesCondition
      : condition('RoutesReady', 'False', 'HostConflict', hostConflict);
  let ready = readyFrom(routing.configurationsCondition, routes);
  // The current object is not what serves: say so, while the other conditions describe what does.
  if (o.rejection !== null) ready = condition('Ready', 'False', o.rejection.reason, o.rejection.message);
  const clusterLocal = domain === CLUSTER_LOCAL_DOMAIN;
  const traffic: TrafficStatus[] = [];
  // Knative GetRevisionTrafficTargets (traffic.go), used while a rollout is in progress: a
  // latestRevision entry lists the revisions its route is rolling through, with their shares of
  // that route; entries with the same tag are one (mergeIfNecessary). kedge expands an entry only
  // while its own route is rolling, so a 0 % tagged entry does not show 100 % meanwhile.
  const expanded = new Set<string>();
  for (const t of routing.targets) {
    if (t.revision === null) continue;
    const label = t.tag === '' ? '' : `${t.tag}-${h.name}`;
    const url = label === '' ? '' : urlFor(label, h.namespace, clusterLocal ? CLUSTER_LOCAL_DOMAIN : domain);
    const rolling = t.latestRevision ? rollingRevisions(h, routing, t.tag) : null;
    if (rolling !== null) {
      if (expanded.has(t.tag)) continue;
      expanded.add(t.tag);
      for (const r of rolling.revisions) {
        traffic.push({
          revisionName: r.revisionName,
          percent: r.percent,
          latestRevision: true,
          tag: t.tag,
          url,
        });
      }
      continue;
    }
    traffic.push({
      revisionName: t.revision,
      percent: t.percent,
      latestRevision: t.latestRevision,
      tag: t.tag,
      url,
    });
  }
  return {
    namespace: h.namespace,
    name: h.name,
    origin: o.origin,
    generation: o.generation,
    observedGeneration: h.generation,
    conditions: [ready, routing.configurationsCondition, routes],
    url: urlFor(h.name, h.namespace, domain),
    address: { url: urlFor(h.name, h.namespace, CLUSTER_LOCAL_DOMAIN) },
    latestCreatedRevisionName: h.latestCreatedRevisionName,
    latestReadyRevisionName: routing.latestReady,
    traffic,
  };
}
