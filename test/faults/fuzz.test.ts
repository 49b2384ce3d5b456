// Property-based fuzzing (fast-check) of the two parsers that take untrusted input: the Service
// reader + validator (controller/api: parseService, validateService) and the gateway's Host
// normalisation (gateway/route-table.ts normalizeHost). Bounded runs: a second or two in all.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseAutoscalerConfig } from '../../controller/api/autoscaling.js';
import type { FieldError } from '../../controller/api/field-error.js';
import { parseService } from '../../controller/api/types.js';
import { validateService, type ValidationContext } from '../../controller/api/validate.js';
import { DEFAULT_DEFAULTS } from '../../controller/config/defaults.js';
import { normalizeHost } from '../../gateway/route-table.js';

const RUNS = 400;
const CTX: ValidationContext = {
  defaults: DEFAULT_DEFAULTS,
  autoscaler: parseAutoscalerConfig({}).config,
  mode: 'local',
};

/** parse + validate; the errors, or null when the Service is accepted. */
function check(obj: unknown): FieldError | null {
  const parsed = parseService(obj);
  if (!parsed.ok) return parsed.errors;
  const errors = validateService(parsed.value, CTX);
  return errors.isEmpty() ? null : errors;
}

// ---- generators ----

const dns1035 = fc.stringMatching(/^[a-z]([-a-z0-9]{0,28}[a-z0-9])?$/);
const envName = fc
  .stringMatching(/^[A-Z_][A-Z0-9_]{0,15}$/)
  .filter((n) => !['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION'].includes(n));
const printable = fc.string({ unit: 'grapheme-ascii', maxLength: 40 });

/** Valid local Services: the fields users set most, each in its allowed range. */
const validService = fc
  .record({
    name: dns1035,
    namespace: fc.option(dns1035, { nil: undefined }),
    env: fc.uniqueArray(fc.record({ name: envName, value: printable }), {
      maxLength: 5,
      selector: (e) => e.name,
    }),
    args: fc.array(printable, { maxLength: 4 }),
    containerConcurrency: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
    timeoutSeconds: fc.option(fc.integer({ min: 1, max: 600 }), { nil: undefined }),
    responseStartTimeoutSeconds: fc.option(fc.integer({ min: 1, max: 600 }), { nil: undefined }),
    idleTimeoutSeconds: fc.option(fc.integer({ min: 0, max: 600 }), { nil: undefined }),
    minScale: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
    target: fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
    split: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
  })
  .map((s) => {
    const annotations: Record<string, string> = {};
    if (s.minScale !== undefined) annotations['autoscaling.knative.dev/min-scale'] = String(s.minScale);
    if (s.target !== undefined) annotations['autoscaling.knative.dev/target'] = String(s.target);
    const spec: Record<string, unknown> = {
      containers: [{ image: 'example.com/app:1', command: ['node', 'app.js'], args: s.args, env: s.env }],
    };
    if (s.containerConcurrency !== undefined) spec['containerConcurrency'] = s.containerConcurrency;
    if (s.timeoutSeconds !== undefined) spec['timeoutSeconds'] = s.timeoutSeconds;
    if (s.responseStartTimeoutSeconds !== undefined)
      spec['responseStartTimeoutSeconds'] = s.responseStartTimeoutSeconds;
    if (s.idleTimeoutSeconds !== undefined) spec['idleTimeoutSeconds'] = s.idleTimeoutSeconds;
    const service: Record<string, unknown> = {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: s.name, ...(s.namespace === undefined ? {} : { namespace: s.namespace }) },
      spec: {
        template: { metadata: { annotations }, spec },
        ...(s.split === undefined
          ? {}
          : {
              traffic: [
                { latestRevision: true, percent: s.split },
                { latestRevision: true, percent: 100 - s.split, tag: 'canary' },
              ],
            }),
      },
    };
    return service;
  });

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A valid Service with one value somewhere inside replaced by arbitrary JSON (or removed). */
const mutatedService = fc
  .tuple(validService, fc.nat(), fc.option(fc.jsonValue(), { nil: undefined }))
  .map(([service, pick, replacement]) => {
    const copy = JSON.parse(JSON.stringify(service)) as Json;
    const slots: { parent: Record<string, Json> | Json[]; key: string | number }[] = [];
    const walk = (node: Json): void => {
      if (Array.isArray(node)) {
        for (const [i, v] of node.entries()) {
          slots.push({ parent: node, key: i });
          walk(v);
        }
      } else if (node !== null && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          slots.push({ parent: node, key: k });
          walk(v);
        }
      }
    };
    walk(copy);
    const slot = slots[pick % slots.length];
    if (slot !== undefined) {
      if (Array.isArray(slot.parent)) slot.parent[slot.key as number] = (replacement ?? null) as Json;
      else if (replacement === undefined) Reflect.deleteProperty(slot.parent, slot.key);
      else slot.parent[slot.key as string] = replacement as Json;
    }
    return copy;
  });

// ---- the Service validator ----

test('parseService + validateService never throw on arbitrary JSON', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
      check(value);
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.anything({ maxDepth: 4 }), (value) => {
      check(value);
    }),
    { numRuns: RUNS },
  );
});

test('a Service broken anywhere is rejected with errors that carry field paths, or accepted; never a throw', () => {
  fc.assert(
    fc.property(mutatedService, (obj) => {
      const errors = check(obj);
      if (errors === null) return;
      assert.ok(errors.entries.length > 0);
      const text = errors.format();
      assert.ok(text.length > 0);
      for (const e of errors.entries) {
        assert.ok(e.message.length > 0, 'a message');
        // Knative's own FieldError for this one has no path either (serving ValidatePodSpec).
        if (e.message.startsWith('multi-container is off')) continue;
        assert.ok(
          e.paths.length > 0 && e.paths.every((p) => p.length > 0),
          `paths for "${e.message}": ${JSON.stringify(e.paths)}`,
        );
      }
    }),
    { numRuns: RUNS },
  );
});

test('generated valid Services are accepted', () => {
  fc.assert(
    fc.property(validService, (obj) => {
      const errors = check(obj);
      assert.equal(errors, null, errors?.format());
    }),
    { numRuns: RUNS },
  );
});

// ---- the gateway's Host parser ----

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?$/);
const hostname = fc.array(label, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.'));
const ipv6 = fc.ipV6().map((ip) => `[${ip}]`);
const port = fc.integer({ min: 1, max: 65535 });

test('normalizeHost never throws and returns a string for any input', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (raw) => {
      assert.equal(typeof normalizeHost(raw), 'string');
    }),
    { numRuns: RUNS * 5 },
  );
});

test('normalizeHost is insensitive to case, port and a trailing dot', () => {
  fc.assert(
    fc.property(
      hostname,
      fc.option(port, { nil: undefined }),
      fc.boolean(),
      fc.boolean(),
      (h, p, upper, dot) => {
        const raw = `${upper ? h.toUpperCase() : h}${dot ? '.' : ''}${p === undefined ? '' : `:${p}`}`;
        assert.equal(normalizeHost(raw), h);
      },
    ),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(ipv6, fc.option(port, { nil: undefined }), (h, p) => {
      const raw = `${h.toUpperCase()}${p === undefined ? '' : `:${p}`}`;
      assert.equal(normalizeHost(raw), h.toLowerCase());
    }),
    { numRuns: RUNS },
  );
});

test('normalizeHost is idempotent on host-like input', () => {
  const hostLike = fc.string({ unit: fc.constantFrom(...'aZ09-.:[]'.split('')), maxLength: 24 });
  fc.assert(
    fc.property(fc.oneof(hostLike, hostname), (raw) => {
      const once = normalizeHost(raw);
      assert.equal(
        normalizeHost(once),
        once,
        `normalizeHost(${JSON.stringify(raw)}) = ${JSON.stringify(once)}`,
      );
    }),
    { numRuns: RUNS * 5 },
  );
});
