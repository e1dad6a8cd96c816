// What hpa-bridge sends to a Prometheus-compatible backend: POST, a path
// prefix, extra headers, a bearer token re-read when its file changes, and a
// `timeout` parameter Prometheus accepts. The backend here only records
// requests; it stands in for a multi-tenant gateway in front of Prometheus.
// With --prometheus-verb GET, both go as GET with their parameters in the
// URL, for read-only proxies that refuse POST.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { PrometheusClient, PrometheusError } from '../../adapter/prometheus.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

describe('the Prometheus connection', () => {
  let server: Server;
  let base: string;
  const seen: Seen[] = [];

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        res.setHeader('Content-Type', 'application/json');
        const url = new URL(req.url ?? '/', 'http://stand-in').pathname;
        if (!url.startsWith('/prometheus/tenant-a/')) {
          res.statusCode = 404;
          res.end('404 page not found');
        } else if (url.endsWith('/api/v1/query')) {
          const answer = JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: { pod: 'a' }, value: [1700000000, '1.5'] }] } });
          // Compresses when asked, as Prometheus does.
          if (/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
            res.setHeader('Content-Encoding', 'gzip');
            res.end(gzipSync(answer));
          } else {
            res.end(answer);
          }
        } else if (url.endsWith('/api/v1/series')) {
          res.end(JSON.stringify({ status: 'success', data: [{ __name__: 'up', job: 'x' }] }));
        } else {
          res.statusCode = 404;
          res.end('{}');
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((r) => server.close(() => r())));

  test('queries are POSTed under the URL path prefix with the extra headers and a numeric timeout', async () => {
    let token = 'first';
    const client = new PrometheusClient({ url: `${base}/prometheus/tenant-a/`, headers: () => ({ 'X-Scope-OrgID': 'team-a', Authorization: `Bearer ${token}` }) });
    const samples = await client.query('up', { deadline: Date.now() + 2000 });
    assert.deepEqual(samples, [{ labels: { pod: 'a' }, value: 1.5, timestampMs: 1700000000000 }]);
    const q = seen.at(-1);
    assert.equal(q?.method, 'POST');
    assert.equal(q?.url, '/prometheus/tenant-a/api/v1/query');
    assert.equal(q?.headers['x-scope-orgid'], 'team-a');
    assert.equal(q?.headers.authorization, 'Bearer first');
    const params = new URLSearchParams(q?.body);
    assert.equal(params.get('query'), 'up');
    assert.match(params.get('timeout') ?? '', /^\d+\.\d{3}$/);
    token = 'rotated';
    await client.query('up', { deadline: Date.now() + 2000 });
    assert.equal(seen.at(-1)?.headers.authorization, 'Bearer rotated');
  });

  test('series discovery is POSTed under the prefix with the same headers', async () => {
    const client = new PrometheusClient({ url: `${base}/prometheus/tenant-a`, headers: () => ({ 'X-Scope-OrgID': 'team-a' }) });
    const summary = await client.series('{job="x"}', 60, { deadline: Date.now() + 2000 });
    assert.deepEqual([...summary.labelNames.entries()], [['up', ['job']]]);
    const s = seen.at(-1);
    assert.equal(s?.url, '/prometheus/tenant-a/api/v1/series');
    assert.equal(s?.headers['x-scope-orgid'], 'team-a');
    assert.equal(new URLSearchParams(s?.body).get('match[]'), '{job="x"}');
  });

  test('a 404 from a wrong prefix is reported as unavailable with the status', async () => {
    const client = new PrometheusClient({ url: `${base}/wrong` });
    await assert.rejects(client.series('up', 60, { deadline: Date.now() + 2000 }), (e: unknown) => e instanceof PrometheusError && e.kind === 'unavailable' && e.message.includes('answered 404'));
  });

  test('query answers are asked for uncompressed by default', async () => {
    const client = new PrometheusClient({ url: `${base}/prometheus/tenant-a` });
    const samples = await client.query('up', { deadline: Date.now() + 2000 });
    assert.equal(seen.at(-1)?.headers['accept-encoding'], 'identity');
    assert.equal(samples[0]?.value, 1.5);
  });

  test('with compression on, query answers are asked for and decoded as gzip', async () => {
    const client = new PrometheusClient({ url: `${base}/prometheus/tenant-a`, compression: true });
    const samples = await client.query('up', { deadline: Date.now() + 2000 });
    assert.equal(seen.at(-1)?.headers['accept-encoding'], 'gzip');
    assert.deepEqual(samples, [{ labels: { pod: 'a' }, value: 1.5, timestampMs: 1700000000000 }]);
  });

  test('with the GET verb, a query goes as GET with its parameters in the URL and no body', async () => {
    const client = new PrometheusClient({ url: `${base}/prometheus/tenant-a`, verb: 'GET' });
    const samples = await client.query('sum(up{job="x"})', { deadline: Date.now() + 2000 });
    assert.equal(samples[0]?.value, 1.5);
    const q = seen.at(-1);
    assert.equal(q?.method, 'GET');
    assert.equal(q?.body, '');
    const url = new URL(q?.url ?? '', 'http://stand-in');
    assert.equal(url.pathname, '/prometheus/tenant-a/api/v1/query');
    assert.equal(url.searchParams.get('query'), 'sum(up{job="x"})');
    assert.match(url.searchParams.get('timeout') ?? '', /^\d+\.\d{3}$/);
  });

  test('with the GET verb, series discovery goes as GET with match[] and the window in the URL', async () => {
    const client = new PrometheusClient({ url: `${base}/prometheus/tenant-a`, verb: 'GET', headers: () => ({ 'X-Scope-OrgID': 'team-a' }) });
    const summary = await client.series('{job="x"}', 60, { deadline: Date.now() + 2000 });
    assert.deepEqual([...summary.labelNames.entries()], [['up', ['job']]]);
    const s = seen.at(-1);
    assert.equal(s?.method, 'GET');
    assert.equal(s?.body, '');
    assert.equal(s?.headers['x-scope-orgid'], 'team-a');
    const url = new URL(s?.url ?? '', 'http://stand-in');
    assert.equal(url.pathname, '/prometheus/tenant-a/api/v1/series');
    assert.equal(url.searchParams.get('match[]'), '{job="x"}');
    const start = Number(url.searchParams.get('start'));
    const end = Number(url.searchParams.get('end'));
    assert.ok(Math.abs(end - start - 60) < 0.01, `window ${String(end - start)} s`);
  });

  test('series discovery is POSTed by default', async () => {
    const client = new PrometheusClient({ url: `${base}/prometheus/tenant-a` });
    await client.series('{job="x"}', 60, { deadline: Date.now() + 2000 });
    assert.equal(seen.at(-1)?.method, 'POST');
  });
});
