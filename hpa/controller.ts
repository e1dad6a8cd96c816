// One sync of one HPA, as HorizontalController.reconcileAutoscaler runs it
// (pkg/controller/podautoscaler/horizontal.go): read the scale, handle the
// out-of-bounds and scaled-to-zero cases, compute a proposal per metric and
// take the highest, normalize it (stabilization, policies, min/max), decide
// whether to rescale, and write status and conditions.
//
// Pure: the scale, the pods, the metric samples, the previous status, the
// controller's in-memory history and "now" are inputs; the new status, the new
// history and the events the controller would emit are the output. Writing the
// scale is assumed to succeed unless `scaleUpdateError` says otherwise.

import {
  getExternalMetricReplicas,
  getExternalPerPodMetricReplicas,
  getMetricReplicas,
  getObjectMetricReplicas,
  getObjectPerPodMetricReplicas,
  getRawResourceReplicas,
  getResourceReplicas,
  uniformTolerances,
  type CalculatorContext,
  type Tolerances,
} from './algorithm.js';
import {
  normalizeDesiredReplicas,
  normalizeDesiredReplicasWithBehaviors,
  resolveBehavior,
  storeScaleEvent,
  type ResolvedBehavior,
  type TimestampedRecommendation,
  type TimestampedScaleEvent,
} from './behavior.js';
import { ConditionMessage, ScalingActiveReason, setCondition, unableToComputeCondition, type ConditionUpdate } from './conditions.js';
import { externalMetricValues, objectMetricValue, podsMetricInfo, resourceMetricsInfo } from './metrics.js';
import type { LabelSelector } from '../k8s/label-selector.js';
import { formatMilli } from '../k8s/quantity.js';
import { approximateFloat, HpaInputError, milliValue } from './quantity.js';
import {
  DEFAULT_CONTROLLER_OPTIONS,
  DEFAULT_CPU_UTILIZATION,
  type ControllerOptions,
  type CrossVersionObjectReference,
  type HorizontalPodAutoscaler,
  type HorizontalPodAutoscalerSpec,
  type HorizontalPodAutoscalerStatus,
  type HpaCondition,
  type MetricIdentifier,
  type MetricSpec,
  type MetricStatus,
  type MetricTarget,
  type MetricsSource,
  type MetricValueStatus,
  type PodInfo,
  type Timestamp,
} from './types.js';

/** The controller's in-memory history for one HPA (lost when kube-controller-manager restarts). */
export interface ControllerState {
  /** Unset before the first sync: the first sync then records the current replica count. */
  readonly recommendations?: readonly TimestampedRecommendation[];
  readonly scaleUpEvents?: readonly TimestampedScaleEvent[];
  readonly scaleDownEvents?: readonly TimestampedScaleEvent[];
}

/** The scale subresource of the target. */
export interface ScaleInfo {
  /** spec.replicas: what the HPA treats as the current replica count. */
  readonly specReplicas: number;
  /** status.replicas (defaults to specReplicas): what AverageValue Object/External targets divide by. */
  readonly statusReplicas?: number;
  /**
   * status.selector. Left out, the pods given are taken as selected; an empty
   * string is a target without a selector (ScalingActive InvalidSelector).
   */
  readonly selector?: string;
}

export interface HpaEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface ReconcileInput {
  readonly hpa: HorizontalPodAutoscaler;
  /** The target's scale, or the error reading it failed with. */
  readonly scale: ScaleInfo | { readonly error: string };
  /** The pods the scale's selector picks. */
  readonly pods: readonly PodInfo[];
  readonly metrics: MetricsSource;
  readonly now: Timestamp;
  readonly state?: ControllerState;
  readonly options?: Partial<ControllerOptions>;
  /** Makes the scale update fail with this error (AbleToScale FailedUpdateScale). */
  readonly scaleUpdateError?: string;
}

export interface ReconcileResult {
  readonly status: HorizontalPodAutoscalerStatus;
  /** Whether spec.replicas of the target was changed. */
  readonly rescaled: boolean;
  /** The replica count written to the scale, when rescaled. */
  readonly newReplicas?: number;
  /** Why, in the words of the SuccessfulRescale event. */
  readonly rescaleReason?: string;
  /** The highest proposal over the metrics and the metric it came from, when metrics were computed. */
  readonly metricDesiredReplicas?: number;
  readonly metricName?: string;
  readonly state: ControllerState;
  readonly events: readonly HpaEvent[];
  /** The error reconcileAutoscaler returns (the sync may still have scaled). */
  readonly error?: string;
}

/** The API server's defaulting of an HPA spec (SetDefaults_HorizontalPodAutoscaler). */
export function applySpecDefaults(spec: HorizontalPodAutoscalerSpec): HorizontalPodAutoscalerSpec & {
  readonly minReplicas: number;
  readonly metrics: readonly MetricSpec[];
} {
  const metrics: readonly MetricSpec[] =
    spec.metrics !== undefined && spec.metrics.length > 0
      ? spec.metrics
      : [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: DEFAULT_CPU_UTILIZATION } },
          },
        ];
  return { ...spec, minReplicas: spec.minReplicas ?? 1, metrics };
}

/**
 * Checks the bounds the API server enforces before an HPA can exist, so a
 * simulation does not run one Kubernetes would have refused. minReplicas 0 is
 * allowed only with the HPAScaleToZero gate and with at least one Object or
 * External metric: with only per-pod metrics there would be no pod left to
 * measure and nothing could scale the target back up. The messages are this
 * module's own.
 */
export function validateHpaSpec(spec: HorizontalPodAutoscalerSpec, options: Partial<ControllerOptions> = {}): string[] {
  const scaleToZero = options.scaleToZero ?? DEFAULT_CONTROLLER_OPTIONS.scaleToZero;
  const problems: string[] = [];
  const min = spec.minReplicas ?? 1;
  if (!Number.isInteger(spec.maxReplicas) || spec.maxReplicas < 1) {
    problems.push('spec.maxReplicas must be an integer of at least 1');
  }
  if (!Number.isInteger(min) || min < 0) {
    problems.push('spec.minReplicas must be a non-negative integer');
  } else if (min === 0) {
    if (!scaleToZero) {
      problems.push('spec.minReplicas may only be 0 with the HPAScaleToZero feature gate');
    } else if (!(spec.metrics ?? []).some((m) => m.type === 'Object' || m.type === 'External')) {
      problems.push('spec.minReplicas may only be 0 when at least one Object or External metric is set');
    }
  }
  if (min > spec.maxReplicas) problems.push('spec.maxReplicas must be at least spec.minReplicas');
  for (const [direction, rules] of [
    ['scaleUp', spec.behavior?.scaleUp],
    ['scaleDown', spec.behavior?.scaleDown],
  ] as const) {
    if (rules === undefined) continue;
    const window = rules.stabilizationWindowSeconds;
    if (window !== undefined && (window < 0 || window > 3600)) {
      problems.push(`spec.behavior.${direction}.stabilizationWindowSeconds must be between 0 and 3600`);
    }
    for (const [i, policy] of (rules.policies ?? []).entries()) {
      if (policy.periodSeconds <= 0 || policy.periodSeconds > 1800) {
        problems.push(`spec.behavior.${direction}.policies[${i}].periodSeconds must be between 1 and 1800`);
      }
      if (policy.value <= 0) problems.push(`spec.behavior.${direction}.policies[${i}].value must be greater than 0`);
    }
  }
  return problems;
}

/**
 * tolerancesForHpa: the controller-wide tolerance, or per direction the
 * behavior's tolerance when the HPAConfigurableTolerance gate is on.
 */
export function tolerancesForHpa(spec: HorizontalPodAutoscalerSpec, options: ControllerOptions): Tolerances {
  const base = uniformTolerances(options.tolerance);
  const behavior = spec.behavior;
  if (behavior === undefined || !options.configurableTolerance) return base;
  const down = behavior.scaleDown?.tolerance;
  const up = behavior.scaleUp?.tolerance;
  return {
    scaleDown: down === undefined ? base.scaleDown : approximateFloat(down, 'spec.behavior.scaleDown.tolerance'),
    scaleUp: up === undefined ? base.scaleUp : approximateFloat(up, 'spec.behavior.scaleUp.tolerance'),
  };
}

/**
 * A *metav1.LabelSelector printed with %+v, as it appears in upstream metric
 * names and external metric errors (the generated String() method).
 */
export function goLabelSelector(selector: LabelSelector | undefined): string {
  if (selector === undefined) return 'nil';
  const labels = Object.keys(selector.matchLabels ?? {})
    .sort()
    .map((k) => `${k}: ${selector.matchLabels?.[k] ?? ''},`)
    .join('');
  const expressions = (selector.matchExpressions ?? []).map((e) => `LabelSelectorRequirement{Key:${e.key},Operator:${e.operator},Values:[${(e.values ?? []).join(' ')}],},`).join('');
  return `&LabelSelector{MatchLabels:map[string]string{${labels}},MatchExpressions:[]LabelSelectorRequirement{${expressions}},}`;
}

function metricIdentifier(metric: MetricIdentifier): MetricIdentifier {
  return metric.selector === undefined ? { name: metric.name } : { name: metric.name, selector: metric.selector };
}

/** The outcome of one metric: a proposal, or the ScalingActive condition and event of its failure. */
export type MetricProposal =
  | {
      readonly ok: true;
      readonly replicas: number;
      readonly metricName: string;
      readonly timestamp: Timestamp;
      readonly status: MetricStatus;
    }
  | {
      readonly ok: false;
      readonly error: string;
      readonly condition: ConditionUpdate;
      readonly event: HpaEvent;
    };

export interface MetricContext extends CalculatorContext {
  readonly metricsSource: MetricsSource;
  readonly namespace: string;
  /** scale.spec.replicas */
  readonly specReplicas: number;
  /** scale.status.replicas */
  readonly statusReplicas: number;
}

class MetricFailure extends Error {
  constructor(
    readonly reason: string,
    /** The error text the condition and event carry. */
    readonly conditionError: string,
    /** The error computeReplicasForMetric returns. */
    readonly returnedError: string,
  ) {
    super(returnedError);
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// Input errors are the caller's bug, not a metric failure: they pass through
// every wrapping below.
function rethrowInputError(err: unknown): void {
  if (err instanceof HpaInputError) throw err;
}

// The metrics client's own wrapping of a failed API call.
function fetch<T>(call: () => T, api: string): T {
  try {
    return call();
  } catch (err) {
    throw new Error(`unable to fetch metrics from ${api}: ${message(err)}`);
  }
}

/**
 * computeReplicasForMetric: the proposal of one metric spec, with the status
 * it reports, or why it failed. Never throws for a metric problem.
 */
export function computeReplicasForMetric(ctx: MetricContext, spec: MetricSpec): MetricProposal {
  try {
    return { ok: true, ...proposal(ctx, spec) };
  } catch (err) {
    if (!(err instanceof MetricFailure)) throw err;
    return {
      ok: false,
      error: err.returnedError,
      condition: unableToComputeCondition(err.reason, err.conditionError),
      event: { type: 'Warning', reason: err.reason, message: err.conditionError },
    };
  }
}

// Runs a calculation; its error becomes a MetricFailure whose condition and
// event carry wrapCondition(error) and whose returned error is
// wrapReturned(that), the two layers of wrapping horizontal.go applies.
function attempt<T>(reason: string, run: () => T, wrapCondition: (inner: string) => string, wrapReturned: (conditionError: string) => string): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof MetricFailure) throw err;
    rethrowInputError(err);
    const conditionError = wrapCondition(message(err));
    throw new MetricFailure(reason, conditionError, wrapReturned(conditionError));
  }
}

const same = (s: string): string => s;

function proposal(ctx: MetricContext, spec: MetricSpec): { replicas: number; metricName: string; timestamp: Timestamp; status: MetricStatus } {
  switch (spec.type) {
    case 'Resource':
    case 'ContainerResource': {
      const source = spec.type === 'Resource' ? spec.resource : spec.containerResource;
      const container = spec.type === 'ContainerResource' ? spec.containerResource.container : '';
      const reason = spec.type === 'Resource' ? ScalingActiveReason.FailedGetResourceMetric : ScalingActiveReason.FailedGetContainerResourceMetric;
      const returned = (e: string) => (spec.type === 'Resource' ? `failed to get ${source.name} resource metric value: ${e}` : `failed to get ${container} container metric value: ${e}`);
      const { current, replicas, metricName, timestamp } = attempt(reason, () => resourceProposal(ctx, source.name, container, source.target, spec.type), same, returned);
      const status: MetricStatus =
        spec.type === 'Resource' ? { type: 'Resource', resource: { name: source.name, current } } : { type: 'ContainerResource', containerResource: { name: source.name, container, current } };
      return { replicas, metricName, timestamp, status };
    }
    case 'Pods': {
      const source = spec.pods;
      const reason = ScalingActiveReason.FailedGetPodsMetric;
      const returned = (e: string) => `failed to get pods metric value: ${e}`;
      const target = source.target.averageValue;
      if (target === undefined) {
        // Validation guarantees it; upstream would dereference a nil pointer.
        const err = 'invalid pods metric source: no average value target was set';
        throw new MetricFailure(reason, err, returned(err));
      }
      const targetUsage = milliValue(target, 'spec.metrics[].pods.target.averageValue');
      const fetched = attempt(
        reason,
        () => podsMetricInfo(fetch(() => ctx.metricsSource.podsMetric?.(source.metric) ?? unavailable(), 'custom metrics API')),
        (e) => `unable to get metric ${source.metric.name}: ${e}`,
        returned,
      );
      const result = attempt(reason, () => getMetricReplicas(ctx, { currentReplicas: ctx.specReplicas, targetUsage, metrics: fetched.metrics }), same, returned);
      return {
        replicas: result.replicas,
        metricName: `pods metric ${source.metric.name}`,
        timestamp: fetched.timestamp,
        status: {
          type: 'Pods',
          pods: { metric: metricIdentifier(source.metric), current: { averageValue: formatMilli(result.usage) } },
        },
      };
    }
    case 'Object':
      return objectProposal(ctx, spec.object);
    case 'External':
      return externalProposal(ctx, spec.external);
    default: {
      // The API server rejects other types; a manifest passed in unchecked may still carry one.
      const type = String((spec as { type?: unknown }).type);
      const err = `unknown metric source type ${JSON.stringify(type)}`;
      throw new MetricFailure(ScalingActiveReason.InvalidMetricSourceType, err, err);
    }
  }
}

// Stands in for a MetricsSource method that is not there.
function unavailable(): never {
  throw new Error('the API is not available');
}

function resourceProposal(
  ctx: MetricContext,
  resource: string,
  container: string,
  target: MetricTarget,
  sourceType: 'Resource' | 'ContainerResource',
): { current: MetricValueStatus; replicas: number; metricName: string; timestamp: Timestamp } {
  const fetchMetrics = () => {
    try {
      const items = fetch(() => ctx.metricsSource.resourceMetrics?.() ?? unavailable(), 'resource metrics API');
      return resourceMetricsInfo(items, resource, container, ctx.namespace);
    } catch (err) {
      rethrowInputError(err);
      throw new Error(`unable to get metrics for resource ${resource}: ${message(err)}`);
    }
  };
  if (target.averageValue !== undefined) {
    const targetUsage = milliValue(target.averageValue, 'target.averageValue');
    try {
      const fetched = fetchMetrics();
      const result = getRawResourceReplicas(ctx, {
        currentReplicas: ctx.specReplicas,
        targetUsage,
        resource,
        metrics: fetched.metrics,
      });
      return {
        current: { averageValue: formatMilli(result.usage) },
        replicas: result.replicas,
        metricName: `${resource} resource`,
        timestamp: fetched.timestamp,
      };
    } catch (err) {
      rethrowInputError(err);
      throw new Error(`failed to get ${resource} usage: ${message(err)}`);
    }
  }
  if (target.averageUtilization === undefined) {
    throw new Error('invalid resource metric source: neither an average utilization target nor an average value (usage) target was set');
  }
  const targetUtilization = target.averageUtilization;
  try {
    const fetched = fetchMetrics();
    const result = getResourceReplicas(ctx, {
      currentReplicas: ctx.specReplicas,
      targetUtilization,
      resource,
      container,
      metrics: fetched.metrics,
    });
    return {
      current: { averageUtilization: result.utilization, averageValue: formatMilli(result.rawUtilization) },
      replicas: result.replicas,
      metricName: sourceType === 'ContainerResource' ? `${resource} container resource utilization (percentage of request)` : `${resource} resource utilization (percentage of request)`,
      timestamp: fetched.timestamp,
    };
  } catch (err) {
    rethrowInputError(err);
    throw new Error(`failed to get ${resource} utilization: ${message(err)}`);
  }
}

function objectProposal(ctx: MetricContext, source: Extract<MetricSpec, { type: 'Object' }>['object']): { replicas: number; metricName: string; timestamp: Timestamp; status: MetricStatus } {
  const reason = ScalingActiveReason.FailedGetObjectMetric;
  const returned = (e: string) => `failed to get object metric value: ${e}`;
  const ref: CrossVersionObjectReference = source.describedObject;
  // The controller's message puts the error after the object (a format string
  // with its arguments out of order upstream).
  const fetchValue = () => {
    try {
      return objectMetricValue(fetch(() => ctx.metricsSource.objectMetric?.(source.metric, ref) ?? unavailable(), 'custom metrics API'));
    } catch (err) {
      rethrowInputError(err);
      throw new Error(`unable to get metric ${source.metric.name}: ${ref.kind} on ${ctx.namespace} ${ref.name}/${message(err)}`);
    }
  };
  const target = source.target;
  if (target.type === 'Value' && target.value !== undefined) {
    const targetUsage = milliValue(target.value, 'spec.metrics[].object.target.value');
    const { result, timestamp } = attempt(
      reason,
      () => {
        const fetched = fetchValue();
        return {
          result: getObjectMetricReplicas(ctx, { currentReplicas: ctx.specReplicas, targetUsage, usage: fetched.usage }),
          timestamp: fetched.timestamp,
        };
      },
      same,
      returned,
    );
    return {
      replicas: result.replicas,
      metricName: `${ref.kind} metric ${source.metric.name}`,
      timestamp,
      status: {
        type: 'Object',
        object: { describedObject: ref, metric: metricIdentifier(source.metric), current: { value: formatMilli(result.usage) } },
      },
    };
  }
  if (target.type === 'AverageValue' && target.averageValue !== undefined) {
    const targetAverageUsage = milliValue(target.averageValue, 'spec.metrics[].object.target.averageValue');
    const { result, timestamp } = attempt(
      reason,
      () => {
        const fetched = fetchValue();
        return {
          result: getObjectPerPodMetricReplicas(ctx.tolerances, {
            statusReplicas: ctx.statusReplicas,
            targetAverageUsage,
            usage: fetched.usage,
          }),
          timestamp: fetched.timestamp,
        };
      },
      same,
      (e) => returned(`failed to get ${source.metric.name} object metric: ${e}`),
    );
    return {
      replicas: result.replicas,
      // Upstream names an Object AverageValue metric "external metric".
      metricName: `external metric ${source.metric.name}(${goLabelSelector(source.metric.selector)})`,
      timestamp,
      status: {
        type: 'Object',
        object: { metric: metricIdentifier(source.metric), current: { averageValue: formatMilli(result.usage) } },
      },
    };
  }
  const err = 'invalid object metric source: neither a value target nor an average value target was set';
  throw new MetricFailure(reason, err, returned(err));
}

function externalProposal(ctx: MetricContext, source: Extract<MetricSpec, { type: 'External' }>['external']): { replicas: number; metricName: string; timestamp: Timestamp; status: MetricStatus } {
  const reason = ScalingActiveReason.FailedGetExternalMetric;
  const name = source.metric.name;
  const returned = (e: string) => `failed to get ${name} external metric value: ${e}`;
  const fetchValues = () => {
    try {
      return externalMetricValues(fetch(() => ctx.metricsSource.externalMetric?.(source.metric) ?? unavailable(), 'external metrics API'));
    } catch (err) {
      rethrowInputError(err);
      throw new Error(`unable to get external metric ${ctx.namespace}/${name}/${goLabelSelector(source.metric.selector)}: ${message(err)}`);
    }
  };
  const metricName = `external metric ${name}(${goLabelSelector(source.metric.selector)})`;
  const identifier = metricIdentifier(source.metric);
  // Upstream looks at which target is set, not at target.type, AverageValue first.
  if (source.target.averageValue !== undefined) {
    const targetUsagePerPod = milliValue(source.target.averageValue, 'spec.metrics[].external.target.averageValue');
    const { result, timestamp } = attempt(
      reason,
      () => {
        const fetched = fetchValues();
        return {
          result: getExternalPerPodMetricReplicas(ctx.tolerances, {
            statusReplicas: ctx.statusReplicas,
            targetUsagePerPod,
            values: fetched.values,
          }),
          timestamp: fetched.timestamp,
        };
      },
      same,
      (e) => returned(`failed to get ${name} external metric: ${e}`),
    );
    return {
      replicas: result.replicas,
      metricName,
      timestamp,
      status: { type: 'External', external: { metric: identifier, current: { averageValue: formatMilli(result.usage) } } },
    };
  }
  if (source.target.value !== undefined) {
    const targetUsage = milliValue(source.target.value, 'spec.metrics[].external.target.value');
    const { result, timestamp } = attempt(
      reason,
      () => {
        const fetched = fetchValues();
        return {
          result: getExternalMetricReplicas(ctx, {
            currentReplicas: ctx.specReplicas,
            targetUsage,
            values: fetched.values,
          }),
          timestamp: fetched.timestamp,
        };
      },
      same,
      (e) => returned(`failed to get external metric ${name}: ${e}`),
    );
    return {
      replicas: result.replicas,
      metricName,
      timestamp,
      status: { type: 'External', external: { metric: identifier, current: { value: formatMilli(result.usage) } } },
    };
  }
  const err = 'invalid external metric source: neither a value target nor an average value target was set';
  throw new MetricFailure(reason, err, returned(err));
}

export interface MetricsOutcome {
  /** -1 when the HPA must not scale on these metrics (upstream's failure signal). */
  readonly replicas: number;
  readonly metricName: string;
  readonly statuses: readonly MetricStatus[];
  /** The ScalingActive condition to set. */
  readonly condition: ConditionUpdate;
  readonly events: readonly HpaEvent[];
  /** Set when at least one metric failed; with replicas >= 0 the sync still scales. */
  readonly error?: string;
}

/**
 * computeReplicasForMetrics: the highest proposal over all metrics. Failed
 * metrics block the sync when all fail, or when the others would scale below
 * the current count (a metric that cannot be read might be the one holding
 * the scale up); a scale-up, or holding steady, still goes ahead on the
 * metrics that work, and the first failure is reported.
 */
export function computeReplicasForMetrics(ctx: MetricContext, metricSpecs: readonly MetricSpec[], selector: string | undefined): MetricsOutcome {
  if (selector === '') {
    return {
      replicas: -1,
      metricName: '',
      statuses: [],
      condition: {
        type: 'ScalingActive',
        status: 'False',
        reason: ScalingActiveReason.InvalidSelector,
        message: ConditionMessage.missingSelector,
      },
      events: [{ type: 'Warning', reason: 'SelectorRequired', message: 'selector is required' }],
      error: 'selector is required',
    };
  }
  const statuses: MetricStatus[] = [];
  const events: HpaEvent[] = [];
  let replicas = 0;
  let metricName = '';
  let invalidMetricsCount = 0;
  let invalidMetricError: string | undefined;
  let invalidMetricCondition: ConditionUpdate | undefined;
  for (const spec of metricSpecs) {
    const result = computeReplicasForMetric(ctx, spec);
    if (!result.ok) {
      statuses.push({ type: '' });
      events.push(result.event);
      if (invalidMetricsCount <= 0) {
        invalidMetricCondition = result.condition;
        invalidMetricError = result.error;
      }
      invalidMetricsCount++;
      continue;
    }
    statuses.push(result.status);
    if (replicas === 0 || result.replicas > replicas) {
      replicas = result.replicas;
      metricName = result.metricName;
    }
  }
  const error = invalidMetricError === undefined ? undefined : `invalid metrics (${invalidMetricsCount} invalid out of ${metricSpecs.length}), first error is: ${invalidMetricError}`;
  if (invalidMetricCondition !== undefined && (invalidMetricsCount >= metricSpecs.length || (invalidMetricsCount > 0 && replicas < ctx.specReplicas))) {
    return { replicas: -1, metricName: '', statuses, condition: invalidMetricCondition, events, error: error ?? '' };
  }
  const condition: ConditionUpdate = {
    type: 'ScalingActive',
    status: 'True',
    reason: ScalingActiveReason.ValidMetricFound,
    message: ConditionMessage.validMetricFound(metricName),
  };
  return error === undefined ? { replicas, metricName, statuses, condition, events } : { replicas, metricName, statuses, condition, events, error };
}

/**
 * reconcileAutoscaler for one HPA at `now`. Returns the status the controller
 * would write, the events it would emit, and the history to pass to the next
 * sync.
 */
export function reconcile(input: ReconcileInput): ReconcileResult {
  const options: ControllerOptions = { ...DEFAULT_CONTROLLER_OPTIONS, ...input.options };
  const { now } = input;
  const spec = applySpecDefaults(input.hpa.spec);
  const namespace = input.hpa.namespace ?? 'default';
  const previous = input.hpa.status ?? {};
  const state = input.state ?? {};
  const events: HpaEvent[] = [];
  let conditions: HpaCondition[] = [...(previous.conditions ?? [])];
  const target = spec.scaleTargetRef;
  const reference = `${target?.kind ?? ''}/${namespace}/${target?.name ?? ''}`;

  const unchangedStatus = (currentReplicas: number, currentMetrics: readonly MetricStatus[]) => ({
    currentReplicas,
    desiredReplicas: previous.desiredReplicas ?? 0,
    currentMetrics,
    conditions,
    ...(previous.lastScaleTime === undefined ? {} : { lastScaleTime: previous.lastScaleTime }),
  });

  if ('error' in input.scale) {
    events.push({ type: 'Warning', reason: 'FailedGetScale', message: input.scale.error });
    conditions = setCondition(
      conditions,
      {
        type: 'AbleToScale',
        status: 'False',
        reason: 'FailedGetScale',
        message: ConditionMessage.failedGetScale(input.scale.error),
      },
      now,
    );
    return {
      status: { ...unchangedStatus(previous.currentReplicas ?? 0, previous.currentMetrics ?? []) },
      rescaled: false,
      state,
      events,
      error: `failed to query scale subresource for ${reference}: ${input.scale.error}`,
    };
  }
  const scale = input.scale;
  conditions = setCondition(conditions, { type: 'AbleToScale', status: 'True', reason: 'SucceededGetScale', message: ConditionMessage.succeededGetScale }, now);
  const currentReplicas = scale.specReplicas;
  // recordInitialRecommendation: the first sync remembers the current count,
  // so that a scale-down right after a controller start is still stabilized.
  let recommendations: readonly TimestampedRecommendation[] | undefined = state.recommendations ?? [{ recommendation: currentReplicas, timestamp: now }];
  let scaleUpEvents = state.scaleUpEvents ?? [];
  let scaleDownEvents = state.scaleDownEvents ?? [];
  const behavior: ResolvedBehavior | undefined = spec.behavior === undefined ? undefined : resolveBehavior(spec.behavior, Math.trunc(options.downscaleStabilizationWindow / 1000));

  const minReplicas = spec.minReplicas;
  let desiredReplicas = 0;
  let rescaleReason = '';
  let rescale = true;
  let metricStatuses: readonly MetricStatus[] = [];
  let metricDesiredReplicas: number | undefined;
  let metricName: string | undefined;
  let retErr: string | undefined;

  if (currentReplicas === 0 && minReplicas !== 0) {
    // A target scaled to zero by hand is left alone.
    desiredReplicas = 0;
    rescale = false;
    conditions = setCondition(
      conditions,
      {
        type: 'ScalingActive',
        status: 'False',
        reason: ScalingActiveReason.ScalingDisabled,
        message: ConditionMessage.scalingDisabled,
      },
      now,
    );
  } else if (currentReplicas > spec.maxReplicas) {
    rescaleReason = 'Current number of replicas above Spec.MaxReplicas';
    desiredReplicas = spec.maxReplicas;
  } else if (currentReplicas < minReplicas) {
    rescaleReason = 'Current number of replicas below Spec.MinReplicas';
    desiredReplicas = minReplicas;
  } else {
    const ctx: MetricContext = {
      pods: input.pods,
      now,
      cpuInitializationPeriod: options.cpuInitializationPeriod,
      delayOfInitialReadinessStatus: options.delayOfInitialReadinessStatus,
      podLevelResources: options.podLevelResources,
      tolerances: tolerancesForHpa(spec, options),
      metricsSource: input.metrics,
      namespace,
      specReplicas: scale.specReplicas,
      statusReplicas: scale.statusReplicas ?? scale.specReplicas,
    };
    const outcome = computeReplicasForMetrics(ctx, spec.metrics, scale.selector);
    events.push(...outcome.events);
    conditions = setCondition(conditions, outcome.condition, now);
    metricStatuses = outcome.statuses;
    if (outcome.error !== undefined && outcome.replicas === -1) {
      events.push({ type: 'Warning', reason: 'FailedComputeMetricsReplicas', message: outcome.error });
      return {
        status: unchangedStatus(currentReplicas, metricStatuses),
        rescaled: false,
        state: { recommendations, scaleUpEvents, scaleDownEvents },
        events,
        error: `failed to compute desired number of replicas based on listed metrics for ${reference}: ${outcome.error}`,
      };
    }
    // Some metrics failed but the others may scale up: scale, and report the error.
    retErr = outcome.error;
    metricDesiredReplicas = outcome.replicas;
    metricName = outcome.metricName;

    let rescaleMetric = '';
    if (metricDesiredReplicas > desiredReplicas) {
      desiredReplicas = metricDesiredReplicas;
      rescaleMetric = metricName;
    }
    if (desiredReplicas > currentReplicas) rescaleReason = `${rescaleMetric} above target`;
    if (desiredReplicas < currentReplicas) rescaleReason = 'All metrics below target';
    const normalized =
      behavior === undefined
        ? normalizeDesiredReplicas({
            currentReplicas,
            prenormalizedDesiredReplicas: desiredReplicas,
            minReplicas,
            maxReplicas: spec.maxReplicas,
            recommendations,
            conditions,
            downscaleStabilizationWindow: options.downscaleStabilizationWindow,
            now,
          })
        : normalizeDesiredReplicasWithBehaviors({
            behavior,
            currentReplicas,
            prenormalizedDesiredReplicas: desiredReplicas,
            minReplicas,
            maxReplicas: spec.maxReplicas,
            recommendations,
            scaleUpEvents,
            scaleDownEvents,
            conditions,
            now,
          });
    desiredReplicas = normalized.desiredReplicas;
    recommendations = normalized.recommendations;
    conditions = normalized.conditions;
    rescale = desiredReplicas !== currentReplicas;
  }

  const diagnostics = {
    ...(metricDesiredReplicas === undefined ? {} : { metricDesiredReplicas }),
    ...(metricName === undefined ? {} : { metricName }),
  };

  if (rescale) {
    if (input.scaleUpdateError !== undefined) {
      events.push({
        type: 'Warning',
        reason: 'FailedRescale',
        message: `New size: ${desiredReplicas}; reason: ${rescaleReason}; error: ${input.scaleUpdateError}`,
      });
      conditions = setCondition(
        conditions,
        {
          type: 'AbleToScale',
          status: 'False',
          reason: 'FailedUpdateScale',
          message: ConditionMessage.failedUpdateScale(input.scaleUpdateError),
        },
        now,
      );
      return {
        status: unchangedStatus(currentReplicas, metricStatuses),
        rescaled: false,
        rescaleReason,
        ...diagnostics,
        state: { recommendations, scaleUpEvents, scaleDownEvents },
        events,
        error: `failed to rescale ${reference}: ${input.scaleUpdateError}`,
      };
    }
    conditions = setCondition(
      conditions,
      {
        type: 'AbleToScale',
        status: 'True',
        reason: 'SucceededRescale',
        message: ConditionMessage.succeededRescale(desiredReplicas),
      },
      now,
    );
    events.push({
      type: 'Normal',
      reason: 'SuccessfulRescale',
      message: `New size: ${desiredReplicas}; reason: ${rescaleReason}`,
    });
    ({ scaleUpEvents, scaleDownEvents } = storeScaleEvent(behavior, { scaleUpEvents, scaleDownEvents }, currentReplicas, desiredReplicas, now));
  } else {
    desiredReplicas = currentReplicas;
  }

  const lastScaleTime = rescale ? now : previous.lastScaleTime;
  return {
    status: {
      currentReplicas,
      desiredReplicas,
      currentMetrics: metricStatuses,
      conditions,
      ...(lastScaleTime === undefined ? {} : { lastScaleTime }),
    },
    rescaled: rescale,
    ...(rescale ? { newReplicas: desiredReplicas, rescaleReason } : {}),
    ...diagnostics,
    state: { recommendations, scaleUpEvents, scaleDownEvents },
    events,
    ...(retErr === undefined ? {} : { error: retErr }),
  };
}
