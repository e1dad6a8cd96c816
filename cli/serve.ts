// `hpa-bridge serve`: wires rules, discovery, Prometheus, the object source
// and the HTTP surface together. This is the only place that reads flags,
// owns TLS and listens on a port.
import { randomUUID } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { MetricDiscovery } from '../adapter/discovery.js';
import { CacheStore, DEFAULT_CACHE_MAX_BYTES } from '../adapter/cache.js';
import { jsonLogger, LOG_LEVELS, RepeatLimitedLog, type Logger, type LogLevel } from '../adapter/log.js';
import { PrometheusObjectSource } from '../adapter/objects/prometheus.js';
import type { ObjectLister } from '../adapter/objects/types.js';
import { PrometheusClient } from '../adapter/prometheus.js';
import { MetricsProvider } from '../adapter/provider.js';
import { CachingMetricsSource } from '../adapter/query-cache.js';
import { answerOpenApi } from '../adapter/openapi.js';
import { createMetricsApi, failureKey, headerContext, statusHandlers, type Answer } from '../adapter/router.js';
import { toStatus } from '../adapter/errors.js';
import { formatDiagnostic } from '../rules/diagnostics.js';
import { tryParseQuantity } from '../k8s/quantity.js';
import { parseDurationSeconds } from '../rules/promql.js';
import { StaticResourceCatalog, type ResourceCatalog } from '../rules/resources.js';
import { RuleStore, RuleWatcher } from '../rules/watch.js';
import { createWebhookHandler } from '../webhook/handler.js';
// Only types and flag tables here: the Kubernetes client library costs about
// 110 MB of memory, so it is loaded only when a mode that talks to the API runs.
import { AUTH_FLAG_SPEC, AuthConfigError, authFlagsFrom, type AuthFlags } from '../adapter/auth/config.js';
import type { DelegatedAuth } from '../adapter/auth/index.js';
import { alwaysAllowPathMatcher } from '../adapter/auth/always-allow.js';
import { parseArgs, UsageError, type Output } from './args.js';
import { StartupError } from './errors.js';
import { checkRulePaths, readFlagFile, readServingPair } from './startup-files.js';
import { answerScrape, classifyPath, createMetrics, portOf, serveMetrics } from './metrics.js';
import { healthAnswer, healthQuery, readinessChecks } from './readiness.js';

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
  --kubeconfig FILE                kubeconfig for the Kubernetes API outside a cluster (default:
                                   $KUBECONFIG, then ~/.kube/config); exec and auth-provider
                                   credential plugins work too. Without any, delegated authentication
                                   needs --client-ca-file or --requestheader-client-ca-file and then
                                   authorizes only system:masters and the always-allowed paths
  --authentication none|delegated  delegated (the default) checks callers as an aggregated API server
                                   must: front-proxy certificate, client certificate, TokenReview, then
                                   SubjectAccessReview; none is for local use only
  --anonymous-auth                 let requests without credentials through as system:anonymous, to be
                                   authorized by SubjectAccessReview (default: refuse them with 401)
  --client-ca-file FILE            these override kube-system/extension-apiserver-authentication:
  --requestheader-client-ca-file FILE
  --requestheader-allowed-names LIST
  --requestheader-username-headers LIST
  --requestheader-group-headers LIST
  --requestheader-extra-headers-prefix LIST
  --requestheader-uid-headers LIST
  --authentication-skip-lookup     never read the ConfigMap; only the flags above count
  --authentication-tolerate-lookup-failure
                                   start even when the ConfigMap cannot be read (it is retried in the
                                   background); by default start-up fails, unless the front-proxy CA
                                   comes from --requestheader-client-ca-file
  --authorization-always-allow-paths LIST
                                   non-resource paths served without credentials or SubjectAccessReview;
                                   a trailing * matches a prefix (default /healthz,/readyz,/livez)
  --metrics-relist-interval DUR    how often discovery runs (default 1m)
  --metrics-max-age DUR            how far back series count as present (default: the relist interval)
  --cache-ttl DUR                  how long query results are reused (default 5s, 0 disables)
  --cache-max-bytes SIZE           memory bound of cached query results and answers together, e.g. 64Mi
                                   (the default), 100M or 1048576; least recently used go first
  --request-timeout DUR            deadline of each request (default 10s)
  --metrics-port N                 plain-HTTP port for /metrics, with no authentication, on --bind-address
                                   (default 8080, 0 picks a free port, -1 disables). /metrics is also on
                                   the secure port, authorized as a non-resource get of /metrics
  --http-port N                    also serve the webhook (/mutate) and health checks on plain HTTP, for
                                   platforms that end TLS in front of the container (Knative); off by default
  --shutdown-grace DUR             how long SIGTERM waits for requests in flight (default 25s)
  --log-level debug|info|warn|error|silent

Prometheus connection (Thanos, Mimir, Cortex and VictoriaMetrics too; put any path prefix in the URL):
  --prometheus-header K=V          extra header on every call, e.g. X-Scope-OrgID=team-a (repeatable)
  --prometheus-token-file FILE     bearer token, re-read when it changes
  --prometheus-username NAME       basic auth user, with --prometheus-password-file FILE
  --prometheus-password-file FILE
  --prometheus-ca-file FILE        CA bundle for an https URL
  --prometheus-client-cert FILE    client certificate, with --prometheus-client-key FILE
  --prometheus-client-key FILE
  --prometheus-timeout DUR         upper bound for any one call to Prometheus (default 30s)
  --prometheus-compression         ask for gzip-compressed query answers; off by default, since
                                   compressing halves what a nearby Prometheus can answer, and
                                   pays off only on a slow link (a remote or hosted backend)

Every flag can also come from the environment: --cache-ttl is HPA_BRIDGE_CACHE_TTL,
--rules is HPA_BRIDGE_RULES (comma-separated). Flags win over the environment.
SIGHUP reloads the rules; SIGTERM drains requests in flight and exits.
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
  /** Upper bound of the bytes cached query results and answers hold together (default 64 MiB). */
  readonly cacheMaxBytes?: number;
  readonly requestTimeoutMs: number;
  readonly logLevel: LogLevel;
  /** undefined disables /metrics; 0 picks a free port. */
  readonly metricsPort?: number;
  /** A plain-HTTP listener for /mutate and health checks only; undefined disables it. */
  readonly httpPort?: number;
  readonly shutdownGraceMs?: number;
  readonly prometheus?: PrometheusConnectionConfig;
  /** Flag overrides of the extension-apiserver-authentication ConfigMap. */
  readonly authFlags?: AuthFlags;
  /** Let requests without credentials through as system:anonymous, to be authorized by SubjectAccessReview. */
  readonly anonymousAuth?: boolean;
}

export interface PrometheusConnectionConfig {
  readonly headers?: Readonly<Record<string, string>>;
  readonly tokenFile?: string;
  readonly username?: string;
  readonly passwordFile?: string;
  readonly caFile?: string;
  readonly clientCertFile?: string;
  readonly clientKeyFile?: string;
  readonly timeoutMs?: number;
  /** Ask for gzip-compressed query answers. */
  readonly compression?: boolean;
}

function duration(flag: string, value: unknown, fallback: string): number {
  const text = value === undefined ? fallback : String(value);
  const seconds = parseDurationSeconds(text);
  if (seconds === undefined || seconds < 0) throw new UsageError(`--${flag} needs a duration such as 5s or 1m, not ${JSON.stringify(text)}`);
  return seconds;
}

/** A byte count written as a Kubernetes quantity: 64Mi, 100M or plain bytes. */
function byteSize(flag: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const text = String(value);
  const quantity = tryParseQuantity(text);
  const bytes = quantity && quantity.nano % 1_000_000_000n === 0n ? quantity.nano / 1_000_000_000n : -1n;
  if (bytes < 0n || bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new UsageError(`--${flag} needs a whole number of bytes such as 64Mi, 100M or 1048576, not ${JSON.stringify(text)}`);
  }
  return Number(bytes);
}

function oneOf<T extends string>(flag: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`);
  return value as T;
}

const SERVE_FLAGS = {
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
  'cache-max-bytes': 'string',
  'request-timeout': 'string',
  'log-level': 'string',
  'metrics-port': 'number',
  'http-port': 'number',
  'shutdown-grace': 'string',
  'prometheus-header': 'list',
  'prometheus-token-file': 'string',
  'prometheus-username': 'string',
  'prometheus-password-file': 'string',
  'prometheus-ca-file': 'string',
  'prometheus-client-cert': 'string',
  'prometheus-client-key': 'string',
  'prometheus-timeout': 'string',
  'prometheus-compression': 'boolean',
  'anonymous-auth': 'boolean',
  ...AUTH_FLAG_SPEC,
} as const;

/** Flags from HPA_BRIDGE_* variables, for those the command line does not give. */
function envArgs(env: NodeJS.ProcessEnv, given: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const [name, kind] of Object.entries(SERVE_FLAGS)) {
    if (given.has(name)) continue;
    const value = env[`HPA_BRIDGE_${name.toUpperCase().replace(/-/g, '_')}`];
    if (value === undefined || value === '') continue;
    const values = kind === 'list' ? value.split(',').map((v) => v.trim()).filter(Boolean) : [value];
    for (const v of values) out.push(`--${name}=${v}`);
  }
  return out;
}

export function parseServeArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const fromArgv = parseArgs(argv, SERVE_FLAGS);
  const given = new Set(Object.keys(fromArgv.flags));
  const { flags, positional } = parseArgs([...envArgs(env, given), ...argv], SERVE_FLAGS);
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
    cacheMaxBytes: byteSize('cache-max-bytes', flags['cache-max-bytes'], DEFAULT_CACHE_MAX_BYTES),
    requestTimeoutMs: duration('request-timeout', flags['request-timeout'], '10s') * 1000,
    logLevel: oneOf('log-level', flags['log-level'], LOG_LEVELS, 'info'),
    ...metricsPortOf(flags['metrics-port'] as number | undefined),
    ...httpPortOf(flags['http-port'] as number | undefined),
    shutdownGraceMs: duration('shutdown-grace', flags['shutdown-grace'], '25s') * 1000,
    prometheus: prometheusConnection(flags),
    authFlags: usageOnAuthConfigError(() => checkedAuthFlags(flags)),
    anonymousAuth: (flags['anonymous-auth'] as boolean | undefined) ?? false,
  };
}

function checkedAuthFlags(flags: Readonly<Record<string, unknown>>): AuthFlags {
  const auth = authFlagsFrom(flags);
  if (auth.alwaysAllowPaths) {
    try {
      alwaysAllowPathMatcher(auth.alwaysAllowPaths);
    } catch (e) {
      throw new AuthConfigError(`--authorization-always-allow-paths: ${(e as Error).message}`);
    }
  }
  return auth;
}

/** A malformed authentication flag is a command line that cannot be used. */
function usageOnAuthConfigError<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof AuthConfigError) throw new UsageError(e.message);
    throw e;
  }
}

function metricsPortOf(value: number | undefined): { metricsPort?: number } {
  const port = value ?? 8080;
  if (!Number.isInteger(port) || port < -1 || port > 65535) throw new UsageError(`--metrics-port must be a port number, 0 or -1, not ${port}`);
  return port === -1 ? {} : { metricsPort: port };
}

function httpPortOf(value: number | undefined): { httpPort?: number } {
  if (value === undefined) return {};
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new UsageError(`--http-port must be a port number, not ${value}`);
  return { httpPort: value };
}

function prometheusConnection(flags: Readonly<Record<string, unknown>>): PrometheusConnectionConfig {
  const headers: Record<string, string> = {};
  for (const h of (flags['prometheus-header'] as string[] | undefined) ?? []) {
    const eq = h.indexOf('=');
    if (eq <= 0) throw new UsageError(`--prometheus-header takes NAME=VALUE, not ${JSON.stringify(h)}`);
    headers[h.slice(0, eq).trim()] = h.slice(eq + 1);
  }
  const cert = flags['prometheus-client-cert'] as string | undefined;
  const key = flags['prometheus-client-key'] as string | undefined;
  if (Boolean(cert) !== Boolean(key)) throw new UsageError('--prometheus-client-cert and --prometheus-client-key go together');
  const user = flags['prometheus-username'] as string | undefined;
  const passwordFile = flags['prometheus-password-file'] as string | undefined;
  if (Boolean(user) !== Boolean(passwordFile)) throw new UsageError('--prometheus-username and --prometheus-password-file go together');
  if (user && flags['prometheus-token-file']) throw new UsageError('use either a bearer token or basic auth for Prometheus, not both');
  const pick = (k: string): string | undefined => flags[k] as string | undefined;
  return {
    ...(Object.keys(headers).length ? { headers } : {}),
    ...(pick('prometheus-token-file') ? { tokenFile: pick('prometheus-token-file') } : {}),
    ...(user && passwordFile ? { username: user, passwordFile } : {}),
    ...(pick('prometheus-ca-file') ? { caFile: pick('prometheus-ca-file') } : {}),
    ...(cert && key ? { clientCertFile: cert, clientKeyFile: key } : {}),
    timeoutMs: duration('prometheus-timeout', flags['prometheus-timeout'], '30s') * 1000,
    ...(flags['prometheus-compression'] ? { compression: true } : {}),
  };
}

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

async function tlsMaterial(config: ServeConfig, log: Logger): Promise<{ cert: string; key: string }> {
  if (config.tlsCertFile && config.tlsKeyFile) {
    return readServingPair({ certFile: config.tlsCertFile, keyFile: config.tlsKeyFile });
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

/** A file read at most every `ttlMs`, so a rotated token applies without a restart. */
function cachedFile(path: string, ttlMs = 10_000): () => string {
  let value = '';
  let readAt = 0;
  return () => {
    if (Date.now() - readAt > ttlMs) {
      value = readFileSync(path, 'utf8').trim();
      readAt = Date.now();
    }
    return value;
  };
}

function prometheusClientFor(config: ServeConfig): PrometheusClient {
  const c = config.prometheus ?? {};
  const token = c.tokenFile ? cachedFile(c.tokenFile) : undefined;
  const password = c.passwordFile ? cachedFile(c.passwordFile) : undefined;
  const headers = (): Record<string, string> => ({
    ...(c.headers ?? {}),
    ...(token ? { Authorization: `Bearer ${token()}` } : {}),
    ...(password && c.username ? { Authorization: `Basic ${Buffer.from(`${c.username}:${password()}`).toString('base64')}` } : {}),
  });
  const tls = {
    ...(c.caFile ? { ca: readFlagFile('prometheus-ca-file', c.caFile) } : {}),
    ...(c.clientCertFile && c.clientKeyFile ? { cert: readFlagFile('prometheus-client-cert', c.clientCertFile), key: readFlagFile('prometheus-client-key', c.clientKeyFile) } : {}),
  };
  return new PrometheusClient({
    url: config.prometheusUrl,
    headers,
    tls,
    maxTimeoutMs: Math.max(config.requestTimeoutMs, c.timeoutMs ?? 30_000),
    compression: c.compression ?? false,
  });
}

/** Starts everything; resolves once the ports are listening. */
export async function startServer(config: ServeConfig, log: Logger): Promise<RunningServer> {
  // Mistakes in files the flags name fail start-up at once, before anything runs.
  await checkRulePaths(config.rules);
  let tls = config.tlsCertFile && config.tlsKeyFile ? await tlsMaterial(config, log) : undefined;
  let auth: DelegatedAuth | undefined;
  if (config.authentication === 'delegated') {
    const [{ startDelegatedAuth }, { kubeConnectionFor, missingKubeconfig }] = await Promise.all([import('../adapter/auth/index.js'), import('./kubernetes-source.js')]);
    const flags = config.authFlags ?? {};
    // k8s.io/apiserver starts without the API server when its kubeconfig is
    // optional and absent, serving what certificates and system:masters
    // allow; that only makes sense with a CA to check certificates against.
    const missing = missingKubeconfig(config);
    if (missing && !flags.clientCAFile && !flags.requestheaderClientCAFile) {
      throw new StartupError(
        `--authentication delegated needs the Kubernetes API (TokenReview, SubjectAccessReview, the extension-apiserver-authentication ConfigMap) and found no kubeconfig: ${missing}; ` +
          'pass --kubeconfig FILE, or --client-ca-file/--requestheader-client-ca-file to accept certificates only, or --authentication none for local runs',
      );
    }
    const connection = missing ? undefined : kubeConnectionFor(config);
    try {
      auth = await startDelegatedAuth({ ...(connection ? { connection } : {}), flags, anonymous: config.anonymousAuth ?? false, log });
    } catch (e) {
      const hint =
        e instanceof AuthConfigError
          ? ''
          : `; check that ${config.kubeconfig ? `--kubeconfig ${config.kubeconfig}` : 'the kubeconfig'} reaches the API server (${connection?.server ?? 'none'}), ` +
            'or pass --authentication-tolerate-lookup-failure to start without the ConfigMap';
      throw new StartupError(`delegated authentication could not start: ${(e as Error).message}${hint}`);
    }
  } else {
    log.warn('authentication is off (--authentication none): any client that reaches the port can read every metric; use this only for local runs');
  }

  const prometheus = prometheusClientFor(config);
  // Query results and whole answers count against one byte bound.
  const cacheStore = new CacheStore({ maxBytes: config.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES });
  const cache = new CachingMetricsSource(prometheus, config.cacheTtlSeconds, cacheStore);
  const { objects, catalog } = await objectSourceFor(config, cache, log);
  const rules = new RuleStore(config.rules, liveCatalog(catalog));
  rules.on('applied', (set, result) => {
    log.info('rules loaded', { files: set.files, custom: set.rules.length, external: set.externalRules.length, defaults: set.defaults.entries.length, warnings: result.warnings.length });
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

  const metrics = createMetrics({ rules, discovery, cache, cacheStore });
  let draining = false;
  const provider = new MetricsProvider({
    registry: () => discovery.registry,
    metrics: cache,
    objects,
    catalog,
    log,
    onQuery: (rule, seconds, error) => metrics.observeQuery(rule, seconds, error),
  });
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
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Authentication and authorization come first; health checks and the
  // webhook (called by the API server with its own certificate) skip them.
  if (auth) app.use(auth.middleware({ skipPaths: ['/mutate'] }));
  app.use((req, res, next) => {
    instrument(req, res);
    next();
  });
  app.get('/livez', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  const readiness = (req: express.Request, res: express.Response): void => {
    const checks = readinessChecks({
      now: Date.now(),
      ruleRoots: config.rules,
      rules: rules.status,
      servedRules: rules.rules,
      discoveryDone: discovery.registry !== undefined,
      discovery: discovery.status,
      objectsNotReady: objects.notReadyReason(),
      draining,
    });
    const answer = healthAnswer(req.path === '/healthz' ? 'healthz' : 'readyz', checks, healthQuery(req.query));
    res.status(answer.status).type('text/plain').send(answer.body);
  };
  app.get('/readyz', readiness);
  app.get('/healthz', readiness);
  // Behind the authentication above: a non-resource get of /metrics.
  app.get('/metrics', (_req, res) => answerScrape(metrics.registry, res));
  // Behind authentication and authorization like any non-health path:
  // kube-aggregator downloads these as system:aggregator, which the
  // system:discovery ClusterRole lets get /openapi and /openapi/*.
  app.get(/^\/openapi\/v[23](\/.*)?$/, (req, res) => {
    writeAnswer(req, res, answerOpenApi(req.method, req.originalUrl, headerContext(req.headers)));
  });
  app.use(...statusHandlers(log));

  // The two hot routes, the metrics APIs (every HPA, every 15 s) and the
  // webhook (every workload write), are plain node:http handlers in front of
  // express, which costs about 90 µs a request: a third of the cached-answer
  // rate on two cores (BENCHMARKS.md). Everything else goes through express.
  const mutate = createWebhookHandler({ policy: () => rules.rules?.defaults, log, onReview: (o, s, e) => metrics.observeReview(o, s, e) });
  // Failed requests, from the guard or the API, are logged with repeats counted (adapter/log.ts).
  const failureLog = new RepeatLimitedLog(log);
  const metricsApi = createMetricsApi({ provider, catalog, requestTimeoutMs: config.requestTimeoutMs, log, responseCacheTtlSeconds: config.cacheTtlSeconds, cacheStore, failureLog });
  const guard = auth?.guard({ skipPaths: ['/mutate'] });
  const writeAnswer = (req: IncomingMessage, res: ServerResponse, { code, body, contentType, headers }: Answer): void => {
    res.writeHead(code, { ...headers, 'Content-Type': contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const answerMetrics = async (req: IncomingMessage, res: ServerResponse, url: string): Promise<void> => {
    // A client that disconnects before its answer is written leaves the
    // answer's load; the last one to leave stops it, Prometheus call included.
    const client = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) client.abort(new DOMException('the client disconnected', 'AbortError'));
    });
    try {
      await guard?.(req, url);
    } catch (e) {
      const status = toStatus(e);
      if (status.code >= 500) failureLog.warn(failureKey(status), 'request failed', { path: url.split('?')[0], code: status.code, message: status.message });
      writeAnswer(req, res, { code: status.code, body: JSON.stringify(status) });
      return;
    }
    const answer = await metricsApi.answer(req.method ?? 'GET', url, { ...headerContext(req.headers), signal: client.signal });
    if (!client.signal.aborted) writeAnswer(req, res, answer);
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const path = url.split('?', 1)[0] ?? '/';
    if (metricsApi.serves(path)) {
      instrument(req, res);
      answerMetrics(req, res, url).catch((e: unknown) => {
        // answer() turns every error into a Status; this is a failure to write one.
        log.error('cannot answer a metrics request', { path, error: (e as Error).message });
        res.destroy();
      });
    } else if (path === '/mutate') {
      instrument(req, res);
      void mutate(req, res);
    } else {
      void app(req, res);
    }
  };

  tls ??= await tlsMaterial(config, log);
  // Modern ciphers only: Node's defaults with TLS 1.2 as the floor.
  // Client certificates are requested, never required, and verified by the
  // authenticator against the current CAs (no `ca` here: a Go client sends no
  // certificate whose issuer is not in the advertised list).
  const server: Server = createHttpsServer({ ...tls, minVersion: 'TLSv1.2', ...(auth ? { requestCert: true, rejectUnauthorized: false } : {}) }, handle);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new StartupError(`cannot listen on ${config.bindAddress}:${config.securePort}: ${e.code === 'EADDRINUSE' ? 'the address is already in use' : e.message}`)));
    server.listen(config.securePort, config.bindAddress, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.bindAddress === '0.0.0.0' ? '127.0.0.1' : config.bindAddress;

  // cert-manager rotates the serving certificate in place; new connections
  // get the new one, open connections keep theirs.
  const reloadTls = async (): Promise<void> => {
    if (!config.tlsCertFile || !config.tlsKeyFile) return;
    try {
      const next = await tlsMaterial(config, log);
      server.setSecureContext({ ...next, minVersion: 'TLSv1.2' });
      log.info('serving certificate reloaded');
    } catch (e) {
      log.error('cannot reload the serving certificate; keeping the current one', { error: (e as Error).message });
    }
  };
  const tlsWatchers: FSWatcher[] = [];
  let tlsTimer: NodeJS.Timeout | undefined;
  if (config.tlsCertFile && config.tlsKeyFile) {
    for (const dir of new Set([dirname(config.tlsCertFile), dirname(config.tlsKeyFile)])) {
      try {
        const w = watch(dir, { persistent: false }, () => {
          if (tlsTimer) clearTimeout(tlsTimer);
          tlsTimer = setTimeout(() => void reloadTls(), 200);
          tlsTimer.unref();
        });
        w.on('error', () => undefined);
        tlsWatchers.push(w);
      } catch {
        // A missing directory: the periodic reload below still runs.
      }
    }
  }
  const tlsPoll = config.tlsCertFile ? setInterval(() => void reloadTls(), 60_000) : undefined;
  tlsPoll?.unref();

  const metricsServer =
    config.metricsPort !== undefined
      ? await serveMetrics(metrics.registry, config.metricsPort, config.bindAddress).catch((e: NodeJS.ErrnoException) => {
          throw new StartupError(`--metrics-port ${config.metricsPort}: cannot listen on ${config.bindAddress}: ${e.code === 'EADDRINUSE' ? 'the address is already in use' : e.message}; pick another port, or -1 to turn it off`);
        })
      : undefined;
  // The metrics APIs never go out over plain HTTP: only the webhook and health checks do.
  let plainServer: HttpServer | undefined;
  if (config.httpPort !== undefined) {
    const plain = express();
    plain.disable('x-powered-by');
    plain.get('/livez', (_req, res) => {
      res.type('text/plain').send('ok');
    });
    plain.get('/readyz', readiness);
    plain.get('/healthz', readiness);
    plain.use(...statusHandlers(log));
    plainServer = createHttpServer((req, res) => {
      if ((req.url ?? '/').split('?', 1)[0] !== '/mutate') return void plain(req, res);
      instrument(req, res);
      void mutate(req, res);
    });
    const s = plainServer;
    await new Promise<void>((resolve, reject) => {
      s.once('error', (e: NodeJS.ErrnoException) => reject(new StartupError(`cannot listen on ${config.bindAddress}:${config.httpPort}: ${e.code === 'EADDRINUSE' ? 'the address is already in use' : e.message}`)));
      s.listen(config.httpPort, config.bindAddress, () => resolve());
    });
  }
  log.info('serving', { url: `https://${host}:${port}`, objectSource: config.objectSource, metricsPort: metricsServer ? portOf(metricsServer) : undefined });

  return {
    url: `https://${host}:${port}`,
    port,
    metricsPort: metricsServer ? portOf(metricsServer) : undefined,
    httpPort: plainServer ? portOf(plainServer) : undefined,
    rules,
    discovery,
    cache,
    reloadTls,
    async close() {
      draining = true;
      watcher.close();
      discovery.stop();
      for (const w of tlsWatchers) w.close();
      if (tlsPoll) clearInterval(tlsPoll);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle keep-alive connections would hold close() open; busy ones finish first.
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs ?? 25_000);
      await closed;
      clearTimeout(grace);
      if (plainServer) {
        const p = plainServer;
        const plainClosed = new Promise<void>((resolve) => p.close(() => resolve()));
        p.closeIdleConnections();
        await plainClosed;
      }
      metricsServer?.closeAllConnections();
      await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
      objects.close();
      cache.close();
      await auth?.close();
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
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading rules');
    void server.rules.reload();
  });
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info('shutting down: draining requests in flight', { signal, graceSeconds: (config.shutdownGraceMs ?? 25_000) / 1000 });
      void server.close().then(() => {
        log.info('stopped');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
