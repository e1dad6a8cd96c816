// `hpa-bridge lint` as a platform team's CI runs it: the real binary, real
// files, exit codes and output formats.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fixturePath } from '../support/fixtures.js';

const BIN = fileURLToPath(new URL('../../../bin/hpa-bridge.js', import.meta.url));

function lint(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'lint', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sample = fixturePath('rules/sample-config.yaml');
const helm = fixturePath('rules/helm-default-rules.yaml');

describe('hpa-bridge lint', () => {
  test('the reference sample config and helm defaults exit 0 with only warnings', () => {
    const r = lint(sample, helm);
    assert.equal(r.code, 0);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 3);
    for (const line of lines) assert.match(line, /^\/.+\.yaml:\d+:\d+: warning: .+ \([a-z-]+\)$/);
    assert.match(r.stderr, /^0 errors, 3 warnings in 2 files$/m);
  });

  test('a file with errors exits 1 and prints file:line:col: error:', () => {
    const r = lint(fixturePath('rules/malformed/07-unclosed-group.yaml'));
    assert.equal(r.code, 1);
    assert.match(r.stdout, /07-unclosed-group\.yaml:5:26: error: rules\[0\]\.name\.matches: invalid name\.matches regex/);
  });

  test('each text line ends with the code of the problem', () => {
    const r = lint(fixturePath('rules/malformed/07-unclosed-group.yaml'));
    assert.match(r.stdout, /^.+07-unclosed-group\.yaml:5:26: error: .+ \(bad-regex\)$/m);
  });

  test('a directory is linted file by file', () => {
    const r = lint(fixturePath('rules/malformed/25-duplicate-metric-across-files'));
    assert.equal(r.code, 1);
    assert.match(r.stdout, /team-b\.yaml:3:3: error: rules\[0\]: metric "requests_per_second" for pods is published by both/);
    assert.match(r.stderr, /in 2 files/);
  });

  test('--format json gives the same diagnostics as data', () => {
    const r = lint('--format', 'json', sample);
    assert.equal(r.code, 0);
    const out = JSON.parse(r.stdout) as { errors: unknown[]; warnings: { line: number; column: number; severity: string; path: string; code: string }[] };
    assert.deepEqual(out.errors, []);
    assert.deepEqual(
      out.warnings.map((w) => [w.line, w.column, w.severity, w.path, w.code]),
      [
        [20, 32, 'warning', 'rules[2].seriesQuery', 'promql-lint'],
        [30, 17, 'warning', 'rules[3].metricsQuery', 'no-label-matchers'],
        [32, 3, 'warning', 'externalRules[0].resources', 'external-namespace'],
      ],
    );
  });

  test('--print-queries shows the PromQL for the example requests', () => {
    const r = lint('--print-queries', helm);
    assert.equal(r.code, 0);
    assert.ok(r.stdout.includes('sum(rate(example_series{namespace="default",pod=~"example-pod-1|example-pod-2",container!="POD"}[5m])) by (pod)'), r.stdout);
    assert.ok(r.stdout.includes('max(example_series{a="b",namespace="default"})'), r.stdout);
  });

  test('--print-queries says which custom rules share one query per namespace, and gives it', () => {
    const r = lint('--print-queries', fixturePath('rules/real-world/rules-01-k8s-prom-hpa.yaml'));
    assert.equal(r.code, 0);
    assert.match(r.stdout, /evaluation: shared: object-separable: every value is computed from the series of one pod and keeps pod\n/);
    assert.ok(r.stdout.includes('shared query: sum(rate(example_series{namespace="default"}[1m])) by (pod)'), r.stdout);
  });

  test('--print-queries says why a rule keeps one query per request', () => {
    const r = lint('--print-queries', '--format', 'json', fixturePath('rules/real-world/rules-08-eks-gpu-dcgm-old-invalid.yaml'));
    const out = JSON.parse(r.stdout) as { queries: { rule: string; evaluation?: string; evaluationReason?: string; sharedQuery?: string }[] };
    const first = out.queries.find((q) => q.rule === 'rules[0]');
    assert.equal(first?.evaluation, 'per-request');
    assert.equal(first.evaluationReason, 'not object-separable: avg aggregates every object into one value (no by (exported_container))');
    assert.equal(first.sharedQuery, undefined);
  });

  test('--print-queries keeps an external rule that aggregates its series into one value per request', () => {
    const r = lint('--print-queries', '--format', 'json', helm);
    const out = JSON.parse(r.stdout) as { queries: { rule: string; evaluation?: string; evaluationReason?: string }[] };
    const external = out.queries.filter((q) => q.rule.startsWith('externalRules'));
    assert.ok(external.length > 0);
    for (const q of external) {
      assert.equal(q.evaluation, 'per-request');
      assert.match(q.evaluationReason ?? '', /aggregates every object into one value \(no by \(<label>\)\)/);
    }
  });

  test('--print-queries names the selector labels an external rule shares its namespace query for', () => {
    const r = lint('--print-queries', new URL('../../../rules/examples/queue.yaml', import.meta.url).pathname);
    assert.ok(r.stdout.includes('evaluation: shared: for metric selectors on queue, which the query keeps per series'), r.stdout);
    assert.ok(r.stdout.includes('shared query: sum(queue_messages_ready{namespace="default"}) by (queue)'), r.stdout);
  });

  test('a missing path is an error, not a crash', () => {
    const r = lint('/nonexistent/rules.yaml');
    assert.equal(r.code, 1);
    assert.match(r.stdout, /\/nonexistent\/rules\.yaml:1:1: error: cannot read rule path: ENOENT/);
  });

  test('no paths is a usage error with exit 2', () => {
    const r = lint();
    assert.equal(r.code, 2);
    assert.match(r.stderr, /lint needs at least one rule file or directory/);
  });

  test('an unknown flag is a usage error with exit 2', () => {
    const r = lint('--fromat', 'json', sample);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown flag --fromat/);
  });

  test('an unknown format is a usage error with exit 2', () => {
    const r = lint('--format', 'xml', sample);
    assert.equal(r.code, 2);
  });

  test('a file with only resourceRules says what it will serve, in text', () => {
    const file = fixturePath('rules/prometheus-adapter-resource-rules.yaml');
    const r = lint(file);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${file}:2: serves metrics.k8s.io v1beta1 and v1 (pods, nodes) from resourceRules\n`);
  });

  test('a file with only resourceRules says what it will serve, in JSON', () => {
    const file = fixturePath('rules/prometheus-adapter-resource-rules.yaml');
    const r = lint('--format', 'json', file);
    assert.deepEqual((JSON.parse(r.stdout) as { serves: unknown }).serves, [{ api: 'metrics.k8s.io', versions: ['v1beta1', 'v1'], resources: ['pods', 'nodes'], file, line: 2 }]);
  });

  test('rules without resourceRules serve no resource metrics', () => {
    assert.deepEqual((JSON.parse(lint('--format', 'json', sample).stdout) as { serves: unknown }).serves, []);
  });
});
