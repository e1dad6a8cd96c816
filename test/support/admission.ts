// Helpers for admission webhook tests: AdmissionReviews built around a
// workload, fixtures, and patches decoded and applied the way the API server
// applies them (a patch that does not apply is a failed request there).
import { readdirSync, readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import jsonpatch from 'fast-json-patch';
import { parse as parseYaml } from 'yaml';
import type { DefaultsPolicy } from '../../rules/defaults.js';
import { fixturePath } from './fixtures.js';
import { compileYaml, formatted } from './rules.js';

export type Json = Record<string, unknown>;

export interface JsonPatchOperation {
  readonly op: string;
  readonly path: string;
  readonly value?: unknown;
}

export interface ReviewOptions {
  readonly operation?: string;
  readonly uid?: string;
  readonly namespace?: string;
  readonly dryRun?: boolean;
  readonly apiVersion?: string;
  /** Overrides the kind derived from the object's apiVersion and kind. */
  readonly kind?: { group: string; version: string; kind: string };
  readonly oldObject?: unknown;
}

export const TEST_UID = '705ab4f5-6393-11e8-b7cc-42010a800002';

/** `apps/v1` + `Deployment` as the GroupVersionKind an AdmissionRequest carries. */
export function kindOf(object: Json): { group: string; version: string; kind: string } {
  const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
  const slash = apiVersion.indexOf('/');
  return {
    group: slash < 0 ? '' : apiVersion.slice(0, slash),
    version: slash < 0 ? apiVersion : apiVersion.slice(slash + 1),
    kind: typeof object.kind === 'string' ? object.kind : '',
  };
}

/** An AdmissionReview for one object, as the API server sends it. */
export function reviewOf(object: unknown, options: ReviewOptions = {}): Json {
  const obj = (object ?? {}) as Json;
  const meta = (typeof obj.metadata === 'object' && obj.metadata !== null ? obj.metadata : {}) as Json;
  const kind = options.kind ?? kindOf(obj);
  const operation = options.operation ?? 'CREATE';
  const namespace = options.namespace ?? (typeof meta.namespace === 'string' ? meta.namespace : 'default');
  return {
    apiVersion: options.apiVersion ?? 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: options.uid ?? TEST_UID,
      kind,
      resource: { group: kind.group, version: kind.version, resource: `${kind.kind.toLowerCase()}s` },
      requestKind: kind,
      ...(typeof meta.name === 'string' ? { name: meta.name } : {}),
      namespace,
      operation,
      userInfo: { username: 'system:admin', groups: ['system:masters', 'system:authenticated'] },
      object,
      oldObject: operation === 'UPDATE' ? (options.oldObject ?? object) : null,
      dryRun: options.dryRun ?? false,
    },
  };
}

/** A full v1 AdmissionReview around a bare AdmissionRequest (fixtures 01..03 are stored that way). */
export function wrapRequest(request: unknown, apiVersion = 'admission.k8s.io/v1'): Json {
  return { apiVersion, kind: 'AdmissionReview', request };
}

export function readAdmissionFixture(name: string): Json {
  return JSON.parse(readFileSync(fixturePath(`admission/${name}.json`), 'utf8')) as Json;
}

/** A fixture as a full AdmissionReview, wrapping the bare requests. */
export function admissionFixtureReview(name: string): Json {
  const raw = readAdmissionFixture(name);
  return raw.kind === 'AdmissionReview' ? raw : wrapRequest(raw);
}

export function readWorkloadFixture(name: string): Json {
  return parseYaml(readFileSync(fixturePath(`workloads/${name}.yaml`), 'utf8')) as Json;
}

export interface RealWorkload {
  /** The fixture it comes from. */
  readonly name: string;
  readonly kind: { group: string; version: string; kind: string };
  readonly object: Json;
}

/** Every workload object in the admission and workload fixtures, with the kind its AdmissionRequest names. */
export function realWorkloads(): RealWorkload[] {
  const out: RealWorkload[] = [];
  for (const file of readdirSync(fixturePath('admission'))
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const name = file.slice(0, -'.json'.length);
    const request = admissionFixtureReview(name).request as Json;
    const object = request.object;
    if (typeof object !== 'object' || object === null || Array.isArray(object)) continue;
    out.push({ name, kind: request.kind as RealWorkload['kind'], object: object as Json });
  }
  for (const file of readdirSync(fixturePath('workloads'))
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const name = file.slice(0, -'.yaml'.length);
    const object = readWorkloadFixture(name);
    out.push({ name, kind: kindOf(object), object });
  }
  return out;
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

/** The response of an answered review. */
export function responseOf(review: Json): Json {
  const response = review.response;
  assert.ok(typeof response === 'object' && response !== null, 'the review has a response');
  return response as Json;
}

/** The JSON Patch of a response, decoded; undefined when the response has none. */
export function decodePatch(response: Json): JsonPatchOperation[] | undefined {
  if (response.patch === undefined) {
    assert.equal(response.patchType, undefined, 'patchType without a patch');
    return undefined;
  }
  assert.equal(response.patchType, 'JSONPatch');
  assert.equal(typeof response.patch, 'string');
  const text = Buffer.from(response.patch as string, 'base64').toString('utf8');
  // Anything but canonical base64 would decode to something else on the API server.
  assert.equal(Buffer.from(text).toString('base64'), response.patch, 'the patch is canonical base64');
  const ops = JSON.parse(text) as unknown;
  assert.ok(Array.isArray(ops), 'the patch is a JSON array');
  return ops as JsonPatchOperation[];
}

/** Applies ops to a copy of doc, validating every operation; throws when one does not apply. */
export function applyOps<T>(doc: T, ops: readonly JsonPatchOperation[]): T {
  const result = jsonpatch.applyPatch(doc, ops as jsonpatch.Operation[], true, false);
  return result.newDocument;
}

/** The object the API server would store: the request's object with the response's patch applied. */
export function patchedObject(review: Json, answer: Json): Json {
  const object = (review.request as Json).object as Json;
  const ops = decodePatch(responseOf(answer));
  return ops ? applyOps(object, ops) : object;
}

/** The policy of a `defaults` section written as YAML; fails the test on load errors. */
export function policyOf(yaml: string): DefaultsPolicy {
  const result = compileYaml(yaml);
  assert.deepEqual(formatted(result).errors, []);
  assert.ok(result.ruleSet);
  return result.ruleSet.defaults;
}

/** The policy of a rule file without a `defaults` section: the built-in fallback alone. */
export const FALLBACK_POLICY: DefaultsPolicy = policyOf('rules: []\n');

/** Reads a path of plain keys and indices; undefined where it does not exist. */
export function dig(obj: unknown, ...path: (string | number)[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}
