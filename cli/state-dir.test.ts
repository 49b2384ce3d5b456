import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EMPTY_HISTORY, type RevisionHistory } from '../controller/revision-history.js';
import { StateDir, StateDirError } from './state-dir.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-state-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

const history: RevisionHistory = {
  formatVersion: 1,
  services: [
    {
      namespace: 'default',
      name: 'hello',
      generation: 2,
      specKey: '{}',
      configurationGeneration: 2,
      templateKey: 't2',
      latestCreatedRevisionName: 'hello-00002',
      latestReadyRevisionName: 'hello-00002',
      revisions: [],
      deletedRevisions: [{ name: 'hello-00001', deletedAt: '2024-01-01T00:00:00.000Z' }],
      lastGood: {
        service: { metadata: {}, spec: {} } as never,
        origin: 'hello.yaml#0',
        baseDir: '/srv',
      },
    },
  ],
};

test('a missing state folder is a first start: the empty history', (t) => {
  const dir = tempDir(t);
  assert.deepEqual(new StateDir(join(dir, '.kedge')).loadHistory(), EMPTY_HISTORY);
});

test('saveHistory writes atomically, once per change, and loadHistory reads it back', (t) => {
  const dir = join(tempDir(t), '.kedge');
  const store = new StateDir(dir);
  assert.equal(store.saveHistory(history), true);
  assert.equal(store.saveHistory(history), false, 'unchanged: no write');
  assert.deepEqual(readdirSync(dir), ['revisions.json'], 'no temporary file is left behind');
  const again = new StateDir(dir);
  assert.deepEqual(again.loadHistory(), history);
  assert.equal(again.saveHistory(history), false, 'what was loaded counts as written');
});

test('a damaged history stops kedge with a message naming the file and the way out', (t) => {
  const dir = join(tempDir(t), '.kedge');
  const store = new StateDir(dir);
  store.saveHistory(history);
  writeFileSync(store.historyPath, readFileSync(store.historyPath, 'utf8').slice(0, 40));
  assert.throws(
    () => new StateDir(dir).loadHistory(),
    (err: unknown) =>
      err instanceof StateDirError &&
      err.message.includes(store.historyPath) &&
      /not JSON/.test(err.message) &&
      /Move the file away/.test(err.message),
  );
});
