import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type LockHolder, decodeHolder, encodeHolder } from './lock-holder.js';
import {
  type AcquireOptions,
  type ProcessProbe,
  StateLock,
  StateLockError,
  systemProbe,
} from './state-lock.js';

function tempStateDir(t: { after: (fn: () => void) => void }): string {
  const root = mkdtempSync(join(tmpdir(), 'kedge-lock-'));
  t.after(() => {
    rmSync(root, { recursive: true, force: true });
  });
  return join(root, '.kedge');
}

function options(stateDir: string, o: Partial<AcquireOptions> = {}): AcquireOptions {
  return { stateDir, dir: '/srv/app', listen: '127.0.0.1', gatewayPort: 8080, adminPort: 9090, ...o };
}

/** A lock as another kedge up would have written it. */
function writeLock(stateDir: string, o: Partial<LockHolder>): LockHolder {
  const holder: LockHolder = {
    pid: 1,
    startedAt: '2024-05-01T10:00:00.000Z',
    hostname: systemProbe.hostname(),
    procStartTicks: null,
    bootId: systemProbe.bootId(),
    dir: '/srv/app',
    listen: '127.0.0.1',
    gatewayPort: 8080,
    adminPort: 9090,
    ...o,
  };
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, 'lock'), encodeHolder(holder));
  return holder;
}

function lockContent(stateDir: string): LockHolder | null {
  return decodeHolder(readFileSync(join(stateDir, 'lock'), 'utf8'));
}

/** A pid that no process has: a child that has already exited (reuse within the test is unlikely). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  assert.ok(child.pid > 0);
  return child.pid;
}

test('acquire creates the lock with pid and ports, update records bound ports, release removes it', (t) => {
  const stateDir = tempStateDir(t);
  const lock = StateLock.acquire(options(stateDir, { gatewayPort: 0, adminPort: 0 }));
  const written = lockContent(stateDir);
  assert.equal(written?.pid, process.pid);
  assert.equal(written.dir, '/srv/app');
  assert.equal(written.gatewayPort, 0);
  if (existsSync('/proc/self/stat')) assert.match(written.procStartTicks ?? '', /^\d+$/);

  lock.update({ gatewayPort: 18080, adminPort: 19090 });
  assert.deepEqual([lockContent(stateDir)?.gatewayPort, lockContent(stateDir)?.adminPort], [18080, 19090]);
  assert.deepEqual(readdirSync(stateDir), ['lock'], 'no temporary file is left behind');

  lock.release();
  lock.release();
  assert.deepEqual(readdirSync(stateDir), []);
});

test('a lock held by a live process refuses a second start with one line naming folder and pid', (t) => {
  const stateDir = tempStateDir(t);
  // Our parent is alive and is not us: a real holder, with its real start time.
  const held = writeLock(stateDir, {
    pid: process.ppid,
    procStartTicks: systemProbe.procStartTicks(process.ppid),
  });
  const before = readFileSync(join(stateDir, 'lock'), 'utf8');
  assert.throws(
    () => StateLock.acquire(options(stateDir)),
    (err: unknown) =>
      err instanceof StateLockError &&
      err.message.includes('/srv/app is already served by kedge up') &&
      err.message.includes(`pid ${held.pid}`) &&
      err.message.includes('stop it, or pass a different -f folder') &&
      !err.message.includes('\n'),
  );
  assert.equal(readFileSync(join(stateDir, 'lock'), 'utf8'), before, 'the holder’s lock is untouched');
  assert.deepEqual(readdirSync(stateDir), ['lock']);
});

test('a lock whose pid is gone is taken over, and the takeover is reported', (t) => {
  const stateDir = tempStateDir(t);
  const stale = writeLock(stateDir, { pid: deadPid() });
  const reported: string[] = [];
  const lock = StateLock.acquire(
    options(stateDir, {
      onTakeover: (previous, why) => reported.push(`${previous?.pid ?? '-'}: ${why}`),
    }),
  );
  assert.deepEqual(reported, [`${stale.pid}: no process has pid ${stale.pid}`]);
  assert.equal(lockContent(stateDir)?.pid, process.pid);
  assert.deepEqual(readdirSync(stateDir), ['lock'], 'no guard or temporary file is left behind');
  lock.release();
});

test('a live pid with another start time is a reused pid: taken over', (t) => {
  const stateDir = tempStateDir(t);
  if (systemProbe.procStartTicks(process.ppid) === null) {
    t.skip('no /proc here');
    return;
  }
  writeLock(stateDir, { pid: process.ppid, procStartTicks: '1' });
  const reported: string[] = [];
  const lock = StateLock.acquire(options(stateDir, { onTakeover: (_p, why) => reported.push(why) }));
  assert.deepEqual(reported, [`pid ${process.ppid} now belongs to a process started later`]);
  lock.release();
});

test('a holder that exited but was not reaped (a zombie) is stale', async (t) => {
  if (!existsSync('/proc/self/stat')) {
    t.skip('no /proc here');
    return;
  }
  const stateDir = tempStateDir(t);
  // `sleep 0` exits at once; its parent exec'd into `sleep 5`, which never reaps it.
  const parent = spawn('/bin/sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  t.after(() => parent.kill('SIGKILL'));
  parent.stdout.setEncoding('utf8');
  const [line] = (await once(parent.stdout, 'data')) as [string];
  const zombie = Number(line.trim());
  for (let i = 0; i < 100 && !readFileSync(`/proc/${zombie}/stat`, 'utf8').includes(') Z '); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  writeLock(stateDir, { pid: zombie, procStartTicks: systemProbe.procStartTicks(zombie) });
  const reported: string[] = [];
  const lock = StateLock.acquire(options(stateDir, { onTakeover: (_p, why) => reported.push(why) }));
  assert.deepEqual(reported, [`pid ${zombie} has exited (a zombie)`]);
  lock.release();
});

test('a lock file kedge did not write is taken over', (t) => {
  const stateDir = tempStateDir(t);
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, 'lock'), 'garbage');
  const reported: string[] = [];
  const lock = StateLock.acquire(
    options(stateDir, { onTakeover: (p, why) => reported.push(`${p === null ? 'null' : p.pid}: ${why}`) }),
  );
  assert.deepEqual(reported, ['null: the lock file is not one kedge wrote']);
  lock.release();
});

test('without /proc facts a live pid counts as held, and the message says how to clear a wrong one', (t) => {
  const stateDir = tempStateDir(t);
  const probe: ProcessProbe = {
    selfPid: process.pid,
    hostname: () => 'box',
    bootId: () => null,
    pidState: () => 'alive',
    procStartTicks: () => null,
  };
  writeLock(stateDir, { pid: 4242, hostname: 'box', bootId: null });
  assert.throws(
    () => StateLock.acquire(options(stateDir, { probe })),
    (err: unknown) =>
      err instanceof StateLockError &&
      err.message.endsWith(`(if pid 4242 on box is not kedge, delete ${join(stateDir, 'lock')})`),
  );
});

test('release leaves a lock that is no longer ours', (t) => {
  const stateDir = tempStateDir(t);
  const lock = StateLock.acquire(options(stateDir));
  // The user deleted it and another kedge up started.
  const other = writeLock(stateDir, { pid: process.ppid });
  lock.release();
  assert.equal(lockContent(stateDir)?.pid, other.pid);
});

test('a takeover already in progress makes a second starter give up', (t) => {
  const stateDir = tempStateDir(t);
  writeLock(stateDir, { pid: deadPid() });
  writeFileSync(join(stateDir, 'lock.takeover'), 'another starter');
  assert.throws(
    () => StateLock.acquire(options(stateDir)),
    (err: unknown) =>
      err instanceof StateLockError && /is starting on \/srv\/app right now/.test(err.message),
  );
});

test('an unwritable state folder is a StateLockError naming it', (t) => {
  const stateDir = tempStateDir(t);
  mkdirSync(join(stateDir, '..'), { recursive: true });
  writeFileSync(stateDir, 'a file where the folder should be');
  assert.throws(
    () => StateLock.acquire(options(stateDir)),
    (err: unknown) =>
      err instanceof StateLockError && err.message.startsWith(`cannot lock the state folder ${stateDir}`),
  );
});

test('starters racing for one stale lock: exactly one wins, the others are told it is taken', async (t) => {
  const stateDir = tempStateDir(t);
  writeLock(stateDir, { pid: deadPid() });
  const moduleUrl = new URL('./state-lock.js', import.meta.url).href;
  // Each starter reports, and a winner holds the lock (stays alive) until the test lets it go.
  const script = `
    const { StateLock } = await import(${JSON.stringify(moduleUrl)});
    try {
      StateLock.acquire({ stateDir: ${JSON.stringify(stateDir)}, dir: '/srv/app', listen: '127.0.0.1', gatewayPort: 0, adminPort: 0 });
      process.stdout.write('won\\n');
      process.stdin.resume();
      process.stdin.on('end', () => process.exit(0));
    } catch (err) {
      process.stdout.write((err.name === 'StateLockError' ? 'lost' : 'error: ' + err.message) + '\\n');
      process.exit(0);
    }`;
  const starters = [1, 2, 3, 4].map(() =>
    spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  t.after(() => {
    for (const s of starters) s.kill();
  });
  const results = await Promise.all(
    starters.map(async (s) => {
      s.stdout.setEncoding('utf8');
      const [line] = (await once(s.stdout, 'data')) as [string];
      return line.trim();
    }),
  );
  assert.deepEqual([...results].sort(), ['lost', 'lost', 'lost', 'won'], `results: ${results.join(', ')}`);
  for (const s of starters) s.stdin.end();
  await Promise.all(starters.map((s) => (s.exitCode === null ? once(s, 'exit') : Promise.resolve())));
});
