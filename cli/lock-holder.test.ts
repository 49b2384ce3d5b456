import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  type LockHolder,
  type ProcessFacts,
  type Verdict,
  decodeHolder,
  encodeHolder,
  heldMessage,
  judgeHolder,
} from './lock-holder.js';

const HOLDER: LockHolder = {
  pid: 4242,
  startedAt: '2024-05-01T10:00:00.000Z',
  hostname: 'box',
  procStartTicks: '1000',
  bootId: 'boot-a',
  dir: '/srv/app',
  listen: '127.0.0.1',
  gatewayPort: 8080,
  adminPort: 9090,
};
/** The holder is alive and is the process that wrote the lock. */
const ALIVE: ProcessFacts = {
  selfPid: 7,
  hostname: 'box',
  bootId: 'boot-a',
  pid: 'alive',
  procStartTicks: '1000',
};
const holder = (o: Partial<LockHolder>): LockHolder => ({ ...HOLDER, ...o });
const facts = (o: Partial<ProcessFacts>): ProcessFacts => ({ ...ALIVE, ...o });

interface Case {
  readonly name: string;
  readonly holder?: LockHolder;
  readonly facts: ProcessFacts;
  readonly want: Verdict;
}

const cases: readonly Case[] = [
  { name: 'alive, same start time → held', facts: ALIVE, want: { held: true, verified: true } },
  {
    name: 'no such pid → stale',
    facts: facts({ pid: 'gone', procStartTicks: null }),
    want: { held: false, why: 'no process has pid 4242' },
  },
  {
    name: 'exited but not reaped (a zombie) → stale',
    facts: facts({ pid: 'exited', procStartTicks: null }),
    want: { held: false, why: 'pid 4242 has exited (a zombie)' },
  },
  {
    name: 'pid reused by a later process → stale',
    facts: facts({ procStartTicks: '5000' }),
    want: { held: false, why: 'pid 4242 now belongs to a process started later' },
  },
  {
    name: 'rebooted since → stale, even if the pid exists',
    facts: facts({ bootId: 'boot-b' }),
    want: { held: false, why: 'the machine has restarted since it was written' },
  },
  {
    name: 'our own pid (a restarted container) → stale',
    facts: facts({ selfPid: 4242 }),
    want: { held: false, why: 'its pid 4242 is now this process' },
  },
  {
    name: 'no /proc: a live pid is taken as the holder, unverified',
    holder: holder({ procStartTicks: null, bootId: null }),
    facts: facts({ procStartTicks: null, bootId: null }),
    want: { held: true, verified: false },
  },
  {
    name: 'no /proc: a gone pid is still stale',
    holder: holder({ procStartTicks: null, bootId: null }),
    facts: facts({ pid: 'gone', procStartTicks: null, bootId: null }),
    want: { held: false, why: 'no process has pid 4242' },
  },
  {
    name: 'another host: cannot be checked, so held',
    facts: facts({ hostname: 'other', pid: 'gone' }),
    want: { held: true, verified: false },
  },
];

for (const c of cases) {
  test(`judgeHolder: ${c.name}`, () => {
    assert.deepEqual(judgeHolder(c.holder ?? HOLDER, c.facts), c.want);
  });
}

test('a holder round-trips; anything else decodes to null', () => {
  assert.deepEqual(decodeHolder(encodeHolder(HOLDER)), HOLDER);
  for (const text of ['', 'not json', '[]', '{}', JSON.stringify({ ...HOLDER, pid: -1 })]) {
    assert.equal(decodeHolder(text), null, text);
  }
});

test('the held message names the folder, the pid, where it answers and what to do', () => {
  assert.equal(
    heldMessage(HOLDER, '/srv/app/.kedge/lock', true),
    '/srv/app is already served by kedge up pid 4242 (since 2024-05-01T10:00:00.000Z; gateway http://127.0.0.1:8080, admin http://127.0.0.1:9090; lock /srv/app/.kedge/lock); stop it, or pass a different -f folder',
  );
  const unsure = heldMessage(holder({ gatewayPort: 0, adminPort: 0 }), '/srv/app/.kedge/lock', false);
  assert.match(unsure, /gateway starting, admin starting/);
  assert.match(unsure, /\(if pid 4242 on box is not kedge, delete \/srv\/app\/\.kedge\/lock\)$/);
  assert.ok(!unsure.includes('\n'), 'one line');
});
