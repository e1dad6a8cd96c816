// Delegated authentication and authorization end to end: a real HTTPS
// server behind the request guard, real certificates made here, and the
// Kubernetes API test double answering TokenReviews, SubjectAccessReviews
// and serving the extension-apiserver-authentication ConfigMap.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { ServerResponse } from 'node:http';
import { AuthConfigSource, DelegatingAuthenticator, kubeApiFor, requestGuard, startDelegatedAuth, type DelegatedAuth, type RequestGuard } from '../../adapter/auth/index.js';
import { NotFoundError, toStatus } from '../../adapter/errors.js';
import { silentLogger, type Logger } from '../../adapter/log.js';
import { kubeConfigFrom } from '../../adapter/kube/client.js';
import { httpsCall, type Call, type Reply } from '../support/https-call.js';
import { issueCA, issueClient, issueServing, type Issued } from '../support/certs.js';
import { KubeApiDouble, type DoubleAccessReviewSpec } from '../support/kube-api-double.js';

const TOKEN = 'adapter-service-account-token';
const PODS = '/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/%2A/http_requests';
const FAST_RETRY = { initialMs: 10, factor: 1, jitter: 0, steps: 2 };

let double: KubeApiDouble;
let servingCA: Issued;
let serving: Issued;
let frontProxyCA: Issued;
let frontProxy: Issued;
let otherProxy: Issued;
let clientCA: Issued;
let alice: Issued;
let untrustedCA: Issued;
let untrustedProxy: Issued;
let auth: DelegatedAuth;
const servers: Server[] = [];
let url = '';

const AUTH_CONFIGMAP = (allowedNames: string[]): Record<string, string> => ({
  'client-ca-file': clientCA.cert,
  'requestheader-client-ca-file': frontProxyCA.cert,
  'requestheader-allowed-names': JSON.stringify(allowedNames),
  'requestheader-username-headers': '["X-Remote-User"]',
  'requestheader-group-headers': '["X-Remote-Group"]',
  'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
  'requestheader-uid-headers': '["X-Remote-Uid"]',
});

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

/** An HTTPS server as cli/listeners.ts must create it: client certificates requested, not required. */
async function serve(guard: RequestGuard): Promise<string> {
  const server = createServer({ cert: serving.cert, key: serving.key, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    guard(req, req.url ?? '/').then(
      (authn) => {
        if (['/healthz', '/livez', '/readyz'].includes(path)) res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
        else if (path === '/mutate') sendJson(res, 200, { mutated: true });
        else if (path.startsWith('/apis')) sendJson(res, 200, { user: authn?.user, headers: req.headers });
        else throw new NotFoundError(`the server could not find the requested resource: ${path}`);
      },
      (e: unknown) => {
        const status = toStatus(e);
        sendJson(res, status.code, status);
      },
    );
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function call(base: string, path: string, options: Call = {}): Promise<Reply> {
  return httpsCall(`${base}${path}`, servingCA.cert, options);
}

const get = (path: string, options: Call = {}): Promise<Reply> => call(url, path, options);
const proxied = (user: string, groups: string[] = [], extra: Record<string, string> = {}, client?: Issued): Call => ({
  client: client ?? frontProxy,
  headers: { 'X-Remote-User': user, ...(groups.length ? { 'X-Remote-Group': groups } : {}), ...extra },
});

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Allows the users in `allowed`, and `bob` only in namespace default. */
function decide(spec: DoubleAccessReviewSpec): boolean {
  if (spec.user === 'bob') return spec.resourceAttributes?.['namespace'] === 'default';
  return ['carol', 'alice', 'token-user', 'discoverer'].includes(spec.user ?? '');
}

before(async () => {
  servingCA = await issueCA('serving-ca');
  serving = await issueServing(servingCA);
  frontProxyCA = await issueCA('front-proxy-ca');
  frontProxy = await issueClient(frontProxyCA, 'front-proxy-client');
  otherProxy = await issueClient(frontProxyCA, 'other-proxy');
  clientCA = await issueCA('kubernetes-ca');
  alice = await issueClient(clientCA, 'alice', { organizations: ['team-a', 'team-b'] });
  untrustedCA = await issueCA('front-proxy-ca');
  untrustedProxy = await issueClient(untrustedCA, 'front-proxy-client');

  double = await KubeApiDouble.start({ token: TOKEN });
  double.setAuthenticationConfigMap(AUTH_CONFIGMAP(['front-proxy-client']));
  double.setAccessDecision(decide);
  auth = await startDelegatedAuth({
    connection: kubeConfigFrom({ server: double.url, token: TOKEN, insecureSkipTLSVerify: true }),
    log: silentLogger,
    retry: FAST_RETRY,
  });
  url = await serve(auth.guard({ skipPaths: ['/mutate'] }));
});

after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  await auth?.close();
  await double?.close();
});

describe('delegated authentication and authorization over HTTPS', () => {
  it('reads the ConfigMap with the adapter credentials, filtered by name', () => {
    const list = double.requests.find((r) => r.resource === 'configmaps' && r.verb === 'list');
    assert.ok(list);
    assert.equal(list.path, '/api/v1/namespaces/kube-system/configmaps');
    assert.equal(list.query['fieldSelector'], 'metadata.name=extension-apiserver-authentication');
    assert.equal(list.authorization, `Bearer ${TOKEN}`);
    assert.equal(auth.config.current.requestHeader?.allowedNames[0], 'front-proxy-client');
  });

  it('serves the health paths and skipped paths without authentication or authorization', async () => {
    const before = { sar: double.accessReviewCount(), tr: double.tokenReviewCount() };
    for (const path of ['/healthz', '/livez', '/readyz']) {
      assert.equal((await get(path)).status, 200, path);
      assert.equal((await get(path, { client: untrustedProxy, headers: { Authorization: 'Bearer nonsense' } })).status, 200, path);
    }
    assert.equal((await get('/mutate', { method: 'POST', client: untrustedProxy })).status, 200);
    assert.deepEqual({ sar: double.accessReviewCount(), tr: double.tokenReviewCount() }, before);
  });

  it('treats a request without credentials as system:anonymous and forbids it after a SubjectAccessReview', async () => {
    const reply = await get(PODS);
    assert.equal(reply.status, 403);
    assert.equal(
      reply.body['message'],
      'pods.custom.metrics.k8s.io "*" is forbidden: User "system:anonymous" cannot get resource "pods/http_requests" in API group "custom.metrics.k8s.io" in the namespace "default"',
    );
    assert.equal(reply.body['reason'], 'Forbidden');
    assert.equal(reply.body['kind'], 'Status');
    const review = double.accessReviews.at(-1);
    assert.equal(review?.user, 'system:anonymous');
    assert.deepEqual(review?.groups, ['system:unauthenticated']);
  });

  it('answers 401 to a request without credentials when anonymous access is disabled', async () => {
    const strict = new DelegatingAuthenticator({ config: auth.config, tokens: auth.tokens, anonymous: false });
    const strictUrl = await serve(requestGuard({ authenticator: strict, authorizer: auth.authorizer, log: silentLogger }));
    const sars = double.accessReviewCount();
    const reply = await call(strictUrl, PODS);
    assert.equal(reply.status, 401);
    assert.deepEqual(reply.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    assert.equal(double.accessReviewCount(), sars);
    // Credentials still work there.
    assert.equal((await call(strictUrl, PODS, proxied('admin', ['system:masters']))).status, 200);
  });

  it('answers 401 to a client certificate from an untrusted CA, whatever headers it sends', async () => {
    const sars = double.accessReviewCount();
    const reply = await get(PODS, proxied('admin', ['system:masters'], {}, untrustedProxy));
    assert.equal(reply.status, 401);
    assert.equal(reply.body['message'], 'Unauthorized');
    assert.equal(double.accessReviewCount(), sars);
  });

  it('answers 401 to a trusted front-proxy certificate whose common name is not allowed', async () => {
    const reply = await get(PODS, proxied('admin', ['system:masters'], {}, otherProxy));
    assert.equal(reply.status, 401);
  });

  it('does not make a front-proxy certificate without a user header anonymous', async () => {
    const reply = await get(PODS, { client: frontProxy });
    assert.equal(reply.status, 401);
  });

  it('lets a system:masters user asserted by the front proxy through without a SubjectAccessReview', async () => {
    const sars = double.accessReviewCount();
    const reply = await get(PODS, proxied('admin', ['system:masters']));
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body['user'], { name: 'admin', uid: '', groups: ['system:masters', 'system:authenticated'], extra: {} });
    const headers = reply.body['headers'] as Record<string, unknown>;
    assert.equal(headers['x-remote-user'], undefined, 'the identity headers are removed before the handler');
    assert.equal(headers['x-remote-group'], undefined);
    assert.equal(double.accessReviewCount(), sars);
  });

  it('asks a SubjectAccessReview for another asserted user, honours it, and reuses it for 10 seconds', async () => {
    const who = proxied('bob', ['team-a', 'team-b'], { 'X-Remote-Uid': 'uid-bob', 'X-Remote-Extra-Acme.com%2Fproject': 'p1' });
    const sars = double.accessReviewCount();
    const allowed = await get(PODS, who);
    assert.equal(allowed.status, 200);
    assert.equal(double.accessReviewCount(), sars + 1);
    assert.deepEqual(double.accessReviews.at(-1), {
      user: 'bob',
      uid: 'uid-bob',
      groups: ['team-a', 'team-b', 'system:authenticated'],
      extra: { 'acme.com/project': ['p1'] },
      resourceAttributes: { namespace: 'default', verb: 'get', group: 'custom.metrics.k8s.io', version: 'v1beta2', resource: 'pods', subresource: 'http_requests', name: '*' },
    });
    assert.equal((await get(PODS, who)).status, 200);
    assert.equal(double.accessReviewCount(), sars + 1, 'the allowed answer is cached');

    const elsewhere = PODS.replace('/default/', '/kube-system/');
    const denied = await get(elsewhere, who);
    assert.equal(denied.status, 403);
    assert.equal(
      denied.body['message'],
      'pods.custom.metrics.k8s.io "*" is forbidden: User "bob" cannot get resource "pods/http_requests" in API group "custom.metrics.k8s.io" in the namespace "kube-system"',
    );
    assert.equal((await get(elsewhere, who)).status, 403);
    assert.equal(double.accessReviewCount(), sars + 2, 'the denial is cached too');
  });

  it('authorizes external metrics as a list and discovery as a non-resource path', async () => {
    double.setAccessDecision((spec) => spec.user === 'carol' && spec.resourceAttributes?.['verb'] === 'list');
    try {
      const ok = await get('/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_len?labelSelector=queue%3Dorders', proxied('carol'));
      assert.equal(ok.status, 200);
      assert.deepEqual(double.accessReviews.at(-1)?.resourceAttributes, {
        namespace: 'default',
        verb: 'list',
        group: 'external.metrics.k8s.io',
        version: 'v1beta1',
        resource: 'queue_len',
        labelSelector: { requirements: [{ key: 'queue', operator: 'In', values: ['orders'] }] },
      });
      const discovery = await get('/apis/custom.metrics.k8s.io/v1beta2', proxied('carol'));
      assert.equal(discovery.status, 403);
      assert.equal(discovery.body['message'], 'forbidden: User "carol" cannot get path "/apis/custom.metrics.k8s.io/v1beta2"');
      assert.deepEqual(double.accessReviews.at(-1)?.nonResourceAttributes, { path: '/apis/custom.metrics.k8s.io/v1beta2', verb: 'get' });
    } finally {
      double.setAccessDecision(decide);
    }
  });

  it('authenticates an x509 client certificate from the client CA: CN is the user, O the groups', async () => {
    const reply = await get('/apis/custom.metrics.k8s.io/v1beta2/nodes/node-1/cpu', { client: alice });
    assert.equal(reply.status, 200);
    const user = reply.body['user'] as { name: string; groups: string[]; extra: Record<string, string[]> };
    assert.equal(user.name, 'alice');
    assert.deepEqual(user.groups, ['team-a', 'team-b', 'system:authenticated']);
    assert.match(user.extra['authentication.kubernetes.io/credential-id']?.[0] ?? '', /^X509SHA256=[0-9a-f]{64}$/);
    assert.deepEqual(double.accessReviews.at(-1)?.resourceAttributes, { verb: 'get', group: 'custom.metrics.k8s.io', version: 'v1beta2', resource: 'nodes', subresource: 'cpu', name: 'node-1' });
  });

  it('checks a bearer token with a TokenReview and reuses the answer', async () => {
    double.setToken('good-token', { username: 'token-user', uid: 'u-7', groups: ['devs'] });
    const reviews = double.tokenReviewCount();
    const first = await get(PODS, { headers: { Authorization: 'Bearer good-token' } });
    assert.equal(first.status, 200);
    assert.equal((first.body['user'] as { name: string }).name, 'token-user');
    assert.deepEqual((first.body['user'] as { groups: string[] }).groups, ['devs', 'system:authenticated']);
    assert.equal((first.body['headers'] as Record<string, unknown>)['authorization'], undefined, 'the token is not passed on');
    assert.deepEqual(double.tokenReviews.at(-1), { token: 'good-token' });
    assert.equal((await get(PODS, { headers: { Authorization: 'Bearer good-token' } })).status, 200);
    assert.equal(double.tokenReviewCount(), reviews + 1);
  });

  it('answers 401 to an unknown bearer token, and caches that answer too', async () => {
    const reviews = double.tokenReviewCount();
    assert.equal((await get(PODS, { headers: { Authorization: 'Bearer unknown-token' } })).status, 401);
    assert.equal((await get(PODS, { headers: { Authorization: 'Bearer unknown-token' } })).status, 401);
    assert.equal(double.tokenReviewCount(), reviews + 1);
  });

  it('answers 401 to a token the TokenReview reports an error for', async () => {
    double.setToken('expired-token', { error: 'token has expired' });
    assert.equal((await get(PODS, { headers: { Authorization: 'Bearer expired-token' } })).status, 401);
  });

  it('answers 500, never allowing, when the SubjectAccessReview fails', async () => {
    double.failNext('create', 2, 500, 'etcdserver: request timed out');
    const reply = await get(PODS, proxied('dave'));
    assert.equal(reply.status, 500);
    assert.equal(reply.body['reason'], 'InternalError');
    assert.match(String(reply.body['message']), /etcdserver: request timed out/);
    // Not cached: the next attempt asks again and gets the real answer.
    const again = await get(PODS, proxied('dave'));
    assert.equal(again.status, 403);
  });

  it('picks up a change of allowed names in the ConfigMap', async () => {
    double.setAuthenticationConfigMap(AUTH_CONFIGMAP(['other-proxy']));
    await until('the new allowed names', () => auth.config.current.requestHeader?.allowedNames[0] === 'other-proxy');
    assert.equal((await get(PODS, proxied('admin', ['system:masters'], {}, otherProxy))).status, 200);
    assert.equal((await get(PODS, proxied('admin', ['system:masters']))).status, 401);
    double.setAuthenticationConfigMap(AUTH_CONFIGMAP(['front-proxy-client']));
    await until('the old allowed names', () => auth.config.current.requestHeader?.allowedNames[0] === 'front-proxy-client');
    assert.equal((await get(PODS, proxied('admin', ['system:masters']))).status, 200);
    // It was a watch: one LIST at start, no polling.
    assert.equal(double.requests.filter((r) => r.resource === 'configmaps' && r.verb === 'list').length, 1);
  });

  it('keeps the last good configuration when the ConfigMap becomes unusable', async () => {
    double.setAuthenticationConfigMap({ ...AUTH_CONFIGMAP(['front-proxy-client']), 'requestheader-allowed-names': 'not json' });
    await until('the update to be seen', () => auth.config.lastError !== undefined);
    assert.equal((await get(PODS, proxied('admin', ['system:masters']))).status, 200);
    double.setAuthenticationConfigMap(AUTH_CONFIGMAP(['front-proxy-client']));
  });
});

describe('following the authentication ConfigMap', () => {
  let cluster: KubeApiDouble;
  let source: AuthConfigSource | undefined;
  let warnings: string[];
  const log: Logger = {
    debug() {},
    info() {},
    warn: (message: string) => void warnings.push(message),
    error() {},
    child: () => log,
  };
  const follow = (): AuthConfigSource =>
    (source = new AuthConfigSource({
      client: kubeApiFor(kubeConfigFrom({ server: cluster.url, token: TOKEN, insecureSkipTLSVerify: true })),
      log,
      backoff: { initialMs: 10, maxMs: 40 },
    }));
  const configMapLists = (): number => cluster.requests.filter((r) => r.resource === 'configmaps' && r.verb === 'list').length;

  beforeEach(async () => {
    warnings = [];
    cluster = await KubeApiDouble.start({ token: TOKEN });
    cluster.setAuthenticationConfigMap(AUTH_CONFIGMAP(['front-proxy-client']));
  });

  afterEach(async () => {
    await source?.close();
    await cluster.close();
  });

  it('lists again without a warning when its resourceVersion expired, and applies what the LIST finds', async () => {
    const s = follow();
    await s.start();
    await until('the watch', () => cluster.openConfigMapWatches() === 1);
    cluster.expireWatches();
    cluster.setAuthenticationConfigMap(AUTH_CONFIGMAP(['other-proxy']));
    await until('the relisted allowed names', () => s.current.requestHeader?.allowedNames[0] === 'other-proxy');
    assert.equal(configMapLists(), 2);
    assert.deepEqual(warnings, []);
    assert.equal(s.lastError, undefined);
  });

  it('leaves a failed first read to start() and warns of the failures after it', async () => {
    cluster.failNext('list', 2, 500, 'etcd is unhappy');
    const s = follow();
    await assert.rejects(s.start(), /^KubeApiError: list configmap kube-system\/extension-apiserver-authentication: 500: etcd is unhappy$/);
    await until('the ConfigMap to be read', () => s.isSynced);
    assert.deepEqual(warnings, ['following the authentication ConfigMap failed; retrying']);
    assert.equal(s.current.requestHeader?.allowedNames[0], 'front-proxy-client');
  });
});
