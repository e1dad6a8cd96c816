// The I/O around explain/: the rules loaded and discovered against
// Prometheus as `serve` does it, and each metric asked of the same provider
// (adapter/provider.ts, adapter/resource-provider.ts) the HTTP surface asks,
// with the PromQL it sends recorded on the way.
import { customMetricKey, MetricDiscovery } from '../adapter/discovery.js';
import { BadRequestError, NotFoundError, UnavailableError } from '../adapter/errors.js';
import type { Logger } from '../adapter/log.js';
import type { ObjectLister, ObjectRef, ResourceKind } from '../adapter/objects/types.js';
import type { MetricsSource, QueryOptions, Sample } from '../adapter/prometheus.js';
import { MetricsProvider, ruleName } from '../adapter/provider.js';
import { ResourceMetricsFromRules } from '../adapter/resource-provider.js';
import { matchesLabels, type Requirement } from '../k8s/label-selector.js';
import type { FetchedMetric, MetricAnswer } from '../explain/explain.js';
import type { MetricRequest } from '../explain/request.js';
import { formatDiagnostic } from '../rules/diagnostics.js';
import type { GroupResource, ResourceCatalog } from '../rules/resources.js';
import { RuleStore } from '../rules/watch.js';
import type { RuleSet } from '../rules/load.js';
import { StartupError } from './errors.js';
import { checkRulePaths } from './startup-files.js';

/** Every query the provider sends, so the explanation can show the PromQL behind each value. */
class RecordingSource implements MetricsSource {
  sent: string[] = [];
  constructor(private readonly inner: MetricsSource) {}
  query(promql: string, options: QueryOptions): Promise<Sample[]> {
    this.sent.push(promql);
    return this.inner.query(promql, options);
  }
  series(match: string, lookbackSeconds: number, options: QueryOptions): ReturnType<MetricsSource['series']> {
    return this.inner.series(match, lookbackSeconds, options);
  }
}

/** Pods known from a file or the cluster, as an object source (any other resource has no objects). */
export class PodListSource implements ObjectLister {
  constructor(
    private readonly pods: readonly ObjectRef[],
    private readonly catalog: ResourceCatalog,
  ) {}
  list(resource: GroupResource, _namespace: string | undefined, selector: readonly Requirement[]): Promise<ObjectRef[]> {
    if (resource.group !== '' || resource.resource !== 'pods') return Promise.resolve([]);
    return Promise.resolve(this.pods.filter((p) => matchesLabels(selector, p.labels)));
  }
  describe(resource: GroupResource): Promise<ResourceKind | undefined> {
    const known = this.catalog.find(resource.group, resource.resource)[0];
    return Promise.resolve(known ? { kind: known.kind, apiVersion: known.group ? `${known.group}/${known.version}` : known.version, namespaced: known.namespaced } : undefined);
  }
  notReadyReason(): string | undefined {
    return undefined;
  }
  close(): void {}
}

/** Loads the rules as serve does; a StartupError naming the flag and the first problem when they do not load. */
export async function loadRules(paths: readonly string[], catalog: ResourceCatalog): Promise<RuleSet> {
  await checkRulePaths(paths);
  const store = new RuleStore(paths, catalog);
  const result = await store.reload();
  const first = result.errors[0];
  if (!result.ruleSet) throw new StartupError(`--rules ${paths.join(',')}: ${first === undefined ? 'no rules loaded' : formatDiagnostic(first)}`);
  return result.ruleSet;
}

export interface MetricsBackend {
  /** Asks the provider what the controller would ask; never throws for a metric problem. */
  fetch(request: MetricRequest): Promise<FetchedMetric>;
}

function failure(e: unknown): MetricAnswer {
  if (e instanceof NotFoundError) return { ok: false, cause: /could not find the (external )?metric/.test(e.message) ? 'no-rule' : 'no-values', message: e.message };
  if (e instanceof BadRequestError) return { ok: false, cause: 'rejected', message: e.message };
  if (e instanceof UnavailableError) return { ok: false, cause: 'unavailable', message: e.message };
  throw e;
}

/**
 * Discovers the rules' metrics against Prometheus once, then answers each
 * metric request through MetricsProvider and ResourceMetricsFromRules.
 */
export async function metricsBackend(deps: {
  readonly rules: RuleSet;
  readonly prometheus: MetricsSource;
  readonly objects: ObjectLister;
  readonly catalog: ResourceCatalog;
  readonly log: Logger;
  readonly timeoutMs: number;
}): Promise<MetricsBackend> {
  const recording = new RecordingSource(deps.prometheus);
  const discovery = new MetricDiscovery(
    deps.prometheus,
    () => deps.rules,
    () => deps.catalog,
    { intervalMs: 60_000, lookbackSeconds: 600, timeoutMs: deps.timeoutMs },
    deps.log,
  );
  await discovery.relist();
  const catalog = (): ResourceCatalog => deps.catalog;
  const provider = new MetricsProvider({ registry: () => discovery.registry, metrics: recording, objects: deps.objects, catalog, log: deps.log });
  const resourceMetrics = new ResourceMetricsFromRules({ rules: () => deps.rules.resourceRules, metrics: recording, objects: deps.objects, log: deps.log });
  const discoveryFailure = (): MetricAnswer | undefined => {
    if (discovery.registry !== undefined) return undefined;
    return { ok: false, cause: 'unavailable', message: `metric discovery against Prometheus failed: ${discovery.status.errors[0] ?? 'no answer'}` };
  };

  return {
    async fetch(request) {
      recording.sent = [];
      const deadline = Date.now() + deps.timeoutMs;
      let rule: string | undefined;
      let answer: MetricAnswer;
      try {
        switch (request.api) {
          case 'metrics.k8s.io/v1beta1': {
            const rr = deps.rules.resourceRules;
            const resource = request.resource === 'memory' ? 'memory' : 'cpu';
            rule = rr ? ruleName({ origin: rr[resource].origins.containerQuery }) : undefined;
            const usage = await resourceMetrics.podMetrics({ namespace: request.namespace, labelSelector: request.labelSelector, fieldSelector: [], deadline });
            answer = {
              ok: true,
              resource: usage.map((p) => ({
                name: p.name,
                timestamp: p.timestamp.getTime(),
                windowMs: p.windowSeconds * 1000,
                containers: p.containers.map((c) => ({ name: c.name, usage: { cpu: c.usage.cpu, memory: c.usage.memory } })),
              })),
            };
            break;
          }
          case 'custom.metrics.k8s.io/v1beta2': {
            const found = discovery.registry?.custom.get(customMetricKey(request.resource, request.metric));
            rule = found ? ruleName(found.rule) : undefined;
            const failed = discoveryFailure();
            if (failed) {
              answer = failed;
              break;
            }
            const values = await provider.objectMetrics({
              resource: request.resource,
              ...(request.namespace === undefined ? {} : { namespace: request.namespace }),
              name: request.name,
              metric: request.metric,
              labelSelector: request.labelSelector,
              metricSelector: request.metricSelector,
              deadline,
            });
            const timestampOf = (t: Date): number => t.getTime();
            if (request.name === '*') {
              answer = {
                ok: true,
                pods: values.map((v) => ({
                  pod: v.describedObject.name,
                  value: v.value,
                  timestamp: timestampOf(v.timestamp),
                  ...(v.windowSeconds === undefined ? {} : { windowSeconds: v.windowSeconds }),
                })),
              };
            } else {
              const first = values[0];
              answer =
                first === undefined
                  ? { ok: false, cause: 'no-values', message: `no value for ${request.name}` }
                  : { ok: true, object: { value: first.value, timestamp: timestampOf(first.timestamp) } };
            }
            break;
          }
          case 'external.metrics.k8s.io/v1beta1': {
            const found = discovery.registry?.external.get(request.metric);
            rule = found ? ruleName(found.rule) : undefined;
            const failed = discoveryFailure();
            if (failed) {
              answer = failed;
              break;
            }
            const values = await provider.externalMetrics({ namespace: request.namespace, metric: request.metric, metricSelector: request.metricSelector, deadline });
            answer = { ok: true, external: values.map((v) => ({ value: v.value, timestamp: v.timestamp.getTime() })) };
            break;
          }
        }
      } catch (e) {
        answer = failure(e);
      }
      return { request, ...(rule === undefined ? {} : { rule }), queries: [...recording.sent], answer };
    },
  };
}
