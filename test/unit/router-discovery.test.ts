// The discovery documents of the metrics API as HTTP answers: which
// representation an Accept header gets, its exact Content-Type, and the
// ETag that lets the aggregator's minutely re-check end in a 304.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../adapter/log.js';
import type { MetricListing } from '../../adapter/metrics-api-provider.js';
import { createMetricsApi, type MetricsApi } from '../../adapter/router.js';
import { StaticResourceCatalog } from '../../rules/resources.js';
import { listingProvider, NO_METRICS, sampleListing } from '../support/metric-listing.js';

const V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
const V2BETA1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';
const KUBECTL_1_30 = `${V2},${V2BETA1},application/json`;
const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

function apiOver(listing: () => MetricListing): MetricsApi {
  const catalog = new StaticResourceCatalog();
  return createMetricsApi({
    provider: listingProvider(listing),
    catalog: () => catalog,
    requestTimeoutMs: 1000,
    log: silentLogger,
  });
}

const listing = sampleListing();
const api = apiOver(() => listing);

describe('GET /apis', () => {
  test('kubectl 1.30+ gets aggregated discovery v2 with its Content-Type', async () => {
    const answer = await api.answer('GET', '/apis', { accept: KUBECTL_1_30 });
    assert.equal(answer.code, 200);
    assert.equal(answer.contentType, V2);
    const doc = JSON.parse(answer.body) as { kind: string; apiVersion: string; items: { metadata: { name: string } }[] };
    assert.deepEqual([doc.kind, doc.apiVersion, doc.items.map((i) => i.metadata.name)], ['APIGroupDiscoveryList', 'apidiscovery.k8s.io/v2', ['custom.metrics.k8s.io', 'external.metrics.k8s.io']]);
  });

  test('a client asking for v2beta1 only gets v2beta1, in body and Content-Type', async () => {
    const answer = await api.answer('GET', '/apis', { accept: V2BETA1 });
    assert.equal(answer.code, 200);
    assert.equal(answer.contentType, V2BETA1);
    assert.equal((JSON.parse(answer.body) as { apiVersion: string }).apiVersion, 'apidiscovery.k8s.io/v2beta1');
  });

  test('aggregated discovery carries a quoted SHA-512 ETag and varies by Accept', async () => {
    const answer = await api.answer('GET', '/apis', { accept: V2 });
    assert.match(answer.headers?.ETag ?? '', /^"[0-9A-F]{128}"$/);
    assert.equal(answer.headers?.Vary, 'Accept');
  });

  test('If-None-Match with the current ETag is answered 304 with no body', async () => {
    const first = await api.answer('GET', '/apis', { accept: V2 });
    const again = await api.answer('GET', '/apis', { accept: V2, ifNoneMatch: first.headers?.ETag ?? '' });
    assert.deepEqual([again.code, again.body, again.headers?.ETag], [304, '', first.headers?.ETag]);
  });

  test('after discovery finds a change, the old ETag gets the new document', async () => {
    let current = NO_METRICS;
    const changing = apiOver(() => current);
    const before = await changing.answer('GET', '/apis', { accept: V2 });
    current = listing;
    const after = await changing.answer('GET', '/apis', { accept: V2, ifNoneMatch: before.headers?.ETag ?? '' });
    assert.equal(after.code, 200);
    assert.notEqual(after.headers?.ETag, before.headers?.ETag);
    assert.match(after.body, /pods/);
  });

  test('a client that asks for nothing in particular gets the APIGroupList as application/json', async () => {
    const answer = await api.answer('GET', '/apis', {});
    assert.equal(answer.code, 200);
    assert.equal(answer.contentType ?? 'application/json', 'application/json');
    assert.equal((JSON.parse(answer.body) as { kind: string }).kind, 'APIGroupList');
  });

  test('protobuf only is a 406 NotAcceptable Status', async () => {
    const answer = await api.answer('GET', '/apis', { accept: PROTOBUF });
    assert.equal(answer.code, 406);
    assert.equal(answer.contentType ?? 'application/json', 'application/json');
    const status = JSON.parse(answer.body) as { kind: string; reason: string; code: number };
    assert.deepEqual([status.kind, status.reason, status.code], ['Status', 'NotAcceptable', 406]);
  });
});

describe('group and group-version documents', () => {
  const cases: [string, string, number][] = [
    ['/apis/custom.metrics.k8s.io/v1beta2', 'application/json', 200],
    ['/apis/custom.metrics.k8s.io/v1beta2', '*/*', 200],
    ['/apis/custom.metrics.k8s.io/v1beta2', KUBECTL_1_30, 200],
    ['/apis/custom.metrics.k8s.io/v1beta2', V2, 406],
    ['/apis/custom.metrics.k8s.io/v1beta2', TABLE, 406],
    ['/apis/external.metrics.k8s.io/v1beta1', PROTOBUF, 406],
    ['/apis/custom.metrics.k8s.io', 'application/*', 200],
    ['/apis/custom.metrics.k8s.io', PROTOBUF, 406],
    ['/apis/external.metrics.k8s.io/', TABLE, 406],
  ];
  for (const [path, accept, code] of cases) {
    test(`${path} with Accept ${accept} is answered ${code}`, async () => {
      const answer = await api.answer('GET', path, { accept });
      assert.equal(answer.code, code);
      assert.equal(answer.contentType ?? 'application/json', 'application/json');
    });
  }

  test('the group-version document is the APIResourceList whatever JSON Accept asked for it', async () => {
    const plain = await api.answer('GET', '/apis/custom.metrics.k8s.io/v1beta2', { accept: 'application/json' });
    const wildcard = await api.answer('GET', '/apis/custom.metrics.k8s.io/v1beta2', { accept: `${PROTOBUF}, */*` });
    assert.equal(wildcard.body, plain.body);
    assert.equal((JSON.parse(plain.body) as { kind: string }).kind, 'APIResourceList');
  });
});
