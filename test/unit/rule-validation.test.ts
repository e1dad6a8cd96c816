// Malformed rule files: each must fail to load with the exact file:line:col
// and message, and nothing that follows from the first mistake.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRuleTexts } from '../../rules/load.js';
import { formatDiagnostic } from '../../rules/diagnostics.js';
import { readFixture } from '../support/fixtures.js';
import { compileYaml, formatted } from '../support/rules.js';

interface Case {
  readonly files: readonly string[];
  readonly errors: readonly string[];
}

const M = 'rules/malformed/';

const cases: Record<string, Case> = {
  'a capitalised top-level key is unknown, with a suggestion': {
    files: ['01-capitalised-top-level-key.yaml'],
    errors: ['01-capitalised-top-level-key.yaml:2:1: error: Rules: unknown field "Rules" (known fields: rules, externalRules, resourceRules, defaults); did you mean "rules"? (unknown-field)'],
  },
  'a key indented under the wrong parent is unknown there and named as mis-indented': {
    files: ['02-metricsquery-indented-under-name.yaml'],
    errors: [
      '02-metricsquery-indented-under-name.yaml:17:9: error: rules[1].name.metricsQuery: unknown field "metricsQuery" (known fields: matches, as); "metricsQuery" is a field of rules[1], check its indentation (unknown-field)',
    ],
  },
  'a YAML syntax error is reported once': {
    files: ['03-yaml-syntax.yaml'],
    errors: ["03-yaml-syntax.yaml:2:40: error: invalid YAML: missing closing 'quote (yaml-syntax)"],
  },
  'a duplicate key is an error, as with strict decoding': {
    files: ['04-duplicate-key.yaml'],
    errors: ['04-duplicate-key.yaml:5:3: error: duplicate key (a key may appear once in a mapping) (duplicate-key)'],
  },
  'a filter with both is and isNot is an error': {
    files: ['05-filter-with-is-and-isnot.yaml'],
    errors: ['05-filter-with-is-and-isnot.yaml:4:5: error: rules[0].seriesFilters[0]: a series filter has either "is" or "isNot", not both (bad-filter)'],
  },
  'a filter with neither is nor isNot is an error': {
    files: ['06-empty-filter.yaml'],
    errors: ['06-empty-filter.yaml:4:5: error: rules[0].seriesFilters[0]: a series filter needs "is" or "isNot" (bad-filter)'],
  },
  'an unclosed regex group points at the open parenthesis': {
    files: ['07-unclosed-group.yaml'],
    errors: ['07-unclosed-group.yaml:5:26: error: rules[0].name.matches: invalid name.matches regex "^container_(.*_total$": missing closing ): `(.*_total$` at offset 11 (bad-regex)'],
  },
  'a look-ahead is rejected as RE2 does': {
    files: ['08-lookahead.yaml'],
    errors: ['08-lookahead.yaml:5:11: error: rules[0].seriesFilters[0].is: invalid series filter regex "^(?!container_).*": look-around is not supported in RE2 syntax: `(?!` at offset 1 (bad-regex)'],
  },
  'a backreference is rejected as RE2 does': {
    files: ['09-backreference.yaml'],
    errors: ['09-backreference.yaml:4:27: error: rules[0].name.matches: invalid name.matches regex "^(\\\\w+)_\\\\1$": backreferences are not supported in RE2 syntax: `\\1` at offset 7 (bad-regex)'],
  },
  'two capture groups without as is an error': {
    files: ['10-two-groups-no-as.yaml'],
    errors: ['10-two-groups-no-as.yaml:5:14: error: rules[0].name.as: name.matches "^(.*)_(total|count)$" has 2 capture groups; set name.as to say which to use (e.g. "${1}") (missing-as)'],
  },
  'an unclosed template action points at the stray character': {
    files: ['11-unclosed-action.yaml'],
    errors: ["11-unclosed-action.yaml:4:50: error: rules[0].metricsQuery: invalid template: bad character U+007D '}' (bad-template)"],
  },
  'an unsupported template construct is named with its position': {
    files: ['12-unsupported-construct.yaml'],
    errors: ['12-unsupported-construct.yaml:5:7: error: rules[0].metricsQuery: template: unsupported construct "define": named templates are not supported (bad-template)'],
  },
  'an unknown template field is named with the known ones': {
    files: ['13-unknown-template-field.yaml'],
    errors: [
      '13-unknown-template-field.yaml:4:59: error: rules[0].metricsQuery: invalid template: unknown field .Namespace (known: .Series, .LabelMatchers, .LabelValuesByName, .GroupBy, .GroupBySlice) (bad-template)',
    ],
  },
  'a rendered query that is not PromQL shows the rendered text': {
    files: ['14-rendered-promql-invalid.yaml'],
    errors: [
      '14-rendered-promql-invalid.yaml:4:17: error: rules[0].metricsQuery: invalid PromQL near "by (pod)"; the query rendered for an example request is: sum(rate(example_series{namespace="default",pod=~"example-pod-1|example-pod-2"}[5m]) by (pod) (bad-promql)',
    ],
  },
  'an unclosed series selector is invalid PromQL': {
    files: ['15-series-query-unclosed.yaml'],
    errors: ['15-series-query-unclosed.yaml:2:52: error: rules[0].seriesQuery: invalid PromQL: unexpected end of query (bad-promql)'],
  },
  'a series query must be a selector, not an expression': {
    files: ['16-series-query-expression.yaml'],
    errors: ['16-series-query-expression.yaml:2:16: error: rules[0].seriesQuery: seriesQuery must be a series selector such as {__name__=~"^http_.*",namespace!=""}, not an expression (bad-promql)'],
  },
  'an external rule with resources but no namespace mapping is an error': {
    files: ['17-external-without-namespace.yaml'],
    errors: [
      '17-external-without-namespace.yaml:4:5: error: externalRules[0].resources: external rule has no namespace mapping and is namespaced (the default), so requests cannot be scoped to a namespace; map the namespace label (resources.overrides: {namespace: {resource: namespace}}) or set resources.namespaced: false (external-namespace)',
    ],
  },
  'a resource template without .Resource is an error': {
    files: ['18-template-without-resource.yaml'],
    errors: ['18-template-without-resource.yaml:3:25: error: rules[0].resources.template: the template must use <<.Resource>> so resources can be read back from labels (bad-template)'],
  },
  'rules given as a mapping is a type error': {
    files: ['19-rules-is-a-mapping.yaml'],
    errors: ['19-rules-is-a-mapping.yaml:2:3: error: rules: expected a list, found a mapping (wrong-type)'],
  },
  'an override without a resource is an error': {
    files: ['20-override-without-resource.yaml'],
    errors: ['20-override-without-resource.yaml:6:7: error: rules[0].resources.overrides.pod: override for label "pod" needs a resource (missing-resource)'],
  },
  'a rule without metricsQuery is an error': {
    files: ['21-missing-metrics-query.yaml'],
    errors: ['21-missing-metrics-query.yaml:2:3: error: rules[0].metricsQuery: metricsQuery is required (missing-field)'],
  },
  'a resourceRules window that is not a duration is an error': {
    files: ['22-bad-window.yaml'],
    errors: ['22-bad-window.yaml:20:11: error: resourceRules.window: invalid duration "5 minutes"; use a Prometheus duration such as 30s or 1m (bad-duration)'],
  },
  'a string escape Prometheus rejects is an error': {
    files: ['23-invalid-string-escape.yaml'],
    errors: [
      '23-invalid-string-escape.yaml:4:17: error: rules[0].metricsQuery: invalid string literal "/api\\.v1": PromQL strings use Go escapes (write \\\\ for a backslash); the query rendered for an example request is: sum(example_series{namespace="default",pod=~"example-pod-1|example-pod-2",path=~"/api\\.v1"}) by (pod) (bad-promql)',
    ],
  },
  'namespaced must be a boolean': {
    files: ['24-namespaced-not-boolean.yaml'],
    errors: ['24-namespaced-not-boolean.yaml:3:27: error: externalRules[0].resources.namespaced: expected true or false, found the scalar "sometimes" (wrong-type)'],
  },
  'sharedEvaluation must be a boolean': {
    files: ['26-shared-evaluation-not-boolean.yaml'],
    errors: ['26-shared-evaluation-not-boolean.yaml:5:21: error: rules[0].sharedEvaluation: expected true or false, found the scalar "no" (wrong-type)'],
  },
  'two files publishing the same metric for the same resource name both places': {
    files: ['25-duplicate-metric-across-files/team-a.yaml', '25-duplicate-metric-across-files/team-b.yaml'],
    errors: [
      '25-duplicate-metric-across-files/team-b.yaml:3:3: error: rules[0]: metric "requests_per_second" for pods is published by both rules[0] (25-duplicate-metric-across-files/team-a.yaml:2:3) and rules[0] (25-duplicate-metric-across-files/team-b.yaml:3:3); rename one with name.as (duplicate-metric)',
    ],
  },
};

describe('malformed rule files', () => {
  for (const [name, c] of Object.entries(cases)) {
    test(name, async () => {
      const texts = await Promise.all(c.files.map(async (file) => ({ file, text: await readFixture(`${M}${file}`) })));
      const result = compileRuleTexts(texts);
      assert.equal(result.ruleSet, undefined, 'a file with errors must not load');
      assert.deepEqual(result.errors.map(formatDiagnostic), c.errors);
    });
  }
});

describe('patterns the matching engine rejects', () => {
  // RE2 bounds a pattern's nesting and compiled size so matching stays linear
  // in time and bounded in memory; a pattern past either bound cannot be
  // matched at all, so it is an error at load time, not at the first relist.
  const ruleWith = (field: string): string => `rules:
- seriesQuery: 'up{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
${field}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`;
  const deep = `${'('.repeat(600)}a${')*'.repeat(600)}`;
  const large = 'a{1000}'.repeat(4000);

  test('a name.matches nested deeper than RE2 allows is an error at the pattern', () => {
    const result = compileYaml(ruleWith(`  name: {matches: "${deep}", as: "x"}`));
    assert.equal(result.ruleSet, undefined);
    assert.deepEqual(formatted(result).errors, [`rules.yaml:4:20: error: rules[0].name.matches: invalid name.matches regex "${deep}": expression nests too deeply at offset 0 (bad-regex)`]);
  });

  test('a name.matches that compiles to more than RE2 allows is an error at the pattern', () => {
    const result = compileYaml(ruleWith(`  name: {matches: "${large}", as: "x"}`));
    assert.equal(result.ruleSet, undefined);
    assert.deepEqual(formatted(result).errors, [`rules.yaml:4:20: error: rules[0].name.matches: invalid name.matches regex "${large}": expression too large at offset 0 (bad-regex)`]);
  });

  test('a series filter nested deeper than RE2 allows is an error at the filter', () => {
    const result = compileYaml(ruleWith(`  seriesFilters:\n  - isNot: '${deep}'`));
    assert.equal(result.ruleSet, undefined);
    assert.deepEqual(formatted(result).errors, [`rules.yaml:5:13: error: rules[0].seriesFilters[0].isNot: invalid series filter regex "${deep}": expression nests too deeply at offset 0 (bad-regex)`]);
  });
});

describe('PromQL of rules that cannot serve the example request', () => {
  // Such a rule is loaded (with a warning) so that existing configs migrate
  // unmodified, and its metricsQuery is sent once it is mapped or marked
  // cluster-wide; a query that can never parse is an error now.
  test('an external rule without resources whose metricsQuery is not PromQL is an error at the query', () => {
    const result = compileYaml(`externalRules:
- seriesQuery: up
  metricsQuery: "sum(<<.Series>>{<<.LabelMatchers>>}"
`);
    assert.equal(result.ruleSet, undefined);
    assert.deepEqual(formatted(result).errors, [
      'rules.yaml:3:17: error: externalRules[0].metricsQuery: invalid PromQL: unexpected end of query; the query rendered for an example request is: sum(up{a="b",namespace="default"} (bad-promql)',
    ]);
  });

  test('a custom rule that maps no resource and whose metricsQuery is not PromQL is an error at the query', () => {
    const result = compileYaml(`rules:
- seriesQuery: 'http_requests_total{namespace!=""}'
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m]) by (<<.GroupBy>>)'
`);
    assert.equal(result.ruleSet, undefined);
    assert.deepEqual(formatted(result).errors, [
      'rules.yaml:3:17: error: rules[0].metricsQuery: invalid PromQL near "by (pod)"; the query rendered for an example request is: sum(rate(http_requests_total{namespace="default",pod=~"example-pod-1|example-pod-2"}[2m]) by (pod) (bad-promql)',
    ]);
  });

  test('an external rule without resources whose metricsQuery parses loads with its namespace warning only', () => {
    const result = compileYaml(`externalRules:
- seriesQuery: up
  metricsQuery: "sum(<<.Series>>{<<.LabelMatchers>>})"
`);
    assert.ok(result.ruleSet);
    assert.deepEqual(formatted(result).errors, []);
    assert.deepEqual(
      result.warnings.map((w) => w.code),
      ['external-namespace'],
    );
  });
});
