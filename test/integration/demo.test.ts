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

// One run of about a minute and a half, which every test below reads.
let fastDemo: ReturnType<typeof run> | undefined;
const runFastDemo = (): ReturnType<typeof run> => (fastDemo ??= run(['demo', '--no-tty', '--fast'], 140_000));

test('the fast demo scales every HPA out under load and back in after it', { timeout: 150_000 }, async () => {
  const r = await runFastDemo();
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
  // php-apache scaled out on its Resource metric, CPU utilization, which the
  // controller can only compute from metrics.k8s.io PodMetrics.
  assert.match(r.stdout, /php-apache: SuccessfulRescale 1 -> \d+: cpu resource utilization \(percentage of request\) above target/);
  assert.match(r.stdout, /^php-apache\s+Deployment\/php-apache\s+cpu: \d+%\/50%/m);
});

test('the fast demo shows `kubectl top pods` from metrics.k8s.io for the pods of php-apache, more than one under load', { timeout: 150_000 }, async () => {
  const r = await runFastDemo();
  assert.equal(r.code, 0, `exit ${r.code} (${r.signal})\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
  const views = r.stdout.split(/^\$ kubectl top pods -l app=php-apache.*$/m).slice(1);
  assert.ok(views.length >= 2, `${views.length} kubectl top views`);
  let most = 0;
  for (const view of views) {
    const after = view.split('\n').slice(1);
    const end = after.findIndex((l) => !l.startsWith('  '));
    const lines = end === -1 ? after : after.slice(0, end);
    assert.match(lines[0] ?? '', /^ {2}NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)$/);
    const pods = lines.slice(1).map((l) => /^ {2}(php-apache-\S+)\s+(\d+)m\s+(\d+)Mi$/.exec(l));
    for (const [i, m] of pods.entries()) {
      assert.ok(m, `not a pod line: ${JSON.stringify(lines[i + 1])}`);
      // The simulated container's working set: 40Mi idle, 1Mi more per request per second.
      assert.ok(Number(m[3]) >= 40 && Number(m[3]) <= 141, `memory ${m[3]}Mi`);
    }
    most = Math.max(most, pods.length);
  }
  assert.ok(most > 1, 'kubectl top never showed more than one php-apache pod');
});

test('the fast demo ends with `hpa-bridge explain` of the scaled frontend HPA: its request, rule, PromQL and verdict', { timeout: 150_000 }, async () => {
  const r = await runFastDemo();
  assert.equal(r.code, 0, `exit ${r.code} (${r.signal})\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
  const at = r.stdout.indexOf('$ hpa-bridge explain -n default frontend');
  assert.ok(at > r.stdout.indexOf('SUMMARY frontend'), 'the explanation comes after the summary');
  const text = r.stdout.slice(at);
  assert.match(text, /asks: {4}GET \/apis\/custom\.metrics\.k8s\.io\/v1beta2\/namespaces\/default\/pods\/%2A\/http_requests_per_second\?labelSelector=app%3Dfrontend/);
  assert.match(text, /rule: {4}rules\[\d+\] \(.*workload\.yaml:\d+\)/);
  assert.match(text, /promql: {2}.*http_requests_total/);
  // Back at minReplicas with no load, the metrics want no more: the HPA holds.
  assert.match(text, /^ {2}(holding|held by the stabilization window)\b.*$/m);
});
