// metrics.k8s.io through the HTTP surface: discovery with and without
// resourceRules, the PodMetrics and NodeMetrics documents field for field,
// the Table kubectl get asks for, selectors, and the Status of each refusal.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../adapter/log.js';
import type { NodeMetricsQuery, NodeUsage, PodMetricsQuery, PodUsage, ResourceMetricsProvider } from '../../adapter/metrics-api-provider.js';
import { createMetricsApi, type MetricsApi } from '../../adapter/router.js';
import { StaticResourceCatalog } from '../../rules/resources.js';
import { listingProvider, sampleListing } from '../support/metric-listing.js';

const R = '/apis/metrics.k8s.io/v1beta1';
const V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
const KUBECTL_GET = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const TS = new Date('2026-12-04T10:00:07.250Z');

const PODS: PodUsage[] = [
  {
    name: 'web-1',
    namespace: 'default',
    labels: { app: 'web' },
    timestamp: TS,
    windowSeconds: 240,
    containers: [
      { name: 'app', usage: { cpu: '250m', memory: '100Mi' } },
      { name: 'proxy', usage: { cpu: '12345678n', memory: '28Mi' } },
    ],
  },
  { name: 'web-2', namespace: 'default', labels: {}, timestamp: TS, windowSeconds: 240, containers: [{ name: 'app', usage: { cpu: '1', memory: '1Gi' } }] },
];
const NODES: NodeUsage[] = [{ name: 'node-1', labels: { role: 'worker' }, timestamp: TS, windowSeconds: 300, usage: { cpu: '1500m', memory: '4Gi' } }];

/** A provider answering from the tables above, recording what it was asked; `served` can be switched. */
function fixedProvider() {
  const asked: (PodMetricsQuery | NodeMetricsQuery)[] = [];
  const state = { served: true };
  const provider: ResourceMetricsProvider = {
    served: () => state.served,
    podMetrics: async (q) => {
      asked.push(q);
      return q.name === undefined ? PODS : PODS.filter((p) => p.name === q.name);
    },
    nodeMetrics: async (q) => {
      asked.push(q);
      return q.name === undefined ? NODES : NODES.filter((n) => n.name === q.name);
    },
  };
  return { provider, asked, state };
}

function api(provider?: ResourceMetricsProvider, ttl = 0): MetricsApi {
  const catalog = new StaticResourceCatalog();
  return createMetricsApi({
    provider: listingProvider(() => sampleListing()),
    ...(provider ? { resourceMetrics: provider } : {}),
    catalog: () => catalog,
    requestTimeoutMs: 1000,
    log: silentLogger,
    responseCacheTtlSeconds: ttl,
  });
}

async function json(a: MetricsApi, path: string, accept?: string): Promise<{ code: number; body: Record<string, unknown> }> {
  const answer = await a.answer('GET', path, accept !== undefined ? { accept } : {});
  return { code: answer.code, body: answer.body === '' ? {} : (JSON.parse(answer.body) as Record<string, unknown>) };
}

/** creationTimestamp is the time of the answer: checked for its form, then dropped. */
function withoutCreation(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v: unknown) => {
      if (key === 'creationTimestamp') {
        assert.match(String(v), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        return undefined;
      }
      return v;
    }),
  ) as unknown;
}

describe('discovery without resourceRules', () => {
  const { provider, state } = fixedProvider();
  state.served = false;
  const a = api(provider);

  test('the group list and aggregated discovery leave metrics.k8s.io out', async () => {
    const plain = await json(a, '/apis');
    assert.deepEqual(
      (plain.body.groups as { name: string }[]).map((g) => g.name),
      ['custom.metrics.k8s.io', 'external.metrics.k8s.io'],
    );
    const aggregated = await json(a, '/apis', V2);
    assert.deepEqual(
      (aggregated.body.items as { metadata: { name: string } }[]).map((g) => g.metadata.name),
      ['custom.metrics.k8s.io', 'external.metrics.k8s.io'],
    );
  });

  for (const path of ['/apis/metrics.k8s.io', R, `${R}/namespaces/default/pods`, `${R}/nodes/node-1`, '/apis/metrics.k8s.io/v9']) {
    test(`${path} is a 404 saying resourceRules are not configured`, async () => {
      const r = await json(a, path);
      assert.equal(r.code, 404);
      assert.match(String(r.body.message), /metrics\.k8s\.io is served from resourceRules, and the rules loaded have none/);
    });
  }

  test('without a resource metrics provider at all the group is not served either', async () => {
    assert.equal((await json(api(), R)).code, 404);
  });
});

describe('discovery with resourceRules', () => {
  const { provider } = fixedProvider();
  const a = api(provider);

  test('the group list names metrics.k8s.io with v1beta1 preferred and v1 listed', async () => {
    const groups = (await json(a, '/apis')).body.groups as { name: string }[];
    assert.deepEqual(groups[2], {
      name: 'metrics.k8s.io',
      versions: [
        { groupVersion: 'metrics.k8s.io/v1beta1', version: 'v1beta1' },
        { groupVersion: 'metrics.k8s.io/v1', version: 'v1' },
      ],
      preferredVersion: { groupVersion: 'metrics.k8s.io/v1beta1', version: 'v1beta1' },
    });
  });

  test('the APIGroup document is served', async () => {
    const r = await json(a, '/apis/metrics.k8s.io');
    assert.deepEqual([r.code, r.body.kind, r.body.name], [200, 'APIGroup', 'metrics.k8s.io']);
  });

  for (const version of ['v1beta1', 'v1']) {
    test(`the ${version} APIResourceList lists nodes (cluster) and pods (namespaced) with get and list`, async () => {
      const r = await json(a, `/apis/metrics.k8s.io/${version}`);
      assert.deepEqual(r.body, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: `metrics.k8s.io/${version}`,
        resources: [
          { name: 'nodes', singularName: '', namespaced: false, kind: 'NodeMetrics', verbs: ['get', 'list'] },
          { name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
        ],
      });
    });
  }

  test('aggregated discovery lists both versions with scope and responseKind', async () => {
    const items = (await json(a, '/apis', V2)).body.items as { metadata: { name: string }; versions: unknown[] }[];
    const group = items.find((i) => i.metadata.name === 'metrics.k8s.io');
    const resources = [
      { resource: 'nodes', responseKind: { group: '', version: '', kind: 'NodeMetrics' }, scope: 'Cluster', singularResource: '', verbs: ['get', 'list'] },
      { resource: 'pods', responseKind: { group: '', version: '', kind: 'PodMetrics' }, scope: 'Namespaced', singularResource: '', verbs: ['get', 'list'] },
    ];
    assert.deepEqual(group?.versions, [
      { version: 'v1beta1', resources, freshness: 'Current' },
      { version: 'v1', resources, freshness: 'Current' },
    ]);
  });

  test('the aggregated ETag changes when resourceRules come and go', async () => {
    const { provider: switching, state: s } = fixedProvider();
    const b = api(switching);
    const first = await b.answer('GET', '/apis', { accept: V2 });
    s.served = false;
    const without = await b.answer('GET', '/apis', { accept: V2, ifNoneMatch: first.headers?.ETag ?? '' });
    assert.equal(without.code, 200);
    assert.notEqual(without.headers?.ETag, first.headers?.ETag);
    assert.doesNotMatch(without.body, /"name":"metrics\.k8s\.io"/);
    s.served = true;
    const again = await b.answer('GET', '/apis', { accept: V2 });
    assert.equal(again.headers?.ETag, first.headers?.ETag);
  });
});

describe('PodMetrics and NodeMetrics documents', () => {
  const { provider, asked } = fixedProvider();
  const a = api(provider);

  test('a namespace list is a PodMetricsList with the fields of k8s.io/metrics', async () => {
    const r = await json(a, `${R}/namespaces/default/pods`);
    assert.equal(r.code, 200);
    assert.deepEqual(withoutCreation(r.body), {
      kind: 'PodMetricsList',
      apiVersion: 'metrics.k8s.io/v1beta1',
      metadata: {},
      items: [
        {
          metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web' } },
          timestamp: '2026-12-04T10:00:07Z',
          window: '4m0s',
          containers: [
            { name: 'app', usage: { cpu: '250m', memory: '100Mi' } },
            { name: 'proxy', usage: { cpu: '12345678n', memory: '28Mi' } },
          ],
        },
        {
          metadata: { name: 'web-2', namespace: 'default' },
          timestamp: '2026-12-04T10:00:07Z',
          window: '4m0s',
          containers: [{ name: 'app', usage: { cpu: '1', memory: '1Gi' } }],
        },
      ],
    });
  });

  test('a get is one PodMetrics with its kind, in the version asked for', async () => {
    const r = await json(a, '/apis/metrics.k8s.io/v1/namespaces/default/pods/web-2');
    assert.deepEqual([r.body.kind, r.body.apiVersion, (r.body.metadata as { name: string }).name], ['PodMetrics', 'metrics.k8s.io/v1', 'web-2']);
  });

  test('a node list is a NodeMetricsList and a node get a NodeMetrics', async () => {
    const list = await json(a, `${R}/nodes`);
    assert.deepEqual(withoutCreation(list.body), {
      kind: 'NodeMetricsList',
      apiVersion: 'metrics.k8s.io/v1beta1',
      metadata: {},
      items: [{ metadata: { name: 'node-1', labels: { role: 'worker' } }, timestamp: '2026-12-04T10:00:07Z', window: '5m0s', usage: { cpu: '1500m', memory: '4Gi' } }],
    });
    const one = await json(a, `${R}/nodes/node-1`);
    assert.deepEqual([one.body.kind, one.body.apiVersion], ['NodeMetrics', 'metrics.k8s.io/v1beta1']);
  });

  test('pods of every namespace are asked for without a namespace', async () => {
    asked.length = 0;
    await json(a, `${R}/pods`);
    assert.equal((asked[0] as PodMetricsQuery).namespace, undefined);
  });

  test('label and field selectors reach the provider parsed', async () => {
    asked.length = 0;
    await json(a, `${R}/namespaces/default/pods?labelSelector=app%3Dweb&fieldSelector=metadata.name%21%3Dweb-2`);
    assert.deepEqual([asked[0]?.labelSelector, asked[0]?.fieldSelector], [[{ key: 'app', operator: '=', values: ['web'] }], [{ key: 'metadata.name', operator: '!=', value: 'web-2' }]]);
  });

  const refusals: [string, string, number, RegExp][] = [
    [
      'a field selector on another field',
      `${R}/namespaces/default/pods?fieldSelector=spec.nodeName%3Dn1`,
      400,
      /^"spec.nodeName" is not a known field selector: only "metadata.name", "metadata.namespace"$/,
    ],
    ['a malformed field selector', `${R}/nodes?fieldSelector=nokey`, 400, /invalid fieldSelector "nokey": invalid selector: 'nokey'; can't understand 'nokey'/],
    ['a malformed label selector', `${R}/nodes?labelSelector=a%3D%3D%3Db`, 400, /^invalid labelSelector "a===b"/],
    ['a watch', `${R}/namespaces/default/pods?watch=true`, 405, /watch is not supported/],
    ['an unknown includeObject', `${R}/nodes?includeObject=All`, 400, /^unrecognized includeObject value: "All"$/],
  ];
  for (const [what, path, code, message] of refusals) {
    test(`${what} is a ${code} Status`, async () => {
      const r = await json(a, path, path.includes('includeObject') ? KUBECTL_GET : undefined);
      assert.deepEqual([r.code, r.body.kind, r.body.code], [code, 'Status', code]);
      assert.match(String(r.body.message), message);
    });
  }

  test('protobuf only is a 406', async () => {
    assert.equal((await json(a, `${R}/nodes`, 'application/vnd.kubernetes.protobuf')).code, 406);
  });

  test('the HPA controller, which accepts protobuf and */*, gets JSON', async () => {
    const r = await json(a, `${R}/namespaces/default/pods?labelSelector=app%3Dweb`, 'application/vnd.kubernetes.protobuf, */*');
    assert.equal(r.body.kind, 'PodMetricsList');
  });
});

describe('Table', () => {
  const { provider } = fixedProvider();
  const a = api(provider, 5);

  test("kubectl get podmetrics gets metrics-server's columns, with container sums per pod and the metadata of each row", async () => {
    const r = await json(a, `${R}/namespaces/default/pods`, KUBECTL_GET);
    assert.deepEqual(withoutCreation(r.body), {
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: {},
      columnDefinitions: [
        { name: 'Name', type: 'string', format: 'name', description: 'Name of the resource', priority: 0 },
        { name: 'cpu', type: 'string', format: 'quantity', description: '', priority: 0 },
        { name: 'memory', type: 'string', format: 'quantity', description: '', priority: 0 },
        { name: 'Window', type: 'string', format: 'duration', description: '', priority: 0 },
      ],
      rows: [
        {
          cells: ['web-1', '262345678n', '128Mi', '4m0s'],
          object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web' } } },
        },
        { cells: ['web-2', '1', '1Gi', '4m0s'], object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'web-2', namespace: 'default' } } },
      ],
    });
  });

  test('a v1beta1 Table is answered in v1beta1', async () => {
    const r = await json(a, `${R}/nodes`, 'application/json;as=Table;v=v1beta1;g=meta.k8s.io');
    assert.equal(r.body.apiVersion, 'meta.k8s.io/v1beta1');
    assert.deepEqual((r.body.rows as { cells: unknown[] }[])[0]?.cells, ['node-1', '1500m', '4Gi', '5m0s']);
  });

  test('includeObject=Object carries the whole NodeMetrics, and None nothing', async () => {
    const whole = await json(a, `${R}/nodes?includeObject=Object`, KUBECTL_GET);
    assert.equal((whole.body.rows as { object: { kind: string } }[])[0]?.object.kind, 'NodeMetrics');
    const none = await json(a, `${R}/nodes?includeObject=None`, KUBECTL_GET);
    assert.deepEqual(Object.keys((none.body.rows as object[])[0] ?? {}), ['cells']);
  });

  test('a table of nothing still has its columns', async () => {
    const empty: ResourceMetricsProvider = { served: () => true, podMetrics: async () => [], nodeMetrics: async () => [] };
    const r = await json(api(empty), `${R}/namespaces/default/pods`, KUBECTL_GET);
    assert.deepEqual([(r.body.columnDefinitions as unknown[]).length, r.body.rows], [4, []]);
  });

  test('the object and the table of one URL are cached apart', async () => {
    const table = await json(a, `${R}/nodes/node-1`, KUBECTL_GET);
    const object = await json(a, `${R}/nodes/node-1`, 'application/json');
    const tableAgain = await json(a, `${R}/nodes/node-1`, KUBECTL_GET);
    assert.deepEqual([table.body.kind, object.body.kind, tableAgain.body.kind], ['Table', 'NodeMetrics', 'Table']);
  });
});
