// hpa-bridge's own metrics (prom-client): at /metrics on the secure port,
// behind authentication and a SubjectAccessReview (non-resource get of
// /metrics, as every k8s.io/apiserver server serves them), and on a
// plain-HTTP port without either, for scrape configs that predate the
// secure one. Rules are labelled `file:line` relative to their --rules path.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RuleOrigin } from '../rules/compile.js';
import type { MetricDiscovery } from '../adapter/discovery.js';
import type { PrometheusError } from '../adapter/prometheus.js';
import type { CacheStore } from '../adapter/cache.js';
import type { CachingMetricsSource } from '../adapter/query-cache.js';
import { ruleLocation } from '../rules/location.js';
import type { RuleStore } from '../rules/watch.js';
import type { ReviewOutcome } from '../webhook/review.js';
import { readBuildInfo, type BuildInfo } from './build-info.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface BridgeMetrics {
  readonly registry: Registry;
  observeRequest(api: string, version: string, code: number, seconds: number): void;
  /** A rule's query: `rule` is labelled by the file:line of its origin (a rule, or one query of resourceRules). */
  observeQuery(rule: { readonly origin: RuleOrigin }, seconds: number, error?: PrometheusError): void;
  observeReview(outcome: ReviewOutcome | undefined, seconds: number, error?: string): void;
}

export function createMetrics(sources: { rules: RuleStore; discovery: MetricDiscovery; cache: CachingMetricsSource; cacheStore?: CacheStore; build?: BuildInfo }): BridgeMetrics {
  const registry = new Registry();
  // No prefix: process_* and nodejs_* keep the names every Node.js and Go
  // exporter uses, so shared dashboards and alerts apply unchanged.
  collectDefaultMetrics({ register: registry });
  const build = sources.build ?? readBuildInfo();
  new Gauge({ name: 'hpa_bridge_build_info', help: 'Always 1; the labels say which build is running.', labelNames: ['version', 'revision', 'nodejs_version'], registers: [registry] }).set(
    { ...build },
    1,
  );
  const requests = new Counter({ name: 'hpa_bridge_requests_total', help: 'API requests by API, version and HTTP code.', labelNames: ['api', 'version', 'code'], registers: [registry] });
  const duration = new Histogram({ name: 'hpa_bridge_request_duration_seconds', help: 'API request duration.', labelNames: ['api', 'version'], buckets: LATENCY_BUCKETS, registers: [registry] });
  const queryDuration = new Histogram({
    name: 'hpa_bridge_prometheus_query_duration_seconds',
    help: 'Prometheus query duration by rule.',
    labelNames: ['rule'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const queryErrors = new Counter({ name: 'hpa_bridge_prometheus_query_errors_total', help: 'Failed Prometheus queries by rule and kind.', labelNames: ['rule', 'kind'], registers: [registry] });
  const { cache, discovery, rules } = sources;
  new Counter({
    name: 'hpa_bridge_cache_hits_total',
    help: 'Queries answered from the cache.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(cache.stats.hits);
    },
  });
  new Counter({
    name: 'hpa_bridge_cache_misses_total',
    help: 'Queries sent to Prometheus.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(cache.stats.misses);
    },
  });
  new Counter({
    name: 'hpa_bridge_cache_coalesced_total',
    help: 'Queries that joined an identical query in flight.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(cache.stats.coalesced);
    },
  });
  const store = sources.cacheStore;
  if (store) {
    new Gauge({
      name: 'hpa_bridge_cache_bytes',
      help: 'Estimated bytes held by cached query results and answers (bounded by --cache-max-bytes).',
      registers: [registry],
      collect() {
        this.set(store.bytes);
      },
    });
    new Gauge({
      name: 'hpa_bridge_cache_entries',
      help: 'Cached query results and answers.',
      registers: [registry],
      collect() {
        this.set(store.entries);
      },
    });
  }
  new Gauge({
    name: 'hpa_bridge_discovery_age_seconds',
    help: 'Seconds since the last fully successful discovery (-1 before the first).',
    registers: [registry],
    collect() {
      const last = discovery.status.lastSuccess;
      this.set(last ? (Date.now() - last.getTime()) / 1000 : -1);
    },
  });
  new Gauge({
    name: 'hpa_bridge_discovery_metrics',
    help: 'Discovered metrics by kind.',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.set({ kind: 'custom' }, discovery.status.customMetrics);
      this.set({ kind: 'external' }, discovery.status.externalMetrics);
    },
  });
  new Counter({
    name: 'hpa_bridge_discovery_failures_total',
    help: 'Relists with at least one failed series query.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(discovery.status.failedRelists);
    },
  });
  new Gauge({
    name: 'hpa_bridge_discovery_duration_seconds',
    help: 'Duration of the last relist.',
    registers: [registry],
    collect() {
      this.set(discovery.status.lastDurationSeconds ?? 0);
    },
  });
  new Counter({
    name: 'hpa_bridge_rule_reloads_total',
    help: 'Rule loads by result.',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'success' }, rules.status.reloads.succeeded);
      this.inc({ result: 'failure' }, rules.status.reloads.failed);
    },
  });
  new Gauge({
    name: 'hpa_bridge_rules_up_to_date',
    help: '1 when the newest rule files are the ones being served.',
    registers: [registry],
    collect() {
      this.set(rules.status.upToDate ? 1 : 0);
    },
  });
  new Gauge({
    name: 'hpa_bridge_rule_reload_duration_seconds',
    help: 'Duration of the last rule load.',
    registers: [registry],
    collect() {
      this.set(rules.status.lastDurationSeconds ?? 0);
    },
  });
  new Gauge({
    name: 'hpa_bridge_rules_last_success_timestamp_seconds',
    help: 'When the rules being served were loaded.',
    registers: [registry],
    collect() {
      this.set((rules.status.servingSince?.getTime() ?? 0) / 1000);
    },
  });
  const reviews = new Counter({ name: 'hpa_bridge_webhook_reviews_total', help: 'Admission reviews by result.', labelNames: ['result'], registers: [registry] });
  const reviewDuration = new Histogram({ name: 'hpa_bridge_webhook_review_duration_seconds', help: 'Admission review duration.', buckets: LATENCY_BUCKETS, registers: [registry] });

  return {
    registry,
    observeRequest(api, version, code, seconds) {
      requests.inc({ api, version, code: String(code) });
      duration.observe({ api, version }, seconds);
    },
    observeQuery(rule, seconds, error) {
      const name = ruleLocation(rule.origin, rules.paths);
      queryDuration.observe({ rule: name }, seconds);
      if (error) queryErrors.inc({ rule: name, kind: error.kind });
    },
    observeReview(outcome, seconds, error) {
      reviews.inc({ result: error ? 'error' : outcome?.summary.patched ? 'patched' : 'unchanged' });
      reviewDuration.observe(seconds);
    },
  };
}

/** `api` and `version` labels for a request path, kept to a small fixed set. */
export function classifyPath(path: string): { api: string; version: string } {
  const m = /^\/apis\/(custom|external)\.metrics\.k8s\.io(?:\/(v1beta1|v1beta2))?/.exec(path);
  if (m) return { api: `${m[1] ?? ''}.metrics.k8s.io`, version: m[2] ?? '' };
  const r = /^\/apis\/metrics\.k8s\.io(?:\/(v1beta1|v1)(?=\/|$))?/.exec(path);
  if (r) return { api: 'metrics.k8s.io', version: r[1] ?? '' };
  if (path === '/mutate') return { api: 'webhook', version: '' };
  if (path === '/livez' || path === '/readyz' || path === '/healthz') return { api: 'health', version: '' };
  if (path.startsWith('/apis')) return { api: 'discovery', version: '' };
  return { api: 'other', version: '' };
}

/** Writes the registry's exposition text, on either port. */
export function answerScrape(registry: Registry, res: ServerResponse): void {
  registry.metrics().then(
    (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
    (e: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`cannot collect metrics: ${(e as Error).message}\n`),
  );
}

export async function serveMetrics(registry: Registry, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    answerScrape(registry, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

export function portOf(server: Server | import('node:https').Server): number {
  return (server.address() as AddressInfo).port;
}
