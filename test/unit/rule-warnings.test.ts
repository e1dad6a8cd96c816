// Warnings: problems worth fixing that never block loading.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileYaml, formatted } from '../support/rules.js';

const podResources = `  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
`;

const cases: { name: string; yaml: string; warnings: string[] }[] = [
  {
    name: 'a custom metricsQuery without LabelMatchers warns that requests are not narrowed',
    yaml: `rules:
- seriesQuery: 'up{namespace!="",pod!=""}'
${podResources}  metricsQuery: 'sum(<<.Series>>) by (<<.GroupBy>>)'
`,
    warnings: [
      'rules.yaml:7:17: warning: rules[0].metricsQuery: metricsQuery does not use <<.LabelMatchers>>, so requests are not narrowed to the objects, namespace or metric selector asked for (no-label-matchers)',
    ],
  },
  {
    name: 'an external metricsQuery without LabelMatchers warns that the selector is ignored',
    yaml: `externalRules:
- seriesQuery: 'queue_depth'
  resources: {namespaced: false}
  metricsQuery: 'sum(<<.Series>>)'
`,
    warnings: [
      'rules.yaml:4:17: warning: externalRules[0].metricsQuery: metricsQuery does not use <<.LabelMatchers>>, so the HPA metric selector and namespace are silently ignored (no-label-matchers)',
    ],
  },
  {
    name: 'a != matcher whose value looks like a regex warns and suggests !~',
    yaml: `rules:
- seriesQuery: '{namespace!="",__name__!="^container_.*"}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`,
    warnings: [
      'rules.yaml:2:32: warning: rules[0].seriesQuery: __name__!="^container_.*" compares the label to the literal text "^container_.*", which looks like a regex; use !~ to match a regex (promql-lint)',
    ],
  },
  {
    name: 'an = matcher with an alternation in metricsQuery warns and suggests =~',
    yaml: `rules:
- seriesQuery: '{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>,code="500|503"}) by (<<.GroupBy>>)'
`,
    warnings: [
      'rules.yaml:4:17: warning: rules[0].metricsQuery: code="500|503" compares the label to the literal text "500|503", which looks like a regex; use =~ to match a regex; the query rendered for an example request is: sum(example_series{namespace="default",pod=~"example-pod-1|example-pod-2",code="500|503"}) by (pod) (promql-lint)',
    ],
  },
  {
    name: 'a $1 followed by a name character warns that it names a missing group',
    yaml: `rules:
- seriesQuery: '{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  name: {matches: "^(.*)_total$", as: "$1_per_second"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
`,
    warnings: [
      'rules.yaml:4:39: warning: rules[0].name.as: name.as refers to group "1_per_second", which name.matches does not have, so it expands to an empty string; "$1_per_second" names a group called "1_per_second" (a name takes every letter, digit and underscore), write "${1}_per_second" (unknown-group)',
    ],
  },
  {
    name: 'namespaced on a custom rule warns that it is ignored',
    yaml: `rules:
- seriesQuery: '{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>", namespaced: false}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`,
    warnings: ['rules.yaml:3:54: warning: rules[0].resources.namespaced: resources.namespaced applies to externalRules only; custom metrics take their scope from the resource (ignored-field)'],
  },
  {
    name: 'sharedEvaluation on an external rule is taken without a warning',
    yaml: `externalRules:
- seriesQuery: '{__name__="queue_depth"}'
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)'
  sharedEvaluation: false
`,
    warnings: [],
  },
  {
    name: 'a custom rule that maps no resource warns that it publishes nothing',
    yaml: `rules:
- seriesQuery: 'up'
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})'
`,
    warnings: [
      'rules.yaml:2:3: warning: rules[0].resources: the rule maps no label to a Kubernetes resource, so it publishes no custom metric; add resources.overrides or resources.template (no-resources)',
    ],
  },
  {
    name: 'an external rule with no resources section at all warns instead of failing, so reference configs load',
    yaml: `externalRules:
- seriesQuery: '{__name__="queue_consumer_lag",name!=""}'
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (name)
`,
    warnings: [
      'rules.yaml:2:3: warning: externalRules[0].resources: external rule has no namespace mapping and is namespaced (the default), so requests cannot be scoped to a namespace; map the namespace label (resources.overrides: {namespace: {resource: namespace}}) or set resources.namespaced: false (external-namespace)',
    ],
  },
  {
    name: 'a clean rule has no warnings',
    yaml: `rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
${podResources}  name: {matches: "^(.*)_total$", as: "\${1}_per_second"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
`,
    warnings: [],
  },
];

describe('rule warnings', () => {
  for (const c of cases) {
    test(c.name, () => {
      const result = compileYaml(c.yaml);
      assert.deepEqual(formatted(result), { errors: [], warnings: c.warnings });
      assert.ok(result.ruleSet, 'warnings never block loading');
    });
  }
});
