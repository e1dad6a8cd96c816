// The serving process itself: /metrics, certificate rotation without a
// restart, draining on shutdown, and readiness while Prometheus is away.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { generate } from 'selfsigned';
import { startServer, type RunningServer, type ServeConfig } from '../../cli/serve.js';
import { silentLogger } from '../../adapter/log.js';
import { readFixture } from '../support/fixtures.js';

const EXAMPLES = fileURLToPath(new URL('../../../rules/examples', import.meta.url));

async function certificate(cn: string): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: cn }], { keySize: 2048, algorithm: 'sha256' });
  return { cert: pems.cert, key: pems.private };
}

/** The CN of the certificate a new TLS connection is served. */
function servedCommonName(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      socket.end();
      resolve(Array.isArray(cn) ? (cn[0] ?? '') : (cn ?? ''));
    });
    socket.on('error', reject);
  });
}

async function until(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe('the serving process', () => {
  let dir: string;
  let server: RunningServer;
  let config: ServeConfig;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-serve-'));
    const first = await certificate('first-cert');
    await writeFile(join(dir, 'tls.crt'), first.cert);
    await writeFile(join(dir, 'tls.key'), first.key);
    config = {
      rules: [EXAMPLES],
      // Nothing listens here: discovery fails, which readiness must report.
      prometheusUrl: 'http://127.0.0.1:9',
      securePort: 0,
      bindAddress: '127.0.0.1',
      tlsCertFile: join(dir, 'tls.crt'),
      tlsKeyFile: join(dir, 'tls.key'),
      objectSource: 'prometheus',
      authentication: 'none',
      relistIntervalMs: 60_000,
      maxAgeSeconds: 60,
      cacheTtlSeconds: 5,
      requestTimeoutMs: 2_000,
      logLevel: 'silent',
      metricsPort: 0,
      httpPort: 0,
      shutdownGraceMs: 5_000,
    };
    server = await startServer(config, silentLogger);
  });

  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('readiness says why it is not ready while Prometheus is unreachable, and liveness stays ok', async () => {
    await server.discovery.relist();
    await request(server.url).get('/livez').disableTLSCerts().expect(200, 'ok');
    const res = await request(server.url).get('/readyz?verbose').disableTLSCerts().expect(503);
    assert.match(res.text, /^\[-\]discovery failed: no metric discovery has succeeded yet; .*cannot reach Prometheus: ECONNREFUSED/m);
    assert.match(res.text, /readyz check failed\n$/);
  });

  test('a metrics request before discovery succeeds is a 503 Status, not a 404', async () => {
    const res = await request(server.url).get('/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/x/http_requests_per_second').disableTLSCerts().expect(503);
    assert.equal(res.body.reason, 'ServiceUnavailable');
  });

  test('/metrics on the plain-HTTP port counts requests by API, version and code', async () => {
    await request(server.url).get('/apis/custom.metrics.k8s.io/v1beta2').disableTLSCerts().expect(200);
    const res = await request(`http://127.0.0.1:${server.metricsPort}`).get('/metrics').expect(200);
    assert.match(res.text, /hpa_bridge_requests_total\{api="custom\.metrics\.k8s\.io",version="v1beta2",code="200"\} [1-9]/);
    assert.match(res.text, /hpa_bridge_rule_reloads_total\{result="success"\} 1/);
    assert.match(res.text, /hpa_bridge_discovery_failures_total [1-9]/);
  });

  test('each response carries a request id, echoing the one given', async () => {
    const res = await request(server.url).get('/livez').set('X-Request-Id', 'abc-123').disableTLSCerts().expect(200);
    assert.equal(res.headers['x-request-id'], 'abc-123');
  });

  test('the webhook answers at /mutate on the same port', async () => {
    const review = JSON.parse(await readFixture('admission/admissionreview-04-whorf-deploy-create-full.json')) as { request: { uid: string } };
    const res = await request(server.url).post('/mutate').disableTLSCerts().set('Content-Type', 'application/json').send(review).expect(200);
    assert.equal(res.body.response.uid, review.request.uid);
    assert.equal(res.body.response.patchType, 'JSONPatch');
  });

  test('the plain-HTTP port serves the webhook but never the metrics APIs', async () => {
    const plain = `http://127.0.0.1:${server.httpPort}`;
    const review = JSON.parse(await readFixture('admission/admissionreview-04-whorf-deploy-create-full.json')) as { request: { uid: string } };
    const res = await request(plain).post('/mutate').set('Content-Type', 'application/json').send(review).expect(200);
    assert.equal(res.body.response.uid, review.request.uid);
    await request(plain).get('/livez').expect(200);
    const api = await request(plain).get('/apis/custom.metrics.k8s.io/v1beta2').expect(404);
    assert.equal(api.body.kind, 'Status');
  });

  test('a rotated serving certificate is picked up without a restart', async () => {
    assert.equal(await servedCommonName(server.port), 'first-cert');
    const second = await certificate('second-cert');
    await writeFile(join(dir, 'tls.key'), second.key);
    await writeFile(join(dir, 'tls.crt'), second.cert);
    assert.ok(await until(async () => (await servedCommonName(server.port)) === 'second-cert'), 'the new certificate was not served');
  });

  test('close drains a request in flight before it returns', async () => {
    const review = await readFixture('admission/admissionreview-04-whorf-deploy-create-full.json');
    const url = new URL(server.url);
    const response = new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: url.hostname,
          port: url.port,
          path: '/mutate',
          method: 'POST',
          rejectUnauthorized: false,
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(review) },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      // Half the body now, the rest after shutdown has begun.
      req.write(review.slice(0, 100));
      setTimeout(() => req.end(review.slice(100)), 300);
    });
    await new Promise((r) => setTimeout(r, 100));
    const closing = server.close();
    assert.equal(await response, 200);
    await closing;
  });
});
