// The errors the metrics APIs and the webhook answer with, each mapped to a
// Kubernetes metav1.Status in one place (toStatus). Handlers throw these;
// nothing else reaches the client, and nothing becomes a bare 500. Shared
// by adapter/ and webhook/, so it imports nothing of ours.

type StatusReason =
  'BadRequest' | 'Unauthorized' | 'Forbidden' | 'NotFound' | 'MethodNotAllowed' | 'NotAcceptable' | 'RequestEntityTooLarge' | 'UnsupportedMediaType' | 'InternalError' | 'ServiceUnavailable';

export abstract class ApiError extends Error {
  abstract readonly code: number;
  abstract readonly reason: StatusReason;
  /** Optional Kubernetes StatusDetails. */
  readonly details?: { readonly name?: string; readonly group?: string; readonly kind?: string };

  constructor(message: string, details?: ApiError['details']) {
    super(message);
    this.name = new.target.name;
    if (details) this.details = details;
  }
}

export class BadRequestError extends ApiError {
  readonly code = 400;
  readonly reason = 'BadRequest' as const;
}

export class UnauthorizedError extends ApiError {
  readonly code = 401;
  readonly reason = 'Unauthorized' as const;
}

export class ForbiddenError extends ApiError {
  readonly code = 403;
  readonly reason = 'Forbidden' as const;
}

export class NotFoundError extends ApiError {
  readonly code = 404;
  readonly reason = 'NotFound' as const;
}

export class MethodNotAllowedError extends ApiError {
  readonly code = 405;
  readonly reason = 'MethodNotAllowed' as const;
}

/** No representation the Accept header allows can be served. */
export class NotAcceptableError extends ApiError {
  readonly code = 406;
  readonly reason = 'NotAcceptable' as const;
}

/**
 * A request body over the limit: kube-apiserver's limitedReadBody
 * (k8s.io/apiserver/pkg/endpoints/handlers/rest.go) answers 413 too.
 */
export class RequestEntityTooLargeError extends ApiError {
  readonly code = 413;
  readonly reason = 'RequestEntityTooLarge' as const;
}

/**
 * A body in a media type the server does not decode: kube-apiserver answers
 * 415 (k8s.io/apiserver/pkg/endpoints/handlers/negotiation, NewUnsupportedMediaTypeError).
 */
export class UnsupportedMediaTypeError extends ApiError {
  readonly code = 415;
  readonly reason = 'UnsupportedMediaType' as const;
}

/** A dependency (Prometheus, the Kubernetes API) failed or is not ready yet. */
export class UnavailableError extends ApiError {
  readonly code = 503;
  readonly reason = 'ServiceUnavailable' as const;
}

export class InternalError extends ApiError {
  readonly code = 500;
  readonly reason = 'InternalError' as const;
}

export interface Status {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure';
  readonly message: string;
  readonly reason: StatusReason;
  readonly details?: ApiError['details'];
  readonly code: number;
}

/** The metav1.Status for any thrown value; unknown errors become InternalError with their message. */
export function toStatus(err: unknown): Status {
  const e = err instanceof ApiError ? err : new InternalError(`internal error: ${err instanceof Error ? err.message : String(err)}`);
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: e.message,
    reason: e.reason,
    ...(e.details ? { details: e.details } : {}),
    code: e.code,
  };
}
