// The request guard: authentication, then authorization, as
// k8s.io/apiserver's handler chain runs WithAuthentication and
// WithAuthorization before any API handler. It rejects with typed errors
// that the HTTP surface turns into Status responses (401 Unauthorized,
// 403 Forbidden, 500 when authorization could not be decided).
import type { IncomingMessage } from 'node:http';
import { ApiError, InternalError } from '../errors.js';
import type { Logger } from '../log.js';
import { alwaysAllowPathMatcher, DEFAULT_ALWAYS_ALLOW_PATHS } from './always-allow.js';
import { AuthorizationError, forbiddenError } from './authorize.js';
import type { RequestHeaderConfig } from './config.js';
import { authenticationHeaderNames } from './headers.js';
import { decodedPath, requestAttributes } from './request-info.js';
import type { Authentication, Authenticator, Authorizer } from './types.js';

/**
 * Paths served without authentication or authorization by default: the
 * probes the kubelet calls without credentials (k8s.io/apiserver's
 * AlwaysAllowPaths default).
 */
export const HEALTH_PATHS: readonly string[] = DEFAULT_ALWAYS_ALLOW_PATHS;

/** The standard front-proxy headers, removed from every authenticated request. */
const STANDARD_HEADERS: Pick<RequestHeaderConfig, 'usernameHeaders' | 'uidHeaders' | 'groupHeaders' | 'extraHeaderPrefixes'> = {
  usernameHeaders: ['X-Remote-User'],
  uidHeaders: ['X-Remote-Uid'],
  groupHeaders: ['X-Remote-Group'],
  extraHeaderPrefixes: ['X-Remote-Extra-'],
};

export interface DelegatedAuthOptions {
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
  readonly log: Logger;
  /**
   * --authorization-always-allow-paths: non-resource paths served without a
   * SubjectAccessReview, and here without authentication too; default
   * HEALTH_PATHS. An exact path, or a prefix ending in `*`.
   */
  readonly alwaysAllowPaths?: readonly string[];
  /**
   * More paths that skip authentication and authorization whatever the
   * flag says, in the same form. For example `/mutate`, whose caller
   * (kube-apiserver calling the admission webhook) is not a metrics client.
   */
  readonly skipPaths?: readonly string[];
  /** The request-header settings in force, so custom header names are also removed after authentication. */
  readonly requestHeaders?: () => RequestHeaderConfig | undefined;
}

/** The path authorizer allows non-resource requests only; a target that does not parse is not skipped. */
function isNonResourceRequest(method: string, target: string): boolean {
  try {
    return !requestAttributes(method, target).resourceRequest;
  } catch {
    return false;
  }
}

/** The credential headers, removed once they have served their purpose (WithAuthentication). */
function clearCredentials(req: IncomingMessage, extra: RequestHeaderConfig | undefined): void {
  const names = new Set<string>(['authorization', ...authenticationHeaderNames(Object.keys(req.headers), STANDARD_HEADERS)]);
  if (extra) for (const n of authenticationHeaderNames(Object.keys(req.headers), extra)) names.add(n);
  const distinct = req.headersDistinct as Record<string, string[] | undefined>;
  for (const n of names) {
    delete req.headers[n];
    delete distinct[n];
  }
}

/**
 * Authenticates and authorizes one request to `target` (the raw URL, query
 * included). Resolves with who made it, or undefined for a path that skips
 * both; rejects with a typed ApiError (401, 403, 500) otherwise.
 */
export type RequestGuard = (req: IncomingMessage, target: string) => Promise<Authentication | undefined>;

export function requestGuard(options: DelegatedAuthOptions): RequestGuard {
  const allowed = alwaysAllowPathMatcher([...(options.alwaysAllowPaths ?? HEALTH_PATHS), ...(options.skipPaths ?? [])]);
  return async (req, target) => {
    if (allowed(decodedPath(target)) && isNonResourceRequest(req.method ?? 'GET', target)) return undefined;
    let authn: Authentication;
    try {
      authn = await options.authenticator.authenticate(req);
    } catch (e) {
      if (e instanceof ApiError) throw e;
      options.log.error('authentication failed unexpectedly', { error: (e as Error).message });
      throw new InternalError(`Internal Server Error: ${JSON.stringify(target)}: ${(e as Error).message}`);
    }
    const { user } = authn;
    const attrs = requestAttributes(req.method ?? 'GET', target);
    let decision;
    try {
      decision = await options.authorizer.authorize(user, attrs);
    } catch (e) {
      if (e instanceof ApiError) throw e;
      // WithAuthorization answers an authorizer error with 500 and never lets the request through.
      const message = e instanceof AuthorizationError || e instanceof Error ? e.message : String(e);
      options.log.warn('unable to check authorization', { user: user.name, path: attrs.path, error: message });
      throw new InternalError(`Internal Server Error: ${JSON.stringify(target)}: ${message}`);
    }
    if (!decision.allowed) {
      options.log.debug('forbidden', { user: user.name, verb: attrs.verb, path: attrs.path, reason: decision.reason });
      throw forbiddenError(user, attrs, decision.reason);
    }
    clearCredentials(req, options.requestHeaders?.());
    return authn;
  };
}
