// Where each workload kind keeps its pod spec, as JSON Pointer segments, and
// which labels identify the workload for policy selectors.
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

export interface Workload {
  readonly kind: WorkloadKind;
  readonly podSpec: Record<string, unknown>;
  readonly podSpecPath: readonly string[];
  /** The workload's labels with its pod template's labels over them. */
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export type WorkloadResult = { readonly ok: true; readonly workload: Workload } | { readonly ok: false; readonly reason: string; readonly unknownKind?: boolean };

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function at(obj: unknown, path: readonly string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

function stringMap(v: unknown): Record<string, string> {
  if (!isObject(v)) return {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

/** Finds the pod spec of an admitted object, or says why it cannot. */
export function locateWorkload(kind: KindRef, object: unknown): WorkloadResult {
  const entry = POD_SPEC_PATHS[`${kind.group}/${kind.kind}`];
  if (!entry) return { ok: false, unknownKind: true, reason: `kind ${kind.group ? `${kind.group}/` : ''}${kind.version}/${kind.kind} is not a workload this webhook defaults` };
  if (!isObject(object)) return { ok: false, reason: 'the request has no object' };
  const podSpec = at(object, entry.path);
  if (!isObject(podSpec)) return { ok: false, reason: `the object has no pod spec at /${entry.path.join('/')}` };
  const templatePath = entry.path.slice(0, -1);
  const templateLabels = templatePath.length > 0 ? stringMap(at(object, [...templatePath, 'metadata', 'labels'])) : {};
  return {
    ok: true,
    workload: {
      kind: entry.kind,
      podSpec,
      podSpecPath: entry.path,
      labels: { ...stringMap(at(object, ['metadata', 'labels'])), ...templateLabels },
      annotations: stringMap(at(object, ['metadata', 'annotations'])),
    },
  };
}
