/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment, @typescript-eslint/no-misused-spread --
   client-node 1.x models are data-only classes; object literals and spreads stand in for them. */
// A test "kubelet": stands in for the ReplicaSet controller and the kubelet against the test API
// server, so cluster mode runs end to end on one machine without containers.
//
// - Watches Deployments and keeps spec.replicas Pods for each (named `{deployment}-{random5}`,
//   labels and annotations from the template, owned by the Deployment, so deleting the Deployment
//   takes them with it through the API server's garbage collector).
// - Runs each pod's user container as a local child process (command + args, workingDir, env), the
//   way local mode runs revisions, in its own process group.
// - Gives each pod an IP in 127.0.0.2..254. On Linux all of 127.0.0.0/8 is loopback, and the apps
//   listen on 0.0.0.0, so 127.0.0.x:PORT reaches them; for the same reason two pods cannot share a
//   port as they would on a real cluster (one network namespace here), so each pod gets its own free
//   port, written into the Pod's containerPort and PORT before it is created.
// - Probes TCP readiness and writes pod status (Running, Ready, podIP, containerStatuses) and the
//   Deployment's status (replicas, readyReplicas, availableReplicas).
// - Scale-down deletes pods in the ReplicaSet controller's order (ActivePodsWithRanks, simplified):
//   not running before running, not ready before ready, lower controller.kubernetes.io/pod-deletion-cost
//   before higher, newer before older. Note that readiness ranks above the deletion cost there.
//   The ranking reads the pods afresh from the API, not from the watch cache.
// - A deleted pod's process gets SIGTERM, then SIGKILL after its grace (capped for tests).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';
import {
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Deployment,
  type V1Pod,
} from '@kubernetes/client-node';
import { silentLogger, type Logger } from '../../lib/log.js';
import { WatchedCollection } from '../../controller/sources/kube-watch.js';

export const DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';

export interface KubeletOptions {
  readonly kc: KubeConfig;
  readonly logger?: Logger;
  /** Cap on terminationGracePeriodSeconds before SIGKILL; default 2000 ms. */
  readonly maxGraceMs?: number;
  /** Readiness probe period; default 25 ms. */
  readonly probeIntervalMs?: number;
}

interface PodProcess {
  readonly namespace: string;
  readonly name: string;
  readonly deploymentUid: string;
  readonly seq: number;
  readonly ip: string;
  readonly port: number;
  readonly graceMs: number;
  child: ChildProcess | null;
  /** Seen in the watch cache at least once (so its absence means it was deleted). */
  seen: boolean;
  ready: boolean;
  stopping: boolean;
  readonly output: string[];
  exited: Promise<void>;
}

const FIELD_MANAGER = 'kedge-test-kubelet';

export class Kubelet {
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly deployments: WatchedCollection<V1Deployment>;
  private readonly pods: WatchedCollection<V1Pod>;
  private readonly procs = new Map<string, PodProcess>();
  private readonly logger: Logger;
  private seq = 0;
  private nextIp = 2;
  private syncing: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private readonly statusKeys = new Map<string, string>();

  constructor(private readonly options: KubeletOptions) {
    this.logger = options.logger ?? silentLogger;
    this.apps = options.kc.makeApiClient(AppsV1Api);
    this.core = options.kc.makeApiClient(CoreV1Api);
    const changed = (): void => {
      this.trigger();
    };
    this.deployments = new WatchedCollection<V1Deployment>({
      kc: options.kc,
      path: '/apis/apps/v1/deployments',
      list: () => this.apps.listDeploymentForAllNamespaces(),
      logger: this.logger,
      onChange: changed,
    });
    this.pods = new WatchedCollection<V1Pod>({
      kc: options.kc,
      path: '/api/v1/pods',
      list: () => this.core.listPodForAllNamespaces(),
      logger: this.logger,
      onChange: changed,
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.deployments.start(), this.pods.start()]);
    this.trigger();
  }

  /** Pods this kubelet runs now, with their address. */
  running(): readonly { name: string; ip: string; port: number; ready: boolean; pid: number | undefined }[] {
    return [...this.procs.values()].map((p) => ({
      name: p.name,
      ip: p.ip,
      port: p.port,
      ready: p.ready,
      pid: p.child?.pid,
    }));
  }

  /** Kills every process at once (SIGKILL) and stops watching. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.deployments.stop(), this.pods.stop()]);
    for (const p of this.procs.values()) killGroup(p.child, 'SIGKILL');
    await Promise.all([...this.procs.values()].map((p) => p.exited));
    this.procs.clear();
  }

  private trigger(): void {
    if (this.closed) return;
    if (this.syncing !== null) {
      this.again = true;
      return;
    }
    this.syncing = this.sync()
      .catch((err: unknown) => {
        if (!this.closed) this.logger.warn('kubelet sync failed', { error: String(err) });
      })
      .finally(() => {
        this.syncing = null;
        if (this.again) {
          this.again = false;
          this.trigger();
        }
      });
  }

  private async sync(): Promise<void> {
    const livePods = new Map<string, V1Pod>();
    for (const pod of this.pods.list())
      livePods.set(`${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`, pod);

    // Pods gone from the API (deleted by us, by GC, by a test): stop their process.
    for (const [key, p] of this.procs) {
      const pod = livePods.get(key);
      if (pod !== undefined) p.seen = true;
      if ((pod === undefined && p.seen) || pod?.metadata?.deletionTimestamp != null) {
        this.procs.delete(key);
        void this.stop(p);
      }
    }

    for (const d of this.deployments.list()) {
      if (this.closed) return;
      const uid = d.metadata?.uid ?? '';
      const namespace = d.metadata?.namespace ?? '';
      const mine = [...this.procs.values()].filter((p) => p.deploymentUid === uid && !p.stopping);
      const want = d.spec?.replicas ?? 1;
      for (let i = mine.length; i < want; i++) await this.createPod(d);
      if (mine.length > want) {
        // Ranked on a fresh read: the pods' watch can lag the Deployment's, and the deletion cost
        // the autoscaler wrote just before it scaled down must count.
        const fresh = await this.core.listNamespacedPod({ namespace }).catch(() => undefined);
        for (const pod of fresh?.items ?? [])
          livePods.set(`${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`, pod);
        const victims = rankForDeletion(mine, livePods).slice(0, mine.length - want);
        for (const v of victims) {
          this.procs.delete(`${v.namespace}/${v.name}`);
          void this.stop(v);
          await this.core.deleteNamespacedPod({ name: v.name, namespace }).catch(() => undefined);
        }
      }
      const owned = [...this.procs.values()].filter((p) => p.deploymentUid === uid && !p.stopping);
      const readyCount = owned.filter((p) => p.ready).length;
      const status = {
        observedGeneration: d.metadata?.generation ?? 0,
        replicas: owned.length,
        updatedReplicas: owned.length,
        readyReplicas: readyCount,
        availableReplicas: readyCount,
      };
      const statusKey = JSON.stringify(status);
      if (this.statusKeys.get(uid) !== statusKey) {
        this.statusKeys.set(uid, statusKey);
        await this.apps
          .patchNamespacedDeploymentStatus(
            { name: d.metadata?.name ?? '', namespace, body: { status }, fieldManager: FIELD_MANAGER },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          )
          .catch(() => undefined);
      }
    }
  }

  private async createPod(d: V1Deployment): Promise<void> {
    const namespace = d.metadata?.namespace ?? '';
    const name = `${d.metadata?.name ?? 'pod'}-${randomSuffix()}`;
    const template = d.spec?.template;
    const containers = (template?.spec?.containers ?? []).map((c) => ({ ...c }));
    const [user] = containers;
    if (user === undefined) return;
    const port = await freePort();
    user.ports = [{ ...(user.ports?.[0] ?? {}), containerPort: port }];
    user.env = [...(user.env ?? []).filter((e) => e.name !== 'PORT'), { name: 'PORT', value: String(port) }];
    const ip = this.allocateIp();
    const graceMs = Math.min(
      this.options.maxGraceMs ?? 2000,
      (template?.spec?.terminationGracePeriodSeconds ?? 30) * 1000,
    );
    const pod: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace,
        labels: { ...template?.metadata?.labels },
        annotations: { ...template?.metadata?.annotations },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: d.metadata?.name ?? '',
            uid: d.metadata?.uid ?? '',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: { ...template?.spec, containers, nodeName: 'kedge-test-node' },
    };
    const p: PodProcess = {
      namespace,
      name,
      deploymentUid: d.metadata?.uid ?? '',
      seq: this.seq++,
      ip,
      port,
      graceMs,
      child: null,
      seen: false,
      ready: false,
      stopping: false,
      output: [],
      exited: Promise.resolve(),
    };
    this.procs.set(`${namespace}/${name}`, p);
    try {
      await this.core.createNamespacedPod({ namespace, body: pod });
    } catch (err) {
      this.procs.delete(`${namespace}/${name}`);
      throw err;
    }
    await this.patchPodStatus(p, {
      phase: 'Pending',
      hostIP: '127.0.0.1',
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: 'False' },
      ],
    });
    this.run(p, user);
  }

  private run(p: PodProcess, c: NonNullable<NonNullable<V1Pod['spec']>['containers']>[number]): void {
    const argv = [...(c.command ?? []), ...(c.args ?? [])];
    const [file, ...rest] = argv;
    if (file === undefined) return;
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    for (const e of c.env ?? []) env[e.name] = e.value ?? '';
    const child = spawn(file, rest, {
      cwd: c.workingDir ?? process.cwd(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    p.child = child;
    const exited = new Promise<void>((resolve) =>
      child.once('close', () => {
        resolve();
      }),
    );
    p.exited = exited;
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        p.output.push(...chunk.split('\n').filter((l) => l !== ''));
        if (p.output.length > 20) p.output.splice(0, p.output.length - 20);
      });
    }
    child.on('error', (err) => {
      p.output.push(String(err));
    });
    child.once('exit', (code, signal) => {
      p.ready = false;
      if (p.stopping || this.closed) return;
      const exitCode = code ?? (signal === null ? 1 : 128);
      void this.patchPodStatus(p, {
        phase: 'Running',
        conditions: [
          { type: 'PodScheduled', status: 'True' },
          { type: 'Ready', status: 'False' },
        ],
        containerStatuses: [
          {
            name: c.name,
            image: c.image ?? '',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: {
              waiting: {
                reason: 'CrashLoopBackOff',
                message: `back-off restarting failed container ${c.name}`,
              },
            },
            lastState: { terminated: { exitCode, reason: 'Error', message: p.output.slice(-5).join('\n') } },
          },
        ],
      });
      this.trigger();
    });
    void this.probe(p, c);
  }

  private async probe(
    p: PodProcess,
    c: NonNullable<NonNullable<V1Pod['spec']>['containers']>[number],
  ): Promise<void> {
    const interval = this.options.probeIntervalMs ?? 25;
    // A function, so TypeScript does not keep its narrowing across the awaits below.
    const over = (): boolean => p.stopping || this.closed || p.child?.exitCode !== null;
    while (!over()) {
      if (await tcpOpen(p.ip, p.port)) {
        if (over()) return;
        p.ready = true;
        const now = new Date().toISOString();
        await this.patchPodStatus(p, {
          phase: 'Running',
          startTime: now,
          conditions: [
            { type: 'PodScheduled', status: 'True' },
            { type: 'Initialized', status: 'True' },
            { type: 'ContainersReady', status: 'True' },
            { type: 'Ready', status: 'True', lastTransitionTime: now },
          ],
          containerStatuses: [
            {
              name: c.name,
              image: c.image ?? '',
              imageID: '',
              ready: true,
              started: true,
              restartCount: 0,
              state: { running: { startedAt: now } },
            },
          ],
        });
        this.trigger();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, interval));
    }
  }

  private async patchPodStatus(p: PodProcess, status: Record<string, unknown>): Promise<void> {
    await this.core
      .patchNamespacedPodStatus(
        { name: p.name, namespace: p.namespace, body: { status }, fieldManager: FIELD_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )
      .catch(() => undefined); // deleted meanwhile
  }

  private async stop(p: PodProcess): Promise<void> {
    if (p.stopping) return p.exited;
    p.stopping = true;
    p.ready = false;
    const child = p.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return p.exited;
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
    }, p.graceMs);
    await p.exited;
    clearTimeout(timer);
  }

  private allocateIp(): string {
    const used = new Set([...this.procs.values()].map((p) => p.ip));
    for (let i = 0; i < 253; i++) {
      const x = this.nextIp;
      this.nextIp = x >= 254 ? 2 : x + 1;
      const ip = `127.0.0.${x}`;
      if (!used.has(ip)) return ip;
    }
    throw new Error('kubelet: no free pod IP left in 127.0.0.2..254');
  }
}

/** The ReplicaSet controller's deletion order, simplified (see the header). */
function rankForDeletion(pods: readonly PodProcess[], live: ReadonlyMap<string, V1Pod>): PodProcess[] {
  const rank = (p: PodProcess): [number, number, number, number] => {
    const pod = live.get(`${p.namespace}/${p.name}`);
    const running = pod?.status?.phase === 'Running' ? 1 : 0;
    const cost = Number(pod?.metadata?.annotations?.[DELETION_COST_ANNOTATION] ?? '0');
    return [running, p.ready ? 1 : 0, Number.isFinite(cost) ? cost : 0, -p.seq];
  };
  return [...pods].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < ra.length; i++) {
      const d = (ra[i] ?? 0) - (rb[i] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  });
}

function killGroup(child: ChildProcess | null, signal: NodeJS.Signals): void {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function randomSuffix(): string {
  // Kubernetes' generateName alphabet has no vowels; any 5 lowercase alphanumerics will do here.
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length] ?? 'x').join('');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '0.0.0.0', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => {
        resolve(port);
      });
    });
  });
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(200, () => {
      done(false);
    });
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}
