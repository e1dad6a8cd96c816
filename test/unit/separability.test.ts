// Object-separability decides whether one namespace-wide query may answer
// every wildcard request of a rule; each verdict comes with its reason.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyQuery, evaluationModeOf, externalEvaluationModeOf, ruleSeparability } from '../../rules/separability.js';
import { onlyRule } from '../support/rules.js';

const NAMES = 'pod=~"hpa_bridge_object_1|hpa_bridge_object_2"';
const M = `namespace="ns",${NAMES}`;

interface Case {
  readonly query: string;
  readonly separable: boolean;
  /** A piece of the reason. */
  readonly because: string;
}

const cases: Case[] = [
  // Separable shapes.
  { query: `sum(rate(x{${M}}[1m])) by (pod)`, separable: true, because: 'one pod' },
  { query: `sum by (pod) (rate(x{${M}}[1m]))`, separable: true, because: 'one pod' },
  { query: `avg by (namespace, pod) (irate(x{${M}}[5m]))`, separable: true, because: 'one pod' },
  { query: `max by (pod) (avg_over_time(x{${M}}[1m] offset 1m))`, separable: true, because: 'one pod' },
  { query: `count by (pod) (x{${M}})`, separable: true, because: 'one pod' },
  { query: `x{${M}}`, separable: true, because: 'one pod' },
  { query: `max_over_time(x{${M}}[1m])`, separable: true, because: 'one pod' },
  { query: `sum by (pod) (rate(x{${M}}[5m])) / sum by (pod) (rate(y{${M}}[5m]))`, separable: true, because: 'one pod' },
  { query: `avg(delta(a{${M}}[30s])/(1+delta(b{${M}}[30s]))) by (pod)`, separable: true, because: 'one pod' },
  { query: `sum by (pod) (x{${M}}) * 100`, separable: true, because: 'one pod' },
  { query: `2 ^ -sum by (pod) (x{${M}})`, separable: true, because: 'one pod' },
  { query: `sum by (pod) (x{${M}}) / on(pod) sum by (pod) (y{${M}})`, separable: true, because: 'one pod' },
  { query: `sum by (pod) (x{${M}}) / ignoring(container) y{${M}}`, separable: true, because: 'one pod' },
  { query: `x{${M}} * on(pod) group_left(node) y{${M}}`, separable: true, because: 'one pod' },
  { query: `x{${M}} and y{${M}}`, separable: true, because: 'one pod' },
  { query: `round(sum(irate(x{${M}}[5m])) by (pod), 0.001)`, separable: true, because: 'one pod' },
  { query: `histogram_quantile(0.9, sum(rate(x{${M}}[1m])) by (le, pod)) / 1000`, separable: true, because: 'one pod' },
  { query: `label_replace(x{${M}}, "__name__", "$1", "__name__", "^kube_(.*)$")`, separable: true, because: 'one pod' },
  { query: `max_over_time(sum by (pod) (rate(x{${M}}[1m]))[5m:30s])`, separable: true, because: 'one pod' },
  { query: `sum without (container) (x{${M}})`, separable: true, because: 'one pod' },
  { query: `topk by (pod) (1, x{${M}})`, separable: true, because: 'one pod' },
  { query: `quantile by (pod) (0.5, x{${M}})`, separable: true, because: 'one pod' },
  { query: `sum by (pod) (x{namespace="ns",pod=~"hpa_bridge_object_1|hpa_bridge_object_2"}) - time()`, separable: true, because: 'one pod' },
  { query: `sum by (pod) (x{${M}} @ end())`, separable: true, because: 'one pod' },
  { query: `clamp_max(sum by (pod) (x{${M}}), 10)`, separable: true, because: 'one pod' },
  // Aggregations across objects.
  { query: `sum(rate(x{${M}}[1m]))`, separable: false, because: 'aggregates every object into one value' },
  { query: `sum by (namespace) (x{${M}})`, separable: false, because: 'does not keep pod' },
  { query: `sum without (pod) (x{${M}})`, separable: false, because: 'drops pod' },
  { query: `topk(3, x{${M}})`, separable: false, because: 'aggregates every object' },
  { query: `bottomk by (namespace) (1, x{${M}})`, separable: false, because: 'does not keep pod' },
  { query: `quantile(0.9, x{${M}})`, separable: false, because: 'aggregates every object' },
  { query: `count_values("value", x{${M}})`, separable: false, because: 'aggregates every object' },
  { query: `count_values by (pod) ("pod", x{${M}})`, separable: false, because: 'writes its counts into pod' },
  { query: `topk by (pod) (scalar(y{${M}}), x{${M}})`, separable: false, because: 'scalar()' },
  { query: `limitk by (pod) (1, x{${M}})`, separable: false, because: 'not analysed' },
  // Functions that lose the object.
  { query: `x{${M}} / scalar(sum(y{${M}}))`, separable: false, because: 'scalar()' },
  { query: `absent(x{${M}})`, separable: false, because: 'absent()' },
  { query: `absent_over_time(x{${M}}[5m])`, separable: false, because: 'absent_over_time()' },
  { query: `x{${M}} or vector(0)`, separable: false, because: 'vector()' },
  { query: `label_replace(x{${M}}, "pod", "$1", "container", "(.*)")`, separable: false, because: 'rewrites pod' },
  { query: `histogram_quantile(0.9, sum by (le) (rate(x{${M}}[1m])))`, separable: false, because: 'does not keep pod' },
  { query: `sum by (pod) (x{${M}}) > day_of_month()`, separable: false, because: 'without an argument' },
  { query: `info(x{${M}})`, separable: false, because: 'info() is not analysed' },
  // Joins that ignore the object label.
  { query: `x{${M}} * on() group_right(service) y{${M}}`, separable: false, because: 'pod is not among the matching labels' },
  { query: `x{${M}} / on(namespace) y{${M}}`, separable: false, because: 'pod is not among the matching labels' },
  { query: `x{${M}} / ignoring(pod) y{${M}}`, separable: false, because: 'it ignores pod' },
  // Selectors and names.
  { query: `sum by (pod) (x{${M}}) / on(pod) group_left sum by (pod) (y{namespace="ns"})`, separable: false, because: 'does not filter on pod' },
  { query: `sum by (pod) (x{namespace="ns",pod="hpa_bridge_object_1|hpa_bridge_object_2"})`, separable: false, because: 'does not filter on pod' },
  { query: `sum by (pod) (x{${M}}) * on(pod) y{${M},owner="hpa_bridge_object_1|hpa_bridge_object_2-base"}`, separable: false, because: 'outside a pod=~' },
  { query: `sum by (pod) (x{${M}}`, separable: false, because: 'does not parse' },
  { query: `42`, separable: false, because: 'reads no series' },
  // Subqueries follow their inner part.
  { query: `max_over_time(sum(rate(x{${M}}[1m]))[5m:30s])`, separable: false, because: 'aggregates every object into one value' },
];

describe('classifyQuery', () => {
  for (const c of cases) {
    test(`${c.query} is ${c.separable ? '' : 'not '}separable: ${c.because}`, () => {
      const verdict = classifyQuery(c.query, 'pod');
      assert.equal(verdict.separable, c.separable, verdict.reason);
      assert.ok(verdict.reason.includes(c.because), verdict.reason);
    });
  }
});

const podRule = (metricsQuery: string) =>
  onlyRule(`rules:
- seriesQuery: '{__name__=~"^http_.*",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
      pod: {resource: "pod"}
  metricsQuery: '${metricsQuery}'
`);

const PODS = { group: '', resource: 'pods' };

describe('ruleSeparability renders the template before deciding', () => {
  test('the sum by GroupBy of a rate over LabelMatchers is separable', () => {
    const verdict = ruleSeparability(podRule('sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'), PODS);
    assert.equal(verdict.separable, true, verdict.reason);
  });

  test('LabelValuesByName of the object label after =~ is a name filter', () => {
    const verdict = ruleSeparability(podRule('sum by (pod) (<<.Series>>{namespace="x",pod=~"<<index .LabelValuesByName "pod">>"})'), PODS);
    assert.equal(verdict.separable, true, verdict.reason);
  });

  test('LabelValuesByName of the object label spliced into another value is not', () => {
    const verdict = ruleSeparability(
      podRule('sum by (pod) (<<.Series>>{<<.LabelMatchers>>}) * on(pod) group_left kube_pod_info{created_by_name="<<index .LabelValuesByName "pod">>-x",<<.LabelMatchers>>}'),
      PODS,
    );
    assert.equal(verdict.separable, false);
    assert.match(verdict.reason, /outside a pod=~/);
  });

  test('a query that does not use the object names already sends one query for every request', () => {
    const verdict = ruleSeparability(podRule('sum by (pod) (<<.Series>>)'), PODS);
    assert.equal(verdict.separable, false);
    assert.match(verdict.reason, /already sends the same query/);
  });

  test('a resource the rule maps no label to is not separable', () => {
    const verdict = ruleSeparability(podRule('sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'), { group: 'apps', resource: 'deployments' });
    assert.equal(verdict.separable, false);
    assert.match(verdict.reason, /maps no label to deployments/);
  });

  test('the verdict depends on the label of the requested resource', () => {
    const rule = onlyRule(`rules:
- seriesQuery: '{namespace!="",pod!="",deployment!=""}'
  resources:
    template: "<<.Resource>>"
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>, pod)'
`);
    assert.equal(ruleSeparability(rule, PODS).separable, true);
    assert.equal(ruleSeparability(rule, { group: 'apps', resource: 'deployments' }).separable, true);
  });
});

describe('evaluationModeOf', () => {
  const separable = podRule('sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)');
  const on = { sharedEvaluation: true, namespaced: true };
  const modes: { what: string; rule: typeof separable; options: typeof on; shared: boolean; because: RegExp }[] = [
    { what: 'a separable rule with the flag on is shared', rule: separable, options: on, shared: true, because: /^object-separable: / },
    { what: 'the flag off turns it off', rule: separable, options: { ...on, sharedEvaluation: false }, shared: false, because: /--shared-evaluation=false/ },
    { what: 'the rule field turns it off', rule: { ...separable, sharedEvaluation: false }, options: on, shared: false, because: /sets sharedEvaluation: false/ },
    { what: 'a root-scoped resource is per request', rule: separable, options: { ...on, namespaced: false }, shared: false, because: /not namespaced/ },
    {
      what: 'a query that is not separable is per request',
      rule: podRule('sum(<<.Series>>{<<.LabelMatchers>>})'),
      options: on,
      shared: false,
      because: /^not object-separable: sum aggregates every object/,
    },
  ];
  for (const m of modes) {
    test(m.what, () => {
      const mode = evaluationModeOf(m.rule, PODS, m.options);
      assert.equal(mode.shared, m.shared, mode.reason);
      assert.match(mode.reason, m.because);
    });
  }
});

describe('externalEvaluationModeOf: shared when the query is partitioned by every selector key', () => {
  const externalRule = (query: string, resources = '{overrides: {namespace: {resource: namespace}}}') =>
    onlyRule(`externalRules:
- seriesQuery: 'queue_messages_ready{namespace!="",queue!=""}'
  resources: ${resources}
  metricsQuery: '${query}'
`);
  const on = { sharedEvaluation: true, namespace: 'ns' };
  const modes: { what: string; query: string; keys: string[]; resources?: string; options?: typeof on; shared: boolean; because: RegExp }[] = [
    { what: 'a sum by the selector key is shared', query: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)', keys: ['queue'], shared: true, because: /^separable by queue: / },
    {
      what: 'a sum by both selector keys is shared',
      query: 'sum by (queue, region) (<<.Series>>{<<.LabelMatchers>>})',
      keys: ['region', 'queue'],
      shared: true,
      because: /^separable by queue, region: /,
    },
    { what: 'a raw selector keeps every label and is shared', query: '<<.Series>>{<<.LabelMatchers>>}', keys: ['queue'], shared: true, because: /^separable by queue/ },
    {
      what: 'a key the sum groups away is per request',
      query: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)',
      keys: ['region'],
      shared: false,
      because: /^not separable by region: sum by \(queue\) aggregates across objects/,
    },
    { what: 'one key of two grouped away is per request', query: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)', keys: ['queue', 'region'], shared: false, because: /^not separable by region/ },
    {
      what: 'a sum without a by clause is per request',
      query: 'sum(<<.Series>>{<<.LabelMatchers>>})',
      keys: ['queue'],
      shared: false,
      because: /^not separable by queue: sum aggregates every object/,
    },
    { what: 'a selector without LabelMatchers is per request', query: 'sum(<<.Series>>{namespace="x"}) by (queue)', keys: ['queue'], shared: false, because: /does not filter on queue/ },
    { what: 'no selector keys is per request, its query already the namespace one', query: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)', keys: [], shared: false, because: /no metric selector/ },
    {
      what: 'a rule that is not namespaced is per request',
      query: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)',
      resources: '{namespaced: false}',
      keys: ['queue'],
      shared: false,
      because: /not namespaced/,
    },
    {
      what: 'the flag off turns it off',
      query: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)',
      keys: ['queue'],
      options: { ...on, sharedEvaluation: false },
      shared: false,
      because: /--shared-evaluation=false/,
    },
  ];
  for (const m of modes) {
    test(m.what, () => {
      const mode = externalEvaluationModeOf(externalRule(m.query, m.resources), m.keys, m.options ?? on);
      assert.equal(mode.shared, m.shared, mode.reason);
      assert.match(mode.reason, m.because);
    });
  }

  test('the rule field turns it off', () => {
    const rule = { ...externalRule('sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)'), sharedEvaluation: false };
    assert.match(externalEvaluationModeOf(rule, ['queue'], on).reason, /sets sharedEvaluation: false/);
  });
});
