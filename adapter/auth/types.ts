// The shapes shared by authentication, authorization and the middleware.
import type { IncomingMessage } from 'node:http';
import type { LabelSelectorRequirement } from '../../k8s/label-selector.js';

/** Milliseconds; Date.now unless a test gives its own. */
export type Clock = () => number;

/** k8s.io/apiserver/pkg/authentication/user.Info. */
export interface UserInfo {
  readonly name: string;
  /** '' when unknown. */
  readonly uid: string;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

export const ANONYMOUS_USER = 'system:anonymous';
export const UNAUTHENTICATED_GROUP = 'system:unauthenticated';
export const AUTHENTICATED_GROUP = 'system:authenticated';
export const MASTERS_GROUP = 'system:masters';
/** user.CredentialIDKey: set by the x509 authenticator to the certificate's SHA-256. */
export const CREDENTIAL_ID_KEY = 'authentication.kubernetes.io/credential-id';

/** Which authenticator accepted the request, for logs. */
export type AuthenticationMethod = 'requestheader' | 'x509' | 'token' | 'anonymous';

export interface Authentication {
  readonly user: UserInfo;
  readonly method: AuthenticationMethod;
}

/** Turns a request into a user; throws UnauthorizedError when it cannot. */
export interface Authenticator {
  authenticate(req: IncomingMessage): Promise<Authentication>;
}

/** The SubjectAccessReview resourceAttributes.fieldSelector / labelSelector requirement shapes. */
export interface FieldSelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn';
  readonly values: readonly string[];
}

/**
 * authorizer.Attributes as k8s.io/apiserver derives them from a request
 * (endpoints/request/requestinfo.go and filters/authorization.go).
 */
export type RequestAttributes =
  | {
      readonly resourceRequest: true;
      /** The decoded URL path. */
      readonly path: string;
      readonly verb: string;
      readonly namespace: string;
      readonly group: string;
      readonly version: string;
      readonly resource: string;
      readonly subresource: string;
      readonly name: string;
      readonly fieldSelector?: readonly FieldSelectorRequirement[];
      readonly labelSelector?: readonly LabelSelectorRequirement[];
    }
  | {
      readonly resourceRequest: false;
      readonly path: string;
      /** The lower-cased HTTP method. */
      readonly verb: string;
    };

export interface Decision {
  readonly allowed: boolean;
  /** The authorizer's explanation, appended to the Forbidden message when set. */
  readonly reason: string;
}

/** Decides whether a user may do what the request attributes describe. Throws when it cannot decide. */
export interface Authorizer {
  authorize(user: UserInfo, attributes: RequestAttributes): Promise<Decision>;
}
