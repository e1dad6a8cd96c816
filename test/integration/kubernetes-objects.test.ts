// The Kubernetes object source against an in-process double of the API
// server: discovery, one LIST then a WATCH per resource, its store and log
// around a 410 Gone relist, and what list() answers before the first sync.
// The list-then-watch protocol itself is tested in kube-reflector.test.ts.
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError, UnavailableError } from '../../adapter/errors.js';
import { kubeConfigFrom } from '../../adapter/kube/client.js';
import { parseLabelSelector } from '../../k8s/label-selector.js';
import { KubernetesObjectSource, type KubernetesObjectSourceOptions } from '../../adapter/objects/kubernetes.js';
import type { GroupResource } from '../../rules/resources.js';
import { eventually } from '../support/eventually.js';
import { KubeApiDouble } from '../support/kube-api-double.js';

const PODS: GroupResource = { group: '', resource: 'pods' };
const DEPLOYMENTS: GroupResource = { group: 'apps', resource: 'deployments' };
const NODES: GroupResource = { group: '', resource: 'nodes' };
const WIDGETS: GroupResource = { group: 'example.com', resource: 'widgets' };
const TOKEN = 'test-token';

const sel = (text: string) => parseLabelSelector(text);

let double: KubeApiDouble;
let sources: KubernetesObjectSource[];

function source(options: KubernetesObjectSourceOptions = {}): KubernetesObjectSource {
  const s = new KubernetesObjectSource(kubeConfigFrom({ server: double.url, token: TOKEN, insecureSkipTLSVerify: true }), {
    backoff: { initialMs: 20, maxMs: 200 },
    syncTimeoutMs: 2000,
    ...options,
  });
  sources.push(s);
  return s;
}

async function names(s: KubernetesObjectSource, gr: GroupResource, namespace: string | undefined, selector = ''): Promise<string[]> {
  return (await s.list(gr, namespace, sel(selector))).map((o) => o.name);
}

beforeEach(async () => {
  double = await KubeApiDouble.start({ token: TOKEN });
  sources = [];
  double.addObject('pods', { name: 'web-2', namespace: 'default', labels: { app: 'web', shard: '7' } });
  double.addObject('pods', { name: 'web-1', namespace: 'default', labels: { app: 'web', shard: '3' } });
  double.addObject('pods', { name: 'db-0', namespace: 'default', labels: { app: 'db' } });
  double.addObject('pods', { name: 'web-1', namespace: 'other', labels: { app: 'web' } });
  double.addObject('nodes', { name: 'node-b', labels: { pool: 'gpu' } });
  double.addObject('nodes', { name: 'node-a', labels: { pool: 'cpu' } });
});

afterEach(async () => {
  for (const s of sources) s.close();
  await double.close();
});

describe('discovery', () => {
  test('discovery resolves pods, deployments.apps and a custom resource', async () => {
    double.addResource({ group: 'example.com', versions: ['v1beta1', 'v1alpha1'], resource: 'widgets', kind: 'Widget', namespaced: true });
    const s = source();
    await s.start();
    assert.deepEqual(await s.describe(PODS), { kind: 'Pod', apiVersion: 'v1', namespaced: true });
    assert.deepEqual(await s.describe(DEPLOYMENTS), { kind: 'Deployment', apiVersion: 'apps/v1', namespaced: true });
    assert.deepEqual(await s.describe(NODES), { kind: 'Node', apiVersion: 'v1', namespaced: false });
    assert.deepEqual(await s.describe(WIDGETS), { kind: 'Widget', apiVersion: 'example.com/v1beta1', namespaced: true });
    // The group's preferred version wins over the others it serves.
    assert.equal((await s.describe({ group: 'autoscaling', resource: 'horizontalpodautoscalers' }))?.apiVersion, 'autoscaling/v2');
    assert.equal(await s.describe({ group: '', resource: 'foos' }), undefined);
    // Every request carried the credentials.
    assert.ok(double.requests.every((r) => r.authorization === `Bearer ${TOKEN}`));
  });

  test('warm() after close() starts no watch', async () => {
    const s = source();
    await s.start();
    s.close();
    await s.warm([PODS]);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(double.listCount('pods') + double.watchCount('pods'), 0);
  });

  test('the catalog is built from discovery, without subresources', async () => {
    double.addResource({ group: 'example.com', versions: ['v1'], resource: 'widgets', kind: 'Widget', namespaced: true, subresources: ['status'] });
    const s = source();
    await s.start();
    const catalog = s.catalog();
    const all = catalog.all().map((r) => (r.group ? `${r.resource}.${r.group}` : r.resource));
    assert.ok(all.includes('pods') && all.includes('deployments.apps') && all.includes('widgets.example.com'));
    assert.ok(!all.some((n) => n.includes('/')), `subresources leaked: ${all.join(' ')}`);
    assert.deepEqual(catalog.find(undefined, 'Widget'), [{ group: 'example.com', resource: 'widgets', singular: 'widget', kind: 'Widget', namespaced: true, version: 'v1' }]);
    assert.deepEqual(
      catalog.find('apps', 'deployment').map((r) => r.resource),
      ['deployments'],
    );
  });

  test('a resource created later is found once discovery refreshes', async () => {
    const s = source({ discoveryRefreshMs: 100 });
    await s.start();
    await assert.rejects(s.list(WIDGETS, 'default', []), NotFoundError);
    double.addResource({ group: 'example.com', versions: ['v1'], resource: 'widgets', kind: 'Widget', namespaced: true });
    double.addObject('widgets.example.com', { name: 'w', namespace: 'default' });
    // Within the refresh interval the miss is answered from the cached discovery.
    const before = double.discoveryCount();
    await assert.rejects(s.list(WIDGETS, 'default', []), NotFoundError);
    assert.equal(double.discoveryCount(), before);
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(await names(s, WIDGETS, 'default'), ['w']);
  });

  test('an unknown resource gives NotFoundError', async () => {
    const s = source();
    await assert.rejects(s.list({ group: '', resource: 'foos' }, 'default', []), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.equal(err.message, 'the server doesn\'t have a resource type "foos"');
      return true;
    });
    await assert.rejects(s.list({ group: 'example.com', resource: 'foos' }, 'default', []), /resource type "foos.example.com"/);
  });
});

describe('watch cache', () => {
  test('a wildcard list with a label selector returns the matching names, sorted', async () => {
    const s = source();
    assert.deepEqual(await names(s, PODS, 'default', 'app=web'), ['web-1', 'web-2']);
    assert.deepEqual(await names(s, PODS, 'default', 'app in (web,db)'), ['db-0', 'web-1', 'web-2']);
    assert.deepEqual(await names(s, PODS, 'default', 'shard>4'), ['web-2']);
    assert.deepEqual(await names(s, PODS, 'default', 'shard<4,app=web'), ['web-1']);
    assert.deepEqual(await names(s, PODS, 'other', 'app=web'), ['web-1']);
    assert.deepEqual(await names(s, PODS, 'empty', ''), []);
    const refs = await s.list(PODS, 'default', sel('app=db'));
    assert.deepEqual(refs, [{ name: 'db-0', namespace: 'default', labels: { app: 'db' } }]);
    // Root-scoped resources have no namespace.
    assert.deepEqual(await s.list(NODES, undefined, sel('pool')), [
      { name: 'node-a', labels: { pool: 'cpu' } },
      { name: 'node-b', labels: { pool: 'gpu' } },
    ]);
  });

  test('repeated lists are served from the cache after exactly one LIST', async () => {
    const s = source();
    for (let i = 0; i < 20; i++) assert.deepEqual(await names(s, PODS, 'default', 'app=web'), ['web-1', 'web-2']);
    await names(s, PODS, 'other');
    assert.equal(double.listCount('pods'), 1);
    const list = double.requests.find((r) => r.verb === 'list');
    // One cluster-wide LIST of metadata only.
    assert.equal(list?.path, '/api/v1/pods');
    assert.match(list?.accept ?? '', /as=PartialObjectMetadataList;g=meta\.k8s\.io;v=v1/);
    await eventually(() => assert.equal(double.openWatches('pods'), 1));
    const watch = double.requests.find((r) => r.verb === 'watch');
    assert.equal(watch?.query['allowWatchBookmarks'], 'true');
    assert.equal(watch?.query['resourceVersion'], double.resourceVersion);
    assert.match(watch?.accept ?? '', /as=PartialObjectMetadata;/);
  });

  test('deployments and custom resources get their own cache', async () => {
    double.addResource({ group: 'example.com', versions: ['v1'], resource: 'widgets', kind: 'Widget', namespaced: true });
    double.addObject('deployments.apps', { name: 'web', namespace: 'default', labels: { app: 'web' } });
    double.addObject('widgets.example.com', { name: 'gadget', namespace: 'default', labels: { app: 'web' } });
    const s = source();
    assert.deepEqual(await names(s, DEPLOYMENTS, 'default', 'app=web'), ['web']);
    assert.deepEqual(await names(s, WIDGETS, 'default', 'app=web'), ['gadget']);
    assert.equal(double.requests.find((r) => r.resource === 'deployments.apps' && r.verb === 'list')?.path, '/apis/apps/v1/deployments');
    assert.equal(double.requests.find((r) => r.resource === 'widgets.example.com' && r.verb === 'list')?.path, '/apis/example.com/v1/widgets');
  });

  test('an object added after the sync shows up through the watch without another LIST', async () => {
    const s = source();
    await names(s, PODS, 'default');
    await eventually(() => assert.equal(double.openWatches('pods'), 1));
    double.addObject('pods', { name: 'web-3', namespace: 'default', labels: { app: 'web' } });
    await eventually(async () => assert.deepEqual(await names(s, PODS, 'default', 'app=web'), ['web-1', 'web-2', 'web-3']));
    assert.equal(double.listCount('pods'), 1);
  });

  test('a deleted object disappears', async () => {
    const s = source();
    await names(s, PODS, 'default');
    await eventually(() => assert.equal(double.openWatches('pods'), 1));
    double.deleteObject('pods', { namespace: 'default', name: 'web-1' });
    await eventually(async () => assert.deepEqual(await names(s, PODS, 'default', 'app=web'), ['web-2']));
    assert.deepEqual(await names(s, PODS, 'other', 'app=web'), ['web-1']);
    assert.equal(double.listCount('pods'), 1);
  });

  test('a label change moves an object into and out of a selector', async () => {
    const s = source();
    await names(s, PODS, 'default');
    await eventually(() => assert.equal(double.openWatches('pods'), 1));
    double.updateLabels('pods', { namespace: 'default', name: 'db-0' }, { app: 'web' });
    await eventually(async () => assert.deepEqual(await names(s, PODS, 'default', 'app=web'), ['db-0', 'web-1', 'web-2']));
    double.updateLabels('pods', { namespace: 'default', name: 'web-2' }, { app: 'web-canary' });
    await eventually(async () => assert.deepEqual(await names(s, PODS, 'default', 'app=web'), ['db-0', 'web-1']));
    assert.deepEqual(await names(s, PODS, 'default', 'app=web-canary'), ['web-2']);
    assert.equal(double.listCount('pods'), 1);
  });

  test('the last known objects are served while a dropped watch reconnects', async () => {
    const s = source();
    await names(s, PODS, 'default');
    await eventually(() => assert.equal(double.openWatches('pods'), 1));
    double.dropWatches();
    double.addObject('pods', { name: 'web-4', namespace: 'default', labels: { app: 'web' } });
    assert.deepEqual(await names(s, PODS, 'default', 'app=web'), ['web-1', 'web-2']);
    await eventually(async () => assert.deepEqual(await names(s, PODS, 'default', 'app=web'), ['web-1', 'web-2', 'web-4']));
  });

  test('a 410 Gone on reconnect triggers a relist that replaces the cache', async () => {
    const logs: string[] = [];
    const s = source({ log: (m) => logs.push(m) });
    await names(s, PODS, 'default');
    await eventually(() => assert.equal(double.openWatches('pods'), 1));
    double.dropWatches();
    double.addObject('pods', { name: 'web-9', namespace: 'default', labels: { app: 'web' } });
    double.deleteObject('pods', { namespace: 'default', name: 'web-1' });
    double.compact();
    await eventually(async () => assert.deepEqual(await names(s, PODS, 'default', 'app=web'), ['web-2', 'web-9']));
    assert.equal(double.listCount('pods'), 2);
    assert.ok(
      logs.some((l) => l.includes('too old resource version') && l.includes('listing again')),
      logs.join('\n'),
    );
    const stats = s.stats().find((c) => c.resource === 'pods');
    assert.equal(stats?.relists, 1);
    // After the relist the watch resumes from the LIST's resourceVersion and follows changes again.
    await eventually(() => assert.equal(double.openWatches('pods'), 1));
    double.addObject('pods', { name: 'web-10', namespace: 'default', labels: { app: 'web' } });
    await eventually(async () => assert.deepEqual(await names(s, PODS, 'default', 'app=web'), ['web-10', 'web-2', 'web-9']));
  });
});

describe('before the first sync', () => {
  test('list() throws UnavailableError once its deadline passes while the LIST is delayed', async () => {
    double.setListDelay(1000);
    const s = source({ syncTimeoutMs: 150 });
    await s.start();
    const started = Date.now();
    await assert.rejects(s.list(PODS, 'default', []), (err: unknown) => {
      assert.ok(err instanceof UnavailableError);
      assert.equal(err.message, 'watch cache for pods is not synced yet');
      return true;
    });
    const waited = Date.now() - started;
    assert.ok(waited >= 140 && waited < 900, `waited ${waited} ms`);
    assert.equal(s.notReadyReason(), 'watch cache for pods is not synced yet');
    // The delayed LIST still completes and the cache becomes usable.
    await eventually(async () => assert.deepEqual(await names(s, PODS, 'default', 'app=web'), ['web-1', 'web-2']));
    assert.equal(s.notReadyReason(), undefined);
    assert.equal(double.listCount('pods'), 1);
  });

  test('a failing LIST is retried with backoff and its error explains the wait', async () => {
    double.failNext('list', 3, 403, 'pods is forbidden: User "system:serviceaccount:x:y" cannot list resource "pods"');
    const s = source({ syncTimeoutMs: 5, backoff: { initialMs: 40, maxMs: 80 } });
    await s.start();
    await assert.rejects(s.list(PODS, 'default', []), UnavailableError);
    await eventually(async () => {
      await assert.rejects(s.list(PODS, 'default', []), /not synced yet: list pods: 403 Forbidden: pods is forbidden/);
    });
    await eventually(async () => assert.deepEqual(await names(s, PODS, 'default', 'app=db'), ['db-0']));
    assert.equal(double.listCount('pods'), 4);
  });

  test('readiness reports discovery that has not succeeded', async () => {
    double.failNext('discovery', 2, 503, 'the server is currently unable to handle the request');
    const s = source({ backoff: { initialMs: 20, maxMs: 40 } });
    await assert.rejects(s.start(), UnavailableError);
    assert.match(s.notReadyReason() ?? '', /discovery has not succeeded yet: GET \/ap(i|is): 503/);
    await eventually(() => assert.equal(s.notReadyReason(), undefined));
  });
});

describe('connection', () => {
  test('a kubeconfig file and a named context are honoured', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-kubeconfig-'));
    try {
      const path = join(dir, 'config');
      await writeFile(
        path,
        `apiVersion: v1
kind: Config
clusters:
- name: double
  cluster: {server: "${double.url}", insecure-skip-tls-verify: true}
- name: nowhere
  cluster: {server: "http://127.0.0.1:9", insecure-skip-tls-verify: true}
users:
- name: tester
  user: {token: ${TOKEN}}
contexts:
- name: wrong
  context: {cluster: nowhere, user: tester}
- name: right
  context: {cluster: double, user: tester}
current-context: wrong
`,
      );
      const s = new KubernetesObjectSource(kubeConfigFrom({ kubeconfigPath: path, context: 'right' }));
      sources.push(s);
      assert.deepEqual(await names(s, PODS, 'default', 'app=db'), ['db-0']);
      assert.throws(() => kubeConfigFrom({ kubeconfigPath: path, context: 'missing' }), /context "missing" is not in the kubeconfig/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('HTTPS is verified against the CA given as caData', async () => {
    const { generate } = await import('selfsigned');
    const pems = await generate([{ name: 'commonName', value: 'kube-apiserver' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
      ],
    });
    const tls = await KubeApiDouble.start({ token: TOKEN, tls: { cert: pems.cert, key: pems.private } });
    try {
      tls.addObject('pods', { name: 'secure', namespace: 'default', labels: { app: 'web' } });
      const opts: KubernetesObjectSourceOptions = { backoff: { initialMs: 20, maxMs: 200 } };
      const trusted = new KubernetesObjectSource(kubeConfigFrom({ server: tls.url, token: TOKEN, caData: pems.cert }), opts);
      const untrusted = new KubernetesObjectSource(kubeConfigFrom({ server: tls.url, token: TOKEN }), opts);
      sources.push(trusted, untrusted);
      assert.deepEqual(await names(trusted, PODS, 'default', 'app=web'), ['secure']);
      await assert.rejects(untrusted.start(), /discovery failed: .*self[- ]signed certificate/);
      trusted.close();
      untrusted.close();
    } finally {
      await tls.close();
    }
  });

  test('plain HTTP without insecure-skip-tls-verify is refused up front', () => {
    assert.throws(() => kubeConfigFrom({ server: double.url, token: TOKEN }), /is plain HTTP: set insecure-skip-tls-verify/);
  });
});

describe('shutdown', () => {
  test('close() stops every watch and timer and rejects later calls', async () => {
    double.addObject('deployments.apps', { name: 'web', namespace: 'default' });
    const s = source({ discoveryRefreshMs: 10 });
    await names(s, PODS, 'default');
    await names(s, DEPLOYMENTS, 'default');
    await eventually(() => assert.equal(double.openWatches(), 2));
    // A catalog miss starts a background discovery refresh; close() must not wait for it.
    s.catalog().find(undefined, 'nothing-by-this-name');
    s.close();
    await eventually(() => assert.equal(double.openWatches(), 0));
    await assert.rejects(s.list(PODS, 'default', []), UnavailableError);
    assert.equal(s.notReadyReason(), 'the Kubernetes object source is closed');
    await double.close();
    // Nothing of ours is left: no sockets, servers or timers keep the process alive.
    await eventually(() => {
      const left = process.getActiveResourcesInfo().filter((r) => r !== 'PipeWrap' && r !== 'TTYWrap');
      assert.deepEqual(left, []);
    });
  });

  test('close() during a pending first sync releases the waiting list()', async () => {
    double.setListDelay(5000);
    const s = source({ syncTimeoutMs: 5000 });
    const pending = s.list(PODS, 'default', []);
    await eventually(() => assert.equal(double.listCount('pods'), 1));
    const started = Date.now();
    s.close();
    await assert.rejects(pending, UnavailableError);
    assert.ok(Date.now() - started < 1000);
  });
});
