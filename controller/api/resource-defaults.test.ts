import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { DEFAULT_DEFAULTS, type DefaultsConfig } from '../config/defaults.js';
import { applyResourceDefaults, validateDefaultedResources } from './resource-defaults.js';
import type { ResourceRequirements } from './types.js';

type Quantities = Readonly<Record<string, string>>;

/** config-defaults as parsed, with only what a row sets. */
const cfg = (o: Partial<DefaultsConfig> = {}): DefaultsConfig => ({ ...DEFAULT_DEFAULTS, ...o });
const res = (requests: Quantities = {}, limits: Quantities = {}): ResourceRequirements => ({
  requests,
  limits,
});

interface Case {
  readonly name: string;
  readonly defaults: DefaultsConfig;
  /** The template's resources; null: the container has no `resources`. */
  readonly template: ResourceRequirements | null;
  /** The revision's resources; omitted: the same as the template's. */
  readonly want?: ResourceRequirements | null;
  /** validateDefaultedResources(...).format(), paths relative to `resources`; omitted: valid. */
  readonly errors?: string;
}

const cases: readonly Case[] = [
  { name: 'no defaults, no resources', defaults: cfg(), template: null },
  { name: 'no defaults keep what the template says', defaults: cfg(), template: res({ cpu: '1' }) },
  {
    name: 'request default only',
    defaults: cfg({ revisionCpuRequest: '400m' }),
    template: null,
    want: res({ cpu: '400m' }),
  },
  {
    name: 'limit default only',
    defaults: cfg({ revisionMemoryLimit: '200M' }),
    template: null,
    want: res({}, { memory: '200M' }),
  },
  {
    name: 'every default, Knative’s example values',
    defaults: cfg({
      revisionCpuRequest: '400m',
      revisionCpuLimit: '1000m',
      revisionMemoryRequest: '100M',
      revisionMemoryLimit: '200M',
      revisionEphemeralStorageRequest: '500M',
      revisionEphemeralStorageLimit: '750M',
    }),
    template: null,
    want: res(
      { cpu: '400m', memory: '100M', 'ephemeral-storage': '500M' },
      { cpu: '1000m', memory: '200M', 'ephemeral-storage': '750M' },
    ),
  },
  {
    name: 'the template’s value wins, per entry',
    defaults: cfg({ revisionCpuRequest: '400m', revisionCpuLimit: '2', revisionMemoryRequest: '100M' }),
    template: res({ cpu: '250m' }, { memory: '1Gi' }),
    want: res({ cpu: '250m', memory: '100M' }, { memory: '1Gi', cpu: '2' }),
  },
  {
    name: 'a template value of 0 is set, so it wins',
    defaults: cfg({ revisionCpuRequest: '400m' }),
    template: res({ cpu: '0' }),
  },
  {
    name: 'a default of 0 is a default',
    defaults: cfg({ revisionCpuRequest: '0' }),
    template: null,
    want: res({ cpu: '0' }),
  },
  {
    name: 'extended resources are untouched',
    defaults: cfg({ revisionCpuLimit: '1' }),
    template: res({ 'nvidia.com/gpu': '1' }, { 'nvidia.com/gpu': '1' }),
    want: res({ 'nvidia.com/gpu': '1' }, { 'nvidia.com/gpu': '1', cpu: '1' }),
  },
  {
    name: 'a default request under the template’s limit is fine',
    defaults: cfg({ revisionCpuRequest: '100m' }),
    template: res({}, { cpu: '200m' }),
    want: res({ cpu: '100m' }, { cpu: '200m' }),
  },
  {
    name: 'default request above the template’s limit',
    defaults: cfg({ revisionCpuRequest: '500m' }),
    template: res({}, { cpu: '200m' }),
    want: res({ cpu: '500m' }, { cpu: '200m' }),
    errors:
      'invalid value: 500m: requests.cpu\nmust be less than or equal to cpu limit of 200m; requests.cpu 500m comes from config-defaults revision-cpu-request: set requests.cpu in the template, or change revision-cpu-request',
  },
  {
    name: 'default limit below the template’s request',
    defaults: cfg({ revisionMemoryLimit: '512Mi' }),
    template: res({ memory: '1Gi' }),
    want: res({ memory: '1Gi' }, { memory: '512Mi' }),
    errors:
      'invalid value: 1Gi: requests.memory\nmust be less than or equal to memory limit of 512Mi; limits.memory 512Mi comes from config-defaults revision-memory-limit: set limits.memory in the template, or change revision-memory-limit',
  },
  {
    name: 'a default clashing with a default names both keys',
    defaults: cfg({ revisionEphemeralStorageRequest: '2G', revisionEphemeralStorageLimit: '1G' }),
    template: null,
    want: res({ 'ephemeral-storage': '2G' }, { 'ephemeral-storage': '1G' }),
    errors:
      'invalid value: 2G: requests.ephemeral-storage\nmust be less than or equal to ephemeral-storage limit of 1G; requests.ephemeral-storage 2G comes from config-defaults revision-ephemeral-storage-request: set requests.ephemeral-storage in the template, or change revision-ephemeral-storage-request; limits.ephemeral-storage 1G comes from config-defaults revision-ephemeral-storage-limit: set limits.ephemeral-storage in the template, or change revision-ephemeral-storage-limit',
  },
];

for (const c of cases) {
  test(`resource defaults: ${c.name}`, () => {
    const defaulted = applyResourceDefaults(c.template, c.defaults);
    assert.deepEqual(defaulted.resources, c.want === undefined ? c.template : c.want);
    assert.equal(validateDefaultedResources(defaulted).format(), c.errors ?? '');
  });
}

test('resource defaults: nothing applied returns the template’s own object', () => {
  const template = res({ cpu: '1' });
  assert.equal(applyResourceDefaults(template, cfg({ revisionCpuRequest: '2' })).resources, template);
});

test('resource defaults: the template is not modified', () => {
  const template = Object.freeze(res(Object.freeze({}), Object.freeze({})));
  applyResourceDefaults(template, cfg({ revisionCpuRequest: '1', revisionCpuLimit: '1' }));
  assert.deepEqual(template, res());
});

test('resource defaults: which keys applied, in Knative’s order', () => {
  const { applied } = applyResourceDefaults(
    res({ memory: '1Gi' }),
    cfg({ revisionMemoryRequest: '1M', revisionMemoryLimit: '2Gi', revisionCpuLimit: '1' }),
  );
  assert.deepEqual(applied, [
    { field: 'limits', resource: 'cpu', quantity: '1', key: 'revision-cpu-limit' },
    { field: 'limits', resource: 'memory', quantity: '2Gi', key: 'revision-memory-limit' },
  ]);
});
