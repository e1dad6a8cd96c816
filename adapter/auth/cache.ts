// A small expiring cache for TokenReview and SubjectAccessReview answers,
// as k8s.io/apiserver keeps them (token/cache and the webhook authorizer's
// LRUExpireCache): each entry has its own TTL, the oldest entries go first
// when the cache is full, and concurrent misses for one key share a single
// lookup so a burst of identical requests costs one API call.

export type Clock = () => number;

interface Entry<V> {
  readonly value: V;
  readonly expires: number;
}

export class ExpiringCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly inflight = new Map<string, Promise<V>>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: Clock = Date.now,
  ) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.now() >= e.expires) {
      this.entries.delete(key);
      return undefined;
    }
    // Re-insert so Map order approximates least-recently used.
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const now = this.now();
      for (const [k, e] of this.entries) if (now >= e.expires) this.entries.delete(k);
      while (this.entries.size >= this.maxEntries) {
        const oldest = this.entries.keys().next();
        if (oldest.done) break;
        this.entries.delete(oldest.value);
      }
    }
    this.entries.set(key, { value, expires: this.now() + ttlMs });
  }

  /**
   * The cached value, or the result of `load`, shared with every concurrent
   * caller for the same key. `ttl` decides, per result, how long to keep it
   * (0 or less: not at all). A rejection is not cached.
   */
  async getOrLoad(key: string, load: () => Promise<V>, ttl: (value: V) => number): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const p = load().then((value) => {
      this.set(key, value, ttl(value));
      return value;
    });
    this.inflight.set(key, p);
    try {
      return await p;
    } finally {
      this.inflight.delete(key);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
