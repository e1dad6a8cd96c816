// Pods as the Kubernetes API returns them (for example V1Pod from
// @kubernetes/client-node, or parsed JSON) reduced to what the replica
// calculator reads.

import type { ConditionStatus, Container, PodInfo, PodPhase, Quantity } from './types.js';
import { HpaInputError } from './quantity.js';

type Time = Date | string | number;

interface KubernetesContainer {
  readonly name: string;
  readonly restartPolicy?: string;
  readonly resources?: { readonly requests?: Readonly<Record<string, Quantity>> };
}

/** The structural subset of core/v1 Pod that matters here. */
export interface KubernetesPod {
  readonly metadata?: { readonly name?: string; readonly deletionTimestamp?: Time | null };
  readonly spec?: {
    readonly containers?: readonly KubernetesContainer[];
    readonly initContainers?: readonly KubernetesContainer[];
    readonly resources?: { readonly requests?: Readonly<Record<string, Quantity>> };
  };
  readonly status?: {
    readonly phase?: string;
    readonly startTime?: Time | null;
    readonly conditions?: readonly {
      readonly type: string;
      readonly status: string;
      readonly lastTransitionTime?: Time | null;
    }[];
  };
}

function toMillis(time: Time, what: string): number {
  const ms = time instanceof Date ? time.getTime() : typeof time === 'number' ? time : Date.parse(time);
  if (!Number.isFinite(ms)) throw new HpaInputError(`${what}: ${String(time)} is not a time`);
  return ms;
}

const PHASES: ReadonlySet<string> = new Set(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']);

function container(c: KubernetesContainer): Container {
  return {
    name: c.name,
    ...(c.restartPolicy === undefined ? {} : { restartPolicy: c.restartPolicy }),
    ...(c.resources?.requests === undefined ? {} : { resources: { requests: c.resources.requests } }),
  };
}

/** A core/v1 Pod as the calculator's PodInfo. */
export function podInfoFromKubernetes(pod: KubernetesPod): PodInfo {
  const name = pod.metadata?.name;
  if (name === undefined || name === '') throw new HpaInputError('pod without metadata.name');
  const phase = pod.status?.phase ?? 'Unknown';
  if (!PHASES.has(phase)) throw new HpaInputError(`pod ${name}: unknown phase ${phase}`);
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  const deletion = pod.metadata?.deletionTimestamp;
  const start = pod.status?.startTime;
  const requests = pod.spec?.resources?.requests;
  return {
    name,
    phase: phase as PodPhase,
    ...(deletion === undefined || deletion === null
      ? {}
      : { deletionTimestamp: toMillis(deletion, `pod ${name} deletionTimestamp`) }),
    ...(start === undefined || start === null ? {} : { startTime: toMillis(start, `pod ${name} startTime`) }),
    ...(ready === undefined
      ? {}
      : {
          ready: {
            status: ready.status as ConditionStatus,
            ...(ready.lastTransitionTime === undefined || ready.lastTransitionTime === null
              ? {}
              : { lastTransitionTime: toMillis(ready.lastTransitionTime, `pod ${name} Ready lastTransitionTime`) }),
          },
        }),
    containers: (pod.spec?.containers ?? []).map(container),
    ...(pod.spec?.initContainers === undefined ? {} : { initContainers: pod.spec.initContainers.map(container) }),
    ...(requests === undefined ? {} : { resources: { requests } }),
  };
}
