// Kubernetes objects as the API returns them (or as a manifest writes them)
// turned into the shapes hpa/ reads. Pure: a thrown ManifestError names the
// field that is missing or wrong, and the caller adds the file or object.
import { formatLabelSelector, labelSelectorAsRequirements, type LabelSelector } from '../k8s/label-selector.js';
import type { ConditionStatus, Container, HorizontalPodAutoscaler, HpaCondition, PodInfo, PodPhase } from '../hpa/index.js';

export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const objectAt = (v: unknown): Json => (isObject(v) ? v : {});
const stringAt = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** RFC 3339 time to ms; undefined when absent or unreadable. */
function timeAt(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

function labelsAt(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(objectAt(v))) if (typeof value === 'string') out[k] = value;
  return out;
}

/** The objects of a decoded document: itself, or the items of a List. */
export function objectsOf(doc: unknown): Json[] {
  if (!isObject(doc)) return [];
  if (Array.isArray(doc.items) && (doc.kind === 'List' || String(doc.kind).endsWith('List'))) return doc.items.filter(isObject);
  return [doc];
}

export function hpaFromManifest(obj: Json): HorizontalPodAutoscaler {
  if (obj.kind !== 'HorizontalPodAutoscaler') throw new ManifestError(`kind is ${JSON.stringify(obj.kind)}, not HorizontalPodAutoscaler`);
  const apiVersion = stringAt(obj.apiVersion);
  if (apiVersion !== 'autoscaling/v2') throw new ManifestError(`apiVersion is ${JSON.stringify(apiVersion)}; explain reads autoscaling/v2 (kubectl get hpa NAME -o yaml gives it)`);
  const meta = objectAt(obj.metadata);
  const spec = objectAt(obj.spec);
  if (typeof spec.maxReplicas !== 'number') throw new ManifestError('spec.maxReplicas is missing');
  const ref = objectAt(spec.scaleTargetRef);
  if (typeof ref.kind !== 'string' || typeof ref.name !== 'string') throw new ManifestError('spec.scaleTargetRef needs kind and name');
  const status = objectAt(obj.status);
  const conditions: HpaCondition[] = (Array.isArray(status.conditions) ? status.conditions : []).filter(isObject).map((c) => ({
    type: c.type as HpaCondition['type'],
    status: (stringAt(c.status) ?? 'Unknown') as ConditionStatus,
    reason: stringAt(c.reason) ?? '',
    message: stringAt(c.message) ?? '',
    lastTransitionTime: timeAt(c.lastTransitionTime) ?? 0,
  }));
  const lastScaleTime = timeAt(status.lastScaleTime);
  return {
    ...(stringAt(meta.name) === undefined ? {} : { name: stringAt(meta.name) }),
    ...(stringAt(meta.namespace) === undefined ? {} : { namespace: stringAt(meta.namespace) }),
    spec: spec as unknown as HorizontalPodAutoscaler['spec'],
    status: {
      ...(typeof status.currentReplicas === 'number' ? { currentReplicas: status.currentReplicas } : {}),
      ...(typeof status.desiredReplicas === 'number' ? { desiredReplicas: status.desiredReplicas } : {}),
      ...(lastScaleTime === undefined ? {} : { lastScaleTime }),
      conditions,
    },
  };
}

function containersAt(v: unknown): Container[] {
  return (Array.isArray(v) ? v : []).filter(isObject).map((c) => {
    const requests = objectAt(objectAt(c.resources).requests) as Record<string, string | number>;
    const restartPolicy = stringAt(c.restartPolicy);
    return { name: stringAt(c.name) ?? '', resources: { requests }, ...(restartPolicy === undefined ? {} : { restartPolicy }) };
  });
}

/** A pod, with its labels for the object source. */
export interface PodObject {
  readonly info: PodInfo;
  readonly labels: Readonly<Record<string, string>>;
}

export function podFromManifest(obj: Json): PodObject {
  if (obj.kind !== undefined && obj.kind !== 'Pod') throw new ManifestError(`kind is ${JSON.stringify(obj.kind)}, not Pod`);
  const meta = objectAt(obj.metadata);
  const name = stringAt(meta.name);
  if (name === undefined) throw new ManifestError('a pod has no metadata.name');
  const spec = objectAt(obj.spec);
  const status = objectAt(obj.status);
  const ready = (Array.isArray(status.conditions) ? status.conditions : []).filter(isObject).find((c) => c.type === 'Ready');
  const deletion = timeAt(meta.deletionTimestamp);
  const start = timeAt(status.startTime);
  const readyTime = ready === undefined ? undefined : timeAt(ready.lastTransitionTime);
  const podRequests = objectAt(objectAt(spec.resources).requests) as Record<string, string | number>;
  const info: PodInfo = {
    name,
    phase: (stringAt(status.phase) ?? 'Pending') as PodPhase,
    ...(deletion === undefined ? {} : { deletionTimestamp: deletion }),
    ...(start === undefined ? {} : { startTime: start }),
    ...(ready === undefined ? {} : { ready: { status: (stringAt(ready.status) ?? 'Unknown') as ConditionStatus, ...(readyTime === undefined ? {} : { lastTransitionTime: readyTime }) } }),
    containers: containersAt(spec.containers),
    initContainers: containersAt(spec.initContainers),
    ...(Object.keys(podRequests).length > 0 ? { resources: { requests: podRequests } } : {}),
  };
  return { info, labels: labelsAt(meta.labels) };
}

/** What explain needs of a scale target: its scale, selector and pod template. */
export interface WorkloadObject {
  readonly kind: string;
  readonly name: string;
  readonly specReplicas: number;
  readonly statusReplicas?: number;
  /** The selector as the scale subresource reports it (status.selector). */
  readonly selector: string;
  readonly templateLabels: Readonly<Record<string, string>>;
  readonly containers: readonly Container[];
  readonly initContainers: readonly Container[];
}

export function workloadFromManifest(obj: Json): WorkloadObject {
  const kind = stringAt(obj.kind);
  const name = stringAt(objectAt(obj.metadata).name);
  if (kind === undefined || name === undefined) throw new ManifestError('the workload needs kind and metadata.name');
  const spec = objectAt(obj.spec);
  const template = objectAt(spec.template);
  const podSpec = objectAt(template.spec);
  const status = objectAt(obj.status);
  const selector = isObject(spec.selector) ? formatLabelSelector(labelSelectorAsRequirements(spec.selector as LabelSelector)) : '';
  return {
    kind,
    name,
    specReplicas: typeof spec.replicas === 'number' ? spec.replicas : 1,
    ...(typeof status.replicas === 'number' ? { statusReplicas: status.replicas } : {}),
    selector,
    templateLabels: labelsAt(objectAt(template.metadata).labels),
    containers: containersAt(podSpec.containers),
    initContainers: containersAt(podSpec.initContainers),
  };
}

/**
 * A pod of the workload known only by name (from the object source): the
 * template's containers, running and ready since long before `now`, so
 * readiness plays no part. Pass --pods for their real state.
 */
export function podFromTemplate(workload: WorkloadObject, name: string, labels: Readonly<Record<string, string>>, now: number): PodObject {
  const long = now - 24 * 3600_000;
  return {
    info: { name, phase: 'Running', startTime: long, ready: { status: 'True', lastTransitionTime: long }, containers: workload.containers, initContainers: workload.initContainers },
    labels,
  };
}
