// `hpa-bridge demo --fast` end to end: real Prometheus, the real server and
// the simulated HPAs, judged by the exit code and the summary lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../bin/hpa-bridge.js', import.meta.url));

function run(args: string[], timeoutMs: number): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    // SIGINT first, so a stuck demo still cleans up its Prometheus.
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

test('the fast demo scales every HPA out under load and back in after it', { timeout: 150_000 }, async () => {
  const r = await run(['demo', '--no-tty', '--fast'], 140_000);
  assert.equal(r.code, 0, `exit ${r.code} (${r.signal})\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
  const summary = [...r.stdout.matchAll(/^SUMMARY (\S+) min=(\d+) peak=(\d+) final=(\d+) scale-out=(\d+)s scale-in=(\d+)s (OK|FAILED)$/gm)];
  assert.deepEqual(summary.map((m) => m[1]).sort(), ['frontend', 'php-apache', 'queue-worker']);
  for (const m of summary) {
    const [, name, min, peak, final, , , verdict] = m;
    assert.ok(Number(peak) > Number(min), `${name} peaked at ${peak}, not above ${min}`);
    assert.equal(final, min, `${name} ended at ${final}`);
    assert.equal(verdict, 'OK');
  }
  // The events show each HPA's scale-up and scale-down with the controller's reason.
  for (const name of ['php-apache', 'frontend', 'queue-worker']) {
    assert.match(r.stdout, new RegExp(`${name}: SuccessfulRescale 1 -> \\d+: .*above target`));
    assert.match(r.stdout, new RegExp(`${name}: SuccessfulRescale \\d+ -> 1: All metrics below target`));
  }
});
