// The query cache over a fake Prometheus: its byte bound, and queries that
// stop when every caller has gone.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CacheStore } from '../../adapter/cache.js';
import type { QueryOptions, Sample } from '../../adapter/prometheus.js';
import { CachingMetricsSource } from '../../adapter/query-cache.js';
import { FakeMetricsSource, gate, sample } from '../support/fakes.js';

const DEADLINE = Date.now() + 3_600_000;

function podSamples(count: number): Sample[] {
  return Array.from({ length: count }, (_, i) => sample({ namespace: 'default', pod: `web-${i}` }, i));
}

describe('query cache', () => {
  test('results past the byte bound are evicted, oldest first, and the bytes held stay under it', async () => {
    const store = new CacheStore({ maxBytes: 50_000 });
    const source = new FakeMetricsSource();
    source.onQuery = () => podSamples(20);
    const cache = new CachingMetricsSource(source, 60, store);
    for (let i = 0; i < 30; i++) await cache.query(`q${i}`, { deadline: DEADLINE });
    assert.ok(store.bytes > 0 && store.bytes <= 50_000, `${store.bytes} bytes held`);
    await cache.query('q29', { deadline: DEADLINE });
    await cache.query('q0', { deadline: DEADLINE });
    assert.deepEqual(source.queries.slice(30), ['q0']);
  });

  test('a result larger than the bound is served but not kept', async () => {
    const store = new CacheStore({ maxBytes: 10_000 });
    const source = new FakeMetricsSource().answerQuery('big', podSamples(500));
    const cache = new CachingMetricsSource(source, 60, store);
    assert.equal((await cache.query('big', { deadline: DEADLINE })).length, 500);
    await cache.query('big', { deadline: DEADLINE });
    assert.deepEqual([source.queries.length, store.entries], [2, 0]);
  });

  test('the size counted for a result grows with its samples and their labels', async () => {
    const store = new CacheStore({ maxBytes: 10_000_000 });
    const source = new FakeMetricsSource().answerQuery('small', podSamples(10)).answerQuery('large', podSamples(1_000));
    const cache = new CachingMetricsSource(source, 60, store);
    await cache.query('small', { deadline: DEADLINE });
    const small = store.bytes;
    await cache.query('large', { deadline: DEADLINE });
    const large = store.bytes - small;
    // A sample with two short labels holds about 170 bytes on V8's heap.
    assert.ok(large > 100 * 1_000 && large < 400 * 1_000, `${large} bytes for 1,000 samples`);
  });

  test('the query is aborted when its only caller leaves', async () => {
    const g = gate<Sample[]>();
    let seen: QueryOptions | undefined;
    const source = new FakeMetricsSource().answerQuery('up', (options) => ((seen = options), g.promise));
    const cache = new CachingMetricsSource(source, 60, new CacheStore({ maxBytes: 10_000 }));
    const caller = new AbortController();
    const pending = cache.query('up', { deadline: DEADLINE, signal: caller.signal });
    caller.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    assert.equal(seen?.signal?.aborted, true);
    assert.equal(seen?.deadline, DEADLINE);
  });

  test('the query goes on while one of two callers is still waiting', async () => {
    const g = gate<Sample[]>();
    let seen: QueryOptions | undefined;
    const source = new FakeMetricsSource().answerQuery('up', (options) => ((seen = options), g.promise));
    const cache = new CachingMetricsSource(source, 60, new CacheStore({ maxBytes: 10_000 }));
    const leaving = new AbortController();
    const staying = new AbortController();
    const left = cache.query('up', { deadline: DEADLINE, signal: leaving.signal });
    const kept = cache.query('up', { deadline: DEADLINE, signal: staying.signal });
    leaving.abort();
    await assert.rejects(left, { name: 'AbortError' });
    assert.equal(seen?.signal?.aborted, false);
    g.resolve([sample({ pod: 'a' }, 1)]);
    assert.equal((await kept).length, 1);
    assert.equal(source.queries.length, 1);
  });
});
