// End to end: Knative's KPA scaling a real revision under real load through the gateway, then
// back to zero. An app that takes 100 ms per request, target 10 (x 0.7 utilisation = 7 per
// replica), 50 concurrent clients: Knative would ask for ceil(50 / 7) = 8 replicas.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { getJson, startKedge, waitFor, type KedgeProcess } from './support/kedge-process.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const HOST = 'slow.default.example.com';
const CLIENTS = 50;
const LOAD_MS = 9_000;

interface RevisionView {
  name: string;
  desiredReplicas: number;
  readyReplicas: number;
  decidedReplicas: number;
  panic: boolean;
  inFlight: number;
  queued: number;
}

let dir: string;
let kedge: KedgeProcess;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kedge-autoscale-'));
  writeFileSync(
    join(dir, 'slow.yaml'),
    `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: slow
  namespace: default
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/target: "10"
    spec:
      containers:
        - image: example.com/slow
          command: ["node", "${join(FIXTURES, 'slow-app.mjs')}"]
          env:
            - name: DELAY_MS
              value: "100"
`,
  );
  writeFileSync(
    join(dir, 'config-autoscaler.yaml'),
    `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-autoscaler
  namespace: knative-serving
data:
  stable-window: "6s"
  scale-to-zero-grace-period: "1s"
`,
  );
  kedge = await startKedge(dir);
});

after(async () => {
  await kedge.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function slowRevision(): Promise<RevisionView | undefined> {
  const revisions = await getJson<RevisionView[]>(kedge.adminPort, '/api/v1/revisions');
  return revisions.find((r) => r.name === 'slow-00001');
}

test('50 clients at target 10 scale the revision to 8 replicas, and idle brings it back to 0', async () => {
  await waitFor(
    'the first replica',
    async () => ((await slowRevision())?.readyReplicas === 1 ? true : undefined),
    15_000,
  );

  const agent = new Agent({ connections: CLIENTS });
  const deadline = Date.now() + LOAD_MS;
  let ok = 0;
  const failures: string[] = [];
  const client = async (): Promise<void> => {
    // Bounded in time, and in count by the 100 ms the app takes per request.
    while (Date.now() < deadline) {
      const res = await request(`http://127.0.0.1:${kedge.gatewayPort}/`, {
        headers: { host: HOST },
        dispatcher: agent,
      });
      const body = await res.body.text();
      if (res.statusCode === 200) ok++;
      else failures.push(`${res.statusCode} ${body}`);
    }
  };

  const samples: { atMs: number; rev: RevisionView }[] = [];
  const started = Date.now();
  const sampling = { on: true };
  const sampler = (async () => {
    while (sampling.on) {
      const rev = await slowRevision();
      if (rev) samples.push({ atMs: Date.now() - started, rev });
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  await Promise.all(Array.from({ length: CLIENTS }, client));
  sampling.on = false;
  await sampler;
  await agent.close();

  assert.deepEqual(failures, [], 'no request failed under load');
  assert.ok(ok > CLIENTS * 10, `the load was real (${ok} answers)`);
  const firstPanic = samples.find((s) => s.rev.panic);
  assert.ok(firstPanic, 'the KPA entered panic mode');
  const reached = samples.find((s) => s.rev.desiredReplicas >= 8);
  assert.ok(
    reached,
    `desired replicas reached 8; samples: ${samples.map((s) => s.rev.desiredReplicas).join(',')}`,
  );
  // Two 2 s ticks after panic, plus the sampling period.
  assert.ok(
    reached.atMs - firstPanic.atMs <= 4_500,
    `8 replicas were asked for ${reached.atMs - firstPanic.atMs} ms after panic began`,
  );
  const peak = Math.max(...samples.map((s) => s.rev.desiredReplicas));
  assert.ok(peak <= 9, `no runaway scale-up (peak ${peak})`);
  assert.ok(Math.max(...samples.map((s) => s.rev.readyReplicas)) >= 4, 'replicas really started');

  const idle = await waitFor(
    'the revision to return to zero',
    async () => {
      const rev = await slowRevision();
      return rev && rev.desiredReplicas === 0 && rev.readyReplicas === 0 ? rev : undefined;
    },
    45_000,
    250,
  );
  assert.equal(idle.inFlight, 0);
  assert.equal(idle.queued, 0);
});
