// buildDeployment is pure: the Deployment a revision becomes, without an API server.
// (KubeRuntime against the test API server and kubelet: test/cluster/kube-runtime.test.ts.)
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { V1Container } from '@kubernetes/client-node';
import { revisionKey, type ContainerSpec, type RevisionSpec } from '../state.js';
import { SPEC_HASH_ANNOTATION, USER_CONTAINER, buildDeployment } from './kube.js';

const OWNER = { name: 'hello', uid: '00000000-0000-0000-0000-000000000001' };

function revision(container: Partial<ContainerSpec> = {}): RevisionSpec {
  return {
    key: revisionKey('default', 'hello-00001'),
    name: 'hello-00001',
    namespace: 'default',
    service: 'hello',
    generation: 1,
    container: {
      image: 'ghcr.io/acme/hello:1',
      command: [],
      args: [],
      workingDir: '',
      env: [],
      port: 8080,
      ...container,
    },
    containerConcurrency: 0,
    timeoutSeconds: 300,
    responseStartTimeoutSeconds: null,
    idleTimeoutSeconds: null,
    queueTimeoutSeconds: 300,
    annotations: {},
    createdAt: '2024-01-01T00:00:00.000Z',
  };
}

function userContainer(spec: RevisionSpec): V1Container {
  const c = buildDeployment(spec, OWNER, 0).spec?.template.spec?.containers[0];
  assert.ok(c !== undefined);
  assert.equal(c.name, USER_CONTAINER);
  return c;
}

const hashOf = (spec: RevisionSpec): string | undefined =>
  buildDeployment(spec, OWNER, 0).metadata?.annotations?.[SPEC_HASH_ANNOTATION];

test('resources go on the user container as written', () => {
  const resources = { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '128Mi' } };
  assert.deepEqual(userContainer(revision({ resources })).resources, resources);
});

test('only the lists that were given: limits alone stay limits alone', () => {
  const c = userContainer(revision({ resources: { requests: {}, limits: { memory: '128Mi' } } }));
  assert.deepEqual(c.resources, { limits: { memory: '128Mi' } });
});

test('no resources: no resources field, so existing Deployments keep their spec hash', () => {
  const plain = revision();
  assert.equal(Object.hasOwn(userContainer(plain), 'resources'), false);
  const limited = revision({ resources: { requests: {}, limits: { memory: '128Mi' } } });
  assert.notEqual(hashOf(limited), hashOf(plain), 'resources are part of the hash');
});
