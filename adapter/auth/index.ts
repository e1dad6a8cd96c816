// Delegated authentication and authorization for the metrics APIs
// (`--authentication delegated`): the way every aggregated API server built
// on k8s.io/apiserver trusts kube-apiserver (see README.md beside this file).
//
// Wiring, in the composition root:
//
//   const auth = await startDelegatedAuth({ connection, flags: authFlagsFrom(flags), log });
//   app.use(auth.middleware({ skipPaths: ['/mutate'] }));   // before the API routes
//   const server = https.createServer({ ...tls, requestCert: true, rejectUnauthorized: false }, app);
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
import type { RequestHandler } from 'express';
import type { KubeConnection } from '../kube/client.js';
import type { Logger } from '../log.js';
import { TokenReviewAuthenticator, DelegatingAuthenticator } from './authenticate.js';
import { DelegatingAuthorizer } from './authorize.js';
import type { AuthFlags } from './config.js';
import { kubeApiFor, type KubeApi, type RetryBackoff } from './kube-api.js';
import { delegatedAuth, requestGuard, type DelegatedAuthOptions, type RequestGuard } from './middleware.js';
import { AuthConfigSource } from './source.js';

export * from './types.js';
export {
  AUTH_CONFIGMAP_NAME,
  AUTH_CONFIGMAP_NAMESPACE,
  AUTH_FLAG_SPEC,
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
export { ANONYMOUS, DelegatingAuthenticator, TokenReviewAuthenticator, bearerToken, withAuthenticatedGroup, type DelegatingAuthenticatorOptions, type TokenReviewAuthenticatorOptions, type TokenReviewResult } from './authenticate.js';
export { AuthorizationError, DelegatingAuthorizer, forbiddenError, subjectAccessReviewSpec, type DelegatingAuthorizerOptions, type SubjectAccessReviewSpec } from './authorize.js';
export { requestAttributes } from './request-info.js';
export { userFromHeaders } from './headers.js';
export { HEALTH_PATHS, authenticatedUser, delegatedAuth, requestGuard, type DelegatedAuthOptions, type RequestGuard } from './middleware.js';
export { DEFAULT_RETRY_BACKOFF, kubeApiFor, type KubeApi, type RetryBackoff } from './kube-api.js';
export { KubeApiError } from '../kube/client.js';

export interface StartDelegatedAuthOptions {
  /** The API server for TokenReview, SubjectAccessReview and the ConfigMap (kubeConfigFrom()). */
  readonly connection?: KubeConnection;
  /** Or a client of its own (tests). One of the two is needed. */
  readonly client?: KubeApi;
  readonly flags?: AuthFlags;
  readonly log: Logger;
  /** Requests with no credential become system:anonymous; default true. */
  readonly anonymous?: boolean;
  /** --authentication-skip-lookup */
  readonly skipLookup?: boolean;
  /**
   * Start even when the ConfigMap cannot be read (it is retried in the
   * background; until then only flag CAs count). Default false: startup fails.
   */
  readonly tolerateLookupFailure?: boolean;
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
  readonly tokens: TokenReviewAuthenticator;
  /** The middleware; `skipPaths` are added to /healthz, /livez and /readyz. */
  middleware(options?: { readonly skipPaths?: readonly string[] }): RequestHandler;
  /** The same checks for a plain node:http handler. */
  guard(options?: { readonly skipPaths?: readonly string[] }): RequestGuard;
  close(): Promise<void>;
}

/** Reads the configuration (first ConfigMap read included) and builds the authenticator, authorizer and middleware. */
export async function startDelegatedAuth(options: StartDelegatedAuthOptions): Promise<DelegatedAuth> {
  const client = options.client ?? (options.connection ? kubeApiFor(options.connection) : undefined);
  if (!client) throw new TypeError('startDelegatedAuth needs a connection or a client');
  const config = new AuthConfigSource({
    client,
    log: options.log,
    ...(options.flags ? { flags: options.flags } : {}),
    ...(options.skipLookup !== undefined ? { skipLookup: options.skipLookup } : {}),
  });
  try {
    await config.start();
  } catch (e) {
    if (!options.tolerateLookupFailure) {
      await config.close();
      throw e;
    }
    options.log.warn('authentication configuration lookup failed; retrying in the background, client certificates are not accepted until it succeeds', {
      error: (e as Error).message,
    });
  }
  const tokens = new TokenReviewAuthenticator({
    client,
    ...(options.audiences ? { audiences: options.audiences } : {}),
    ...(options.tokenCacheTtlMs !== undefined ? { cacheTtlMs: options.tokenCacheTtlMs } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
  });
  const authenticator = new DelegatingAuthenticator({ config, tokens, log: options.log, ...(options.anonymous !== undefined ? { anonymous: options.anonymous } : {}) });
  const authorizer = new DelegatingAuthorizer({
    client,
    ...(options.allowCacheTtlMs !== undefined ? { allowTtlMs: options.allowCacheTtlMs } : {}),
    ...(options.denyCacheTtlMs !== undefined ? { denyTtlMs: options.denyCacheTtlMs } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
  });
  const guardOptions = (m: { readonly skipPaths?: readonly string[] }): DelegatedAuthOptions => ({
    authenticator,
    authorizer,
    log: options.log,
    requestHeaders: () => config.current.requestHeader,
    ...(m.skipPaths ? { skipPaths: m.skipPaths } : {}),
  });
  return {
    config,
    authenticator,
    authorizer,
    tokens,
    middleware: (m = {}) => delegatedAuth(guardOptions(m)),
    guard: (m = {}) => requestGuard(guardOptions(m)),
    close: () => config.close(),
  };
}
