// The JSON documents of metrics.k8s.io, field for field as k8s.io/metrics
// (pkg/apis/metrics/v1beta1/types.go; v1 has the same shapes) defines them,
// and the server-side Table that `kubectl get podmetrics` asks for, with the
// columns metrics-server's table.go serves.
import { formatGoSeconds } from '../k8s/go-duration.js';
import { formatCanonical, parseQuantity } from '../k8s/quantity.js';
import { USAGE_RESOURCES } from '../rules/resource-query.js';
import { formatTime } from './documents.js';
import { BadRequestError } from './errors.js';
import type { NodeUsage, PodUsage } from './metrics-api-provider.js';
import { RESOURCE_METRICS_GROUP, type ResourceMetricsVersion } from './paths.js';

/** metav1.ObjectMeta as metrics-server fills it: creationTimestamp is the time of the answer, labels only when there are any. */
function objectMeta(name: string, namespace: string | undefined, labels: Readonly<Record<string, string>>, now: Date): Record<string, unknown> {
  return {
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    creationTimestamp: formatTime(now),
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
  };
}

const typeMeta = (version: ResourceMetricsVersion, kind: string): { kind: string; apiVersion: string } => ({ kind, apiVersion: `${RESOURCE_METRICS_GROUP}/${version}` });

/** A PodMetrics without kind and apiVersion, as list items are written. */
function podItem(p: PodUsage, now: Date): Record<string, unknown> {
  return {
    metadata: objectMeta(p.name, p.namespace, p.labels, now),
    timestamp: formatTime(p.timestamp),
    window: formatGoSeconds(p.windowSeconds),
    containers: p.containers.map((c) => ({ name: c.name, usage: { cpu: c.usage.cpu, memory: c.usage.memory } })),
  };
}

function nodeItem(n: NodeUsage, now: Date): Record<string, unknown> {
  return {
    metadata: objectMeta(n.name, undefined, n.labels, now),
    timestamp: formatTime(n.timestamp),
    window: formatGoSeconds(n.windowSeconds),
    usage: { cpu: n.usage.cpu, memory: n.usage.memory },
  };
}

export function podMetrics(version: ResourceMetricsVersion, p: PodUsage, now: Date): unknown {
  return { ...typeMeta(version, 'PodMetrics'), ...podItem(p, now) };
}

export function podMetricsList(version: ResourceMetricsVersion, items: readonly PodUsage[], now: Date): unknown {
  return { ...typeMeta(version, 'PodMetricsList'), metadata: {}, items: items.map((p) => podItem(p, now)) };
}

export function nodeMetrics(version: ResourceMetricsVersion, n: NodeUsage, now: Date): unknown {
  return { ...typeMeta(version, 'NodeMetrics'), ...nodeItem(n, now) };
}

export function nodeMetricsList(version: ResourceMetricsVersion, items: readonly NodeUsage[], now: Date): unknown {
  return { ...typeMeta(version, 'NodeMetricsList'), metadata: {}, items: items.map((n) => nodeItem(n, now)) };
}

/** metav1.IncludeObjectPolicy: what each Table row carries of its object. */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** The `includeObject` parameter; apiserver's default for tables is Metadata. */
export function parseIncludeObject(value: string | null): IncludeObject {
  if (value === null || value === '' || value === 'Metadata') return 'Metadata';
  if (value === 'None' || value === 'Object') return value;
  throw new BadRequestError(`unrecognized includeObject value: ${JSON.stringify(value)}`);
}

export type TableVersion = 'v1' | 'v1beta1';

/** The sum of quantities, written as Quantity.Add leaves it: in the format of the first. */
function sumQuantities(texts: readonly string[]): string {
  const parsed = texts.map(parseQuantity);
  const nano = parsed.reduce((sum, q) => sum + q.nano, 0n);
  return formatCanonical(nano, parsed[0]?.format === 'BinarySI' ? 'BinarySI' : 'DecimalSI');
}

/**
 * metav1.Table of pod or node usage: columns Name, cpu, memory and Window
 * (metrics-server's table.go; a pod's cells are the sums over its
 * containers). The columns are there even for no rows, so kubectl prints
 * its "No resources found" rather than an empty header.
 */
export function usageTable(
  tableVersion: TableVersion,
  version: ResourceMetricsVersion,
  what: { readonly kind: 'pods'; readonly items: readonly PodUsage[] } | { readonly kind: 'nodes'; readonly items: readonly NodeUsage[] },
  includeObject: IncludeObject,
  now: Date,
): unknown {
  const columnDefinitions = [
    { name: 'Name', type: 'string', format: 'name', description: 'Name of the resource', priority: 0 },
    ...USAGE_RESOURCES.map((r) => ({ name: r, type: 'string', format: 'quantity', description: '', priority: 0 })),
    { name: 'Window', type: 'string', format: 'duration', description: '', priority: 0 },
  ];
  const row = (name: string, usage: readonly string[], windowSeconds: number, full: () => unknown): Record<string, unknown> => {
    const cells = [name, ...usage, formatGoSeconds(windowSeconds)];
    if (includeObject === 'None') return { cells };
    const object = full() as { metadata: unknown };
    // As apiserver's asTable: the object itself, or its metadata as a PartialObjectMetadata of the Table's version.
    if (includeObject === 'Object') return { cells, object };
    return { cells, object: { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${tableVersion}`, metadata: object.metadata } };
  };
  const rows =
    what.kind === 'pods'
      ? what.items.map((p) =>
          row(
            p.name,
            USAGE_RESOURCES.map((r) => sumQuantities(p.containers.map((c) => c.usage[r]))),
            p.windowSeconds,
            () => podMetrics(version, p, now),
          ),
        )
      : what.items.map((n) =>
          row(
            n.name,
            USAGE_RESOURCES.map((r) => n.usage[r]),
            n.windowSeconds,
            () => nodeMetrics(version, n, now),
          ),
        );
  return { kind: 'Table', apiVersion: `meta.k8s.io/${tableVersion}`, metadata: {}, columnDefinitions, rows };
}
