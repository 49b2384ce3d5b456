// config-defaults' resource defaults, applied to a container as Knative applies them when a
// revision is created (knative/serving pkg/apis/serving/v1/revision_defaults.go, applyDefault):
// for cpu, memory and ephemeral-storage, a configured request or limit fills in that entry only
// when the template has no entry of that name. Extended resources have no defaults.
//
// Knative defaults at admission, so what a default adds is part of the revision from then on; the
// caller applies this only when it creates a revision, never to one that exists.
import type { DefaultsConfig } from '../config/defaults.js';
import { FieldError } from './field-error.js';
import { validateResources } from './resources.js';
import type { ResourceRequirements } from './types.js';

/** One entry a config-defaults key put into a container's resources. */
export interface AppliedResourceDefault {
  readonly field: 'requests' | 'limits';
  readonly resource: string;
  readonly quantity: string;
  /** The config-defaults key, verbatim, e.g. `revision-cpu-request`. */
  readonly key: string;
}

export interface DefaultedResources {
  /** The container's resources with the defaults in; the input itself when none applied. */
  readonly resources: ResourceRequirements | null;
  /** What the defaults added, in Knative's order (cpu, memory, ephemeral-storage; request, limit). */
  readonly applied: readonly AppliedResourceDefault[];
}

type QuantityField = {
  [K in keyof DefaultsConfig]: DefaultsConfig[K] extends string | null ? K : never;
}[keyof DefaultsConfig];

// Knative's applyDefault table: the resource name with its request and limit default.
const RESOURCE_DEFAULTS: readonly {
  readonly resource: string;
  readonly request: readonly [QuantityField, string];
  readonly limit: readonly [QuantityField, string];
}[] = [
  {
    resource: 'cpu',
    request: ['revisionCpuRequest', 'revision-cpu-request'],
    limit: ['revisionCpuLimit', 'revision-cpu-limit'],
  },
  {
    resource: 'memory',
    request: ['revisionMemoryRequest', 'revision-memory-request'],
    limit: ['revisionMemoryLimit', 'revision-memory-limit'],
  },
  {
    resource: 'ephemeral-storage',
    request: ['revisionEphemeralStorageRequest', 'revision-ephemeral-storage-request'],
    limit: ['revisionEphemeralStorageLimit', 'revision-ephemeral-storage-limit'],
  },
];

/**
 * Knative applyDefault for one container's resources. "Set" means the name is present, whatever
 * its value: a template's `cpu: "0"` is kept, as Knative keeps it (`if _, ok := ...; !ok`).
 */
export function applyResourceDefaults(
  resources: ResourceRequirements | null,
  defaults: DefaultsConfig,
): DefaultedResources {
  const requests: Record<string, string> = { ...resources?.requests };
  const limits: Record<string, string> = { ...resources?.limits };
  const applied: AppliedResourceDefault[] = [];
  for (const { resource, request, limit } of RESOURCE_DEFAULTS) {
    for (const [field, target, [configField, key]] of [
      ['requests', requests, request],
      ['limits', limits, limit],
    ] as const) {
      const quantity = defaults[configField];
      if (quantity === null || Object.hasOwn(target, resource)) continue;
      target[resource] = quantity;
      applied.push({ field, resource, quantity, key });
    }
  }
  if (applied.length === 0) return { resources, applied };
  return { resources: { requests, limits }, applied };
}

/**
 * The defaulted resources checked as Kubernetes checks the pod (validateResources; paths relative
 * to `resources`). Knative validates the defaulted spec too; kedge adds to each error that involves
 * a default which key it came from, or the user would look for a value that is not in their YAML.
 */
export function validateDefaultedResources(defaulted: DefaultedResources): FieldError {
  if (defaulted.resources === null) return FieldError.none;
  let out = FieldError.none;
  for (const e of validateResources(defaulted.resources).entries) {
    const notes = defaulted.applied
      .filter((a) => e.paths.some((p) => resourceOf(p) === a.resource))
      .map(
        (a) =>
          `${a.field}.${a.resource} ${a.quantity} comes from config-defaults ${a.key}: set ${a.field}.${a.resource} in the template, or change ${a.key}`,
      );
    const details = [e.details, ...notes].filter((d) => d !== '').join('; ');
    out = out.also(FieldError.of(e.message, e.paths, details));
  }
  return out;
}

/** `requests.nvidia.com/gpu` → `nvidia.com/gpu`. */
function resourceOf(path: string): string {
  const dot = path.indexOf('.');
  return dot < 0 ? '' : path.slice(dot + 1);
}
