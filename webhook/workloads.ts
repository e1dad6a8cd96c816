// Where each workload kind keeps its pod spec, and the parts of an admitted
// object the webhook reads, with their JSON types checked. The API server
// sends only objects it has decoded into its own types, so a member of the
// wrong type means the sender is something else; the object is then left
// unchanged rather than guessed at, and the reason names the field the way
// Kubernetes names fields (`spec.template.spec.containers[0].resources`).
import type { WorkloadKind } from '../rules/defaults.js';

export interface KindRef {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/** Kinds the webhook mutates, with the path of their pod spec. */
const POD_SPEC_PATHS: Readonly<Record<string, { readonly kind: WorkloadKind; readonly path: readonly string[] }>> = {
  'apps/Deployment': { kind: 'Deployment', path: ['spec', 'template', 'spec'] },
  'apps/StatefulSet': { kind: 'StatefulSet', path: ['spec', 'template', 'spec'] },
  'apps/DaemonSet': { kind: 'DaemonSet', path: ['spec', 'template', 'spec'] },
  'apps/ReplicaSet': { kind: 'ReplicaSet', path: ['spec', 'template', 'spec'] },
  'batch/Job': { kind: 'Job', path: ['spec', 'template', 'spec'] },
  'batch/CronJob': { kind: 'CronJob', path: ['spec', 'jobTemplate', 'spec', 'template', 'spec'] },
  '/Pod': { kind: 'Pod', path: ['spec'] },
};

export type ContainerList = 'containers' | 'initContainers';

/** A requests or limits map: quantities are JSON strings or numbers (resource.Quantity's UnmarshalJSON). */
type QuantityMap = Readonly<Record<string, string | number>>;

export interface ResourceMaps {
  /** Undefined when absent or null. */
  readonly requests?: QuantityMap;
  /** Undefined when absent or null. */
  readonly limits?: QuantityMap;
}

export interface Container {
  readonly list: ContainerList;
  readonly index: number;
  readonly name: string;
  readonly restartPolicy?: string;
  /** Undefined when absent or null. */
  readonly resources?: ResourceMaps;
}

export interface Workload {
  readonly kind: WorkloadKind;
  readonly podSpecPath: readonly string[];
  /** initContainers, then containers, each in the order received. */
  readonly containers: readonly Container[];
  /** Pod-level resources (KEP-2837); undefined when absent or null. */
  readonly podResources?: ResourceMaps;
  /** The workload's own labels. */
  readonly ownLabels: Readonly<Record<string, string>>;
  /** The workload's labels with its pod template's labels over them. */
  readonly labels: Readonly<Record<string, string>>;
  /** The workload's own annotations; undefined when absent or null. */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Whether the object has metadata (absent or null: no). */
  readonly hasMetadata: boolean;
}

type WorkloadResult = { readonly ok: true; readonly workload: Workload } | { readonly ok: false; readonly reason: string; readonly unknownKind?: boolean };

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Malformed extends Error {}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  return typeof v;
}

function malformed(field: string, found: unknown, expected: string): Malformed {
  return new Malformed(found === undefined ? `${field} is missing` : `${field} is ${jsonType(found)}, not ${expected}`);
}

// Go's encoding/json decodes null into a nil map, slice or pointer and leaves
// a struct at its zero value, so for an optional member null means absent.
function optionalObject(v: unknown, field: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw malformed(field, v, 'an object');
  return v;
}

/** Labels and annotations: map[string]string. */
function stringMap(v: unknown, field: string): Record<string, string> | undefined {
  const map = optionalObject(v, field);
  if (!map) return undefined;
  for (const [k, value] of Object.entries(map)) if (typeof value !== 'string') throw malformed(`${field}[${k}]`, value, 'a string');
  return map as Record<string, string>;
}

function quantityMap(v: unknown, field: string): QuantityMap | undefined {
  const map = optionalObject(v, field);
  if (!map) return undefined;
  for (const [k, value] of Object.entries(map)) if (typeof value !== 'string' && typeof value !== 'number') throw malformed(`${field}[${k}]`, value, 'a quantity');
  return map as QuantityMap;
}

function resourceMaps(v: unknown, field: string): ResourceMaps | undefined {
  const map = optionalObject(v, field);
  if (!map) return undefined;
  return { requests: quantityMap(map.requests, `${field}.requests`), limits: quantityMap(map.limits, `${field}.limits`) };
}

function container(v: unknown, list: ContainerList, index: number, field: string): Container {
  if (!isObject(v)) throw malformed(field, v, 'an object');
  if (typeof v.name !== 'string') throw malformed(`${field}.name`, v.name, 'a string');
  const restartPolicy = v.restartPolicy;
  if (restartPolicy !== undefined && restartPolicy !== null && typeof restartPolicy !== 'string') throw malformed(`${field}.restartPolicy`, restartPolicy, 'a string');
  return { list, index, name: v.name, restartPolicy: restartPolicy ?? undefined, resources: resourceMaps(v.resources, `${field}.resources`) };
}

function containers(podSpec: Record<string, unknown>, list: ContainerList, field: string): Container[] {
  const v = podSpec[list];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw malformed(`${field}.${list}`, v, 'a list');
  return v.map((c: unknown, i) => container(c, list, i, `${field}.${list}[${i}]`));
}

/** Finds the pod spec of an admitted object and reads what defaulting needs, or says why it cannot. */
export function locateWorkload(kind: KindRef, object: unknown): WorkloadResult {
  const entry = POD_SPEC_PATHS[`${kind.group}/${kind.kind}`];
  if (!entry) return { ok: false, unknownKind: true, reason: `kind ${kind.group ? `${kind.group}/` : ''}${kind.version}/${kind.kind} is not a workload this webhook defaults` };
  if (!isObject(object)) return { ok: false, reason: 'the request has no object' };
  try {
    const metadata = optionalObject(object.metadata, 'metadata');
    const ownLabels = stringMap(metadata?.labels, 'metadata.labels') ?? {};
    const annotations = stringMap(metadata?.annotations, 'metadata.annotations');
    let node: Record<string, unknown> = object;
    let template: Record<string, unknown> | undefined;
    for (const [i, segment] of entry.path.entries()) {
      const field = entry.path.slice(0, i + 1).join('.');
      const next = optionalObject(node[segment], field);
      if (!next) return { ok: false, reason: `the object has no pod spec at ${entry.path.join('.')}` };
      if (i === entry.path.length - 2) template = next;
      node = next;
    }
    const templateField = entry.path.slice(0, -1).join('.');
    const templateMeta = template ? optionalObject(template.metadata, `${templateField}.metadata`) : undefined;
    const templateLabels = stringMap(templateMeta?.labels, `${templateField}.metadata.labels`) ?? {};
    const podSpecField = entry.path.join('.');
    return {
      ok: true,
      workload: {
        kind: entry.kind,
        podSpecPath: entry.path,
        containers: [...containers(node, 'initContainers', podSpecField), ...containers(node, 'containers', podSpecField)],
        podResources: resourceMaps(node.resources, `${podSpecField}.resources`),
        ownLabels,
        labels: { ...ownLabels, ...templateLabels },
        annotations,
        hasMetadata: metadata !== undefined,
      },
    };
  } catch (e) {
    if (e instanceof Malformed) return { ok: false, reason: e.message };
    throw e;
  }
}
