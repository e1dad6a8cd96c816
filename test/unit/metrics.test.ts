// hpa-bridge's own /metrics: what the cache holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CacheStore } from '../../adapter/cache.js';
import { MetricDiscovery } from '../../adapter/discovery.js';
import { silentLogger } from '../../adapter/log.js';
import { CachingMetricsSource } from '../../adapter/query-cache.js';
import { createMetrics } from '../../cli/metrics.js';
import { StaticResourceCatalog } from '../../rules/resources.js';
import { RuleStore } from '../../rules/watch.js';
import { FakeMetricsSource, sample } from '../support/fakes.js';

test('/metrics reports the bytes and the entries the cache holds', async () => {
  const store = new CacheStore({ maxBytes: 1_000_000 });
  const source = new FakeMetricsSource().answerQuery('up', [sample({ pod: 'a' }, 1)]).answerQuery('down', [sample({ pod: 'b' }, 0)]);
  const cache = new CachingMetricsSource(source, 60, store);
  await cache.query('up', { deadline: Date.now() + 1_000 });
  await cache.query('down', { deadline: Date.now() + 1_000 });
  const catalog = new StaticResourceCatalog();
  const rules = new RuleStore([], catalog);
  const discovery = new MetricDiscovery(
    source,
    () => undefined,
    () => catalog,
    { intervalMs: 60_000, lookbackSeconds: 60, timeoutMs: 1_000 },
    silentLogger,
  );
  const text = await createMetrics({ rules, discovery, cache, cacheStore: store }).registry.metrics();
  assert.ok(store.bytes > 0);
  assert.match(text, new RegExp(`^hpa_bridge_cache_bytes ${store.bytes}$`, 'm'));
  assert.match(text, /^hpa_bridge_cache_entries 2$/m);
});
