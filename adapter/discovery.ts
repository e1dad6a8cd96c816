// Metric discovery: which metrics exist, for which resources. Each distinct
// seriesQuery is fetched once per relist (custom and external rules share
// it), and only metric names and label-name sets are kept, never the series
// themselves. A failed relist keeps the last good answer for that query.
import type { CompiledRule } from '../rules/compile.js';
import type { RuleSet } from '../rules/load.js';
import { metricNameForSeries } from '../rules/naming.js';
import { formatGroupResource, NAMESPACES, type GroupResource, type ResourceCatalog } from '../rules/resources.js';
import type { Logger } from './log.js';
import type { MetricsSource } from './prometheus.js';
import type { SeriesSummary } from './series-stream.js';

interface DiscoveredMetric {
  readonly metric: string;
  /** The Prometheus series name (`.Series` in templates). */
  readonly series: string;
  readonly rule: CompiledRule;
}

interface CustomMetric extends DiscoveredMetric {
  readonly resource: GroupResource;
  readonly namespaced: boolean;
}

export interface MetricRegistry {
  /** Keyed by `resource[.group]/metric`. */
  readonly custom: ReadonlyMap<string, CustomMetric>;
  readonly external: ReadonlyMap<string, DiscoveredMetric>;
  /** Metrics two rules (or two series) both publish; the first rule in load order wins. */
  readonly conflicts: readonly string[];
  readonly builtAt: Date;
}

export function customMetricKey(resource: GroupResource, metric: string): string {
  return `${formatGroupResource(resource)}/${metric}`;
}

// Resources Kubernetes serves at the cluster scope whatever labels a series has.
const ROOT_SCOPED = new Set(['namespaces', 'nodes', 'persistentvolumes']);

function isNamespaced(catalog: ResourceCatalog, gr: GroupResource, seriesHasNamespace: boolean): boolean {
  if (gr.group === '' && ROOT_SCOPED.has(gr.resource)) return false;
  const known = catalog.find(gr.group, gr.resource).find((r) => r.group === gr.group);
  return known ? known.namespaced : seriesHasNamespace;
}

/**
 * Builds the registry from the series summaries of one relist. Pure: the
 * same rules and summaries always give the same registry.
 */
export function buildRegistry(rules: RuleSet, summaries: ReadonlyMap<string, SeriesSummary>, catalog: ResourceCatalog, builtAt = new Date()): MetricRegistry {
  const custom = new Map<string, CustomMetric>();
  const external = new Map<string, DiscoveredMetric>();
  const conflicts: string[] = [];
  const where = (r: CompiledRule): string => `${r.origin.path} (${r.origin.file}:${r.origin.line})`;
  // One scope per resource, from the first series published for it: the
  // aggregator drops a group-version that lists a resource both ways, and
  // the provider must check requests against the scope discovery shows.
  const scopes = new Map<string, { namespaced: boolean; series: string }>();

  for (const rule of rules.rules) {
    const summary = summaries.get(rule.seriesQuery);
    if (!summary) continue;
    for (const [series, labelNames] of summary.labelNames) {
      const metric = metricNameForSeries(rule, series);
      if (metric === undefined) continue;
      const resources: GroupResource[] = [];
      let hasNamespace = false;
      for (const label of labelNames) {
        const gr = rule.resources.resourceFor(label);
        if (!gr) continue;
        if (gr.group === '' && gr.resource === NAMESPACES.resource) hasNamespace = true;
        resources.push(gr);
      }
      for (const gr of resources) {
        const key = customMetricKey(gr, metric);
        const existing = custom.get(key);
        if (existing) {
          if (existing.rule !== rule || existing.series !== series) {
            conflicts.push(`metric ${metric} for ${formatGroupResource(gr)}: ${where(existing.rule)} series ${existing.series} wins over ${where(rule)} series ${series}`);
          }
          continue;
        }
        const parent = formatGroupResource(gr);
        const own = isNamespaced(catalog, gr, hasNamespace);
        const scope = scopes.get(parent) ?? { namespaced: own, series };
        scopes.set(parent, scope);
        if (scope.namespaced !== own) {
          conflicts.push(
            `metric ${metric} for ${parent}: series ${series} ${own ? 'has' : 'lacks'} a namespace label, but ${parent} is served ${scope.namespaced ? 'namespaced' : 'cluster-scoped'} as series ${scope.series} made it first`,
          );
        }
        custom.set(key, { metric, series, rule, resource: gr, namespaced: scope.namespaced });
      }
    }
  }

  for (const rule of rules.externalRules) {
    const summary = summaries.get(rule.seriesQuery);
    if (!summary) continue;
    for (const series of summary.labelNames.keys()) {
      const metric = metricNameForSeries(rule, series);
      if (metric === undefined) continue;
      const existing = external.get(metric);
      if (existing) {
        if (existing.rule !== rule || existing.series !== series) {
          conflicts.push(`external metric ${metric}: ${where(existing.rule)} series ${existing.series} wins over ${where(rule)} series ${series}`);
        }
        continue;
      }
      external.set(metric, { metric, series, rule });
    }
  }
  return { custom, external, conflicts, builtAt };
}

export interface DiscoveryStatus {
  readonly lastSuccess: Date | undefined;
  readonly lastAttempt: Date | undefined;
  /** Errors of the last relist, one per failed seriesQuery. */
  readonly errors: readonly string[];
  readonly failedRelists: number;
  readonly lastDurationSeconds: number | undefined;
  readonly customMetrics: number;
  readonly externalMetrics: number;
}

export interface DiscoveryOptions {
  readonly intervalMs: number;
  /** How far back series count as present (reference: --metrics-max-age). */
  readonly lookbackSeconds: number;
  /** Deadline for one seriesQuery. */
  readonly timeoutMs: number;
  /** seriesQueries fetched at once. */
  readonly concurrency?: number;
}

export class MetricDiscovery {
  private registryValue: MetricRegistry | undefined;
  private readonly lastGood = new Map<string, SeriesSummary>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** The rule set the relist under way read. */
  private runningRules: RuleSet | undefined;
  private followUp: Promise<void> | undefined;
  private state: DiscoveryStatus = {
    lastSuccess: undefined,
    lastAttempt: undefined,
    errors: [],
    failedRelists: 0,
    lastDurationSeconds: undefined,
    customMetrics: 0,
    externalMetrics: 0,
  };

  constructor(
    private readonly source: MetricsSource,
    private readonly rules: () => RuleSet | undefined,
    private readonly catalog: () => ResourceCatalog,
    private readonly options: DiscoveryOptions,
    private readonly log: Logger,
  ) {}

  get registry(): MetricRegistry | undefined {
    return this.registryValue;
  }

  get status(): DiscoveryStatus {
    return this.state;
  }

  start(): void {
    void this.relist();
    this.timer = setInterval(() => void this.relist(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Runs one relist now; a call during a relist waits for that one, or,
   * when the rules changed since it started, for one more with the new rules.
   */
  relist(): Promise<void> {
    if (this.running && this.rules() !== this.runningRules) {
      // Joining would leave the new rules undiscovered for a whole interval.
      const next = (): Promise<void> => {
        this.followUp = undefined;
        return this.relist();
      };
      this.followUp ??= this.running.then(next, next);
      return this.followUp;
    }
    this.running ??= this.relistOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async relistOnce(): Promise<void> {
    const rules = this.rules();
    this.runningRules = rules;
    if (!rules) return;
    const started = Date.now();
    const queries = [...new Set([...rules.rules, ...rules.externalRules].map((r) => r.seriesQuery))];
    const summaries = new Map<string, SeriesSummary>();
    const errors: string[] = [];
    // Zero workers would fetch nothing and still report success.
    const limit = Math.max(1, this.options.concurrency ?? 4);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < queries.length) {
        const query = queries[next++] as string;
        try {
          const summary = await this.source.series(query, this.options.lookbackSeconds, { deadline: Date.now() + this.options.timeoutMs });
          this.lastGood.set(query, summary);
          summaries.set(query, summary);
        } catch (e) {
          errors.push(`series query ${query}: ${(e as Error).message}`);
          const previous = this.lastGood.get(query);
          if (previous) summaries.set(query, previous);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, queries.length) }, worker));
    for (const q of this.lastGood.keys()) if (!queries.includes(q)) this.lastGood.delete(q);

    const now = new Date();
    const everyQueryFailed = errors.length > 0 && errors.length === queries.length;
    // With nothing fetched and nothing remembered, keep the previous registry
    // (or none, so requests get 503 "not ready" rather than 404 "no metric").
    if (!(everyQueryFailed && summaries.size === 0)) {
      this.registryValue = buildRegistry(rules, summaries, this.catalog(), now);
      for (const c of this.registryValue.conflicts) this.log.warn('metric published twice; the first rule wins', { conflict: c });
    }
    for (const e of errors) this.log.error('discovery failed for a series query; keeping its last good result', { error: e });
    this.state = {
      lastSuccess: errors.length === 0 ? now : this.state.lastSuccess,
      lastAttempt: now,
      errors,
      failedRelists: this.state.failedRelists + (errors.length > 0 ? 1 : 0),
      lastDurationSeconds: (Date.now() - started) / 1000,
      customMetrics: this.registryValue?.custom.size ?? 0,
      externalMetrics: this.registryValue?.external.size ?? 0,
    };
  }
}
