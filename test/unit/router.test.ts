// The HTTP surface over a fake provider: answer caching and Status mapping.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import { metricsApiRouter, statusHandlers } from '../../adapter/router.js';
import { NotFoundError } from '../../adapter/errors.js';
import { silentLogger } from '../../adapter/log.js';
import { StaticResourceCatalog } from '../../rules/resources.js';
import type { ObjectMetricValue } from '../../adapter/provider.js';

function appWith(ttl: number, answer: () => ObjectMetricValue[] | Promise<ObjectMetricValue[]>): { app: express.Express; calls: () => number } {
  let calls = 0;
  const catalog = new StaticResourceCatalog();
  const app = express();
  app.use(
    metricsApiRouter({
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
    }),
  );
  app.use(...statusHandlers(silentLogger));
  return { app, calls: () => calls };
}

const item: ObjectMetricValue = {
  describedObject: { kind: 'Pod', namespace: 'default', name: 'web-1', apiVersion: 'v1' },
  metric: 'm',
  timestamp: new Date('2026-01-01T00:00:00Z'),
  value: '1',
};
const PATH = '/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/%2A/m?labelSelector=app%3Dweb';

describe('metrics API router', () => {
  test('a repeated request within the TTL is answered from the cache', async () => {
    const { app, calls } = appWith(5, () => [item]);
    const first = await request(app).get(PATH).expect(200);
    const second = await request(app).get(PATH).expect(200);
    assert.deepEqual(second.body, first.body);
    assert.equal(calls(), 1);
  });

  test('a different selector is a different answer', async () => {
    const { app, calls } = appWith(5, () => [item]);
    await request(app).get(PATH).expect(200);
    await request(app).get(PATH.replace('web', 'api')).expect(200);
    assert.equal(calls(), 2);
  });

  test('with a TTL of 0 every request reaches the provider', async () => {
    const { app, calls } = appWith(0, () => [item]);
    await request(app).get(PATH).expect(200);
    await request(app).get(PATH).expect(200);
    assert.equal(calls(), 2);
  });

  test('errors are not cached', async () => {
    let fail = true;
    const { app, calls } = appWith(5, () => {
      if (fail) throw new NotFoundError('no values yet');
      return [item];
    });
    const res = await request(app).get(PATH).expect(404);
    assert.equal(res.body.kind, 'Status');
    fail = false;
    await request(app).get(PATH).expect(200);
    assert.equal(calls(), 2);
  });

  test('identical requests in flight share one answer even with a TTL of 0', async () => {
    const { answers, calls, callsAfterOneMore } = await sendWhileHeld(5, async () => [item]);
    assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200, 200]);
    assert.equal(calls, 1);
    assert.equal(callsAfterOneMore, 2);
  });

  test('an error shared by requests in flight reaches each of them as a Status', async () => {
    const { answers, calls } = await sendWhileHeld(3, async () => {
      throw new NotFoundError('no values yet');
    });
    assert.deepEqual(answers.map((r) => [r.status, r.body.kind, r.body.message]), Array(3).fill([404, 'Status', 'no values yet']));
    assert.equal(calls, 1);
  });
});

/**
 * Sends `count` identical requests while the provider is held, so all are
 * in flight together, then lets it answer with `answer`; then sends one
 * more request and counts the provider's calls again.
 */
async function sendWhileHeld(
  count: number,
  answer: () => Promise<ObjectMetricValue[]>,
): Promise<{ answers: request.Response[]; calls: number; callsAfterOneMore: number }> {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const { app, calls } = appWith(0, async () => {
    await gate;
    return answer();
  });
  const server = app.listen(0);
  try {
    const agent = request(server);
    const pending = Array.from({ length: count }, () => agent.get(PATH).then((r) => r));
    // Let all of them arrive before the first answer is ready.
    while (calls() === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    release();
    const answers = await Promise.all(pending);
    const callsNow = calls();
    await agent.get(PATH);
    return { answers, calls: callsNow, callsAfterOneMore: calls() };
  } finally {
    server.close();
  }
}
