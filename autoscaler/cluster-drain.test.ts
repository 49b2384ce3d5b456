import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  chooseVictims,
  drainProgress,
  endpointIdsOf,
  podLoad,
  type DrainingPod,
  type GatewayReport,
  type PodView,
} from './cluster-drain.js';

function pod(name: string, o: Partial<PodView> = {}): PodView {
  return {
    name,
    uid: `uid-${name}`,
    ip: null,
    scheduled: true,
    phase: 'Running',
    ready: true,
    terminating: false,
    draining: false,
    deletionCost: false,
    createdMs: 0,
    ...o,
  };
}

const names = (pods: readonly PodView[]): string[] => pods.map((p) => p.name);

test('chooseVictims ranks as the ReplicaSet deletes, then by fewest in flight', () => {
  const load: Record<string, number> = { a: 5, b: 1, c: 3, d: 0, e: 9 };
  const byLoad = (p: PodView): number => load[p.name] ?? 0;
  const rows: readonly { name: string; pods: PodView[]; count: number; want: string[] }[] = [
    { name: 'least in flight first', pods: [pod('a'), pod('b'), pod('c')], count: 2, want: ['b', 'c'] },
    {
      name: 'not ready before any ready pod',
      pods: [pod('d'), pod('e', { ready: false })],
      count: 1,
      want: ['e'],
    },
    {
      name: 'pending before not ready',
      pods: [pod('a', { ready: false }), pod('e', { phase: 'Pending' })],
      count: 1,
      want: ['e'],
    },
    {
      name: 'unscheduled first',
      pods: [pod('a', { phase: 'Pending' }), pod('e', { scheduled: false })],
      count: 1,
      want: ['e'],
    },
    {
      name: 'newest on a tie',
      pods: [pod('x', { createdMs: 1 }), pod('y', { createdMs: 2 })],
      count: 1,
      want: ['y'],
    },
    {
      name: 'terminating pods are never chosen',
      pods: [pod('d', { terminating: true }), pod('a')],
      count: 2,
      want: ['a'],
    },
    { name: 'count 0', pods: [pod('a')], count: 0, want: [] },
  ];
  for (const r of rows) assert.deepEqual(names(chooseVictims(r.pods, r.count, byLoad)), r.want, r.name);
});

test('endpointIdsOf: the snapshot id at the pod IP, then name and uid', () => {
  const endpoints = [
    { id: 'ep-1', host: '10.1.0.5', port: 8080 },
    { id: 'ep-2', host: '10.1.0.6', port: 8080 },
  ];
  assert.deepEqual(endpointIdsOf(pod('p', { ip: '10.1.0.6' }), endpoints), {
    ids: ['ep-2', 'p', 'uid-p'],
    routed: true,
  });
  assert.deepEqual(endpointIdsOf(pod('q', { ip: '10.1.0.9' }), endpoints), {
    ids: ['q', 'uid-q'],
    routed: false,
  });
});

const report = (receivedAtMs: number, inFlight: Record<string, number>): GatewayReport => ({
  receivedAtMs,
  inFlight,
});

test('podLoad sums fresh gateways only', () => {
  const reports = new Map([
    ['gw-a', report(10_000, { p: 2 })],
    ['gw-b', report(9_500, { p: 3, 'uid-p': 1 })],
    ['gw-old', report(1_000, { p: 7 })],
  ]);
  assert.equal(podLoad(['p', 'uid-p'], reports, 10_000), 5);
});

test('drainProgress: every fresh gateway must report the pod idle after the annotation', () => {
  const d: DrainingPod = { name: 'p', ids: ['ep-1', 'p'], routed: true, startedMs: 1_000 };
  const deadline = 30_000;
  const rows: readonly { name: string; reports: [string, GatewayReport][]; nowMs: number; want: string }[] = [
    { name: 'no gateway at all', reports: [], nowMs: 1_000, want: 'drained' },
    {
      name: 'report from before the annotation',
      reports: [['a', report(900, { 'ep-1': 0 })]],
      nowMs: 1_200,
      want: 'waiting',
    },
    { name: 'busy', reports: [['a', report(2_000, { 'ep-1': 1 })]], nowMs: 2_000, want: 'waiting' },
    {
      name: 'not acknowledged yet (id absent)',
      reports: [['a', report(2_000, {})]],
      nowMs: 2_000,
      want: 'waiting',
    },
    {
      name: 'idle and acknowledged',
      reports: [['a', report(2_000, { 'ep-1': 0 })]],
      nowMs: 2_000,
      want: 'drained',
    },
    {
      name: 'one of two gateways still busy',
      reports: [
        ['a', report(2_000, { 'ep-1': 0 })],
        ['b', report(2_100, { 'ep-1': 2 })],
      ],
      nowMs: 2_100,
      want: 'waiting',
    },
    {
      name: 'a gateway gone silent does not hold the drain',
      reports: [
        ['a', report(5_000, { 'ep-1': 0 })],
        ['b', report(1_500, { 'ep-1': 2 })],
      ],
      nowMs: 5_000,
      want: 'drained',
    },
    {
      name: 'busy past the deadline',
      reports: [['a', report(31_000, { 'ep-1': 1 })]],
      nowMs: 31_000,
      want: 'timeout',
    },
  ];
  for (const r of rows) assert.equal(drainProgress(d, new Map(r.reports), r.nowMs, deadline), r.want, r.name);
  const unrouted: DrainingPod = { ...d, routed: false };
  assert.equal(drainProgress(unrouted, new Map([['a', report(2_000, {})]]), 2_000, deadline), 'drained');
});
