// The JSON documents of the metrics APIs, field for field as
// k8s.io/metrics defines them, so a Go client decodes them unchanged.
import { labelSelectorOperatorOf, type LabelSelector, type LabelSelectorRequirement, type Requirement } from '../k8s/label-selector.js';
import { formatGroupResource } from '../rules/resources.js';
import type { AggregatedDiscoveryVersion } from './negotiation.js';
import { CUSTOM_GROUP, EXTERNAL_GROUP, RESOURCE_METRICS_GROUP, type CustomVersion } from './paths.js';
import type { ExternalMetricValue, MetricListing, ObjectMetricValue } from './metrics-api-provider.js';

let lastTimeMs = NaN;
let lastTimeText = '';

/** metav1.Time: RFC 3339 in UTC with whole seconds. */
export function formatTime(d: Date): string {
  // Every sample of one query shares its evaluation time, so a list of
  // thousands of items formats one timestamp.
  const ms = d.getTime();
  if (ms !== lastTimeMs) {
    lastTimeText = d.toISOString().replace(/\.\d{3}Z$/, 'Z');
    lastTimeMs = ms;
  }
  return lastTimeText;
}

/** metav1.LabelSelector for the metric selector echoed in v1beta1/v1beta2 items; null when empty. */
export function toLabelSelector(reqs: readonly Requirement[]): LabelSelector | null {
  if (reqs.length === 0) return null;
  // Built in place so that the keys come out in the order they first occur.
  const doc: { matchLabels?: Record<string, string>; matchExpressions?: LabelSelectorRequirement[] } = {};
  for (const r of reqs) {
    if (r.operator === '=' || r.operator === '==') {
      doc.matchLabels = { ...doc.matchLabels, [r.key]: r.values[0] ?? '' };
      continue;
    }
    const operator = labelSelectorOperatorOf(r.operator);
    if (operator === undefined) continue;
    const expr = operator === 'Exists' || operator === 'DoesNotExist' ? { key: r.key, operator } : { key: r.key, operator, values: [...r.values] };
    doc.matchExpressions = [...(doc.matchExpressions ?? []), expr];
  }
  return doc;
}

export function customMetricValueList(version: CustomVersion, items: readonly ObjectMetricValue[], metricSelector: readonly Requirement[]): unknown {
  const selector = toLabelSelector(metricSelector);
  return {
    kind: 'MetricValueList',
    apiVersion: `${CUSTOM_GROUP}/${version}`,
    metadata: {},
    items: items.map((i) =>
      version === 'v1beta1'
        ? {
            describedObject: i.describedObject,
            metricName: i.metric,
            timestamp: formatTime(i.timestamp),
            ...(i.windowSeconds !== undefined ? { window: i.windowSeconds } : {}),
            value: i.value,
            selector,
          }
        : {
            describedObject: i.describedObject,
            metric: { name: i.metric, ...(selector ? { selector } : {}) },
            timestamp: formatTime(i.timestamp),
            ...(i.windowSeconds !== undefined ? { windowSeconds: i.windowSeconds } : {}),
            value: i.value,
          },
    ),
  };
}

export function externalMetricValueList(items: readonly ExternalMetricValue[]): unknown {
  return {
    kind: 'ExternalMetricValueList',
    apiVersion: `${EXTERNAL_GROUP}/v1beta1`,
    metadata: {},
    items: items.map((i) => ({
      metricName: i.metric,
      metricLabels: i.labels,
      timestamp: formatTime(i.timestamp),
      ...(i.windowSeconds !== undefined ? { window: i.windowSeconds } : {}),
      value: i.value,
    })),
  };
}

interface ApiResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
}

export interface ServedGroup {
  readonly name: string;
  /** In order of preference: the first is preferred, as the APIServices' versionPriority has it. */
  readonly versions: readonly string[];
}

/** The groups always served. */
export const SERVED_GROUPS: readonly ServedGroup[] = [
  { name: CUSTOM_GROUP, versions: ['v1beta2', 'v1beta1'] },
  { name: EXTERNAL_GROUP, versions: ['v1beta1'] },
];

/**
 * metrics.k8s.io, served while resourceRules are loaded. v1beta1 is
 * preferred: the HPA controller reads resource metrics through the typed
 * v1beta1 client only (NewRESTMetricsClient over
 * metrics/v1beta1.NewForConfig), metrics-server serves v1beta1 only, and
 * kubectl top takes the first version of the group's list that it supports
 * (v1beta1 only, until the kubectl release that added v1 for KEP-5207), so
 * listing v1beta1 first shows every client what the HPA sees.
 */
export const RESOURCE_METRICS_SERVED_GROUP: ServedGroup = { name: RESOURCE_METRICS_GROUP, versions: ['v1beta1', 'v1'] };

/** Every group served now. */
export function servedGroups(resourceMetrics: boolean): readonly ServedGroup[] {
  return resourceMetrics ? [...SERVED_GROUPS, RESOURCE_METRICS_SERVED_GROUP] : SERVED_GROUPS;
}

/** The resources of one group, sorted by name. The listing gives every metric of one resource the same scope. */
function apiResources(group: string, metrics: MetricListing): ApiResource[] {
  const resources: ApiResource[] = [];
  if (group === RESOURCE_METRICS_GROUP) {
    // As metrics-server lists them: no singular name, so clients derive `podmetrics` and `nodemetrics` from the kinds.
    resources.push(
      { name: 'nodes', singularName: '', namespaced: false, kind: 'NodeMetrics', verbs: ['get', 'list'] },
      { name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
    );
  } else if (group === CUSTOM_GROUP) {
    for (const m of metrics.custom) {
      resources.push({ name: `${formatGroupResource(m)}/${m.metric}`, singularName: '', namespaced: m.namespaced, kind: 'MetricValueList', verbs: ['get'] });
    }
  } else if (group === EXTERNAL_GROUP) {
    // External metrics are only served under namespaces/{ns}/, whatever the rule's scope.
    for (const m of metrics.external) {
      resources.push({ name: m.metric, singularName: '', namespaced: true, kind: 'ExternalMetricValueList', verbs: ['get'] });
    }
  }
  return resources.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Discovery of one group-version: an APIResourceList. */
export function apiResourceList(group: string, version: string, metrics: MetricListing): unknown {
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${group}/${version}`, resources: apiResources(group, metrics) };
}

function apiGroup(name: string, versions: readonly string[]): unknown {
  const preferred = versions[0] ?? '';
  return {
    name,
    versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${name}/${preferred}`, version: preferred },
  };
}

function servedGroup(name: string): ServedGroup {
  const group = servedGroups(true).find((g) => g.name === name);
  if (!group) throw new Error(`${name} is not a served group`);
  return group;
}

export function customApiGroup(): unknown {
  return { kind: 'APIGroup', apiVersion: 'v1', ...(apiGroup(CUSTOM_GROUP, servedGroup(CUSTOM_GROUP).versions) as object) };
}

export function externalApiGroup(): unknown {
  return { kind: 'APIGroup', apiVersion: 'v1', ...(apiGroup(EXTERNAL_GROUP, servedGroup(EXTERNAL_GROUP).versions) as object) };
}

export function resourceMetricsApiGroup(): unknown {
  return { kind: 'APIGroup', apiVersion: 'v1', ...(apiGroup(RESOURCE_METRICS_GROUP, servedGroup(RESOURCE_METRICS_GROUP).versions) as object) };
}

export function apiGroupList(resourceMetrics = false): unknown {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: servedGroups(resourceMetrics).map((g) => apiGroup(g.name, g.versions)) };
}

/** metav1.GroupVersionKind; every field is always written (no omitempty). */
interface GroupVersionKindDoc {
  group: string;
  version: string;
  kind: string;
}

interface ApiSubresourceDiscovery {
  subresource: string;
  responseKind: GroupVersionKindDoc;
  verbs: string[];
}

interface ApiResourceDiscovery {
  resource: string;
  responseKind: GroupVersionKindDoc;
  scope: 'Namespaced' | 'Cluster';
  singularResource: string;
  verbs: string[];
  subresources?: ApiSubresourceDiscovery[];
}

/**
 * The resources of one group-version in aggregated discovery, derived from
 * the APIResourceList exactly as kube-apiserver derives them
 * (k8s.io/apiserver endpoints.ConvertGroupVersionIntoToDiscovery, which
 * kube-aggregator also applies to the per-version document of a server that
 * serves no aggregated discovery):
 *
 * - an external metric is a resource of its own, kind ExternalMetricValueList;
 * - a custom metric `pods/http_requests` is the subresource `http_requests`
 *   of a parent resource `pods`. We serve nothing at the parent itself, so
 *   it has no verbs and an empty responseKind: empty, never absent, since
 *   client-go v0.26.0-v0.26.3 dereferences it without a check
 *   (kubernetes/kubernetes#118361) and kube-aggregator 1.27.0-1.27.5 passes
 *   it through unchanged. Clients list only what has verbs, so `kubectl
 *   api-resources` shows the external metrics and no custom ones, the same
 *   as with per-version discovery; the parent's scope is the metrics' scope,
 *   one per resource (see CustomMetricInfo).
 *
 * Group and version of responseKind stay empty, meaning "this
 * group-version", as they are in the APIResourceList; so whichever way the
 * aggregator learns our resources, it publishes the same document.
 */
function resourceDiscovery(resources: readonly ApiResource[]): ApiResourceDiscovery[] {
  const out: ApiResourceDiscovery[] = [];
  const parents = new Map<string, ApiResourceDiscovery>();
  const scope = (r: ApiResource): ApiResourceDiscovery['scope'] => (r.namespaced ? 'Namespaced' : 'Cluster');
  const kindOf = (kind: string): GroupVersionKindDoc => ({ group: '', version: '', kind });
  for (const r of resources) {
    const slash = r.name.indexOf('/');
    if (slash === -1) {
      out.push({ resource: r.name, responseKind: kindOf(r.kind), scope: scope(r), singularResource: r.singularName, verbs: [...r.verbs] });
      continue;
    }
    const parentName = r.name.slice(0, slash);
    let parent = parents.get(parentName);
    if (!parent) {
      parent = { resource: parentName, responseKind: kindOf(''), scope: scope(r), singularResource: '', verbs: [], subresources: [] };
      parents.set(parentName, parent);
      out.push(parent);
    }
    parent.subresources?.push({ subresource: r.name.slice(slash + 1), responseKind: kindOf(r.kind), verbs: [...r.verbs] });
  }
  return out;
}

/**
 * Aggregated discovery (apidiscovery.k8s.io v2 or v2beta1, the same fields
 * in both): every served group, preferred version first, with its resources.
 * Freshness is always Current: the document is built from the listing in
 * force, the one the per-version documents and the metric reads use.
 */
export function apiGroupDiscoveryList(version: AggregatedDiscoveryVersion, metrics: MetricListing, resourceMetrics = false): unknown {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: servedGroups(resourceMetrics).map((g) => ({
      metadata: { name: g.name },
      versions: g.versions.map((v) => ({ version: v, resources: resourceDiscovery(apiResources(g.name, metrics)), freshness: 'Current' })),
    })),
  };
}
