// Metric discovery: buildRegistry turns rules plus series summaries into the
// published metrics, and MetricDiscovery runs the relists around it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRegistry, customMetricKey, MetricDiscovery, type DiscoveryOptions, type MetricRegistry } from '../../adapter/discovery.js';
import { PrometheusError } from '../../adapter/prometheus.js';
import { apiResourceList } from '../../adapter/documents.js';
import { MetricsProvider } from '../../adapter/provider.js';
import type { SeriesSummary } from '../../adapter/series-stream.js';
import type { RuleSet } from '../../rules/load.js';
import { formatDiagnostic } from '../../rules/diagnostics.js';
import { StaticResourceCatalog } from '../../rules/resources.js';
import { compileYaml } from '../support/rules.js';
import { FakeMetricsSource, FakeObjectLister, gate, RecordingLogger, seriesSummary } from '../support/fakes.js';
import { callInWorker } from '../support/worker.js';

const catalog = new StaticResourceCatalog();

function ruleSet(text: string): RuleSet {
  const result = compileYaml(text);
  if (!result.ruleSet) throw new Error(`rules did not load:\n${result.errors.map(formatDiagnostic).join('\n')}`);
  return result.ruleSet;
}

function build(rules: RuleSet, summaries: Record<string, SeriesSummary>): MetricRegistry {
  return buildRegistry(rules, new Map(Object.entries(summaries)), catalog, new Date(0));
}

/** `resource/metric` -> series, in key order, so whole registries compare in one assertion. */
function customView(registry: MetricRegistry): Record<string, { series: string; namespaced: boolean; rule: string }> {
  return Object.fromEntries([...registry.custom.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, m]) => [key, { series: m.series, namespaced: m.namespaced, rule: m.rule.origin.path }]));
}

const POD_QUERY = '{__name__=~"^http_.*",namespace!="",pod!=""}';

const httpRules = ruleSet(`rules:
- seriesQuery: '${POD_QUERY}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name:
    matches: "^(.*)_total$"
    as: "\${1}_per_second"
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)'
`);

/** A custom and an external rule on the same seriesQuery. */
const sharedQueryRules = (() => {
  const query = 'jobs_waiting{namespace!=""}';
  const rules = ruleSet(`rules:
- seriesQuery: '${query}'
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
externalRules:
- seriesQuery: '${query}'
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})'
`);
  return { query, rules };
})();

describe('buildRegistry', () => {
  test('metric names come from series names through the rule name mapping, once per mapped resource', () => {
    const registry = build(httpRules, {
      [POD_QUERY]: seriesSummary({
        http_requests_total: ['namespace', 'pod'],
        http_errors_total: ['namespace', 'pod'],
        // name.matches does not match it, so it publishes nothing.
        http_inflight: ['namespace', 'pod'],
      }),
    });
    assert.deepEqual(customView(registry), {
      'namespaces/http_errors_per_second': { series: 'http_errors_total', namespaced: false, rule: 'rules[0]' },
      'namespaces/http_requests_per_second': { series: 'http_requests_total', namespaced: false, rule: 'rules[0]' },
      'pods/http_errors_per_second': { series: 'http_errors_total', namespaced: true, rule: 'rules[0]' },
      'pods/http_requests_per_second': { series: 'http_requests_total', namespaced: true, rule: 'rules[0]' },
    });
    assert.equal(registry.external.size, 0);
    assert.deepEqual(registry.conflicts, []);
    assert.deepEqual(registry.builtAt, new Date(0));
  });

  test('a series lacking a mapped label is not published for that resource', () => {
    const registry = build(httpRules, { [POD_QUERY]: seriesSummary({ http_requests_total: ['namespace'] }) });
    assert.deepEqual(Object.keys(customView(registry)), ['namespaces/http_requests_per_second']);
  });

  test('a rule whose seriesQuery has no summary publishes nothing', () => {
    const registry = build(httpRules, { some_other_query: seriesSummary({ http_requests_total: ['namespace', 'pod'] }) });
    assert.equal(registry.custom.size, 0);
  });

  describe('a <<.Resource>> template counts only labels that name resources the catalog knows', () => {
    const query = '{__name__="requests_total"}';
    const rules = ruleSet(`rules:
- seriesQuery: '${query}'
  resources:
    template: "<<.Resource>>"
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`);
    const registry = build(rules, {
      [query]: seriesSummary({ requests_total: ['container', 'instance', 'job', 'le', 'namespace', 'node', 'pod', 'service'] }),
    });
    const published = customView(registry);

    test('instance, le and container are ordinary labels and publish nothing; job is read as jobs.batch, as the reference does', () => {
      assert.deepEqual(Object.keys(published), ['jobs.batch/requests_total', 'namespaces/requests_total', 'nodes/requests_total', 'pods/requests_total', 'services/requests_total']);
    });

    const scopes: [string, boolean][] = [
      ['pods', true],
      ['services', true],
      ['jobs.batch', true],
      ['namespaces', false],
      ['nodes', false],
    ];
    for (const [resource, namespaced] of scopes) {
      test(`${resource} is ${namespaced ? 'namespaced' : 'root-scoped'}`, () => {
        assert.equal(published[`${resource}/requests_total`]?.namespaced, namespaced);
      });
    }
  });

  test('a template with a prefix maps kube_deployment to deployments.apps and ignores kube_ labels that name no resource', () => {
    const query = '{__name__="kube_replicas"}';
    const rules = ruleSet(`rules:
- seriesQuery: '${query}'
  resources:
    template: "kube_<<.Resource>>"
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`);
    const registry = build(rules, { [query]: seriesSummary({ kube_replicas: ['kube_deployment', 'kube_namespace', 'kube_cluster', 'deployment'] }) });
    assert.deepEqual(customView(registry), {
      'deployments.apps/kube_replicas': { series: 'kube_replicas', namespaced: true, rule: 'rules[0]' },
      'namespaces/kube_replicas': { series: 'kube_replicas', namespaced: false, rule: 'rules[0]' },
    });
  });

  test('a resource the catalog does not know takes its scope from the first series published for it, and a series that disagrees is a conflict', () => {
    const query = '{__name__=~"^widget_.*"}';
    const rules = ruleSet(`rules:
- seriesQuery: '${query}'
  resources:
    overrides:
      namespace: {resource: namespace}
      widget: {group: example.com, resource: widget}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`);
    const registry = build(rules, { [query]: seriesSummary({ widget_load: ['namespace', 'widget'], widget_global: ['widget'] }) });
    assert.deepEqual(customView(registry), {
      'namespaces/widget_load': { series: 'widget_load', namespaced: false, rule: 'rules[0]' },
      'widgets.example.com/widget_global': { series: 'widget_global', namespaced: false, rule: 'rules[0]' },
      'widgets.example.com/widget_load': { series: 'widget_load', namespaced: false, rule: 'rules[0]' },
    });
    assert.deepEqual(registry.conflicts, [
      'metric widget_load for widgets.example.com: series widget_load has a namespace label, but widgets.example.com is served cluster-scoped as series widget_global made it first',
    ]);
    // Discovery lists what the provider enforces.
    const provider = new MetricsProvider({ registry: () => registry, metrics: new FakeMetricsSource(), objects: new FakeObjectLister(), catalog: () => catalog, log: new RecordingLogger() });
    const listed = (apiResourceList('custom.metrics.k8s.io', 'v1beta2', provider.listAllMetrics()) as { resources: { name: string; namespaced: boolean }[] }).resources;
    assert.deepEqual(
      listed.filter((r) => r.name.startsWith('widgets.')).map((r) => [r.name, r.namespaced]),
      [
        ['widgets.example.com/widget_global', false],
        ['widgets.example.com/widget_load', false],
      ],
    );
  });

  test('when two rules publish the same metric for the same resource the first rule wins and the conflict is reported', () => {
    const rules = ruleSet(`rules:
- seriesQuery: '{__name__=~".*_total",pod!=""}'
  resources: {overrides: {pod: {resource: pod}}}
  name: {matches: "^(.*)_total$", as: "\${1}"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
- seriesQuery: '{__name__=~".*_count",pod!=""}'
  resources: {overrides: {pod: {resource: pod}}}
  name: {matches: "^(.*)_count$", as: "\${1}"}
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`);
    const registry = build(rules, {
      '{__name__=~".*_total",pod!=""}': seriesSummary({ requests_total: ['pod'] }),
      '{__name__=~".*_count",pod!=""}': seriesSummary({ requests_count: ['pod'], errors_count: ['pod'] }),
    });
    assert.deepEqual(customView(registry), {
      'pods/errors': { series: 'errors_count', namespaced: true, rule: 'rules[1]' },
      'pods/requests': { series: 'requests_total', namespaced: true, rule: 'rules[0]' },
    });
    assert.deepEqual(registry.conflicts, ['metric requests for pods: rules[0] (rules.yaml:2) series requests_total wins over rules[1] (rules.yaml:6) series requests_count']);
  });

  test('two series of one rule that map to the same name conflict, and the first series in the summary wins', () => {
    const query = '{__name__=~"^(a|b)_total$",pod!=""}';
    const rules = ruleSet(`rules:
- seriesQuery: '${query}'
  resources: {overrides: {pod: {resource: pod}}}
  name: {matches: "_total$", as: "requests"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`);
    const registry = build(rules, { [query]: seriesSummary({ a_total: ['pod'], b_total: ['pod'] }) });
    assert.equal(registry.custom.get('pods/requests')?.series, 'a_total');
    assert.deepEqual(registry.conflicts, ['metric requests for pods: rules[0] (rules.yaml:2) series a_total wins over rules[0] (rules.yaml:2) series b_total']);
  });

  test('series filters drop series before naming: isNot removes matches, is keeps only matches, both unanchored', () => {
    const rules = ruleSet(`rules:
- seriesQuery: '${POD_QUERY}'
  seriesFilters:
  - isNot: "_bucket"
  - is: "duration|requests"
  resources:
    overrides:
      pod: {resource: pod}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`);
    const registry = build(rules, {
      [POD_QUERY]: seriesSummary({
        http_duration_seconds_bucket: ['pod'],
        http_duration_seconds_sum: ['pod'],
        http_requests_total: ['pod'],
        http_inflight: ['pod'],
      }),
    });
    assert.deepEqual(Object.keys(customView(registry)), ['pods/http_duration_seconds_sum', 'pods/http_requests_total']);
  });

  test('external rules publish bare metric names and no custom metric', () => {
    const query = '{__name__=~"^queue_.*",namespace!=""}';
    const rules = ruleSet(`externalRules:
- seriesQuery: '${query}'
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)'
`);
    const registry = build(rules, { [query]: seriesSummary({ queue_messages_ready: ['namespace', 'queue'], queue_consumers: ['namespace', 'queue'] }) });
    assert.equal(registry.custom.size, 0);
    assert.deepEqual(
      [...registry.external.values()].map((m) => [m.metric, m.series, m.rule.origin.path]),
      [
        ['queue_consumers', 'queue_consumers', 'externalRules[0]'],
        ['queue_messages_ready', 'queue_messages_ready', 'externalRules[0]'],
      ],
    );
  });

  test('a custom and an external rule sharing a seriesQuery both publish from the one summary', () => {
    const { query, rules } = sharedQueryRules;
    const registry = build(rules, { [query]: seriesSummary({ jobs_waiting: ['namespace'] }) });
    assert.deepEqual([...registry.custom.keys()], ['namespaces/jobs_waiting']);
    assert.deepEqual([...registry.external.keys()], ['jobs_waiting']);
  });

  test('two external rules publishing one name: the first wins and the conflict is reported', () => {
    const rules = ruleSet(`externalRules:
- seriesQuery: 'queue_depth{namespace!=""}'
  resources: {overrides: {namespace: {resource: namespace}}}
  name: {matches: "^queue_(.*)$"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})'
- seriesQuery: 'topic_depth{namespace!=""}'
  resources: {overrides: {namespace: {resource: namespace}}}
  name: {matches: "^topic_(.*)$"}
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>})'
`);
    const registry = build(rules, {
      'queue_depth{namespace!=""}': seriesSummary({ queue_depth: ['namespace'] }),
      'topic_depth{namespace!=""}': seriesSummary({ topic_depth: ['namespace'] }),
    });
    assert.equal(registry.external.get('depth')?.series, 'queue_depth');
    assert.deepEqual(registry.conflicts, ['external metric depth: externalRules[0] (rules.yaml:2) series queue_depth wins over externalRules[1] (rules.yaml:6) series topic_depth']);
  });

  test('customMetricKey names the parent resource with its group', () => {
    assert.equal(customMetricKey({ group: 'apps', resource: 'deployments' }, 'm'), 'deployments.apps/m');
    assert.equal(customMetricKey({ group: '', resource: 'pods' }, 'm'), 'pods/m');
  });
});

describe('rule regexes against series names from Prometheus', () => {
  // `([a-z]+_?)+` can split a run of letters in exponentially many ways, and a
  // backtracking engine tries every split before giving up on a name without
  // `_total`: about 2.7 times longer per extra character, half a minute at 45.
  const nestedQuantifierRule = `rules:
- seriesQuery: '{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {matches: "^([a-z]+_?)+_total$", as: "$0"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`;

  test('a nested-quantifier name.matches gives up on a 45-character name it does not match within moments', { timeout: 30_000 }, async () => {
    const keys = await callInWorker<string[]>(
      new URL('../support/rules.js', import.meta.url),
      'publishedMetricKeys',
      [nestedQuantifierRule, { container_network_receive_packets_dropped_now: ['namespace', 'pod'], http_requests_total: ['namespace', 'pod'] }],
      5_000,
    );
    assert.deepEqual(keys, ['namespaces/http_requests_total', 'pods/http_requests_total']);
  });

  test('a nested-quantifier series filter gives up on a 45-character name it does not match within moments', { timeout: 30_000 }, async () => {
    const keys = await callInWorker<string[]>(
      new URL('../support/rules.js', import.meta.url),
      'publishedMetricKeys',
      [
        `externalRules:
- seriesQuery: 'queue_depth'
  seriesFilters: [{isNot: '^(\\w+_?)+_total$'}]
  resources: {namespaced: false}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})'
`,
        { container_network_receive_packets_dropped_now: [], queue_depth_total: [] },
      ],
      5_000,
    );
    assert.deepEqual(keys, ['external/container_network_receive_packets_dropped_now']);
  });
});

// --- MetricDiscovery -------------------------------------------------------

const OPTIONS: DiscoveryOptions = { intervalMs: 60_000, lookbackSeconds: 600, timeoutMs: 2_000 };

/** One custom rule per query, each mapping `pod`; the metric is the series name. */
function podRules(queries: readonly string[]): RuleSet {
  return ruleSet(
    `rules:\n${queries
      .map(
        (q) => `- seriesQuery: '${q}'
  resources: {overrides: {pod: {resource: pod}}}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`,
      )
      .join('')}`,
  );
}

function discovery(source: FakeMetricsSource, rules: () => RuleSet | undefined, options: Partial<DiscoveryOptions> = {}, log = new RecordingLogger()) {
  return new MetricDiscovery(source, rules, () => catalog, { ...OPTIONS, ...options }, log);
}

const Q1 = 'a_metric{pod!=""}';
const Q2 = 'b_metric{pod!=""}';
const Q3 = 'c_metric{pod!=""}';

describe('MetricDiscovery', () => {
  test('each distinct seriesQuery is fetched once per relist with the lookback and a deadline timeoutMs ahead', async () => {
    const { query, rules } = sharedQueryRules;
    const source = new FakeMetricsSource().answerSeries(query, seriesSummary({ jobs_waiting: ['namespace'] }));
    const before = Date.now();
    await discovery(source, () => rules).relist();
    const after = Date.now();
    assert.deepEqual(
      source.seriesCalls.map((c) => [c.match, c.lookbackSeconds]),
      [[query, 600]],
    );
    const deadline = source.seriesCalls[0]?.options.deadline ?? 0;
    assert.ok(deadline >= before + 2_000 && deadline <= after + 2_000, `deadline ${deadline} not within [${before + 2000}, ${after + 2000}]`);
  });

  test('a relist requested while one runs on the same rules joins it instead of fetching again', async () => {
    const source = new FakeMetricsSource().answerSeries(Q1, seriesSummary({ a_metric: ['pod'] }));
    const rules = podRules([Q1]);
    const d = discovery(source, () => rules);
    const first = d.relist();
    const second = d.relist();
    assert.equal(first, second);
    await first;
    assert.equal(source.seriesCalls.length, 1);
    await d.relist();
    assert.equal(source.seriesCalls.length, 2);
  });

  test('a relist requested while one runs on older rules is followed by one on the current rules', async () => {
    const held = gate<SeriesSummary>();
    const source = new FakeMetricsSource().answerSeries(Q1, () => held.promise).answerSeries(Q2, seriesSummary({ b_metric: ['pod'] }));
    const before = podRules([Q1]);
    const after = podRules([Q2]);
    let rules = before;
    const d = discovery(source, () => rules);
    const first = d.relist();
    rules = after;
    const second = d.relist();
    const third = d.relist();
    assert.notEqual(second, first);
    assert.equal(third, second);
    held.resolve(seriesSummary({ a_metric: ['pod'] }));
    await first;
    assert.deepEqual([...(d.registry?.custom.keys() ?? [])], ['pods/a_metric']);
    await second;
    assert.deepEqual([...(d.registry?.custom.keys() ?? [])], ['pods/b_metric']);
    assert.deepEqual(
      source.seriesCalls.map((c) => c.match),
      [Q1, Q2],
    );
  });

  test('with no rule set loaded a relist does nothing', async () => {
    const source = new FakeMetricsSource();
    const d = discovery(source, () => undefined);
    await d.relist();
    assert.equal(d.registry, undefined);
    assert.equal(source.seriesCalls.length, 0);
    assert.equal(d.status.lastAttempt, undefined);
  });

  test('status counts published metrics and records a successful relist', async () => {
    const query = '{__name__=~"^queue_.*",namespace!="",pod!=""}';
    const rules = ruleSet(`rules:
- seriesQuery: '${query}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
externalRules:
- seriesQuery: '${query}'
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})'
`);
    const source = new FakeMetricsSource().answerSeries(query, seriesSummary({ queue_depth: ['namespace', 'pod'], queue_age: ['namespace', 'pod'] }));
    const d = discovery(source, () => rules);
    await d.relist();
    const s = d.status;
    assert.equal(s.customMetrics, 4);
    assert.equal(s.externalMetrics, 2);
    assert.deepEqual(s.errors, []);
    assert.equal(s.failedRelists, 0);
    assert.ok(s.lastSuccess instanceof Date);
    assert.equal(s.lastSuccess, s.lastAttempt);
    assert.equal(d.registry?.builtAt, s.lastAttempt);
    assert.equal(typeof s.lastDurationSeconds, 'number');
  });

  test('a failing seriesQuery keeps its last good summary while the others refresh', async () => {
    const source = new FakeMetricsSource().answerSeries(Q1, seriesSummary({ a_metric: ['pod'] })).answerSeries(Q2, seriesSummary({ b_metric: ['pod'] }));
    const log = new RecordingLogger();
    const rules = podRules([Q1, Q2]);
    const d = discovery(source, () => rules, {}, log);
    await d.relist();
    const firstSuccess = d.status.lastSuccess;

    source.answerSeries(Q1, new PrometheusError('unavailable', 'cannot reach Prometheus: ECONNREFUSED')).answerSeries(Q2, seriesSummary({ b_metric: ['pod'], b_metric_extra: ['pod'] }));
    await d.relist();

    assert.deepEqual([...(d.registry?.custom.keys() ?? [])].sort(), ['pods/a_metric', 'pods/b_metric', 'pods/b_metric_extra']);
    assert.deepEqual(d.status.errors, [`series query ${Q1}: cannot reach Prometheus: ECONNREFUSED`]);
    assert.equal(d.status.failedRelists, 1);
    assert.equal(d.status.lastSuccess, firstSuccess);
    assert.notEqual(d.status.lastAttempt, firstSuccess);
    assert.deepEqual(
      log.at('error').map((e) => [e.message, e.fields]),
      [['discovery failed for a series query; keeping its last good result', { error: `series query ${Q1}: cannot reach Prometheus: ECONNREFUSED` }]],
    );
  });

  test('a seriesQuery that has never succeeded publishes nothing, and the others still publish', async () => {
    const source = new FakeMetricsSource().answerSeries(Q1, new PrometheusError('rejected', 'bad_data: parse error')).answerSeries(Q2, seriesSummary({ b_metric: ['pod'] }));
    const rules = podRules([Q1, Q2]);
    const d = discovery(source, () => rules);
    await d.relist();
    assert.deepEqual([...(d.registry?.custom.keys() ?? [])], ['pods/b_metric']);
    assert.equal(d.status.lastSuccess, undefined);
    assert.equal(d.status.failedRelists, 1);
  });

  test('when every query fails and none has a last good answer, the previous registry is kept', async () => {
    const source = new FakeMetricsSource().answerSeries(Q1, seriesSummary({ a_metric: ['pod'] })).answerSeries(Q2, new Error('down'));
    let rules = podRules([Q1]);
    const d = discovery(source, () => rules);
    await d.relist();
    const previous = d.registry;
    rules = podRules([Q2]);
    await d.relist();
    assert.equal(d.registry, previous);
    assert.equal(d.status.customMetrics, 1);
    assert.deepEqual(d.status.errors, [`series query ${Q2}: down`]);
  });

  test('a rule change forgets the last good answers of queries no rule uses any more', async () => {
    const source = new FakeMetricsSource().answerSeries(Q1, seriesSummary({ a_metric: ['pod'] })).answerSeries(Q3, seriesSummary({ c_metric: ['pod'] }));
    const withQ1 = podRules([Q1, Q3]);
    const withoutQ1 = podRules([Q3]);
    let rules = withQ1;
    const d = discovery(source, () => rules);
    await d.relist();
    assert.deepEqual([...(d.registry?.custom.keys() ?? [])].sort(), ['pods/a_metric', 'pods/c_metric']);

    rules = withoutQ1;
    await d.relist();
    assert.deepEqual([...(d.registry?.custom.keys() ?? [])], ['pods/c_metric']);
    assert.deepEqual(
      source.seriesCalls.slice(2).map((c) => c.match),
      [Q3],
    );

    // Back to the old rules with Q1 failing: its answer from two relists ago must not come back.
    rules = withQ1;
    source.answerSeries(Q1, new Error('down'));
    await d.relist();
    assert.deepEqual([...(d.registry?.custom.keys() ?? [])], ['pods/c_metric']);
  });

  test('metrics published twice are logged as warnings on every relist', async () => {
    const rules = ruleSet(`rules:
- seriesQuery: '${Q1}'
  resources: {overrides: {pod: {resource: pod}}}
  name: {matches: "^a_(.*)$"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
- seriesQuery: '${Q2}'
  resources: {overrides: {pod: {resource: pod}}}
  name: {matches: "^b_(.*)$"}
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`);
    const source = new FakeMetricsSource().answerSeries(Q1, seriesSummary({ a_metric: ['pod'] })).answerSeries(Q2, seriesSummary({ b_metric: ['pod'] }));
    const log = new RecordingLogger();
    const d = discovery(source, () => rules, {}, log);
    await d.relist();
    await d.relist();
    const conflict = 'metric metric for pods: rules[0] (rules.yaml:2) series a_metric wins over rules[1] (rules.yaml:6) series b_metric';
    assert.deepEqual(
      log.at('warn').map((e) => [e.message, e.fields]),
      [
        ['metric published twice; the first rule wins', { conflict }],
        ['metric published twice; the first rule wins', { conflict }],
      ],
    );
  });

  describe('concurrent seriesQueries never exceed the limit', () => {
    const queries = Array.from({ length: 10 }, (_, i) => `m${i}{pod!=""}`);
    const rules = podRules(queries);
    const cases: { concurrency: number | undefined; want: number }[] = [
      // Zero would start no worker at all and report an empty success.
      { concurrency: 0, want: 1 },
      { concurrency: 1, want: 1 },
      { concurrency: 3, want: 3 },
      { concurrency: undefined, want: 4 },
      { concurrency: 25, want: 10 },
    ];
    for (const c of cases) {
      test(`concurrency ${c.concurrency ?? '(default)'} runs at most ${c.want} at once and fetches every query once`, async () => {
        const source = new FakeMetricsSource();
        for (const [i, q] of queries.entries()) {
          source.answerSeries(q, async () => {
            // Uneven delays so workers finish out of order.
            await new Promise((r) => setTimeout(r, 2 + ((i * 7) % 5)));
            return seriesSummary({ [`m${i}`]: ['pod'] });
          });
        }
        const d = discovery(source, () => rules, c.concurrency === undefined ? {} : { concurrency: c.concurrency });
        await d.relist();
        assert.equal(source.maxInFlight, c.want);
        assert.deepEqual(source.seriesCalls.map((s) => s.match).sort(), [...queries].sort());
        assert.equal(d.registry?.custom.size, 10);
      });
    }
  });
});
