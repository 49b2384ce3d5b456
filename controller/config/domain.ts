// The `config-domain` ConfigMap: which domain a Service's external host lives under. Each key is a
// domain, each value an optional label selector (YAML `selector: {app: prod}`); the matching
// selector with the most labels wins, ties go to the lexicographically smaller domain
// (knative/serving pkg/reconciler/route/config/domain.go LookupDomainForLabels).
import { parse as parseYaml } from 'yaml';
import { type ConfigProblem, type ParsedConfig } from './problem.js';

/**
 * kedge's default domain when no key has an empty selector. Knative ≥ 1.8 adds
 * `svc.cluster.local` here instead (commit f9a75d7e36, "Use svc.cluster.local as default domain"),
 * which makes every Service cluster-local until a domain is configured. kedge keeps the older
 * `example.com` because its promise is `curl -H "Host: hello.default.example.com"` working out of
 * the box, locally and on a bare cluster, with no DNS set up; Knative's own config-domain example
 * still shows example.com.
 */
export const DEFAULT_DOMAIN = 'example.com';

/** The cluster-local domain (svc.<cluster-domain>); kedge assumes the default cluster domain. */
export const CLUSTER_LOCAL_DOMAIN = 'svc.cluster.local';

export const VISIBILITY_LABEL = 'networking.knative.dev/visibility';
export const VISIBILITY_CLUSTER_LOCAL = 'cluster-local';

export interface DomainEntry {
  readonly domain: string;
  /** Labels that must all match; empty matches every Service. */
  readonly selector: Readonly<Record<string, string>>;
}

export interface DomainConfig {
  readonly domains: readonly DomainEntry[];
}

export const DEFAULT_DOMAIN_CONFIG: DomainConfig = Object.freeze({
  domains: Object.freeze([Object.freeze({ domain: DEFAULT_DOMAIN, selector: Object.freeze({}) })]),
});

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function isRecord(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseDomainConfig(data: Readonly<Record<string, string>>): ParsedConfig<DomainConfig> {
  const problems: ConfigProblem[] = [];
  const domains: DomainEntry[] = [];
  for (const [domain, raw] of Object.entries(data)) {
    // configmap.ExampleKey holds documentation only.
    if (domain === '_example') continue;
    if (!DNS1123_SUBDOMAIN.test(domain) || domain.length > 253) {
      problems.push({
        key: domain,
        value: raw,
        message: `${domain}: not a valid domain; use lower-case DNS labels joined by dots, e.g. "example.com"`,
      });
      continue;
    }
    let parsed: unknown;
    try {
      parsed = raw.trim() === '' ? null : parseYaml(raw);
    } catch (err) {
      const why = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
      problems.push({
        key: domain,
        value: raw,
        message: `${domain}: value is not YAML (${why}); write "" or "selector:\\n  app: prod"`,
      });
      continue;
    }
    const selector: Record<string, string> = {};
    if (parsed !== null && parsed !== undefined) {
      const sel = isRecord(parsed) ? parsed.selector : undefined;
      if (
        !isRecord(parsed) ||
        Object.keys(parsed).some((k) => k !== 'selector') ||
        (sel !== undefined && sel !== null && !isRecord(sel))
      ) {
        problems.push({
          key: domain,
          value: raw,
          message: `${domain}: expected "" or a "selector:" map of labels, e.g. "selector:\\n  app: prod"`,
        });
        continue;
      }
      let bad = false;
      for (const [k, v] of Object.entries(isRecord(sel) ? sel : {})) {
        if (typeof v === 'string') selector[k] = v;
        else bad = true;
      }
      if (bad) {
        problems.push({
          key: domain,
          value: raw,
          message: `${domain}: selector label values must be strings; quote them, e.g. app: "1"`,
        });
        continue;
      }
    }
    domains.push(Object.freeze({ domain, selector: Object.freeze(selector) }));
  }
  if (problems.length > 0) return { config: DEFAULT_DOMAIN_CONFIG, problems, rejected: true };
  // Knative adds the default domain when no entry has an empty selector.
  if (!domains.some((d) => Object.keys(d.selector).length === 0)) {
    domains.push(Object.freeze({ domain: DEFAULT_DOMAIN, selector: Object.freeze({}) }));
  }
  domains.sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
  return { config: Object.freeze({ domains: Object.freeze(domains) }), problems, rejected: false };
}

/**
 * The domain for a Service with these labels: `svc.cluster.local` for cluster-local Services,
 * else the matching selector with the most labels, ties to the smaller domain name.
 */
export function lookupDomain(config: DomainConfig, labels: Readonly<Record<string, string>>): string {
  if (labels[VISIBILITY_LABEL] === VISIBILITY_CLUSTER_LOCAL) return CLUSTER_LOCAL_DOMAIN;
  let best = '';
  let bestSpecificity = -1;
  for (const { domain, selector } of config.domains) {
    const entries = Object.entries(selector);
    if (!entries.every(([k, v]) => labels[k] === v)) continue;
    if (entries.length > bestSpecificity || (entries.length === bestSpecificity && domain < best)) {
      best = domain;
      bestSpecificity = entries.length;
    }
  }
  return best === '' ? DEFAULT_DOMAIN : best;
}
