// The table `kedge up` prints whenever what users see changes: services, URLs, readiness, and a
// curl line that can be pasted as is.
import type { ServiceStatus } from '../controller/reconcile.js';

export function formatServiceTable(services: readonly ServiceStatus[], listen: string, port: number): string {
  if (services.length === 0) return 'no services yet: add a Knative Service YAML file to the folder\n';
  const rows = services.map((s) => {
    const ready = s.conditions.find((c) => c.type === 'Ready');
    return {
      name: `${s.namespace}/${s.name}`,
      url: s.url === '' ? '-' : s.url,
      ready: ready?.status ?? 'Unknown',
      reason: ready?.reason ?? '',
      revision: s.latestReadyRevisionName === '' ? '-' : s.latestReadyRevisionName,
      host: s.url.replace(/^https?:\/\//, ''),
      message: ready?.status === 'False' ? ready.message : '',
    };
  });
  const header = { name: 'SERVICE', url: 'URL', ready: 'READY', revision: 'REVISION', reason: 'REASON' };
  const cols = ['name', 'url', 'ready', 'revision', 'reason'] as const;
  const width = Object.fromEntries(
    cols.map((c) => [c, Math.max(header[c].length, ...rows.map((r) => r[c].length))]),
  ) as Record<(typeof cols)[number], number>;
  const line = (r: Record<(typeof cols)[number], string>): string =>
    cols
      .map((c) => r[c].padEnd(width[c]))
      .join('  ')
      .trimEnd();
  const address = listen === '0.0.0.0' || listen === '::' ? '127.0.0.1' : listen;
  const out = [line(header)];
  for (const r of rows) {
    out.push(line(r));
    if (r.message !== '') out.push(`  ! ${r.message.split('\n').join('\n    ')}`);
    if (r.host !== '') out.push(`  curl -H 'Host: ${r.host}' http://${address}:${port}/`);
  }
  return out.join('\n') + '\n';
}
