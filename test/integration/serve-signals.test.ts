// The real `hpa-bridge serve` process: SIGTERM drains a request in flight,
// then the process exits 0; a SIGTERM during start-up stops it cleanly too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { request as httpsRequest } from 'node:https';
import { fileURLToPath } from 'node:url';
import { readFixture } from '../support/fixtures.js';

const BIN = fileURLToPath(new URL('../../../bin/hpa-bridge.js', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../../rules/examples', import.meta.url));

function startServe(): ChildProcessByStdio<null, null, Readable> {
  return spawn(
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
}

test('SIGTERM lets a request in flight finish, then the process exits 0', async () => {
  const child = startServe();
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

test('a SIGTERM while the server is still starting stops it once it is up, and the process exits 0', { timeout: 30_000 }, async () => {
  const child = startServe();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let log = '';
  let signalled = false;
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    log += chunk;
    // The self-signed certificate notice comes before the listeners are up.
    if (!signalled && log.includes('no --tls-cert-file given') && !log.includes('"msg":"serving"')) {
      signalled = true;
      child.kill('SIGTERM');
    }
  });
  try {
    assert.deepEqual(await exited, { code: 0, signal: null }, log);
    assert.ok(signalled, `no start-up notice before "serving":\n${log}`);
    assert.match(log, /"signal":"SIGTERM".*"msg":"shutting down: draining requests in flight"/);
    assert.match(log, /"msg":"stopped"/);
  } finally {
    child.kill('SIGKILL');
  }
});
