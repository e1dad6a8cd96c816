// `serve --authentication delegated` wired end to end: real HTTPS with
// client certificates, and the test double of the Kubernetes API answering
// the ConfigMap, TokenReviews and SubjectAccessReviews.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type RunningServer } from '../../cli/serve.js';
import { silentLogger } from '../../adapter/log.js';
import { KubeApiDouble } from '../support/kube-api-double.js';
import { writeKubeconfig } from '../support/kubeconfig.js';
import { issueCA, issueClient, issueServing, type Issued } from '../support/certs.js';
import { httpsCall, type Call, type Reply } from '../support/https-call.js';

const EXAMPLES = fileURLToPath(new URL('../../../rules/examples', import.meta.url));
const PROMETHEUS_USER = 'system:serviceaccount:monitoring:prometheus';

describe('serve with delegated authentication', () => {
  let double: KubeApiDouble;
  let dir: string;
  let server: RunningServer;
  let servingCA: Issued;
  let frontProxyCA: Issued;
  let frontProxy: Issued;

  function call(path: string, options: Call = {}): Promise<Reply> {
    return httpsCall(`${server.url}${path}`, servingCA.cert, options);
  }

  before(async () => {
    servingCA = await issueCA('serving-ca');
    const serving = await issueServing(servingCA);
    frontProxyCA = await issueCA('front-proxy-ca');
    frontProxy = await issueClient(frontProxyCA, 'front-proxy-client');
    double = await KubeApiDouble.start();
    double.setAuthenticationConfigMap({
      'requestheader-client-ca-file': frontProxyCA.cert,
      'requestheader-allowed-names': '["front-proxy-client"]',
      'requestheader-username-headers': '["X-Remote-User"]',
      'requestheader-group-headers': '["X-Remote-Group"]',
      'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
    });
    // The HPA's bootstrap role; system:discovery (bound to
    // system:authenticated), which lets any user get /openapi and /openapi/*;
    // and a scraper allowed to get /metrics.
    double.setAccessDecision(
      (spec) =>
        spec.user === 'system:serviceaccount:kube-system:horizontal-pod-autoscaler' ||
        (spec.groups?.includes('system:authenticated') === true && /^\/openapi(\/.*)?$/.test(String(spec.nonResourceAttributes?.path)) && spec.nonResourceAttributes?.verb === 'get') ||
        (spec.user === PROMETHEUS_USER && spec.nonResourceAttributes?.['path'] === '/metrics' && spec.nonResourceAttributes['verb'] === 'get'),
    );
    dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-serve-auth-'));
    await writeFile(join(dir, 'tls.crt'), serving.cert);
    await writeFile(join(dir, 'tls.key'), serving.key);
    const kubeconfig = await writeKubeconfig(dir, double.url);
    server = await startServer(
      {
        rules: [EXAMPLES],
        prometheusUrl: 'http://127.0.0.1:9',
        securePort: 0,
        bindAddress: '127.0.0.1',
        tlsCertFile: join(dir, 'tls.crt'),
        tlsKeyFile: join(dir, 'tls.key'),
        objectSource: 'prometheus',
        kubeconfig,
        authentication: 'delegated',
        relistIntervalMs: 60_000,
        maxAgeSeconds: 60,
        cacheTtlSeconds: 5,
        requestTimeoutMs: 2_000,
        logLevel: 'silent',
      },
      silentLogger,
    );
  });

  after(async () => {
    await server?.close();
    await double?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const HPA_HEADERS = { 'X-Remote-User': 'system:serviceaccount:kube-system:horizontal-pod-autoscaler', 'X-Remote-Group': 'system:serviceaccounts' };

  test('a caller without credentials is refused with 401', async () => {
    const r = await call('/apis/custom.metrics.k8s.io/v1beta2');
    assert.equal(r.status, 401);
    assert.equal(r.body.reason, 'Unauthorized');
  });

  test('a caller the SubjectAccessReview denies gets 403 with Kubernetes wording', async () => {
    const r = await call('/apis/custom.metrics.k8s.io/v1beta2', { client: frontProxy, headers: { 'X-Remote-User': 'mallory' } });
    assert.equal(r.status, 403);
    assert.equal(r.body.reason, 'Forbidden');
    assert.equal(r.body.message, 'forbidden: User "mallory" cannot get path "/apis/custom.metrics.k8s.io/v1beta2"');
  });

  test('the front proxy with system:masters is allowed without a SubjectAccessReview', async () => {
    const before = double.accessReviewCount();
    const r = await call('/apis/custom.metrics.k8s.io/v1beta2', { client: frontProxy, headers: { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.kind, 'APIResourceList');
    assert.equal(double.accessReviewCount(), before);
  });

  test('the HPA controller through the front proxy is authorized by SubjectAccessReview, cached for repeats', async () => {
    const before = double.accessReviewCount();
    for (let i = 0; i < 3; i++) {
      const r = await call('/apis/external.metrics.k8s.io/v1beta1', { client: frontProxy, headers: HPA_HEADERS });
      assert.equal(r.status, 200);
    }
    assert.equal(double.accessReviewCount() - before, 1);
  });

  test('user headers without the front-proxy certificate are not trusted', async () => {
    const r = await call('/apis/custom.metrics.k8s.io/v1beta2', { headers: { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' } });
    assert.equal(r.status, 401);
  });

  test('the OpenAPI documents need credentials like any API path', async () => {
    const r = await call('/openapi/v2', { headers: { Accept: 'application/json' } });
    assert.equal(r.status, 401);
  });

  test("kube-aggregator's OpenAPI download as system:aggregator is authorized as a non-resource get", async () => {
    const before = double.accessReviewCount();
    const r = await call('/openapi/v2', { client: frontProxy, headers: { 'X-Remote-User': 'system:aggregator', Accept: 'application/json' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.swagger, '2.0');
    assert.equal(double.accessReviewCount() - before, 1);
  });

  test('health checks and the webhook need no credentials', async () => {
    assert.equal((await call('/livez')).status, 200);
    const r = await call('/mutate', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}' });
    assert.equal(r.status, 400);
    assert.match(String(r.body.message), /no request/);
  });

  test('/metrics on the secure port needs credentials', async () => {
    const r = await call('/metrics');
    assert.equal(r.status, 401);
  });

  test('/metrics on the secure port is authorized as a non-resource get of /metrics', async () => {
    const r = await call('/metrics', { client: frontProxy, headers: { 'X-Remote-User': PROMETHEUS_USER } });
    assert.equal(r.status, 200);
    assert.match(String(r.body.text), /^# HELP hpa_bridge_requests_total /m);
    const denied = await call('/metrics', { client: frontProxy, headers: { 'X-Remote-User': 'mallory' } });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.message, 'forbidden: User "mallory" cannot get path "/metrics"');
  });
});
