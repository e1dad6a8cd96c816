// hpa-bridge's own metrics: label values that stay small, stable and free of
// file-system paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { createMetrics } from '../../cli/metrics.js';
import { RuleStore } from '../../rules/watch.js';
import { PrometheusError } from '../../adapter/prometheus.js';
import type { MetricDiscovery } from '../../adapter/discovery.js';
import type { CachingMetricsSource } from '../../adapter/query-cache.js';

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
