// `kubectl top` against hpa-bridge's metrics.k8s.io, as in a cluster: real
// kubectl binaries talk to the aggregator double, which proxies to
// `hpa-bridge serve` (delegated authentication and authorization against
// the Kubernetes API double) over the front-proxy certificate; hpa-bridge
// reads a real Prometheus that scrapes series shaped as cAdvisor,
// node-exporter, windows_exporter, the kubelet and kube-state-metrics emit
// them (test/support/cluster-series.ts).
//
// The numbers kubectl must print are computed from the cluster model below,
// following kubectl's own arithmetic (pkg/cmd/top, metricsutil): CPU is
// Quantity.MilliValue() (rounded up) of the containers' summed nanocores,
// memory is Value() / 2^20 truncated, and a node's share is
// int64(usage milli / allocatable milli * 100).
//
// kube-prometheus's nodeQuery (rules-02) joins node-exporter's CPU to nodes
// through the recording rule node_namespace_pod:kube_pod_info:. The real
// Prometheus gets kube-prometheus's own rule (test/fixtures/prometheus)
// rather than the joined series written out by hand: the join then runs on
// what kube-state-metrics reports, with the rule's label_replace and topk,
// as it does in a cluster, and a mistake in the exporter's labels shows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExporter, type Exporter } from '../support/exporter.js';
import { startPrometheus, type PrometheusInstance } from '../support/prometheus.js';
import { fixturePath } from '../support/fixtures.js';
import { KubeApiDouble, type DoubleAccessReviewSpec } from '../support/kube-api-double.js';
import { startAggregatedBridge, type AggregatedBridge } from '../support/aggregated-bridge.js';
import { findKubectl, findVersionedKubectl, KUBECTL_MINORS, kubectlSkip, requireKubectl, runKubectl, type KubectlRun } from '../support/kubectl.js';
import {
  emitCadvisor,
  emitKubeletResource,
  emitKubeStateMetrics,
  emitNodeExporter,
  emitWindowsExporter,
  kubeletTarget,
  nodeExporterPod,
  nodeLabels,
  nodeStatus,
  podSpecAndStatus,
  type NodeUsage,
  type PodUsage,
} from '../support/cluster-series.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

// CPU in multiples of 1/256 core: whole nanocores, exact in binary.
const NODES: readonly NodeUsage[] = [
  {
    name: 'node-1',
    os: 'linux',
    internalIP: '10.0.0.11',
    cpus: 4,
    allocatableMilliCpu: 3800,
    memoryTotalBytes: 8 * GiB,
    allocatableMemoryBytes: 8 * GiB - 512 * MiB,
    cpuCores: 1.5,
    memoryBytes: 3 * GiB + 200 * MiB,
  },
  {
    name: 'node-2',
    os: 'linux',
    internalIP: '10.0.0.12',
    cpus: 2,
    allocatableMilliCpu: 1900,
    memoryTotalBytes: 4 * GiB,
    allocatableMemoryBytes: 4 * GiB - 256 * MiB,
    cpuCores: 0.75,
    memoryBytes: 1.5 * GiB + 3 * MiB,
  },
  {
    name: 'win-1',
    os: 'windows',
    internalIP: '10.0.0.21',
    cpus: 2,
    allocatableMilliCpu: 2000,
    memoryTotalBytes: 4 * GiB,
    allocatableMemoryBytes: 4 * GiB - 1 * GiB,
    cpuCores: 0.5,
    memoryBytes: 2 * GiB + 100 * MiB,
  },
];

const WINDOWS_NODE = 'win-1';

const PODS: readonly PodUsage[] = [
  // A web server with a log-shipping sidecar.
  {
    namespace: 'default',
    name: 'web-1',
    node: 'node-1',
    labels: { app: 'web' },
    containers: [
      { name: 'web', image: 'docker.io/library/nginx:1.27', cpuCores: 0.25, memoryBytes: 150 * MiB + 300 * 1024 },
      { name: 'log-shipper', image: 'cr.fluentbit.io/fluent/fluent-bit:3.1', cpuCores: 0.0625, memoryBytes: 40 * MiB + 700 * 1024 },
    ],
  },
  {
    namespace: 'default',
    name: 'web-2',
    node: 'node-2',
    labels: { app: 'web' },
    containers: [
      { name: 'web', image: 'docker.io/library/nginx:1.27', cpuCores: 0.125, memoryBytes: 120 * MiB },
      { name: 'log-shipper', image: 'cr.fluentbit.io/fluent/fluent-bit:3.1', cpuCores: 0.03125, memoryBytes: 36 * MiB + 512 * 1024 },
    ],
  },
  { namespace: 'default', name: 'api-1', node: 'node-1', labels: { app: 'api' }, containers: [{ name: 'api', image: 'ghcr.io/example/api:2.4.1', cpuCores: 0.5, memoryBytes: 300 * MiB + 1 }] },
  // cAdvisor reports the worker's CPU but not its memory: the pod is left out.
  { namespace: 'default', name: 'batch-1', node: 'node-2', labels: { app: 'batch' }, containers: [{ name: 'worker', image: 'ghcr.io/example/worker:1.0', cpuCores: 0.375 }] },
  { namespace: 'shop', name: 'cart-1', node: 'node-2', labels: { app: 'cart' }, containers: [{ name: 'cart', image: 'ghcr.io/example/cart:0.9', cpuCores: 0.1875, memoryBytes: 200 * MiB }] },
  // Just started: only its pause container and pod cgroup are reported.
  { namespace: 'fresh', name: 'starting-1', node: 'node-1', labels: { app: 'fresh' }, containers: [{ name: 'app', image: 'ghcr.io/example/app:1.0' }] },
  ...NODES.filter((n) => n.os === 'linux').map((n): PodUsage => ({
    namespace: 'monitoring',
    name: nodeExporterPod(n),
    node: n.name,
    labels: { 'app.kubernetes.io/name': 'node-exporter' },
    containers: [
      { name: 'node-exporter', image: 'quay.io/prometheus/node-exporter:v1.8.2', cpuCores: 0.015625, memoryBytes: 24 * MiB },
      { name: 'kube-rbac-proxy', image: 'quay.io/brancz/kube-rbac-proxy:v0.18.1', cpuCores: 0.00390625, memoryBytes: 16 * MiB + 100 * 1024 },
    ],
  })),
];

// ---------------------------------------------------------------------------
// What kubectl must print, from the model alone.

const nanocores = (cores: number): number => Math.round(cores * 1e9);
const cpuColumn = (nanos: number): string => `${Math.ceil(nanos / 1e6)}m`;
const memoryColumn = (bytes: number): string => `${Math.floor(bytes / MiB)}Mi`;

/** A pod is reported when it has a container and each container with one resource has both. */
function reported(pod: PodUsage): boolean {
  const measured = pod.containers.filter((c) => c.cpuCores !== undefined || c.memoryBytes !== undefined);
  return measured.length > 0 && measured.every((c) => c.cpuCores !== undefined && c.memoryBytes !== undefined);
}

function podLine(pod: PodUsage, withNamespace: boolean): string {
  const cpu = pod.containers.reduce((s, c) => s + nanocores(c.cpuCores ?? 0), 0);
  const memory = pod.containers.reduce((s, c) => s + (c.memoryBytes ?? 0), 0);
  return [...(withNamespace ? [pod.namespace] : []), pod.name, cpuColumn(cpu), memoryColumn(memory)].join(' ');
}

function expectedPods(filter: (p: PodUsage) => boolean, withNamespace = false): string[] {
  return PODS.filter((p) => reported(p) && filter(p)).map((p) => podLine(p, withNamespace));
}

function expectedContainers(filter: (p: PodUsage) => boolean): string[] {
  return PODS.filter((p) => reported(p) && filter(p)).flatMap((p) =>
    p.containers.filter((c) => c.cpuCores !== undefined).map((c) => [p.name, c.name, cpuColumn(nanocores(c.cpuCores as number)), memoryColumn(c.memoryBytes as number)].join(' ')),
  );
}

function nodeLine(node: NodeUsage, served: boolean): string {
  if (!served) return [node.name, '<unknown>', '<unknown>', '<unknown>', '<unknown>'].join(' ');
  const milli = Math.ceil(nanocores(node.cpuCores) / 1e6);
  const cpuShare = Math.trunc((milli / node.allocatableMilliCpu) * 100);
  const memoryShare = Math.trunc(((node.memoryBytes * 1000) / (node.allocatableMemoryBytes * 1000)) * 100);
  return [node.name, `${milli}m`, `${cpuShare}%`, memoryColumn(node.memoryBytes), `${memoryShare}%`].join(' ');
}

function expectedNodes(served: (n: NodeUsage) => boolean): string[] {
  return NODES.map((n) => nodeLine(n, served(n)));
}

// ---------------------------------------------------------------------------
// Reading kubectl's table.

interface Table {
  readonly header: string[];
  /** Each row's cells joined by one space. */
  readonly rows: string[];
}

function table(run: KubectlRun): Table {
  assert.equal(run.code, 0, `kubectl failed with ${run.code}:\n${run.stderr}`);
  const [header, ...rows] = run.stdout.trimEnd().split('\n');
  return { header: (header ?? '').trim().split(/\s+/), rows: rows.map((r) => r.trim().split(/\s+/).join(' ')) };
}

const sorted = (rows: readonly string[]): string[] => [...rows].sort();

// ---------------------------------------------------------------------------

const VIEWER_TOKEN = 'viewer-token';
const DENIED_TOKEN = 'denied-token';
const DENIED_USER = 'eve';

/**
 * The cluster's RBAC, in brief: system:discovery for every authenticated
 * user, and system:aggregated-metrics-reader for the group `viewers`.
 */
function decide(spec: DoubleAccessReviewSpec): boolean {
  const groups = spec.groups ?? [];
  const nonResource = spec.nonResourceAttributes;
  if (nonResource) return groups.includes('system:authenticated') && nonResource['verb'] === 'get' && /^\/(api|apis|openapi|version)(\/.*)?$/.test(String(nonResource['path']));
  const resource = spec.resourceAttributes ?? {};
  return (
    groups.includes('viewers') && resource['group'] === 'metrics.k8s.io' && ['pods', 'nodes'].includes(String(resource['resource'])) && ['get', 'list', 'watch'].includes(String(resource['verb']))
  );
}

describe('kubectl top against hpa-bridge through the aggregator', { skip: kubectlSkip() }, () => {
  let exporter: Exporter;
  let prom: PrometheusInstance;
  let core: KubeApiDouble;
  let dir: string;

  before(async () => {
    requireKubectl();
    dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-kubectl-top-'));
    exporter = await startExporter();
    for (const node of NODES) {
      const pods = PODS.filter((p) => p.node === node.name);
      if (node.os === 'linux') {
        // rules-01's project scraped cAdvisor through the API server with
        // Prometheus's node role, where instance is the node's name; the
        // 1.14/1.15-era label pairs serve both its pod_name/container_name
        // and the current pod/container.
        emitCadvisor(exporter, node, pods, { labels: 'both', target: { ...kubeletTarget(node, '/metrics/cadvisor'), instance: node.name } });
        emitKubeletResource(exporter, node);
        emitNodeExporter(exporter, node);
      } else {
        emitWindowsExporter(exporter, node, { nodeLabel: true });
      }
    }
    emitKubeStateMetrics(exporter, { nodes: NODES, pods: PODS });
    prom = await startPrometheus({
      scrapeTargets: [exporter.address],
      scrapeIntervalSeconds: 1,
      ruleFiles: [fixturePath('prometheus/kube-prometheus-node-rules.yaml')],
    });
    await prom.waitForSeries('node_namespace_pod:kube_pod_info:', { minSeries: 2 });

    core = await KubeApiDouble.start();
    core.setAccessDecision(decide);
    for (const node of NODES) core.addObject('nodes', { name: node.name, labels: nodeLabels(node), status: nodeStatus(node) });
    for (const pod of PODS) core.addObject('pods', { name: pod.name, namespace: pod.namespace, labels: { ...(pod.labels ?? {}) }, ...podSpecAndStatus(pod) });
  });

  after(async () => {
    await prom?.stop();
    await exporter?.close();
    await core?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** hpa-bridge with `rules` behind the aggregator, and kubectl for a viewer. */
  function cluster(
    rules: string,
    objectSource: 'kubernetes' | 'prometheus' = 'kubernetes',
  ): { kubectl: (args: readonly string[], options?: { binary?: string; kubeconfig?: string }) => Promise<KubectlRun>; bridge: () => AggregatedBridge } {
    let bridge: AggregatedBridge;
    let viewer: string;
    before(async () => {
      bridge = await startAggregatedBridge({
        rules: [fixturePath(rules)],
        prometheusUrl: prom.url,
        core,
        dir,
        tokens: { [VIEWER_TOKEN]: { name: 'jane', groups: ['viewers'] }, [DENIED_TOKEN]: { name: DENIED_USER, groups: ['contractors'] } },
        objectSource,
      });
      viewer = await bridge.kubeconfigWithToken(VIEWER_TOKEN);
    });
    after(async () => {
      await bridge?.close();
    });
    return {
      bridge: () => bridge,
      kubectl: async (args, options = {}) => {
        const binary = options.binary ?? (findKubectl() as string);
        // A discovery cache per binary and hpa-bridge: kubectl caches by host:port.
        const cache = join(dir, `cache-${binary.replace(/\W+/g, '_')}-${new URL(bridge.aggregator.url).port}`);
        const run = await runKubectl(binary, ['--kubeconfig', options.kubeconfig ?? viewer, '--cache-dir', cache, ...args], dir);
        if (run.code !== 0 && /Unable to connect|Internal error|Error from server \(InternalError\)/.test(run.stderr)) {
          return { ...run, stderr: `${run.stderr}\n--- hpa-bridge log ---\n${bridge.log().slice(-4000)}` };
        }
        return run;
      },
    };
  }

  const inDefault = (p: PodUsage): boolean => p.namespace === 'default';

  for (const config of [
    { label: "kube-prometheus's adapter config (rules-02)", rules: 'rules/real-world/rules-02-kube-prometheus.yaml', windows: true },
    { label: "prometheus-adapter's default resourceRules", rules: 'rules/prometheus-adapter-resource-rules.yaml', windows: false },
  ]) {
    describe(config.label, () => {
      const { kubectl } = cluster(config.rules);

      test('top pod prints each pod of the namespace with the sum of its containers, a sidecar included', async () => {
        const t = table(await kubectl(['top', 'pod', '-n', 'default']));
        assert.deepEqual(t.header.slice(0, 1), ['NAME']);
        assert.deepEqual(sorted(t.rows), sorted(expectedPods(inDefault)));
      });

      test('a pod with a container that has CPU but no memory series is left out, and NotFound by name', async () => {
        const t = table(await kubectl(['top', 'pod', '-n', 'default']));
        assert.ok(!t.rows.some((r) => r.startsWith('batch-1 ')), t.rows.join('\n'));
        const named = await kubectl(['top', 'pod', 'batch-1', '-n', 'default']);
        assert.notEqual(named.code, 0);
        assert.match(named.stderr, /Error from server \(NotFound\): .*"default\/batch-1" not found/);
      });

      test('top pod -A prints the pods of every namespace with their namespace', async () => {
        const t = table(await kubectl(['top', 'pod', '-A']));
        assert.deepEqual(t.header.slice(0, 2), ['NAMESPACE', 'NAME']);
        assert.deepEqual(sorted(t.rows), sorted(expectedPods(() => true, true)));
      });

      test('top pod --containers prints every container on its own line, and neither the pause container nor the pod cgroup', async () => {
        const t = table(await kubectl(['top', 'pod', '-n', 'default', '--containers']));
        assert.deepEqual(t.header.slice(0, 2), ['POD', 'NAME']);
        assert.deepEqual(sorted(t.rows), sorted(expectedContainers(inDefault)));
      });

      test('top pod -l app=web --sort-by=cpu prints the selected pods, the busiest first', async () => {
        const t = table(await kubectl(['top', 'pod', '-n', 'default', '-l', 'app=web', '--sort-by=cpu']));
        assert.deepEqual(
          t.rows,
          expectedPods((p) => inDefault(p) && p.labels?.['app'] === 'web'),
        );
        assert.deepEqual(
          t.rows.map((r) => r.split(' ')[0]),
          ['web-1', 'web-2'],
        );
      });

      test(
        config.windows
          ? "top node prints each node's usage and share of allocatable: Linux nodes through the node_namespace_pod:kube_pod_info: join, the Windows node through the `or` branch"
          : "top node prints each Linux node's usage and share of allocatable, and <unknown> for the Windows node the rules cannot see",
        async () => {
          const t = table(await kubectl(['top', 'node']));
          assert.equal(t.header[0], 'NAME');
          assert.deepEqual(sorted(t.rows), sorted(expectedNodes((n) => config.windows || n.name !== WINDOWS_NODE)));
        },
      );

      test('api-resources lists PodMetrics and NodeMetrics of the preferred version v1, from the discovery the aggregator read from hpa-bridge', async () => {
        const t = table(await kubectl(['api-resources', '--api-group=metrics.k8s.io']));
        // NAME [SHORTNAMES] APIVERSION NAMESPACED KIND: the columns from the end.
        const rows = t.rows.map((r) => r.split(' ')).map((cells) => [cells[0], cells.at(-3), cells.at(-2), cells.at(-1)].join(' '));
        assert.deepEqual(sorted(rows), ['nodes metrics.k8s.io/v1 false NodeMetrics', 'pods metrics.k8s.io/v1 true PodMetrics']);
      });

      test('top pod <name> and top node <name> read one object each', async () => {
        assert.deepEqual(
          table(await kubectl(['top', 'pod', 'web-1', '-n', 'default'])).rows,
          expectedPods((p) => p.name === 'web-1'),
        );
        assert.deepEqual(
          table(await kubectl(['top', 'node', 'node-2'])).rows,
          expectedNodes(() => true).filter((l) => l.startsWith('node-2 ')),
        );
      });

      test('top node -l kubernetes.io/os=linux prints only the nodes the selector picks', async () => {
        const t = table(await kubectl(['top', 'node', '-l', 'kubernetes.io/os=linux']));
        assert.deepEqual(sorted(t.rows), sorted(expectedNodes(() => true).filter((l) => !l.startsWith(`${WINDOWS_NODE} `))));
      });

      test('top pod in a namespace whose pods have no metrics yet says so, after listing the pods', async () => {
        // kubectl says "not available yet" only for pods younger than two minutes.
        for (const pod of PODS.filter((p) => p.namespace === 'fresh')) {
          core.deleteObject('pods', { namespace: pod.namespace, name: pod.name });
          core.addObject('pods', { name: pod.name, namespace: pod.namespace, labels: { ...(pod.labels ?? {}) }, ...podSpecAndStatus(pod) });
        }
        const before = core.listCount('pods');
        const run = await kubectl(['top', 'pod', '-n', 'fresh']);
        assert.notEqual(run.code, 0);
        assert.match(run.stderr, /^error: metrics not available yet$/m);
        assert.ok(core.listCount('pods') > before, 'kubectl did not list the pods');
      });
    });
  }

  describe('rules-01 (k8s-prom-hpa, cAdvisor labels of Kubernetes 1.14)', () => {
    const { kubectl } = cluster('rules/real-world/rules-01-k8s-prom-hpa.yaml');

    test('top pod counts each container once: the pod cgroup series (container_name="") and the pause container are not added', async () => {
      const t = table(await kubectl(['top', 'pod', '-n', 'default']));
      assert.deepEqual(sorted(t.rows), sorted(expectedPods(inDefault)));
    });

    test('top pod --containers lists only the real containers', async () => {
      const t = table(await kubectl(['top', 'pod', '-n', 'default', '--containers']));
      assert.deepEqual(sorted(t.rows), sorted(expectedContainers(inDefault)));
    });

    test("top node prints the root cgroup's usage for the Linux nodes", async () => {
      const t = table(await kubectl(['top', 'node']));
      assert.deepEqual(sorted(t.rows), sorted(expectedNodes((n) => n.name !== WINDOWS_NODE)));
    });
  });

  describe("kube-prometheus's adapter config with objects from kube-state-metrics (--object-source prometheus)", () => {
    const { kubectl } = cluster('rules/real-world/rules-02-kube-prometheus.yaml', 'prometheus');

    test('top pod -A prints the pods of every namespace kube-state-metrics reports', async () => {
      const t = table(await kubectl(['top', 'pod', '-A']));
      assert.deepEqual(sorted(t.rows), sorted(expectedPods(() => true, true)));
    });

    test('top pod -l app=web --sort-by=cpu selects on the labels in kube_pod_labels', async () => {
      const t = table(await kubectl(['top', 'pod', '-n', 'default', '-l', 'app=web', '--sort-by=cpu']));
      assert.deepEqual(
        t.rows,
        expectedPods((p) => inDefault(p) && p.labels?.['app'] === 'web'),
      );
    });

    test('top node prints every node kube-state-metrics reports', async () => {
      const t = table(await kubectl(['top', 'node']));
      assert.deepEqual(sorted(t.rows), sorted(expectedNodes(() => true)));
    });
  });

  describe('authentication and authorization end to end (rules-02)', () => {
    const c = cluster('rules/real-world/rules-02-kube-prometheus.yaml');

    test("a user whom the cluster's authorizer denies gets kubectl's Forbidden message, decided by hpa-bridge's SubjectAccessReview", async () => {
      const before = core.accessReviews.length;
      const run = await c.kubectl(['top', 'pod', '-n', 'default'], { kubeconfig: await c.bridge().kubeconfigWithToken(DENIED_TOKEN) });
      assert.notEqual(run.code, 0);
      assert.match(
        run.stderr,
        /^Error from server \(Forbidden\): pods\.metrics\.k8s\.io is forbidden: User "eve" cannot list resource "pods" in API group "metrics\.k8s\.io" in the namespace "default"$/m,
      );
      const review = core.accessReviews.slice(before).find((s) => s.user === DENIED_USER && s.resourceAttributes !== undefined);
      const attributes = review?.resourceAttributes ?? {};
      assert.deepEqual(
        [attributes['namespace'], attributes['verb'], attributes['group'], attributes['version'], attributes['resource'], review?.groups],
        ['default', 'list', 'metrics.k8s.io', 'v1beta1', 'pods', ['contractors', 'system:authenticated']],
      );
    });

    test('a user with a client certificate of the cluster is served like one with a token', async () => {
      const kubeconfig = await c.bridge().kubeconfigWithCertificate('carol', ['viewers']);
      const t = table(await c.kubectl(['top', 'pod', '-n', 'default'], { kubeconfig }));
      assert.deepEqual(sorted(t.rows), sorted(expectedPods(inDefault)));
      assert.ok(core.accessReviews.some((s) => s.user === 'carol'));
    });

    test("hpa-bridge receives the user from the front proxy and never the caller's token", () => {
      const proxied = c.bridge().aggregator.proxied.filter((p) => p.url.startsWith('/apis/metrics.k8s.io/'));
      assert.ok(proxied.length > 0);
      for (const p of proxied) {
        assert.equal(p.headers['authorization'], undefined);
        assert.ok(['jane', 'eve', 'carol'].includes(String(p.headers['x-remote-user'])), String(p.headers['x-remote-user']));
      }
    });
  });

  describe('hpa-bridge without resourceRules', () => {
    const { kubectl } = cluster('rules/helm-default-rules.yaml');

    test("kubectl top pod gets the aggregator's 503: hpa-bridge does not serve metrics.k8s.io, so the APIService is unavailable", async () => {
      const run = await kubectl(['top', 'pod', '-n', 'default']);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /^Error from server \(ServiceUnavailable\): the server is currently unable to handle the request \(get pods\.metrics\.k8s\.io\)$/m);
    });
  });

  describe('every kubectl version beside kubectl (rules-02)', () => {
    const { kubectl } = cluster('rules/real-world/rules-02-kube-prometheus.yaml');
    for (const minor of KUBECTL_MINORS) {
      const binary = findVersionedKubectl(minor);
      const skip = binary ? false : `kubectl.1.${minor} is not beside kubectl`;

      test(`kubectl 1.${minor} top pod prints each pod with the sum of its containers`, { skip }, async () => {
        const t = table(await kubectl(['top', 'pod', '-n', 'default'], { binary: binary as string }));
        assert.deepEqual(sorted(t.rows), sorted(expectedPods(inDefault)));
      });

      test(`kubectl 1.${minor} top node prints each node's usage and share of allocatable`, { skip }, async () => {
        const t = table(await kubectl(['top', 'node'], { binary: binary as string }));
        assert.deepEqual(sorted(t.rows), sorted(expectedNodes(() => true)));
      });
    }
  });
});
