// `kedge get services|revisions|routes` and `kedge describe service|revision NAME`: kubectl-like
// views of a running `kedge up`, read from its admin API.
import { parseArgs } from 'node:util';
import type { RevisionView, RouteView, ServiceView } from './admin-api.js';
import { adminBase, getJson } from './admin-client.js';
import { age, formatTable } from './table.js';
import { CliError, UsageError } from './usage.js';

type Kind = 'services' | 'revisions' | 'routes';

/** kubectl's names, short names and singulars (Knative: ksvc, rev, rt). */
const KINDS: Readonly<Record<string, Kind>> = {
  services: 'services',
  service: 'services',
  ksvc: 'services',
  svc: 'services',
  revisions: 'revisions',
  revision: 'revisions',
  rev: 'revisions',
  routes: 'routes',
  route: 'routes',
  rt: 'routes',
};

const COMMON_OPTIONS = {
  admin: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const GET_HELP = `Usage: kedge get services|revisions|routes [NAME] [options]

Lists what a running 'kedge up' serves, like 'kubectl get' (aliases: ksvc, rev, rt).

Options:
  -n, --namespace NS    only this namespace (default: default)
  -A, --all-namespaces  every namespace
  -o, --output FMT      wide or json
      --admin URL       admin API of 'kedge up' (default: $KEDGE_ADMIN or http://127.0.0.1:9090)
  -h, --help            this text
`;

export const DESCRIBE_HELP = `Usage: kedge describe service|revision NAME [options]

Shows one Service (URL, conditions, traffic with percents and tag URLs, revisions with replicas)
or one revision (conditions with the failure reason and output tail, replicas, traffic).

Options:
  -n, --namespace NS  (default: default)
      --admin URL     admin API of 'kedge up' (default: $KEDGE_ADMIN or http://127.0.0.1:9090)
  -h, --help          this text
`;

function kindOf(word: string | undefined, command: string): Kind {
  if (word === undefined) {
    throw new UsageError(`${command}: say what to list: services (ksvc), revisions (rev) or routes (rt)`);
  }
  const kind = KINDS[word.toLowerCase()];
  if (kind === undefined) {
    throw new UsageError(
      `${command}: unknown resource type "${word}"; use services (ksvc), revisions (rev) or routes (rt)`,
    );
  }
  return kind;
}

function readyCells(conditions: RevisionView['conditions']): [string, string] {
  const ready = conditions.find((c) => c.type === 'Ready');
  return [ready?.status ?? 'Unknown', ready?.status === 'True' ? '' : (ready?.reason ?? '')];
}

function trafficSummary(traffic: ServiceView['traffic']): string {
  return traffic
    .map(
      (t) =>
        `${t.percent}% ${t.revisionName}${t.latestRevision ? ' (latest)' : ''}${t.tag === '' ? '' : ` #${t.tag}`}`,
    )
    .join(', ');
}

export async function runGet(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      ...COMMON_OPTIONS,
      'all-namespaces': { type: 'boolean', short: 'A', default: false },
      output: { type: 'string', short: 'o' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(GET_HELP);
    return 0;
  }
  const kind = kindOf(positionals[0], 'get');
  const name = positionals[1];
  if (positionals.length > 2) throw new UsageError(`get: unexpected argument "${positionals[2] ?? ''}"`);
  const output = values.output ?? '';
  if (output !== '' && output !== 'wide' && output !== 'json') {
    throw new UsageError(`get: --output must be wide or json, got "${output}"`);
  }
  const base = adminBase(values.admin);
  const all = values['all-namespaces'];
  const namespace = values.namespace ?? 'default';
  const keep = <T extends { namespace: string; name: string }>(items: readonly T[]): T[] =>
    items.filter((i) => (all || i.namespace === namespace) && (name === undefined || i.name === name));
  const nowMs = Date.now();

  let items: readonly { namespace: string; name: string }[];
  let header: string[];
  let rows: string[][];
  if (kind === 'services') {
    const services = keep(await getJson<ServiceView[]>(base, '/api/v1/services'));
    items = services;
    header = ['NAME', 'URL', 'LATESTCREATED', 'LATESTREADY', 'READY', 'REASON'];
    rows = services.map((s) => [
      s.name,
      s.url,
      s.latestCreatedRevisionName,
      s.latestReadyRevisionName,
      ...readyCells(s.conditions),
    ]);
    if (output === 'wide') {
      header.push('TRAFFIC');
      services.forEach((s, i) => rows[i]?.push(trafficSummary(s.traffic)));
    }
  } else if (kind === 'revisions') {
    const revisions = keep(await getJson<RevisionView[]>(base, '/api/v1/revisions'));
    items = revisions;
    header = ['NAME', 'CONFIG NAME', 'GENERATION', 'READY', 'REASON', 'ACTUAL REPLICAS', 'DESIRED REPLICAS'];
    rows = revisions.map((r) => [
      r.name,
      r.service,
      String(r.generation),
      ...readyCells(r.conditions),
      String(r.readyReplicas),
      String(r.desiredReplicas),
    ]);
    if (output === 'wide') {
      header.push('AGE', 'ROUTING', 'IN-FLIGHT', 'QUEUED');
      revisions.forEach((r, i) =>
        rows[i]?.push(age(r.createdAt, nowMs), r.routingState, String(r.inFlight), String(r.queued)),
      );
    }
  } else {
    const routes = keep(await getJson<RouteView[]>(base, '/api/v1/routes'));
    items = routes;
    header = ['NAME', 'URL', 'READY', 'REASON'];
    rows = routes.map((r) => [r.name, r.url, ...readyCells(r.conditions)]);
    if (output === 'wide') {
      header.push('TRAFFIC');
      routes.forEach((r, i) => rows[i]?.push(trafficSummary(r.traffic)));
    }
  }
  if (output === 'json') {
    process.stdout.write(JSON.stringify(name === undefined ? items : items[0], null, 2) + '\n');
    return name !== undefined && items.length === 0 ? 1 : 0;
  }
  if (name !== undefined && items.length === 0) {
    throw new CliError(`${kind.slice(0, -1)} "${name}" not found in namespace "${namespace}"`);
  }
  if (items.length === 0) {
    process.stderr.write(all ? `No ${kind} found.\n` : `No ${kind} found in ${namespace} namespace.\n`);
    return 0;
  }
  if (all) {
    header.unshift('NAMESPACE');
    items.forEach((it, i) => rows[i]?.unshift(it.namespace));
  }
  process.stdout.write(formatTable(header, rows));
  return 0;
}

function indent(text: string, by: string): string {
  return text.split('\n').join(`\n${by}`);
}

function conditionsBlock(conditions: ServiceView['conditions']): string {
  const rows = conditions.map((c) => [c.type, c.status, c.reason, c.message.split('\n', 1)[0] ?? '']);
  let out = indent(formatTable(['TYPE', 'STATUS', 'REASON', 'MESSAGE'], rows).trimEnd(), '  ');
  // A failure message carries the output tail: show it whole, under the table.
  for (const c of conditions) {
    if (c.message.includes('\n')) out += `\n  ${c.type} message:\n    ${indent(c.message, '    ')}`;
  }
  return '  ' + out;
}

export function describeService(s: ServiceView, revisions: readonly RevisionView[], nowMs: number): string {
  const lines = [
    `Name:          ${s.name}`,
    `Namespace:     ${s.namespace}`,
    `URL:           ${s.url === '' ? '<none>' : s.url}`,
    `Address:       ${s.address.url === '' ? '<none>' : s.address.url}`,
    `Generation:    ${s.generation} (observed ${s.observedGeneration})`,
    `LatestCreated: ${s.latestCreatedRevisionName === '' ? '<none>' : s.latestCreatedRevisionName}`,
    `LatestReady:   ${s.latestReadyRevisionName === '' ? '<none>' : s.latestReadyRevisionName}`,
    '',
    'Traffic:',
  ];
  if (s.traffic.length === 0) lines.push('  <none>');
  else {
    const rows = s.traffic.map((t) => [
      `${t.percent}%`,
      t.latestRevision ? `@latest (${t.revisionName})` : t.revisionName,
      t.tag,
      t.url,
    ]);
    lines.push('  ' + indent(formatTable(['PERCENT', 'REVISION', 'TAG', 'URL'], rows).trimEnd(), '  '));
  }
  lines.push('', 'Revisions:');
  const own = revisions
    .filter((r) => r.namespace === s.namespace && r.service === s.name)
    .sort((a, b) => b.generation - a.generation);
  if (own.length === 0) lines.push('  <none>');
  else {
    const rows = own.map((r) => {
      const percent = s.traffic
        .filter((t) => t.revisionName === r.name)
        .reduce((sum, t) => sum + t.percent, 0);
      return [
        r.name,
        String(r.generation),
        ...readyCells(r.conditions),
        `${r.readyReplicas}/${r.desiredReplicas}`,
        `${percent}%`,
        age(r.createdAt, nowMs),
      ];
    });
    lines.push(
      '  ' +
        indent(
          formatTable(
            ['NAME', 'GENERATION', 'READY', 'REASON', 'REPLICAS', 'TRAFFIC', 'AGE'],
            rows,
          ).trimEnd(),
          '  ',
        ),
    );
  }
  lines.push('', 'Conditions:', conditionsBlock(s.conditions));
  return lines.join('\n') + '\n';
}

/** `requests cpu=100m, memory=64Mi; limits memory=128Mi (not enforced locally)`. */
function resourcesLine(resources: RevisionView['resources']): string {
  if (resources === null) return '<none>';
  const list = (label: string, map: Readonly<Record<string, string>>): string[] => {
    const entries = Object.entries(map);
    return entries.length === 0 ? [] : [`${label} ${entries.map(([k, v]) => `${k}=${v}`).join(', ')}`];
  };
  const parts = [...list('requests', resources.requests), ...list('limits', resources.limits)];
  // `kedge up` runs revisions as plain processes: no cgroup to put a limit on (see README).
  return `${parts.join('; ')} (recorded; kedge up does not enforce them)`;
}

export function describeRevision(r: RevisionView, nowMs: number): string {
  const lines = [
    `Name:          ${r.name}`,
    `Namespace:     ${r.namespace}`,
    `Service:       ${r.service}`,
    `Generation:    ${r.generation}`,
    `Created:       ${r.createdAt} (${age(r.createdAt, nowMs)} ago)`,
    `Routing:       ${r.routingState}`,
    `Replicas:      ${r.readyReplicas} ready, ${r.pendingReplicas} starting, ${r.desiredReplicas} desired`,
    `Requests:      ${r.inFlight} in flight, ${r.queued} queued`,
    `Autoscaler:    ${r.panic ? 'panic' : 'stable'}, stable concurrency ${r.stableConcurrency.toFixed(2)}, target ${r.targetConcurrency}`,
    `Resources:     ${resourcesLine(r.resources)}`,
    '',
    'Conditions:',
    conditionsBlock(r.conditions),
  ];
  return lines.join('\n') + '\n';
}

export async function runDescribe(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: COMMON_OPTIONS,
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(DESCRIBE_HELP);
    return 0;
  }
  const kind = kindOf(positionals[0], 'describe');
  const name = positionals[1];
  if (name === undefined)
    throw new UsageError(`describe: which one? kedge describe ${positionals[0] ?? ''} NAME`);
  if (kind === 'routes')
    throw new UsageError('describe: routes live in their Service; use kedge describe service NAME');
  const base = adminBase(values.admin);
  const namespace = values.namespace ?? 'default';
  const revisions = await getJson<RevisionView[]>(base, '/api/v1/revisions');
  if (kind === 'revisions') {
    const r = revisions.find((x) => x.namespace === namespace && x.name === name);
    if (r === undefined) throw new CliError(`revision "${name}" not found in namespace "${namespace}"`);
    process.stdout.write(describeRevision(r, Date.now()));
    return 0;
  }
  const services = await getJson<ServiceView[]>(base, '/api/v1/services');
  const s = services.find((x) => x.namespace === namespace && x.name === name);
  if (s === undefined) throw new CliError(`service "${name}" not found in namespace "${namespace}"`);
  process.stdout.write(describeService(s, revisions, Date.now()));
  return 0;
}
