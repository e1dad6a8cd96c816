// POST /mutate over real HTTP: the webhook handler behind node:http, as the
// API server calls it. Bad requests are Status objects (400, 413, 415); reviews are
// answered as AdmissionReviews whose patches apply to the object sent.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createWebhookHandler, MAX_BODY_BYTES, type WebhookLogger } from '../../webhook/handler.js';
import type { DefaultsPolicy } from '../../rules/defaults.js';
import { admissionFixtureReview, applyOps, decodePatch, dig, FALLBACK_POLICY, readAdmissionFixture, reviewOf, type Json } from '../support/admission.js';

interface LogLine {
  readonly level: 'info' | 'warn';
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>> | undefined;
}

const logs: LogLine[] = [];
const log: WebhookLogger = {
  info: (message, fields) => logs.push({ level: 'info', message, fields }),
  warn: (message, fields) => logs.push({ level: 'warn', message, fields }),
};

let policy: DefaultsPolicy | undefined = FALLBACK_POLICY;
let server: Server;
let base: string;

before(async () => {
  const handle = createWebhookHandler({ policy: () => policy, log });
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const post = (body: string, type = 'application/json'): request.Test => request(base).post('/mutate').set('Content-Type', type).send(body);

function status(code: number, message: string): Json {
  const reasons: Record<number, string> = { 405: 'MethodNotAllowed', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType', 503: 'ServiceUnavailable' };
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: reasons[code] ?? 'BadRequest', code };
}

const deployment = (): Json => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx' }] } } },
});

/** Sends a body in chunks without a Content-Length, so only counting the bytes can stop it. */
function postChunked(chunks: readonly Buffer[]): Promise<{ code: number; body: Json }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}/mutate`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString('utf8')) as Json }));
      res.on('error', reject);
    });
    // The server may answer and stop reading before every chunk is out; that is the point.
    req.on('error', () => undefined);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('POST /mutate', () => {
  test('a Deployment CREATE (fixture 04) is answered 200 with an AdmissionReview whose patch adds the defaults', async () => {
    const review = admissionFixtureReview('admissionreview-04-whorf-deploy-create-full');
    const res = await post(JSON.stringify(review)).expect(200);
    assert.equal(res.headers['content-type'], 'application/json');
    const body = res.body as Json;
    assert.equal(body.apiVersion, 'admission.k8s.io/v1');
    assert.equal(body.kind, 'AdmissionReview');
    const response = body.response as Json;
    assert.equal(response.uid, '13b390aa-ea59-48ef-9fb8-069bf0430dce');
    assert.equal(response.allowed, true);
    const ops = decodePatch(response);
    assert.ok(ops);
    const patched = applyOps((review.request as Json).object as Json, ops);
    assert.deepEqual(dig(patched, 'spec', 'template', 'spec', 'containers', 0, 'resources'), { requests: { cpu: '100m', memory: '128Mi' } });
    assert.equal(dig(patched, 'metadata', 'annotations', 'hpa-bridge.io/defaults-added'), 'nginx: requests cpu=100m memory=128Mi');
  });

  test('a bare request (fixture 01) wrapped as v1 gets its limits respected over HTTP', async () => {
    const review = admissionFixtureReview('admissionreview-01-kubewarden-deploy-limits-only');
    const res = await post(JSON.stringify(review)).expect(200);
    const patched = applyOps((review.request as Json).object as Json, decodePatch((res.body as Json).response as Json) ?? []);
    assert.deepEqual(dig(patched, 'spec', 'template', 'spec', 'containers', 0, 'resources'), { limits: { cpu: '1', memory: '1G' }, requests: { cpu: '100m', memory: '128Mi' } });
  });

  test('the uid of the request is echoed', async () => {
    const res = await post(JSON.stringify(reviewOf(deployment(), { uid: 'e911857d-c318-11e8-bbad-025000000001' }))).expect(200);
    assert.equal(dig(res.body, 'response', 'uid'), 'e911857d-c318-11e8-bbad-025000000001');
  });

  test('a review with nothing to add gets no patch and no patchType', async () => {
    const res = await post(JSON.stringify(admissionFixtureReview('admissionreview-03-kubewarden-deploy-requests-partial-limits'))).expect(200);
    assert.deepEqual(res.body, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: '31403b86-f972-423e-8adb-c4bd79dc15cc', allowed: true } });
  });

  test('an unknown kind is allowed with a warning and logged as a warning', async () => {
    logs.length = 0;
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'shop' }, data: {} };
    const res = await post(JSON.stringify(reviewOf(configMap, { uid: 'cm-1' }))).expect(200);
    assert.deepEqual(res.body, {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'cm-1', allowed: true, warnings: ['hpa-bridge: no defaults added: kind v1/ConfigMap is not a workload this webhook defaults'] },
    });
    assert.deepEqual(
      logs.map((l) => `${l.level} ${l.message} ${String(l.fields?.kind)}`),
      ['warn admission review allowed unchanged v1/ConfigMap'],
    );
  });

  test('fixture 01 with metadata.annotations "x" is allowed without a patch, and logged as a warning naming the field', async () => {
    logs.length = 0;
    const review = admissionFixtureReview('admissionreview-01-kubewarden-deploy-limits-only');
    (dig(review, 'request', 'object', 'metadata') as Json).annotations = 'x';
    const res = await post(JSON.stringify(review)).expect(200);
    assert.deepEqual(res.body, {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: '31403b86-f972-423e-8adb-c4bd79dc15cc', allowed: true, warnings: ['hpa-bridge: no defaults added: metadata.annotations is a string, not an object'] },
    });
    assert.deepEqual(
      logs.map((l) => `${l.level} ${l.message} ${String(l.fields?.skipped)}`),
      ['warn admission review allowed unchanged metadata.annotations is a string, not an object'],
    );
  });

  test('a v1beta1 review is answered as v1beta1', async () => {
    const res = await post(JSON.stringify(reviewOf(deployment(), { apiVersion: 'admission.k8s.io/v1beta1' }))).expect(200);
    assert.equal((res.body as Json).apiVersion, 'admission.k8s.io/v1beta1');
    assert.equal(dig(res.body, 'response', 'patchType'), 'JSONPatch');
  });

  test('Content-Type application/json with a charset is accepted', async () => {
    await post(JSON.stringify(reviewOf(deployment())), 'application/json; charset=utf-8').expect(200);
  });
});

describe('bad requests to /mutate', () => {
  test('GET is 405 with a Status', async () => {
    const res = await request(base).get('/mutate').expect(405);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(res.body, status(405, 'method GET is not allowed; send the AdmissionReview with POST'));
  });

  // kube-apiserver answers a body type it cannot decode with 415 UnsupportedMediaType.
  test('Content-Type text/plain is 415 with a Status', async () => {
    const res = await post(JSON.stringify(reviewOf(deployment())), 'text/plain').expect(415);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(res.body, status(415, 'Content-Type must be application/json, not "text/plain"'));
  });

  test('a body that is not JSON is 400 with a Status', async () => {
    const res = await post('{"apiVersion": ').expect(400);
    const body = res.body as Json;
    assert.equal(body.kind, 'Status');
    assert.equal(body.code, 400);
    assert.equal(body.reason, 'BadRequest');
    assert.match(String(body.message), /^the body is not valid JSON: /);
  });

  test('a review without a request is 400 with a Status', async () => {
    const res = await post(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' })).expect(400);
    assert.deepEqual(res.body, status(400, 'the AdmissionReview has no request'));
  });

  test('the broken review (fixture 07, no uid) is 400 with a Status', async () => {
    const res = await post(JSON.stringify(readAdmissionFixture('admissionreview-07-connaisseur-broken-request'))).expect(400);
    assert.deepEqual(res.body, status(400, 'the AdmissionReview request has no uid'));
  });

  // kube-apiserver answers a body over its limit with 413 RequestEntityTooLarge (limitedReadBody).
  test('a body of 3 MiB + 1 byte is 413, and the server answers the next review', async () => {
    const res = await post(' '.repeat(MAX_BODY_BYTES + 1)).expect(413);
    assert.deepEqual(res.body, status(413, `request body of ${MAX_BODY_BYTES + 1} bytes is over the ${MAX_BODY_BYTES}-byte limit`));
    const next = await post(JSON.stringify(reviewOf(deployment(), { uid: 'after-big' }))).expect(200);
    assert.equal(dig(next.body, 'response', 'uid'), 'after-big');
  });

  test('a chunked body over 3 MiB without Content-Length is 413, and the server answers the next review', async () => {
    const mib = Buffer.alloc(1024 * 1024, 0x20);
    const res = await postChunked([mib, mib, mib, Buffer.from(' ')]);
    assert.equal(res.code, 413);
    assert.deepEqual(res.body, status(413, `request body is over the ${MAX_BODY_BYTES}-byte limit`));
    const next = await post(JSON.stringify(reviewOf(deployment(), { uid: 'after-chunked' }))).expect(200);
    assert.equal(dig(next.body, 'response', 'uid'), 'after-chunked');
  });

  test('a body of exactly 3 MiB is read and reviewed', async () => {
    const json = JSON.stringify(reviewOf(deployment(), { uid: 'exactly-3mib' }));
    const res = await post(json + ' '.repeat(MAX_BODY_BYTES - Buffer.byteLength(json))).expect(200);
    assert.equal(dig(res.body, 'response', 'uid'), 'exactly-3mib');
  });

  test('with no rules loaded the answer is 503, so failurePolicy Ignore admits the object', async () => {
    policy = undefined;
    try {
      const res = await post(JSON.stringify(reviewOf(deployment()))).expect(503);
      assert.deepEqual(res.body, status(503, 'no rules are loaded yet, so there is no defaults policy'));
    } finally {
      policy = FALLBACK_POLICY;
    }
  });
});
