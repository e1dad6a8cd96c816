// Readiness of the real server while it is degraded but still serving: a
// rejected rule edit and a failed discovery relist keep /readyz at 200, and
// `?verbose` says what is wrong, how long ago, and where in the rule files,
// without handing unauthenticated callers the series queries themselves.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { startServer, type RunningServer } from '../../cli/serve.js';
import { silentLogger } from '../../adapter/log.js';
import { startPrometheus, type PrometheusInstance } from '../support/prometheus.js';

const EXAMPLES = fileURLToPath(new URL('../../../rules/examples', import.meta.url));

function nextRejection(server: RunningServer): Promise<void> {
  return new Promise((resolve) => server.rules.once('rejected', () => resolve()));
}

describe('readiness while degraded', () => {
  let dir: string;
  let prom: PrometheusInstance;
  let server: RunningServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-readiness-'));
    await cp(EXAMPLES, dir, { recursive: true });
    prom = await startPrometheus({ scrapeTargets: [] });
    server = await startServer(
      {
        rules: [dir],
        prometheusUrl: prom.url,
        securePort: 0,
        bindAddress: '127.0.0.1',
        objectSource: 'prometheus',
        authentication: 'none',
        relistIntervalMs: 600_000,
        maxAgeSeconds: 60,
        cacheTtlSeconds: 5,
        requestTimeoutMs: 2_000,
        logLevel: 'silent',
        httpPort: 0,
      },
      silentLogger,
    );
    await server.discovery.relist();
  });

  after(async () => {
    await server?.close();
    await prom?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a healthy server lists each check as ok and ends with "readyz check passed"', async () => {
    const res = await request(server.url).get('/readyz?verbose').disableTLSCerts().expect(200);
    assert.match(res.text, /^\[\+\]rules ok$/m);
    assert.match(res.text, /^\[\+\]discovery ok$/m);
    assert.match(res.text, /readyz check passed\n$/);
  });

  test('a rejected rule edit stays ready and is reported with its file:line:col and age', async () => {
    const rejected = nextRejection(server);
    await writeFile(join(dir, 'broken.yaml'), 'rules: [\n');
    await server.rules.reload();
    await rejected;
    const res = await request(server.url).get('/readyz?verbose').disableTLSCerts().expect(200);
    assert.match(res.text, /^\[\+\]rules ok \(warning: .*broken\.yaml:\d+:\d+.*\d+s ago.*\)$/m);
    assert.ok(!res.text.includes(dir), `the answer shows an absolute path:\n${res.text}`);
    await rm(join(dir, 'broken.yaml'));
    await server.rules.reload();
  });

  test('a failed relist stays ready and reports the error, the rules it hit and the age of the last good discovery', async () => {
    await prom.halt();
    try {
      await server.discovery.relist();
      const res = await request(server.url).get('/readyz?verbose').disableTLSCerts().expect(200);
      const line = /^\[\+\]discovery ok \(warning: (.*)\)$/m.exec(res.text)?.[1];
      assert.ok(line, `no discovery warning in:\n${res.text}`);
      assert.match(line, /3 of 3 series queries failed/);
      assert.match(line, /workload\.yaml:5\b/);
      assert.match(line, /queue\.yaml:3\b/);
      // A new connection is refused; one kept alive from before the halt is reset.
      assert.match(line, /ECONNREFUSED|ECONNRESET|socket hang up/);
      assert.match(line, /last complete discovery \d+s ago/);
      assert.ok(!res.text.includes('seriesQuery') && !res.text.includes('http_requests_total'), `the answer lists series queries:\n${res.text}`);
    } finally {
      await prom.resume();
    }
  });

  test('the plain-HTTP port answers readiness from the same checks', async () => {
    const res = await request(`http://127.0.0.1:${server.httpPort}`).get('/readyz?verbose').expect(200);
    assert.match(res.text, /^\[\+\]rules ok/m);
    assert.match(res.text, /readyz check passed\n$/);
  });
});
