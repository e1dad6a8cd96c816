// Public prometheus-adapter configs must load unmodified (the two broken on
// purpose must not), and the reference's own sample config lints with
// warnings only.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRuleTexts } from '../../rules/load.js';
import { formatDiagnostic } from '../../rules/diagnostics.js';
import { metricNameForSeries } from '../../rules/naming.js';
import { readFixture } from '../support/fixtures.js';

async function load(...files: string[]) {
  const texts = await Promise.all(files.map(async (file) => ({ file, text: await readFixture(`rules/${file}`) })));
  return compileRuleTexts(texts);
}

const loads: { file: string; custom: number; external: number; resource: boolean; warnings: number }[] = [
  { file: 'real-world/rules-01-k8s-prom-hpa.yaml', custom: 6, external: 0, resource: true, warnings: 0 },
  { file: 'real-world/rules-02-kube-prometheus.yaml', custom: 0, external: 0, resource: true, warnings: 0 },
  { file: 'real-world/rules-03-deckhouse.yaml', custom: 3, external: 1, resource: true, warnings: 0 },
  { file: 'real-world/rules-04-vllm-production-stack.yaml', custom: 2, external: 0, resource: false, warnings: 2 },
  { file: 'real-world/rules-05-triton-k8s-onprem.yaml', custom: 1, external: 0, resource: false, warnings: 0 },
  { file: 'real-world/rules-07-bjw-s-home-ops.yaml', custom: 0, external: 1, resource: false, warnings: 0 },
  { file: 'real-world/rules-08-eks-gpu-dcgm.yaml', custom: 3, external: 0, resource: false, warnings: 3 },
  { file: 'real-world/rules-09-istio-openshift-service.yaml', custom: 2, external: 0, resource: false, warnings: 0 },
  { file: 'real-world/rules-10-llm-d-wva.yaml', custom: 0, external: 1, resource: false, warnings: 0 },
  { file: 'helm-default-rules.yaml', custom: 6, external: 2, resource: false, warnings: 0 },
];

describe('public configs load unmodified', () => {
  for (const c of loads) {
    test(`${c.file} loads with ${c.custom} custom and ${c.external} external rules`, async () => {
      const result = await load(c.file);
      assert.deepEqual(result.errors.map(formatDiagnostic), []);
      assert.equal(result.ruleSet?.rules.length, c.custom);
      assert.equal(result.ruleSet?.externalRules.length, c.external);
      assert.equal(result.ruleSet?.resourceRules !== undefined, c.resource);
      assert.equal(result.warnings.length, c.warnings);
    });
  }

  test('the reference sample config loads with exactly its three real problems as warnings', async () => {
    const result = await load('sample-config.yaml');
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.warnings.map(formatDiagnostic), [
      'sample-config.yaml:20:32: warning: rules[2].seriesQuery: __name__!="^container_.*" compares the label to the literal text "^container_.*", which looks like a regex; use !~ to match a regex (promql-lint)',
      'sample-config.yaml:30:17: warning: rules[3].metricsQuery: metricsQuery does not use <<.LabelMatchers>>, so requests are not narrowed to the objects, namespace or metric selector asked for (no-label-matchers)',
      'sample-config.yaml:32:3: warning: externalRules[0].resources: external rule has no namespace mapping and is namespaced (the default), so requests cannot be scoped to a namespace; map the namespace label (resources.overrides: {namespace: {resource: namespace}}) or set resources.namespaced: false (external-namespace)',
    ]);
  });

  test('the sample config and the helm defaults load together without conflicts', async () => {
    const result = await load('sample-config.yaml', 'helm-default-rules.yaml');
    assert.deepEqual(result.errors, []);
    assert.equal(result.ruleSet?.rules.length, 10);
    assert.equal(result.ruleSet?.externalRules.length, 4);
  });

  test('the istio config names series with ${1}_per_second', async () => {
    const result = await load('real-world/rules-09-istio-openshift-service.yaml');
    const [requests, latency] = result.ruleSet?.rules ?? [];
    assert.ok(requests && latency);
    assert.equal(metricNameForSeries(requests, 'istio_requests_total'), 'istio_requests_per_second');
    assert.equal(metricNameForSeries(latency, 'istio_request_duration_milliseconds_bucket'), 'istio_request_duration_milliseconds_p90');
  });

  test('the helm defaults keep counters out of the gauge rule', async () => {
    const result = await load('helm-default-rules.yaml');
    const gauges = result.ruleSet?.rules[3];
    assert.ok(gauges);
    assert.equal(metricNameForSeries(gauges, 'http_requests_total'), undefined);
    assert.equal(metricNameForSeries(gauges, 'queue_length'), 'queue_length');
  });
});

describe('configs broken on purpose', () => {
  test('a capitalised Rules key fails strict decoding', async () => {
    const result = await load('real-world/rules-06-codefresh-onprem.yaml');
    assert.equal(result.ruleSet, undefined);
    assert.deepEqual(
      result.errors.map((e) => `${e.line}:${e.column} ${e.path}`),
      ['2:1 Rules'],
    );
  });

  test('a metricsQuery indented under name fails strict decoding', async () => {
    const result = await load('real-world/rules-08-eks-gpu-dcgm-old-invalid.yaml');
    assert.equal(result.ruleSet, undefined);
    assert.deepEqual(
      result.errors.map((e) => `${e.line}:${e.column} ${e.path}`),
      ['17:9 rules[1].name.metricsQuery'],
    );
  });
});
