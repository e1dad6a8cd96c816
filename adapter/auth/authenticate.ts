// Delegated authentication, as k8s.io/apiserver's
// DelegatingAuthenticatorConfig.New composes it
// (pkg/authentication/authenticatorfactory/delegating.go):
//
//   anonymous-on-no-opinion(
//     add-system:authenticated(
//       union(front-proxy request headers, x509 client certificate, bearer token))))
//
// The union asks each authenticator in turn; the first that accepts wins.
// An authenticator that fails (a certificate that does not verify, a token
// the TokenReview rejects) does not stop the others, but when none accepts,
// any failure makes the request 401 ("a presented but invalid credential").
// Only when no authenticator had anything to check does the request become
// system:anonymous (unionauth.NewFailOnError with the anonymous
// authenticator last), and only when anonymous access is enabled.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { CacheStore, LoadingCache } from '../cache.js';
import { UnauthorizedError } from '../errors.js';
import type { Logger } from '../log.js';
import { AuthConfigError, compileAuthConfig, type AuthConfigProvider, type AuthenticationConfig, type CompiledAuthConfig } from './config.js';
import { userFromHeaders, type DistinctHeaders } from './headers.js';
import { DEFAULT_RETRY_BACKOFF, postReview, type KubeApi, type RetryBackoff } from './kube-api.js';
import {
  ANONYMOUS_USER,
  AUTHENTICATED_GROUP,
  CREDENTIAL_ID_KEY,
  UNAUTHENTICATED_GROUP,
  type Authentication,
  type AuthenticationMethod,
  type Authenticator,
  type Clock,
  type UserInfo,
} from './types.js';
import { certificateFromDer, commonName, organizations, peerCertificates, verifyClientCertificate, type Certificate } from './x509.js';

/** One authenticator's verdict: accepted, no opinion (nothing to check), or failed. */
type Outcome = { readonly kind: 'user'; readonly user: UserInfo } | { readonly kind: 'none' } | { readonly kind: 'error'; readonly error: string };

const NONE: Outcome = { kind: 'none' };
const fail = (error: string): Outcome => ({ kind: 'error', error });

// ---------------------------------------------------------------------------
// Bearer tokens

export interface TokenReviewResult {
  readonly authenticated: boolean;
  readonly user?: UserInfo;
  /** status.error of the TokenReview, when it gave one. */
  readonly error?: string;
}

export interface TokenReviewAuthenticatorOptions {
  readonly client: KubeApi;
  /** --api-audiences: sent in spec.audiences and required in the answer's audiences. */
  readonly audiences?: readonly string[];
  /** --authentication-token-webhook-cache-ttl; default 10 s for accepted and rejected tokens alike. */
  readonly cacheTtlMs?: number;
  /** Per TokenReview; default 10 s. */
  readonly timeoutMs?: number;
  readonly retry?: RetryBackoff;
  /** The cache's clock, for tests. */
  readonly now?: Clock;
  /** Bound on cached tokens; default 10000. */
  readonly maxEntries?: number;
}

function stringArray(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function extraOf(v: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (typeof v !== 'object' || v === null) return out;
  for (const [k, vals] of Object.entries(v)) out[k] = stringArray(vals);
  return out;
}

/**
 * Bearer tokens checked with a TokenReview (POST
 * /apis/authentication.k8s.io/v1/tokenreviews), as the webhook token
 * authenticator does, behind k8s.io/apiserver's cached token authenticator:
 * answers without an error are kept for the TTL whether the token was
 * accepted or not; answers that carry status.error and failed calls are not
 * kept (cacheErrs is false for delegated authentication), so they are asked
 * again next time. Cache keys are an HMAC of token and audiences under a
 * per-process random key, so tokens are not kept in memory as themselves.
 */
export class TokenReviewAuthenticator {
  private readonly store: CacheStore;
  private readonly cache: LoadingCache<TokenReviewResult>;
  private readonly hmacKey = randomBytes(32);
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  private readonly retry: RetryBackoff;
  private readonly audiences: readonly string[];
  /** TokenReviews sent, for tests and metrics. */
  reviews = 0;

  constructor(private readonly options: TokenReviewAuthenticatorOptions) {
    // A store of its own, bounded by entries as k8s.io/apiserver bounds its
    // token cache: answers are small and alike in size, so a count bounds
    // their memory; and apart from the metrics answers' byte bound, a burst
    // of large answers cannot push tokens out and turn every request into a
    // TokenReview.
    this.store = new CacheStore({ maxEntries: options.maxEntries ?? 10_000, now: options.now });
    this.ttlMs = options.cacheTtlMs ?? 10_000;
    this.cache = new LoadingCache({ store: this.store, namespace: 'tokenreviews', ttlMs: (r) => (r.error === undefined ? this.ttlMs : 0) });
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retry = options.retry ?? DEFAULT_RETRY_BACKOFF;
    this.audiences = options.audiences ?? [];
  }

  private key(token: string): string {
    const h = createHmac('sha256', this.hmacKey);
    const len = (n: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    };
    h.update(len(Buffer.byteLength(token)))
      .update(token)
      .update(len(this.audiences.length));
    for (const a of this.audiences) h.update(len(Buffer.byteLength(a))).update(a);
    return h.digest('base64');
  }

  /** Throws when the TokenReview could not be made; the caller treats that as a failed credential. */
  async review(token: string): Promise<TokenReviewResult> {
    return this.cache.get(this.key(token), () => this.call(token));
  }

  private async call(token: string): Promise<TokenReviewResult> {
    this.reviews++;
    const status = await postReview(
      this.options.client,
      '/apis/authentication.k8s.io/v1/tokenreviews',
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, ...(this.audiences.length ? { audiences: this.audiences } : {}) },
      },
      this.timeoutMs,
      this.retry,
    );
    // With audiences configured, the token must be valid for one of them
    // (the answer's audiences, or ours when it names none).
    if (this.audiences.length > 0) {
      const got = stringArray(status['audiences']);
      const accepted = got.length > 0 ? got : this.audiences;
      if (!this.audiences.some((a) => accepted.includes(a))) return { authenticated: false };
    }
    if (status['authenticated'] !== true) {
      const error = typeof status['error'] === 'string' && status['error'] !== '' ? status['error'] : undefined;
      return error === undefined ? { authenticated: false } : { authenticated: false, error };
    }
    const u = typeof status['user'] === 'object' && status['user'] !== null ? (status['user'] as Record<string, unknown>) : {};
    return {
      authenticated: true,
      user: {
        name: typeof u['username'] === 'string' ? u['username'] : '',
        uid: typeof u['uid'] === 'string' ? u['uid'] : '',
        groups: stringArray(u['groups']),
        extra: extraOf(u['extra']),
      },
    };
  }

  get cachedEntries(): number {
    return this.store.entries;
  }
}

/**
 * bearertoken.Authenticator's reading of the Authorization header: the
 * token is the second space-separated word after a case-insensitive
 * "Bearer". Any other scheme, or an empty token, is no opinion.
 */
export function bearerToken(authorization: string | undefined): string | undefined {
  const auth = (authorization ?? '').trim();
  if (auth === '') return undefined;
  const parts = auth.split(' ');
  if (parts.length < 2 || (parts[0] as string).toLowerCase() !== 'bearer') return undefined;
  const token = parts[1] as string;
  return token === '' ? undefined : token;
}

// ---------------------------------------------------------------------------
// The delegating authenticator

export interface DelegatingAuthenticatorOptions {
  /** The configuration, or a live view of it (AuthConfigSource). */
  readonly config: AuthConfigProvider | AuthenticationConfig;
  /** Bearer tokens are not accepted without one. */
  readonly tokens?: TokenReviewAuthenticator;
  /**
   * Whether requests without any credential become system:anonymous.
   * Default true, as in every k8s.io/apiserver delegated server
   * (DelegatingAuthenticationOptions.ApplyTo enables it unconditionally).
   */
  readonly anonymous?: boolean;
  readonly log?: Logger;
  /** For certificate validity checks; default Date.now. */
  readonly now?: Clock;
}

function isProvider(c: AuthConfigProvider | AuthenticationConfig): c is AuthConfigProvider {
  return 'current' in c;
}

/** SHA-256 of the certificate, as the x509 authenticator's credential ID. */
function credentialId(der: Buffer): string {
  return `X509SHA256=${createHash('sha256').update(der).digest('hex')}`;
}

/** group.AuthenticatedGroupAdder: every authenticated user except anonymous gets system:authenticated. */
export function withAuthenticatedGroup(user: UserInfo): UserInfo {
  if (user.name === ANONYMOUS_USER) return user;
  if (user.groups.some((g) => g === AUTHENTICATED_GROUP || g === UNAUTHENTICATED_GROUP)) return user;
  return { ...user, groups: [...user.groups, AUTHENTICATED_GROUP] };
}

export const ANONYMOUS: UserInfo = Object.freeze({ name: ANONYMOUS_USER, uid: '', groups: Object.freeze([UNAUTHENTICATED_GROUP]), extra: Object.freeze({}) });

export class DelegatingAuthenticator implements Authenticator {
  private readonly compiled = new WeakMap<AuthenticationConfig, CompiledAuthConfig | AuthConfigError>();
  private readonly anonymous: boolean;
  private readonly now: Clock;

  constructor(private readonly options: DelegatingAuthenticatorOptions) {
    this.anonymous = options.anonymous ?? true;
    this.now = options.now ?? Date.now;
  }

  /** The configuration in force, with its CA bundles parsed once per configuration object. */
  private config(): CompiledAuthConfig | AuthConfigError {
    const c = this.options.config;
    const config = isProvider(c) ? c.current : c;
    let compiled = this.compiled.get(config);
    if (!compiled) {
      try {
        compiled = compileAuthConfig(config);
      } catch (e) {
        compiled = e instanceof AuthConfigError ? e : new AuthConfigError(String(e));
        this.options.log?.error('authentication configuration is unusable; certificate authentication is off until it is fixed', { error: compiled.message });
      }
      this.compiled.set(config, compiled);
    }
    return compiled;
  }

  async authenticate(req: IncomingMessage): Promise<Authentication> {
    const compiled = this.config();
    const cfg = compiled instanceof AuthConfigError ? undefined : compiled;
    const errors: string[] = [];
    let peer: { leaf: Certificate; others: Certificate[] } | undefined;
    let peerError: string | undefined;
    const raw = peerCertificates(req.socket);
    if (raw) {
      try {
        const others: Certificate[] = [];
        for (const der of raw.others) {
          try {
            others.push(certificateFromDer(der));
          } catch {
            // An unparseable extra certificate cannot be part of a valid chain.
          }
        }
        peer = { leaf: certificateFromDer(raw.leaf), others };
      } catch (e) {
        peerError = `x509: ${(e as Error).message}`;
      }
    }

    const steps: [AuthenticationMethod, () => Outcome | Promise<Outcome>][] = [
      ['requestheader', () => this.requestHeader(req, cfg, peer, peerError)],
      ['x509', () => this.clientCertificate(cfg, peer, peerError)],
      ['token', () => this.token(req)],
    ];
    for (const [method, step] of steps) {
      const outcome = await step();
      if (outcome.kind === 'user') return { user: withAuthenticatedGroup(outcome.user), method };
      if (outcome.kind === 'error') errors.push(outcome.error);
    }
    if (errors.length === 0 && this.anonymous) return { user: ANONYMOUS, method: 'anonymous' };
    this.options.log?.warn('unable to authenticate the request', {
      ...(errors.length ? { errors } : { reason: 'no credentials and anonymous access is disabled' }),
    });
    throw new UnauthorizedError('Unauthorized');
  }

  /** headerrequest behind x509.Verifier: the front proxy's certificate first, its headers only then. */
  private requestHeader(req: IncomingMessage, cfg: CompiledAuthConfig | undefined, peer: { leaf: Certificate; others: Certificate[] } | undefined, peerError: string | undefined): Outcome {
    const rh = cfg?.config.requestHeader;
    if (!rh || !cfg.requestheaderRoots || (!peer && !peerError)) return NONE;
    if (!peer) return fail(`front proxy: ${peerError ?? 'no client certificate'}`);
    try {
      verifyClientCertificate(peer.leaf, { roots: cfg.requestheaderRoots, intermediates: peer.others, now: this.now() });
    } catch (e) {
      return fail(`front proxy: ${(e as Error).message}`);
    }
    const cn = commonName(peer.leaf);
    if (rh.allowedNames.length > 0 && !rh.allowedNames.includes(cn)) {
      return fail(`x509: subject with cn=${cn} is not in the allowed list`);
    }
    const user = userFromHeaders(req.headersDistinct as DistinctHeaders, rh);
    return user ? { kind: 'user', user } : NONE;
  }

  /** x509.CommonNameUserConversion: CN is the user, O the groups. */
  private clientCertificate(cfg: CompiledAuthConfig | undefined, peer: { leaf: Certificate; others: Certificate[] } | undefined, peerError: string | undefined): Outcome {
    if (!cfg?.clientRoots || (!peer && !peerError)) return NONE;
    if (!peer) return fail(peerError as string);
    try {
      verifyClientCertificate(peer.leaf, { roots: cfg.clientRoots, intermediates: peer.others, now: this.now() });
    } catch (e) {
      return fail(`verifying client certificate failed: ${(e as Error).message}`);
    }
    const name = commonName(peer.leaf);
    if (name === '') return NONE;
    return { kind: 'user', user: { name, uid: '', groups: organizations(peer.leaf), extra: { [CREDENTIAL_ID_KEY]: [credentialId(peer.leaf.der)] } } };
  }

  private async token(req: IncomingMessage): Promise<Outcome> {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined || !this.options.tokens) return NONE;
    let result: TokenReviewResult;
    try {
      result = await this.options.tokens.review(token);
    } catch (e) {
      return fail(`token review failed: ${(e as Error).message}`);
    }
    if (result.authenticated && result.user) return { kind: 'user', user: result.user };
    return fail(result.error ?? 'invalid bearer token');
  }
}
