// The three HPA status conditions with the controller's reasons and messages
// (pkg/controller/podautoscaler/horizontal.go), and setConditionInList.
//
// AbleToScale no longer has the BackoffBoth / BackoffDownscale /
// BackoffUpscale reasons: they belonged to the upscale/downscale forbidden
// windows, which the stabilization window replaced (Kubernetes 1.12). Its
// reasons now are about getting and updating the scale, and about
// stabilization.

import type { ConditionStatus, ConditionType, HpaCondition, Timestamp } from './types.js';

export const AbleToScaleReason = {
  SucceededGetScale: 'SucceededGetScale',
  FailedGetScale: 'FailedGetScale',
  SucceededRescale: 'SucceededRescale',
  FailedUpdateScale: 'FailedUpdateScale',
  ReadyForNewScale: 'ReadyForNewScale',
  ScaleUpStabilized: 'ScaleUpStabilized',
  ScaleDownStabilized: 'ScaleDownStabilized',
} as const;

export const ScalingActiveReason = {
  ValidMetricFound: 'ValidMetricFound',
  ScalingDisabled: 'ScalingDisabled',
  InvalidSelector: 'InvalidSelector',
  AmbiguousSelector: 'AmbiguousSelector',
  FailedGetResourceMetric: 'FailedGetResourceMetric',
  FailedGetContainerResourceMetric: 'FailedGetContainerResourceMetric',
  FailedGetPodsMetric: 'FailedGetPodsMetric',
  FailedGetObjectMetric: 'FailedGetObjectMetric',
  FailedGetExternalMetric: 'FailedGetExternalMetric',
  InvalidMetricSourceType: 'InvalidMetricSourceType',
} as const;

export const ScalingLimitedReason = {
  DesiredWithinRange: 'DesiredWithinRange',
  TooFewReplicas: 'TooFewReplicas',
  TooManyReplicas: 'TooManyReplicas',
  ScaleUpLimit: 'ScaleUpLimit',
  ScaleDownLimit: 'ScaleDownLimit',
} as const;

/** Fixed messages, verbatim from horizontal.go. */
export const ConditionMessage = {
  succeededGetScale: "the HPA controller was able to get the target's current scale",
  failedGetScale: (err: string) => `the HPA controller was unable to get the target's current scale: ${err}`,
  succeededRescale: (replicas: number) => `the HPA controller was able to update the target scale to ${replicas}`,
  failedUpdateScale: (err: string) => `the HPA controller was unable to update the target scale: ${err}`,
  readyForNewScale: 'recommended size matches current size',
  scaleUpStabilized: 'recent recommendations were lower than current one, applying the lowest recent recommendation',
  scaleDownStabilized: 'recent recommendations were higher than current one, applying the highest recent recommendation',
  validMetricFound: (metric: string) => `the HPA was able to successfully calculate a replica count from ${metric}`,
  scalingDisabled: 'scaling is disabled since the replica count of the target is zero',
  missingSelector: "the HPA target's scale is missing a selector",
  unableToCompute: (err: string) => `the HPA was unable to compute the replica count: ${err}`,
  desiredWithinRange: 'the desired count is within the acceptable range',
  tooFewReplicas: 'the desired replica count is less than the minimum replica count',
  tooManyReplicas: 'the desired replica count is more than the maximum replica count',
  scaleUpLimit: 'the desired replica count is increasing faster than the maximum scale rate',
  scaleDownLimit: 'the desired replica count is decreasing faster than the maximum scale rate',
} as const;

/** A condition to set, before it gets its transition time. */
export interface ConditionUpdate {
  readonly type: ConditionType;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

/**
 * setConditionInList: replaces the condition of that type in place, or appends
 * it. lastTransitionTime moves to `now` only when the status changes (a new
 * condition counts as a change), so reasons can churn without resetting it.
 */
export function setCondition(conditions: readonly HpaCondition[], update: ConditionUpdate, now: Timestamp): HpaCondition[] {
  const index = conditions.findIndex((c) => c.type === update.type);
  const existing = index >= 0 ? conditions[index] : undefined;
  const lastTransitionTime = existing?.status === update.status ? existing.lastTransitionTime : now;
  const next: HpaCondition = { ...update, lastTransitionTime };
  if (index < 0) return [...conditions, next];
  const copy = [...conditions];
  copy[index] = next;
  return copy;
}

/** The condition with the given type, if set. */
export function getCondition(conditions: readonly HpaCondition[], type: ConditionType): HpaCondition | undefined {
  return conditions.find((c) => c.type === type);
}

/** getUnableComputeReplicaCountCondition: ScalingActive False with the failing metric's reason. */
export function unableToComputeCondition(reason: string, err: string): ConditionUpdate {
  return { type: 'ScalingActive', status: 'False', reason, message: ConditionMessage.unableToCompute(err) };
}
