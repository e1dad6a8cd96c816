// Samples of the cpu and memory queries turned into pod and node usage, as
// metrics-server reports it. Pure, so every rule of what is reported and
// what is left out is covered by table tests:
//
// - a pod is reported only when every container that has a value for one
//   resource has a value for the other; nothing is filled with zeros
//   (prometheus-adapter fills 0), so the HPA sees the pod as missing rather
//   than idle;
// - series whose container label is empty (the pod's cgroup total) or `POD`
//   (the pause container) are not containers, so a query without
//   `container!=""` does not count a pod twice;
// - NaN, ±Inf and negative values are no usage: the container lacks that
//   resource;
// - a node is reported only with both values; one without is left out of a
//   list rather than failing it (prometheus-adapter's "missing CPU for node").
import { formatBytes, formatCores, NonFiniteValueError, type UsageQuantity } from '../k8s/quantity.js';
import { rangeSecondsOf } from '../rules/promql.js';
import { USAGE_RESOURCES, type ContainerLabels, type UsageResource } from '../rules/resource-query.js';
import type { ContainerUsage, NodeUsage, PodUsage } from './metrics-api-provider.js';
import type { ObjectRef } from './objects/types.js';
import type { Sample } from './prometheus.js';

/** A value that could not be reported as it came. */
export interface ValueProblem {
  /** `namespace/pod` or the node name. */
  readonly object: string;
  readonly container?: string;
  readonly resource: UsageResource;
  readonly value: number;
  /** `left out` for NaN, ±Inf and negative values; `capped` for values beyond an int64 MilliValue. */
  readonly outcome: 'left out' | 'capped';
}

export interface Assembly<T> {
  readonly items: T[];
  /** Why each object asked for and not reported is missing, by `namespace/pod` or node name. */
  readonly missing: ReadonlyMap<string, string>;
  readonly problems: readonly ValueProblem[];
}

export interface ResourceSamples<L> {
  readonly samples: readonly Sample[];
  /** The labels its samples are read by. */
  readonly labels: L;
}

/**
 * The window a pod's or node's values cover: the range of the cpu query
 * (CPU is the rate that needs one), else of the memory query, else the
 * configured window. A query whose range selectors disagree has no single
 * range (rangeSecondsOf), so it falls back too.
 */
export function usageWindowSeconds(cpuQuery: string, memoryQuery: string, configuredSeconds: number): number {
  return rangeSecondsOf(cpuQuery) ?? rangeSecondsOf(memoryQuery) ?? configuredSeconds;
}

const FORMAT: Readonly<Record<UsageResource, (value: number) => UsageQuantity>> = { cpu: formatCores, memory: formatBytes };

type Reading = { readonly text: string } | { readonly problem: string };

/** A sample's value as usage text, or why it is none. */
function read(resource: UsageResource, value: number, problems: ValueProblem[], where: Omit<ValueProblem, 'resource' | 'value' | 'outcome'>): Reading {
  if (value < 0 || Number.isNaN(value)) {
    problems.push({ ...where, resource, value, outcome: 'left out' });
    return { problem: `its ${resource} value ${value} is not a usage` };
  }
  try {
    const { text, capped } = FORMAT[resource](value);
    if (capped) problems.push({ ...where, resource, value, outcome: 'capped' });
    return { text };
  } catch (e) {
    if (!(e instanceof NonFiniteValueError)) throw e;
    problems.push({ ...where, resource, value, outcome: 'left out' });
    return { problem: `its ${resource} value ${value} is not a finite number` };
  }
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export interface PodAssemblyInput {
  /** The pods asked for, with their labels. */
  readonly pods: readonly ObjectRef[];
  /** The namespace asked for; samples without a namespace label belong to it. Undefined for every namespace. */
  readonly namespace?: string;
  readonly cpu: ResourceSamples<ContainerLabels>;
  readonly memory: ResourceSamples<ContainerLabels>;
  readonly windowSeconds: number;
}

interface ContainerReadings {
  cpu?: Reading;
  memory?: Reading;
}

interface PodReadings {
  readonly pod: ObjectRef;
  readonly namespace: string;
  readonly containers: Map<string, ContainerReadings>;
  earliestMs: number;
}

/** Not containers: the pod's cgroup total has no container name, and `POD` is the pause container. */
export function isContainerName(name: string | undefined): name is string {
  return name !== undefined && name !== '' && name !== 'POD';
}

export function assemblePodUsage(input: PodAssemblyInput): Assembly<PodUsage> {
  const problems: ValueProblem[] = [];
  const byKey = new Map<string, PodReadings>();
  for (const pod of input.pods) {
    const namespace = pod.namespace ?? input.namespace ?? '';
    byKey.set(`${namespace}/${pod.name}`, { pod, namespace, containers: new Map(), earliestMs: Infinity });
  }
  for (const resource of USAGE_RESOURCES) {
    const { samples, labels } = input[resource];
    for (const s of samples) {
      const name = s.labels[labels.pod];
      const namespace = (labels.namespace !== undefined ? s.labels[labels.namespace] : undefined) ?? input.namespace;
      const container = s.labels[labels.container];
      if (name === undefined || namespace === undefined || !isContainerName(container)) continue;
      const key = `${namespace}/${name}`;
      const pod = byKey.get(key);
      if (!pod) continue;
      let readings = pod.containers.get(container);
      if (!readings) {
        readings = {};
        pod.containers.set(container, readings);
      }
      // The queries group by container, so a second sample is a rule's own doing; the first stands.
      if (readings[resource] !== undefined) continue;
      readings[resource] = read(resource, s.value, problems, { object: key, container });
      if ('text' in readings[resource]) pod.earliestMs = Math.min(pod.earliestMs, s.timestampMs);
    }
  }
  const items: PodUsage[] = [];
  const missing = new Map<string, string>();
  const sorted = [...byKey.entries()].sort(([, a], [, b]) => compare(a.namespace, b.namespace) || compare(a.pod.name, b.pod.name));
  for (const [key, { pod, namespace, containers, earliestMs }] of sorted) {
    const reason = missingReason(containers);
    if (reason !== undefined) {
      missing.set(key, reason);
      continue;
    }
    const usage: ContainerUsage[] = [];
    for (const [name, r] of containers) usage.push({ name, usage: { cpu: (r.cpu as { text: string }).text, memory: (r.memory as { text: string }).text } });
    usage.sort((a, b) => compare(a.name, b.name));
    items.push({ name: pod.name, namespace, labels: pod.labels, timestamp: new Date(earliestMs), windowSeconds: input.windowSeconds, containers: usage });
  }
  return { items, missing, problems };
}

/** Why a pod with these readings is not reported, or undefined when it is. */
function missingReason(containers: ReadonlyMap<string, ContainerReadings>): string | undefined {
  if (containers.size === 0) return 'the queries returned no cpu or memory value for any of its containers';
  for (const [name, r] of [...containers].sort(([a], [b]) => compare(a, b))) {
    for (const resource of USAGE_RESOURCES) {
      const reading = r[resource];
      if (reading === undefined) return `container ${JSON.stringify(name)} has no ${resource} value`;
      if ('problem' in reading) return `container ${JSON.stringify(name)}: ${reading.problem}`;
    }
  }
  return undefined;
}

export interface NodeAssemblyInput {
  readonly nodes: readonly ObjectRef[];
  /** Labels: the label naming the node in each query's samples (`node`, or `instance` where it is mapped to nodes). */
  readonly cpu: ResourceSamples<string>;
  readonly memory: ResourceSamples<string>;
  readonly windowSeconds: number;
}

export function assembleNodeUsage(input: NodeAssemblyInput): Assembly<NodeUsage> {
  const problems: ValueProblem[] = [];
  const wanted = new Set(input.nodes.map((n) => n.name));
  const firsts: Record<UsageResource, Map<string, Sample>> = { cpu: new Map(), memory: new Map() };
  for (const resource of USAGE_RESOURCES) {
    const { samples, labels: label } = input[resource];
    for (const s of samples) {
      const name = s.labels[label];
      if (name !== undefined && wanted.has(name) && !firsts[resource].has(name)) firsts[resource].set(name, s);
    }
  }
  const items: NodeUsage[] = [];
  const missing = new Map<string, string>();
  for (const node of [...input.nodes].sort((a, b) => compare(a.name, b.name))) {
    const texts: Partial<Record<UsageResource, string>> = {};
    let earliestMs = Infinity;
    let reason: string | undefined;
    for (const resource of USAGE_RESOURCES) {
      const s = firsts[resource].get(node.name);
      if (!s) {
        reason ??= `the ${resource} query returned no value for it`;
        continue;
      }
      const reading = read(resource, s.value, problems, { object: node.name });
      if ('problem' in reading) {
        reason ??= reading.problem;
        continue;
      }
      texts[resource] = reading.text;
      earliestMs = Math.min(earliestMs, s.timestampMs);
    }
    if (reason !== undefined || texts.cpu === undefined || texts.memory === undefined) {
      missing.set(node.name, reason ?? 'no usage');
      continue;
    }
    items.push({ name: node.name, labels: node.labels, timestamp: new Date(earliestMs), windowSeconds: input.windowSeconds, usage: { cpu: texts.cpu, memory: texts.memory } });
  }
  return { items, missing, problems };
}
