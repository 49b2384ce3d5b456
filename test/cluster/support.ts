/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   client-node 1.x models are data-only classes; object literals stand in for them. */
// Shared by the cluster-mode tests: a test API server with the Knative Service CRD and the
// kedge-system namespace, typed clients, and bounded waits.
import { readFileSync } from 'node:fs';
import {
  connect,
  createServer as createNetServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../apiserver/server.js';

export const TESTDATA = fileURLToPath(new URL('../../../test/cluster/testdata/', import.meta.url));
export const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));
export const KEDGE_NS = 'kedge-system';
export const KSVC = { group: 'serving.knative.dev', version: 'v1', plural: 'services' } as const;

export interface TestCluster {
  readonly server: ApiServer;
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly custom: CustomObjectsApi;
  readonly objects: KubernetesObjectApi;
}

export async function startCluster(options: ApiServerOptions = {}): Promise<TestCluster> {
  const server = await startApiServer({ port: 0, ...options });
  const kc = new KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  const objects = kc.makeApiClient(KubernetesObjectApi);
  for (const crd of loadAllYaml(
    readFileSync(TESTDATA + 'serving.knative.dev_services.yaml', 'utf8'),
  ) as KubernetesObject[]) {
    await objects.create(crd);
  }
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: KEDGE_NS } } });
  return {
    server,
    kc,
    core,
    apps: kc.makeApiClient(AppsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    objects,
  };
}

/** A minimal valid Knative Service running `node <script>` (PORT from the environment). */
export function knativeService(
  name: string,
  options: { namespace?: string; env?: Record<string, string>; command?: string[]; workingDir?: string } = {},
): Record<string, unknown> {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: options.namespace ?? 'default' },
    spec: {
      template: {
        spec: {
          containers: [
            {
              image: 'example.invalid/app',
              command: options.command ?? ['node', 'index.js'],
              workingDir: options.workingDir ?? EXAMPLES + 'helloworld-nodejs',
              env: Object.entries(options.env ?? {}).map(([k, v]) => ({ name: k, value: v })),
            },
          ],
        },
      },
    },
  };
}

/**
 * Something that changes and says so: waitFor() re-checks its predicate at every notify(), and
 * fails after timeoutMs. For callbacks (listeners, onChange) rather than polling.
 */
export class Changes {
  private readonly waiters = new Set<() => void>();

  notify(): void {
    for (const w of [...this.waiters]) w();
  }

  waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
    return new Promise((resolve, reject) => {
      const first = check();
      if (first !== undefined && first !== false) {
        resolve(first);
        return;
      }
      const onChange = (): void => {
        const v = check();
        if (v === undefined || v === false) return;
        this.waiters.delete(onChange);
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(onChange);
        reject(new Error(`timed out after ${timeoutMs}ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(onChange);
    });
  }
}

/** Polls `check` every 20 ms until it returns a value; for state only reachable through the API. */
export async function poll<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A TCP proxy in front of the API server that can cut every connection and refuse new ones: a
 * network partition, so a watch really misses what happens meanwhile.
 */
export class Partition {
  private readonly sockets = new Set<Socket>();
  private cut = false;
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(upstreamUrl: string): Promise<Partition> {
    const upstream = new URL(upstreamUrl);
    const holder: { p?: Partition } = {};
    const server = createNetServer((client) => {
      const p = holder.p;
      if (p === undefined || p.cut) {
        client.destroy();
        return;
      }
      const up = connect(Number(upstream.port), upstream.hostname);
      for (const s of [client, up]) {
        p.sockets.add(s);
        s.on('close', () => p.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          up.destroy();
        });
      }
      client.pipe(up);
      up.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    holder.p = new Partition(server, `http://127.0.0.1:${port}`);
    return holder.p;
  }

  /** A KubeConfig like `kc` whose server is this proxy. */
  kubeConfig(kc: KubeConfig): KubeConfig {
    const out = new KubeConfig();
    out.loadFromOptions({
      clusters: kc.clusters.map((c) => ({ ...c, server: this.url })),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
    return out;
  }

  disconnect(): void {
    this.cut = true;
    for (const s of this.sockets) s.destroy();
  }

  reconnect(): void {
    this.cut = false;
  }

  close(): Promise<void> {
    this.disconnect();
    return new Promise((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }
}
