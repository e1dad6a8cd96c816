// What the HPA controller does with the metrics' proposal: stabilization
// windows, scaling policies, min/max, and a whole sync with its conditions and
// events. Numbers come from pkg/controller/podautoscaler/horizontal_test.go
// (TestScalingWithRules, TestNormalizeDesiredReplicas[WithBehavior],
// TestStoreScaleEvents, TestConvertDesiredReplicasWithRules, ...) and from the
// "Horizontal Pod Autoscaling" documentation's behavior examples.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applySpecDefaults,
  calculateScaleDownLimitWithBehaviors,
  calculateScaleUpLimit,
  calculateScaleUpLimitWithScalingRules,
  convertDesiredReplicasWithBehaviorRate,
  convertDesiredReplicasWithRules,
  DEFAULT_SCALE_UP_RULES,
  getCondition,
  getReplicasChangePerPeriod,
  reconcile,
  resolveBehavior,
  setCondition,
  stabilizeRecommendation,
  stabilizeRecommendationWithBehaviors,
  storeScaleEvent,
  validateHpaSpec,
  type ControllerState,
  type HorizontalPodAutoscaler,
  type HorizontalPodAutoscalerSpec,
  type HPAScalingRules,
  type HpaCondition,
  type MetricSpec,
  type MetricsSource,
  type PodInfo,
  type ReconcileInput,
  type ResolvedScalingRules,
  type TimestampedRecommendation,
  type TimestampedScaleEvent,
} from '../../hpa/index.js';

const NOW = 1_700_000_000_000;
const SECOND = 1000;
const MINUTE = 60 * SECOND;

// generateScalingRules of horizontal_test.go: a Pods and/or a Percent policy
// (0 leaves it out), selectPolicy Max.
function rules(pods: number, podsPeriod: number, percent: number, percentPeriod: number, window: number): HPAScalingRules {
  return {
    stabilizationWindowSeconds: window,
    selectPolicy: 'Max',
    policies: [
      ...(pods !== 0 ? [{ type: 'Pods' as const, value: pods, periodSeconds: podsPeriod }] : []),
      ...(percent !== 0 ? [{ type: 'Percent' as const, value: percent, periodSeconds: percentPeriod }] : []),
    ],
  };
}

// generateEventsUniformDistribution: the events spread evenly over the last
// periodSeconds, each in the middle of its slice ([1, 5, 9] over 120 s lands
// at -100 s, -60 s and -20 s).
function uniform(changes: readonly number[], periodSeconds: number): TimestampedScaleEvent[] {
  const segment = periodSeconds / changes.length;
  return changes.map((replicaChange, i) => ({
    replicaChange,
    timestamp: NOW - (periodSeconds - segment * (i + 1) + segment / 2) * SECOND,
    outdated: false,
  }));
}

describe('behavior defaults (pkg/apis/autoscaling/v2/defaults.go)', () => {
  test('an empty behavior gets +4 pods or +100% per 15 s up and -100% per 15 s down with a 300 s window', () => {
    assert.deepEqual(resolveBehavior({}), {
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy: 'Max',
        policies: [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ],
      },
      scaleDown: {
        stabilizationWindowSeconds: 300,
        selectPolicy: 'Max',
        policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
      },
    });
  });

  test('unset fields are filled one by one and the downscale window follows the controller flag', () => {
    const resolved = resolveBehavior({ scaleUp: { selectPolicy: 'Min' }, scaleDown: { policies: [] } }, 120);
    assert.deepEqual(resolved.scaleUp, { ...DEFAULT_SCALE_UP_RULES, selectPolicy: 'Min' });
    assert.deepEqual(resolved.scaleDown, { stabilizationWindowSeconds: 120, selectPolicy: 'Max', policies: [] });
  });

  test('an HPA without metrics targets 80% cpu and one replica at least', () => {
    const spec = applySpecDefaults({ maxReplicas: 10 });
    assert.equal(spec.minReplicas, 1);
    assert.deepEqual(spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]);
  });
});

describe('scaling policies', () => {
  const min: ResolvedScalingRules = {
    stabilizationWindowSeconds: 300,
    selectPolicy: 'Min',
    policies: [
      { type: 'Pods', value: 2, periodSeconds: 60 },
      { type: 'Percent', value: 50, periodSeconds: 60 },
    ],
  };

  test('selectPolicy Min takes the smaller scale-up: +2 pods or +50% of one gives two', () => {
    assert.equal(calculateScaleUpLimitWithScalingRules(1, [], [], min, NOW), 2);
  });

  test('selectPolicy Min takes the smaller scale-down: -2 pods or -50% of five gives three', () => {
    assert.equal(calculateScaleDownLimitWithBehaviors(5, [], [], min, NOW), 3);
  });

  test('a 900% policy multiplies the replicas by ten each period: 1, 10, 100, 1000', () => {
    const ninefold: ResolvedScalingRules = {
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Max',
      policies: [{ type: 'Percent', value: 900, periodSeconds: 60 }],
    };
    assert.deepEqual(
      [1, 10, 100].map((n) => calculateScaleUpLimitWithScalingRules(n, [], [], ninefold, NOW)),
      [10, 100, 1000],
    );
  });

  // The documentation's scale-down example: at most 4 pods or 10% per minute.
  const docsDown = (selectPolicy: 'Max' | 'Min'): ResolvedScalingRules => ({
    stabilizationWindowSeconds: 0,
    selectPolicy,
    policies: [
      { type: 'Pods', value: 4, periodSeconds: 60 },
      { type: 'Percent', value: 10, periodSeconds: 60 },
    ],
  });

  test('with selectPolicy Max the 10% policy wins above 40 replicas and the 4-pod policy below', () => {
    assert.equal(calculateScaleDownLimitWithBehaviors(80, [], [], docsDown('Max'), NOW), 72);
    assert.equal(calculateScaleDownLimitWithBehaviors(30, [], [], docsDown('Max'), NOW), 26);
  });

  test('with selectPolicy Min the smaller change wins', () => {
    assert.equal(calculateScaleDownLimitWithBehaviors(80, [], [], docsDown('Min'), NOW), 76);
    assert.equal(calculateScaleDownLimitWithBehaviors(30, [], [], docsDown('Min'), NOW), 27);
  });

  test('a Percent scale-down truncates: 10% of 45 removes four', () => {
    assert.equal(calculateScaleDownLimitWithBehaviors(45, [], [], { ...docsDown('Max'), policies: [{ type: 'Percent', value: 10, periodSeconds: 60 }] }, NOW), 40);
  });

  test('selectPolicy Disabled holds the current count in both directions', () => {
    const disabled: ResolvedScalingRules = { ...min, selectPolicy: 'Disabled' };
    assert.equal(calculateScaleUpLimitWithScalingRules(7, [], [], disabled, NOW), 7);
    assert.equal(calculateScaleDownLimitWithBehaviors(7, [], [], disabled, NOW), 7);
  });

  test('only events strictly inside the period count', () => {
    const events = uniform([1, 5, 9], 120);
    assert.equal(getReplicasChangePerPeriod(120, events, NOW), 15);
    assert.equal(getReplicasChangePerPeriod(60, events, NOW), 9);
    assert.equal(getReplicasChangePerPeriod(100, events, NOW), 14);
  });
});

interface RateCase {
  readonly name: string;
  readonly current: number;
  readonly desired: number;
  readonly min: number;
  readonly max: number;
  readonly up?: HPAScalingRules;
  readonly down?: HPAScalingRules;
  readonly upEvents?: TimestampedScaleEvent[];
  readonly downEvents?: TimestampedScaleEvent[];
  readonly expected: number;
  readonly reason: string;
}

const rateCases: RateCase[] = [
  { name: 'a proposal within range passes', current: 5, desired: 7, min: 3, max: 8, expected: 7, reason: 'DesiredWithinRange' },
  { name: 'a proposal under minReplicas is raised to it', current: 3, desired: 1, min: 2, max: 8, expected: 2, reason: 'TooFewReplicas' },
  { name: 'zero is within range when minReplicas is 0', current: 1, desired: 0, min: 0, max: 10, expected: 0, reason: 'DesiredWithinRange' },
  { name: 'maxReplicas caps when it is below the rate limit', current: 20, desired: 1000, min: 1, max: 10, expected: 10, reason: 'TooManyReplicas' },
  { name: 'maxReplicas caps a large scale-up', current: 100, desired: 1000, min: 100, max: 150, expected: 150, reason: 'TooManyReplicas' },
  {
    name: 'a 1% policy still adds a pod because Percent rounds up',
    current: 3,
    desired: 1000,
    min: 1,
    max: 2000,
    up: rules(0, 0, 1, 60, 0),
    expected: 4,
    reason: 'ScaleUpLimit',
  },
  {
    name: 'a 20-pod policy limits a scale-down from 1000 to 980',
    current: 1000,
    desired: 3,
    min: 3,
    max: 2000,
    down: rules(20, 60, 0, 0, 0),
    expected: 980,
    reason: 'ScaleDownLimit',
  },
  { name: 'the default scale-up doubles ten replicas at most', current: 10, desired: 50, min: 1, max: 1000, expected: 20, reason: 'ScaleUpLimit' },
  {
    name: 'with selectPolicy Max a 100-pod policy beats a 100% policy',
    current: 10,
    desired: 500,
    min: 1,
    max: 1000,
    up: rules(100, 60, 100, 60, 0),
    expected: 110,
    reason: 'ScaleUpLimit',
  },
  {
    name: 'with selectPolicy Max a 100% policy beats a 2-pod policy',
    current: 10,
    desired: 500,
    min: 1,
    max: 1000,
    up: rules(2, 60, 100, 60, 0),
    expected: 20,
    reason: 'ScaleUpLimit',
  },
  {
    name: 'a generous pod policy lets the proposal through',
    current: 10,
    desired: 50,
    min: 1,
    max: 1000,
    up: rules(100, 60, 0, 0, 0),
    expected: 50,
    reason: 'DesiredWithinRange',
  },
  {
    name: 'a very generous pod policy lets the proposal through',
    current: 10,
    desired: 50,
    min: 1,
    max: 1000,
    up: rules(10000, 60, 0, 0, 0),
    expected: 50,
    reason: 'DesiredWithinRange',
  },
  {
    name: 'a 30-pod policy limits a scale-up from ten to 40',
    current: 10,
    desired: 50,
    min: 1,
    max: 1000,
    up: rules(30, 60, 0, 0, 0),
    expected: 40,
    reason: 'ScaleUpLimit',
  },
  {
    name: 'a 200% policy limits a scale-up from ten to 30',
    current: 10,
    desired: 50,
    min: 1,
    max: 1000,
    up: rules(0, 0, 200, 60, 0),
    expected: 30,
    reason: 'ScaleUpLimit',
  },
  {
    name: 'with selectPolicy Max a 20-pod policy beats a 1% policy on the way down',
    current: 100,
    desired: 2,
    min: 1,
    max: 1000,
    down: rules(20, 60, 1, 60, 300),
    expected: 80,
    reason: 'ScaleDownLimit',
  },
  {
    name: 'with selectPolicy Max a 2-pod policy loses to nothing bigger on the way down',
    current: 100,
    desired: 2,
    min: 1,
    max: 1000,
    down: rules(2, 60, 1, 60, 300),
    expected: 98,
    reason: 'ScaleDownLimit',
  },
  {
    name: 'minReplicas holds a scale-down a large pod policy would allow',
    current: 10,
    desired: 0,
    min: 1,
    max: 1000,
    down: rules(100, 60, 0, 0, 300),
    expected: 1,
    reason: 'TooFewReplicas',
  },
  {
    name: 'minReplicas holds a scale-down a large percent policy would allow',
    current: 10,
    desired: 2,
    min: 5,
    max: 1000,
    down: rules(0, 0, 100, 60, 300),
    expected: 5,
    reason: 'TooFewReplicas',
  },
  {
    name: 'a 5-pod policy limits a scale-down from ten to five',
    current: 10,
    desired: 2,
    min: 1,
    max: 1000,
    down: rules(5, 60, 0, 0, 300),
    expected: 5,
    reason: 'ScaleDownLimit',
  },
  {
    name: 'a proposal exactly at the percent limit is within range',
    current: 10,
    desired: 5,
    min: 1,
    max: 1000,
    down: rules(0, 0, 50, 60, 300),
    expected: 5,
    reason: 'DesiredWithinRange',
  },
  {
    name: 'maxReplicas caps a pod policy measured from the start of its period',
    current: 100,
    desired: 500,
    min: 1,
    max: 200,
    up: rules(300, 60, 0, 0, 0),
    upEvents: uniform([1, 5, 9], 120),
    expected: 200,
    reason: 'TooManyReplicas',
  },
  {
    name: 'maxReplicas caps a percent policy measured from the start of its period',
    current: 100,
    desired: 500,
    min: 1,
    max: 200,
    up: rules(0, 0, 10000, 60, 0),
    upEvents: uniform([1, 5, 9], 120),
    expected: 200,
    reason: 'TooManyReplicas',
  },
  {
    name: 'a budget used up by recent scale-ups holds the count rather than lowering it',
    current: 100,
    desired: 500,
    min: 1,
    max: 1000,
    up: rules(5, 120, 0, 0, 0),
    upEvents: uniform([1, 5, 9], 120),
    expected: 100,
    reason: 'ScaleUpLimit',
  },
  {
    name: 'a pod policy counts from the replicas at the start of its period',
    current: 100,
    desired: 500,
    min: 1,
    max: 1000,
    up: rules(150, 120, 0, 0, 0),
    upEvents: uniform([1, 5, 9], 120),
    expected: 235,
    reason: 'ScaleUpLimit',
  },
  {
    name: 'a percent policy counts from the replicas at the start of its period',
    current: 100,
    desired: 500,
    min: 1,
    max: 1000,
    up: rules(0, 0, 200, 120, 0),
    upEvents: uniform([1, 5, 9], 120),
    expected: 255,
    reason: 'ScaleUpLimit',
  },
  {
    name: 'a scale-up period start adds back recent scale-downs',
    current: 6,
    desired: 24,
    min: 1,
    max: 1000,
    up: rules(0, 0, 300, 300, 0),
    upEvents: uniform([4], 120),
    downEvents: uniform([2], 120),
    expected: 16,
    reason: 'ScaleUpLimit',
  },
  {
    name: 'events older than the default 15 s period do not limit the default scale-down',
    current: 10,
    desired: 5,
    min: 1,
    max: 1000,
    downEvents: uniform([1, 5, 9], 120),
    expected: 5,
    reason: 'DesiredWithinRange',
  },
  {
    name: 'minReplicas holds a scale-down a pod policy with history would allow',
    current: 100,
    desired: 0,
    min: 1,
    max: 1000,
    down: rules(115, 120, 0, 0, 300),
    downEvents: uniform([1, 5, 9], 120),
    expected: 1,
    reason: 'TooFewReplicas',
  },
  {
    name: 'a higher minReplicas holds a scale-down a pod policy with history would allow',
    current: 100,
    desired: 0,
    min: 5,
    max: 1000,
    down: rules(130, 120, 0, 0, 300),
    downEvents: uniform([1, 5, 9], 120),
    expected: 5,
    reason: 'TooFewReplicas',
  },
  {
    name: 'a 100% scale-down always reaches zero and so minReplicas',
    current: 100,
    desired: 2,
    min: 5,
    max: 1000,
    down: rules(0, 0, 100, 120, 300),
    downEvents: uniform([1, 5, 9], 120),
    expected: 5,
    reason: 'TooFewReplicas',
  },
  {
    name: 'a scale-down budget used up by recent scale-downs holds the count',
    current: 100,
    desired: 2,
    min: 1,
    max: 1000,
    down: rules(5, 120, 0, 0, 300),
    downEvents: uniform([1, 5, 9], 120),
    expected: 100,
    reason: 'ScaleDownLimit',
  },
  {
    name: 'a percent scale-down counts from the replicas at the start of its period',
    current: 100,
    desired: 0,
    min: 1,
    max: 1000,
    down: rules(0, 0, 50, 120, 300),
    downEvents: uniform([2, 4, 6], 120),
    expected: 56,
    reason: 'ScaleDownLimit',
  },
  {
    name: 'a scale-down period start removes recent scale-ups',
    current: 10,
    desired: 1,
    min: 1,
    max: 1000,
    down: rules(0, 0, 50, 180, 0),
    upEvents: uniform([2], 120),
    downEvents: uniform([4], 120),
    expected: 6,
    reason: 'ScaleDownLimit',
  },
  {
    name: 'a limit above the current count after many scale-downs holds the count',
    current: 100,
    desired: 0,
    min: 1,
    max: 1000,
    down: rules(0, 0, 10, 120, 300),
    downEvents: uniform([10, 10, 10], 120),
    expected: 100,
    reason: 'ScaleDownLimit',
  },
  {
    name: 'a limit below zero lets the proposal through',
    current: 10,
    desired: 5,
    min: 1,
    max: 1000,
    down: rules(0, 0, 1000, 120, 300),
    downEvents: uniform([10, 10, 10], 120),
    expected: 5,
    reason: 'DesiredWithinRange',
  },
  ...(
    [
      ['one scale-up policy', rules(1000, 60, 0, 0, 0)],
      ['two scale-up policies with different periods', rules(1000, 120, 100, 60, 0)],
      ['two scale-up policies with a short one', rules(1000, 30, 100, 60, 0)],
    ] as const
  ).map(([what, up]): RateCase => ({
    name: `events inside and outside the periods of ${what} still allow doubling`,
    current: 100,
    desired: 200,
    min: 1,
    max: 1000,
    up,
    upEvents: uniform([8, 12, 9, 11], 120),
    expected: 200,
    reason: 'DesiredWithinRange',
  })),
  ...(
    [
      ['one scale-down policy', rules(1000, 60, 0, 0, 300)],
      ['two scale-down policies with different periods', rules(1000, 120, 100, 60, 300)],
      ['two scale-down policies with a short one', rules(1000, 30, 100, 60, 300)],
    ] as const
  ).map(([what, down]): RateCase => ({
    name: `events inside and outside the periods of ${what} still allow the scale-down`,
    current: 100,
    desired: 5,
    min: 1,
    max: 1000,
    down,
    downEvents: uniform([8, 12, 9, 11], 120),
    expected: 5,
    reason: 'DesiredWithinRange',
  })),
];

describe('convertDesiredReplicasWithBehaviorRate (TestScalingWithRules)', () => {
  for (const tc of rateCases) {
    test(tc.name, () => {
      const behavior = resolveBehavior({
        ...(tc.up === undefined ? {} : { scaleUp: tc.up }),
        ...(tc.down === undefined ? {} : { scaleDown: tc.down }),
      });
      const result = convertDesiredReplicasWithBehaviorRate(
        {
          scaleUpBehavior: behavior.scaleUp,
          scaleDownBehavior: behavior.scaleDown,
          minReplicas: tc.min,
          maxReplicas: tc.max,
          currentReplicas: tc.current,
          desiredReplicas: tc.desired,
        },
        tc.upEvents ?? [],
        tc.downEvents ?? [],
        NOW,
      );
      assert.deepEqual([result.replicas, result.reason], [tc.expected, tc.reason]);
    });
  }
});

describe('convertDesiredReplicasWithRules, an HPA without behavior (TestConvertDesiredReplicasWithRules)', () => {
  const cases = [
    { name: 'a proposal within range passes', current: 5, desired: 7, min: 3, max: 8, expected: 7, reason: 'DesiredWithinRange' },
    { name: 'a proposal under minReplicas is raised', current: 3, desired: 1, min: 2, max: 8, expected: 2, reason: 'TooFewReplicas' },
    { name: 'zero passes when minReplicas is 0', current: 1, desired: 0, min: 0, max: 10, expected: 0, reason: 'DesiredWithinRange' },
    { name: 'maxReplicas caps when below twice the count', current: 20, desired: 1000, min: 1, max: 10, expected: 10, reason: 'TooManyReplicas' },
    { name: 'a sync at most doubles the count', current: 3, desired: 1000, min: 1, max: 2000, expected: 6, reason: 'ScaleUpLimit' },
    { name: 'a sync may always reach four', current: 1, desired: 1000, min: 1, max: 2000, expected: 4, reason: 'ScaleUpLimit' },
  ];
  for (const tc of cases) {
    test(tc.name, () => {
      const result = convertDesiredReplicasWithRules(tc.current, tc.desired, tc.min, tc.max);
      assert.deepEqual([result.replicas, result.reason], [tc.expected, tc.reason]);
    });
  }

  test('the per-sync limit is max(2 x current, 4)', () => {
    assert.deepEqual([0, 1, 2, 3, 10].map(calculateScaleUpLimit), [4, 4, 4, 6, 20]);
  });
});

const rec = (recommendation: number, ago: number): TimestampedRecommendation => ({
  recommendation,
  timestamp: NOW - ago,
});

describe('stabilizeRecommendation, an HPA without behavior (TestNormalizeDesiredReplicas)', () => {
  const cases: { name: string; recs: TimestampedRecommendation[]; desired: number; expected: number; kept: number }[] = [
    { name: 'with no history the proposal stands', recs: [], desired: 5, expected: 5, kept: 1 },
    { name: 'a higher recommendation in the window holds a scale-down', recs: [rec(4, 2 * MINUTE), rec(5, MINUTE)], desired: 3, expected: 5, kept: 3 },
    { name: 'lower recommendations do not hold it', recs: [rec(1, 2 * MINUTE), rec(2, MINUTE)], desired: 3, expected: 3, kept: 3 },
    { name: 'recommendations older than the window do not count and their slot is reused', recs: [rec(10, 10 * MINUTE), rec(9, 9 * MINUTE)], desired: 3, expected: 3, kept: 2 },
    {
      name: 'only recommendations inside the window count',
      recs: [rec(10, 10 * MINUTE), rec(4, MINUTE), rec(5, 2 * MINUTE), rec(9, 9 * MINUTE)],
      desired: 3,
      expected: 5,
      kept: 4,
    },
  ];
  for (const tc of cases) {
    test(tc.name, () => {
      const result = stabilizeRecommendation(tc.recs, tc.desired, NOW, 5 * MINUTE);
      assert.equal(result.recommendation, tc.expected);
      assert.equal(result.recommendations.length, tc.kept);
      assert.ok(result.recommendations.some((r) => r.recommendation === tc.desired && r.timestamp === NOW));
    });
  }
});

describe('stabilizeRecommendationWithBehaviors (TestNormalizeDesiredReplicasWithBehavior)', () => {
  const cases: {
    name: string;
    recs: TimestampedRecommendation[];
    current: number;
    desired: number;
    up?: number;
    down?: number;
    expected: number;
    stored?: number[];
  }[] = [
    { name: 'with no history a scale-down goes straight through', recs: [], current: 100, desired: 5, expected: 5, stored: [5] },
    {
      name: 'the highest recommendation of the scale-down window holds a scale-down',
      recs: [rec(4, 2 * MINUTE), rec(5, MINUTE)],
      current: 100,
      desired: 3,
      down: 180,
      expected: 5,
      stored: [4, 5, 3],
    },
    {
      name: 'the lowest recommendation of the scale-up window holds a scale-up',
      recs: [rec(4, 2 * MINUTE), rec(5, MINUTE)],
      current: 1,
      desired: 7,
      up: 300,
      expected: 4,
      stored: [4, 5, 7],
    },
    {
      name: 'a scale-up window does not hold a scale-down',
      recs: [rec(1, 2 * MINUTE), rec(2, MINUTE)],
      current: 100,
      desired: 3,
      up: 300,
      expected: 3,
      stored: [1, 2, 3],
    },
    {
      name: 'a scale-down window does not hold a scale-up',
      recs: [rec(4, 2 * MINUTE), rec(5, MINUTE)],
      current: 1,
      desired: 3,
      down: 300,
      expected: 3,
      stored: [4, 5, 3],
    },
    {
      name: 'a sample older than both windows is reused on a scale-down',
      recs: [rec(10, 10 * MINUTE), rec(9, 9 * MINUTE)],
      current: 100,
      desired: 3,
      expected: 3,
      stored: [10, 3],
    },
    {
      name: 'a sample older than both windows is reused on a scale-up',
      recs: [rec(10, 10 * MINUTE), rec(9, 9 * MINUTE)],
      current: 1,
      desired: 100,
      expected: 100,
      stored: [10, 100],
    },
    {
      name: 'the last obsolete sample is the one reused',
      recs: [rec(10, 10 * MINUTE), rec(4, MINUTE), rec(5, 2 * MINUTE), rec(9, 9 * MINUTE)],
      current: 100,
      desired: 3,
      down: 180,
      expected: 5,
      stored: [10, 4, 5, 3],
    },
    {
      name: 'only samples outside both windows are reused',
      recs: [rec(10, 100 * MINUTE), rec(6, MINUTE), rec(5, 2 * MINUTE), rec(9, 3 * MINUTE)],
      current: 1,
      desired: 100,
      up: 300,
      expected: 5,
      stored: [100, 6, 5, 9],
    },
    {
      name: 'a falling proposal does not cause a scale-up',
      recs: [rec(2, 100 * MINUTE), rec(3, 3 * MINUTE)],
      current: 2,
      desired: 1,
      up: 300,
      down: 300,
      expected: 2,
    },
    {
      name: 'a rising proposal does not cause a scale-down',
      recs: [rec(2, 100 * MINUTE), rec(1, 3 * MINUTE)],
      current: 2,
      desired: 3,
      up: 300,
      down: 300,
      expected: 2,
    },
  ];
  for (const tc of cases) {
    test(tc.name, () => {
      const window = (seconds: number): ResolvedScalingRules => ({
        stabilizationWindowSeconds: seconds,
        selectPolicy: 'Max',
        policies: [],
      });
      const result = stabilizeRecommendationWithBehaviors(
        {
          scaleUpBehavior: window(tc.up ?? 0),
          scaleDownBehavior: window(tc.down ?? 0),
          minReplicas: 1,
          maxReplicas: 1000,
          currentReplicas: tc.current,
          desiredReplicas: tc.desired,
        },
        tc.recs,
        NOW,
      );
      assert.equal(result.recommendation, tc.expected);
      if (tc.stored !== undefined) {
        assert.deepEqual(
          result.recommendations.map((r) => r.recommendation),
          tc.stored,
        );
      }
      assert.equal(tc.recs.length === 0 || tc.recs[0]?.timestamp !== NOW, true, 'the input list is left as it was');
    });
  }

  test('the reason names the direction of the proposal', () => {
    const window: ResolvedScalingRules = { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [] };
    const base = { scaleUpBehavior: window, scaleDownBehavior: window, minReplicas: 1, maxReplicas: 10, currentReplicas: 5 };
    const down = stabilizeRecommendationWithBehaviors({ ...base, desiredReplicas: 3 }, [rec(5, MINUTE)], NOW);
    assert.deepEqual([down.reason, down.message], ['ScaleDownStabilized', 'recent recommendations were higher than current one, applying the highest recent recommendation']);
    const up = stabilizeRecommendationWithBehaviors({ ...base, desiredReplicas: 8 }, [rec(5, MINUTE)], NOW);
    assert.deepEqual([up.reason, up.message], ['ScaleUpStabilized', 'recent recommendations were lower than current one, applying the lowest recent recommendation']);
  });
});

describe('storeScaleEvent (TestStoreScaleEvents)', () => {
  const ev = (replicaChange: number, ago: number, outdated = false): TimestampedScaleEvent => ({
    replicaChange,
    timestamp: NOW - ago * SECOND,
    outdated,
  });
  const cases: {
    name: string;
    prev: TimestampedScaleEvent[];
    rules?: HPAScalingRules;
    expected: [number, boolean][];
    changeIn60s: number;
  }[] = [
    { name: 'without behavior nothing is stored', prev: [], expected: [], changeIn60s: 0 },
    { name: 'with behavior the first event is stored', prev: [], rules: rules(10, 60, 100, 60, 0), expected: [[5, false]], changeIn60s: 0 },
    { name: 'without behavior old events stay as they are', prev: [ev(7, 61)], expected: [[7, false]], changeIn60s: 0 },
    { name: 'an event older than every period is replaced', prev: [ev(7, 61)], rules: rules(10, 60, 100, 60, 0), expected: [[5, false]], changeIn60s: 0 },
    {
      name: 'a recent event is kept and the new one appended',
      prev: [ev(7, 58)],
      rules: rules(10, 60, 100, 60, 0),
      expected: [
        [7, false],
        [5, false],
      ],
      changeIn60s: 7,
    },
    {
      name: 'of two events the outdated one is replaced',
      prev: [ev(7, 61), ev(6, 59)],
      rules: rules(10, 60, 0, 0, 0),
      expected: [
        [5, false],
        [6, false],
      ],
      changeIn60s: 6,
    },
    {
      name: 'outdated events are marked and the last of them is replaced',
      prev: [ev(8, 29), ev(6, 59), ev(7, 61), ev(9, 61)],
      rules: rules(10, 60, 100, 30, 0),
      expected: [
        [8, false],
        [6, false],
        [7, true],
        [5, false],
      ],
      changeIn60s: 14,
    },
    {
      name: 'the longest policy period decides what is outdated',
      prev: [ev(7, 58), ev(6, 59)],
      rules: rules(10, 120, 100, 30, 0),
      expected: [
        [7, false],
        [6, false],
        [5, false],
      ],
      changeIn60s: 13,
    },
  ];
  for (const tc of cases) {
    for (const direction of ['up', 'down'] as const) {
      test(`${tc.name} (scale ${direction})`, () => {
        assert.equal(getReplicasChangePerPeriod(60, tc.prev, NOW), tc.changeIn60s);
        const behavior = tc.rules === undefined ? undefined : resolveBehavior(direction === 'up' ? { scaleUp: tc.rules } : { scaleDown: tc.rules });
        const events = direction === 'up' ? { scaleUpEvents: tc.prev, scaleDownEvents: [] } : { scaleUpEvents: [], scaleDownEvents: tc.prev };
        const stored = storeScaleEvent(behavior, events, 10, direction === 'up' ? 15 : 5, NOW);
        const list = direction === 'up' ? stored.scaleUpEvents : stored.scaleDownEvents;
        assert.deepEqual(
          list.map((e) => [e.replicaChange, e.outdated]),
          tc.expected,
        );
        const other = direction === 'up' ? stored.scaleDownEvents : stored.scaleUpEvents;
        assert.deepEqual(other, []);
      });
    }
  }
});

// ---------------------------------------------------------------------------
// Whole syncs.

const TARGET = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' };

function hpa(spec: Omit<HorizontalPodAutoscalerSpec, 'scaleTargetRef'>, status?: HorizontalPodAutoscaler['status']): HorizontalPodAutoscaler {
  return { name: 'web', namespace: 'default', spec: { scaleTargetRef: TARGET, ...spec }, ...(status === undefined ? {} : { status }) };
}

function readyPods(count: number, cpu = '1'): PodInfo[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `web-${i}`,
    phase: 'Running',
    startTime: NOW - 60 * MINUTE,
    ready: { status: 'True', lastTransitionTime: NOW - 59 * MINUTE },
    containers: [{ name: 'app', resources: { requests: { cpu } } }],
  }));
}

function cpuUsage(millis: readonly number[]): MetricsSource['resourceMetrics'] {
  return () =>
    millis.map((m, i) => ({
      name: `web-${i}`,
      timestamp: NOW - 15 * SECOND,
      windowMs: 15 * SECOND,
      containers: [{ name: 'app', usage: { cpu: `${m}m` } }],
    }));
}

function perPod(value: string, count: number): MetricsSource['podsMetric'] {
  return () => Array.from({ length: count }, (_, i) => ({ pod: `web-${i}`, value, timestamp: NOW }));
}

const cpuTarget = (averageUtilization: number): MetricSpec => ({
  type: 'Resource',
  resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization } },
});
const qpsTarget = (averageValue: string): MetricSpec => ({
  type: 'Pods',
  pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue } },
});
const queueTarget = (value: string): MetricSpec => ({
  type: 'External',
  external: { metric: { name: 'queue_depth' }, target: { type: 'Value', value } },
});

function sync(input: Omit<ReconcileInput, 'now'> & { now?: number }) {
  return reconcile({ now: NOW, ...input });
}

const reasons = (conditions: readonly HpaCondition[]) => conditions.map((c) => `${c.type}=${c.status}/${c.reason}`);

describe('reconcile', () => {
  test('a default HPA scales three pods at 50% of a 30% target to five and says why', () => {
    const result = sync({
      hpa: hpa({ minReplicas: 2, maxReplicas: 6, metrics: [cpuTarget(30)] }),
      scale: { specReplicas: 3 },
      pods: readyPods(3),
      metrics: { resourceMetrics: cpuUsage([300, 500, 700]) },
    });
    assert.equal(result.rescaled, true);
    assert.equal(result.newReplicas, 5);
    assert.deepEqual(result.status, {
      currentReplicas: 3,
      desiredReplicas: 5,
      currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 50, averageValue: '500m' } } }],
      conditions: [
        {
          type: 'AbleToScale',
          status: 'True',
          reason: 'SucceededRescale',
          message: 'the HPA controller was able to update the target scale to 5',
          lastTransitionTime: NOW,
        },
        {
          type: 'ScalingActive',
          status: 'True',
          reason: 'ValidMetricFound',
          message: 'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)',
          lastTransitionTime: NOW,
        },
        {
          type: 'ScalingLimited',
          status: 'False',
          reason: 'DesiredWithinRange',
          message: 'the desired count is within the acceptable range',
          lastTransitionTime: NOW,
        },
      ],
      lastScaleTime: NOW,
    });
    assert.deepEqual(result.events, [
      {
        type: 'Normal',
        reason: 'SuccessfulRescale',
        message: 'New size: 5; reason: cpu resource utilization (percentage of request) above target',
      },
    ]);
    assert.deepEqual(result.state, {
      recommendations: [
        { recommendation: 3, timestamp: NOW },
        { recommendation: 5, timestamp: NOW },
      ],
      scaleUpEvents: [],
      scaleDownEvents: [],
    });
    assert.equal(result.error, undefined);
  });

  test('an HPA without metrics scales on 80% cpu', () => {
    const result = sync({
      hpa: hpa({ maxReplicas: 10 }),
      scale: { specReplicas: 2 },
      pods: readyPods(2),
      metrics: { resourceMetrics: cpuUsage([1600, 1600]) },
    });
    assert.equal(result.newReplicas, 4);
  });

  test('the stabilization window holds back a scale-down until it has passed', () => {
    // TestStabilizeDownscale: the metrics ask for 2 of 4, a recommendation of 4
    // a minute ago holds the count.
    const input = {
      hpa: hpa({ minReplicas: 1, maxReplicas: 5, metrics: [cpuTarget(100)] }),
      scale: { specReplicas: 4 },
      pods: readyPods(3, '100m'),
      metrics: { resourceMetrics: cpuUsage([50, 50, 50]) },
    };
    const first = sync({ ...input, state: { recommendations: [rec(10, 10 * MINUTE), rec(4, MINUTE)] } });
    assert.equal(first.rescaled, false);
    assert.equal(first.metricDesiredReplicas, 2);
    assert.equal(first.status.desiredReplicas, 4);
    assert.deepEqual(getCondition(first.status.conditions, 'AbleToScale'), {
      type: 'AbleToScale',
      status: 'True',
      reason: 'ScaleDownStabilized',
      message: 'recent recommendations were higher than current one, applying the highest recent recommendation',
      lastTransitionTime: NOW,
    });

    const later = sync({ ...input, now: NOW + 4 * MINUTE, state: first.state, hpa: hpa(input.hpa.spec, first.status) });
    assert.equal(later.rescaled, false, 'four minutes on, the recommendation of 4 is still in the window');

    const after = sync({ ...input, now: NOW + 5 * MINUTE, state: later.state, hpa: hpa(input.hpa.spec, later.status) });
    assert.equal(after.rescaled, true);
    assert.equal(after.newReplicas, 2);
    assert.equal(after.rescaleReason, 'All metrics below target');
  });

  test('a first sync remembers the current count, so a controller restart does not scale down at once', () => {
    const result = sync({
      hpa: hpa({ minReplicas: 1, maxReplicas: 10, metrics: [cpuTarget(100)] }),
      scale: { specReplicas: 4 },
      pods: readyPods(4, '100m'),
      metrics: { resourceMetrics: cpuUsage([10, 10, 10, 10]) },
    });
    assert.equal(result.metricDesiredReplicas, 1);
    assert.equal(result.rescaled, false);
    assert.equal(getCondition(result.status.conditions, 'AbleToScale')?.reason, 'ScaleDownStabilized');
  });

  test('a Pods policy of 4 per 60 s limits a scale-up across syncs', () => {
    // A queue of 120 against an average of 10 per pod asks for 12 replicas
    // whatever the current count.
    const spec = {
      minReplicas: 1,
      maxReplicas: 20,
      metrics: [
        {
          type: 'External' as const,
          external: { metric: { name: 'queue_depth' }, target: { type: 'AverageValue' as const, averageValue: '10' } },
        },
      ],
      behavior: { scaleUp: { policies: [{ type: 'Pods' as const, value: 4, periodSeconds: 60 }] } },
    };
    let state: ControllerState | undefined;
    let status: HorizontalPodAutoscaler['status'];
    let replicas = 1;
    const seen: [number, number, string][] = [];
    for (const at of [0, 15, 30, 45, 61, 75, 122]) {
      const result = sync({
        hpa: hpa(spec, status),
        scale: { specReplicas: replicas },
        pods: readyPods(replicas),
        metrics: { externalMetric: () => [{ value: '120', timestamp: NOW + at * SECOND }] },
        now: NOW + at * SECOND,
        ...(state === undefined ? {} : { state }),
      });
      state = result.state;
      status = result.status;
      replicas = result.status.desiredReplicas;
      seen.push([at, replicas, getCondition(result.status.conditions, 'ScalingLimited')?.reason ?? '']);
    }
    assert.deepEqual(seen, [
      [0, 5, 'ScaleUpLimit'],
      [15, 5, 'ScaleUpLimit'],
      [30, 5, 'ScaleUpLimit'],
      [45, 5, 'ScaleUpLimit'],
      [61, 9, 'ScaleUpLimit'],
      [75, 9, 'ScaleUpLimit'],
      [122, 12, 'DesiredWithinRange'],
    ]);
  });

  test('selectPolicy Disabled on scale-down keeps the count and says it is limited', () => {
    const result = sync({
      hpa: hpa({
        minReplicas: 1,
        maxReplicas: 10,
        metrics: [cpuTarget(100)],
        behavior: { scaleDown: { selectPolicy: 'Disabled', stabilizationWindowSeconds: 0 } },
      }),
      scale: { specReplicas: 5 },
      pods: readyPods(5),
      metrics: { resourceMetrics: cpuUsage([100, 100, 100, 100, 100]) },
      state: { recommendations: [] },
    });
    assert.equal(result.metricDesiredReplicas, 1);
    assert.equal(result.rescaled, false);
    assert.deepEqual(reasons(result.status.conditions), ['AbleToScale=True/ReadyForNewScale', 'ScalingActive=True/ValidMetricFound', 'ScalingLimited=True/ScaleDownLimit']);
  });

  test('the documentation scale-down policies with selectPolicy Max and Min, from 80 replicas', () => {
    // At most 4 pods or 10% per minute; a queue of 1 against a value of 10
    // over 80 ready pods asks for 8.
    const run = (selectPolicy: 'Min' | 'Max') =>
      sync({
        hpa: hpa({
          minReplicas: 1,
          maxReplicas: 100,
          metrics: [queueTarget('10')],
          behavior: {
            scaleDown: {
              selectPolicy,
              stabilizationWindowSeconds: 0,
              policies: [
                { type: 'Pods', value: 4, periodSeconds: 60 },
                { type: 'Percent', value: 10, periodSeconds: 60 },
              ],
            },
          },
        }),
        scale: { specReplicas: 80 },
        pods: readyPods(80),
        metrics: { externalMetric: () => [{ value: '1', timestamp: NOW }] },
        state: { recommendations: [] },
      });
    const max = run('Max');
    assert.equal(max.metricDesiredReplicas, 8);
    assert.equal(max.newReplicas, 72);
    assert.equal(getCondition(max.status.conditions, 'ScalingLimited')?.reason, 'ScaleDownLimit');
    assert.equal(run('Min').newReplicas, 76);
  });

  test('a target scaled to zero by hand is left alone', () => {
    const result = sync({
      hpa: hpa({ minReplicas: 1, maxReplicas: 10, metrics: [cpuTarget(50)] }),
      scale: { specReplicas: 0 },
      pods: [],
      metrics: {},
    });
    assert.equal(result.rescaled, false);
    assert.equal(result.status.desiredReplicas, 0);
    assert.deepEqual(getCondition(result.status.conditions, 'ScalingActive'), {
      type: 'ScalingActive',
      status: 'False',
      reason: 'ScalingDisabled',
      message: 'scaling is disabled since the replica count of the target is zero',
      lastTransitionTime: NOW,
    });
  });

  test('a count above maxReplicas is brought down at once', () => {
    // TestScaleDownRCImmediately
    const result = sync({
      hpa: hpa({ minReplicas: 2, maxReplicas: 5, metrics: [cpuTarget(50)] }),
      scale: { specReplicas: 6 },
      pods: readyPods(6),
      metrics: {},
    });
    assert.equal(result.newReplicas, 5);
    assert.equal(result.rescaleReason, 'Current number of replicas above Spec.MaxReplicas');
    assert.deepEqual(reasons(result.status.conditions), ['AbleToScale=True/SucceededRescale']);
  });

  test('a count below minReplicas is brought up at once', () => {
    // TestScaleUpRCImmediately
    const result = sync({
      hpa: hpa({ minReplicas: 2, maxReplicas: 6, metrics: [cpuTarget(50)] }),
      scale: { specReplicas: 1 },
      pods: readyPods(1),
      metrics: {},
    });
    assert.equal(result.newReplicas, 2);
    assert.equal(result.rescaleReason, 'Current number of replicas below Spec.MinReplicas');
    assert.deepEqual(result.events, [{ type: 'Normal', reason: 'SuccessfulRescale', message: 'New size: 2; reason: Current number of replicas below Spec.MinReplicas' }]);
  });

  test('maxReplicas limits the highest of several metrics: TooManyReplicas', () => {
    // TestNoBackoffUpscaleCMNoBackoffCpu: cpu asks for hundreds, qps for 4.
    const result = sync({
      hpa: hpa({ minReplicas: 1, maxReplicas: 5, metrics: [cpuTarget(10), qpsTarget('15')] }),
      scale: { specReplicas: 3 },
      pods: readyPods(3),
      metrics: {
        resourceMetrics: cpuUsage([20000, 10000, 30000]),
        podsMetric: () => [20, 10, 30].map((v, i) => ({ pod: `web-${i}`, value: v, timestamp: NOW })),
      },
    });
    assert.equal(result.metricDesiredReplicas, 600);
    assert.equal(result.newReplicas, 5);
    assert.deepEqual(reasons(result.status.conditions), ['AbleToScale=True/SucceededRescale', 'ScalingActive=True/ValidMetricFound', 'ScalingLimited=True/TooManyReplicas']);
    assert.equal(getCondition(result.status.conditions, 'ScalingLimited')?.message, 'the desired replica count is more than the maximum replica count');
  });

  test('minReplicas limits a scale-down: TooFewReplicas', () => {
    const result = sync({
      hpa: hpa({ minReplicas: 2, maxReplicas: 10, metrics: [cpuTarget(100)] }),
      scale: { specReplicas: 3 },
      pods: readyPods(3),
      metrics: { resourceMetrics: cpuUsage([100, 100, 100]) },
      state: { recommendations: [] },
    });
    assert.equal(result.newReplicas, 2);
    assert.equal(getCondition(result.status.conditions, 'ScalingLimited')?.reason, 'TooFewReplicas');
    assert.equal(getCondition(result.status.conditions, 'ScalingLimited')?.status, 'True');
  });

  test('without behavior a sync at most doubles the count: ScaleUpLimit', () => {
    const result = sync({
      hpa: hpa({ minReplicas: 1, maxReplicas: 100, metrics: [cpuTarget(10)] }),
      scale: { specReplicas: 3 },
      pods: readyPods(3),
      metrics: { resourceMetrics: cpuUsage([1000, 1000, 1000]) },
    });
    assert.equal(result.metricDesiredReplicas, 30);
    assert.equal(result.newReplicas, 6);
    assert.equal(getCondition(result.status.conditions, 'ScalingLimited')?.reason, 'ScaleUpLimit');
  });

  test('when no metric can be read the status keeps the last decision and the sync fails', () => {
    const result = sync({
      hpa: hpa({ minReplicas: 1, maxReplicas: 10, metrics: [qpsTarget('10')] }, { desiredReplicas: 4, lastScaleTime: NOW - MINUTE }),
      scale: { specReplicas: 4 },
      pods: readyPods(4),
      metrics: {
        podsMetric: () => {
          throw new Error('the server is currently unable to handle the request');
        },
      },
    });
    const inner = 'unable to get metric qps: unable to fetch metrics from custom metrics API: the server is currently unable to handle the request';
    assert.equal(result.rescaled, false);
    assert.deepEqual(
      { ...result.status, conditions: reasons(result.status.conditions) },
      {
        currentReplicas: 4,
        desiredReplicas: 4,
        currentMetrics: [{ type: '' }],
        conditions: ['AbleToScale=True/SucceededGetScale', 'ScalingActive=False/FailedGetPodsMetric'],
        lastScaleTime: NOW - MINUTE,
      },
    );
    assert.equal(getCondition(result.status.conditions, 'ScalingActive')?.message, `the HPA was unable to compute the replica count: ${inner}`);
    assert.deepEqual(result.events, [
      { type: 'Warning', reason: 'FailedGetPodsMetric', message: inner },
      {
        type: 'Warning',
        reason: 'FailedComputeMetricsReplicas',
        message: `invalid metrics (1 invalid out of 1), first error is: failed to get pods metric value: ${inner}`,
      },
    ]);
    assert.equal(
      result.error,
      `failed to compute desired number of replicas based on listed metrics for Deployment/default/web: invalid metrics (1 invalid out of 1), first error is: failed to get pods metric value: ${inner}`,
    );
  });

  test('a scale-up on working metrics goes ahead and still reports the broken one', () => {
    const result = sync({
      hpa: hpa({ minReplicas: 1, maxReplicas: 10, metrics: [cpuTarget(30), queueTarget('100m')] }),
      scale: { specReplicas: 3 },
      pods: readyPods(3),
      metrics: {
        resourceMetrics: cpuUsage([300, 400, 500]),
        externalMetric: () => {
          throw new Error('something went wrong');
        },
      },
    });
    assert.equal(result.newReplicas, 4);
    assert.match(result.error ?? '', /^invalid metrics \(1 invalid out of 2\), first error is: /);
    assert.equal(getCondition(result.status.conditions, 'ScalingActive')?.reason, 'ValidMetricFound');
  });

  test('a scale without a selector is an InvalidSelector', () => {
    const result = sync({
      hpa: hpa({ maxReplicas: 10 }),
      scale: { specReplicas: 2, selector: '' },
      pods: readyPods(2),
      metrics: {},
    });
    assert.deepEqual(reasons(result.status.conditions), ['AbleToScale=True/SucceededGetScale', 'ScalingActive=False/InvalidSelector']);
    assert.deepEqual(
      result.events.map((e) => e.reason),
      ['SelectorRequired', 'FailedComputeMetricsReplicas'],
    );
    assert.equal(result.error, 'failed to compute desired number of replicas based on listed metrics for Deployment/default/web: selector is required');
  });

  test('a scale that cannot be read is FailedGetScale', () => {
    const result = sync({ hpa: hpa({ maxReplicas: 10 }), scale: { error: 'deployments.apps "web" not found' }, pods: [], metrics: {} });
    assert.deepEqual(result.status.conditions, [
      {
        type: 'AbleToScale',
        status: 'False',
        reason: 'FailedGetScale',
        message: 'the HPA controller was unable to get the target\'s current scale: deployments.apps "web" not found',
        lastTransitionTime: NOW,
      },
    ]);
    assert.equal(result.error, 'failed to query scale subresource for Deployment/default/web: deployments.apps "web" not found');
  });

  test('a scale that cannot be written is FailedUpdateScale and keeps the old status', () => {
    const result = sync({
      hpa: hpa({ minReplicas: 1, maxReplicas: 5, metrics: [cpuTarget(100)] }, { desiredReplicas: 3 }),
      scale: { specReplicas: 3 },
      pods: readyPods(3, '100m'),
      metrics: { resourceMetrics: cpuUsage([150, 150, 150]) },
      scaleUpdateError: 'something went wrong',
    });
    assert.equal(result.rescaled, false);
    assert.equal(result.status.desiredReplicas, 3);
    assert.deepEqual(getCondition(result.status.conditions, 'AbleToScale'), {
      type: 'AbleToScale',
      status: 'False',
      reason: 'FailedUpdateScale',
      message: 'the HPA controller was unable to update the target scale: something went wrong',
      lastTransitionTime: NOW,
    });
    assert.deepEqual(result.events.at(-1), {
      type: 'Warning',
      reason: 'FailedRescale',
      message: 'New size: 5; reason: cpu resource utilization (percentage of request) above target; error: something went wrong',
    });
    assert.equal(result.error, 'failed to rescale Deployment/default/web: something went wrong');
  });

  test('a condition keeps its transition time while its status stays the same', () => {
    const earlier = NOW - 10 * MINUTE;
    const previous: HpaCondition[] = [
      { type: 'AbleToScale', status: 'True', reason: 'SucceededRescale', message: 'x', lastTransitionTime: earlier },
      { type: 'ScalingActive', status: 'False', reason: 'FailedGetPodsMetric', message: 'y', lastTransitionTime: earlier },
      { type: 'ScalingLimited', status: 'False', reason: 'DesiredWithinRange', message: 'z', lastTransitionTime: earlier },
    ];
    const result = sync({
      hpa: hpa({ minReplicas: 1, maxReplicas: 10, metrics: [cpuTarget(50)] }, { conditions: previous, desiredReplicas: 3 }),
      scale: { specReplicas: 3 },
      pods: readyPods(3),
      metrics: { resourceMetrics: cpuUsage([500, 500, 500]) },
    });
    assert.deepEqual(
      result.status.conditions.map((c) => [c.type, c.reason, c.lastTransitionTime]),
      [
        ['AbleToScale', 'ReadyForNewScale', earlier],
        ['ScalingActive', 'ValidMetricFound', NOW],
        ['ScalingLimited', 'DesiredWithinRange', earlier],
      ],
    );
  });

  test('with minReplicas 0 an external metric scales from zero and, after the window, back to zero', () => {
    const spec = { minReplicas: 0, maxReplicas: 10, metrics: [queueTarget('1')] };
    const up = sync({
      hpa: hpa(spec),
      scale: { specReplicas: 0 },
      pods: [],
      metrics: { externalMetric: () => [{ value: '3', timestamp: NOW }] },
      options: { scaleToZero: true },
    });
    assert.equal(up.newReplicas, 3);

    const drained = { externalMetric: () => [{ value: '0', timestamp: NOW }] };
    const held = sync({
      hpa: hpa(spec, up.status),
      scale: { specReplicas: 3 },
      pods: readyPods(3),
      metrics: drained,
      state: up.state,
      now: NOW + MINUTE,
    });
    assert.equal(held.metricDesiredReplicas, 0);
    assert.equal(held.rescaled, false);

    const down = sync({
      hpa: hpa(spec, held.status),
      scale: { specReplicas: 3 },
      pods: readyPods(3),
      metrics: drained,
      state: held.state,
      now: NOW + 7 * MINUTE,
    });
    assert.equal(down.newReplicas, 0);
  });

  test('a per-direction tolerance applies only with the HPAConfigurableTolerance gate', () => {
    const input = {
      hpa: hpa({
        minReplicas: 1,
        maxReplicas: 20,
        metrics: [qpsTarget('100m')],
        behavior: { scaleUp: { tolerance: '0.05' } },
      }),
      scale: { specReplicas: 10 },
      pods: readyPods(10),
      metrics: { podsMetric: perPod('108m', 10) },
    };
    assert.equal(sync(input).newReplicas, 11);
    const gateOff = sync({ ...input, options: { configurableTolerance: false } });
    assert.equal(gateOff.rescaled, false);
    assert.equal(gateOff.metricDesiredReplicas, 10);
  });

  test('a behavior keeps scale events for the next sync', () => {
    const result = sync({
      hpa: hpa({ minReplicas: 1, maxReplicas: 10, metrics: [cpuTarget(50)], behavior: {} }),
      scale: { specReplicas: 2 },
      pods: readyPods(2),
      metrics: { resourceMetrics: cpuUsage([1000, 1000]) },
    });
    assert.equal(result.newReplicas, 4);
    assert.deepEqual(result.state.scaleUpEvents, [{ replicaChange: 2, timestamp: NOW, outdated: false }]);
  });
});

describe('conditions and validation', () => {
  test('setCondition replaces in place, appends new types, and leaves the input alone', () => {
    const start: HpaCondition[] = [{ type: 'AbleToScale', status: 'True', reason: 'A', message: 'a', lastTransitionTime: 1 }];
    const next = setCondition(start, { type: 'ScalingActive', status: 'True', reason: 'B', message: 'b' }, 5);
    const flipped = setCondition(next, { type: 'AbleToScale', status: 'False', reason: 'C', message: 'c' }, 9);
    assert.deepEqual(
      flipped.map((c) => [c.type, c.reason, c.lastTransitionTime]),
      [
        ['AbleToScale', 'C', 9],
        ['ScalingActive', 'B', 5],
      ],
    );
    assert.equal(start[0]?.reason, 'A');
  });

  test('minReplicas 0 needs the HPAScaleToZero gate and an Object or External metric', () => {
    assert.deepEqual(validateHpaSpec({ minReplicas: 0, maxReplicas: 5, metrics: [queueTarget('1')] }), ['spec.minReplicas may only be 0 with the HPAScaleToZero feature gate']);
    assert.deepEqual(validateHpaSpec({ minReplicas: 0, maxReplicas: 5, metrics: [cpuTarget(50)] }, { scaleToZero: true }), [
      'spec.minReplicas may only be 0 when at least one Object or External metric is set',
    ]);
    assert.deepEqual(validateHpaSpec({ minReplicas: 0, maxReplicas: 5, metrics: [queueTarget('1')] }, { scaleToZero: true }), []);
  });

  test('bounds and policy ranges are checked', () => {
    assert.deepEqual(
      validateHpaSpec({
        minReplicas: 6,
        maxReplicas: 5,
        behavior: { scaleDown: { stabilizationWindowSeconds: 3601, policies: [{ type: 'Pods', value: 0, periodSeconds: 1801 }] } },
      }),
      [
        'spec.maxReplicas must be at least spec.minReplicas',
        'spec.behavior.scaleDown.stabilizationWindowSeconds must be between 0 and 3600',
        'spec.behavior.scaleDown.policies[0].periodSeconds must be between 1 and 1800',
        'spec.behavior.scaleDown.policies[0].value must be greater than 0',
      ],
    );
  });
});
