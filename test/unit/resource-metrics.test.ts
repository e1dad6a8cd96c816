// Samples of the cpu and memory queries turned into PodMetrics and
// NodeMetrics usage: what is reported, what is left out and why, and how
// values, timestamps and windows are written.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleNodeUsage, assemblePodUsage, usageWindowSeconds, type PodAssemblyInput } from '../../adapter/resource-metrics.js';
import type { ObjectRef } from '../../adapter/objects/types.js';
import type { ContainerLabels } from '../../rules/resource-query.js';
import { formatBytes, formatCores } from '../../k8s/quantity.js';
import { sample } from '../support/fakes.js';

const LABELS: ContainerLabels = { pod: 'pod', namespace: 'namespace', container: 'container' };
const T0 = 1_700_000_000_000;

const pod = (name: string, namespace = 'default', labels: Record<string, string> = {}): ObjectRef => ({ name, namespace, labels });
const cpu = (p: string, container: string, value: number, ts = T0, namespace = 'default') => sample({ namespace, pod: p, container }, value, ts);
const mem = cpu;

function pods(input: Partial<PodAssemblyInput> & Pick<PodAssemblyInput, 'pods'>) {
  return assemblePodUsage({
    namespace: 'default',
    cpu: { samples: [], labels: LABELS },
    memory: { samples: [], labels: LABELS },
    windowSeconds: 120,
    ...input,
  });
}

describe('pod usage', () => {
  test('a pod with a sidecar reports both containers, sorted by name, cpu in cores and memory in bytes', () => {
    const r = pods({
      pods: [pod('web-1', 'default', { app: 'web' })],
      cpu: { samples: [cpu('web-1', 'proxy', 0.012345678), cpu('web-1', 'app', 0.25)], labels: LABELS },
      memory: { samples: [mem('web-1', 'proxy', 1048576), mem('web-1', 'app', 123456789)], labels: LABELS },
    });
    assert.deepEqual(r.items, [
      {
        name: 'web-1',
        namespace: 'default',
        labels: { app: 'web' },
        timestamp: new Date(T0),
        windowSeconds: 120,
        containers: [
          { name: 'app', usage: { cpu: '250m', memory: '123456789' } },
          { name: 'proxy', usage: { cpu: '12345678n', memory: '1Mi' } },
        ],
      },
    ]);
    assert.equal(r.missing.size, 0);
  });

  test('a container with cpu but no memory leaves the whole pod out, with no zero filled in', () => {
    const r = pods({
      pods: [pod('web-1')],
      cpu: { samples: [cpu('web-1', 'app', 0.5), cpu('web-1', 'proxy', 0.1)], labels: LABELS },
      memory: { samples: [mem('web-1', 'app', 1000)], labels: LABELS },
    });
    assert.deepEqual(r.items, []);
    assert.equal(r.missing.get('default/web-1'), 'container "proxy" has no memory value');
  });

  test('a container with memory but no cpu leaves the pod out too', () => {
    const r = pods({ pods: [pod('web-1')], memory: { samples: [mem('web-1', 'app', 1000)], labels: LABELS } });
    assert.deepEqual(r.items, []);
    assert.equal(r.missing.get('default/web-1'), 'container "app" has no cpu value');
  });

  test('series with an empty or POD container are neither containers nor counted', () => {
    const r = pods({
      pods: [pod('web-1')],
      cpu: { samples: [cpu('web-1', 'app', 0.5), cpu('web-1', '', 0.6), cpu('web-1', 'POD', 0.001)], labels: LABELS },
      memory: { samples: [mem('web-1', 'app', 1000), mem('web-1', '', 2000), mem('web-1', 'POD', 300)], labels: LABELS },
    });
    assert.deepEqual(
      r.items.map((p) => p.containers),
      [[{ name: 'app', usage: { cpu: '500m', memory: '1k' } }]],
    );
  });

  test('a series without the container label is not a container', () => {
    const r = pods({
      pods: [pod('web-1')],
      cpu: { samples: [sample({ namespace: 'default', pod: 'web-1' }, 0.5)], labels: LABELS },
      memory: { samples: [sample({ namespace: 'default', pod: 'web-1' }, 100)], labels: LABELS },
    });
    assert.deepEqual(r.items, []);
    assert.match(r.missing.get('default/web-1') ?? '', /no cpu or memory value for any of its containers/);
  });

  test('a NaN value is left out, so the pod lacks that resource, and the value is reported as a problem', () => {
    const r = pods({
      pods: [pod('web-1')],
      cpu: { samples: [cpu('web-1', 'app', NaN)], labels: LABELS },
      memory: { samples: [mem('web-1', 'app', 1000)], labels: LABELS },
    });
    assert.deepEqual(r.items, []);
    assert.equal(r.missing.get('default/web-1'), 'container "app": its cpu value NaN is not a usage');
    assert.deepEqual(r.problems, [{ object: 'default/web-1', container: 'app', resource: 'cpu', value: NaN, outcome: 'left out' }]);
  });

  test('infinite and negative values are left out as well', () => {
    const r = pods({
      pods: [pod('a'), pod('b')],
      cpu: { samples: [cpu('a', 'app', Infinity), cpu('b', 'app', 0.1)], labels: LABELS },
      memory: { samples: [mem('a', 'app', 10), mem('b', 'app', -1)], labels: LABELS },
    });
    assert.deepEqual(r.items, []);
    assert.deepEqual([...r.missing.values()], ['container "app": its cpu value Infinity is not a finite number', 'container "app": its memory value -1 is not a usage']);
  });

  test('the timestamp is the earliest of the samples used', () => {
    const r = pods({
      pods: [pod('web-1')],
      cpu: { samples: [cpu('web-1', 'app', 0.5, T0 + 5000), cpu('web-1', 'b', 0.5, T0 + 9000)], labels: LABELS },
      memory: { samples: [mem('web-1', 'app', 1, T0 + 2000), mem('web-1', 'b', 1, T0 + 7000)], labels: LABELS },
    });
    assert.deepEqual(r.items[0]?.timestamp, new Date(T0 + 2000));
  });

  test('samples of pods not asked for are ignored', () => {
    const r = pods({
      pods: [pod('web-1')],
      cpu: { samples: [cpu('web-1', 'app', 0.5), cpu('web-2', 'app', 0.5)], labels: LABELS },
      memory: { samples: [mem('web-1', 'app', 1), mem('web-2', 'app', 1)], labels: LABELS },
    });
    assert.deepEqual(
      r.items.map((p) => p.name),
      ['web-1'],
    );
  });

  test('across namespaces, each sample belongs to the pod of its own namespace, and items sort by namespace then name', () => {
    const r = pods({
      namespace: undefined,
      pods: [pod('web', 'prod'), pod('web', 'dev'), pod('api', 'prod')],
      cpu: { samples: [cpu('web', 'app', 1, T0, 'prod'), cpu('web', 'app', 2, T0, 'dev'), cpu('api', 'app', 3, T0, 'prod')], labels: LABELS },
      memory: { samples: [mem('web', 'app', 10, T0, 'prod'), mem('web', 'app', 20, T0, 'dev'), mem('api', 'app', 30, T0, 'prod')], labels: LABELS },
    });
    assert.deepEqual(
      r.items.map((p) => `${p.namespace}/${p.name}=${p.containers[0]?.usage.cpu}`),
      ['dev/web=2', 'prod/api=3', 'prod/web=1'],
    );
  });

  test('a query that drops the namespace label still answers for the namespace asked', () => {
    const r = pods({
      pods: [pod('web-1')],
      cpu: { samples: [sample({ pod: 'web-1', container: 'app' }, 0.5)], labels: LABELS },
      memory: { samples: [sample({ pod: 'web-1', container: 'app' }, 100)], labels: LABELS },
    });
    assert.equal(r.items.length, 1);
  });

  test('cpu and memory rules may name the container by different labels', () => {
    const r = pods({
      pods: [pod('web-1')],
      cpu: { samples: [sample({ namespace: 'default', pod: 'web-1', container_name: 'app' }, 0.5)], labels: { ...LABELS, container: 'container_name' } },
      memory: { samples: [mem('web-1', 'app', 100)], labels: LABELS },
    });
    assert.deepEqual(r.items[0]?.containers, [{ name: 'app', usage: { cpu: '500m', memory: '100' } }]);
  });
});

describe('node usage', () => {
  const node = (name: string): ObjectRef => ({ name, labels: { role: 'worker' } });

  test('a node reads cpu by `node` and memory by `instance` where kube-prometheus maps instance to nodes', () => {
    const r = assembleNodeUsage({
      nodes: [node('n1')],
      cpu: { samples: [sample({ node: 'n1' }, 1.5, T0 + 1000)], labels: 'node' },
      memory: { samples: [sample({ instance: 'n1' }, 8 * 1024 ** 3, T0)], labels: 'instance' },
      windowSeconds: 300,
    });
    assert.deepEqual(r.items, [{ name: 'n1', labels: { role: 'worker' }, timestamp: new Date(T0), windowSeconds: 300, usage: { cpu: '1500m', memory: '8Gi' } }]);
  });

  test('a node missing cpu is left out of the list, which still holds the others', () => {
    const r = assembleNodeUsage({
      nodes: [node('n1'), node('n2')],
      cpu: { samples: [sample({ node: 'n2' }, 1)], labels: 'node' },
      memory: { samples: [sample({ node: 'n1' }, 1), sample({ node: 'n2' }, 2)], labels: 'node' },
      windowSeconds: 300,
    });
    assert.deepEqual(
      r.items.map((n) => n.name),
      ['n2'],
    );
    assert.equal(r.missing.get('n1'), 'the cpu query returned no value for it');
  });

  test('a node whose memory is NaN is left out and the value reported', () => {
    const r = assembleNodeUsage({
      nodes: [node('n1')],
      cpu: { samples: [sample({ node: 'n1' }, 1)], labels: 'node' },
      memory: { samples: [sample({ node: 'n1' }, NaN)], labels: 'node' },
      windowSeconds: 300,
    });
    assert.deepEqual(r.items, []);
    assert.equal(r.missing.get('n1'), 'its memory value NaN is not a usage');
    assert.equal(r.problems.length, 1);
  });

  test('nodes come out sorted by name', () => {
    const both = [sample({ node: 'b' }, 1), sample({ node: 'a' }, 1)];
    const r = assembleNodeUsage({ nodes: [node('b'), node('a')], cpu: { samples: both, labels: 'node' }, memory: { samples: both, labels: 'node' }, windowSeconds: 1 });
    assert.deepEqual(
      r.items.map((n) => n.name),
      ['a', 'b'],
    );
  });
});

describe('window', () => {
  const table: [string, string, string, number][] = [
    ['the cpu query range', 'sum(irate(c[4m]))', 'sum(m)', 240],
    ['the memory query range when cpu has none', 'sum(c)', 'avg_over_time(m[90s])', 90],
    ['the cpu range first when both have one', 'rate(c[2m])', 'avg_over_time(m[5m])', 120],
    ['the configured window when neither has a range', 'sum(c)', 'sum(m)', 300],
    ['the configured window when the cpu ranges disagree and memory has none', 'rate(a[60s]) or rate(b[4m])', 'sum(m)', 300],
  ];
  for (const [what, cpuQuery, memoryQuery, seconds] of table) {
    test(`is ${what}`, () => {
      assert.equal(usageWindowSeconds(cpuQuery, memoryQuery, 300), seconds);
    });
  }
});

describe('usage quantities', () => {
  const cores: [number, string][] = [
    [0.012345678, '12345678n'],
    [0.25, '250m'],
    [1.5, '1500m'],
    [2, '2'],
    [0, '0'],
    [1e-10, '0'],
    [0.0000015, '1500n'],
  ];
  for (const [value, text] of cores) {
    test(`${value} cores is ${text}`, () => assert.deepEqual(formatCores(value), { text, capped: false }));
  }
  const bytes: [number, string][] = [
    [123456789, '123456789'],
    [2728711509.333, '2728711509'],
    [1048576, '1Mi'],
    [1536, '1536'],
    [3 * 1024 ** 3, '3Gi'],
    [999.5, '1k'],
  ];
  for (const [value, text] of bytes) {
    test(`${value} bytes is ${text}, never milli-bytes`, () => assert.deepEqual(formatBytes(value), { text, capped: false }));
  }
  test('values beyond an int64 MilliValue are capped', () => {
    assert.deepEqual(formatBytes(1e300), { text: '9223372036854775', capped: true });
    assert.deepEqual(formatCores(1e300), { text: '9223372036854775807m', capped: true });
  });
  test('NaN is not a quantity', () => {
    assert.throws(() => formatCores(NaN), /not a finite number/);
  });
});
