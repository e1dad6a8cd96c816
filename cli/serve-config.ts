// The `hpa-bridge serve` configuration: every flag is declared once in
// SERVE_FLAGS (name, kind, default, help, group), and that one table drives
// the command-line parser, the HPA_BRIDGE_* environment and `--help`.
// prometheus-adapter's command line parses too: its flags are here under
// their own names, as aliases of ours, or as flags that have no effect here
// and say so with one warning each.
import { DEFAULT_CACHE_MAX_BYTES } from '../adapter/cache.js';
import { LOG_LEVELS, type LogLevel } from '../adapter/log.js';
import { AuthConfigError, authFlagsFrom, type AuthFlags } from '../adapter/auth/config.js';
import { alwaysAllowPathMatcher } from '../adapter/auth/always-allow.js';
import { GoDurationError, parseGoDuration } from '../k8s/go-duration.js';
import { tryParseQuantity } from '../k8s/quantity.js';
import { parseArgs, UsageError, type FlagKind, type FlagValue } from './args.js';
import { servingTlsOptions, TLS_VERSIONS, type ServingTlsOptions } from './tls-options.js';

export type ObjectSourceKind = 'kubernetes' | 'prometheus';

/** A kubeconfig named by one of the per-purpose flags, with the flag for messages. */
export interface KubeconfigFlag {
  readonly flag: string;
  readonly path: string;
}

export interface ServeConfig {
  readonly rules: readonly string[];
  readonly prometheusUrl: string;
  readonly securePort: number;
  readonly bindAddress: string;
  readonly tlsCertFile?: string;
  readonly tlsKeyFile?: string;
  /** Where the self-signed serving certificate is written and found again when no --tls-cert-file is given. */
  readonly certDir?: string;
  /** Cipher suites and lowest TLS version of the secure port; absent: Node's cipher list and TLS 1.2. */
  readonly tls?: ServingTlsOptions;
  readonly objectSource: ObjectSourceKind;
  readonly kubeconfig?: string;
  /** --lister-kubeconfig: the object source's connection, instead of --kubeconfig. */
  readonly listerKubeconfig?: KubeconfigFlag;
  /** --authentication-kubeconfig or --authorization-kubeconfig: delegated authentication's connection, instead of --kubeconfig. */
  readonly authKubeconfig?: KubeconfigFlag;
  readonly authentication: 'none' | 'delegated';
  readonly relistIntervalMs: number;
  readonly maxAgeSeconds: number;
  readonly cacheTtlSeconds: number;
  /** Upper bound of the bytes cached query results and answers hold together (default 64 MiB). */
  readonly cacheMaxBytes?: number;
  readonly requestTimeoutMs: number;
  /** Answer wildcards of object-separable rules from one query per namespace, metric and metric selector (default true). */
  readonly sharedEvaluation?: boolean;
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
  /** How long TokenReview answers, and allowed and denied SubjectAccessReview answers, are reused. */
  readonly authCacheTtlMs?: { readonly token: number; readonly allowed: number; readonly denied: number };
  /** One line for each flag given that changes nothing here; `serve` logs them as warnings. */
  readonly notices?: readonly string[];
}

export interface PrometheusConnectionConfig {
  readonly headers?: Readonly<Record<string, string>>;
  readonly tokenFile?: string;
  readonly username?: string;
  readonly passwordFile?: string;
  readonly caFile?: string;
  readonly clientCertFile?: string;
  readonly clientKeyFile?: string;
  /** A kubeconfig whose credentials and CA (not its server) reach Prometheus. */
  readonly authConfig?: string;
  /** The pod's service account token and CA reach Prometheus. */
  readonly authInCluster?: boolean;
  readonly timeoutMs?: number;
  /** Ask for gzip-compressed query answers. */
  readonly compression?: boolean;
  /** How queries and series look-ups are sent; POST unless GET is asked for. */
  readonly verb?: 'GET' | 'POST';
}

type FlagGroup = 'serving' | 'authentication' | 'prometheus' | 'no-effect';

interface FlagDeclaration {
  readonly name: string;
  readonly kind: FlagKind;
  /** What the value looks like in --help (PATH, DUR, a|b); booleans have none. */
  readonly value?: string;
  /** The default as written on the command line; parsing and --help both read it. */
  readonly default?: string;
  readonly help: string;
  readonly group: FlagGroup;
  /** prometheus-adapter's name for one of our flags: its values are that flag's. */
  readonly aliasOf?: string;
  /** Why the flag changes nothing here; given, it is accepted with one warning that says so. */
  readonly noEffect?: string;
  /** Why the flag cannot be honoured here; given, it is a usage error. */
  readonly refused?: string;
}

const flag = (name: string, kind: FlagKind, group: FlagGroup, help: string, more: Pick<FlagDeclaration, 'value' | 'default' | 'refused'> = {}): FlagDeclaration => ({
  name,
  kind,
  group,
  help,
  ...more,
});

const alias = (name: string, of: string, kind: FlagKind, group: FlagGroup, value: string): FlagDeclaration => ({
  name,
  kind,
  group,
  value,
  aliasOf: of,
  help: `prometheus-adapter's name for --${of}`,
});

/** Flags of prometheus-adapter (k8s.io/apiserver, klog) that have nothing to act on here. */
function noEffect(reason: string, flags: readonly (string | [string, FlagKind])[]): FlagDeclaration[] {
  return flags.map((f) => {
    const [name, kind] = typeof f === 'string' ? [f, 'string' as const] : f;
    return { name, kind, group: 'no-effect', help: reason, noEffect: reason, ...(kind === 'boolean' ? {} : { value: 'VALUE' }) };
  });
}

const auditFlags = (backend: 'log' | 'webhook'): [string, FlagKind][] => [
  [`audit-${backend}-mode`, 'string'],
  [`audit-${backend}-batch-buffer-size`, 'string'],
  [`audit-${backend}-batch-max-size`, 'string'],
  [`audit-${backend}-batch-max-wait`, 'string'],
  [`audit-${backend}-batch-throttle-enable`, 'boolean'],
  [`audit-${backend}-batch-throttle-qps`, 'string'],
  [`audit-${backend}-batch-throttle-burst`, 'string'],
  [`audit-${backend}-truncate-enabled`, 'boolean'],
  [`audit-${backend}-truncate-max-batch-size`, 'string'],
  [`audit-${backend}-truncate-max-event-size`, 'string'],
];

export const SERVE_FLAGS: readonly FlagDeclaration[] = [
  flag('rules', 'list', 'serving', 'rule file or directory (repeatable)', { value: 'PATH' }),
  alias('config', 'rules', 'list', 'serving', 'FILE'),
  flag('prometheus-url', 'string', 'serving', 'Prometheus base URL, e.g. http://prometheus.monitoring:9090', { value: 'URL' }),
  flag('secure-port', 'number', 'serving', 'HTTPS port', { value: 'N', default: '6443' }),
  flag('bind-address', 'string', 'serving', 'address to listen on', { value: 'ADDR', default: '0.0.0.0' }),
  flag('tls-cert-file', 'string', 'serving', 'serving certificate (PEM), re-read when it changes; self-signed when absent', { value: 'FILE' }),
  flag('tls-private-key-file', 'string', 'serving', 'its key', { value: 'FILE' }),
  flag(
    'cert-dir',
    'string',
    'serving',
    'without --tls-cert-file, keep the self-signed certificate here: apiserver.crt and apiserver.key are written on the first start and reused after (default: a new one in memory at every start)',
    { value: 'DIR' },
  ),
  flag(
    'tls-cipher-suites',
    'list',
    'serving',
    "TLS 1.2 cipher suites by Go's (IANA) names, comma-separated, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256; the TLS 1.3 suites stay on, as in Go; RC4 and 3DES are refused (default: Node's list)",
    { value: 'LIST' },
  ),
  flag('tls-min-version', 'string', 'serving', 'lowest TLS version; VersionTLS10 and VersionTLS11 are accepted, but OpenSSL refuses them at its default security level', {
    value: Object.keys(TLS_VERSIONS).join('|'),
    default: 'VersionTLS12',
  }),
  flag('tls-sni-cert-key', 'list', 'serving', 'not supported: serve one certificate for every name with --tls-cert-file', {
    value: 'CERT,KEY',
    refused: 'serve one certificate for every name with --tls-cert-file',
  }),
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
  flag('lister-kubeconfig', 'string', 'serving', 'kubeconfig for listing and watching the objects metrics describe, instead of --kubeconfig or the in-cluster account', { value: 'FILE' }),
  flag('metrics-relist-interval', 'string', 'serving', 'how often discovery runs', { value: 'DUR', default: '1m' }),
  flag('metrics-max-age', 'string', 'serving', 'how far back series count as present; not less than the relist interval (default: the relist interval)', { value: 'DUR' }),
  flag('cache-ttl', 'string', 'serving', 'how long query results are reused (0 disables)', { value: 'DUR', default: '5s' }),
  flag('cache-max-bytes', 'string', 'serving', 'memory bound of cached query results and answers together, e.g. 64Mi, 100M or 1048576; least recently used go first', {
    value: 'SIZE',
    default: '64Mi',
  }),
  flag('request-timeout', 'string', 'serving', 'deadline of each request', { value: 'DUR', default: '10s' }),
  flag(
    'shared-evaluation',
    'boolean',
    'serving',
    'answer wildcard requests of rules whose query is object-separable from one query per namespace, metric and metric selector, shared through the cache and filtered to the objects of each request; false sends one query per request (default true)',
  ),
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
  flag('v', 'string', 'serving', "prometheus-adapter's klog verbosity, as a log level: 0 to 3 log at info, 4 and more at debug; --log-level wins when both are given", { value: 'N' }),

  flag(
    'authentication',
    'string',
    'authentication',
    'delegated checks callers as an aggregated API server must: front-proxy certificate, client certificate, TokenReview, then SubjectAccessReview; none is for local use only',
    { value: 'none|delegated', default: 'delegated' },
  ),
  flag('anonymous-auth', 'boolean', 'authentication', 'let requests without credentials through as system:anonymous, to be authorized by SubjectAccessReview (default: refuse them with 401)'),
  flag('authentication-kubeconfig', 'string', 'authentication', 'kubeconfig for TokenReview and the ConfigMap, instead of --kubeconfig or the in-cluster account', { value: 'FILE' }),
  flag(
    'authorization-kubeconfig',
    'string',
    'authentication',
    'kubeconfig for SubjectAccessReview; one connection serves TokenReview, SubjectAccessReview and the ConfigMap, so it must name the same file as --authentication-kubeconfig when both are given',
    { value: 'FILE' },
  ),
  flag('authentication-token-webhook-cache-ttl', 'string', 'authentication', 'how long TokenReview answers are reused', { value: 'DUR', default: '10s' }),
  flag('authorization-webhook-cache-authorized-ttl', 'string', 'authentication', 'how long allowed SubjectAccessReview answers are reused', { value: 'DUR', default: '10s' }),
  flag('authorization-webhook-cache-unauthorized-ttl', 'string', 'authentication', 'how long denied SubjectAccessReview answers are reused', { value: 'DUR', default: '10s' }),
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
  alias('prometheus-client-tls-cert-file', 'prometheus-client-cert', 'string', 'prometheus', 'FILE'),
  alias('prometheus-client-tls-key-file', 'prometheus-client-key', 'string', 'prometheus', 'FILE'),
  flag(
    'prometheus-auth-config',
    'string',
    'prometheus',
    'kubeconfig whose user credentials (token, token file, basic auth, client certificate) and cluster CA reach Prometheus; its server is not used. The flags above win over it',
    { value: 'FILE' },
  ),
  flag('prometheus-auth-incluster', 'boolean', 'prometheus', "reach Prometheus with the pod's service account token (re-read when it changes) and CA, as a kube-rbac-proxy in front of it expects"),
  flag(
    'prometheus-verb',
    'string',
    'prometheus',
    'how queries and series look-ups are sent: POST keeps long selectors clear of URL length limits; GET is for proxies in front of Prometheus that refuse POST',
    {
      value: 'GET|POST',
      default: 'POST',
    },
  ),
  flag('prometheus-timeout', 'string', 'prometheus', 'upper bound for any one call to Prometheus', { value: 'DUR', default: '30s' }),
  flag(
    'prometheus-compression',
    'boolean',
    'prometheus',
    'ask for gzip-compressed query answers; off by default, since compressing halves what a nearby Prometheus can answer, and pays off only on a slow link (a remote or hosted backend)',
  ),

  ...noEffect('logs are JSON lines on stderr; --log-level or --v sets how much', [
    ['logtostderr', 'boolean'],
    ['alsologtostderr', 'boolean'],
    'log_dir',
    'log_file',
    'log_file_max_size',
    ['add_dir_header', 'boolean'],
    ['skip_headers', 'boolean'],
    ['skip_log_headers', 'boolean'],
    ['one_output', 'boolean'],
    'stderrthreshold',
    'log_backtrace_at',
    ['legacy_stderr_threshold_behavior', 'boolean'],
    'vmodule',
    'log-flush-frequency',
  ]),
  ...noEffect('the HTTPS port speaks HTTP/1.1 only', [['disable-http2', 'boolean'], 'http2-max-streams-per-connection']),
  ...noEffect('there are no profiling or debug endpoints', [['profiling', 'boolean'], ['contention-profiling', 'boolean'], 'debug-socket-path']),
  ...noEffect('there is no API priority and fairness; --request-timeout bounds every request', [['enable-priority-and-fairness', 'boolean']]),
  ...noEffect('the port is bound without SO_REUSEPORT, by one process', [
    ['permit-port-sharing', 'boolean'],
    ['permit-address-sharing', 'boolean'],
  ]),
  ...noEffect('objects come from watches, not from a list per request, and API discovery is re-read when a request names a resource it does not know', [
    'discovery-interval',
    'client-qps',
    'client-burst',
  ]),
  ...noEffect('there is no audit log', [
    'audit-policy-file',
    'audit-log-path',
    'audit-log-maxage',
    'audit-log-maxbackup',
    'audit-log-maxsize',
    'audit-log-format',
    'audit-log-version',
    ['audit-log-compress', 'boolean'],
    ...auditFlags('log'),
    'audit-webhook-config-file',
    'audit-webhook-initial-backoff',
    'audit-webhook-batch-initial-backoff',
    'audit-webhook-version',
    ...auditFlags('webhook'),
  ]),
];

const GROUP_TITLES: Readonly<Record<FlagGroup, string>> = {
  serving: '',
  authentication: 'Authentication (--authentication delegated; the file and list flags override kube-system/extension-apiserver-authentication):',
  prometheus: 'Prometheus connection (Thanos, Mimir, Cortex and VictoriaMetrics too; put any path prefix in the URL):',
  'no-effect': "Accepted from prometheus-adapter's command line, with no effect here (each one given logs a warning that says why):",
};

/** The variable a flag may also come from: --cache-ttl is HPA_BRIDGE_CACHE_TTL. */
export function envName(flagName: string): string {
  return `HPA_BRIDGE_${flagName.toUpperCase().replace(/-/g, '_')}`;
}

const DECLARED: ReadonlyMap<string, FlagDeclaration> = new Map(SERVE_FLAGS.map((f) => [f.name, f]));

function defaultOf(name: string): string {
  const d = DECLARED.get(name)?.default;
  if (d === undefined) throw new Error(`flag --${name} has no default`);
  return d;
}

/** The flag a name stands for: an alias's target, else itself. */
const canonical = (name: string): string => DECLARED.get(name)?.aliasOf ?? name;

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

/** Flags without effect, by reason: the names on wrapped lines, then the reason. */
function noEffectLines(flags: readonly FlagDeclaration[]): string {
  const reasons = [...new Set(flags.map((f) => f.noEffect as string))];
  return reasons
    .map((reason) => {
      const names = flags.filter((f) => f.noEffect === reason).map((f) => `--${f.name}`);
      return `  ${wrap(names.join(' '), 96, 2)}\n      ${wrap(reason, 92, 6)}\n`;
    })
    .join('');
}

function usage(): string {
  const sections = (['serving', 'authentication', 'prometheus', 'no-effect'] as const)
    .map((group) => ({ group, title: GROUP_TITLES[group], flags: SERVE_FLAGS.filter((f) => f.group === group) }))
    .filter((s) => s.flags.length > 0)
    .map((s) => `${s.title ? `${s.title}\n` : ''}${s.group === 'no-effect' ? noEffectLines(s.flags) : `${s.flags.map(usageLine).join('\n')}\n`}`);
  return `Usage: hpa-bridge serve --rules PATH [--rules PATH...] --prometheus-url URL [options]

${sections.join('\n')}
Durations are Go's: 30s, 1.5m, 1h30m, 300ms. Every flag above but prometheus-adapter's
aliases can also come from the environment: --cache-ttl is ${envName('cache-ttl')},
--rules is ${envName('rules')} (list flags are comma-separated). Flags win over the environment.
A command line that starts with a flag, or with /adapter, is a serve command line,
so the image runs prometheus-adapter's arguments unchanged.
SIGHUP reloads the rules; SIGTERM drains requests in flight and exits.
`;
}

export const SERVE_USAGE = usage();

const FLAG_KINDS: Readonly<Record<string, FlagKind>> = Object.fromEntries(SERVE_FLAGS.map((f) => [f.name, f.kind]));

export type RawFlags = Readonly<Record<string, string | boolean | number | string[] | undefined>>;

/**
 * Whether a flag may also come from its HPA_BRIDGE_* variable: ours may;
 * aliases and flags without effect are only for prometheus-adapter's
 * command lines.
 */
export const readFromEnvironment = (f: FlagDeclaration): boolean => !f.aliasOf && !f.noEffect && !f.refused;

/** Flags from HPA_BRIDGE_* variables, for those the command line does not give under any of their names. */
function envArgs(env: NodeJS.ProcessEnv, given: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const { name, kind } of SERVE_FLAGS.filter(readFromEnvironment)) {
    if (given.has(canonical(name))) continue;
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

/** The flags under our names: an alias's values join its target's; two different single values are a usage error. */
export function foldAliases(raw: RawFlags): Record<string, FlagValue> {
  const flags: Record<string, FlagValue> = { ...raw };
  for (const f of SERVE_FLAGS) {
    if (!f.aliasOf || raw[f.name] === undefined) continue;
    const value = raw[f.name];
    const target = flags[f.aliasOf];
    if (Array.isArray(value)) flags[f.aliasOf] = [...((target as string[] | undefined) ?? []), ...value];
    else if (target !== undefined && target !== value) throw new UsageError(`--${f.name} and --${f.aliasOf} are the same setting; give one of them`);
    else flags[f.aliasOf] = value;
    delete flags[f.name];
  }
  return flags;
}

/** Go's duration syntax, in seconds; negative values are refused. */
function duration(name: string, value: FlagValue): number {
  const text = value === undefined ? defaultOf(name) : String(value);
  let nanos: bigint;
  try {
    nanos = parseGoDuration(text);
  } catch (e) {
    if (e instanceof GoDurationError) throw new UsageError(`--${name} needs a duration such as 30s, 1.5m or 1h30m, not ${JSON.stringify(text)} (${e.message})`);
    throw e;
  }
  if (nanos < 0n) throw new UsageError(`--${name} must not be negative, not ${JSON.stringify(text)}`);
  return Number(nanos) / 1e9;
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

/** Comma-separated and repeatable, as pflag's StringSlice. */
function commaList(value: unknown): string[] {
  return ((value as string[] | undefined) ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** --log-level, else --v read as klog verbosity: 4 and more is where Kubernetes components log at debug. */
function logLevelOf(flags: Readonly<Record<string, FlagValue>>): LogLevel {
  if (flags['log-level'] !== undefined || flags.v === undefined) return oneOf('log-level', flags['log-level'], LOG_LEVELS, 'info');
  const v = String(flags.v);
  if (!/^[+-]?\d+$/.test(v)) throw new UsageError(`--v needs a whole number (klog verbosity), not ${JSON.stringify(v)}`);
  return Number(v) >= 4 ? 'debug' : 'info';
}

/** The warnings for flags given that change nothing here; a usage error for one that cannot be honoured. */
function noticesFor(raw: RawFlags, flags: Readonly<Record<string, unknown>>): string[] {
  const notices: string[] = [];
  for (const f of SERVE_FLAGS) {
    if (raw[f.name] === undefined) continue;
    if (f.refused) throw new UsageError(`--${f.name} is not supported here: ${f.refused}`);
    if (f.noEffect) notices.push(`--${f.name} has no effect here: ${f.noEffect}`);
  }
  if (flags['cert-dir'] && flags['tls-cert-file']) notices.push('--cert-dir has no effect here: --tls-cert-file is given');
  return notices;
}

export function parseServeArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const fromArgv = parseArgs(argv, FLAG_KINDS);
  const given = new Set(Object.keys(fromArgv.flags).map(canonical));
  const { flags: raw, positional } = parseArgs([...envArgs(env, given), ...argv], FLAG_KINDS);
  if (positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const flags = foldAliases(raw);
  const rules = (flags.rules as string[] | undefined) ?? [];
  if (rules.length === 0) throw new UsageError('serve needs --rules PATH (or --config FILE)');
  const prometheusUrl = prometheusUrlOf(flags['prometheus-url'], 'serve');
  const securePort = (flags['secure-port'] as number | undefined) ?? Number(defaultOf('secure-port'));
  if (!Number.isInteger(securePort) || securePort < 0 || securePort > 65535) throw new UsageError(`--secure-port must be a port number, not ${securePort}`);
  const cert = flags['tls-cert-file'] as string | undefined;
  const key = flags['tls-private-key-file'] as string | undefined;
  if (Boolean(cert) !== Boolean(key)) throw new UsageError('--tls-cert-file and --tls-private-key-file go together');
  const certDir = flags['cert-dir'] as string | undefined;
  const inCluster = Boolean(env.KUBERNETES_SERVICE_HOST);
  const relist = duration('metrics-relist-interval', flags['metrics-relist-interval']);
  if (relist <= 0) throw new UsageError('--metrics-relist-interval must be greater than 0');
  const maxAge = flags['metrics-max-age'] === undefined ? relist : duration('metrics-max-age', flags['metrics-max-age']);
  if (maxAge < relist) {
    throw new UsageError(`--metrics-max-age ${String(flags['metrics-max-age'])} is less than --metrics-relist-interval; discovery would miss series that report between two relists`);
  }
  return {
    rules,
    prometheusUrl,
    securePort,
    bindAddress: (flags['bind-address'] as string | undefined) ?? defaultOf('bind-address'),
    ...(cert && key ? { tlsCertFile: cert, tlsKeyFile: key } : {}),
    ...(certDir && !cert ? { certDir } : {}),
    tls: servingTlsOptions(commaList(flags['tls-cipher-suites']), (flags['tls-min-version'] as string | undefined) ?? defaultOf('tls-min-version')),
    objectSource: oneOf('object-source', flags['object-source'], ['kubernetes', 'prometheus'] as const, inCluster ? 'kubernetes' : 'prometheus'),
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig as string } : {}),
    ...kubeconfigFlags(flags),
    authentication: oneOf('authentication', flags.authentication, ['none', 'delegated'] as const, 'delegated'),
    relistIntervalMs: relist * 1000,
    maxAgeSeconds: maxAge,
    cacheTtlSeconds: duration('cache-ttl', flags['cache-ttl']),
    cacheMaxBytes: byteSize('cache-max-bytes', flags['cache-max-bytes'], DEFAULT_CACHE_MAX_BYTES),
    requestTimeoutMs: duration('request-timeout', flags['request-timeout']) * 1000,
    sharedEvaluation: (flags['shared-evaluation'] as boolean | undefined) ?? true,
    logLevel: logLevelOf(flags),
    ...metricsPortOf(flags['metrics-port'] as number | undefined),
    ...httpPortOf(flags['http-port'] as number | undefined),
    shutdownGraceMs: duration('shutdown-grace', flags['shutdown-grace']) * 1000,
    prometheus: prometheusConnection(flags),
    authFlags: usageOnAuthConfigError(() => checkedAuthFlags(flags)),
    anonymousAuth: (flags['anonymous-auth'] as boolean | undefined) ?? false,
    authCacheTtlMs: {
      token: duration('authentication-token-webhook-cache-ttl', flags['authentication-token-webhook-cache-ttl']) * 1000,
      allowed: duration('authorization-webhook-cache-authorized-ttl', flags['authorization-webhook-cache-authorized-ttl']) * 1000,
      denied: duration('authorization-webhook-cache-unauthorized-ttl', flags['authorization-webhook-cache-unauthorized-ttl']) * 1000,
    },
    notices: noticesFor(raw, flags),
  };
}

/**
 * The per-purpose kubeconfigs. Delegated authentication makes TokenReviews,
 * SubjectAccessReviews and reads its ConfigMap over one connection, so its
 * two flags must agree when both are given.
 */
function kubeconfigFlags(flags: Readonly<Record<string, unknown>>): Pick<ServeConfig, 'listerKubeconfig' | 'authKubeconfig'> {
  const named = (flag: string): KubeconfigFlag | undefined => (flags[flag] ? { flag, path: flags[flag] as string } : undefined);
  const lister = named('lister-kubeconfig');
  const authn = named('authentication-kubeconfig');
  const authz = named('authorization-kubeconfig');
  if (authn && authz && authn.path !== authz.path) {
    throw new UsageError(
      '--authentication-kubeconfig and --authorization-kubeconfig name different files; one connection serves TokenReview, SubjectAccessReview and the ConfigMap here, so give the same file or only one',
    );
  }
  const auth = authn ?? authz;
  return { ...(lister ? { listerKubeconfig: lister } : {}), ...(auth ? { authKubeconfig: auth } : {}) };
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

/** --prometheus-url, required by `command`: an http or https URL. */
export function prometheusUrlOf(value: FlagValue, command: string): string {
  const prometheusUrl = value as string | undefined;
  if (!prometheusUrl) throw new UsageError(`${command} needs --prometheus-url URL`);
  try {
    const u = new URL(prometheusUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new UsageError(`--prometheus-url must be an http or https URL, not ${JSON.stringify(prometheusUrl)}`);
  }
  return prometheusUrl;
}

/** The Prometheus connection flags (the `prometheus` group of SERVE_FLAGS, aliases folded), as serve and explain read them. */
export function prometheusConnection(flags: Readonly<Record<string, FlagValue>>): PrometheusConnectionConfig {
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
  const authConfig = flags['prometheus-auth-config'] as string | undefined;
  const authInCluster = (flags['prometheus-auth-incluster'] as boolean | undefined) ?? false;
  if (authConfig && authInCluster) throw new UsageError('use either --prometheus-auth-config or --prometheus-auth-incluster, not both');
  const verb = oneOf('prometheus-verb', flags['prometheus-verb'], ['GET', 'POST'] as const, 'POST');
  const pick = (k: string): string | undefined => flags[k] as string | undefined;
  return {
    ...(Object.keys(headers).length ? { headers } : {}),
    ...(pick('prometheus-token-file') ? { tokenFile: pick('prometheus-token-file') } : {}),
    ...(user && passwordFile ? { username: user, passwordFile } : {}),
    ...(pick('prometheus-ca-file') ? { caFile: pick('prometheus-ca-file') } : {}),
    ...(cert && key ? { clientCertFile: cert, clientKeyFile: key } : {}),
    ...(authConfig ? { authConfig } : {}),
    ...(authInCluster ? { authInCluster } : {}),
    timeoutMs: duration('prometheus-timeout', flags['prometheus-timeout']) * 1000,
    ...(flags['prometheus-compression'] ? { compression: true } : {}),
    ...(verb === 'GET' ? { verb } : {}),
  };
}
