// What the controller's metrics client (pkg/controller/podautoscaler/metrics/
// client.go) makes of the three metrics APIs' answers: per-pod samples in
// milli-units, or the error texts the client raises. Thrown errors carry the
// client's message; the caller wraps them as the replica calculator does.

import type { PodMetric, PodMetricsInfo } from './algorithm.js';
import { HpaCalculationError } from './algorithm.js';
import { milliValue } from './quantity.js';
import type { ExternalMetricValue, ObjectMetricValue, PodMetricsItem, PodsMetricValue, Timestamp } from './types.js';

// metricServerDefaultMetricWindow: custom metrics without windowSeconds.
const DEFAULT_METRIC_WINDOW_MS = 60_000;

export interface FetchedPodMetrics {
  readonly metrics: PodMetricsInfo;
  /** The first item's timestamp, which upstream reports for the whole list. */
  readonly timestamp: Timestamp;
}

/**
 * resourceMetricsClient.GetResourceMetric. A pod's value is the sum over its
 * containers; a pod with no containers, or with a container lacking the
 * resource, has no value (and so counts as missing). With a container name,
 * that container's value alone, and a pod whose metrics do not list the
 * container at all fails the whole metric.
 */
export function resourceMetricsInfo(items: readonly PodMetricsItem[], resource: string, container: string, namespace: string): FetchedPodMetrics {
  const first = items[0];
  if (first === undefined) throw new HpaCalculationError('no metrics returned from resource metrics API');
  const metrics = new Map<string, PodMetric>();
  for (const item of items) {
    if (container !== '') {
      const c = item.containers.find((x) => x.name === container);
      if (c === undefined) {
        throw new HpaCalculationError(`failed to get container metrics: container ${container} not present in metrics for pod ${namespace}/${item.name}`);
      }
      const usage = c.usage[resource];
      if (usage !== undefined) {
        metrics.set(item.name, {
          value: milliValue(usage, `usage of ${resource} by ${item.name}/${c.name}`),
          timestamp: item.timestamp,
          window: item.windowMs,
        });
      }
      continue;
    }
    let missing = item.containers.length === 0;
    let podSum = 0n;
    for (const c of item.containers) {
      const usage = c.usage[resource];
      if (usage === undefined) {
        missing = true;
        break;
      }
      podSum += milliValue(usage, `usage of ${resource} by ${item.name}/${c.name}`);
    }
    if (!missing) metrics.set(item.name, { value: podSum, timestamp: item.timestamp, window: item.windowMs });
  }
  return { metrics, timestamp: first.timestamp };
}

/** customMetricsClient.GetRawMetric: one sample per pod, keyed by pod name. */
export function podsMetricInfo(values: readonly PodsMetricValue[]): FetchedPodMetrics {
  const first = values[0];
  if (first === undefined) throw new HpaCalculationError('no metrics returned from custom metrics API');
  const metrics = new Map<string, PodMetric>();
  for (const v of values) {
    metrics.set(v.pod, {
      value: milliValue(v.value, `value for pod ${v.pod}`),
      timestamp: v.timestamp,
      window: v.windowSeconds === undefined ? DEFAULT_METRIC_WINDOW_MS : v.windowSeconds * 1000,
    });
  }
  return { metrics, timestamp: first.timestamp };
}

/** customMetricsClient.GetObjectMetric: the object's value in milli-units. */
export function objectMetricValue(value: ObjectMetricValue): { readonly usage: bigint; readonly timestamp: Timestamp } {
  return { usage: milliValue(value.value, 'object metric value'), timestamp: value.timestamp };
}

/** externalMetricsClient.GetExternalMetric: every matching series' value. */
export function externalMetricValues(values: readonly ExternalMetricValue[]): {
  readonly values: readonly bigint[];
  readonly timestamp: Timestamp;
} {
  const first = values[0];
  if (first === undefined) throw new HpaCalculationError('no metrics returned from external metrics API');
  return {
    values: values.map((v, i) => milliValue(v.value, `external metric value ${i}`)),
    timestamp: first.timestamp,
  };
}
