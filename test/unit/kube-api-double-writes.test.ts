// The Kubernetes API test double's writes: CREATE and PATCH through an
// admission step, and the Warning headers it sends the way kube-apiserver
// does. Tests of a test double, so the HPA admission tests can trust it.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { KubeApiDouble, type DoubleAdmissionRequest, type DoubleAdmissionResult } from '../support/kube-api-double.js';

type Json = Record<string, unknown>;

interface Answer {
  readonly status: number;
  /** Each Warning header as the bytes on the wire, read as UTF-8. */
  readonly warnings: string[];
  readonly body: Json;
}

const HPAS = '/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers';

const hpa = (name: string, maxReplicas = 5): Json => ({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name, labels: { app: 'web' }, annotations: { note: 'kept' } },
  spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas },
});

describe('writes to the Kubernetes API double', () => {
  let api: KubeApiDouble;
  const seen: DoubleAdmissionRequest[] = [];

  before(async () => {
    api = await KubeApiDouble.start();
  });

  after(async () => {
    await api.close();
  });

  afterEach(() => {
    api.setAdmission(undefined);
    seen.length = 0;
  });

  function send(method: string, path: string, body: unknown, contentType = 'application/json'): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(`${api.url}${path}`, { method, headers: { 'Content-Type': contentType } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          // node reads header bytes as Latin-1: back to the bytes, then UTF-8.
          const warnings = res.rawHeaders.filter((_, i) => i % 2 === 1 && res.rawHeaders[i - 1]?.toLowerCase() === 'warning').map((v) => Buffer.from(v, 'latin1').toString('utf8'));
          resolve({ status: res.statusCode ?? 0, warnings, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json });
        });
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  }

  function admitWith(answer: (r: DoubleAdmissionRequest) => DoubleAdmissionResult): void {
    api.setAdmission((r) => {
      seen.push(r);
      return Promise.resolve(answer(r));
    });
  }

  test('a POST stores the object and answers 201; a GET then returns its labels, annotations and spec with the path namespace', async () => {
    const created = await send('POST', HPAS, hpa('plain'));
    assert.equal(created.status, 201);
    const got = api.objectOf('horizontalpodautoscalers.autoscaling', { namespace: 'shop', name: 'plain' });
    assert.deepEqual(
      { ...(got?.metadata as Json), uid: 'x', resourceVersion: 'x', creationTimestamp: 'x' },
      { name: 'plain', namespace: 'shop', labels: { app: 'web' }, annotations: { note: 'kept' }, uid: 'x', resourceVersion: 'x', creationTimestamp: 'x' },
    );
    assert.deepEqual(got?.spec, hpa('plain').spec);
    assert.deepEqual(created.body, got);
  });

  test('the admission step sees a CREATE with the path namespace, and what it returns is what is stored', async () => {
    admitWith((r) => ({ allowed: true, object: { ...r.object, spec: { ...(r.object.spec as Json), minReplicas: 2 } }, warnings: [] }));
    await send('POST', HPAS, hpa('mutated'));
    assert.deepEqual(
      seen.map((r) => [r.operation, r.namespace, r.name, (r.object.metadata as Json).namespace, r.oldObject, r.dryRun, r.resource.resource]),
      [['CREATE', 'shop', 'mutated', 'shop', undefined, false, 'horizontalpodautoscalers']],
    );
    assert.equal((api.objectOf('horizontalpodautoscalers.autoscaling', { namespace: 'shop', name: 'mutated' })?.spec as Json).minReplicas, 2);
  });

  test('warnings come back as one Warning header each, code 299 and agent "-", repeats dropped, quotes and backslashes escaped, UTF-8 kept', async () => {
    admitWith((r) => ({ allowed: true, object: r.object, warnings: ['plain', 'say "hi" \\ there', 'plain', 'cut…', ''] }));
    const created = await send('POST', HPAS, hpa('warned'));
    assert.deepEqual(created.warnings, ['299 - "plain"', '299 - "say \\"hi\\" \\\\ there"', '299 - "cut…"']);
  });

  test('a warning with a control character is dropped, as NewWarningHeader refuses it', async () => {
    admitWith((r) => ({ allowed: true, object: r.object, warnings: ['line\nbreak', 'c1 \u0085 control', 'kept'] }));
    const created = await send('POST', HPAS, hpa('control'));
    assert.deepEqual(created.warnings, ['299 - "kept"']);
  });

  test('a refusal is a Status with its code and message, its warnings still sent, and nothing stored', async () => {
    admitWith(() => ({ allowed: false, code: 403, message: 'no', warnings: ['why'] }));
    const refused = await send('POST', HPAS, hpa('refused'));
    assert.deepEqual([refused.status, refused.body.reason, refused.body.message, refused.warnings], [403, 'Forbidden', 'no', ['299 - "why"']]);
    assert.equal(api.objectOf('horizontalpodautoscalers.autoscaling', { namespace: 'shop', name: 'refused' }), undefined);
  });

  test('a POST of a name that exists is 409 AlreadyExists, after admission ran', async () => {
    await send('POST', HPAS, hpa('twice'));
    admitWith((r) => ({ allowed: true, object: r.object, warnings: [] }));
    const again = await send('POST', HPAS, hpa('twice'));
    assert.deepEqual([again.status, again.body.reason, seen.length], [409, 'AlreadyExists', 1]);
  });

  test('dryRun=All runs admission with dryRun and stores nothing', async () => {
    admitWith((r) => ({ allowed: true, object: r.object, warnings: [] }));
    const dry = await send('POST', `${HPAS}?dryRun=All`, hpa('dry'));
    assert.equal(dry.status, 201);
    assert.deepEqual(
      seen.map((r) => [r.dryRun, r.options.dryRun]),
      [[true, ['All']]],
    );
    assert.equal(api.objectOf('horizontalpodautoscalers.autoscaling', { namespace: 'shop', name: 'dry' }), undefined);
  });

  test('a merge patch changes the stored object, and admission sees an UPDATE with the old object', async () => {
    await send('POST', HPAS, hpa('patched', 5));
    admitWith((r) => ({ allowed: true, object: r.object, warnings: [] }));
    const patched = await send('PATCH', `${HPAS}/patched`, { metadata: { annotations: { note: null } }, spec: { maxReplicas: 9 } }, 'application/merge-patch+json');
    assert.equal(patched.status, 200);
    assert.deepEqual(
      seen.map((r) => [r.operation, (r.oldObject?.spec as Json).maxReplicas, (r.object.spec as Json).maxReplicas, r.options.kind]),
      [['UPDATE', 5, 9, 'UpdateOptions']],
    );
    const stored = api.objectOf('horizontalpodautoscalers.autoscaling', { namespace: 'shop', name: 'patched' });
    assert.deepEqual([(stored?.spec as Json).maxReplicas, (stored?.metadata as Json).annotations], [9, undefined]);
  });

  test('a strategic merge patch with a $ directive is refused with 415 rather than applied wrongly', async () => {
    await send('POST', HPAS, hpa('directive'));
    const refused = await send('PATCH', `${HPAS}/directive`, { spec: { $retainKeys: ['maxReplicas'], maxReplicas: 3 } }, 'application/strategic-merge-patch+json');
    assert.equal(refused.status, 415);
    assert.equal((api.objectOf('horizontalpodautoscalers.autoscaling', { namespace: 'shop', name: 'directive' })?.spec as Json).maxReplicas, 5);
  });
});
