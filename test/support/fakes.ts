// In-memory stand-ins for the adapter's narrow ports (MetricsSource,
// ObjectLister, Logger), so provider and discovery logic can be tested
// without Prometheus or a Kubernetes API. Each fake records what it was
// asked, so tests can assert on the exact queries sent.
import type { LogFields, Logger } from '../../adapter/log.js';
import type { ObjectLister, ObjectRef, ResourceKind } from '../../adapter/objects/types.js';
import type { MetricsSource, QueryOptions, Sample } from '../../adapter/prometheus.js';
import type { SeriesSummary } from '../../adapter/series-stream.js';
import type { Requirement } from '../../k8s/label-selector.js';
import { selectorMatches } from './selector-oracle.js';
import { formatGroupResource, type GroupResource } from '../../rules/resources.js';

/**
 * A summary as discovery sees it: metric name -> label names (without
 * __name__), both sorted as the streaming summarizer returns them.
 */
export function seriesSummary(labelNames: Readonly<Record<string, readonly string[]>>): SeriesSummary {
  const metrics = Object.keys(labelNames).sort();
  return {
    labelNames: new Map(metrics.map((metric) => [metric, [...(labelNames[metric] ?? [])].sort()])),
    labelValues: new Map(),
    seriesCount: Object.keys(labelNames).length,
  };
}

export function sample(labels: Record<string, string>, value: number, timestampMs = 1_700_000_000_000): Sample {
  return { labels, value, timestampMs };
}

/** A promise settled from outside, for holding calls in flight. */
export interface Gate<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function gate<T>(): Gate<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

type Answer<T> = T | Error | ((options: QueryOptions) => T | Promise<T>);

export interface SeriesCall {
  readonly match: string;
  readonly lookbackSeconds: number;
  readonly options: QueryOptions;
}

/**
 * Answers queries and series lookups from tables keyed by the exact text
 * sent. Anything not in a table is an error naming it, so a test that sends
 * an unexpected query fails loudly instead of getting an empty answer.
 */
export class FakeMetricsSource implements MetricsSource {
  readonly queries: string[] = [];
  readonly seriesCalls: SeriesCall[] = [];
  /** Calls (query or series) currently waiting for their answer. */
  inFlight = 0;
  maxInFlight = 0;
  /** Fallback for queries missing from the table. */
  onQuery: ((promql: string) => Sample[] | Promise<Sample[]>) | undefined;

  private readonly queryAnswers = new Map<string, Answer<Sample[]>>();
  private readonly seriesAnswers = new Map<string, Answer<SeriesSummary>>();

  answerQuery(promql: string, answer: Answer<Sample[]>): this {
    this.queryAnswers.set(promql, answer);
    return this;
  }

  answerSeries(match: string, answer: Answer<SeriesSummary>): this {
    this.seriesAnswers.set(match, answer);
    return this;
  }

  async query(promql: string, options: QueryOptions): Promise<Sample[]> {
    this.queries.push(promql);
    const answer = this.queryAnswers.get(promql);
    if (answer === undefined) {
      const fallback = this.onQuery;
      if (fallback) return this.track(async () => fallback(promql));
      throw new Error(`FakeMetricsSource: no answer for query ${promql}`);
    }
    return this.track(() => settle(answer, options));
  }

  async series(match: string, lookbackSeconds: number, options: QueryOptions): Promise<SeriesSummary> {
    this.seriesCalls.push({ match, lookbackSeconds, options });
    const answer = this.seriesAnswers.get(match);
    if (answer === undefined) throw new Error(`FakeMetricsSource: no answer for series ${match}`);
    return this.track(() => settle(answer, options));
  }

  private async track<T>(run: () => Promise<T>): Promise<T> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await run();
    } finally {
      this.inFlight--;
    }
  }
}

async function settle<T>(answer: Answer<T>, options: QueryOptions): Promise<T> {
  if (answer instanceof Error) throw answer;
  if (typeof answer === 'function') return (answer as (o: QueryOptions) => T | Promise<T>)(options);
  return answer;
}

export interface FakeObject extends ObjectRef {
  readonly resource: GroupResource;
}

export interface ListCall {
  readonly resource: string;
  readonly namespace: string | undefined;
  readonly selector: readonly Requirement[];
}

/** Objects held in memory; list() filters by resource, namespace and selector like a real source. */
export class FakeObjectLister implements ObjectLister {
  readonly listCalls: ListCall[] = [];
  private readonly objects: FakeObject[] = [];
  private readonly kinds = new Map<string, ResourceKind>();

  add(resource: GroupResource, namespace: string | undefined, name: string, labels: Record<string, string> = {}): this {
    this.objects.push({ resource, name, labels, ...(namespace !== undefined ? { namespace } : {}) });
    return this;
  }

  /** What describe() answers for a resource; unknown resources answer undefined. */
  setKind(resource: GroupResource, kind: ResourceKind): this {
    this.kinds.set(formatGroupResource(resource), kind);
    return this;
  }

  async list(resource: GroupResource, namespace: string | undefined, selector: readonly Requirement[]): Promise<ObjectRef[]> {
    this.listCalls.push({ resource: formatGroupResource(resource), namespace, selector });
    return this.objects
      .filter(
        (o) =>
          formatGroupResource(o.resource) === formatGroupResource(resource) &&
          // No namespace lists every namespace, as the watch cache does for namespaced resources.
          (namespace === undefined || o.namespace === namespace) &&
          selectorMatches(selector, o.labels),
      )
      .map(({ name, namespace: ns, labels }) => ({ name, labels, ...(ns !== undefined ? { namespace: ns } : {}) }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async describe(resource: GroupResource): Promise<ResourceKind | undefined> {
    return this.kinds.get(formatGroupResource(resource));
  }

  notReadyReason(): string | undefined {
    return undefined;
  }

  close(): void {}
}

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: LogFields | undefined;
}

export class RecordingLogger implements Logger {
  readonly entries: LogEntry[] = [];

  debug(message: string, fields?: LogFields): void {
    this.entries.push({ level: 'debug', message, fields });
  }

  info(message: string, fields?: LogFields): void {
    this.entries.push({ level: 'info', message, fields });
  }

  warn(message: string, fields?: LogFields): void {
    this.entries.push({ level: 'warn', message, fields });
  }

  error(message: string, fields?: LogFields): void {
    this.entries.push({ level: 'error', message, fields });
  }

  /** Children record into the same list, so tests see every line. */
  child(): Logger {
    return this;
  }

  at(level: LogEntry['level']): LogEntry[] {
    return this.entries.filter((e) => e.level === level);
  }
}
