// The OpenAPI documents: their structure (references resolve, paths belong
// to the group-version that serves them, parameters match the templates),
// agreement with the paths the router serves and the fields the documents
// write, and the HTTP answers kube-aggregator and clients get.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { customMetricValueList, externalMetricValueList } from '../../adapter/documents.js';
import { nodeMetricsList, podMetricsList } from '../../adapter/resource-documents.js';
import { parseLabelSelector } from '../../k8s/label-selector.js';
import { answerOpenApi, openApiV2, openApiV3, openApiV3GroupVersions } from '../../adapter/openapi.js';
import { parseMetricsPath } from '../../adapter/paths.js';
import { StaticResourceCatalog } from '../../rules/resources.js';

type Doc = Record<string, unknown>;
interface Param {
  name: string;
  in: string;
  required?: boolean;
}
interface Op {
  operationId: string;
  parameters: Param[];
}
interface SchemaDoc {
  properties?: Record<string, unknown>;
  required?: string[];
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
}

const GROUP_VERSIONS = ['apis/custom.metrics.k8s.io/v1beta2', 'apis/custom.metrics.k8s.io/v1beta1', 'apis/external.metrics.k8s.io/v1beta1'];

function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refs(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref') out.push(String(v));
      else refs(v, out);
    }
  }
  return out;
}

const v2 = openApiV2() as Doc & { paths: Record<string, { get: Op }>; definitions: Record<string, SchemaDoc> };
const v3 = new Map(GROUP_VERSIONS.map((gv) => [gv, openApiV3(gv) as Doc & { paths: Record<string, { get: Op }>; components: { schemas: Record<string, SchemaDoc> } }]));
const RESOURCE_GROUP_VERSIONS = ['apis/metrics.k8s.io/v1beta1', 'apis/metrics.k8s.io/v1'];
const withResourceMetrics = openApiV2({ resourceMetrics: true }) as typeof v2;
const resourceV3 = new Map(RESOURCE_GROUP_VERSIONS.map((gv) => [gv, openApiV3(gv, { resourceMetrics: true }) as NonNullable<ReturnType<(typeof v3)['get']>>]));
const allDocs: [string, { paths: Record<string, { get: Op }> }][] = [
  ['v2', v2],
  ['v2 with metrics.k8s.io', withResourceMetrics],
  ...[...v3, ...resourceV3].map(([gv, d]) => [`v3 ${gv}`, d] as [string, typeof d]),
];

describe('OpenAPI v2', () => {
  test('is Swagger 2.0 and every $ref names one of its definitions', () => {
    assert.equal(v2.swagger, '2.0');
    const missing = refs(v2).filter((r) => !(r.startsWith('#/definitions/') && r.slice('#/definitions/'.length) in v2.definitions));
    assert.deepEqual(missing, []);
  });

  test('every path lies under /apis/<group>/<version>/ of a served group-version, which is all kube-aggregator keeps', () => {
    const outside = Object.keys(v2.paths).filter((p) => !GROUP_VERSIONS.some((gv) => p.startsWith(`/${gv}/`)));
    assert.deepEqual(outside, []);
    assert.deepEqual(
      GROUP_VERSIONS.filter((gv) => !Object.keys(v2.paths).some((p) => p.startsWith(`/${gv}/`))),
      [],
    );
  });

  test('operation ids are unique', () => {
    const ids = Object.values(v2.paths).map((p) => p.get.operationId);
    assert.equal(new Set(ids).size, ids.length);
  });

  test('every definition is used', () => {
    const used = new Set(refs(v2).map((r) => r.slice('#/definitions/'.length)));
    assert.deepEqual(
      Object.keys(v2.definitions).filter((d) => !used.has(d)),
      [],
    );
  });

  const kinds: [string, string, string][] = [
    ['io.k8s.metrics.pkg.apis.custom_metrics.v1beta2.MetricValueList', 'custom.metrics.k8s.io', 'v1beta2'],
    ['io.k8s.metrics.pkg.apis.custom_metrics.v1beta1.MetricValueList', 'custom.metrics.k8s.io', 'v1beta1'],
    ['io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValueList', 'external.metrics.k8s.io', 'v1beta1'],
  ];
  for (const [name, group, version] of kinds) {
    test(`${name} is defined under its Kubernetes name with its group-version-kind`, () => {
      const gvk = v2.definitions[name]?.['x-kubernetes-group-version-kind'];
      assert.deepEqual(gvk, [{ group, kind: name.slice(name.lastIndexOf('.') + 1), version }]);
    });
  }
});

describe('OpenAPI v3', () => {
  for (const gv of GROUP_VERSIONS) {
    test(`${gv} is OpenAPI 3.0, every $ref resolves in its own components, and it holds only its own paths`, () => {
      const doc = v3.get(gv);
      assert.ok(doc);
      assert.equal(doc.openapi, '3.0.0');
      const missing = refs(doc).filter((r) => !(r.startsWith('#/components/schemas/') && r.slice('#/components/schemas/'.length) in doc.components.schemas));
      assert.deepEqual(missing, []);
      assert.deepEqual(
        Object.keys(doc.paths).filter((p) => !p.startsWith(`/${gv}/`)),
        [],
      );
    });
  }

  test('the custom v1beta2 document holds the v1beta2 schemas and not the v1beta1 or external ones', () => {
    const names = Object.keys(v3.get('apis/custom.metrics.k8s.io/v1beta2')?.components.schemas ?? {});
    assert.ok(names.includes('io.k8s.metrics.pkg.apis.custom_metrics.v1beta2.MetricIdentifier'));
    assert.deepEqual(
      names.filter((n) => n.includes('v1beta1') || n.includes('external')),
      [],
    );
  });

  test('a group-version that is not served has no document', () => {
    assert.equal(openApiV3('apis/custom.metrics.k8s.io/v1'), undefined);
  });

  test('the root lists exactly the served group-versions', () => {
    assert.deepEqual(openApiV3GroupVersions(), GROUP_VERSIONS);
  });
});

describe('paths and parameters', () => {
  for (const [which, doc] of allDocs) {
    test(`${which}: every {template} of a path is a required path parameter and every path parameter is in the path`, () => {
      const mismatches: string[] = [];
      for (const [path, { get }] of Object.entries(doc.paths)) {
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
        const declared = get.parameters
          .filter((p) => p.in === 'path')
          .map((p) => p.name)
          .sort();
        if (JSON.stringify(inPath) !== JSON.stringify(declared)) mismatches.push(`${path}: ${inPath.join(',')} vs ${declared.join(',')}`);
        if (get.parameters.some((p) => p.in === 'path' && p.required !== true)) mismatches.push(`${path}: optional path parameter`);
      }
      assert.deepEqual(mismatches, []);
    });
  }

  test('every documented path, filled in, is one the router serves, as the kind of request it documents', () => {
    const catalog = new StaticResourceCatalog();
    const values: Record<string, string> = { namespace: 'default', resource: 'pods', name: 'web-1', metric: 'http_requests' };
    const served = Object.entries(v2.paths).map(([path, { get }]) => {
      const concrete = path.replace(/\{(\w+)\}/g, (_, p: string) => values[p] ?? p);
      const segments = concrete
        .replace(/^\/apis\//, '')
        .replace(/\/$/, '')
        .split('/');
      return `${get.operationId} ${parseMetricsPath(segments, catalog).kind}`;
    });
    assert.deepEqual(served.sort(), [
      'getCustomMetricsV1beta1APIResources discovery',
      'getCustomMetricsV1beta2APIResources discovery',
      'getExternalMetricsV1beta1APIResources discovery',
      'listExternalMetricsV1beta1NamespacedExternalMetricValue external',
      'readCustomMetricsV1beta1MetricValue object',
      'readCustomMetricsV1beta1MetricValueForNamespace object',
      'readCustomMetricsV1beta1NamespacedMetricValue object',
      'readCustomMetricsV1beta2MetricValue object',
      'readCustomMetricsV1beta2MetricValueForNamespace object',
      'readCustomMetricsV1beta2NamespacedMetricValue object',
    ]);
  });
});

describe('metrics.k8s.io, while resourceRules are loaded', () => {
  test('is absent from the documents while it is not served', () => {
    assert.deepEqual(
      Object.keys(v2.paths).filter((p) => p.includes('/metrics.k8s.io/')),
      [],
    );
    assert.equal(openApiV3('apis/metrics.k8s.io/v1beta1'), undefined);
    assert.equal(answerOpenApi('GET', '/openapi/v3/apis/metrics.k8s.io/v1beta1').code, 404);
  });

  test('v2 holds every served group-version, every $ref resolves and every definition is used', () => {
    const all = [...GROUP_VERSIONS, ...RESOURCE_GROUP_VERSIONS];
    assert.deepEqual(
      Object.keys(withResourceMetrics.paths).filter((p) => !all.some((gv) => p.startsWith(`/${gv}/`))),
      [],
    );
    const names = refs(withResourceMetrics).map((r) => r.slice('#/definitions/'.length));
    assert.deepEqual(
      names.filter((n) => !(n in withResourceMetrics.definitions)),
      [],
    );
    assert.deepEqual(
      Object.keys(withResourceMetrics.definitions).filter((d) => !names.includes(d)),
      [],
    );
  });

  for (const gv of RESOURCE_GROUP_VERSIONS) {
    test(`${gv} in v3 holds its own paths and schemas only`, () => {
      const doc = resourceV3.get(gv);
      assert.ok(doc);
      assert.deepEqual(
        Object.keys(doc.paths).filter((p) => !p.startsWith(`/${gv}/`)),
        [],
      );
      const version = gv.slice(gv.lastIndexOf('/') + 1);
      const other = version === 'v1' ? 'v1beta1' : 'v1';
      assert.deepEqual(
        Object.keys(doc.components.schemas).filter((n) => n.startsWith(`io.k8s.metrics.pkg.apis.metrics.${other}.`)),
        [],
      );
      assert.ok(`io.k8s.metrics.pkg.apis.metrics.${version}.PodMetricsList` in doc.components.schemas);
    });
  }

  test('the v3 root lists the metrics.k8s.io versions too', () => {
    const root = JSON.parse(answerOpenApi('GET', '/openapi/v3', {}, { resourceMetrics: true }).body) as { paths: Record<string, unknown> };
    assert.deepEqual(Object.keys(root.paths), [...GROUP_VERSIONS, ...RESOURCE_GROUP_VERSIONS]);
  });

  test('every documented path, filled in, is one the router serves, as the list or get it documents', () => {
    const catalog = new StaticResourceCatalog();
    const served = Object.entries(withResourceMetrics.paths)
      .filter(([path]) => path.startsWith('/apis/metrics.k8s.io/v1beta1/'))
      .map(([path, { get }]) => {
        const concrete = path.replace('{namespace}', 'default').replace('{name}', 'x');
        const parsed = parseMetricsPath(
          concrete
            .replace(/^\/apis\//, '')
            .replace(/\/$/, '')
            .split('/'),
          catalog,
        );
        const how = 'name' in parsed && parsed.name !== undefined ? 'get' : 'list';
        return `${get.operationId} ${parsed.kind}${parsed.kind === 'discovery' ? '' : ` ${how} ${(get as Op & { 'x-kubernetes-action': string })['x-kubernetes-action']}`}`;
      });
    assert.deepEqual(served.sort(), [
      'getMetricsV1beta1APIResources discovery',
      'listMetricsV1beta1NamespacedPodMetrics pods list list',
      'listMetricsV1beta1NodeMetrics nodes list list',
      'listMetricsV1beta1PodMetricsForAllNamespaces pods list list',
      'readMetricsV1beta1NamespacedPodMetrics pods get get',
      'readMetricsV1beta1NodeMetrics nodes get get',
    ]);
  });
});

describe('schemas describe every field the documents write', () => {
  const T = new Date('2024-05-06T07:08:09Z');
  const item = { describedObject: { kind: 'Pod', namespace: 'default', name: 'web-1', apiVersion: 'v1' }, metric: 'm', timestamp: T, windowSeconds: 60, value: '1' };
  const selector = parseLabelSelector('a=b,c in (d)');
  const pod = { name: 'web-1', namespace: 'default', labels: { app: 'web' }, timestamp: T, windowSeconds: 30, containers: [{ name: 'app', usage: { cpu: '1m', memory: '1Mi' } }] };
  const node = { name: 'n1', labels: { role: 'worker' }, timestamp: T, windowSeconds: 30, usage: { cpu: '1', memory: '1Gi' } };
  const lists: [string, unknown][] = [
    ['io.k8s.metrics.pkg.apis.metrics.v1beta1', podMetricsList('v1beta1', [pod], T)],
    ['io.k8s.metrics.pkg.apis.metrics.v1', podMetricsList('v1', [pod], T)],
    ['io.k8s.metrics.pkg.apis.metrics.v1beta1', nodeMetricsList('v1beta1', [node], T)],
    ['io.k8s.metrics.pkg.apis.custom_metrics.v1beta1', customMetricValueList('v1beta1', [item], selector)],
    ['io.k8s.metrics.pkg.apis.custom_metrics.v1beta2', customMetricValueList('v1beta2', [item], selector)],
    ['io.k8s.metrics.pkg.apis.external_metrics.v1beta1', externalMetricValueList([{ metric: 'q', labels: { queue: 'x' }, timestamp: T, windowSeconds: 60, value: '2' }])],
  ];
  const defs = withResourceMetrics.definitions;
  /** Fields of `value` the schema `name` does not describe, or that it requires and `value` lacks. */
  const check = (name: string, value: Record<string, unknown>, where: string, out: string[]): void => {
    const schema = defs[name];
    if (!schema) return void out.push(`${where}: no schema ${name}`);
    const properties = schema.properties ?? {};
    for (const key of Object.keys(value)) if (!(key in properties)) out.push(`${where}.${key} is not in ${name}`);
    for (const key of schema.required ?? []) if (!(key in value)) out.push(`${where}.${key} is required by ${name}`);
    for (const [key, v] of Object.entries(value)) {
      const prop = properties[key] as { $ref?: string; items?: { $ref?: string } } | undefined;
      const target = prop?.$ref ?? prop?.items?.$ref;
      if (!target || v === null || typeof v !== 'object') continue;
      for (const each of Array.isArray(v) ? v : [v]) {
        if (each !== null && typeof each === 'object') check(target.slice('#/definitions/'.length), each as Record<string, unknown>, `${where}.${key}`, out);
      }
    }
  };
  for (const [pkg, doc] of lists) {
    test(`${pkg}: the ${(doc as { kind: string }).kind} and its items`, () => {
      const problems: string[] = [];
      const kind = (doc as { kind: string }).kind;
      check(`${pkg}.${kind}`, doc as Record<string, unknown>, kind, problems);
      assert.deepEqual(problems, []);
    });
  }
});

describe('HTTP answers', () => {
  const hashOf = (body: string): string => createHash('sha512').update(body).digest('hex').toUpperCase();

  test('/openapi/v2 for kube-aggregator is JSON with an ETag', () => {
    const answer = answerOpenApi('GET', '/openapi/v2', { accept: 'application/json' });
    assert.equal(answer.code, 200);
    assert.equal(answer.contentType, 'application/json');
    assert.equal(answer.headers?.ETag, `"${hashOf(answer.body)}"`);
    assert.deepEqual(JSON.parse(answer.body), v2);
  });

  test('/openapi/v2 with If-None-Match of its ETag is 304 with no body', () => {
    const first = answerOpenApi('GET', '/openapi/v2');
    const again = answerOpenApi('GET', '/openapi/v2', { ifNoneMatch: first.headers?.ETag ?? '' });
    assert.deepEqual([again.code, again.body], [304, '']);
  });

  test('/openapi/v2 for a client that takes protobuf only is a 406 Status, which client-go reads as "no spec"', () => {
    const answer = answerOpenApi('GET', '/openapi/v2?timeout=32s', { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' });
    assert.equal(answer.code, 406);
    assert.deepEqual(
      Object.entries(JSON.parse(answer.body) as object).filter(([k]) => k === 'kind' || k === 'reason'),
      [
        ['kind', 'Status'],
        ['reason', 'NotAcceptable'],
      ],
    );
  });

  test('the /openapi/v3 root names each group-version document by the SHA-512 of what it serves', () => {
    const root = JSON.parse(answerOpenApi('GET', '/openapi/v3').body) as { paths: Record<string, { serverRelativeURL: string }> };
    assert.deepEqual(Object.keys(root.paths), GROUP_VERSIONS);
    for (const [gv, { serverRelativeURL }] of Object.entries(root.paths)) {
      const doc = answerOpenApi('GET', `/openapi/v3/${gv}`, { accept: 'application/json' });
      assert.equal(serverRelativeURL, `/openapi/v3/${gv}?hash=${hashOf(doc.body)}`);
    }
  });

  test('the /openapi/v3 root is JSON whatever Accept says, as kube-openapi serves it', () => {
    assert.equal(answerOpenApi('GET', '/openapi/v3', { accept: 'application/com.github.proto-openapi.spec.v3@v1.0+protobuf' }).code, 200);
  });

  test('a group-version document under its current hash may be cached for good', () => {
    const root = JSON.parse(answerOpenApi('GET', '/openapi/v3').body) as { paths: Record<string, { serverRelativeURL: string }> };
    const url = root.paths['apis/custom.metrics.k8s.io/v1beta2']?.serverRelativeURL ?? '';
    const answer = answerOpenApi('GET', url, { accept: 'application/json' });
    assert.equal(answer.code, 200);
    assert.equal(answer.headers?.['Cache-Control'], 'public, immutable, max-age=31536000');
  });

  test('a group-version document asked for under a stale hash is redirected to the current one', () => {
    const current = answerOpenApi('GET', '/openapi/v3/apis/external.metrics.k8s.io/v1beta1');
    const answer = answerOpenApi('GET', '/openapi/v3/apis/external.metrics.k8s.io/v1beta1?hash=0BAD', { accept: 'application/json' });
    assert.equal(answer.code, 301);
    assert.equal(answer.headers?.Location, `/openapi/v3/apis/external.metrics.k8s.io/v1beta1?hash=${hashOf(current.body)}`);
  });

  test('a group-version document in protobuf only is a 406', () => {
    assert.equal(answerOpenApi('GET', '/openapi/v3/apis/custom.metrics.k8s.io/v1beta1', { accept: 'application/com.github.proto-openapi.spec.v3@v1.0+protobuf' }).code, 406);
  });

  const notFound = ['/openapi/v3/apis/custom.metrics.k8s.io/v1', '/openapi/v3/apis/apps/v1', '/openapi/v3/', '/openapi/v3/apis/custom.metrics.k8s.io'];
  for (const path of notFound) {
    test(`${path} is a 404 Status`, () => {
      const answer = answerOpenApi('GET', path);
      assert.equal(answer.code, 404);
      assert.equal((JSON.parse(answer.body) as { reason: string }).reason, 'NotFound');
    });
  }

  test('a write is a 405 Status', () => {
    assert.equal(answerOpenApi('POST', '/openapi/v2').code, 405);
  });
});
