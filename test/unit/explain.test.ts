// The explanation core, one crafted case per reason an HPA does not scale.
// Every expected replica count is worked out here from the controller's
// formulas (ceil(current × ratio), the tolerance band, the policy limits),
// not by calling hpa/.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { explainHpa, type ExplainInput, type FetchedMetric, type MetricAnswer } from '../../explain/explain.js';
import { metricRequestFor, metricRequestPath } from '../../explain/request.js';
import { EXIT_CODES, renderText } from '../../explain/render.js';
import type { HorizontalPodAutoscaler, MetricSpec, PodInfo } from '../../hpa/index.js';
import { StaticResourceCatalog } from '../../rules/resources.js';
import { parseLabelSelector } from '../../k8s/label-selector.js';
import { FALLBACK_POLICY } from '../support/admission.js';

const NOW = Date.UTC(2026, 0, 1, 12);
const LONG_AGO = NOW - 3600_000;
const catalog = new StaticResourceCatalog();
const selector = parseLabelSelector('app=web');

function pod(name: string, over: Partial<PodInfo> = {}, cpuRequest: string | null = '500m'): PodInfo {
  return {
    name,
    phase: 'Running',
    startTime: LONG_AGO,
    ready: { status: 'True', lastTransitionTime: LONG_AGO },
    containers: [{ name: 'app', resources: cpuRequest === null ? {} : { requests: { cpu: cpuRequest } } }],
    ...over,
  };
}

const pods = (n: number): PodInfo[] => Array.from({ length: n }, (_, i) => pod(`web-${i}`));

function hpa(metrics: MetricSpec[], over: Partial<HorizontalPodAutoscaler['spec']> = {}): HorizontalPodAutoscaler {
  return { name: 'web', namespace: 'shop', spec: { scaleTargetRef: { kind: 'Deployment', name: 'web', apiVersion: 'apps/v1' }, minReplicas: 1, maxReplicas: 50, metrics, ...over } };
}

const CPU_50: MetricSpec = { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } };
const QPS_500M: MetricSpec = { type: 'Pods', pods: { metric: { name: 'http_requests_per_second' }, target: { type: 'AverageValue', averageValue: '500m' } } };
const QUEUE: MetricSpec = { type: 'External', external: { metric: { name: 'queue_depth', selector: { matchLabels: { queue: 'jobs' } } }, target: { type: 'AverageValue', averageValue: '10' } } };

function fetched(spec: MetricSpec, answer: MetricAnswer, rule: string | null = 'rules[0] (rules.yaml:3)'): FetchedMetric {
  return { request: metricRequestFor(spec, 'shop', selector, catalog), ...(rule === null ? {} : { rule }), queries: ['some_query'], answer };
}

function podValues(list: readonly PodInfo[], value: string): MetricAnswer {
  return { ok: true, pods: list.map((p) => ({ pod: p.name, value, timestamp: NOW })) };
}

function cpuUsage(list: readonly PodInfo[], usage: string): MetricAnswer {
  return { ok: true, resource: list.map((p) => ({ name: p.name, timestamp: NOW, windowMs: 60_000, containers: [{ name: 'app', usage: { cpu: usage } }] })) };
}

function input(h: HorizontalPodAutoscaler, list: readonly PodInfo[], metrics: FetchedMetric[], over: Partial<ExplainInput> = {}): ExplainInput {
  return {
    hpa: h,
    scale: { specReplicas: list.length, selector: 'app=web' },
    targetKind: 'Deployment',
    targetName: 'web',
    pods: list,
    metrics,
    now: NOW,
    webhook: { policy: FALLBACK_POLICY, workloadKind: 'Deployment', workloadLabels: { app: 'web' } },
    ...over,
  };
}

describe('explain: the request the controller sends', () => {
  test('a Pods metric is a wildcard pods request with the target selector', () => {
    assert.equal(
      metricRequestPath(metricRequestFor(QPS_500M, 'shop', selector, catalog)),
      '/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/%2A/http_requests_per_second?labelSelector=app%3Dweb',
    );
  });
  test('an Object metric of a Namespace asks for the namespace itself', () => {
    const spec: MetricSpec = { type: 'Object', object: { describedObject: { apiVersion: 'v1', kind: 'Namespace', name: 'shop' }, metric: { name: 'waiting' }, target: { type: 'Value', value: 1 } } };
    assert.equal(metricRequestPath(metricRequestFor(spec, 'shop', selector, catalog)), '/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/metrics/waiting');
  });
  test('an External metric carries its selector as the labelSelector', () => {
    assert.equal(metricRequestPath(metricRequestFor(QUEUE, 'shop', selector, catalog)), '/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_depth?labelSelector=queue%3Djobs');
  });
  test('a Resource metric lists PodMetrics with the target selector', () => {
    assert.equal(metricRequestPath(metricRequestFor(CPU_50, 'shop', selector, catalog)), '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods?labelSelector=app%3Dweb');
  });
});

describe('explain: why an HPA does or does not scale', () => {
  test('pods without a cpu request stop a utilization metric, and the sentence says what the webhook would add', () => {
    const list = [pod('web-0'), pod('web-1'), pod('web-2'), pod('web-3', {}, null), pod('web-4', {}, null)];
    const e = explainHpa(input(hpa([CPU_50]), list, [fetched(CPU_50, cpuUsage(list, '400m'))]));
    assert.equal(e.verdict, 'not-scaling');
    assert.equal(EXIT_CODES[e.verdict], 1);
    // No replica count can be computed: the controller keeps the current 5.
    assert.equal(e.decision.desiredReplicas, 5);
    assert.equal(e.metrics[0]?.replicas, undefined);
    assert.equal(e.summary, 'not scaling: 2 of 5 pods have no cpu request (the defaults webhook would add 100m when the workload is next applied)');
    assert.deepEqual(
      e.metrics[0]?.pods.filter((p) => p.state === 'no-request').map((p) => p.pod),
      ['web-3', 'web-4'],
    );
  });

  test('a namespace that turned the webhook off is named in the sentence', () => {
    const list = [pod('web-0'), pod('web-1', {}, null)];
    const e = explainHpa(
      input(hpa([CPU_50]), list, [fetched(CPU_50, cpuUsage(list, '400m'))], { webhook: { policy: FALLBACK_POLICY, workloadKind: 'Deployment', workloadLabels: {}, namespaceOptedOut: true } }),
    );
    assert.equal(e.summary, 'not scaling: 1 of 2 pods have no cpu request (the defaults webhook is off in namespace shop)');
  });

  test('a metric no rule serves is <unknown> and holds the replica count', () => {
    const list = pods(3);
    const e = explainHpa(input(hpa([QPS_500M]), list, [fetched(QPS_500M, { ok: false, cause: 'no-rule', message: 'the server could not find the metric http_requests_per_second for pods' }, null)]));
    assert.equal(e.verdict, 'not-scaling');
    assert.equal(e.decision.desiredReplicas, 3);
    assert.equal(e.summary, '<unknown>: Pods http_requests_per_second: no loaded rule serves it');
    assert.equal(e.decision.conditions.find((c) => c.type === 'ScalingActive')?.reason, 'FailedGetPodsMetric');
  });

  test('a metric selector that matches nothing is <unknown> with the rule named', () => {
    const list = pods(2);
    const e = explainHpa(input(hpa([QUEUE]), list, [fetched(QUEUE, { ok: false, cause: 'no-values', message: 'no values for external metric queue_depth' })]));
    assert.equal(e.verdict, 'not-scaling');
    assert.equal(e.decision.desiredReplicas, 2);
    assert.match(e.summary, /^<unknown>: External queue_depth: the rule rules\[0\] \(rules\.yaml:3\) answers no value/);
  });

  test('a usage ratio within the tolerance holds', () => {
    const list = pods(4);
    const e = explainHpa(input(hpa([QPS_500M]), list, [fetched(QPS_500M, podValues(list, '530m'))]));
    // 530m / 500m = 1.06, inside [0.9, 1.1]: the count stays at 4.
    assert.equal(e.verdict, 'holding');
    assert.equal(EXIT_CODES[e.verdict], 0);
    assert.equal(e.metrics[0]?.replicas, 4);
    assert.equal(e.decision.desiredReplicas, 4);
    assert.equal(e.summary, 'holding: usage ratio 1.06 of Pods http_requests_per_second is within tolerance 0.1');
  });

  test('a scale-down is held by the stabilization window while a recent recommendation was higher', () => {
    const list = pods(5);
    const e = explainHpa(input(hpa([QPS_500M]), list, [fetched(QPS_500M, podValues(list, '200m'))], { history: { recommendations: [{ recommendation: 5, timestamp: NOW - 60_000 }] } }));
    // ceil(5 × 200/500) = 2, but 5 was recommended 60 s ago, inside the default 300 s window.
    const wanted = Math.ceil(5 * (200 / 500));
    assert.equal(e.metrics[0]?.replicas, wanted);
    assert.equal(e.decision.desiredReplicas, 5);
    assert.equal(e.verdict, 'not-scaling');
    assert.equal(e.summary, `held by the stabilization window: the metrics want ${wanted}, but the highest recommendation of the last 300 s is 5`);
  });

  test('a scale-up is limited by a behavior policy already used up in its period', () => {
    const list = pods(2);
    const behavior = { scaleUp: { policies: [{ type: 'Pods' as const, value: 1, periodSeconds: 60 }] } };
    const e = explainHpa(
      input(hpa([QPS_500M], { behavior }), list, [fetched(QPS_500M, podValues(list, '5'))], { history: { scaleUpEvents: [{ replicaChange: 1, timestamp: NOW - 30_000, outdated: false }] } }),
    );
    // ceil(2 × 5/0.5) = 20; the period began at 2 - 1 = 1 replica, so the policy allows 1 + 1 = 2.
    const wanted = Math.ceil(2 * (5 / 0.5));
    const allowed = 2 - 1 + 1;
    assert.equal(e.metrics[0]?.replicas, wanted);
    assert.equal(e.decision.scaleUpLimit, allowed);
    assert.equal(e.decision.desiredReplicas, 2);
    assert.equal(e.verdict, 'not-scaling');
    assert.equal(e.summary, `not scaling: the metrics want ${wanted}, but the scale-up policies allow at most ${allowed} now`);
  });

  test('pods not ready yet hold a cpu scale-up when counting them at 0 turns the ratio around', () => {
    const fresh = { startTime: NOW - 60_000, ready: { status: 'True' as const, lastTransitionTime: NOW - 10_000 } };
    const list = [pod('web-0'), pod('web-1'), pod('web-2', fresh), pod('web-3', fresh)];
    const e = explainHpa(input(hpa([CPU_50]), list, [fetched(CPU_50, cpuUsage(list, '300m'))]));
    // Ready pods: 600m of 1000m = 60%, ratio 1.2. With the 2 unready at 0: 600m of 2000m = 30%, ratio 0.6,
    // which points the other way, so the controller keeps 4.
    const first = (600 / 1000) * (100 / 50);
    const second = (600 / 2000) * (100 / 50);
    assert.ok(first > 1 && second < 1);
    assert.equal(e.metrics[0]?.replicas, 4);
    assert.equal(e.decision.desiredReplicas, 4);
    assert.equal(e.verdict, 'not-scaling');
    assert.match(e.summary, /^not scaling up: 2 pods of 4 are not ready \(cpu initialization period\)/);
    assert.deepEqual(
      e.metrics[0]?.pods.map((p) => p.state),
      ['counted', 'counted', 'cpu-initializing', 'cpu-initializing'],
    );
  });

  test('Prometheus down makes the metric <unknown> and the explanation cannot evaluate it', () => {
    const list = pods(3);
    const e = explainHpa(input(hpa([CPU_50]), list, [fetched(CPU_50, { ok: false, cause: 'unavailable', message: 'querying Prometheus failed: connect ECONNREFUSED 127.0.0.1:9' })]));
    assert.equal(e.verdict, 'cannot-evaluate');
    assert.equal(EXIT_CODES[e.verdict], 3);
    assert.equal(e.decision.desiredReplicas, 3);
    assert.match(e.summary, /^<unknown>: Resource cpu cannot be read: .*ECONNREFUSED/);
  });

  test('no load at minReplicas holds there', () => {
    const list = pods(1);
    const e = explainHpa(input(hpa([QPS_500M]), list, [fetched(QPS_500M, podValues(list, '0'))], { history: { recommendations: [{ recommendation: 1, timestamp: NOW - 60_000 }] } }));
    assert.equal(e.metrics[0]?.replicas, Math.ceil(1 * (0 / 500)));
    assert.equal(e.decision.desiredReplicas, 1);
    assert.equal(e.verdict, 'holding');
    assert.equal(e.summary, 'holding at minReplicas 1: the metrics want 0');
  });

  test('at maxReplicas with the metrics above target is not scaling, and says so', () => {
    const list = pods(4);
    const e = explainHpa(input(hpa([QPS_500M], { maxReplicas: 4 }), list, [fetched(QPS_500M, podValues(list, '1'))]));
    const wanted = Math.ceil(4 * (1000 / 500));
    assert.equal(e.decision.desiredReplicas, 4);
    assert.equal(e.verdict, 'not-scaling');
    assert.equal(e.summary, `not scaling: at maxReplicas 4, and the metrics want ${wanted}`);
  });

  test('a metric well above target scales to ceil(current × ratio)', () => {
    const list = pods(3);
    const e = explainHpa(input(hpa([QPS_500M]), list, [fetched(QPS_500M, podValues(list, '1'))]));
    const wanted = Math.ceil(3 * (1000 / 500));
    assert.equal(e.verdict, 'scaling');
    assert.equal(e.decision.desiredReplicas, wanted);
    assert.equal(e.summary, `scaling: from 3 to ${wanted} replicas on pods metric http_requests_per_second`);
    assert.match(renderText(e), /recommends 6 replicas/);
  });
});
