// Warnings for an autoscaling/v2 HorizontalPodAutoscaler at admission: a
// custom or external metric no loaded rule serves, and a Resource or
// ContainerResource target whose container does not exist or has no request
// for the resource. Never a denial and never a patch: the HPA is allowed as
// it is, and kube-apiserver shows the warnings to the client (`Warning:`).
//
// What the webhook can know at admission time: the HPA itself, the metrics
// discovered from the loaded rules (via `metricServed`), and the pod
// templates of the workloads it has itself admitted since it started (via
// TemplateMemory). It reads nothing from the API server, so a target it has
// not seen (admitted by another replica, before a restart, or before the
// webhook was installed) gets no container warning; `hpa-bridge explain`
// checks those against the live objects.
import type { WorkloadKind } from '../rules/defaults.js';
import type { AddedValue } from './patch.js';
import { isObject, type Workload } from './workloads.js';

/** A metric an HPA names, as the served-metrics check needs it. */
export type NamedMetric =
  | { readonly source: 'Pods'; readonly metric: string }
  | { readonly source: 'Object'; readonly metric: string; readonly describedObject: { readonly kind: string; readonly apiVersion?: string } }
  | { readonly source: 'External'; readonly metric: string };

/** A pod template as admitted, with the requests the webhook added. */
export interface RememberedTemplate {
  readonly kind: WorkloadKind;
  readonly containers: readonly { readonly name: string; readonly sidecar: boolean; readonly init: boolean; readonly requests: ReadonlySet<string> }[];
  readonly podRequests: ReadonlySet<string>;
}

const MAX_TEMPLATES = 5000;

/**
 * The pod templates of the workloads this process admitted, newest last,
 * at most MAX_TEMPLATES (the oldest is forgotten first), so memory stays
 * bounded however many workloads a cluster has.
 */
export class TemplateMemory {
  private readonly templates = new Map<string, RememberedTemplate>();

  remember(namespace: string, name: string, workload: Workload, added: readonly AddedValue[]): void {
    if (name === '' || name.endsWith('*')) return;
    const containers = workload.containers.map((c) => {
      const requests = new Set(Object.keys(c.resources?.requests ?? {}));
      for (const a of added) if (a.container === c.name && a.list === c.list && a.field === 'requests') requests.add(a.resource);
      return { name: c.name, init: c.list === 'initContainers', sidecar: c.list === 'initContainers' && c.restartPolicy === 'Always', requests };
    });
    const key = `${namespace}/${workload.kind}/${name}`;
    this.templates.delete(key);
    this.templates.set(key, { kind: workload.kind, containers, podRequests: new Set(Object.keys(workload.podResources?.requests ?? {})) });
    if (this.templates.size > MAX_TEMPLATES) {
      const oldest = this.templates.keys().next();
      if (!oldest.done) this.templates.delete(oldest.value);
    }
  }

  templateOf(namespace: string, kind: string, name: string): RememberedTemplate | undefined {
    return this.templates.get(`${namespace}/${kind}/${name}`);
  }
}

export interface HpaReviewOptions {
  /** Whether a loaded rule serves the metric now; undefined when that is not known yet (discovery has not run). */
  readonly metricServed?: (metric: NamedMetric) => boolean | undefined;
  readonly templates?: TemplateMemory;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The warnings for one HPA object (autoscaling/v2 or v2beta2 shape); empty when there is nothing to say. */
export function hpaWarnings(object: unknown, namespace: string, options: HpaReviewOptions): string[] {
  if (!isObject(object) || !isObject(object.spec)) return [];
  const spec = object.spec;
  const metrics = Array.isArray(spec.metrics) ? spec.metrics.filter(isObject) : [];
  const ref = isObject(spec.scaleTargetRef) ? spec.scaleTargetRef : {};
  const targetKind = str(ref.kind) ?? '';
  const targetName = str(ref.name) ?? '';
  const template = options.templates?.templateOf(namespace, targetKind, targetName);
  const warnings: string[] = [];
  metrics.forEach((m, i) => {
    const where = `spec.metrics[${i}]`;
    const named = namedMetric(m);
    if (named !== undefined && options.metricServed?.(named) === false) {
      warnings.push(`${where}: no loaded rule serves ${named.source.toLowerCase()} metric ${named.metric}; the HPA will show <unknown>`);
    }
    if (template === undefined) return;
    const source = m.type === 'Resource' ? m.resource : m.type === 'ContainerResource' ? m.containerResource : undefined;
    if (!isObject(source)) return;
    const resource = str(source.name) ?? '';
    const utilization = isObject(source.target) && source.target.type === 'Utilization';
    const target = `${targetKind}/${targetName}`;
    if (m.type === 'ContainerResource') {
      const container = str(source.container) ?? '';
      const found = template.containers.find((c) => c.name === container && (!c.init || c.sidecar));
      if (found === undefined) {
        warnings.push(`${where}: ${target} has no container ${container}; the HPA will show <unknown>`);
        return;
      }
      if (utilization && !found.requests.has(resource)) warnings.push(`${where}: container ${container} of ${target} has no ${resource} request; utilization cannot be computed`);
      return;
    }
    if (!utilization || template.podRequests.has(resource)) return;
    const lacking = template.containers.filter((c) => (!c.init || c.sidecar) && !c.requests.has(resource)).map((c) => c.name);
    if (lacking.length > 0) warnings.push(`${where}: container ${lacking.join(', ')} of ${target} has no ${resource} request; utilization cannot be computed`);
  });
  return warnings;
}

function namedMetric(m: Record<string, unknown>): NamedMetric | undefined {
  const nameOf = (source: unknown): string | undefined => (isObject(source) && isObject(source.metric) ? str(source.metric.name) : undefined);
  if (m.type === 'Pods') {
    const metric = nameOf(m.pods);
    return metric === undefined ? undefined : { source: 'Pods', metric };
  }
  if (m.type === 'External') {
    const metric = nameOf(m.external);
    return metric === undefined ? undefined : { source: 'External', metric };
  }
  if (m.type === 'Object' && isObject(m.object) && isObject(m.object.describedObject)) {
    const metric = nameOf(m.object);
    const kind = str(m.object.describedObject.kind);
    const apiVersion = str(m.object.describedObject.apiVersion);
    if (metric === undefined || kind === undefined) return undefined;
    return { source: 'Object', metric, describedObject: { kind, ...(apiVersion === undefined ? {} : { apiVersion }) } };
  }
  return undefined;
}
