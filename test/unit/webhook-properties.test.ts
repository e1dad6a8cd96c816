// Properties of the webhook over generated pod templates and policies: the
// patch always applies, never breaks request <= limit, never changes what was
// there, is idempotent, always satisfies the HPA, and never touches extended
// or hugepages resources. Seeds are fixed so a failure reproduces.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { reviewAdmission } from '../../webhook/review.js';
import { DEFAULT_RESOURCES, type DefaultsPolicy } from '../../rules/defaults.js';
import { compareQuantities, parseQuantity, tryParseQuantity } from '../../k8s/quantity.js';
import { applyOps, clone, decodePatch, dig, FALLBACK_POLICY, policyOf, realWorkloads, responseOf, reviewOf, type Json, type JsonPatchOperation, type RealWorkload } from '../support/admission.js';

const RUNS = { numRuns: 300 } as const;

// Names a JSON Pointer must escape, next to ordinary ones, and one long enough
// to be cut in a warning, of astral characters that take two UTF-16 units.
const NAMES = ['app', 'istio-proxy', 'a~b', 'x/y', '~1', 'c/~0', 'sidecar', 'worker', `a${'𝒜'.repeat(100)}`] as const;
const RESOURCES = ['cpu', 'memory', 'ephemeral-storage', 'hugepages-2Mi', 'nvidia.com/gpu'] as const;
const DEFAULTED = new Set<string>(DEFAULT_RESOURCES);
const KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod'] as const;

// Valid quantities in the spellings manifests use.
const quantityText = fc.oneof(
  fc.constantFrom('250m', '1', '0.5', '1Gi', '512Mi', '1e3', '1G', '100m', '128Mi', '64Mi', '0'),
  fc.integer({ min: 1, max: 4000 }).map((n) => `${n}m`),
  fc.integer({ min: 1, max: 64 }).map(String),
  fc.integer({ min: 1, max: 99 }).map((n) => `0.${n}`),
  fc.integer({ min: 1, max: 4096 }).map((n) => `${n}Mi`),
  fc.integer({ min: 1, max: 8 }).map((n) => `${n}Gi`),
  fc.integer({ min: 1, max: 999 }).map((n) => `${n}M`),
  fc.integer({ min: 1, max: 9 }).map((n) => `${n}e${n % 4}`),
  fc.integer({ min: 1, max: 4 }).map((n) => `${n}G`),
);
const quantity = fc.oneof({ weight: 4, arbitrary: quantityText }, { weight: 1, arbitrary: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(0.5, 0.25, 1.5)) });

// Values at the edges of what parses, and values that do not parse at all.
const wildValue = fc.oneof(
  quantity,
  // Scaled by a limitRatio of 10 this is past what a quantity can hold.
  fc.constant('1e999'),
  fc.constantFrom('1e999', '1n', '0.1n', '+1', '.5', '5.', '1E', '10Ei', '-1', 'lots', '1 Gi', ' 1', '', '1Gi ', '1.5Mi'),
  fc.constantFrom(null, true, 1e21, -0.5),
  fc.constant({}),
);

const amountsOf = (value: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 5, arbitrary: fc.record(Object.fromEntries(RESOURCES.map((r) => [r, value])) as Record<(typeof RESOURCES)[number], fc.Arbitrary<unknown>>, { requiredKeys: [] }) },
    { weight: 1, arbitrary: fc.constant(null) },
  );
const amounts = amountsOf(quantity);

const resourcesOf = (value: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc.oneof(fc.constant(undefined), fc.constant({}), fc.constant(null), fc.record({ requests: amountsOf(value), limits: amountsOf(value) }, { requiredKeys: [] }));

interface Shape {
  readonly resources: unknown;
  readonly sidecar: boolean;
}

/** A pod spec with 0-4 containers, 0-2 init containers, maybe an ephemeral one, maybe pod-level resources. */
const podSpecOfValues = (value: fc.Arbitrary<unknown>): fc.Arbitrary<Json> => {
  const shape = fc.record({ resources: resourcesOf(value), sidecar: fc.boolean() });
  return fc
    .record({
      names: fc.shuffledSubarray([...NAMES], { minLength: NAMES.length, maxLength: NAMES.length }),
      containers: fc.array(shape, { maxLength: 4 }),
      initContainers: fc.array(shape, { maxLength: 2 }),
      ephemeral: fc.boolean(),
      podLevel: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.record({ requests: amounts, limits: amounts }, { requiredKeys: [] }) }),
    })
    .map(({ names, containers, initContainers, ephemeral, podLevel }) => {
      let i = 0;
      const make = (s: Shape, init: boolean): Json => ({
        name: names[i++],
        image: 'busybox',
        ...(init && s.sidecar ? { restartPolicy: 'Always' } : {}),
        ...(s.resources === undefined ? {} : { resources: s.resources }),
      });
      const spec: Json = { containers: containers.map((s) => make(s, false)) };
      if (initContainers.length) spec.initContainers = initContainers.map((s) => make(s, true));
      if (podLevel !== undefined) spec.resources = podLevel;
      if (ephemeral) spec.ephemeralContainers = [{ name: 'debugger', image: 'busybox', targetContainerName: names[0] }];
      return spec;
    });
};

function workload(kind: (typeof KINDS)[number], spec: Json, annotations: unknown): Json {
  const metadata: Json = { name: 'w', namespace: 'default', labels: { app: 'w' } };
  if (annotations !== undefined) metadata.annotations = annotations;
  const template = { metadata: { labels: { app: 'w' } }, spec };
  if (kind === 'Pod') return { apiVersion: 'v1', kind, metadata, spec };
  if (kind === 'CronJob') return { apiVersion: 'batch/v1', kind, metadata, spec: { schedule: '@hourly', jobTemplate: { spec: { template } } } };
  return { apiVersion: kind === 'Job' ? 'batch/v1' : 'apps/v1', kind, metadata, spec: { template } };
}

const objectOf = (value: fc.Arbitrary<unknown>): fc.Arbitrary<Json> =>
  fc
    .record({
      kind: fc.constantFrom(...KINDS),
      spec: podSpecOfValues(value),
      annotations: fc.constantFrom(undefined, null, {}, { 'a~b/c': 'x', 'hpa-bridge.io/defaults-added': 'stale' }),
    })
    // JSON round trip: the API server sends plain JSON, never undefined members or odd prototypes.
    .map(({ kind, spec, annotations }) => JSON.parse(JSON.stringify(workload(kind, spec, annotations))) as Json);
const object = objectOf(quantity);

// Policies, written as rule files so that they pass the same validation as real ones.

const policyAmounts = fc.record({ cpu: quantityText, memory: quantityText, 'ephemeral-storage': quantityText }, { requiredKeys: [] });
const ratios = fc.record({ cpu: fc.constantFrom('1', '1.5', '2', '10'), memory: fc.constantFrom('1', '1.25', '2', '3', '10') }, { requiredKeys: [] });

interface EntryShape {
  requests: Record<string, string>;
  limits: Record<string, string>;
  limitRatio: Record<string, string>;
  initContainers: boolean;
  off: boolean;
}

const entry = (allowOff: boolean): fc.Arbitrary<EntryShape> =>
  fc.record({
    requests: policyAmounts,
    limits: fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: policyAmounts }),
    limitRatio: fc.oneof({ weight: 2, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: ratios }),
    initContainers: fc.boolean(),
    off: allowOff ? fc.boolean() : fc.constant(false),
  });

/** Drops explicit limits below their entry's request: such an entry does not load. */
function loadable(e: EntryShape): EntryShape {
  const limits = Object.fromEntries(Object.entries(e.limits).filter(([r, l]) => !e.requests[r] || compareQuantities(parseQuantity(e.requests[r]), parseQuantity(l)) <= 0));
  return { ...e, limits };
}

function entryYaml(name: string, match: string, e: EntryShape): string {
  const map = (m: Record<string, string>): string =>
    `{${Object.entries(m)
      .map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`)
      .join(', ')}}`;
  return [
    `- name: ${JSON.stringify(name)}`,
    `  match: ${match}`,
    `  requests: ${map(e.requests)}`,
    `  limits: ${map(e.limits)}`,
    `  limitRatio: ${map(e.limitRatio)}`,
    `  initContainers: ${e.initContainers}`,
    `  off: ${e.off}`,
  ].join('\n');
}

interface PolicyCase {
  readonly yaml: string;
  readonly policy: DefaultsPolicy;
}

function policyArb(options: { guaranteeCpuMemory: boolean }): fc.Arbitrary<PolicyCase> {
  const base = options.guaranteeCpuMemory ? entry(false).map((e) => ({ ...e, requests: { cpu: e.requests.cpu ?? '100m', memory: e.requests.memory ?? '128Mi', ...e.requests } })) : entry(true);
  return fc
    .record({
      fallback: fc.option(base, { nil: undefined }),
      byName: fc.uniqueArray(fc.tuple(fc.constantFrom(...NAMES), entry(!options.guaranteeCpuMemory)), { maxLength: 2, selector: ([n]) => n }),
      byKind: fc.option(fc.tuple(fc.subarray([...KINDS], { minLength: 1 }), entry(!options.guaranteeCpuMemory)), { nil: undefined }),
    })
    .map(({ fallback, byName, byKind }) => {
      const parts: string[] = [];
      if (fallback) parts.push(entryYaml('fallback', '{}', loadable(fallback)));
      byName.forEach(([n, e], i) => parts.push(entryYaml(`name ${i}`, `{containers: [${JSON.stringify(n)}]}`, loadable(e))));
      if (byKind) parts.push(entryYaml('kinds', `{kinds: [${byKind[0].join(', ')}]}`, loadable(byKind[1])));
      const yaml = parts.length ? `defaults:\n${parts.join('\n')}\n` : 'rules: []\n';
      return { yaml, policy: policyOf(yaml) };
    });
}

const anyPolicy = policyArb({ guaranteeCpuMemory: false });

const TENFOLD_YAML = 'defaults:\n- match: {}\n  requests: {cpu: 100m, memory: 128Mi}\n  limitRatio: {cpu: "10", memory: "10"}\n';
const TENFOLD: PolicyCase = { yaml: TENFOLD_YAML, policy: policyOf(TENFOLD_YAML) };

interface Outcome {
  readonly review: Json;
  readonly response: Json;
  readonly ops: JsonPatchOperation[] | undefined;
  readonly after: Json;
}

function run(obj: Json, policy: DefaultsPolicy): Outcome {
  const review = reviewOf(obj, { operation: 'CREATE' });
  const response = responseOf(reviewAdmission(review, policy).review);
  assert.equal(response.allowed, true);
  const ops = decodePatch(response);
  return { review, response, ops, after: ops ? applyOps(obj, ops) : obj };
}

function podSpecOf(obj: Json): Json {
  const path = obj.kind === 'Pod' ? ['spec'] : obj.kind === 'CronJob' ? ['spec', 'jobTemplate', 'spec', 'template', 'spec'] : ['spec', 'template', 'spec'];
  return dig(obj, ...path) as Json;
}

interface ContainerView {
  readonly where: string;
  readonly counted: boolean;
  readonly requests: unknown;
  readonly limits: unknown;
}

/** Every container of the pod spec, in order, with whether the HPA counts it. */
function containers(obj: Json): ContainerView[] {
  const spec = podSpecOf(obj);
  const out: ContainerView[] = [];
  for (const list of ['containers', 'initContainers', 'ephemeralContainers'] as const) {
    ((spec[list] ?? []) as Json[]).forEach((c, i) => {
      out.push({
        where: `${list}[${i}] ${String(c.name)}`,
        counted: list === 'containers' || (list === 'initContainers' && c.restartPolicy === 'Always'),
        requests: dig(c, 'resources', 'requests'),
        limits: dig(c, 'resources', 'limits'),
      });
    });
  }
  return out;
}

const entriesOf = (m: unknown): [string, unknown][] => (typeof m === 'object' && m !== null ? Object.entries(m) : []);
const has = (m: unknown, k: string): boolean => typeof m === 'object' && m !== null && Object.prototype.hasOwnProperty.call(m, k);

/** Splits a JSON Pointer back into segments. */
const segments = (path: string): string[] =>
  path
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));

const RECORD_PATH = '/metadata/annotations/hpa-bridge.io~1defaults-added';

describe('webhook properties', () => {
  test('(a) every patch applies with validation, and only adds where nothing (or null) was', () => {
    fc.assert(
      fc.property(object, anyPolicy, (obj, { policy }) => {
        const { ops } = run(obj, policy);
        for (const op of ops ?? []) {
          assert.equal(op.op, 'add');
          const segs = segments(op.path);
          const target = dig(obj, ...segs);
          const isRecord = op.path === '/metadata/annotations/hpa-bridge.io~1defaults-added';
          assert.ok(target === undefined || target === null || isRecord, `${op.path} already holds ${JSON.stringify(target)}`);
          assert.equal(typeof dig(obj, ...segs.slice(0, -1)), 'object', `the parent of ${op.path} exists`);
        }
      }),
      { ...RUNS, seed: 0x5eed01 },
    );
  });

  test('(b) after patching, every request the webhook added or paired with a limit is at most that limit', () => {
    fc.assert(
      fc.property(object, anyPolicy, (obj, { policy }) => {
        const before = containers(obj);
        containers(run(obj, policy).after).forEach((c, i) => {
          const old = before[i] as ContainerView;
          for (const [r, request] of entriesOf(c.requests)) {
            if (!has(c.limits, r)) continue;
            // A pair that was already there is the user's; the API server judges it without the webhook's help.
            if (has(old.requests, r) && has(old.limits, r)) continue;
            const req = tryParseQuantity(request);
            const lim = tryParseQuantity((c.limits as Json)[r]);
            assert.ok(req && lim, `${c.where}: ${r} parses`);
            assert.ok(compareQuantities(req, lim) <= 0, `${c.where}: request ${r}=${req.text} exceeds limit ${lim.text}`);
          }
        });
      }),
      { ...RUNS, seed: 0x5eed02 },
    );
  });

  test('(c) every request and limit that existed before is byte-identical after', () => {
    fc.assert(
      fc.property(object, anyPolicy, (obj, { policy }) => {
        const original = JSON.stringify(obj);
        const before = containers(obj);
        const after = containers(run(obj, policy).after);
        assert.equal(JSON.stringify(obj), original, 'the input object is not mutated');
        assert.equal(after.length, before.length);
        before.forEach((c, i) => {
          const a = after[i] as ContainerView;
          for (const field of ['requests', 'limits'] as const) {
            for (const [r, v] of entriesOf(c[field])) assert.deepStrictEqual((a[field] as Json)[r], v, `${c.where}: ${field}.${r}`);
          }
        });
      }),
      { ...RUNS, seed: 0x5eed03 },
    );
  });

  test('(d) a second review of the patched object yields no patch', () => {
    fc.assert(
      fc.property(object, anyPolicy, (obj, { policy }) => {
        const first = run(obj, policy);
        const second = run(first.after, policy);
        assert.equal(second.ops, undefined, `second patch: ${JSON.stringify(second.ops)}`);
      }),
      { ...RUNS, seed: 0x5eed04 },
    );
  });

  test('(e) with cpu and memory defaults in force, every container the HPA counts has cpu and memory requests after patching', () => {
    fc.assert(
      fc.property(object, policyArb({ guaranteeCpuMemory: true }), (obj, { policy }) => {
        // The HPA reads pod-level requests where a pod sets them, so those resources are the pod's business.
        const pod = dig(podSpecOf(obj), 'resources');
        const needed = ['cpu', 'memory'].filter((r) => !has(dig(pod, 'requests'), r) && !has(dig(pod, 'limits'), r));
        for (const c of containers(run(obj, policy).after)) {
          if (!c.counted) continue;
          for (const r of needed) assert.ok(has(c.requests, r), `${c.where}: no ${r} in requests ${JSON.stringify(c.requests)}`);
        }
      }),
      { ...RUNS, seed: 0x5eed05 },
    );
  });

  test('(f) extended and hugepages resources are never added, removed or changed', () => {
    fc.assert(
      fc.property(object, anyPolicy, (obj, { policy }) => {
        const others = (m: unknown): [string, unknown][] => entriesOf(m).filter(([r]) => !DEFAULTED.has(r));
        const before = containers(obj);
        containers(run(obj, policy).after).forEach((c, i) => {
          const old = before[i] as ContainerView;
          assert.deepStrictEqual(others(c.requests), others(old.requests), `${c.where}: requests`);
          assert.deepStrictEqual(others(c.limits), others(old.limits), `${c.where}: limits`);
        });
      }),
      { ...RUNS, seed: 0x5eed06 },
    );
  });

  test('(f2) a resource set at pod level is never added to a container', () => {
    fc.assert(
      fc.property(object, anyPolicy, (obj, { policy }) => {
        const pod = dig(podSpecOf(obj), 'resources');
        const podLevel = [...entriesOf(dig(pod, 'requests')), ...entriesOf(dig(pod, 'limits'))].map(([r]) => r);
        const before = containers(obj);
        containers(run(obj, policy).after).forEach((c, i) => {
          const old = before[i] as ContainerView;
          for (const r of podLevel) {
            assert.equal(has(c.requests, r), has(old.requests, r), `${c.where}: requests.${r}`);
            assert.equal(has(c.limits, r), has(old.limits, r), `${c.where}: limits.${r}`);
          }
        });
      }),
      { ...RUNS, seed: 0x5eed09 },
    );
  });

  test('(d2) an UPDATE that drops what CREATE added gets it back, for every kind but Pod (Jobs included)', () => {
    fc.assert(
      fc.property(object, anyPolicy, (obj, { policy }) => {
        fc.pre(obj.kind !== 'Pod');
        const created = run(obj, policy).after;
        const response = responseOf(reviewAdmission(reviewOf(obj, { operation: 'UPDATE', oldObject: created }), policy).review);
        const ops = decodePatch(response);
        assert.deepStrictEqual(ops ? applyOps(obj, ops) : obj, created);
      }),
      { ...RUNS, seed: 0x5eed0a },
    );
  });

  test('(d3) an UPDATE that drops what CREATE added but keeps the record gets no operation for the record', () => {
    fc.assert(
      fc.property(object, anyPolicy, (obj, { policy }) => {
        fc.pre(obj.kind !== 'Pod');
        const created = run(obj, policy).after;
        const replaced = { ...clone(obj), metadata: created.metadata };
        const response = responseOf(reviewAdmission(reviewOf(replaced, { operation: 'UPDATE', oldObject: created }), policy).review);
        const ops = decodePatch(response) ?? [];
        assert.deepEqual(
          ops.filter((op) => op.path === RECORD_PATH),
          [],
        );
        assert.deepStrictEqual(applyOps(replaced, ops), created);
      }),
      { ...RUNS, seed: 0x5eed0c },
    );
  });

  test('(k) values that do not parse or barely parse never make the review throw, and what was there stays', () => {
    fc.assert(
      fc.property(objectOf(wildValue), fc.oneof(anyPolicy, fc.constant(TENFOLD)), (obj, { policy }) => {
        const before = containers(obj);
        const after = containers(run(obj, policy).after);
        before.forEach((c, i) => {
          const a = after[i] as ContainerView;
          for (const field of ['requests', 'limits'] as const) {
            for (const [r, v] of entriesOf(c[field])) assert.deepStrictEqual((a[field] as Json)[r], v, `${c.where}: ${field}.${r}`);
          }
        });
      }),
      { ...RUNS, seed: 0x5eed0b },
    );
  });

  test('(k2) whatever values were there, every request and limit the webhook adds is a quantity of at least 0', () => {
    fc.assert(
      fc.property(objectOf(wildValue), fc.oneof(anyPolicy, fc.constant(TENFOLD)), (obj, { policy }) => {
        const before = containers(obj);
        containers(run(obj, policy).after).forEach((c, i) => {
          const old = before[i] as ContainerView;
          for (const field of ['requests', 'limits'] as const) {
            for (const [r, v] of entriesOf(c[field])) {
              if (has(old[field], r)) continue;
              const q = tryParseQuantity(v);
              assert.ok(q && q.nano >= 0n, `${c.where}: added ${field}.${r}=${JSON.stringify(v)} next to ${JSON.stringify({ requests: old.requests, limits: old.limits })}`);
            }
          }
        });
      }),
      { ...RUNS, seed: 0x5eed0d },
    );
  });

  test('(g) ephemeral containers and ordinary init containers are left alone unless policy covers init containers', () => {
    fc.assert(
      fc.property(object, anyPolicy, (obj, { yaml, policy }) => {
        const initCovered = yaml.includes('initContainers: true');
        const after = podSpecOf(run(obj, policy).after);
        const before = podSpecOf(obj);
        assert.deepStrictEqual(after.ephemeralContainers, before.ephemeralContainers);
        if (!initCovered) {
          ((before.initContainers ?? []) as Json[]).forEach((c, i) => {
            if (c.restartPolicy !== 'Always') assert.deepStrictEqual(((after.initContainers as Json[])[i] as Json).resources, c.resources);
          });
        }
      }),
      { ...RUNS, seed: 0x5eed07 },
    );
  });

  test('(h) every warning is at most 120 code points, splits no surrogate pair, and what was added is recorded', () => {
    fc.assert(
      fc.property(object, anyPolicy, (obj, { policy }) => {
        const { response, ops, after } = run(obj, policy);
        for (const w of (response.warnings ?? []) as string[]) {
          // The API server counts runes, so code points; a lone surrogate would reach the client as U+FFFD.
          assert.ok([...w].length <= 120, w);
          assert.ok(!/\p{Cs}/u.test(w), `a lone surrogate in ${JSON.stringify(w)}`);
        }
        if (ops) assert.equal(typeof dig(after, 'metadata', 'annotations', 'hpa-bridge.io/defaults-added'), 'string');
      }),
      { ...RUNS, seed: 0x5eed08 },
    );
  });
});

// Real workloads (the admission and workload fixtures) with nodes replaced by
// values of other JSON types. The API server only sends objects it decoded
// into its own types, so this is about senders that are not one: whatever
// arrives, the review must not throw, and must never replace what is there.

type Segment = string | number;
type NodeShape = 'object' | 'list' | 'string' | 'quantity';

const REAL = realWorkloads();

/** Every node under the root, as paths. */
function nodePaths(v: unknown, path: Segment[] = []): Segment[][] {
  const out: Segment[][] = path.length ? [path] : [];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...nodePaths(x, [...path, i])));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) out.push(...nodePaths(x, [...path, k]));
  return out;
}

const startsWith = (s: readonly Segment[], prefix: readonly Segment[]): boolean => prefix.every((p, i) => s[i] === p);
const samePath = (s: readonly Segment[], other: readonly Segment[]): boolean => s.length === other.length && startsWith(s, other);

function resourcesShape(rest: readonly Segment[]): NodeShape | undefined {
  if (rest.length === 0) return 'object';
  if (rest[0] !== 'requests' && rest[0] !== 'limits') return undefined;
  return rest.length === 1 ? 'object' : rest.length === 2 ? 'quantity' : undefined;
}

/** The shape the webhook needs at a path it reads, by the rules of docs/webhook.md; undefined for paths it does not read. */
function readShape(kind: string, path: readonly Segment[]): NodeShape | undefined {
  const podSpec = kind === 'Pod' ? ['spec'] : kind === 'CronJob' ? ['spec', 'jobTemplate', 'spec', 'template', 'spec'] : ['spec', 'template', 'spec'];
  const template = podSpec.slice(0, -1);
  if (samePath(path, ['metadata'])) return 'object';
  for (const map of ['labels', 'annotations']) {
    if (startsWith(path, ['metadata', map])) return path.length === 2 ? 'object' : path.length === 3 ? 'string' : undefined;
  }
  for (let i = 1; i <= podSpec.length; i++) if (samePath(path, podSpec.slice(0, i))) return 'object';
  if (template.length && startsWith(path, [...template, 'metadata'])) {
    const rest = path.slice(template.length + 1);
    if (rest.length === 0) return 'object';
    if (rest[0] === 'labels') return rest.length === 1 ? 'object' : rest.length === 2 ? 'string' : undefined;
    return undefined;
  }
  if (!startsWith(path, podSpec)) return undefined;
  const rest = path.slice(podSpec.length);
  if (rest[0] === 'resources') return resourcesShape(rest.slice(1));
  if (rest[0] !== 'containers' && rest[0] !== 'initContainers') return undefined;
  if (rest.length === 1) return 'list';
  if (rest.length === 2) return 'object';
  if (rest.length === 3 && (rest[2] === 'name' || rest[2] === 'restartPolicy')) return 'string';
  if (rest[2] === 'resources') return resourcesShape(rest.slice(3));
  return undefined;
}

function fits(shape: NodeShape, v: unknown): boolean {
  if (shape === 'object') return typeof v === 'object' && v !== null && !Array.isArray(v);
  if (shape === 'list') return Array.isArray(v);
  if (shape === 'string') return typeof v === 'string';
  return typeof v === 'string' || typeof v === 'number';
}

/** A field path the way Kubernetes writes one: `spec.containers[0].resources.limits[cpu]`. */
function fieldPath(path: readonly Segment[]): string {
  return path
    .map((s, i) => {
      if (typeof s === 'number') return `[${s}]`;
      const parent = path[i - 1];
      if (parent === 'labels' || parent === 'annotations' || parent === 'requests' || parent === 'limits') return `[${s}]`;
      return i === 0 ? s : `.${s}`;
    })
    .join('');
}

const REPLACEMENTS: readonly unknown[] = ['x', '', '-1', 7, -1, 0.5, true, false, null, [], [{}], ['a'], {}, { name: 'x' }, { requests: 'x' }];

function replaced(obj: Json, path: readonly Segment[], value: unknown): Json {
  const copy = clone(obj);
  (dig(copy, ...path.slice(0, -1)) as Record<Segment, unknown>)[path[path.length - 1] as Segment] = value;
  return copy;
}

/** Every leaf (scalar, null, empty list or map) of a document, with its path. */
function leaves(v: unknown, path: Segment[] = []): [Segment[], unknown][] {
  const children: [Segment, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : typeof v === 'object' && v !== null ? Object.entries(v) : [];
  if (children.length === 0) return [[path, v]];
  return children.flatMap(([k, x]) => leaves(x, [...path, k]));
}

function reviewReal(kind: RealWorkload['kind'], obj: Json): { response: Json; ops: JsonPatchOperation[] | undefined } {
  const review = reviewOf(obj, { kind });
  const response = responseOf(reviewAdmission(review, FALLBACK_POLICY).review);
  assert.equal(response.allowed, true);
  return { response, ops: decodePatch(response) };
}

/** A real workload and 1-3 of its nodes, half of them among the nodes the webhook reads. */
const mutatedReal = fc
  .constantFrom(...REAL)
  .chain((w) => {
    const all = nodePaths(w.object);
    const read = all.filter((p) => readShape(w.kind.kind, p) !== undefined);
    const pick = fc.oneof(fc.constantFrom(...read), fc.constantFrom(...all));
    return fc.record({ w: fc.constant(w), changes: fc.array(fc.tuple(pick, fc.constantFrom(...REPLACEMENTS)), { minLength: 1, maxLength: 3 }) });
  })
  .map(({ w, changes }) => {
    let obj = w.object;
    // A change under a node an earlier change replaced has nothing to land on.
    for (const [path, value] of changes) {
      const parent = dig(obj, ...path.slice(0, -1));
      if (typeof parent === 'object' && parent !== null) obj = replaced(obj, path, value);
    }
    return { w, obj, changes };
  });

/** A real workload with one node the webhook reads replaced by a value of another JSON type (not null, which means absent). */
const wrongTyped = fc
  .constantFrom(...REAL)
  .chain((w) => {
    const read = nodePaths(w.object).flatMap((p) => {
      const shape = readShape(w.kind.kind, p);
      return shape ? [{ path: p, shape }] : [];
    });
    return fc.record({ w: fc.constant(w), node: fc.constantFrom(...read), value: fc.constantFrom(...REPLACEMENTS) });
  })
  .filter(({ node, value }) => value !== null && !fits(node.shape, value));

describe('real workloads with nodes of the wrong type', () => {
  test('(m) with up to three nodes replaced, the review never throws; any patch applies with validation and only adds where nothing (or null) was', () => {
    fc.assert(
      fc.property(mutatedReal, ({ w, obj }) => {
        const { ops } = reviewReal(w.kind, obj);
        if (!ops) return;
        const after = applyOps(obj, ops);
        for (const op of ops) {
          assert.equal(op.op, 'add');
          const target = dig(obj, ...segments(op.path));
          assert.ok(target === undefined || target === null || (op.path === RECORD_PATH && typeof target === 'string'), `${op.path} already holds ${JSON.stringify(target)}`);
        }
        for (const [path, value] of leaves(obj)) {
          if (path.length === 3 && startsWith(path, ['metadata', 'annotations', 'hpa-bridge.io/defaults-added'])) continue;
          // null and empty members may be filled; everything else must still be there, unchanged.
          if (value === null || (typeof value === 'object' && Object.keys(value).length === 0)) continue;
          assert.deepStrictEqual(dig(after, ...path), value, `${fieldPath(path)} changed`);
        }
      }),
      { numRuns: 500, seed: 0x5eed10 },
    );
  });

  test('(n) with one node the webhook reads replaced by a value of the wrong type, there is no patch and a warning names that node', () => {
    fc.assert(
      fc.property(wrongTyped, ({ w, node, value }) => {
        const { response, ops } = reviewReal(w.kind, replaced(w.object, node.path, value));
        assert.equal(ops, undefined, `patch: ${JSON.stringify(ops)}`);
        const warnings = (response.warnings ?? []) as string[];
        const expected = `hpa-bridge: no defaults added: ${fieldPath(node.path)} is `;
        // A long path is cut with the rest of the warning at 120 code points.
        const names = (x: string): boolean => x.startsWith(expected) || (x.endsWith('…') && [...x].length === 120 && expected.startsWith(x.slice(0, -1)));
        assert.ok(warnings.some(names), `${JSON.stringify(warnings)} does not start with ${expected}`);
      }),
      { numRuns: 500, seed: 0x5eed11 },
    );
  });
});
