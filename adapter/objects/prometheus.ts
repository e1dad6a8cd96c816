// `--object-source prometheus`: objects and their labels come from
// kube-state-metrics series (`kube_pod_labels{namespace, pod, label_app=…}`)
// instead of the Kubernetes API, so hpa-bridge can run with no API access
// (another cluster's Prometheus, local runs). kube-state-metrics exports
// only the labels its --metric-labels-allowlist names, as `label_<sanitized>`.
import { formatGroupResource, type GroupResource, type ResourceCatalog, apiVersionOf } from '../../rules/resources.js';
import { matchesLabels, type Requirement } from '../../k8s/label-selector.js';
import { BadRequestError, UnavailableError } from '../errors.js';
import { PrometheusError, type MetricsSource } from '../prometheus.js';
import { renderMatcher } from '../../rules/promql.js';
import type { ObjectLister, ObjectRef, ResourceKind } from './types.js';

/**
 * kube-state-metrics' label naming: every character outside [a-zA-Z0-9_]
 * becomes `_`, then camelCase becomes snake_case (`appName` → `app_name`).
 */
export function sanitizeLabelKey(key: string): string {
  const sanitized = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return `label_${sanitized.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()}`;
}

// Where kube-state-metrics departs from `kube_<singular>_labels{<singular>=…}`:
// a Job's name is in `job_name`, since `job` is Prometheus' own scrape label,
// and Endpoints use the singular `endpoint`.
const KSM_NAMING: Readonly<Record<string, { readonly series: string; readonly label: string }>> = {
  'jobs.batch': { series: 'kube_job_labels', label: 'job_name' },
  endpoints: { series: 'kube_endpoint_labels', label: 'endpoint' },
};

interface PrometheusObjectSourceOptions {
  readonly metrics: MetricsSource;
  readonly catalog: () => ResourceCatalog;
  /** Deadline for one lookup. */
  readonly timeoutMs: number;
}

export class PrometheusObjectSource implements ObjectLister {
  constructor(private readonly options: PrometheusObjectSourceOptions) {}

  private known(resource: GroupResource) {
    return this.options
      .catalog()
      .find(resource.group, resource.resource)
      .find((r) => r.group === resource.group);
  }

  async list(resource: GroupResource, namespace: string | undefined, selector: readonly Requirement[]): Promise<ObjectRef[]> {
    const known = this.known(resource);
    const singular = known?.singular ?? resource.resource.replace(/s$/, '');
    const naming = KSM_NAMING[formatGroupResource(resource)];
    const series = naming?.series ?? `kube_${singular}_labels`;
    const nameLabel = naming?.label ?? singular;
    const matchers = namespace ? [renderMatcher('namespace', '=', namespace)] : [];
    const query = `${series}{${matchers.join(',')}}`;
    const deadline = Date.now() + this.options.timeoutMs;
    let samples;
    try {
      samples = await this.options.metrics.query(query, { deadline });
    } catch (e) {
      if (e instanceof PrometheusError) throw new UnavailableError(`listing ${formatGroupResource(resource)} from kube-state-metrics failed: ${e.message}; query: ${query}`);
      throw e;
    }
    if (samples.length === 0) {
      const any = await this.options.metrics.query(`count(${series})`, { deadline }).catch(() => []);
      if (any.length === 0) {
        throw new UnavailableError(
          `--object-source prometheus needs kube-state-metrics series ${series} to list ${formatGroupResource(resource)}, and Prometheus has none; deploy kube-state-metrics (with --metric-labels-allowlist for the labels your HPAs select on) or use --object-source kubernetes`,
        );
      }
      return [];
    }
    // Selector keys are compared in kube-state-metrics' sanitised form.
    const sanitized = selector.map((r) => ({ ...r, key: sanitizeLabelKey(r.key) }));
    for (const r of selector) {
      if (!/^[a-zA-Z0-9_./-]+$/.test(r.key)) throw new BadRequestError(`label key ${r.key} cannot be matched against kube-state-metrics labels`);
    }
    // Without a namespace, a namespaced resource is listed across namespaces (metrics.k8s.io's
    // `pods`): each object takes its namespace from the series, and names repeat across namespaces.
    const acrossNamespaces = !namespace && (known?.namespaced ?? false);
    const byKey = new Map<string, ObjectRef>();
    for (const s of samples) {
      const name = s.labels[nameLabel];
      const ns = acrossNamespaces ? s.labels['namespace'] : namespace;
      const key = `${ns ?? ''}/${name ?? ''}`;
      if (!name || (acrossNamespaces && !ns) || byKey.has(key)) continue;
      if (!matchesLabels(sanitized, s.labels)) continue;
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(s.labels)) if (k.startsWith('label_')) labels[k.slice(6)] = v;
      byKey.set(key, { name, ...(ns ? { namespace: ns } : {}), labels });
    }
    const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    return [...byKey.values()].sort((a, b) => compare(a.name, b.name) || compare(a.namespace ?? '', b.namespace ?? ''));
  }

  async describe(resource: GroupResource): Promise<ResourceKind | undefined> {
    const known = this.known(resource);
    return known ? { kind: known.kind, apiVersion: apiVersionOf(known), namespaced: known.namespaced } : undefined;
  }

  notReadyReason(): string | undefined {
    return undefined;
  }

  close(): void {}
}
