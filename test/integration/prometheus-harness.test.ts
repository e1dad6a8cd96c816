// The harness every Prometheus-backed integration test relies on, checked
// against the real binary: what the exporter serves is what queries return,
// staleness and restarts behave like production, and nothing is left behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { startExporter, type Exporter } from '../support/exporter.js';
import { startPrometheus, type PrometheusInstance } from '../support/prometheus.js';

const WEB_1 = { namespace: 'default', pod: 'web-1' };

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

// A killed child of an exited parent may linger as a zombie until reaped;
// for our purposes that counts as gone.
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

describe('a real Prometheus scraping the test exporter', () => {
  let exporter: Exporter;
  let prom: PrometheusInstance;
  let scrapesAtStart = 0;

  before(async () => {
    exporter = await startExporter();
    exporter.set('harness_gauge', WEB_1, 42);
    exporter.set('http_requests_total', WEB_1, 10);
    exporter.set('harness_rate_total', WEB_1, 0);
    exporter.set('harness_stale', { pod: 'keep' }, 1);
    exporter.set('harness_stale', { pod: 'drop' }, 2);
    exporter.set('harness_escaped', { path: 'C:\\dir "quoted"\nnext line' }, 7);
    exporter.setRaw(['# TYPE harness_weird gauge', 'harness_weird{a="nan"} NaN', 'harness_weird{a="inf"} +Inf']);
    prom = await startPrometheus({ scrapeTargets: [exporter.address], scrapeIntervalSeconds: 1 });
    scrapesAtStart = exporter.scrapeCount;
    await prom.waitForSeries('{job="exporter",__name__=~"harness_.*|http_.*"}', {
      minSamples: 2,
      minSeries: 8,
      timeoutMs: 20_000,
    });
  });

  after(async () => {
    await prom?.stop();
    await exporter?.close();
  });

  test('startPrometheus resolves only once the exporter has been scraped', () => {
    assert.ok(scrapesAtStart >= 1, `scrapes at start: ${scrapesAtStart}`);
  });

  test('a series set on the exporter is queryable with its value', async () => {
    assert.match(prom.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await prom.queryScalar('harness_gauge{namespace="default",pod="web-1"}'), 42);
    const [sample] = await prom.query('harness_gauge');
    assert.deepEqual(sample?.metric, {
      __name__: 'harness_gauge',
      instance: exporter.address,
      job: 'exporter',
      namespace: 'default',
      pod: 'web-1',
    });
  });

  test('label values with backslashes, quotes and newlines arrive unchanged', async () => {
    const [sample] = await prom.query('harness_escaped');
    assert.equal(sample?.metric.path, 'C:\\dir "quoted"\nnext line');
  });

  test('raw lines serve NaN and +Inf samples', async () => {
    assert.ok(Number.isNaN(await prom.queryScalar('harness_weird{a="nan"}')));
    assert.equal(await prom.queryScalar('harness_weird{a="inf"}'), Infinity);
  });

  test('an add on the exporter shows up as the increased value after the next scrape', async () => {
    exporter.add('http_requests_total', WEB_1, 5);
    assert.equal(exporter.get('http_requests_total', WEB_1), 15);
    await exporter.waitForScrape();
    await prom.waitForQuery('http_requests_total{pod="web-1"}', (s) => s[0]?.value[1] === '15', {
      timeoutMs: 5_000,
    });
    assert.equal(await prom.queryScalar('sum(http_requests_total)'), 15);
  });

  test('rate() over a counter is positive after two increments', async () => {
    exporter.add('harness_rate_total', WEB_1, 5);
    await exporter.waitForScrape();
    exporter.add('harness_rate_total', WEB_1, 5);
    await exporter.waitForScrape();
    await prom.waitForQuery('harness_rate_total', (s) => s[0]?.value[1] === '10', { timeoutMs: 5_000 });
    const rate = await prom.queryScalar('rate(harness_rate_total[30s])');
    assert.ok(rate > 0, `rate was ${rate}`);
  });

  test('a removed series drops out of instant queries at the next scrape, long before the lookback delta', async () => {
    const started = Date.now();
    assert.equal(exporter.remove('harness_stale', { pod: 'drop' }), true);
    const remaining = await prom.waitForQuery('harness_stale', (s) => s.length === 1, { timeoutMs: 5_000 });
    assert.equal(remaining[0]?.metric.pod, 'keep');
    assert.ok(Date.now() - started < 5_000);
    // Still in the TSDB: it is the staleness marker, not deletion, that hides it.
    assert.ok((await prom.queryScalar('count_over_time(harness_stale{pod="drop"}[5m])')) >= 2);
  });

  test('restart() comes back on the same port with earlier samples still queryable', async () => {
    const { port, url, dir } = prom;
    const oldPid = prom.pid;
    const beforeRestart = new Date();
    const samplesBefore = await prom.queryScalar('count_over_time(harness_gauge[5m])');

    await prom.restart();

    assert.equal(prom.port, port);
    assert.equal(prom.url, url);
    assert.equal(prom.dir, dir);
    assert.notEqual(prom.pid, oldPid);
    assert.equal(await prom.queryScalar('harness_gauge', { time: beforeRestart }), 42);
    assert.ok((await prom.queryScalar('count_over_time(harness_gauge[5m])', { time: beforeRestart })) >= samplesBefore);
    // Scraping resumes too, not just the replayed WAL.
    await prom.waitForQuery('count_over_time(harness_gauge[5m])', (s) => Number(s[0]?.value[1] ?? 0) > samplesBefore, { timeoutMs: 10_000 });
  });

  test('stop() removes the temp dir and frees the port', async () => {
    const { dir, port, url } = prom;
    assert.ok(existsSync(dir));
    await prom.stop();
    assert.equal(prom.running, false);
    assert.equal(existsSync(dir), false);
    assert.equal(await canBind(port), true);
    await assert.rejects(fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) }));
    await prom.stop();
  });
});

test('a missing binary fails with the command that installs Prometheus', async () => {
  const saved = process.env.PROMETHEUS_BIN;
  process.env.PROMETHEUS_BIN = '/nonexistent';
  try {
    await assert.rejects(startPrometheus({ scrapeTargets: [] }), (err: Error) => {
      assert.match(err.message, /apt-get install -y prometheus/);
      assert.match(err.message, /\/nonexistent/);
      return true;
    });
  } finally {
    if (saved === undefined) delete process.env.PROMETHEUS_BIN;
    else process.env.PROMETHEUS_BIN = saved;
  }
});

test('a test process that crashes takes its Prometheus and temp dir with it', async () => {
  const moduleUrl = new URL('../support/prometheus.js', import.meta.url).href;
  const script = `
    import { startPrometheus } from ${JSON.stringify(moduleUrl)};
    const prom = await startPrometheus({ scrapeTargets: [] });
    process.stdout.write(JSON.stringify({ pid: prom.pid, dir: prom.dir }) + '\\n');
    throw new Error('simulated crash');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));

  assert.notEqual(code, 0);
  assert.match(stderr, /simulated crash/);
  const started = JSON.parse(stdout.trim()) as { pid: number; dir: string };
  assert.ok(started.pid > 0);
  assert.ok(await waitUntil(() => !isRunning(started.pid), 5_000), `Prometheus pid ${started.pid} still running`);
  assert.equal(existsSync(started.dir), false);
});
