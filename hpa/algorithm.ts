// The replica calculation for one metric, as kube-controller-manager's
// pkg/controller/podautoscaler/replica_calculator.go and metrics/utilization.go
// do it: usage ratio against the target, the tolerance band, the readiness and
// missing-metric rules for per-pod metrics, and ceil(ratio x pods).
//
// Every function here is pure: the pods, the metric samples and "now" are
// arguments, results are new values, inputs are never changed. Errors are
// thrown as HpaCalculationError with the controller's own texts, so that the
// conditions built from them read exactly like a real HPA's.

import { ceilToInt32, MAX_INT64, milliValue } from './quantity.js';
import { MAX_INT32, type PodInfo, type Timestamp } from './types.js';

/** A metric value the controller could not turn into a replica count. */
export class HpaCalculationError extends Error {
  override readonly name = 'HpaCalculationError';
}

/** metricsclient.PodMetric: a pod's value in milli-units and when it was sampled. */
export interface PodMetric {
  readonly value: bigint;
  readonly timestamp: Timestamp;
  /** The sample window in milliseconds. */
  readonly window: number;
}

/** metricsclient.PodMetricsInfo: pod name to sample. */
export type PodMetricsInfo = ReadonlyMap<string, PodMetric>;

/**
 * How far the usage ratio may stray from 1.0 before the replica count moves,
 * separately downwards and upwards (KEP-4951). The band is closed:
 * (1 - scaleDown) <= ratio <= (1 + scaleUp) means "no change".
 */
export interface Tolerances {
  readonly scaleDown: number;
  readonly scaleUp: number;
}

export function uniformTolerances(tolerance: number): Tolerances {
  return { scaleDown: tolerance, scaleUp: tolerance };
}

export function isWithinTolerance(tolerances: Tolerances, usageRatio: number): boolean {
  return 1.0 - tolerances.scaleDown <= usageRatio && usageRatio <= 1.0 + tolerances.scaleUp;
}

/** The readiness rules only matter for cpu; they need the clock and the two flags. */
export interface ReadinessConfig {
  readonly now: Timestamp;
  /** --horizontal-pod-autoscaler-cpu-initialization-period, ms. */
  readonly cpuInitializationPeriod: number;
  /** --horizontal-pod-autoscaler-initial-readiness-delay, ms. */
  readonly delayOfInitialReadinessStatus: number;
}

/** What the calculator needs besides the metric itself. */
export interface CalculatorContext extends ReadinessConfig {
  /** The pods the target's selector picks (the controller lists them from its informer). */
  readonly pods: readonly PodInfo[];
  readonly tolerances: Tolerances;
  /** The PodLevelResources feature gate. */
  readonly podLevelResources?: boolean;
}

export interface PodGroups {
  /** Pods counted at their measured value. */
  readonly readyPodCount: number;
  /** Pending pods, and for cpu pods not (yet) trusted: left out, or counted at 0 on a scale-up. */
  readonly unreadyPods: ReadonlySet<string>;
  /** Pods without a sample: counted at 100% on a scale-down and 0% on a scale-up. */
  readonly missingPods: ReadonlySet<string>;
  /** Pods being deleted or failed: left out entirely. */
  readonly ignoredPods: ReadonlySet<string>;
}

/**
 * groupPods. Only cpu gets the readiness treatment: during the cpu
 * initialization period a pod's sample is trusted only if the pod is ready and
 * a whole metric window has passed since its readiness last changed (a
 * starting JVM burns cpu that says nothing about load); after it, only a pod
 * that is unready and has never been ready (its readiness last changed within
 * the initial readiness delay of its start) is set aside. Other metrics count
 * running pods whatever their readiness.
 */
export function groupPods(pods: readonly PodInfo[], metrics: PodMetricsInfo, resource: string, config: ReadinessConfig): PodGroups {
  let readyPodCount = 0;
  const unreadyPods = new Set<string>();
  const missingPods = new Set<string>();
  const ignoredPods = new Set<string>();
  for (const pod of pods) {
    if (pod.deletionTimestamp !== undefined || pod.phase === 'Failed') {
      ignoredPods.add(pod.name);
      continue;
    }
    if (pod.phase === 'Pending') {
      unreadyPods.add(pod.name);
      continue;
    }
    const metric = metrics.get(pod.name);
    if (metric === undefined) {
      missingPods.add(pod.name);
      continue;
    }
    if (resource === 'cpu') {
      let unready: boolean;
      const condition = pod.ready;
      if (condition === undefined || pod.startTime === undefined) {
        unready = true;
      } else {
        const lastTransition = condition.lastTransitionTime ?? 0;
        if (pod.startTime + config.cpuInitializationPeriod > config.now) {
          unready = condition.status === 'False' || metric.timestamp < lastTransition + metric.window;
        } else {
          unready = condition.status === 'False' && pod.startTime + config.delayOfInitialReadinessStatus > lastTransition;
        }
      }
      if (unready) {
        unreadyPods.add(pod.name);
        continue;
      }
    }
    readyPodCount++;
  }
  return { readyPodCount, unreadyPods, missingPods, ignoredPods };
}

// resourcehelpers.IsSupportedPodLevelResource
const POD_LEVEL_RESOURCES = new Set(['cpu', 'memory']);

function hasPodLevelRequests(pod: PodInfo): boolean {
  const requests = pod.resources?.requests;
  if (requests === undefined) return false;
  return Object.keys(requests).some((name) => POD_LEVEL_RESOURCES.has(name));
}

/**
 * calculateRequests: each pod's request for the resource, in milli-units.
 * A named container (ContainerResource metrics) uses that container alone.
 * Otherwise pod-level requests win when the gate is on and the pod sets them,
 * and the fallback is the sum over containers and sidecars (init containers
 * with restartPolicy Always); one container without the request is an error,
 * because a utilization over a partial sum would be meaningless.
 */
export function calculateRequests(pods: readonly PodInfo[], container: string, resource: string, podLevelResources = false): Map<string, bigint> {
  const requests = new Map<string, bigint>();
  for (const pod of pods) {
    const usePodLevel = podLevelResources && container === '' && hasPodLevelRequests(pod);
    requests.set(pod.name, usePodLevel ? podLevelRequest(pod, resource) : requestFromContainers(pod, container, resource));
  }
  return requests;
}

// calculatePodLevelRequests over resourcehelpers.PodRequests, simplified: the
// pod-level value when the pod sets one for this resource, else the sum of the
// containers that set it (PodRequests also weighs regular init containers and
// pod overhead, which are left out here).
function podLevelRequest(pod: PodInfo, resource: string): bigint {
  const podLevel = pod.resources?.requests?.[resource];
  if (podLevel !== undefined && POD_LEVEL_RESOURCES.has(resource)) {
    return milliValue(podLevel, `pod ${pod.name} request for ${resource}`);
  }
  let sum = 0n;
  let found = false;
  for (const c of [...pod.containers, ...sidecars(pod)]) {
    const request = c.resources?.requests?.[resource];
    if (request === undefined) continue;
    found = true;
    sum += milliValue(request, `container ${c.name} request for ${resource}`);
  }
  if (!found) throw new HpaCalculationError(`missing pod-level request for ${resource} in Pod ${pod.name}`);
  return sum;
}

function sidecars(pod: PodInfo): PodInfo['containers'] {
  return (pod.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
}

// calculatePodRequestsFromContainers
function requestFromContainers(pod: PodInfo, container: string, resource: string): bigint {
  let request = 0n;
  for (const c of [...pod.containers, ...sidecars(pod)]) {
    if (container === '' || container === c.name) {
      const value = c.resources?.requests?.[resource];
      if (value === undefined) {
        throw new HpaCalculationError(`missing request for ${resource} in container ${c.name} of Pod ${pod.name}`);
      }
      request += milliValue(value, `container ${c.name} request for ${resource}`);
    }
    // container names are unique inside a pod
    if (container === c.name) return request;
  }
  if (container !== '') throw new HpaCalculationError(`container ${container} not found in Pod ${pod.name}`);
  return request;
}

// The percentage is reported as an int32; a value beyond it is held at the
// rail rather than wrapped.
function clampInt32(value: bigint): number {
  if (value > BigInt(MAX_INT32)) return MAX_INT32;
  if (value < BigInt(-MAX_INT32 - 1)) return -MAX_INT32 - 1;
  return Number(value);
}

export interface UtilizationRatio {
  readonly usageRatio: number;
  /** Percent of the summed requests, truncated to an integer like upstream's int64 division. */
  readonly utilization: number;
  /** Average raw value per pod, milli-units. */
  readonly rawAverageValue: bigint;
}

/**
 * metricsclient.GetResourceUtilizationRatio. Samples of pods without a known
 * request are skipped (they are pods the lister does not know). The ratio is
 * taken from the truncated integer percentage, as upstream does, which is why
 * 587.5% counts as 587%.
 */
export function getResourceUtilizationRatio(metrics: PodMetricsInfo, requests: ReadonlyMap<string, bigint>, targetUtilization: number): UtilizationRatio {
  let metricsTotal = 0n;
  let requestsTotal = 0n;
  let numEntries = 0n;
  for (const [podName, metric] of metrics) {
    const request = requests.get(podName);
    if (request === undefined) continue;
    metricsTotal += metric.value;
    requestsTotal += request;
    numEntries++;
  }
  if (requestsTotal === 0n) throw new HpaCalculationError('no metrics returned matched known pods');
  const utilization = clampInt32((metricsTotal * 100n) / requestsTotal);
  return {
    usageRatio: utilization / targetUtilization,
    utilization,
    rawAverageValue: metricsTotal / numEntries,
  };
}

/** metricsclient.GetMetricUsageRatio: the truncated average against the target. */
export function getMetricUsageRatio(metrics: PodMetricsInfo, targetUsage: bigint): { readonly usageRatio: number; readonly usage: bigint } {
  let metricsTotal = 0n;
  for (const metric of metrics.values()) metricsTotal += metric.value;
  const usage = metricsTotal / BigInt(metrics.size);
  return { usageRatio: Number(usage) / Number(targetUsage), usage };
}

function withoutPods(metrics: PodMetricsInfo, ...sets: ReadonlySet<string>[]): Map<string, PodMetric> {
  const kept = new Map(metrics);
  for (const set of sets) for (const name of set) kept.delete(name);
  return kept;
}

const FILLER: Omit<PodMetric, 'value'> = { timestamp: 0, window: 0 };

export interface ResourceReplicas {
  readonly replicas: number;
  readonly utilization: number;
  readonly rawUtilization: bigint;
}

/**
 * ReplicaCalculator.GetResourceReplicas: a Resource or ContainerResource
 * metric with an averageUtilization target.
 *
 * Without unready or missing pods: ceil(ratio x ready pods), unless the ratio
 * is within tolerance. Otherwise the ratio is recomputed with missing pods at
 * max(100%, target) of their request on a scale-down and at 0 on a scale-up,
 * and unready pods at 0 on a scale-up; the scale is left alone when that
 * second ratio is within tolerance or points the other way, or when counting
 * the extra pods would move the replica count against the direction of the
 * ratio.
 */
export function getResourceReplicas(
  ctx: CalculatorContext,
  args: {
    readonly currentReplicas: number;
    readonly targetUtilization: number;
    readonly resource: string;
    /** The container of a ContainerResource metric; '' or missing for a Resource metric. */
    readonly container?: string;
    readonly metrics: PodMetricsInfo;
  },
): ResourceReplicas {
  const { currentReplicas, targetUtilization, resource } = args;
  if (ctx.pods.length === 0) {
    throw new HpaCalculationError('no pods returned by selector while calculating replica count');
  }
  const groups = groupPods(ctx.pods, args.metrics, resource, ctx);
  const metrics = withoutPods(args.metrics, groups.ignoredPods, groups.unreadyPods);
  if (metrics.size === 0) {
    throw new HpaCalculationError('did not receive metrics for targeted pods (pods might be unready)');
  }
  const requests = calculateRequests(ctx.pods, args.container ?? '', resource, ctx.podLevelResources ?? false);
  const { usageRatio, utilization, rawAverageValue } = getResourceUtilizationRatio(metrics, requests, targetUtilization);
  const result = (replicas: number): ResourceReplicas => ({
    replicas,
    utilization,
    rawUtilization: rawAverageValue,
  });

  const scaleUpWithUnready = groups.unreadyPods.size > 0 && usageRatio > 1.0;
  if (!scaleUpWithUnready && groups.missingPods.size === 0) {
    if (isWithinTolerance(ctx.tolerances, usageRatio)) return result(currentReplicas);
    return result(ceilToInt32(usageRatio * groups.readyPodCount));
  }

  if (groups.missingPods.size > 0) {
    if (usageRatio < 1.0) {
      // A missing pod is assumed to use all of its request, or the target when
      // the target is above 100%, so that it never pulls the average down.
      const fallbackUtilization = BigInt(Math.max(100, targetUtilization));
      for (const podName of groups.missingPods) {
        const request = requests.get(podName) ?? 0n;
        metrics.set(podName, { ...FILLER, value: (request * fallbackUtilization) / 100n });
      }
    } else if (usageRatio > 1.0) {
      for (const podName of groups.missingPods) metrics.set(podName, { ...FILLER, value: 0n });
    }
  }
  if (scaleUpWithUnready) {
    for (const podName of groups.unreadyPods) metrics.set(podName, { ...FILLER, value: 0n });
  }

  const newUsageRatio = getResourceUtilizationRatio(metrics, requests, targetUtilization).usageRatio;
  if (isWithinTolerance(ctx.tolerances, newUsageRatio) || (usageRatio < 1.0 && newUsageRatio > 1.0) || (usageRatio > 1.0 && newUsageRatio < 1.0)) {
    return result(currentReplicas);
  }
  const newReplicas = ceilToInt32(newUsageRatio * metrics.size);
  if ((newUsageRatio < 1.0 && newReplicas > currentReplicas) || (newUsageRatio > 1.0 && newReplicas < currentReplicas)) {
    return result(currentReplicas);
  }
  return result(newReplicas);
}

export interface UsageReplicas {
  readonly replicas: number;
  /** The usage reported in status (milli-units): an average per pod or a total, by metric kind. */
  readonly usage: bigint;
}

/**
 * ReplicaCalculator.GetRawResourceReplicas: a Resource or ContainerResource
 * metric with an averageValue target. Same rules as a Pods metric, with the
 * cpu readiness rules when the resource is cpu.
 */
export function getRawResourceReplicas(
  ctx: CalculatorContext,
  args: {
    readonly currentReplicas: number;
    readonly targetUsage: bigint;
    readonly resource: string;
    readonly metrics: PodMetricsInfo;
  },
): UsageReplicas {
  return calcPlainMetricReplicas(ctx, args.metrics, args.currentReplicas, args.targetUsage, args.resource);
}

/** ReplicaCalculator.GetMetricReplicas: a Pods metric (averageValue per pod). */
export function getMetricReplicas(ctx: CalculatorContext, args: { readonly currentReplicas: number; readonly targetUsage: bigint; readonly metrics: PodMetricsInfo }): UsageReplicas {
  return calcPlainMetricReplicas(ctx, args.metrics, args.currentReplicas, args.targetUsage, '');
}

// calcPlainMetricReplicas: like GetResourceReplicas, with a missing pod taken
// at exactly the target on a scale-down.
function calcPlainMetricReplicas(ctx: CalculatorContext, fetched: PodMetricsInfo, currentReplicas: number, targetUsage: bigint, resource: string): UsageReplicas {
  if (ctx.pods.length === 0) {
    throw new HpaCalculationError('no pods returned by selector while calculating replica count');
  }
  const groups = groupPods(ctx.pods, fetched, resource, ctx);
  const metrics = withoutPods(fetched, groups.ignoredPods, groups.unreadyPods);
  if (metrics.size === 0) {
    throw new HpaCalculationError('did not receive metrics for targeted pods (pods might be unready)');
  }
  const { usageRatio, usage } = getMetricUsageRatio(metrics, targetUsage);

  const scaleUpWithUnready = groups.unreadyPods.size > 0 && usageRatio > 1.0;
  if (!scaleUpWithUnready && groups.missingPods.size === 0) {
    if (isWithinTolerance(ctx.tolerances, usageRatio)) return { replicas: currentReplicas, usage };
    return { replicas: ceilToInt32(usageRatio * groups.readyPodCount), usage };
  }

  if (groups.missingPods.size > 0) {
    if (usageRatio < 1.0) {
      for (const podName of groups.missingPods) metrics.set(podName, { ...FILLER, value: targetUsage });
    } else if (usageRatio > 1.0) {
      for (const podName of groups.missingPods) metrics.set(podName, { ...FILLER, value: 0n });
    }
  }
  if (scaleUpWithUnready) {
    for (const podName of groups.unreadyPods) metrics.set(podName, { ...FILLER, value: 0n });
  }

  const newUsageRatio = getMetricUsageRatio(metrics, targetUsage).usageRatio;
  if (isWithinTolerance(ctx.tolerances, newUsageRatio) || (usageRatio < 1.0 && newUsageRatio > 1.0) || (usageRatio > 1.0 && newUsageRatio < 1.0)) {
    return { replicas: currentReplicas, usage };
  }
  const newReplicas = ceilToInt32(newUsageRatio * metrics.size);
  if ((newUsageRatio < 1.0 && newReplicas > currentReplicas) || (newUsageRatio > 1.0 && newReplicas < currentReplicas)) {
    return { replicas: currentReplicas, usage };
  }
  return { replicas: newReplicas, usage };
}

/** getReadyPodsCount: running pods whose Ready condition is True. */
export function getReadyPodsCount(pods: readonly PodInfo[]): number {
  if (pods.length === 0) {
    throw new HpaCalculationError('no pods returned by selector while calculating replica count');
  }
  return pods.filter((p) => p.phase === 'Running' && p.ready?.status === 'True').length;
}

/**
 * getUsageRatioReplicaCount: ceil(ratio x ready pods) outside the tolerance
 * band. From zero replicas (HPAScaleToZero) neither the tolerance nor the pods
 * count: the metric alone decides between 0 and ceil(ratio).
 */
export function getUsageRatioReplicaCount(ctx: CalculatorContext, currentReplicas: number, usageRatio: number): number {
  if (currentReplicas !== 0) {
    if (isWithinTolerance(ctx.tolerances, usageRatio)) return currentReplicas;
    let readyPodCount: number;
    try {
      readyPodCount = getReadyPodsCount(ctx.pods);
    } catch (err) {
      throw new HpaCalculationError(`unable to calculate ready pods: ${(err as Error).message}`);
    }
    return ceilToInt32(usageRatio * readyPodCount);
  }
  return ceilToInt32(usageRatio);
}

/**
 * ReplicaCalculator.GetObjectMetricReplicas: an Object metric with a Value
 * target, ceil(value / target x ready pods). Only ready pods count: pods that
 * are still starting do not dilute the ratio.
 */
export function getObjectMetricReplicas(ctx: CalculatorContext, args: { readonly currentReplicas: number; readonly targetUsage: bigint; readonly usage: bigint }): UsageReplicas {
  const usageRatio = Number(args.usage) / Number(args.targetUsage);
  return { replicas: getUsageRatioReplicaCount(ctx, args.currentReplicas, usageRatio), usage: args.usage };
}

/**
 * ReplicaCalculator.GetObjectPerPodMetricReplicas: an Object metric with an
 * AverageValue target, ceil(value / target), judged against the tolerance as
 * value / (target x status.replicas). The usage reported is the value per
 * replica, rounded up.
 */
export function getObjectPerPodMetricReplicas(tolerances: Tolerances, args: { readonly statusReplicas: number; readonly targetAverageUsage: bigint; readonly usage: bigint }): UsageReplicas {
  return perPodReplicas(tolerances, args.statusReplicas, args.targetAverageUsage, args.usage);
}

function perPodReplicas(tolerances: Tolerances, statusReplicas: number, target: bigint, usage: bigint): UsageReplicas {
  let replicas = statusReplicas;
  const usageRatio = Number(usage) / (Number(target) * replicas);
  if (!isWithinTolerance(tolerances, usageRatio)) {
    replicas = ceilToInt32(Number(usage) / Number(target));
  }
  // Go divides by zero replicas into an undefined conversion; the total is
  // reported instead.
  const perReplica = statusReplicas === 0 || usage >= MAX_INT64 ? usage : BigInt(Math.ceil(Number(usage) / statusReplicas));
  return { replicas, usage: perReplica };
}

/** Sum of external values, held at MaxInt64 as the newer upstream code does. */
function sumCapped(values: readonly bigint[]): bigint {
  let total = 0n;
  for (const v of values) {
    total += v;
    if (total > MAX_INT64) return MAX_INT64;
  }
  return total;
}

/**
 * ReplicaCalculator.GetExternalMetricReplicas: an External metric with a Value
 * target. All series the selector matches are summed; then as an Object Value
 * metric (ready pods, tolerance, scale from zero).
 */
export function getExternalMetricReplicas(ctx: CalculatorContext, args: { readonly currentReplicas: number; readonly targetUsage: bigint; readonly values: readonly bigint[] }): UsageReplicas {
  const usage = sumCapped(args.values);
  const usageRatio = Number(usage) / Number(args.targetUsage);
  return { replicas: getUsageRatioReplicaCount(ctx, args.currentReplicas, usageRatio), usage };
}

/**
 * ReplicaCalculator.GetExternalPerPodMetricReplicas: an External metric with
 * an AverageValue target, ceil(sum / target), judged against the tolerance as
 * sum / (target x status.replicas).
 */
export function getExternalPerPodMetricReplicas(
  tolerances: Tolerances,
  args: { readonly statusReplicas: number; readonly targetUsagePerPod: bigint; readonly values: readonly bigint[] },
): UsageReplicas {
  return perPodReplicas(tolerances, args.statusReplicas, args.targetUsagePerPod, sumCapped(args.values));
}
