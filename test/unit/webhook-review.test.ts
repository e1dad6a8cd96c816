// reviewAdmission: whole AdmissionReviews in, AdmissionReviews out. Each
// patch is decoded from base64 and applied with validation, and the object
// the API server would store is checked, not the operations alone.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { reviewAdmission, ReviewError, RECORD_ANNOTATION, type ReviewOptions } from '../../webhook/review.js';
import type { DefaultsPolicy } from '../../rules/defaults.js';
import {
  admissionFixtureReview,
  clone,
  decodePatch,
  dig,
  FALLBACK_POLICY,
  patchedObject,
  policyOf,
  readAdmissionFixture,
  readWorkloadFixture,
  responseOf,
  reviewOf,
  TEST_UID,
  wrapRequest,
  type Json,
} from '../support/admission.js';

const RECORD_PATH = '/metadata/annotations/hpa-bridge.io~1defaults-added';
const DEFAULTS = { cpu: '100m', memory: '128Mi' };

interface Answer {
  readonly review: Json;
  readonly response: Json;
  /** The request's object with the patch applied (the object itself when there is no patch). */
  readonly after: Json;
}

function answer(review: Json, policy: DefaultsPolicy = FALLBACK_POLICY, options?: ReviewOptions): Answer {
  const before = clone(review);
  const out = reviewAdmission(review, policy, options).review;
  assert.deepEqual(review, before, 'the review is not modified');
  return { review: out, response: responseOf(out), after: patchedObject(review, out) };
}

/** Asserts an allowed answer without a patch, and returns its warnings. */
function unpatched(a: Answer): unknown {
  assert.equal(a.response.allowed, true);
  assert.equal(a.response.patch, undefined);
  assert.equal(a.response.patchType, undefined);
  return a.response.warnings;
}

function deployment(spec: Json, metadata: Json = {}): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', ...metadata },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec } },
  };
}

const containersOf = (obj: Json): unknown => dig(obj, 'spec', 'template', 'spec', 'containers');

function assertWarningsFit(response: Json): void {
  const warnings = (response.warnings ?? []) as string[];
  for (const w of warnings) assert.ok(w.length <= 120, `warning longer than 120 characters: ${w}`);
}

describe('real-world AdmissionReviews', () => {
  test('01: a Deployment CREATE with limits cpu "1" and memory "1G" gets requests 100m and 128Mi, under both limits', () => {
    const review = admissionFixtureReview('admissionreview-01-kubewarden-deploy-limits-only');
    const a = answer(review);
    assert.deepEqual(a.review, {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: '31403b86-f972-423e-8adb-c4bd79dc15cc',
        allowed: true,
        patchType: 'JSONPatch',
        patch: a.response.patch,
        warnings: ['hpa-bridge: added to container nginx: cpu=100m, memory=128Mi'],
      },
    });
    assert.deepEqual(decodePatch(a.response), [
      { op: 'add', path: '/spec/template/spec/containers/0/resources/requests', value: DEFAULTS },
      { op: 'add', path: RECORD_PATH, value: 'nginx: requests cpu=100m memory=128Mi' },
    ]);
    assert.deepEqual(dig(a.after, 'spec', 'template', 'spec', 'containers', 0, 'resources'), { limits: { cpu: '1', memory: '1G' }, requests: DEFAULTS });
  });

  test('01: the wrapped request keeps every field but the patched ones', () => {
    const review = admissionFixtureReview('admissionreview-01-kubewarden-deploy-limits-only');
    const object = (review.request as Json).object as Json;
    const a = answer(review);
    const expected = clone(object);
    (dig(expected, 'spec', 'template', 'spec', 'containers', 0, 'resources') as Json).requests = DEFAULTS;
    (dig(expected, 'metadata', 'annotations') as Json)[RECORD_ANNOTATION] = 'nginx: requests cpu=100m memory=128Mi';
    assert.deepEqual(a.after, expected);
  });

  test('02: a Deployment CREATE with resources: {} gets a requests map', () => {
    const a = answer(admissionFixtureReview('admissionreview-02-kubewarden-deploy-no-resources'));
    assert.deepEqual(decodePatch(a.response), [
      { op: 'add', path: '/spec/template/spec/containers/0/resources/requests', value: DEFAULTS },
      { op: 'add', path: RECORD_PATH, value: 'nginx: requests cpu=100m memory=128Mi' },
    ]);
    assert.deepEqual(dig(a.after, 'spec', 'template', 'spec', 'containers', 0, 'resources'), { requests: DEFAULTS });
    assert.equal(dig(a.after, 'metadata', 'annotations', 'io.kubewarden.policy.echo.create'), 'true');
  });

  test('03: requests cpu and memory with a cpu-only limit are complete, so there is no patch', () => {
    const a = answer(admissionFixtureReview('admissionreview-03-kubewarden-deploy-requests-partial-limits'));
    assert.deepEqual(a.review, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: '31403b86-f972-423e-8adb-c4bd79dc15cc', allowed: true } });
  });

  test('04: a complete v1 review for a Deployment CREATE gets defaults and the uid back', () => {
    const a = answer(admissionFixtureReview('admissionreview-04-whorf-deploy-create-full'));
    assert.equal(a.response.uid, '13b390aa-ea59-48ef-9fb8-069bf0430dce');
    assert.deepEqual(dig(a.after, 'spec', 'template', 'spec', 'containers', 0, 'resources'), { requests: DEFAULTS });
    assert.equal(dig(a.after, 'metadata', 'annotations', RECORD_ANNOTATION), 'nginx: requests cpu=100m memory=128Mi');
  });

  test('05: a StatefulSet gets container defaults and its volume claim template is unchanged', () => {
    const review = admissionFixtureReview('admissionreview-05-connaisseur-statefulset-create');
    const a = answer(review);
    assert.deepEqual(decodePatch(a.response), [
      { op: 'add', path: '/spec/template/spec/containers/0/resources/requests', value: DEFAULTS },
      { op: 'add', path: RECORD_PATH, value: 'nginx: requests cpu=100m memory=128Mi' },
    ]);
    assert.deepEqual(dig(a.after, 'spec', 'volumeClaimTemplates', 0, 'spec', 'resources'), { requests: { storage: '1Gi' } });
    assert.deepEqual(dig(a.after, 'spec', 'volumeClaimTemplates'), dig(review, 'request', 'object', 'spec', 'volumeClaimTemplates'));
  });

  test('06: a Pod CREATE defaults its container and leaves the ordinary init container alone', () => {
    const a = answer(admissionFixtureReview('admissionreview-06-connaisseur-pod-initcontainer'));
    assert.deepEqual(decodePatch(a.response), [
      { op: 'add', path: '/spec/containers/0/resources/requests', value: DEFAULTS },
      { op: 'add', path: RECORD_PATH, value: 'test-connaisseur: requests cpu=100m memory=128Mi' },
    ]);
    assert.deepEqual(dig(a.after, 'spec', 'initContainers', 0, 'resources'), {});
  });

  test('06: a Pod CREATE covers the ordinary init container when policy sets initContainers: true', () => {
    const policy = policyOf('defaults:\n- match: {}\n  requests: {cpu: 100m, memory: 128Mi}\n  initContainers: true\n');
    const a = answer(admissionFixtureReview('admissionreview-06-connaisseur-pod-initcontainer'), policy);
    assert.deepEqual(dig(a.after, 'spec', 'initContainers', 0, 'resources'), { requests: DEFAULTS });
    assert.deepEqual(dig(a.after, 'spec', 'containers', 0, 'resources'), { requests: DEFAULTS });
    assert.equal(dig(a.after, 'metadata', 'annotations', RECORD_ANNOTATION), 'my-initcontainer: requests cpu=100m memory=128Mi; test-connaisseur: requests cpu=100m memory=128Mi');
  });

  test('06: a Pod CREATE where another webhook injected istio-proxy gets defaults for the sidecar too', () => {
    const review = admissionFixtureReview('admissionreview-06-connaisseur-pod-initcontainer');
    const spec = dig(review, 'request', 'object', 'spec') as { containers: Json[] };
    (spec.containers[0] as Json).resources = { requests: { cpu: '250m', memory: '256Mi' } };
    spec.containers.push({ name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.22.0', args: ['proxy', 'sidecar'] });
    const policy = policyOf('defaults:\n- match: {}\n  requests: {cpu: 100m, memory: 128Mi}\n- name: mesh sidecars\n  match: {containers: [istio-proxy]}\n  requests: {cpu: 50m, memory: 64Mi}\n');
    const a = answer(review, policy);
    assert.deepEqual(decodePatch(a.response), [
      { op: 'add', path: '/spec/containers/1/resources', value: { requests: { cpu: '50m', memory: '64Mi' } } },
      { op: 'add', path: RECORD_PATH, value: 'istio-proxy: requests cpu=50m memory=64Mi' },
    ]);
    assert.deepEqual(dig(a.after, 'spec', 'containers', 0, 'resources'), { requests: { cpu: '250m', memory: '256Mi' } });
    assert.deepEqual(a.response.warnings, ['hpa-bridge: added to container istio-proxy: cpu=50m, memory=64Mi']);
  });

  test('07: a request without uid, kind or object is a ReviewError', () => {
    const review = readAdmissionFixture('admissionreview-07-connaisseur-broken-request');
    assert.throws(
      () => reviewAdmission(review, FALLBACK_POLICY),
      (e: unknown) => e instanceof ReviewError && e.message === 'the AdmissionReview request has no uid',
    );
  });
});

describe('real-world workloads', () => {
  const cases: { file: string; name: string; containers: unknown; record: string | undefined }[] = [
    {
      file: 'workload-01-gpu-limit-memory-request',
      name: 'a gpu limit with a memory request gets only a cpu request, and no gpu request',
      containers: [{ requests: { memory: '1024Mi', cpu: '100m' }, limits: { 'nvidia.com/gpu': 1 } }],
      record: 'gpu-api2: requests cpu=100m',
    },
    {
      file: 'workload-02-hugepages-extended-resources',
      name: 'hugepages and extended resources with complete cpu and memory get no patch',
      containers: [
        {
          requests: { cpu: '32', 'hugepages-1Gi': '10Gi', memory: '6Gi', 'power.amdepyc.com/cpuscalingprofile-sample': '32' },
          limits: { cpu: '32', 'hugepages-1Gi': '10Gi', memory: '6Gi', 'power.amdepyc.com/cpuscalingprofile-sample': '32' },
        },
        {
          requests: { cpu: '8', 'hugepages-1Gi': '5Gi', memory: '3Gi', 'power.amdepyc.com/performance': '8' },
          limits: { cpu: '8', 'hugepages-1Gi': '5Gi', memory: '3Gi', 'power.amdepyc.com/performance': '8' },
        },
      ],
      record: undefined,
    },
    {
      file: 'workload-03-native-sidecar-initcontainer',
      name: 'a native sidecar and its app container both get defaults',
      containers: [{ requests: DEFAULTS }],
      record: 'logshipper: requests cpu=100m memory=128Mi; myapp: requests cpu=100m memory=128Mi',
    },
    {
      file: 'workload-04-limits-memory-only',
      name: 'a 2Gi memory limit keeps the 128Mi default request',
      containers: [{ limits: { memory: '2Gi' }, requests: DEFAULTS }],
      record: 'prometheus: requests cpu=100m memory=128Mi',
    },
    {
      file: 'workload-05-mixed-containers-partial-resources',
      name: 'only the container without resources gets defaults',
      containers: [{ requests: DEFAULTS }, { requests: { memory: '50Mi', cpu: '100m' }, limits: { memory: '100Mi' } }],
      record: 'busybox: requests cpu=100m memory=128Mi',
    },
  ];
  for (const c of cases) {
    test(`${c.file}: ${c.name}`, () => {
      const a = answer(reviewOf(readWorkloadFixture(c.file)));
      assert.deepEqual(
        (containersOf(a.after) as Json[]).map((x) => x.resources),
        c.containers,
      );
      assert.equal(dig(a.after, 'metadata', 'annotations', RECORD_ANNOTATION), c.record);
      if (c.record === undefined) unpatched(a);
    });
  }

  test('workload-03: the native sidecar keeps restartPolicy Always and gets its requests', () => {
    const a = answer(reviewOf(readWorkloadFixture('workload-03-native-sidecar-initcontainer')));
    const sidecar = dig(a.after, 'spec', 'template', 'spec', 'initContainers', 0) as Json;
    assert.equal(sidecar.restartPolicy, 'Always');
    assert.deepEqual(sidecar.resources, { requests: DEFAULTS });
  });
});

describe('operations and kinds', () => {
  const plain = (): Json => deployment({ containers: [{ name: 'app', image: 'nginx' }] });

  test('a Deployment UPDATE is defaulted like a CREATE', () => {
    const a = answer(reviewOf(plain(), { operation: 'UPDATE' }));
    assert.deepEqual(decodePatch(a.response), [
      { op: 'add', path: '/spec/template/spec/containers/0/resources', value: { requests: DEFAULTS } },
      { op: 'add', path: '/metadata/annotations', value: { [RECORD_ANNOTATION]: 'app: requests cpu=100m memory=128Mi' } },
    ]);
  });

  test('a Pod UPDATE is allowed unchanged without a warning, since pod resources cannot change', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } };
    assert.equal(unpatched(answer(reviewOf(pod, { operation: 'UPDATE' }))), undefined);
  });

  test('a DELETE is allowed unchanged without a warning', () => {
    assert.equal(unpatched(answer(reviewOf(plain(), { operation: 'DELETE' }))), undefined);
  });

  test('a CronJob CREATE is patched under its job template', () => {
    const cron = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly', namespace: 'shop', annotations: {} },
      spec: { schedule: '@daily', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'run', image: 'busybox', resources: {} }] } } } } },
    };
    const a = answer(reviewOf(cron));
    assert.deepEqual(decodePatch(a.response), [
      { op: 'add', path: '/spec/jobTemplate/spec/template/spec/containers/0/resources/requests', value: DEFAULTS },
      { op: 'add', path: RECORD_PATH, value: 'run: requests cpu=100m memory=128Mi' },
    ]);
  });

  test('a CronJob UPDATE is patched, since its job template may change', () => {
    const cron = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly', annotations: {} },
      spec: { schedule: '@daily', jobTemplate: { spec: { template: { spec: { containers: [{ name: 'run' }] } } } } },
    };
    const a = answer(reviewOf(cron, { operation: 'UPDATE' }));
    assert.deepEqual(dig(a.after, 'spec', 'jobTemplate', 'spec', 'template', 'spec', 'containers', 0, 'resources'), { requests: DEFAULTS });
  });

  const job = (resources?: Json): Json => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'j', namespace: 'shop', annotations: {} },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'w', image: 'busybox', ...(resources ? { resources } : {}) }] } } },
  });

  test('a Job UPDATE of a Job stored without requests is allowed unchanged, since its pod template is immutable', () => {
    assert.equal(unpatched(answer(reviewOf(job(), { operation: 'UPDATE', oldObject: job() }))), undefined);
  });

  test('a Job UPDATE that dropped the requests the stored Job has gets them back', () => {
    const a = answer(reviewOf(job(), { operation: 'UPDATE', oldObject: job({ requests: DEFAULTS }) }));
    assert.deepEqual(dig(a.after, 'spec', 'template', 'spec', 'containers', 0, 'resources'), { requests: DEFAULTS });
  });

  test('a Job UPDATE whose stored requests differ from the defaults is allowed unchanged', () => {
    assert.equal(unpatched(answer(reviewOf(job(), { operation: 'UPDATE', oldObject: job({ requests: { cpu: '1', memory: '1Gi' } }) }))), undefined);
  });

  for (const kind of ['DaemonSet', 'ReplicaSet', 'StatefulSet']) {
    test(`an apps/v1 ${kind} is patched under /spec/template/spec`, () => {
      const object = { ...plain(), kind };
      const ops = decodePatch(answer(reviewOf(object)).response);
      assert.equal(ops?.[0]?.path, '/spec/template/spec/containers/0/resources');
    });
  }

  test('a batch/v1 Job is patched under /spec/template/spec', () => {
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { template: { spec: { containers: [{ name: 'w' }] } } } };
    const a = answer(reviewOf(job));
    assert.deepEqual(dig(a.after, 'spec', 'template', 'spec', 'containers', 0, 'resources'), { requests: DEFAULTS });
  });

  test('an apps/v1 ControllerRevision is allowed unchanged with a warning', () => {
    const revision = { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: 'web-1' }, revision: 1, data: { spec: { template: { spec: { containers: [{ name: 'app' }] } } } } };
    assert.deepEqual(unpatched(answer(reviewOf(revision))), ['hpa-bridge: no defaults added: kind apps/v1/ControllerRevision is not a workload this webhook defaults']);
  });

  test('a v1 ConfigMap is allowed unchanged with a warning', () => {
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { a: 'b' } };
    assert.deepEqual(unpatched(answer(reviewOf(configMap))), ['hpa-bridge: no defaults added: kind v1/ConfigMap is not a workload this webhook defaults']);
  });

  test('a Deployment outside apps (extensions/v1beta1) is an unknown kind', () => {
    assert.deepEqual(unpatched(answer(reviewOf({ ...plain(), apiVersion: 'extensions/v1beta1' }))), [
      'hpa-bridge: no defaults added: kind extensions/v1beta1/Deployment is not a workload this webhook defaults',
    ]);
  });

  test('a request without a kind is allowed unchanged with a warning', () => {
    const review = reviewOf(plain());
    delete (review.request as Json).kind;
    assert.deepEqual(unpatched(answer(review)), ['hpa-bridge: no defaults added: the request has no kind']);
  });
});

describe('malformed objects are allowed unchanged with a warning', () => {
  test('spec.template.spec.containers as a string', () => {
    const object = deployment({ containers: 'nginx' });
    assert.deepEqual(unpatched(answer(reviewOf(object))), ['hpa-bridge: no defaults added: spec.template.spec.containers is a string, not a list']);
  });

  test('no pod spec at spec.template.spec', () => {
    const object = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template: { metadata: {} } } };
    assert.deepEqual(unpatched(answer(reviewOf(object))), ['hpa-bridge: no defaults added: the object has no pod spec at spec.template.spec']);
  });

  test('no object at all', () => {
    const review = reviewOf(deployment({ containers: [] }));
    (review.request as Json).object = null;
    const out = reviewAdmission(review, FALLBACK_POLICY).review;
    assert.deepEqual(out, {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: TEST_UID, allowed: true, warnings: ['hpa-bridge: no defaults added: the request has no object'] },
    });
  });

  test('a container whose resources are a string leaves the whole object alone, the container next to it too', () => {
    const object = deployment({ containers: [{ name: 'bad', resources: 'lots' }, { name: 'good' }] });
    assert.deepEqual(unpatched(answer(reviewOf(object))), ['hpa-bridge: no defaults added: spec.template.spec.containers[0].resources is a string, not an object']);
  });
});

/** The AdmissionReview of a fixture, with `value` set at `path` of its object (undefined deletes the member). */
function fixtureWith(review: Json, path: readonly (string | number)[], value: unknown): Json {
  const object = (review.request as Json).object;
  const parent = dig(object, ...path.slice(0, -1)) as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (value === undefined) delete parent[last];
  else parent[last] = value;
  return review;
}

const FIXTURE_01 = 'admissionreview-01-kubewarden-deploy-limits-only';
const FIXTURE_06 = 'admissionreview-06-connaisseur-pod-initcontainer';
const fixture01 = (): Json => admissionFixtureReview(FIXTURE_01);
const fixture06 = (): Json => admissionFixtureReview(FIXTURE_06);
const sidecarWorkload = (): Json => reviewOf(readWorkloadFixture('workload-03-native-sidecar-initcontainer'));
const cronJob = (): Json =>
  reviewOf({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'nightly', namespace: 'shop' },
    spec: { schedule: '@daily', jobTemplate: { spec: { template: { metadata: { labels: { app: 'nightly' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'run', image: 'busybox' }] } } } } },
  });
const C0_PATH = ['spec', 'template', 'spec', 'containers', 0] as const;

describe('a node of the wrong JSON type: allowed unchanged, with a warning naming it', () => {
  test('fixture 01 with metadata.annotations "x" gets no patch, so "x" is not replaced', () => {
    const review = fixtureWith(fixture01(), ['metadata', 'annotations'], 'x');
    assert.deepEqual(unpatched(answer(review)), ['hpa-bridge: no defaults added: metadata.annotations is a string, not an object']);
  });

  test('fixture 01 with metadata "x" gets no patch, so "x" is not replaced', () => {
    const review = fixtureWith(fixture01(), ['metadata'], 'x');
    assert.deepEqual(unpatched(answer(review)), ['hpa-bridge: no defaults added: metadata is a string, not an object']);
  });

  const cases: { review: () => Json; path: readonly (string | number)[]; value: unknown; reason: string }[] = [
    {
      review: fixture01,
      path: ['metadata', 'annotations', 'io.kubewarden.policy.echo.create'],
      value: true,
      reason: 'metadata.annotations[io.kubewarden.policy.echo.create] is a boolean, not a string',
    },
    { review: fixture01, path: ['metadata', 'labels'], value: ['app'], reason: 'metadata.labels is a list, not an object' },
    { review: fixture06, path: ['metadata', 'labels', 'app'], value: 1, reason: 'metadata.labels[app] is a number, not a string' },
    { review: fixture01, path: ['spec'], value: [], reason: 'spec is a list, not an object' },
    { review: fixture01, path: ['spec', 'template'], value: 'x', reason: 'spec.template is a string, not an object' },
    { review: fixture01, path: ['spec', 'template', 'metadata'], value: 7, reason: 'spec.template.metadata is a number, not an object' },
    { review: fixture01, path: ['spec', 'template', 'metadata', 'labels'], value: 'app=nginx', reason: 'spec.template.metadata.labels is a string, not an object' },
    { review: fixture01, path: ['spec', 'template', 'metadata', 'labels', 'app'], value: { name: 'nginx' }, reason: 'spec.template.metadata.labels[app] is an object, not a string' },
    { review: fixture01, path: ['spec', 'template', 'spec'], value: true, reason: 'spec.template.spec is a boolean, not an object' },
    { review: fixture01, path: ['spec', 'template', 'spec', 'containers'], value: {}, reason: 'spec.template.spec.containers is an object, not a list' },
    { review: fixture01, path: C0_PATH, value: 'nginx', reason: 'spec.template.spec.containers[0] is a string, not an object' },
    { review: fixture01, path: C0_PATH, value: null, reason: 'spec.template.spec.containers[0] is null, not an object' },
    { review: fixture01, path: [...C0_PATH, 'name'], value: 5, reason: 'spec.template.spec.containers[0].name is a number, not a string' },
    { review: fixture01, path: [...C0_PATH, 'name'], value: undefined, reason: 'spec.template.spec.containers[0].name is missing' },
    { review: fixture01, path: [...C0_PATH, 'resources'], value: 'lots', reason: 'spec.template.spec.containers[0].resources is a string, not an object' },
    { review: fixture01, path: [...C0_PATH, 'resources', 'limits'], value: ['1'], reason: 'spec.template.spec.containers[0].resources.limits is a list, not an object' },
    { review: fixture01, path: [...C0_PATH, 'resources', 'requests'], value: 'cpu=1', reason: 'spec.template.spec.containers[0].resources.requests is a string, not an object' },
    { review: fixture01, path: [...C0_PATH, 'resources', 'limits', 'cpu'], value: {}, reason: 'spec.template.spec.containers[0].resources.limits[cpu] is an object, not a quantity' },
    { review: fixture01, path: [...C0_PATH, 'resources', 'limits', 'memory'], value: true, reason: 'spec.template.spec.containers[0].resources.limits[memory] is a boolean, not a quantity' },
    { review: fixture01, path: [...C0_PATH, 'resources', 'limits', 'cpu'], value: null, reason: 'spec.template.spec.containers[0].resources.limits[cpu] is null, not a quantity' },
    { review: fixture01, path: [...C0_PATH, 'restartPolicy'], value: 1, reason: 'spec.template.spec.containers[0].restartPolicy is a number, not a string' },
    { review: fixture01, path: ['spec', 'template', 'spec', 'resources'], value: 'x', reason: 'spec.template.spec.resources is a string, not an object' },
    { review: fixture01, path: ['spec', 'template', 'spec', 'resources'], value: { requests: [] }, reason: 'spec.template.spec.resources.requests is a list, not an object' },
    { review: sidecarWorkload, path: ['spec', 'template', 'spec', 'initContainers'], value: 'logshipper', reason: 'spec.template.spec.initContainers is a string, not a list' },
    {
      review: sidecarWorkload,
      path: ['spec', 'template', 'spec', 'initContainers', 0, 'restartPolicy'],
      value: true,
      reason: 'spec.template.spec.initContainers[0].restartPolicy is a boolean, not a string',
    },
    { review: fixture06, path: ['spec'], value: 'x', reason: 'spec is a string, not an object' },
    // An ordinary init container is not defaulted, but a malformed one still makes the object malformed.
    { review: fixture06, path: ['spec', 'initContainers', 0, 'resources'], value: 'x', reason: 'spec.initContainers[0].resources is a string, not an object' },
    { review: cronJob, path: ['spec', 'jobTemplate'], value: 'x', reason: 'spec.jobTemplate is a string, not an object' },
    { review: cronJob, path: ['spec', 'jobTemplate', 'spec', 'template', 'metadata', 'labels'], value: [], reason: 'spec.jobTemplate.spec.template.metadata.labels is a list, not an object' },
  ];
  for (const c of cases) {
    test(c.reason, () => {
      const review = fixtureWith(c.review(), c.path, c.value);
      assert.deepEqual(unpatched(answer(review)), [`hpa-bridge: no defaults added: ${c.reason}`]);
    });
  }
});

describe('negative and unparsable quantities', () => {
  test('fixture 01 with a cpu limit of "-1" is allowed unchanged with a warning, never a negative request', () => {
    const review = fixtureWith(fixture01(), [...C0_PATH, 'resources', 'limits', 'cpu'], '-1');
    assert.deepEqual(unpatched(answer(review)), ['hpa-bridge: container nginx: resources.limits[cpu] "-1" is negative; container left alone']);
  });

  test('a negative JSON number limit is treated like a negative string', () => {
    const review = fixtureWith(fixture01(), [...C0_PATH, 'resources', 'limits', 'memory'], -1);
    assert.deepEqual(unpatched(answer(review)), ['hpa-bridge: container nginx: resources.limits[memory] -1 is negative; container left alone']);
  });

  test('a negative request is left alone, and other containers still get defaults', () => {
    const a = answer(reviewOf(deployment({ containers: [{ name: 'bad', resources: { requests: { memory: '-1Gi' } } }, { name: 'good' }] })));
    assert.deepEqual(decodePatch(a.response)?.[0], { op: 'add', path: '/spec/template/spec/containers/1/resources', value: { requests: DEFAULTS } });
    assert.deepEqual(dig(a.after, 'spec', 'template', 'spec', 'containers', 0, 'resources'), { requests: { memory: '-1Gi' } });
    assert.deepEqual(a.response.warnings, [
      'hpa-bridge: added to container good: cpu=100m, memory=128Mi',
      'hpa-bridge: container bad: resources.requests[memory] "-1Gi" is negative; container left alone',
    ]);
  });

  test('a limit that is not a quantity leaves its container alone', () => {
    const a = answer(reviewOf(deployment({ containers: [{ name: 'app', resources: { limits: { memory: '1 Gi' } } }] })));
    assert.deepEqual(unpatched(a), ['hpa-bridge: container app: resources.limits[memory] "1 Gi" is not a quantity; container left alone']);
  });
});

describe('opt-outs', () => {
  const object = (metadata: Json, templateLabels: Json = { app: 'web' }): Json => {
    const d = deployment({ containers: [{ name: 'app' }] }, metadata);
    (dig(d, 'spec', 'template', 'metadata') as Json).labels = templateLabels;
    return d;
  };

  const cases: { name: string; object: Json }[] = [
    { name: 'the label hpa-bridge.io/defaults: off on the workload', object: object({ labels: { 'hpa-bridge.io/defaults': 'off' } }) },
    { name: 'the annotation hpa-bridge.io/defaults: off on the workload', object: object({ annotations: { 'hpa-bridge.io/defaults': 'off' } }) },
    { name: 'the label on the pod template', object: object({}, { app: 'web', 'hpa-bridge.io/defaults': 'off' }) },
    // A template label of another value must not cancel the workload's own opt-out.
    { name: 'the workload label even when the template label says otherwise', object: object({ labels: { 'hpa-bridge.io/defaults': 'off' } }, { 'hpa-bridge.io/defaults': 'on' }) },
  ];
  for (const c of cases) {
    test(`${c.name} turns defaulting off without a warning`, () => {
      assert.equal(unpatched(answer(reviewOf(c.object))), undefined);
    });
  }

  test('any other value of the label leaves defaulting on', () => {
    const a = answer(reviewOf(object({ labels: { 'hpa-bridge.io/defaults': 'on' } })));
    assert.deepEqual(dig(a.after, 'spec', 'template', 'spec', 'containers', 0, 'resources'), { requests: DEFAULTS });
  });

  test('a Pod with the opt-out label is not defaulted', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { 'hpa-bridge.io/defaults': 'off' } }, spec: { containers: [{ name: 'app' }] } };
    assert.equal(unpatched(answer(reviewOf(pod))), undefined);
  });

  const namespaceOff: ReviewOptions = { namespaceMeta: (ns) => (ns === 'shop' ? { labels: {}, annotations: { 'hpa-bridge.io/defaults': 'off' } } : undefined) };

  test('a namespace opt-out, when the namespace is known, turns defaulting off', () => {
    assert.equal(unpatched(answer(reviewOf(object({})), FALLBACK_POLICY, namespaceOff)), undefined);
  });

  test('a namespace without the opt-out is defaulted', () => {
    const a = answer(reviewOf(object({ namespace: 'other' })), FALLBACK_POLICY, namespaceOff);
    assert.deepEqual(dig(a.after, 'spec', 'template', 'spec', 'containers', 0, 'resources'), { requests: DEFAULTS });
  });
});

describe('the resources maps: missing, empty, and partly filled', () => {
  const cases: { name: string; resources: unknown; op: Json[]; after: Json }[] = [
    {
      name: 'a missing resources key gets a whole resources map',
      resources: undefined,
      op: [{ op: 'add', path: '/spec/template/spec/containers/0/resources', value: { requests: DEFAULTS } }],
      after: { requests: DEFAULTS },
    },
    {
      name: 'resources: {} gets a requests map',
      resources: {},
      op: [{ op: 'add', path: '/spec/template/spec/containers/0/resources/requests', value: DEFAULTS }],
      after: { requests: DEFAULTS },
    },
    {
      name: 'requests: {} gets one add per key',
      resources: { requests: {} },
      op: [
        { op: 'add', path: '/spec/template/spec/containers/0/resources/requests/cpu', value: '100m' },
        { op: 'add', path: '/spec/template/spec/containers/0/resources/requests/memory', value: '128Mi' },
      ],
      after: { requests: DEFAULTS },
    },
    {
      name: 'requests with ephemeral-storage only keeps it and gets cpu and memory per key',
      resources: { requests: { 'ephemeral-storage': '1Gi' } },
      op: [
        { op: 'add', path: '/spec/template/spec/containers/0/resources/requests/cpu', value: '100m' },
        { op: 'add', path: '/spec/template/spec/containers/0/resources/requests/memory', value: '128Mi' },
      ],
      after: { requests: { 'ephemeral-storage': '1Gi', ...DEFAULTS } },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const containerSpec: Json = { name: 'app', image: 'nginx' };
      if (c.resources !== undefined) containerSpec.resources = c.resources;
      const a = answer(reviewOf(deployment({ containers: [containerSpec] })));
      assert.deepEqual(decodePatch(a.response)?.slice(0, -1), c.op);
      assert.deepEqual(dig(a.after, 'spec', 'template', 'spec', 'containers', 0, 'resources'), c.after);
    });
  }

  test('a memory limit of 64Mi gives a 64Mi memory request, not 128Mi', () => {
    const a = answer(reviewOf(deployment({ containers: [{ name: 'app', resources: { limits: { memory: '64Mi' } } }] })));
    assert.deepEqual(dig(a.after, 'spec', 'template', 'spec', 'containers', 0, 'resources'), { limits: { memory: '64Mi' }, requests: { cpu: '100m', memory: '64Mi' } });
    assert.deepEqual(a.response.warnings, ['hpa-bridge: added to container app: cpu=100m, memory=64Mi']);
  });

  test('a cpu limit of "1" gives the 100m default request', () => {
    const a = answer(reviewOf(deployment({ containers: [{ name: 'app', resources: { limits: { cpu: '1' } } }] })));
    assert.deepEqual(dig(a.after, 'spec', 'template', 'spec', 'containers', 0, 'resources'), { limits: { cpu: '1' }, requests: DEFAULTS });
  });
});

describe('the record annotation', () => {
  const containers = [{ name: 'app' }];

  test('it is added as a key when annotations exist, escaping the / of its name as ~1', () => {
    const a = answer(reviewOf(deployment({ containers }, { annotations: { 'example.com/owner': 'team-a' } })));
    assert.deepEqual(decodePatch(a.response)?.at(-1), { op: 'add', path: '/metadata/annotations/hpa-bridge.io~1defaults-added', value: 'app: requests cpu=100m memory=128Mi' });
    assert.deepEqual(dig(a.after, 'metadata', 'annotations'), { 'example.com/owner': 'team-a', 'hpa-bridge.io/defaults-added': 'app: requests cpu=100m memory=128Mi' });
  });

  test('existing annotation keys with ~ and / survive the added key', () => {
    const annotations = { 'a~b/c': '1', '~1': '2', 'hpa-bridge.io~1defaults-added': 'not ours' };
    const a = answer(reviewOf(deployment({ containers }, { annotations })));
    assert.deepEqual(dig(a.after, 'metadata', 'annotations'), { ...annotations, 'hpa-bridge.io/defaults-added': 'app: requests cpu=100m memory=128Mi' });
  });

  test('a previous record is replaced on UPDATE when something new is added', () => {
    const a = answer(reviewOf(deployment({ containers }, { annotations: { 'hpa-bridge.io/defaults-added': 'old' } }), { operation: 'UPDATE' }));
    assert.equal(dig(a.after, 'metadata', 'annotations', RECORD_ANNOTATION), 'app: requests cpu=100m memory=128Mi');
  });

  test('an UPDATE that gets dropped requests back leaves a record that already says so alone', () => {
    const created = answer(fixture01()).after;
    const replaced = clone(created);
    delete (dig(replaced, ...C0_PATH, 'resources') as Json).requests;
    const a = answer(reviewOf(replaced, { operation: 'UPDATE', oldObject: created }));
    assert.deepEqual(decodePatch(a.response), [{ op: 'add', path: '/spec/template/spec/containers/0/resources/requests', value: DEFAULTS }]);
    assert.deepEqual(a.after, created);
  });

  test('annotations: null is replaced by a map', () => {
    const a = answer(reviewOf(deployment({ containers }, { annotations: null })));
    assert.deepEqual(dig(a.after, 'metadata', 'annotations'), { [RECORD_ANNOTATION]: 'app: requests cpu=100m memory=128Mi' });
  });

  test('an object without metadata gets metadata with the annotation', () => {
    const object = deployment({ containers });
    delete object.metadata;
    const a = answer(reviewOf(object));
    assert.deepEqual(a.after.metadata, { annotations: { [RECORD_ANNOTATION]: 'app: requests cpu=100m memory=128Mi' } });
  });

  test('a container name with ~ and / is recorded as written, while patch paths use indices', () => {
    const a = answer(reviewOf(deployment({ containers: [{ name: 'a~1/b' }] }, { annotations: {} })));
    const ops = decodePatch(a.response);
    assert.deepEqual(
      ops?.map((o) => o.path),
      ['/spec/template/spec/containers/0/resources', RECORD_PATH],
    );
    assert.equal(dig(a.after, 'metadata', 'annotations', RECORD_ANNOTATION), 'a~1/b: requests cpu=100m memory=128Mi');
  });

  test('added limits are recorded apart from added requests', () => {
    const policy = policyOf('defaults:\n- match: {}\n  requests: {cpu: 100m, memory: 128Mi}\n  limitRatio: {memory: 2}\n');
    const a = answer(reviewOf(deployment({ containers })), policy);
    assert.equal(dig(a.after, 'metadata', 'annotations', RECORD_ANNOTATION), 'app: requests cpu=100m memory=128Mi; app: limits memory=256Mi');
    assert.deepEqual(a.response.warnings, ['hpa-bridge: added to container app: cpu=100m, memory=128Mi, limit memory=256Mi']);
  });
});

describe('warnings', () => {
  test('a warning about a long container name is cut to 120 characters', () => {
    const name = 'c'.repeat(63);
    const a = answer(reviewOf(deployment({ containers: [{ name, resources: { limits: { memory: 'x'.repeat(100) } } }] })));
    assert.deepEqual(a.response.warnings, [`hpa-bridge: container ${name}: resources.limits[memory] "${'x'.repeat(6)}…`]);
  });

  test('a warning is measured in code points, as the API server counts runes: 116 of them are not cut', () => {
    const name = `a${'𝒜'.repeat(60)}`;
    const warnings = answer(reviewOf(deployment({ containers: [{ name }] }))).response.warnings;
    assert.deepEqual(warnings, [`hpa-bridge: added to container ${name}: cpu=100m, memory=128Mi`]);
  });

  test('a warning is cut at 120 code points without splitting a surrogate pair', () => {
    // 32 UTF-16 units before the name's astral characters, so a cut at an odd unit count would fall inside a pair.
    const name = `a${'𝒜'.repeat(100)}`;
    const warnings = answer(reviewOf(deployment({ containers: [{ name }] }))).response.warnings as string[];
    assert.equal(warnings.length, 1);
    const warning = warnings[0] as string;
    assert.ok(!/\p{Cs}/u.test(warning), `a lone surrogate in ${JSON.stringify(warning)}`);
    assert.equal([...warning].length, 120);
    assert.equal(warning, `hpa-bridge: added to container a${'𝒜'.repeat(87)}…`);
  });

  test('a control character in a container name is escaped, since the API server drops a warning that has one', () => {
    const warnings = answer(reviewOf(deployment({ containers: [{ name: 'app\nx\u0085' }] }))).response.warnings;
    assert.deepEqual(warnings, ['hpa-bridge: added to container app\\u000ax\\u0085: cpu=100m, memory=128Mi']);
  });

  test('a lone surrogate in a container name is shown as U+FFFD, as the API server would decode it', () => {
    const warnings = answer(reviewOf(deployment({ containers: [{ name: 'app\ud800' }] }))).response.warnings;
    assert.deepEqual(warnings, ['hpa-bridge: added to container app\ufffd: cpu=100m, memory=128Mi']);
  });

  test('more than ten warnings end with a count of the rest', () => {
    const containers = Array.from({ length: 12 }, (_, i) => ({ name: `c${i}` }));
    const a = answer(reviewOf(deployment({ containers })));
    const warnings = a.response.warnings as string[];
    assert.equal(warnings.length, 10);
    assert.equal(warnings[8], 'hpa-bridge: added to container c8: cpu=100m, memory=128Mi');
    assert.equal(warnings[9], 'hpa-bridge: and 3 more');
    assertWarningsFit(a.response);
  });
});

describe('review versions, uid and dryRun', () => {
  const object = (): Json => deployment({ containers: [{ name: 'app' }] });

  test('a v1beta1 review is answered as v1beta1', () => {
    const a = answer(reviewOf(object(), { apiVersion: 'admission.k8s.io/v1beta1' }));
    assert.equal(a.review.apiVersion, 'admission.k8s.io/v1beta1');
    assert.equal(a.review.kind, 'AdmissionReview');
    assert.deepEqual(dig(a.after, 'spec', 'template', 'spec', 'containers', 0, 'resources'), { requests: DEFAULTS });
  });

  test('a bare request wrapped as v1beta1 is answered as v1beta1 with its uid', () => {
    const raw = readAdmissionFixture('admissionreview-02-kubewarden-deploy-no-resources');
    const a = answer(wrapRequest(raw, 'admission.k8s.io/v1beta1'));
    assert.equal(a.review.apiVersion, 'admission.k8s.io/v1beta1');
    assert.equal(a.response.uid, '31403b86-f972-423e-8adb-c4bd79dc15cc');
  });

  test('the uid is echoed exactly', () => {
    const a = answer(reviewOf(object(), { uid: 'Ab-0/ü' }));
    assert.equal(a.response.uid, 'Ab-0/ü');
  });

  test('dryRun: true gets the same answer as dryRun: false', () => {
    const wet = reviewAdmission(reviewOf(object(), { dryRun: false }), FALLBACK_POLICY).review;
    const dry = reviewAdmission(reviewOf(object(), { dryRun: true }), FALLBACK_POLICY).review;
    assert.deepEqual(dry, wet);
    assert.equal(typeof responseOf(dry).patch, 'string');
  });

  test('a second review of the patched object has no patch', () => {
    const first = answer(admissionFixtureReview('admissionreview-01-kubewarden-deploy-limits-only'));
    const second = answer(reviewOf(first.after, { operation: 'UPDATE' }));
    assert.equal(unpatched(second), undefined);
  });
});

describe('unusable reviews are ReviewErrors', () => {
  const good = (): Json => reviewOf(deployment({ containers: [{ name: 'app' }] }));
  const cases: { name: string; input: unknown; message: string }[] = [
    { name: 'a body that is not an object', input: [], message: 'the body is not an AdmissionReview object' },
    { name: 'an unsupported apiVersion', input: { ...good(), apiVersion: 'admission.k8s.io/v2' }, message: 'apiVersion must be admission.k8s.io/v1 (or v1beta1), not "admission.k8s.io/v2"' },
    { name: 'a missing apiVersion', input: { ...good(), apiVersion: undefined }, message: 'apiVersion must be admission.k8s.io/v1 (or v1beta1), not undefined' },
    { name: 'a kind other than AdmissionReview', input: { ...good(), kind: 'Status' }, message: 'kind must be AdmissionReview, not "Status"' },
    { name: 'a missing request', input: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, message: 'the AdmissionReview has no request' },
    { name: 'an empty uid', input: { ...good(), request: { ...(good().request as Json), uid: '' } }, message: 'the AdmissionReview request has no uid' },
    { name: 'a numeric uid', input: { ...good(), request: { ...(good().request as Json), uid: 7 } }, message: 'the AdmissionReview request has no uid' },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.message}`, () => {
      assert.throws(
        () => reviewAdmission(c.input, FALLBACK_POLICY),
        (e: unknown) => e instanceof ReviewError && e.message === c.message,
      );
    });
  }
});
