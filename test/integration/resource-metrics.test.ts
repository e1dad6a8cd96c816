// metrics.k8s.io end to end with prometheus-adapter's default resourceRules
// (test/fixtures/rules/prometheus-adapter-resource-rules.yaml): the real
// server over HTTPS, a real Prometheus scraping an in-test exporter of
// cAdvisor-like and kubelet-like series, objects from kube-state-metrics
// series or from a test double of the Kubernetes API. Values are checked
// against Prometheus queried directly.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { silentLogger } from '../../adapter/log.js';
import { startServer, type RunningServer, type ServeConfig } from '../../cli/serve.js';
import { approximateFloat64, formatBytes, parseQuantity } from '../../k8s/quantity.js';
import { startExporter, type Exporter } from '../support/exporter.js';
import { fixturePath } from '../support/fixtures.js';
import { testServeConfig } from '../support/serve-config.js';
import { KubeApiDouble } from '../support/kube-api-double.js';
import { writeKubeconfig } from '../support/kubeconfig.js';
import { startPrometheus, type PrometheusInstance } from '../support/prometheus.js';

const R = '/apis/metrics.k8s.io/v1beta1';
/** Cores each container's counter gains per scrape (one second apart). */
const CORES_PER_SCRAPE: Readonly<Record<string, number>> = { app: 0.25, proxy: 0.01 };

let exporter: Exporter;
let prom: PrometheusInstance;
let server: RunningServer;
let ticking = true;
let ticker: Promise<void> | undefined;

function serverConfig(over: Partial<ServeConfig> = {}): ServeConfig {
  return testServeConfig(prom.url, [fixturePath('rules/prometheus-adapter-resource-rules.yaml')], over);
}

const get = (path: string, base = server.url) => request(base).get(path).disableTLSCerts();
const cores = (text: string): number => approximateFloat64(parseQuantity(text));
const names = (res: { body: { items: { metadata: { namespace?: string; name: string } }[] } }): string[] =>
  res.body.items.map((i) => (i.metadata.namespace ? `${i.metadata.namespace}/${i.metadata.name}` : i.metadata.name));

/** The pods of the exporter: namespace, name, app label, containers with cpu, containers with memory. */
const PODS: [string, string, string, string[], string[]][] = [
  ['default', 'web-1', 'web', ['app', 'proxy'], ['app', 'proxy']],
  ['default', 'web-2', 'web', ['app'], ['app']],
  // No memory series for its container: left out, never zero-filled.
  ['default', 'batch-1', 'batch', ['job'], []],
  ['other', 'web-1', 'web', ['app'], ['app']],
];

describe('metrics.k8s.io against a real Prometheus, with prometheus-adapter default resourceRules', () => {
  before(async () => {
    exporter = await startExporter();
    for (const [namespace, pod, app, cpu, memory] of PODS) {
      exporter.set('kube_pod_labels', { namespace, pod, label_app: app }, 1);
      for (const container of cpu) exporter.set('container_cpu_usage_seconds_total', { namespace, pod, container }, 100);
      for (const container of memory) exporter.set('container_memory_working_set_bytes', { namespace, pod, container }, container === 'app' ? 100 * 1024 * 1024 : 123456789);
      // The pod cgroup total (no container) and the pause container: not containers, never counted.
      exporter.set('container_cpu_usage_seconds_total', { namespace, pod, container: '' }, 1000);
      exporter.set('container_memory_working_set_bytes', { namespace, pod, container: '' }, 999 * 1024 * 1024);
      exporter.set('container_cpu_usage_seconds_total', { namespace, pod, container: 'POD' }, 5);
      exporter.set('container_memory_working_set_bytes', { namespace, pod, container: 'POD' }, 1024 * 1024);
    }
    for (const node of ['node-1', 'node-2']) {
      exporter.set('kube_node_labels', { node, label_role: 'worker' }, 1);
      exporter.set('node_cpu_usage_seconds_total', { node }, 5000);
    }
    // node-2 has no memory series: left out of lists.
    exporter.set('node_memory_working_set_bytes', { node: 'node-1' }, 8 * 1024 ** 3);
    prom = await startPrometheus({ scrapeTargets: [exporter.address], scrapeIntervalSeconds: 1 });
    // Counters that grow by a fixed amount between scrapes, so irate() has a steady value.
    ticker = (async () => {
      while (ticking) {
        await exporter.waitForScrape({ timeoutMs: 5_000 }).catch(() => undefined);
        for (const [namespace, pod, , cpu] of PODS) {
          for (const container of cpu) exporter.add('container_cpu_usage_seconds_total', { namespace, pod, container }, CORES_PER_SCRAPE[container] ?? 0.5);
        }
        for (const node of ['node-1', 'node-2']) exporter.add('node_cpu_usage_seconds_total', { node }, 1.5);
      }
    })();
    await prom.waitForSeries('container_cpu_usage_seconds_total{pod="web-1",container="app"}', { minSamples: 3, minSeries: 2 });
    server = await startServer(serverConfig(), silentLogger);
  });

  after(async () => {
    ticking = false;
    await ticker;
    await server?.close();
    await prom?.stop();
    await exporter?.close();
  });

  test('discovery lists metrics.k8s.io with pods and nodes', async () => {
    const groups = (await get('/apis').expect(200)).body.groups as { name: string; preferredVersion: { version: string } }[];
    assert.deepEqual(groups.find((g) => g.name === 'metrics.k8s.io')?.preferredVersion.version, 'v1beta1');
    const resources = (await get(R).expect(200)).body.resources as { name: string; kind: string }[];
    assert.deepEqual(
      resources.map((r) => `${r.name}:${r.kind}`),
      ['nodes:NodeMetrics', 'pods:PodMetrics'],
    );
  });

  test('a namespace lists its pods with every container; a pod lacking memory is left out', async () => {
    const res = await get(`${R}/namespaces/default/pods`)
      .expect(200)
      .expect('Content-Type', /application\/json/);
    assert.deepEqual([res.body.kind, res.body.apiVersion], ['PodMetricsList', 'metrics.k8s.io/v1beta1']);
    assert.deepEqual(names(res), ['default/web-1', 'default/web-2']);
    const web1 = res.body.items[0];
    assert.deepEqual(web1.metadata.labels, { app: 'web' });
    assert.deepEqual(
      web1.containers.map((c: { name: string }) => c.name),
      ['app', 'proxy'],
    );
  });

  test('memory is whole bytes, the value Prometheus has, and the cgroup total and pause container are not added', async () => {
    const res = await get(`${R}/namespaces/default/pods/web-1`).expect(200);
    const memory = Object.fromEntries(res.body.containers.map((c: { name: string; usage: { memory: string } }) => [c.name, c.usage.memory]));
    assert.deepEqual(memory, { app: '100Mi', proxy: '123456789' });
    const direct = await prom.queryScalar('sum(container_memory_working_set_bytes{namespace="default",pod="web-1",container="proxy"})');
    assert.equal(memory.proxy, formatBytes(direct).text);
  });

  test('cpu is the irate in cores, written in nanocores or millicores, close to Prometheus queried directly', async () => {
    const res = await get(`${R}/namespaces/default/pods/web-1`).expect(200);
    const cpu = Object.fromEntries(res.body.containers.map((c: { name: string; usage: { cpu: string } }) => [c.name, c.usage.cpu]));
    for (const [container, text] of Object.entries(cpu) as [string, string][]) {
      assert.match(text, /^\d+[nm]?$/);
      const direct = await prom.queryScalar(`sum(irate(container_cpu_usage_seconds_total{namespace="default",pod="web-1",container="${container}"}[4m]))`);
      assert.ok(Math.abs(cores(text) - direct) <= 0.05 * direct + 1e-9, `${container}: served ${text}, Prometheus ${direct}`);
      assert.ok(Math.abs(cores(text) - (CORES_PER_SCRAPE[container] ?? 0)) < 0.1 * (CORES_PER_SCRAPE[container] ?? 0), `${container}: ${text}`);
    }
  });

  test("the window is the cpu query's [4m] range, and the timestamp the samples' time", async () => {
    const res = await get(`${R}/namespaces/default/pods/web-2`).expect(200);
    assert.equal(res.body.window, '4m0s');
    assert.ok(Math.abs(Date.parse(res.body.timestamp) - Date.now()) < 15_000, res.body.timestamp);
    assert.match(res.body.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test('pods of every namespace, with label and field selectors', async () => {
    assert.deepEqual(names(await get(`${R}/pods`).expect(200)), ['default/web-1', 'default/web-2', 'other/web-1']);
    assert.deepEqual(names(await get(`${R}/pods?labelSelector=app%3Dweb&fieldSelector=metadata.namespace%21%3Ddefault`).expect(200)), ['other/web-1']);
    assert.deepEqual(names(await get(`${R}/namespaces/default/pods?fieldSelector=metadata.name%3Dweb-2`).expect(200)), ['default/web-2']);
  });

  test('a pod without memory is a 404 that says why; an unknown pod is a 404 too', async () => {
    const res = await get(`${R}/namespaces/default/pods/batch-1`).expect(404);
    assert.equal(res.body.message, 'podmetrics.metrics.k8s.io "default/batch-1" not found: container "job" has no memory value');
    assert.equal((await get(`${R}/namespaces/default/pods/web-9`).expect(404)).body.message, 'pods "web-9" not found');
  });

  test('nodes list the one with both values; a get of the other says memory is missing', async () => {
    const res = await get(`${R}/nodes`).expect(200);
    assert.deepEqual(names(res), ['node-1']);
    assert.deepEqual(res.body.items[0].metadata.labels, { role: 'worker' });
    assert.equal(res.body.items[0].usage.memory, '8Gi');
    assert.ok(Math.abs(cores(res.body.items[0].usage.cpu) - 1.5) < 0.15, res.body.items[0].usage.cpu);
    const missing = await get(`${R}/nodes/node-2`).expect(404);
    assert.equal(missing.body.message, 'nodemetrics.metrics.k8s.io "node-2" not found: the memory query returned no value for it');
  });

  test('v1 answers with the same shapes', async () => {
    const res = await get('/apis/metrics.k8s.io/v1/nodes/node-1').expect(200);
    assert.deepEqual([res.body.kind, res.body.apiVersion, res.body.usage.memory], ['NodeMetrics', 'metrics.k8s.io/v1', '8Gi']);
  });

  test('kubectl get podmetrics gets a Table', async () => {
    const res = await get(`${R}/namespaces/default/pods`).set('Accept', 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json').expect(200);
    assert.equal(res.body.kind, 'Table');
    assert.deepEqual(
      res.body.rows.map((r: { cells: string[] }) => [r.cells[0], r.cells[2], r.cells[3]]),
      [
        ['web-1', '228314389', '4m0s'],
        ['web-2', '100Mi', '4m0s'],
      ],
    );
  });

  test('identical requests share the cpu and memory queries through the cache', async () => {
    const before = server.cache.stats.misses;
    const responses = await Promise.all(Array.from({ length: 20 }, () => get(`${R}/namespaces/other/pods?labelSelector=app%3Dweb`)));
    for (const r of responses) assert.equal(r.status, 200);
    assert.ok(server.cache.stats.misses - before <= 3, `${server.cache.stats.misses - before} queries`);
  });

  describe('with --object-source kubernetes (against a test double of the Kubernetes API)', () => {
    let double: KubeApiDouble;
    let kubeServer: RunningServer;
    let dir: string;

    before(async () => {
      double = await KubeApiDouble.start();
      double.addObject('pods', { namespace: 'default', name: 'web-1', labels: { app: 'web' } });
      double.addObject('pods', { namespace: 'other', name: 'web-1', labels: { app: 'web' } });
      double.addObject('nodes', { name: 'node-1', labels: { 'kubernetes.io/os': 'linux' } });
      dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-kubeconfig-'));
      const kubeconfig = await writeKubeconfig(dir, double.url);
      kubeServer = await startServer(serverConfig({ objectSource: 'kubernetes', kubeconfig }), silentLogger);
    });

    after(async () => {
      await kubeServer?.close();
      await double?.close();
      await rm(dir, { recursive: true, force: true });
    });

    test('pods of every namespace come from the watch cache, with their Kubernetes labels', async () => {
      const res = await get(`${R}/pods?labelSelector=app%3Dweb`, kubeServer.url).expect(200);
      assert.deepEqual(names(res), ['default/web-1', 'other/web-1']);
    });

    test('nodes come from the watch cache, labels included', async () => {
      const res = await get(`${R}/nodes`, kubeServer.url).expect(200);
      assert.deepEqual(names(res), ['node-1']);
      assert.deepEqual(res.body.items[0].metadata.labels, { 'kubernetes.io/os': 'linux' });
    });
  });
});
