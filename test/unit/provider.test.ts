// Answering metrics requests (MetricsProvider), the query cache in front of
// Prometheus, and listing objects from kube-state-metrics series, all over
// in-memory fakes so every query sent and every value returned is exact.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRegistry, type MetricRegistry } from '../../adapter/discovery.js';
import { ApiError } from '../../adapter/errors.js';
import { parseLabelSelector } from '../../k8s/label-selector.js';
import { PrometheusObjectSource, sanitizeLabelKey } from '../../adapter/objects/prometheus.js';
import { PrometheusError, type Sample } from '../../adapter/prometheus.js';
import type { ExternalMetricsQuery, ExternalMetricValue, ObjectMetricsQuery } from '../../adapter/metrics-api-provider.js';
import { MetricsProvider, type ProviderDeps } from '../../adapter/provider.js';
import { CachingMetricsSource } from '../../adapter/query-cache.js';
import type { SeriesSummary } from '../../adapter/series-stream.js';
import { formatDiagnostic } from '../../rules/diagnostics.js';
import type { RuleSet } from '../../rules/load.js';
import { StaticResourceCatalog, type GroupResource } from '../../rules/resources.js';
import { FakeMetricsSource, FakeObjectLister, gate, RecordingLogger, sample, seriesSummary } from '../support/fakes.js';
import { compileYaml } from '../support/rules.js';

const catalog = new StaticResourceCatalog();
const PODS: GroupResource = { group: '', resource: 'pods' };
const NODES: GroupResource = { group: '', resource: 'nodes' };
const NAMESPACES: GroupResource = { group: '', resource: 'namespaces' };
const DEPLOYMENTS: GroupResource = { group: 'apps', resource: 'deployments' };
const WIDGETS: GroupResource = { group: 'example.com', resource: 'widgets' };
const TS = 1_700_000_000_123;
const DEADLINE = Date.now() + 3_600_000;

const RULES = `rules:
- seriesQuery: '{__name__=~"^memory_.*",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name: {matches: "^(.*)_total$", as: "\${1}_per_second"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)'
- seriesQuery: 'latency_seconds{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  metricsQuery: 'avg(<<.Series>>{<<.LabelMatchers>>})'
- seriesQuery: 'node_load{node!=""}'
  resources:
    overrides:
      node: {resource: node}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
- seriesQuery: 'namespace_load{namespace!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
- seriesQuery: 'kube_deployment_spec_replicas{namespace!="",deployment!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      deployment: {group: apps, resource: deployment}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
- seriesQuery: 'widget_load{namespace!="",widget!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      widget: {group: example.com, resource: widget}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
externalRules:
- seriesQuery: 'queue_messages_ready{namespace!="",queue!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)'
- seriesQuery: 'global_backlog'
  resources: {namespaced: false}
  metricsQuery: 'sum(max_over_time(<<.Series>>{<<.LabelMatchers>>}[5m]))'
`;

const SUMMARIES: Record<string, SeriesSummary> = {
  '{__name__=~"^memory_.*",namespace!="",pod!=""}': seriesSummary({ memory_used_bytes: ['namespace', 'pod'] }),
  'http_requests_total{namespace!="",pod!=""}': seriesSummary({ http_requests_total: ['namespace', 'pod'] }),
  'latency_seconds{namespace!="",pod!=""}': seriesSummary({ latency_seconds: ['namespace', 'pod'] }),
  'node_load{node!=""}': seriesSummary({ node_load: ['node'] }),
  'namespace_load{namespace!=""}': seriesSummary({ namespace_load: ['namespace'] }),
  'kube_deployment_spec_replicas{namespace!="",deployment!=""}': seriesSummary({ kube_deployment_spec_replicas: ['deployment', 'namespace'] }),
  'widget_load{namespace!="",widget!=""}': seriesSummary({ widget_load: ['namespace', 'widget'] }),
  'queue_messages_ready{namespace!="",queue!=""}': seriesSummary({ queue_messages_ready: ['namespace', 'queue'] }),
  global_backlog: seriesSummary({ global_backlog: [] }),
};

function ruleSet(text: string): RuleSet {
  const result = compileYaml(text);
  if (!result.ruleSet) throw new Error(`rules did not load:\n${result.errors.map(formatDiagnostic).join('\n')}`);
  return result.ruleSet;
}

function registryOf(text: string, summaries: Record<string, SeriesSummary>): MetricRegistry {
  return buildRegistry(ruleSet(text), new Map(Object.entries(summaries)), catalog);
}

const REGISTRY = registryOf(RULES, SUMMARIES);

interface Harness {
  readonly provider: MetricsProvider;
  readonly metrics: FakeMetricsSource;
  readonly objects: FakeObjectLister;
  readonly log: RecordingLogger;
}

/**
 * The per-request mode unless `sharedEvaluation` is set: most tests here pin
 * the query each request sends on its own; the shared mode has its own tests.
 */
function harness(options: Partial<Pick<ProviderDeps, 'maxNamesPerQuery' | 'maxQueryBytes' | 'sharedEvaluation'>> & { registry?: MetricRegistry | undefined } = {}): Harness {
  const metrics = new FakeMetricsSource();
  const objects = new FakeObjectLister()
    .setKind(PODS, { kind: 'Pod', apiVersion: 'v1', namespaced: true })
    .setKind(NODES, { kind: 'Node', apiVersion: 'v1', namespaced: false })
    .setKind(NAMESPACES, { kind: 'Namespace', apiVersion: 'v1', namespaced: false })
    .add(PODS, 'default', 'web-2', { app: 'web' })
    .add(PODS, 'default', 'web-1', { app: 'web' })
    .add(PODS, 'default', 'batch-1', { app: 'batch' })
    .add(PODS, 'other', 'web-9', { app: 'web' })
    .add(NODES, undefined, 'node-1')
    .add(NODES, undefined, 'node-2');
  const log = new RecordingLogger();
  const registry = 'registry' in options ? options.registry : REGISTRY;
  const provider = new MetricsProvider({
    registry: () => registry,
    metrics,
    objects,
    catalog: () => catalog,
    log,
    ...(options.maxNamesPerQuery !== undefined ? { maxNamesPerQuery: options.maxNamesPerQuery } : {}),
    ...(options.maxQueryBytes !== undefined ? { maxQueryBytes: options.maxQueryBytes } : {}),
    sharedEvaluation: options.sharedEvaluation ?? false,
  });
  return { provider, metrics, objects, log };
}

function objectQuery(overrides: Partial<ObjectMetricsQuery> & Pick<ObjectMetricsQuery, 'name' | 'metric'>): ObjectMetricsQuery {
  return { resource: PODS, namespace: 'default', labelSelector: [], metricSelector: [], deadline: DEADLINE, ...overrides };
}

function externalQuery(overrides: Partial<ExternalMetricsQuery> & Pick<ExternalMetricsQuery, 'metric'>): ExternalMetricsQuery {
  return { namespace: 'default', metricSelector: [], deadline: DEADLINE, ...overrides };
}

interface Failure {
  readonly name: string;
  readonly code: number;
  readonly message: string;
  readonly details?: unknown;
}

/** The ApiError a promise rejects with, as a plain object for deepEqual. */
async function failure(p: Promise<unknown>): Promise<Failure> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return { name: e.name, code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) };
  }
  return assert.fail('expected the request to fail');
}

const pod = (name: string, value: number, extra: Record<string, string> = {}, ts = TS): Sample => sample({ namespace: 'default', pod: name, ...extra }, value, ts);

const podItem = (name: string, value: string, metric = 'memory_used_bytes') => ({
  describedObject: { kind: 'Pod', namespace: 'default', name, apiVersion: 'v1' },
  metric,
  timestamp: new Date(TS),
  value,
});

describe('MetricsProvider: requests refused before any query', () => {
  test('before the first discovery both APIs answer 503', async () => {
    const h = harness({ registry: undefined });
    const want = { name: 'UnavailableError', code: 503, message: 'metric discovery has not completed yet; retry shortly' };
    assert.deepEqual(await failure(h.provider.objectMetrics(objectQuery({ name: 'web-1', metric: 'memory_used_bytes' }))), want);
    assert.deepEqual(await failure(h.provider.externalMetrics(externalQuery({ metric: 'queue_messages_ready' }))), want);
    assert.deepEqual(h.metrics.queries, []);
  });

  test('an unknown metric is a 404 listing the metrics known for the resource', async () => {
    const h = harness();
    assert.deepEqual(await failure(h.provider.objectMetrics(objectQuery({ name: 'web-1', metric: 'no_such_metric' }))), {
      name: 'NotFoundError',
      code: 404,
      message: 'the server could not find the metric no_such_metric for pods; metrics known for it: http_requests_per_second, latency_seconds, memory_used_bytes',
      details: { name: 'no_such_metric', group: 'custom.metrics.k8s.io', kind: 'pods' },
    });
  });

  test('a metric of a resource nothing is discovered for is a 404 saying so', async () => {
    const h = harness();
    const f = await failure(h.provider.objectMetrics(objectQuery({ resource: { group: '', resource: 'services' }, name: 'web', metric: 'memory_used_bytes' })));
    assert.equal(f.message, 'the server could not find the metric memory_used_bytes for services; no metric is discovered for it');
  });

  test('the known-metrics hint shows ten names and counts the rest', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `m${String(i).padStart(2, '0')}`);
    const registry = registryOf(
      `rules:
- seriesQuery: '{pod!=""}'
  resources: {overrides: {pod: {resource: pod}}}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`,
      { '{pod!=""}': seriesSummary(Object.fromEntries(names.map((n) => [n, ['pod']]))) },
    );
    const h = harness({ registry });
    const f = await failure(h.provider.objectMetrics(objectQuery({ name: 'web-1', metric: 'nope' })));
    assert.equal(f.message, 'the server could not find the metric nope for pods; metrics known for it: m00, m01, m02, m03, m04, m05, m06, m07, m08, m09 and 2 more');
  });

  const scopeCases: { what: string; query: ObjectMetricsQuery; message: string }[] = [
    {
      what: 'a namespaced resource asked for without a namespace',
      query: objectQuery({ namespace: undefined, name: 'web-1', metric: 'memory_used_bytes' }),
      message: 'pods is a namespaced resource; ask for it under namespaces/{namespace}/pods/...',
    },
    {
      what: 'a root-scoped resource asked for under a namespace',
      query: objectQuery({ resource: NODES, name: 'node-1', metric: 'node_load' }),
      message: 'nodes is not namespaced; ask for it without namespaces/default/',
    },
    {
      what: 'a labelSelector on a named object',
      query: objectQuery({ name: 'web-1', metric: 'memory_used_bytes', labelSelector: parseLabelSelector('app=web') }),
      message: 'labelSelector applies only to wildcard (*) requests',
    },
    {
      what: 'a > metricLabelSelector',
      query: objectQuery({ name: 'web-1', metric: 'memory_used_bytes', metricSelector: parseLabelSelector('shard>2') }),
      message: 'selector operator > on shard has no PromQL equivalent; use =, !=, in, notin or exists',
    },
    {
      what: 'a < metricLabelSelector on a wildcard',
      query: objectQuery({ name: '*', metric: 'memory_used_bytes', metricSelector: parseLabelSelector('shard<2') }),
      message: 'selector operator < on shard has no PromQL equivalent; use =, !=, in, notin or exists',
    },
  ];
  for (const c of scopeCases) {
    test(`${c.what} is a 400 and sends no query`, async () => {
      const h = harness();
      assert.deepEqual(await failure(h.provider.objectMetrics(c.query)), { name: 'BadRequestError', code: 400, message: c.message });
      assert.deepEqual(h.metrics.queries, []);
    });
  }

  test('a wildcard matching no objects is a 404 naming the selector and namespace', async () => {
    const h = harness();
    const query = objectQuery({ name: '*', metric: 'memory_used_bytes', labelSelector: parseLabelSelector('app=none') });
    assert.deepEqual(await failure(h.provider.objectMetrics(query)), {
      name: 'NotFoundError',
      code: 404,
      message: 'no pods matching app=none in namespace default, so there is no value for metric memory_used_bytes',
      details: { name: 'memory_used_bytes', group: 'custom.metrics.k8s.io', kind: 'pods' },
    });
    assert.deepEqual(h.metrics.queries, []);
  });

  test('a wildcard in an empty namespace is a 404 without a selector clause', async () => {
    const h = harness();
    const f = await failure(h.provider.objectMetrics(objectQuery({ namespace: 'empty', name: '*', metric: 'memory_used_bytes' })));
    assert.equal(f.message, 'no pods in namespace empty, so there is no value for metric memory_used_bytes');
  });
});

describe('MetricsProvider: object metrics', () => {
  test('a named pod is queried by name and answered with the sample value, time and object', async () => {
    const h = harness();
    h.metrics.answerQuery('sum(memory_used_bytes{namespace="default",pod="web-1"}) by (pod)', [pod('web-1', 1.5)]);
    const items = await h.provider.objectMetrics(objectQuery({ name: 'web-1', metric: 'memory_used_bytes' }));
    assert.deepEqual(items, [podItem('web-1', '1500m')]);
    assert.deepEqual(h.objects.listCalls, []);
  });

  test('a wildcard lists the objects with the selector, queries them by alternation and answers sorted by name', async () => {
    const h = harness();
    h.metrics.answerQuery('sum(memory_used_bytes{namespace="default",pod=~"web-1|web-2"}) by (pod)', [
      pod('web-2', 20),
      // Not among the listed objects: left out.
      pod('batch-1', 99),
      pod('web-1', 10),
    ]);
    const labelSelector = parseLabelSelector('app=web');
    const items = await h.provider.objectMetrics(objectQuery({ name: '*', metric: 'memory_used_bytes', labelSelector }));
    assert.deepEqual(items, [podItem('web-1', '10'), podItem('web-2', '20')]);
    assert.deepEqual(h.objects.listCalls, [{ resource: 'pods', namespace: 'default', selector: labelSelector }]);
  });

  test('metricLabelSelector requirements become matchers, sorted by key, before the namespace and object matchers', async () => {
    const h = harness();
    const query = 'sum(memory_used_bytes{area="heap",zone=~"a|b",namespace="default",pod="web-1"}) by (pod)';
    h.metrics.answerQuery(query, [pod('web-1', 1)]);
    await h.provider.objectMetrics(objectQuery({ name: 'web-1', metric: 'memory_used_bytes', metricSelector: parseLabelSelector('zone in (b,a),area=heap') }));
    assert.deepEqual(h.metrics.queries, [query]);
  });

  describe('the name list gives way to `label!=""` when it grows too long', () => {
    function bigNamespace(count: number): Harness {
      const h = harness();
      for (let i = 0; i < count; i++) h.objects.add(PODS, 'big', `p-${String(i).padStart(3, '0')}`);
      return h;
    }
    const names = (count: number) => Array.from({ length: count }, (_, i) => `p-${String(i).padStart(3, '0')}`);

    test('100 names are still sent as an alternation', async () => {
      const h = bigNamespace(100);
      h.metrics.onQuery = () => [];
      await failure(h.provider.objectMetrics(objectQuery({ namespace: 'big', name: '*', metric: 'memory_used_bytes' })));
      assert.deepEqual(h.metrics.queries, [`sum(memory_used_bytes{namespace="big",pod=~"${names(100).join('|')}"}) by (pod)`]);
    });

    test('101 names query the whole namespace and keep only the listed objects', async () => {
      const h = bigNamespace(101);
      h.metrics.answerQuery('sum(memory_used_bytes{namespace="big",pod!=""}) by (pod)', [
        sample({ namespace: 'big', pod: 'p-100' }, 100, TS),
        sample({ namespace: 'big', pod: 'not-listed' }, 7, TS),
        ...names(100).map((n, i) => sample({ namespace: 'big', pod: n }, i, TS)),
      ]);
      const items = await h.provider.objectMetrics(objectQuery({ namespace: 'big', name: '*', metric: 'memory_used_bytes' }));
      assert.deepEqual(
        items.map((i) => [i.describedObject.name, i.value]),
        names(101).map((n, i) => [n, String(i)]),
      );
    });

    test('maxNamesPerQuery moves the threshold', async () => {
      const h = harness({ maxNamesPerQuery: 1 });
      h.metrics.answerQuery('sum(memory_used_bytes{namespace="default",pod!=""}) by (pod)', [pod('web-1', 1), pod('web-2', 2), pod('batch-1', 3)]);
      const items = await h.provider.objectMetrics(objectQuery({ name: '*', metric: 'memory_used_bytes', labelSelector: parseLabelSelector('app=web') }));
      assert.deepEqual(items, [podItem('web-1', '1'), podItem('web-2', '2')]);
    });

    const alternation = 'sum(memory_used_bytes{namespace="default",pod=~"batch-1|web-1|web-2"}) by (pod)';
    const cases: { maxQueryBytes: number; sent: string }[] = [
      { maxQueryBytes: Buffer.byteLength(alternation), sent: alternation },
      { maxQueryBytes: Buffer.byteLength(alternation) - 1, sent: 'sum(memory_used_bytes{namespace="default",pod!=""}) by (pod)' },
    ];
    for (const c of cases) {
      test(`with maxQueryBytes ${c.maxQueryBytes} the query sent is ${c.sent}`, async () => {
        const h = harness({ maxQueryBytes: c.maxQueryBytes });
        h.metrics.answerQuery(c.sent, [pod('web-1', 1)]);
        await h.provider.objectMetrics(objectQuery({ name: '*', metric: 'memory_used_bytes' }));
        assert.deepEqual(h.metrics.queries, [c.sent]);
      });
    }
  });

  test('NaN and ±Inf samples are left out and logged, and the finite ones are returned', async () => {
    const h = harness();
    const query = 'sum(memory_used_bytes{namespace="default",pod=~"batch-1|web-1|web-2"}) by (pod)';
    h.metrics.answerQuery(query, [pod('web-1', NaN), pod('web-2', Infinity), pod('batch-1', 2.5)]);
    const items = await h.provider.objectMetrics(objectQuery({ name: '*', metric: 'memory_used_bytes' }));
    assert.deepEqual(items, [podItem('batch-1', '2500m')]);
    assert.deepEqual(
      h.log.at('warn').map((e) => [e.message, e.fields]),
      [
        ['left out a value that is not a finite number', { rule: 'rules[0]', object: 'web-1', value: 'NaN', query }],
        ['left out a value that is not a finite number', { rule: 'rules[0]', object: 'web-2', value: 'Infinity', query }],
      ],
    );
  });

  test('when every sample is NaN the 404 says the samples were for these objects but not finite', async () => {
    const h = harness();
    const query = 'sum(memory_used_bytes{namespace="default",pod="web-1"}) by (pod)';
    h.metrics.answerQuery(query, [pod('web-1', NaN)]);
    assert.deepEqual(await failure(h.provider.objectMetrics(objectQuery({ name: 'web-1', metric: 'memory_used_bytes' }))), {
      name: 'NotFoundError',
      code: 404,
      message: `no values for metric memory_used_bytes on pods web-1 in namespace default: the query returned 1 samples, 1 for these objects but none a finite number; query: ${query}`,
      details: { name: 'memory_used_bytes', group: 'custom.metrics.k8s.io', kind: 'pods' },
    });
  });

  test('samples for other objects only give a 404 that shows the query', async () => {
    const h = harness();
    const query = 'sum(memory_used_bytes{namespace="default",pod=~"web-1|web-2"}) by (pod)';
    h.metrics.answerQuery(query, [pod('web-3', 1), pod('web-4', 2)]);
    const f = await failure(h.provider.objectMetrics(objectQuery({ name: '*', metric: 'memory_used_bytes', labelSelector: parseLabelSelector('app=web') })));
    assert.equal(f.message, `no values for metric memory_used_bytes on 2 pods (web-1, web-2) in namespace default: the query returned 2 samples, none for these objects; query: ${query}`);
  });

  test('several samples for one object keep the first and log the duplicate', async () => {
    const h = harness();
    const query = 'sum(memory_used_bytes{namespace="default",pod="web-1"}) by (pod)';
    h.metrics.answerQuery(query, [pod('web-1', 1, { shard: 'a' }), pod('web-1', 2, { shard: 'b' })]);
    const items = await h.provider.objectMetrics(objectQuery({ name: 'web-1', metric: 'memory_used_bytes' }));
    assert.deepEqual(items, [podItem('web-1', '1')]);
    assert.deepEqual(
      h.log.at('warn').map((e) => [e.message, e.fields]),
      [['query returned several samples for one object; keeping the first', { rule: 'rules[0]', object: 'web-1', query }]],
    );
  });

  test('an aggregated query answering one unlabelled sample for one named object is attributed to it', async () => {
    const h = harness();
    h.metrics.answerQuery('avg(latency_seconds{namespace="default",pod="web-1"})', [sample({}, 0.25, TS)]);
    const items = await h.provider.objectMetrics(objectQuery({ name: 'web-1', metric: 'latency_seconds' }));
    assert.deepEqual(items, [podItem('web-1', '250m', 'latency_seconds')]);
  });

  test('an unlabelled sample is not attributed when several objects were asked for', async () => {
    const h = harness();
    const query = 'avg(latency_seconds{namespace="default",pod=~"web-1|web-2"})';
    h.metrics.answerQuery(query, [sample({}, 0.25, TS)]);
    const f = await failure(h.provider.objectMetrics(objectQuery({ name: '*', metric: 'latency_seconds', labelSelector: parseLabelSelector('app=web') })));
    assert.equal(f.code, 404);
  });

  test('a Prometheus error is a 503 naming the rule, its file:line, the error text and the query', async () => {
    const h = harness();
    const query = 'sum(memory_used_bytes{namespace="default",pod="web-1"}) by (pod)';
    h.metrics.answerQuery(query, new PrometheusError('rejected', 'execution: query processing would load too many samples into memory'));
    assert.deepEqual(await failure(h.provider.objectMetrics(objectQuery({ name: 'web-1', metric: 'memory_used_bytes' }))), {
      name: 'UnavailableError',
      code: 503,
      message: `querying Prometheus for rule rules[0] (rules.yaml:2) failed: execution: query processing would load too many samples into memory; query: ${query}`,
    });
    // The router logs the failed request; a second line here would double every failure.
    assert.deepEqual(h.log.entries, []);
  });

  test('an error that is not from Prometheus is passed on unchanged', async () => {
    const h = harness();
    const boom = new TypeError('bug');
    h.metrics.answerQuery('sum(memory_used_bytes{namespace="default",pod="web-1"}) by (pod)', boom);
    await assert.rejects(h.provider.objectMetrics(objectQuery({ name: 'web-1', metric: 'memory_used_bytes' })), (e) => e === boom);
  });

  test('the request deadline is passed to the metrics source', async () => {
    const h = harness();
    let seen: number | undefined;
    h.metrics.answerQuery('sum(memory_used_bytes{namespace="default",pod="web-1"}) by (pod)', (o) => {
      seen = o.deadline;
      return [pod('web-1', 1)];
    });
    await h.provider.objectMetrics(objectQuery({ name: 'web-1', metric: 'memory_used_bytes', deadline: 123_456 }));
    assert.equal(seen, 123_456);
  });

  test('the timestamp is the sample time, not the time of the request', async () => {
    const h = harness();
    h.metrics.answerQuery('sum(memory_used_bytes{namespace="default",pod=~"web-1|web-2"}) by (pod)', [pod('web-1', 1, {}, 1_000_000_000_999), pod('web-2', 1, {}, 1_600_000_000_000)]);
    const items = await h.provider.objectMetrics(objectQuery({ name: '*', metric: 'memory_used_bytes', labelSelector: parseLabelSelector('app=web') }));
    assert.deepEqual(
      items.map((i) => i.timestamp.getTime()),
      [1_000_000_000_999, 1_600_000_000_000],
    );
  });

  const describedCases: { what: string; query: ObjectMetricsQuery; sent: string; labels: Record<string, string>; want: unknown }[] = [
    {
      what: 'a Node has no namespace',
      query: objectQuery({ resource: NODES, namespace: undefined, name: 'node-1', metric: 'node_load' }),
      sent: 'sum(node_load{node="node-1"}) by (node)',
      labels: { node: 'node-1' },
      want: { kind: 'Node', name: 'node-1', apiVersion: 'v1' },
    },
    {
      what: 'a Namespace is the object itself, queried by its own label',
      query: objectQuery({ resource: NAMESPACES, namespace: undefined, name: 'default', metric: 'namespace_load' }),
      sent: 'sum(namespace_load{namespace="default"}) by (namespace)',
      labels: { namespace: 'default' },
      want: { kind: 'Namespace', name: 'default', apiVersion: 'v1' },
    },
    {
      what: 'a kind the object source does not describe comes from the catalog',
      query: objectQuery({ resource: DEPLOYMENTS, name: 'web', metric: 'kube_deployment_spec_replicas' }),
      sent: 'sum(kube_deployment_spec_replicas{namespace="default",deployment="web"}) by (deployment)',
      labels: { namespace: 'default', deployment: 'web' },
      want: { kind: 'Deployment', namespace: 'default', name: 'web', apiVersion: 'apps/v1' },
    },
    {
      what: 'a resource nothing knows gets a kind guessed from its name',
      query: objectQuery({ resource: WIDGETS, name: 'w1', metric: 'widget_load' }),
      sent: 'sum(widget_load{namespace="default",widget="w1"}) by (widget)',
      labels: { namespace: 'default', widget: 'w1' },
      want: { kind: 'Widget', namespace: 'default', name: 'w1', apiVersion: 'example.com/v1' },
    },
  ];
  for (const c of describedCases) {
    test(`describedObject: ${c.what}`, async () => {
      const h = harness();
      h.metrics.answerQuery(c.sent, [sample(c.labels, 3, TS)]);
      const [item] = await h.provider.objectMetrics(c.query);
      assert.deepEqual(item?.describedObject, c.want);
    });
  }

  const quantities: { value: number; want: string }[] = [
    { value: 0.1, want: '100m' },
    { value: 1.5, want: '1500m' },
    { value: 1500, want: '1500' },
    { value: 2000, want: '2k' },
    { value: 1.2e6, want: '1200k' },
    { value: 0, want: '0' },
    { value: -3, want: '-3' },
    { value: 0.0004, want: '0' },
    { value: -0.0015, want: '-2m' },
  ];
  for (const q of quantities) {
    test(`the sample value ${q.value} is the quantity ${q.want}`, async () => {
      const h = harness();
      h.metrics.answerQuery('sum(memory_used_bytes{namespace="default",pod="web-1"}) by (pod)', [pod('web-1', q.value)]);
      const [item] = await h.provider.objectMetrics(objectQuery({ name: 'web-1', metric: 'memory_used_bytes' }));
      assert.equal(item?.value, q.want);
      assert.deepEqual(h.log.entries, []);
    });
  }

  for (const value of [1e20, -1e20]) {
    test(`a value of ${value}, beyond int64 milli, is capped and logged`, async () => {
      const h = harness();
      h.metrics.answerQuery('sum(memory_used_bytes{namespace="default",pod="web-1"}) by (pod)', [pod('web-1', value)]);
      const [item] = await h.provider.objectMetrics(objectQuery({ name: 'web-1', metric: 'memory_used_bytes' }));
      assert.equal(item?.value, `${value < 0 ? '-' : ''}9223372036854775807m`);
      assert.deepEqual(
        h.log.at('warn').map((e) => [e.message, e.fields]),
        [['value too large for a Quantity; capped', { rule: 'rules[0]', object: 'web-1', value }]],
      );
    });
  }
});

describe('MetricsProvider: the list of metrics served', () => {
  const LISTED_RULES = `rules:
- seriesQuery: '{__name__=~"^http_.*",namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
- seriesQuery: 'kube_deployment_replicas{namespace!="",deployment!=""}'
  resources: {overrides: {namespace: {resource: namespace}, deployment: {group: apps, resource: deployment}}}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
- seriesQuery: 'node_load{node!=""}'
  resources: {overrides: {node: {resource: node}}}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
externalRules:
- seriesQuery: '{__name__=~"^queue_.*",namespace!=""}'
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)'
`;
  const listedRegistry = (): MetricRegistry =>
    registryOf(LISTED_RULES, {
      '{__name__=~"^http_.*",namespace!="",pod!=""}': seriesSummary({ http_requests: ['namespace', 'pod'] }),
      'kube_deployment_replicas{namespace!="",deployment!=""}': seriesSummary({ kube_deployment_replicas: ['deployment', 'namespace'] }),
      'node_load{node!=""}': seriesSummary({ node_load: ['node'] }),
      '{__name__=~"^queue_.*",namespace!=""}': seriesSummary({ queue_messages_ready: ['namespace', 'queue'], queue_age: ['namespace'] }),
    });
  const byName = <T extends { metric: string }>(items: readonly T[], key: (i: T) => string = (i) => i.metric): T[] => [...items].sort((a, b) => (key(a) < key(b) ? -1 : 1));

  test('before the first discovery no metric is listed', () => {
    const listing = harness({ registry: undefined }).provider.listAllMetrics();
    assert.deepEqual([listing.custom, listing.external], [[], []]);
  });

  test('every discovered custom metric is listed with its group, resource and the scope of the resource', () => {
    const { custom } = harness({ registry: listedRegistry() }).provider.listAllMetrics();
    assert.deepEqual(
      byName(custom, (i) => `${i.resource}.${i.group}/${i.metric}`),
      [
        { group: 'apps', resource: 'deployments', metric: 'kube_deployment_replicas', namespaced: true },
        { group: '', resource: 'namespaces', metric: 'http_requests', namespaced: false },
        { group: '', resource: 'namespaces', metric: 'kube_deployment_replicas', namespaced: false },
        { group: '', resource: 'nodes', metric: 'node_load', namespaced: false },
        { group: '', resource: 'pods', metric: 'http_requests', namespaced: true },
      ],
    );
  });

  test('every discovered external metric is listed by name', () => {
    const { external } = harness({ registry: listedRegistry() }).provider.listAllMetrics();
    assert.deepEqual(byName(external), [{ metric: 'queue_age' }, { metric: 'queue_messages_ready' }]);
  });

  test('the listing keeps its version while discovery keeps its registry, and takes a new one with each new registry', () => {
    let registry: MetricRegistry | undefined;
    const provider = new MetricsProvider({ registry: () => registry, metrics: new FakeMetricsSource(), objects: new FakeObjectLister(), catalog: () => catalog, log: new RecordingLogger() });
    const versions = [provider.listAllMetrics().version];
    registry = listedRegistry();
    versions.push(provider.listAllMetrics().version, provider.listAllMetrics().version);
    registry = listedRegistry();
    versions.push(provider.listAllMetrics().version);
    assert.equal(versions[1], versions[2]);
    assert.equal(new Set([versions[0], versions[1], versions[3]]).size, 3, `versions ${versions.join(', ')}`);
  });
});

describe('MetricsProvider: windowSeconds comes from the range in the rule’s query', () => {
  const cases: { metricsQuery: string; sent: string; want: number | undefined }[] = [
    {
      metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)',
      sent: 'sum(rate(reqs{namespace="default",pod="web-1"}[2m])) by (pod)',
      want: 120,
    },
    {
      metricsQuery: 'sum(increase(<<.Series>>{<<.LabelMatchers>>}[1h30m])) by (<<.GroupBy>>)',
      sent: 'sum(increase(reqs{namespace="default",pod="web-1"}[1h30m])) by (pod)',
      want: 5400,
    },
    {
      metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)',
      sent: 'sum(reqs{namespace="default",pod="web-1"}) by (pod)',
      want: undefined,
    },
    {
      // Two different ranges: no single window describes the value.
      metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>) / sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)',
      sent: 'sum(rate(reqs{namespace="default",pod="web-1"}[1m])) by (pod) / sum(rate(reqs{namespace="default",pod="web-1"}[5m])) by (pod)',
      want: undefined,
    },
  ];
  for (const c of cases) {
    test(`${c.metricsQuery} gives ${c.want === undefined ? 'no windowSeconds' : `windowSeconds ${c.want}`}`, async () => {
      const registry = registryOf(
        `rules:
- seriesQuery: 'reqs{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  metricsQuery: '${c.metricsQuery}'
`,
        { 'reqs{namespace!="",pod!=""}': seriesSummary({ reqs: ['namespace', 'pod'] }) },
      );
      const h = harness({ registry });
      h.metrics.answerQuery(c.sent, [pod('web-1', 1)]);
      const [item] = await h.provider.objectMetrics(objectQuery({ name: 'web-1', metric: 'reqs' }));
      assert.equal(item?.windowSeconds, c.want);
      assert.equal(item !== undefined && 'windowSeconds' in item, c.want !== undefined);
    });
  }
});

describe('MetricsProvider: external metrics', () => {
  test('the query is scoped to the namespace, and labels are returned without __name__', async () => {
    const h = harness();
    h.metrics.answerQuery('sum(queue_messages_ready{namespace="default"}) by (queue)', [
      sample({ __name__: 'queue_messages_ready', queue: 'orders' }, 42, TS),
      sample({ queue: 'emails' }, 7, TS + 1000),
    ]);
    const items = await h.provider.externalMetrics(externalQuery({ metric: 'queue_messages_ready' }));
    assert.deepEqual(items, [
      { metric: 'queue_messages_ready', labels: { queue: 'orders' }, timestamp: new Date(TS), value: '42' },
      { metric: 'queue_messages_ready', labels: { queue: 'emails' }, timestamp: new Date(TS + 1000), value: '7' },
    ]);
  });

  test('the metric selector comes before the namespace matcher', async () => {
    const h = harness();
    const query = 'sum(queue_messages_ready{queue="orders",namespace="other"}) by (queue)';
    h.metrics.answerQuery(query, [sample({ queue: 'orders' }, 1000, TS)]);
    const items = await h.provider.externalMetrics(externalQuery({ namespace: 'other', metric: 'queue_messages_ready', metricSelector: parseLabelSelector('queue=orders') }));
    assert.deepEqual(
      items.map((i) => i.value),
      ['1k'],
    );
    assert.deepEqual(h.metrics.queries, [query]);
  });

  test('a rule with namespaced: false ignores the request namespace and reports the window of its range', async () => {
    const h = harness();
    h.metrics.answerQuery('sum(max_over_time(global_backlog{}[5m]))', [sample({}, 12, TS)]);
    const items = await h.provider.externalMetrics(externalQuery({ metric: 'global_backlog' }));
    assert.deepEqual(items, [{ metric: 'global_backlog', labels: {}, timestamp: new Date(TS), windowSeconds: 300, value: '12' }]);
  });

  test('an unknown external metric is a 404 listing the known ones', async () => {
    const h = harness();
    assert.deepEqual(await failure(h.provider.externalMetrics(externalQuery({ metric: 'nope' }))), {
      name: 'NotFoundError',
      code: 404,
      message: 'the server could not find the external metric nope; known external metrics: global_backlog, queue_messages_ready',
      details: { name: 'nope', group: 'external.metrics.k8s.io' },
    });
  });

  test('with no external metric discovered the 404 says so', async () => {
    const h = harness({ registry: { ...REGISTRY, external: new Map() } });
    const f = await failure(h.provider.externalMetrics(externalQuery({ metric: 'nope' })));
    assert.equal(f.message, 'the server could not find the external metric nope; no external metric is discovered');
  });

  test('a > selector is a 400 and sends no query', async () => {
    const h = harness();
    assert.deepEqual(await failure(h.provider.externalMetrics(externalQuery({ metric: 'queue_messages_ready', metricSelector: parseLabelSelector('queue>1') }))), {
      name: 'BadRequestError',
      code: 400,
      message: 'selector operator > on queue has no PromQL equivalent; use =, !=, in, notin or exists',
    });
    assert.deepEqual(h.metrics.queries, []);
  });

  test('a namespaced rule without a namespace mapping is a 503 naming the rule', async () => {
    const registry = registryOf(
      `externalRules:
- seriesQuery: 'backlog'
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})'
`,
      { backlog: seriesSummary({ backlog: [] }) },
    );
    const h = harness({ registry });
    const f = await failure(h.provider.externalMetrics(externalQuery({ metric: 'backlog' })));
    assert.equal(f.code, 503);
    assert.match(f.message, /^rule externalRules\[0\] \(rules\.yaml:2\) cannot serve this request: the rule maps no label to namespaces/);
  });

  test('NaN and ±Inf are left out and logged with the sample labels', async () => {
    const h = harness();
    const query = 'sum(queue_messages_ready{namespace="default"}) by (queue)';
    h.metrics.answerQuery(query, [sample({ queue: 'a' }, -Infinity, TS), sample({ queue: 'b' }, 0.5, TS)]);
    const items = await h.provider.externalMetrics(externalQuery({ metric: 'queue_messages_ready' }));
    assert.deepEqual(
      items.map((i) => [i.labels, i.value]),
      [[{ queue: 'b' }, '500m']],
    );
    assert.deepEqual(
      h.log.at('warn').map((e) => e.fields),
      [{ rule: 'externalRules[0]', object: '{queue="a"}', value: '-Infinity', query }],
    );
  });

  const emptyCases: { what: string; samples: Sample[]; selector: string; tail: string }[] = [
    { what: 'no samples', samples: [], selector: '', tail: 'the query returned 0 samples' },
    { what: 'only a NaN sample', samples: [sample({ queue: 'orders' }, NaN, TS)], selector: 'queue=orders', tail: 'the query returned 1 samples, none a finite number' },
  ];
  for (const c of emptyCases) {
    test(`${c.what} is a 404 that says what the query returned and shows it`, async () => {
      const h = harness();
      const query = c.selector ? 'sum(queue_messages_ready{queue="orders",namespace="default"}) by (queue)' : 'sum(queue_messages_ready{namespace="default"}) by (queue)';
      h.metrics.answerQuery(query, c.samples);
      const f = await failure(h.provider.externalMetrics(externalQuery({ metric: 'queue_messages_ready', metricSelector: parseLabelSelector(c.selector) })));
      assert.deepEqual(f, {
        name: 'NotFoundError',
        code: 404,
        message: `no values for external metric queue_messages_ready in namespace default${c.selector ? ` with selector ${c.selector}` : ''}: ${c.tail}; query: ${query}`,
        details: { name: 'queue_messages_ready', group: 'external.metrics.k8s.io' },
      });
    });
  }

  test('a Prometheus timeout is a 503 naming the external rule', async () => {
    const h = harness();
    const query = 'sum(queue_messages_ready{namespace="default"}) by (queue)';
    h.metrics.answerQuery(query, new PrometheusError('timeout', 'no answer from Prometheus within 5000 ms'));
    const f = await failure(h.provider.externalMetrics(externalQuery({ metric: 'queue_messages_ready' })));
    assert.equal(f.message, `querying Prometheus for rule externalRules[0] (rules.yaml:44) failed: no answer from Prometheus within 5000 ms; query: ${query}`);
  });
});

describe('MetricsProvider: metric selector keys must be Prometheus label names', () => {
  const rejected = (param: string, key: string, rule: string) =>
    `${param} key ${JSON.stringify(key)} is not a Prometheus label name (one that matches [a-zA-Z_][a-zA-Z0-9_]*); rule ${rule} matches selector keys against series labels, and no series label has such a name`;

  for (const key of ['example.com/queue', 'my-queue']) {
    test(`an external labelSelector on ${key} is a 400 naming the key and the rule, and sends no query`, async () => {
      const h = harness();
      const f = await failure(h.provider.externalMetrics(externalQuery({ metric: 'queue_messages_ready', metricSelector: parseLabelSelector(`${key}=jobs`) })));
      assert.deepEqual(f, { name: 'BadRequestError', code: 400, message: rejected('labelSelector', key, 'externalRules[0] (rules.yaml:44)') });
      assert.deepEqual(h.metrics.queries, []);
    });
  }

  test('a metricLabelSelector on app.kubernetes.io/name is a 400 naming the key and the rule, before objects are listed or a query is sent', async () => {
    const h = harness();
    const f = await failure(
      h.provider.objectMetrics(objectQuery({ name: '*', metric: 'memory_used_bytes', labelSelector: parseLabelSelector('app=web'), metricSelector: parseLabelSelector('app.kubernetes.io/name=web') })),
    );
    assert.deepEqual(f, { name: 'BadRequestError', code: 400, message: rejected('metricLabelSelector', 'app.kubernetes.io/name', 'rules[0] (rules.yaml:2)') });
    assert.deepEqual(h.objects.listCalls, []);
    assert.deepEqual(h.metrics.queries, []);
  });

  test('a metricLabelSelector with > is refused before objects are listed', async () => {
    const h = harness();
    const f = await failure(h.provider.objectMetrics(objectQuery({ name: '*', metric: 'memory_used_bytes', metricSelector: parseLabelSelector('size>1') })));
    assert.equal(f.code, 400);
    assert.deepEqual(h.objects.listCalls, []);
    assert.deepEqual(h.metrics.queries, []);
  });
});

describe('MetricsProvider: .LabelValuesByName matches object names exactly', () => {
  const LVBN_RULES = `rules:
- seriesQuery: 'lvbn_max{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  metricsQuery: 'max(<<.Series>>{namespace="<<index .LabelValuesByName "namespace">>",pod=~"<<index .LabelValuesByName "pod">>"})'
`;
  const registry = registryOf(LVBN_RULES, { 'lvbn_max{namespace!="",pod!=""}': seriesSummary({ lvbn_max: ['namespace', 'pod'] }) });

  /**
   * Answers `max(…{pod=~"…"})` over fixed per-pod values the way Prometheus
   * does: the regex is read from the string literal and anchored at both ends.
   */
  const maxOverPods =
    (values: Record<string, number>) =>
    (promql: string): Sample[] => {
      const literal = /pod=~"((?:[^"\\]|\\.)*)"/.exec(promql)?.[1];
      if (literal === undefined) throw new Error(`no pod regex in ${promql}`);
      const regex = new RegExp(`^(?:${JSON.parse(`"${literal}"`) as string})$`);
      const matched = Object.entries(values).filter(([name]) => regex.test(name));
      return matched.length ? [sample({}, Math.max(...matched.map(([, v]) => v)), TS)] : [];
    };

  test('the pod web.1 gets its own value, not that of webx1', async () => {
    const h = harness({ registry });
    h.metrics.onQuery = maxOverPods({ 'web.1': 1, webx1: 99 });
    const items = await h.provider.objectMetrics(objectQuery({ name: 'web.1', metric: 'lvbn_max' }));
    assert.deepEqual(
      items.map((i) => [i.describedObject.name, i.value]),
      [['web.1', '1']],
    );
    assert.deepEqual(h.metrics.queries, ['max(lvbn_max{namespace="default",pod=~"web\\\\.1"})']);
  });
});

describe('MetricsProvider: shared evaluation of wildcards', () => {
  const SHARED = 'sum(memory_used_bytes{namespace="default"}) by (pod)';
  const namespaceAnswer = [pod('web-2', 20), pod('batch-1', 5), pod('web-1', 10)];

  test('wildcards with different label selectors send the same namespace-wide query and keep their own objects', async () => {
    const h = harness({ sharedEvaluation: true });
    h.metrics.answerQuery(SHARED, namespaceAnswer);
    const web = await h.provider.objectMetrics(objectQuery({ name: '*', metric: 'memory_used_bytes', labelSelector: parseLabelSelector('app=web') }));
    const batch = await h.provider.objectMetrics(objectQuery({ name: '*', metric: 'memory_used_bytes', labelSelector: parseLabelSelector('app=batch') }));
    assert.deepEqual(web, [podItem('web-1', '10'), podItem('web-2', '20')]);
    assert.deepEqual(batch, [podItem('batch-1', '5')]);
    assert.deepEqual(h.metrics.queries, [SHARED, SHARED]);
  });

  test('behind the query cache, wildcards with different label selectors cost one Prometheus query', async () => {
    const h = harness({ sharedEvaluation: true });
    h.metrics.answerQuery(SHARED, namespaceAnswer);
    const cache = new CachingMetricsSource(h.metrics, 30);
    try {
      const provider = new MetricsProvider({ registry: () => REGISTRY, metrics: cache, objects: h.objects, catalog: () => catalog, log: h.log });
      await Promise.all(
        ['app=web', 'app=batch', 'app in (web,batch)'].map((s) => provider.objectMetrics(objectQuery({ name: '*', metric: 'memory_used_bytes', labelSelector: parseLabelSelector(s) }))),
      );
      assert.deepEqual(h.metrics.queries, [SHARED]);
    } finally {
      cache.close();
    }
  });

  test('a sample without the object label in a shared result answers no request', async () => {
    const h = harness({ sharedEvaluation: true });
    h.metrics.answerQuery(SHARED, [sample({ namespace: 'default' }, 7, TS), pod('web-1', 10)]);
    const items = await h.provider.objectMetrics(objectQuery({ name: '*', metric: 'memory_used_bytes' }));
    assert.deepEqual(
      items.map((i) => [i.describedObject.name, i.value]),
      [['web-1', '10']],
    );
  });

  test('of several samples for one object in a shared result the first is kept, as per request', async () => {
    const h = harness({ sharedEvaluation: true });
    h.metrics.answerQuery(SHARED, [pod('web-2', 2), pod('web-1', 1, { instance: 'a' }), pod('batch-1', 5), pod('web-1', 9, { instance: 'b' })]);
    const items = await h.provider.objectMetrics(objectQuery({ name: '*', metric: 'memory_used_bytes', labelSelector: parseLabelSelector('app=web') }));
    assert.deepEqual(items, [podItem('web-1', '1'), podItem('web-2', '2')]);
    assert.equal(h.log.entries.filter((e) => e.message.startsWith('query returned several samples')).length, 1);
  });

  test('the metric selector is part of the shared query', async () => {
    const h = harness({ sharedEvaluation: true });
    h.metrics.answerQuery('sum(memory_used_bytes{area="heap",namespace="default"}) by (pod)', [pod('web-1', 1)]);
    const items = await h.provider.objectMetrics(objectQuery({ name: '*', metric: 'memory_used_bytes', metricSelector: parseLabelSelector('area=heap') }));
    assert.deepEqual(items, [podItem('web-1', '1')]);
  });

  test('a rule whose query aggregates across objects keeps the per-request query', async () => {
    const h = harness({ sharedEvaluation: true });
    const query = 'avg(latency_seconds{namespace="default",pod=~"web-1|web-2"})';
    h.metrics.answerQuery(query, []);
    await failure(h.provider.objectMetrics(objectQuery({ name: '*', metric: 'latency_seconds', labelSelector: parseLabelSelector('app=web') })));
    assert.deepEqual(h.metrics.queries, [query]);
  });

  test('a named object keeps the per-request query', async () => {
    const h = harness({ sharedEvaluation: true });
    h.metrics.answerQuery('sum(memory_used_bytes{namespace="default",pod="web-1"}) by (pod)', [pod('web-1', 1)]);
    assert.deepEqual(await h.provider.objectMetrics(objectQuery({ name: 'web-1', metric: 'memory_used_bytes' })), [podItem('web-1', '1')]);
  });

  test('a root-scoped resource keeps the per-request query', async () => {
    const h = harness({ sharedEvaluation: true });
    h.metrics.answerQuery('sum(node_load{node=~"node-1|node-2"}) by (node)', [sample({ node: 'node-1' }, 1, TS)]);
    const items = await h.provider.objectMetrics(objectQuery({ resource: NODES, namespace: undefined, name: '*', metric: 'node_load' }));
    assert.deepEqual(
      items.map((i) => i.describedObject.name),
      ['node-1'],
    );
  });

  test('sharedEvaluation: false on the rule keeps the per-request query', async () => {
    const registry = registryOf(
      `rules:
- seriesQuery: '{__name__=~"^memory_.*",namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
  sharedEvaluation: false
`,
      { '{__name__=~"^memory_.*",namespace!="",pod!=""}': seriesSummary({ memory_used_bytes: ['namespace', 'pod'] }) },
    );
    const h = harness({ sharedEvaluation: true, registry });
    h.metrics.answerQuery('sum(memory_used_bytes{namespace="default",pod=~"web-1|web-2"}) by (pod)', [pod('web-1', 1)]);
    assert.deepEqual(await h.provider.objectMetrics(objectQuery({ name: '*', metric: 'memory_used_bytes', labelSelector: parseLabelSelector('app=web') })), [podItem('web-1', '1')]);
  });

  test('when Prometheus rejects the shared query the request sends its own', async () => {
    const h = harness({ sharedEvaluation: true });
    h.metrics.answerQuery(SHARED, new PrometheusError('rejected', 'execution: vector cannot contain metrics with the same labelset'));
    h.metrics.answerQuery('sum(memory_used_bytes{namespace="default",pod=~"web-1|web-2"}) by (pod)', [pod('web-1', 1)]);
    const items = await h.provider.objectMetrics(objectQuery({ name: '*', metric: 'memory_used_bytes', labelSelector: parseLabelSelector('app=web') }));
    assert.deepEqual(items, [podItem('web-1', '1')]);
    assert.equal(h.metrics.queries.length, 2);
  });

  test('when Prometheus is unavailable the shared query fails the request without a second query', async () => {
    const h = harness({ sharedEvaluation: true });
    h.metrics.answerQuery(SHARED, new PrometheusError('unavailable', 'connect ECONNREFUSED'));
    const f = await failure(h.provider.objectMetrics(objectQuery({ name: '*', metric: 'memory_used_bytes' })));
    assert.equal(f.code, 503);
    assert.deepEqual(h.metrics.queries, [SHARED]);
  });

  const QUEUES_SHARED = 'sum(queue_messages_ready{namespace="default"}) by (queue)';
  const queue = (name: string | undefined, value: number): Sample => sample(name === undefined ? {} : { queue: name }, value, TS);
  const queueValues = (items: readonly ExternalMetricValue[]) => items.map((i) => [i.labels.queue ?? '(none)', i.value]);

  test('external requests with different selectors on a label the query keeps send one namespace-wide query', async () => {
    const h = harness({ sharedEvaluation: true });
    h.metrics.answerQuery(QUEUES_SHARED, [queue('orders', 1), queue('emails', 2)]);
    const orders = await h.provider.externalMetrics(externalQuery({ metric: 'queue_messages_ready', metricSelector: parseLabelSelector('queue=orders') }));
    const emails = await h.provider.externalMetrics(externalQuery({ metric: 'queue_messages_ready', metricSelector: parseLabelSelector('queue=emails') }));
    assert.deepEqual(queueValues(orders), [['orders', '1']]);
    assert.deepEqual(queueValues(emails), [['emails', '2']]);
    assert.deepEqual(h.metrics.queries, [QUEUES_SHARED, QUEUES_SHARED]);
  });

  // What Prometheus' matchers keep, with a series lacking the label treated as an empty value.
  const operators: { selector: string; want: string[] }[] = [
    { selector: 'queue=orders', want: ['orders'] },
    { selector: 'queue==orders', want: ['orders'] },
    { selector: 'queue!=orders', want: ['emails', 'jobs', '(none)'] },
    { selector: 'queue in (orders,jobs)', want: ['orders', 'jobs'] },
    { selector: 'queue notin (orders,jobs)', want: ['emails', '(none)'] },
    { selector: 'queue', want: ['orders', 'emails', 'jobs'] },
    { selector: '!queue', want: ['(none)'] },
  ];
  for (const o of operators) {
    test(`the shared result filtered by ${o.selector} keeps what the matcher would have kept`, async () => {
      const h = harness({ sharedEvaluation: true });
      h.metrics.answerQuery(QUEUES_SHARED, [queue('orders', 1), queue('emails', 2), queue('jobs', 3), queue(undefined, 4)]);
      const items = await h.provider.externalMetrics(externalQuery({ metric: 'queue_messages_ready', metricSelector: parseLabelSelector(o.selector) }));
      assert.deepEqual(
        items.map((i) => i.labels.queue ?? '(none)'),
        o.want,
      );
    });
  }

  test('an external selector on a label the query groups away keeps the per-request query', async () => {
    const h = harness({ sharedEvaluation: true });
    const query = 'sum(queue_messages_ready{region="eu",namespace="default"}) by (queue)';
    h.metrics.answerQuery(query, [queue('orders', 1)]);
    await h.provider.externalMetrics(externalQuery({ metric: 'queue_messages_ready', metricSelector: parseLabelSelector('region=eu') }));
    assert.deepEqual(h.metrics.queries, [query]);
  });

  test('an external selector matching nothing in the shared result is a 404 naming the selector', async () => {
    const h = harness({ sharedEvaluation: true });
    h.metrics.answerQuery(QUEUES_SHARED, [queue('orders', 1)]);
    const f = await failure(h.provider.externalMetrics(externalQuery({ metric: 'queue_messages_ready', metricSelector: parseLabelSelector('queue=none') })));
    assert.equal(f.code, 404);
    assert.match(f.message, /with selector queue=none: the query returned 0 samples/);
  });

  test('the evaluation mode names its reason', () => {
    const h = harness({ sharedEvaluation: true });
    const rule = REGISTRY.custom.get('pods/latency_seconds')?.rule;
    assert.ok(rule);
    const mode = h.provider.evaluationMode(rule, PODS, true);
    assert.equal(mode.shared, false);
    assert.match(mode.reason, /not object-separable: avg aggregates every object into one value/);
  });
});

describe('CachingMetricsSource', () => {
  const opts = { deadline: DEADLINE };
  const answer = [sample({ pod: 'a' }, 1, TS)];

  test('concurrent identical queries share one call to Prometheus', async () => {
    const g = gate<Sample[]>();
    const source = new FakeMetricsSource().answerQuery('up', () => g.promise);
    const cache = new CachingMetricsSource(source, 30);
    try {
      const calls = Array.from({ length: 5 }, () => cache.query('up', opts));
      g.resolve(answer);
      const results = await Promise.all(calls);
      assert.equal(source.queries.length, 1);
      for (const r of results) assert.equal(r, answer);
      assert.deepEqual(cache.stats, { hits: 0, misses: 1, coalesced: 4 });
    } finally {
      cache.close();
    }
  });

  test('an answer is served from the cache within the TTL, an empty one included', async () => {
    const source = new FakeMetricsSource().answerQuery('up', answer).answerQuery('absent', []);
    const cache = new CachingMetricsSource(source, 30);
    try {
      await cache.query('up', opts);
      await cache.query('absent', opts);
      assert.equal(await cache.query('up', opts), answer);
      assert.deepEqual(await cache.query('absent', opts), []);
      assert.deepEqual(source.queries, ['up', 'absent']);
      assert.deepEqual(cache.stats, { hits: 2, misses: 2, coalesced: 0 });
    } finally {
      cache.close();
    }
  });

  test('TTL 0 still shares a call in flight but keeps nothing afterwards', async () => {
    const g = gate<Sample[]>();
    const source = new FakeMetricsSource().answerQuery('up', () => g.promise);
    const cache = new CachingMetricsSource(source, 0);
    try {
      const calls = [cache.query('up', opts), cache.query('up', opts), cache.query('up', opts)];
      g.resolve(answer);
      await Promise.all(calls);
      assert.equal(source.queries.length, 1);
      await cache.query('up', opts);
      assert.equal(source.queries.length, 2);
      assert.deepEqual(cache.stats, { hits: 0, misses: 2, coalesced: 2 });
    } finally {
      cache.close();
    }
  });

  test('a rejected query fails every caller that joined it, is not cached, and the next call retries', async () => {
    const g = gate<Sample[]>();
    const source = new FakeMetricsSource().answerQuery('up', () => g.promise);
    const cache = new CachingMetricsSource(source, 30);
    try {
      const err = new PrometheusError('unavailable', 'cannot reach Prometheus: ECONNREFUSED');
      const calls = [cache.query('up', opts), cache.query('up', opts)];
      g.reject(err);
      for (const c of calls) await assert.rejects(c, (e) => e === err);
      source.answerQuery('up', answer);
      assert.equal(await cache.query('up', opts), answer);
      assert.equal(source.queries.length, 2);
      assert.deepEqual(cache.stats, { hits: 0, misses: 2, coalesced: 1 });
    } finally {
      cache.close();
    }
  });

  test('different queries in flight at once are not merged', async () => {
    const ga = gate<Sample[]>();
    const gb = gate<Sample[]>();
    const source = new FakeMetricsSource().answerQuery('a', () => ga.promise).answerQuery('b', () => gb.promise);
    const cache = new CachingMetricsSource(source, 30);
    try {
      const a = cache.query('a', opts);
      const b = cache.query('b', opts);
      const answerB = [sample({}, 2, TS)];
      gb.resolve(answerB);
      ga.resolve(answer);
      assert.equal(await a, answer);
      assert.equal(await b, answerB);
      assert.deepEqual(source.queries, ['a', 'b']);
    } finally {
      cache.close();
    }
  });

  test('series lookups are passed through uncached', async () => {
    const source = new FakeMetricsSource().answerSeries('up', seriesSummary({ up: ['job'] }));
    const cache = new CachingMetricsSource(source, 30);
    try {
      await cache.series('up', 600, opts);
      await cache.series('up', 600, opts);
      assert.deepEqual(
        source.seriesCalls.map((c) => [c.match, c.lookbackSeconds]),
        [
          ['up', 600],
          ['up', 600],
        ],
      );
    } finally {
      cache.close();
    }
  });
});

describe('PrometheusObjectSource', () => {
  const ksmPod = (name: string, labels: Record<string, string> = {}, namespace = 'default') => sample({ __name__: 'kube_pod_labels', namespace, pod: name, ...labels }, 1, TS);
  const podSeries = [
    ksmPod('web-2', { label_app_kubernetes_io_name: 'web' }),
    ksmPod('web-1', { label_app_kubernetes_io_name: 'web', instance: 'ksm-0' }),
    // The same pod from a second kube-state-metrics replica.
    ksmPod('web-1', { label_app_kubernetes_io_name: 'web', instance: 'ksm-1' }),
    ksmPod('db-1', { label_app_kubernetes_io_name: 'db' }),
    ksmPod('bare-1'),
  ];

  function source(metrics: FakeMetricsSource): PrometheusObjectSource {
    return new PrometheusObjectSource({ metrics, catalog: () => catalog, timeoutMs: 1_000 });
  }

  const selectorCases: { selector: string; want: string[] }[] = [
    { selector: '', want: ['bare-1', 'db-1', 'web-1', 'web-2'] },
    { selector: 'app.kubernetes.io/name=web', want: ['web-1', 'web-2'] },
    { selector: 'app.kubernetes.io/name!=web', want: ['bare-1', 'db-1'] },
    { selector: 'app.kubernetes.io/name in (db,web)', want: ['db-1', 'web-1', 'web-2'] },
    { selector: 'app.kubernetes.io/name', want: ['db-1', 'web-1', 'web-2'] },
    { selector: '!app.kubernetes.io/name', want: ['bare-1'] },
  ];
  for (const c of selectorCases) {
    test(`selector ${JSON.stringify(c.selector)} is compared as label_app_kubernetes_io_name and yields ${c.want.join(', ')}`, async () => {
      const metrics = new FakeMetricsSource().answerQuery('kube_pod_labels{namespace="default"}', podSeries);
      const refs = await source(metrics).list(PODS, 'default', parseLabelSelector(c.selector));
      assert.deepEqual(
        refs.map((r) => r.name),
        c.want,
      );
      assert.deepEqual(metrics.queries, ['kube_pod_labels{namespace="default"}']);
    });
  }

  const names: [string, string][] = [
    ['app', 'label_app'],
    ['app.kubernetes.io/name', 'label_app_kubernetes_io_name'],
    ['appName', 'label_app_name'],
    ['Team', 'label_team'],
    ['myHTTPServer', 'label_my_httpserver'],
    ['example.com/zoneA', 'label_example_com_zone_a'],
    ['v1Beta', 'label_v1_beta'],
  ];
  for (const [key, want] of names) {
    test(`the label key ${key} is ${want} in kube-state-metrics series`, () => {
      assert.equal(sanitizeLabelKey(key), want);
    });
  }

  test('a camelCase selector key matches the snake_case label kube-state-metrics exports', async () => {
    const metrics = new FakeMetricsSource().answerQuery('kube_pod_labels{namespace="default"}', [ksmPod('api-1', { label_app_name: 'api' }), ksmPod('api-2', { label_app_name: 'other' })]);
    assert.deepEqual(
      (await source(metrics).list(PODS, 'default', parseLabelSelector('appName=api'))).map((r) => r.name),
      ['api-1'],
    );
  });

  test('refs are sorted and deduplicated, with the namespace and the kube-state-metrics labels without their prefix', async () => {
    const metrics = new FakeMetricsSource().answerQuery('kube_pod_labels{namespace="default"}', podSeries);
    assert.deepEqual(await source(metrics).list(PODS, 'default', parseLabelSelector('app.kubernetes.io/name=web')), [
      { name: 'web-1', namespace: 'default', labels: { app_kubernetes_io_name: 'web' } },
      { name: 'web-2', namespace: 'default', labels: { app_kubernetes_io_name: 'web' } },
    ]);
  });

  test('a root-scoped resource is listed without a namespace matcher and its refs have no namespace', async () => {
    const metrics = new FakeMetricsSource().answerQuery('kube_node_labels{}', [sample({ node: 'node-b', label_role: 'worker' }, 1, TS), sample({ node: 'node-a', label_role: 'worker' }, 1, TS)]);
    assert.deepEqual(await source(metrics).list(NODES, undefined, []), [
      { name: 'node-a', labels: { role: 'worker' } },
      { name: 'node-b', labels: { role: 'worker' } },
    ]);
  });

  test('pods of every namespace take their namespace from the series, and a name in two namespaces is two pods', async () => {
    const metrics = new FakeMetricsSource().answerQuery('kube_pod_labels{}', [
      ksmPod('web-1', { label_app: 'web' }, 'prod'),
      ksmPod('web-1', { label_app: 'web' }, 'dev'),
      ksmPod('web-1', { label_app: 'web', instance: 'ksm-1' }, 'dev'),
      ksmPod('db-1', { label_app: 'db' }, 'prod'),
    ]);
    assert.deepEqual(await source(metrics).list(PODS, undefined, parseLabelSelector('app=web')), [
      { name: 'web-1', namespace: 'dev', labels: { app: 'web' } },
      { name: 'web-1', namespace: 'prod', labels: { app: 'web' } },
    ]);
  });

  test('a grouped resource reads kube_<singular>_labels and the <singular> label', async () => {
    const metrics = new FakeMetricsSource().answerQuery('kube_deployment_labels{namespace="default"}', [sample({ namespace: 'default', deployment: 'web' }, 1, TS)]);
    assert.deepEqual(
      (await source(metrics).list(DEPLOYMENTS, 'default', [])).map((r) => r.name),
      ['web'],
    );
  });

  const namingCases: { resource: GroupResource; query: string; labels: Record<string, string> }[] = [
    // kube-state-metrics names the Job in job_name; `job` is the scrape job.
    { resource: { group: 'batch', resource: 'jobs' }, query: 'kube_job_labels{namespace="default"}', labels: { job_name: 'nightly', job: 'kube-state-metrics' } },
    { resource: { group: '', resource: 'endpoints' }, query: 'kube_endpoint_labels{namespace="default"}', labels: { endpoint: 'nightly' } },
    { resource: { group: '', resource: 'services' }, query: 'kube_service_labels{namespace="default"}', labels: { service: 'nightly' } },
  ];
  for (const c of namingCases) {
    test(`${c.resource.resource} are read from ${c.query} and the ${Object.keys(c.labels)[0]} label`, async () => {
      const metrics = new FakeMetricsSource().answerQuery(c.query, [sample({ namespace: 'default', ...c.labels }, 1, TS)]);
      assert.deepEqual(
        (await source(metrics).list(c.resource, 'default', [])).map((r) => r.name),
        ['nightly'],
      );
    });
  }

  test('with no kube-state-metrics series at all the lister is unavailable and says what to deploy', async () => {
    const metrics = new FakeMetricsSource().answerQuery('kube_pod_labels{namespace="default"}', []).answerQuery('count(kube_pod_labels)', []);
    assert.deepEqual(await failure(source(metrics).list(PODS, 'default', [])), {
      name: 'UnavailableError',
      code: 503,
      message:
        '--object-source prometheus needs kube-state-metrics series kube_pod_labels to list pods, and Prometheus has none; deploy kube-state-metrics (with --metric-labels-allowlist for the labels your HPAs select on) or use --object-source kubernetes',
    });
    assert.deepEqual(metrics.queries, ['kube_pod_labels{namespace="default"}', 'count(kube_pod_labels)']);
  });

  test('an empty namespace while the series exist elsewhere is an empty list', async () => {
    const metrics = new FakeMetricsSource().answerQuery('kube_pod_labels{namespace="empty"}', []).answerQuery('count(kube_pod_labels)', [sample({}, 12, TS)]);
    assert.deepEqual(await source(metrics).list(PODS, 'empty', []), []);
  });

  test('a Prometheus error is a 503 naming the resource and the query', async () => {
    const metrics = new FakeMetricsSource().answerQuery('kube_pod_labels{namespace="default"}', new PrometheusError('unavailable', 'Prometheus answered 502: bad gateway'));
    const f = await failure(source(metrics).list(PODS, 'default', []));
    assert.equal(f.code, 503);
    assert.equal(f.message, 'listing pods from kube-state-metrics failed: Prometheus answered 502: bad gateway; query: kube_pod_labels{namespace="default"}');
  });

  test('describe answers from the catalog and knows nothing else', async () => {
    const objects = source(new FakeMetricsSource());
    assert.deepEqual(await objects.describe(DEPLOYMENTS), { kind: 'Deployment', apiVersion: 'apps/v1', namespaced: true });
    assert.equal(await objects.describe(WIDGETS), undefined);
  });
});
