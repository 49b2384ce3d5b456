import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ColdStartTracker,
  formatElapsed,
  renderProgress,
  styleLogLine,
  visibleWidth,
  type ProgressModel,
  type ProgressRevision,
  type ProgressService,
  type RenderOptions,
} from './progress-view.js';

const READY = [{ type: 'Ready', status: 'True', reason: '', message: '' }];

function service(o: Partial<ProgressService> = {}): ProgressService {
  return {
    name: 'helloworld-nodejs',
    namespace: 'default',
    url: 'http://helloworld-nodejs.default.example.com',
    conditions: READY,
    traffic: [
      { revisionName: 'helloworld-nodejs-00001', percent: 100, latestRevision: true, tag: '', url: '' },
    ],
    ...o,
  };
}

function revision(o: Partial<ProgressRevision> = {}): ProgressRevision {
  return {
    name: 'helloworld-nodejs-00001',
    namespace: 'default',
    service: 'helloworld-nodejs',
    desiredReplicas: 1,
    readyReplicas: 1,
    inFlight: 0,
    queued: 0,
    panic: false,
    failure: null,
    ...o,
  };
}

function model(o: Partial<ProgressModel> = {}): ProgressModel {
  return {
    gatewayUrl: 'http://127.0.0.1:8080',
    adminUrl: 'http://127.0.0.1:9090',
    stopping: false,
    services: [service()],
    revisions: [revision()],
    coldStarts: [],
    ...o,
  };
}

const opts = (o: Partial<RenderOptions> = {}): RenderOptions => ({
  nowMs: 10_000,
  width: 200,
  height: 40,
  color: false,
  ...o,
});

const HEADER = 'kedge up · gateway http://127.0.0.1:8080 · admin http://127.0.0.1:9090 · Ctrl-C to stop';
const HELLO = '✓ helloworld-nodejs  http://helloworld-nodejs.default.example.com  rev 00001 1/1';

interface Case {
  readonly name: string;
  readonly model: ProgressModel;
  readonly options?: Partial<RenderOptions>;
  readonly want: readonly string[];
}

const cases: readonly Case[] = [
  {
    name: 'one ready service: header, then one line',
    model: model(),
    want: [HEADER, `${HELLO}  0 in flight · 0 queued`],
  },
  {
    name: 'no services: a hint instead',
    model: model({ services: [], revisions: [] }),
    want: [HEADER, 'no services yet: add a Knative Service YAML file to the folder'],
  },
  {
    name: 'a cold start in progress: spinner, revision and elapsed time under the service',
    model: model({
      revisions: [revision({ readyReplicas: 0, queued: 1 })],
      coldStarts: [{ revision: 'default/helloworld-nodejs-00001', startedAtMs: 9_600 }],
    }),
    want: [
      HEADER,
      '✓ helloworld-nodejs  http://helloworld-nodejs.default.example.com  rev 00001 0/1  0 in flight · 1 queued',
      '  ⠋ cold start helloworld-nodejs-00001 0.4s',
    ],
  },
  {
    name: 'the spinner moves with time (one frame per 100 ms)',
    model: model({
      revisions: [revision({ readyReplicas: 0 })],
      coldStarts: [{ revision: 'default/helloworld-nodejs-00001', startedAtMs: 0 }],
    }),
    options: { nowMs: 12_345 },
    want: [
      HEADER,
      '✓ helloworld-nodejs  http://helloworld-nodejs.default.example.com  rev 00001 0/1  0 in flight · 0 queued',
      '  ⠸ cold start helloworld-nodejs-00001 12.3s',
    ],
  },
  {
    name: 'scaled to zero: 0/0 and no spinner',
    model: model({ revisions: [revision({ desiredReplicas: 0, readyReplicas: 0 })] }),
    want: [HEADER, `${HELLO.replace('1/1', '0/0')}  0 in flight · 0 queued`],
  },
  {
    name: 'load and panic mode',
    model: model({
      revisions: [revision({ desiredReplicas: 4, readyReplicas: 2, inFlight: 37, panic: true })],
    }),
    want: [HEADER, `${HELLO.replace('1/1', '2/4')}  37 in flight · 0 queued panic`],
  },
  {
    name: 'a traffic split shows each revision with its percent, then a draining one',
    model: model({
      services: [
        service({
          traffic: [
            { revisionName: 'helloworld-nodejs-00003', percent: 90, latestRevision: true, tag: '', url: '' },
            { revisionName: 'helloworld-nodejs-00002', percent: 10, latestRevision: false, tag: '', url: '' },
          ],
        }),
      ],
      revisions: [
        revision({ desiredReplicas: 0, readyReplicas: 1 }),
        revision({ name: 'helloworld-nodejs-00002', desiredReplicas: 0, readyReplicas: 0 }),
        revision({ name: 'helloworld-nodejs-00003', desiredReplicas: 2, readyReplicas: 2 }),
      ],
    }),
    want: [
      HEADER,
      '✓ helloworld-nodejs  http://helloworld-nodejs.default.example.com  rev 00003 2/2 90%, 00002 0/0 10%, 00001 1/0  0 in flight · 0 queued',
    ],
  },
  {
    name: 'a failing service: the reason and a one-line message, and the revision failure under it',
    model: model({
      services: [
        service({
          url: '',
          traffic: [],
          conditions: [
            { type: 'Ready', status: 'False', reason: 'RevisionFailed', message: 'exit code 1\nsee logs' },
          ],
        }),
      ],
      revisions: [
        revision({
          readyReplicas: 0,
          failure: { reason: 'ExitCode1', message: 'Error: Cannot find module\n  at x' },
        }),
      ],
      coldStarts: [{ revision: 'default/helloworld-nodejs-00001', startedAtMs: 0 }],
    }),
    want: [
      HEADER,
      '✗ helloworld-nodejs  -  rev 00001 0/1  0 in flight · 0 queued  RevisionFailed: exit code 1 see logs',
      '  ✗ helloworld-nodejs-00001 ExitCode1: Error: Cannot find module at x',
    ],
  },
  {
    name: 'two services in two namespaces: columns aligned, namespace shown when not default',
    model: model({
      services: [
        service(),
        service({
          name: 'api',
          namespace: 'shop',
          url: 'http://api.shop.example.com',
          traffic: [],
          conditions: [{ type: 'Ready', status: 'Unknown', reason: 'Deploying', message: '' }],
        }),
      ],
      revisions: [
        revision(),
        revision({ name: 'api-00001', namespace: 'shop', service: 'api', readyReplicas: 0 }),
      ],
    }),
    want: [
      HEADER,
      '✓ helloworld-nodejs  http://helloworld-nodejs.default.example.com  rev 00001 1/1  0 in flight · 0 queued',
      '○ shop/api           http://api.shop.example.com                   rev 00001 0/1  0 in flight · 0 queued  Deploying',
    ],
  },
  {
    name: 'stopping: the header says so',
    model: model({ stopping: true }),
    want: [
      'kedge up · stopping: draining requests, Ctrl-C again to stop at once',
      `${HELLO}  0 in flight · 0 queued`,
    ],
  },
  {
    name: 'a narrow terminal: every line cut below the width, with an ellipsis',
    model: model(),
    options: { width: 40 },
    want: ['kedge up · gateway http://127.0.0.1:80…', '✓ helloworld-nodejs  http://helloworld…'],
  },
  {
    name: 'a short terminal: lines past the height folded into a count',
    model: model({
      services: ['a', 'b', 'c', 'd'].map((n) => service({ name: n, url: `http://${n}`, traffic: [] })),
      revisions: [],
    }),
    options: { height: 4 },
    want: [HEADER, '✓ a  http://a  rev -  0 in flight · 0 queued', '… 3 more line(s): kedge get ksvc'],
  },
  {
    name: 'no room at all: nothing',
    model: model(),
    options: { height: 1 },
    want: [],
  },
];

for (const c of cases) {
  test(c.name, () => {
    assert.deepEqual(renderProgress(c.model, opts(c.options)), c.want);
  });
}

test('no line reaches the last column, at any width, with colour or not', () => {
  const m = model({
    revisions: [revision({ readyReplicas: 0 })],
    coldStarts: [{ revision: 'default/helloworld-nodejs-00001', startedAtMs: 0 }],
  });
  for (let width = 1; width <= 140; width++) {
    for (const color of [false, true]) {
      for (const line of renderProgress(m, opts({ width, color }))) {
        assert.ok(visibleWidth(line) < width, `width ${width}, color ${color}: ${JSON.stringify(line)}`);
      }
    }
  }
});

test('wide characters count as two columns when cutting', () => {
  const m = model({
    services: [
      service({
        conditions: [{ type: 'Ready', status: 'False', reason: 'X', message: '設定エラー設定エラー' }],
      }),
    ],
  });
  for (let width = 60; width <= 140; width++) {
    for (const line of renderProgress(m, opts({ width }))) assert.ok(visibleWidth(line) < width, line);
  }
});

test('colour: styled segments are wrapped in SGR and reset; NO_COLOR output has no escapes', () => {
  const [, withColor] = renderProgress(model(), opts({ color: true }));
  assert.ok(withColor?.startsWith('\x1b[32m✓\x1b[0m \x1b[1mhelloworld-nodejs\x1b[0m'), withColor);
  assert.equal(visibleWidth(withColor ?? ''), visibleWidth(`${HELLO}  0 in flight · 0 queued`));
  // eslint-disable-next-line no-control-regex
  for (const line of renderProgress(model(), opts())) assert.doesNotMatch(line, /\x1b/);
});

test('control characters from a message cannot reach the terminal', () => {
  const m = model({
    services: [
      service({ conditions: [{ type: 'Ready', status: 'False', reason: 'X', message: 'a\x1b[2Jb\rc' }] }),
    ],
  });
  const lines = renderProgress(m, opts({ color: true }));
  assert.ok(lines.every((l) => !l.includes('\x1b[2J') && !l.includes('\r')));
});

const elapsedCases: readonly (readonly [number, string])[] = [
  [0, '0.0s'],
  [-5, '0.0s'],
  [449, '0.4s'],
  [12_345, '12.3s'],
  [59_999, '59.9s'],
  [60_000, '1m00s'],
  [125_000, '2m05s'],
];
for (const [ms, want] of elapsedCases)
  test(`elapsed ${ms} ms → ${want}`, () => {
    assert.equal(formatElapsed(ms), want);
  });

test('cold start tracker: timed from the first ask with nothing ready, until a replica is ready', () => {
  const t = new ColdStartTracker();
  const key = 'default/helloworld-nodejs-00001';
  const at = (ready: number) => [revision({ readyReplicas: ready })];
  t.scaling(key, 1, 0, 1_000);
  t.scaling(key, 2, 0, 1_200); // a second ask while starting keeps the first time
  assert.deepEqual(t.settle(at(0)), [{ revision: key, startedAtMs: 1_000 }]);
  assert.deepEqual(t.settle(at(1)), []);
  assert.deepEqual(t.settle(at(0)), [], 'stays forgotten');
  t.scaling(key, 3, 1, 2_000); // scaling up with replicas ready is not a cold start
  assert.deepEqual(t.settle(at(0)), []);
});

test('cold start tracker: a scale back to zero or a deleted revision ends it', () => {
  const t = new ColdStartTracker();
  t.scaling('default/a-00001', 1, 0, 0);
  t.scaling('default/a-00001', 0, 0, 10);
  t.scaling('default/b-00001', 1, 0, 0);
  assert.deepEqual(t.settle([revision({ name: 'a-00001', readyReplicas: 0 })]), []);
});

test('log lines: dim time and coloured level with colour, untouched without', () => {
  const line = '17:40:20.835 warn  config-autoscaler: invalid value kept';
  assert.equal(styleLogLine(line, false), line);
  assert.equal(
    styleLogLine(line, true),
    '\x1b[2m17:40:20.835\x1b[0m \x1b[33mwarn \x1b[0m config-autoscaler: invalid value kept',
  );
  assert.equal(styleLogLine('SERVICE  URL', true), 'SERVICE  URL');
});
