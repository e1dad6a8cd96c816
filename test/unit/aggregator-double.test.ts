// The aggregator double's own behaviour, against a small HTTPS service that
// records what reaches it: authentication, the front-proxy identity and
// headers, query re-encoding, availability, and discovery merging.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { AggregatorDouble, authProxyHeaders, goEscapePath, goReencodeQuery } from '../support/aggregator-double.js';
import { KubeApiDouble } from '../support/kube-api-double.js';
import { issueCA, issueClient, issueServing, type Issued } from '../support/certs.js';
import { httpsCall } from '../support/https-call.js';

describe('goReencodeQuery', () => {
  const cases: [string, string, string][] = [
    ['sorts keys and keeps the order of repeated values', 'b=2&a=1&b=1', 'a=1&b=2&b=1'],
    ['writes a space as +', 'labelSelector=app+in+(a,%20b)', 'labelSelector=app+in+%28a%2C+b%29'],
    ['escapes = and / inside values', 'fieldSelector=metadata.name%3Dweb-1', 'fieldSelector=metadata.name%3Dweb-1'],
    ['keeps a key without a value as key=', 'watch', 'watch='],
    ['drops a pair that does not decode, and pairs with ;', 'a=%zz&b=1&c=1;d=2', 'b=1'],
    ['is empty for an empty query', '', ''],
  ];
  for (const [name, raw, expected] of cases) test(name, () => assert.equal(goReencodeQuery(raw), expected));
});

describe('goEscapePath', () => {
  test('escapes * and spaces and keeps the characters Go leaves in paths', () => {
    assert.equal(goEscapePath('/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/a b'), '/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/%2A/a%20b');
    assert.equal(goEscapePath("/a:b@c;d=e,f+g$h&i~j'k"), '/a:b@c;d=e,f+g$h&i~j%27k');
  });
});

describe('authProxyHeaders', () => {
  test("drops the caller's Authorization and X-Remote-* headers and sets the user's", () => {
    const headers = authProxyHeaders(
      {
        authorization: 'Bearer t',
        'x-remote-user': 'admin',
        'x-remote-group': 'system:masters',
        'x-remote-extra-scopes': 'all',
        'x-remote-uid': '0',
        accept: 'application/json',
        connection: 'keep-alive',
        host: 'x',
      },
      { name: 'alice', uid: 'u-1', groups: ['devs', 'system:authenticated'], extra: { 'example.com/team': ['a b', 'c'] } },
    );
    assert.deepEqual(headers, {
      accept: 'application/json',
      'x-remote-user': 'alice',
      'x-remote-uid': 'u-1',
      'x-remote-group': ['devs', 'system:authenticated'],
      'x-remote-extra-example.com%2Fteam': ['a b', 'c'],
    });
  });
});

interface Seen {
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  /** The verified client certificate's CN, if any. */
  readonly client: string | undefined;
}

describe('AggregatorDouble', () => {
  let servingCA: Issued;
  let frontProxyCA: Issued;
  let clientCA: Issued;
  let service: Server;
  let serviceUrl: string;
  let core: KubeApiDouble;
  let aggregator: AggregatorDouble;
  const seen: Seen[] = [];
  /** What the service answers GET /apis/<g>/<v> with (its availability). */
  let versionStatus = 200;
  let aggregatedStatus = 200;

  function answer(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
    res.writeHead(code, { 'Content-Type': contentType });
    res.end(JSON.stringify(body));
  }

  before(async () => {
    servingCA = await issueCA('serving-ca');
    frontProxyCA = await issueCA('front-proxy-ca');
    clientCA = await issueCA('client-ca');
    const serving = await issueServing(servingCA);
    service = createServer({ cert: serving.cert, key: serving.key, requestCert: true, rejectUnauthorized: false, ca: frontProxyCA.cert }, (req, res) => {
      const socket = req.socket as TLSSocket;
      const cn = socket.authorized ? (socket.getPeerCertificate().subject as unknown as Record<string, string>)['CN'] : undefined;
      seen.push({ url: req.url ?? '', headers: req.headers, client: cn });
      const path = (req.url ?? '').split('?')[0];
      if (path === '/apis') {
        if (aggregatedStatus !== 200) return answer(res, aggregatedStatus, {});
        return answer(
          res,
          200,
          {
            kind: 'APIGroupDiscoveryList',
            apiVersion: 'apidiscovery.k8s.io/v2',
            metadata: {},
            items: [
              {
                metadata: { name: 'metrics.k8s.io' },
                versions: [
                  {
                    version: 'v1beta1',
                    resources: [{ resource: 'pods', responseKind: { group: '', version: '', kind: 'PodMetrics' }, scope: 'Namespaced', singularResource: '', verbs: ['get', 'list'] }],
                  },
                ],
              },
            ],
          },
          'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
        );
      }
      if (path === '/apis/metrics.k8s.io/v1beta1') {
        return answer(res, versionStatus, {
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion: 'metrics.k8s.io/v1beta1',
          resources: [{ name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] }],
        });
      }
      answer(res, 200, { kind: 'Echo', url: req.url });
    });
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    serviceUrl = `https://127.0.0.1:${(service.address() as AddressInfo).port}`;
    core = await KubeApiDouble.start();
    core.addObject('nodes', { name: 'node-1', status: { allocatable: { cpu: '2' } } });
    const aggServing = await issueServing(servingCA);
    aggregator = await AggregatorDouble.start({
      local: { url: core.url },
      serving: aggServing,
      proxyClient: await issueClient(frontProxyCA, 'front-proxy-client'),
      clientCA: clientCA.cert,
      tokens: { 'alice-token': { name: 'alice', groups: ['devs'] } },
    });
    aggregator.registerAPIService({ group: 'metrics.k8s.io', version: 'v1beta1', url: serviceUrl, caBundle: servingCA.cert, groupPriorityMinimum: 100, versionPriority: 100 });
    aggregator.registerAPIService({ group: 'metrics.k8s.io', version: 'v1', url: serviceUrl, caBundle: servingCA.cert, groupPriorityMinimum: 100, versionPriority: 200 });
  });

  after(async () => {
    await aggregator?.close();
    await core?.close();
    service?.closeAllConnections();
    await new Promise<void>((resolve) => (service ? service.close(() => resolve()) : resolve()));
  });

  const asAlice = { headers: { Authorization: 'Bearer alice-token' } };
  const lastProxied = (): Seen => seen.filter((s) => s.headers['x-remote-user'] !== 'system:kube-aggregator').at(-1) as Seen;

  test('a request without credentials, or with an unknown token, gets 401 Unauthorized', async () => {
    for (const headers of [{}, { Authorization: 'Bearer nobody' }] as Record<string, string>[]) {
      const r = await httpsCall(`${aggregator.url}/api/v1/nodes`, servingCA.cert, { headers });
      assert.equal(r.status, 401);
      assert.equal(r.body.reason, 'Unauthorized');
    }
  });

  test('paths no APIService claims reach the core API server', async () => {
    const r = await httpsCall(`${aggregator.url}/api/v1/nodes`, servingCA.cert, asAlice);
    assert.equal(r.status, 200);
    assert.deepEqual(
      (r.body.items as { status: unknown }[]).map((n) => n.status),
      [{ allocatable: { cpu: '2' } }],
    );
  });

  test("a proxied request carries the front-proxy certificate and the user's identity headers, none of the caller's own", async () => {
    const r = await httpsCall(`${aggregator.url}/apis/metrics.k8s.io/v1beta1/namespaces/default/pods`, servingCA.cert, {
      headers: { Authorization: 'Bearer alice-token', 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters', 'X-Remote-Extra-Scopes': 'all' },
    });
    assert.equal(r.status, 200);
    const s = lastProxied();
    assert.equal(s.client, 'front-proxy-client');
    assert.equal(s.headers['x-remote-user'], 'alice');
    assert.equal(s.headers['x-remote-group'], 'devs, system:authenticated');
    assert.equal(s.headers.authorization, undefined);
    assert.equal(s.headers['x-remote-extra-scopes'], undefined);
  });

  test('a client certificate signed by the client CA authenticates its CN as the user and its O as groups', async () => {
    const bob = await issueClient(clientCA, 'bob', { organizations: ['ops'] });
    const r = await httpsCall(`${aggregator.url}/apis/metrics.k8s.io/v1beta1/nodes`, servingCA.cert, { client: bob });
    assert.equal(r.status, 200);
    assert.equal(lastProxied().headers['x-remote-user'], 'bob');
    assert.equal(lastProxied().headers['x-remote-group'], 'ops, system:authenticated');
  });

  test("the path is re-escaped and the query re-encoded as Go's url.Values.Encode does", async () => {
    await httpsCall(`${aggregator.url}/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/%2A?labelSelector=app%20in%20(a,b)&fieldSelector=metadata.name%3Dx&limit=5`, servingCA.cert, asAlice);
    assert.equal(lastProxied().url, '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/%2A?fieldSelector=metadata.name%3Dx&labelSelector=app+in+%28a%2Cb%29&limit=5');
  });

  test('before proxying it checks the group-version as system:kube-aggregator in system:masters', async () => {
    const from = seen.length;
    await httpsCall(`${aggregator.url}/apis/metrics.k8s.io/v1beta1/nodes`, servingCA.cert, asAlice);
    const check = seen.slice(from).find((s) => s.headers['x-remote-user'] === 'system:kube-aggregator');
    assert.equal(check?.url, '/apis/metrics.k8s.io/v1beta1');
    assert.equal(check?.headers['x-remote-group'], 'system:masters');
    assert.equal(check?.client, 'front-proxy-client');
  });

  test('a service whose group-version does not answer 2xx makes proxied requests a plain-text 503', async () => {
    versionStatus = 404;
    try {
      const r = await httpsCall(`${aggregator.url}/apis/metrics.k8s.io/v1beta1/nodes`, servingCA.cert, asAlice);
      assert.equal(r.status, 503);
      assert.deepEqual(r.body, { text: 'service unavailable\n' });
    } finally {
      versionStatus = 200;
    }
  });

  test('a version of an APIService group that is not registered is a 404', async () => {
    const r = await httpsCall(`${aggregator.url}/apis/metrics.k8s.io/v2/nodes`, servingCA.cert, asAlice);
    assert.equal(r.status, 404);
    assert.equal(r.body.reason, 'NotFound');
  });

  test('/apis/<group> of an APIService group prefers the highest versionPriority', async () => {
    const r = await httpsCall(`${aggregator.url}/apis/metrics.k8s.io`, servingCA.cert, asAlice);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.versions, [
      { groupVersion: 'metrics.k8s.io/v1', version: 'v1' },
      { groupVersion: 'metrics.k8s.io/v1beta1', version: 'v1beta1' },
    ]);
    assert.deepEqual(r.body.preferredVersion, { groupVersion: 'metrics.k8s.io/v1', version: 'v1' });
  });

  test("legacy /apis lists the core server's groups and then APIService groups, even when unavailable", async () => {
    versionStatus = 503;
    try {
      const r = await httpsCall(`${aggregator.url}/apis`, servingCA.cert, { headers: { ...asAlice.headers, Accept: 'application/json' } });
      const names = (r.body.groups as { name: string }[]).map((g) => g.name);
      assert.equal(names.at(-1), 'metrics.k8s.io');
      assert.ok(names.includes('apps'));
    } finally {
      versionStatus = 200;
    }
  });

  test("aggregated /apis carries the service's own resources for a version it lists, none for one it does not", async () => {
    const r = await httpsCall(`${aggregator.url}/apis`, servingCA.cert, {
      headers: { ...asAlice.headers, Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' },
    });
    assert.equal(r.body.kind, 'APIGroupDiscoveryList');
    const metrics = (r.body.items as { metadata: { name: string }; versions: { version: string; resources: { resource: string }[]; freshness: string }[] }[]).find(
      (g) => g.metadata.name === 'metrics.k8s.io',
    );
    assert.deepEqual(
      metrics?.versions.map((v) => [v.version, v.freshness, v.resources.map((x) => x.resource)]),
      [
        ['v1', 'Current', []],
        ['v1beta1', 'Current', ['pods']],
      ],
    );
  });

  test('aggregated /apis publishes a group-version whose discovery fails as Stale with no resources', async () => {
    aggregatedStatus = 503;
    try {
      const r = await httpsCall(`${aggregator.url}/apis`, servingCA.cert, {
        headers: { ...asAlice.headers, Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' },
      });
      const metrics = (r.body.items as { metadata: { name: string }; versions: { version: string; resources: unknown[]; freshness: string }[] }[]).find((g) => g.metadata.name === 'metrics.k8s.io');
      assert.deepEqual(
        metrics?.versions.map((v) => [v.version, v.freshness, v.resources.length]),
        [
          ['v1', 'Stale', 0],
          ['v1beta1', 'Stale', 0],
        ],
      );
    } finally {
      aggregatedStatus = 200;
    }
  });
});
