// How hpa-bridge reaches the Kubernetes API server: a connection from a
// kubeconfig, the pod's service account or explicit settings, and requests
// over node:http(s) on it. Used by the object source (LIST/WATCH of
// metadata) and by delegated authentication (reviews and one ConfigMap).
//
// @kubernetes/client-node's ListWatch stops for good on the first error and
// cannot ask for PartialObjectMetadata, so the requests are made here.
// Credentials come from adapter/kube/kubeconfig.ts; only a kubeconfig that
// needs a credential plugin (exec, auth-provider) or a proxy loads the
// client library, which alone costs about 80 MB of memory. Credentials are
// applied per request, so rotated tokens are picked up.
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { defaultKubeconfigPaths, inClusterEndpoint, loadKubeconfig, type KubeEndpoint, type ResolvedKubeconfig } from './kubeconfig.js';

// ---------------------------------------------------------------------------
// Connection

interface KubeConnectionOptions {
  /** A kubeconfig file, as `kubectl --kubeconfig`. */
  readonly kubeconfigPath?: string;
  /** The kubeconfig context to use instead of its current-context. */
  readonly context?: string;
  /** The pod's service account (KUBERNETES_SERVICE_HOST/PORT and the mounted token and CA). */
  readonly inCluster?: boolean;
  /** An API server URL; with `token`, `caData` and `insecureSkipTLSVerify` instead of a kubeconfig. */
  readonly server?: string;
  readonly token?: string;
  /** The CA bundle: PEM text, or base64 of it as in a kubeconfig's certificate-authority-data. */
  readonly caData?: string;
  readonly insecureSkipTLSVerify?: boolean;
  /** How often a token file is read again (default 60 s, as client-go). */
  readonly tokenRefreshMs?: number;
}

const CONNECTION = Symbol('KubeConnection');

/** Where and how to reach the API server. Opaque: make one with kubeConfigFrom, use it through a KubeClient. */
export interface KubeConnection {
  /** The API server URL, for logs. */
  readonly server: string;
  readonly [CONNECTION]: true;
}

interface RequestSettings {
  readonly agent?: http.Agent;
  readonly headers: http.OutgoingHttpHeaders;
  readonly auth?: string;
}

abstract class Connection implements KubeConnection {
  readonly [CONNECTION] = true as const;
  constructor(readonly server: string) {}
  /** The agent and credentials for the next request. */
  abstract settings(): Promise<RequestSettings>;
}

// client-go's cached file token source also reads the file once a minute.
const TOKEN_REFRESH_MS = 60_000;

class EndpointConnection extends Connection {
  private readonly agent: http.Agent;
  private token: { text: string; readAt: number; mtimeMs: number } | undefined;

  constructor(
    readonly endpoint: KubeEndpoint,
    private readonly tokenRefreshMs = TOKEN_REFRESH_MS,
  ) {
    super(endpoint.server);
    this.agent = endpoint.server.startsWith('http:')
      ? new http.Agent({ keepAlive: true })
      : new https.Agent({
          keepAlive: true,
          rejectUnauthorized: !endpoint.insecureSkipTLSVerify,
          ...(endpoint.ca !== undefined ? { ca: endpoint.ca } : {}),
          ...(endpoint.clientCert && endpoint.clientKey ? { cert: endpoint.clientCert, key: endpoint.clientKey } : {}),
          ...(endpoint.tlsServerName ? { servername: endpoint.tlsServerName } : {}),
        });
  }

  private bearer(): string | undefined {
    const file = this.endpoint.tokenFile;
    if (file === undefined) return this.endpoint.token;
    const now = Date.now();
    if (!this.token || now - this.token.readAt >= this.tokenRefreshMs) {
      try {
        const mtimeMs = statSync(file).mtimeMs;
        const text = this.token?.mtimeMs === mtimeMs ? this.token.text : readFileSync(file, 'utf8').trim();
        this.token = { text, readAt: now, mtimeMs };
      } catch (e) {
        // The last good token, as client-go keeps it; none yet is an error.
        if (!this.token) throw new KubeApiError(`cannot read the token file ${file}: ${(e as Error).message}`);
      }
    }
    return this.token.text;
  }

  async settings(): Promise<RequestSettings> {
    const token = this.bearer();
    const headers: http.OutgoingHttpHeaders = token ? { Authorization: `Bearer ${token}` } : {};
    const { username, password } = this.endpoint;
    return { agent: this.agent, headers, ...(username !== undefined && !token ? { auth: `${username}:${password ?? ''}` } : {}) };
  }
}

/** A kubeconfig that needs @kubernetes/client-node: exec and auth-provider plugins, proxies, impersonation. */
class PluginConnection extends Connection {
  private kc: Promise<{ applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> }> | undefined;

  constructor(
    server: string,
    private readonly files: readonly string[],
    private readonly context: string,
  ) {
    super(server);
  }

  async settings(): Promise<RequestSettings> {
    this.kc ??= import('@kubernetes/client-node').then(({ KubeConfig }) => {
      const kc = new KubeConfig();
      if (this.files.length === 1 && this.files[0] !== undefined) kc.loadFromFile(this.files[0]);
      else kc.loadFromDefault();
      kc.setCurrentContext(this.context);
      return kc;
    });
    const opts: https.RequestOptions = {};
    await (await this.kc).applyToHTTPSOptions(opts);
    const headers = opts.headers && !Array.isArray(opts.headers) ? (opts.headers as http.OutgoingHttpHeaders) : {};
    return { headers, ...(opts.agent instanceof http.Agent ? { agent: opts.agent } : {}), ...(opts.auth ? { auth: opts.auth } : {}) };
  }
}

function connectionFor(resolved: ResolvedKubeconfig, files: readonly string[], tokenRefreshMs: number | undefined): Connection {
  return resolved.kind === 'endpoint' ? new EndpointConnection(resolved.endpoint, tokenRefreshMs) : new PluginConnection(resolved.server, files, resolved.context);
}

/**
 * Loads connection settings. Precedence: an explicit `server`, then
 * `inCluster`, then `kubeconfigPath`, then kubectl's defaults ($KUBECONFIG,
 * ~/.kube/config) and last the pod's service account. Throws a plain Error
 * when the settings are unusable, for the command line to report.
 */
export function kubeConfigFrom(options: KubeConnectionOptions = {}): KubeConnection {
  let connection: Connection;
  if (options.server !== undefined) {
    const ca = options.caData && !options.caData.includes('-----BEGIN') ? Buffer.from(options.caData, 'base64').toString('utf8') : options.caData;
    connection = new EndpointConnection({
      server: options.server,
      insecureSkipTLSVerify: options.insecureSkipTLSVerify ?? false,
      ...(ca ? { ca } : {}),
      ...(options.token ? { token: options.token } : {}),
    });
  } else if (options.inCluster) {
    connection = new EndpointConnection(inClusterEndpoint(), options.tokenRefreshMs);
  } else {
    const files = options.kubeconfigPath !== undefined ? [options.kubeconfigPath] : defaultKubeconfigPaths();
    const useServiceAccount = options.kubeconfigPath === undefined && !process.env['KUBECONFIG'] && !files.some((f) => existsSync(f)) && process.env['KUBERNETES_SERVICE_HOST'];
    connection = useServiceAccount ? new EndpointConnection(inClusterEndpoint(), options.tokenRefreshMs) : connectionFor(loadKubeconfig(files, options.context), files, options.tokenRefreshMs);
  }
  let url: URL;
  try {
    url = new URL(connection.server);
  } catch {
    throw new Error(`the API server address "${connection.server}" is not a URL`);
  }
  // Plain HTTP only when TLS checks are off, as the client library has it; say so now, not on the first request.
  if (url.protocol === 'http:' && connection instanceof EndpointConnection && !connection.endpoint.insecureSkipTLSVerify) {
    throw new Error(`${connection.server} is plain HTTP: set insecure-skip-tls-verify to use it`);
  }
  return connection;
}

// ---------------------------------------------------------------------------
// Errors

/** A failed call: `status` is the HTTP status or a Status code (undefined for a network or stream failure). */
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

interface Status {
  readonly code?: unknown;
  readonly reason?: unknown;
  readonly message?: unknown;
}

/** What a silent socket fails with, for requests that streamed or may stream for long: an idle timer, not a deadline. */
export const noDataError = (idleMs: number): Error => new Error(`no data from the API server for ${Math.round(idleMs / 1000)} s`);

const asStatus = (body: unknown): Status => (typeof body === 'object' && body !== null ? (body as Status) : {});

/** The Status message of an error body, or the HTTP reason phrase. */
export function statusMessage(status: number, body: unknown): { message: string; reason?: string } {
  const s = asStatus(body);
  const message = typeof s.message === 'string' && s.message !== '' ? s.message : (http.STATUS_CODES[status] ?? 'error');
  return typeof s.reason === 'string' ? { message, reason: s.reason } : { message };
}

/**
 * `<what>: <code> <reason>: <message>` for an error answer or a watch ERROR
 * event's Status; the Status's own code wins over `httpCode`.
 */
export function statusError(httpCode: number | undefined, body: unknown, what: string): KubeApiError {
  const s = asStatus(body);
  const code = typeof s.code === 'number' ? s.code : httpCode;
  const { message, reason } = statusMessage(code ?? 0, body);
  return new KubeApiError(`${what}: ${code ?? '?'}${reason ? ` ${reason}` : ''}: ${message}`, code, reason);
}

// ---------------------------------------------------------------------------
// Requests

export type Query = Readonly<Record<string, string | undefined>>;

interface OpenOptions {
  /** Default GET. */
  readonly method?: 'GET' | 'POST';
  readonly query?: Query;
  /** Default `application/json`. */
  readonly accept?: string;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** The longest silence tolerated on the socket. */
  readonly idleMs: number;
  readonly signal?: AbortSignal;
  /** What a silent socket fails with; by default a KubeApiError naming the request. */
  readonly idleError?: (idleMs: number) => Error;
}

export interface RequestOptions extends OpenOptions {
  /** A longer body fails the request with a KubeApiError. */
  readonly maxChars?: number;
}

export interface WatchOptions extends Omit<OpenOptions, 'method' | 'body'> {
  /** A longer line fails the watch with a KubeApiError. */
  readonly maxLineChars: number;
  /** Names the watch in that error; default `watch <path>`. */
  readonly what?: string;
}

export interface KubeResponse {
  readonly status: number;
  /** The parsed JSON body; undefined when it was not JSON. */
  readonly body: unknown;
  /** Seconds from a Retry-After header. */
  readonly retryAfterSeconds?: number;
}

interface Opened {
  readonly req: http.ClientRequest;
  readonly res: http.IncomingMessage;
}

const USER_AGENT = 'hpa-bridge';

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res) text += chunk as string;
  return text;
}

/** Requests on a connection made by kubeConfigFrom(). */
export class KubeClient {
  private readonly connection: Connection;
  private readonly server: string;

  constructor(connection: KubeConnection) {
    if (!(connection instanceof Connection)) throw new TypeError('use kubeConfigFrom() to make the connection');
    this.connection = connection;
    this.server = connection.server.replace(/\/+$/, '');
  }

  /** Sends a request and resolves once the response headers arrive; the caller reads `res` and destroys `req`. */
  async open(path: string, options: OpenOptions): Promise<Opened> {
    const method = options.method ?? 'GET';
    const { idleMs, signal } = options;
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    // Per request, so rotated tokens and exec credentials are picked up.
    const settings = await this.connection.settings();
    signal?.throwIfAborted();
    const headers: http.OutgoingHttpHeaders = { ...settings.headers, Accept: options.accept ?? 'application/json', 'User-Agent': USER_AGENT };
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const idleError = options.idleError ?? ((ms: number) => new KubeApiError(`${method} ${path}: no answer from the API server within ${Math.round(ms / 1000)} s`));
    const request = url.protocol === 'http:' ? http.request : https.request;
    return new Promise((resolve, reject) => {
      const req = request(url, {
        method,
        headers,
        ...(signal ? { signal } : {}),
        ...(settings.agent !== undefined ? { agent: settings.agent } : {}),
        ...(settings.auth ? { auth: settings.auth } : {}),
      });
      let response: http.IncomingMessage | undefined;
      req.setTimeout(idleMs, () => {
        const err = idleError(idleMs);
        // Once the response has started its reader would only see "aborted".
        response?.destroy(err);
        req.destroy(err);
      });
      // Kept for the request's whole life: a timeout or abort after the
      // response started must not become an unhandled 'error' event; the
      // response stream reports it to its reader.
      req.on('error', reject);
      req.once('response', (res) => {
        response = res;
        res.on('error', () => undefined);
        resolve({ req, res });
      });
      req.end(body);
    });
  }

  /** The whole answer, whatever its status. */
  async request(path: string, options: RequestOptions): Promise<KubeResponse> {
    const { req, res } = await this.open(path, options);
    const max = options.maxChars ?? Number.POSITIVE_INFINITY;
    let text = '';
    try {
      res.setEncoding('utf8');
      for await (const chunk of res) {
        text += chunk as string;
        if (text.length > max) throw new KubeApiError(`${options.method ?? 'GET'} ${path}: the response exceeds ${max} characters`);
      }
    } finally {
      req.destroy();
    }
    const retryAfter = Number(res.headers['retry-after']);
    return {
      status: res.statusCode ?? 0,
      body: parseJson(text),
      ...(Number.isFinite(retryAfter) && retryAfter >= 0 && res.headers['retry-after'] !== undefined ? { retryAfterSeconds: retryAfter } : {}),
    };
  }

  /**
   * A WATCH: calls `onLine` with each non-empty line of the stream, trimmed
   * (one JSON event each). Resolves with status 200 when the server ends
   * the stream, or with the error answer when there was no stream.
   */
  async watch(path: string, options: WatchOptions, onLine: (line: string) => void): Promise<KubeResponse> {
    const { req, res } = await this.open(path, options);
    try {
      res.setEncoding('utf8');
      if (res.statusCode !== 200) return { status: res.statusCode ?? 0, body: parseJson(await readAll(res)) };
      let buffered = '';
      for await (const chunk of res) {
        buffered += chunk as string;
        if (buffered.length > options.maxLineChars) {
          throw new KubeApiError(`${options.what ?? `watch ${path}`}: an event exceeds ${options.maxLineChars} characters`);
        }
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line !== '') onLine(line);
        }
      }
      if (buffered.trim() !== '') onLine(buffered.trim());
      return { status: 200, body: undefined };
    } finally {
      req.destroy();
    }
  }
}
