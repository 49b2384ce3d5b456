// A container's `resources` (requests and limits), checked as Kubernetes checks them when the
// revision's pod is created (k8s.io/kubernetes pkg/apis/core/validation ValidateResourceRequirements,
// validateContainerResourceName, ValidateResourceQuantityValue), with Kubernetes' wording in the
// details and Knative-style dotted paths relative to `resources` (`limits.memory`).
//
// Knative itself only masks the fields (k8s_validation.go validateResources) and leaves the rest
// to the Deployment; kedge checks up front so a bad quantity is reported at admission, in local
// mode too, rather than as a revision that never gets a pod.
import { FieldError, invalidValue, notSupported } from './field-error.js';
import { isQualifiedName } from './names.js';
import { type Quantity, compareQuantities, isWholeQuantity, parseQuantity } from './quantity.js';
import type { ResourceRequirements } from './types.js';

/** Kubernetes standardContainerResources (helper.IsStandardContainerResourceName, hugepages aside). */
export const STANDARD_CONTAINER_RESOURCES: readonly string[] = ['cpu', 'memory', 'ephemeral-storage'];
const HUGEPAGES_PREFIX = 'hugepages-';
const QUANTITY_HINT = 'write a quantity such as 500m or 0.5 (cpu), 128Mi or 1G (memory)';
// validation.IsDNS1123Subdomain, for the prefix of an extended resource name (`nvidia.com/gpu`).
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;

type NameKind = 'standard' | 'native' | 'extended';

/** helper.IsNativeResource: no domain, or a kubernetes.io one. */
function kindOf(name: string): NameKind {
  if (!name.includes('/')) return 'standard';
  return name.includes('kubernetes.io/') ? 'native' : 'extended';
}

/** Kubernetes' rule for the name, or null when it is fine. Path relative to `resources`. */
function checkName(name: string, path: string): FieldError | null {
  if (name.startsWith(HUGEPAGES_PREFIX)) {
    // Valid on a cluster, but with rules of its own (page-size multiples, cpu or memory beside it)
    // that nothing in kedge's revisions needs.
    return notSupported(path);
  }
  const slash = name.indexOf('/');
  if (slash < 0) {
    return STANDARD_CONTAINER_RESOURCES.includes(name)
      ? null
      : invalidValue(name, path, 'must be a standard resource for containers');
  }
  // validateResourceName: a qualified name, `<DNS-1123 subdomain>/<name>`; extended resources also
  // may not start with `requests.` (helper.IsExtendedResourceName).
  const prefix = name.slice(0, slash);
  const rest = name.slice(slash + 1);
  const qualified =
    prefix.length <= DNS1123_SUBDOMAIN_MAX_LENGTH &&
    DNS1123_SUBDOMAIN.test(prefix) &&
    isQualifiedName(rest).length === 0;
  if (qualified && !name.startsWith('requests.')) return null;
  return invalidValue(name, path, "doesn't follow extended resource name standard");
}

interface Checked {
  readonly text: string;
  readonly quantity: Quantity;
}

/** Name, syntax, sign and (extended resources) wholeness of every entry; the valid ones by name. */
function checkList(
  list: Readonly<Record<string, string>>,
  field: 'requests' | 'limits',
): { readonly errors: FieldError; readonly valid: ReadonlyMap<string, Checked> } {
  let errors = FieldError.none;
  const valid = new Map<string, Checked>();
  for (const [name, text] of Object.entries(list)) {
    const path = `${field}.${name}`;
    const nameError = checkName(name, path);
    if (nameError !== null) errors = errors.also(nameError);
    const parsed = parseQuantity(text);
    if (!parsed.ok) {
      errors = errors.also(invalidValue(text, path, `${parsed.reason}; ${QUANTITY_HINT}`));
      continue;
    }
    const q = parsed.quantity;
    if (q.sign < 0) errors = errors.also(invalidValue(text, path, 'must be greater than or equal to 0'));
    else if (kindOf(name) === 'extended' && !isWholeQuantity(q)) {
      errors = errors.also(invalidValue(text, path, 'must be an integer'));
    } else if (nameError === null) valid.set(name, { text, quantity: q });
  }
  return { errors, valid };
}

/**
 * ValidateResourceRequirements for one container (paths relative to its `resources`): known
 * names, Kubernetes quantities, nothing negative, and requests <= limits, or == for resources that
 * cannot be overcommitted (extended ones such as GPUs).
 */
export function validateResources(resources: ResourceRequirements): FieldError {
  const limits = checkList(resources.limits, 'limits');
  const requests = checkList(resources.requests, 'requests');
  let errors = limits.errors.also(requests.errors);
  for (const [name, request] of requests.valid) {
    // helper.IsOvercommitAllowed: native resources only (hugepages are rejected above).
    const overcommit = kindOf(name) !== 'extended';
    const limit = limits.valid.get(name);
    if (limit === undefined) {
      if (!overcommit && resources.limits[name] === undefined) {
        errors = errors.also(
          FieldError.of(
            'missing field(s)',
            [`limits.${name}`],
            'Limit must be set for non overcommitable resources',
          ),
        );
      }
      continue;
    }
    const cmp = compareQuantities(request.quantity, limit.quantity);
    if (!overcommit && cmp !== 0) {
      errors = errors.also(
        invalidValue(request.text, `requests.${name}`, `must be equal to ${name} limit of ${limit.text}`),
      );
    } else if (cmp > 0) {
      errors = errors.also(
        invalidValue(
          request.text,
          `requests.${name}`,
          `must be less than or equal to ${name} limit of ${limit.text}`,
        ),
      );
    }
  }
  return errors;
}

/** True when a container asked for nothing (`resources: {}` or empty maps). */
export function isEmptyResources(resources: ResourceRequirements): boolean {
  return Object.keys(resources.requests).length === 0 && Object.keys(resources.limits).length === 0;
}
