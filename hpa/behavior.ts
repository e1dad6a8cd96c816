// What happens to the metrics' proposal before it reaches the scale: the
// stabilization window over past recommendations, the scaling policies over
// past scale events, and the min/max bounds, as horizontal.go does it
// (normalizeDesiredReplicas, normalizeDesiredReplicasWithBehaviors,
// stabilizeRecommendation[WithBehaviors], convertDesiredReplicasWith{Rules,
// BehaviorRate}, calculateScale{Up,Down}Limit*, storeScaleEvent) and with the
// defaults of pkg/apis/autoscaling/v2/defaults.go.
//
// The controller keeps recommendations and scale events in memory per HPA.
// Here they are passed in and the new lists are returned: nothing is mutated,
// and "now" is an argument.

import { ConditionMessage, ScalingLimitedReason, setCondition, type ConditionUpdate } from './conditions.js';
import type { QuantityJson } from '../k8s/quantity.js';
import { ceilToInt32, truncToInt32 } from './quantity.js';
import { MAX_INT32, type HorizontalPodAutoscalerBehavior, type HPAScalingPolicy, type HPAScalingRules, type HpaCondition, type ScalingPolicySelect, type Timestamp } from './types.js';

const MIN_INT32 = -MAX_INT32 - 1;

/** A replica count the metrics asked for, and when (the stabilization window looks back over these). */
export interface TimestampedRecommendation {
  readonly recommendation: number;
  readonly timestamp: Timestamp;
}

/**
 * A scale change the controller made, as an absolute count (scale-ups and
 * scale-downs are kept in separate lists). `outdated` marks an event older
 * than every policy period, whose slot the next event reuses.
 */
export interface TimestampedScaleEvent {
  readonly replicaChange: number;
  readonly timestamp: Timestamp;
  readonly outdated: boolean;
}

/** Scaling rules with every default filled in. */
export interface ResolvedScalingRules {
  readonly stabilizationWindowSeconds: number;
  readonly selectPolicy: ScalingPolicySelect;
  readonly policies: readonly HPAScalingPolicy[];
  readonly tolerance?: QuantityJson;
}

export interface ResolvedBehavior {
  readonly scaleUp: ResolvedScalingRules;
  readonly scaleDown: ResolvedScalingRules;
}

/** The scale-up default: the larger of +4 pods or +100% per 15 s, no stabilization. */
export const DEFAULT_SCALE_UP_RULES: ResolvedScalingRules = Object.freeze({
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: Object.freeze([Object.freeze({ type: 'Pods', value: 4, periodSeconds: 15 }), Object.freeze({ type: 'Percent', value: 100, periodSeconds: 15 })]),
} as const);

/**
 * The scale-down default: -100% per 15 s. Its stabilization window has no
 * API default; the controller fills in its --horizontal-pod-autoscaler-
 * downscale-stabilization flag (300 s unless set).
 */
export const DEFAULT_SCALE_DOWN_POLICIES: readonly HPAScalingPolicy[] = Object.freeze([Object.freeze({ type: 'Percent', value: 100, periodSeconds: 15 } as const)]);

/**
 * GenerateHPAScaleUpRules / GenerateHPAScaleDownRules plus the controller's
 * maybeInitScaleDownStabilizationWindow: every unset field of the given rules
 * takes its default, field by field.
 */
export function resolveBehavior(behavior: HorizontalPodAutoscalerBehavior, downscaleStabilizationWindowSeconds = 300): ResolvedBehavior {
  return {
    scaleUp: resolveRules(behavior.scaleUp, DEFAULT_SCALE_UP_RULES),
    scaleDown: resolveRules(behavior.scaleDown, {
      stabilizationWindowSeconds: downscaleStabilizationWindowSeconds,
      selectPolicy: 'Max',
      policies: DEFAULT_SCALE_DOWN_POLICIES,
    }),
  };
}

function resolveRules(from: HPAScalingRules | undefined, defaults: ResolvedScalingRules): ResolvedScalingRules {
  if (from === undefined) return defaults;
  const resolved: ResolvedScalingRules = {
    stabilizationWindowSeconds: from.stabilizationWindowSeconds ?? defaults.stabilizationWindowSeconds,
    selectPolicy: from.selectPolicy ?? defaults.selectPolicy,
    policies: from.policies ?? defaults.policies,
  };
  return from.tolerance === undefined ? resolved : { ...resolved, tolerance: from.tolerance };
}

/** getReplicasChangePerPeriod: replicas added (or removed) by events strictly newer than now - period. */
export function getReplicasChangePerPeriod(periodSeconds: number, scaleEvents: readonly TimestampedScaleEvent[], now: Timestamp): number {
  const cutoff = now - periodSeconds * 1000;
  let replicas = 0;
  for (const event of scaleEvents) {
    if (event.timestamp > cutoff) replicas += event.replicaChange;
  }
  return replicas;
}

/** The replica count at the start of a policy's period: current, minus what was added, plus what was removed within it. */
function replicasAtPeriodStart(
  currentReplicas: number,
  periodSeconds: number,
  scaleUpEvents: readonly TimestampedScaleEvent[],
  scaleDownEvents: readonly TimestampedScaleEvent[],
  now: Timestamp,
): number {
  return currentReplicas - getReplicasChangePerPeriod(periodSeconds, scaleUpEvents, now) + getReplicasChangePerPeriod(periodSeconds, scaleDownEvents, now);
}

/**
 * calculateScaleUpLimitWithScalingRules: the most replicas the policies allow.
 * Each policy is measured from the replica count at the start of its period
 * (current, minus what was added, plus what was removed within it); Percent
 * rounds up so that a small percentage can still add a pod. Max picks the
 * most permissive policy, Min the most restrictive, Disabled forbids scaling
 * up.
 */
export function calculateScaleUpLimitWithScalingRules(
  currentReplicas: number,
  scaleUpEvents: readonly TimestampedScaleEvent[],
  scaleDownEvents: readonly TimestampedScaleEvent[],
  rules: ResolvedScalingRules,
  now: Timestamp,
): number {
  if (rules.selectPolicy === 'Disabled') return currentReplicas;
  const pickMin = rules.selectPolicy === 'Min';
  let result = pickMin ? MAX_INT32 : MIN_INT32;
  // Declared outside the loop as upstream does: a policy of an unknown type
  // repeats the previous proposal.
  let proposed = 0;
  for (const policy of rules.policies) {
    const periodStartReplicas = replicasAtPeriodStart(currentReplicas, policy.periodSeconds, scaleUpEvents, scaleDownEvents, now);
    if (policy.type === 'Pods') {
      proposed = periodStartReplicas + policy.value;
    } else {
      proposed = ceilToInt32(periodStartReplicas * (1 + policy.value / 100));
    }
    result = pickMin ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return result;
}

/**
 * calculateScaleDownLimitWithBehaviors: the fewest replicas the policies
 * allow. Percent truncates (int32 of a float), so 10% of 45 removes 4. Max
 * picks the policy removing the most, Min the one removing the least.
 */
export function calculateScaleDownLimitWithBehaviors(
  currentReplicas: number,
  scaleUpEvents: readonly TimestampedScaleEvent[],
  scaleDownEvents: readonly TimestampedScaleEvent[],
  rules: ResolvedScalingRules,
  now: Timestamp,
): number {
  if (rules.selectPolicy === 'Disabled') return currentReplicas;
  const pickMin = rules.selectPolicy === 'Min';
  let result = pickMin ? MIN_INT32 : MAX_INT32;
  let proposed = 0;
  for (const policy of rules.policies) {
    const periodStartReplicas = replicasAtPeriodStart(currentReplicas, policy.periodSeconds, scaleUpEvents, scaleDownEvents, now);
    if (policy.type === 'Pods') {
      proposed = periodStartReplicas - policy.value;
    } else {
      proposed = truncToInt32(periodStartReplicas * (1 - policy.value / 100));
    }
    result = pickMin ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return result;
}

/** The outcome of a normalization step: a replica count and the ScalingLimited (or AbleToScale) reason. */
export interface LimitedReplicas {
  readonly replicas: number;
  readonly reason: string;
  readonly message: string;
}

/** Everything the behavior-based normalization looks at (horizontal.go NormalizationArg). */
export interface NormalizationArg {
  readonly scaleUpBehavior: ResolvedScalingRules;
  readonly scaleDownBehavior: ResolvedScalingRules;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly currentReplicas: number;
  readonly desiredReplicas: number;
}

/**
 * convertDesiredReplicasWithBehaviorRate: clamps the stabilized
 * recommendation to the policies' rate and to min/max. A limit that has
 * already been used up by recent events holds the scale where it is rather
 * than reversing it.
 */
export function convertDesiredReplicasWithBehaviorRate(
  args: NormalizationArg,
  scaleUpEvents: readonly TimestampedScaleEvent[],
  scaleDownEvents: readonly TimestampedScaleEvent[],
  now: Timestamp,
): LimitedReplicas {
  if (args.desiredReplicas > args.currentReplicas) {
    let scaleUpLimit = calculateScaleUpLimitWithScalingRules(args.currentReplicas, scaleUpEvents, scaleDownEvents, args.scaleUpBehavior, now);
    if (scaleUpLimit < args.currentReplicas) scaleUpLimit = args.currentReplicas;
    let maximumAllowedReplicas = args.maxReplicas;
    let reason: string;
    let message: string;
    if (maximumAllowedReplicas > scaleUpLimit) {
      maximumAllowedReplicas = scaleUpLimit;
      reason = ScalingLimitedReason.ScaleUpLimit;
      message = ConditionMessage.scaleUpLimit;
    } else {
      reason = ScalingLimitedReason.TooManyReplicas;
      message = ConditionMessage.tooManyReplicas;
    }
    if (args.desiredReplicas > maximumAllowedReplicas) return { replicas: maximumAllowedReplicas, reason, message };
  } else if (args.desiredReplicas < args.currentReplicas) {
    let scaleDownLimit = calculateScaleDownLimitWithBehaviors(args.currentReplicas, scaleUpEvents, scaleDownEvents, args.scaleDownBehavior, now);
    if (scaleDownLimit > args.currentReplicas) scaleDownLimit = args.currentReplicas;
    let minimumAllowedReplicas = args.minReplicas;
    let reason: string;
    let message: string;
    if (minimumAllowedReplicas < scaleDownLimit) {
      minimumAllowedReplicas = scaleDownLimit;
      reason = ScalingLimitedReason.ScaleDownLimit;
      message = ConditionMessage.scaleDownLimit;
    } else {
      reason = ScalingLimitedReason.TooFewReplicas;
      message = ConditionMessage.tooFewReplicas;
    }
    if (args.desiredReplicas < minimumAllowedReplicas) return { replicas: minimumAllowedReplicas, reason, message };
  }
  return {
    replicas: args.desiredReplicas,
    reason: ScalingLimitedReason.DesiredWithinRange,
    message: ConditionMessage.desiredWithinRange,
  };
}

// scaleUpLimitFactor and scaleUpLimitMinimum of the behavior-less path.
const SCALE_UP_LIMIT_FACTOR = 2.0;
const SCALE_UP_LIMIT_MINIMUM = 4.0;

/** calculateScaleUpLimit: without behavior, at most double, or 4, per sync. */
export function calculateScaleUpLimit(currentReplicas: number): number {
  return truncToInt32(Math.max(SCALE_UP_LIMIT_FACTOR * currentReplicas, SCALE_UP_LIMIT_MINIMUM));
}

/**
 * convertDesiredReplicasWithRules, the path of an HPA without behavior:
 * min/max and the per-sync scale-up limit; scale-down is only held back by
 * the stabilization window.
 */
export function convertDesiredReplicasWithRules(currentReplicas: number, desiredReplicas: number, hpaMinReplicas: number, hpaMaxReplicas: number): LimitedReplicas {
  const scaleUpLimit = calculateScaleUpLimit(currentReplicas);
  let maximumAllowedReplicas: number;
  let reason: string;
  let message: string;
  if (hpaMaxReplicas > scaleUpLimit) {
    maximumAllowedReplicas = scaleUpLimit;
    reason = ScalingLimitedReason.ScaleUpLimit;
    message = ConditionMessage.scaleUpLimit;
  } else {
    maximumAllowedReplicas = hpaMaxReplicas;
    reason = ScalingLimitedReason.TooManyReplicas;
    message = ConditionMessage.tooManyReplicas;
  }
  if (desiredReplicas < hpaMinReplicas) {
    return {
      replicas: hpaMinReplicas,
      reason: ScalingLimitedReason.TooFewReplicas,
      message: ConditionMessage.tooFewReplicas,
    };
  }
  if (desiredReplicas > maximumAllowedReplicas) return { replicas: maximumAllowedReplicas, reason, message };
  return {
    replicas: desiredReplicas,
    reason: ScalingLimitedReason.DesiredWithinRange,
    message: ConditionMessage.desiredWithinRange,
  };
}

export interface Stabilized {
  readonly recommendation: number;
  /** The recommendation list to keep for the next sync. */
  readonly recommendations: readonly TimestampedRecommendation[];
}

/**
 * stabilizeRecommendation (no behavior): the highest recommendation of the
 * downscale window, this one included. This one is recorded in the slot of a
 * sample older than the window (the last such), else appended, so the list
 * does not grow without bound.
 */
export function stabilizeRecommendation(
  recommendations: readonly TimestampedRecommendation[] | undefined,
  prenormalizedDesiredReplicas: number,
  now: Timestamp,
  downscaleStabilizationWindow: number,
): Stabilized {
  let maxRecommendation = prenormalizedDesiredReplicas;
  let oldSampleIndex = -1;
  const cutoff = now - downscaleStabilizationWindow;
  const list = recommendations ?? [];
  list.forEach((rec, i) => {
    if (rec.timestamp < cutoff) {
      oldSampleIndex = i;
    } else if (rec.recommendation > maxRecommendation) {
      maxRecommendation = rec.recommendation;
    }
  });
  return {
    recommendation: maxRecommendation,
    recommendations: record(list, oldSampleIndex, { recommendation: prenormalizedDesiredReplicas, timestamp: now }),
  };
}

function record(list: readonly TimestampedRecommendation[], oldSampleIndex: number, rec: TimestampedRecommendation): TimestampedRecommendation[] {
  const next = [...list];
  if (oldSampleIndex >= 0) next[oldSampleIndex] = rec;
  else next.push(rec);
  return next;
}

export interface StabilizedWithReason extends Stabilized {
  readonly reason: string;
  readonly message: string;
}

/**
 * stabilizeRecommendationWithBehaviors: the recommendation is held between
 * the lowest recommendation of the scale-up window (so a scale-up must have
 * been asked for throughout it) and the highest of the scale-down window (so
 * must a scale-down), starting from the current count. A sample is only reused
 * when it is older than both windows.
 */
export function stabilizeRecommendationWithBehaviors(args: NormalizationArg, recommendations: readonly TimestampedRecommendation[] | undefined, now: Timestamp): StabilizedWithReason {
  let upRecommendation = args.desiredReplicas;
  const upCutoff = now - args.scaleUpBehavior.stabilizationWindowSeconds * 1000;
  let downRecommendation = args.desiredReplicas;
  const downCutoff = now - args.scaleDownBehavior.stabilizationWindowSeconds * 1000;
  let oldSampleIndex = -1;
  const list = recommendations ?? [];
  list.forEach((rec, i) => {
    if (rec.timestamp > upCutoff) upRecommendation = Math.min(rec.recommendation, upRecommendation);
    if (rec.timestamp > downCutoff) downRecommendation = Math.max(rec.recommendation, downRecommendation);
    if (rec.timestamp < upCutoff && rec.timestamp < downCutoff) oldSampleIndex = i;
  });

  let recommendation = args.currentReplicas;
  if (recommendation < upRecommendation) recommendation = upRecommendation;
  if (recommendation > downRecommendation) recommendation = downRecommendation;

  const scalingUp = args.desiredReplicas >= args.currentReplicas;
  return {
    recommendation,
    recommendations: record(list, oldSampleIndex, { recommendation: args.desiredReplicas, timestamp: now }),
    reason: scalingUp ? 'ScaleUpStabilized' : 'ScaleDownStabilized',
    message: scalingUp ? ConditionMessage.scaleUpStabilized : ConditionMessage.scaleDownStabilized,
  };
}

function longestPolicyPeriod(rules: ResolvedScalingRules): number {
  let longest = 0;
  for (const policy of rules.policies) longest = Math.max(longest, policy.periodSeconds);
  return longest;
}

// markScaleEventsOutdated, then the slot of the last outdated event takes the
// new one. Outdated flags stick.
function storeInList(events: readonly TimestampedScaleEvent[], rules: ResolvedScalingRules, replicaChange: number, now: Timestamp): TimestampedScaleEvent[] {
  const cutoff = now - longestPolicyPeriod(rules) * 1000;
  const marked = events.map((e) => (e.timestamp < cutoff && !e.outdated ? { ...e, outdated: true } : e));
  const newEvent: TimestampedScaleEvent = { replicaChange, timestamp: now, outdated: false };
  let oldSampleIndex = -1;
  marked.forEach((e, i) => {
    if (e.outdated) oldSampleIndex = i;
  });
  if (oldSampleIndex >= 0) marked[oldSampleIndex] = newEvent;
  else marked.push(newEvent);
  return marked;
}

export interface ScaleEvents {
  readonly scaleUpEvents: readonly TimestampedScaleEvent[];
  readonly scaleDownEvents: readonly TimestampedScaleEvent[];
}

/**
 * storeScaleEvent: records a rescale the controller made. Without behavior no
 * events are kept (the behavior-less path never reads them).
 */
export function storeScaleEvent(behavior: ResolvedBehavior | undefined, events: ScaleEvents, prevReplicas: number, newReplicas: number, now: Timestamp): ScaleEvents {
  if (behavior === undefined) return events;
  if (newReplicas > prevReplicas) {
    return {
      scaleUpEvents: storeInList(events.scaleUpEvents, behavior.scaleUp, newReplicas - prevReplicas, now),
      scaleDownEvents: events.scaleDownEvents,
    };
  }
  return {
    scaleUpEvents: events.scaleUpEvents,
    scaleDownEvents: storeInList(events.scaleDownEvents, behavior.scaleDown, prevReplicas - newReplicas, now),
  };
}

export interface Normalized {
  readonly desiredReplicas: number;
  readonly recommendations: readonly TimestampedRecommendation[];
  readonly conditions: HpaCondition[];
}

/**
 * normalizeDesiredReplicas, for an HPA without behavior: downscale
 * stabilization, then min/max and the per-sync scale-up limit. Sets
 * AbleToScale (ScaleDownStabilized or ReadyForNewScale) and ScalingLimited.
 */
export function normalizeDesiredReplicas(args: {
  readonly currentReplicas: number;
  readonly prenormalizedDesiredReplicas: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly recommendations: readonly TimestampedRecommendation[] | undefined;
  readonly conditions: readonly HpaCondition[];
  readonly downscaleStabilizationWindow: number;
  readonly now: Timestamp;
}): Normalized {
  const stabilized = stabilizeRecommendation(args.recommendations, args.prenormalizedDesiredReplicas, args.now, args.downscaleStabilizationWindow);
  const ableToScale: ConditionUpdate =
    stabilized.recommendation !== args.prenormalizedDesiredReplicas
      ? { type: 'AbleToScale', status: 'True', reason: 'ScaleDownStabilized', message: ConditionMessage.scaleDownStabilized }
      : { type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale', message: ConditionMessage.readyForNewScale };
  let conditions = setCondition(args.conditions, ableToScale, args.now);
  const limited = convertDesiredReplicasWithRules(args.currentReplicas, stabilized.recommendation, args.minReplicas, args.maxReplicas);
  conditions = setCondition(
    conditions,
    {
      type: 'ScalingLimited',
      status: limited.replicas === stabilized.recommendation ? 'False' : 'True',
      reason: limited.reason,
      message: limited.message,
    },
    args.now,
  );
  return { desiredReplicas: limited.replicas, recommendations: stabilized.recommendations, conditions };
}

/**
 * normalizeDesiredReplicasWithBehaviors: stabilization over both windows, then
 * the scaling policies and min/max. Sets AbleToScale (ScaleUpStabilized,
 * ScaleDownStabilized or ReadyForNewScale) and ScalingLimited.
 */
export function normalizeDesiredReplicasWithBehaviors(args: {
  readonly behavior: ResolvedBehavior;
  readonly currentReplicas: number;
  readonly prenormalizedDesiredReplicas: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly recommendations: readonly TimestampedRecommendation[] | undefined;
  readonly scaleUpEvents: readonly TimestampedScaleEvent[];
  readonly scaleDownEvents: readonly TimestampedScaleEvent[];
  readonly conditions: readonly HpaCondition[];
  readonly now: Timestamp;
}): Normalized {
  const arg: NormalizationArg = {
    scaleUpBehavior: args.behavior.scaleUp,
    scaleDownBehavior: args.behavior.scaleDown,
    minReplicas: args.minReplicas,
    maxReplicas: args.maxReplicas,
    currentReplicas: args.currentReplicas,
    desiredReplicas: args.prenormalizedDesiredReplicas,
  };
  const stabilized = stabilizeRecommendationWithBehaviors(arg, args.recommendations, args.now);
  const ableToScale: ConditionUpdate =
    stabilized.recommendation !== args.prenormalizedDesiredReplicas
      ? { type: 'AbleToScale', status: 'True', reason: stabilized.reason, message: stabilized.message }
      : { type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale', message: ConditionMessage.readyForNewScale };
  let conditions = setCondition(args.conditions, ableToScale, args.now);
  const limited = convertDesiredReplicasWithBehaviorRate({ ...arg, desiredReplicas: stabilized.recommendation }, args.scaleUpEvents, args.scaleDownEvents, args.now);
  conditions = setCondition(
    conditions,
    {
      type: 'ScalingLimited',
      status: limited.replicas === stabilized.recommendation ? 'False' : 'True',
      reason: limited.reason,
      message: limited.message,
    },
    args.now,
  );
  return { desiredReplicas: limited.replicas, recommendations: stabilized.recommendations, conditions };
}
