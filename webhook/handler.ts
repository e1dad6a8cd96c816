// POST /mutate: a plain Node (req, res) handler, so the same code runs in
// `hpa-bridge serve`, in a Knative Service or behind any HTTPS function URL;
// and the reviewer behind it, for function runtimes that read the body
// themselves (webhook/function.ts).
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, BadRequestError, InternalError, MethodNotAllowedError, RequestEntityTooLargeError, toStatus, UnavailableError, UnsupportedMediaTypeError } from '../k8s/errors.js';
import type { DefaultsPolicy } from '../rules/defaults.js';
import { reviewAdmission, ReviewError, type ReviewOptions, type ReviewOutcome } from './review.js';

/** The API server sends at most 3 MiB objects; anything larger is not a review. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface WebhookLogger {
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

export interface WebhookHandlerOptions extends ReviewOptions {
  /** The policy in force; read per request so a rule reload applies at once. */
  readonly policy: () => DefaultsPolicy | undefined;
  readonly log: WebhookLogger;
  readonly maxBodyBytes?: number;
  /** Called after every review, for metrics. */
  readonly onReview?: (outcome: ReviewOutcome | undefined, durationSeconds: number, error?: string) => void;
}

/** The 413 for a body over `limit` by its declared Content-Length. */
function declaredTooLarge(declared: number, limit: number): RequestEntityTooLargeError {
  return new RequestEntityTooLargeError(`request body of ${declared} bytes is over the ${limit}-byte limit`);
}

/** The 413 for a body found over `limit` by counting its bytes, without a Content-Length that said so. */
function countedTooLarge(limit: number): RequestEntityTooLargeError {
  return new RequestEntityTooLargeError(`request body is over the ${limit}-byte limit`);
}

function declaredLength(headers: IncomingHttpHeaders): number {
  return Number(headers['content-length']);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = declaredLength(req.headers);
    if (Number.isFinite(declared) && declared > limit) {
      reject(declaredTooLarge(declared, limit));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(countedTooLarge(limit));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The body as JSON; a 400 naming the parse error when it is not JSON. */
export function parseJsonBody(body: Buffer | string): unknown {
  try {
    return JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (e) {
    throw new BadRequestError(`the body is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * The size check for a body a runtime has already read: the same 413s as
 * when the body is read here. `actualBytes` is undefined when the runtime
 * keeps no byte count, which leaves the declared length and the runtime's
 * own limit.
 */
export function checkBodySize(headers: IncomingHttpHeaders, actualBytes: number | undefined, limit: number = MAX_BODY_BYTES): void {
  const declared = declaredLength(headers);
  if (Number.isFinite(declared) && declared > limit) throw declaredTooLarge(declared, limit);
  if (actualBytes !== undefined && actualBytes > limit) throw countedTooLarge(limit);
}

/** A request as an HTTP runtime hands it over. */
export interface WebhookRequest {
  readonly method: string | undefined;
  readonly headers: IncomingHttpHeaders;
  /** The body as JSON, read only once method and type are known to be right; throws an ApiError (400, 413) when it cannot be had. */
  readonly json: () => unknown;
}

/** The status code and the body to send: an AdmissionReview, or a Status for a request that is not one. */
export interface WebhookAnswer {
  readonly code: number;
  readonly body: object;
}

/** Sends an answer as serve sends it: JSON with its length. */
export function sendAnswer(res: ServerResponse, answer: WebhookAnswer): void {
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Everything between a request and its answer but the reading of the body,
 * which differs by runtime: checks, review, log line and metrics. Never
 * throws: every failure is a Status answer.
 */
export function createWebhookReviewer(options: WebhookHandlerOptions): (request: WebhookRequest) => Promise<WebhookAnswer> {
  return async (request) => {
    const started = process.hrtime.bigint();
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      if (request.method !== 'POST') throw new MethodNotAllowedError(`method ${request.method ?? ''} is not allowed; send the AdmissionReview with POST`);
      const contentType = request.headers['content-type'];
      const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/json') throw new UnsupportedMediaTypeError(`Content-Type must be application/json, not ${JSON.stringify(contentType ?? '')}`);
      const parsed = await request.json();
      const policy = options.policy();
      if (!policy) throw new UnavailableError('no rules are loaded yet, so there is no defaults policy');
      let outcome: ReviewOutcome;
      try {
        outcome = reviewAdmission(parsed, policy, options);
      } catch (e) {
        if (e instanceof ReviewError) throw new BadRequestError(e.message);
        throw e;
      }
      const s = outcome.summary;
      const fields = {
        uid: s.uid,
        kind: s.kind,
        namespace: s.namespace,
        name: s.name,
        patched: s.patched,
        ...(s.description !== undefined ? { added: s.description } : {}),
        ...(s.skipped ? { skipped: s.skipped } : {}),
      };
      const response = outcome.review.response as { warnings?: unknown } | undefined;
      // Allowed unchanged but with something to say: an unknown kind or a malformed object.
      if (!s.patched && Array.isArray(response?.warnings)) options.log.warn('admission review allowed unchanged', { ...fields, warnings: response.warnings });
      else options.log.info('admission review', fields);
      options.onReview?.(outcome, seconds());
      return { code: 200, body: outcome.review };
    } catch (e) {
      const status = toStatus(e instanceof ApiError ? e : new InternalError(e instanceof Error ? e.message : String(e)));
      options.log.warn('admission review rejected', { code: status.code, error: status.message });
      options.onReview?.(undefined, seconds(), status.message);
      return { code: status.code, body: status };
    }
  };
}

/** The handler for a plain Node server, which reads the body itself. */
export function createWebhookHandler(options: WebhookHandlerOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const review = createWebhookReviewer(options);
  const limit = options.maxBodyBytes ?? MAX_BODY_BYTES;
  return async (req, res) => {
    sendAnswer(res, await review({ method: req.method, headers: req.headers, json: async () => parseJsonBody(await readBody(req, limit)) }));
  };
}
