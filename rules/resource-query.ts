// The PromQL of resourceRules: the containerQuery for pods and the nodeQuery
// for nodes, rendered through the same template data as every other rule
// (rules/query.ts). As in prometheus-adapter, .LabelMatchers carry the
// namespace and the object names, and .GroupBy the object's label plus, for
// containers, the container label. The namespace label is grouped by too, so
// one query can answer for pods of every namespace.
import type { CompiledResourceRule } from './compile.js';
import { renderMetricsQuery } from './query.js';
import { NAMESPACES, type GroupResource } from './resources.js';

export const PODS: GroupResource = { group: '', resource: 'pods' };
export const NODES: GroupResource = { group: '', resource: 'nodes' };

/** The two resources resourceRules serve, in the order they are reported. */
export const USAGE_RESOURCES = ['cpu', 'memory'] as const;
export type UsageResource = (typeof USAGE_RESOURCES)[number];

export interface ContainerQueryRequest {
  /** Undefined for pods of every namespace: no namespace matcher. */
  readonly namespace?: string;
  readonly names: readonly string[];
  /** Match every pod (`pod!=""`) rather than listing names; the caller keeps the ones it wants. */
  readonly allNames?: boolean;
}

export interface NodeQueryRequest {
  readonly names: readonly string[];
  readonly allNames?: boolean;
}

/** The labels a container query's samples are read by. */
export interface ContainerLabels {
  readonly pod: string;
  /** Undefined when the rule maps no label to namespaces. */
  readonly namespace: string | undefined;
  readonly container: string;
}

/** Labels of a rule's container samples; undefined when it maps no label to pods (compile rejects such rules). */
export function containerLabelsOf(rule: CompiledResourceRule): ContainerLabels | undefined {
  const pod = rule.resources.labelFor(PODS);
  if (pod === undefined) return undefined;
  return { pod, namespace: rule.resources.labelFor(NAMESPACES), container: rule.containerLabel };
}

/** The label of a rule's node samples (`node`, or `instance` where it is mapped to nodes). */
export function nodeLabelOf(rule: CompiledResourceRule): string | undefined {
  return rule.resources.labelFor(NODES);
}

/** Throws QueryBuildError as renderMetricsQuery does (a rule that cannot serve the request, a template that fails). */
export function renderContainerQuery(rule: CompiledResourceRule, req: ContainerQueryRequest): string {
  const namespaceLabel = rule.resources.labelFor(NAMESPACES);
  const podLabel = rule.resources.labelFor(PODS);
  const extraGroupBy = [...new Set([namespaceLabel, rule.containerLabel].filter((l): l is string => l !== undefined && l !== '' && l !== podLabel))];
  return renderMetricsQuery(
    { metricsQuery: rule.containerQuery, resources: rule.resources, namespaced: true },
    {
      series: '',
      resource: PODS,
      ...(req.namespace !== undefined ? { namespace: req.namespace } : {}),
      names: req.names,
      ...(req.allNames ? { allNames: true } : {}),
      metricSelector: [],
      extraGroupBy,
    },
  );
}

export function renderNodeQuery(rule: CompiledResourceRule, req: NodeQueryRequest): string {
  return renderMetricsQuery(
    { metricsQuery: rule.nodeQuery, resources: rule.resources, namespaced: false },
    { series: '', resource: NODES, names: req.names, ...(req.allNames ? { allNames: true } : {}), metricSelector: [] },
  );
}
