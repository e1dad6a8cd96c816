// A plain Node (req, res) handler for POST /mutate, so the same code runs in
// `hpa-bridge serve`, in a Knative Service or behind any HTTPS function URL.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, BadRequestError, InternalError, MethodNotAllowedError, RequestEntityTooLargeError, toStatus, UnavailableError, UnsupportedMediaTypeError } from '../k8s/errors.js';
import type { DefaultsPolicy } from '../rules/defaults.js';
import { reviewAdmission, ReviewError, type ReviewOptions, type ReviewOutcome } from './review.js';

/** The API server sends at most 3 MiB objects; anything larger is not a review. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface WebhookLogger {
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

interface WebhookHandlerOptions extends ReviewOptions {
  /** The policy in force; read per request so a rule reload applies at once. */
  readonly policy: () => DefaultsPolicy | undefined;
  readonly log: WebhookLogger;
  readonly maxBodyBytes?: number;
  /** Called after every review, for metrics. */
  readonly onReview?: (outcome: ReviewOutcome | undefined, durationSeconds: number, error?: string) => void;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new RequestEntityTooLargeError(`request body of ${declared} bytes is over the ${limit}-byte limit`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new RequestEntityTooLargeError(`request body is over the ${limit}-byte limit`));
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

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function createWebhookHandler(options: WebhookHandlerOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const started = process.hrtime.bigint();
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      if (req.method !== 'POST') throw new MethodNotAllowedError(`method ${req.method ?? ''} is not allowed; send the AdmissionReview with POST`);
      const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/json') throw new UnsupportedMediaTypeError(`Content-Type must be application/json, not ${JSON.stringify(req.headers['content-type'] ?? '')}`);
      const body = await readBody(req, options.maxBodyBytes ?? MAX_BODY_BYTES);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch (e) {
        throw new BadRequestError(`the body is not valid JSON: ${(e as Error).message}`);
      }
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
      send(res, 200, outcome.review);
    } catch (e) {
      const status = toStatus(e instanceof ApiError ? e : new InternalError(e instanceof Error ? e.message : String(e)));
      options.log.warn('admission review rejected', { code: status.code, error: status.message });
      options.onReview?.(undefined, seconds(), status.message);
      send(res, status.code, status);
    }
  };
}
