// The autoscaling/v2 shapes the simulator reads and writes, plus the pod and
// metric samples the HPA controller would have fetched. Field names follow the
// Kubernetes JSON names so that HPA manifests can be passed in as they are.
//
// Conventions used throughout hpa/:
// - Times are milliseconds since the Unix epoch, durations are milliseconds,
//   except where the Kubernetes field itself counts seconds
//   (periodSeconds, stabilizationWindowSeconds, windowSeconds).
// - Quantities are what a manifest holds: a string ("500m", "1.5", "2Gi") or a
//   JSON number. The controller only ever reads them through
//   Quantity.MilliValue(), so internally every value is an exact bigint of
//   thousandths.
// - Replica counts are int32 in Kubernetes; they are plain numbers here.

import type { LabelSelector } from '../k8s/label-selector.js';
import type { QuantityJson } from '../k8s/quantity.js';

/** Milliseconds since the Unix epoch. */
export type Timestamp = number;

export interface CrossVersionObjectReference {
  readonly kind: string;
  readonly name: string;
  readonly apiVersion?: string;
}

export interface MetricIdentifier {
  readonly name: string;
  readonly selector?: LabelSelector;
}

export type MetricTargetType = 'Utilization' | 'Value' | 'AverageValue';

export interface MetricTarget {
  readonly type: MetricTargetType;
  readonly value?: QuantityJson;
  readonly averageValue?: QuantityJson;
  /** Percent of the pods' summed requests (Resource and ContainerResource only). */
  readonly averageUtilization?: number;
}

export interface ResourceMetricSource {
  readonly name: string;
  readonly target: MetricTarget;
}

export interface ContainerResourceMetricSource {
  readonly name: string;
  readonly container: string;
  readonly target: MetricTarget;
}

export interface PodsMetricSource {
  readonly metric: MetricIdentifier;
  readonly target: MetricTarget;
}

export interface ObjectMetricSource {
  readonly describedObject: CrossVersionObjectReference;
  readonly metric: MetricIdentifier;
  readonly target: MetricTarget;
}

export interface ExternalMetricSource {
  readonly metric: MetricIdentifier;
  readonly target: MetricTarget;
}

export type MetricSourceType = 'Resource' | 'ContainerResource' | 'Pods' | 'Object' | 'External';

export type MetricSpec =
  | { readonly type: 'Resource'; readonly resource: ResourceMetricSource }
  | { readonly type: 'ContainerResource'; readonly containerResource: ContainerResourceMetricSource }
  | { readonly type: 'Pods'; readonly pods: PodsMetricSource }
  | { readonly type: 'Object'; readonly object: ObjectMetricSource }
  | { readonly type: 'External'; readonly external: ExternalMetricSource };

export interface MetricValueStatus {
  readonly value?: string;
  readonly averageValue?: string;
  readonly averageUtilization?: number;
}

export type MetricStatus =
  | {
      readonly type: 'Resource';
      readonly resource: { readonly name: string; readonly current: MetricValueStatus };
    }
  | {
      readonly type: 'ContainerResource';
      readonly containerResource: {
        readonly name: string;
        readonly container: string;
        readonly current: MetricValueStatus;
      };
    }
  | {
      readonly type: 'Pods';
      readonly pods: { readonly metric: MetricIdentifier; readonly current: MetricValueStatus };
    }
  | {
      readonly type: 'Object';
      readonly object: {
        /** Left out for an AverageValue target: upstream does not fill it in that case. */
        readonly describedObject?: CrossVersionObjectReference;
        readonly metric: MetricIdentifier;
        readonly current: MetricValueStatus;
      };
    }
  | {
      readonly type: 'External';
      readonly external: { readonly metric: MetricIdentifier; readonly current: MetricValueStatus };
    }
  // A metric that could not be computed keeps the zero MetricStatus in
  // status.currentMetrics (computeReplicasForMetrics allocates the slice up front).
  | { readonly type: '' };

export type ScalingPolicyType = 'Pods' | 'Percent';

export interface HPAScalingPolicy {
  readonly type: ScalingPolicyType;
  readonly value: number;
  readonly periodSeconds: number;
}

export type ScalingPolicySelect = 'Max' | 'Min' | 'Disabled';

export interface HPAScalingRules {
  readonly stabilizationWindowSeconds?: number;
  readonly selectPolicy?: ScalingPolicySelect;
  /** An explicit empty list replaces the defaults (upstream copies any non-nil list). */
  readonly policies?: readonly HPAScalingPolicy[];
  /** Honoured when the HPAConfigurableTolerance feature gate is on (ControllerOptions). */
  readonly tolerance?: QuantityJson;
}

export interface HorizontalPodAutoscalerBehavior {
  readonly scaleUp?: HPAScalingRules;
  readonly scaleDown?: HPAScalingRules;
}

export interface HorizontalPodAutoscalerSpec {
  readonly scaleTargetRef?: CrossVersionObjectReference;
  /** Defaults to 1, as the API server does. */
  readonly minReplicas?: number;
  readonly maxReplicas: number;
  /** Empty or missing means cpu at 80% utilization, the API server default. */
  readonly metrics?: readonly MetricSpec[];
  /** Missing means the controller's built-in rules (no scale events are kept). */
  readonly behavior?: HorizontalPodAutoscalerBehavior;
}

export type ConditionType = 'AbleToScale' | 'ScalingActive' | 'ScalingLimited';
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface HpaCondition {
  readonly type: ConditionType;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: Timestamp;
}

export interface HorizontalPodAutoscalerStatus {
  readonly currentReplicas: number;
  readonly desiredReplicas: number;
  readonly currentMetrics: readonly MetricStatus[];
  readonly conditions: readonly HpaCondition[];
  readonly lastScaleTime?: Timestamp;
}

export interface HorizontalPodAutoscaler {
  readonly name?: string;
  readonly namespace?: string;
  readonly spec: HorizontalPodAutoscalerSpec;
  /** The status written by the previous sync, if any (conditions keep their transition times). */
  readonly status?: Partial<HorizontalPodAutoscalerStatus>;
}

// ---------------------------------------------------------------------------
// Pods, as far as the replica calculator looks at them.

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface ResourceRequirements {
  readonly requests?: Readonly<Record<string, QuantityJson>>;
}

export interface Container {
  readonly name: string;
  readonly resources?: ResourceRequirements;
  /** 'Always' on an init container makes it a sidecar, whose requests count. */
  readonly restartPolicy?: string;
}

export interface PodInfo {
  readonly name: string;
  readonly phase: PodPhase;
  readonly deletionTimestamp?: Timestamp;
  /** status.startTime; missing makes a pod unready for cpu. */
  readonly startTime?: Timestamp;
  /**
   * The PodReady condition; missing means the pod has none. An unset
   * lastTransitionTime is Go's zero time, which is taken as epoch 0 here.
   */
  readonly ready?: { readonly status: ConditionStatus; readonly lastTransitionTime?: Timestamp };
  readonly containers: readonly Container[];
  readonly initContainers?: readonly Container[];
  /** Pod-level resources (KEP-2837), used when the PodLevelResources gate is on. */
  readonly resources?: ResourceRequirements;
}

// ---------------------------------------------------------------------------
// What the three metrics APIs return.

/** One item of metrics.k8s.io PodMetricsList. */
export interface PodMetricsItem {
  readonly name: string;
  readonly timestamp: Timestamp;
  /** The sample window in milliseconds (metrics-server reports 15 s to 1 min). */
  readonly windowMs: number;
  readonly containers: readonly {
    readonly name: string;
    readonly usage: Readonly<Record<string, QuantityJson>>;
  }[];
}

/** One custom.metrics.k8s.io MetricValue for a pod. */
export interface PodsMetricValue {
  readonly pod: string;
  readonly value: QuantityJson;
  readonly timestamp: Timestamp;
  /** Defaults to 60, as the controller assumes when the adapter leaves it out. */
  readonly windowSeconds?: number;
}

/** The custom.metrics.k8s.io MetricValue for a single object. */
export interface ObjectMetricValue {
  readonly value: QuantityJson;
  readonly timestamp: Timestamp;
}

/** One external.metrics.k8s.io ExternalMetricValue. */
export interface ExternalMetricValue {
  readonly value: QuantityJson;
  readonly timestamp: Timestamp;
}

/**
 * Where a sync gets its metrics. Each method returns what the API returned or
 * throws (the error message becomes part of the condition message, wrapped the
 * way the controller wraps it). A missing method behaves like an API that
 * fails. The functions should be pure for the simulation to be.
 */
export interface MetricsSource {
  resourceMetrics?(): readonly PodMetricsItem[];
  podsMetric?(metric: MetricIdentifier): readonly PodsMetricValue[];
  objectMetric?(metric: MetricIdentifier, describedObject: CrossVersionObjectReference): ObjectMetricValue;
  externalMetric?(metric: MetricIdentifier): readonly ExternalMetricValue[];
}

// ---------------------------------------------------------------------------
// The controller's flags and feature gates.

export interface ControllerOptions {
  /** --horizontal-pod-autoscaler-tolerance (default 0.1). */
  readonly tolerance: number;
  /** --horizontal-pod-autoscaler-cpu-initialization-period in ms (default 5 min). */
  readonly cpuInitializationPeriod: number;
  /** --horizontal-pod-autoscaler-initial-readiness-delay in ms (default 30 s). */
  readonly delayOfInitialReadinessStatus: number;
  /** --horizontal-pod-autoscaler-downscale-stabilization in ms (default 5 min). */
  readonly downscaleStabilizationWindow: number;
  /** HPAConfigurableTolerance gate: read behavior.scaleUp/scaleDown.tolerance. */
  readonly configurableTolerance: boolean;
  /** PodLevelResources gate: use pod-level requests when a pod sets them. */
  readonly podLevelResources: boolean;
  /** HPAScaleToZero gate: only consulted by validateHpaSpec. */
  readonly scaleToZero: boolean;
}

/** Flag defaults from pkg/controller/podautoscaler/config/v1alpha1/defaults.go. */
export const DEFAULT_CONTROLLER_OPTIONS: ControllerOptions = Object.freeze({
  tolerance: 0.1,
  cpuInitializationPeriod: 5 * 60_000,
  delayOfInitialReadinessStatus: 30_000,
  downscaleStabilizationWindow: 5 * 60_000,
  // Both gates are beta, and so on by default, in current releases; set them
  // to false to model a cluster where they are off (HPAConfigurableTolerance
  // was alpha, off, when it appeared in 1.33).
  configurableTolerance: true,
  podLevelResources: true,
  // Alpha, off by default.
  scaleToZero: false,
});

/** pkg/apis/autoscaling DefaultCPUUtilization: the target of an HPA without metrics. */
export const DEFAULT_CPU_UTILIZATION = 80;

export const MAX_INT32 = 2_147_483_647;
