// The real `hpa-bridge serve` process: SIGTERM drains a request in flight,
// then the process exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { fileURLToPath } from 'node:url';
import { readFixture } from '../support/fixtures.js';

const BIN = fileURLToPath(new URL('../../../bin/hpa-bridge.js', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../../rules/examples', import.meta.url));

test('SIGTERM lets a request in flight finish, then the process exits 0', async () => {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--rules',
      EXAMPLES,
      '--prometheus-url',
      'http://127.0.0.1:9',
      '--authentication',
      'none',
      '--secure-port',
      '0',
      '--bind-address',
      '127.0.0.1',
      '--metrics-port',
      '-1',
      '--log-level',
      'info',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "serving" line within 15 s:\n${log}`)), 15_000);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      log += chunk;
      const m = log.includes('"msg":"serving"') ? /"url":"(https:\/\/[^"]+)"/.exec(log) : null;
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  try {
    const review = await readFixture('admission/admissionreview-04-whorf-deploy-create-full.json');
    const u = new URL(url);
    const status = new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        { host: u.hostname, port: u.port, path: '/mutate', method: 'POST', rejectUnauthorized: false, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(review) } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write(review.slice(0, 50));
      // The signal arrives while the body is still on its way.
      setTimeout(() => child.kill('SIGTERM'), 200);
      setTimeout(() => req.end(review.slice(50)), 600);
    });
    assert.equal(await status, 200);
    assert.equal(await exited, 0);
    assert.match(log, /"msg":"shutting down: draining requests in flight"/);
    assert.match(log, /"msg":"stopped"/);
  } finally {
    child.kill('SIGKILL');
  }
});
