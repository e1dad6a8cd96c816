// Every URL shape of the metrics APIs, and malformed ones.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMetricsPath, type MetricsRequest } from '../../adapter/paths.js';
import { BadRequestError, NotFoundError } from '../../adapter/errors.js';
import { StaticResourceCatalog } from '../../rules/resources.js';

const catalog = new StaticResourceCatalog();
const parse = (path: string): MetricsRequest => parseMetricsPath(path.split('/'), catalog);

describe('metrics API paths', () => {
  const cases: [string, MetricsRequest][] = [
    ['custom.metrics.k8s.io/v1beta2', { kind: 'discovery', group: 'custom.metrics.k8s.io', version: 'v1beta2' }],
    ['external.metrics.k8s.io/v1beta1', { kind: 'discovery', group: 'external.metrics.k8s.io', version: 'v1beta1' }],
    [
      'custom.metrics.k8s.io/v1beta2/namespaces/default/pods/web-1/http_requests',
      { kind: 'object', version: 'v1beta2', resource: { group: '', resource: 'pods' }, resourcePath: 'pods', namespace: 'default', name: 'web-1', metric: 'http_requests' },
    ],
    [
      'custom.metrics.k8s.io/v1beta1/namespaces/default/pods/%2A/http_requests',
      { kind: 'object', version: 'v1beta1', resource: { group: '', resource: 'pods' }, resourcePath: 'pods', namespace: 'default', name: '*', metric: 'http_requests' },
    ],
    [
      'custom.metrics.k8s.io/v1beta2/namespaces/prod/deployments.apps/api/requests',
      { kind: 'object', version: 'v1beta2', resource: { group: 'apps', resource: 'deployments' }, resourcePath: 'deployments.apps', namespace: 'prod', name: 'api', metric: 'requests' },
    ],
    [
      'custom.metrics.k8s.io/v1beta2/nodes/node-1/node_load',
      { kind: 'object', version: 'v1beta2', resource: { group: '', resource: 'nodes' }, resourcePath: 'nodes', name: 'node-1', metric: 'node_load' },
    ],
    [
      'custom.metrics.k8s.io/v1beta2/namespaces/default/metrics/vllm:num_requests_waiting',
      { kind: 'object', version: 'v1beta2', resource: { group: '', resource: 'namespaces' }, resourcePath: 'namespaces', name: 'default', metric: 'vllm:num_requests_waiting' },
    ],
    [
      'custom.metrics.k8s.io/v1beta2/namespaces/default/queue_length',
      { kind: 'object', version: 'v1beta2', resource: { group: '', resource: 'namespaces' }, resourcePath: 'namespaces', name: 'default', metric: 'queue_length' },
    ],
    ['external.metrics.k8s.io/v1beta1/namespaces/default/queue_messages_ready', { kind: 'external', version: 'v1beta1', namespace: 'default', metric: 'queue_messages_ready' }],
    ['metrics.k8s.io/v1beta1', { kind: 'discovery', group: 'metrics.k8s.io', version: 'v1beta1' }],
    ['metrics.k8s.io/v1', { kind: 'discovery', group: 'metrics.k8s.io', version: 'v1' }],
    ['metrics.k8s.io/v1beta1/namespaces/default/pods', { kind: 'pods', version: 'v1beta1', namespace: 'default' }],
    ['metrics.k8s.io/v1beta1/namespaces/default/pods/web-1', { kind: 'pods', version: 'v1beta1', namespace: 'default', name: 'web-1' }],
    ['metrics.k8s.io/v1/pods', { kind: 'pods', version: 'v1' }],
    ['metrics.k8s.io/v1beta1/nodes', { kind: 'nodes', version: 'v1beta1' }],
    ['metrics.k8s.io/v1/nodes/node-1.example.com', { kind: 'nodes', version: 'v1', name: 'node-1.example.com' }],
  ];
  for (const [path, want] of cases) {
    test(`${path} parses`, () => assert.deepEqual(parse(path), want));
  }

  const errors: [string, typeof BadRequestError | typeof NotFoundError, RegExp][] = [
    ['custom.metrics.k8s.io/v1/namespaces/default/pods/x/m', NotFoundError, /custom\.metrics\.k8s\.io\/v1/],
    ['custom.metrics.k8s.io/v1beta2/namespaces/Default/pods/x/m', BadRequestError, /invalid namespace "Default"/],
    ['custom.metrics.k8s.io/v1beta2/namespaces/default/pods/Web_1/m', BadRequestError, /invalid object name "Web_1"/],
    ['custom.metrics.k8s.io/v1beta2/namespaces/default/pods/x/bad%20metric', BadRequestError, /invalid metric name "bad metric"/],
    ['custom.metrics.k8s.io/v1beta2/namespaces/default/pods/x/%E0%A4%A', BadRequestError, /malformed percent-encoding/],
    ['custom.metrics.k8s.io/v1beta2/a/b/c/d/e/f', NotFoundError, /unrecognised path/],
    ['custom.metrics.k8s.io/v1beta1/namespaces/default/namespaces/%2A/queue_length', NotFoundError, /namespaces are cluster-scoped/],
    ['external.metrics.k8s.io/v1beta1/queue', NotFoundError, /namespaces\/\{namespace\}\/\{metric\}/],
    ['external.metrics.k8s.io/v1beta2/namespaces/default/q', NotFoundError, /external\.metrics\.k8s\.io\/v1beta2/],
    ['metrics.k8s.io/v2/pods', NotFoundError, /metrics\.k8s\.io\/v2/],
    ['metrics.k8s.io/v1beta1/pods/web-1', NotFoundError, /serves namespaces\/\{namespace\}\/pods\[\/\{name\}\], pods and nodes/],
    ['metrics.k8s.io/v1beta1/namespaces/default/pods/web-1/containers', NotFoundError, /could not find/],
    ['metrics.k8s.io/v1beta1/nodes/n1/usage', NotFoundError, /could not find/],
    ['metrics.k8s.io/v1beta1/namespaces/Default/pods', BadRequestError, /invalid namespace "Default"/],
    ['metrics.k8s.io/v1beta1/namespaces/default/pods/Web_1', BadRequestError, /invalid object name "Web_1"/],
    ['metrics.k8s.io/v1beta1/nodes/%2A', BadRequestError, /invalid object name "\*"/],
    ['apps/v1/deployments', NotFoundError, /could not find/],
  ];
  for (const [path, type, message] of errors) {
    test(`${path} is rejected with ${type.name}`, () => {
      assert.throws(
        () => parse(path),
        (e: unknown) => e instanceof type && message.test((e as Error).message),
      );
    });
  }

  test('a namespace under another namespace is a 404 that points to namespaces/{name}/metrics/{metric}', () => {
    assert.throws(
      () => parse('custom.metrics.k8s.io/v1beta2/namespaces/default/namespaces/default/queue_length'),
      (e: unknown) => e instanceof NotFoundError && e.message.includes('/apis/custom.metrics.k8s.io/v1beta2/namespaces/{name}/metrics/{metric}'),
    );
  });
});
