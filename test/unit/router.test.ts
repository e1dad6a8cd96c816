// The metrics API over a fake provider: answer caching, sharing answers in
// flight, and Status mapping.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetricsApi, type MetricsApi } from '../../adapter/router.js';
import { NotFoundError } from '../../adapter/errors.js';
import { silentLogger } from '../../adapter/log.js';
import { StaticResourceCatalog } from '../../rules/resources.js';
import type { ObjectMetricValue } from '../../adapter/provider.js';

function apiWith(ttl: number, answer: () => ObjectMetricValue[] | Promise<ObjectMetricValue[]>): { api: MetricsApi; calls: () => number } {
  let calls = 0;
  const catalog = new StaticResourceCatalog();
  const api = createMetricsApi({
    provider: {
      objectMetrics: async () => {
        calls++;
        return answer();
      },
      externalMetrics: async () => [],
    },
    registry: () => undefined,
    catalog: () => catalog,
    requestTimeoutMs: 1000,
    log: silentLogger,
    responseCacheTtlSeconds: ttl,
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
    assert.deepEqual(answers.map((a) => a.code), [200, 200, 200, 200, 200]);
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
});
