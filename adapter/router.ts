// The HTTP surface of the metrics APIs: a request (method and raw URL) in,
// a whole answer out. It parses, calls the provider and wraps the result;
// every error becomes a Kubernetes Status in one place. cli/http-surface.ts
// writes the answers with plain node:http.
import type { IncomingHttpHeaders } from 'node:http';
import type { Requirement } from '../k8s/label-selector.js';
import type { ResourceCatalog } from '../rules/resources.js';
import { CacheStore, DEFAULT_CACHE_MAX_BYTES, LoadingCache } from './cache.js';
import { apiGroupDiscoveryList, apiGroupList, apiResourceList, customApiGroup, customMetricValueList, externalApiGroup, externalMetricValueList, resourceMetricsApiGroup } from './documents.js';
import { BadRequestError, MethodNotAllowedError, NotFoundError, toStatus, type Status } from './errors.js';
import { documentHash, etagOf, ifNoneMatchHits } from './etag.js';
import { FieldSelectorError, parseFieldSelector, type FieldTerm } from '../k8s/field-selector.js';
import { LabelSelectorError, parseLabelSelector } from '../k8s/label-selector.js';
import { RepeatLimitedLog, type Logger } from './log.js';
import type { MetricsApiProvider, ResourceMetricsProvider } from './metrics-api-provider.js';
import { aggregatedDiscoveryContentType, negotiateObject, negotiatePlainJson, negotiateRootDiscovery, type AggregatedDiscoveryVersion } from './negotiation.js';
import { CUSTOM_GROUP, EXTERNAL_GROUP, parseMetricsPath, RESOURCE_METRICS_GROUP, type MetricsRequest } from './paths.js';
import { nodeMetrics, nodeMetricsList, parseIncludeObject, podMetrics, podMetricsList, usageTable } from './resource-documents.js';

export interface MetricsApiDeps {
  readonly provider: MetricsApiProvider;
  /** metrics.k8s.io; without one the group is never served. */
  readonly resourceMetrics?: ResourceMetricsProvider;
  readonly catalog: () => ResourceCatalog;
  /** Each request's deadline, from its arrival. */
  readonly requestTimeoutMs: number;
  readonly log: Logger;
  /**
   * Keep whole answers this long (0 disables). Every HPA asks the same
   * question every 15 s; within the query cache's TTL the answer cannot
   * change, so rebuilding and re-serialising it would be wasted work.
   */
  readonly responseCacheTtlSeconds?: number;
  /**
   * Where answers are kept, counting against the byte bound the query cache
   * shares. Default: a store of their own with the default bound.
   */
  readonly cacheStore?: CacheStore;
  /** Writes the `request failed` lines, repeats counted. Default: over `log`, in 10 s windows. */
  readonly failureLog?: RepeatLimitedLog;
}

function selectorParam(url: URL, name: string): Requirement[] {
  const values = url.searchParams.getAll(name);
  if (values.length > 1) throw new BadRequestError(`${name} may be given once`);
  try {
    return parseLabelSelector(values[0] ?? '');
  } catch (e) {
    if (e instanceof LabelSelectorError) throw new BadRequestError(`invalid ${name} ${JSON.stringify(values[0])}: ${e.message}`);
    throw e;
  }
}

/** The fields metrics-server selects on (apimachinery's DefaultMetaV1FieldSelectorConversion). */
const SELECTABLE_FIELDS = ['metadata.name', 'metadata.namespace'];

function fieldSelectorParam(url: URL): FieldTerm[] {
  const values = url.searchParams.getAll('fieldSelector');
  if (values.length > 1) throw new BadRequestError('fieldSelector may be given once');
  let terms: FieldTerm[];
  try {
    terms = parseFieldSelector(values[0] ?? '');
  } catch (e) {
    if (e instanceof FieldSelectorError) throw new BadRequestError(`invalid fieldSelector ${JSON.stringify(values[0])}: ${e.message}`);
    throw e;
  }
  const unknown = terms.find((t) => !SELECTABLE_FIELDS.includes(t.key));
  if (unknown) throw new BadRequestError(`${JSON.stringify(unknown.key)} is not a known field selector: only "metadata.name", "metadata.namespace"`);
  return terms;
}

function resourceMetricsNotConfigured(): NotFoundError {
  return new NotFoundError(
    `the server could not find the requested resource: ${RESOURCE_METRICS_GROUP} is served from resourceRules, and the rules loaded have none; add a resourceRules section to a rule file (see docs/metrics-api.md)`,
  );
}

/** A whole response: the status code and the JSON text. */
export interface Answer {
  readonly code: number;
  readonly body: string;
  /** Defaults to application/json. */
  readonly contentType?: string;
  /** More response headers (ETag, Vary, ...). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What a request carries besides its method and URL. */
export interface RequestContext {
  /** The Accept header, for content negotiation. */
  readonly accept?: string;
  /** The If-None-Match header, for documents served with an ETag. */
  readonly ifNoneMatch?: string;
  /** Aborted when nobody waits for the answer any more. */
  readonly signal?: AbortSignal;
}

/** The request headers an answer depends on (content negotiation, conditional requests). */
export function headerContext(headers: IncomingHttpHeaders): RequestContext {
  const { accept, 'if-none-match': ifNoneMatch } = headers;
  return { ...(accept !== undefined ? { accept } : {}), ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}) };
}

export interface MetricsApi {
  /**
   * Answers one request for a path under /apis (the raw URL, query
   * included, as the client sent it; authorization already done). Never
   * rejects: every error becomes a Status.
   */
  answer(method: string, url: string, context?: RequestContext): Promise<Answer>;
  /** Whether a URL is served by this API. */
  serves(path: string): boolean;
}

export function createMetricsApi(deps: MetricsApiDeps): MetricsApi {
  const ttl = deps.responseCacheTtlSeconds ?? 0;
  // Answers are cached after authorization (which runs before), keyed by
  // the full URL, and only when they succeeded. Identical requests in flight
  // share one answer, cache or not: the query cache already shares the
  // Prometheus call, and building and serialising the same list once per
  // caller is most of the remaining cost. The answer is built while any of
  // its callers still waits, and stopped, Prometheus call included, when the
  // last one has gone.
  const answers = new LoadingCache<string>({
    store: deps.cacheStore ?? new CacheStore({ maxBytes: ttl > 0 ? DEFAULT_CACHE_MAX_BYTES : 0 }),
    namespace: 'answers',
    ttlMs: ttl * 1000,
    // JSON text is one byte per character on V8's heap unless it holds non-Latin-1 text.
    sizeOf: (text) => text.length,
  });
  const failures = deps.failureLog ?? new RepeatLimitedLog(deps.log);
  const shared = (key: string, signal: AbortSignal | undefined, build: (loadSignal: AbortSignal) => Promise<unknown>): Promise<string> =>
    answers.get(key, async (loadSignal) => JSON.stringify(await build(loadSignal)), signal);
  const ok = (body: unknown): Answer => ({ code: 200, body: JSON.stringify(body) });

  // The aggregated document of the listing in force, per version: the
  // aggregator asks every minute, mostly to be told 304.
  // metrics.k8s.io follows the rules in force: listed, and served, only while resourceRules are loaded.
  const resourceServed = (): boolean => deps.resourceMetrics?.served() ?? false;
  let aggregated: { listingVersion: number; resourceMetrics: boolean; byVersion: Map<AggregatedDiscoveryVersion, { body: string; etag: string }> } | undefined;
  const aggregatedDiscovery = (version: AggregatedDiscoveryVersion, context: RequestContext): Answer => {
    const metrics = deps.provider.listAllMetrics();
    const resourceMetrics = resourceServed();
    let built = aggregated;
    if (built?.listingVersion !== metrics.version || built.resourceMetrics !== resourceMetrics) {
      built = { listingVersion: metrics.version, resourceMetrics, byVersion: new Map() };
      aggregated = built;
    }
    let doc = built.byVersion.get(version);
    if (!doc) {
      const body = JSON.stringify(apiGroupDiscoveryList(version, metrics, resourceMetrics));
      doc = { body, etag: etagOf(documentHash(body)) };
      built.byVersion.set(version, doc);
    }
    // As apiserver's ServeHTTPWithETag: the representation depends on Accept.
    const headers = { ETag: doc.etag, Vary: 'Accept', 'Cache-Control': 'public' };
    const contentType = aggregatedDiscoveryContentType(version);
    if (ifNoneMatchHits(context.ifNoneMatch, doc.etag)) return { code: 304, body: '', contentType, headers };
    return { code: 200, body: doc.body, contentType, headers };
  };
  const discoveryDocument = (context: RequestContext, build: () => unknown): Answer => {
    negotiatePlainJson(context.accept);
    return { ...ok(build()), headers: { Vary: 'Accept' } };
  };

  // PodMetrics and NodeMetrics, as objects or as a Table: the representation is part of the cache key.
  const resourceAnswer = async (parsed: Extract<MetricsRequest, { kind: 'pods' | 'nodes' }>, rawUrl: string, context: RequestContext): Promise<Answer> => {
    const provider = deps.resourceMetrics;
    if (!provider) throw resourceMetricsNotConfigured();
    const representation = negotiateObject(context.accept);
    const headers = { Vary: 'Accept' };
    const key = `${rawUrl}\u0000${representation.kind === 'table' ? `table/${representation.version}` : 'object'}`;
    const cached = answers.cached(key);
    if (cached !== undefined) return { code: 200, body: cached, headers };
    const url = new URL(rawUrl, 'http://localhost');
    const watch = url.searchParams.get('watch');
    if (watch !== null && watch !== '' && watch !== '0' && watch.toLowerCase() !== 'false') {
      throw new MethodNotAllowedError(`watch is not supported on ${parsed.kind}.${RESOURCE_METRICS_GROUP}; list again instead`);
    }
    const includeObject = representation.kind === 'table' ? parseIncludeObject(url.searchParams.get('includeObject')) : 'Metadata';
    // A get names its object; like apiserver, it reads no selectors.
    const named = parsed.name !== undefined;
    const query = {
      ...(named ? { name: parsed.name } : {}),
      labelSelector: named ? [] : selectorParam(url, 'labelSelector'),
      fieldSelector: named ? [] : fieldSelectorParam(url),
      deadline: Date.now() + deps.requestTimeoutMs,
    };
    const body = await shared(key, context.signal, async (signal) => {
      const now = new Date();
      const { version } = parsed;
      if (parsed.kind === 'pods') {
        const items = await provider.podMetrics({ ...query, ...(parsed.namespace !== undefined ? { namespace: parsed.namespace } : {}), signal });
        if (representation.kind === 'table') return usageTable(representation.version, version, { kind: 'pods', items }, includeObject, now);
        return named && items[0] ? podMetrics(version, items[0], now) : podMetricsList(version, items, now);
      }
      const items = await provider.nodeMetrics({ ...query, signal });
      if (representation.kind === 'table') return usageTable(representation.version, version, { kind: 'nodes', items }, includeObject, now);
      return named && items[0] ? nodeMetrics(version, items[0], now) : nodeMetricsList(version, items, now);
    });
    return { code: 200, body, headers };
  };

  const answerOrThrow = async (method: string, rawUrl: string, context: RequestContext): Promise<Answer> => {
    if (method !== 'GET' && method !== 'HEAD') throw new MethodNotAllowedError(`method ${method} is not supported; the metrics APIs are read-only`);
    // Raw segments: `*` arrives as %2A and must be decoded exactly once.
    const raw = (rawUrl.split('?')[0] ?? '').replace(/^\/apis\/?/, '');
    const segments = raw === '' ? [] : raw.replace(/\/$/, '').split('/');
    if (segments.length === 0) {
      const format = negotiateRootDiscovery(context.accept);
      return format.kind === 'aggregated' ? aggregatedDiscovery(format.version, context) : discoveryDocument(context, () => apiGroupList(resourceServed()));
    }
    if (segments[0] === RESOURCE_METRICS_GROUP && !resourceServed()) throw resourceMetricsNotConfigured();
    if (segments.length === 1) {
      if (segments[0] === CUSTOM_GROUP) return discoveryDocument(context, customApiGroup);
      if (segments[0] === EXTERNAL_GROUP) return discoveryDocument(context, externalApiGroup);
      if (segments[0] === RESOURCE_METRICS_GROUP) return discoveryDocument(context, resourceMetricsApiGroup);
      throw new NotFoundError(`the server could not find the requested resource: /apis/${segments.join('/')}`);
    }
    const parsed = parseMetricsPath(segments, deps.catalog());
    if (parsed.kind === 'discovery') return discoveryDocument(context, () => apiResourceList(parsed.group, parsed.version, deps.provider.listAllMetrics()));
    if (parsed.kind === 'pods' || parsed.kind === 'nodes') return resourceAnswer(parsed, rawUrl, context);
    const cached = answers.cached(rawUrl);
    if (cached !== undefined) return { code: 200, body: cached };
    const url = new URL(rawUrl, 'http://localhost');
    const deadline = Date.now() + deps.requestTimeoutMs;
    if (parsed.kind === 'object') {
      const labelSelector = selectorParam(url, 'labelSelector');
      const metricSelector = selectorParam(url, 'metricLabelSelector');
      const body = await shared(rawUrl, context.signal, async (loadSignal) => {
        const items = await deps.provider.objectMetrics({
          resource: parsed.resource,
          ...(parsed.namespace !== undefined ? { namespace: parsed.namespace } : {}),
          name: parsed.name,
          metric: parsed.metric,
          labelSelector,
          metricSelector,
          deadline,
          signal: loadSignal,
        });
        return customMetricValueList(parsed.version, items, metricSelector);
      });
      return { code: 200, body };
    }
    // For external metrics, labelSelector is the metric selector.
    const metricSelector = selectorParam(url, 'labelSelector');
    const body = await shared(rawUrl, context.signal, async (loadSignal) =>
      externalMetricValueList(await deps.provider.externalMetrics({ namespace: parsed.namespace, metric: parsed.metric, metricSelector, deadline, signal: loadSignal })),
    );
    return { code: 200, body };
  };

  return {
    serves: (path) => path === '/apis' || path.startsWith('/apis/'),
    answer: async (method, url, context = {}) => {
      try {
        return await answerOrThrow(method, url, context);
      } catch (e) {
        const status = toStatus(e);
        // A client that has gone reads no answer, and its leaving is no failure.
        if (status.code >= 500 && !context.signal?.aborted) {
          failures.warn(failureKey(status), 'request failed', { path: url.split('?')[0], code: status.code, message: status.message });
        }
        return { code: status.code, body: JSON.stringify(status) };
      }
    },
  };
}

/**
 * What makes two failures the same for the log: the code and the message,
 * without the PromQL the provider appends, which lists the objects asked
 * for and so differs per request. The rule (with its file:line) and the
 * backend's error stay in.
 */
export function failureKey(status: Status): string {
  const query = status.message.indexOf('; query: ');
  return `${status.code} ${query >= 0 ? status.message.slice(0, query) : status.message}`;
}
