// End to end: `kedge up` at a real terminal (a detached tmux pane), read back as a person sees it:
// the live block at the bottom at start, the cold-start spinner after a request, scale to zero,
// a narrower window, and the screen after Ctrl-C. Skipped where tmux is not installed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KEDGE_BIN, get, waitFor } from './support/kedge-process.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const HOST = 'helloworld-nodejs.default.example.com';
const WIDTH = 110;
const HEIGHT = 30;
/** A private tmux server, so that nobody else's sessions are touched (and ours are all killed). */
const SOCKET = `kedge-progress-${process.pid}`;
const SESSION = 'kedge';
const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] cold start helloworld-nodejs-00001 \d+\.\ds/;

const tmuxMissing = ((): string | false => {
  const r = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
  return r.status === 0 ? false : 'tmux is not installed (apt-get install -y tmux to run this test)';
})();

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], {
    encoding: 'utf8',
    timeout: 5_000,
  });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr || `exit ${String(r.status)}`}`);
  return r.stdout;
}

/** The visible screen, one string per row, trailing blanks removed. */
function screen(): string[] {
  return tmux('capture-pane', '-p', '-t', SESSION)
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => l.trimEnd());
}

/** Everything the pane printed, scrollback included, wrapped lines joined. */
function history(): string {
  return tmux('capture-pane', '-p', '-J', '-S', '-', '-t', SESSION);
}

/** The rows from the header of the live block down to the last non-blank row. */
function block(rows: readonly string[]): string[] {
  let last = rows.length - 1;
  while (last >= 0 && rows[last] === '') last--;
  const first = rows.findLastIndex((r) => r.startsWith('kedge up · '));
  return first < 0 ? [] : rows.slice(first, last + 1);
}

function untilScreen(what: string, check: (rows: string[]) => boolean, timeoutMs: number): Promise<string[]> {
  return waitFor(
    what,
    () => {
      const rows = screen();
      return Promise.resolve(check(rows) ? rows : undefined);
    },
    timeoutMs,
    50,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\nscreen:\n${screen().join('\n')}`);
  });
}

/** The children of a process, from /proc (no procps needed). */
function childPids(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so parse after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) pids.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return pids;
}

let dir = '';
let kedgePid = 0;
let gatewayPort = 0;

before(async () => {
  if (tmuxMissing !== false) return;
  dir = mkdtempSync(join(tmpdir(), 'kedge-progress-'));
  cpSync(join(EXAMPLES, 'helloworld-nodejs'), join(dir, 'helloworld-nodejs'), { recursive: true });
  // The hello world starts in ~100 ms, faster than a person (or this test) can watch a spinner:
  // a one-second sleep in front of it makes each cold start visible.
  const servicePath = join(dir, 'helloworld-nodejs', 'service.yaml');
  const service = readFileSync(servicePath, 'utf8');
  const slow = service.replace(
    'command: ["node", "index.js"]',
    'command: ["sh", "-c", "sleep 1 && exec node index.js"]',
  );
  assert.notEqual(slow, service, 'the example still has command: ["node", "index.js"]');
  writeFileSync(servicePath, slow);
  // Knative's keys, shortened so that an idle revision reaches zero in about ten seconds.
  writeFileSync(
    join(dir, 'config-autoscaler.yaml'),
    [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: config-autoscaler',
      '  namespace: knative-serving',
      'data:',
      '  stable-window: "6s"',
      '  scale-to-zero-grace-period: "1s"',
      '',
    ].join('\n'),
  );
  // A shell stays in the pane after kedge exits, so the screen (and the cursor) kedge left can be
  // read; a pane with no process left is reset by tmux. Its INT trap keeps it alive through
  // Ctrl-C (kedge, exec'd by env, gets default signal handling back). CI, NO_COLOR and
  // KEDGE_PLAIN from the test's own environment would turn the live view off.
  tmux(
    'new-session',
    '-d',
    '-s',
    SESSION,
    '-x',
    String(WIDTH),
    '-y',
    String(HEIGHT),
    'sh',
    '-c',
    'trap : INT; "$@"; echo "kedge exited with status $?"; exec sleep 120',
    'sh',
    'env',
    '-u',
    'CI',
    '-u',
    'KEDGE_PLAIN',
    '-u',
    'NO_COLOR',
    process.execPath,
    KEDGE_BIN,
    'up',
    '-f',
    dir,
    '--port',
    '0',
    '--admin-port',
    '0',
  );
  const shellPid = Number(tmux('display-message', '-p', '-t', SESSION, '#{pane_pid}').trim());
  kedgePid = await waitFor(
    'kedge to start in the pane',
    () => Promise.resolve(childPids(shellPid)[0]),
    5_000,
  );
});

after(async () => {
  if (tmuxMissing !== false) return;
  if (kedgePid > 0) {
    try {
      process.kill(kedgePid, 'SIGTERM');
      await waitFor(
        'kedge to exit',
        () => {
          try {
            process.kill(kedgePid, 0);
            return Promise.resolve(undefined);
          } catch {
            return Promise.resolve(true);
          }
        },
        15_000,
      ).catch(() => {
        process.kill(kedgePid, 'SIGKILL');
      });
    } catch {
      // Already gone (the Ctrl-C test stopped it).
    }
  }
  spawnSync('tmux', ['-L', SOCKET, 'kill-server'], { timeout: 5_000 });
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

test(
  'kedge up at a terminal: live block, cold start spinner, scale to zero, resize, Ctrl-C',
  {
    skip: tmuxMissing,
    timeout: 120_000,
  },
  async (t) => {
    await t.test('at start: the log scrolls, the block sits at the bottom, nothing wraps', async () => {
      const rows = await untilScreen(
        'the block with the ready service',
        (r) =>
          block(r).some((l) =>
            /^✓ helloworld-nodejs +http:\/\/helloworld-nodejs\.default\.example\.com +rev 00001 1\/1/.test(l),
          ),
        30_000,
      );
      const live = block(rows);
      assert.match(
        live[0] ?? '',
        /^kedge up · gateway http:\/\/127\.0\.0\.1:(\d+) · admin http:\/\/127\.0\.0\.1:\d+ · Ctrl-C to stop$/,
      );
      gatewayPort = Number(/gateway http:\/\/127\.0\.0\.1:(\d+)/.exec(live[0] ?? '')?.[1]);
      assert.ok(gatewayPort > 0);
      for (const row of live)
        assert.ok(row.length < WIDTH, `block rows stay narrower than the window: ${row}`);
      const log = history();
      assert.match(log, /info {2}gateway listening on http:\/\/127\.0\.0\.1:\d+/);
      assert.match(log, /info {2}admin listening on http:\/\/127\.0\.0\.1:\d+/);
      assert.match(log, /cold start default\/helloworld-nodejs-00001: first replica ready in \d+ ms/);
      // The header appears once on screen: the old blocks were erased, not scrolled.
      assert.equal(rows.filter((r) => r.startsWith('kedge up · ')).length, 1, rows.join('\n'));
    });

    await t.test('idle: the revision scales to zero, the scale line scrolls above the block', async () => {
      await untilScreen('rev 00001 0/0', (r) => block(r).some((l) => l.includes('rev 00001 0/0')), 40_000);
      assert.match(history(), /scale .*revision=default\/helloworld-nodejs-00001 from=1 to=0/);
    });

    await t.test('a request: the spinner counts the cold start, then the time is logged above', async () => {
      const answer = get(gatewayPort, HOST);
      const during = await untilScreen(
        'the cold start spinner',
        (r) => block(r).some((l) => SPINNER.test(l)),
        10_000,
      );
      const res = await answer;
      assert.equal(res.status, 200);
      assert.equal(res.body, 'Hello Node.js Sample Native v1!\n');
      const spinnerRow = block(during).findIndex((l) => SPINNER.test(l));
      assert.match(
        block(during)[spinnerRow - 1] ?? '',
        /^✓ helloworld-nodejs .*rev 00001 0\/1/,
        'under its service',
      );
      const done = await untilScreen(
        'the block back to 1/1 without a spinner',
        (r) => block(r).some((l) => l.includes('rev 00001 1/1')) && !block(r).some((l) => SPINNER.test(l)),
        10_000,
      );
      const above = done
        .slice(
          0,
          done.findLastIndex((r) => r.startsWith('kedge up · ')),
        )
        .join('\n');
      assert.match(above.replace(/\n/g, ''), /scale .*from=0 to=1/);
      assert.match(
        above.replace(/\n/g, ''),
        /cold start default\/helloworld-nodejs-00001: first replica ready in \d{3,} ms/,
      );
    });

    await t.test('a narrower window: the block is cut with an ellipsis, never wrapped', async () => {
      const narrow = 50;
      tmux('resize-window', '-t', SESSION, '-x', String(narrow), '-y', String(HEIGHT));
      const rows = await untilScreen(
        'the block redrawn at 50 columns',
        (r) => (block(r)[0] ?? '').endsWith('…') && (block(r)[0] ?? '').length < narrow,
        5_000,
      );
      const live = block(rows);
      assert.equal(live.length, 2, live.join('\n'));
      for (const row of live) assert.ok(row.length < narrow, row);
      assert.equal(rows.filter((r) => r.startsWith('kedge up · ')).length, 1, rows.join('\n'));
    });

    await t.test('Ctrl-C: drains, the block is removed, the cursor is shown again', async () => {
      tmux('send-keys', '-t', SESSION, 'C-c');
      const rows = await untilScreen(
        'kedge to exit',
        (r) => r.some((l) => l.startsWith('kedge exited')),
        20_000,
      );
      assert.ok(rows.includes('kedge exited with status 0'), rows.join('\n'));
      assert.equal(rows.filter((r) => r.startsWith('kedge up · ')).length, 0, rows.join('\n'));
      assert.match(history(), /info {2}stopped/);
      assert.equal(
        tmux('display-message', '-p', '-t', SESSION, '#{cursor_flag}').trim(),
        '1',
        'cursor shown',
      );
    });
  },
);
