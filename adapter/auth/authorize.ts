// Delegated authorization, as k8s.io/apiserver's
// DelegatingAuthorizationOptions builds it (pkg/server/options/
// authorization.go): a union of the always-allow-groups authorizer
// (system:masters) and the webhook authorizer, which asks kube-apiserver
// with a SubjectAccessReview (plugin/pkg/authorizer/webhook). Answers are
// cached by the full review spec: allowed ones for AllowCacheTTL, denied
// ones for DenyCacheTTL (10 s each by default); a failed call is not cached
// and never allows.
import { goQuote as q } from '../../k8s/go-strings.js';
import { CacheStore, LoadingCache } from '../cache.js';
import { ForbiddenError } from '../errors.js';
import { DEFAULT_RETRY_BACKOFF, postReview, type KubeApi, type RetryBackoff } from './kube-api.js';
import { MASTERS_GROUP, type Authorizer, type Clock, type Decision, type RequestAttributes, type UserInfo } from './types.js';

export interface SubjectAccessReviewSpec {
  readonly user?: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
  readonly resourceAttributes?: {
    readonly namespace?: string;
    readonly verb?: string;
    readonly group?: string;
    readonly version?: string;
    readonly resource?: string;
    readonly subresource?: string;
    readonly name?: string;
    readonly fieldSelector?: { readonly requirements: readonly object[] };
    readonly labelSelector?: { readonly requirements: readonly object[] };
  };
  readonly nonResourceAttributes?: { readonly path?: string; readonly verb?: string };
}

/** Go's encoding with omitempty: empty strings, lists and maps are left out. */
function omitEmpty<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === '') continue;
    if (Array.isArray(v) && v.length === 0) continue;
    out[k] = v;
  }
  return out as Partial<T>;
}

/** The SubjectAccessReview spec the webhook authorizer sends for a user and request. */
export function subjectAccessReviewSpec(user: UserInfo, attrs: RequestAttributes): SubjectAccessReviewSpec {
  // Extra keys sorted, as Go marshals maps; the spec doubles as the cache key.
  const extraKeys = Object.keys(user.extra).sort();
  const extra = extraKeys.length ? Object.fromEntries(extraKeys.map((k) => [k, [...(user.extra[k] ?? [])]])) : undefined;
  const subject = omitEmpty({ user: user.name, uid: user.uid, groups: [...user.groups] });
  if (!attrs.resourceRequest) {
    return { ...subject, ...(extra ? { extra } : {}), nonResourceAttributes: omitEmpty({ path: attrs.path, verb: attrs.verb }) };
  }
  return {
    ...subject,
    ...(extra ? { extra } : {}),
    resourceAttributes: {
      ...omitEmpty({
        namespace: attrs.namespace,
        verb: attrs.verb,
        group: attrs.group,
        version: attrs.version,
        resource: attrs.resource,
        subresource: attrs.subresource,
        name: attrs.name,
      }),
      ...(attrs.fieldSelector ? { fieldSelector: { requirements: attrs.fieldSelector } } : {}),
      ...(attrs.labelSelector ? { labelSelector: { requirements: attrs.labelSelector } } : {}),
    },
  };
}

/** The webhook authorizer skips caching when the request-controlled attributes are this long or longer. */
const MAX_CONTROLLED_ATTR_CACHE_SIZE = 10_000;

function shouldCache(attrs: RequestAttributes): boolean {
  const size = attrs.resourceRequest
    ? attrs.namespace.length + attrs.verb.length + attrs.group.length + attrs.version.length + attrs.resource.length + attrs.subresource.length + attrs.name.length + attrs.path.length
    : attrs.verb.length + attrs.path.length;
  return size < MAX_CONTROLLED_ATTR_CACHE_SIZE;
}

/** The SubjectAccessReview call failed or answered nonsense; the request must not proceed. */
export class AuthorizationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthorizationError';
  }
}

export interface DelegatingAuthorizerOptions {
  /**
   * Where SubjectAccessReviews go. Without one, as k8s.io/apiserver without
   * an authorization kubeconfig, only the always-allowed groups pass and
   * every other request has no opinion, which ends in Forbidden.
   */
  readonly client?: KubeApi;
  /** --authorization-webhook-cache-authorized-ttl; default 10 s. */
  readonly allowTtlMs?: number;
  /** --authorization-webhook-cache-unauthorized-ttl; default 10 s. */
  readonly denyTtlMs?: number;
  /** Groups allowed without asking; default system:masters (kube-apiserver allows them unconditionally anyway). */
  readonly alwaysAllowGroups?: readonly string[];
  /** Per SubjectAccessReview; default 10 s. */
  readonly timeoutMs?: number;
  readonly retry?: RetryBackoff;
  /** The cache's clock, for tests. */
  readonly now?: Clock;
  /** Bound on cached answers; default 8192, the webhook authorizer's LRU size. */
  readonly maxEntries?: number;
}

interface ReviewStatus {
  readonly allowed: boolean;
  readonly denied: boolean;
  readonly reason: string;
}

export class DelegatingAuthorizer implements Authorizer {
  private readonly cache: LoadingCache<ReviewStatus>;
  private readonly allowTtlMs: number;
  private readonly denyTtlMs: number;
  private readonly groups: ReadonlySet<string>;
  /** SubjectAccessReviews sent, for tests and metrics. */
  reviews = 0;

  constructor(private readonly options: DelegatingAuthorizerOptions) {
    this.allowTtlMs = options.allowTtlMs ?? 10_000;
    this.denyTtlMs = options.denyTtlMs ?? 10_000;
    this.cache = new LoadingCache({
      // Bounded by entries, apart from other caches, as the token cache (authenticate.ts).
      store: new CacheStore({ maxEntries: options.maxEntries ?? 8192, now: options.now }),
      namespace: 'subjectaccessreviews',
      ttlMs: (s) => (s.allowed ? this.allowTtlMs : this.denyTtlMs),
    });
    this.groups = new Set(options.alwaysAllowGroups ?? [MASTERS_GROUP]);
  }

  /** Throws AuthorizationError when kube-apiserver could not be asked. */
  async authorize(user: UserInfo, attrs: RequestAttributes): Promise<Decision> {
    if (user.groups.some((g) => this.groups.has(g))) return { allowed: true, reason: '' };
    if (!this.options.client) return { allowed: false, reason: '' };
    const spec = subjectAccessReviewSpec(user, attrs);
    const load = (): Promise<ReviewStatus> => this.review(spec);
    const status = shouldCache(attrs) ? await this.cache.get(JSON.stringify(spec), load) : await load();
    if (status.allowed && status.denied) throw new AuthorizationError('webhook subject access review returned both allow and deny response');
    // Denied and no opinion both end in Forbidden: the webhook is the last authorizer of the union.
    return { allowed: status.allowed, reason: status.reason };
  }

  private async review(spec: SubjectAccessReviewSpec): Promise<ReviewStatus> {
    this.reviews++;
    let status: Record<string, unknown>;
    try {
      status = await postReview(
        this.options.client as KubeApi,
        '/apis/authorization.k8s.io/v1/subjectaccessreviews',
        { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec },
        this.options.timeoutMs ?? 10_000,
        this.options.retry ?? DEFAULT_RETRY_BACKOFF,
      );
    } catch (e) {
      throw new AuthorizationError((e as Error).message);
    }
    return {
      allowed: status['allowed'] === true,
      denied: status['denied'] === true,
      reason: typeof status['reason'] === 'string' ? status['reason'] : '',
    };
  }
}

/** responsewriters' sanitizer: the message may be shown as HTML by some clients. */
function sanitize(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The Forbidden error kube-apiserver returns for a denied request
 * (responsewriters.ForbiddenStatusError and apierrors.NewForbidden), e.g.
 * `pods.custom.metrics.k8s.io "*" is forbidden: User "X" cannot get resource
 * "pods/http_requests" in API group "custom.metrics.k8s.io" in the namespace "default"`.
 */
export function forbiddenError(user: UserInfo, attrs: RequestAttributes, reason = ''): ForbiddenError {
  let msg: string;
  if (!attrs.resourceRequest) {
    msg = `User ${q(user.name)} cannot ${attrs.verb} path ${q(attrs.path)}`;
  } else {
    const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
    msg = attrs.namespace
      ? `User ${q(user.name)} cannot ${attrs.verb} resource ${q(resource)} in API group ${q(attrs.group)} in the namespace ${q(attrs.namespace)}`
      : `User ${q(user.name)} cannot ${attrs.verb} resource ${q(resource)} in API group ${q(attrs.group)} at the cluster scope`;
  }
  const err = sanitize(msg) + (reason ? `: ${reason}` : '');
  const group = attrs.resourceRequest ? attrs.group : '';
  const resource = attrs.resourceRequest ? attrs.resource : '';
  const name = attrs.resourceRequest ? attrs.name : '';
  const qualified = group ? `${resource}.${group}` : resource;
  let message: string;
  if (qualified === '') message = `forbidden: ${err}`;
  else if (name === '') message = `${qualified} is forbidden: ${err}`;
  else message = `${qualified} ${q(name)} is forbidden: ${err}`;
  return new ForbiddenError(message, {
    ...(name ? { name } : {}),
    ...(group ? { group } : {}),
    ...(resource ? { kind: resource } : {}),
  });
}
