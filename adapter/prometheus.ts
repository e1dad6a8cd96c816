// The Prometheus side, behind a narrow interface. Instant queries go through
// prometheus-query, POSTed by default so a long name list never hits a URL
// length limit (GET on request, for read-only proxies that refuse POST);
// series discovery streams the response instead of buffering it.
// Every call is aborted, its connection closed, at the request deadline or
// when nobody waits for it any more, rather than left running until
// Prometheus' own timeout.
import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import https from 'node:https';
import { PrometheusDriver } from 'prometheus-query';
import { summarizeSeriesStream, type SeriesSummary } from './series-stream.js';

export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestampMs: number;
}

type PrometheusErrorKind =
  /** Prometheus could not be reached or answered 5xx. */
  | 'unavailable'
  /** Prometheus rejected the query (bad_data, execution errors). */
  | 'rejected'
  /** The request deadline or Prometheus' own timeout passed. */
  | 'timeout';

export class PrometheusError extends Error {
  constructor(
    readonly kind: PrometheusErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'PrometheusError';
  }
}

export interface QueryOptions {
  /** Absolute deadline, ms since the epoch. */
  readonly deadline: number;
  /**
   * Aborted when nobody waits for the answer any more: the call to
   * Prometheus stops, and rejects with the signal's reason.
   */
  readonly signal?: AbortSignal;
}

export interface MetricsSource {
  /** Runs an instant query; returns vector samples (a scalar becomes one sample without labels). */
  query(promql: string, options: QueryOptions): Promise<Sample[]>;
  /** Label names per metric for the series matching `match` in [now - lookback, now]. */
  series(match: string, lookbackSeconds: number, options: QueryOptions): Promise<SeriesSummary>;
}

interface PrometheusClientOptions {
  /** Base URL, with any path prefix (Thanos, Mimir and Cortex serve under one). */
  readonly url: string;
  /** Headers for every call, read per call so a rotated token applies at once. */
  readonly headers?: () => Readonly<Record<string, string>>;
  /** TLS material for https URLs. */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string };
  /** Upper bound for any one HTTP call, whatever the request deadline. */
  readonly maxTimeoutMs?: number;
  /**
   * Ask for gzip-compressed query answers (default false). Compressing
   * costs Prometheus more CPU than the query itself for the small answers
   * HPAs ask for, halving its throughput on loopback.
   */
  readonly compression?: boolean;
  /**
   * POST (default) puts the parameters in the body; GET in the URL, for
   * proxies that only pass GET, at the price of a URL length limit
   * (commonly 8 KiB at a proxy, 1 MiB in Go's net/http) on long selectors.
   */
  readonly verb?: 'GET' | 'POST';
}

/** Prometheus' `timeout` parameter: its own evaluation deadline, just inside ours. */
function prometheusTimeoutParam(deadline: number, now = Date.now()): string {
  const ms = Math.max(1, deadline - now - 50);
  // A bare number of seconds: Prometheus reads fractions that way, but not as "4.5s".
  return (ms / 1000).toFixed(3);
}

export class PrometheusClient implements MetricsSource {
  private readonly driver: PrometheusDriver;
  private readonly base: URL;
  private readonly agent: http.Agent | https.Agent;
  /**
   * The abort signal of the query being sent. prometheus-query takes no
   * options per call and keeps its axios instance to itself; its request
   * interceptor is the one place an axios `signal` can be set, and it runs a
   * few promise steps after instantQuery() is called, so the signal reaches it
   * through the call's async context. prometheus-query stays: on Node 24 (the
   * image's runtime) AsyncLocalStorage no longer uses async_hooks
   * (nodejs/node#55552). On Node 20 it does, and costs about 80 µs of
   * client CPU per uncached query: a median of 434 µs against 356 µs without
   * it, 10,000 queries to a local stand-in, three runs each (a bare node:http
   * call costs about 100 µs there). A cached answer costs 0.3 µs more.
   */
  private readonly callSignal = new AsyncLocalStorage<AbortSignal>();

  constructor(private readonly options: PrometheusClientOptions) {
    this.base = new URL(options.url.replace(/\/+$/, ''));
    this.agent = this.base.protocol === 'https:' ? new https.Agent({ keepAlive: true, ...(options.tls ?? {}) }) : new http.Agent({ keepAlive: true });
    const agent = this.agent;
    const headers = options.headers;
    const callSignal = this.callSignal;
    const acceptEncoding = options.compression ? 'gzip' : 'identity';
    this.driver = new PrometheusDriver({
      endpoint: this.base.toString().replace(/\/+$/, ''),
      baseURL: '/api/v1',
      preferPost: options.verb !== 'GET',
      timeout: options.maxTimeoutMs ?? 30_000,
      requestInterceptor: {
        onFulfilled: (config) => {
          config.headers.set('Accept-Encoding', acceptEncoding);
          if (headers) for (const [k, v] of Object.entries(headers())) config.headers.set(k, v);
          if (agent instanceof https.Agent) config.httpsAgent = agent;
          else config.httpAgent = agent;
          const signal = callSignal.getStore();
          if (signal) config.signal = signal;
          return config;
        },
      },
    });
  }

  async query(promql: string, options: QueryOptions): Promise<Sample[]> {
    const remaining = options.deadline - Date.now();
    if (remaining <= 0) throw new PrometheusError('timeout', 'the request deadline passed before the query was sent');
    const caller = options.signal;
    if (caller?.aborted) throw caller.reason;
    // Aborting closes the connection (axios destroys the request), so a
    // query nobody waits for stops holding a socket here, and its evaluation
    // there: Prometheus evaluates with the HTTP request's context
    // (web/api/v1/api.go), which Go's net/http cancels when the connection closes.
    const call = new AbortController();
    const timer = setTimeout(() => call.abort(new PrometheusError('timeout', 'no answer from Prometheus before the request deadline (--request-timeout)')), remaining);
    const onCallerGone = (): void => call.abort(caller?.reason);
    caller?.addEventListener('abort', onCallerGone, { once: true });
    try {
      const result = await this.callSignal.run(call.signal, () => this.driver.instantQuery(promql, new Date(), prometheusTimeoutParam(options.deadline)));
      return toSamples(result);
    } catch (e) {
      // The abort's reason, rather than axios' cancellation as prometheus-query reshapes it.
      if (call.signal.aborted) throw call.signal.reason;
      throw asPrometheusError(e);
    } finally {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onCallerGone);
    }
  }

  async series(match: string, lookbackSeconds: number, options: QueryOptions): Promise<SeriesSummary> {
    const now = Date.now() / 1000;
    const params = new URLSearchParams({ 'match[]': match, start: (now - lookbackSeconds).toFixed(3), end: now.toFixed(3) }).toString();
    const atDeadline = AbortSignal.timeout(Math.max(1, options.deadline - Date.now()));
    const signal = options.signal ? AbortSignal.any([atDeadline, options.signal]) : atDeadline;
    const url = new URL(`${this.base.pathname.replace(/\/+$/, '')}/api/v1/series`, this.base);
    const get = this.options.verb === 'GET';
    if (get) url.search = params;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? https : http).request(
        url,
        {
          method: get ? 'GET' : 'POST',
          agent: this.agent,
          signal,
          headers: {
            ...(get ? {} : { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(params) }),
            ...(this.options.headers?.() ?? {}),
          },
        },
        resolve,
      );
      req.on('error', (e) => reject(signal.aborted ? seriesAbortReason(options.signal) : asPrometheusError(e)));
      req.end(get ? undefined : params);
    });
    const status = res.statusCode ?? 0;
    if (status >= 500 || status === 401 || status === 403 || status === 404) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw new PrometheusError('unavailable', `Prometheus answered ${status} to /api/v1/series: ${errorText(Buffer.concat(chunks).toString('utf8'))}`);
    }
    try {
      return await summarizeSeriesStream(res, { signal });
    } catch (e) {
      if (signal.aborted) throw seriesAbortReason(options.signal);
      throw new PrometheusError(status < 300 ? 'unavailable' : 'rejected', (e as Error).message);
    }
  }
}

/** The caller's reason when it left, the deadline's otherwise. */
function seriesAbortReason(caller: AbortSignal | undefined): unknown {
  return caller?.aborted ? caller.reason : new PrometheusError('timeout', 'series discovery did not finish before its deadline');
}

function errorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { errorType?: string; error?: string };
    if (parsed.error) return parsed.errorType ? `${parsed.errorType}: ${parsed.error}` : parsed.error;
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.slice(0, 500) || 'no error text';
}

interface DriverResult {
  readonly resultType: string;
  readonly result: unknown;
}

interface DriverVectorItem {
  readonly metric: { readonly labels?: Record<string, string> } | null;
  readonly value: { readonly time: Date; readonly value: number };
}

function toSamples(result: DriverResult): Sample[] {
  if (result.resultType === 'vector') {
    return (result.result as DriverVectorItem[]).map((item) => ({
      labels: item.metric?.labels ?? {},
      value: item.value.value,
      timestampMs: item.value.time.getTime(),
    }));
  }
  if (result.resultType === 'scalar') {
    const v = result.result as { time: Date; value: number };
    return [{ labels: {}, value: v.value, timestampMs: v.time.getTime() }];
  }
  throw new PrometheusError('rejected', `the query returned a ${result.resultType}, not an instant vector`);
}

/** prometheus-query rejects with plain objects; turn every shape into a PrometheusError. */
function asPrometheusError(e: unknown): PrometheusError {
  if (e instanceof PrometheusError) return e;
  if (e instanceof Error) {
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return new PrometheusError('timeout', 'Prometheus did not answer before the deadline');
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const code = (e as { code?: string }).code;
    return new PrometheusError('unavailable', `cannot reach Prometheus: ${cause?.code ?? code ?? cause?.message ?? e.message}`);
  }
  const obj = (e ?? {}) as { errorType?: string; error?: string; httpStatus?: number; code?: string; prometheus?: { errorType?: string; error?: string } };
  const type = obj.prometheus?.errorType ?? obj.errorType ?? 'error';
  const text = obj.prometheus?.error ?? obj.error ?? 'unknown error';
  if (type === 'timeout_error' || type === 'timeout') return new PrometheusError('timeout', `Prometheus timed out: ${text}`);
  if (type === 'network_error' || type === 'ssl_error') return new PrometheusError('unavailable', `cannot reach Prometheus: ${obj.code ?? text}`);
  if (obj.httpStatus !== undefined && obj.httpStatus >= 500 && type !== 'execution') {
    return new PrometheusError('unavailable', `Prometheus answered ${obj.httpStatus}: ${type}: ${text}`);
  }
  return new PrometheusError('rejected', `${type}: ${text}`);
}
