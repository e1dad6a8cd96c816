// The PromQL resourceRules send, rendered through the shared query builder:
// .LabelMatchers carry the namespace and the names, .GroupBy the object's
// label, the namespace label and, for containers, the container label.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CompiledResourceRules } from '../../rules/compile.js';
import { formatDiagnostic } from '../../rules/diagnostics.js';
import { containerLabelsOf, nodeLabelOf, renderContainerQuery, renderNodeQuery, type ContainerQueryRequest } from '../../rules/resource-query.js';
import { compileYaml } from '../support/rules.js';

function rulesOf(resources: string, containerLabel = 'container'): CompiledResourceRules {
  const text = `resourceRules:
  window: 1m
  cpu:
    containerLabel: ${containerLabel}
    containerQuery: 'sum by (<<.GroupBy>>) (rate(cpu{<<.LabelMatchers>>}[1m]))'
    nodeQuery: 'sum by (<<.GroupBy>>) (rate(node_cpu{<<.LabelMatchers>>}[1m]))'
    resources: ${resources}
  memory:
    containerLabel: ${containerLabel}
    containerQuery: 'sum by (<<.GroupBy>>) (mem{<<.LabelMatchers>>})'
    nodeQuery: 'sum by (<<.GroupBy>>) (node_mem{<<.LabelMatchers>>})'
    resources: ${resources}
`;
  const result = compileYaml(text);
  if (!result.ruleSet?.resourceRules) throw new Error(result.errors.map(formatDiagnostic).join('\n'));
  return result.ruleSet.resourceRules;
}

const OVERRIDES = '{overrides: {namespace: {resource: namespace}, pod: {resource: pod}, node: {resource: node}}}';
const TEMPLATE = '{template: "<<.Resource>>"}';

describe('container queries', () => {
  const table: [string, CompiledResourceRules, ContainerQueryRequest, string][] = [
    ['one pod', rulesOf(OVERRIDES), { namespace: 'default', names: ['web-1'] }, 'sum by (pod,namespace,container) (rate(cpu{namespace="default",pod="web-1"}[1m]))'],
    [
      'several pods, regex-escaped',
      rulesOf(OVERRIDES),
      { namespace: 'default', names: ['web.1', 'web-2'] },
      'sum by (pod,namespace,container) (rate(cpu{namespace="default",pod=~"web\\\\.1|web-2"}[1m]))',
    ],
    ['every pod of a namespace', rulesOf(OVERRIDES), { namespace: 'default', names: ['a'], allNames: true }, 'sum by (pod,namespace,container) (rate(cpu{namespace="default",pod!=""}[1m]))'],
    ['pods of every namespace', rulesOf(OVERRIDES), { names: ['a', 'b'] }, 'sum by (pod,namespace,container) (rate(cpu{pod=~"a|b"}[1m]))'],
    ['labels from a resource template', rulesOf(TEMPLATE), { namespace: 'default', names: ['web-1'] }, 'sum by (pod,namespace,container) (rate(cpu{namespace="default",pod="web-1"}[1m]))'],
    [
      'another container label',
      rulesOf(OVERRIDES, 'container_name'),
      { namespace: 'default', names: ['web-1'] },
      'sum by (pod,namespace,container_name) (rate(cpu{namespace="default",pod="web-1"}[1m]))',
    ],
  ];
  for (const [what, rules, req, query] of table) {
    test(what, () => assert.equal(renderContainerQuery(rules.cpu, req), query));
  }

  test('the labels samples are read by', () => {
    assert.deepEqual(containerLabelsOf(rulesOf(OVERRIDES).memory), { pod: 'pod', namespace: 'namespace', container: 'container' });
  });
});

describe('node queries', () => {
  test('nodes by name, grouped by the node label', () => {
    assert.equal(renderNodeQuery(rulesOf(OVERRIDES).cpu, { names: ['n1', 'n2'] }), 'sum by (node) (rate(node_cpu{node=~"n1|n2"}[1m]))');
  });

  test('instance mapped to nodes names the node by instance', () => {
    const rules = rulesOf('{overrides: {namespace: {resource: namespace}, pod: {resource: pod}, instance: {resource: node}}}');
    assert.equal(renderNodeQuery(rules.memory, { names: ['n1'] }), 'sum by (instance) (node_mem{instance="n1"})');
    assert.equal(nodeLabelOf(rules.memory), 'instance');
  });

  test('every node', () => {
    assert.equal(renderNodeQuery(rulesOf(OVERRIDES).memory, { names: ['n1'], allNames: true }), 'sum by (node) (node_mem{node!=""})');
  });
});
