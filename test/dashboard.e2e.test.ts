// End to end: the dashboard of a real `kedge up`, in a real browser (Debian's chromium driven by
// playwright-core). Three services: a documented hello world that scales to zero and cold-starts,
// a slow service with a 70/30 split, a tag and some load, and one whose process exits at once.
// Everything on the page is checked against /api/v1/*, and a screenshot is kept in
// test/artifacts/dashboard.png. Skipped with a message when /usr/bin/chromium is missing.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import type { LogsReply, RevisionView, ServiceView } from '../cli/admin-api.js';
import type { DocsReply, ErrorsReply, HistoryReply } from '../dashboard/api-types.js';
import { get, getJson, startKedge, waitFor, type KedgeProcess } from './support/kedge-process.js';

const CHROMIUM = '/usr/bin/chromium';
const SKIP = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing; install it with: apt-get update && apt-get install -y chromium`;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HELLO = join(ROOT, 'examples', 'helloworld-nodejs', 'index.js');
const SLOW = join(ROOT, 'test', 'fixtures', 'slow-app.mjs');
const ARTIFACTS = join(ROOT, 'test', 'artifacts');
const DESCRIPTION = 'Greets whoever calls it. Knative’s hello world, run as a local process.';

const yaml = (lines: readonly string[]): string => lines.join('\n') + '\n';

function helloYaml(): string {
  return yaml([
    'apiVersion: serving.knative.dev/v1',
    'kind: Service',
    'metadata:',
    '  name: hello',
    '  annotations:',
    `    kedge.dev/description: ${JSON.stringify(DESCRIPTION)}`,
    '    kedge.dev/openapi-url: /openapi.json',
    `    kedge.dev/parameters-schema: ${JSON.stringify(
      JSON.stringify({
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string', description: 'Who to greet' },
          lang: { enum: ['en', 'fr'], default: 'en' },
        },
      }),
    )}`,
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    '        - image: example.com/hello',
    `          command: ["node", ${JSON.stringify(HELLO)}]`,
  ]);
}

function splitYaml(version: 1 | 2): string {
  return yaml([
    'apiVersion: serving.knative.dev/v1',
    'kind: Service',
    'metadata:',
    '  name: split',
    'spec:',
    '  template:',
    '    metadata:',
    `      name: split-v${version}`,
    '      annotations:',
    '        autoscaling.knative.dev/target: "3"',
    '    spec:',
    '      containers:',
    '        - image: example.com/slow',
    `          command: ["node", ${JSON.stringify(SLOW)}]`,
    '          env:',
    '            - name: DELAY_MS',
    '              value: "400"',
    ...(version === 1
      ? []
      : [
          '  traffic:',
          '    - revisionName: split-v1',
          '      percent: 70',
          '    - latestRevision: true',
          '      percent: 30',
          '      tag: candidate',
        ]),
  ]);
}

const BROKEN = yaml([
  'apiVersion: serving.knative.dev/v1',
  'kind: Service',
  'metadata:',
  '  name: broken',
  'spec:',
  '  template:',
  '    spec:',
  '      containers:',
  '        - image: example.com/broken',
  `          command: ["node", "-e", "console.error('broken: DATABASE_URL is not set'); process.exit(3)"]`,
]);

let dir: string;
let kedge: KedgeProcess;
let context: BrowserContext | undefined;
let profile: string | undefined;

const api = <T>(path: string): Promise<T> => getJson<T>(kedge.adminPort, path);
const services = (): Promise<ServiceView[]> => api<ServiceView[]>('/api/v1/services');
const revisions = (): Promise<RevisionView[]> => api<RevisionView[]>('/api/v1/revisions');
const history = (): Promise<HistoryReply> => api<HistoryReply>('/api/v1/history');

async function helloRevision(): Promise<RevisionView> {
  const r = (await revisions()).find((x) => x.service === 'hello');
  assert.ok(r, 'hello has a revision');
  return r;
}

/** Keeps `concurrency` requests in flight on the split service for durationMs. */
async function load(concurrency: number, durationMs: number): Promise<void> {
  const end = Date.now() + durationMs;
  const worker = async (): Promise<void> => {
    for (let i = 0; i < 500 && Date.now() < end; i++)
      await get(kedge.gatewayPort, 'split.default.example.com');
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

before(async () => {
  if (SKIP !== false) return;
  dir = mkdtempSync(join(tmpdir(), 'kedge-dashboard-'));
  writeFileSync(join(dir, 'hello.yaml'), helloYaml());
  writeFileSync(join(dir, 'split.yaml'), splitYaml(1));
  writeFileSync(join(dir, 'broken.yaml'), BROKEN);
  // Knative's keys, shortened so that an idle revision reaches zero in about ten seconds.
  writeFileSync(
    join(dir, 'config-autoscaler.yaml'),
    yaml([
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: config-autoscaler',
      '  namespace: knative-serving',
      'data:',
      '  stable-window: "6s"',
      '  scale-to-zero-grace-period: "1s"',
    ]),
  );
  kedge = await startKedge(dir);
  await waitFor(
    'split-v1 to be ready and broken to fail',
    async () => {
      const rs = await revisions();
      const v1 = rs.find((r) => r.name === 'split-v1');
      const broken = rs.find((r) => r.service === 'broken');
      return v1?.ready === true && broken?.failure != null ? true : undefined;
    },
    30_000,
    200,
  );
  writeFileSync(join(dir, 'split.yaml'), splitYaml(2));
  await waitFor(
    'the 70/30 split',
    async () => {
      const s = (await services()).find((x) => x.name === 'split');
      return s?.traffic.some((t) => t.revisionName === 'split-v2' && t.percent === 30) === true
        ? true
        : undefined;
    },
    30_000,
    200,
  );
});

after(async () => {
  await context?.close();
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  if (SKIP === false) {
    await kedge.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the dashboard shows what /api/v1/* says, in a real browser', { skip: SKIP }, async () => {
  // A cold start: wait until hello has been sampled idle at zero, then call it.
  await waitFor(
    'hello to be sampled at zero',
    async () => {
      const r = await helloRevision();
      const h = (await history()).revisions.find((x) => x.revision === `default/${r.name}`);
      const last = (h?.desiredReplicas.length ?? 0) - 1;
      return h?.desiredReplicas[last] === 0 && h.readyReplicas[last] === 0 ? true : undefined;
    },
    40_000,
    500,
  );
  const cold = await get(kedge.gatewayPort, 'hello.default.example.com');
  assert.equal(cold.status, 200);
  // Load on the split (scales it up; the charts get something to show), and two errors.
  await load(12, 6_000);
  assert.equal((await get(kedge.gatewayPort, 'broken.default.example.com')).status, 503);
  assert.equal((await get(kedge.gatewayPort, 'nobody.default.example.com')).status, 404);
  await waitFor(
    'the cold start in the history',
    async () => {
      const r = await helloRevision();
      const h = (await history()).revisions.find((x) => x.revision === `default/${r.name}`);
      return (h?.coldStarts.length ?? 0) > 0 ? true : undefined;
    },
    15_000,
    500,
  );

  profile = mkdtempSync(join(tmpdir(), 'kedge-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1440, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  await page.goto(`http://127.0.0.1:${kedge.adminPort}/`);
  await page
    .locator('[data-service="default/split"] [data-role="chart"]')
    .first()
    .waitFor({ timeout: 15_000 });

  await checkServices(page);
  await checkRevisions(page);
  await checkDocs(page);
  await checkErrors(page);
  await checkLogs(page);
  await checkChartsAndColdStart(page);
  await checkSearchAndKeyboard(page);

  // Keep the screenshots at the top of the page with no focus ring.
  await page.evaluate('document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)');
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  await page.setViewportSize({ width: 1366, height: 768 });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-laptop.png') });
  assert.deepEqual(problems, []);
});

async function attrs(locator: Locator, name: string): Promise<(string | null)[]> {
  const out: (string | null)[] = [];
  const n = await locator.count();
  for (let i = 0; i < n; i++) out.push(await locator.nth(i).getAttribute(name));
  return out;
}

/** Retries until the page, refreshed every 2 s, agrees with a fresh read of the API. */
function agree(what: string, check: () => Promise<void>): Promise<true> {
  return waitFor(
    what,
    async () => {
      await check();
      return true as const;
    },
    15_000,
    500,
  );
}

async function checkServices(page: Page): Promise<void> {
  await agree('services: name, readiness, URL, traffic', async () => {
    const list = await services();
    assert.deepEqual(
      await attrs(page.locator('[data-service]'), 'data-service'),
      list.map((s) => `${s.namespace}/${s.name}`),
    );
    for (const s of list) {
      const card = page.locator(`[data-service="${s.namespace}/${s.name}"]`);
      assert.match(
        (await card.locator('h2').textContent()) ?? '',
        new RegExp(`^${s.name}\\s+${s.namespace}$`),
      );
      const badge = (await card.locator('.service-head .badge').textContent()) ?? '';
      assert.equal(badge === 'Ready', s.ready, `${s.name}: badge "${badge}", API ready=${String(s.ready)}`);
      if (s.url !== '') {
        assert.equal(
          await card.locator('[data-role="open"]').getAttribute('href'),
          `http://${s.name}.${s.namespace}.localhost:${kedge.gatewayPort}/`,
        );
      }
      const legend = await card.locator('[data-role="traffic"] li').allTextContents();
      assert.equal(legend.length, s.traffic.length);
      s.traffic.forEach((t, i) => {
        assert.ok(legend[i]?.includes(t.revisionName) && legend[i].includes(`${t.percent}%`), legend[i]);
        if (t.tag !== '') assert.ok(legend[i]?.includes(t.url), `tag URL ${t.url} in "${legend[i] ?? ''}"`);
      });
    }
  });
  const split = page.locator('[data-service="default/split"]');
  assert.equal(
    await split.locator('.split').getAttribute('aria-label'),
    'Traffic split: split-v1 70%, split-v2 30%',
  );
  assert.equal(
    await split.locator('[data-role="tag-url"]').getAttribute('href'),
    `http://candidate-split.default.localhost:${kedge.gatewayPort}/`,
  );
  // The open link really serves the function: Chromium resolves *.localhost to loopback itself.
  const tab = await page.context().newPage();
  const res = await tab.goto(`http://hello.default.localhost:${kedge.gatewayPort}/`);
  assert.equal(res?.status(), 200);
  assert.equal(await tab.locator('body').textContent(), 'Hello World!\n');
  await tab.close();
}

async function checkRevisions(page: Page): Promise<void> {
  await agree('revisions: replicas, in-flight, queued, failures', async () => {
    for (const r of await revisions()) {
      const card = page.locator(`[data-revision="${r.namespace}/${r.name}"]`);
      assert.equal(
        await card.locator('[data-role="replicas"]').textContent(),
        `${r.desiredReplicas} desired / ${r.readyReplicas} ready`,
        r.name,
      );
      assert.equal(await card.locator('[data-role="in-flight"]').textContent(), String(r.inFlight));
      assert.equal(await card.locator('[data-role="queued"]').textContent(), String(r.queued));
      assert.match((await card.locator('[data-role="age"]').textContent()) ?? '', /^\d+(s|m)/);
      const failure = card.locator('[data-role="failure"]');
      assert.equal(await failure.count(), r.failure === null ? 0 : 1, r.name);
    }
  });
  assert.equal(await page.locator('[data-service="default/split"] .revisions > p.none').isVisible(), false);
  const broken = (await revisions()).find((r) => r.service === 'broken');
  assert.ok(broken?.failure);
  const text =
    (await page.locator(`[data-revision="default/${broken.name}"] [data-role="failure"]`).textContent()) ??
    '';
  assert.match(text, /failed to start\. The process exited with code 3 before it became ready\./);
  assert.ok(text.includes(broken.failure.message), `"${text}" has the runtime's message`);
}

async function checkDocs(page: Page): Promise<void> {
  const docs = await api<DocsReply>('/api/v1/docs');
  const hello = docs.find((d) => d.name === 'hello');
  assert.equal(hello?.description, DESCRIPTION);
  for (const d of docs) {
    const card = page.locator(`[data-service="${d.namespace}/${d.name}"]`);
    const description = card.locator('[data-role="description"]');
    if (d.description === '') assert.equal(await description.count(), 0);
    else assert.equal(await description.textContent(), d.description);
    const names = await card.locator('[data-role="parameters"] tbody tr td:first-child').allTextContents();
    assert.deepEqual(
      names,
      d.parameters.map((p) => p.name),
    );
  }
  assert.equal(
    await page.locator('[data-service="default/hello"] [data-role="openapi"]').getAttribute('href'),
    `http://hello.default.localhost:${kedge.gatewayPort}/openapi.json`,
  );
}

async function checkErrors(page: Page): Promise<void> {
  await agree('errors: the newest per service, as /api/v1/errors has them', async () => {
    const reply = await api<ErrorsReply>('/api/v1/errors?limit=8');
    for (const s of await services()) {
      const key = `${s.namespace}/${s.name}`;
      const want = reply.find((e) => e.service === key)?.errors ?? [];
      const rows = await page
        .locator(`[data-service="${key}"] [data-role="errors"] tbody tr`)
        .allTextContents();
      assert.equal(rows.length, want.length, key);
      want.forEach((e, i) => {
        assert.ok(rows[i]?.includes(String(e.status)) && rows[i].includes(e.message), rows[i]);
      });
    }
  });
}

async function checkLogs(page: Page): Promise<void> {
  const r = (await revisions()).find((x) => x.name === 'split-v1');
  assert.ok(r);
  const details = page.locator('[data-revision="default/split-v1"] details.logs');
  await details.locator('summary').click();
  const broken = (await revisions()).find((x) => x.service === 'broken');
  assert.ok(broken);
  await page.locator(`[data-revision="default/${broken.name}"] details.logs summary`).click();
  await agree('the last lines of the broken revision', async () => {
    const logs = await api<LogsReply>(`/api/v1/logs?kind=revision&name=${broken.name}&tail=15`);
    assert.ok(logs.lines.some((l) => l.line.includes('DATABASE_URL is not set')));
    const text =
      (await page.locator(`[data-revision="default/${broken.name}"] details.logs pre`).textContent()) ?? '';
    for (const l of logs.lines) assert.ok(text.includes(l.line), `"${l.line}" shown`);
  });
}

async function checkChartsAndColdStart(page: Page): Promise<void> {
  const h = await history();
  for (const r of await revisions()) {
    const chart = page.locator(`[data-revision="${r.namespace}/${r.name}"] [data-role="chart"]`);
    assert.equal(await chart.count(), 1, r.name);
    assert.match(
      (await chart.getAttribute('aria-label')) ?? '',
      /^Last \d+ minutes: peak concurrency/,
      r.name,
    );
  }
  const hello = await helloRevision();
  const series = h.revisions.find((x) => x.revision === `default/${hello.name}`);
  assert.ok(series && series.coldStarts.length > 0);
  await agree('the cold start marked on the chart', async () => {
    const labels = await page
      .locator(`[data-revision="default/${hello.name}"] [data-role="cold-start"]`)
      .allTextContents();
    assert.ok(labels.length >= 1, 'a cold-start label');
    assert.match(labels[0] ?? '', /^(≤ )?\d+(\.\d)? (ms|s)$/);
  });
  const split = h.revisions.find((x) => x.revision === 'default/split-v2');
  assert.ok(split && Math.max(...split.observedConcurrency) > 0, 'the load shows in the history');
}

async function checkSearchAndKeyboard(page: Page): Promise<void> {
  // `/` focuses the search box, which has a visible label.
  await page.locator('body').click({ position: { x: 5, y: 300 } });
  await page.keyboard.press('/');
  assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'search');
  assert.equal(await page.locator('label[for="search"]').textContent(), 'Search services');
  await page.keyboard.type('greets');
  await agree('search keeps only hello', async () => {
    assert.deepEqual(await attrs(page.locator('[data-service]:visible'), 'data-service'), ['default/hello']);
  });
  await page.locator('#search').fill('no such thing');
  assert.match((await page.locator('#empty').textContent()) ?? '', /No service matches/);
  await page.locator('#search').fill('');
  // Keyboard focus survives the 2 s refresh.
  await page.locator('[data-service="default/hello"] [data-role="open"]').focus();
  await page.waitForTimeout(2_500);
  assert.equal(
    await page.evaluate('document.activeElement && document.activeElement.textContent'),
    'Open hello',
  );
  // On a fresh load, the first Tab lands on the skip link, which leads to the services.
  await page.reload();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate('document.activeElement && document.activeElement.className'), 'skip');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'services');
  await page
    .locator('[data-service="default/split"] [data-role="chart"]')
    .first()
    .waitFor({ timeout: 15_000 });
}
