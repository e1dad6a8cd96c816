// `hpa-bridge serve`: wires rules, discovery, Prometheus, the object source
// and the HTTP surface together. This is the only place that reads flags,
// owns TLS and listens on a port.
import { readFile } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { MetricDiscovery } from '../adapter/discovery.js';
import { jsonLogger, LOG_LEVELS, type Logger, type LogLevel } from '../adapter/log.js';
import { PrometheusObjectSource } from '../adapter/objects/prometheus.js';
import type { ObjectLister } from '../adapter/objects/types.js';
import { PrometheusClient } from '../adapter/prometheus.js';
import { MetricsProvider } from '../adapter/provider.js';
import { CachingMetricsSource } from '../adapter/query-cache.js';
import { metricsApiRouter, sendJson, statusHandlers } from '../adapter/router.js';
import { formatDiagnostic } from '../rules/diagnostics.js';
import { parseDurationSeconds } from '../rules/promql.js';
import { StaticResourceCatalog, type ResourceCatalog } from '../rules/resources.js';
import { RuleStore, RuleWatcher } from '../rules/watch.js';
import { createWebhookHandler } from '../webhook/handler.js';
import { parseArgs, UsageError, type Output } from './args.js';

export const SERVE_USAGE = `Usage: hpa-bridge serve --rules PATH [--rules PATH...] --prometheus-url URL [options]

  --rules PATH                     rule file or directory (repeatable)
  --prometheus-url URL             Prometheus base URL, e.g. http://prometheus.monitoring:9090
  --secure-port N                  HTTPS port (default 6443)
  --bind-address ADDR              address to listen on (default 0.0.0.0)
  --tls-cert-file FILE             serving certificate (PEM); self-signed when absent
  --tls-private-key-file FILE      its key
  --object-source kubernetes|prometheus
                                   where wildcard requests learn their objects (default:
                                   kubernetes in a cluster, prometheus elsewhere)
  --kubeconfig FILE                kubeconfig for --object-source kubernetes outside a cluster
  --authentication none|delegated  none is for local use only
  --metrics-relist-interval DUR    how often discovery runs (default 1m)
  --metrics-max-age DUR            how far back series count as present (default: the relist interval)
  --cache-ttl DUR                  how long query results are reused (default 5s, 0 disables)
  --request-timeout DUR            deadline of each request (default 10s)
  --log-level debug|info|warn|error
`;

export type ObjectSourceKind = 'kubernetes' | 'prometheus';

export interface ServeConfig {
  readonly rules: readonly string[];
  readonly prometheusUrl: string;
  readonly securePort: number;
  readonly bindAddress: string;
  readonly tlsCertFile?: string;
  readonly tlsKeyFile?: string;
  readonly objectSource: ObjectSourceKind;
  readonly kubeconfig?: string;
  readonly authentication: 'none' | 'delegated';
  readonly relistIntervalMs: number;
  readonly maxAgeSeconds: number;
  readonly cacheTtlSeconds: number;
  readonly requestTimeoutMs: number;
  readonly logLevel: LogLevel;
}

function duration(flag: string, value: unknown, fallback: string): number {
  const text = value === undefined ? fallback : String(value);
  const seconds = parseDurationSeconds(text);
  if (seconds === undefined || seconds < 0) throw new UsageError(`--${flag} needs a duration such as 5s or 1m, not ${JSON.stringify(text)}`);
  return seconds;
}

function oneOf<T extends string>(flag: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`);
  return value as T;
}

export function parseServeArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const { flags, positional } = parseArgs(argv, {
    rules: 'list',
    'prometheus-url': 'string',
    'secure-port': 'number',
    'bind-address': 'string',
    'tls-cert-file': 'string',
    'tls-private-key-file': 'string',
    'object-source': 'string',
    kubeconfig: 'string',
    authentication: 'string',
    'metrics-relist-interval': 'string',
    'metrics-max-age': 'string',
    'cache-ttl': 'string',
    'request-timeout': 'string',
    'log-level': 'string',
  });
  if (positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const rules = (flags.rules as string[] | undefined) ?? [];
  if (rules.length === 0) throw new UsageError('serve needs --rules PATH');
  const prometheusUrl = flags['prometheus-url'] as string | undefined;
  if (!prometheusUrl) throw new UsageError('serve needs --prometheus-url URL');
  try {
    const u = new URL(prometheusUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new UsageError(`--prometheus-url must be an http or https URL, not ${JSON.stringify(prometheusUrl)}`);
  }
  const securePort = (flags['secure-port'] as number | undefined) ?? 6443;
  if (!Number.isInteger(securePort) || securePort < 0 || securePort > 65535) throw new UsageError(`--secure-port must be a port number, not ${securePort}`);
  const cert = flags['tls-cert-file'] as string | undefined;
  const key = flags['tls-private-key-file'] as string | undefined;
  if (Boolean(cert) !== Boolean(key)) throw new UsageError('--tls-cert-file and --tls-private-key-file go together');
  const inCluster = Boolean(env.KUBERNETES_SERVICE_HOST);
  const relist = duration('metrics-relist-interval', flags['metrics-relist-interval'], '1m');
  if (relist <= 0) throw new UsageError('--metrics-relist-interval must be greater than 0');
  return {
    rules,
    prometheusUrl,
    securePort,
    bindAddress: (flags['bind-address'] as string | undefined) ?? '0.0.0.0',
    ...(cert && key ? { tlsCertFile: cert, tlsKeyFile: key } : {}),
    objectSource: oneOf('object-source', flags['object-source'], ['kubernetes', 'prometheus'] as const, inCluster ? 'kubernetes' : 'prometheus'),
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig as string } : {}),
    authentication: oneOf('authentication', flags.authentication, ['none', 'delegated'] as const, 'delegated'),
    relistIntervalMs: relist * 1000,
    maxAgeSeconds: duration('metrics-max-age', flags['metrics-max-age'], `${relist}s`),
    cacheTtlSeconds: duration('cache-ttl', flags['cache-ttl'], '5s'),
    requestTimeoutMs: duration('request-timeout', flags['request-timeout'], '10s') * 1000,
    logLevel: oneOf('log-level', flags['log-level'], LOG_LEVELS, 'info'),
  };
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly rules: RuleStore;
  readonly discovery: MetricDiscovery;
  readonly cache: CachingMetricsSource;
  close(): Promise<void>;
}

async function tlsMaterial(config: ServeConfig, log: Logger): Promise<{ cert: string; key: string }> {
  if (config.tlsCertFile && config.tlsKeyFile) {
    return { cert: await readFile(config.tlsCertFile, 'utf8'), key: await readFile(config.tlsKeyFile, 'utf8') };
  }
  log.warn('no --tls-cert-file given: serving with a self-signed certificate; an APIService then needs insecureSkipTLSVerify');
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'hpa-bridge' }], { keySize: 2048, algorithm: 'sha256' });
  return { cert: pems.cert, key: pems.private };
}

/** The object source, and the resource catalog rules and discovery resolve names against. */
async function objectSourceFor(
  config: ServeConfig,
  metrics: CachingMetricsSource,
  log: Logger,
): Promise<{ objects: ObjectLister; catalog: () => ResourceCatalog }> {
  if (config.objectSource === 'prometheus') {
    const staticCatalog = new StaticResourceCatalog();
    const catalog = (): ResourceCatalog => staticCatalog;
    return { objects: new PrometheusObjectSource({ metrics, catalog, timeoutMs: config.requestTimeoutMs }), catalog };
  }
  const { createKubernetesObjectSource } = await import('./kubernetes-source.js');
  const source = createKubernetesObjectSource(config, log);
  // The live catalog includes CRDs, so rules can name any resource the cluster serves.
  return { objects: source, catalog: () => source.catalog() };
}

/** A catalog that always asks the current one, for holders created before discovery finishes. */
function liveCatalog(current: () => ResourceCatalog): ResourceCatalog {
  return { find: (group, name) => current().find(group, name), all: () => current().all() };
}

/** Starts everything; resolves once the port is listening. */
export async function startServer(config: ServeConfig, log: Logger): Promise<RunningServer> {
  if (config.authentication === 'delegated') {
    throw new UsageError('--authentication delegated is not available in this version yet; use --authentication none, only on a trusted network');
  }
  log.warn('authentication is off (--authentication none): any client that reaches the port can read every metric; use this only for local runs');

  const prometheus = new PrometheusClient({ url: config.prometheusUrl, maxTimeoutMs: Math.max(config.requestTimeoutMs, 30_000) });
  const cache = new CachingMetricsSource(prometheus, config.cacheTtlSeconds);
  const { objects, catalog } = await objectSourceFor(config, cache, log);
  const rules = new RuleStore(config.rules, liveCatalog(catalog));
  rules.on('applied', (set, result) => {
    log.info('rules loaded', { files: set.files, custom: set.rules.length, external: set.externalRules.length, warnings: result.warnings.length });
    for (const w of result.warnings) log.warn('rule warning', { diagnostic: formatDiagnostic(w) });
  });
  rules.on('rejected', (result) => {
    log.error(rules.rules ? 'rule change rejected; still serving the last good rules' : 'rules failed to load', {
      errors: result.errors.map(formatDiagnostic),
    });
  });
  await rules.reload();
  const watcher = new RuleWatcher(rules);
  await watcher.start();

  const discovery = new MetricDiscovery(prometheus, () => rules.rules, catalog, {
    intervalMs: config.relistIntervalMs,
    lookbackSeconds: config.maxAgeSeconds,
    timeoutMs: Math.min(config.relistIntervalMs, 60_000),
  }, log);
  rules.on('applied', () => void discovery.relist());
  discovery.start();

  const provider = new MetricsProvider({ registry: () => discovery.registry, metrics: cache, objects, catalog, log });
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/livez', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  const readiness = (req: express.Request, res: express.Response): void => {
    const reasons: string[] = [];
    if (!rules.status.loaded) reasons.push(`rules not loaded: ${rules.status.errors.map(formatDiagnostic).join('; ') || 'loading'}`);
    if (!discovery.registry) {
      reasons.push(discovery.status.errors.length ? `metric discovery has not succeeded yet: ${discovery.status.errors.join('; ')}` : 'first metric discovery not done');
    }
    const objectsReason = objects.notReadyReason();
    if (objectsReason) reasons.push(objectsReason);
    const verbose = 'verbose' in req.query;
    if (reasons.length > 0) {
      res.status(503).type('text/plain').send(verbose ? `not ready:\n${reasons.map((r) => `- ${r}`).join('\n')}\n` : 'not ready');
      return;
    }
    res.type('text/plain').send(verbose ? 'ok: rules loaded, discovery done\n' : 'ok');
  };
  app.get('/readyz', readiness);
  app.get('/healthz', readiness);
  app.get(['/openapi/v2', '/openapi/v3'], (_req, res) => {
    sendJson(res, 404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'no OpenAPI document is served', reason: 'NotFound', code: 404 });
  });
  const mutate = createWebhookHandler({ policy: () => rules.rules?.defaults, log });
  app.all('/mutate', (req, res) => void mutate(req, res));
  app.use(metricsApiRouter({ provider, registry: () => discovery.registry, catalog, requestTimeoutMs: config.requestTimeoutMs, log }));
  app.use(...statusHandlers(log));

  const tls = await tlsMaterial(config, log);
  const server: Server = createHttpsServer({ ...tls, minVersion: 'TLSv1.2' }, app);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.securePort, config.bindAddress, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.bindAddress === '0.0.0.0' ? '127.0.0.1' : config.bindAddress;
  log.info('serving', { url: `https://${host}:${port}`, objectSource: config.objectSource });
  return {
    url: `https://${host}:${port}`,
    port,
    rules,
    discovery,
    cache,
    async close() {
      watcher.close();
      discovery.stop();
      objects.close();
      cache.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function runServe(argv: readonly string[], out: Output): Promise<number> {
  if (argv.includes('--help')) {
    out.stdout(SERVE_USAGE);
    return 0;
  }
  const config = parseServeArgs(argv);
  const log = jsonLogger(config.logLevel);
  const server = await startServer(config, log);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info('shutting down', { signal });
      void server.close().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
