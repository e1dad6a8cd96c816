// hpa-bridge's own metrics: label values that stay small, stable and free of
// file-system paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { classifyPath, createMetrics } from '../../cli/metrics.js';
import { RuleStore } from '../../rules/watch.js';
import { PrometheusError } from '../../adapter/prometheus.js';
import type { MetricDiscovery } from '../../adapter/discovery.js';
import type { CachingMetricsSource } from '../../adapter/query-cache.js';
import { readBuildInfo, REVISION_ENV } from '../../cli/build-info.js';

const EXAMPLES = fileURLToPath(new URL('../../../rules/examples', import.meta.url));

test('query metrics label a rule with file:line relative to its --rules path', async () => {
  const rules = new RuleStore([EXAMPLES]);
  await rules.reload();
  const rule = rules.rules?.rules.find((r) => r.seriesQuery.startsWith('http_requests_total'));
  assert.ok(rule, 'rules/examples has the http_requests_total rule');
  const discovery = { status: { lastSuccess: undefined, customMetrics: 0, externalMetrics: 0, failedRelists: 0, lastDurationSeconds: undefined } } as unknown as MetricDiscovery;
  const cache = { stats: { hits: 0, misses: 0, coalesced: 0 } } as unknown as CachingMetricsSource;
  const metrics = createMetrics({ rules, discovery, cache });
  metrics.observeQuery(rule, 0.01, new PrometheusError('timeout', 'slow'));
  const text = await metrics.registry.metrics();
  assert.match(text, /^hpa_bridge_prometheus_query_duration_seconds_count\{rule="workload\.yaml:5"\} 1$/m);
  assert.match(text, /^hpa_bridge_prometheus_query_errors_total\{rule="workload\.yaml:5",kind="timeout"\} 1$/m);
  assert.ok(!text.includes(EXAMPLES), 'a label carries an absolute path');
});

test('resource queries are labelled with the file:line of the query within resourceRules', async () => {
  const file = fileURLToPath(new URL('../../../test/fixtures/rules/prometheus-adapter-resource-rules.yaml', import.meta.url));
  const rules = new RuleStore([file]);
  await rules.reload();
  const resourceRules = rules.rules?.resourceRules;
  assert.ok(resourceRules, 'the fixture loads');
  const discovery = { status: { lastSuccess: undefined, customMetrics: 0, externalMetrics: 0, failedRelists: 0, lastDurationSeconds: undefined } } as unknown as MetricDiscovery;
  const cache = { stats: { hits: 0, misses: 0, coalesced: 0 } } as unknown as CachingMetricsSource;
  const metrics = createMetrics({ rules, discovery, cache });
  metrics.observeQuery({ origin: resourceRules.memory.origins.nodeQuery }, 0.01);
  const text = await metrics.registry.metrics();
  assert.match(text, /^hpa_bridge_prometheus_query_duration_seconds_count\{rule="prometheus-adapter-resource-rules\.yaml:31"\} 1$/m);
});

test('requests are counted by API and version, metrics.k8s.io included', () => {
  const table: [string, { api: string; version: string }][] = [
    ['/apis/metrics.k8s.io/v1beta1/namespaces/default/pods', { api: 'metrics.k8s.io', version: 'v1beta1' }],
    ['/apis/metrics.k8s.io/v1/nodes', { api: 'metrics.k8s.io', version: 'v1' }],
    ['/apis/metrics.k8s.io', { api: 'metrics.k8s.io', version: '' }],
    ['/apis/metrics.k8s.io/v1beta2/nodes', { api: 'metrics.k8s.io', version: '' }],
    ['/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/%2A/m', { api: 'custom.metrics.k8s.io', version: 'v1beta2' }],
    ['/apis', { api: 'discovery', version: '' }],
  ];
  for (const [path, want] of table) assert.deepEqual(classifyPath(path), want, path);
});

test('build info takes the revision from the environment, trimmed, and is empty without it', () => {
  assert.equal(readBuildInfo({ [REVISION_ENV]: ' 0123abc\n' }).revision, '0123abc');
  assert.equal(readBuildInfo({}).revision, '');
  assert.equal(readBuildInfo({}).nodejs_version, process.version);
  assert.match(readBuildInfo({}).version, /^\d+\.\d+\.\d+/);
});

test('hpa_bridge_build_info is 1, labelled with the build it is given', async () => {
  const rules = new RuleStore([EXAMPLES]);
  const discovery = { status: { lastSuccess: undefined, customMetrics: 0, externalMetrics: 0, failedRelists: 0, lastDurationSeconds: undefined } } as unknown as MetricDiscovery;
  const cache = { stats: { hits: 0, misses: 0, coalesced: 0 } } as unknown as CachingMetricsSource;
  const build = { version: '9.8.7', revision: 'abc', nodejs_version: 'v22.0.0' };
  const text = await createMetrics({ rules, discovery, cache, build }).registry.metrics();
  assert.match(text, /^hpa_bridge_build_info\{version="9\.8\.7",revision="abc",nodejs_version="v22\.0\.0"\} 1$/m);
});
