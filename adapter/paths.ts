// The URL shapes of the metrics APIs, parsed into what is asked. Pure, so
// every shape and every malformed path is covered by table tests.
import { DNS1123_LABEL_ERROR_MESSAGE, DNS1123_SUBDOMAIN_ERROR_MESSAGE, DNS1123_SUBDOMAIN_RE, isDNS1123Label, isDNS1123Subdomain } from '../k8s/names.js';
import { normalizeGroupResource, NAMESPACES, type GroupResource, type ResourceCatalog } from '../rules/resources.js';
import { BadRequestError, NotFoundError } from './errors.js';

export const CUSTOM_GROUP = 'custom.metrics.k8s.io';
export const EXTERNAL_GROUP = 'external.metrics.k8s.io';
const CUSTOM_VERSIONS = ['v1beta1', 'v1beta2'] as const;
export type CustomVersion = (typeof CUSTOM_VERSIONS)[number];
export const RESOURCE_METRICS_GROUP = 'metrics.k8s.io';
/** v1 has the shapes of v1beta1 (KEP-5207). */
export const RESOURCE_METRICS_VERSIONS = ['v1beta1', 'v1'] as const;
export type ResourceMetricsVersion = (typeof RESOURCE_METRICS_VERSIONS)[number];

export type MetricsRequest =
  | { readonly kind: 'discovery'; readonly group: string; readonly version: string }
  | {
      readonly kind: 'object';
      readonly version: CustomVersion;
      readonly resource: GroupResource;
      /** As written in the path, for messages and authorization. */
      readonly resourcePath: string;
      readonly namespace?: string;
      readonly name: string;
      readonly metric: string;
    }
  | { readonly kind: 'external'; readonly version: 'v1beta1'; readonly namespace: string; readonly metric: string }
  /** PodMetrics: of one namespace, or of every namespace when `namespace` is undefined; one pod when `name` is given. */
  | { readonly kind: 'pods'; readonly version: ResourceMetricsVersion; readonly namespace?: string; readonly name?: string }
  | { readonly kind: 'nodes'; readonly version: ResourceMetricsVersion; readonly name?: string };

// Metric names as Prometheus and most adapters publish them (colons for recording rules).
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:.-]*$/;

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadRequestError(`malformed percent-encoding in path segment ${JSON.stringify(segment)}`);
  }
}

function checkNamespace(ns: string): string {
  if (isDNS1123Label(ns).length > 0) {
    throw new BadRequestError(`invalid namespace ${JSON.stringify(ns)}: ${DNS1123_LABEL_ERROR_MESSAGE}`);
  }
  return ns;
}

function checkName(name: string): string {
  if (name === '*') return name;
  if (isDNS1123Subdomain(name).length > 0) {
    throw new BadRequestError(`invalid object name ${JSON.stringify(name)}: ${DNS1123_SUBDOMAIN_ERROR_MESSAGE}`);
  }
  return name;
}

function checkMetric(metric: string): string {
  if (!METRIC_NAME.test(metric)) {
    throw new BadRequestError(`invalid metric name ${JSON.stringify(metric)}`);
  }
  return metric;
}

const isNamespaces = (gr: GroupResource): boolean => gr.group === NAMESPACES.group && gr.resource === NAMESPACES.resource;

/** `deployments.apps` → {group: apps, resource: deployments}; `pods` → core pods. */
function parseResourcePath(text: string, catalog: ResourceCatalog): GroupResource {
  if (!DNS1123_SUBDOMAIN_RE.test(text)) throw new BadRequestError(`invalid resource ${JSON.stringify(text)}`);
  const dot = text.indexOf('.');
  const resource = dot === -1 ? text : text.slice(0, dot);
  const group = dot === -1 ? '' : text.slice(dot + 1);
  // The path names the plural; normalising maps the few irregular names.
  const normalized = normalizeGroupResource(catalog, group, resource).groupResource;
  return normalized.group === group ? normalized : { group, resource };
}

/**
 * Parses the path below /apis. `segments` are raw (still percent-encoded),
 * so `%2A` becomes `*` here and nowhere else.
 */
export function parseMetricsPath(segments: readonly string[], catalog: ResourceCatalog): MetricsRequest {
  const [group, version, ...rest] = segments.map(decode);
  if (group === CUSTOM_GROUP) {
    if (!CUSTOM_VERSIONS.includes(version as CustomVersion)) throw new NotFoundError(`the server could not find the requested resource (${CUSTOM_GROUP}/${version ?? ''})`);
    const v = version as CustomVersion;
    if (rest.length === 0) return { kind: 'discovery', group, version: v };
    // namespaces/{ns}/metrics/{metric}: the metric of the Namespace object itself.
    if (rest.length === 4 && rest[0] === 'namespaces' && rest[2] === 'metrics') {
      const ns = checkNamespace(rest[1] as string);
      return { kind: 'object', version: v, resource: NAMESPACES, resourcePath: 'namespaces', name: ns, metric: checkMetric(rest[3] as string) };
    }
    // namespaces/{ns}/{resource}/{name|*}/{metric}
    if (rest.length === 5 && rest[0] === 'namespaces') {
      const resourcePath = rest[2] as string;
      const resource = parseResourcePath(resourcePath, catalog);
      // Namespaces are cluster-scoped, so no namespace holds another.
      // custom-metrics-apiserver hands this shape to its provider as a
      // namespaced metric of namespaces, which no provider has: a 404.
      if (isNamespaces(resource)) {
        throw new NotFoundError(
          `the server could not find the requested resource: namespaces are cluster-scoped, so none is found under namespaces/{namespace}/; a namespace's own metric is served at /apis/${CUSTOM_GROUP}/${v}/namespaces/{name}/metrics/{metric}`,
        );
      }
      return {
        kind: 'object',
        version: v,
        resource,
        resourcePath,
        namespace: checkNamespace(rest[1] as string),
        name: checkName(rest[3] as string),
        metric: checkMetric(rest[4] as string),
      };
    }
    // {resource}/{name|*}/{metric} for root-scoped resources (nodes, namespaces, ...).
    if (rest.length === 3) {
      const resourcePath = rest[0] as string;
      const resource = parseResourcePath(resourcePath, catalog);
      const name = isNamespaces(resource) ? checkNamespace(rest[1] as string) : checkName(rest[1] as string);
      return { kind: 'object', version: v, resource, resourcePath, name, metric: checkMetric(rest[2] as string) };
    }
    throw new NotFoundError(`the server could not find the requested resource: unrecognised path /apis/${segments.join('/')}`);
  }
  if (group === EXTERNAL_GROUP) {
    if (version !== 'v1beta1') throw new NotFoundError(`the server could not find the requested resource (${EXTERNAL_GROUP}/${version ?? ''})`);
    if (rest.length === 0) return { kind: 'discovery', group, version };
    if (rest.length === 3 && rest[0] === 'namespaces') {
      return { kind: 'external', version, namespace: checkNamespace(rest[1] as string), metric: checkMetric(rest[2] as string) };
    }
    throw new NotFoundError(`the server could not find the requested resource: external metrics are served at /apis/${EXTERNAL_GROUP}/v1beta1/namespaces/{namespace}/{metric}`);
  }
  if (group === RESOURCE_METRICS_GROUP) return parseResourceMetricsPath(version, rest, segments);
  throw new NotFoundError(`the server could not find the requested resource: /apis/${segments.join('/')}`);
}

/** metrics.k8s.io: namespaces/{ns}/pods[/{name}], pods, nodes[/{name}]. */
function parseResourceMetricsPath(version: string | undefined, rest: readonly string[], segments: readonly string[]): MetricsRequest {
  if (!RESOURCE_METRICS_VERSIONS.includes(version as ResourceMetricsVersion)) {
    throw new NotFoundError(`the server could not find the requested resource (${RESOURCE_METRICS_GROUP}/${version ?? ''})`);
  }
  const v = version as ResourceMetricsVersion;
  if (rest.length === 0) return { kind: 'discovery', group: RESOURCE_METRICS_GROUP, version: v };
  const name = (text: string | undefined): { name?: string } => (text === undefined ? {} : { name: checkObjectName(text) });
  if (rest[0] === 'namespaces' && rest[2] === 'pods' && (rest.length === 3 || rest.length === 4)) {
    return { kind: 'pods', version: v, namespace: checkNamespace(rest[1] as string), ...name(rest[3]) };
  }
  if (rest[0] === 'pods' && rest.length === 1) return { kind: 'pods', version: v };
  if (rest[0] === 'nodes' && (rest.length === 1 || rest.length === 2)) return { kind: 'nodes', version: v, ...name(rest[1]) };
  throw new NotFoundError(
    `the server could not find the requested resource: /apis/${segments.join('/')}; ${RESOURCE_METRICS_GROUP} serves namespaces/{namespace}/pods[/{name}], pods and nodes[/{name}]`,
  );
}

function checkObjectName(name: string): string {
  if (isDNS1123Subdomain(name).length > 0) {
    throw new BadRequestError(`invalid object name ${JSON.stringify(name)}: ${DNS1123_SUBDOMAIN_ERROR_MESSAGE}`);
  }
  return name;
}
