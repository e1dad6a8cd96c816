// The JSON documents of the metrics APIs, compared whole against the shapes
// k8s.io/metrics and apimachinery define, so a Go client decodes them as-is.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  apiGroupDiscoveryList,
  apiGroupList,
  apiResourceList,
  customApiGroup,
  customMetricValueList,
  externalApiGroup,
  externalMetricValueList,
  formatTime,
  toLabelSelector,
} from '../../adapter/documents.js';
import { parseLabelSelector } from '../../k8s/label-selector.js';
import type { ExternalMetricValue, MetricListing, ObjectMetricValue } from '../../adapter/metrics-api-provider.js';
import { NO_METRICS, sampleListing } from '../support/metric-listing.js';

const T = new Date('2024-05-06T07:08:09.876Z');

const podValue: ObjectMetricValue = {
  describedObject: { kind: 'Pod', namespace: 'default', name: 'web-1', apiVersion: 'v1' },
  metric: 'http_requests_per_second',
  timestamp: T,
  windowSeconds: 120,
  value: '1500m',
};

const nodeValue: ObjectMetricValue = {
  describedObject: { kind: 'Node', name: 'node-1', apiVersion: 'v1' },
  metric: 'node_load',
  timestamp: T,
  value: '2k',
};

describe('custom MetricValueList v1beta1', () => {
  test('items carry metricName, window and a null selector when no metric selector was given', () => {
    assert.deepEqual(customMetricValueList('v1beta1', [podValue], []), {
      kind: 'MetricValueList',
      apiVersion: 'custom.metrics.k8s.io/v1beta1',
      metadata: {},
      items: [
        {
          describedObject: { kind: 'Pod', namespace: 'default', name: 'web-1', apiVersion: 'v1' },
          metricName: 'http_requests_per_second',
          timestamp: '2024-05-06T07:08:09Z',
          window: 120,
          value: '1500m',
          selector: null,
        },
      ],
    });
  });

  test('window is left out without a window, and a root-scoped object has no namespace', () => {
    assert.deepEqual(customMetricValueList('v1beta1', [nodeValue], []), {
      kind: 'MetricValueList',
      apiVersion: 'custom.metrics.k8s.io/v1beta1',
      metadata: {},
      items: [
        {
          describedObject: { kind: 'Node', name: 'node-1', apiVersion: 'v1' },
          metricName: 'node_load',
          timestamp: '2024-05-06T07:08:09Z',
          value: '2k',
          selector: null,
        },
      ],
    });
  });

  test('the metric selector is echoed as a metav1.LabelSelector on every item', () => {
    const doc = customMetricValueList('v1beta1', [podValue, nodeValue], parseLabelSelector('verb=GET,code in (200,201)')) as {
      items: { selector: unknown }[];
    };
    const selector = { matchLabels: { verb: 'GET' }, matchExpressions: [{ key: 'code', operator: 'In', values: ['200', '201'] }] };
    assert.deepEqual(
      doc.items.map((i) => i.selector),
      [selector, selector],
    );
  });

  test('no items is an empty list, not a missing one', () => {
    assert.deepEqual(customMetricValueList('v1beta1', [], []), {
      kind: 'MetricValueList',
      apiVersion: 'custom.metrics.k8s.io/v1beta1',
      metadata: {},
      items: [],
    });
  });
});

describe('custom MetricValueList v1beta2', () => {
  test('items carry metric.name and windowSeconds, and no selector key when no metric selector was given', () => {
    assert.deepEqual(customMetricValueList('v1beta2', [podValue, nodeValue], []), {
      kind: 'MetricValueList',
      apiVersion: 'custom.metrics.k8s.io/v1beta2',
      metadata: {},
      items: [
        {
          describedObject: { kind: 'Pod', namespace: 'default', name: 'web-1', apiVersion: 'v1' },
          metric: { name: 'http_requests_per_second' },
          timestamp: '2024-05-06T07:08:09Z',
          windowSeconds: 120,
          value: '1500m',
        },
        {
          describedObject: { kind: 'Node', name: 'node-1', apiVersion: 'v1' },
          metric: { name: 'node_load' },
          timestamp: '2024-05-06T07:08:09Z',
          value: '2k',
        },
      ],
    });
  });

  test('the metric selector sits inside metric', () => {
    assert.deepEqual(customMetricValueList('v1beta2', [nodeValue], parseLabelSelector('!canary')), {
      kind: 'MetricValueList',
      apiVersion: 'custom.metrics.k8s.io/v1beta2',
      metadata: {},
      items: [
        {
          describedObject: { kind: 'Node', name: 'node-1', apiVersion: 'v1' },
          metric: { name: 'node_load', selector: { matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' }] } },
          timestamp: '2024-05-06T07:08:09Z',
          value: '2k',
        },
      ],
    });
  });
});

describe('ExternalMetricValueList', () => {
  test('items carry metricName, metricLabels, window and value', () => {
    const items: ExternalMetricValue[] = [
      { metric: 'queue_messages_ready', labels: { queue: 'orders' }, timestamp: T, windowSeconds: 60, value: '42' },
      { metric: 'queue_messages_ready', labels: {}, timestamp: new Date(0), value: '100m' },
    ];
    assert.deepEqual(externalMetricValueList(items), {
      kind: 'ExternalMetricValueList',
      apiVersion: 'external.metrics.k8s.io/v1beta1',
      metadata: {},
      items: [
        { metricName: 'queue_messages_ready', metricLabels: { queue: 'orders' }, timestamp: '2024-05-06T07:08:09Z', window: 60, value: '42' },
        { metricName: 'queue_messages_ready', metricLabels: {}, timestamp: '1970-01-01T00:00:00Z', value: '100m' },
      ],
    });
  });
});

describe('toLabelSelector', () => {
  const cases: { selector: string; want: unknown }[] = [
    { selector: '', want: null },
    { selector: 'app=web', want: { matchLabels: { app: 'web' } } },
    { selector: 'app==web', want: { matchLabels: { app: 'web' } } },
    // metav1 has no NotEquals operator; NotIn with the one value means the same.
    { selector: 'app!=web', want: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] } },
    { selector: 'tier in (front,back)', want: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['back', 'front'] }] } },
    { selector: 'tier notin (db)', want: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] } },
    { selector: 'canary', want: { matchExpressions: [{ key: 'canary', operator: 'Exists' }] } },
    { selector: '!canary', want: { matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' }] } },
    {
      selector: 'z=1,a=2,tier in (x),!b',
      want: {
        matchLabels: { a: '2', z: '1' },
        matchExpressions: [
          { key: 'b', operator: 'DoesNotExist' },
          { key: 'tier', operator: 'In', values: ['x'] },
        ],
      },
    },
  ];
  for (const c of cases) {
    test(`${JSON.stringify(c.selector)} becomes ${JSON.stringify(c.want)}`, () => {
      assert.deepEqual(toLabelSelector(parseLabelSelector(c.selector)), c.want);
    });
  }

  test('the values of a requirement are copied, not shared with it', () => {
    const reqs = parseLabelSelector('tier in (a,b)');
    const doc = toLabelSelector(reqs);
    (doc?.matchExpressions?.[0]?.values as string[] | undefined)?.push('c');
    assert.deepEqual(reqs[0]?.values, ['a', 'b']);
  });
});

describe('formatTime', () => {
  const cases: [string, string][] = [
    ['2024-05-06T07:08:09.876Z', '2024-05-06T07:08:09Z'],
    // Milliseconds are dropped, never rounded up into the next second.
    ['2024-12-31T23:59:59.999Z', '2024-12-31T23:59:59Z'],
    ['2024-05-06T07:08:09.000Z', '2024-05-06T07:08:09Z'],
    ['1970-01-01T00:00:00.000Z', '1970-01-01T00:00:00Z'],
  ];
  for (const [input, want] of cases) {
    test(`${input} is written ${want}`, () => {
      assert.equal(formatTime(new Date(input)), want);
    });
  }

  test('a time given with an offset is written in UTC', () => {
    assert.equal(formatTime(new Date('2024-05-06T09:08:09.5+02:00')), '2024-05-06T07:08:09Z');
  });
});

describe('APIResourceList', () => {
  const listing = sampleListing();
  const entry = (name: string, namespaced: boolean, kind = 'MetricValueList') => ({ name, singularName: '', namespaced, kind, verbs: ['get'] });

  for (const version of ['v1beta1', 'v1beta2']) {
    test(`custom ${version} lists resource/metric names, sorted, with the scope of each parent resource`, () => {
      assert.deepEqual(apiResourceList('custom.metrics.k8s.io', version, listing), {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: `custom.metrics.k8s.io/${version}`,
        resources: [
          entry('deployments.apps/kube_deployment_replicas', true),
          entry('namespaces/http_requests', false),
          entry('namespaces/kube_deployment_replicas', false),
          entry('nodes/node_load', false),
          entry('pods/http_requests', true),
        ],
      });
    });
  }

  test('external lists bare metric names, all namespaced', () => {
    assert.deepEqual(apiResourceList('external.metrics.k8s.io', 'v1beta1', listing), {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: 'external.metrics.k8s.io/v1beta1',
      resources: [entry('queue_age', true, 'ExternalMetricValueList'), entry('queue_messages_ready', true, 'ExternalMetricValueList')],
    });
  });

  test('an external metric is listed as namespaced whatever its rule says, since it is only served under namespaces/{ns}/', () => {
    const r: MetricListing = { version: 1, custom: [], external: [{ metric: 'global_backlog' }] };
    assert.deepEqual(apiResourceList('external.metrics.k8s.io', 'v1beta1', r), {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: 'external.metrics.k8s.io/v1beta1',
      resources: [entry('global_backlog', true, 'ExternalMetricValueList')],
    });
  });

  const empty: [string, string, MetricListing][] = [
    ['custom.metrics.k8s.io', 'v1beta2', NO_METRICS],
    ['external.metrics.k8s.io', 'v1beta1', NO_METRICS],
    ['metrics.example.com', 'v1', listing],
  ];
  for (const [group, version, r] of empty) {
    test(`${group}/${version} ${r === listing ? 'of a group that is not served' : 'before discovery completes'} lists no resources`, () => {
      assert.deepEqual(apiResourceList(group, version, r), { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${group}/${version}`, resources: [] });
    });
  }
});

describe('API groups', () => {
  const custom = {
    name: 'custom.metrics.k8s.io',
    versions: [
      { groupVersion: 'custom.metrics.k8s.io/v1beta2', version: 'v1beta2' },
      { groupVersion: 'custom.metrics.k8s.io/v1beta1', version: 'v1beta1' },
    ],
    preferredVersion: { groupVersion: 'custom.metrics.k8s.io/v1beta2', version: 'v1beta2' },
  };
  const external = {
    name: 'external.metrics.k8s.io',
    versions: [{ groupVersion: 'external.metrics.k8s.io/v1beta1', version: 'v1beta1' }],
    preferredVersion: { groupVersion: 'external.metrics.k8s.io/v1beta1', version: 'v1beta1' },
  };

  test('the group list names both groups, v1beta2 preferred for custom metrics', () => {
    assert.deepEqual(apiGroupList(), { kind: 'APIGroupList', apiVersion: 'v1', groups: [custom, external] });
  });

  test('each group document is an APIGroup', () => {
    assert.deepEqual(customApiGroup(), { kind: 'APIGroup', apiVersion: 'v1', ...custom });
    assert.deepEqual(externalApiGroup(), { kind: 'APIGroup', apiVersion: 'v1', ...external });
  });
});

describe('APIGroupDiscoveryList', () => {
  const listing = sampleListing();
  const none = { group: '', version: '', kind: '' };
  const metric = (subresource: string) => ({ subresource, responseKind: { group: '', version: '', kind: 'MetricValueList' }, verbs: ['get'] });
  // Each metric is a subresource of its resource, which itself serves nothing.
  const customResources = [
    { resource: 'deployments.apps', responseKind: none, scope: 'Namespaced', singularResource: '', verbs: [], subresources: [metric('kube_deployment_replicas')] },
    { resource: 'namespaces', responseKind: none, scope: 'Cluster', singularResource: '', verbs: [], subresources: [metric('http_requests'), metric('kube_deployment_replicas')] },
    { resource: 'nodes', responseKind: none, scope: 'Cluster', singularResource: '', verbs: [], subresources: [metric('node_load')] },
    { resource: 'pods', responseKind: none, scope: 'Namespaced', singularResource: '', verbs: [], subresources: [metric('http_requests')] },
  ];
  const external = (resource: string) => ({
    resource,
    responseKind: { group: '', version: '', kind: 'ExternalMetricValueList' },
    scope: 'Namespaced',
    singularResource: '',
    verbs: ['get'],
  });

  for (const version of ['v2', 'v2beta1'] as const) {
    test(`${version} lists both groups, preferred version first, custom metrics as subresources and external metrics as resources`, () => {
      assert.deepEqual(apiGroupDiscoveryList(version, listing), {
        kind: 'APIGroupDiscoveryList',
        apiVersion: `apidiscovery.k8s.io/${version}`,
        metadata: {},
        items: [
          {
            metadata: { name: 'custom.metrics.k8s.io' },
            versions: [
              { version: 'v1beta2', resources: customResources, freshness: 'Current' },
              { version: 'v1beta1', resources: customResources, freshness: 'Current' },
            ],
          },
          {
            metadata: { name: 'external.metrics.k8s.io' },
            versions: [{ version: 'v1beta1', resources: [external('queue_age'), external('queue_messages_ready')], freshness: 'Current' }],
          },
        ],
      });
    });
  }

  test('before discovery completes every group-version is listed, with no resources', () => {
    const doc = apiGroupDiscoveryList('v2', NO_METRICS) as { items: { metadata: { name: string }; versions: { version: string; resources: unknown[] }[] }[] };
    assert.deepEqual(
      doc.items.flatMap((g) => g.versions.map((v) => [`${g.metadata.name}/${v.version}`, v.resources])),
      [
        ['custom.metrics.k8s.io/v1beta2', []],
        ['custom.metrics.k8s.io/v1beta1', []],
        ['external.metrics.k8s.io/v1beta1', []],
      ],
    );
  });
});
