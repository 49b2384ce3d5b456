// A Kubernetes API server for tests: the real REST protocol over plain HTTP on 127.0.0.1, JSON
// only, in-memory storage (store.ts). Enough of the API for kedge's cluster mode, for
// @kubernetes/client-node and for kubectl (discovery, Table output for `kubectl get`, apply).
// Paths and verbs follow https://kubernetes.io/docs/reference/using-api/api-concepts/.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions } from './discovery.js';
import { ApiError, badRequest, notFound, statusBody } from './errors.js';
import { clone, getObject, getString, isObject, parseJson, type Json, type JsonObject } from './json.js';
import {
  PATCH_CONTENT_TYPES,
  applyConfiguration,
  jsonPatch,
  mergePatch,
  strategicMergePatch,
} from './patch.js';
import { openApiV2 } from './openapi.js';
import type { ResourceDef } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { Store, metadataOf, type EventType, type Filter, type PropagationPolicy } from './store.js';

export interface ApiServerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Events kept for watches that resume from a resourceVersion; older ones get 410 Expired. */
  maxEventHistory?: number;
  /** How often a watch with allowWatchBookmarks=true gets a BOOKMARK (the real server: about 1 min). */
  bookmarkIntervalMs?: number;
  /**
   * How a watch from a too-old resourceVersion fails. 'event' (default, like the watch cache):
   * 200 with one ERROR event carrying a 410 Expired Status, then the stream ends. 'status': a
   * plain 410 response, which some servers without a watch cache send.
   */
  expiredWatch?: 'event' | 'status';
  /** Where to write the kubeconfig; a fresh temporary folder (removed on close) by default. */
  kubeconfigPath?: string;
  /**
   * Audit hook: called once for every request on a resource (not discovery, version, health),
   * before it is served, with the Kubernetes verb RBAC would check. Tests use it to compare what
   * a client does with what its Role grants.
   */
  onRequest?: (request: AuditRecord) => void;
}

/** One resource request as RBAC's authorizer sees it (k8s.io/apiserver RequestInfo). */
export interface AuditRecord {
  readonly userAgent: string;
  /** get, list, watch, create, update, patch, delete, deletecollection. */
  readonly verb: string;
  /** "" for the core group. */
  readonly group: string;
  readonly resource: string;
  /** "" when none (status, scale). */
  readonly subresource: string;
  /** "" for cluster-wide requests (and cluster-scoped resources). */
  readonly namespace: string;
  /** "" for collection requests. */
  readonly name: string;
}

/** The RBAC verb of a request (k8s.io/apiserver pkg/endpoints/request/requestinfo.go). */
export function auditVerb(method: string, named: boolean, query: URLSearchParams): string {
  const watch = query.get('watch') === 'true' || query.get('watch') === '1';
  switch (method) {
    case 'GET':
    case 'HEAD':
      return named ? 'get' : watch ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

export interface ApiServer {
  url: string;
  kubeconfigPath: string;
  close(): Promise<void>;
  /** Forgets the watch history: the next watch from an older resourceVersion gets 410 Gone. */
  compact(): void;
  /** The global resourceVersion now. */
  resourceVersion(): string;
}

const MAX_BODY_BYTES = 3 * 1024 * 1024; // the real apiserver's request body limit
const SERVER_VERSION = {
  major: '1',
  minor: '30',
  gitVersion: 'v1.30.0-kedge',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-04-17T00:00:00Z',
  goVersion: 'go1.22.2',
  compiler: 'gc',
  platform: 'linux/amd64',
};

interface Route {
  def: ResourceDef;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

/** What the Accept header asks for, among the representations this server can produce. */
interface Negotiated {
  table: string | undefined;
  partialMetadata: boolean;
  discovery: string | undefined;
}

export async function startApiServer(options: ApiServerOptions = {}): Promise<ApiServer> {
  const store = new Store(options.maxEventHistory ?? 1000);
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 1000;
  const expiredWatch = options.expiredWatch ?? 'event';
  const openWatches = new Set<ServerResponse>();
  let address = '127.0.0.1:0';

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      sendError(res, err);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const segments = url.pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
    const [root, second, third] = segments;

    if (root === 'healthz' || root === 'livez' || root === 'readyz') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
      return;
    }
    if (root === 'version' && segments.length === 1) {
      sendJson(res, 200, SERVER_VERSION);
      return;
    }
    if (root === 'openapi' && second === 'v2' && segments.length === 2) {
      const doc = openApiV2(req.headers.accept);
      res
        .writeHead(200, { 'Content-Type': doc.contentType, 'Content-Length': doc.body.length })
        .end(doc.body);
      return;
    }
    const accept = negotiate(req.headers.accept);
    if (root === 'api' && segments.length === 1) {
      if (accept.discovery !== undefined) {
        sendDiscovery(res, accept.discovery, true);
        return;
      }
      sendJson(res, 200, apiVersions(address));
      return;
    }
    if (root === 'apis' && segments.length === 1) {
      if (accept.discovery !== undefined) {
        sendDiscovery(res, accept.discovery, false);
        return;
      }
      sendJson(res, 200, apiGroupList(store.allResources()));
      return;
    }
    if (root === 'apis' && second !== undefined && segments.length === 2) {
      const group = apiGroup(store.allResources(), second);
      if (group === undefined) throw notFoundPath(url.pathname);
      sendJson(res, 200, group);
      return;
    }
    let group: string;
    let version: string;
    let rest: string[];
    if (root === 'api' && second === 'v1') {
      [group, version, rest] = ['', 'v1', segments.slice(2)];
    } else if (root === 'apis' && second !== undefined && third !== undefined) {
      [group, version, rest] = [second, third, segments.slice(3)];
    } else {
      throw notFoundPath(url.pathname);
    }
    if (rest.length === 0) {
      const list = apiResourceList(store.allResources(), group, version);
      if (list === undefined) throw notFoundPath(url.pathname);
      sendJson(res, 200, list);
      return;
    }
    const route = resolve(group, version, rest, url.pathname);
    options.onRequest?.({
      userAgent: req.headers['user-agent'] ?? '',
      verb: auditVerb(method, route.name !== undefined, url.searchParams),
      group,
      resource: route.def.plural,
      subresource: route.subresource ?? '',
      namespace: route.namespace ?? '',
      name: route.name ?? '',
    });
    await serveResource(req, res, method, url.searchParams, route, accept);
  }

  function sendDiscovery(res: ServerResponse, apiVersion: string, core: boolean): void {
    const version = apiVersion.split('/')[1] ?? 'v2';
    const body = JSON.stringify(aggregatedDiscovery(store.allResources(), core, apiVersion));
    // client-go reads the Content-Type to tell aggregated discovery from the legacy answer.
    res
      .writeHead(200, {
        'Content-Type': `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`,
      })
      .end(body);
  }

  function resolve(group: string, version: string, rest: string[], path: string): Route {
    const [a, b, c, d, e, ...extra] = rest;
    if (a === 'namespaces' && b !== undefined && c !== undefined) {
      const def = store.lookup(group, version, c);
      if (def?.namespaced === true) {
        if (extra.length > 0) throw notFoundPath(path);
        return { def, namespace: b, name: d, subresource: e };
      }
    }
    if (a === undefined) throw notFoundPath(path);
    const def = store.lookup(group, version, a);
    if (def === undefined || rest.length > 3) throw notFoundPath(path);
    if (def.namespaced && b !== undefined) throw notFoundPath(path);
    return { def, namespace: undefined, name: b, subresource: c };
  }

  async function serveResource(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    query: URLSearchParams,
    route: Route,
    accept: Negotiated,
  ): Promise<void> {
    const { def, namespace, name, subresource } = route;
    const dryRun = query.getAll('dryRun').includes('All');
    if (
      subresource !== undefined &&
      !(subresource === 'status' && def.status) &&
      !(subresource === 'scale' && def.scale !== undefined)
    ) {
      throw notFound(def, `${name ?? ''}/${subresource}`);
    }

    if (name === undefined) {
      const filter = parseFilter(def, namespace, query);
      switch (method) {
        case 'GET':
          if (query.get('watch') === 'true' || query.get('watch') === '1') {
            startWatch(req, res, def, filter, query, accept);
            return;
          }
          {
            sendList(res, def, filter, query, accept);
            return;
          }
        case 'POST': {
          if (def.namespaced && namespace === undefined) throw methodNotAllowed(method, def);
          const body = await readObject(req);
          const created = store.create(def, namespace, body, { dryRun });
          sendObject(res, 201, def, created, accept);
          return;
        }
        case 'DELETE': {
          const options = await readDeleteOptions(req, query);
          const deleted: Json[] = [];
          for (const obj of store.list(def, filter)) {
            const meta = metadataOf(obj);
            const result = store.delete(
              def,
              getString(meta, 'namespace'),
              getString(meta, 'name') ?? '',
              options.policy,
              {},
              { dryRun },
            );
            deleted.push(result.object);
          }
          sendJson(res, 200, {
            kind: def.listKind,
            apiVersion: apiVersionOf(def),
            metadata: { resourceVersion: store.resourceVersion },
            items: deleted,
          });
          return;
        }
        default:
          throw methodNotAllowed(method, def);
      }
    }

    switch (method) {
      case 'GET':
        if (subresource === 'scale') {
          sendJson(res, 200, store.getScale(def, namespace, name));
          return;
        }
        {
          sendObject(res, 200, def, store.get(def, namespace, name), accept);
          return;
        }
      case 'PUT': {
        const body = await readObject(req);
        if (subresource === 'scale') {
          sendJson(res, 200, store.updateScale(def, namespace, name, body, { dryRun }));
          return;
        }
        const updated = store.update(
          def,
          namespace,
          name,
          body,
          subresource === 'status' ? 'status' : undefined,
          { dryRun },
        );
        sendObject(res, 200, def, updated, accept);
        return;
      }
      case 'PATCH':
        return patch(req, res, route, name, query, accept, dryRun);
      case 'DELETE': {
        if (subresource !== undefined) throw methodNotAllowed(method, def);
        const options = await readDeleteOptions(req, query);
        const result = store.delete(def, namespace, name, options.policy, options.preconditions, { dryRun });
        // 202 Accepted while finalizers hold the object (apiserver's graceful deletion).
        sendObject(res, result.pending ? 202 : 200, def, result.object, accept);
        return;
      }
      default:
        throw methodNotAllowed(method, def);
    }
  }

  async function patch(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    name: string,
    query: URLSearchParams,
    accept: Negotiated,
    dryRun: boolean,
  ): Promise<void> {
    const { def, namespace, subresource } = route;
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const type = PATCH_CONTENT_TYPES[contentType];
    if (type === undefined) {
      throw new ApiError(
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_CONTENT_TYPES).join(', ')}`,
      );
    }
    const text = await readBody(req);
    const status = subresource === 'status' ? 'status' : undefined;

    if (type === 'apply') {
      const manager = query.get('fieldManager');
      if (manager === null || manager === '')
        throw badRequest('PATCH, fieldManager: Required value: is required for apply patch');
      const applied = parseObject(text, true);
      if (subresource === 'scale') throw methodNotAllowed('apply to scale', def);
      let live: JsonObject | undefined;
      try {
        live = store.get(def, namespace, name);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
      }
      const appliedName = getString(getObject(applied, 'metadata') ?? {}, 'name');
      if (appliedName !== undefined && appliedName !== name) {
        throw badRequest(
          `the name of the object (${appliedName}) does not match the name on the URL (${name})`,
        );
      }
      if (live === undefined) {
        if (status !== undefined) throw notFound(def, name);
        const created = store.create(
          def,
          namespace,
          { ...applied, metadata: { ...getObject(applied, 'metadata'), name } },
          { dryRun },
        );
        if (!dryRun) store.rememberApplied(getString(metadataOf(created), 'uid') ?? '', manager, applied);
        sendObject(res, 201, def, created, accept);
        return;
      }
      const uid = getString(metadataOf(live), 'uid') ?? '';
      const merged = applyConfiguration(live, store.lastApplied(uid, manager), applied);
      metadataOf(merged)['resourceVersion'] = getString(metadataOf(live), 'resourceVersion') ?? '';
      const updated = store.update(def, namespace, name, merged, status, { dryRun });
      if (!dryRun) store.rememberApplied(uid, manager, applied);
      sendObject(res, 200, def, updated, accept);
      return;
    }

    const body = parseJson(text);
    if (body === undefined) throw badRequest('error decoding patch: invalid JSON');
    const current: JsonObject =
      subresource === 'scale' ? store.getScale(def, namespace, name) : store.get(def, namespace, name);
    let patched: Json;
    switch (type) {
      case 'merge':
        patched = mergePatch(current, body);
        break;
      case 'json':
        patched = jsonPatch(current, body);
        break;
      case 'strategic':
        patched = strategicMergePatch(current, body);
        break;
    }
    if (!isObject(patched)) throw new ApiError('Invalid', 'the patch did not result in an object');
    if (subresource === 'scale') {
      sendJson(res, 200, store.updateScale(def, namespace, name, patched, { dryRun }));
      return;
    }
    // A patch that sets metadata.resourceVersion makes it a precondition, as on the real server.
    const updated = store.update(def, namespace, name, patched, status, { dryRun });
    sendObject(res, 200, def, updated, accept);
  }

  function sendList(
    res: ServerResponse,
    def: ResourceDef,
    filter: Filter,
    query: URLSearchParams,
    accept: Negotiated,
  ): void {
    let items = store.list(def, filter);
    const rv = store.resourceVersion;
    const meta: JsonObject = { resourceVersion: rv };
    const token = query.get('continue');
    if (token !== null && token !== '') {
      const after = decodeContinue(token);
      items = items.filter((o) => listKey(o) > after);
    }
    const limit = Number(query.get('limit') ?? '0');
    if (Number.isInteger(limit) && limit > 0 && items.length > limit) {
      const last = items[limit - 1];
      meta['remainingItemCount'] = items.length - limit;
      items = items.slice(0, limit);
      if (last !== undefined)
        meta['continue'] = Buffer.from(JSON.stringify({ after: listKey(last) })).toString('base64url');
    }
    if (accept.table !== undefined) {
      sendJson(res, 200, toTable(def, items, accept.table, meta, query, true));
      return;
    }
    if (accept.partialMetadata) {
      sendJson(res, 200, {
        kind: 'PartialObjectMetadataList',
        apiVersion: 'meta.k8s.io/v1',
        metadata: meta,
        items: items.map(partialMetadata),
      });
      return;
    }
    sendJson(res, 200, { kind: def.listKind, apiVersion: apiVersionOf(def), metadata: meta, items });
  }

  function startWatch(
    req: IncomingMessage,
    res: ServerResponse,
    def: ResourceDef,
    filter: Filter,
    query: URLSearchParams,
    accept: Negotiated,
  ): void {
    const rvParam = query.get('resourceVersion') ?? '';
    // "" and "0" both mean: start from the current state (synthetic ADDED events first).
    let fromRv: number | undefined;
    if (rvParam !== '' && rvParam !== '0') {
      fromRv = Number(rvParam);
      if (!Number.isSafeInteger(fromRv) || fromRv < 0) {
        throw invalid400(`resourceVersion: Invalid value: "${rvParam}": must be an unsigned integer`);
      }
    }
    const sendInitialEvents = query.get('sendInitialEvents') === 'true';
    if (sendInitialEvents) fromRv = undefined;
    let headerSent = false;
    let firstTable = true;
    const buffered: string[] = [];
    const emit = (type: EventType | 'BOOKMARK' | 'ERROR', object: JsonObject): void => {
      let payload = object;
      if (accept.table !== undefined && (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')) {
        payload = toTable(def, [object], accept.table, {}, query, firstTable);
        firstTable = false;
      } else if (accept.partialMetadata && type !== 'ERROR' && type !== 'BOOKMARK') {
        payload = partialMetadata(object);
      }
      const line = JSON.stringify({ type, object: payload }) + '\n';
      // No backpressure: test watchers are local and few, so the socket buffer absorbs bursts.
      if (headerSent) res.write(line);
      else buffered.push(line);
    };
    let unsubscribe: () => void;
    try {
      unsubscribe = store.watch(def, filter, fromRv, emit);
    } catch (err) {
      if (err instanceof ApiError && err.reason === 'Expired' && expiredWatch === 'event') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
        res.end(JSON.stringify({ type: 'ERROR', object: statusBody(err) }) + '\n');
        return;
      }
      throw err;
    }
    const bookmarks = query.get('allowWatchBookmarks') === 'true';
    const bookmark = (annotations?: JsonObject): void => {
      const metadata: JsonObject = { resourceVersion: store.resourceVersion };
      if (annotations !== undefined) metadata['annotations'] = annotations;
      emit('BOOKMARK', { kind: def.kind, apiVersion: apiVersionOf(def), metadata });
    };
    // With sendInitialEvents (KEP-3157, "streaming lists") the end of the initial state is a bookmark.
    if (sendInitialEvents && bookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    headerSent = true;
    for (const line of buffered) res.write(line);
    openWatches.add(res);
    const timers: NodeJS.Timeout[] = [];
    if (bookmarks) timers.push(setInterval(bookmark, bookmarkIntervalMs));
    const timeoutSeconds = Number(query.get('timeoutSeconds') ?? '0');
    if (timeoutSeconds > 0) timers.push(setTimeout(() => res.end(), timeoutSeconds * 1000));
    const stop = (): void => {
      unsubscribe();
      for (const t of timers) clearTimeout(t);
      openWatches.delete(res);
    };
    res.on('close', stop);
    req.on('close', stop);
  }

  function toTable(
    def: ResourceDef,
    items: readonly JsonObject[],
    apiVersion: string,
    meta: JsonObject,
    query: URLSearchParams,
    withColumns: boolean,
  ): JsonObject {
    const include = query.get('includeObject') ?? 'Metadata';
    const nowMs = Date.now();
    return {
      kind: 'Table',
      apiVersion,
      metadata: meta,
      columnDefinitions: withColumns
        ? def.columns.map((c) => ({
            name: c.name,
            type: c.type,
            format: c.format,
            description: c.description,
            priority: c.priority,
          }))
        : [],
      rows: items.map((obj) => {
        const row: JsonObject = { cells: def.columns.map((c) => c.cell(obj, nowMs)) };
        if (include === 'Object') row['object'] = obj;
        else if (include !== 'None') row['object'] = partialMetadata(obj);
        return row;
      }),
    };
  }

  function sendObject(
    res: ServerResponse,
    code: number,
    def: ResourceDef,
    obj: JsonObject,
    accept: Negotiated,
  ): void {
    if (accept.table !== undefined) {
      sendJson(
        res,
        code,
        toTable(
          def,
          [obj],
          accept.table,
          { resourceVersion: store.resourceVersion },
          new URLSearchParams(),
          true,
        ),
      );
      return;
    }
    if (accept.partialMetadata) {
      sendJson(res, code, partialMetadata(obj));
      return;
    }
    sendJson(res, code, obj);
  }

  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
  const port = (server.address() as AddressInfo).port;
  address = `127.0.0.1:${port}`;
  const url = `http://${address}`;
  const ownDir =
    options.kubeconfigPath === undefined ? mkdtempSync(join(tmpdir(), 'kedge-apiserver-')) : undefined;
  const kubeconfigPath = options.kubeconfigPath ?? join(ownDir ?? tmpdir(), 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfig(url));

  return {
    url,
    kubeconfigPath,
    compact: () => {
      store.compact();
    },
    resourceVersion: () => store.resourceVersion,
    close: async () => {
      for (const res of openWatches) res.end();
      openWatches.clear();
      await new Promise<void>((resolvePromise) => {
        server.close(() => {
          resolvePromise();
        });
        server.closeAllConnections();
      });
      if (ownDir !== undefined) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}

/** A kubeconfig with one cluster, no credentials (this server does no authentication). */
export function kubeconfig(server: string): string {
  return stringifyYaml({
    apiVersion: 'v1',
    kind: 'Config',
    // @kubernetes/client-node 1.x refuses an http:// server unless TLS verification is off
    // ("HTTP protocol is not allowed when skipTLSVerify is not set"); kubectl ignores it for http.
    clusters: [{ name: 'kedge-test', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'kedge-test', user: {} }],
    contexts: [
      { name: 'kedge-test', context: { cluster: 'kedge-test', user: 'kedge-test', namespace: 'default' } },
    ],
    'current-context': 'kedge-test',
    preferences: {},
  });
}

function apiVersionOf(def: ResourceDef): string {
  return def.group === '' ? def.version : `${def.group}/${def.version}`;
}

function listKey(obj: JsonObject): string {
  const meta = metadataOf(obj);
  return `${getString(meta, 'namespace') ?? ''}/${getString(meta, 'name') ?? ''}`;
}

function decodeContinue(token: string): string {
  const parsed = parseJson(Buffer.from(token, 'base64url').toString('utf8'));
  const after = isObject(parsed) ? parsed['after'] : undefined;
  if (typeof after !== 'string') throw badRequest('continue key is not valid');
  return after;
}

function partialMetadata(obj: JsonObject): JsonObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: clone(metadataOf(obj)) };
}

function parseFilter(def: ResourceDef, namespace: string | undefined, query: URLSearchParams): Filter {
  return {
    namespace,
    labels: parseLabelSelector(query.get('labelSelector') ?? ''),
    fields: parseFieldSelector(query.get('fieldSelector') ?? '', def.fieldLabels),
  };
}

/**
 * Reads the Accept header. JSON (or a wildcard, or no header) is required; a protobuf-only
 * client gets 406, as this server speaks no protobuf.
 */
function negotiate(header: string | undefined): Negotiated {
  const out: Negotiated = { table: undefined, partialMetadata: false, discovery: undefined };
  if (header === undefined || header.trim() === '') return out;
  let acceptable = false;
  for (const clause of header.split(',')) {
    const [type, ...params] = clause.split(';').map((s) => s.trim());
    const p = new Map(params.map((kv) => kv.split('=', 2).map((s) => s.trim()) as [string, string]));
    if (type === '*/*' || type === 'application/*') acceptable = true;
    if (type !== 'application/json') continue;
    const as = p.get('as');
    const g = p.get('g');
    const v = p.get('v') ?? '';
    if (as === undefined) acceptable = true;
    else if (as === 'Table' && g === 'meta.k8s.io' && (v === 'v1' || v === 'v1beta1')) {
      out.table ??= `meta.k8s.io/${v}`;
      acceptable = true;
    } else if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') {
      if (out.table === undefined) out.partialMetadata = true;
      acceptable = true;
    } else if (
      as === 'APIGroupDiscoveryList' &&
      g === 'apidiscovery.k8s.io' &&
      (v === 'v2' || v === 'v2beta1')
    ) {
      out.discovery ??= `apidiscovery.k8s.io/${v}`;
      acceptable = true;
    }
  }
  if (!acceptable) {
    throw new ApiError('NotAcceptable', `only the following media types are accepted: application/json`);
  }
  return out;
}

function notFoundPath(path: string): ApiError {
  return new ApiError('NotFound', `the server could not find the requested resource (${path})`);
}

function methodNotAllowed(method: string, def: ResourceDef): ApiError {
  return new ApiError('MethodNotAllowed', `${method} is not supported on ${def.plural}`);
}

function invalid400(message: string): ApiError {
  return new ApiError('BadRequest', message);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new ApiError('BadRequest', 'the request body is too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseObject(text: string, yaml: boolean): JsonObject {
  let value: unknown;
  if (yaml) {
    try {
      value = parseYaml(text) as unknown;
    } catch (err) {
      throw new ApiError('BadRequest', `error decoding YAML: ${(err as Error).message}`, undefined, {
        cause: err,
      });
    }
  } else {
    value = parseJson(text);
  }
  if (!isObject(value)) throw badRequest('the body of the request must be a JSON object');
  return value;
}

async function readObject(req: IncomingMessage): Promise<JsonObject> {
  const contentType = (req.headers['content-type'] ?? 'application/json').split(';')[0]?.trim() ?? '';
  if (contentType !== 'application/json' && contentType !== 'application/yaml' && contentType !== '*/*') {
    throw new ApiError(
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
    );
  }
  return parseObject(await readBody(req), contentType === 'application/yaml');
}

async function readDeleteOptions(
  req: IncomingMessage,
  query: URLSearchParams,
): Promise<{ policy: PropagationPolicy; preconditions: { uid?: string; resourceVersion?: string } }> {
  const text = await readBody(req);
  const body = text.trim() === '' ? {} : parseObject(text, false);
  const raw = getString(body, 'propagationPolicy') ?? query.get('propagationPolicy') ?? 'Background';
  // orphanDependents is DeleteOptions' older spelling of propagationPolicy=Orphan.
  const orphan = body['orphanDependents'] === true || query.get('orphanDependents') === 'true';
  const policy = orphan ? 'Orphan' : raw;
  if (policy !== 'Background' && policy !== 'Foreground' && policy !== 'Orphan') {
    throw badRequest(`propagationPolicy: Unsupported value: "${policy}"`);
  }
  const pre = getObject(body, 'preconditions') ?? {};
  const preconditions: { uid?: string; resourceVersion?: string } = {};
  const uid = getString(pre, 'uid');
  const rv = getString(pre, 'resourceVersion');
  if (uid !== undefined) preconditions.uid = uid;
  if (rv !== undefined) preconditions.resourceVersion = rv;
  return { policy, preconditions };
}

function sendJson(res: ServerResponse, code: number, body: JsonObject | Record<string, unknown>): void {
  const text = JSON.stringify(body);
  res
    .writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
    .end(text);
}

/** The one place errors become responses: a Status object with the error's code. */
function sendError(res: ServerResponse, err: unknown): void {
  const apiError =
    err instanceof ApiError
      ? err
      : new ApiError('InternalError', `Internal error occurred: ${String(err)}`, undefined, { cause: err });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, apiError.code, statusBody(apiError));
}
