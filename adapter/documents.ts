// The JSON documents of the metrics APIs, field for field as
// k8s.io/metrics defines them, so a Go client decodes them unchanged.
import type { Requirement } from '../rules/requirements.js';
import { formatGroupResource } from '../rules/resources.js';
import type { MetricRegistry } from './discovery.js';
import { CUSTOM_GROUP, EXTERNAL_GROUP, type CustomVersion } from './paths.js';
import type { ExternalMetricValue, ObjectMetricValue } from './provider.js';

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

export interface LabelSelectorDoc {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

/** metav1.LabelSelector for the metric selector echoed in v1beta1/v1beta2 items; null when empty. */
export function toLabelSelector(reqs: readonly Requirement[]): LabelSelectorDoc | null {
  if (reqs.length === 0) return null;
  const doc: LabelSelectorDoc = {};
  for (const r of reqs) {
    if (r.operator === '=' || r.operator === '==') {
      doc.matchLabels = { ...doc.matchLabels, [r.key]: r.values[0] ?? '' };
      continue;
    }
    const expr =
      r.operator === 'in'
        ? { key: r.key, operator: 'In' as const, values: [...r.values] }
        : r.operator === 'notin' || r.operator === '!='
          ? { key: r.key, operator: 'NotIn' as const, values: [...r.values] }
          : r.operator === 'exists'
            ? { key: r.key, operator: 'Exists' as const }
            : r.operator === '!'
              ? { key: r.key, operator: 'DoesNotExist' as const }
              : undefined;
    if (expr) doc.matchExpressions = [...(doc.matchExpressions ?? []), expr];
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

/** Discovery. The registry gives every metric of one resource the same scope (see buildRegistry). */
export function apiResourceList(group: string, version: string, registry: MetricRegistry | undefined): unknown {
  const resources: ApiResource[] = [];
  if (registry && group === CUSTOM_GROUP) {
    for (const m of registry.custom.values()) {
      resources.push({ name: `${formatGroupResource(m.resource)}/${m.metric}`, singularName: '', namespaced: m.namespaced, kind: 'MetricValueList', verbs: ['get'] });
    }
  } else if (registry && group === EXTERNAL_GROUP) {
    // External metrics are only served under namespaces/{ns}/, whatever the rule's scope.
    for (const m of registry.external.values()) {
      resources.push({ name: m.metric, singularName: '', namespaced: true, kind: 'ExternalMetricValueList', verbs: ['get'] });
    }
  }
  resources.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${group}/${version}`, resources };
}

function apiGroup(name: string, versions: readonly string[], preferred: string): unknown {
  return {
    name,
    versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${name}/${preferred}`, version: preferred },
  };
}

export function customApiGroup(): unknown {
  return { kind: 'APIGroup', apiVersion: 'v1', ...(apiGroup(CUSTOM_GROUP, ['v1beta2', 'v1beta1'], 'v1beta2') as object) };
}

export function externalApiGroup(): unknown {
  return { kind: 'APIGroup', apiVersion: 'v1', ...(apiGroup(EXTERNAL_GROUP, ['v1beta1'], 'v1beta1') as object) };
}

export function apiGroupList(): unknown {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [apiGroup(CUSTOM_GROUP, ['v1beta2', 'v1beta1'], 'v1beta2'), apiGroup(EXTERNAL_GROUP, ['v1beta1'], 'v1beta1')],
  };
}
