// The one cache for values that are costly to build and asked for by many
// callers at once: Prometheus query results, whole answers, and the
// TokenReview and SubjectAccessReview answers of delegated auth. Three
// things in one place:
//
// - a TTL per value, and a bound on the bytes all kept values hold together
//   (or on their number), least recently used first out, so memory stays
//   flat however many distinct URLs are asked for (a 5,000-pod answer is
//   about 1 MB of JSON, and its query result about as much again on the heap);
// - identical loads in flight share one call, however many callers ask;
// - callers are counted: one that leaves (its signal aborts) gets its own
//   rejection at once, and when the last one has left the shared load is
//   aborted, so a query nobody waits for stops instead of running on.
//
// Storage is lru-cache (maxSize, sizeCalculation by the caller, a TTL per
// entry, a pluggable clock). Its own fetch() also shares loads, but aborts a
// shared load when the first caller's signal aborts, failing every other
// caller with it, and ignores the signals of callers that join later; so the
// in-flight part is ours. It replaces node-cache, which has no byte bound
// (its maxKeys refuses new keys rather than evict old ones), and is faster
// on a hit: 48-103 ns a get against node-cache's 132-143 ns (2 million gets
// over 200 keys of 2 KB values, Node 20).
import { LRUCache } from 'lru-cache';

/**
 * 64 MiB: about thirty answers for 5,000 pods each with their query
 * results, or tens of thousands of ordinary ones (a few KB each). With the
 * ~95 MB the idle service holds, that stays inside the deployment's 256Mi
 * memory limit and the 160 MB it gives V8's old space
 * (deploy/kustomize/base/deployment.yaml).
 */
export const DEFAULT_CACHE_MAX_BYTES = 64 * 1024 * 1024;

/** Per-entry bookkeeping (lru-cache's slots, the entry's objects), beyond key and value. */
const ENTRY_OVERHEAD_BYTES = 64;

interface CacheStoreBounds {
  /** Upper bound of the summed sizes of the kept entries; 0 keeps nothing. */
  readonly maxBytes?: number;
  /** Upper bound of the number of kept entries; 0 keeps nothing. */
  readonly maxEntries?: number;
  /** Milliseconds on a monotonic clock; for tests. */
  readonly now?: () => number;
}

/** At least one bound. */
type CacheStoreOptions = CacheStoreBounds & ({ readonly maxBytes: number } | { readonly maxEntries: number });

/**
 * Bounded storage with a TTL per entry. Every LoadingCache built on one
 * store counts against the same bound.
 */
export class CacheStore {
  private readonly lru: LRUCache<string, NonNullable<unknown>> | undefined;
  private readonly countsBytes: boolean;

  constructor(options: CacheStoreOptions) {
    const { now, maxBytes, maxEntries } = options as CacheStoreBounds;
    this.countsBytes = maxBytes !== undefined;
    const bounds = maxBytes !== undefined ? { maxSize: maxBytes, ...(maxEntries !== undefined ? { max: maxEntries } : {}) } : { max: maxEntries ?? 0 };
    this.lru =
      maxBytes !== 0 && maxEntries !== 0
        ? new LRUCache<string, NonNullable<unknown>>({
            ...bounds,
            // Expired entries are dropped when they expire, not when next
            // asked for, so their memory goes back and `bytes` is what is held.
            ttlAutopurge: true,
            // A given clock is read on every check (lru-cache otherwise
            // reuses a reading for 1 ms, on a real timer).
            ...(now ? { perf: { now }, ttlResolution: 0 } : {}),
          })
        : undefined;
  }

  get(key: string): unknown {
    if (!this.lru) return undefined;
    const value = this.lru.get(key);
    // lru-cache still serves an entry at the instant its TTL ends;
    // k8s.io/apimachinery's Expiring cache, which the auth caches follow,
    // does not (an entry expires once now is not before its expiry).
    if (value !== undefined && this.lru.getRemainingTTL(key) <= 0) {
      this.lru.delete(key);
      return undefined;
    }
    return value;
  }

  /**
   * Keeps a value for `ttlMs`; one larger than the whole byte bound is not
   * kept. The size counts only in a store bounded by bytes.
   */
  set(key: string, value: NonNullable<unknown>, sizeBytes: number, ttlMs: number): void {
    if (!this.lru || ttlMs <= 0) return;
    if (!this.countsBytes) {
      this.lru.set(key, value, { ttl: ttlMs });
      return;
    }
    const size = Math.max(1, Math.ceil(sizeBytes) + key.length + ENTRY_OVERHEAD_BYTES);
    // lru-cache refuses (and drops any older value of the key) when one entry exceeds maxSize.
    this.lru.set(key, value, { size, ttl: ttlMs });
  }

  /** The keys held, namespaces included. */
  keys(): string[] {
    return [...(this.lru?.keys() ?? [])];
  }

  /** Summed sizes of the entries held. */
  get bytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }

  get entries(): number {
    return this.lru?.size ?? 0;
  }

  clear(): void {
    this.lru?.clear();
  }
}

export interface CacheStats {
  hits: number;
  /** Loads started. */
  misses: number;
  /** Callers that joined a load already in flight. */
  coalesced: number;
}

interface LoadingCacheOptions<V> {
  readonly store: CacheStore;
  /** Keeps the keys of this cache apart from other caches' in the same store. */
  readonly namespace: string;
  /**
   * How long a loaded value is kept, for all values or chosen per value; 0
   * keeps none, and loads in flight are still shared.
   */
  readonly ttlMs: number | ((value: V) => number);
  /** An estimate of the heap bytes a value holds; needed when the store is bounded by bytes. */
  readonly sizeOf?: (value: V) => number;
}

interface Load<V> {
  readonly result: Promise<V>;
  readonly controller: AbortController;
  /** Callers still waiting; a caller without a signal never leaves. */
  waiters: number;
}

export class LoadingCache<V extends NonNullable<unknown>> {
  readonly stats: CacheStats = { hits: 0, misses: 0, coalesced: 0 };
  private readonly loads = new Map<string, Load<V>>();
  private readonly prefix: string;

  constructor(private readonly options: LoadingCacheOptions<V>) {
    this.prefix = `${options.namespace}\u0000`;
  }

  /** The kept value, if any. */
  cached(key: string): V | undefined {
    const value = this.options.store.get(this.prefix + key) as V | undefined;
    if (value !== undefined) this.stats.hits++;
    return value;
  }

  /**
   * The kept value, or the result of `load`, shared with every caller asking
   * for the same key meanwhile. `load` gets a signal that aborts once every
   * caller has left; a caller leaves when its own `signal` aborts, and is
   * rejected with that signal's reason at once. A rejection is not kept.
   */
  get(key: string, load: (signal: AbortSignal) => Promise<V>, signal?: AbortSignal): Promise<V> {
    const hit = this.cached(key);
    if (hit !== undefined) return Promise.resolve(hit);
    if (signal?.aborted) return Promise.reject(signal.reason);
    let pending = this.loads.get(key);
    if (pending) {
      this.stats.coalesced++;
    } else {
      this.stats.misses++;
      pending = this.start(key, load);
    }
    return this.wait(key, pending, signal);
  }

  /** Loads in flight. */
  get inFlight(): number {
    return this.loads.size;
  }

  private keep(key: string, value: V): void {
    const { ttlMs, sizeOf } = this.options;
    this.options.store.set(this.prefix + key, value, sizeOf?.(value) ?? 0, typeof ttlMs === 'function' ? ttlMs(value) : ttlMs);
  }

  private start(key: string, load: (signal: AbortSignal) => Promise<V>): Load<V> {
    const controller = new AbortController();
    let result: Promise<V>;
    try {
      result = load(controller.signal);
    } catch (e) {
      result = Promise.reject(e);
    }
    const entry: Load<V> = {
      controller,
      waiters: 0,
      result: result.then(
        (value) => {
          if (this.loads.get(key) === entry) this.loads.delete(key);
          if (!controller.signal.aborted) this.keep(key, value);
          return value;
        },
        (e: unknown) => {
          if (this.loads.get(key) === entry) this.loads.delete(key);
          throw e;
        },
      ),
    };
    // An abandoned load may still reject with nobody listening.
    entry.result.catch(() => undefined);
    this.loads.set(key, entry);
    return entry;
  }

  private wait(key: string, entry: Load<V>, signal: AbortSignal | undefined): Promise<V> {
    entry.waiters++;
    if (!signal) return entry.result;
    return new Promise<V>((resolve, reject) => {
      const leave = (): void => {
        reject(signal.reason);
        entry.waiters--;
        if (entry.waiters > 0) return;
        // The next caller starts afresh rather than joining a load being stopped.
        if (this.loads.get(key) === entry) this.loads.delete(key);
        entry.controller.abort(new DOMException('every caller of this load has gone', 'AbortError'));
      };
      signal.addEventListener('abort', leave, { once: true });
      entry.result.then(
        (value) => {
          signal.removeEventListener('abort', leave);
          resolve(value);
        },
        (e: unknown) => {
          signal.removeEventListener('abort', leave);
          reject(e);
        },
      );
    });
  }
}
