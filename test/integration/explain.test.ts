// `hpa-bridge explain` end to end: the command as main() runs it, real HPAs
// from public repositories (test/fixtures/hpa) and crafted stuck cases,
// against a real Prometheus scraping an in-test exporter. Expected replica
// counts are worked out here from the controller's formulas.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExporter, type Exporter } from '../support/exporter.js';
import { startPrometheus, type PrometheusInstance } from '../support/prometheus.js';
import { fixturePath } from '../support/fixtures.js';
import request from 'supertest';
import { main } from '../../cli/main.js';
import { startServer } from '../../cli/serve.js';
import { silentLogger } from '../../adapter/log.js';
import { testServeConfig } from '../support/serve-config.js';
import { KubeApiDouble } from '../support/kube-api-double.js';
import { writeKubeconfig } from '../support/kubeconfig.js';
import { responseOf, reviewOf, type Json as ReviewJson } from '../support/admission.js';

let exporter: Exporter;
let prom: PrometheusInstance;
let dir: string;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function explain(args: readonly string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(['explain', ...args], { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

interface Json {
  verdict: string;
  summary: string;
  exitCode: number;
  decision: { desiredReplicas: number; metricReplicas?: number; currentReplicas: number };
  metrics: { path: string; rule?: string; queries: string[]; values: { object: string; value: string }[]; replicas?: number; pods: { pod: string; state: string }[] }[];
}

async function explainJson(args: readonly string[]): Promise<Json & { code: number; stderr: string }> {
  const run = await explain([...args, '--format', 'json', '--prometheus-url', prom.url]);
  assert.equal(run.stderr, '', run.stderr);
  return { ...(JSON.parse(run.stdout) as Json), code: run.code, stderr: run.stderr };
}

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const hpa = (name: string) => fixturePath(`hpa/${name}`);

describe('hpa-bridge explain against a real Prometheus', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'explain-'));
    exporter = await startExporter();
    // hpa-01: requests waiting in namespace default, summed by the rule.
    exporter.set('vllm:num_requests_waiting', { namespace: 'default', pod: 'vllm-a' }, 2);
    exporter.set('vllm:num_requests_waiting', { namespace: 'default', pod: 'vllm-b' }, 1);
    exporter.set('kube_pod_labels', { namespace: 'default', pod: 'vllm-a', label_app: 'vllm' }, 1);
    // hpa-02: the desired replicas another controller publishes for the variant.
    exporter.set('wva_desired_replicas', { exported_namespace: 'llm-d-sim', variant_name: 'vllme-deployment-va' }, 4);
    // Another variant in the namespace: the HPA's metric selector must leave it out of the shared answer.
    exporter.set('wva_desired_replicas', { exported_namespace: 'llm-d-sim', variant_name: 'other-va' }, 9);
    // hpa-03: two pods serving 100 requests/s each, listed by kube-state-metrics.
    for (const pod of ['sample-httpserver-1', 'sample-httpserver-2']) {
      exporter.set('kube_pod_labels', { namespace: 'default', pod, label_app: 'sample-httpserver' }, 1);
      exporter.setRate('http_requests_total', { namespace: 'default', pod }, 100);
    }
    // The cpu case: two pods at 250m each.
    for (const pod of ['web-1', 'web-2']) {
      exporter.setRate('container_cpu_usage_seconds_total', { namespace: 'shop', pod, container: 'app' }, 0.25);
      exporter.set('container_memory_working_set_bytes', { namespace: 'shop', pod, container: 'app' }, 64 * 1024 * 1024);
    }
    prom = await startPrometheus({ scrapeTargets: [exporter.address] });
    await prom.waitForSeries('http_requests_total', { minSeries: 2, minSamples: 2 });
    await prom.waitForSeries('container_cpu_usage_seconds_total', { minSeries: 2, minSamples: 2 });
  });

  after(async () => {
    await prom.stop();
    await exporter.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('hpa-01 (Object, a Namespace): the rule sums 3 waiting requests against a Value target of 1, and maxReplicas 2 caps ceil(1 × 3)', async () => {
    const r = await explainJson([
      '-f',
      hpa('hpa-01-vllm-object-namespace.yaml'),
      '--workload',
      hpa('workload-01-vllm.yaml'),
      '--rules',
      fixturePath('rules/real-world/rules-04-vllm-production-stack.yaml'),
    ]);
    const metric = r.metrics[0];
    assert.equal(metric?.path, '/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/metrics/vllm_num_requests_waiting');
    assert.match(metric?.rule ?? '', /^rules\[0\] \(.*rules-04-vllm-production-stack\.yaml:\d+\)$/);
    assert.deepEqual(metric?.queries, ['sum by(namespace) (vllm:num_requests_waiting)']);
    assert.deepEqual(metric?.values, [{ object: 'namespaces/default', value: '3' }]);
    assert.equal(metric?.replicas, Math.ceil(1 * (3 / 1)));
    assert.equal(r.decision.desiredReplicas, 2);
    assert.equal(r.verdict, 'scaling');
    assert.equal(r.code, 0);
  });

  test('hpa-02 (External with a selector): 4 desired replicas at an AverageValue of 1 scale 2 to ceil(4 / 1)', async () => {
    const r = await explainJson([
      '-f',
      hpa('hpa-02-llm-d-wva-external-selector.yaml'),
      '--workload',
      hpa('workload-02-vllme.yaml'),
      '--rules',
      fixturePath('rules/real-world/rules-10-llm-d-wva.yaml'),
    ]);
    const metric = r.metrics[0];
    assert.equal(metric?.path, '/apis/external.metrics.k8s.io/v1beta1/namespaces/llm-d-sim/wva_desired_replicas?labelSelector=variant_name%3Dvllme-deployment-va');
    assert.equal(metric?.queries.length, 1);
    // The query keeps every label of its series, so the namespace's query is shared and filtered by the selector (docs/metrics-api.md).
    assert.equal(metric?.queries[0], 'wva_desired_replicas{exported_namespace="llm-d-sim"}');
    assert.deepEqual(
      metric?.values.map((v) => v.value),
      ['4'],
    );
    assert.equal(metric?.replicas, Math.ceil(4 / 1));
    assert.equal(r.decision.desiredReplicas, 4);
    assert.equal(r.verdict, 'scaling');
  });

  test('hpa-03 (Pods qps): two pods at about 100/s against 50 per pod want ceil(2 × 2), which the 100% policy allows', async () => {
    const r = await explainJson(['-f', hpa('hpa-03-addozhang-pods-qps.yaml'), '--workload', hpa('workload-03-httpserver.yaml'), '--rules', fixturePath('hpa/rules-03-qps.yaml')]);
    const metric = r.metrics[0];
    assert.equal(metric?.path, '/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/%2A/http_requests_qps?labelSelector=app%3Dsample-httpserver');
    assert.deepEqual(
      metric?.values.map((v) => v.object),
      ['pod/sample-httpserver-1', 'pod/sample-httpserver-2'],
    );
    // The rule is object-separable, so the query is the namespace-wide one every HPA there shares (docs/metrics-api.md).
    assert.match(metric?.queries[0] ?? '', /rate\(http_requests_total\{namespace="default"\}/);
    const perPod = Number(metric?.values[0]?.value.replace(/m$/, '')) / (metric?.values[0]?.value.endsWith('m') ? 1000 : 1);
    assert.equal(metric?.replicas, Math.ceil(2 * (perPod / 50)));
    // Percent 100 per 15 s from 2 allows ceil(2 × 2) = 4.
    assert.equal(r.decision.desiredReplicas, Math.min(4, Math.ceil(2 * (perPod / 50))));
    assert.equal(r.verdict, 'scaling');
  });

  test('a Pods metric no rule serves: <unknown>, not scaling, exit 1', async () => {
    const path = await file(
      'unserved.yaml',
      'apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: sample, namespace: default}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: sample-httpserver}\n  maxReplicas: 5\n  metrics:\n  - type: Pods\n    pods:\n      metric: {name: http_latency_p99}\n      target: {type: AverageValue, averageValue: 200m}\n',
    );
    const r = await explainJson(['-f', path, '--workload', hpa('workload-03-httpserver.yaml'), '--rules', fixturePath('hpa/rules-03-qps.yaml')]);
    assert.equal(r.verdict, 'not-scaling');
    assert.equal(r.code, 1);
    assert.equal(r.decision.desiredReplicas, 2);
    assert.equal(r.summary, '<unknown>: Pods http_latency_p99: no loaded rule serves it');
  });

  test('an External selector that matches no series: <unknown>, with the rule named', async () => {
    const path = await file(
      'nomatch.yaml',
      (await import('node:fs')).readFileSync(hpa('hpa-02-llm-d-wva-external-selector.yaml'), 'utf8').replace('variant_name: vllme-deployment-va', 'variant_name: no-such-variant'),
    );
    const r = await explainJson(['-f', path, '--workload', hpa('workload-02-vllme.yaml'), '--rules', fixturePath('rules/real-world/rules-10-llm-d-wva.yaml')]);
    assert.equal(r.verdict, 'not-scaling');
    assert.equal(r.decision.desiredReplicas, 2);
    assert.match(r.summary, /^<unknown>: External wva_desired_replicas: the rule externalRules\[0\] \(.*\) answers no value/);
  });

  test('a pod without a cpu request stops a cpu HPA, and the sentence says the webhook would add 100m', async () => {
    const hpaPath = await file(
      'cpu.yaml',
      'apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web, namespace: shop}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  maxReplicas: 10\n  metrics:\n  - type: Resource\n    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}\n',
    );
    const workload = await file(
      'web.yaml',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: app, image: web}]}\n',
    );
    const pod = (name: string, request: string) =>
      `- apiVersion: v1\n  kind: Pod\n  metadata: {name: ${name}, namespace: shop, labels: {app: web}}\n  spec: {containers: [{name: app, image: web${request}}]}\n  status: {phase: Running, startTime: '2020-01-01T00:00:00Z', conditions: [{type: Ready, status: 'True', lastTransitionTime: '2020-01-01T00:00:00Z'}]}\n`;
    const pods = await file('pods.yaml', `apiVersion: v1\nkind: PodList\nitems:\n${pod('web-1', ', resources: {requests: {cpu: 200m}}')}${pod('web-2', '')}`);
    const r = await explainJson(['-f', hpaPath, '--workload', workload, '--pods', pods, '--rules', 'rules/examples']);
    assert.equal(r.metrics[0]?.path, '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods?labelSelector=app%3Dweb');
    assert.deepEqual(
      r.metrics[0]?.pods.map((p) => `${p.pod}:${p.state}`),
      ['web-1:counted', 'web-2:no-request'],
    );
    assert.equal(r.verdict, 'not-scaling');
    assert.equal(r.decision.desiredReplicas, 2);
    assert.equal(r.summary, 'not scaling: 1 of 2 pods have no cpu request (the defaults webhook would add 100m when the workload is next applied)');
  });

  test('from a cluster (the Kubernetes API double): the HPA, its Deployment, its pods and the namespace opt-out are read, and the sentence names the namespace', async () => {
    const api = await KubeApiDouble.start();
    try {
      api.addObject('namespaces', { name: 'shop', labels: { 'hpa-bridge.io/defaults': 'off' } });
      api.addObject('deployments.apps', {
        name: 'web',
        namespace: 'shop',
        labels: { app: 'web' },
        spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'web' }] } } },
        status: { replicas: 2 },
      });
      const running = { phase: 'Running', startTime: '2020-01-01T00:00:00Z', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2020-01-01T00:00:00Z' }] };
      api.addObject('pods', { name: 'web-1', namespace: 'shop', labels: { app: 'web' }, spec: { containers: [{ name: 'app', resources: { requests: { cpu: '200m' } } }] }, status: running });
      api.addObject('pods', { name: 'web-2', namespace: 'shop', labels: { app: 'web' }, spec: { containers: [{ name: 'app' }] }, status: running });
      api.addObject('horizontalpodautoscalers.autoscaling', {
        name: 'web',
        namespace: 'shop',
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
          maxReplicas: 10,
          metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
        },
      });
      const kubeconfig = await writeKubeconfig(dir, api.url);
      const r = await explainJson(['--kubeconfig', kubeconfig, '-n', 'shop', 'web', '--rules', 'rules/examples']);
      assert.equal(r.verdict, 'not-scaling');
      assert.equal(r.decision.desiredReplicas, 2);
      assert.equal(r.summary, 'not scaling: 1 of 2 pods have no cpu request (the defaults webhook is off in namespace shop)');
    } finally {
      await api.close();
    }
  });

  test('Prometheus down: <unknown>, and explain exits 3 (cannot evaluate)', async () => {
    const run = await explain([
      '-f',
      hpa('hpa-03-addozhang-pods-qps.yaml'),
      '--workload',
      hpa('workload-03-httpserver.yaml'),
      '--rules',
      fixturePath('hpa/rules-03-qps.yaml'),
      '--prometheus-url',
      'http://127.0.0.1:1',
    ]);
    assert.equal(run.code, 3);
    assert.match(run.stdout, /^<unknown>: Pods http_requests_qps cannot be read: .*$/m);
  });

  test('a missing file is one line naming the flag and the file, exit 3', async () => {
    const run = await explain(['-f', join(dir, 'nope.yaml'), '--workload', hpa('workload-03-httpserver.yaml'), '--rules', fixturePath('hpa/rules-03-qps.yaml'), '--prometheus-url', prom.url]);
    assert.equal(run.code, 3);
    assert.equal(run.stderr, `hpa-bridge explain: -f ${join(dir, 'nope.yaml')}: no such file or directory\n`);
  });

  test("serve's webhook answers an HPA naming a metric no rule serves with a warning, and one naming a served metric with none", async () => {
    const server = await startServer(testServeConfig(prom.url, [fixturePath('hpa/rules-03-qps.yaml')]), silentLogger);
    try {
      await server.discovery.relist();
      const review = async (metric: string): Promise<ReviewJson> => {
        const hpaObject = {
          apiVersion: 'autoscaling/v2',
          kind: 'HorizontalPodAutoscaler',
          metadata: { name: 'sample', namespace: 'default' },
          spec: {
            scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'sample-httpserver' },
            maxReplicas: 5,
            metrics: [{ type: 'Pods', pods: { metric: { name: metric }, target: { type: 'AverageValue', averageValue: '1' } } }],
          },
        };
        const res = await request(server.url).post('/mutate').disableTLSCerts().set('Content-Type', 'application/json').send(reviewOf(hpaObject));
        assert.equal(res.status, 200);
        return responseOf(res.body as ReviewJson);
      };
      const unserved = await review('http_latency_p99');
      assert.equal(unserved.allowed, true);
      assert.equal(unserved.patch, undefined);
      assert.deepEqual(unserved.warnings, ['hpa-bridge: spec.metrics[0]: no loaded rule serves pods metric http_latency_p99; the HPA will show <unknown>']);
      assert.equal((await review('http_requests_qps')).warnings, undefined);
    } finally {
      await server.close();
    }
  });

  test('a missing flag is a usage error, exit 2', async () => {
    const run = await explain(['-f', hpa('hpa-03-addozhang-pods-qps.yaml'), '--rules', 'rules/examples', '--prometheus-url', prom.url]);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, "hpa-bridge: -f needs --workload FILE with the scale target (see 'hpa-bridge explain --help')\n");
  });
});
