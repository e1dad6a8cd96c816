// What the metrics APIs ask of whatever serves the metrics: values for one
// request, and the list of metrics served, as plain data. The shape follows
// custom-metrics-apiserver's provider interfaces (CustomMetricsProvider's
// GetMetricByName/GetMetricBySelector/ListAllMetrics and
// ExternalMetricsProvider's GetExternalMetric/ListAllExternalMetrics), so
// the HTTP surface and the discovery documents depend on neither the rules
// nor how metrics are discovered.
import type { FieldTerm } from '../k8s/field-selector.js';
import type { Requirement } from '../k8s/label-selector.js';
import type { GroupResource } from '../rules/resources.js';

interface DescribedObject {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly apiVersion: string;
}

export interface ObjectMetricValue {
  readonly describedObject: DescribedObject;
  readonly metric: string;
  readonly timestamp: Date;
  readonly windowSeconds?: number;
  readonly value: string;
}

export interface ExternalMetricValue {
  readonly metric: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly timestamp: Date;
  readonly windowSeconds?: number;
  readonly value: string;
}

export interface ObjectMetricsQuery {
  readonly resource: GroupResource;
  /** Undefined for root-scoped resources. */
  readonly namespace?: string;
  /** An object name, or `*` for every object matching labelSelector. */
  readonly name: string;
  readonly metric: string;
  readonly labelSelector: readonly Requirement[];
  readonly metricSelector: readonly Requirement[];
  /** Absolute deadline, ms since the epoch. */
  readonly deadline: number;
  /** Aborted when nobody waits for the answer any more; stops the query. */
  readonly signal?: AbortSignal;
}

export interface ExternalMetricsQuery {
  readonly namespace: string;
  readonly metric: string;
  readonly metricSelector: readonly Requirement[];
  readonly deadline: number;
  readonly signal?: AbortSignal;
}

/** A custom metric of one resource, as CustomMetricInfo. */
export interface CustomMetricInfo {
  readonly group: string;
  readonly resource: string;
  readonly metric: string;
  /** The scope of the resource; one per resource, as the aggregator requires. */
  readonly namespaced: boolean;
}

interface ExternalMetricInfo {
  readonly metric: string;
}

/** Every metric served at one moment. */
export interface MetricListing {
  /**
   * Differs whenever the metrics listed may differ: documents built from a
   * listing are kept until the version changes.
   */
  readonly version: number;
  readonly custom: readonly CustomMetricInfo[];
  readonly external: readonly ExternalMetricInfo[];
}

export interface MetricsApiProvider {
  /** The metric of one named object, or of every object matching the query's labelSelector for the name `*`. */
  objectMetrics(query: ObjectMetricsQuery): Promise<ObjectMetricValue[]>;
  externalMetrics(query: ExternalMetricsQuery): Promise<ExternalMetricValue[]>;
  /**
   * The metrics served now, empty before they are first known. Cannot
   * fail (as ListAllMetrics): discovery keeps the list, and every request
   * for a discovery document reads it.
   */
  listAllMetrics(): MetricListing;
}

/** cpu and memory as Quantity text: cpu in cores (`250m`, `12345678n`), memory in whole bytes (`128Mi`). */
export interface ResourceUsage {
  readonly cpu: string;
  readonly memory: string;
}

export interface ContainerUsage {
  readonly name: string;
  readonly usage: ResourceUsage;
}

/** The usage of one pod, as PodMetrics carries it. */
export interface PodUsage {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The earliest sample time of the pod's values. */
  readonly timestamp: Date;
  readonly windowSeconds: number;
  /** Sorted by name. */
  readonly containers: readonly ContainerUsage[];
}

/** The usage of one node, as NodeMetrics carries it. */
export interface NodeUsage {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly timestamp: Date;
  readonly windowSeconds: number;
  readonly usage: ResourceUsage;
}

interface ResourceMetricsQuery {
  /** One object: the answer has it, or the call throws NotFoundError. Otherwise every object the selectors match. */
  readonly name?: string;
  readonly labelSelector: readonly Requirement[];
  /** Terms on metadata.name and metadata.namespace only; the HTTP surface refuses others. */
  readonly fieldSelector: readonly FieldTerm[];
  /** Absolute deadline, ms since the epoch. */
  readonly deadline: number;
  readonly signal?: AbortSignal;
}

export interface PodMetricsQuery extends ResourceMetricsQuery {
  /** Undefined for pods of every namespace. */
  readonly namespace?: string;
}

export type NodeMetricsQuery = ResourceMetricsQuery;

/** What metrics.k8s.io asks of whatever serves it, after metrics-server's PodMetricsGetter and NodeMetricsGetter. */
export interface ResourceMetricsProvider {
  /** Whether resource metrics are configured now; read on every request, so a rule reload shows at once. */
  served(): boolean;
  /** Sorted by namespace, then name. */
  podMetrics(query: PodMetricsQuery): Promise<PodUsage[]>;
  /** Sorted by name. */
  nodeMetrics(query: NodeMetricsQuery): Promise<NodeUsage[]>;
}
