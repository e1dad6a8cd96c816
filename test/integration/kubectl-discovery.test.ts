// Discovery as real kubectl sees it, 1.27 to 1.33, against `serve` backed
// by a real Prometheus. Every version asks /apis for aggregated discovery
// (v2beta1 up to 1.29, v2 from 1.30) and must get it, with the exact
// Content-Type client-go checks, and list the metrics from it without
// asking each group-version. The versions are looked for beside the file
// `kubectl` links to; a missing one skips its version, and a missing kubectl
// fails the suite in CI (test/support/kubectl.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startServer, type RunningServer } from '../../cli/serve.js';
import { silentLogger } from '../../adapter/log.js';
import { startExporter, type Exporter } from '../support/exporter.js';
import { fixturePath } from '../support/fixtures.js';
import { testServeConfig } from '../support/serve-config.js';
import { writeKubeconfig } from '../support/kubeconfig.js';
import { startPrometheus, type PrometheusInstance } from '../support/prometheus.js';
import { findVersionedKubectl, KUBECTL_MINORS, kubectlSkip, requireKubectl } from '../support/kubectl.js';

const run = promisify(execFile);

describe('kubectl discovery against serve', { skip: kubectlSkip() }, () => {
  let exporter: Exporter;
  let prom: PrometheusInstance;
  let server: RunningServer;
  let dir: string;
  let kubeconfig: string;

  before(async () => {
    requireKubectl();
    exporter = await startExporter();
    exporter.set('kube_pod_labels', { namespace: 'default', pod: 'web-1', label_app: 'web' }, 1);
    exporter.set('memory_used_bytes', { namespace: 'default', pod: 'web-1' }, 5e8);
    exporter.set('node_load', { node: 'node-1' }, 0.5);
    exporter.set('queue_messages_ready', { namespace: 'default', queue: 'orders' }, 42);
    prom = await startPrometheus({ scrapeTargets: [exporter.address], scrapeIntervalSeconds: 1 });
    await prom.waitForSeries('queue_messages_ready', { minSamples: 1 });
    server = await startServer(testServeConfig(prom.url, [fixturePath('rules/adapter-test.yaml')]), silentLogger);
    await server.discovery.relist();
    dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-kubectl-'));
    kubeconfig = await writeKubeconfig(dir, server.url, { token: 'unchecked' });
  });

  after(async () => {
    await server?.close();
    await prom?.stop();
    await exporter?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Runs kubectl 1.<minor> with a discovery cache of its own, so no version reads another's. */
  async function kubectl(minor: number, args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
    return run(findVersionedKubectl(minor) as string, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, `cache-${minor}`), ...args], {
      timeout: 30_000,
      env: { PATH: process.env.PATH ?? '', HOME: dir },
    });
  }

  for (const minor of KUBECTL_MINORS) {
    const skip = findVersionedKubectl(minor) ? false : `kubectl.1.${minor} is not beside kubectl`;
    const expected = minor >= 30 ? 'v2' : 'v2beta1';

    test(`kubectl 1.${minor} get --raw reads the custom metrics discovery document`, { skip }, async () => {
      const { stdout } = await kubectl(minor, ['get', '--raw', '/apis/custom.metrics.k8s.io/v1beta2']);
      const list = JSON.parse(stdout) as { kind: string; resources: { name: string }[] };
      assert.equal(list.kind, 'APIResourceList');
      assert.deepEqual(list.resources.map((r) => r.name).sort(), ['namespaces/memory_used_bytes', 'nodes/node_load', 'pods/memory_used_bytes']);
    });

    test(`kubectl 1.${minor} api-resources is served aggregated discovery ${expected} and lists the external metrics from it`, { skip }, async () => {
      const { stdout, stderr } = await kubectl(minor, ['api-resources', '--api-group=external.metrics.k8s.io', '-v=8']);
      assert.ok(stderr.includes(`Content-Type: application/json;g=apidiscovery.k8s.io;v=${expected};as=APIGroupDiscoveryList`), `no aggregated ${expected} answer in:\n${stderr}`);
      // Aggregated discovery carries the resources: no request per group-version.
      assert.ok(!stderr.includes('/apis/external.metrics.k8s.io/v1beta1?'), 'kubectl fell back to per-version discovery');
      const rows = stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(/\s+/));
      assert.deepEqual(rows, [['queue_messages_ready', 'external.metrics.k8s.io/v1beta1', 'true', 'ExternalMetricValueList']]);
    });
  }
});
