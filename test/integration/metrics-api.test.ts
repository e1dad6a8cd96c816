// The metrics APIs end to end: the real server stack over HTTPS, a real
// Prometheus scraping an in-test exporter, objects from kube-state-metrics
// series. Every value is checked against Prometheus queried directly.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { startExporter, type Exporter } from '../support/exporter.js';
import { startPrometheus, type PrometheusInstance } from '../support/prometheus.js';
import { fixturePath } from '../support/fixtures.js';
import { testServeConfig } from '../support/serve-config.js';
import { startServer, type RunningServer, type ServeConfig } from '../../cli/serve.js';
import { silentLogger } from '../../adapter/log.js';
import { formatMilli, toMilli } from '../../k8s/quantity.js';
import { KubeApiDouble } from '../support/kube-api-double.js';
import { writeKubeconfig } from '../support/kubeconfig.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CUSTOM = '/apis/custom.metrics.k8s.io';
const EXTERNAL = '/apis/external.metrics.k8s.io/v1beta1';
const BIG_PODS = 500;

let exporter: Exporter;
let prom: PrometheusInstance;
let server: RunningServer;

/** The serve configuration of these tests: loopback, an ephemeral port, short deadlines. */
function serverConfig(over: Partial<ServeConfig>): ServeConfig {
  return testServeConfig(prom.url, [fixturePath('rules/adapter-test.yaml')], over);
}

function get(path: string) {
  return request(server.url).get(path).disableTLSCerts();
}

async function direct(expr: string): Promise<string> {
  return formatMilli(toMilli(await prom.queryScalar(expr)).milli);
}

describe('metrics APIs against a real Prometheus', () => {
  before(async () => {
    exporter = await startExporter();
    const pods: [string, string, string][] = [
      ['default', 'web-1', 'web'],
      ['default', 'web-2', 'web'],
      ['default', 'batch-1', 'batch'],
      ['other', 'web-9', 'web'],
    ];
    for (const [namespace, pod, app] of pods) {
      exporter.set('kube_pod_labels', { namespace, pod, label_app: app }, 1);
      exporter.set('http_requests_total', { namespace, pod }, 100 + pod.length);
      exporter.set('memory_used_bytes', { namespace, pod }, 1.5e9 + pod.length);
    }
    for (let i = 0; i < BIG_PODS; i++) {
      const pod = `big-${String(i).padStart(4, '0')}`;
      exporter.set('kube_pod_labels', { namespace: 'big', pod, label_app: 'big' }, 1);
      exporter.set('memory_used_bytes', { namespace: 'big', pod }, 1000 + i * 0.25);
    }
    exporter.set('namespace_load', { namespace: 'default' }, 3.25);
    exporter.set('node_load', { node: 'node-1' }, 0.5);
    exporter.set('queue_messages_ready', { namespace: 'default', queue: 'orders' }, 42);
    exporter.set('queue_messages_ready', { namespace: 'default', queue: 'emails' }, 7);
    exporter.set('queue_messages_ready', { namespace: 'other', queue: 'orders' }, 1000);
    exporter.setRaw('nan_gauge{namespace="default",pod="web-1"} NaN');
    // A pod whose name, read as a regex, also matches another pod's name.
    exporter.set('lvbn_max', { namespace: 'accept', pod: 'web.1' }, 1);
    exporter.set('lvbn_max', { namespace: 'accept', pod: 'webx1' }, 99);
    prom = await startPrometheus({ scrapeTargets: [exporter.address], scrapeIntervalSeconds: 1 });
    // A second, higher counter sample so rate() has something to say.
    exporter.add('http_requests_total', { namespace: 'default', pod: 'web-1' }, 60);
    await prom.waitForSeries('http_requests_total{pod="web-1"}', { minSamples: 3 });
    server = await startServer(serverConfig({ objectSource: 'prometheus' }), silentLogger);
    await server.discovery.relist();
  });

  after(async () => {
    await server?.close();
    await prom?.stop();
    await exporter?.close();
  });

  describe('discovery', () => {
    for (const version of ['v1beta1', 'v1beta2']) {
      test(`${version} lists every discovered metric with its resource and scope`, async () => {
        const res = await get(`${CUSTOM}/${version}`)
          .expect(200)
          .expect('Content-Type', /application\/json/);
        assert.equal(res.body.kind, 'APIResourceList');
        assert.equal(res.body.groupVersion, `custom.metrics.k8s.io/${version}`);
        const byName = new Map((res.body.resources as { name: string; namespaced: boolean; kind: string; verbs: string[] }[]).map((r) => [r.name, r]));
        assert.equal(byName.get('pods/http_requests_per_second')?.namespaced, true);
        assert.equal(byName.get('pods/memory_used_bytes')?.namespaced, true);
        assert.equal(byName.get('namespaces/namespace_load')?.namespaced, false);
        assert.equal(byName.get('nodes/node_load')?.namespaced, false);
        assert.deepEqual(byName.get('pods/memory_used_bytes')?.verbs, ['get']);
        assert.equal(byName.get('pods/memory_used_bytes')?.kind, 'MetricValueList');
      });
    }

    test('external discovery lists bare metric names', async () => {
      const res = await get(EXTERNAL).expect(200);
      assert.deepEqual(
        res.body.resources.map((r: { name: string }) => r.name),
        ['queue_messages_ready'],
      );
      assert.equal(res.body.resources[0].kind, 'ExternalMetricValueList');
    });

    test('the group list names both groups with v1beta2 preferred for custom metrics', async () => {
      const res = await get('/apis').expect(200);
      assert.equal(res.body.kind, 'APIGroupList');
      assert.equal(res.body.groups[0].preferredVersion.version, 'v1beta2');
    });

    test('the OpenAPI v2 document is served as JSON, and 304 for its ETag', async () => {
      const res = await get('/openapi/v2').set('Accept', 'application/json').expect(200).expect('Content-Type', 'application/json');
      assert.equal(res.body.swagger, '2.0');
      await get('/openapi/v2').set('If-None-Match', String(res.headers.etag)).expect(304);
    });

    test('the OpenAPI v3 root names a document for each group-version, and each is served', async () => {
      const root = await get('/openapi/v3').expect(200);
      const urls = Object.values(root.body.paths as Record<string, { serverRelativeURL: string }>).map((p) => p.serverRelativeURL);
      assert.equal(urls.length, 3);
      for (const url of urls) {
        const doc = await get(url).set('Accept', 'application/json').expect(200);
        assert.equal(doc.body.openapi, '3.0.0');
      }
    });
  });

  describe('object metrics', () => {
    test('a named pod in v1beta2 has the value Prometheus returns, as a canonical quantity', async () => {
      const res = await get(`${CUSTOM}/v1beta2/namespaces/default/pods/web-2/memory_used_bytes`).expect(200);
      assert.equal(res.body.kind, 'MetricValueList');
      assert.equal(res.body.apiVersion, 'custom.metrics.k8s.io/v1beta2');
      assert.deepEqual(res.body.metadata, {});
      const [item] = res.body.items;
      assert.deepEqual(item.describedObject, { kind: 'Pod', namespace: 'default', name: 'web-2', apiVersion: 'v1' });
      assert.equal(item.metric.name, 'memory_used_bytes');
      assert.equal(item.value, await direct('sum(memory_used_bytes{namespace="default",pod="web-2"})'));
      assert.equal(item.value, '1500000005');
      assert.match(item.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });

    test('HEAD answers with the status and headers of GET and no body', async () => {
      const path = `${CUSTOM}/v1beta2/namespaces/default/pods/web-2/memory_used_bytes`;
      const full = await get(path).expect(200);
      const head = await request(server.url).head(path).disableTLSCerts().expect(200);
      assert.equal(head.headers['content-type'], 'application/json');
      assert.equal(head.headers['content-length'], full.headers['content-length']);
      assert.equal(head.text, undefined);
    });

    test('a POST to a metrics path is a 405 Status', async () => {
      const res = await request(server.url).post(`${CUSTOM}/v1beta2/namespaces/default/pods/web-2/memory_used_bytes`).disableTLSCerts().expect(405);
      assert.equal(res.body.kind, 'Status');
      assert.equal(res.body.reason, 'MethodNotAllowed');
    });

    test('a named pod in v1beta1 uses metricName and carries a null selector', async () => {
      const res = await get(`${CUSTOM}/v1beta1/namespaces/default/pods/web-2/memory_used_bytes`).expect(200);
      const [item] = res.body.items;
      assert.equal(item.metricName, 'memory_used_bytes');
      assert.equal(item.selector, null);
      assert.equal(item.value, '1500000005');
    });

    for (const version of ['v1beta1', 'v1beta2']) {
      test(`a ${version} pods wildcard sent as %2A with a labelSelector returns exactly the matching pods`, async () => {
        const res = await get(`${CUSTOM}/${version}/namespaces/default/pods/%2A/memory_used_bytes?labelSelector=app%3Dweb`).expect(200);
        const names = res.body.items.map((i: { describedObject: { name: string } }) => i.describedObject.name);
        assert.deepEqual(names, ['web-1', 'web-2']);
        for (const item of res.body.items) {
          assert.equal(item.value, await direct(`sum(memory_used_bytes{namespace="default",pod="${item.describedObject.name}"})`));
        }
      });
    }

    test('a set-based labelSelector is honoured', async () => {
      const res = await get(`${CUSTOM}/v1beta2/namespaces/default/pods/*/memory_used_bytes?labelSelector=app%20in%20(batch)`).expect(200);
      assert.deepEqual(
        res.body.items.map((i: { describedObject: { name: string } }) => i.describedObject.name),
        ['batch-1'],
      );
    });

    test('a rate rule reports its window and the sample timestamp', async () => {
      const res = await get(`${CUSTOM}/v1beta2/namespaces/default/pods/web-1/http_requests_per_second`).expect(200);
      const [item] = res.body.items;
      assert.equal(item.windowSeconds, 60);
      const direct = await prom.query('sum(rate(http_requests_total{namespace="default",pod="web-1"}[1m])) by (pod)');
      const sampleTime = new Date((direct[0]?.value[0] ?? 0) * 1000);
      const served = new Date(item.timestamp);
      assert.ok(Math.abs(served.getTime() - sampleTime.getTime()) < 10_000, `${item.timestamp} vs ${sampleTime.toISOString()}`);
      assert.notEqual(item.value, '0');
    });

    test('the metric of a Namespace object is served at namespaces/{ns}/metrics/{metric}', async () => {
      const res = await get(`${CUSTOM}/v1beta2/namespaces/default/metrics/namespace_load`).expect(200);
      const [item] = res.body.items;
      assert.deepEqual(item.describedObject, { kind: 'Namespace', name: 'default', apiVersion: 'v1' });
      assert.equal(item.value, '3250m');
    });

    test('a root-scoped node metric is served without a namespace', async () => {
      const res = await get(`${CUSTOM}/v1beta1/nodes/node-1/node_load`).expect(200);
      assert.deepEqual(res.body.items[0].describedObject, { kind: 'Node', name: 'node-1', apiVersion: 'v1' });
      assert.equal(res.body.items[0].value, '500m');
    });

    test('through .LabelValuesByName, the pod web.1 gets its own value and not that of webx1', async () => {
      const res = await get(`${CUSTOM}/v1beta2/namespaces/accept/pods/web.1/lvbn_max`).expect(200);
      assert.deepEqual(
        res.body.items.map((i: { describedObject: { name: string }; value: string }) => [i.describedObject.name, i.value]),
        [['web.1', await direct('max(lvbn_max{namespace="accept",pod="web.1"})')]],
      );
      assert.equal(res.body.items[0].value, '1');
    });

    test(`a wildcard over ${BIG_PODS} pods in one namespace returns every value`, async () => {
      const res = await get(`${CUSTOM}/v1beta2/namespaces/big/pods/%2A/memory_used_bytes`).expect(200);
      assert.equal(res.body.items.length, BIG_PODS);
      const last = res.body.items[BIG_PODS - 1];
      assert.equal(last.describedObject.name, 'big-0499');
      assert.equal(last.value, await direct('sum(memory_used_bytes{namespace="big",pod="big-0499"})'));
      assert.equal(last.value, '1124750m');
    });
  });

  describe('external metrics', () => {
    test('values are scoped to the request namespace, with their labels', async () => {
      const res = await get(`${EXTERNAL}/namespaces/default/queue_messages_ready`).expect(200);
      assert.equal(res.body.kind, 'ExternalMetricValueList');
      const byQueue = Object.fromEntries(res.body.items.map((i: { metricLabels: { queue: string }; value: string }) => [i.metricLabels.queue, i.value]));
      assert.deepEqual(byQueue, { emails: '7', orders: '42' });
      assert.equal(res.body.items[0].metricName, 'queue_messages_ready');
    });

    test('labelSelector narrows the external metric', async () => {
      const res = await get(`${EXTERNAL}/namespaces/default/queue_messages_ready?labelSelector=queue%3Dorders`).expect(200);
      assert.deepEqual(
        res.body.items.map((i: { value: string }) => i.value),
        [await direct('sum(queue_messages_ready{namespace="default",queue="orders"})')],
      );
    });
  });

  describe('errors are Kubernetes Status objects', () => {
    test('an unknown metric is a 404 naming the metric and what is known', async () => {
      const res = await get(`${CUSTOM}/v1beta2/namespaces/default/pods/web-1/no_such_metric`).expect(404);
      assert.equal(res.body.kind, 'Status');
      assert.equal(res.body.reason, 'NotFound');
      assert.match(res.body.message, /could not find the metric no_such_metric for pods; metrics known for it: .*memory_used_bytes/);
    });

    test('an invalid labelSelector is a 400', async () => {
      const res = await get(`${CUSTOM}/v1beta2/namespaces/default/pods/*/memory_used_bytes?labelSelector=app%3D%3D%3Dx`).expect(400);
      assert.equal(res.body.reason, 'BadRequest');
      assert.match(res.body.message, /invalid labelSelector/);
    });

    test('a > selector on an external metric is a 400, not a silently widened query', async () => {
      const res = await get(`${EXTERNAL}/namespaces/default/queue_messages_ready?labelSelector=queue%3E1`).expect(400);
      assert.match(res.body.message, /has no PromQL equivalent/);
    });

    const queriesAsked = () => server.cache.stats.misses + server.cache.stats.hits;
    const selectorKeyCases: { what: string; path: string; param: string; key: string; rule: RegExp }[] = [
      {
        what: 'an external labelSelector on example.com/queue',
        path: `${EXTERNAL}/namespaces/accept/queue_messages_ready?labelSelector=example.com%2Fqueue%3Djobs`,
        param: 'labelSelector',
        key: 'example.com/queue',
        rule: /rule externalRules\[0\] \(.*adapter-test\.yaml:\d+\)/,
      },
      {
        what: 'a metricLabelSelector on app.kubernetes.io/name',
        path: `${CUSTOM}/v1beta2/namespaces/default/pods/*/memory_used_bytes?labelSelector=app%3Dweb&metricLabelSelector=app.kubernetes.io%2Fname%3Dweb`,
        param: 'metricLabelSelector',
        key: 'app.kubernetes.io/name',
        rule: /rule rules\[1\] \(.*adapter-test\.yaml:\d+\)/,
      },
      {
        what: 'a metricLabelSelector on a key with a dash',
        path: `${CUSTOM}/v1beta1/namespaces/default/pods/web-1/memory_used_bytes?metricLabelSelector=tier-name%3Dfront`,
        param: 'metricLabelSelector',
        key: 'tier-name',
        rule: /rule rules\[1\] \(.*adapter-test\.yaml:\d+\)/,
      },
    ];
    for (const c of selectorKeyCases) {
      test(`${c.what} is a 400 naming the key and the rule, and asks Prometheus nothing`, async () => {
        const before = queriesAsked();
        const res = await get(c.path).expect(400);
        assert.equal(res.body.kind, 'Status');
        assert.equal(res.body.reason, 'BadRequest');
        assert.ok(res.body.message.startsWith(`${c.param} key ${JSON.stringify(c.key)} is not a Prometheus label name`), res.body.message);
        assert.match(res.body.message, c.rule);
        assert.equal(queriesAsked(), before);
      });
    }

    test('a wildcard matching no pods is a 404 naming the selector', async () => {
      const res = await get(`${CUSTOM}/v1beta2/namespaces/default/pods/*/memory_used_bytes?labelSelector=app%3Dnone`).expect(404);
      assert.match(res.body.message, /no pods matching app=none in namespace default/);
    });

    test('a NaN series is left out, and a request with nothing else is a 404 showing the query', async () => {
      const res = await get(`${CUSTOM}/v1beta2/namespaces/default/pods/web-1/nan_gauge`).expect(404);
      assert.match(res.body.message, /no values for metric nan_gauge on pods web-1 in namespace default.*query: sum\(nan_gauge\{namespace="default",pod="web-1"\}\)/);
    });

    test('an unknown path is a 404 Status', async () => {
      const res = await get('/apis/custom.metrics.k8s.io/v1beta2/what/is/this/path/here/now').expect(404);
      assert.equal(res.body.kind, 'Status');
    });

    test('a write method is a 405 Status', async () => {
      const res = await request(server.url).post(`${CUSTOM}/v1beta2`).disableTLSCerts().send({}).expect(405);
      assert.equal(res.body.reason, 'MethodNotAllowed');
    });
  });

  describe('caching', () => {
    test('identical concurrent requests share one Prometheus query', async () => {
      const before = server.cache.stats.misses;
      const responses = await Promise.all(Array.from({ length: 40 }, () => get(`${CUSTOM}/v1beta2/namespaces/other/pods/web-9/memory_used_bytes`)));
      for (const r of responses) assert.equal(r.status, 200);
      assert.equal(server.cache.stats.misses - before, 1);
    });
  });

  describe('with --object-source kubernetes (against a test double of the Kubernetes API)', () => {
    let double: KubeApiDouble;
    let kubeServer: RunningServer;
    let dir: string;
    const kget = (path: string) => request(kubeServer.url).get(path).disableTLSCerts();
    const names = (res: { body: { items: { describedObject: { name: string } }[] } }) => res.body.items.map((i) => i.describedObject.name);

    before(async () => {
      double = await KubeApiDouble.start();
      double.addObject('pods', { namespace: 'default', name: 'web-1', labels: { app: 'web' } });
      double.addObject('pods', { namespace: 'default', name: 'web-2', labels: { app: 'web' } });
      double.addObject('pods', { namespace: 'default', name: 'batch-1', labels: { app: 'batch' } });
      dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-kubeconfig-'));
      const kubeconfig = await writeKubeconfig(dir, double.url);
      kubeServer = await startServer(serverConfig({ objectSource: 'kubernetes', kubeconfig }), silentLogger);
      await kubeServer.discovery.relist();
    });

    after(async () => {
      await kubeServer?.close();
      await double?.close();
      await rm(dir, { recursive: true, force: true });
    });

    test('a wildcard with a labelSelector returns the pods the watch cache holds', async () => {
      const res = await kget(`${CUSTOM}/v1beta2/namespaces/default/pods/%2A/memory_used_bytes?labelSelector=app%3Dweb`).expect(200);
      assert.deepEqual(names(res), ['web-1', 'web-2']);
      assert.equal(res.body.items[0].value, await direct('sum(memory_used_bytes{namespace="default",pod="web-1"})'));
    });

    test('repeated wildcard requests cost one LIST, not one per request', async () => {
      for (let i = 0; i < 5; i++) {
        await kget(`${CUSTOM}/v1beta1/namespaces/default/pods/*/memory_used_bytes?labelSelector=app%3Dbatch`).expect(200);
      }
      assert.equal(double.listCount('pods'), 1);
    });

    test('a label change seen through the watch moves a pod out of the selector', async () => {
      double.updateLabels('pods', { namespace: 'default', name: 'web-2' }, { app: 'retired' });
      // Answers are cached for the 5 s TTL, so the change shows within about that.
      const deadline = Date.now() + 12_000;
      let got: string[] = [];
      while (Date.now() < deadline) {
        const res = await kget(`${CUSTOM}/v1beta2/namespaces/default/pods/*/memory_used_bytes?labelSelector=app%20in%20(web)`).expect(200);
        got = names(res);
        if (got.length === 1) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(got, ['web-1']);
    });
  });

  describe('Prometheus down', () => {
    test('a query while Prometheus is down is a 503 naming the rule, the query and the error; discovery keeps its list', async () => {
      const known = server.discovery.registry?.custom.size;
      await prom.halt();
      try {
        const res = await get(`${CUSTOM}/v1beta2/namespaces/other/pods/web-9/http_requests_per_second`).expect(503);
        assert.equal(res.body.reason, 'ServiceUnavailable');
        assert.match(
          res.body.message,
          /querying Prometheus for rule rules\[0\] \(.*adapter-test\.yaml:\d+\) failed: cannot reach Prometheus: ECONNREFUSED; query: sum\(rate\(http_requests_total\{namespace="other",pod="web-9"\}\[1m\]\)\) by \(pod\)/,
        );
        await server.discovery.relist();
        assert.equal(server.discovery.registry?.custom.size, known);
        assert.equal(server.discovery.status.errors.length > 0, true);
      } finally {
        await prom.resume();
      }
      await get(`${CUSTOM}/v1beta2/namespaces/other/pods/web-9/http_requests_per_second`).expect(200);
    });
  });
});
