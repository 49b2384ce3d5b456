import assert from 'node:assert/strict';
import { test } from 'node:test';
import { browseUrl, failureInWords, formatAge, formatDuration, matchesSearch } from './format.js';

test('formatAge like kubectl', () => {
  const created = '2024-01-01T00:00:00Z';
  const t = Date.parse(created);
  const rows: [number, string][] = [
    [0, '0s'],
    [119_000, '119s'],
    [300_000, '5m'],
    [3 * 3600_000 + 600_000, '3h 10m'],
    [50 * 3600_000, '2d 2h'],
    [-5000, '0s'],
  ];
  for (const [dt, want] of rows) assert.equal(formatAge(created, t + dt), want, `${dt}`);
  assert.equal(formatAge('not a date', t), '?');
});

test('formatDuration', () => {
  assert.equal(formatDuration(850), '850 ms');
  assert.equal(formatDuration(2400), '2.4 s');
  assert.equal(formatDuration(15_000), '15 s');
  assert.equal(formatDuration(65_000), '1 m 5 s');
});

test('browseUrl maps a kedge URL to its .localhost name on the gateway port', () => {
  assert.equal(browseUrl('http://hello.default.example.com', 8080), 'http://hello.default.localhost:8080/');
  assert.equal(
    browseUrl('http://v2-hello.prod.svc.cluster.local', 1234),
    'http://v2-hello.prod.localhost:1234/',
  );
  assert.equal(browseUrl('', 8080), '');
  assert.equal(browseUrl('http://localhost', 8080), '');
});

test('failures in plain words', () => {
  assert.match(failureInWords('ExitCode3', 'x').headline, /exited with code 3/);
  assert.match(failureInWords('ExitCode137', 'x').headline, /killed by signal 9/);
  assert.match(failureInWords('ContainerMissing', '').headline, /not found or is not executable/);
  assert.match(failureInWords('ProgressDeadlineExceeded', '').headline, /\$PORT/);
  assert.match(failureInWords('Odd', '').headline, /Odd/);
  assert.equal(failureInWords('Odd', 'the message').detail, 'the message');
});

test('search matches every word, case-insensitively, in any field', () => {
  assert.ok(matchesSearch('', ['x']));
  assert.ok(matchesSearch('  Hello  default ', ['hello', 'default']));
  assert.ok(matchesSearch('resiz', ['img', 'Resizes images']));
  assert.ok(!matchesSearch('hello prod', ['hello', 'default']));
});
