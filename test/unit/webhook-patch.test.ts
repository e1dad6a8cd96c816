// computeDefaultsPatch: the exact JSON Patch operations for one workload.
// Every patch is applied with validation, because an operation that does not
// apply makes the API server fail the request even with failurePolicy Ignore.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { computeDefaultsPatch, escapePointer, pointer, type PatchResult } from '../../webhook/patch.js';
import { locateWorkload } from '../../webhook/workloads.js';
import type { DefaultsPolicy } from '../../rules/defaults.js';
import { applyOps, clone, dig, FALLBACK_POLICY, kindOf, policyOf, readAdmissionFixture, readWorkloadFixture, type Json } from '../support/admission.js';

interface Patched {
  readonly result: PatchResult;
  readonly after: Json;
}

function patch(object: Json, policy: DefaultsPolicy = FALLBACK_POLICY, namespace = 'default'): Patched {
  const located = locateWorkload(kindOf(object), object);
  assert.ok(located.ok, located.ok ? '' : located.reason);
  const before = clone(object);
  const result = computeDefaultsPatch({ workload: located.workload, namespace, policy });
  const after = applyOps(object, result.ops);
  assert.deepEqual(object, before, 'computing and applying the patch leaves the input alone');
  return { result, after };
}

function deployment(containers: unknown[], extra: Json = {}): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers, ...extra } } },
  };
}

const container = (name: string, resources?: unknown): Json => (resources === undefined ? { name, image: 'nginx' } : { name, image: 'nginx', resources });

const C0 = '/spec/template/spec/containers/0';
const resourcesOf = (obj: Json, list = 'containers', i = 0): unknown => dig(obj, 'spec', 'template', 'spec', list, i, 'resources');

describe('JSON Pointer escaping', () => {
  const cases: [string, string][] = [
    ['plain', 'plain'],
    ['hpa-bridge.io/defaults-added', 'hpa-bridge.io~1defaults-added'],
    ['a~b', 'a~0b'],
    // `~` first: escaping `/` first would turn `~1` into `~01`.
    ['~/', '~0~1'],
    ['~1', '~01'],
    ['/~', '~1~0'],
    ['', ''],
  ];
  for (const [raw, escaped] of cases) {
    test(`the segment ${JSON.stringify(raw)} is written ${JSON.stringify(escaped)}`, () => {
      assert.equal(escapePointer(raw), escaped);
    });
  }

  test('a pointer joins escaped segments and numbers', () => {
    assert.equal(pointer(['metadata', 'annotations', 'a/b~c', 0]), '/metadata/annotations/a~1b~0c/0');
  });
});

describe('where the resources map is created', () => {
  test('a container without resources gets the whole resources map in one add', () => {
    const { result, after } = patch(deployment([container('app')]));
    assert.deepEqual(result.ops, [{ op: 'add', path: `${C0}/resources`, value: { requests: { cpu: '100m', memory: '128Mi' } } }]);
    assert.deepEqual(resourcesOf(after), { requests: { cpu: '100m', memory: '128Mi' } });
  });

  test('a container with resources: {} gets a requests map added inside it', () => {
    const { result, after } = patch(deployment([container('app', {})]));
    assert.deepEqual(result.ops, [{ op: 'add', path: `${C0}/resources/requests`, value: { cpu: '100m', memory: '128Mi' } }]);
    assert.deepEqual(resourcesOf(after), { requests: { cpu: '100m', memory: '128Mi' } });
  });

  test('a container with resources: null gets the resources map in place of the null', () => {
    const { result, after } = patch(deployment([container('app', null)]));
    assert.deepEqual(result.ops, [{ op: 'add', path: `${C0}/resources`, value: { requests: { cpu: '100m', memory: '128Mi' } } }]);
    assert.deepEqual(resourcesOf(after), { requests: { cpu: '100m', memory: '128Mi' } });
  });

  test('a container with requests: {} gets one add per key, not a new map', () => {
    const { result, after } = patch(deployment([container('app', { requests: {} })]));
    assert.deepEqual(result.ops, [
      { op: 'add', path: `${C0}/resources/requests/cpu`, value: '100m' },
      { op: 'add', path: `${C0}/resources/requests/memory`, value: '128Mi' },
    ]);
    assert.deepEqual(resourcesOf(after), { requests: { cpu: '100m', memory: '128Mi' } });
  });

  test('a container with requests: null gets a requests map in place of the null', () => {
    const { result, after } = patch(deployment([container('app', { requests: null, limits: { cpu: '2' } })]));
    assert.deepEqual(result.ops, [{ op: 'add', path: `${C0}/resources/requests`, value: { cpu: '100m', memory: '128Mi' } }]);
    assert.deepEqual(resourcesOf(after), { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2' } });
  });

  test('a requests map with other keys keeps them: missing keys are added one by one', () => {
    const { result, after } = patch(deployment([container('app', { requests: { 'nvidia.com/gpu': '1', memory: '1Gi' }, limits: { 'nvidia.com/gpu': '1' } })]));
    assert.deepEqual(result.ops, [{ op: 'add', path: `${C0}/resources/requests/cpu`, value: '100m' }]);
    assert.deepEqual(resourcesOf(after), { requests: { 'nvidia.com/gpu': '1', memory: '1Gi', cpu: '100m' }, limits: { 'nvidia.com/gpu': '1' } });
  });

  test('a container that already has cpu and memory requests gets nothing', () => {
    const { result } = patch(deployment([container('app', { requests: { cpu: '1m', memory: '1' } })]));
    assert.deepEqual(result, { ops: [], added: [], notes: [] });
  });
});

describe('a limit without a request: request = min(default, limit)', () => {
  const cases: { name: string; limits: Json; requests: Json }[] = [
    { name: 'limit memory 64Mi gives a 64Mi request, not the 128Mi default', limits: { memory: '64Mi' }, requests: { cpu: '100m', memory: '64Mi' } },
    { name: 'limit cpu "1" gives the 100m default', limits: { cpu: '1' }, requests: { cpu: '100m', memory: '128Mi' } },
    { name: 'limit cpu 50m gives a 50m request', limits: { cpu: '50m' }, requests: { cpu: '50m', memory: '128Mi' } },
    // Numerically 100M (1e8 bytes) < 128Mi (134217728 bytes), though "100M" sorts after "128Mi" as text.
    { name: 'limit memory 100M (decimal) is below 128Mi and becomes the request', limits: { memory: '100M' }, requests: { cpu: '100m', memory: '100M' } },
    { name: 'limit memory 1G (decimal) is above 128Mi, so the default stays', limits: { memory: '1G' }, requests: { cpu: '100m', memory: '128Mi' } },
    { name: 'limit memory 134217727 (one byte under 128Mi) becomes the request', limits: { memory: '134217727' }, requests: { cpu: '100m', memory: '134217727' } },
    { name: 'limit memory 134217728 (exactly 128Mi) keeps the default spelling', limits: { memory: '134217728' }, requests: { cpu: '100m', memory: '128Mi' } },
    { name: 'limit cpu 0.05 is kept as written', limits: { cpu: '0.05' }, requests: { cpu: '0.05', memory: '128Mi' } },
    { name: 'limit cpu in exponent form 5e-2 is compared by value', limits: { cpu: '5e-2' }, requests: { cpu: '5e-2', memory: '128Mi' } },
    // The API server writes a JSON number back as Quantity.String(), so the request copies that spelling.
    { name: 'a JSON number limit 0.05 becomes the request "50m"', limits: { cpu: 0.05 }, requests: { cpu: '50m', memory: '128Mi' } },
    { name: 'limit cpu 0 gives a request of 0', limits: { cpu: '0' }, requests: { cpu: '0', memory: '128Mi' } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { result, after } = patch(deployment([container('app', { limits: c.limits })]));
      assert.deepEqual(result.ops, [{ op: 'add', path: `${C0}/resources/requests`, value: c.requests }]);
      assert.deepEqual(resourcesOf(after), { limits: c.limits, requests: c.requests });
    });
  }

  test('a limit that is not a quantity leaves the container alone and says so', () => {
    const { result } = patch(deployment([container('app', { limits: { memory: 'lots' } })]));
    assert.deepEqual(result, { ops: [], added: [], notes: ['container app: resources.limits[memory] "lots" is not a quantity; container left alone'] });
  });

  test('a request that is not a quantity leaves the container alone', () => {
    const { result } = patch(deployment([container('app', { requests: { cpu: 'fast' } })]));
    assert.deepEqual(result, { ops: [], added: [], notes: ['container app: resources.requests[cpu] "fast" is not a quantity; container left alone'] });
  });

  // The API server rejects negative quantities (ValidateNonnegativeQuantity); min(default, limit) would be negative too.
  test('a negative limit gives no request at all, rather than a negative one', () => {
    const { result } = patch(deployment([container('app', { limits: { cpu: '-1' } })]));
    assert.deepEqual(result, { ops: [], added: [], notes: ['container app: resources.limits[cpu] "-1" is negative; container left alone'] });
  });

  test('a negative limit of another resource still leaves the whole container alone', () => {
    const { result } = patch(deployment([container('app', { limits: { 'ephemeral-storage': '-5Gi', cpu: '1' } }), container('next')]));
    assert.deepEqual(result.ops, [{ op: 'add', path: '/spec/template/spec/containers/1/resources', value: { requests: { cpu: '100m', memory: '128Mi' } } }]);
    assert.deepEqual(result.notes, ['container app: resources.limits[ephemeral-storage] "-5Gi" is negative; container left alone']);
  });

  test('a negative request is not scaled by limitRatio into a negative limit', () => {
    const policy = policyOf('defaults:\n- match: {}\n  requests: {cpu: 100m, memory: 128Mi}\n  limitRatio: {memory: 2}\n');
    const { result } = patch(deployment([container('app', { requests: { cpu: '1', memory: '-64Mi' } })]), policy);
    assert.deepEqual(result, { ops: [], added: [], notes: ['container app: resources.requests[memory] "-64Mi" is negative; container left alone'] });
  });

  test('a negative limit in a container that an off entry covers is not reported', () => {
    const policy = policyOf('defaults:\n- match: {}\n  requests: {cpu: 100m}\n- match: {containers: [legacy]}\n  off: true\n');
    const { result } = patch(deployment([container('legacy', { limits: { cpu: '-1' } })]), policy);
    assert.deepEqual(result, { ops: [], added: [], notes: [] });
  });

  test('a limit of "-0" is zero, not negative, and gives a zero request', () => {
    const { after } = patch(deployment([container('app', { limits: { cpu: '-0' } })]));
    assert.deepEqual(resourcesOf(after), { limits: { cpu: '-0' }, requests: { cpu: '-0', memory: '128Mi' } });
  });
});

describe('resources the webhook never touches', () => {
  test('hugepages and extended resources with requests equal to limits get no operation (workload-02)', () => {
    const object = readWorkloadFixture('workload-02-hugepages-extended-resources');
    const { result, after } = patch(object, FALLBACK_POLICY, 'power-manager');
    assert.deepEqual(result, { ops: [], added: [], notes: [] });
    assert.deepEqual(after, object);
  });

  test('hugepages and extended resources without cpu and memory: only cpu and memory are added', () => {
    const object = readWorkloadFixture('workload-02-hugepages-extended-resources');
    const server = dig(object, 'spec', 'template', 'spec', 'containers', 0, 'resources') as { requests: Json; limits: Json };
    for (const m of [server.requests, server.limits]) {
      delete m.cpu;
      delete m.memory;
    }
    const { result, after } = patch(object, FALLBACK_POLICY, 'power-manager');
    assert.deepEqual(result.ops, [
      { op: 'add', path: `${C0}/resources/requests/cpu`, value: '100m' },
      { op: 'add', path: `${C0}/resources/requests/memory`, value: '128Mi' },
    ]);
    assert.deepEqual(resourcesOf(after), {
      requests: { 'hugepages-1Gi': '10Gi', 'power.amdepyc.com/cpuscalingprofile-sample': '32', cpu: '100m', memory: '128Mi' },
      limits: { 'hugepages-1Gi': '10Gi', 'power.amdepyc.com/cpuscalingprofile-sample': '32' },
    });
  });

  test('an nvidia.com/gpu limit gets no gpu request; only the missing cpu request is added (workload-01)', () => {
    const object = readWorkloadFixture('workload-01-gpu-limit-memory-request');
    const { result, after } = patch(object);
    assert.deepEqual(result.ops, [{ op: 'add', path: `${C0}/resources/requests/cpu`, value: '100m' }]);
    assert.deepEqual(resourcesOf(after), { requests: { memory: '1024Mi', cpu: '100m' }, limits: { 'nvidia.com/gpu': 1 } });
  });

  test('an extended resource limit alone gets no request for it', () => {
    const { after } = patch(deployment([container('app', { limits: { 'nvidia.com/gpu': '2', 'hugepages-2Mi': '64Mi' } })]));
    assert.deepEqual(resourcesOf(after), { limits: { 'nvidia.com/gpu': '2', 'hugepages-2Mi': '64Mi' }, requests: { cpu: '100m', memory: '128Mi' } });
  });

  test('ephemeral containers are never defaulted', () => {
    const object = deployment([container('app', { requests: { cpu: '1', memory: '1Gi' } })], { ephemeralContainers: [{ name: 'debug', image: 'busybox' }] });
    const { result } = patch(object);
    assert.deepEqual(result.ops, []);
  });

  test('a StatefulSet volume claim template keeps its storage request and gets nothing (fixture 05)', () => {
    const object = (readAdmissionFixture('admissionreview-05-connaisseur-statefulset-create').request as Json).object as Json;
    const { result, after } = patch(object, FALLBACK_POLICY, 'connaisseur');
    assert.deepEqual(result.ops, [{ op: 'add', path: `${C0}/resources/requests`, value: { cpu: '100m', memory: '128Mi' } }]);
    assert.deepEqual(dig(after, 'spec', 'volumeClaimTemplates'), dig(object, 'spec', 'volumeClaimTemplates'));
  });
});

describe('which containers are covered', () => {
  test('a native sidecar (restartPolicy Always) without resources is covered (workload-03)', () => {
    const { result, after } = patch(readWorkloadFixture('workload-03-native-sidecar-initcontainer'));
    assert.deepEqual(result.ops, [
      { op: 'add', path: '/spec/template/spec/initContainers/0/resources', value: { requests: { cpu: '100m', memory: '128Mi' } } },
      { op: 'add', path: `${C0}/resources`, value: { requests: { cpu: '100m', memory: '128Mi' } } },
    ]);
    assert.deepEqual(resourcesOf(after, 'initContainers'), { requests: { cpu: '100m', memory: '128Mi' } });
    assert.deepEqual(resourcesOf(after), { requests: { cpu: '100m', memory: '128Mi' } });
  });

  test('an ordinary init container is not covered by default', () => {
    const object = deployment([container('app', { requests: { cpu: '1', memory: '1Gi' } })], { initContainers: [container('migrate')] });
    const { result } = patch(object);
    assert.deepEqual(result.ops, []);
  });

  test('an init container with restartPolicy OnFailure is not a sidecar and is not covered', () => {
    const object = deployment([container('app', { requests: { cpu: '1', memory: '1Gi' } })], { initContainers: [{ ...container('migrate'), restartPolicy: 'OnFailure' }] });
    assert.deepEqual(patch(object).result.ops, []);
  });

  test('an ordinary init container is covered when the matching entry sets initContainers: true', () => {
    const policy = policyOf('defaults:\n- name: all\n  match: {}\n  requests: {cpu: 10m, memory: 16Mi}\n  initContainers: true\n');
    const object = deployment([container('app', { requests: { cpu: '1', memory: '1Gi' } })], { initContainers: [container('migrate')] });
    const { result, after } = patch(object, policy);
    assert.deepEqual(result.ops, [{ op: 'add', path: '/spec/template/spec/initContainers/0/resources', value: { requests: { cpu: '10m', memory: '16Mi' } } }]);
    assert.deepEqual(resourcesOf(after, 'initContainers'), { requests: { cpu: '10m', memory: '16Mi' } });
  });

  test('indices follow the object received: the second container gets index 1', () => {
    const object = readWorkloadFixture('workload-05-mixed-containers-partial-resources');
    const { result, after } = patch(object);
    assert.deepEqual(result.ops, [{ op: 'add', path: `${C0}/resources`, value: { requests: { cpu: '100m', memory: '128Mi' } } }]);
    assert.deepEqual(resourcesOf(after, 'containers', 1), { requests: { memory: '50Mi', cpu: '100m' }, limits: { memory: '100Mi' } });
  });

  test('a memory-only limit gives a cpu default and a memory default under the limit (workload-04)', () => {
    const { result, after } = patch(readWorkloadFixture('workload-04-limits-memory-only'), FALLBACK_POLICY, 'monitoring');
    assert.deepEqual(result.ops, [{ op: 'add', path: `${C0}/resources/requests`, value: { cpu: '100m', memory: '128Mi' } }]);
    assert.deepEqual(resourcesOf(after), { limits: { memory: '2Gi' }, requests: { cpu: '100m', memory: '128Mi' } });
  });
});

describe('pod-level resources', () => {
  test('a pod-level cpu request leaves container cpu to the pod; memory is still added', () => {
    const object = deployment([container('app'), container('sidecar')], { resources: { requests: { cpu: '150m' } } });
    const { result, after } = patch(object);
    assert.deepEqual(result.ops, [
      { op: 'add', path: `${C0}/resources`, value: { requests: { memory: '128Mi' } } },
      { op: 'add', path: '/spec/template/spec/containers/1/resources', value: { requests: { memory: '128Mi' } } },
    ]);
    assert.deepEqual(dig(after, 'spec', 'template', 'spec', 'resources'), { requests: { cpu: '150m' } });
  });

  test('a pod-level limit alone also leaves that resource to the pod', () => {
    const pod: Json = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { resources: { limits: { memory: '1Gi', cpu: '1' } }, containers: [container('app')] } };
    assert.deepEqual(patch(pod).result, { ops: [], added: [], notes: [] });
  });

  test('pod-level extended resources do not stop cpu and memory defaults', () => {
    const object = deployment([container('app')], { resources: { requests: { 'hugepages-2Mi': '2Mi' }, limits: { 'hugepages-2Mi': '2Mi' } } });
    assert.deepEqual(patch(object).result.ops, [{ op: 'add', path: `${C0}/resources`, value: { requests: { cpu: '100m', memory: '128Mi' } } }]);
  });
});

describe('pod spec locations', () => {
  test('a CronJob is patched under /spec/jobTemplate/spec/template/spec', () => {
    const cron: Json = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'report', namespace: 'default' },
      spec: { schedule: '0 * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [container('report')] } } } } },
    };
    const { result, after } = patch(cron);
    assert.deepEqual(result.ops, [{ op: 'add', path: '/spec/jobTemplate/spec/template/spec/containers/0/resources', value: { requests: { cpu: '100m', memory: '128Mi' } } }]);
    assert.deepEqual(dig(after, 'spec', 'jobTemplate', 'spec', 'template', 'spec', 'containers', 0, 'resources'), { requests: { cpu: '100m', memory: '128Mi' } });
  });

  test('a Pod is patched under /spec', () => {
    const pod: Json = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [container('app', {})] } };
    const { result } = patch(pod);
    assert.deepEqual(result.ops, [{ op: 'add', path: '/spec/containers/0/resources/requests', value: { cpu: '100m', memory: '128Mi' } }]);
  });
});

describe('policy', () => {
  const layered = policyOf(`defaults:
- name: everything
  match: {}
  requests: {cpu: 100m, memory: 128Mi}
- name: mesh sidecars
  match: {containers: [istio-proxy]}
  requests: {cpu: 50m}
- name: batch
  match: {kinds: [Job]}
  requests: {cpu: 250m, memory: 256Mi}
  limitRatio: {memory: 2, cpu: "1.5"}
- name: capped
  match: {namespaces: [capped]}
  limits: {memory: 64Mi}
- name: legacy
  match: {namespaces: [legacy]}
  off: true
`);

  test('a resource the most specific entry does not set falls through to the next entry', () => {
    const { result } = patch(deployment([container('istio-proxy')]), layered);
    assert.deepEqual(result.added, [
      { container: 'istio-proxy', list: 'containers', field: 'requests', resource: 'cpu', value: '50m', entry: 'mesh sidecars' },
      { container: 'istio-proxy', list: 'containers', field: 'requests', resource: 'memory', value: '128Mi', entry: 'everything' },
    ]);
  });

  test('limitRatio adds limits of request × ratio', () => {
    const job: Json = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { template: { spec: { containers: [container('work')] } } } };
    const { after } = patch(job, layered);
    assert.deepEqual(resourcesOf(after), { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '375m', memory: '512Mi' } });
  });

  test('limitRatio on memory rounds a fractional byte up to a whole byte', () => {
    const policy = policyOf('defaults:\n- match: {}\n  requests: {memory: "3"}\n  limitRatio: {memory: "1.5"}\n');
    const { after } = patch(deployment([container('app')]), policy);
    assert.deepEqual(resourcesOf(after), { requests: { memory: '3' }, limits: { memory: '5' } });
  });

  test('limitRatio scales an existing request when the limit is missing', () => {
    const job: Json = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { template: { spec: { containers: [container('work', { requests: { cpu: '1', memory: '1Gi' } })] } } } };
    const { result } = patch(job, layered);
    assert.deepEqual(result.ops, [{ op: 'add', path: `${C0}/resources/limits`, value: { cpu: '1500m', memory: '2Gi' } }]);
  });

  test('a request too large to scale by limitRatio gets no limit and a note, instead of an exception', () => {
    const policy = policyOf('defaults:\n- match: {}\n  requests: {cpu: 100m, memory: 128Mi}\n  limitRatio: {cpu: 10}\n');
    const { result } = patch(deployment([container('app', { requests: { cpu: '1e999', memory: '1Gi' } })]), policy);
    assert.deepEqual(result, { ops: [], added: [], notes: ['container app: requests.cpu 1e999 × 10 is too large; no limit added'] });
  });

  test('an explicit limit below an existing request is not added, with a note', () => {
    const { result, after } = patch(deployment([container('app', { requests: { cpu: '1', memory: '1Gi' } })]), layered, 'capped');
    assert.deepEqual(result.ops, []);
    assert.deepEqual(result.notes, ['container app: limit 64Mi for memory is below the request 1Gi; no limit added']);
    assert.deepEqual(resourcesOf(after), { requests: { cpu: '1', memory: '1Gi' } });
  });

  test('an explicit limit above the added request is added with it', () => {
    const policy = policyOf('defaults:\n- match: {}\n  requests: {cpu: 100m, memory: 128Mi}\n  limits: {memory: 256Mi}\n');
    const { after } = patch(deployment([container('app', {})]), policy);
    assert.deepEqual(resourcesOf(after), { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } });
  });

  test('an off entry stops defaulting for what it matches', () => {
    const { result } = patch(deployment([container('app')]), layered, 'legacy');
    assert.deepEqual(result, { ops: [], added: [], notes: [] });
  });

  test('a policy that switches the fallback off adds nothing', () => {
    const { result } = patch(deployment([container('app')]), policyOf('defaults:\n- match: {}\n  off: true\n'));
    assert.deepEqual(result.ops, []);
  });
});
