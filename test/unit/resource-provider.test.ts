// metrics.k8s.io from resourceRules over in-memory fakes: the exact PromQL
// sent for pods and nodes (prometheus-adapter's default rules and
// kube-prometheus'), which objects are asked for, and the errors a get
// answers with.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ApiError } from '../../adapter/errors.js';
import type { PodMetricsQuery } from '../../adapter/metrics-api-provider.js';
import type { MetricsSource, QueryOptions } from '../../adapter/prometheus.js';
import { ResourceMetricsFromRules } from '../../adapter/resource-provider.js';
import { parseFieldSelector } from '../../k8s/field-selector.js';
import { parseLabelSelector } from '../../k8s/label-selector.js';
import type { CompiledResourceRules } from '../../rules/compile.js';
import { formatDiagnostic } from '../../rules/diagnostics.js';
import { fixturePath } from '../support/fixtures.js';
import { FakeMetricsSource, FakeObjectLister, gate, RecordingLogger, sample } from '../support/fakes.js';
import { compileYaml } from '../support/rules.js';

const PODS = { group: '', resource: 'pods' };
const NODES = { group: '', resource: 'nodes' };
const DEADLINE = Date.now() + 3_600_000;
const TS = 1_700_000_000_000;

function resourceRules(file: string): CompiledResourceRules {
  const result = compileYaml(readFileSync(fixturePath(file), 'utf8'), file);
  const rules = result.ruleSet?.resourceRules;
  if (!rules) throw new Error(`no resourceRules in ${file}:\n${result.errors.map(formatDiagnostic).join('\n')}`);
  return rules;
}

const ADAPTER_DEFAULTS = resourceRules('rules/prometheus-adapter-resource-rules.yaml');
const KUBE_PROMETHEUS = resourceRules('rules/real-world/rules-02-kube-prometheus.yaml');

function harness(rules: CompiledResourceRules | undefined = ADAPTER_DEFAULTS, limits: { maxNamesPerQuery?: number } = {}) {
  const metrics = new FakeMetricsSource();
  const objects = new FakeObjectLister()
    .add(PODS, 'default', 'web-1', { app: 'web' })
    .add(PODS, 'default', 'web-2', { app: 'web' })
    .add(PODS, 'default', 'batch-1', { app: 'batch' })
    .add(PODS, 'other', 'web-1', { app: 'web' })
    .add(NODES, undefined, 'node-1', { role: 'worker' })
    .add(NODES, undefined, 'node-2', { role: 'worker' });
  const log = new RecordingLogger();
  let current: CompiledResourceRules | undefined = rules;
  const provider = new ResourceMetricsFromRules({ rules: () => current, metrics, objects, log, ...limits });
  return { provider, metrics, objects, log, setRules: (r: CompiledResourceRules | undefined) => void (current = r) };
}

const podQuery = (over: Partial<PodMetricsQuery> = {}): PodMetricsQuery => ({ namespace: 'default', labelSelector: [], fieldSelector: [], deadline: DEADLINE, ...over });

/** The ApiError a promise rejects with, as plain data. */
async function failure(p: Promise<unknown>): Promise<{ code: number; message: string; details?: unknown }> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) };
  }
  return assert.fail('expected the request to fail');
}

const container = (ns: string, pod: string, name: string, value: number) => sample({ namespace: ns, pod, container: name }, value, TS);

describe('pod queries', () => {
  test('a namespace list sends both default queries with the namespace and pod names as matchers and pod, namespace and container as GroupBy', async () => {
    const h = harness();
    h.metrics.onQuery = () => [];
    await h.provider.podMetrics(podQuery({ labelSelector: parseLabelSelector('app=web') }));
    assert.deepEqual(h.metrics.queries, [
      'sum by (pod,namespace,container) (\n  irate (\n      container_cpu_usage_seconds_total{namespace="default",pod=~"web-1|web-2",container!="",pod!=""}[4m]\n  )\n)\n',
      'sum by (pod,namespace,container) (\n  container_memory_working_set_bytes{namespace="default",pod=~"web-1|web-2",container!="",pod!=""}\n)\n',
    ]);
  });

  test('pods of every namespace are asked for without a namespace matcher', async () => {
    const h = harness();
    h.metrics.onQuery = () => [];
    await h.provider.podMetrics(podQuery({ namespace: undefined, labelSelector: parseLabelSelector('app=web') }));
    assert.match(h.metrics.queries[0] ?? '', /container_cpu_usage_seconds_total\{pod=~"web-1\|web-2",container!=""/);
  });

  test('above the name limit every pod of the namespace is asked for', async () => {
    const h = harness(ADAPTER_DEFAULTS, { maxNamesPerQuery: 2 });
    h.metrics.onQuery = () => [];
    await h.provider.podMetrics(podQuery());
    assert.match(h.metrics.queries[0] ?? '', /\{namespace="default",pod!="",container!=""/);
  });

  test('the cpu and memory queries run side by side', async () => {
    const h = harness();
    const held = gate<undefined>();
    h.metrics.onQuery = async () => {
      await held.promise;
      return [];
    };
    const answer = h.provider.podMetrics(podQuery());
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(h.metrics.inFlight, 2);
    held.resolve(undefined);
    await answer;
  });

  test('a field selector narrows the pods before anything is queried', async () => {
    const h = harness();
    h.metrics.onQuery = () => [];
    await h.provider.podMetrics(podQuery({ fieldSelector: parseFieldSelector('metadata.name!=web-2,metadata.namespace=default') }));
    assert.match(h.metrics.queries[0] ?? '', /pod=~"batch-1\|web-1"/);
  });

  test('no pod matching sends no query and answers an empty list', async () => {
    const h = harness();
    assert.deepEqual(await h.provider.podMetrics(podQuery({ labelSelector: parseLabelSelector('app=none') })), []);
    assert.deepEqual(h.metrics.queries, []);
  });

  test("a list reports the pods with both values and takes the window from the cpu query's range", async () => {
    const h = harness();
    h.metrics.onQuery = (q) =>
      q.startsWith('sum by (pod,namespace,container) (\n  irate')
        ? [container('default', 'web-1', 'app', 0.25), container('default', 'web-2', 'app', 0.5)]
        : [container('default', 'web-1', 'app', 1048576)];
    const items = await h.provider.podMetrics(podQuery({ labelSelector: parseLabelSelector('app=web') }));
    assert.deepEqual(items, [
      { name: 'web-1', namespace: 'default', labels: { app: 'web' }, timestamp: new Date(TS), windowSeconds: 240, containers: [{ name: 'app', usage: { cpu: '250m', memory: '1Mi' } }] },
    ]);
  });

  test('a NaN value is logged as left out', async () => {
    const h = harness();
    h.metrics.onQuery = (q) => [container('default', 'web-1', 'app', q.includes('cpu') ? NaN : 1)];
    await h.provider.podMetrics(podQuery({ name: 'web-1' })).catch(() => undefined);
    assert.deepEqual(
      h.log.at('warn').map((e) => [e.message, e.fields]),
      [['left out a value that is not a usage (NaN, infinite or negative)', { pod: 'default/web-1', container: 'app', resource: 'cpu', value: 'NaN' }]],
    );
  });
});

describe('pod gets', () => {
  test('an unknown pod is the 404 a pod lister answers', async () => {
    const h = harness();
    assert.deepEqual(await failure(h.provider.podMetrics(podQuery({ name: 'web-9' }))), { code: 404, message: 'pods "web-9" not found', details: { name: 'web-9', kind: 'pods' } });
    assert.deepEqual(h.metrics.queries, []);
  });

  test("a pod without values is metrics-server's 404, with the reason", async () => {
    const h = harness();
    h.metrics.onQuery = (q) => (q.includes('cpu') ? [container('default', 'web-1', 'app', 0.1)] : []);
    assert.deepEqual(await failure(h.provider.podMetrics(podQuery({ name: 'web-1' }))), {
      code: 404,
      message: 'podmetrics.metrics.k8s.io "default/web-1" not found: container "app" has no memory value',
      details: { name: 'default/web-1', group: 'metrics.k8s.io', kind: 'podmetrics' },
    });
  });

  test('a get queries the one pod by name', async () => {
    const h = harness();
    h.metrics.onQuery = () => [container('default', 'web-1', 'app', 1)];
    const items = await h.provider.podMetrics(podQuery({ name: 'web-1' }));
    assert.deepEqual(
      items.map((p) => p.name),
      ['web-1'],
    );
    assert.match(h.metrics.queries[0] ?? '', /\{namespace="default",pod="web-1",/);
  });
});

describe('node queries', () => {
  test('kube-prometheus: cpu is read by node and memory by instance, and the window falls back to resourceRules.window', async () => {
    const h = harness(KUBE_PROMETHEUS);
    h.metrics.onQuery = (q) => (q.includes('node_cpu_seconds_total') ? [sample({ node: 'node-1' }, 2, TS), sample({ node: 'node-2' }, 1, TS)] : [sample({ instance: 'node-1' }, 4 * 1024 ** 3, TS)]);
    const items = await h.provider.nodeMetrics({ labelSelector: [], fieldSelector: [], deadline: DEADLINE });
    assert.match(h.metrics.queries[0] ?? '', /node_namespace_pod:kube_pod_info:\{node=~"node-1\|node-2"\}/);
    assert.match(h.metrics.queries[1] ?? '', /node_memory_MemTotal_bytes\{job="node-exporter",instance=~"node-1\|node-2"\}/);
    assert.match(h.metrics.queries[1] ?? '', /sum by \(instance\)/);
    assert.deepEqual(items, [{ name: 'node-1', labels: { role: 'worker' }, timestamp: new Date(TS), windowSeconds: 300, usage: { cpu: '2', memory: '4Gi' } }]);
  });

  test('a get of a node missing cpu is a 404 that says so', async () => {
    const h = harness();
    h.metrics.onQuery = (q) => (q.includes('node_memory') ? [sample({ node: 'node-1' }, 1024, TS)] : []);
    assert.deepEqual(await failure(h.provider.nodeMetrics({ name: 'node-1', labelSelector: [], fieldSelector: [], deadline: DEADLINE })), {
      code: 404,
      message: 'nodemetrics.metrics.k8s.io "node-1" not found: the cpu query returned no value for it',
      details: { name: 'node-1', group: 'metrics.k8s.io', kind: 'nodemetrics' },
    });
  });

  test('an unknown node is the 404 a node lister answers', async () => {
    const h = harness();
    assert.deepEqual(await failure(h.provider.nodeMetrics({ name: 'node-9', labelSelector: [], fieldSelector: [], deadline: DEADLINE })), {
      code: 404,
      message: 'node "node-9" not found',
      details: { name: 'node-9', kind: 'node' },
    });
  });

  test('a field selector on the namespace matches no node, since nodes have none', async () => {
    const h = harness();
    assert.deepEqual(await h.provider.nodeMetrics({ labelSelector: [], fieldSelector: parseFieldSelector('metadata.namespace=default'), deadline: DEADLINE }), []);
  });
});

describe('deadlines and cancellation', () => {
  test("both queries carry the request's deadline and abort signal", async () => {
    const seen: QueryOptions[] = [];
    const metrics: MetricsSource = {
      query: async (_q, options) => {
        seen.push(options);
        return [];
      },
      series: async () => assert.fail('no series lookups'),
    };
    const objects = new FakeObjectLister().add(NODES, undefined, 'node-1');
    const provider = new ResourceMetricsFromRules({ rules: () => ADAPTER_DEFAULTS, metrics, objects, log: new RecordingLogger() });
    const signal = new AbortController().signal;
    await provider.nodeMetrics({ labelSelector: [], fieldSelector: [], deadline: 12345, signal });
    assert.deepEqual(
      seen.map((o) => [o.deadline, o.signal === signal]),
      [
        [12345, true],
        [12345, true],
      ],
    );
  });
});

describe('rules in force', () => {
  test('served follows the rule set, and without resourceRules a request is a 404', async () => {
    const h = harness();
    assert.equal(h.provider.served(), true);
    h.setRules(undefined);
    assert.equal(h.provider.served(), false);
    assert.equal((await failure(h.provider.podMetrics(podQuery()))).code, 404);
  });

  test('a Prometheus failure is a 503 naming the query and its rule location', async () => {
    const h = harness();
    const { PrometheusError } = await import('../../adapter/prometheus.js');
    h.metrics.onQuery = () => {
      throw new PrometheusError('unavailable', 'cannot reach Prometheus: ECONNREFUSED');
    };
    const f = await failure(h.provider.podMetrics(podQuery()));
    assert.equal(f.code, 503);
    assert.match(
      f.message,
      /^querying Prometheus for rule resourceRules\.cpu\.containerQuery \(rules\/prometheus-adapter-resource-rules\.yaml:\d+\) failed: cannot reach Prometheus: ECONNREFUSED; query: /,
    );
  });
});
