// Computing the JSON Patch that fills in missing requests. It only adds
// keys that are absent, never changes a value that is there, and never
// produces an object the API server would reject: a request never exceeds
// its limit, and extended and hugepages resources are never touched.
import { DEFAULT_RESOURCES, resolveDefaults, type Amounts, type DefaultResource, type DefaultsPolicy, type ResolvedDefaults } from '../rules/defaults.js';
import { compareQuantities, formatCanonical, isNonNegative, minQuantity, multiplyQuantity, parseQuantity, QuantityError, tryParseQuantity, type Quantity } from '../k8s/quantity.js';
import type { Container, ContainerList, ResourceMaps, Workload } from './workloads.js';

export type { ContainerList } from './workloads.js';

export interface JsonPatchOp {
  readonly op: 'add';
  readonly path: string;
  readonly value: unknown;
}

export interface AddedValue {
  readonly container: string;
  readonly list: ContainerList;
  readonly field: 'requests' | 'limits';
  readonly resource: DefaultResource;
  readonly value: string;
  /** The policy entry that chose the value. */
  readonly entry: string;
}

export interface PatchResult {
  readonly ops: JsonPatchOp[];
  readonly added: AddedValue[];
  /** Things left alone on purpose, for logs and warnings. */
  readonly notes: string[];
}

/** RFC 6901: `~` first, then `/`. */
export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(segments: readonly (string | number)[]): string {
  return segments.map((s) => `/${escapePointer(String(s))}`).join('');
}

/**
 * Restartable init containers (native sidecars) count towards the HPA's
 * utilization like regular containers, so they are always covered.
 */
function isNativeSidecar(c: Container): boolean {
  return c.restartPolicy === 'Always';
}

interface PatchInput {
  readonly workload: Workload;
  readonly namespace: string;
  readonly policy: DefaultsPolicy;
}

function hasAnyDefault(resolved: ResolvedDefaults): boolean {
  return Object.keys(resolved.requests).length > 0 || Object.keys(resolved.limits).length > 0 || Object.keys(resolved.limitRatio).length > 0;
}

export function computeDefaultsPatch(input: PatchInput): PatchResult {
  const { workload, namespace, policy } = input;
  const ops: JsonPatchOp[] = [];
  const added: AddedValue[] = [];
  const notes: string[] = [];
  // With pod-level resources (KEP-2837) the HPA reads those, and the API server rejects container
  // requests that add up to more than them: a resource the pod sets is left to the pod.
  const podLevel = new Set<string>([...Object.keys(workload.podResources?.requests ?? {}), ...Object.keys(workload.podResources?.limits ?? {})]);
  for (const c of workload.containers) {
    const resolved = resolveDefaults(policy, { namespace, kind: workload.kind, workloadLabels: workload.labels, container: c.name });
    if (c.list === 'initContainers' && !isNativeSidecar(c) && !resolved.primary?.initContainers) continue;
    // A container policy leaves alone (an `off` entry) gets no warnings about its values either.
    if (!hasAnyDefault(resolved)) continue;
    const base = [...workload.podSpecPath, c.list, c.index];
    const result = containerPatch(c, base, resolved, podLevel);
    for (const a of result.added) added.push({ ...a, container: c.name, list: c.list });
    ops.push(...result.ops);
    notes.push(...result.notes.map((n) => `container ${c.name}: ${n}`));
  }
  return { ops, added, notes };
}

/**
 * A container's own cpu, memory and ephemeral-storage amounts, or what makes
 * one of them invalid. The API server rejects a request or limit that does
 * not parse, or is negative (k8s.io/kubernetes pkg/apis/core/validation:
 * ValidateResourceQuantityValue calls ValidateNonnegativeQuantity), so the
 * container cannot be admitted as it is; a default computed from such a
 * value (the minimum of a default and a negative limit) would be negative too.
 */
function existingAmounts(resources: ResourceMaps | undefined): { readonly requests: Amounts; readonly limits: Amounts } | { readonly invalid: string } {
  const out = { requests: {} as Amounts, limits: {} as Amounts };
  for (const field of ['requests', 'limits'] as const) {
    const map = resources?.[field] ?? {};
    for (const r of DEFAULT_RESOURCES) {
      if (!Object.prototype.hasOwnProperty.call(map, r)) continue;
      const value = map[r];
      const quantity = tryParseQuantity(value);
      if (!quantity) return { invalid: `resources.${field}[${r}] ${JSON.stringify(value)} is not a quantity` };
      if (!isNonNegative(quantity)) return { invalid: `resources.${field}[${r}] ${JSON.stringify(value)} is negative` };
      out[field][r] = quantity;
    }
  }
  return out;
}

/**
 * request × ratio. Memory and storage are rounded up to whole bytes, since
 * `147639500800m` of memory is valid but unreadable.
 */
function scaledLimit(request: Quantity, ratio: number, resource: DefaultResource): Quantity {
  const product = multiplyQuantity(request, ratio);
  if (resource === 'cpu' || product.nano % 1_000_000_000n === 0n) return product;
  const bytes = (product.nano + 999_999_999n) / 1_000_000_000n;
  return parseQuantity(formatCanonical(bytes * 1_000_000_000n, product.format === 'BinarySI' ? 'BinarySI' : 'DecimalSI'));
}

interface ContainerPatch {
  readonly ops: JsonPatchOp[];
  readonly added: Omit<AddedValue, 'container' | 'list'>[];
  readonly notes: string[];
}

function containerPatch(c: Container, base: readonly (string | number)[], resolved: ResolvedDefaults, podLevel: ReadonlySet<string>): ContainerPatch {
  const notes: string[] = [];
  const added: Omit<AddedValue, 'container' | 'list'>[] = [];
  const existing = existingAmounts(c.resources);
  if ('invalid' in existing) return { ops: [], added, notes: [`${existing.invalid}; container left alone`] };
  const newRequests: Record<string, string> = {};
  const newLimits: Record<string, string> = {};

  for (const r of DEFAULT_RESOURCES) {
    if (podLevel.has(r)) continue;
    const limit = existing.limits[r];
    let request = existing.requests[r];
    const wanted = resolved.requests[r];
    if (!request && wanted) {
      // With a limit and no request, Kubernetes would default the request to
      // the limit; a smaller default is fine, a larger one would be rejected.
      const chosen = limit ? minQuantity(wanted.quantity, limit) : wanted.quantity;
      newRequests[r] = chosen.text;
      request = chosen;
      added.push({ field: 'requests', resource: r, value: chosen.text, entry: wanted.from.name });
    }
    if (limit) continue;
    const explicit = resolved.limits[r];
    const ratio = resolved.limitRatio[r];
    let newLimit: Quantity | undefined;
    if (explicit) newLimit = explicit.quantity;
    else if (ratio && request) {
      // An absurd request (1e999) can scale past what a quantity holds; a review must not throw on it.
      try {
        newLimit = scaledLimit(request, ratio.ratio, r);
      } catch (e) {
        if (!(e instanceof QuantityError)) throw e;
        notes.push(`requests.${r} ${request.text} × ${ratio.ratio} is too large; no limit added`);
        continue;
      }
    }
    if (!newLimit) continue;
    if (request && compareQuantities(request, newLimit) > 0) {
      notes.push(`limit ${newLimit.text} for ${r} is below the request ${request.text}; no limit added`);
      continue;
    }
    newLimits[r] = newLimit.text;
    added.push({ field: 'limits', resource: r, value: newLimit.text, entry: (explicit ?? ratio)?.from.name ?? '' });
  }

  const ops: JsonPatchOp[] = [];
  const hasNew = Object.keys(newRequests).length > 0 || Object.keys(newLimits).length > 0;
  if (!hasNew) return { ops, added, notes };
  if (!c.resources) {
    // `add` on a missing member creates it; build the whole map at once.
    const value: Record<string, unknown> = {};
    if (Object.keys(newRequests).length) value.requests = newRequests;
    if (Object.keys(newLimits).length) value.limits = newLimits;
    ops.push({ op: 'add', path: pointer([...base, 'resources']), value });
    return { ops, added, notes };
  }
  for (const [field, values, present] of [
    ['requests', newRequests, c.resources.requests],
    ['limits', newLimits, c.resources.limits],
  ] as const) {
    if (Object.keys(values).length === 0) continue;
    if (!present) {
      ops.push({ op: 'add', path: pointer([...base, 'resources', field]), value: values });
    } else {
      // `add` on an existing map would replace it and drop the keys already there: add key by key.
      for (const [k, v] of Object.entries(values)) ops.push({ op: 'add', path: pointer([...base, 'resources', field, k]), value: v });
    }
  }
  return { ops, added, notes };
}
