// A simulator of the Kubernetes HorizontalPodAutoscaler controller
// (autoscaling/v2), as pure functions over explicit inputs and time.
//
// - reconcile(): one sync of one HPA (horizontal.go reconcileAutoscaler).
// - computeReplicasForMetric(s): the per-metric proposals and their maximum.
// - algorithm.ts: the replica calculator (replica_calculator.go).
// - behavior.ts: stabilization windows, scaling policies, min/max.
// - conditions.ts: AbleToScale, ScalingActive, ScalingLimited.
//
// To simulate a run, call reconcile() once per sync period (15 s by default)
// with the state and status it returned last time.

export * from './types.js';
export * from './algorithm.js';
export * from './behavior.js';
export * from './conditions.js';
export * from './controller.js';
export * from './metrics.js';
export { HpaInputError, milliValue } from './quantity.js';
