import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { RevisionView, ServiceView } from './admin-api.js';
import { describeRevision, describeService } from './get.js';
import { formatLogLine } from './logs.js';
import { age, formatTable } from './table.js';

test('formatTable pads columns three spaces apart with nothing trailing', () => {
  assert.equal(
    formatTable(
      ['NAME', 'READY', 'REASON'],
      [
        ['hello', 'True', ''],
        ['a', 'False', 'ExitCode1'],
      ],
    ),
    'NAME    READY   REASON\nhello   True\na       False   ExitCode1\n',
  );
});

test('age reads like kubectl', () => {
  const now = Date.parse('2024-01-03T00:00:00.000Z');
  assert.equal(age('2024-01-02T23:59:15.000Z', now), '45s');
  assert.equal(age('2024-01-02T23:00:00.000Z', now), '60m');
  assert.equal(age('2024-01-02T12:00:00.000Z', now), '12h');
  assert.equal(age('2023-12-20T00:00:00.000Z', now), '14d');
  assert.equal(age('not a time', now), '<unknown>');
});

const ready = [{ type: 'Ready', status: 'True', reason: '', message: '' }];

function revision(name: string, generation: number, o: Partial<RevisionView> = {}): RevisionView {
  return {
    name,
    namespace: 'default',
    service: 'hello',
    generation,
    createdAt: '2024-01-01T00:00:00.000Z',
    ready: true,
    conditions: ready,
    routingState: 'active',
    desiredReplicas: 1,
    readyReplicas: 1,
    pendingReplicas: 0,
    inFlight: 0,
    queued: 0,
    decidedReplicas: 1,
    panic: false,
    stableConcurrency: 0,
    panicConcurrency: 0,
    targetConcurrency: 70,
    excessBurstCapacity: 0,
    failure: null,
    resources: null,
    ...o,
  };
}

test('describe service: URL, traffic with tag URLs, revisions with replicas and share, failure tails', () => {
  const failure = 'replica hello-00003-r1 exited with code 1 before it was ready; last output:\nboom';
  const service: ServiceView = {
    name: 'hello',
    namespace: 'default',
    url: 'http://hello.default.example.com',
    ready: false,
    generation: 3,
    observedGeneration: 3,
    latestCreatedRevisionName: 'hello-00003',
    latestReadyRevisionName: 'hello-00002',
    address: { url: 'http://hello.default.svc.cluster.local' },
    conditions: [
      { type: 'Ready', status: 'False', reason: 'RevisionFailed', message: failure },
      { type: 'ConfigurationsReady', status: 'False', reason: 'RevisionFailed', message: failure },
      { type: 'RoutesReady', status: 'True', reason: '', message: '' },
    ],
    traffic: [
      { revisionName: 'hello-00001', percent: 80, latestRevision: false, tag: '', url: '' },
      {
        revisionName: 'hello-00002',
        percent: 20,
        latestRevision: true,
        tag: 'next',
        url: 'http://next-hello.default.example.com',
      },
    ],
  };
  const text = describeService(
    service,
    [
      revision('hello-00001', 1),
      revision('hello-00002', 2, { readyReplicas: 2, desiredReplicas: 3 }),
      revision('hello-00003', 3, {
        conditions: [{ type: 'Ready', status: 'False', reason: 'ExitCode1', message: failure }],
        readyReplicas: 0,
      }),
      revision('other-00001', 1, { service: 'other' }),
    ],
    Date.parse('2024-01-01T00:01:00.000Z'),
  );
  assert.match(text, /^URL:\s+http:\/\/hello\.default\.example\.com$/m);
  assert.match(text, /^LatestReady:\s+hello-00002$/m);
  assert.match(
    text,
    /^ {2}20%\s+@latest \(hello-00002\)\s+next\s+http:\/\/next-hello\.default\.example\.com$/m,
  );
  assert.match(text, /^ {2}hello-00003\s+3\s+False\s+ExitCode1\s+0\/1\s+0%\s+60s$/m);
  assert.match(text, /^ {2}hello-00002\s+2\s+True\s+2\/3\s+20%/m);
  assert.doesNotMatch(text, /other-00001/);
  assert.match(text, /ConfigurationsReady message:\n {4}replica hello-00003-r1 exited .*\n {4}boom/);
});

test('a log line carries its time and replica; stderr is marked', () => {
  const base = {
    seq: 1,
    service: 'hello',
    revision: 'default/hello-00001',
    replica: 'hello-00001-r2',
    time: '2024-01-01T00:00:00.000Z',
    line: 'listening',
  };
  assert.equal(
    formatLogLine({ ...base, stream: 'stdout' }),
    '2024-01-01T00:00:00.000Z hello-00001-r2 listening',
  );
  assert.equal(
    formatLogLine({ ...base, stream: 'stderr' }),
    '2024-01-01T00:00:00.000Z hello-00001-r2 stderr listening',
  );
});

test('describe revision: resources as written, and that kedge up does not enforce them', () => {
  const now = Date.parse('2024-01-01T00:01:00.000Z');
  const none = describeRevision(revision('hello-00001', 1), now);
  assert.match(none, /^Resources: {5}<none>$/m);
  const some = describeRevision(
    revision('hello-00002', 2, {
      resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } },
    }),
    now,
  );
  assert.match(
    some,
    /^Resources: {5}requests cpu=100m, memory=64Mi; limits memory=128Mi \(recorded; kedge up does not enforce them\)$/m,
  );
});
