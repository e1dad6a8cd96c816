// The HPA replica calculation for single metrics and for sets of metrics.
// The numbers come from the Kubernetes documentation ("Horizontal Pod
// Autoscaling", algorithm details) and from the cases of
// pkg/controller/podautoscaler/replica_calculator_test.go and horizontal_test.go,
// rebuilt here on the same fixtures: every pod has two containers with the
// same request, and a "level" is each container's usage.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  calculateRequests,
  computeReplicasForMetric,
  computeReplicasForMetrics,
  getExternalMetricReplicas,
  getExternalPerPodMetricReplicas,
  getMetricReplicas,
  getObjectMetricReplicas,
  getObjectPerPodMetricReplicas,
  getResourceReplicas,
  goLabelSelector,
  groupPods,
  HpaCalculationError,
  HpaInputError,
  isWithinTolerance,
  milliValue,
  podsMetricInfo,
  resourceMetricsInfo,
  uniformTolerances,
  type CalculatorContext,
  type ConditionStatus,
  type MetricContext,
  type MetricSpec,
  type MetricsSource,
  type PodInfo,
  type PodMetricsItem,
  type PodPhase,
} from '../../hpa/index.js';

const NOW = 1_700_000_000_000;
const MINUTE = 60_000;
// The upstream fixtures: a pod that started now is "hot" (inside the cpu
// initialization period), one that started 3 minutes ago is "cool".
const HOT = NOW;
const COOL = NOW - 3 * MINUTE;
// defaultTestingTolerance, defaultTestingCPUInitializationPeriod and
// defaultTestingDelayOfInitialReadinessStatus of replica_calculator.go.
const READINESS = { now: NOW, cpuInitializationPeriod: 2 * MINUTE, delayOfInitialReadinessStatus: 10_000 };
const TOLERANCES = uniformTolerances(0.1);

interface Fixture {
  readonly currentReplicas: number;
  readonly requests?: readonly string[];
  readonly podReadiness?: readonly ConditionStatus[];
  readonly podStartTime?: readonly number[];
  readonly podPhase?: readonly PodPhase[];
  readonly podDeletion?: readonly boolean[];
}

// prepareTestClientSet: max(currentReplicas, len(podPhase)) pods, ready and
// running unless told otherwise, started at the zero time (epoch 0 here).
function makePods(f: Fixture): PodInfo[] {
  const count = Math.max(f.currentReplicas, f.podPhase?.length ?? 0);
  return Array.from({ length: count }, (_, i): PodInfo => {
    const request = f.requests?.[i];
    const resources = request === undefined ? {} : { resources: { requests: { cpu: request } } };
    return {
      name: `test-pod-${i}`,
      phase: f.podPhase?.[i] ?? 'Running',
      startTime: f.podStartTime?.[i] ?? 0,
      ready: { status: f.podReadiness?.[i] ?? 'True' },
      containers: [
        { name: 'container1', ...resources },
        { name: 'container2', ...resources },
      ],
      ...(f.podDeletion?.[i] === true ? { deletionTimestamp: NOW } : {}),
    };
  });
}

// prepareTestMetricsClient: a number is the usage of each of the two
// containers (makePodMetricLevels); a list names the containers'
// usages in order, and a short list leaves a nameless container without usage.
function makeResourceMetrics(levels: readonly (number | readonly number[])[], podNames: readonly string[] = []) {
  return levels.map((level, i): PodMetricsItem => {
    const values = typeof level === 'number' ? [level, level] : level;
    const containers = [0, 1].map((j): PodMetricsItem['containers'][number] => {
      const v = values[j];
      return v === undefined ? { name: '', usage: {} } : { name: `container${j + 1}`, usage: { cpu: `${v}m` } };
    });
    // The test metrics carry the zero timestamp and a one-minute window.
    return { name: podNames[i] ?? `test-pod-${i}`, timestamp: 0, windowMs: MINUTE, containers };
  });
}

function context(pods: readonly PodInfo[]): CalculatorContext {
  return { ...READINESS, pods, tolerances: TOLERANCES };
}

interface ResourceCase extends Fixture {
  readonly name: string;
  readonly levels: readonly (number | readonly number[])[];
  readonly podNames?: readonly string[];
  readonly container?: string;
  readonly targetUtilization: number;
  readonly expected: { readonly replicas: number; readonly utilization: number; readonly value: bigint } | RegExp;
}

const ONE = '1.0';
const r = (n: number): string[] => Array.from({ length: n }, () => ONE);

const resourceCases: ResourceCase[] = [
  {
    name: 'three pods at 50% of a 30% target scale to five',
    currentReplicas: 3,
    requests: r(3),
    levels: [300, 500, 700],
    targetUtilization: 30,
    expected: { replicas: 5, utilization: 50, value: 1000n },
  },
  {
    name: 'a container metric uses that container only',
    currentReplicas: 3,
    requests: r(3),
    levels: [
      [1000, 300],
      [1000, 500],
      [1000, 700],
    ],
    container: 'container2',
    targetUtilization: 30,
    expected: { replicas: 5, utilization: 50, value: 500n },
  },
  {
    name: 'an unready pod counts as idle on a cpu scale-up, which scales less',
    currentReplicas: 3,
    requests: r(3),
    podReadiness: ['False', 'True', 'True'],
    levels: [300, 500, 700],
    targetUtilization: 30,
    expected: { replicas: 4, utilization: 60, value: 1200n },
  },
  {
    name: 'a pod inside the cpu initialization period counts as idle on a scale-up',
    currentReplicas: 3,
    requests: r(3),
    podStartTime: [HOT, COOL, COOL],
    levels: [300, 500, 700],
    targetUtilization: 30,
    expected: { replicas: 4, utilization: 60, value: 1200n },
  },
  {
    name: 'unready pods counted as idle can cancel a scale-up altogether',
    currentReplicas: 3,
    requests: r(3),
    podReadiness: ['True', 'False', 'False'],
    levels: [400, 500, 700],
    targetUtilization: 30,
    expected: { replicas: 3, utilization: 40, value: 800n },
  },
  {
    name: 'hot unready pods can cancel a scale-up altogether',
    currentReplicas: 3,
    requests: r(3),
    podReadiness: ['True', 'False', 'False'],
    podStartTime: [COOL, HOT, HOT],
    levels: [400, 500, 700],
    targetUtilization: 30,
    expected: { replicas: 3, utilization: 40, value: 800n },
  },
  {
    name: 'failed pods are left out of a scale-up',
    currentReplicas: 2,
    requests: r(4),
    podReadiness: ['True', 'True', 'False', 'False'],
    podPhase: ['Running', 'Running', 'Failed', 'Failed'],
    levels: [500, 700],
    targetUtilization: 30,
    expected: { replicas: 4, utilization: 60, value: 1200n },
  },
  {
    name: 'pods being deleted are left out of a scale-up',
    currentReplicas: 2,
    requests: r(4),
    podReadiness: ['True', 'True', 'False', 'False'],
    podPhase: ['Running', 'Running', 'Running', 'Running'],
    podDeletion: [false, false, true, true],
    levels: [500, 700],
    targetUtilization: 30,
    expected: { replicas: 4, utilization: 60, value: 1200n },
  },
  {
    name: 'five pods at 28% of a 50% target scale down to three',
    currentReplicas: 5,
    requests: r(5),
    levels: [100, 300, 500, 250, 250],
    targetUtilization: 50,
    expected: { replicas: 3, utilization: 28, value: 560n },
  },
  {
    name: 'a container metric scales down on that container alone',
    currentReplicas: 5,
    requests: r(5),
    levels: [
      [1000, 100],
      [1000, 300],
      [1000, 500],
      [1000, 250],
      [1000, 250],
    ],
    container: 'container2',
    targetUtilization: 50,
    expected: { replicas: 3, utilization: 28, value: 280n },
  },
  {
    name: 'unready pods are left out of a scale-down',
    currentReplicas: 5,
    requests: r(5),
    podReadiness: ['True', 'True', 'True', 'False', 'False'],
    levels: [100, 300, 500, 250, 250],
    targetUtilization: 50,
    expected: { replicas: 2, utilization: 30, value: 600n },
  },
  {
    name: 'pending pods are left out of a scale-down',
    currentReplicas: 5,
    requests: r(5),
    podReadiness: ['True', 'False', 'False', 'False', 'False'],
    podPhase: ['Running', 'Pending', 'Pending', 'Pending', 'Pending'],
    levels: [100],
    targetUtilization: 50,
    expected: { replicas: 1, utilization: 10, value: 200n },
  },
  {
    name: 'hot pods are left out of a scale-down',
    currentReplicas: 5,
    requests: r(5),
    podStartTime: [COOL, COOL, COOL, HOT, HOT],
    levels: [100, 300, 500, 250, 250],
    targetUtilization: 50,
    expected: { replicas: 2, utilization: 30, value: 600n },
  },
  {
    name: 'failed pods are left out of a scale-down',
    currentReplicas: 5,
    requests: r(7),
    podReadiness: ['True', 'True', 'True', 'True', 'True', 'False', 'False'],
    podPhase: ['Running', 'Running', 'Running', 'Running', 'Running', 'Failed', 'Failed'],
    levels: [100, 300, 500, 250, 250],
    targetUtilization: 50,
    expected: { replicas: 3, utilization: 28, value: 560n },
  },
  {
    name: 'pods being deleted are left out of a scale-down, even while still running',
    currentReplicas: 5,
    requests: r(7),
    podReadiness: ['True', 'True', 'True', 'True', 'True', 'False', 'False'],
    podPhase: ['Running', 'Running', 'Running', 'Running', 'Running', 'Running', 'Running'],
    podDeletion: [false, false, false, false, false, true, true],
    levels: [100, 300, 500, 250, 250],
    targetUtilization: 50,
    expected: { replicas: 3, utilization: 28, value: 560n },
  },
  {
    name: 'a utilization 2% over target is within tolerance and changes nothing',
    currentReplicas: 3,
    requests: ['0.9', '1.0', '1.1'],
    levels: [1010, 1030, 1020],
    targetUtilization: 100,
    expected: { replicas: 3, utilization: 102, value: 2040n },
  },
  {
    name: 'metrics of pods that are not selected do not count toward the utilization',
    currentReplicas: 4,
    requests: r(4),
    levels: [4000, 9500, 3000, 7000, 3200, 2000],
    targetUtilization: 100,
    expected: { replicas: 24, utilization: 587, value: 11750n },
  },
  {
    name: 'pods missing metrics count as fully used on a scale-down',
    currentReplicas: 4,
    requests: r(4),
    levels: [400, 95],
    targetUtilization: 100,
    expected: { replicas: 3, utilization: 24, value: 495n },
  },
  {
    name: 'a pod missing its metric at exactly the target leaves the count alone',
    currentReplicas: 2,
    requests: r(2),
    levels: [1000],
    targetUtilization: 100,
    expected: { replicas: 2, utilization: 100, value: 2000n },
  },
  {
    name: 'a pod missing its metric cancels a scale-up it would reverse',
    currentReplicas: 2,
    requests: r(2),
    levels: [1900],
    targetUtilization: 100,
    expected: { replicas: 2, utilization: 190, value: 3800n },
  },
  {
    name: 'a pod missing its metric cancels a scale-down it would not shrink',
    currentReplicas: 2,
    requests: r(2),
    levels: [600],
    targetUtilization: 100,
    expected: { replicas: 2, utilization: 60, value: 1200n },
  },
  {
    name: 'a missing pod counted as fully used cancels a scale-down beside an unready pod',
    currentReplicas: 3,
    requests: r(3),
    podReadiness: ['False', 'True', 'True'],
    levels: [100, 450],
    targetUtilization: 50,
    expected: { replicas: 3, utilization: 45, value: 900n },
  },
  {
    name: 'a missing pod counted as fully used cancels a scale-down beside a hot pod',
    currentReplicas: 3,
    requests: r(3),
    podStartTime: [HOT, COOL, COOL],
    levels: [100, 450],
    targetUtilization: 50,
    expected: { replicas: 3, utilization: 45, value: 900n },
  },
  {
    name: 'missing and unready pods count as idle on a scale-up',
    currentReplicas: 3,
    requests: r(3),
    podReadiness: ['False', 'True', 'True'],
    levels: [100, 2000],
    targetUtilization: 50,
    expected: { replicas: 4, utilization: 200, value: 4000n },
  },
  {
    name: 'missing and hot unready pods count as idle on a scale-up',
    currentReplicas: 3,
    requests: r(3),
    podReadiness: ['False', 'True', 'True'],
    podStartTime: [HOT, COOL, COOL],
    levels: [100, 2000],
    targetUtilization: 50,
    expected: { replicas: 4, utilization: 200, value: 4000n },
  },
  {
    name: 'a missing pod counts as fully used on a scale-down beside an unready one',
    currentReplicas: 4,
    requests: r(4),
    podReadiness: ['False', 'True', 'True', 'True'],
    levels: [100, 100, 100],
    targetUtilization: 50,
    expected: { replicas: 3, utilization: 10, value: 200n },
  },
  {
    name: 'a missing pod counts at the target when the target is above 100%',
    currentReplicas: 4,
    requests: ['1.0', '1.0', '2.0', '2.0'],
    podReadiness: ['False', 'True', 'True', 'True'],
    levels: [200, 100, 100],
    targetUtilization: 300,
    expected: { replicas: 2, utilization: 6, value: 200n },
  },
  {
    name: 'a surge pod without metrics does not make a rolling update scale',
    currentReplicas: 2,
    requests: r(3),
    podPhase: ['Running', 'Running', 'Running'],
    levels: [100, 100],
    targetUtilization: 50,
    expected: { replicas: 2, utilization: 10, value: 200n },
  },
  // TestReplicaCalcComputedToleranceAlgImplementation: 10 pods using 150m of
  // ~300m; a 56% target is just outside the band, 55% just inside.
  ...[56, 55].map((target): ResourceCase => ({
    name: `ten pods at 50% of a ${target}% target ${target === 56 ? 'scale to nine' : 'stay at ten'}`,
    currentReplicas: 10,
    requests: ['400m', '200m', '310m', '290m', '302m', '298m', '301m', '299m', '300m', '300m'],
    levels: Array.from({ length: 10 }, () => 150),
    targetUtilization: target,
    expected: { replicas: target === 56 ? 9 : 10, utilization: 50, value: 300n },
  })),
  {
    name: 'metrics for a pod the selector does not pick match no request',
    currentReplicas: 1,
    requests: r(1),
    levels: [100],
    podNames: ['an-older-pod-name'],
    targetUtilization: 100,
    expected: /^no metrics returned matched known pods$/,
  },
  {
    name: 'a container without a cpu request is an error',
    currentReplicas: 1,
    requests: [],
    levels: [200],
    targetUtilization: 100,
    expected: /^missing request for cpu in container container1 of Pod test-pod-0$/,
  },
];

describe('getResourceReplicas (replica_calculator_test.go)', () => {
  for (const tc of resourceCases) {
    test(tc.name, () => {
      const pods = makePods(tc);
      const run = () => {
        const fetched = resourceMetricsInfo(makeResourceMetrics(tc.levels, tc.podNames), 'cpu', tc.container ?? '', 'test-namespace');
        return getResourceReplicas(context(pods), {
          currentReplicas: tc.currentReplicas,
          targetUtilization: tc.targetUtilization,
          resource: 'cpu',
          container: tc.container ?? '',
          metrics: fetched.metrics,
        });
      };
      if (tc.expected instanceof RegExp) {
        assert.throws(run, (err: Error) => err instanceof HpaCalculationError && (tc.expected as RegExp).test(err.message));
        return;
      }
      assert.deepEqual(run(), {
        replicas: tc.expected.replicas,
        utilization: tc.expected.utilization,
        rawUtilization: tc.expected.value,
      });
    });
  }
});

interface PlainCase extends Fixture {
  readonly name: string;
  readonly levels: readonly number[];
  readonly target: number;
  readonly expected: { readonly replicas: number; readonly usage: bigint };
}

const podsMetricCases: PlainCase[] = [
  {
    name: 'pods averaging 20 qps against 15 scale from three to four',
    currentReplicas: 3,
    levels: [20000, 10000, 30000],
    target: 15000,
    expected: { replicas: 4, usage: 20000n },
  },
  {
    name: 'readiness does not matter for a pods metric',
    currentReplicas: 3,
    podReadiness: ['True', 'True', 'False'],
    podStartTime: [COOL, COOL, HOT],
    levels: [50000, 10000, 30000],
    target: 15000,
    expected: { replicas: 6, usage: 30000n },
  },
  {
    name: 'a pods metric averages over unready and hot pods too',
    currentReplicas: 3,
    podReadiness: ['False', 'True', 'False'],
    podStartTime: [HOT, COOL, HOT],
    levels: [50000, 15000, 30000],
    target: 15000,
    expected: { replicas: 7, usage: 31666n },
  },
  {
    name: 'one pod at 8.6 against 4.4 scales to two',
    currentReplicas: 1,
    levels: [8600],
    target: 4400,
    expected: { replicas: 2, usage: 8600n },
  },
  {
    name: 'five pods at 12 against 20 scale down to three',
    currentReplicas: 5,
    levels: [12000, 12000, 12000, 12000, 12000],
    target: 20000,
    expected: { replicas: 3, usage: 12000n },
  },
  {
    name: 'a pods metric 3% over target is within tolerance',
    currentReplicas: 3,
    levels: [20000, 21000, 21000],
    target: 20000,
    expected: { replicas: 3, usage: 20666n },
  },
  {
    name: 'pods missing a metric count at the target and keep the count',
    currentReplicas: 5,
    levels: [20000, 19000, 21000],
    target: 20000,
    expected: { replicas: 5, usage: 20000n },
  },
  {
    name: 'a surge pod without a value does not make a rolling update scale up',
    currentReplicas: 2,
    podPhase: ['Running', 'Running', 'Running'],
    levels: [10000, 10000],
    target: 17000,
    expected: { replicas: 2, usage: 10000n },
  },
];

describe('getMetricReplicas, a Pods metric (replica_calculator_test.go)', () => {
  for (const tc of podsMetricCases) {
    test(tc.name, () => {
      const pods = makePods(tc);
      const fetched = podsMetricInfo(tc.levels.map((v, i) => ({ pod: `test-pod-${i}`, value: `${v}m`, timestamp: 0 })));
      const result = getMetricReplicas(context(pods), {
        currentReplicas: tc.currentReplicas,
        targetUsage: BigInt(tc.target),
        metrics: fetched.metrics,
      });
      assert.deepEqual(result, tc.expected);
    });
  }
});

interface SingleValueCase extends Fixture {
  readonly name: string;
  readonly kind: 'object' | 'objectPerPod' | 'external' | 'externalPerPod';
  readonly levels: readonly number[];
  readonly target: number;
  readonly expected: { readonly replicas: number; readonly usage: bigint };
}

const singleValueCases: SingleValueCase[] = [
  {
    name: 'an object at 20 against a value of 15 scales three ready pods to four',
    kind: 'object',
    currentReplicas: 3,
    levels: [20000],
    target: 15000,
    expected: { replicas: 4, usage: 20000n },
  },
  {
    name: 'an object value counts only ready pods',
    kind: 'object',
    currentReplicas: 3,
    podReadiness: ['False', 'True', 'False'],
    levels: [50000],
    target: 10000,
    expected: { replicas: 5, usage: 50000n },
  },
  {
    name: 'an object at 12 against a value of 20 scales five down to three',
    kind: 'object',
    currentReplicas: 5,
    levels: [12000],
    target: 20000,
    expected: { replicas: 3, usage: 12000n },
  },
  {
    name: 'an object value 3% over target is within tolerance',
    kind: 'object',
    currentReplicas: 3,
    levels: [20666],
    target: 20000,
    expected: { replicas: 3, usage: 20666n },
  },
  {
    name: 'an object at 20 against an average of 5 asks for four and reports 6.667 per pod',
    kind: 'objectPerPod',
    currentReplicas: 3,
    levels: [20000],
    target: 5000,
    expected: { replicas: 4, usage: 6667n },
  },
  {
    name: 'an object at 6 against an average of 2 asks for three of five',
    kind: 'objectPerPod',
    currentReplicas: 5,
    levels: [6000],
    target: 2000,
    expected: { replicas: 3, usage: 1200n },
  },
  {
    name: 'an object average within tolerance keeps the status replica count',
    kind: 'objectPerPod',
    currentReplicas: 4,
    levels: [20166],
    target: 5000,
    expected: { replicas: 4, usage: 5042n },
  },
  {
    name: 'an external value counts only ready pods',
    kind: 'external',
    currentReplicas: 3,
    podReadiness: ['False', 'True', 'False'],
    levels: [8600],
    target: 4400,
    expected: { replicas: 2, usage: 8600n },
  },
  {
    name: 'an external value at 8.6 against 14.334 scales five down to three',
    kind: 'external',
    currentReplicas: 5,
    levels: [8600],
    target: 14334,
    expected: { replicas: 3, usage: 8600n },
  },
  {
    name: 'an external value 3% under target is within tolerance',
    kind: 'external',
    currentReplicas: 3,
    levels: [8600],
    target: 8888,
    expected: { replicas: 3, usage: 8600n },
  },
  {
    name: 'an external average of 8.6 over 2.15 per pod asks for four',
    kind: 'externalPerPod',
    currentReplicas: 3,
    levels: [8600],
    target: 2150,
    expected: { replicas: 4, usage: 2867n },
  },
  {
    name: 'an external average of 8.6 over 2.867 per pod asks for three of five',
    kind: 'externalPerPod',
    currentReplicas: 5,
    levels: [8600],
    target: 2867,
    expected: { replicas: 3, usage: 1720n },
  },
  {
    name: 'an external average within tolerance keeps the count',
    kind: 'externalPerPod',
    currentReplicas: 3,
    levels: [8600],
    target: 2900,
    expected: { replicas: 3, usage: 2867n },
  },
  {
    name: 'an external AverageValue sums every series before dividing by the target',
    kind: 'externalPerPod',
    currentReplicas: 3,
    levels: [5000, 2600, 1000],
    target: 2150,
    expected: { replicas: 4, usage: 2867n },
  },
];

describe('Object and External metrics (replica_calculator_test.go)', () => {
  for (const tc of singleValueCases) {
    test(tc.name, () => {
      const ctx = context(makePods(tc));
      const values = tc.levels.map(BigInt);
      const target = BigInt(tc.target);
      const [first = 0n] = values;
      const result =
        tc.kind === 'object'
          ? getObjectMetricReplicas(ctx, { currentReplicas: tc.currentReplicas, targetUsage: target, usage: first })
          : tc.kind === 'objectPerPod'
            ? getObjectPerPodMetricReplicas(TOLERANCES, {
                statusReplicas: tc.currentReplicas,
                targetAverageUsage: target,
                usage: first,
              })
            : tc.kind === 'external'
              ? getExternalMetricReplicas(ctx, { currentReplicas: tc.currentReplicas, targetUsage: target, values })
              : getExternalPerPodMetricReplicas(TOLERANCES, {
                  statusReplicas: tc.currentReplicas,
                  targetUsagePerPod: target,
                  values,
                });
      assert.deepEqual(result, tc.expected);
    });
  }

  test('from zero replicas an external value asks for ceil(value / target), ignoring pods and tolerance', () => {
    const ctx = context([]);
    assert.equal(getExternalMetricReplicas(ctx, { currentReplicas: 0, targetUsage: 1000n, values: [2500n] }).replicas, 3);
    assert.equal(getExternalMetricReplicas(ctx, { currentReplicas: 0, targetUsage: 1000n, values: [1050n] }).replicas, 2);
    assert.equal(getExternalMetricReplicas(ctx, { currentReplicas: 0, targetUsage: 1000n, values: [0n] }).replicas, 0);
  });

  test('an object value with no pods to count is an error about ready pods', () => {
    assert.throws(() => getObjectMetricReplicas(context([]), { currentReplicas: 2, targetUsage: 1000n, usage: 3000n }), {
      message: 'unable to calculate ready pods: no pods returned by selector while calculating replica count',
    });
  });
});

describe('the documentation examples', () => {
  test('one pod at 180% cpu of a 70% target scales to three', () => {
    const pods = makePods({ currentReplicas: 1, requests: ['500m'] });
    // 2 x 900m used of 2 x 500m requested
    const metrics = resourceMetricsInfo(makeResourceMetrics([900]), 'cpu', '', 'default').metrics;
    const result = getResourceReplicas(context(pods), {
      currentReplicas: 1,
      targetUtilization: 70,
      resource: 'cpu',
      metrics,
    });
    assert.deepEqual(result, { replicas: 3, utilization: 180, rawUtilization: 1800n });
  });

  const perPod = (values: readonly string[], target: string, currentReplicas: number) => {
    const pods = makePods({ currentReplicas });
    const metrics = podsMetricInfo(values.map((value, i) => ({ pod: `test-pod-${i}`, value, timestamp: 0 }))).metrics;
    return getMetricReplicas(context(pods), { currentReplicas, targetUsage: milliValue(target, 'target'), metrics });
  };

  test('200m against a 100m target doubles the replicas', () => {
    assert.equal(perPod(['200m'], '100m', 1).replicas, 2);
    assert.equal(perPod(['200m', '200m', '200m'], '100m', 3).replicas, 6);
  });

  test('50m against a 100m target halves the replicas', () => {
    assert.equal(perPod(['50m', '50m', '50m', '50m'], '100m', 4).replicas, 2);
  });

  test('a ratio inside the 10% tolerance means no change', () => {
    assert.equal(perPod(['110m', '110m', '110m', '110m'], '100m', 4).replicas, 4);
    assert.equal(perPod(['90m', '90m', '90m', '90m'], '100m', 4).replicas, 4);
    assert.equal(perPod(['111m', '111m', '111m', '111m'], '100m', 4).replicas, 5);
  });

  test('the tolerance band is closed at both ends and can differ by direction', () => {
    const t = { scaleDown: 0.2, scaleUp: 0.05 };
    assert.equal(isWithinTolerance(t, 0.8), true);
    assert.equal(isWithinTolerance(t, 0.79), false);
    assert.equal(isWithinTolerance(t, 1.05), true);
    assert.equal(isWithinTolerance(t, 1.06), false);
  });
});

describe('groupPods (replica_calculator_test.go TestGroupPods)', () => {
  const metric = (timestamp: number, window: number) => ({ value: 1n, timestamp, window });
  const cases: {
    name: string;
    pod: Omit<PodInfo, 'name' | 'containers'>;
    metrics: boolean | { timestamp: number; window: number };
    resource: string;
    expect: 'ready' | 'unready' | 'missing' | 'ignored';
  }[] = [
    { name: 'a pod of a memory metric counts whatever its state', pod: { phase: 'Succeeded' }, metrics: true, resource: 'memory', expect: 'ready' },
    {
      name: 'a cpu pod without a ready condition is unready',
      pod: { phase: 'Succeeded', startTime: NOW },
      metrics: true,
      resource: 'cpu',
      expect: 'unready',
    },
    {
      name: 'a ready cpu pod with a sample newer than its readiness plus a window counts during initialization',
      pod: { phase: 'Succeeded', startTime: NOW - MINUTE, ready: { status: 'True', lastTransitionTime: NOW - 30_000 } },
      metrics: { timestamp: NOW, window: 30_000 },
      resource: 'cpu',
      expect: 'ready',
    },
    {
      name: 'a ready cpu pod whose sample window overlaps its readiness change is unready during initialization',
      pod: { phase: 'Succeeded', startTime: NOW - MINUTE, ready: { status: 'True', lastTransitionTime: NOW - 30_000 } },
      metrics: { timestamp: NOW, window: MINUTE },
      resource: 'cpu',
      expect: 'unready',
    },
    {
      name: 'an unready cpu pod that never became ready after initialization stays unready',
      pod: { phase: 'Succeeded', startTime: NOW - 10 * MINUTE, ready: { status: 'False', lastTransitionTime: NOW - 9 * MINUTE - 54_000 } },
      metrics: true,
      resource: 'cpu',
      expect: 'unready',
    },
    {
      name: 'a ready cpu pod with an old sample counts after initialization',
      pod: { phase: 'Succeeded', startTime: NOW - 3 * MINUTE, ready: { status: 'True', lastTransitionTime: NOW - 3 * MINUTE } },
      metrics: { timestamp: NOW - 2 * MINUTE, window: MINUTE },
      resource: 'cpu',
      expect: 'ready',
    },
    {
      name: 'an unready cpu pod that was once ready counts after initialization',
      pod: { phase: 'Succeeded', startTime: NOW - 10 * MINUTE, ready: { status: 'False', lastTransitionTime: NOW - 9 * MINUTE } },
      metrics: true,
      resource: 'cpu',
      expect: 'ready',
    },
    {
      name: 'a readiness change exactly at the end of the initial readiness delay counts the pod',
      pod: { phase: 'Succeeded', startTime: NOW - 10 * MINUTE, ready: { status: 'False', lastTransitionTime: NOW - 9 * MINUTE - 50_000 } },
      metrics: true,
      resource: 'cpu',
      expect: 'ready',
    },
    { name: 'a pod without a sample is missing', pod: { phase: 'Succeeded', startTime: NOW - 3 * MINUTE }, metrics: false, resource: 'cpu', expect: 'missing' },
    { name: 'a pending pod is unready', pod: { phase: 'Pending' }, metrics: false, resource: 'cpu', expect: 'unready' },
    { name: 'a pod with a deletion timestamp is ignored', pod: { phase: 'Pending', deletionTimestamp: 1000 }, metrics: true, resource: 'cpu', expect: 'ignored' },
    { name: 'a failed pod is ignored', pod: { phase: 'Failed' }, metrics: true, resource: 'cpu', expect: 'ignored' },
  ];
  for (const tc of cases) {
    test(tc.name, () => {
      const pod: PodInfo = { name: 'p', containers: [], ...tc.pod };
      const sample = tc.metrics === false ? undefined : tc.metrics === true ? metric(0, 0) : metric(tc.metrics.timestamp, tc.metrics.window);
      const info = new Map(sample === undefined ? [] : [['p', sample] as const]);
      const groups = groupPods([pod], info, tc.resource, READINESS);
      const where = groups.readyPodCount === 1 ? 'ready' : groups.unreadyPods.has('p') ? 'unready' : groups.missingPods.has('p') ? 'missing' : groups.ignoredPods.has('p') ? 'ignored' : 'nowhere';
      assert.equal(where, tc.expect);
    });
  }
});

describe('calculateRequests (replica_calculator_test.go TestCalculatePodRequests)', () => {
  const pod: PodInfo = {
    name: 'test-pod',
    phase: 'Running',
    containers: [
      { name: 'container1', resources: { requests: { cpu: '100m' } } },
      { name: 'container2', resources: { requests: { cpu: '50m' } } },
    ],
  };

  test('requests of all containers are summed', () => {
    assert.deepEqual(calculateRequests([pod], '', 'cpu'), new Map([['test-pod', 150n]]));
  });

  test('a named container counts alone', () => {
    assert.deepEqual(calculateRequests([pod], 'container1', 'cpu'), new Map([['test-pod', 100n]]));
  });

  test('a container without the request names itself and its pod', () => {
    const bare: PodInfo = { name: 'test-pod', phase: 'Running', containers: [{ name: 'container1' }] };
    assert.throws(() => calculateRequests([bare], '', 'cpu'), {
      message: 'missing request for cpu in container container1 of Pod test-pod',
    });
  });

  test('sidecars count and plain init containers do not', () => {
    const withInit: PodInfo = {
      name: 'test-pod',
      phase: 'Running',
      containers: [{ name: 'container1', resources: { requests: { cpu: '100m' } } }],
      initContainers: [
        { name: 'init-container1', resources: { requests: { cpu: '20m' } } },
        { name: 'restartable-container1', restartPolicy: 'Always', resources: { requests: { cpu: '50m' } } },
      ],
    };
    assert.deepEqual(calculateRequests([withInit], '', 'cpu'), new Map([['test-pod', 150n]]));
  });

  test('a named container that is not in the pod is an error', () => {
    assert.throws(() => calculateRequests([pod], 'sidecar', 'cpu'), { message: 'container sidecar not found in Pod test-pod' });
  });

  test('pod-level requests win over container requests when the gate is on', () => {
    const podLevel: PodInfo = { ...pod, resources: { requests: { cpu: '1', memory: '1Gi' } } };
    assert.deepEqual(calculateRequests([podLevel], '', 'cpu', true), new Map([['test-pod', 1000n]]));
    assert.deepEqual(calculateRequests([podLevel], '', 'cpu', false), new Map([['test-pod', 150n]]));
    assert.deepEqual(calculateRequests([podLevel], 'container2', 'cpu', true), new Map([['test-pod', 50n]]));
  });
});

// ---------------------------------------------------------------------------
// Through computeReplicasForMetric(s): statuses, names and error texts.

function metricContext(pods: readonly PodInfo[], metricsSource: MetricsSource, specReplicas: number): MetricContext {
  return {
    ...context(pods),
    metricsSource,
    namespace: 'test-namespace',
    specReplicas,
    statusReplicas: specReplicas,
  };
}

// horizontal_test.go pods: one container per pod with the given cpu request.
function singleContainerPods(requests: readonly string[]): PodInfo[] {
  return requests.map((cpu, i) => ({
    name: `test-pod-${i}`,
    phase: 'Running',
    startTime: COOL - 10 * MINUTE,
    ready: { status: 'True', lastTransitionTime: COOL - 10 * MINUTE },
    containers: [{ name: 'container', resources: { requests: { cpu } } }],
  }));
}

function cpuUsage(levels: readonly number[]): () => PodMetricsItem[] {
  return () =>
    levels.map((m, i) => ({
      name: `test-pod-${i}`,
      timestamp: NOW - 30_000,
      windowMs: 30_000,
      containers: [{ name: 'container', usage: { cpu: `${m}m` } }],
    }));
}

const cpu = (averageUtilization: number): MetricSpec => ({
  type: 'Resource',
  resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization } },
});
const qps = (averageValue: string): MetricSpec => ({
  type: 'Pods',
  pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue } },
});
const externalQps = (value: string): MetricSpec => ({
  type: 'External',
  external: { metric: { name: 'qps', selector: {} }, target: { type: 'Value', value } },
});

describe('computeReplicasForMetric', () => {
  test('a cpu metric reports utilization and the raw average in its status', () => {
    const ctx = metricContext(singleContainerPods(['1', '1', '1']), { resourceMetrics: cpuUsage([300, 500, 700]) }, 3);
    assert.deepEqual(computeReplicasForMetric(ctx, cpu(30)), {
      ok: true,
      replicas: 5,
      metricName: 'cpu resource utilization (percentage of request)',
      timestamp: NOW - 30_000,
      status: { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 50, averageValue: '500m' } } },
    });
  });

  test('an average value cpu target is a plain per-pod average', () => {
    const ctx = metricContext(singleContainerPods(['1', '1', '1']), { resourceMetrics: cpuUsage([300, 500, 700]) }, 3);
    const spec: MetricSpec = { type: 'Resource', resource: { name: 'cpu', target: { type: 'AverageValue', averageValue: '250m' } } };
    const result = computeReplicasForMetric(ctx, spec);
    assert.equal(result.ok && result.replicas, 6);
    assert.equal(result.ok && result.metricName, 'cpu resource');
  });

  test('an object Value target reports the value and the described object', () => {
    const spec: MetricSpec = {
      type: 'Object',
      object: {
        describedObject: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'main-route' },
        metric: { name: 'requests-per-second' },
        target: { type: 'Value', value: '10k' },
      },
    };
    const source: MetricsSource = { objectMetric: () => ({ value: '25k', timestamp: NOW }) };
    const result = computeReplicasForMetric(metricContext(singleContainerPods(['1', '1']), source, 2), spec);
    assert.deepEqual(result, {
      ok: true,
      replicas: 5,
      metricName: 'Ingress metric requests-per-second',
      timestamp: NOW,
      status: {
        type: 'Object',
        object: {
          describedObject: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'main-route' },
          metric: { name: 'requests-per-second' },
          current: { value: '25k' },
        },
      },
    });
  });

  test('an external AverageValue target sums the items and divides by the target', () => {
    const spec: MetricSpec = {
      type: 'External',
      external: {
        metric: { name: 'queue_messages_ready', selector: { matchLabels: { queue: 'worker_tasks' } } },
        target: { type: 'AverageValue', averageValue: '30' },
      },
    };
    const source: MetricsSource = {
      externalMetric: () => [
        { value: '100', timestamp: NOW },
        { value: 50, timestamp: NOW },
        { value: '40', timestamp: NOW },
      ],
    };
    const result = computeReplicasForMetric(metricContext(singleContainerPods(['1', '1']), source, 2), spec);
    assert.ok(result.ok);
    assert.equal(result.replicas, 7);
    assert.equal(result.metricName, 'external metric queue_messages_ready(&LabelSelector{MatchLabels:map[string]string{queue: worker_tasks,},MatchExpressions:[]LabelSelectorRequirement{},})');
    assert.deepEqual(result.status, {
      type: 'External',
      external: {
        metric: { name: 'queue_messages_ready', selector: { matchLabels: { queue: 'worker_tasks' } } },
        current: { averageValue: '95' },
      },
    });
  });

  const failures: { name: string; spec: MetricSpec; source: MetricsSource; reason: string; condition: string; error: string }[] = [
    {
      name: 'a failing resource metrics API gives FailedGetResourceMetric',
      spec: cpu(10),
      source: {
        resourceMetrics: () => {
          throw new Error('something went wrong');
        },
      },
      reason: 'FailedGetResourceMetric',
      condition:
        'the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: something went wrong',
      error: 'failed to get cpu resource metric value: failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: something went wrong',
    },
    {
      name: 'an empty resource metrics list is an error',
      spec: cpu(100),
      source: { resourceMetrics: () => [] },
      reason: 'FailedGetResourceMetric',
      condition: 'the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API',
      error: 'failed to get cpu resource metric value: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API',
    },
    {
      name: 'a failing custom metrics API gives FailedGetPodsMetric',
      spec: qps('15'),
      source: {
        podsMetric: () => {
          throw new Error('something went wrong');
        },
      },
      reason: 'FailedGetPodsMetric',
      condition: 'the HPA was unable to compute the replica count: unable to get metric qps: unable to fetch metrics from custom metrics API: something went wrong',
      error: 'failed to get pods metric value: unable to get metric qps: unable to fetch metrics from custom metrics API: something went wrong',
    },
    {
      name: 'a failing object metric gives FailedGetObjectMetric, with the object before the error',
      spec: {
        type: 'Object',
        object: {
          describedObject: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'some-deployment' },
          metric: { name: 'qps' },
          target: { type: 'Value', value: '15' },
        },
      },
      source: {
        objectMetric: () => {
          throw new Error('something went wrong');
        },
      },
      reason: 'FailedGetObjectMetric',
      condition:
        'the HPA was unable to compute the replica count: unable to get metric qps: Deployment on test-namespace some-deployment/unable to fetch metrics from custom metrics API: something went wrong',
      error: 'failed to get object metric value: unable to get metric qps: Deployment on test-namespace some-deployment/unable to fetch metrics from custom metrics API: something went wrong',
    },
    {
      name: 'a failing external metric gives FailedGetExternalMetric',
      spec: externalQps('300m'),
      source: {
        externalMetric: () => {
          throw new Error('something went wrong');
        },
      },
      reason: 'FailedGetExternalMetric',
      condition:
        'the HPA was unable to compute the replica count: unable to get external metric test-namespace/qps/&LabelSelector{MatchLabels:map[string]string{},MatchExpressions:[]LabelSelectorRequirement{},}: unable to fetch metrics from external metrics API: something went wrong',
      error:
        'failed to get qps external metric value: failed to get external metric qps: unable to get external metric test-namespace/qps/&LabelSelector{MatchLabels:map[string]string{},MatchExpressions:[]LabelSelectorRequirement{},}: unable to fetch metrics from external metrics API: something went wrong',
    },
    {
      name: 'an external metric without a target is invalid',
      spec: { type: 'External', external: { metric: { name: 'qps' }, target: { type: 'Value' } } },
      source: {},
      reason: 'FailedGetExternalMetric',
      condition: 'the HPA was unable to compute the replica count: invalid external metric source: neither a value target nor an average value target was set',
      error: 'failed to get qps external metric value: invalid external metric source: neither a value target nor an average value target was set',
    },
    {
      name: 'an unknown metric type gives InvalidMetricSourceType',
      spec: { type: 'CheddarCheese' } as unknown as MetricSpec,
      source: {},
      reason: 'InvalidMetricSourceType',
      condition: 'the HPA was unable to compute the replica count: unknown metric source type "CheddarCheese"',
      error: 'unknown metric source type "CheddarCheese"',
    },
  ];
  for (const tc of failures) {
    test(tc.name, () => {
      const result = computeReplicasForMetric(metricContext(singleContainerPods(['100m', '100m', '100m']), tc.source, 3), tc.spec);
      assert.ok(!result.ok);
      assert.deepEqual(result.condition, { type: 'ScalingActive', status: 'False', reason: tc.reason, message: tc.condition });
      assert.equal(result.error, tc.error);
      assert.equal(result.event.reason, tc.reason);
    });
  }

  test('a quantity the API server would reject is thrown, not reported as a metric failure', () => {
    const source: MetricsSource = { podsMetric: () => [{ pod: 'test-pod-0', value: '12 apples', timestamp: NOW }] };
    assert.throws(() => computeReplicasForMetric(metricContext(singleContainerPods(['1']), source, 1), qps('1')), HpaInputError);
  });
});

describe('computeReplicasForMetrics (horizontal.go)', () => {
  const pods3 = singleContainerPods(['1', '1', '1']);

  test('the highest proposal wins across metrics', () => {
    const source: MetricsSource = {
      resourceMetrics: cpuUsage([300, 500, 700]),
      podsMetric: () => [20000, 10000, 30000].map((v, i) => ({ pod: `test-pod-${i}`, value: `${v}m`, timestamp: NOW })),
    };
    // cpu: 50% of 30% -> 5; qps: 20 of 15 -> 4
    const outcome = computeReplicasForMetrics(metricContext(pods3, source, 3), [qps('15'), cpu(30)], undefined);
    assert.equal(outcome.replicas, 5);
    assert.equal(outcome.metricName, 'cpu resource utilization (percentage of request)');
    assert.deepEqual(outcome.condition, {
      type: 'ScalingActive',
      status: 'True',
      reason: 'ValidMetricFound',
      message: 'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)',
    });
    assert.equal(outcome.error, undefined);
  });

  test('a failed metric does not stop a scale-up the others ask for', () => {
    // TestScaleUpOneMetricEmpty: cpu asks for 4 of 3, the external metric fails.
    const source: MetricsSource = {
      resourceMetrics: cpuUsage([300, 400, 500]),
      externalMetric: () => {
        throw new Error('something went wrong');
      },
    };
    const outcome = computeReplicasForMetrics(metricContext(pods3, source, 3), [cpu(30), externalQps('100m')], undefined);
    assert.equal(outcome.replicas, 4);
    assert.equal(outcome.condition.reason, 'ValidMetricFound');
    assert.match(outcome.error ?? '', /^invalid metrics \(1 invalid out of 2\), first error is: failed to get qps external metric value: /);
    assert.deepEqual(outcome.statuses[1], { type: '' });
  });

  test('a failed metric blocks a scale-down the others ask for', () => {
    // TestNoScaleDownOneMetricEmpty: cpu asks for 3 of 5, the external metric fails.
    const pods5 = singleContainerPods(['1', '1', '1', '1', '1']);
    const source: MetricsSource = {
      resourceMetrics: cpuUsage([100, 300, 500, 250, 250]),
      externalMetric: () => {
        throw new Error('something went wrong');
      },
    };
    const outcome = computeReplicasForMetrics(metricContext(pods5, source, 5), [cpu(50), externalQps('1')], undefined);
    assert.equal(outcome.replicas, -1);
    assert.equal(outcome.condition.reason, 'FailedGetExternalMetric');
  });

  test('an invalid metric type blocks a scale-down too', () => {
    const pods5 = singleContainerPods(['1', '1', '1', '1', '1']);
    const source: MetricsSource = { resourceMetrics: cpuUsage([100, 300, 500, 250, 250]) };
    const specs = [cpu(50), { type: 'CheddarCheese' } as unknown as MetricSpec];
    const outcome = computeReplicasForMetrics(metricContext(pods5, source, 5), specs, undefined);
    assert.equal(outcome.replicas, -1);
    assert.equal(outcome.condition.reason, 'InvalidMetricSourceType');
  });

  test('a failed metric does not stop holding the count steady', () => {
    const source: MetricsSource = {
      resourceMetrics: cpuUsage([300, 300, 300]),
      externalMetric: () => {
        throw new Error('down');
      },
    };
    const outcome = computeReplicasForMetrics(metricContext(pods3, source, 3), [cpu(30), externalQps('1')], undefined);
    assert.equal(outcome.replicas, 3);
    assert.notEqual(outcome.error, undefined);
  });

  test('when every metric fails the first failure sets the condition', () => {
    const source: MetricsSource = {};
    const outcome = computeReplicasForMetrics(metricContext(pods3, source, 3), [qps('1'), externalQps('1')], undefined);
    assert.equal(outcome.replicas, -1);
    assert.equal(outcome.condition.reason, 'FailedGetPodsMetric');
    assert.match(outcome.error ?? '', /^invalid metrics \(2 invalid out of 2\), first error is: failed to get pods metric value: /);
  });

  test('a scale without a selector is an InvalidSelector', () => {
    const outcome = computeReplicasForMetrics(metricContext(pods3, {}, 3), [cpu(50)], '');
    assert.equal(outcome.replicas, -1);
    assert.deepEqual(outcome.condition, {
      type: 'ScalingActive',
      status: 'False',
      reason: 'InvalidSelector',
      message: "the HPA target's scale is missing a selector",
    });
    assert.equal(outcome.error, 'selector is required');
  });
});

describe('inputs', () => {
  test('MilliValue rounds a fraction of a thousandth away from zero', () => {
    assert.equal(milliValue('0.1m', 'x'), 1n);
    assert.equal(milliValue('1.5', 'x'), 1500n);
    assert.equal(milliValue(0.25, 'x'), 250n);
    assert.equal(milliValue('1Ki', 'x'), 1_024_000n);
  });

  test('a label selector prints as Go prints *metav1.LabelSelector', () => {
    assert.equal(goLabelSelector(undefined), 'nil');
    assert.equal(
      goLabelSelector({ matchLabels: { b: '2', a: '1' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['x', 'y'] }] }),
      '&LabelSelector{MatchLabels:map[string]string{a: 1,b: 2,},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:env,Operator:In,Values:[x y],},},}',
    );
  });
});
