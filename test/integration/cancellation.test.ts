// Queries nobody waits for stop: at the request deadline, and when the clients
// that asked have gone, the connection to Prometheus is closed rather than
// left open until Prometheus' own timeout. The backend here stands in for a
// Prometheus stuck on a slow query: it answers discovery, never a query, and
// records when each query's connection closes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ClientRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../adapter/log.js';
import { PrometheusClient, PrometheusError } from '../../adapter/prometheus.js';
import { startServer, type RunningServer } from '../../cli/serve.js';
import { testServeConfig } from '../support/serve-config.js';

interface HeldQuery {
  readonly query: string;
  readonly receivedAt: number;
  closedAt: number | undefined;
}

/** A Prometheus that answers /api/v1/series and holds every other call (queries, series under a prefix) open. */
class StuckPrometheus {
  readonly held: HeldQuery[] = [];
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.url === '/api/v1/series') {
          res.setHeader('Content-Type', 'application/json');
          res.end(JSON.stringify({ status: 'success', data: [{ __name__: 'http_requests_total', namespace: 'default', pod: 'web-1' }] }));
          return;
        }
        const params = new URLSearchParams(body);
        const held: HeldQuery = { query: params.get('query') ?? params.get('match[]') ?? '', receivedAt: Date.now(), closedAt: undefined };
        this.held.push(held);
        req.socket.once('close', () => (held.closedAt = Date.now()));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Resolves once `count` queries have arrived in all. */
  async received(count: number, ms = 5_000): Promise<void> {
    await until(() => this.held.length >= count, ms, `${count} queries to arrive`);
  }
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('a query at its deadline', () => {
  const prometheus = new StuckPrometheus();
  let url: string;
  before(async () => {
    url = await prometheus.start();
  });
  after(() => prometheus.stop());

  test('closes its connection to Prometheus at the request deadline, not at the longer call timeout', async () => {
    const client = new PrometheusClient({ url, maxTimeoutMs: 30_000 });
    const started = Date.now();
    await assert.rejects(client.query('slow_query', { deadline: started + 500 }), (e) => e instanceof PrometheusError && e.kind === 'timeout');
    const held = prometheus.held.find((h) => h.query === 'slow_query');
    await until(() => held?.closedAt !== undefined, 3_000, 'the query connection to close');
    const closedAfter = (held?.closedAt ?? Infinity) - started;
    assert.ok(closedAfter >= 450 && closedAfter < 1_500, `closed ${closedAfter} ms after the query was sent`);
  });

  test('closes its connection to Prometheus when its caller aborts', async () => {
    const client = new PrometheusClient({ url, maxTimeoutMs: 30_000 });
    const caller = new AbortController();
    const pending = client.query('abandoned_query', { deadline: Date.now() + 20_000, signal: caller.signal });
    await until(() => prometheus.held.some((h) => h.query === 'abandoned_query'), 3_000, 'the query to arrive');
    const abortedAt = Date.now();
    caller.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    const held = prometheus.held.find((h) => h.query === 'abandoned_query');
    await until(() => held?.closedAt !== undefined, 3_000, 'the query connection to close');
    assert.ok((held?.closedAt ?? Infinity) - abortedAt < 1_000);
  });

  test('series discovery closes its connection to Prometheus when its caller aborts', async () => {
    // Under this prefix the stand-in holds series calls open too.
    const client = new PrometheusClient({ url: `${url}/held`, maxTimeoutMs: 30_000 });
    const caller = new AbortController();
    const pending = client.series('abandoned_series', 60, { deadline: Date.now() + 20_000, signal: caller.signal });
    await until(() => prometheus.held.some((h) => h.query === 'abandoned_series'), 3_000, 'the series call to arrive');
    const abortedAt = Date.now();
    caller.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    const held = prometheus.held.find((h) => h.query === 'abandoned_series');
    await until(() => held?.closedAt !== undefined, 3_000, 'the series connection to close');
    assert.ok((held?.closedAt ?? Infinity) - abortedAt < 1_000);
  });
});

describe('a query whose clients have gone', () => {
  const prometheus = new StuckPrometheus();
  let dir: string;
  let server: RunningServer;
  const PATH = '/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/web-1/http_requests_per_second';

  before(async () => {
    const url = await prometheus.start();
    dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-cancel-'));
    await writeFile(
      join(dir, 'rules.yaml'),
      `rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {matches: "^(.*)_total$", as: "\${1}_per_second"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)'
`,
    );
    server = await startServer(
      // A long deadline, so that only the clients' leaving can end the queries here.
      testServeConfig(url, [join(dir, 'rules.yaml')], { requestTimeoutMs: 30_000 }),
      silentLogger,
    );
    await until(() => server.discovery.registry !== undefined, 5_000, 'discovery');
  });

  after(async () => {
    await server?.close();
    await prometheus.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Sends a request and resolves once it is on the wire; the test destroys it to leave. */
  async function ask(): Promise<ClientRequest> {
    const req = httpsRequest(`${server.url}${PATH}`, { rejectUnauthorized: false, agent: false });
    req.on('error', () => undefined);
    await new Promise<void>((resolve) => req.end(resolve));
    return req;
  }

  test('when the only client disconnects, the query connection to Prometheus is closed', async () => {
    const before = prometheus.held.length;
    const client = await ask();
    await prometheus.received(before + 1);
    const held = prometheus.held[before];
    const leftAt = Date.now();
    client.destroy();
    await until(() => held?.closedAt !== undefined, 3_000, 'the query connection to close');
    assert.ok((held?.closedAt ?? Infinity) - leftAt < 1_000);
  });

  test('one of two clients leaving keeps the shared query going; the second leaving closes it', async () => {
    const before = prometheus.held.length;
    const [first, second] = await Promise.all([ask(), ask()]);
    await prometheus.received(before + 1);
    // Both requests were sent; the server has read them by now.
    await sleep(300);
    assert.equal(prometheus.held.length, before + 1, 'one query for two identical requests');
    const held = prometheus.held[before];
    first?.destroy();
    await sleep(500);
    assert.equal(held?.closedAt, undefined, 'the query is still open while a client waits');
    second?.destroy();
    await until(() => held?.closedAt !== undefined, 3_000, 'the query connection to close');
  });
});
