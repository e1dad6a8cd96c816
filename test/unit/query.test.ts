// Query rendering: the reference adapter's own query strings must come out
// byte for byte, and values must be escaped where the reference does not.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renderExternalQuery, renderMetricsQuery, renderSharedQuery, selectorToMatchers, QueryBuildError } from '../../rules/query.js';
import { checkPromQL } from '../../rules/promql.js';
import type { Requirement } from '../../k8s/label-selector.js';
import { onlyRule } from '../support/rules.js';

const podRule = onlyRule(`rules:
- seriesQuery: '{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
      pod: {resource: "pod"}
  name:
    matches: "^container_(.*)_total$"
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[1m])) by (<<.GroupBy>>)'
`);

const kubeTemplateRule = (query: string) =>
  onlyRule(`rules:
- seriesQuery: '{kube_namespace!=""}'
  resources:
    template: "kube_<<.Resource>>"
  metricsQuery: '${query}'
`);

const eq = (key: string, value: string): Requirement => ({ key, operator: '=', values: [value] });

describe('reference query strings', () => {
  test('a pods wildcard renders namespace then an alternation of pod names', () => {
    assert.equal(
      renderMetricsQuery(podRule, {
        series: 'container_some_count_total',
        resource: { group: '', resource: 'pods' },
        namespace: 'somens',
        names: ['somepod1', 'somepod2'],
        metricSelector: [],
      }),
      'sum(rate(container_some_count_total{namespace="somens",pod=~"somepod1|somepod2",container!="POD"}[1m])) by (pod)',
    );
  });

  test('metric selector matchers come before the namespace and resource matchers', () => {
    const rule = kubeTemplateRule('sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)');
    assert.equal(
      renderMetricsQuery(rule, {
        series: 'ingress_hits_total',
        resource: { group: '', resource: 'services' },
        namespace: 'somens',
        names: ['somesvc'],
        metricSelector: [eq('param1', 'value1')],
      }),
      'sum(rate(ingress_hits_total{param1="value1",kube_namespace="somens",kube_service="somesvc"}[1m])) by (kube_service)',
    );
  });

  test('a root-scoped resource has no namespace matcher', () => {
    const rule = kubeTemplateRule('sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)');
    assert.equal(
      renderMetricsQuery(rule, {
        series: 'node_gigawatts',
        resource: { group: '', resource: 'nodes' },
        names: ['somenode'],
        metricSelector: [],
      }),
      'sum(node_gigawatts{kube_node="somenode"}) by (kube_node)',
    );
  });
});

describe('selectorToMatchers', () => {
  const cases: { name: string; reqs: Requirement[]; want: string[] }[] = [
    { name: 'equality becomes =', reqs: [eq('a', 'b')], want: ['a="b"'] },
    { name: 'double equals becomes =', reqs: [{ key: 'a', operator: '==', values: ['b'] }], want: ['a="b"'] },
    { name: 'inequality becomes !=', reqs: [{ key: 'a', operator: '!=', values: ['b'] }], want: ['a!="b"'] },
    { name: 'in with one value becomes an escaped regex', reqs: [{ key: 'a', operator: 'in', values: ['x.y'] }], want: ['a=~"x\\\\.y"'] },
    { name: 'in with many values becomes an alternation', reqs: [{ key: 'a', operator: 'in', values: ['x', 'y'] }], want: ['a=~"x|y"'] },
    { name: 'notin becomes a negative regex', reqs: [{ key: 'a', operator: 'notin', values: ['x', 'y'] }], want: ['a!~"x|y"'] },
    { name: 'exists becomes a non-empty matcher', reqs: [{ key: 'a', operator: 'exists', values: [] }], want: ['a!=""'] },
    { name: 'does-not-exist becomes an empty matcher', reqs: [{ key: 'a', operator: '!', values: [] }], want: ['a=""'] },
    { name: 'requirements are ordered by key', reqs: [eq('b', '1'), eq('a', '2')], want: ['a="2"', 'b="1"'] },
    { name: 'quotes and backslashes in values are escaped', reqs: [eq('a', 'x"y\\z')], want: ['a="x\\"y\\\\z"'] },
    { name: 'a newline in a value is written as \\n', reqs: [eq('a', 'x\ny')], want: ['a="x\\ny"'] },
    {
      name: 'in values with a quote, a backslash and a newline are regex-escaped, then string-escaped',
      reqs: [{ key: 'a', operator: 'in', values: ['a"b', 'c\\d', 'e\nf'] }],
      want: ['a=~"a\\"b|c\\\\\\\\d|e\\nf"'],
    },
    { name: 'a key with underscores and capitals is a Prometheus label name', reqs: [eq('_Queue_1', 'x')], want: ['_Queue_1="x"'] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(selectorToMatchers(c.reqs).matchers, c.want);
    });
  }

  const notLabelNames = ['example.com/queue', 'app.kubernetes.io/name', 'my-key', 'a.b', '1abc'];
  for (const key of notLabelNames) {
    test(`the Kubernetes label key ${key} is refused, since it is not a Prometheus label name`, () => {
      assert.throws(
        () => selectorToMatchers([eq('zone', 'a'), eq(key, 'x')]),
        (e: unknown) =>
          e instanceof QueryBuildError && e.reason === 'invalid-label-name' && e.message === `key ${JSON.stringify(key)} is not a Prometheus label name (one that matches [a-zA-Z_][a-zA-Z0-9_]*)`,
      );
    });
  }

  test('every key that is not a Prometheus label name is named, in key order', () => {
    assert.throws(
      () => selectorToMatchers([eq('my-key', 'x'), eq('ok', 'y'), { key: 'example.com/queue', operator: 'exists', values: [] }]),
      (e: unknown) => e instanceof QueryBuildError && e.message === 'keys "example.com/queue", "my-key" are not Prometheus label names (ones that match [a-zA-Z_][a-zA-Z0-9_]*)',
    );
  });

  test('greater-than has no PromQL form and is rejected', () => {
    assert.throws(
      () => selectorToMatchers([{ key: 'a', operator: 'gt', values: ['1'] }]),
      (e: unknown) => e instanceof QueryBuildError && e.reason === 'unsupported-selector' && e.message.includes('operator > on a has no PromQL equivalent'),
    );
  });
});

describe('object queries', () => {
  test('pod names with dots are regex-escaped inside =~', () => {
    const q = renderMetricsQuery(podRule, {
      series: 's',
      resource: { group: '', resource: 'pods' },
      namespace: 'ns',
      names: ['a.b', 'c'],
      metricSelector: [],
    });
    assert.equal(q, 'sum(rate(s{namespace="ns",pod=~"a\\\\.b|c",container!="POD"}[1m])) by (pod)');
  });

  test('a single name uses equality, not a regex', () => {
    const q = renderMetricsQuery(podRule, {
      series: 's',
      resource: { group: '', resource: 'pods' },
      namespace: 'ns',
      names: ['a.b'],
      metricSelector: [],
    });
    assert.equal(q, 'sum(rate(s{namespace="ns",pod="a.b",container!="POD"}[1m])) by (pod)');
  });

  test('LabelValuesByName and GroupBySlice reach the template', () => {
    const rule = kubeTemplateRule('label_replace(vector(1), "v", "<<index .LabelValuesByName "kube_pod">> <<index .LabelValuesByName "kube_namespace">> <<.GroupBySlice>>", "", "")');
    const q = renderMetricsQuery(rule, {
      series: 's',
      resource: { group: '', resource: 'pods' },
      namespace: 'default',
      names: ['bar', 'baz'],
      metricSelector: [],
      extraGroupBy: ['container'],
    });
    assert.equal(q, 'label_replace(vector(1), "v", "bar|baz default [kube_pod container]", "", "")');
  });

  test('a resource the rule does not map is refused with the resource named', () => {
    assert.throws(
      () => renderMetricsQuery(podRule, { series: 's', resource: { group: 'apps', resource: 'deployments' }, namespace: 'ns', names: ['x'], metricSelector: [] }),
      /the rule maps no label to deployments\.apps/,
    );
  });

  test('an empty name list is refused rather than matching every series', () => {
    assert.throws(() => renderMetricsQuery(podRule, { series: 's', resource: { group: '', resource: 'pods' }, namespace: 'ns', names: [], metricSelector: [] }), /no object names/);
  });

  test('the namespace-wide query past the name limit still requires the object label', () => {
    const q = renderMetricsQuery(podRule, { series: 's', resource: { group: '', resource: 'pods' }, namespace: 'ns', names: [], allNames: true, metricSelector: [] });
    assert.equal(q, 'sum(rate(s{namespace="ns",pod!="",container!="POD"}[1m])) by (pod)');
  });

  test('the shared query leaves the object label out of the matchers, since Prometheus reads every value of a label for label!=""', () => {
    const q = renderSharedQuery(podRule, { series: 's', resource: { group: '', resource: 'pods' }, namespace: 'ns', metricSelector: [eq('area', 'heap')] });
    assert.equal(q, 'sum(rate(s{area="heap",namespace="ns",container!="POD"}[1m])) by (pod)');
  });

  test('the shared query still gives LabelValuesByName a regex for every object', () => {
    const rule = kubeTemplateRule('sum(<<.Series>>{kube_pod=~"<<index .LabelValuesByName "kube_pod">>"}) by (kube_pod)');
    const q = renderSharedQuery(rule, { series: 's', resource: { group: '', resource: 'pods' }, namespace: 'default', metricSelector: [] });
    assert.equal(q, 'sum(s{kube_pod=~".+"}) by (kube_pod)');
  });
});

describe('LabelValuesByName: each value is regex-escaped, joined with |, then escaped for a PromQL string', () => {
  const lvbn = (label: string) => kubeTemplateRule(`max(<<.Series>>{kube_pod=~"<<index .LabelValuesByName "${label}">>"})`);
  const pods = { group: '', resource: 'pods' };
  const cases: { name: string; label: string; names?: string[]; allNames?: boolean; metricSelector?: Requirement[]; want: string }[] = [
    { name: 'a name with a dot matches only itself', label: 'kube_pod', names: ['web.1'], want: 'web\\\\.1' },
    { name: 'several names are escaped one by one', label: 'kube_pod', names: ['web.1', 'webx1'], want: 'web\\\\.1|webx1' },
    { name: 'a name without metacharacters is unchanged', label: 'kube_pod', names: ['web-1'], want: 'web-1' },
    { name: 'every object of the namespace is the regex .+', label: 'kube_pod', allNames: true, want: '.+' },
    { name: 'the namespace is escaped the same way', label: 'kube_namespace', names: ['x'], want: 'default' },
    { name: 'an equality selector value is escaped', label: 'zone', names: ['x'], metricSelector: [eq('zone', 'eu.1')], want: 'eu\\\\.1' },
    {
      name: 'in values are escaped one by one',
      label: 'zone',
      names: ['x'],
      metricSelector: [{ key: 'zone', operator: 'in', values: ['a.b', 'c+', '(d)'] }],
      want: 'a\\\\.b|c\\\\+|\\\\(d\\\\)',
    },
    {
      name: 'a quote, a backslash and a newline stay inside the string',
      label: 'zone',
      names: ['x'],
      metricSelector: [eq('zone', 'x"y\\z\n')],
      want: 'x\\"y\\\\\\\\z\\n',
    },
    { name: 'an exists selector has no values', label: 'zone', names: ['x'], metricSelector: [{ key: 'zone', operator: 'exists', values: [] }], want: '' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const q = renderMetricsQuery(lvbn(c.label), {
        series: 's',
        resource: pods,
        namespace: 'default',
        names: c.names ?? [],
        ...(c.allNames ? { allNames: true } : {}),
        metricSelector: c.metricSelector ?? [],
      });
      assert.equal(q, `max(s{kube_pod=~"${c.want}"})`);
    });
  }

  test('an external metric selector value is escaped the same way', () => {
    const rule = onlyRule(`externalRules:
- seriesQuery: '{__name__="q"}'
  resources: {namespaced: false}
  metricsQuery: 'max(<<.Series>>{queue=~"<<index .LabelValuesByName "queue">>"})'
`);
    assert.equal(renderExternalQuery(rule, { series: 'q', metricSelector: [{ key: 'queue', operator: 'in', values: ['jobs.eu', 'jobs'] }] }), 'max(q{queue=~"jobs\\\\.eu|jobs"})');
  });

  test('a value with a quote, a backslash and a newline renders a query that parses', () => {
    const q = renderMetricsQuery(lvbn('zone'), { series: 's', resource: pods, namespace: 'default', names: ['x'], metricSelector: [eq('zone', 'x"y\\z\n.')] });
    assert.deepEqual(checkPromQL(q), []);
  });
});

describe('external queries', () => {
  const external = onlyRule(`externalRules:
- seriesQuery: '{__name__=~"^.*_queue$",namespace!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
  name: {matches: "^.*_queue$", as: "$0"}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>})
`);

  test('the namespace matcher follows the metric selector', () => {
    assert.equal(renderExternalQuery(external, { series: 'work_queue', namespace: 'default', metricSelector: [eq('a', 'b')] }), 'max(work_queue{a="b",namespace="default"})');
  });

  test('a rule with namespaced false ignores the request namespace', () => {
    const rule = onlyRule(`externalRules:
- seriesQuery: '{__name__="probe_success"}'
  resources: {namespaced: false}
  name: {as: probe_success}
  metricsQuery: 'max_over_time(<<.Series>>{<<.LabelMatchers>>}[1m])'
`);
    assert.equal(renderExternalQuery(rule, { series: 'probe_success', namespace: 'default', metricSelector: [eq('job', 'blackbox')] }), 'max_over_time(probe_success{job="blackbox"}[1m])');
  });

  test('GroupBy is empty for external metrics, as in the reference', () => {
    const rule = onlyRule(`externalRules:
- seriesQuery: '{__name__="q"}'
  resources: {namespaced: false}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`);
    assert.equal(renderExternalQuery(rule, { series: 'q', metricSelector: [] }), 'sum(q{}) by ()');
  });
});
