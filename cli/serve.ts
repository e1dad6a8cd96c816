// `hpa-bridge serve`: the composition root. It builds the parts (rules,
// discovery, Prometheus, the object source, authentication, the HTTP
// surface, the listeners) once, starts them in order through a Lifecycle
// and stops them in reverse.
import { customMetricKey, MetricDiscovery, type MetricRegistry } from '../adapter/discovery.js';
import { CacheStore, DEFAULT_CACHE_MAX_BYTES } from '../adapter/cache.js';
import { jsonLogger, RepeatLimitedLog, type Logger } from '../adapter/log.js';
import { PrometheusObjectSource } from '../adapter/objects/prometheus.js';
import type { ObjectLister } from '../adapter/objects/types.js';
import { MetricsProvider } from '../adapter/provider.js';
import { ResourceMetricsFromRules } from '../adapter/resource-provider.js';
import { CachingMetricsSource } from '../adapter/query-cache.js';
import { createMetricsApi } from '../adapter/router.js';
import type { KubeConnection } from '../adapter/kube/client.js';
import { formatDiagnostic } from '../rules/diagnostics.js';
import { StaticResourceCatalog, type ResourceCatalog } from '../rules/resources.js';
import { describedObjectResource } from '../explain/request.js';
import { RuleStore, RuleWatcher } from '../rules/watch.js';
import { createWebhookHandler } from '../webhook/handler.js';
import { TemplateMemory, type NamedMetric } from '../webhook/hpa-review.js';
// Only types and flag tables here: the Kubernetes client library costs about
// 110 MB of memory, so it is loaded only when a mode that talks to the API runs.
import { AuthConfigError } from '../adapter/auth/config.js';
import type { DelegatedAuth } from '../adapter/auth/index.js';
import type { Output } from './args.js';
import { StartupError } from './errors.js';
import { createHttpSurface } from './http-surface.js';
import { busy, plainListener, secureListener, servingCertificate, watchServingCertificate } from './listeners.js';
import { Lifecycle } from './lifecycle.js';
import { createMetrics, portOf, serveMetrics } from './metrics.js';
import { prometheusClientFor } from './prometheus-connection.js';
import { readinessChecks } from './readiness.js';
import { parseServeArgs, SERVE_USAGE, type ServeConfig } from './serve-config.js';
import { checkRulePaths } from './startup-files.js';

export { parseServeArgs, SERVE_USAGE, type ObjectSourceKind, type PrometheusConnectionConfig, type ServeConfig } from './serve-config.js';
export { StartupError } from './errors.js';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** The /metrics port, when it is served. */
  readonly metricsPort: number | undefined;
  /** The plain-HTTP webhook port, when it is served. */
  readonly httpPort: number | undefined;
  readonly rules: RuleStore;
  readonly discovery: MetricDiscovery;
  readonly cache: CachingMetricsSource;
  /** Re-reads the serving certificate now (it is also re-read when its files change). */
  reloadTls(): Promise<void>;
  /** Stops accepting connections and waits up to the grace period for requests in flight. */
  close(): Promise<void>;
}

async function startAuth(config: ServeConfig, connection: KubeConnection | undefined, log: Logger): Promise<DelegatedAuth> {
  const { startDelegatedAuth } = await import('../adapter/auth/index.js');
  try {
    return await startDelegatedAuth({
      ...(connection ? { connection } : {}),
      flags: config.authFlags ?? {},
      anonymous: config.anonymousAuth ?? false,
      ...(config.authCacheTtlMs ? { tokenCacheTtlMs: config.authCacheTtlMs.token, allowCacheTtlMs: config.authCacheTtlMs.allowed, denyCacheTtlMs: config.authCacheTtlMs.denied } : {}),
      log,
    });
  } catch (e) {
    const named = config.authKubeconfig ?? (config.kubeconfig ? { flag: 'kubeconfig', path: config.kubeconfig } : undefined);
    const hint =
      e instanceof AuthConfigError
        ? ''
        : `; check that ${named ? `--${named.flag} ${named.path}` : 'the kubeconfig'} reaches the API server (${connection?.server ?? 'none'}), ` +
          'or pass --authentication-tolerate-lookup-failure to start without the ConfigMap';
    throw new StartupError(`delegated authentication could not start: ${(e as Error).message}${hint}`);
  }
}

/** The object source, and the resource catalog rules and discovery resolve names against. */
async function objectSourceFor(
  config: ServeConfig,
  connection: KubeConnection | undefined,
  metrics: CachingMetricsSource,
  log: Logger,
): Promise<{ objects: ObjectLister; catalog: () => ResourceCatalog }> {
  if (config.objectSource === 'prometheus' || !connection) {
    const staticCatalog = new StaticResourceCatalog();
    const catalog = (): ResourceCatalog => staticCatalog;
    return { objects: new PrometheusObjectSource({ metrics, catalog, timeoutMs: config.requestTimeoutMs }), catalog };
  }
  const { createKubernetesObjectSource } = await import('./kubernetes-source.js');
  const source = createKubernetesObjectSource(connection, log);
  // The live catalog includes CRDs, so rules can name any resource the cluster serves.
  return { objects: source, catalog: () => source.catalog() };
}

/** A catalog that always asks the current one, for holders created before discovery finishes. */
function liveCatalog(current: () => ResourceCatalog): ResourceCatalog {
  return { find: (group, name) => current().find(group, name), all: () => current().all() };
}

/**
 * Whether the discovered metrics include one an HPA names (undefined before
 * the first discovery), for the webhook's HPA warnings. An Object metric's
 * kind is mapped to its resource as the HPA controller's RESTMapper does.
 */
export function metricServed(registry: MetricRegistry | undefined, catalog: ResourceCatalog, m: NamedMetric): boolean | undefined {
  if (registry === undefined) return undefined;
  if (m.source === 'External') return registry.external.has(m.metric);
  if (m.source === 'Pods') return registry.custom.has(customMetricKey({ group: '', resource: 'pods' }, m.metric));
  return registry.custom.has(customMetricKey(describedObjectResource(m.describedObject, catalog), m.metric));
}

/** Starts everything; resolves once the ports are listening. */
export async function startServer(config: ServeConfig, log: Logger): Promise<RunningServer> {
  // Mistakes in files the flags name fail start-up at once, before anything runs.
  await checkRulePaths(config.rules);
  const tls = await ((config.tlsCertFile && config.tlsKeyFile) || config.certDir ? servingCertificate(config, log) : undefined);
  const needsApi = config.authentication === 'delegated' || config.objectSource === 'kubernetes';
  const connections = needsApi ? (await import('./kubernetes-source.js')).serveConnections(config) : {};
  const lifecycle = new Lifecycle();
  try {
    let auth: DelegatedAuth | undefined;
    if (config.authentication === 'delegated') {
      const started = await startAuth(config, connections.authentication, log);
      auth = started;
      lifecycle.add({ name: 'authentication', stop: () => started.close() });
    } else log.warn('authentication is off (--authentication none): any client that reaches the port can read every metric; use this only for local runs');

    // Query results and whole answers count against one byte bound.
    const cacheStore = new CacheStore({ maxBytes: config.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES });
    const prometheus = prometheusClientFor(config);
    const cache = new CachingMetricsSource(prometheus, config.cacheTtlSeconds, cacheStore);
    lifecycle.add({ name: 'query cache', stop: () => cache.close() });
    const { objects, catalog } = await objectSourceFor(config, connections.lister, cache, log);
    lifecycle.add({ name: 'object source', stop: () => objects.close() });

    const rules = new RuleStore(config.rules, liveCatalog(catalog));
    rules.on('applied', (set, result) => {
      log.info('rules loaded', { files: set.files, custom: set.rules.length, external: set.externalRules.length, defaults: set.defaults.entries.length, warnings: result.warnings.length });
      for (const w of result.warnings) log.warn('rule warning', { diagnostic: formatDiagnostic(w) });
    });
    rules.on('rejected', (result) => {
      log.error(rules.rules ? 'rule change rejected; still serving the last good rules' : 'rules failed to load', { errors: result.errors.map(formatDiagnostic) });
    });
    await rules.reload();
    const discovery = new MetricDiscovery(
      prometheus,
      () => rules.rules,
      catalog,
      {
        intervalMs: config.relistIntervalMs,
        lookbackSeconds: config.maxAgeSeconds,
        timeoutMs: Math.min(config.relistIntervalMs, 60_000),
      },
      log,
    );
    rules.on('applied', () => void discovery.relist());

    const metrics = createMetrics({ rules, discovery, cache, cacheStore });
    const onQuery = metrics.observeQuery.bind(metrics);
    const provider = new MetricsProvider({ registry: () => discovery.registry, metrics: cache, objects, catalog, log, onQuery, sharedEvaluation: config.sharedEvaluation ?? true });
    // Reads the rule set in force on every request, so reloads apply at once.
    const resourceMetrics = new ResourceMetricsFromRules({ rules: () => rules.rules?.resourceRules, metrics: cache, objects, log, onQuery });
    let draining = false;
    const surface = {
      log,
      metrics,
      // Failed requests, from the guard or the API, are logged with repeats counted (adapter/log.ts).
      failureLog: new RepeatLimitedLog(log),
      mutate: createWebhookHandler({
        policy: () => rules.rules?.defaults,
        log,
        onReview: (o, s, e) => metrics.observeReview(o, s, e),
        metricServed: (m) => metricServed(discovery.registry, catalog(), m),
        templates: new TemplateMemory(),
      }),
      readiness: () =>
        readinessChecks({
          now: Date.now(),
          ruleRoots: config.rules,
          rules: rules.status,
          servedRules: rules.rules,
          discoveryDone: discovery.registry !== undefined,
          discovery: discovery.status,
          objectsNotReady: objects.notReadyReason(),
          draining,
        }),
      ...(auth ? { guard: auth.guard() } : {}),
      resourceMetricsServed: () => resourceMetrics.served(),
    };
    const metricsApi = createMetricsApi({
      provider,
      resourceMetrics,
      catalog,
      requestTimeoutMs: config.requestTimeoutMs,
      log,
      responseCacheTtlSeconds: config.cacheTtlSeconds,
      cacheStore,
      failureLog: surface.failureLog,
    });

    // The listeners stop in reverse: the secure port drains first while
    // /metrics and the plain port still answer, then those close.
    const metricsServer =
      config.metricsPort === undefined
        ? undefined
        : await serveMetrics(metrics.registry, config.metricsPort, config.bindAddress).catch((e: unknown) => {
            throw new StartupError(
              `--metrics-port ${String(config.metricsPort)}: cannot listen on ${config.bindAddress}: ${busy(e as NodeJS.ErrnoException)}; pick another port, or -1 to turn it off`,
            );
          });
    if (metricsServer) {
      lifecycle.add({
        name: 'metrics port',
        stop: () => {
          metricsServer.closeAllConnections();
          return new Promise<void>((resolve) => metricsServer.close(() => resolve()));
        },
      });
    }
    const plain = config.httpPort === undefined ? undefined : await lifecycle.start(() => plainListener(config, config.httpPort as number, createHttpSurface({ ...surface, metricsApi }, 'plain')));
    const secure = await lifecycle.start(async () =>
      secureListener(config, tls ?? (await servingCertificate(config, log)), auth !== undefined, createHttpSurface({ ...surface, metricsApi }, 'secure')),
    );
    const certificate = await lifecycle.start(() => watchServingCertificate(config, secure.server, log));
    discovery.start();
    lifecycle.add({ name: 'discovery', stop: () => discovery.stop() });
    const watcher = new RuleWatcher(rules);
    await watcher.start();
    lifecycle.add({ name: 'rule watch', stop: () => watcher.close() });
    // Stopped first: /readyz fails from the moment shutdown begins.
    lifecycle.add({ name: 'readiness', stop: () => void (draining = true) });

    const port = portOf(secure.server);
    const host = config.bindAddress === '0.0.0.0' ? '127.0.0.1' : config.bindAddress;
    log.info('serving', { url: `https://${host}:${port}`, objectSource: config.objectSource, metricsPort: metricsServer ? portOf(metricsServer) : undefined });
    return {
      url: `https://${host}:${port}`,
      port,
      metricsPort: metricsServer ? portOf(metricsServer) : undefined,
      httpPort: plain ? portOf(plain.server) : undefined,
      rules,
      discovery,
      cache,
      reloadTls: certificate.reload,
      close: () => lifecycle.stop((name, e) => log.error('cannot stop cleanly', { component: name, error: (e as Error).message })),
    };
  } catch (e) {
    await lifecycle.stop();
    throw e;
  }
}

export async function runServe(argv: readonly string[], out: Output): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out.stdout(SERVE_USAGE);
    return 0;
  }
  const config = parseServeArgs(argv);
  const log = jsonLogger(config.logLevel);
  process.on(
    'uncaughtException',
    reportCrash(log, (code) => process.exit(code)),
  );
  for (const notice of config.notices ?? []) log.warn(notice);
  // Listened for before start-up: a SIGTERM that arrives while starting (a
  // rollout that replaces a pod at once) stops the server as soon as it is
  // up, rather than killing the process half way with the default action.
  const stopRequested = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const server = await startServer(config, log);
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading rules');
    void server.rules.reload();
  });
  const signal = await stopRequested;
  log.info('shutting down: draining requests in flight', { signal, graceSeconds: (config.shutdownGraceMs ?? 25_000) / 1000 });
  await server.close();
  log.info('stopped');
  return 0;
}

/**
 * What an error nothing caught does to a running server: one JSON log line,
 * like every other line it writes (Node's default is a multi-line stack on
 * stderr, which log collectors split into unrelated records), then exit 1 so
 * the kubelet restarts the pod. The stack stays, as a field, for the bug
 * report. Unhandled promise rejections arrive here too (Node's default
 * --unhandled-rejections=throw).
 */
export function reportCrash(log: Logger, exit: (code: number) => void): (error: unknown) => void {
  return (error) => {
    const e = error instanceof Error ? error : new Error(String(error));
    log.error('crashed on an error nothing handled; exiting so the pod is restarted', { error: e.message, stack: e.stack });
    exit(1);
  };
}
