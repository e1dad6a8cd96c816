// A metric registry with one metric of every shape discovery publishes: a
// namespaced core resource, a namespaced resource of another group, a
// cluster-scoped resource, the Namespace object, and external metrics.
import { buildRegistry, type MetricRegistry } from '../../adapter/discovery.js';
import { StaticResourceCatalog } from '../../rules/resources.js';
import { seriesSummary } from './fakes.js';
import { compileYaml } from './rules.js';

export function sampleRegistry(): MetricRegistry {
  const result = compileYaml(`rules:
- seriesQuery: '{__name__=~"^http_.*",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
- seriesQuery: '{__name__=~"^kube_deployment_.*",namespace!="",deployment!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      deployment: {group: apps, resource: deployment}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
- seriesQuery: 'node_load{node!=""}'
  resources:
    overrides:
      node: {resource: node}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
externalRules:
- seriesQuery: '{__name__=~"^queue_.*",namespace!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)'
`);
  if (!result.ruleSet) throw new Error('rules did not load');
  return buildRegistry(
    result.ruleSet,
    new Map([
      ['{__name__=~"^http_.*",namespace!="",pod!=""}', seriesSummary({ http_requests: ['namespace', 'pod'] })],
      ['{__name__=~"^kube_deployment_.*",namespace!="",deployment!=""}', seriesSummary({ kube_deployment_replicas: ['deployment', 'namespace'] })],
      ['node_load{node!=""}', seriesSummary({ node_load: ['node'] })],
      ['{__name__=~"^queue_.*",namespace!=""}', seriesSummary({ queue_messages_ready: ['namespace', 'queue'], queue_age: ['namespace'] })],
    ]),
    new StaticResourceCatalog(),
    new Date('2024-05-06T07:08:09Z'),
  );
}
