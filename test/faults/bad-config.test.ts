// Fault 8, bad configuration mid-load: the Service's file becomes broken YAML, then an invalid
// Service, then a valid new version. The promise: the last good version keeps serving through
// every mistake (zero failed requests), each mistake is reported in the Service's conditions
// (admin API) and in kedge's log, and the valid version rolls out.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  Tally,
  appService,
  hostOf,
  pacedLoad,
  report,
  revisionView,
  serviceView,
  sleep,
  startPlatform,
  writeService,
  type Platform,
  type ServiceView,
} from '../support/faults.js';
import { waitFor } from '../support/kedge-process.js';

const RPS = 100;
let platform: Platform;
/** The Service's Ready condition while its file was broken YAML. */
let brokenYamlStatus: ServiceView['conditions'][number] | undefined;

before(async () => {
  platform = await startPlatform('bad-config', (dir) => {
    writeService(dir, { name: 'cfg', env: { VERSION: 'v1' } });
  });
  await waitFor(
    'cfg-00001 to be ready',
    async () => ((await revisionView(platform.kedge, 'cfg-00001'))?.readyReplicas === 1 ? true : undefined),
    20_000,
  );
});

after(async () => {
  await platform.close();
});

test('broken YAML, then an invalid Service, then a valid one, under load: nothing fails', async (t) => {
  const { kedge, dir } = platform;
  const file = join(dir, 'cfg.yaml');
  const tally = new Tally();
  let done = false;
  const load = pacedLoad({
    port: kedge.gatewayPort,
    host: hostOf('cfg'),
    rps: RPS,
    durationMs: 60_000,
    maxInFlight: 100,
    tally,
    stop: () => done,
  });
  const readyCondition = async (): Promise<ServiceView['conditions'][number] | undefined> =>
    (await serviceView(kedge, 'cfg'))?.conditions.find((c) => c.type === 'Ready');
  const steps: Record<string, string> = {};
  try {
    await sleep(1_000);

    // 1. Not YAML at all: reported in the log at once; the status is checked by the next test.
    writeFileSync(file, 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: [unclosed\n');
    await kedge.waitForLine(/cfg\.yaml:\d+:\d+/, 5_000);
    brokenYamlStatus = await waitFor(
      'the broken file to show in the Service status',
      async () => {
        const c = await readyCondition();
        return c?.status === 'False' ? c : undefined;
      },
      5_000,
    ).catch(() => readyCondition());
    steps['brokenYaml'] =
      `${brokenYamlStatus?.status ?? '?'} ${brokenYamlStatus?.reason ?? ''}: ${brokenYamlStatus?.message ?? ''}`;
    await sleep(1_000);

    // 2. Valid YAML, invalid Service: PORT is reserved.
    writeFileSync(
      file,
      JSON.stringify(appService({ name: 'cfg', env: { VERSION: 'v1', PORT: '1234' } }), null, 2) + '\n',
    );
    const invalid = await waitFor(
      'the invalid Service to show in its status',
      async () => {
        const c = await readyCondition();
        return c?.status === 'False' && /reserved/.test(c.message) ? c : undefined;
      },
      10_000,
    );
    steps['invalidService'] = `${invalid.reason}: ${invalid.message}`;
    assert.match(
      invalid.message,
      /"PORT" is a reserved environment variable: spec\.template\.spec\.containers\[0\]\.env\[\d\]\.name/,
    );
    await kedge.waitForLine(/reserved environment variable/, 5_000);
    await sleep(1_000);

    // 3. A valid new version rolls out.
    writeService(dir, { name: 'cfg', env: { VERSION: 'v2' } });
    await waitFor(
      'cfg-00002 to serve',
      () => Promise.resolve((tally.byBody.get('cfg-00002') ?? 0) > 0 ? true : undefined),
      20_000,
      50,
    );
    const ready = await waitFor(
      'the Service to be Ready again',
      async () => {
        const c = await readyCondition();
        return c?.status === 'True' ? c : undefined;
      },
      10_000,
    );
    steps['valid'] = ready.status;
    await sleep(1_000);
    done = true;
    await load;
    const service = await serviceView(kedge, 'cfg');
    report(t, 'bad configuration mid-load', {
      rps: RPS,
      requests: tally.total,
      failed: tally.failed,
      answersBy: Object.fromEntries(tally.byBody),
      ...steps,
    });
    assert.equal(tally.failed, 0, tally.summary());
    assert.equal(service?.latestReadyRevisionName, 'cfg-00002');
    assert.ok((tally.byBody.get('cfg-00001') ?? 0) > RPS * 2, 'v1 served while the file was wrong');
  } finally {
    done = true;
    await load;
  }
});

test('broken YAML shows in the Service status, not only in the log', () => {
  assert.equal(brokenYamlStatus?.status, 'False', JSON.stringify(brokenYamlStatus));
  assert.match(brokenYamlStatus.message, /cfg\.yaml:\d+:\d+/);
});
