import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forbiddenError, subjectAccessReviewSpec } from '../../adapter/auth/authorize.js';
import { requestAttributes } from '../../adapter/auth/request-info.js';
import type { RequestAttributes, UserInfo } from '../../adapter/auth/types.js';
import { BadRequestError, toStatus } from '../../adapter/errors.js';

const C = '/apis/custom.metrics.k8s.io/v1beta2';
const E = '/apis/external.metrics.k8s.io/v1beta1';
const R = '/apis/metrics.k8s.io/v1beta1';

function res(path: string, fields: Partial<Extract<RequestAttributes, { resourceRequest: true }>>): RequestAttributes {
  return { resourceRequest: true, path, verb: 'get', namespace: '', group: '', version: '', resource: '', subresource: '', name: '', ...fields };
}

const custom = (path: string, f: Partial<Extract<RequestAttributes, { resourceRequest: true }>>): RequestAttributes => res(path, { group: 'custom.metrics.k8s.io', version: 'v1beta2', ...f });

const resource = (path: string, f: Partial<Extract<RequestAttributes, { resourceRequest: true }>>): RequestAttributes => res(path, { group: 'metrics.k8s.io', version: 'v1beta1', ...f });

describe('request attributes', () => {
  const table: [string, string, RequestAttributes][] = [
    [
      'a namespaced object metric for all pods',
      `${C}/namespaces/default/pods/%2A/http_requests`,
      custom(`${C}/namespaces/default/pods/*/http_requests`, { namespace: 'default', resource: 'pods', name: '*', subresource: 'http_requests' }),
    ],
    [
      'a namespaced object metric for one named object of a grouped resource',
      `${C}/namespaces/prod/deployments.apps/web/requests_per_second?metricLabelSelector=a%3Db`,
      custom(`${C}/namespaces/prod/deployments.apps/web/requests_per_second`, { namespace: 'prod', resource: 'deployments.apps', name: 'web', subresource: 'requests_per_second' }),
    ],
    ['a literal star in the path', `${C}/namespaces/default/pods/*/m`, custom(`${C}/namespaces/default/pods/*/m`, { namespace: 'default', resource: 'pods', name: '*', subresource: 'm' })],
    ['a root-scoped object metric', `${C}/nodes/node-1/m`, custom(`${C}/nodes/node-1/m`, { resource: 'nodes', name: 'node-1', subresource: 'm' })],
    ['a root-scoped wildcard', `${C}/nodes/%2A/m?labelSelector=role%3Dgpu`, custom(`${C}/nodes/*/m`, { resource: 'nodes', name: '*', subresource: 'm' })],
    [
      'the metric of a Namespace object, which reads as resource "metrics"',
      `${C}/namespaces/default/metrics/queue_depth`,
      custom(`${C}/namespaces/default/metrics/queue_depth`, { namespace: 'default', resource: 'metrics', name: 'queue_depth' }),
    ],
    [
      'the root-scoped form for a Namespace object, which reads as a list of the metric',
      `${C}/namespaces/default/queue_depth`,
      custom(`${C}/namespaces/default/queue_depth`, { verb: 'list', namespace: 'default', resource: 'queue_depth' }),
    ],
    [
      'a namespace subresource after namespaces/{ns}',
      `${C}/namespaces/default/status`,
      custom(`${C}/namespaces/default/status`, { namespace: 'default', resource: 'namespaces', name: 'default', subresource: 'status' }),
    ],
    [
      'the v1beta1 custom metrics API',
      '/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/m',
      res('/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/m', {
        group: 'custom.metrics.k8s.io',
        version: 'v1beta1',
        namespace: 'default',
        resource: 'pods',
        name: '*',
        subresource: 'm',
      }),
    ],
    [
      'an external metric, which has no name and so is a list',
      `${E}/namespaces/default/queue_len`,
      res(`${E}/namespaces/default/queue_len`, { verb: 'list', group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: 'default', resource: 'queue_len' }),
    ],
    [
      'an external metric with a label selector',
      `${E}/namespaces/default/queue_len?labelSelector=queue%3Dorders%2Cenv+in+%28prod%2Cstaging%29%2C%21beta%2Czone`,
      res(`${E}/namespaces/default/queue_len`, {
        verb: 'list',
        group: 'external.metrics.k8s.io',
        version: 'v1beta1',
        namespace: 'default',
        resource: 'queue_len',
        labelSelector: [
          { key: 'beta', operator: 'DoesNotExist' },
          { key: 'env', operator: 'In', values: ['prod', 'staging'] },
          { key: 'queue', operator: 'In', values: ['orders'] },
          { key: 'zone', operator: 'Exists' },
        ],
      }),
    ],
    [
      'an external metric whose label selector does not parse: no selector attributes',
      `${E}/namespaces/default/queue_len?labelSelector=%3D%3D%3D`,
      res(`${E}/namespaces/default/queue_len`, { verb: 'list', group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: 'default', resource: 'queue_len' }),
    ],
    [
      'an external metric named by a field selector',
      `${E}/namespaces/default/queue_len?fieldSelector=metadata.name%3Dorders`,
      res(`${E}/namespaces/default/queue_len`, {
        verb: 'list',
        group: 'external.metrics.k8s.io',
        version: 'v1beta1',
        namespace: 'default',
        resource: 'queue_len',
        name: 'orders',
        fieldSelector: [{ key: 'metadata.name', operator: 'In', values: ['orders'] }],
      }),
    ],
    [
      'a watch parameter',
      `${E}/namespaces/default/queue_len?watch=true`,
      res(`${E}/namespaces/default/queue_len`, { verb: 'watch', group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: 'default', resource: 'queue_len' }),
    ],
    [
      'watch=false',
      `${E}/namespaces/default/queue_len?watch=false`,
      res(`${E}/namespaces/default/queue_len`, { verb: 'list', group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: 'default', resource: 'queue_len' }),
    ],
    [
      'the watch path prefix',
      `${E}/watch/namespaces/default/queue_len`,
      res(`${E}/watch/namespaces/default/queue_len`, { verb: 'watch', group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: 'default', resource: 'queue_len' }),
    ],
    ['the PodMetrics of one namespace', `${R}/namespaces/default/pods`, resource(`${R}/namespaces/default/pods`, { verb: 'list', namespace: 'default', resource: 'pods' })],
    ['one PodMetrics', `${R}/namespaces/default/pods/web-1`, resource(`${R}/namespaces/default/pods/web-1`, { namespace: 'default', resource: 'pods', name: 'web-1' })],
    ['the PodMetrics of every namespace', `${R}/pods`, resource(`${R}/pods`, { verb: 'list', resource: 'pods' })],
    [
      'PodMetrics selected by labels',
      `${R}/namespaces/default/pods?labelSelector=app%3Dweb`,
      resource(`${R}/namespaces/default/pods`, { verb: 'list', namespace: 'default', resource: 'pods', labelSelector: [{ key: 'app', operator: 'In', values: ['web'] }] }),
    ],
    [
      'PodMetrics named by a field selector',
      `${R}/namespaces/default/pods?fieldSelector=metadata.name%3Dweb-1`,
      resource(`${R}/namespaces/default/pods`, {
        verb: 'list',
        namespace: 'default',
        resource: 'pods',
        name: 'web-1',
        fieldSelector: [{ key: 'metadata.name', operator: 'In', values: ['web-1'] }],
      }),
    ],
    ['the NodeMetrics', `${R}/nodes`, resource(`${R}/nodes`, { verb: 'list', resource: 'nodes' })],
    ['one NodeMetrics', `${R}/nodes/node-1`, resource(`${R}/nodes/node-1`, { resource: 'nodes', name: 'node-1' })],
    [
      'one NodeMetrics of metrics.k8s.io v1',
      '/apis/metrics.k8s.io/v1/nodes/node-1',
      res('/apis/metrics.k8s.io/v1/nodes/node-1', { group: 'metrics.k8s.io', version: 'v1', resource: 'nodes', name: 'node-1' }),
    ],
    ['the resource metrics discovery document', R, { resourceRequest: false, path: R, verb: 'get' }],
    ['a trailing slash', `${C}/nodes/node-1/m/`, custom(`${C}/nodes/node-1/m/`, { resource: 'nodes', name: 'node-1', subresource: 'm' })],
    ['the group-version discovery document', C, { resourceRequest: false, path: C, verb: 'get' }],
    ['the group-version discovery document with a trailing slash', `${C}/`, { resourceRequest: false, path: `${C}/`, verb: 'get' }],
    ['the group discovery document', '/apis/custom.metrics.k8s.io', { resourceRequest: false, path: '/apis/custom.metrics.k8s.io', verb: 'get' }],
    ['the group list', '/apis', { resourceRequest: false, path: '/apis', verb: 'get' }],
    ['the OpenAPI document', '/openapi/v2', { resourceRequest: false, path: '/openapi/v2', verb: 'get' }],
    ['a core API path', '/api/v1/namespaces/default/pods', res('/api/v1/namespaces/default/pods', { verb: 'list', version: 'v1', namespace: 'default', resource: 'pods' })],
  ];
  for (const [what, target, expected] of table) {
    it(`derives the attributes of ${what}`, () => {
      assert.deepEqual(requestAttributes('GET', target), expected);
    });
  }

  it('maps HTTP methods to verbs as kube-apiserver does', () => {
    const verb = (method: string, target: string): string => requestAttributes(method, target).verb;
    assert.equal(verb('HEAD', `${C}/nodes/n/m`), 'get');
    assert.equal(verb('POST', `${C}/nodes/n/m`), 'create');
    assert.equal(verb('PUT', `${C}/nodes/n/m`), 'update');
    assert.equal(verb('PATCH', `${C}/nodes/n/m`), 'patch');
    assert.equal(verb('DELETE', `${C}/nodes/n/m`), 'delete');
    assert.equal(verb('DELETE', `${E}/namespaces/default/q`), 'deletecollection');
    assert.equal(verb('OPTIONS', `${C}/nodes/n/m`), '');
    // Non-resource requests use the lower-cased method.
    assert.equal(verb('HEAD', '/apis'), 'head');
    assert.equal(verb('POST', C), 'post');
  });

  it('rejects a malformed percent-encoding in the path', () => {
    assert.throws(() => requestAttributes('GET', `${C}/nodes/%zz/m`), BadRequestError);
  });
});

const alice: UserInfo = { name: 'alice', uid: 'u-1', groups: ['team', 'system:authenticated'], extra: { scopes: ['b', 'a'], 'authentication.kubernetes.io/x': ['1'] } };

describe('forbidden messages', () => {
  it('names the resource, subresource, object and namespace as kube-apiserver does', () => {
    const e = forbiddenError({ ...alice, name: 'X' }, requestAttributes('GET', `${C}/namespaces/default/pods/%2A/http_requests`));
    assert.equal(e.message, 'pods.custom.metrics.k8s.io "*" is forbidden: User "X" cannot get resource "pods/http_requests" in API group "custom.metrics.k8s.io" in the namespace "default"');
    assert.deepEqual(toStatus(e), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: e.message,
      reason: 'Forbidden',
      details: { name: '*', group: 'custom.metrics.k8s.io', kind: 'pods' },
      code: 403,
    });
  });

  it('says "at the cluster scope" for root-scoped resources', () => {
    const e = forbiddenError({ ...alice, name: 'X' }, requestAttributes('GET', `${C}/nodes/node-1/m`));
    assert.equal(e.message, 'nodes.custom.metrics.k8s.io "node-1" is forbidden: User "X" cannot get resource "nodes/m" in API group "custom.metrics.k8s.io" at the cluster scope');
  });

  it('leaves out the name of external metrics, which have none', () => {
    const e = forbiddenError({ ...alice, name: 'system:serviceaccount:kube-system:horizontal-pod-autoscaler' }, requestAttributes('GET', `${E}/namespaces/default/queue_len`));
    assert.equal(
      e.message,
      'queue_len.external.metrics.k8s.io is forbidden: User "system:serviceaccount:kube-system:horizontal-pod-autoscaler" cannot list resource "queue_len" in API group "external.metrics.k8s.io" in the namespace "default"',
    );
  });

  it('describes non-resource paths', () => {
    const e = forbiddenError({ ...alice, name: 'X' }, requestAttributes('GET', C));
    assert.equal(e.message, 'forbidden: User "X" cannot get path "/apis/custom.metrics.k8s.io/v1beta2"');
    assert.deepEqual(toStatus(e).details, {});
  });

  it('appends the authorizer reason and escapes HTML in the request part', () => {
    const e = forbiddenError({ ...alice, name: '<b>' }, requestAttributes('GET', '/x&y'), 'RBAC: no rule');
    assert.equal(e.message, 'forbidden: User "&lt;b&gt;" cannot get path "/x&amp;y": RBAC: no rule');
  });
});

describe('SubjectAccessReview spec', () => {
  it('carries the user, uid, groups, sorted extra and resource attributes', () => {
    const spec = subjectAccessReviewSpec(alice, requestAttributes('GET', `${C}/nodes/node-1/m`));
    assert.deepEqual(spec, {
      user: 'alice',
      uid: 'u-1',
      groups: ['team', 'system:authenticated'],
      extra: { 'authentication.kubernetes.io/x': ['1'], scopes: ['b', 'a'] },
      resourceAttributes: { verb: 'get', group: 'custom.metrics.k8s.io', version: 'v1beta2', resource: 'nodes', subresource: 'm', name: 'node-1' },
    });
    assert.deepEqual(Object.keys(spec.extra ?? {}), ['authentication.kubernetes.io/x', 'scopes']);
  });

  it('leaves out empty fields as Go does and uses nonResourceAttributes for discovery', () => {
    const spec = subjectAccessReviewSpec({ name: 'system:anonymous', uid: '', groups: ['system:unauthenticated'], extra: {} }, requestAttributes('GET', '/apis'));
    assert.deepEqual(spec, { user: 'system:anonymous', groups: ['system:unauthenticated'], nonResourceAttributes: { path: '/apis', verb: 'get' } });
  });

  it('includes selector requirements for lists', () => {
    const spec = subjectAccessReviewSpec(alice, requestAttributes('GET', `${E}/namespaces/ns/q?labelSelector=a%3Db`));
    assert.deepEqual(spec.resourceAttributes?.labelSelector, { requirements: [{ key: 'a', operator: 'In', values: ['b'] }] });
  });
});
