// The benchmark's HPA population: the driver fills the Kubernetes API test
// double and the series from it, and the HPA driver child asks from it, so a
// smaller population must be the first part of a larger one and each HPA's
// calls must name its own namespace, selector and item count.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { metricCalls, populationHpa, populationHpas } from '../../bench/population-model.js';

const small = { hpas: 1_000, namespaces: 50, podsPerHpa: 5, externalEvery: 3 };
const large = { hpas: 10_000, namespaces: 500, podsPerHpa: 5, externalEvery: 3 };

describe('bench population model', () => {
  test('a 1,000-HPA population is the first thousand HPAs of the 10,000-HPA one', () => {
    assert.deepEqual(populationHpas(small), populationHpas(large).slice(0, 1_000));
  });

  test('HPAs are spread evenly over the namespaces', () => {
    const perNamespace = new Map<string, number>();
    for (const hpa of populationHpas(large)) perNamespace.set(hpa.namespace, (perNamespace.get(hpa.namespace) ?? 0) + 1);
    assert.equal(perNamespace.size, 500);
    assert.deepEqual(new Set(perNamespace.values()), new Set([20]));
  });

  for (const [name, i, want] of [
    [
      'an HPA with an external metric asks for its pods metric first, then its queue',
      0,
      [
        { path: '/apis/custom.metrics.k8s.io/v1beta2/namespaces/pop-0/pods/*/http_requests_per_second?labelSelector=app%3Dapp-0', items: 5, kind: 'pods' },
        { path: '/apis/external.metrics.k8s.io/v1beta1/namespaces/pop-0/queue_messages_ready?labelSelector=queue%3Dapp-0', items: 1, kind: 'external' },
      ],
    ],
    [
      'an HPA without one asks for its pods metric alone',
      41,
      [{ path: '/apis/custom.metrics.k8s.io/v1beta2/namespaces/pop-2/pods/*/http_requests_per_second?labelSelector=app%3Dapp-41', items: 5, kind: 'pods' }],
    ],
  ] as const) {
    test(name, () => {
      assert.deepEqual(metricCalls(populationHpa(large, i)), want);
    });
  }

  test('each HPA has its own pods, named after it', () => {
    assert.deepEqual(populationHpa(large, 7).pods, ['app-7-0', 'app-7-1', 'app-7-2', 'app-7-3', 'app-7-4']);
  });
});
