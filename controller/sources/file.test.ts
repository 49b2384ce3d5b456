import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../../lib/log.js';
import { FileSource, type SourceSnapshot } from './file.js';

async function tempTree(
  t: { after: (fn: () => Promise<void>) => void },
  files: Readonly<Record<string, string>>,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kedge-file-source-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) await put(dir, path, text);
  return dir;
}

async function put(dir: string, path: string, text: string): Promise<void> {
  await mkdir(dirname(join(dir, path)), { recursive: true });
  await writeFile(join(dir, path), text);
}

/** Collects onChange snapshots; next() awaits the following one, with a deadline. */
class Changes {
  readonly seen: SourceSnapshot[] = [];
  private waiter: ((s: SourceSnapshot) => void) | null = null;
  readonly onChange = (s: SourceSnapshot): void => {
    this.seen.push(s);
    const w = this.waiter;
    this.waiter = null;
    w?.(s);
  };
  next(what: string, timeoutMs = 1500): Promise<SourceSnapshot> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`no change within ${timeoutMs} ms: ${what}`));
      }, timeoutMs);
      this.waiter = (s) => {
        clearTimeout(timer);
        resolve(s);
      };
    });
  }
}

const origins = (s: SourceSnapshot): string[] => s.objects.map((o) => o.origin);
const names = (s: SourceSnapshot): unknown[] =>
  s.objects.map((o) => (o.object as { metadata?: { name?: unknown } }).metadata?.name);

const TREE = {
  'b.yaml':
    'kind: Service\nmetadata: {name: b}\n---\n---\n# only a comment\n---\nkind: ConfigMap\nmetadata: {name: b-cm}\n',
  'a.yml': 'kind: Service\nmetadata: {name: a}\n',
  'nested/deep/c.yaml': 'kind: Service\nmetadata: {name: c}\n',
  'node_modules/pkg/x.yaml': 'kind: Service\nmetadata: {name: skipped-node-modules}\n',
  '.hidden/y.yaml': 'kind: Service\nmetadata: {name: skipped-hidden}\n',
  'notes.txt': 'kind: Service\n',
  'empty.yaml': '',
};

void test('load: nested folders, multi-document files, skipped folders, stable order', async (t) => {
  const dir = await tempTree(t, TREE);
  const source = new FileSource({ dir, logger: silentLogger });
  const snap = await source.load();
  assert.deepEqual(snap.errors, []);
  assert.deepEqual(origins(snap), ['a.yml#0', 'b.yaml#0', 'b.yaml#3', 'nested/deep/c.yaml#0']);
  assert.deepEqual(names(snap), ['a', 'b', 'b-cm', 'c']);
  assert.equal(snap.objects[3]?.baseDir, join(dir, 'nested', 'deep'));
  assert.equal(snap.objects[0]?.baseDir, dir);
});

void test('a missing folder is reported as an error, not thrown', async () => {
  const source = new FileSource({ dir: join(tmpdir(), 'kedge-no-such-folder-xyz'), logger: silentLogger });
  const snap = await source.load();
  assert.equal(snap.objects.length, 0);
  assert.match(snap.errors[0]?.message ?? '', /cannot read folder/);
});

void test('start: changes, broken YAML keeps the last good objects, deletes, new folders', async (t) => {
  const dir = await tempTree(t, TREE);
  const source = new FileSource({ dir, logger: silentLogger, pollIntervalMs: 100 });
  t.after(() => {
    source.stop();
  });
  const changes = new Changes();
  const first = await source.start(changes.onChange);
  assert.deepEqual(names(first), ['a', 'b', 'b-cm', 'c']);

  // An edit arrives within a second.
  let next = changes.next('edit of a.yml');
  await put(dir, 'a.yml', 'kind: Service\nmetadata: {name: a2}\n');
  assert.deepEqual(names(await next), ['a2', 'b', 'b-cm', 'c']);

  // A syntax error: the last good version of the file keeps serving; the error names file:line:col.
  next = changes.next('broken c.yaml');
  await put(dir, 'nested/deep/c.yaml', 'kind: Service\nmetadata:\n  name: [c, d\n');
  let snap = await next;
  assert.deepEqual(names(snap), ['a2', 'b', 'b-cm', 'c']);
  assert.equal(snap.errors.length, 1);
  assert.equal(snap.errors[0]?.origin, 'nested/deep/c.yaml#0');
  assert.match(snap.errors[0].message, /^nested\/deep\/c\.yaml:\d+:\d+: /);

  // A file that never parsed contributes nothing but its error.
  next = changes.next('new broken file');
  await put(dir, 'new/broken.yaml', 'a: b: c\n');
  snap = await next;
  assert.deepEqual(names(snap), ['a2', 'b', 'b-cm', 'c']);
  assert.deepEqual(
    snap.errors.map((e) => e.origin),
    ['nested/deep/c.yaml#0', 'new/broken.yaml#0'],
  );
  assert.match(snap.errors[1]?.message ?? '', /^new\/broken\.yaml:1:\d+: /);

  // Fixing the file clears its error.
  next = changes.next('fixed c.yaml');
  await put(dir, 'nested/deep/c.yaml', 'kind: Service\nmetadata: {name: c3}\n');
  snap = await next;
  assert.deepEqual(names(snap), ['a2', 'b', 'b-cm', 'c3']);
  assert.deepEqual(
    snap.errors.map((e) => e.origin),
    ['new/broken.yaml#0'],
  );

  // A touch without a content change is not a change: the next snapshot is the delete below.
  const before = changes.seen.length;
  const later = new Date(Date.now() + 5000);
  await utimes(join(dir, 'b.yaml'), later, later);
  next = changes.next('delete of new/broken.yaml');
  await rm(join(dir, 'new'), { recursive: true });
  snap = await next;
  assert.equal(changes.seen.length, before + 1);
  assert.deepEqual(snap.errors, []);
  assert.deepEqual(names(snap), ['a2', 'b', 'b-cm', 'c3']);

  // Skipped folders stay skipped while watching. Files come in sorted path order.
  next = changes.next('a real change after a node_modules write');
  await put(dir, 'node_modules/pkg/z.yaml', 'kind: Service\nmetadata: {name: nope}\n');
  await put(dir, 'd.yaml', 'kind: Service\nmetadata: {name: d}\n');
  snap = await next;
  assert.deepEqual(names(snap), ['a2', 'b', 'b-cm', 'd', 'c3']);
});

void test('a burst of writes to one file is read once, in its final form', async (t) => {
  const dir = await tempTree(t, { 's.yaml': 'kind: Service\nmetadata: {name: s0}\n' });
  const source = new FileSource({ dir, logger: silentLogger, pollIntervalMs: 100, settleMs: 80 });
  t.after(() => {
    source.stop();
  });
  const changes = new Changes();
  await source.start(changes.onChange);
  const next = changes.next('burst');
  // Editors save in steps: truncate, then write the content in parts.
  await writeFile(join(dir, 's.yaml'), '');
  await writeFile(join(dir, 's.yaml'), 'kind: Service\n');
  await writeFile(join(dir, 's.yaml'), 'kind: Service\nmetadata: {name: s1}\n');
  const snap = await next;
  assert.deepEqual(names(snap), ['s1']);
  assert.equal(changes.seen.length, 1);
});

void test('stop() ends change delivery', async (t) => {
  const dir = await tempTree(t, { 's.yaml': 'kind: Service\nmetadata: {name: s0}\n' });
  const source = new FileSource({ dir, logger: silentLogger, pollIntervalMs: 50 });
  const changes = new Changes();
  await source.start(changes.onChange);
  source.stop();
  await put(dir, 's.yaml', 'kind: Service\nmetadata: {name: s1}\n');
  await assert.rejects(changes.next('nothing after stop', 400), /no change/);
});
