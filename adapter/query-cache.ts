// Every HPA asks every 15 s, and many HPAs ask the same thing. Identical
// queries in flight share one Prometheus call, answers are kept for a short
// TTL (0 disables the cache but keeps the sharing) within the store's byte
// bound, and a query every caller has left is stopped.
import { CacheStore, DEFAULT_CACHE_MAX_BYTES, LoadingCache, type CacheStats } from './cache.js';
import type { MetricsSource, QueryOptions, Sample } from './prometheus.js';
import type { SeriesSummary } from './series-stream.js';

export type { CacheStats } from './cache.js';

/**
 * Heap bytes a result holds, estimated from its shape: measured on Node 20,
 * a sample with two labels (39 characters in all) holds about 170 bytes; this
 * counts 183 for it, so the bound errs on the safe side.
 */
function sizeOfSamples(samples: readonly Sample[]): number {
  let bytes = 16;
  for (const s of samples) {
    bytes += 80;
    for (const key in s.labels) bytes += 32 + key.length + (s.labels[key] as string).length;
  }
  return bytes;
}

export class CachingMetricsSource implements MetricsSource {
  private readonly results: LoadingCache<Sample[]>;
  /** A store made here, for want of a shared one, is cleared on close. */
  private readonly ownStore: CacheStore | undefined;

  /** `store` holds the results within its byte bound; default: one of their own with the default bound. */
  constructor(
    private readonly source: MetricsSource,
    ttlSeconds: number,
    store?: CacheStore,
  ) {
    const held = store ?? new CacheStore({ maxBytes: ttlSeconds > 0 ? DEFAULT_CACHE_MAX_BYTES : 0 });
    this.ownStore = store ? undefined : held;
    // Samples are shared, never copied: nothing mutates them, and copying
    // would cost more than the query it saves on large results.
    this.results = new LoadingCache<Sample[]>({ store: held, namespace: 'queries', ttlMs: ttlSeconds * 1000, sizeOf: sizeOfSamples });
  }

  get stats(): CacheStats {
    return this.results.stats;
  }

  query(promql: string, options: QueryOptions): Promise<Sample[]> {
    // The first caller's deadline bounds the shared call; its signal aborts
    // once every caller has left.
    return this.results.get(promql, (signal) => this.source.query(promql, { deadline: options.deadline, signal }), options.signal);
  }

  series(match: string, lookbackSeconds: number, options: QueryOptions): Promise<SeriesSummary> {
    return this.source.series(match, lookbackSeconds, options);
  }

  close(): void {
    this.ownStore?.clear();
  }
}
