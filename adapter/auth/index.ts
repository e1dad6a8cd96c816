// Delegated authentication and authorization for the metrics APIs
// (`--authentication delegated`): the way every aggregated API server built
// on k8s.io/apiserver trusts kube-apiserver (see README.md beside this file).
//
// Wiring, in the composition root:
//
//   const auth = await startDelegatedAuth({ connection, flags: authFlagsFrom(flags), log });
//   const guard = auth.guard({ skipPaths: ['/mutate'] });    // before every API handler
//   const server = https.createServer({ ...tls, requestCert: true, rejectUnauthorized: false }, handler);
//   ...
//   await auth.close();
//
// The TLS server must ask for client certificates without requiring them
// (requestCert: true, rejectUnauthorized: false): requests without a
// certificate may still carry a bearer token or be anonymous, and the
// certificates are verified here against CAs that change at run time. Do
// not pass `ca` to the server for this: OpenSSL would advertise those CA
// names in its CertificateRequest, and a Go client whose certificate is not
// issued by an advertised CA (say, after a front-proxy CA rotation) sends
// no certificate at all.
import type { KubeConnection } from '../kube/client.js';
import type { Logger } from '../log.js';
import { TokenReviewAuthenticator, DelegatingAuthenticator } from './authenticate.js';
import { DelegatingAuthorizer } from './authorize.js';
import { AUTH_CONFIGMAP_NAME, AUTH_CONFIGMAP_NAMESPACE, AuthConfigError, type AuthFlags } from './config.js';
import { kubeApiFor, type KubeApi, type RetryBackoff } from './kube-api.js';
import { requestGuard, type DelegatedAuthOptions, type RequestGuard } from './guard.js';
import { AuthConfigSource } from './source.js';

export * from './types.js';
export {
  AUTH_CONFIGMAP_NAME,
  AUTH_CONFIGMAP_NAMESPACE,
  AuthConfigError,
  CONFIGMAP_KEYS,
  DEFAULT_REQUEST_HEADERS,
  authFlagsFrom,
  compileAuthConfig,
  mergeAuthSettings,
  parseAuthConfigMap,
  settingsFromFlags,
  type AuthConfigProvider,
  type AuthenticationConfig,
  type AuthFlags,
  type AuthSettings,
  type RequestHeaderConfig,
} from './config.js';
export { AuthConfigSource, type AuthConfigSourceOptions } from './source.js';
export {
  ANONYMOUS,
  DelegatingAuthenticator,
  TokenReviewAuthenticator,
  bearerToken,
  withAuthenticatedGroup,
  type DelegatingAuthenticatorOptions,
  type TokenReviewAuthenticatorOptions,
  type TokenReviewResult,
} from './authenticate.js';
export { AuthorizationError, DelegatingAuthorizer, forbiddenError, subjectAccessReviewSpec, type DelegatingAuthorizerOptions, type SubjectAccessReviewSpec } from './authorize.js';
export { requestAttributes } from './request-info.js';
export { userFromHeaders } from './headers.js';
export { DEFAULT_ALWAYS_ALLOW_PATHS, alwaysAllowPathMatcher } from './always-allow.js';
export { HEALTH_PATHS, requestGuard, type DelegatedAuthOptions, type RequestGuard } from './guard.js';
export { DEFAULT_RETRY_BACKOFF, kubeApiFor, type KubeApi, type RetryBackoff } from './kube-api.js';
export { KubeApiError } from '../kube/client.js';

interface StartDelegatedAuthOptions {
  /** The API server for TokenReview, SubjectAccessReview and the ConfigMap (kubeConfigFrom()). */
  readonly connection?: KubeConnection;
  /** Or a client of its own (tests). Without either, none of the three is available. */
  readonly client?: KubeApi;
  readonly flags?: AuthFlags;
  readonly log: Logger;
  /** Requests with no credential become system:anonymous; default true. */
  readonly anonymous?: boolean;
  /** --authentication-skip-lookup; default flags.skipLookup, else false. */
  readonly skipLookup?: boolean;
  /**
   * Start even when the ConfigMap cannot be read (it is retried in the
   * background; until then only flag CAs count). Default
   * flags.tolerateLookupFailure, else false: start-up fails.
   */
  readonly tolerateLookupFailure?: boolean;
  /** --authorization-always-allow-paths; default flags.alwaysAllowPaths, else /healthz, /readyz and /livez. */
  readonly alwaysAllowPaths?: readonly string[];
  /** --api-audiences */
  readonly audiences?: readonly string[];
  readonly tokenCacheTtlMs?: number;
  readonly allowCacheTtlMs?: number;
  readonly denyCacheTtlMs?: number;
  readonly retry?: RetryBackoff;
}

export interface DelegatedAuth {
  readonly config: AuthConfigSource;
  readonly authenticator: DelegatingAuthenticator;
  readonly authorizer: DelegatingAuthorizer;
  /** Absent without a connection to the API server: bearer tokens are then not accepted. */
  readonly tokens: TokenReviewAuthenticator | undefined;
  /** Authentication and authorization of one request; `skipPaths` are added to the always-allowed paths. */
  guard(options?: { readonly skipPaths?: readonly string[] }): RequestGuard;
  close(): Promise<void>;
}

/**
 * Reads the configuration (first ConfigMap read included) and builds the
 * authenticator, authorizer and request guard.
 *
 * Without a connection or client it starts as k8s.io/apiserver does when
 * the authentication and authorization kubeconfigs are optional and absent
 * (DelegatingAuthenticationOptions.ApplyTo, DelegatingAuthorizationOptions
 * .toAuthorizer): no TokenReview, so bearer tokens are not accepted; no
 * ConfigMap, so only the CA flags count; no SubjectAccessReview, so only
 * system:masters and the always-allowed paths pass and everything else is
 * Forbidden. Each of these is logged as a warning.
 *
 * A failed first read of the ConfigMap stops start-up, as
 * --authentication-tolerate-lookup-failure=false does there, unless
 * `tolerateLookupFailure` is set or the front-proxy CA comes from a flag
 * (k8s.io/apiserver only waits for the ConfigMap when it needs the
 * request-header settings from it). A CA file named by a flag that cannot
 * be used always stops start-up.
 */
export async function startDelegatedAuth(options: StartDelegatedAuthOptions): Promise<DelegatedAuth> {
  const client = options.client ?? (options.connection ? kubeApiFor(options.connection) : undefined);
  const flags = options.flags ?? {};
  const skipLookup = options.skipLookup ?? flags.skipLookup ?? false;
  const tolerateLookupFailure = options.tolerateLookupFailure ?? flags.tolerateLookupFailure ?? false;
  const alwaysAllowPaths = options.alwaysAllowPaths ?? flags.alwaysAllowPaths;
  const { log } = options;
  if (!client) {
    if (!skipLookup) {
      const where = `configmap ${AUTH_CONFIGMAP_NAMESPACE}/${AUTH_CONFIGMAP_NAME}`;
      if (!flags.clientCAFile) log.warn(`no kubeconfig to look up client-ca-file in ${where}, so client certificate authentication is off unless --client-ca-file is given`);
      if (!flags.requestheaderClientCAFile) {
        log.warn(`no kubeconfig to look up requestheader-client-ca-file in ${where}, so front-proxy (request-header) authentication is off unless --requestheader-client-ca-file is given`);
      }
    }
    log.warn('no kubeconfig: TokenReview is unavailable, so bearer tokens are not accepted');
    log.warn('no kubeconfig: SubjectAccessReview is unavailable, so only system:masters and the always-allowed paths are authorized; every other request is forbidden');
  }
  const config = new AuthConfigSource({
    ...(client ? { client } : {}),
    log,
    flags,
    skipLookup,
  });
  try {
    await config.start();
  } catch (e) {
    const fatal = e instanceof AuthConfigError || (!tolerateLookupFailure && !flags.requestheaderClientCAFile);
    if (fatal) {
      await config.close();
      throw e;
    }
    log.warn('authentication configuration lookup failed; retrying in the background, and until it succeeds only the CA flags count', {
      error: (e as Error).message,
      ...(tolerateLookupFailure ? { hint: 'to require the lookup to succeed, leave out --authentication-tolerate-lookup-failure' } : {}),
    });
  }
  const tokens = client
    ? new TokenReviewAuthenticator({
        client,
        ...(options.audiences ? { audiences: options.audiences } : {}),
        ...(options.tokenCacheTtlMs !== undefined ? { cacheTtlMs: options.tokenCacheTtlMs } : {}),
        ...(options.retry ? { retry: options.retry } : {}),
      })
    : undefined;
  const authenticator = new DelegatingAuthenticator({ config, ...(tokens ? { tokens } : {}), log, ...(options.anonymous !== undefined ? { anonymous: options.anonymous } : {}) });
  const authorizer = new DelegatingAuthorizer({
    ...(client ? { client } : {}),
    ...(options.allowCacheTtlMs !== undefined ? { allowTtlMs: options.allowCacheTtlMs } : {}),
    ...(options.denyCacheTtlMs !== undefined ? { denyTtlMs: options.denyCacheTtlMs } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
  });
  const guardOptions = (m: { readonly skipPaths?: readonly string[] }): DelegatedAuthOptions => ({
    authenticator,
    authorizer,
    log,
    requestHeaders: () => config.current.requestHeader,
    ...(alwaysAllowPaths ? { alwaysAllowPaths } : {}),
    ...(m.skipPaths ? { skipPaths: m.skipPaths } : {}),
  });
  return {
    config,
    authenticator,
    authorizer,
    tokens,
    guard: (m = {}) => requestGuard(guardOptions(m)),
    close: () => config.close(),
  };
}
