// The few Kubernetes API calls delegated authentication makes: POST of a
// TokenReview or SubjectAccessReview, and LIST/WATCH of one ConfigMap.
// Like adapter/objects/kubernetes.ts, requests go through node:http(s) with
// the KubeConfig supplying TLS settings and credentials once per request,
// so rotated service-account tokens are picked up.
import * as http from 'node:http';
import * as https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeConnection } from '../objects/kubernetes.js';

export type Query = Readonly<Record<string, string | undefined>>;

export interface KubeResponse {
  readonly status: number;
  /** The parsed JSON body; undefined when it was not JSON. */
  readonly body: unknown;
  /** Seconds from a Retry-After header. */
  readonly retryAfterSeconds?: number;
}

export interface KubeRequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface KubeWatchOptions {
  readonly signal: AbortSignal;
  /** The longest silence tolerated on the stream. */
  readonly idleMs: number;
}

/** What the auth code needs from the API server; tests may supply their own. */
export interface KubeApi {
  request(method: 'GET' | 'POST', path: string, options?: KubeRequestOptions): Promise<KubeResponse>;
  /**
   * A WATCH: calls `onEvent` with each decoded event and resolves when the
   * server ends the stream. Rejects with KubeApiError for a non-200 answer.
   */
  watch(path: string, query: Query, onEvent: (event: unknown) => void, options: KubeWatchOptions): Promise<void>;
}

/** A failed call: `status` is the HTTP status (undefined for a network error). */
export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly reason?: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

const USER_AGENT = 'hpa-bridge';
const MAX_BODY = 4 * 1024 * 1024;

/** The Status message of an error body, or the HTTP reason phrase. */
export function statusMessage(status: number, body: unknown): { message: string; reason?: string } {
  const s = typeof body === 'object' && body !== null ? (body as { message?: unknown; reason?: unknown }) : {};
  const message = typeof s.message === 'string' && s.message !== '' ? s.message : http.STATUS_CODES[status] ?? 'error';
  return typeof s.reason === 'string' ? { message, reason: s.reason } : { message };
}

function kubeConfigOf(connection: KubeConnection): KubeConfig {
  // kubeConfigFrom() returns an object that carries its KubeConfig as `kc`;
  // the KubeConnection interface keeps it opaque to callers.
  const kc = (connection as unknown as { kc?: unknown }).kc;
  if (!(kc instanceof KubeConfig)) throw new TypeError('use kubeConfigFrom() to make the connection');
  return kc;
}

class ConnectionClient implements KubeApi {
  private readonly kc: KubeConfig;
  private readonly server: string;

  constructor(connection: KubeConnection) {
    this.kc = kubeConfigOf(connection);
    this.server = connection.server.replace(/\/+$/, '');
  }

  private async open(
    method: string,
    path: string,
    query: Query,
    body: string | undefined,
    idleMs: number,
    signal: AbortSignal | undefined,
  ): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    const opts: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    signal?.throwIfAborted();
    const base = opts.headers && !Array.isArray(opts.headers) ? (opts.headers as http.OutgoingHttpHeaders) : {};
    const headers: http.OutgoingHttpHeaders = { ...base, Accept: 'application/json', 'User-Agent': USER_AGENT };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const request = url.protocol === 'http:' ? http.request : https.request;
    return new Promise((resolve, reject) => {
      const req = request(url, {
        method,
        headers,
        ...(signal ? { signal } : {}),
        ...(opts.agent !== undefined ? { agent: opts.agent } : {}),
        ...(opts.auth ? { auth: opts.auth } : {}),
      });
      req.setTimeout(idleMs, () => req.destroy(new KubeApiError(`${method} ${path}: no answer from the API server within ${Math.round(idleMs / 1000)} s`)));
      req.on('error', reject);
      req.once('response', (res) => {
        res.on('error', () => undefined);
        resolve({ req, res });
      });
      req.end(body);
    });
  }

  async request(method: 'GET' | 'POST', path: string, options: KubeRequestOptions = {}): Promise<KubeResponse> {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const { req, res } = await this.open(method, path, options.query ?? {}, body, options.timeoutMs ?? 10_000, options.signal);
    let text = '';
    try {
      res.setEncoding('utf8');
      for await (const chunk of res) {
        text += chunk as string;
        if (text.length > MAX_BODY) throw new KubeApiError(`${method} ${path}: the response exceeds ${MAX_BODY} characters`);
      }
    } finally {
      req.destroy();
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const retryAfter = Number(res.headers['retry-after']);
    return {
      status: res.statusCode ?? 0,
      body: parsed,
      ...(Number.isFinite(retryAfter) && retryAfter >= 0 && res.headers['retry-after'] !== undefined ? { retryAfterSeconds: retryAfter } : {}),
    };
  }

  async watch(path: string, query: Query, onEvent: (event: unknown) => void, options: KubeWatchOptions): Promise<void> {
    const { req, res } = await this.open('GET', path, query, undefined, options.idleMs, options.signal);
    try {
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        let text = '';
        for await (const chunk of res) text += chunk as string;
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        const { message, reason } = statusMessage(res.statusCode ?? 0, body);
        throw new KubeApiError(`watch ${path}: ${res.statusCode ?? '?'}: ${message}`, res.statusCode, reason);
      }
      let buffered = '';
      for await (const chunk of res) {
        buffered += chunk as string;
        if (buffered.length > MAX_BODY) throw new KubeApiError(`watch ${path}: an event exceeds ${MAX_BODY} characters`);
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line !== '') onEvent(JSON.parse(line) as unknown);
        }
      }
      if (buffered.trim() !== '') onEvent(JSON.parse(buffered) as unknown);
    } finally {
      req.destroy();
    }
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
export function shouldRetry(err: unknown): boolean {
  if (err instanceof KubeApiError) {
    if (err.status === undefined) return true;
    if (err.status === 500 || err.status === 504 || err.status === 429) return true;
    return err.retryAfterSeconds !== undefined;
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'ECONNRESET' || code === 'ECONNREFUSED' || code === 'EPIPE' || code === 'ETIMEDOUT' || code === 'ECONNABORTED';
}

/** Runs `fn` until it succeeds, a failure is not worth retrying, the attempts run out or the deadline passes. */
export async function withRetries<T>(backoff: RetryBackoff, deadline: number, fn: () => Promise<T>, sleep: (ms: number) => Promise<void> = defaultSleep): Promise<T> {
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
