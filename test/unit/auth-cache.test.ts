import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenReviewAuthenticator } from '../../adapter/auth/authenticate.js';
import { AuthorizationError, DelegatingAuthorizer } from '../../adapter/auth/authorize.js';
import type { CacheStore } from '../../adapter/cache.js';
import type { KubeApi, KubeRequestOptions, RetryBackoff } from '../../adapter/auth/kube-api.js';
import type { KubeResponse } from '../../adapter/kube/client.js';
import { requestAttributes } from '../../adapter/auth/request-info.js';
import type { UserInfo } from '../../adapter/auth/types.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** A KubeApi answering POSTs with `answer(body)` and counting them. */
function fakeApi(answer: (body: Record<string, unknown>) => KubeResponse | Promise<KubeResponse>): KubeApi & { calls: Record<string, unknown>[] } {
  const calls: Record<string, unknown>[] = [];
  return {
    calls,
    async request(_method: 'GET' | 'POST', _path: string, options?: KubeRequestOptions): Promise<KubeResponse> {
      const body = options?.body as Record<string, unknown>;
      calls.push(body);
      return answer(body);
    },
    async watch(): Promise<KubeResponse> {
      return { status: 200, body: undefined };
    },
  };
}

const NO_RETRY: RetryBackoff = { initialMs: 1, factor: 1, jitter: 0, steps: 1 };

describe('TokenReview authentication cache', () => {
  const reviewAnswer = (status: object): KubeResponse => ({ status: 201, body: { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', status } });

  it('keeps an accepted token for 10 seconds', async () => {
    const clock = manualClock();
    const api = fakeApi(() => reviewAnswer({ authenticated: true, user: { username: 'alice', uid: 'u', groups: ['g'], extra: { k: ['v'] } } }));
    const tokens = new TokenReviewAuthenticator({ client: api, now: clock.now, retry: NO_RETRY });
    const first = await tokens.review('t1');
    assert.deepEqual(first, { authenticated: true, user: { name: 'alice', uid: 'u', groups: ['g'], extra: { k: ['v'] } } });
    clock.advance(9_000);
    await tokens.review('t1');
    assert.equal(api.calls.length, 1);
    clock.advance(1_000);
    await tokens.review('t1');
    assert.equal(api.calls.length, 2);
    assert.deepEqual(api.calls[0], { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 't1' } });
  });

  it('keeps a rejected token without an error as long', async () => {
    const clock = manualClock();
    const api = fakeApi(() => reviewAnswer({ user: {} }));
    const tokens = new TokenReviewAuthenticator({ client: api, now: clock.now, retry: NO_RETRY });
    assert.deepEqual(await tokens.review('bad'), { authenticated: false });
    clock.advance(5_000);
    await tokens.review('bad');
    assert.equal(api.calls.length, 1);
  });

  it('sends one TokenReview for concurrent requests with the same token', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const api = fakeApi(async () => {
      await held;
      return reviewAnswer({ authenticated: true, user: { username: 'alice' } });
    });
    const tokens = new TokenReviewAuthenticator({ client: api, retry: NO_RETRY });
    const reviews = [tokens.review('t'), tokens.review('t'), tokens.review('t')];
    release();
    assert.deepEqual(
      (await Promise.all(reviews)).map((r) => r.authenticated),
      [true, true, true],
    );
    assert.equal(api.calls.length, 1);
  });

  it('asks again for a token whose review carried an error, as k8s.io/apiserver does not cache errors', async () => {
    const api = fakeApi(() => reviewAnswer({ user: {}, error: 'token expired' }));
    const tokens = new TokenReviewAuthenticator({ client: api, retry: NO_RETRY });
    assert.deepEqual(await tokens.review('old'), { authenticated: false, error: 'token expired' });
    await tokens.review('old');
    assert.equal(api.calls.length, 2);
  });

  it('does not keep a failed call', async () => {
    let fail = true;
    const api = fakeApi(() => (fail ? { status: 500, body: { kind: 'Status', message: 'etcd is sad', code: 500 } } : reviewAnswer({ authenticated: true, user: { username: 'a' } })));
    const tokens = new TokenReviewAuthenticator({ client: api, retry: NO_RETRY });
    await assert.rejects(tokens.review('t'), /500: etcd is sad/);
    fail = false;
    assert.equal((await tokens.review('t')).authenticated, true);
  });

  it('retries a 500 answer with backoff', async () => {
    let n = 0;
    const api = fakeApi(() => (++n < 3 ? { status: 500, body: {} } : reviewAnswer({ authenticated: true, user: { username: 'a' } })));
    const tokens = new TokenReviewAuthenticator({ client: api, retry: { initialMs: 1, factor: 1, jitter: 0, steps: 5 } });
    assert.equal((await tokens.review('t')).authenticated, true);
    assert.equal(api.calls.length, 3);
  });

  it('does not retry a 403 answer', async () => {
    const api = fakeApi(() => ({ status: 403, body: { message: 'tokenreviews is forbidden' } }));
    const tokens = new TokenReviewAuthenticator({ client: api, retry: { initialMs: 1, factor: 1, jitter: 0, steps: 5 } });
    await assert.rejects(tokens.review('t'), /403/);
    assert.equal(api.calls.length, 1);
  });

  it('sends audiences and requires one of them in the answer', async () => {
    const api = fakeApi((body) => {
      const aud = ((body['spec'] as { audiences?: string[] }).audiences ?? [])[0];
      return reviewAnswer({ authenticated: true, user: { username: 'a' }, audiences: aud === 'api' ? ['other'] : [] });
    });
    const tokens = new TokenReviewAuthenticator({ client: api, audiences: ['api'], retry: NO_RETRY });
    assert.deepEqual(await tokens.review('t'), { authenticated: false });
    assert.deepEqual((api.calls[0]?.['spec'] as { audiences?: string[] }).audiences, ['api']);
  });

  it('does not keep tokens in the clear as cache keys', async () => {
    const api = fakeApi(() => reviewAnswer({ authenticated: true, user: { username: 'a' } }));
    const tokens = new TokenReviewAuthenticator({ client: api, retry: NO_RETRY });
    await tokens.review('secret-token');
    const keys = (tokens as unknown as { store: CacheStore }).store.keys();
    assert.equal(keys.length, 1);
    assert.ok(!keys[0]?.includes('secret-token'));
  });
});

describe('SubjectAccessReview authorization cache', () => {
  const bob: UserInfo = { name: 'bob', uid: '', groups: ['system:authenticated'], extra: {} };
  const attrs = requestAttributes('GET', '/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/m');
  const sar = (status: object): KubeResponse => ({ status: 201, body: { kind: 'SubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', status } });

  it('keeps allowed and denied answers for 10 seconds each', async () => {
    const clock = manualClock();
    let allow = true;
    const api = fakeApi(() => sar({ allowed: allow }));
    const authz = new DelegatingAuthorizer({ client: api, now: clock.now, retry: NO_RETRY });
    assert.deepEqual(await authz.authorize(bob, attrs), { allowed: true, reason: '' });
    allow = false;
    clock.advance(9_999);
    assert.equal((await authz.authorize(bob, attrs)).allowed, true);
    assert.equal(api.calls.length, 1);
    clock.advance(1);
    assert.equal((await authz.authorize(bob, attrs)).allowed, false);
    allow = true;
    clock.advance(5_000);
    assert.equal((await authz.authorize(bob, attrs)).allowed, false, 'the denial is still cached');
    clock.advance(5_000);
    assert.equal((await authz.authorize(bob, attrs)).allowed, true);
    assert.equal(api.calls.length, 3);
  });

  it('honours separate allow and deny TTLs', async () => {
    const clock = manualClock();
    const api = fakeApi(() => sar({ allowed: false, reason: 'no' }));
    const authz = new DelegatingAuthorizer({ client: api, now: clock.now, denyTtlMs: 1_000, retry: NO_RETRY });
    assert.deepEqual(await authz.authorize(bob, attrs), { allowed: false, reason: 'no' });
    clock.advance(1_000);
    await authz.authorize(bob, attrs);
    assert.equal(api.calls.length, 2);
  });

  it('keys the cache on user, groups and attributes', async () => {
    const api = fakeApi(() => sar({ allowed: true }));
    const authz = new DelegatingAuthorizer({ client: api, retry: NO_RETRY });
    await authz.authorize(bob, attrs);
    await authz.authorize({ ...bob, groups: ['system:authenticated', 'extra-group'] }, attrs);
    await authz.authorize(bob, requestAttributes('GET', '/apis/custom.metrics.k8s.io/v1beta2/namespaces/other/pods/*/m'));
    await authz.authorize(bob, attrs);
    assert.equal(api.calls.length, 3);
    assert.deepEqual(api.calls[0], {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: 'bob',
        groups: ['system:authenticated'],
        resourceAttributes: { namespace: 'default', verb: 'get', group: 'custom.metrics.k8s.io', version: 'v1beta2', resource: 'pods', subresource: 'm', name: '*' },
      },
    });
  });

  it('allows system:masters without asking', async () => {
    const api = fakeApi(() => sar({ allowed: false }));
    const authz = new DelegatingAuthorizer({ client: api, retry: NO_RETRY });
    assert.equal((await authz.authorize({ ...bob, groups: ['system:masters', 'system:authenticated'] }, attrs)).allowed, true);
    assert.equal(api.calls.length, 0);
  });

  it('fails, and does not cache, when the review cannot be made', async () => {
    let fail = true;
    const api = fakeApi(() => (fail ? { status: 503, body: { message: 'unavailable' } } : sar({ allowed: true })));
    const authz = new DelegatingAuthorizer({ client: api, retry: NO_RETRY });
    await assert.rejects(authz.authorize(bob, attrs), AuthorizationError);
    fail = false;
    assert.equal((await authz.authorize(bob, attrs)).allowed, true);
  });

  it('refuses an answer that both allows and denies', async () => {
    const api = fakeApi(() => sar({ allowed: true, denied: true }));
    const authz = new DelegatingAuthorizer({ client: api, retry: NO_RETRY });
    await assert.rejects(authz.authorize(bob, attrs), /both allow and deny/);
  });
});
