// The metrics API as kube-aggregator's discovery manager sees it. Versions
// v1.27.0-v1.27.5 (and v1.28.0-v1.28.1) ask /apis for v2beta1 only and take
// any 200 as an aggregated list, so a plain APIGroupList there publishes our
// groups with no resources; later versions ask for v2 first.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetricsApi, type MetricsApi } from '../../adapter/router.js';
import { silentLogger } from '../../adapter/log.js';
import { StaticResourceCatalog } from '../../rules/resources.js';
import { syncDiscovery, type AggregatorVersion, type ResourceDoc, type Transport } from '../support/aggregator-discovery.js';
import { listingProvider } from '../support/metric-listing.js';

const GROUP_VERSIONS = ['custom.metrics.k8s.io/v1beta2', 'custom.metrics.k8s.io/v1beta1', 'external.metrics.k8s.io/v1beta1'];

function metricsApi(): MetricsApi {
  const catalog = new StaticResourceCatalog();
  return createMetricsApi({
    provider: listingProvider(),
    catalog: () => catalog,
    requestTimeoutMs: 1000,
    log: silentLogger,
  });
}

function transportTo(api: MetricsApi, seen: string[] = []): Transport {
  return async (path, headers) => {
    const answer = await api.answer('GET', path, { accept: headers.accept });
    seen.push(`${path} ${answer.code}`);
    return { code: answer.code, contentType: answer.contentType ?? 'application/json', body: answer.body };
  };
}

/** A resource as `kubectl api-resources -o wide` would list it after the aggregator: name, scope, kind, verbs. */
function flatten(resources: readonly ResourceDoc[]): string[] {
  const out: string[] = [];
  for (const r of resources) {
    if (r.responseKind?.kind) out.push(`${r.resource} ${r.scope} ${r.responseKind.kind} ${(r.verbs ?? []).join(',')}`);
    for (const s of r.subresources ?? []) out.push(`${r.resource}/${s.subresource} ${r.scope} ${s.responseKind?.kind ?? ''} ${(s.verbs ?? []).join(',')}`);
  }
  return out.sort();
}

const CUSTOM = [
  'deployments.apps/kube_deployment_replicas Namespaced MetricValueList get',
  'namespaces/http_requests Cluster MetricValueList get',
  'namespaces/kube_deployment_replicas Cluster MetricValueList get',
  'nodes/node_load Cluster MetricValueList get',
  'pods/http_requests Namespaced MetricValueList get',
];
const EXTERNAL = ['queue_age Namespaced ExternalMetricValueList get', 'queue_messages_ready Namespaced ExternalMetricValueList get'];

describe('kube-aggregator discovery sync', () => {
  for (const version of ['v1.27.0', 'v1.30.0'] as AggregatorVersion[]) {
    test(`the ${version} aggregator publishes every metric of every group-version`, async () => {
      const published = await syncDiscovery(version, transportTo(metricsApi()), GROUP_VERSIONS);
      assert.deepEqual(Object.fromEntries(GROUP_VERSIONS.map((gv) => [gv, flatten(published.get(gv)?.resources ?? [])])), {
        'custom.metrics.k8s.io/v1beta2': CUSTOM,
        'custom.metrics.k8s.io/v1beta1': CUSTOM,
        'external.metrics.k8s.io/v1beta1': EXTERNAL,
      });
    });
  }

  test('the v1.27.0 aggregator asking for v2beta1 only gets an aggregated list or a 406, never a 200 it cannot decode', async () => {
    const seen: string[] = [];
    const published = await syncDiscovery('v1.27.0', transportTo(metricsApi(), seen), GROUP_VERSIONS);
    const first = seen[0];
    assert.ok(first === '/apis 200' || first === '/apis 406', `first request answered ${first}`);
    for (const gv of GROUP_VERSIONS) assert.notEqual(published.get(gv)?.via, 'failed', `${gv}: ${published.get(gv)?.error}`);
  });

  test('the v1.30.0 aggregator is served aggregated discovery without a fallback request per group-version', async () => {
    const seen: string[] = [];
    const published = await syncDiscovery('v1.30.0', transportTo(metricsApi(), seen), GROUP_VERSIONS);
    assert.deepEqual(seen, ['/apis 200']);
    assert.deepEqual(
      GROUP_VERSIONS.map((gv) => published.get(gv)?.via),
      ['aggregated', 'aggregated', 'aggregated'],
    );
  });
});
