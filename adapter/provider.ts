// Answering one metrics request: find the rule, find the objects, render and
// run the query, and turn samples into values the HPA can use. Every failure
// is a typed error whose message names what was asked and what was sent.
import { exampleRequest, type CompiledRule, type RuleOrigin } from '../rules/compile.js';
import { rangeSecondsOf } from '../rules/promql.js';
import { checkMetricSelector, QueryBuildError, renderExternalQuery, renderMetricsQuery, renderSharedQuery } from '../rules/query.js';
import { evaluationModeOf, externalEvaluationModeOf, type EvaluationMode } from '../rules/separability.js';
import { formatLabelSelector, matchesLabels, type Requirement } from '../k8s/label-selector.js';
import { formatMilli, NonFiniteValueError, toMilli } from '../k8s/quantity.js';
import { apiVersionOf, formatGroupResource, type GroupResource, type ResourceCatalog } from '../rules/resources.js';
import { customMetricKey, type MetricRegistry } from './discovery.js';
import { BadRequestError, NotFoundError, UnavailableError } from './errors.js';
import type { Logger } from './log.js';
import type { CustomMetricInfo, ExternalMetricValue, ExternalMetricsQuery, MetricListing, MetricsApiProvider, ObjectMetricsQuery, ObjectMetricValue } from './metrics-api-provider.js';
import type { ObjectLister, ResourceKind } from './objects/types.js';
import { PrometheusError, type MetricsSource, type QueryOptions, type Sample } from './prometheus.js';

export interface ProviderDeps {
  readonly registry: () => MetricRegistry | undefined;
  readonly metrics: MetricsSource;
  readonly objects: ObjectLister;
  readonly catalog: () => ResourceCatalog;
  readonly log: Logger;
  /** Above this many names, query the whole namespace and filter in memory. */
  readonly maxNamesPerQuery?: number;
  /** Rendered queries longer than this also fall back to the namespace query. */
  readonly maxQueryBytes?: number;
  /** Called after every Prometheus query, for metrics. */
  readonly onQuery?: QueryObserver;
  /**
   * Answer wildcard requests of object-separable rules from one query per
   * (namespace, metric, rule, metric selector), shared through the query
   * cache and filtered to each request's objects (default true).
   */
  readonly sharedEvaluation?: boolean;
}

/** Told of every Prometheus query a rule sent: how long it took, and how it failed. */
export type QueryObserver = (rule: { readonly origin: RuleOrigin }, seconds: number, error?: PrometheusError) => void;

export interface QueryLimits {
  /** Above this many names, query every object and filter in memory. */
  readonly maxNamesPerQuery?: number;
  /** Rendered queries longer than this fall back the same way. */
  readonly maxQueryBytes?: number;
}

const DEFAULT_MAX_NAMES = 100;
// Below the 16 KiB limits of common Prometheus-compatible backends.
const DEFAULT_MAX_QUERY_BYTES = 15 * 1024;

/**
 * The query for `count` named objects, or, above the name or byte limits, the
 * query for every object of the resource (`render(true)`: `label!=""`), so
 * the query stays small at any name count; the caller keeps the objects it
 * asked for.
 */
export function renderForNames(render: (allNames: boolean) => string, count: number, limits: QueryLimits): string {
  if (count <= (limits.maxNamesPerQuery ?? DEFAULT_MAX_NAMES)) {
    const query = render(false);
    if (Buffer.byteLength(query) <= (limits.maxQueryBytes ?? DEFAULT_MAX_QUERY_BYTES)) return query;
  }
  return render(true);
}

/**
 * Runs one rule's query, timed for `onQuery`. A Prometheus failure becomes
 * an UnavailableError naming the rule (path and file:line) and the query.
 */
export async function runRuleQuery(
  metrics: MetricsSource,
  rule: { readonly origin: RuleOrigin },
  query: string,
  { deadline, signal }: QueryOptions,
  onQuery?: QueryObserver,
  /** Rethrow Prometheus' rejection of the query as the PrometheusError itself, for a caller with another query to try. */
  passRejection = false,
): Promise<Sample[]> {
  const started = performance.now();
  try {
    const samples = await metrics.query(query, { deadline, ...(signal ? { signal } : {}) });
    onQuery?.(rule, (performance.now() - started) / 1000);
    return samples;
  } catch (e) {
    if (!(e instanceof PrometheusError)) throw e;
    onQuery?.(rule, (performance.now() - started) / 1000, e);
    if (passRejection && e.kind === 'rejected') throw e;
    // Logged once, by the router, with every other failed request.
    throw new UnavailableError(`querying Prometheus for rule ${ruleName(rule)} failed: ${e.message}; query: ${query}`);
  }
}

/** Selector key sets whose external evaluation mode is kept per rule; HPAs of one metric use a handful. */
const MAX_EXTERNAL_MODES = 256;

export class MetricsProvider implements MetricsApiProvider {
  private readonly windows = new WeakMap<CompiledRule, number | undefined>();
  /** Per rule, the evaluation mode of each resource it was asked for, by `formatGroupResource`. */
  private readonly modes = new WeakMap<CompiledRule, Map<string, EvaluationMode>>();
  /** Per external rule, the evaluation mode of each set of selector keys (sorted, joined by NUL), at most MAX_EXTERNAL_MODES. */
  private readonly externalModes = new WeakMap<CompiledRule, Map<string, EvaluationMode>>();
  /** Shared results by label and value, for as long as the result itself is held (by the query cache). */
  private readonly sharedIndexes = new WeakMap<readonly Sample[], Map<string, ReadonlyMap<string, readonly number[]>>>();
  /** The listing of the registry last listed; a new registry gets the next version. */
  private listed: { readonly registry: MetricRegistry | undefined; readonly listing: MetricListing } = {
    registry: undefined,
    listing: { version: 0, custom: [], external: [] },
  };

  constructor(private readonly deps: ProviderDeps) {}

  private registry(): MetricRegistry {
    const r = this.deps.registry();
    if (!r) throw new UnavailableError('metric discovery has not completed yet; retry shortly');
    return r;
  }

  listAllMetrics(): MetricListing {
    const registry = this.deps.registry();
    if (registry === this.listed.registry) return this.listed.listing;
    const custom: CustomMetricInfo[] = [];
    for (const m of registry?.custom.values() ?? []) custom.push({ group: m.resource.group, resource: m.resource.resource, metric: m.metric, namespaced: m.namespaced });
    const external = [...(registry?.external.keys() ?? [])].map((metric) => ({ metric }));
    this.listed = { registry, listing: { version: this.listed.listing.version + 1, custom, external } };
    return this.listed.listing;
  }

  async objectMetrics(q: ObjectMetricsQuery): Promise<ObjectMetricValue[]> {
    const registry = this.registry();
    const what = formatGroupResource(q.resource);
    const entry = registry.custom.get(customMetricKey(q.resource, q.metric));
    if (!entry) {
      throw new NotFoundError(`the server could not find the metric ${q.metric} for ${what}${knownMetricsHint(registry, q.resource)}`, {
        name: q.metric,
        group: 'custom.metrics.k8s.io',
        kind: what,
      });
    }
    if (entry.namespaced && !q.namespace) {
      throw new BadRequestError(`${what} is a namespaced resource; ask for it under namespaces/{namespace}/${what}/...`);
    }
    if (!entry.namespaced && q.namespace) {
      throw new BadRequestError(`${what} is not namespaced; ask for it without namespaces/${q.namespace}/`);
    }

    const rule = entry.rule;
    try {
      checkMetricSelector(q.metricSelector);
    } catch (e) {
      throw this.queryBuildError(e, rule, 'metricLabelSelector');
    }
    const names = await this.objectNames(q, what);
    const kind = await this.resourceKind(q.resource);
    const { query, samples, shared } = await this.evaluate(rule, q, entry.series, entry.namespaced, names);
    const label = rule.resources.labelFor(q.resource);
    const wanted = new Set(names);
    const window = this.windowOf(rule);
    const byName = new Map<string, ObjectMetricValue>();
    let nonFinite = 0;
    // A shared result holds the whole namespace; its index keeps the work per request to the objects asked for.
    const candidates = shared && label !== undefined ? this.samplesOf(samples, label, names) : samples;
    for (const s of candidates) {
      let name = label !== undefined ? s.labels[label] : undefined;
      // A query that aggregates the resource label away (e.g. `avg(...)`) still
      // answers a request for one named object.
      if (name === undefined && names.length === 1 && samples.length === 1) name = names[0];
      if (name === undefined || !wanted.has(name)) continue;
      if (byName.has(name)) {
        this.deps.log.warn('query returned several samples for one object; keeping the first', { rule: rule.origin.path, object: name, query });
        continue;
      }
      const value = this.toQuantity(s, rule, query, name);
      if (value === undefined) {
        nonFinite++;
        continue;
      }
      byName.set(name, {
        describedObject: {
          kind: kind.kind,
          ...(q.namespace && entry.namespaced ? { namespace: q.namespace } : {}),
          name,
          apiVersion: kind.apiVersion,
        },
        metric: q.metric,
        timestamp: new Date(s.timestampMs),
        ...(window !== undefined ? { windowSeconds: window } : {}),
        value,
      });
    }
    if (byName.size === 0) {
      const objects = q.name === '*' ? `${names.length} ${what} (${preview(names)})` : `${what} ${q.name}`;
      throw new NotFoundError(
        `no values for metric ${q.metric} on ${objects}${q.namespace ? ` in namespace ${q.namespace}` : ''}: the query returned ${samples.length} samples, ${nonFinite > 0 ? `${nonFinite} for these objects but none a finite number` : 'none for these objects'}; query: ${query}`,
        { name: q.metric, group: 'custom.metrics.k8s.io', kind: what },
      );
    }
    return [...byName.values()].sort((a, b) => (a.describedObject.name < b.describedObject.name ? -1 : 1));
  }

  async externalMetrics(q: ExternalMetricsQuery): Promise<ExternalMetricValue[]> {
    const registry = this.registry();
    const entry = registry.external.get(q.metric);
    if (!entry) {
      const known = [...registry.external.keys()].sort();
      throw new NotFoundError(`the server could not find the external metric ${q.metric}${known.length ? `; known external metrics: ${preview(known)}` : '; no external metric is discovered'}`, {
        name: q.metric,
        group: 'external.metrics.k8s.io',
      });
    }
    const { query, samples } = await this.evaluateExternal(entry.rule, entry.series, q);
    const window = this.windowOf(entry.rule);
    const items: ExternalMetricValue[] = [];
    for (const s of samples) {
      const value = this.toQuantity(s, entry.rule, query, formatLabels(s.labels));
      if (value === undefined) continue;
      const { __name__: _, ...labels } = s.labels;
      items.push({ metric: q.metric, labels, timestamp: new Date(s.timestampMs), ...(window !== undefined ? { windowSeconds: window } : {}), value });
    }
    if (items.length === 0) {
      throw new NotFoundError(
        `no values for external metric ${q.metric} in namespace ${q.namespace}${q.metricSelector.length ? ` with selector ${formatLabelSelector(q.metricSelector)}` : ''}: the query returned ${samples.length} samples${samples.length > 0 ? ', none a finite number' : ''}; query: ${query}`,
        { name: q.metric, group: 'external.metrics.k8s.io' },
      );
    }
    return items;
  }

  private async objectNames(q: ObjectMetricsQuery, what: string): Promise<string[]> {
    if (q.name !== '*') {
      if (q.labelSelector.length > 0) throw new BadRequestError('labelSelector applies only to wildcard (*) requests');
      return [q.name];
    }
    const objects = await this.deps.objects.list(q.resource, q.namespace, q.labelSelector);
    if (objects.length === 0) {
      const sel = q.labelSelector.length ? ` matching ${formatLabelSelector(q.labelSelector)}` : '';
      throw new NotFoundError(`no ${what}${sel}${q.namespace ? ` in namespace ${q.namespace}` : ''}, so there is no value for metric ${q.metric}`, {
        name: q.metric,
        group: 'custom.metrics.k8s.io',
        kind: what,
      });
    }
    return objects.map((o) => o.name);
  }

  /**
   * The samples for a request's objects. A wildcard under a rule evaluated
   * in shared mode sends the query for every object of the namespace, the
   * same text for every request with the same metric and metric selector, so
   * the query cache serves them all from one call; the caller keeps the
   * objects it asked for. When Prometheus rejects that query (an error one
   * object's series can cause for the whole namespace), the request's own
   * query is sent instead, so it gets what the per-request mode would give.
   */
  private async evaluate(rule: CompiledRule, q: ObjectMetricsQuery, series: string, namespaced: boolean, names: readonly string[]): Promise<{ query: string; samples: Sample[]; shared: boolean }> {
    if (q.name === '*' && q.namespace && this.evaluationMode(rule, q.resource, namespaced).shared) {
      let query: string;
      try {
        query = renderSharedQuery(rule, { series, resource: q.resource, namespace: q.namespace, metricSelector: q.metricSelector });
      } catch (e) {
        throw this.queryBuildError(e, rule, 'metricLabelSelector');
      }
      try {
        return { query, samples: await runRuleQuery(this.deps.metrics, rule, query, q, this.deps.onQuery, true), shared: true };
      } catch (e) {
        if (!(e instanceof PrometheusError)) throw e;
        this.deps.log.debug('Prometheus rejected the shared query; sending the request its own', { rule: rule.origin.path, query, error: e.message });
      }
    }
    const query = this.renderObjectQuery(rule, q, series, names);
    return { query, samples: await this.runQuery(rule, query, q), shared: false };
  }

  /**
   * An external metric's samples: from the namespace's shared query, filtered
   * by the metric selector, when the rule is separable by the selector's keys
   * (rules/separability.ts); otherwise, or when Prometheus rejects the shared
   * query, from the request's own query.
   */
  private async evaluateExternal(rule: CompiledRule, series: string, q: ExternalMetricsQuery): Promise<{ query: string; samples: Sample[] }> {
    if (this.externalEvaluationMode(rule, q.metricSelector, q.namespace).shared) {
      let query: string;
      try {
        checkMetricSelector(q.metricSelector);
        query = renderExternalQuery(rule, { series, namespace: q.namespace, metricSelector: [] });
      } catch (e) {
        throw this.queryBuildError(e, rule, 'labelSelector');
      }
      try {
        const all = await runRuleQuery(this.deps.metrics, rule, query, q, this.deps.onQuery, true);
        return { query, samples: this.selectedSamples(all, q.metricSelector) };
      } catch (e) {
        if (!(e instanceof PrometheusError)) throw e;
        this.deps.log.debug('Prometheus rejected the shared query; sending the request its own', { rule: rule.origin.path, query, error: e.message });
      }
    }
    let query: string;
    try {
      query = renderExternalQuery(rule, { series, namespace: q.namespace, metricSelector: q.metricSelector });
    } catch (e) {
      throw this.queryBuildError(e, rule, 'labelSelector');
    }
    return { query, samples: await this.runQuery(rule, query, q) };
  }

  /**
   * The samples of a shared result a metric selector matches. An equality or
   * set requirement narrows through the result's index first, so a request
   * costs what its own answer holds, not the whole namespace.
   */
  private selectedSamples(samples: readonly Sample[], selector: readonly Requirement[]): Sample[] {
    const narrowing = selector.find((r) => r.operator === '=' || r.operator === '==' || r.operator === 'in');
    const candidates = narrowing ? this.samplesOf(samples, narrowing.key, narrowing.values) : samples;
    return candidates.filter((s) => matchesLabels(selector, s.labels));
  }

  /**
   * The samples of a shared result whose `label` has one of `values`, in the
   * result's order. The index (positions by value) is built once per result
   * and label: the query cache hands every request the same array.
   */
  private samplesOf(samples: readonly Sample[], label: string, values: readonly string[]): Sample[] {
    let byLabel = this.sharedIndexes.get(samples);
    if (!byLabel) {
      byLabel = new Map();
      this.sharedIndexes.set(samples, byLabel);
    }
    let byValue = byLabel.get(label);
    if (!byValue) {
      const index = new Map<string, number[]>();
      samples.forEach((s, at) => {
        const value = s.labels[label];
        if (value === undefined) return;
        const list = index.get(value);
        if (list) list.push(at);
        else index.set(value, [at]);
      });
      byLabel.set(label, index);
      byValue = index;
    }
    const found = byValue;
    const positions = [...new Set(values)].flatMap((v) => found.get(v) ?? []);
    if (values.length > 1) positions.sort((a, b) => a - b);
    return positions.map((at) => samples[at] as Sample);
  }

  /** How an external metric request with these selector keys is evaluated under `rule`; decided once per rule and key set. */
  externalEvaluationMode(rule: CompiledRule, selector: readonly Requirement[], namespace: string | undefined): EvaluationMode {
    const options = { sharedEvaluation: this.deps.sharedEvaluation ?? true, namespace };
    if (!options.sharedEvaluation || !namespace || selector.length === 0) return externalEvaluationModeOf(rule, [], options);
    let byKeys = this.externalModes.get(rule);
    if (!byKeys) {
      byKeys = new Map();
      this.externalModes.set(rule, byKeys);
    }
    const keys = [...new Set(selector.map((r) => r.key))].sort();
    const id = keys.join('\u0000');
    let mode = byKeys.get(id);
    if (!mode) {
      mode = externalEvaluationModeOf(rule, keys, options);
      // Keys come from requests: past the bound a mode is decided again each time rather than kept.
      if (byKeys.size < MAX_EXTERNAL_MODES) byKeys.set(id, mode);
    }
    return mode;
  }

  /** How wildcards for `resource` are evaluated under `rule`; decided once per rule and resource. */
  evaluationMode(rule: CompiledRule, resource: GroupResource, namespaced: boolean): EvaluationMode {
    let byResource = this.modes.get(rule);
    if (!byResource) {
      byResource = new Map();
      this.modes.set(rule, byResource);
    }
    const key = `${formatGroupResource(resource)}\u0000${String(namespaced)}`;
    let mode = byResource.get(key);
    if (!mode) {
      mode = evaluationModeOf(rule, resource, { sharedEvaluation: this.deps.sharedEvaluation ?? true, namespaced });
      byResource.set(key, mode);
    }
    return mode;
  }

  private renderObjectQuery(rule: CompiledRule, q: ObjectMetricsQuery, series: string, names: readonly string[]): string {
    const base = { series, resource: q.resource, namespace: q.namespace, names, metricSelector: q.metricSelector };
    try {
      return renderForNames((allNames) => renderMetricsQuery(rule, allNames ? { ...base, allNames } : base), names.length, this.deps);
    } catch (e) {
      throw this.queryBuildError(e, rule, 'metricLabelSelector');
    }
  }

  /** `selectorParam` is the query parameter the metric selector came in. */
  private queryBuildError(e: unknown, rule: CompiledRule, selectorParam: 'labelSelector' | 'metricLabelSelector'): Error {
    if (!(e instanceof QueryBuildError)) return e as Error;
    if (e.reason === 'unsupported-selector') return new BadRequestError(e.message);
    if (e.reason === 'invalid-label-name') {
      return new BadRequestError(`${selectorParam} ${e.message}; rule ${ruleName(rule)} matches selector keys against series labels, and no series label has such a name`);
    }
    return new UnavailableError(`rule ${ruleName(rule)} cannot serve this request: ${e.message}`);
  }

  private runQuery(rule: CompiledRule, query: string, options: QueryOptions): Promise<Sample[]> {
    return runRuleQuery(this.deps.metrics, rule, query, options, this.deps.onQuery);
  }

  private toQuantity(s: Sample, rule: CompiledRule, query: string, object: string): string | undefined {
    try {
      const { milli, capped } = toMilli(s.value);
      if (capped) this.deps.log.warn('value too large for a Quantity; capped', { rule: rule.origin.path, object, value: s.value });
      return formatMilli(milli);
    } catch (e) {
      if (!(e instanceof NonFiniteValueError)) throw e;
      this.deps.log.warn('left out a value that is not a finite number', { rule: rule.origin.path, object, value: String(s.value), query });
      return undefined;
    }
  }

  private windowOf(rule: CompiledRule): number | undefined {
    if (!this.windows.has(rule)) {
      let seconds: number | undefined;
      try {
        seconds = rangeSecondsOf(exampleRequest(rule).render());
      } catch {
        seconds = undefined;
      }
      this.windows.set(rule, seconds === undefined ? undefined : Math.round(seconds));
    }
    return this.windows.get(rule);
  }

  private async resourceKind(resource: GroupResource): Promise<ResourceKind> {
    const described = await this.deps.objects.describe(resource);
    if (described) return described;
    const known = this.deps
      .catalog()
      .find(resource.group, resource.resource)
      .find((r) => r.group === resource.group);
    if (known) return { kind: known.kind, apiVersion: apiVersionOf(known), namespaced: known.namespaced };
    // An unknown resource still gets a usable describedObject.
    const singular = resource.resource.replace(/s$/, '');
    return { kind: singular.charAt(0).toUpperCase() + singular.slice(1), apiVersion: resource.group ? `${resource.group}/v1` : 'v1', namespaced: true };
  }
}

/** A rule as errors name it: its path in the rule set and where it starts. */
export function ruleName(rule: { readonly origin: RuleOrigin }): string {
  return `${rule.origin.path} (${rule.origin.file}:${rule.origin.line})`;
}

function preview(items: readonly string[], max = 10): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

function knownMetricsHint(registry: MetricRegistry, resource: GroupResource): string {
  const prefix = `${formatGroupResource(resource)}/`;
  const known = [...registry.custom.keys()]
    .filter((k) => k.startsWith(prefix))
    .map((k) => k.slice(prefix.length))
    .sort();
  return known.length ? `; metrics known for it: ${preview(known)}` : '; no metric is discovered for it';
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',')}}`;
}
