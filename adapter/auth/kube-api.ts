// The few Kubernetes API calls delegated authentication makes: POST of a
// TokenReview or SubjectAccessReview, and LIST/WATCH of one ConfigMap, with
// the retries k8s.io/apiserver gives its authentication webhooks.
import { KubeApiError, KubeClient, statusMessage, type KubeConnection, type KubeResponse, type Query, type WatchOptions } from '../kube/client.js';

export interface KubeRequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** What the auth code needs from the API server; tests may supply their own. */
export interface KubeApi {
  request(method: 'GET' | 'POST', path: string, options?: KubeRequestOptions): Promise<KubeResponse>;
  /** A WATCH, as KubeClient.watch: one call of `onLine` per event line. */
  watch(path: string, options: WatchOptions, onLine: (line: string) => void): Promise<KubeResponse>;
}

/** The longest answer, and the longest watch event, the auth calls accept. */
const MAX_BODY = 4 * 1024 * 1024;

class ConnectionClient implements KubeApi {
  private readonly client: KubeClient;

  constructor(connection: KubeConnection) {
    this.client = new KubeClient(connection);
  }

  request(method: 'GET' | 'POST', path: string, options: KubeRequestOptions = {}): Promise<KubeResponse> {
    return this.client.request(path, {
      method,
      query: options.query,
      body: options.body,
      idleMs: options.timeoutMs ?? 10_000,
      signal: options.signal,
      maxChars: MAX_BODY,
    });
  }

  watch(path: string, options: WatchOptions, onLine: (line: string) => void): Promise<KubeResponse> {
    return this.client.watch(path, { ...options, maxLineChars: Math.min(options.maxLineChars, MAX_BODY) }, onLine);
  }
}

/** A KubeApi over a connection made by kubeConfigFrom(). */
export function kubeApiFor(connection: KubeConnection): KubeApi {
  return new ConnectionClient(connection);
}

/** k8s.io/apiserver's DefaultAuthWebhookRetryBackoff: 500 ms, ×1.5, 20 % jitter, 5 attempts. */
export interface RetryBackoff {
  readonly initialMs: number;
  readonly factor: number;
  readonly jitter: number;
  readonly steps: number;
}

export const DEFAULT_RETRY_BACKOFF: RetryBackoff = { initialMs: 500, factor: 1.5, jitter: 0.2, steps: 5 };

/**
 * webhook.DefaultShouldRetry: connection resets, 500 InternalError, 504
 * Timeout, 429 TooManyRequests and answers that ask for a delay. Other
 * failures (401, 403, 404, 400...) fail at once.
 */
function shouldRetry(err: unknown): boolean {
  if (err instanceof KubeApiError) {
    if (err.status === undefined) return true;
    if (err.status === 500 || err.status === 504 || err.status === 429) return true;
    return err.retryAfterSeconds !== undefined;
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'ECONNRESET' || code === 'ECONNREFUSED' || code === 'EPIPE' || code === 'ETIMEDOUT' || code === 'ECONNABORTED';
}

/** Runs `fn` until it succeeds, a failure is not worth retrying, the attempts run out or the deadline passes. */
async function withRetries<T>(backoff: RetryBackoff, deadline: number, fn: () => Promise<T>, sleep: (ms: number) => Promise<void> = defaultSleep): Promise<T> {
  let delay = backoff.initialMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= backoff.steps || !shouldRetry(err)) throw err;
      const wait = delay * (1 + Math.random() * backoff.jitter);
      if (Date.now() + wait >= deadline) throw err;
      await sleep(wait);
      delay *= backoff.factor;
    }
  }
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * POSTs a review object and returns its status; throws KubeApiError when
 * the API server did not answer with the review (any non-2xx answer).
 */
export async function postReview(api: KubeApi, path: string, review: object, timeoutMs: number, backoff: RetryBackoff): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  return withRetries(backoff, deadline, async () => {
    const remaining = Math.max(1, deadline - Date.now());
    let res: KubeResponse;
    try {
      res = await api.request('POST', path, { body: review, timeoutMs: remaining, signal: AbortSignal.timeout(remaining) });
    } catch (err) {
      if (err instanceof KubeApiError) throw err;
      const e = err as Error & { code?: string };
      throw Object.assign(new KubeApiError(`POST ${path}: ${e.message}`), e.code ? { code: e.code } : {});
    }
    if (res.status < 200 || res.status > 299) {
      const { message, reason } = statusMessage(res.status, res.body);
      throw new KubeApiError(`POST ${path}: ${res.status}${reason ? ` ${reason}` : ''}: ${message}`, res.status, reason, res.retryAfterSeconds);
    }
    const body = res.body as { status?: unknown } | undefined;
    const status = body && typeof body.status === 'object' && body.status !== null ? (body.status as Record<string, unknown>) : {};
    return status;
  });
}
