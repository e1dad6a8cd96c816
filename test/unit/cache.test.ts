// The generic cache: a byte or entry bound with least-recently-used eviction, a TTL,
// shared loads in flight, and callers counted so the last one leaving stops
// the load.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CacheStore, LoadingCache } from '../../adapter/cache.js';
import { gate } from '../support/fakes.js';

/** A clock the test moves by hand. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function textCache(store: CacheStore, ttlMs = 60_000): LoadingCache<string> {
  return new LoadingCache<string>({ store, namespace: 'test', ttlMs, sizeOf: (text) => text.length });
}

/** Loads that count their calls and answer `value`. */
function counted(value: (key: string) => string): { load: (key: string) => () => Promise<string>; calls: string[] } {
  const calls: string[] = [];
  return { calls, load: (key) => async () => (calls.push(key), value(key)) };
}

describe('cache store and loading cache', () => {
  test('filling the cache past its byte bound evicts the least recently used entries and keeps the bytes under the bound', async () => {
    const store = new CacheStore({ maxBytes: 10_000 });
    const cache = textCache(store);
    const { load, calls } = counted(() => 'x'.repeat(1_000));
    for (let i = 0; i < 30; i++) await cache.get(`k${i}`, load(`k${i}`));
    assert.ok(store.bytes <= 10_000, `${store.bytes} bytes held`);
    assert.ok(store.entries >= 5 && store.entries < 30, `${store.entries} entries held`);
    await cache.get('k29', load('k29'));
    await cache.get('k0', load('k0'));
    assert.deepEqual(calls.slice(30), ['k0'], 'the newest entry is still held, the oldest was evicted');
  });

  test('a value larger than the whole bound is served but not kept', async () => {
    const store = new CacheStore({ maxBytes: 10_000 });
    const cache = textCache(store);
    const { load, calls } = counted(() => 'x'.repeat(20_000));
    assert.equal((await cache.get('big', load('big'))).length, 20_000);
    assert.equal(store.bytes, 0);
    await cache.get('big', load('big'));
    assert.equal(calls.length, 2);
  });

  test('a value expires after its TTL', async () => {
    const clock = manualClock();
    const cache = textCache(new CacheStore({ maxBytes: 10_000, now: clock.now }), 5_000);
    const { load, calls } = counted((k) => `value of ${k}`);
    await cache.get('k', load('k'));
    clock.advance(4_900);
    assert.equal(cache.cached('k'), 'value of k');
    clock.advance(200);
    assert.equal(cache.cached('k'), undefined);
    await cache.get('k', load('k'));
    assert.equal(calls.length, 2);
  });

  test("a value is gone the moment its TTL has passed, as in k8s.io/apimachinery's expiring cache", async () => {
    const clock = manualClock();
    const cache = textCache(new CacheStore({ maxBytes: 10_000, now: clock.now }), 5_000);
    await cache.get('k', async () => 'v');
    clock.advance(4_999);
    assert.equal(cache.cached('k'), 'v');
    clock.advance(1);
    assert.equal(cache.cached('k'), undefined);
  });

  test('a TTL chosen per value keeps each value its own time, and a TTL of 0 keeps that value not at all', async () => {
    const clock = manualClock();
    const store = new CacheStore({ maxBytes: 10_000, now: clock.now });
    const cache = new LoadingCache<string>({ store, namespace: 'test', ttlMs: (v) => (v === 'allowed' ? 10_000 : v === 'denied' ? 1_000 : 0), sizeOf: (t) => t.length });
    for (const v of ['allowed', 'denied', 'failed']) await cache.get(v, async () => v);
    assert.deepEqual(
      ['allowed', 'denied', 'failed'].map((k) => cache.cached(k)),
      ['allowed', 'denied', undefined],
    );
    clock.advance(1_000);
    assert.deepEqual(
      ['allowed', 'denied'].map((k) => cache.cached(k)),
      ['allowed', undefined],
    );
  });

  test('a store bounded by entries drops the least recently used entry when full', async () => {
    const store = new CacheStore({ maxEntries: 2 });
    const cache = new LoadingCache<number>({ store, namespace: 'test', ttlMs: 60_000 });
    await cache.get('a', async () => 1);
    await cache.get('b', async () => 2);
    cache.cached('a');
    await cache.get('c', async () => 3);
    assert.deepEqual(
      ['a', 'b', 'c'].map((k) => cache.cached(k)),
      [1, undefined, 3],
    );
  });

  test('a TTL of 0 keeps nothing', async () => {
    const store = new CacheStore({ maxBytes: 10_000 });
    const cache = textCache(store, 0);
    const { load, calls } = counted(() => 'v');
    await cache.get('k', load('k'));
    await cache.get('k', load('k'));
    assert.deepEqual([calls.length, store.entries], [2, 0]);
  });

  test('a bound of 0 bytes keeps nothing', async () => {
    const store = new CacheStore({ maxBytes: 0 });
    const cache = textCache(store);
    const { load, calls } = counted(() => 'v');
    await cache.get('k', load('k'));
    await cache.get('k', load('k'));
    assert.deepEqual([calls.length, store.entries], [2, 0]);
  });

  test('caches on one store count against its one bound, and their keys do not collide', async () => {
    const store = new CacheStore({ maxBytes: 10_000 });
    const answers = new LoadingCache<string>({ store, namespace: 'answers', ttlMs: 60_000, sizeOf: (t) => t.length });
    const queries = new LoadingCache<string>({ store, namespace: 'queries', ttlMs: 60_000, sizeOf: (t) => t.length });
    await answers.get('k', async () => 'a'.repeat(4_000));
    await queries.get('k', async () => 'q'.repeat(4_000));
    assert.deepEqual([answers.cached('k')?.[0], queries.cached('k')?.[0], store.entries], ['a', 'q', 2]);
    await queries.get('k2', async () => 'q'.repeat(4_000));
    assert.equal(answers.cached('k'), undefined, 'the least recently used entry of either cache goes first');
  });

  test('identical loads in flight share one call, and the value reaches every caller', async () => {
    const g = gate<string>();
    let calls = 0;
    const cache = textCache(new CacheStore({ maxBytes: 10_000 }));
    const waiting = Array.from({ length: 5 }, () =>
      cache.get('k', () => {
        calls++;
        return g.promise;
      }),
    );
    g.resolve('v');
    assert.deepEqual(await Promise.all(waiting), ['v', 'v', 'v', 'v', 'v']);
    assert.equal(calls, 1);
    assert.deepEqual(cache.stats, { hits: 0, misses: 1, coalesced: 4 });
  });

  test('a rejected load fails every caller, is not kept, and the next call loads again', async () => {
    const g = gate<string>();
    const cache = textCache(new CacheStore({ maxBytes: 10_000 }));
    const boom = new Error('boom');
    const waiting = [cache.get('k', () => g.promise), cache.get('k', () => g.promise)];
    g.reject(boom);
    for (const w of waiting) await assert.rejects(w, (e) => e === boom);
    assert.equal(await cache.get('k', async () => 'v'), 'v');
    assert.equal(cache.inFlight, 0);
  });

  test('a caller that leaves is rejected at once with its own reason, and the load goes on for the others', async () => {
    const g = gate<string>();
    let loadSignal: AbortSignal | undefined;
    const cache = textCache(new CacheStore({ maxBytes: 10_000 }));
    const leaving = new AbortController();
    const staying = new AbortController();
    const load = (signal: AbortSignal): Promise<string> => {
      loadSignal = signal;
      return g.promise;
    };
    const first = cache.get('k', load, leaving.signal);
    const second = cache.get('k', load, staying.signal);
    const reason = new Error('client gone');
    leaving.abort(reason);
    await assert.rejects(first, (e) => e === reason);
    assert.equal(loadSignal?.aborted, false);
    g.resolve('v');
    assert.equal(await second, 'v');
    assert.equal(cache.cached('k'), 'v');
  });

  test('when every caller has left, the load is aborted, nothing is kept, and the next caller starts a new load', async () => {
    const cache = textCache(new CacheStore({ maxBytes: 10_000 }));
    const signals: AbortSignal[] = [];
    const load = (signal: AbortSignal): Promise<string> => {
      signals.push(signal);
      // A load that ignores its signal and answers later anyway.
      return new Promise((resolve) => setTimeout(() => resolve('late'), 20));
    };
    const a = new AbortController();
    const b = new AbortController();
    const waiting = [cache.get('k', load, a.signal), cache.get('k', load, b.signal)];
    a.abort();
    b.abort();
    for (const w of waiting) await assert.rejects(w, { name: 'AbortError' });
    assert.deepEqual([signals.length, signals[0]?.aborted], [1, true]);
    assert.equal(await cache.get('k', async () => 'fresh'), 'fresh');
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(cache.cached('k'), 'fresh', 'the abandoned load answering late does not replace the fresh value');
  });

  test('a caller without a signal keeps the load going when the others leave', async () => {
    const g = gate<string>();
    let loadSignal: AbortSignal | undefined;
    const cache = textCache(new CacheStore({ maxBytes: 10_000 }));
    const leaving = new AbortController();
    const load = (signal: AbortSignal): Promise<string> => {
      loadSignal = signal;
      return g.promise;
    };
    const kept = cache.get('k', load);
    const left = cache.get('k', load, leaving.signal);
    leaving.abort();
    await assert.rejects(left, { name: 'AbortError' });
    assert.equal(loadSignal?.aborted, false);
    g.resolve('v');
    assert.equal(await kept, 'v');
  });

  test('a caller whose signal has already aborted starts nothing', async () => {
    const cache = textCache(new CacheStore({ maxBytes: 10_000 }));
    let calls = 0;
    await assert.rejects(
      cache.get('k', async () => (calls++, 'v'), AbortSignal.abort()),
      { name: 'AbortError' },
    );
    assert.deepEqual([calls, cache.inFlight], [0, 0]);
  });
});
