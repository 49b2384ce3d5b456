// The `config-network` ConfigMap. Knative keeps it in knative.dev/networking (pkg/config/config.go
// NewConfigFromMap); most of its keys configure an ingress or TLS that kedge does not have. kedge
// reads one: `rollout-duration`, the cluster-wide default of the gradual rollout that the
// `serving.knative.dev/rollout-duration` annotation sets per Service (controller/rollout.ts).
import { type ConfigProblem, type ParsedConfig, parseGoInt } from './problem.js';

export interface NetworkConfig {
  /**
   * rollout-duration: seconds over which a new latest revision takes over its configuration's
   * traffic; 0 (Knative's default) switches at once. Knative parses it as an integer (cm.AsInt),
   * not as a Go duration, unlike the annotation.
   */
  readonly rolloutDurationSeconds: number;
}

export const DEFAULT_NETWORK: NetworkConfig = Object.freeze({ rolloutDurationSeconds: 0 });

/** Knative reads the camelCase spelling first and lets the kebab-case one override it. */
const ROLLOUT_KEYS = ['rolloutDuration', 'rollout-duration'] as const;

/**
 * Knative config-network keys that configure parts kedge does not have (ingress class, domain and
 * tag templates, TLS, mesh). They are reported, so nobody believes them honoured, but they do not
 * reject the map: they are valid Knative.
 */
const NOT_IMPLEMENTED = new Set([
  'ingress-class',
  'ingress.class',
  'certificate-class',
  'certificate.class',
  'domain-template',
  'domainTemplate',
  'tag-template',
  'tagTemplate',
  'auto-tls',
  'autoTLS',
  'external-domain-tls',
  'http-protocol',
  'httpProtocol',
  'default-external-scheme',
  'defaultExternalScheme',
  'autocreate-cluster-domain-claims',
  'autocreateClusterDomainClaims',
  'enable-mesh-pod-addressability',
  'mesh-compatibility-mode',
  'namespace-wildcard-cert-selector',
  'internal-encryption',
  'system-internal-tls',
  'cluster-local-domain-tls',
]);

const KNOWN = new Set<string>([...ROLLOUT_KEYS, '_example']);

/** Parses `config-network` data; see ParsedConfig for what `rejected` means. */
export function parseNetworkConfig(data: Readonly<Record<string, string>>): ParsedConfig<NetworkConfig> {
  const problems: ConfigProblem[] = [];
  let rolloutDurationSeconds = DEFAULT_NETWORK.rolloutDurationSeconds;
  for (const key of ROLLOUT_KEYS) {
    const raw = data[key];
    if (raw === undefined) continue;
    const n = parseGoInt(raw.trim());
    if (n === null) {
      problems.push({
        key,
        value: raw,
        message: `${key}: "${raw}" is not a whole number of seconds; write e.g. "300" (0 switches traffic at once)`,
      });
    } else if (n < 0) {
      // Knative: "rollout-duration must be a positive integer, but was -444".
      problems.push({
        key,
        value: raw,
        message: `${key}: ${n} must not be negative; write 0 (switch at once) or a number of seconds, e.g. "300"`,
      });
    } else rolloutDurationSeconds = n;
  }
  for (const [key, value] of Object.entries(data)) {
    if (KNOWN.has(key)) continue;
    problems.push({
      key,
      value,
      message: NOT_IMPLEMENTED.has(key)
        ? `${key}: not implemented by kedge and ignored; kedge reads only rollout-duration from config-network`
        : `${key}: unknown config-network key; check the spelling (Knative ignores it too)`,
    });
  }
  const rejected = problems.some((p) => KNOWN.has(p.key));
  return {
    config: rejected ? DEFAULT_NETWORK : Object.freeze({ rolloutDurationSeconds }),
    problems,
    rejected,
  };
}
