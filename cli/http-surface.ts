// Every path hpa-bridge serves, on the secure port and on the plain
// --http-port, as one plain node:http handler: the metrics APIs, /mutate,
// the health checks, OpenAPI and /metrics. One guard (delegated
// authentication and authorization) stands in front of every secure path
// but /mutate, whose caller is kube-apiserver calling an admission webhook,
// not a metrics client. Every error becomes a Kubernetes Status through
// toStatus. Plain handlers rather than a framework: the metrics APIs (every
// HPA, every 15 s) and the webhook (every workload write) are hot, and a
// framework's routing cost about 90 µs a request (BENCHMARKS.md).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { NotFoundError, toStatus } from '../adapter/errors.js';
import type { Logger, RepeatLimitedLog } from '../adapter/log.js';
import { answerOpenApi } from '../adapter/openapi.js';
import { failureKey, headerContext, type Answer, type MetricsApi } from '../adapter/router.js';
import type { RequestGuard } from '../adapter/auth/guard.js';
import { answerScrape, classifyPath, type BridgeMetrics } from './metrics.js';
import { healthAnswer, healthQuery, type HealthCheck } from './readiness.js';

interface HttpSurfaceDeps {
  readonly log: Logger;
  /** Writes the `request failed` lines, repeats counted. */
  readonly failureLog: RepeatLimitedLog;
  readonly metrics: BridgeMetrics;
  readonly metricsApi: MetricsApi;
  readonly mutate: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** The readiness checks as they stand now, for /readyz and /healthz. */
  readonly readiness: () => readonly HealthCheck[];
  /** Absent with --authentication none. */
  readonly guard?: RequestGuard;
  /** Whether metrics.k8s.io is served now, for the OpenAPI documents. */
  readonly resourceMetricsServed?: () => boolean;
}

/** What a listener serves: the secure port everything, the plain port only the webhook and health checks. */
type Surface = 'secure' | 'plain';

const OPENAPI_PATH = /^\/openapi\/v[23](\/.*)?$/;
const HEALTH_ENDPOINTS = new Set(['/livez', '/readyz', '/healthz']);

function writeAnswer(req: IncomingMessage, res: ServerResponse, { code, body, contentType, headers }: Answer): void {
  res.writeHead(code, { ...headers, 'Content-Type': contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function writeText(req: IncomingMessage, res: ServerResponse, code: number, body: string): void {
  writeAnswer(req, res, { code, body, contentType: 'text/plain; charset=utf-8' });
}

export function createHttpSurface(deps: HttpSurfaceDeps, surface: Surface): RequestListener {
  const { log, metrics, metricsApi, guard, failureLog } = deps;

  // Request ids, the request metrics and a debug line, for every route.
  const instrument = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const header = req.headers['x-request-id'];
    const id = (typeof header === 'string' ? header.slice(0, 64) : '') || randomUUID();
    res.setHeader('X-Request-Id', id);
    res.on('finish', () => {
      const seconds = (performance.now() - started) / 1000;
      const url = req.url ?? '/';
      const { api, version } = classifyPath(url.split('?')[0] ?? '');
      metrics.observeRequest(api, version, res.statusCode, seconds);
      if (api !== 'health') log.debug('request', { requestId: id, method: req.method, path: url, code: res.statusCode, seconds: Number(seconds.toFixed(4)) });
    });
  };

  const fail = (req: IncomingMessage, res: ServerResponse, path: string, error: unknown): void => {
    const status = toStatus(error);
    if (status.code >= 500) failureLog.warn(failureKey(status), 'request failed', { path, code: status.code, message: status.message });
    writeAnswer(req, res, { code: status.code, body: JSON.stringify(status) });
  };

  const answerMetrics = async (req: IncomingMessage, res: ServerResponse, url: string): Promise<void> => {
    // A client that disconnects before its answer is written leaves the
    // answer's load; the last one to leave stops it, Prometheus call included.
    const client = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) client.abort(new DOMException('the client disconnected', 'AbortError'));
    });
    const answer = await metricsApi.answer(req.method ?? 'GET', url, { ...headerContext(req.headers), signal: client.signal });
    if (!client.signal.aborted) writeAnswer(req, res, answer);
  };

  const health = (req: IncomingMessage, res: ServerResponse, url: string, path: string): void => {
    if (path === '/livez') return writeText(req, res, 200, 'ok');
    const q = url.indexOf('?');
    const answer = healthAnswer(path.slice(1), deps.readiness(), healthQuery(q === -1 ? {} : parseQuery(url.slice(q + 1))));
    writeText(req, res, answer.status, answer.body);
  };

  // Everything but /mutate, after the guard let the request through.
  const route = async (req: IncomingMessage, res: ServerResponse, url: string, path: string): Promise<void> => {
    const readOnly = req.method === 'GET' || req.method === 'HEAD';
    if (surface === 'secure' && metricsApi.serves(path)) return answerMetrics(req, res, url);
    if (readOnly && HEALTH_ENDPOINTS.has(path)) {
      health(req, res, url, path);
      return;
    }
    if (surface === 'secure' && readOnly && path === '/metrics') {
      answerScrape(metrics.registry, res);
      return;
    }
    // kube-aggregator downloads these as system:aggregator, which the
    // system:discovery ClusterRole lets get /openapi and /openapi/*.
    if (surface === 'secure' && readOnly && OPENAPI_PATH.test(path)) {
      writeAnswer(req, res, answerOpenApi(req.method ?? 'GET', url, headerContext(req.headers), { resourceMetrics: deps.resourceMetricsServed?.() ?? false }));
      return;
    }
    throw new NotFoundError(`the server could not find the requested resource: ${path}`);
  };

  return (req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?', 1)[0] ?? '/';
    instrument(req, res);
    if (path === '/mutate') return void deps.mutate(req, res);
    // The metrics APIs never go out over plain HTTP: only the webhook and health checks do.
    const checked = surface === 'secure' && guard ? guard(req, url) : Promise.resolve(undefined);
    checked
      .then(() => route(req, res, url, path))
      .catch((e: unknown) => fail(req, res, path, e))
      .catch((e: unknown) => {
        log.error('cannot answer a request', { path, error: (e as Error).message });
        res.destroy();
      });
  };
}
