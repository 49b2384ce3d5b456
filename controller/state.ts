// The State snapshot: the one contract between the controller and the data plane. The controller
// builds a new, immutable State for every change; the gateway and the autoscaler only read it
// (with `import type`, so no controller code reaches the edge process).

/** `${namespace}/${name}`: revision names are unique per namespace only. */
export type RevisionKey = string;

export function revisionKey(namespace: string, name: string): RevisionKey {
  return `${namespace}/${name}`;
}

export interface EnvVar {
  readonly name: string;
  readonly value: string;
}

/** Kubernetes resource quantities by resource name (`cpu: "100m"`), verbatim as validated. */
export interface ContainerResources {
  readonly requests: Readonly<Record<string, string>>;
  readonly limits: Readonly<Record<string, string>>;
}

export interface ContainerSpec {
  readonly image: string;
  /** Local mode runs `command` + `args`; empty `command` means "the image's entrypoint", which only cluster mode has. */
  readonly command: readonly string[];
  readonly args: readonly string[];
  /** Absolute in local mode (resolved against the folder of the YAML file that declared it); '' when unset. */
  readonly workingDir: string;
  readonly env: readonly EnvVar[];
  /** containerPort; Knative's default is 8080. Local mode hands each replica a free port in PORT instead. */
  readonly port: number;
  /**
   * Set only when the template asks for some (so revisions without them, and histories written
   * before the field existed, keep their exact shape). Cluster mode puts them on the pod; local
   * mode records them but does not enforce them on its processes.
   */
  readonly resources?: ContainerResources;
}

export interface RevisionSpec {
  readonly key: RevisionKey;
  readonly name: string;
  readonly namespace: string;
  /** The owning Service; also the Configuration's name (Knative names both after the Service). */
  readonly service: string;
  /** The Configuration generation this revision was created for (label serving.knative.dev/configurationGeneration). */
  readonly generation: number;
  readonly container: ContainerSpec;
  /** Hard per-replica limit; 0 means unlimited (Knative's default). */
  readonly containerConcurrency: number;
  /** Total request timeout, queue wait included (Knative counts the activator's wait toward it). */
  readonly timeoutSeconds: number;
  /** The first response byte must arrive by then; null: no response-start timer. */
  readonly responseStartTimeoutSeconds: number | null;
  /** No byte either way for this long ends the request; null: no idle timer. */
  readonly idleTimeoutSeconds: number | null;
  /** kedge.dev/queue-timeout: the longest wait for capacity; defaults to timeoutSeconds. */
  readonly queueTimeoutSeconds: number;
  /** spec.template.metadata.annotations: autoscaling.knative.dev/* and kedge.dev/* live here. */
  readonly annotations: Readonly<Record<string, string>>;
  /** Wall-clock creation time, RFC 3339; for status and GC only, never for timing. */
  readonly createdAt: string;
}

export interface TrafficSplit {
  readonly revision: RevisionKey;
  /** 1..100; splits at 0 % are left out of the State, as Knative leaves them out of the ingress. */
  readonly percent: number;
}

/** One host and where its requests go. A Service has one Route per host (default, tags, cluster-local names). */
export interface Route {
  /** Lowercase, no port, no trailing dot. */
  readonly host: string;
  readonly namespace: string;
  readonly service: string;
  /** The traffic tag this host serves, or null for the Service's default route. */
  readonly tag: string | null;
  /** Percents sum to 100. A tag route has one split at 100. */
  readonly splits: readonly TrafficSplit[];
}

export interface State {
  /** Strictly increasing; consumers skip a State whose version they already hold. */
  readonly version: number;
  readonly revisions: readonly RevisionSpec[];
  readonly routes: readonly Route[];
  /** data of the `config-autoscaler` ConfigMap, verbatim (the autoscaler parses and validates it). */
  readonly autoscalerConfig: Readonly<Record<string, string>>;
}

export const EMPTY_STATE: State = Object.freeze({
  version: 0,
  revisions: Object.freeze([]),
  routes: Object.freeze([]),
  autoscalerConfig: Object.freeze({}),
});

/**
 * Checks the invariants every consumer relies on; an empty array means the State may be published.
 * Every route target names a known revision, percents sum to 100, hosts are unique.
 */
export function consistent(state: State): readonly string[] {
  const problems: string[] = [];
  const known = new Set<RevisionKey>();
  for (const r of state.revisions) {
    if (known.has(r.key)) problems.push(`revision ${r.key} appears twice`);
    known.add(r.key);
  }
  const hosts = new Set<string>();
  for (const route of state.routes) {
    if (hosts.has(route.host)) problems.push(`host ${route.host} is routed twice`);
    hosts.add(route.host);
    let sum = 0;
    for (const split of route.splits) {
      if (!known.has(split.revision)) problems.push(`host ${route.host}: unknown revision ${split.revision}`);
      if (!(split.percent > 0 && split.percent <= 100)) {
        problems.push(`host ${route.host}: percent ${split.percent} for ${split.revision} is outside 1..100`);
      }
      sum += split.percent;
    }
    if (route.splits.length > 0 && sum !== 100)
      problems.push(`host ${route.host}: percents sum to ${sum}, want 100`);
  }
  return problems;
}

/** Revisions that some route sends traffic to (Knative routingState "active"); the rest are "reserve". */
export function routedRevisions(state: State): ReadonlySet<RevisionKey> {
  const routed = new Set<RevisionKey>();
  for (const route of state.routes) for (const split of route.splits) routed.add(split.revision);
  return routed;
}
