// Raw HTTP against the test API server: each verb, each error the controller must handle, the
// generation rules, the status and scale subresources, watch (with bookmarks and 410), cascading
// deletion and the patch types. Real sockets on 127.0.0.1; every wait is bounded.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { isObject, scalarText, type JsonObject } from './json.js';
import { startApiServer, type ApiServer } from './server.js';
import { WatchStream, call, metaField, nameOf } from './testing.js';

const TESTDATA = fileURLToPath(new URL('../../../test/apiserver/testdata/', import.meta.url));
const KSVC_CRD = parseYaml(
  readFileSync(TESTDATA + 'serving.knative.dev_services.yaml', 'utf8'),
) as JsonObject;
const KSVC = '/apis/serving.knative.dev/v1/namespaces/default/services';
const CM = '/api/v1/namespaces/default/configmaps';
const DEPLOY = '/apis/apps/v1/namespaces/default/deployments';

function configMap(name: string, extra: JsonObject = {}): JsonObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data: { k: 'v' } };
}

function deployment(name: string, replicas = 1): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'user-container', image: 'x' }] },
      },
    },
  };
}

function ksvc(name: string): JsonObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name },
    spec: { template: { spec: { containers: [{ image: 'docker.io/x/hello' }] } } },
  };
}

function rvOf(obj: JsonObject): string {
  const rv = metaField(obj, 'resourceVersion');
  assert.equal(typeof rv, 'string', 'resourceVersion is a string');
  return rv as string;
}

let server: ApiServer;
let url: string;
const get = (path: string, accept?: string) => call(url, 'GET', path, accept === undefined ? {} : { accept });
const post = (path: string, body: JsonObject) => call(url, 'POST', path, { body });
const put = (path: string, body: JsonObject) => call(url, 'PUT', path, { body });
const del = (path: string, body?: JsonObject) =>
  call(url, 'DELETE', path, body === undefined ? {} : { body });
const patch = (path: string, contentType: string, body: JsonObject | JsonObject[] | string) =>
  call(url, 'PATCH', path, { body, contentType });

before(async () => {
  server = await startApiServer({ port: 0, bookmarkIntervalMs: 50 });
  url = server.url;
  const crd = await post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', KSVC_CRD);
  assert.equal(crd.status, 201, crd.text);
});
after(async () => {
  await server.close();
});

describe('discovery', () => {
  test('core, groups and group versions list the served resources and subresources', async () => {
    assert.deepEqual((await get('/api')).body['versions'], ['v1']);
    const groups = (await get('/apis')).body['groups'];
    assert.ok(Array.isArray(groups));
    const names = groups.map((g) => (isObject(g) ? g['name'] : undefined));
    assert.ok(names.includes('apps') && names.includes('serving.knative.dev'), JSON.stringify(names));
    const apps = (await get('/apis/apps/v1')).body['resources'];
    assert.ok(Array.isArray(apps));
    const scale = apps.find((r) => isObject(r) && r['name'] === 'deployments/scale');
    assert.ok(isObject(scale) && scale['kind'] === 'Scale' && scale['group'] === 'autoscaling');
    const serving = (await get('/apis/serving.knative.dev/v1')).body['resources'];
    assert.ok(Array.isArray(serving));
    const svc = serving.find((r) => isObject(r) && r['name'] === 'services');
    assert.ok(isObject(svc));
    assert.deepEqual(svc['shortNames'], ['kservice', 'ksvc']);
    assert.ok(serving.some((r) => isObject(r) && r['name'] === 'services/status'));
  });

  test('aggregated discovery answers with its own content type', async () => {
    const reply = await get(
      '/apis',
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
    );
    assert.equal(reply.status, 200);
    assert.equal(
      reply.headers['content-type'],
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
    );
    assert.equal(reply.body['kind'], 'APIGroupDiscoveryList');
    assert.match(reply.text, /"resource":"deployments".*"subresource":"scale"/);
  });

  test('a protobuf-only Accept header gets 406 with a Status body', async () => {
    const reply = await get(CM, 'application/vnd.kubernetes.protobuf');
    assert.equal(reply.status, 406);
    assert.equal(reply.body['kind'], 'Status');
    assert.equal(reply.body['reason'], 'NotAcceptable');
  });

  test('PartialObjectMetadataList carries metadata only', async () => {
    await post(CM, configMap('partial', { labels: { partial: 'y' } }));
    const reply = await get(
      `${CM}?labelSelector=partial`,
      'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json',
    );
    assert.equal(reply.body['kind'], 'PartialObjectMetadataList');
    const items = reply.body['items'];
    assert.ok(Array.isArray(items) && isObject(items[0]));
    assert.equal(items[0]['kind'], 'PartialObjectMetadata');
    assert.equal(items[0]['data'], undefined);
    assert.equal(nameOf(items[0]), 'partial');
  });

  test('unknown paths and resources are 404 Status objects', async () => {
    for (const path of ['/apis/nope.example.com/v1', '/api/v1/namespaces/default/widgets', '/nothing']) {
      const reply = await get(path);
      assert.equal(reply.status, 404, path);
      assert.equal(reply.body['kind'], 'Status');
      assert.equal(reply.body['status'], 'Failure');
    }
  });
});

describe('create, get, list', () => {
  test('create answers 201 with uid, creationTimestamp and a resourceVersion', async () => {
    const reply = await post(CM, configMap('create-1'));
    assert.equal(reply.status, 201);
    assert.match(scalarText(metaField(reply.body, 'uid')), /^[0-9a-f-]{36}$/);
    assert.match(scalarText(metaField(reply.body, 'creationTimestamp')), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(metaField(reply.body, 'namespace'), 'default');
    const got = await get(`${CM}/create-1`);
    assert.deepEqual(got.body, reply.body);
  });

  test('a second create of the same name is 409 AlreadyExists', async () => {
    await post(CM, configMap('dup'));
    const reply = await post(CM, configMap('dup'));
    assert.equal(reply.status, 409);
    assert.equal(reply.body['reason'], 'AlreadyExists');
    assert.equal(reply.body['message'], 'configmaps "dup" already exists');
    assert.deepEqual(reply.body['details'], { name: 'dup', group: '', kind: 'configmaps' });
  });

  test('generateName gets a random suffix', async () => {
    const reply = await post(CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } });
    assert.equal(reply.status, 201);
    assert.match(String(nameOf(reply.body)), /^gen-[a-z0-9]{5}$/);
  });

  test('get of a missing object is 404 NotFound naming the resource', async () => {
    const reply = await get(`${KSVC}/missing`);
    assert.equal(reply.status, 404);
    assert.equal(reply.body['reason'], 'NotFound');
    assert.equal(reply.body['message'], 'services.serving.knative.dev "missing" not found');
  });

  test('creating in a namespace that does not exist is 404', async () => {
    const reply = await post('/api/v1/namespaces/nowhere/configmaps', configMap('x'));
    assert.equal(reply.status, 404);
    assert.equal(reply.body['message'], 'namespaces "nowhere" not found');
  });

  test('an invalid name is 422 Invalid', async () => {
    const reply = await post(CM, configMap('Not_Valid'));
    assert.equal(reply.status, 422);
    assert.equal(reply.body['reason'], 'Invalid');
  });

  test('list filters by labelSelector and fieldSelector metadata.name', async () => {
    await post(CM, configMap('sel-a', { labels: { tier: 'web', team: 'a' } }));
    await post(CM, configMap('sel-b', { labels: { tier: 'web', team: 'b' } }));
    await post(CM, configMap('sel-c', { labels: { tier: 'db' } }));
    const names = async (query: string): Promise<(string | undefined)[]> => {
      const reply = await get(`${CM}?${query}`);
      assert.equal(reply.status, 200, reply.text);
      const items = reply.body['items'];
      assert.ok(Array.isArray(items));
      return items.map(nameOf);
    };
    assert.deepEqual(await names('labelSelector=tier%3Dweb'), ['sel-a', 'sel-b']);
    assert.deepEqual(await names('labelSelector=tier%3Dweb,team!%3Da'), ['sel-b']);
    assert.deepEqual(await names('labelSelector=tier%20in%20(db,cache)'), ['sel-c']);
    assert.deepEqual(await names('fieldSelector=metadata.name%3Dsel-b'), ['sel-b']);
    const bad = await get(`${CM}?fieldSelector=spec.nope%3Dx`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body['message'], 'field label not supported: spec.nope');
  });

  test('list carries the global resourceVersion and paginates with limit/continue', async () => {
    for (const n of ['page-1', 'page-2', 'page-3']) await post(CM, configMap(n, { labels: { page: 'yes' } }));
    const first = await get(`${CM}?labelSelector=page&limit=2`);
    assert.equal(first.body['kind'], 'ConfigMapList');
    const meta = first.body['metadata'];
    assert.ok(isObject(meta) && typeof meta['continue'] === 'string');
    assert.equal(meta['resourceVersion'], server.resourceVersion());
    const second = await get(`${CM}?labelSelector=page&limit=2&continue=${meta['continue']}`);
    const items = second.body['items'];
    assert.ok(Array.isArray(items));
    assert.deepEqual(items.map(nameOf), ['page-3']);
  });

  test('resourceVersion grows with every write, across resource types', async () => {
    const a = rvOf((await post(CM, configMap('rv-a'))).body);
    const b = rvOf((await post(DEPLOY, deployment('rv-b'))).body);
    assert.ok(Number(b) > Number(a));
  });
});

describe('update', () => {
  test('PUT with a stale resourceVersion is 409 Conflict; with the current one it succeeds', async () => {
    const created = (await post(CM, configMap('upd'))).body;
    const first = await put(`${CM}/upd`, { ...created, data: { k: 'v2' } });
    assert.equal(first.status, 200);
    assert.notEqual(rvOf(first.body), rvOf(created));
    const stale = await put(`${CM}/upd`, { ...created, data: { k: 'v3' } });
    assert.equal(stale.status, 409);
    assert.equal(stale.body['reason'], 'Conflict');
    assert.match(
      scalarText(stale.body['message']),
      /the object has been modified; please apply your changes to the latest version/,
    );
  });

  test('a no-op PUT keeps the resourceVersion and sends no event', async () => {
    const created = (await post(CM, configMap('noop'))).body;
    const again = await put(`${CM}/noop`, created);
    assert.equal(again.status, 200);
    assert.equal(rvOf(again.body), rvOf(created));
  });

  test('custom resources refuse a PUT without resourceVersion (422)', async () => {
    const created = (await post(KSVC, ksvc('no-rv'))).body;
    const { resourceVersion: _rv, ...meta } = created['metadata'] as JsonObject;
    const reply = await put(`${KSVC}/no-rv`, { ...created, metadata: meta });
    assert.equal(reply.status, 422);
  });

  test('PUT of a missing object is 404, and a name mismatch is 400', async () => {
    assert.equal((await put(`${CM}/ghost`, configMap('ghost'))).status, 404);
    await post(CM, configMap('named'));
    assert.equal((await put(`${CM}/named`, configMap('other'))).status, 400);
  });
});

describe('generation and the status subresource', () => {
  test('generation moves on spec changes only', async () => {
    const created = (await post(DEPLOY, deployment('gen'))).body;
    assert.equal(metaField(created, 'generation'), 1);
    const labelled = (
      await put(`${DEPLOY}/gen`, {
        ...created,
        metadata: { ...(created['metadata'] as JsonObject), labels: { app: 'gen', x: 'y' } },
      })
    ).body;
    assert.equal(metaField(labelled, 'generation'), 1, 'metadata-only change');
    const spec = labelled['spec'] as JsonObject;
    const scaled = (await put(`${DEPLOY}/gen`, { ...labelled, spec: { ...spec, replicas: 3 } })).body;
    assert.equal(metaField(scaled, 'generation'), 2, 'spec change');
    const status = await put(`${DEPLOY}/gen/status`, {
      ...scaled,
      status: { replicas: 3, readyReplicas: 3 },
    });
    assert.equal(status.status, 200);
    assert.equal(metaField(status.body, 'generation'), 2, 'status change');
    assert.deepEqual(status.body['status'], { replicas: 3, readyReplicas: 3 });
  });

  test('a status update changes only status; a main update ignores status', async () => {
    const created = (await post(KSVC, ksvc('status-only'))).body;
    assert.equal(created['status'], undefined, 'status is dropped on create');
    const viaStatus = await put(`${KSVC}/status-only/status`, {
      ...created,
      spec: { template: { spec: { containers: [{ image: 'changed' }] } } },
      status: {
        url: 'http://status-only.default.example.com',
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    });
    assert.equal(viaStatus.status, 200);
    assert.deepEqual(viaStatus.body['spec'], created['spec'], 'spec untouched through /status');
    assert.equal(metaField(viaStatus.body, 'generation'), 1);
    const viaMain = await put(`${KSVC}/status-only`, { ...viaStatus.body, status: { url: 'http://lost' } });
    assert.equal(viaMain.status, 200);
    assert.deepEqual(
      viaMain.body['status'],
      viaStatus.body['status'],
      'status untouched through the main resource',
    );
    assert.equal(rvOf(viaMain.body), rvOf(viaStatus.body), 'nothing changed, so no new resourceVersion');
  });

  test('custom resources: any change outside metadata and status moves generation', async () => {
    const created = (await post(KSVC, ksvc('gen-cr'))).body;
    const changed = await put(`${KSVC}/gen-cr`, {
      ...created,
      spec: { template: { spec: { containers: [{ image: 'v2' }] } } },
    });
    assert.equal(metaField(changed.body, 'generation'), 2);
  });

  test('fields outside the CRD schema are pruned', async () => {
    const reply = await post(KSVC, { ...ksvc('pruned'), extra: { dropped: true } });
    assert.equal(reply.status, 201);
    assert.equal(reply.body['extra'], undefined);
    assert.ok(isObject(reply.body['spec']));
  });

  test('the Table form carries the CRD printer columns', async () => {
    const created = (await post(KSVC, ksvc('table'))).body;
    await put(`${KSVC}/table/status`, {
      ...created,
      status: {
        url: 'http://table.default.example.com',
        conditions: [{ type: 'Ready', status: 'True', reason: 'Ok' }],
      },
    });
    const reply = await get(
      `${KSVC}?fieldSelector=metadata.name%3Dtable`,
      'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
    );
    assert.equal(reply.body['kind'], 'Table');
    const columns = reply.body['columnDefinitions'];
    assert.ok(Array.isArray(columns));
    assert.deepEqual(
      columns.map((c) => (isObject(c) ? c['name'] : '')),
      ['Name', 'URL', 'LatestCreated', 'LatestReady', 'Ready', 'Reason'],
    );
    const rows = reply.body['rows'];
    assert.ok(Array.isArray(rows) && isObject(rows[0]));
    assert.deepEqual(rows[0]['cells'], [
      'table',
      'http://table.default.example.com',
      null,
      null,
      'True',
      'Ok',
    ]);
  });
});

describe('scale subresource', () => {
  test('GET returns an autoscaling/v1 Scale with the selector', async () => {
    await post(DEPLOY, deployment('scaled', 2));
    const reply = await get(`${DEPLOY}/scaled/scale`);
    assert.equal(reply.status, 200);
    assert.equal(reply.body['kind'], 'Scale');
    assert.equal(reply.body['apiVersion'], 'autoscaling/v1');
    assert.deepEqual(reply.body['spec'], { replicas: 2 });
    assert.deepEqual(reply.body['status'], { replicas: 0, selector: 'app=scaled' });
  });

  test('PUT and PATCH of the scale write spec.replicas and move generation', async () => {
    const scale = (await get(`${DEPLOY}/scaled/scale`)).body;
    const put1 = await put(`${DEPLOY}/scaled/scale`, { ...scale, spec: { replicas: 5 } });
    assert.equal(put1.status, 200);
    assert.deepEqual(put1.body['spec'], { replicas: 5 });
    const patched = await patch(`${DEPLOY}/scaled/scale`, 'application/merge-patch+json', {
      spec: { replicas: 0 },
    });
    assert.equal(patched.status, 200);
    const dep = (await get(`${DEPLOY}/scaled`)).body;
    assert.equal((dep['spec'] as JsonObject)['replicas'], 0);
    assert.equal(metaField(dep, 'generation'), 3);
  });

  test('a stale Scale resourceVersion is 409, a negative replica count 422', async () => {
    const scale = (await get(`${DEPLOY}/scaled/scale`)).body;
    await put(`${DEPLOY}/scaled/scale`, { ...scale, spec: { replicas: 1 } });
    assert.equal((await put(`${DEPLOY}/scaled/scale`, { ...scale, spec: { replicas: 2 } })).status, 409);
    const { resourceVersion: _rv, ...meta } = scale['metadata'] as JsonObject;
    assert.equal(
      (await put(`${DEPLOY}/scaled/scale`, { ...scale, metadata: meta, spec: { replicas: -1 } })).status,
      422,
    );
  });

  test('resources without a scale subresource answer 404 on /scale', async () => {
    await post(CM, configMap('no-scale'));
    assert.equal((await get(`${CM}/no-scale/scale`)).status, 404);
  });
});

describe('watch', () => {
  test('from a resourceVersion: ADDED, MODIFIED, DELETED in order, with the new resourceVersions', async (t) => {
    const list = await get(`${CM}?labelSelector=w%3D1`);
    const rv = scalarText((list.body['metadata'] as JsonObject)['resourceVersion']);
    const watch = new WatchStream(url, `${CM}?watch=1&resourceVersion=${rv}&labelSelector=w%3D1`);
    t.after(() => {
      watch.close();
    });
    const created = (await post(CM, configMap('watched', { labels: { w: '1' } }))).body;
    const updated = (await put(`${CM}/watched`, { ...created, data: { k: 'changed' } })).body;
    const deleted = await del(`${CM}/watched`);
    assert.equal(deleted.status, 200);
    const e1 = await watch.nextChange();
    assert.equal(e1.type, 'ADDED');
    assert.equal(rvOf(e1.object), rvOf(created));
    const e2 = await watch.nextChange();
    assert.equal(e2.type, 'MODIFIED');
    assert.equal(rvOf(e2.object), rvOf(updated));
    const e3 = await watch.nextChange();
    assert.equal(e3.type, 'DELETED');
    assert.ok(Number(rvOf(e3.object)) > Number(rvOf(updated)), 'a delete has its own resourceVersion');
  });

  test('replays history: a watch started later from an old resourceVersion sees what it missed', async (t) => {
    const rv = server.resourceVersion();
    await post(CM, configMap('missed-1', { labels: { replay: 'y' } }));
    await post(CM, configMap('missed-2', { labels: { replay: 'y' } }));
    const watch = new WatchStream(url, `${CM}?watch=true&resourceVersion=${rv}&labelSelector=replay`);
    t.after(() => {
      watch.close();
    });
    assert.equal(nameOf((await watch.nextChange()).object), 'missed-1');
    assert.equal(nameOf((await watch.nextChange()).object), 'missed-2');
  });

  test('without a resourceVersion, existing objects come first as ADDED', async (t) => {
    await post(CM, configMap('initial', { labels: { initial: 'y' } }));
    const watch = new WatchStream(url, `${CM}?watch=1&labelSelector=initial`);
    t.after(() => {
      watch.close();
    });
    const e = await watch.nextChange();
    assert.equal(e.type, 'ADDED');
    assert.equal(nameOf(e.object), 'initial');
  });

  test('an object that stops matching the selector arrives as DELETED', async (t) => {
    const created = (await post(CM, configMap('leaves', { labels: { sel: 'in' } }))).body;
    const watch = new WatchStream(
      url,
      `${CM}?watch=1&resourceVersion=${rvOf(created)}&labelSelector=sel%3Din`,
    );
    t.after(() => {
      watch.close();
    });
    await put(`${CM}/leaves`, {
      ...created,
      metadata: { ...(created['metadata'] as JsonObject), labels: { sel: 'out' } },
    });
    const e = await watch.nextChange();
    assert.equal(e.type, 'DELETED');
    assert.equal(nameOf(e.object), 'leaves');
  });

  test('allowWatchBookmarks brings BOOKMARK events with the current resourceVersion', async (t) => {
    const rv = server.resourceVersion();
    const watch = new WatchStream(url, `${KSVC}?watch=1&resourceVersion=${rv}&allowWatchBookmarks=true`);
    t.after(() => {
      watch.close();
    });
    const e = await watch.next();
    assert.equal(e.type, 'BOOKMARK');
    assert.equal(e.object['kind'], 'Service');
    assert.equal(e.object['apiVersion'], 'serving.knative.dev/v1');
    assert.equal(rvOf(e.object), server.resourceVersion());
  });

  test('sendInitialEvents: the current state, then a bookmark marking its end', async (t) => {
    await post(CM, configMap('streamed', { labels: { streamed: 'y' } }));
    const watch = new WatchStream(
      url,
      `${CM}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&labelSelector=streamed`,
    );
    t.after(() => {
      watch.close();
    });
    const added = await watch.next();
    assert.equal(added.type, 'ADDED');
    assert.equal(nameOf(added.object), 'streamed');
    const end = await watch.next();
    assert.equal(end.type, 'BOOKMARK');
    assert.deepEqual(metaField(end.object, 'annotations'), { 'k8s.io/initial-events-end': 'true' });
  });

  test('timeoutSeconds ends the stream', async (t) => {
    const watch = new WatchStream(
      url,
      `${CM}?watch=1&resourceVersion=${server.resourceVersion()}&timeoutSeconds=1`,
    );
    t.after(() => {
      watch.close();
    });
    await assert.rejects(watch.next(3000), /watch ended/);
  });
});

describe('410 Gone', () => {
  test('after compact(), a watch from an older resourceVersion gets an ERROR event with 410 Expired', async (t) => {
    const rv = rvOf((await post(CM, configMap('before-compact'))).body);
    await post(CM, configMap('after-rv'));
    server.compact();
    const watch = new WatchStream(url, `${CM}?watch=1&resourceVersion=${rv}`);
    t.after(() => {
      watch.close();
    });
    const e = await watch.next();
    assert.equal(watch.status, 200);
    assert.equal(e.type, 'ERROR');
    assert.equal(e.object['kind'], 'Status');
    assert.equal(e.object['code'], 410);
    assert.equal(e.object['reason'], 'Expired');
    await assert.rejects(watch.next(), /watch ended/);
    // The current resourceVersion is still good.
    const fresh = new WatchStream(url, `${CM}?watch=1&resourceVersion=${server.resourceVersion()}`);
    t.after(() => {
      fresh.close();
    });
    await post(CM, configMap('after-compact'));
    assert.equal(nameOf((await fresh.nextChange()).object), 'after-compact');
  });

  test('the event history is bounded: old resourceVersions expire without compact()', async (t) => {
    const small = await startApiServer({ maxEventHistory: 3 });
    t.after(() => small.close());
    const rv = small.resourceVersion();
    for (const n of ['a', 'b', 'c', 'd']) await call(small.url, 'POST', CM, { body: configMap(n) });
    const watch = new WatchStream(small.url, `${CM}?watch=1&resourceVersion=${rv}`);
    t.after(() => {
      watch.close();
    });
    assert.equal((await watch.next()).object['code'], 410);
  });

  test("expiredWatch: 'status' answers the watch request itself with HTTP 410", async (t) => {
    const plain = await startApiServer({ expiredWatch: 'status' });
    t.after(() => plain.close());
    const rv = plain.resourceVersion();
    await call(plain.url, 'POST', CM, { body: configMap('x') });
    plain.compact();
    const reply = await call(plain.url, 'GET', `${CM}?watch=1&resourceVersion=${rv}`);
    assert.equal(reply.status, 410);
    assert.equal(reply.body['reason'], 'Expired');
  });
});

describe('delete', () => {
  test('background cascading deletion removes dependents whose owner is gone', async (t) => {
    const owner = (await post(KSVC, ksvc('owner'))).body;
    const ref = {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      name: 'owner',
      uid: metaField(owner, 'uid') ?? '',
      controller: true,
    };
    await post(DEPLOY, { ...deployment('owned'), metadata: { name: 'owned', ownerReferences: [ref] } });
    const watch = new WatchStream(
      url,
      `${DEPLOY}?watch=1&resourceVersion=${server.resourceVersion()}&fieldSelector=metadata.name%3Downed`,
    );
    t.after(() => {
      watch.close();
    });
    assert.equal((await del(`${KSVC}/owner`)).status, 200);
    const e = await watch.nextChange();
    assert.equal(e.type, 'DELETED');
    assert.equal((await get(`${DEPLOY}/owned`)).status, 404);
  });

  test('an object with another living owner survives', async () => {
    const a = (await post(CM, configMap('owner-a'))).body;
    const b = (await post(CM, configMap('owner-b'))).body;
    const refs = [a, b].map((o) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: nameOf(o) ?? '',
      uid: metaField(o, 'uid') ?? '',
    }));
    await post(CM, configMap('two-owners', { ownerReferences: refs }));
    await del(`${CM}/owner-a`);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await get(`${CM}/two-owners`)).status, 200);
  });

  test('propagationPolicy Orphan keeps dependents and drops the owner reference', async () => {
    const owner = (await post(CM, configMap('orphaner'))).body;
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'orphaner', uid: metaField(owner, 'uid') ?? '' };
    await post(CM, configMap('orphan', { ownerReferences: [ref] }));
    await del(`${CM}/orphaner`, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Orphan' });
    await new Promise((resolve) => setImmediate(resolve));
    const orphan = await get(`${CM}/orphan`);
    assert.equal(orphan.status, 200);
    assert.equal(metaField(orphan.body, 'ownerReferences'), undefined);
  });

  test('finalizers hold the object with a deletionTimestamp until they are removed', async () => {
    await post(KSVC, ksvc('finalized'));
    const current = (await get(`${KSVC}/finalized`)).body;
    await put(`${KSVC}/finalized`, {
      ...current,
      metadata: { ...(current['metadata'] as JsonObject), finalizers: ['kedge.dev/test'] },
    });
    const pending = await del(`${KSVC}/finalized`);
    assert.equal(pending.status, 202);
    assert.equal(typeof metaField(pending.body, 'deletionTimestamp'), 'string');
    const released = await patch(`${KSVC}/finalized`, 'application/merge-patch+json', {
      metadata: { finalizers: null },
    });
    assert.equal(released.status, 200);
    assert.equal((await get(`${KSVC}/finalized`)).status, 404);
  });

  test('deleting a missing object is 404; a stale precondition is 409', async () => {
    assert.equal((await del(`${CM}/never`)).status, 404);
    const created = (await post(CM, configMap('precond'))).body;
    await put(`${CM}/precond`, { ...created, data: { k: 'new' } });
    const reply = await del(`${CM}/precond`, { preconditions: { resourceVersion: rvOf(created) } });
    assert.equal(reply.status, 409);
  });

  test('deleting a namespace deletes what is in it', async () => {
    await post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
    await post('/api/v1/namespaces/doomed/configmaps', configMap('inside'));
    assert.equal((await del('/api/v1/namespaces/doomed')).status, 200);
    assert.equal((await get('/api/v1/namespaces/doomed/configmaps/inside')).status, 404);
  });
});

describe('patch', () => {
  test('merge patch (RFC 7386) sets and removes fields', async () => {
    await post(CM, { ...configMap('mp'), data: { a: '1', b: '2' } });
    const reply = await patch(`${CM}/mp`, 'application/merge-patch+json', { data: { a: null, c: '3' } });
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body['data'], { b: '2', c: '3' });
  });

  test('JSON patch (RFC 6902) applies operations; a failing test op is 422', async () => {
    await post(CM, configMap('jp'));
    const ok = await patch(`${CM}/jp`, 'application/json-patch+json', [
      { op: 'test', path: '/data/k', value: 'v' },
      { op: 'add', path: '/data/n', value: 'x' },
      { op: 'remove', path: '/data/k' },
    ]);
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.body['data'], { n: 'x' });
    const failed = await patch(`${CM}/jp`, 'application/json-patch+json', [
      { op: 'test', path: '/data/n', value: 'y' },
    ]);
    assert.equal(failed.status, 422);
  });

  test('strategic merge patch merges containers by name', async () => {
    const dep = deployment('smp');
    await post(DEPLOY, dep);
    const reply = await patch(`${DEPLOY}/smp`, 'application/strategic-merge-patch+json', {
      spec: {
        template: { spec: { containers: [{ name: 'user-container', env: [{ name: 'A', value: '1' }] }] } },
      },
    });
    assert.equal(reply.status, 200, reply.text);
    const containers = (((reply.body['spec'] as JsonObject)['template'] as JsonObject)['spec'] as JsonObject)[
      'containers'
    ] as JsonObject[];
    assert.deepEqual(containers, [{ name: 'user-container', image: 'x', env: [{ name: 'A', value: '1' }] }]);
  });

  test('server-side apply creates, then drops the fields the manager stopped applying', async () => {
    const yaml = (labels: string): string =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  labels: {${labels}}\ndata:\n  k: v\n`;
    const path = `${CM}/ssa?fieldManager=kedge`;
    const created = await patch(path, 'application/apply-patch+yaml', yaml('a: "1", b: "2"'));
    assert.equal(created.status, 201, created.text);
    const applied = await patch(path, 'application/apply-patch+yaml', yaml('a: "1"'));
    assert.equal(applied.status, 200, applied.text);
    assert.deepEqual(metaField(applied.body, 'labels'), { a: '1' });
    const missingManager = await patch(`${CM}/ssa`, 'application/apply-patch+yaml', yaml('a: "1"'));
    assert.equal(missingManager.status, 400);
  });

  test('patch with a resourceVersion is a precondition; an unknown patch type is 415', async () => {
    const created = (await post(CM, configMap('pre'))).body;
    await patch(`${CM}/pre`, 'application/merge-patch+json', { data: { k: 'x' } });
    const stale = await patch(`${CM}/pre`, 'application/merge-patch+json', {
      metadata: { resourceVersion: rvOf(created) },
      data: { k: 'y' },
    });
    assert.equal(stale.status, 409);
    const unknown = await patch(`${CM}/pre`, 'text/plain', 'data');
    assert.equal(unknown.status, 415);
  });

  test('patching status through /status leaves spec alone', async () => {
    await post(KSVC, ksvc('patch-status'));
    const reply = await patch(`${KSVC}/patch-status/status`, 'application/merge-patch+json', {
      spec: { ignored: true },
      status: { observedGeneration: 1 },
    });
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body['status'], { observedGeneration: 1 });
    assert.deepEqual(reply.body['spec'], ksvc('x')['spec']);
  });
});

describe('custom resource definitions', () => {
  test('a CRD registers its resource at once, and deleting it removes resource and objects', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Cluster',
        names: { plural: 'widgets', kind: 'Widget' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            subresources: { scale: { specReplicasPath: '.spec.size', statusReplicasPath: '.status.size' } },
          },
        ],
      },
    };
    const created = await post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    assert.equal(created.status, 201, created.text);
    const conditions = (created.body['status'] as JsonObject)['conditions'];
    assert.ok(
      Array.isArray(conditions) && conditions.some((c) => isObject(c) && c['type'] === 'Established'),
    );
    const w = await post('/apis/example.com/v1/widgets', {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w1' },
      spec: { size: 1 },
    });
    assert.equal(w.status, 201, w.text);
    const scaled = await patch('/apis/example.com/v1/widgets/w1/scale', 'application/merge-patch+json', {
      spec: { replicas: 4 },
    });
    assert.equal(scaled.status, 200, scaled.text);
    assert.deepEqual(((await get('/apis/example.com/v1/widgets/w1')).body['spec'] as JsonObject)['size'], 4);
    assert.equal(
      (await del('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com')).status,
      200,
    );
    assert.equal((await get('/apis/example.com/v1/widgets')).status, 404);
  });

  test('an invalid CRD is 422', async () => {
    const reply = await post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'wrong.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'things', kind: 'Thing' },
        versions: [],
      },
    });
    assert.equal(reply.status, 422);
  });
});
