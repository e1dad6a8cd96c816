// metrics.k8s.io from resourceRules: list the pods or nodes asked for (the
// same object source wildcard requests use), run the cpu and memory queries
// side by side, and assemble the usage (resource-metrics.ts). The rule set
// is read on every request, so a reload applies to the next one.
import { matchesFields, type FieldTerm } from '../k8s/field-selector.js';
import type { CompiledResourceRule, CompiledResourceRules } from '../rules/compile.js';
import { QueryBuildError } from '../rules/query.js';
import { containerLabelsOf, nodeLabelOf, NODES, PODS, renderContainerQuery, renderNodeQuery, USAGE_RESOURCES, type UsageResource } from '../rules/resource-query.js';
import { NotFoundError, UnavailableError } from './errors.js';
import type { Logger } from './log.js';
import type { NodeMetricsQuery, NodeUsage, PodMetricsQuery, PodUsage, ResourceMetricsProvider } from './metrics-api-provider.js';
import type { ObjectLister, ObjectRef } from './objects/types.js';
import type { MetricsSource, QueryOptions, Sample } from './prometheus.js';
import { renderForNames, ruleName, runRuleQuery, type QueryLimits, type QueryObserver } from './provider.js';
import { assembleNodeUsage, assemblePodUsage, usageWindowSeconds, type Assembly, type ValueProblem } from './resource-metrics.js';
import { RESOURCE_METRICS_GROUP } from './paths.js';

export interface ResourceProviderDeps extends QueryLimits {
  /** The resourceRules in force, or undefined when the rules loaded have none. */
  readonly rules: () => CompiledResourceRules | undefined;
  readonly metrics: MetricsSource;
  readonly objects: ObjectLister;
  readonly log: Logger;
  readonly onQuery?: QueryObserver;
}

type Kind = 'pods' | 'nodes';

/** metrics-server's NotFound for an object it has no metrics for (`podmetrics.metrics.k8s.io "ns/name" not found`), with the reason. */
function noMetrics(kind: Kind, name: string, reason: string | undefined): NotFoundError {
  const resource = kind === 'pods' ? 'podmetrics' : 'nodemetrics';
  return new NotFoundError(`${resource}.${RESOURCE_METRICS_GROUP} ${JSON.stringify(name)} not found${reason ? `: ${reason}` : ''}`, {
    name,
    group: RESOURCE_METRICS_GROUP,
    kind: resource,
  });
}

/** What a pod or node lister answers for one that does not exist: `pods "web-1" not found`, `node "n1" not found`. */
function unknownObject(kind: Kind, name: string): NotFoundError {
  const resource = kind === 'pods' ? 'pods' : 'node';
  return new NotFoundError(`${resource} ${JSON.stringify(name)} not found`, { name, kind: resource });
}

export class ResourceMetricsFromRules implements ResourceMetricsProvider {
  /** The window of each rule set's pod and node answers, from the first queries rendered for it. */
  private readonly windows = new WeakMap<CompiledResourceRules, Partial<Record<Kind, number>>>();

  constructor(private readonly deps: ResourceProviderDeps) {}

  served(): boolean {
    return this.deps.rules() !== undefined;
  }

  private rules(): CompiledResourceRules {
    const rules = this.deps.rules();
    if (!rules) throw new NotFoundError(`the server could not find the requested resource: ${RESOURCE_METRICS_GROUP} is served from resourceRules, and the rules loaded have none`);
    return rules;
  }

  async podMetrics(q: PodMetricsQuery): Promise<PodUsage[]> {
    const rules = this.rules();
    const labels = perResource((r) => {
      const l = containerLabelsOf(rules[r]);
      if (!l) throw new UnavailableError(`${ruleName({ origin: rules[r].origins.containerQuery })} cannot serve pods: its resources map no label to pods`);
      return l;
    });
    const pods = await this.objects('pods', q, q.namespace);
    if (pods.length === 0) return [];
    const names = [...new Set(pods.map((p) => p.name))];
    const scope = q.namespace !== undefined ? { namespace: q.namespace } : {};
    const queries = perResource((r) => this.render(rules[r], 'containerQuery', (allNames) => renderContainerQuery(rules[r], { ...scope, names, allNames }), names.length));
    const samples = await this.runBoth(rules, 'containerQuery', queries, q);
    const assembly = assemblePodUsage({
      pods,
      ...scope,
      cpu: { samples: samples.cpu, labels: labels.cpu },
      memory: { samples: samples.memory, labels: labels.memory },
      windowSeconds: this.windowOf(rules, 'pods', queries),
    });
    return this.finish('pods', q.name === undefined ? undefined : `${q.namespace ?? ''}/${q.name}`, assembly);
  }

  async nodeMetrics(q: NodeMetricsQuery): Promise<NodeUsage[]> {
    const rules = this.rules();
    const labels = perResource((r) => {
      const l = nodeLabelOf(rules[r]);
      if (l === undefined) throw new UnavailableError(`${ruleName({ origin: rules[r].origins.nodeQuery })} cannot serve nodes: its resources map no label to nodes`);
      return l;
    });
    const nodes = await this.objects('nodes', q, undefined);
    if (nodes.length === 0) return [];
    const names = nodes.map((n) => n.name);
    const queries = perResource((r) => this.render(rules[r], 'nodeQuery', (allNames) => renderNodeQuery(rules[r], { names, allNames }), names.length));
    const samples = await this.runBoth(rules, 'nodeQuery', queries, q);
    const assembly = assembleNodeUsage({
      nodes,
      cpu: { samples: samples.cpu, labels: labels.cpu },
      memory: { samples: samples.memory, labels: labels.memory },
      windowSeconds: this.windowOf(rules, 'nodes', queries),
    });
    return this.finish('nodes', q.name, assembly);
  }

  /** The cpu and memory queries, side by side. */
  private async runBoth(rules: CompiledResourceRules, which: 'containerQuery' | 'nodeQuery', queries: Record<UsageResource, string>, options: QueryOptions): Promise<Record<UsageResource, Sample[]>> {
    const [cpu, memory] = await Promise.all(USAGE_RESOURCES.map((r) => runRuleQuery(this.deps.metrics, { origin: rules[r].origins[which] }, queries[r], options, this.deps.onQuery)));
    return { cpu: cpu ?? [], memory: memory ?? [] };
  }

  /**
   * The pods or nodes asked for, from the object source: one by name, or
   * those the label and field selectors match. Field selectors read
   * metadata.name and metadata.namespace (a node has no namespace).
   */
  private async objects(kind: Kind, q: PodMetricsQuery | NodeMetricsQuery, namespace: string | undefined): Promise<ObjectRef[]> {
    const resource = kind === 'pods' ? PODS : NODES;
    if (q.name !== undefined) {
      const found = (await this.deps.objects.list(resource, namespace, [])).find((o) => o.name === q.name);
      if (!found) throw unknownObject(kind, q.name);
      return [found];
    }
    const listed = await this.deps.objects.list(resource, namespace, q.labelSelector);
    return q.fieldSelector.length === 0 ? listed : listed.filter((o) => matchesFields(q.fieldSelector as FieldTerm[], fieldsOf(o, namespace)));
  }

  private render(rule: CompiledResourceRule, which: 'containerQuery' | 'nodeQuery', render: (allNames: boolean) => string, count: number): string {
    try {
      return renderForNames(render, count, this.deps);
    } catch (e) {
      if (!(e instanceof QueryBuildError)) throw e;
      throw new UnavailableError(`rule ${ruleName({ origin: rule.origins[which] })} cannot serve this request: ${e.message}`);
    }
  }

  private windowOf(rules: CompiledResourceRules, kind: Kind, queries: Record<UsageResource, string>): number {
    let known = this.windows.get(rules);
    if (!known) {
      known = {};
      this.windows.set(rules, known);
    }
    return (known[kind] ??= usageWindowSeconds(queries.cpu, queries.memory, rules.windowSeconds));
  }

  /** Logs what could not be reported, and for a get the object or a NotFound saying why it is missing. */
  private finish<T>(kind: Kind, wanted: string | undefined, assembly: Assembly<T>): T[] {
    for (const p of assembly.problems) this.logProblem(kind, p);
    if (wanted === undefined) {
      if (assembly.missing.size > 0) {
        this.deps.log.debug(`${kind} left out of a resource metrics list`, { count: assembly.missing.size, first: [...assembly.missing].slice(0, 5).map(([o, why]) => `${o}: ${why}`) });
      }
      return assembly.items;
    }
    if (assembly.items.length === 0) throw noMetrics(kind, wanted, assembly.missing.get(wanted));
    return assembly.items;
  }

  private logProblem(kind: Kind, p: ValueProblem): void {
    const message = p.outcome === 'capped' ? 'value too large for a Quantity; capped' : 'left out a value that is not a usage (NaN, infinite or negative)';
    this.deps.log.warn(message, { [kind === 'pods' ? 'pod' : 'node']: p.object, ...(p.container !== undefined ? { container: p.container } : {}), resource: p.resource, value: String(p.value) });
  }
}

function perResource<T>(f: (r: UsageResource) => T): Record<UsageResource, T> {
  return { cpu: f('cpu'), memory: f('memory') };
}

/** The fields a field selector reads, as apiserver's AddObjectMetaFieldsSet fills them. */
function fieldsOf(o: ObjectRef, namespace: string | undefined): Record<string, string> {
  const ns = o.namespace ?? namespace;
  return ns === undefined ? { 'metadata.name': o.name } : { 'metadata.name': o.name, 'metadata.namespace': ns };
}
