// Every HPA asks every 15 s, and many HPAs ask the same thing. Identical
// queries in flight share one Prometheus call, and answers are kept for a
// short TTL (0 disables the cache but keeps the sharing).
import NodeCache from 'node-cache';
import type { MetricsSource, QueryOptions, Sample } from './prometheus.js';
import type { SeriesSummary } from './series-stream.js';

export interface CacheStats {
  hits: number;
  misses: number;
  /** Requests that joined a query already in flight. */
  coalesced: number;
}

export class CachingMetricsSource implements MetricsSource {
  private readonly cache: NodeCache | undefined;
  private readonly inFlight = new Map<string, Promise<Sample[]>>();
  readonly stats: CacheStats = { hits: 0, misses: 0, coalesced: 0 };

  constructor(
    private readonly source: MetricsSource,
    ttlSeconds: number,
  ) {
    // useClones: false because samples are never mutated, and cloning would
    // cost more than the query it saves on large results.
    this.cache = ttlSeconds > 0 ? new NodeCache({ stdTTL: ttlSeconds, checkperiod: Math.max(1, ttlSeconds * 2), useClones: false }) : undefined;
  }

  query(promql: string, options: QueryOptions): Promise<Sample[]> {
    const cached = this.cache?.get<Sample[]>(promql);
    if (cached) {
      this.stats.hits++;
      return Promise.resolve(cached);
    }
    const pending = this.inFlight.get(promql);
    if (pending) {
      this.stats.coalesced++;
      return pending;
    }
    this.stats.misses++;
    const call = this.source
      .query(promql, options)
      .then((samples) => {
        this.cache?.set(promql, samples);
        return samples;
      })
      .finally(() => this.inFlight.delete(promql));
    this.inFlight.set(promql, call);
    return call;
  }

  series(match: string, lookbackSeconds: number, options: QueryOptions): Promise<SeriesSummary> {
    return this.source.series(match, lookbackSeconds, options);
  }

  close(): void {
    this.cache?.close();
  }
}
