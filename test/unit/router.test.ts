// The metrics API over a fake provider: answer caching, sharing answers in
// flight, Status mapping, and how failures are logged.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetricsApi, type MetricsApi, type MetricsApiDeps } from '../../adapter/router.js';
import { CacheStore } from '../../adapter/cache.js';
import { buildRegistry } from '../../adapter/discovery.js';
import { NotFoundError } from '../../adapter/errors.js';
import { RepeatLimitedLog, silentLogger } from '../../adapter/log.js';
import { PrometheusError } from '../../adapter/prometheus.js';
import type { ObjectMetricValue } from '../../adapter/metrics-api-provider.js';
import { MetricsProvider } from '../../adapter/provider.js';
import { StaticResourceCatalog } from '../../rules/resources.js';
import { FakeMetricsSource, FakeObjectLister, RecordingLogger, seriesSummary } from '../support/fakes.js';
import { NO_METRICS } from '../support/metric-listing.js';
import { compileYaml } from '../support/rules.js';

function apiWith(ttl: number, answer: (url: string) => ObjectMetricValue[] | Promise<ObjectMetricValue[]>, deps: Partial<MetricsApiDeps> = {}): { api: MetricsApi; calls: () => number } {
  let calls = 0;
  const catalog = new StaticResourceCatalog();
  const api = createMetricsApi({
    provider: {
      objectMetrics: async (q) => {
        calls++;
        return answer(q.name);
      },
      externalMetrics: async () => [],
      listAllMetrics: () => NO_METRICS,
    },
    catalog: () => catalog,
    requestTimeoutMs: 1000,
    log: silentLogger,
    responseCacheTtlSeconds: ttl,
    ...deps,
  });
  return { api, calls: () => calls };
}

const item: ObjectMetricValue = {
  describedObject: { kind: 'Pod', namespace: 'default', name: 'web-1', apiVersion: 'v1' },
  metric: 'm',
  timestamp: new Date('2026-01-01T00:00:00Z'),
  value: '1',
};
const PATH = '/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/%2A/m?labelSelector=app%3Dweb';

/**
 * Asks `count` times while the provider is held, so all requests are in
 * flight together, then lets it answer; then asks once more and counts the
 * provider's calls again.
 */
async function askWhileHeld(count: number, answer: () => Promise<ObjectMetricValue[]>) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const { api, calls } = apiWith(0, async () => {
    await gate;
    return answer();
  });
  const pending = Array.from({ length: count }, () => api.answer('GET', PATH));
  release();
  const answers = await Promise.all(pending);
  const callsNow = calls();
  await api.answer('GET', PATH);
  return { answers, calls: callsNow, callsAfterOneMore: calls() };
}

describe('metrics API', () => {
  test('a repeated request within the TTL is answered from the cache', async () => {
    const { api, calls } = apiWith(5, () => [item]);
    const first = await api.answer('GET', PATH);
    const second = await api.answer('GET', PATH);
    assert.equal(first.code, 200);
    assert.deepEqual(second, first);
    assert.equal(calls(), 1);
  });

  test('a different selector is a different answer', async () => {
    const { api, calls } = apiWith(5, () => [item]);
    await api.answer('GET', PATH);
    await api.answer('GET', PATH.replace('web', 'api'));
    assert.equal(calls(), 2);
  });

  test('with a TTL of 0 every request reaches the provider', async () => {
    const { api, calls } = apiWith(0, () => [item]);
    await api.answer('GET', PATH);
    await api.answer('GET', PATH);
    assert.equal(calls(), 2);
  });

  test('errors are not cached', async () => {
    let fail = true;
    const { api, calls } = apiWith(5, () => {
      if (fail) throw new NotFoundError('no values yet');
      return [item];
    });
    const failed = await api.answer('GET', PATH);
    assert.equal(failed.code, 404);
    assert.equal(JSON.parse(failed.body).kind, 'Status');
    fail = false;
    assert.equal((await api.answer('GET', PATH)).code, 200);
    assert.equal(calls(), 2);
  });

  test('identical requests in flight share one answer even with a TTL of 0', async () => {
    const { answers, calls, callsAfterOneMore } = await askWhileHeld(5, async () => [item]);
    assert.deepEqual(
      answers.map((a) => a.code),
      [200, 200, 200, 200, 200],
    );
    assert.equal(new Set(answers.map((a) => a.body)).size, 1);
    assert.equal(calls, 1);
    assert.equal(callsAfterOneMore, 2);
  });

  test('an error shared by requests in flight reaches each of them as a Status', async () => {
    const { answers, calls } = await askWhileHeld(3, async () => {
      throw new NotFoundError('no values yet');
    });
    const statuses = answers.map((a) => ({ code: a.code, ...(JSON.parse(a.body) as { kind: string; message: string }) }));
    assert.deepEqual(
      statuses.map((s) => [s.code, s.kind, s.message]),
      Array(3).fill([404, 'Status', 'no values yet']),
    );
    assert.equal(calls, 1);
  });

  test('a method other than GET or HEAD is a 405 Status', async () => {
    const { api, calls } = apiWith(5, () => [item]);
    const answer = await api.answer('POST', PATH);
    assert.equal(answer.code, 405);
    assert.equal(JSON.parse(answer.body).reason, 'MethodNotAllowed');
    assert.equal(calls(), 0);
  });

  test('a malformed percent-escape in the path is a 400 Status, not a crash', async () => {
    const { api } = apiWith(5, () => [item]);
    const answer = await api.answer('GET', '/apis/custom.metrics.k8s.io/v1beta2/namespaces/%E0%A4%A/pods/x/m');
    assert.equal(answer.code, 400);
    assert.match(JSON.parse(answer.body).message, /malformed percent-encoding/);
  });

  test('answers past the cache byte bound are evicted, least recently used first, and the bytes held stay under it', async () => {
    const store = new CacheStore({ maxBytes: 20_000 });
    const pods = Array.from({ length: 10 }, (_, i) => ({ ...item, describedObject: { ...item.describedObject, name: `web-${i}` } }));
    const { api, calls } = apiWith(60, () => pods, { cacheStore: store });
    const urls = Array.from({ length: 40 }, (_, i) => `/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/%2A/m?labelSelector=app%3Dweb-${i}`);
    for (const url of urls) assert.equal((await api.answer('GET', url)).code, 200);
    assert.ok(store.bytes <= 20_000, `${store.bytes} bytes held`);
    await api.answer('GET', urls[39] as string);
    assert.equal(calls(), 40, 'the newest answer is served from the cache');
    await api.answer('GET', urls[0] as string);
    assert.equal(calls(), 41, 'the oldest answer was evicted');
  });

  test('an answer larger than the cache byte bound is served but not kept', async () => {
    const store = new CacheStore({ maxBytes: 2_000 });
    const pods = Array.from({ length: 50 }, (_, i) => ({ ...item, describedObject: { ...item.describedObject, name: `web-${i}` } }));
    const { api, calls } = apiWith(60, () => pods, { cacheStore: store });
    const first = await api.answer('GET', PATH);
    assert.equal(first.code, 200);
    assert.equal((JSON.parse(first.body) as { items: unknown[] }).items.length, 50);
    assert.ok(first.body.length > 2_000);
    await api.answer('GET', PATH);
    assert.deepEqual([calls(), store.entries], [2, 0]);
  });
});

describe('failed requests in the log', () => {
  const RULES = `rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {matches: "^(.*)_total$", as: "\${1}_per_second"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)'
- seriesQuery: 'queue_depth{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`;
  const catalog = new StaticResourceCatalog();

  /** The API over a real provider whose Prometheus fails every query; the log and the clock are the test's. */
  function failingApi(error: (query: string) => PrometheusError) {
    const ruleSet = compileYaml(RULES).ruleSet;
    if (!ruleSet) throw new Error('rules did not load');
    const registry = buildRegistry(
      ruleSet,
      new Map([
        ['http_requests_total{namespace!="",pod!=""}', seriesSummary({ http_requests_total: ['namespace', 'pod'] })],
        ['queue_depth{namespace!="",pod!=""}', seriesSummary({ queue_depth: ['namespace', 'pod'] })],
      ]),
      catalog,
    );
    const metrics = new FakeMetricsSource();
    metrics.onQuery = (q) => {
      throw error(q);
    };
    const log = new RecordingLogger();
    let now = 0;
    const timers: (() => void)[] = [];
    const objects = new FakeObjectLister();
    const provider = new MetricsProvider({ registry: () => registry, metrics, objects, catalog: () => catalog, log });
    const failureLog = new RepeatLimitedLog(log, { windowMs: 10_000, now: () => now, schedule: (run) => timers.push(run) });
    const api = createMetricsApi({ provider, catalog: () => catalog, requestTimeoutMs: 1000, log, failureLog, responseCacheTtlSeconds: 0 });
    const endWindow = (): void => {
      now += 10_000;
      for (const run of timers.splice(0)) run();
    };
    return { api, log, endWindow };
  }

  test('500 identical failures write one line at once, and one line with the count of the rest when the window ends', async () => {
    const { api, log, endWindow } = failingApi(() => new PrometheusError('unavailable', 'cannot reach Prometheus: ECONNREFUSED'));
    for (let i = 0; i < 500; i++) {
      const answer = await api.answer('GET', `/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/web-${i % 7}/http_requests_per_second`);
      assert.equal(answer.code, 503);
    }
    assert.equal(
      log.entries.length,
      1,
      log.entries
        .slice(0, 3)
        .map((e) => e.message)
        .join(' | '),
    );
    endWindow();
    assert.deepEqual(
      log.entries.map((e) => [e.level, e.message, e.fields?.['code'], e.fields?.['repeated']]),
      [
        ['warn', 'request failed', 503, undefined],
        ['warn', 'request failed', 503, 499],
      ],
    );
    assert.match(String(log.entries[0]?.fields?.['message']), /rule rules\[0\] \(rules\.yaml:2\) failed: cannot reach Prometheus: ECONNREFUSED; query: /);
  });

  test('distinct errors are each logged', async () => {
    const { api, log } = failingApi((q) =>
      q.startsWith('max(') ? new PrometheusError('rejected', 'bad_data: parse error') : new PrometheusError('timeout', 'no answer from Prometheus before the request deadline'),
    );
    for (let i = 0; i < 3; i++) {
      await api.answer('GET', '/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/web-1/http_requests_per_second');
      await api.answer('GET', '/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/web-1/queue_depth');
    }
    assert.deepEqual(
      log.entries.map((e) => String(e.fields?.['message']).replace(/; query: .*/, '')),
      [
        'querying Prometheus for rule rules[0] (rules.yaml:2) failed: no answer from Prometheus before the request deadline',
        'querying Prometheus for rule rules[1] (rules.yaml:6) failed: bad_data: parse error',
      ],
    );
  });
});
