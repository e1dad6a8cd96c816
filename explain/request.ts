// What kube-controller-manager's HPA metrics client asks of the metrics APIs
// for one metric of an HPA (pkg/controller/podautoscaler/metrics/client.go):
// the API, the path and the query, as plain data, so the explanation can show
// it and the caller can send the same request to the provider.
import { formatLabelSelector, labelSelectorAsRequirements, type Requirement } from '../k8s/label-selector.js';
import type { MetricSpec } from '../hpa/index.js';
import { formatGroupResource, NAMESPACES, normalizeGroupResource, type GroupResource, type ResourceCatalog } from '../rules/resources.js';

export type MetricRequest =
  | {
      /** resourceMetricsClient: a PodMetrics list of the namespace with the target's selector. */
      readonly api: 'metrics.k8s.io/v1beta1';
      readonly namespace: string;
      readonly labelSelector: readonly Requirement[];
      readonly resource: string;
      readonly container?: string;
    }
  | {
      /** customMetricsClient: every pod of the selector (`*`), or one described object. */
      readonly api: 'custom.metrics.k8s.io/v1beta2';
      readonly resource: GroupResource;
      /** Undefined for a root-scoped object (a Namespace's own metric). */
      readonly namespace?: string;
      readonly name: string;
      readonly metric: string;
      readonly labelSelector: readonly Requirement[];
      readonly metricSelector: readonly Requirement[];
    }
  | {
      readonly api: 'external.metrics.k8s.io/v1beta1';
      readonly namespace: string;
      readonly metric: string;
      readonly metricSelector: readonly Requirement[];
    };

const PODS: GroupResource = { group: '', resource: 'pods' };

/** The resource of an Object metric's describedObject: its kind in its apiVersion's group, as the controller's RESTMapper finds it. */
export function describedObjectResource(described: { readonly kind: string; readonly apiVersion?: string }, catalog: ResourceCatalog): GroupResource {
  const apiVersion = described.apiVersion ?? '';
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  return normalizeGroupResource(catalog, group, described.kind).groupResource;
}

/**
 * The request for one metric spec. `podSelector` is the scale target's
 * selector, which the controller puts on per-pod requests. An Object
 * metric's kind is mapped to its resource through the catalog, as the
 * controller's RESTMapper does.
 */
export function metricRequestFor(spec: MetricSpec, namespace: string, podSelector: readonly Requirement[], catalog: ResourceCatalog): MetricRequest {
  switch (spec.type) {
    case 'Resource':
      return { api: 'metrics.k8s.io/v1beta1', namespace, labelSelector: podSelector, resource: spec.resource.name };
    case 'ContainerResource':
      return { api: 'metrics.k8s.io/v1beta1', namespace, labelSelector: podSelector, resource: spec.containerResource.name, container: spec.containerResource.container };
    case 'Pods':
      return {
        api: 'custom.metrics.k8s.io/v1beta2',
        resource: PODS,
        namespace,
        name: '*',
        metric: spec.pods.metric.name,
        labelSelector: podSelector,
        metricSelector: labelSelectorAsRequirements(spec.pods.metric.selector),
      };
    case 'Object': {
      const resource = describedObjectResource(spec.object.describedObject, catalog);
      const described = spec.object.describedObject;
      const rootNamespace = resource.group === NAMESPACES.group && resource.resource === NAMESPACES.resource;
      return {
        api: 'custom.metrics.k8s.io/v1beta2',
        resource,
        ...(rootNamespace ? {} : { namespace }),
        name: described.name,
        metric: spec.object.metric.name,
        labelSelector: [],
        metricSelector: labelSelectorAsRequirements(spec.object.metric.selector),
      };
    }
    case 'External':
      return { api: 'external.metrics.k8s.io/v1beta1', namespace, metric: spec.external.metric.name, metricSelector: labelSelectorAsRequirements(spec.external.metric.selector) };
  }
}

function query(params: Readonly<Record<string, readonly Requirement[]>>): string {
  const parts = Object.entries(params)
    .filter(([, reqs]) => reqs.length > 0)
    .map(([name, reqs]) => `${name}=${encodeURIComponent(formatLabelSelector(reqs))}`);
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

/** The URL path and query the controller sends, below the API server. */
export function metricRequestPath(r: MetricRequest): string {
  switch (r.api) {
    case 'metrics.k8s.io/v1beta1':
      return `/apis/metrics.k8s.io/v1beta1/namespaces/${r.namespace}/pods${query({ labelSelector: r.labelSelector })}`;
    case 'custom.metrics.k8s.io/v1beta2': {
      const base = '/apis/custom.metrics.k8s.io/v1beta2';
      const selectors = query({ labelSelector: r.labelSelector, metricLabelSelector: r.metricSelector });
      const isNamespace = r.resource.group === NAMESPACES.group && r.resource.resource === NAMESPACES.resource;
      if (isNamespace) return `${base}/namespaces/${r.name}/metrics/${r.metric}${selectors}`;
      const name = r.name === '*' ? '%2A' : r.name;
      const scope = r.namespace === undefined ? '' : `/namespaces/${r.namespace}`;
      return `${base}${scope}/${formatGroupResource(r.resource)}/${name}/${r.metric}${selectors}`;
    }
    case 'external.metrics.k8s.io/v1beta1':
      return `/apis/external.metrics.k8s.io/v1beta1/namespaces/${r.namespace}/${r.metric}${query({ labelSelector: r.metricSelector })}`;
  }
}
