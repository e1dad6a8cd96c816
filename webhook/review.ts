// The admission review: a pure function from an AdmissionReview and the
// policy to the response. It fails open: anything it cannot default safely
// is allowed unchanged with a warning, and a malformed review is a 400.
import { isDeepStrictEqual } from 'node:util';
import type { DefaultsPolicy } from '../rules/defaults.js';
import { hpaWarnings, type HpaReviewOptions } from './hpa-review.js';
import { computeDefaultsPatch, pointer, type AddedValue, type JsonPatchOp } from './patch.js';
import { isObject, locateWorkload, type KindRef, type Workload } from './workloads.js';

const OPT_OUT_KEY = 'hpa-bridge.io/defaults';
export const RECORD_ANNOTATION = 'hpa-bridge.io/defaults-added';
// The AdmissionResponse API asks for warnings of at most 120 characters "if
// possible". The API server counts them in runes (code points): its warning
// recorder (k8s.io/apiserver pkg/endpoints/filters/warning.go) cuts each one
// to 256 runes once all warnings pass 4096, and drops a warning whose text has
// a control character (k8s.io/apimachinery pkg/util/net NewWarningHeader).
const MAX_WARNING = 120;
const MAX_WARNINGS = 10;

export class ReviewError extends Error {}

export interface ReviewOptions extends HpaReviewOptions {
  /** Labels and annotations of a namespace, for namespace opt-outs; undefined when unknown. */
  readonly namespaceMeta?: (namespace: string) => { labels: Record<string, string>; annotations: Record<string, string> } | undefined;
}

export interface ReviewOutcome {
  /** The AdmissionReview to send back. */
  readonly review: Record<string, unknown>;
  /** What happened, for the log line and metrics. */
  readonly summary: {
    readonly uid: string;
    readonly kind: string;
    readonly namespace: string;
    readonly name: string;
    readonly patched: boolean;
    readonly added: readonly AddedValue[];
    /** describeAdded(added), as recorded on the object. */
    readonly description?: string;
    readonly skipped?: string;
  };
}

const SUPPORTED_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'];

/**
 * A warning the API server passes on whole: control characters (Go's
 * unicode.IsControl, the Cc category) escaped, a lone surrogate (which Go's
 * JSON decoder turns into U+FFFD anyway) replaced, and at most MAX_WARNING
 * code points, so a cut never splits a surrogate pair.
 */
function warningText(s: string): string {
  const escaped = s.replace(/\p{Cc}/gu, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`).replace(/\p{Cs}/gu, '\uFFFD');
  const points = [...escaped];
  return points.length <= MAX_WARNING ? escaped : `${points.slice(0, MAX_WARNING - 1).join('')}…`;
}

function optedOut(meta: { labels?: Record<string, string>; annotations?: Record<string, string> } | undefined): boolean {
  return meta?.labels?.[OPT_OUT_KEY] === 'off' || meta?.annotations?.[OPT_OUT_KEY] === 'off';
}

function kindRef(v: unknown): KindRef | undefined {
  if (!isObject(v) || typeof v.kind !== 'string' || typeof v.version !== 'string') return undefined;
  return { group: typeof v.group === 'string' ? v.group : '', version: v.version, kind: v.kind };
}

/**
 * Reviews one AdmissionReview. Throws ReviewError (a 400) only when the
 * review itself is unusable: wrong apiVersion, no request, no uid.
 */
export function reviewAdmission(input: unknown, policy: DefaultsPolicy, options: ReviewOptions = {}): ReviewOutcome {
  if (!isObject(input)) throw new ReviewError('the body is not an AdmissionReview object');
  const apiVersion = input.apiVersion;
  if (typeof apiVersion !== 'string' || !SUPPORTED_VERSIONS.includes(apiVersion)) {
    throw new ReviewError(`apiVersion must be admission.k8s.io/v1 (or v1beta1), not ${JSON.stringify(apiVersion)}`);
  }
  if (input.kind !== 'AdmissionReview') throw new ReviewError(`kind must be AdmissionReview, not ${JSON.stringify(input.kind)}`);
  const request = input.request;
  if (!isObject(request)) throw new ReviewError('the AdmissionReview has no request');
  const uid = request.uid;
  if (typeof uid !== 'string' || uid === '') throw new ReviewError('the AdmissionReview request has no uid');

  const kind = kindRef(request.kind);
  const object = request.object;
  const meta = isObject(object) && isObject(object.metadata) ? object.metadata : {};
  const namespace = typeof request.namespace === 'string' ? request.namespace : typeof meta.namespace === 'string' ? meta.namespace : '';
  const name = typeof request.name === 'string' && request.name ? request.name : typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? `${meta.generateName}*` : '';
  const kindText = kind ? `${kind.group ? `${kind.group}/` : ''}${kind.version}/${kind.kind}` : 'unknown';
  const respond = (extra: Record<string, unknown>, summary: Partial<ReviewOutcome['summary']>): ReviewOutcome => ({
    review: { apiVersion, kind: 'AdmissionReview', response: { uid, allowed: true, ...extra } },
    summary: { uid, kind: kindText, namespace, name, patched: false, added: [], ...summary },
  });
  const allowWith = (reason: string, warn: boolean): ReviewOutcome => respond(warn ? { warnings: [warningText(`hpa-bridge: no defaults added: ${reason}`)] } : {}, { skipped: reason });

  const operation = request.operation;
  if (operation !== 'CREATE' && operation !== 'UPDATE') return allowWith(`operation ${String(operation)} is not defaulted`, false);
  if (!kind) return allowWith('the request has no kind', true);
  if (kind.kind === 'Pod' && operation === 'UPDATE') return allowWith('pod updates cannot change resources', false);
  if (kind.group === 'autoscaling' && kind.kind === 'HorizontalPodAutoscaler') {
    // autoscaling/v1 has no metrics list, only a cpu target: nothing to check.
    if (kind.version !== 'v2' && kind.version !== 'v2beta2') return allowWith(`autoscaling/${kind.version} HorizontalPodAutoscaler has no metrics to check`, false);
    const warnings = capWarnings(hpaWarnings(object, namespace, options).map((w) => warningText(`hpa-bridge: ${w}`)));
    return respond(warnings.length ? { warnings } : {}, { skipped: 'HorizontalPodAutoscalers get warnings only' });
  }

  const located = locateWorkload(kind, object);
  if (!located.ok) return allowWith(located.reason, true);
  const workload = located.workload;
  // workload.labels has the template's labels over the workload's, so the workload's own label is checked apart.
  if (workload.ownLabels[OPT_OUT_KEY] === 'off' || optedOut({ labels: workload.labels, annotations: workload.annotations })) {
    return allowWith(`${OPT_OUT_KEY}=off on the workload`, false);
  }
  if (namespace && optedOut(options.namespaceMeta?.(namespace))) return allowWith(`${OPT_OUT_KEY}=off on namespace ${namespace}`, false);

  const patch = computeDefaultsPatch({ workload, namespace, policy });
  options.templates?.remember(namespace, name, workload, patch.added);
  if (patch.ops.length === 0) {
    // Notes say what was malformed and left alone; the caller must hear of it even when nothing else changed.
    const warnings = warningsFor([], patch.notes);
    return respond(warnings.length ? { warnings } : {}, { skipped: patch.notes.length ? patch.notes.join('; ') : 'nothing missing' });
  }

  // A Job's pod template is immutable: on UPDATE, adding what the stored Job lacks would be rejected.
  // Giving back what a full replace dropped is still safe, and keeps the Job as stored.
  if (kind.group === 'batch' && kind.kind === 'Job' && operation === 'UPDATE' && !patch.ops.every((op) => isDeepStrictEqual(valueAt(request.oldObject, op.path), op.value))) {
    return allowWith('the pod template of a Job cannot change on UPDATE', false);
  }

  const description = describeAdded(patch.added);
  const ops: JsonPatchOp[] = [...patch.ops, ...recordOps(workload, description)];
  const warnings = warningsFor(patch.added, patch.notes);
  return respond(
    {
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(ops)).toString('base64'),
      ...(warnings.length ? { warnings } : {}),
    },
    { patched: true, added: patch.added, description },
  );
}

/** The value a JSON Pointer names in a document; undefined when it names nothing. */
function valueAt(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const raw of path.split('/').slice(1)) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!Object.prototype.hasOwnProperty.call(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** `app: requests cpu=100m memory=128Mi; sidecar: requests cpu=100m` */
function describeAdded(added: readonly AddedValue[]): string {
  const byContainer = new Map<string, string>();
  for (const a of added) {
    const key = `${a.container}: ${a.field}`;
    const before = byContainer.get(key);
    byContainer.set(key, `${before ?? key} ${a.resource}=${a.value}`);
  }
  return [...byContainer.values()].join('; ');
}

/**
 * Records what was added on the object itself, not its pod template, so
 * recording never triggers a rollout. A record that already says the same is
 * left as it is, so a review that only gives back what a full replace dropped
 * rewrites nothing else.
 */
function recordOps(workload: Workload, value: string): JsonPatchOp[] {
  if (workload.annotations?.[RECORD_ANNOTATION] === value) return [];
  if (!workload.hasMetadata) return [{ op: 'add', path: '/metadata', value: { annotations: { [RECORD_ANNOTATION]: value } } }];
  if (!workload.annotations) return [{ op: 'add', path: '/metadata/annotations', value: { [RECORD_ANNOTATION]: value } }];
  return [{ op: 'add', path: pointer(['metadata', 'annotations', RECORD_ANNOTATION]), value }];
}

function warningsFor(added: readonly AddedValue[], notes: readonly string[]): string[] {
  const byContainer = new Map<string, string[]>();
  for (const a of added) byContainer.set(a.container, [...(byContainer.get(a.container) ?? []), `${a.field === 'limits' ? 'limit ' : ''}${a.resource}=${a.value}`]);
  const warnings = [...byContainer.entries()].map(([c, v]) => warningText(`hpa-bridge: added to container ${c}: ${v.join(', ')}`));
  for (const n of notes) warnings.push(warningText(`hpa-bridge: ${n}`));
  return capWarnings(warnings);
}

function capWarnings(warnings: string[]): string[] {
  if (warnings.length > MAX_WARNINGS) return [...warnings.slice(0, MAX_WARNINGS - 1), `hpa-bridge: and ${warnings.length - MAX_WARNINGS + 1} more`];
  return warnings;
}
