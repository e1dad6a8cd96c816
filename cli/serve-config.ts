// The `hpa-bridge serve` configuration: every flag is declared once in
// SERVE_FLAGS (name, kind, default, help, group), and that one table drives
// the command-line parser, the HPA_BRIDGE_* environment and `--help`.
import { DEFAULT_CACHE_MAX_BYTES } from '../adapter/cache.js';
import { LOG_LEVELS, type LogLevel } from '../adapter/log.js';
import { AuthConfigError, authFlagsFrom, type AuthFlags } from '../adapter/auth/config.js';
import { alwaysAllowPathMatcher } from '../adapter/auth/always-allow.js';
import { tryParseQuantity } from '../k8s/quantity.js';
import { parseDurationSeconds } from '../rules/promql.js';
import { parseArgs, UsageError, type FlagKind, type FlagValue } from './args.js';

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

type FlagGroup = 'serving' | 'authentication' | 'prometheus';

interface FlagDeclaration {
  readonly name: string;
  readonly kind: FlagKind;
  /** What the value looks like in --help (PATH, DUR, a|b); booleans have none. */
  readonly value?: string;
  /** The default as written on the command line; parsing and --help both read it. */
  readonly default?: string;
  readonly help: string;
  readonly group: FlagGroup;
}

const flag = (name: string, kind: FlagKind, group: FlagGroup, help: string, more: Pick<FlagDeclaration, 'value' | 'default'> = {}): FlagDeclaration => ({
  name,
  kind,
  group,
  help,
  ...more,
});

export const SERVE_FLAGS: readonly FlagDeclaration[] = [
  flag('rules', 'list', 'serving', 'rule file or directory (repeatable)', { value: 'PATH' }),
  flag('prometheus-url', 'string', 'serving', 'Prometheus base URL, e.g. http://prometheus.monitoring:9090', { value: 'URL' }),
  flag('secure-port', 'number', 'serving', 'HTTPS port', { value: 'N', default: '6443' }),
  flag('bind-address', 'string', 'serving', 'address to listen on', { value: 'ADDR', default: '0.0.0.0' }),
  flag('tls-cert-file', 'string', 'serving', 'serving certificate (PEM); self-signed when absent', { value: 'FILE' }),
  flag('tls-private-key-file', 'string', 'serving', 'its key', { value: 'FILE' }),
  flag('object-source', 'string', 'serving', 'where wildcard requests learn their objects (default: kubernetes in a cluster, prometheus elsewhere)', {
    value: 'kubernetes|prometheus',
  }),
  flag(
    'kubeconfig',
    'string',
    'serving',
    'kubeconfig for the Kubernetes API outside a cluster (default: $KUBECONFIG, then ~/.kube/config); exec and auth-provider credential plugins work too. ' +
      'Without any, delegated authentication needs --client-ca-file or --requestheader-client-ca-file and then authorizes only system:masters and the always-allowed paths',
    { value: 'FILE' },
  ),
  flag('metrics-relist-interval', 'string', 'serving', 'how often discovery runs', { value: 'DUR', default: '1m' }),
  flag('metrics-max-age', 'string', 'serving', 'how far back series count as present (default: the relist interval)', { value: 'DUR' }),
  flag('cache-ttl', 'string', 'serving', 'how long query results are reused (0 disables)', { value: 'DUR', default: '5s' }),
  flag('cache-max-bytes', 'string', 'serving', 'memory bound of cached query results and answers together, e.g. 64Mi, 100M or 1048576; least recently used go first', {
    value: 'SIZE',
    default: '64Mi',
  }),
  flag('request-timeout', 'string', 'serving', 'deadline of each request', { value: 'DUR', default: '10s' }),
  flag(
    'metrics-port',
    'number',
    'serving',
    'plain-HTTP port for /metrics, with no authentication, on --bind-address (0 picks a free port, -1 disables). ' +
      '/metrics is also on the secure port, authorized as a non-resource get of /metrics',
    { value: 'N', default: '8080' },
  ),
  flag('http-port', 'number', 'serving', 'also serve the webhook (/mutate) and health checks on plain HTTP, for platforms that end TLS in front of the container (Knative); off by default', {
    value: 'N',
  }),
  flag('shutdown-grace', 'string', 'serving', 'how long SIGTERM waits for requests in flight', { value: 'DUR', default: '25s' }),
  flag('log-level', 'string', 'serving', 'how much to log', { value: LOG_LEVELS.join('|'), default: 'info' }),

  flag(
    'authentication',
    'string',
    'authentication',
    'delegated checks callers as an aggregated API server must: front-proxy certificate, client certificate, TokenReview, then SubjectAccessReview; none is for local use only',
    { value: 'none|delegated', default: 'delegated' },
  ),
  flag('anonymous-auth', 'boolean', 'authentication', 'let requests without credentials through as system:anonymous, to be authorized by SubjectAccessReview (default: refuse them with 401)'),
  flag('client-ca-file', 'string', 'authentication', 'CA for client certificates; overrides client-ca-file of kube-system/extension-apiserver-authentication', { value: 'FILE' }),
  flag('requestheader-client-ca-file', 'string', 'authentication', 'CA for the front proxy; overrides the ConfigMap', { value: 'FILE' }),
  flag('requestheader-allowed-names', 'list', 'authentication', 'common names the front-proxy certificate may have (empty: any); overrides the ConfigMap', { value: 'LIST' }),
  flag('requestheader-username-headers', 'list', 'authentication', 'headers that carry the user name; overrides the ConfigMap', { value: 'LIST' }),
  flag('requestheader-group-headers', 'list', 'authentication', 'headers that carry the groups; overrides the ConfigMap', { value: 'LIST' }),
  flag('requestheader-extra-headers-prefix', 'list', 'authentication', 'prefixes of headers that carry extra user attributes; overrides the ConfigMap', { value: 'LIST' }),
  flag('requestheader-uid-headers', 'list', 'authentication', 'headers that carry the user uid; overrides the ConfigMap', { value: 'LIST' }),
  flag('authentication-skip-lookup', 'boolean', 'authentication', 'never read the ConfigMap; only the flags above count'),
  flag(
    'authentication-tolerate-lookup-failure',
    'boolean',
    'authentication',
    'start even when the ConfigMap cannot be read (it is retried in the background); by default start-up fails, unless the front-proxy CA comes from --requestheader-client-ca-file',
  ),
  flag('authorization-always-allow-paths', 'list', 'authentication', 'non-resource paths served without credentials or SubjectAccessReview; a trailing * matches a prefix', {
    value: 'LIST',
    default: '/healthz,/readyz,/livez',
  }),

  flag('prometheus-header', 'list', 'prometheus', 'extra header on every call, e.g. X-Scope-OrgID=team-a (repeatable)', { value: 'K=V' }),
  flag('prometheus-token-file', 'string', 'prometheus', 'bearer token, re-read when it changes', { value: 'FILE' }),
  flag('prometheus-username', 'string', 'prometheus', 'basic auth user, with --prometheus-password-file FILE', { value: 'NAME' }),
  flag('prometheus-password-file', 'string', 'prometheus', 'basic auth password, with --prometheus-username', { value: 'FILE' }),
  flag('prometheus-ca-file', 'string', 'prometheus', 'CA bundle for an https URL', { value: 'FILE' }),
  flag('prometheus-client-cert', 'string', 'prometheus', 'client certificate, with --prometheus-client-key FILE', { value: 'FILE' }),
  flag('prometheus-client-key', 'string', 'prometheus', 'its key', { value: 'FILE' }),
  flag('prometheus-timeout', 'string', 'prometheus', 'upper bound for any one call to Prometheus', { value: 'DUR', default: '30s' }),
  flag(
    'prometheus-compression',
    'boolean',
    'prometheus',
    'ask for gzip-compressed query answers; off by default, since compressing halves what a nearby Prometheus can answer, and pays off only on a slow link (a remote or hosted backend)',
  ),
];

const GROUP_TITLES: Readonly<Record<FlagGroup, string>> = {
  serving: '',
  authentication: 'Authentication (--authentication delegated; the file and list flags override kube-system/extension-apiserver-authentication):',
  prometheus: 'Prometheus connection (Thanos, Mimir, Cortex and VictoriaMetrics too; put any path prefix in the URL):',
};

/** The variable a flag may also come from: --cache-ttl is HPA_BRIDGE_CACHE_TTL. */
export function envName(flagName: string): string {
  return `HPA_BRIDGE_${flagName.toUpperCase().replace(/-/g, '_')}`;
}

function defaultOf(name: string): string {
  const d = SERVE_FLAGS.find((f) => f.name === name)?.default;
  if (d === undefined) throw new Error(`flag --${name} has no default`);
  return d;
}

/** Words wrapped to `width` columns, each line after the first indented by `indent`. */
function wrap(text: string, width: number, indent: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

const HELP_COLUMN = 35;

function usageLine(f: FlagDeclaration): string {
  const head = `  --${f.name}${f.value ? ` ${f.value}` : ''}`;
  const help = f.default !== undefined ? `${f.help} (default ${f.default})` : f.help;
  const body = wrap(help, 100 - HELP_COLUMN, HELP_COLUMN);
  return head.length < HELP_COLUMN - 1 ? `${head.padEnd(HELP_COLUMN)}${body}` : `${head}\n${' '.repeat(HELP_COLUMN)}${body}`;
}

function usage(): string {
  const sections = (['serving', 'authentication', 'prometheus'] as const)
    .map((group) => ({ title: GROUP_TITLES[group], flags: SERVE_FLAGS.filter((f) => f.group === group) }))
    .filter((s) => s.flags.length > 0)
    .map((s) => `${s.title ? `${s.title}\n` : ''}${s.flags.map(usageLine).join('\n')}\n`);
  return `Usage: hpa-bridge serve --rules PATH [--rules PATH...] --prometheus-url URL [options]

${sections.join('\n')}
Every flag can also come from the environment: --cache-ttl is ${envName('cache-ttl')},
--rules is ${envName('rules')} (list flags are comma-separated). Flags win over the environment.
SIGHUP reloads the rules; SIGTERM drains requests in flight and exits.
`;
}

export const SERVE_USAGE = usage();

const FLAG_KINDS: Readonly<Record<string, FlagKind>> = Object.fromEntries(SERVE_FLAGS.map((f) => [f.name, f.kind]));

/** Flags from HPA_BRIDGE_* variables, for those the command line does not give. */
function envArgs(env: NodeJS.ProcessEnv, given: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const { name, kind } of SERVE_FLAGS) {
    if (given.has(name)) continue;
    const value = env[envName(name)];
    if (value === undefined || value === '') continue;
    const values =
      kind === 'list'
        ? value
            .split(',')
            .map((v) => v.trim())
            .filter(Boolean)
        : [value];
    for (const v of values) out.push(`--${name}=${v}`);
  }
  return out;
}

function duration(name: string, value: FlagValue, fallback = defaultOf(name)): number {
  const text = value === undefined ? fallback : String(value);
  const seconds = parseDurationSeconds(text);
  if (seconds === undefined || seconds < 0) throw new UsageError(`--${name} needs a duration such as 5s or 1m, not ${JSON.stringify(text)}`);
  return seconds;
}

/** A byte count written as a Kubernetes quantity: 64Mi, 100M or plain bytes. */
function byteSize(name: string, value: FlagValue, fallback: number): number {
  if (value === undefined) return fallback;
  const text = String(value);
  const quantity = tryParseQuantity(text);
  const bytes = quantity && quantity.nano % 1_000_000_000n === 0n ? quantity.nano / 1_000_000_000n : -1n;
  if (bytes < 0n || bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new UsageError(`--${name} needs a whole number of bytes such as 64Mi, 100M or 1048576, not ${JSON.stringify(text)}`);
  }
  return Number(bytes);
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`);
  return value as T;
}

export function parseServeArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const fromArgv = parseArgs(argv, FLAG_KINDS);
  const given = new Set(Object.keys(fromArgv.flags));
  const { flags, positional } = parseArgs([...envArgs(env, given), ...argv], FLAG_KINDS);
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
  const securePort = (flags['secure-port'] as number | undefined) ?? Number(defaultOf('secure-port'));
  if (!Number.isInteger(securePort) || securePort < 0 || securePort > 65535) throw new UsageError(`--secure-port must be a port number, not ${securePort}`);
  const cert = flags['tls-cert-file'] as string | undefined;
  const key = flags['tls-private-key-file'] as string | undefined;
  if (Boolean(cert) !== Boolean(key)) throw new UsageError('--tls-cert-file and --tls-private-key-file go together');
  const inCluster = Boolean(env.KUBERNETES_SERVICE_HOST);
  const relist = duration('metrics-relist-interval', flags['metrics-relist-interval']);
  if (relist <= 0) throw new UsageError('--metrics-relist-interval must be greater than 0');
  return {
    rules,
    prometheusUrl,
    securePort,
    bindAddress: (flags['bind-address'] as string | undefined) ?? defaultOf('bind-address'),
    ...(cert && key ? { tlsCertFile: cert, tlsKeyFile: key } : {}),
    objectSource: oneOf('object-source', flags['object-source'], ['kubernetes', 'prometheus'] as const, inCluster ? 'kubernetes' : 'prometheus'),
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig as string } : {}),
    authentication: oneOf('authentication', flags.authentication, ['none', 'delegated'] as const, 'delegated'),
    relistIntervalMs: relist * 1000,
    maxAgeSeconds: duration('metrics-max-age', flags['metrics-max-age'], `${relist}s`),
    cacheTtlSeconds: duration('cache-ttl', flags['cache-ttl']),
    cacheMaxBytes: byteSize('cache-max-bytes', flags['cache-max-bytes'], DEFAULT_CACHE_MAX_BYTES),
    requestTimeoutMs: duration('request-timeout', flags['request-timeout']) * 1000,
    logLevel: oneOf('log-level', flags['log-level'], LOG_LEVELS, 'info'),
    ...metricsPortOf(flags['metrics-port'] as number | undefined),
    ...httpPortOf(flags['http-port'] as number | undefined),
    shutdownGraceMs: duration('shutdown-grace', flags['shutdown-grace']) * 1000,
    prometheus: prometheusConnection(flags),
    authFlags: usageOnAuthConfigError(() => checkedAuthFlags(flags)),
    anonymousAuth: (flags['anonymous-auth'] as boolean | undefined) ?? false,
  };
}

function checkedAuthFlags(flags: Readonly<Record<string, FlagValue>>): AuthFlags {
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
  const port = value ?? Number(defaultOf('metrics-port'));
  if (!Number.isInteger(port) || port < -1 || port > 65535) throw new UsageError(`--metrics-port must be a port number, 0 or -1, not ${port}`);
  return port === -1 ? {} : { metricsPort: port };
}

function httpPortOf(value: number | undefined): { httpPort?: number } {
  if (value === undefined) return {};
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new UsageError(`--http-port must be a port number, not ${value}`);
  return { httpPort: value };
}

function prometheusConnection(flags: Readonly<Record<string, FlagValue>>): PrometheusConnectionConfig {
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
    timeoutMs: duration('prometheus-timeout', flags['prometheus-timeout']) * 1000,
    ...(flags['prometheus-compression'] ? { compression: true } : {}),
  };
}
