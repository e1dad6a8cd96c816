// A test double of kube-apiserver's mutating admission webhook dispatcher
// (k8s.io/apiserver pkg/admission/plugin/webhook/mutating/dispatcher.go), as
// an admission step for the Kubernetes API test double (setAdmission). For
// each webhook of a MutatingWebhookConfiguration whose rules match the
// request, in order, it:
//
// - builds an admission.k8s.io/v1 AdmissionReview as CreateAdmissionObjects
//   does (pkg/admission/plugin/webhook/request/admissionreview.go): uid,
//   kind, resource, requestKind, requestResource, name, namespace,
//   operation, userInfo, object, oldObject, dryRun, options;
// - POSTs it over HTTPS to the webhook's path with `?timeout=<n>s`,
//   verifying the serving certificate against clientConfig.caBundle and the
//   host name, within timeoutSeconds;
// - checks the answer as VerifyAdmissionResponse does (same apiVersion and
//   kind, the request's uid), collects its warnings, refuses on
//   allowed=false, and applies a JSONPatch;
// - on a failed call follows failurePolicy: Ignore goes on with the object
//   unchanged, Fail refuses with 500.
//
// Not modelled: namespaceSelector and objectSelector (every object matches),
// matchPolicy conversions (the rules must name the version requested),
// reinvocation, and the dry-run refusal for webhooks with side effects.
import { randomUUID } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { applyOps, decodePatch, type Json } from './admission.js';
import type { DoubleAdmission, DoubleAdmissionRequest, DoubleAdmissionResult } from './kube-api-double.js';

export interface WebhookRule {
  readonly apiGroups?: readonly string[];
  readonly apiVersions?: readonly string[];
  readonly resources?: readonly string[];
  readonly operations?: readonly string[];
  readonly scope?: string;
}

/** The fields of one admissionregistration.k8s.io/v1 MutatingWebhook the dispatcher reads. */
export interface MutatingWebhook {
  readonly name: string;
  readonly admissionReviewVersions: readonly string[];
  readonly clientConfig: { readonly service?: { readonly path?: string } };
  readonly rules: readonly WebhookRule[];
  readonly failurePolicy?: string;
  readonly timeoutSeconds?: number;
}

/** One call to a webhook, for tests to inspect. */
export interface WebhookCall {
  readonly webhook: string;
  readonly review: Json;
  /** The AdmissionReview the webhook answered; undefined when the call failed. */
  readonly answer?: Json;
  /** Why the call failed (connection, status, invalid answer or patch). */
  readonly error?: string;
}

export interface DispatcherOptions {
  /** Where the service the webhooks name is reached: `https://127.0.0.1:<port>`. */
  readonly serviceUrl: string;
  /** PEM CA bundle, as clientConfig.caBundle carries it. */
  readonly caBundle: string;
}

const matches = (list: readonly string[] | undefined, value: string): boolean => (list ?? []).some((v) => v === '*' || v === value);

function ruleMatches(rule: WebhookRule, r: DoubleAdmissionRequest): boolean {
  const scope = rule.scope ?? '*';
  if (scope === 'Namespaced' && r.namespace === undefined) return false;
  if (scope === 'Cluster' && r.namespace !== undefined) return false;
  return matches(rule.operations, r.operation) && matches(rule.apiGroups, r.resource.group) && matches(rule.apiVersions, r.resource.version) && matches(rule.resources, r.resource.resource);
}

/** The AdmissionReview kube-apiserver sends for a request. */
function reviewFor(r: DoubleAdmissionRequest, object: Json, uid: string): Json {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: r.kind,
      resource: r.resource,
      requestKind: r.kind,
      requestResource: r.resource,
      name: r.name,
      ...(r.namespace !== undefined ? { namespace: r.namespace } : {}),
      operation: r.operation,
      userInfo: r.userInfo,
      object,
      oldObject: r.oldObject ?? null,
      dryRun: r.dryRun,
      options: r.options,
    },
  };
}

/** POSTs `body` to `url`, verifying the server against `ca`; resolves with the parsed 2xx answer. */
function post(url: string, ca: string, body: string, timeoutMs: number): Promise<Json> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      { method: 'POST', ca, agent: false, timeout: timeoutMs, headers: { 'Content-Type': 'application/json', Accept: 'application/json, */*', 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          const code = res.statusCode ?? 0;
          if (code < 200 || code > 299) {
            reject(new Error(`the server answered ${code}: ${text}`));
            return;
          }
          try {
            resolve(JSON.parse(text) as Json);
          } catch {
            reject(new Error(`the answer is not JSON: ${text}`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export class MutatingWebhookDispatcher {
  /** Every call made, in order. */
  readonly calls: WebhookCall[] = [];

  constructor(
    private readonly webhooks: readonly MutatingWebhook[],
    private readonly options: DispatcherOptions,
  ) {
    for (const w of webhooks) {
      if (!w.admissionReviewVersions.includes('v1')) throw new Error(`webhook ${w.name} does not accept admission.k8s.io/v1, the only version this dispatcher sends`);
    }
  }

  /** The admission step for KubeApiDouble.setAdmission. */
  readonly admit: DoubleAdmission = async (r) => {
    let object = r.object as Json;
    const warnings: string[] = [];
    for (const w of this.webhooks) {
      if (!w.rules.some((rule) => ruleMatches(rule, r))) continue;
      const outcome = await this.call(w, r, object);
      warnings.push(...outcome.warnings);
      if (!outcome.allowed) return { ...outcome, warnings };
      object = outcome.object as Json;
    }
    return { allowed: true, object, warnings };
  };

  private async call(w: MutatingWebhook, r: DoubleAdmissionRequest, object: Json): Promise<DoubleAdmissionResult> {
    const uid = randomUUID();
    const review = reviewFor(r, object, uid);
    const timeoutSeconds = w.timeoutSeconds ?? 10;
    const url = `${this.options.serviceUrl}${w.clientConfig.service?.path ?? ''}?timeout=${timeoutSeconds}s`;
    let answer: Json | undefined;
    // Kept even when the patch then fails: the API server records warnings before it decodes the patch.
    let warnings: string[] = [];
    try {
      answer = await post(url, this.options.caBundle, JSON.stringify(review), timeoutSeconds * 1000);
      const response = answer.response as Json | undefined;
      if (answer.apiVersion !== 'admission.k8s.io/v1' || answer.kind !== 'AdmissionReview') {
        throw new Error(`expected admission.k8s.io/v1 AdmissionReview, got ${String(answer.apiVersion)} ${String(answer.kind)}`);
      }
      if (typeof response !== 'object' || response === null) throw new Error('the AdmissionReview has no response');
      if (response.uid !== uid) throw new Error(`expected response.uid=${uid}, got ${String(response.uid)}`);
      warnings = Array.isArray(response.warnings) ? response.warnings.filter((x): x is string => typeof x === 'string') : [];
      if (response.allowed !== true) {
        const result = (response.status ?? {}) as { code?: number; message?: string };
        this.calls.push({ webhook: w.name, review, answer });
        const message = `admission webhook "${w.name}" denied the request${result.message ? `: ${result.message}` : ' without explanation'}`;
        return { allowed: false, code: Math.max(result.code ?? 400, 400), message, warnings };
      }
      const ops = decodePatch(response);
      const patched = ops ? applyOps(structuredClone(object), ops) : object;
      this.calls.push({ webhook: w.name, review, answer });
      return { allowed: true, object: patched, warnings };
    } catch (e) {
      const error = (e as Error).message;
      this.calls.push({ webhook: w.name, review, ...(answer ? { answer } : {}), error });
      if (w.failurePolicy === 'Ignore') return { allowed: true, object, warnings };
      return { allowed: false, code: 500, message: `Internal error occurred: failed calling webhook "${w.name}": ${error}`, warnings };
    }
  }
}
