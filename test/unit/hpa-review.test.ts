// HorizontalPodAutoscalers at admission: allowed, never patched, with
// warnings for what will leave the HPA at <unknown>. The warnings travel in
// the AdmissionReview response; kube-apiserver turns each into a `Warning:`
// header, which kubectl apply prints.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { reviewAdmission, type ReviewOptions } from '../../webhook/review.js';
import { TemplateMemory, type NamedMetric } from '../../webhook/hpa-review.js';
import { FALLBACK_POLICY, policyOf, responseOf, reviewOf, type Json } from '../support/admission.js';

const SERVED = new Set(['Pods/http_requests_per_second', 'External/queue_depth', 'Object/requests_waiting']);
const served = (m: NamedMetric): boolean => SERVED.has(`${m.source}/${m.metric}`);

function hpa(metrics: unknown[], target = 'web', apiVersion = 'autoscaling/v2'): Json {
  return {
    apiVersion,
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target }, maxReplicas: 5, metrics },
  };
}

function deployment(containers: unknown[]): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers } } },
  };
}

const pods = (name: string) => ({ type: 'Pods', pods: { metric: { name }, target: { type: 'AverageValue', averageValue: '1' } } });
const external = (name: string) => ({ type: 'External', external: { metric: { name }, target: { type: 'Value', value: '1' } } });
const cpu = { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } };
const containerCpu = (container: string) => ({ type: 'ContainerResource', containerResource: { name: 'cpu', container, target: { type: 'Utilization', averageUtilization: 50 } } });

function answer(object: Json, options: ReviewOptions, policy = FALLBACK_POLICY): Json {
  return responseOf(reviewAdmission(reviewOf(object), policy, options).review);
}

describe('HorizontalPodAutoscaler admission', () => {
  test('a metric no loaded rule serves is a warning on an allowed, unpatched review', () => {
    const response = answer(hpa([pods('http_requests_per_second'), external('queue_lag')]), { metricServed: served });
    assert.equal(response.allowed, true);
    assert.equal(response.patch, undefined);
    assert.equal(response.patchType, undefined);
    assert.deepEqual(response.warnings, ['hpa-bridge: spec.metrics[1]: no loaded rule serves external metric queue_lag; the HPA will show <unknown>']);
  });

  test('served metrics give no warning', () => {
    const response = answer(hpa([pods('http_requests_per_second'), external('queue_depth')]), { metricServed: served });
    assert.deepEqual(response, { uid: response.uid, allowed: true });
  });

  test('before discovery has run nothing is said about metrics', () => {
    const response = answer(hpa([pods('anything')]), { metricServed: () => undefined });
    assert.equal(response.warnings, undefined);
  });

  test('a ContainerResource container missing from the target the webhook admitted is a warning', () => {
    const templates = new TemplateMemory();
    answer(deployment([{ name: 'app', image: 'web' }]), { templates });
    const response = answer(hpa([containerCpu('sidecar')]), { templates });
    assert.deepEqual(response.warnings, ['hpa-bridge: spec.metrics[0]: Deployment/web has no container sidecar; the HPA will show <unknown>']);
  });

  test('a container the webhook gave a cpu request is no warning', () => {
    const templates = new TemplateMemory();
    answer(deployment([{ name: 'app', image: 'web' }]), { templates });
    assert.equal(answer(hpa([cpu, containerCpu('app')]), { templates }).warnings, undefined);
  });

  test('a container without a cpu request that the policy does not add is a warning', () => {
    const memoryOnly = policyOf('defaults:\n  - name: memory only\n    match: {}\n    requests: {memory: 64Mi}\n');
    const templates = new TemplateMemory();
    answer(deployment([{ name: 'app', image: 'web' }]), { templates }, memoryOnly);
    assert.deepEqual(answer(hpa([cpu]), { templates }, memoryOnly).warnings, ['hpa-bridge: spec.metrics[0]: container app of Deployment/web has no cpu request; utilization cannot be computed']);
  });

  test('a target the webhook has not seen gets no container warning', () => {
    const templates = new TemplateMemory();
    answer(deployment([{ name: 'app', image: 'web' }]), { templates });
    assert.equal(answer(hpa([containerCpu('sidecar')], 'other'), { templates }).warnings, undefined);
  });

  test('autoscaling/v1 is allowed without a look', () => {
    const response = answer({ apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web' }, spec: { maxReplicas: 3 } }, { metricServed: () => false });
    assert.deepEqual(response, { uid: response.uid, allowed: true });
  });
});
