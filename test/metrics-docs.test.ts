// docs/metrics.md lists exactly the metrics kedge registers. The live side is the /metrics of a real
// `kedge up` (names, types, and the labels on its samples), so a metric someone adds to the gateway
// or the autoscaler fails this test until it is documented; the cluster processes' metrics, which a
// `kedge up` does not register, are read from their definitions in the source.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { get, startKedge, waitFor, type KedgeProcess } from './support/kedge-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_PREFIX = 'kedge_process_';

interface DocRow {
  readonly name: string;
  readonly type: string;
  readonly labels: readonly string[];
  readonly exportedBy: readonly string[];
}

function docRows(): DocRow[] {
  const text = readFileSync(join(ROOT, 'docs', 'metrics.md'), 'utf8');
  const start = text.indexOf('<!-- metrics:start -->');
  const end = text.indexOf('<!-- metrics:end -->');
  assert.ok(start >= 0 && end > start, 'docs/metrics.md has the metrics:start/end markers');
  const codes = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
  return text
    .slice(start, end)
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => {
      const cells = l.split('|').map((c) => c.trim());
      return {
        name: codes(cells[1] ?? '')[0] ?? '',
        type: cells[2] ?? '',
        labels: codes(cells[3] ?? ''),
        exportedBy: codes(cells[4] ?? ''),
      };
    });
}

interface Scraped {
  readonly type: string;
  readonly labels: Set<string>;
}

/** Prometheus text format: `# TYPE name type` for every metric, then its samples. */
function parseExposition(text: string): Map<string, Scraped> {
  const metrics = new Map<string, Scraped>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type !== null) {
      metrics.set(type[1] ?? '', { type: type[2] ?? '', labels: new Set() });
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/.exec(line);
    if (sample === null) continue;
    const name = (sample[1] ?? '').replace(/_(bucket|sum|count)$/, '');
    const m = metrics.get(sample[1] ?? '') ?? metrics.get(name);
    for (const pair of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) {
      const label = pair[1] ?? '';
      if (label !== 'le' && label !== 'quantile') m?.labels.add(label);
    }
  }
  return metrics;
}

/** Metric names defined in kedge's source: `name: 'kedge_…'` and the autoscaler's `gauge('kedge_…'`. */
function definedInSource(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (
        entry.name.endsWith('.ts') &&
        !entry.name.endsWith('.test.ts') &&
        !entry.name.endsWith('.d.ts')
      ) {
        const text = readFileSync(path, 'utf8');
        for (const m of text.matchAll(/(?:name:\s*|gauge\(\s*)['"](kedge_[a-z0-9_]*[a-z0-9])['"]/g)) {
          names.add(m[1] ?? '');
        }
      }
    }
  };
  for (const dir of ['gateway', 'autoscaler', 'controller', 'cli', 'lib', 'dashboard']) walk(join(ROOT, dir));
  return names;
}

let dir: string;
let kedge: KedgeProcess;
let scraped: Map<string, Scraped>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kedge-metrics-'));
  cpSync(join(ROOT, 'examples'), dir, { recursive: true });
  kedge = await startKedge(dir);
  // Traffic, so that the labelled metrics have samples: a success and a gateway error.
  await waitFor(
    'hello world to answer',
    async () =>
      (await get(kedge.gatewayPort, 'helloworld-nodejs.default.example.com')).status === 200
        ? true
        : undefined,
    20_000,
  );
  assert.equal((await get(kedge.gatewayPort, 'nobody.default.example.com')).status, 404);
  const res = await get(kedge.adminPort, `127.0.0.1:${kedge.adminPort}`, '/metrics');
  assert.equal(res.status, 200);
  scraped = parseExposition(res.body);
});

after(async () => {
  await kedge.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('docs/metrics.md rows are well formed and unique', () => {
  const rows = docRows();
  assert.ok(rows.length > 10);
  const names = rows.map((r) => r.name);
  assert.equal(new Set(names).size, names.length, 'no metric listed twice');
  for (const r of rows) {
    assert.match(r.name, /^kedge_[a-z0-9_]+(\*)?$/, r.name);
    assert.ok(
      ['counter', 'gauge', 'histogram', 'summary', 'various'].includes(r.type),
      `${r.name}: type ${r.type}`,
    );
    assert.ok(r.exportedBy.length > 0 || r.name.endsWith('*'), `${r.name}: says which process exports it`);
  }
});

test('every metric a running `kedge up` registers is documented, with its type and labels', () => {
  const rows = new Map(docRows().map((r) => [r.name, r]));
  const undocumented: string[] = [];
  for (const [name, m] of scraped) {
    if (name.startsWith(DEFAULT_PREFIX)) {
      assert.ok(rows.has(`${DEFAULT_PREFIX}*`), `${name}: the kedge_process_* row covers it`);
      continue;
    }
    const row = rows.get(name);
    if (row === undefined) {
      undocumented.push(name);
      continue;
    }
    assert.equal(row.type, m.type, `${name}: documented as ${row.type}, registered as ${m.type}`);
    assert.ok(
      row.exportedBy.includes('kedge up'),
      `${name}: registered by kedge up, so its row must say \`kedge up\``,
    );
    for (const label of m.labels)
      assert.ok(row.labels.includes(label), `${name}: label ${label} is not documented`);
  }
  assert.deepEqual(undocumented, [], 'registered but missing from docs/metrics.md');
  assert.ok(
    [...scraped.keys()].some((n) => n.startsWith(DEFAULT_PREFIX)),
    'the default process metrics are registered',
  );
});

test('every documented `kedge up` metric is registered by a running `kedge up`', () => {
  const missing = docRows()
    .filter((r) => r.exportedBy.includes('kedge up') && !scraped.has(r.name))
    .map((r) => r.name);
  assert.deepEqual(missing, [], 'documented for kedge up but not registered');
});

test('the cluster processes’ metrics match their definitions in the source', () => {
  const defined = definedInSource();
  const documented = docRows()
    .map((r) => r.name)
    .filter((n) => !n.endsWith('*'));
  assert.deepEqual(
    [...defined].filter((n) => !documented.includes(n)).sort(),
    [],
    'defined in the source but missing from docs/metrics.md',
  );
  assert.deepEqual(
    documented.filter((n) => !defined.has(n) && !scraped.has(n)).sort(),
    [],
    'documented but defined nowhere',
  );
});

test('the Grafana dashboard queries only documented metrics', () => {
  const dashboard = JSON.parse(
    readFileSync(join(ROOT, 'deploy', 'grafana', 'kedge-dashboard.json'), 'utf8'),
  ) as { panels: { title: string; targets?: { expr: string }[] }[] };
  const documented = new Set(docRows().map((r) => r.name));
  const used = new Set<string>();
  for (const panel of dashboard.panels) {
    for (const t of panel.targets ?? []) {
      for (const m of t.expr.matchAll(/\bkedge_[a-z0-9_]+/g)) used.add(m[0]);
    }
  }
  assert.ok(used.size > 10, 'the dashboard uses the kedge_ metrics');
  const unknown = [...used].filter((name) => {
    if (name.startsWith(DEFAULT_PREFIX)) return !scraped.has(name);
    return !documented.has(name) && !documented.has(name.replace(/_(bucket|sum|count)$/, ''));
  });
  assert.deepEqual(unknown, [], 'queried by deploy/grafana/kedge-dashboard.json but not a kedge metric');
});
