// HPA admission warnings as a user sees them: real kubectl (the oldest and
// the newest version beside `kubectl`) runs `kubectl apply -f` against the
// Kubernetes API test double, which calls the running `hpa-bridge serve`
// over HTTPS as its mutating admission webhook, registered as
// deploy/kustomize/base registers it, and turns the webhook's warnings into
// `Warning:` headers as kube-apiserver does; kubectl prints each as a
// `Warning:` line on stderr. serve reads a real Prometheus, so "no loaded
// rule serves" is decided by real discovery.
//
// The HPA review reads nothing from the API server: it knows a scale
// target's containers from the workloads it admitted itself, so each
// kubectl version first applies the Deployment web through the same path.
//
// kubectl runs with --validate=false: its schema validation downloads the
// OpenAPI document (/openapi/v2, /openapi/v3), which the double does not
// serve; validation is the API server's business and has no part in how
// warnings travel.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { dig, type Json } from '../support/admission.js';
import { issueCA, issueServing, type Issued } from '../support/certs.js';
import { cleanEnv, startCli, type ServingCli } from '../support/cli.js';
import { eventually } from '../support/eventually.js';
import { startExporter, type Exporter } from '../support/exporter.js';
import { fixturePath } from '../support/fixtures.js';
import { httpsCall } from '../support/https-call.js';
import { KubeApiDouble } from '../support/kube-api-double.js';
import { writeKubeconfig } from '../support/kubeconfig.js';
import { findVersionedKubectl, KUBECTL_MINORS, kubectlSkip, requireKubectl, runKubectl, type KubectlRun } from '../support/kubectl.js';
import { buildKustomization, DEPLOY, one } from '../support/manifests.js';
import { startPrometheus, type PrometheusInstance } from '../support/prometheus.js';
import { MutatingWebhookDispatcher, type MutatingWebhook } from '../support/webhook-dispatcher.js';

const TOKEN = 'admin-token';
const HPAS = 'horizontalpodautoscalers.autoscaling';

const deployment = (namespace: string): Json => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } },
  },
});

const hpa = (namespace: string, name: string, metrics: readonly Json[]): Json => ({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name, namespace },
  spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 5, metrics },
});

const podsMetric = (name: string): Json => ({ type: 'Pods', pods: { metric: { name }, target: { type: 'AverageValue', averageValue: '10' } } });
const externalMetric = (name: string): Json => ({ type: 'External', external: { metric: { name }, target: { type: 'AverageValue', averageValue: '30' } } });
const cpuUtilization: Json = { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } };
const containerUtilization = (container: string, resource: string): Json => ({
  type: 'ContainerResource',
  containerResource: { name: resource, container, target: { type: 'Utilization', averageUtilization: 70 } },
});
/** Every metric here is served or computable: the custom and external series exist, and the webhook added app's requests. */
const cleanMetrics: readonly Json[] = [cpuUtilization, containerUtilization('app', 'memory'), podsMetric('memory_used_bytes'), externalMetric('queue_messages_ready')];

describe('HPA admission warnings in kubectl apply output', { skip: kubectlSkip() }, () => {
  let dir: string;
  let exporter: Exporter;
  let prom: PrometheusInstance;
  let servingCA: Issued;
  let cli: ServingCli;
  let api: KubeApiDouble;
  let dispatcher: MutatingWebhookDispatcher;
  let kubeconfig: string;

  before(async () => {
    requireKubectl();
    dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-hpa-warnings-'));
    exporter = await startExporter();
    exporter.set('memory_used_bytes', { namespace: 'default', pod: 'web-1' }, 5e8);
    exporter.set('queue_messages_ready', { namespace: 'default', queue: 'orders' }, 42);
    prom = await startPrometheus({ scrapeTargets: [exporter.address], scrapeIntervalSeconds: 1 });
    await prom.waitForSeries('queue_messages_ready', { minSamples: 1 });
    await prom.waitForSeries('memory_used_bytes', { minSamples: 1 });

    servingCA = await issueCA('webhook-ca');
    const serving = await issueServing(servingCA);
    await writeFile(join(dir, 'tls.crt'), serving.cert);
    await writeFile(join(dir, 'tls.key'), serving.key);
    const serve = ['serve', '--rules', fixturePath('rules/adapter-test.yaml'), '--prometheus-url', prom.url, '--secure-port', '0', '--bind-address', '127.0.0.1'];
    const tls = ['--tls-cert-file', join(dir, 'tls.crt'), '--tls-private-key-file', join(dir, 'tls.key')];
    cli = await startCli([...serve, ...tls, '--metrics-port', '-1', '--log-level', 'info', '--authentication', 'none', '--object-source', 'prometheus'], cleanEnv(dir));
    // Ready means the first discovery is done: only then does the webhook know which metrics are served.
    await eventually(async () => assert.equal((await httpsCall(`${cli.url}/readyz`, servingCA.cert)).status, 200), 30_000);

    api = await KubeApiDouble.start();
    api.setToken(TOKEN, { username: 'admin', groups: ['system:masters'] });
    const configuration = one(buildKustomization(join(DEPLOY, 'kustomize', 'base')), 'MutatingWebhookConfiguration');
    dispatcher = new MutatingWebhookDispatcher(configuration['webhooks'] as unknown as MutatingWebhook[], { serviceUrl: cli.url, caBundle: servingCA.cert });
    api.setAdmission(dispatcher.admit);
    kubeconfig = await writeKubeconfig(dir, api.url, { token: TOKEN });
  });

  after(async () => {
    await api?.close();
    await cli?.stop();
    await prom?.stop();
    await exporter?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The webhook's answer to the last review of `name`; fails when there was none or the call failed. */
  function lastAnswer(namespace: string, name: string): { request: Json; response: Json } {
    const call = dispatcher.calls.filter((c) => dig(c.review, 'request', 'namespace') === namespace && dig(c.review, 'request', 'name') === name).at(-1);
    assert.ok(call, `the webhook was not called for ${namespace}/${name}`);
    assert.equal(call.error, undefined, `the call to the webhook failed`);
    return { request: call.review.request as Json, response: call.answer?.response as Json };
  }

  /** HPAs get warnings only: the answer allows the object and carries no patch, and the object is stored as applied. */
  function assertAllowedUnpatched(namespace: string, name: string, applied: Json): void {
    const { response } = lastAnswer(namespace, name);
    assert.equal(response.allowed, true);
    assert.equal(response.patch, undefined);
    assert.equal(response.patchType, undefined);
    assert.deepEqual(api.objectOf(HPAS, { namespace, name })?.spec, applied.spec);
  }

  const first = KUBECTL_MINORS[0] as number;
  const last = KUBECTL_MINORS[KUBECTL_MINORS.length - 1] as number;
  for (const minor of [first, last]) {
    const binary = findVersionedKubectl(minor);
    const namespace = `shop-${minor}`;

    describe(`kubectl 1.${minor}`, { skip: binary ? false : `kubectl.1.${minor} is not beside kubectl` }, () => {
      let deployed: KubectlRun;

      async function apply(object: Json, ...flags: string[]): Promise<KubectlRun> {
        const file = join(dir, `${minor}-${String(dig(object, 'kind'))}-${String(dig(object, 'metadata', 'name'))}.yaml`);
        await writeFile(file, stringify(object));
        return runKubectl(binary as string, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, `cache-${minor}`), 'apply', '--validate=false', ...flags, '-f', file], dir);
      }

      before(async () => {
        api.addObject('namespaces', { name: namespace });
        deployed = await apply(deployment(namespace));
      });

      test('the Deployment applied first is stored with the requests the webhook added, and kubectl shows what was added', () => {
        assert.deepEqual(deployed, { code: 0, stdout: 'deployment.apps/web created\n', stderr: 'Warning: hpa-bridge: added to container app: cpu=100m, memory=128Mi\n' });
        const stored = api.objectOf('deployments.apps', { namespace, name: 'web' });
        assert.deepEqual(dig(stored, 'spec', 'template', 'spec', 'containers', 0, 'resources'), { requests: { cpu: '100m', memory: '128Mi' } });
      });

      test('an HPA with a custom metric no rule serves is created, and kubectl prints the warning', async () => {
        const object = hpa(namespace, 'custom', [podsMetric('requests_unserved')]);
        const run = await apply(object);
        assert.deepEqual(run, {
          code: 0,
          stdout: 'horizontalpodautoscaler.autoscaling/custom created\n',
          stderr: 'Warning: hpa-bridge: spec.metrics[0]: no loaded rule serves pods metric requests_unserved; the HPA will show <unknown>\n',
        });
        assertAllowedUnpatched(namespace, 'custom', object);
      });

      test('an HPA with an external metric no rule serves is created, and kubectl prints the warning', async () => {
        const object = hpa(namespace, 'external', [externalMetric('queue_unserved')]);
        const run = await apply(object);
        assert.deepEqual(run, {
          code: 0,
          stdout: 'horizontalpodautoscaler.autoscaling/external created\n',
          stderr: 'Warning: hpa-bridge: spec.metrics[0]: no loaded rule serves external metric queue_unserved; the HPA will show <unknown>\n',
        });
        assertAllowedUnpatched(namespace, 'external', object);
      });

      test('an HPA with a ContainerResource target naming a container the Deployment lacks is created, and kubectl prints the warning', async () => {
        const object = hpa(namespace, 'container', [containerUtilization('sidecar', 'cpu')]);
        const run = await apply(object);
        assert.deepEqual(run, {
          code: 0,
          stdout: 'horizontalpodautoscaler.autoscaling/container created\n',
          stderr: 'Warning: hpa-bridge: spec.metrics[0]: Deployment/web has no container sidecar; the HPA will show <unknown>\n',
        });
        assertAllowedUnpatched(namespace, 'container', object);
      });

      test('an HPA whose metrics are all served and whose containers have their requests is created without a warning', async () => {
        const object = hpa(namespace, 'clean', cleanMetrics);
        const run = await apply(object);
        assert.deepEqual(run, { code: 0, stdout: 'horizontalpodautoscaler.autoscaling/clean created\n', stderr: '' });
        assertAllowedUnpatched(namespace, 'clean', object);
        assert.equal(lastAnswer(namespace, 'clean').response.warnings, undefined);
      });

      test('several warnings arrive as several lines, in order, with quotes and backslashes as written and a long one cut with an ellipsis', async () => {
        const object = hpa(namespace, 'several', [podsMetric('say"hi\\there'), externalMetric(`queue_${'q'.repeat(80)}`)]);
        const run = await apply(object);
        assert.deepEqual(run, {
          code: 0,
          stdout: 'horizontalpodautoscaler.autoscaling/several created\n',
          stderr:
            'Warning: hpa-bridge: spec.metrics[0]: no loaded rule serves pods metric say"hi\\there; the HPA will show <unknown>\n' +
            // 120 code points: 119 of the text and the ellipsis.
            `Warning: hpa-bridge: spec.metrics[1]: no loaded rule serves external metric queue_${'q'.repeat(46)}…\n`,
        });
        assertAllowedUnpatched(namespace, 'several', object);
      });

      test('applying a changed HPA again is an UPDATE whose new warning kubectl prints', async () => {
        const before = hpa(namespace, 'changed', cleanMetrics);
        assert.deepEqual(await apply(before), { code: 0, stdout: 'horizontalpodautoscaler.autoscaling/changed created\n', stderr: '' });
        const after = hpa(namespace, 'changed', [...cleanMetrics, externalMetric('queue_unserved')]);
        const run = await apply(after);
        assert.deepEqual(run, {
          code: 0,
          stdout: 'horizontalpodautoscaler.autoscaling/changed configured\n',
          stderr: 'Warning: hpa-bridge: spec.metrics[4]: no loaded rule serves external metric queue_unserved; the HPA will show <unknown>\n',
        });
        const { request } = lastAnswer(namespace, 'changed');
        assert.equal(request.operation, 'UPDATE');
        assert.deepEqual(dig(request, 'oldObject', 'spec'), before.spec);
        assertAllowedUnpatched(namespace, 'changed', after);
      });

      test('a server-side dry run shows the warning and stores nothing', async () => {
        const run = await apply(hpa(namespace, 'dry', [podsMetric('requests_unserved')]), '--dry-run=server');
        assert.deepEqual(run, {
          code: 0,
          stdout: 'horizontalpodautoscaler.autoscaling/dry created (server dry run)\n',
          stderr: 'Warning: hpa-bridge: spec.metrics[0]: no loaded rule serves pods metric requests_unserved; the HPA will show <unknown>\n',
        });
        assert.equal(lastAnswer(namespace, 'dry').request.dryRun, true);
        assert.equal(api.objectOf(HPAS, { namespace, name: 'dry' }), undefined);
      });
    });
  }
});
