// Rendering the PromQL sent for one request. The matcher order and shapes
// follow the reference adapter (metric-selector matchers sorted by key, then
// namespace, then the resource label), so existing rules return the same
// series; matchers sharing a key keep their selector order, which Go's
// unstable sort permutes past 12 requirements (same series, other text);
// values are escaped for PromQL and regex-escaped where
// they land inside `=~` (in .LabelMatchers and in .LabelValuesByName), which
// the reference does not do.
import { executeGoTemplate, type GoValue, type ParsedTemplate } from './go-template.js';
import { alternationOf, isPrometheusLabelName, promQLStringBody, renderMatcher } from './promql.js';
import type { Requirement } from '../k8s/label-selector.js';
import { formatGroupResource, NAMESPACES, type GroupResource, type ResourceLabels } from './resources.js';

export const METRICS_QUERY_FIELDS = ['Series', 'LabelMatchers', 'LabelValuesByName', 'GroupBy', 'GroupBySlice'] as const;

type QueryBuildErrorReason =
  /** The request asked for something PromQL matchers cannot express. */
  | 'unsupported-selector'
  /** A selector key that is not a Prometheus label name, so no series can carry it. */
  | 'invalid-label-name'
  /** The rule cannot serve this request (a missing label mapping). */
  | 'rule-cannot-serve'
  /** The template produced nothing or failed while executing. */
  | 'template-failed';

export class QueryBuildError extends Error {
  constructor(
    message: string,
    readonly reason: QueryBuildErrorReason,
  ) {
    super(message);
    this.name = 'QueryBuildError';
  }
}

export interface QueryTemplate {
  readonly metricsQuery: ParsedTemplate;
  readonly resources: ResourceLabels;
  /** External rules: whether requests are scoped to their namespace. */
  readonly namespaced: boolean;
}

interface ObjectMetricsRequest {
  readonly series: string;
  readonly resource: GroupResource;
  /** Empty or undefined for root-scoped resources. */
  readonly namespace?: string;
  readonly names: readonly string[];
  /**
   * Match every object of the resource in the namespace (`label!=""`) instead
   * of listing names; the caller filters the result. Keeps the query small
   * when the name list is long.
   */
  readonly allNames?: boolean;
  /**
   * With allNames: leave the object label out of .LabelMatchers rather than
   * matching `label!=""`, for object-separable queries, whose series without
   * the label form groups no requested name matches. Prometheus answers
   * `label!=""` (and `=~".+"`, `=~".*"`) by merging the postings of every
   * value of the label in the whole TSDB: for 100 of 50,000 pods, 24–37 ms
   * against 2–3 ms for the namespace matcher alone (Prometheus 2.42).
   * .LabelValuesByName keeps `.+`, since a template that writes it after
   * `=~` has no way to say "any value or none".
   */
  readonly unfilteredNames?: boolean;
  readonly metricSelector: readonly Requirement[];
  readonly extraGroupBy?: readonly string[];
}

interface ExternalMetricsRequest {
  readonly series: string;
  readonly namespace?: string;
  readonly metricSelector: readonly Requirement[];
}

interface RenderedMatchers {
  readonly matchers: string[];
  /** Label to its values as .LabelValuesByName holds them (see templateAlternation). */
  readonly valuesByName: Record<string, string>;
}

/**
 * Turns label-selector requirements into PromQL matchers, in key order.
 * `>` and `<` have no PromQL matcher form and are rejected rather than
 * dropped, since a silently widened selector would scale on the wrong data.
 * Kubernetes label keys such as `app.kubernetes.io/name` are not Prometheus
 * label names; they are rejected too, since the matcher would not parse.
 */
export function selectorToMatchers(requirements: readonly Requirement[]): RenderedMatchers {
  const matchers: string[] = [];
  const valuesByName: Record<string, string> = {};
  const sorted = [...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const badKeys = [...new Set(sorted.map((r) => r.key).filter((key) => !isPrometheusLabelName(key)))];
  if (badKeys.length > 0) {
    const quoted = badKeys.map((key) => JSON.stringify(key)).join(', ');
    throw new QueryBuildError(
      badKeys.length === 1
        ? `key ${quoted} is not a Prometheus label name (one that matches [a-zA-Z_][a-zA-Z0-9_]*)`
        : `keys ${quoted} are not Prometheus label names (ones that match [a-zA-Z_][a-zA-Z0-9_]*)`,
      'invalid-label-name',
    );
  }
  for (const r of sorted) {
    matchers.push(requirementToMatcher(r));
    valuesByName[r.key] = templateAlternation(r.values);
  }
  return { matchers, valuesByName };
}

/**
 * Throws the QueryBuildError that rendering a query with this metric selector
 * would throw, so a request can be refused before anything is listed or sent.
 */
export function checkMetricSelector(requirements: readonly Requirement[]): void {
  selectorToMatchers(requirements);
}

/**
 * A .LabelValuesByName entry: the values regex-escaped and joined with `|`,
 * then escaped for a double-quoted PromQL string. Templates put it inside
 * `=~"…"`, which Prometheus anchors, so a pod named web.1 matches only itself.
 */
function templateAlternation(values: readonly string[]): string {
  return promQLStringBody(alternationOf(values));
}

function requirementToMatcher(r: Requirement): string {
  const one = (): string => {
    if (r.values.length !== 1) {
      throw new QueryBuildError(`selector operator ${r.operator} on ${r.key} needs exactly one value`, 'unsupported-selector');
    }
    return r.values[0] as string;
  };
  switch (r.operator) {
    case '=':
    case '==':
      return renderMatcher(r.key, '=', one());
    case '!=':
      return renderMatcher(r.key, '!=', one());
    case 'in':
      return renderMatcher(r.key, '=~', alternationOf(nonEmpty(r)));
    case 'notin':
      return renderMatcher(r.key, '!~', alternationOf(nonEmpty(r)));
    case 'exists':
      return renderMatcher(r.key, '!=', '');
    case '!':
      return renderMatcher(r.key, '=', '');
    case 'gt':
    case 'lt':
      throw new QueryBuildError(`selector operator ${r.operator === 'gt' ? '>' : '<'} on ${r.key} has no PromQL equivalent; use =, !=, in, notin or exists`, 'unsupported-selector');
  }
}

function nonEmpty(r: Requirement): readonly string[] {
  if (r.values.length === 0) {
    throw new QueryBuildError(`selector operator ${r.operator} on ${r.key} needs at least one value`, 'unsupported-selector');
  }
  return r.values;
}

function namespaceMatcher(rule: QueryTemplate, namespace: string): { label: string; matcher: string } {
  const label = rule.resources.labelFor(NAMESPACES);
  if (label === undefined) {
    throw new QueryBuildError(
      'the rule maps no label to namespaces, so the query cannot be scoped to a namespace; add an override `namespace: {resource: namespace}` or a resources.template',
      'rule-cannot-serve',
    );
  }
  return { label, matcher: renderMatcher(label, '=', namespace) };
}

/** The query for named objects of one resource (custom.metrics.k8s.io). */
export function renderMetricsQuery(rule: QueryTemplate, req: ObjectMetricsRequest): string {
  if (req.names.length === 0 && !req.allNames) {
    throw new QueryBuildError('no object names to query', 'rule-cannot-serve');
  }
  const { matchers, valuesByName } = selectorToMatchers(req.metricSelector);
  if (req.namespace) {
    const ns = namespaceMatcher(rule, req.namespace);
    matchers.push(ns.matcher);
    valuesByName[ns.label] = templateAlternation([req.namespace]);
  }
  const resourceLabel = rule.resources.labelFor(req.resource);
  if (resourceLabel === undefined) {
    throw new QueryBuildError(`the rule maps no label to ${formatGroupResource(req.resource)}`, 'rule-cannot-serve');
  }
  if (!(req.allNames && req.unfilteredNames)) {
    matchers.push(
      req.allNames
        ? renderMatcher(resourceLabel, '!=', '')
        : req.names.length === 1
          ? renderMatcher(resourceLabel, '=', req.names[0] as string)
          : renderMatcher(resourceLabel, '=~', alternationOf(req.names)),
    );
  }
  valuesByName[resourceLabel] = req.allNames ? '.+' : templateAlternation(req.names);
  const groupBy = [resourceLabel, ...(req.extraGroupBy ?? [])];
  return execute(rule.metricsQuery, {
    Series: req.series,
    LabelMatchers: matchers.join(','),
    LabelValuesByName: valuesByName,
    GroupBy: groupBy.join(','),
    GroupBySlice: groupBy,
  });
}

/**
 * The one query that stands in for every wildcard over `resource` in a
 * namespace under shared evaluation: the object label left unfiltered, so
 * only for object-separable rules (rules/separability.ts).
 */
export function renderSharedQuery(rule: QueryTemplate, req: Omit<ObjectMetricsRequest, 'names' | 'allNames' | 'unfilteredNames'>): string {
  return renderMetricsQuery(rule, { ...req, names: [], allNames: true, unfilteredNames: true });
}

/** The query for an external metric; the reference groups by nothing. */
export function renderExternalQuery(rule: QueryTemplate, req: ExternalMetricsRequest): string {
  const { matchers, valuesByName } = selectorToMatchers(req.metricSelector);
  if (rule.namespaced && req.namespace) {
    const ns = namespaceMatcher(rule, req.namespace);
    matchers.push(ns.matcher);
    valuesByName[ns.label] = templateAlternation([req.namespace]);
  }
  return execute(rule.metricsQuery, {
    Series: req.series,
    LabelMatchers: matchers.join(','),
    LabelValuesByName: valuesByName,
    GroupBy: '',
    GroupBySlice: [],
  });
}

function execute(template: ParsedTemplate, data: Record<string, GoValue>): string {
  let out: string;
  try {
    out = executeGoTemplate(template, data);
  } catch (e) {
    throw new QueryBuildError(`metricsQuery template failed: ${(e as Error).message}`, 'template-failed');
  }
  if (out.trim() === '') throw new QueryBuildError('metricsQuery template produced an empty query', 'template-failed');
  return out;
}
