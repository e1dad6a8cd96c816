// A test double of kube-apiserver as kubectl meets it: kube-aggregator in
// front of a core API server, for tests only. It is not a Kubernetes
// implementation; its own simple logic follows what kube-aggregator
// (staging/src/k8s.io/kube-aggregator/pkg/apiserver: handler_apis.go,
// handler_proxy.go, handler_discovery.go, and the availability controller
// in pkg/controllers/status) does on the wire:
//
// - it authenticates the caller with a bearer token or a client
//   certificate of its own (CN the user, O the groups), adds
//   system:authenticated, and answers 401 otherwise;
// - paths no APIService claims go to the core API server behind it (a
//   KubeApiDouble over plain HTTP), unchanged;
// - GET /apis lists the core server's groups and then every registered
//   APIService's group, available or not (handler_apis.go). Asked for
//   aggregated discovery (apidiscovery.k8s.io v2 or v2beta1), it reads each
//   service's discovery the way the discovery manager does (the stand-in in
//   aggregator-discovery.ts, fresh on every request instead of every
//   minute) and publishes a group-version it could not read as Stale with
//   no resources;
// - GET /apis/<group> of an APIService group is answered from the
//   APIServices; /apis/<group>/<version>[/...] of a registered version is
//   proxied, any other version of that group is a 404;
// - a proxied request first checks the service the way the availability
//   controller does (GET /apis/<group>/<version> as system:kube-aggregator
//   in system:masters, 2xx within 5 s; fresh every time instead of every
//   30 s) and answers a plain-text 503 "service unavailable" when it fails.
//   Otherwise it connects over TLS verified against the APIService's
//   caBundle, with the front-proxy client certificate, re-escapes the path
//   and re-encodes the query as Go's url.Values.Encode does (sorted keys,
//   '+' for a space), drops the caller's Authorization and X-Remote-*
//   headers and sets X-Remote-User, X-Remote-Uid, one X-Remote-Group per
//   group and X-Remote-Extra-<key>. A connection error is a plain-text 503.
//
// Unlike kube-apiserver it does not authorize proxied requests itself: the
// real one would ask the same RBAC before proxying, which would hide the
// extension server's own SubjectAccessReview from the tests.
import { createServer as createHttpsServer, request as httpsRequest, type Server } from 'node:https';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { syncDiscovery, convertLegacyResourceList, type HttpAnswer, type ResourceDoc } from './aggregator-discovery.js';

export interface AggregatorUser {
  readonly name: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

/** The parts of an APIService the double uses. */
export interface APIServiceSpec {
  readonly group: string;
  readonly version: string;
  /** `https://host:port` of the service it points at. */
  readonly url: string;
  /** spec.caBundle: PEM CA of the service's serving certificate. */
  readonly caBundle: string;
  /** The name the serving certificate must carry; default the URL's host (kube-aggregator uses <service>.<namespace>.svc). */
  readonly serverName?: string;
  readonly groupPriorityMinimum: number;
  readonly versionPriority: number;
}

export interface AggregatorDoubleOptions {
  /** The core API server behind the aggregator, for every path no APIService claims. */
  readonly local: { readonly url: string; readonly token?: string };
  /** The serving certificate (for 127.0.0.1) and its key. */
  readonly serving: { readonly cert: string; readonly key: string };
  /** The front-proxy client certificate (--proxy-client-cert-file, --proxy-client-key-file). */
  readonly proxyClient: { readonly cert: string; readonly key: string };
  /** Client certificates signed by this CA authenticate users (--client-ca-file). */
  readonly clientCA?: string;
  /** Bearer tokens and their users (--token-auth-file). */
  readonly tokens?: Readonly<Record<string, AggregatorUser>>;
}

/** One request the double proxied, as it was sent to the service. */
export interface ProxiedRequest {
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly status: number;
}

const AGGREGATED_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
const AGGREGATED_V2BETA1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';
const AVAILABILITY_TIMEOUT_MS = 5_000;
/** Connection-level headers a proxy must not forward (RFC 9110 section 7.6.1), as Go's ReverseProxy drops them. */
const HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Go's url.PathEscape-like escaping of a decoded path for a request line (shouldEscape with encodePath). */
export function goEscapePath(decoded: string): string {
  let out = '';
  for (const byte of Buffer.from(decoded, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Go's url.QueryEscape: everything but unreserved characters escaped, a space as '+'. */
function goQueryEscape(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += c === ' ' ? '+' : /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Go's url.ParseQuery then url.Values.Encode: pairs that do not decode are dropped, keys sorted, values kept in order. */
export function goReencodeQuery(rawQuery: string): string {
  const values = new Map<string, string[]>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const [k, v] = eq === -1 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(k.replace(/\+/g, ' '));
      value = decodeURIComponent(v.replace(/\+/g, ' '));
    } catch {
      continue;
    }
    const list = values.get(key) ?? [];
    list.push(value);
    values.set(key, list);
  }
  return [...values.keys()]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap((k) => (values.get(k) as string[]).map((v) => `${goQueryEscape(k)}=${goQueryEscape(v)}`))
    .join('&');
}

/** client-go's headerKeyEscape: bytes that are not legal in a header name, and '%', as %XX. */
function headerKeyEscape(key: string): string {
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9!#$&'*+\-.^_`|~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The headers transport.SetAuthProxyHeaders leaves: the caller's identity headers removed, the user's set. */
export function authProxyHeaders(headers: IncomingHttpHeaders, user: AggregatorUser): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower) || lower === 'host' || lower === 'authorization') continue;
    if (lower === 'x-remote-user' || lower === 'x-remote-uid' || lower === 'x-remote-group' || lower.startsWith('x-remote-extra-')) continue;
    out[lower] = value;
  }
  out['x-remote-user'] = user.name;
  if (user.uid) out['x-remote-uid'] = user.uid;
  if (user.groups && user.groups.length > 0) out['x-remote-group'] = [...user.groups];
  for (const [key, values] of Object.entries(user.extra ?? {})) out[`x-remote-extra-${headerKeyEscape(key)}`] = [...values];
  return out;
}

function status(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

export class AggregatorDouble {
  private readonly services = new Map<string, APIServiceSpec>();
  /** Every request proxied to a service, in order (availability and discovery checks excluded). */
  readonly proxied: ProxiedRequest[] = [];
  url = '';

  private constructor(
    private readonly server: Server,
    private readonly options: AggregatorDoubleOptions,
  ) {}

  static async start(options: AggregatorDoubleOptions): Promise<AggregatorDouble> {
    const server = createHttpsServer({
      cert: options.serving.cert,
      key: options.serving.key,
      // Client certificates are optional: a token is the other way in.
      requestCert: options.clientCA !== undefined,
      rejectUnauthorized: false,
      ...(options.clientCA ? { ca: options.clientCA } : {}),
    });
    const double = new AggregatorDouble(server, options);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      double.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'Content-Type': 'application/json' });
          res.end(status(500, 'InternalError', String(err)));
        } else res.destroy();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    double.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return double;
  }

  /** Creates or replaces the APIService `<version>.<group>`. */
  registerAPIService(spec: APIServiceSpec): void {
    this.services.set(`${spec.version}.${spec.group}`, spec);
  }

  removeAPIService(group: string, version: string): void {
    this.services.delete(`${version}.${group}`);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  // -------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const user = this.authenticate(req);
    if (!user) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const rawPath = q === -1 ? target : target.slice(0, q);
    const rawQuery = q === -1 ? '' : target.slice(q + 1);
    const parts = rawPath.split('/').filter((p) => p !== '');
    if (parts[0] === 'apis' && parts.length === 1 && req.method === 'GET') return this.serveGroupList(req, res);
    if (parts[0] === 'apis' && parts.length >= 2) {
      const group = decodeURIComponent(parts[1] as string);
      const groupServices = this.servicesOf(group);
      if (groupServices.length > 0) {
        if (parts.length === 2) {
          this.sendJson(res, 200, groupDocument(groupServices));
          return;
        }
        const service = this.services.get(`${decodeURIComponent(parts[2] as string)}.${group}`);
        if (!service) {
          this.sendJson(res, 404, JSON.parse(status(404, 'NotFound', 'the server could not find the requested resource')) as object);
          return;
        }
        return this.proxy(req, res, service, user, rawPath, rawQuery);
      }
    }
    return this.forwardLocal(req, res, target);
  }

  private authenticate(req: IncomingMessage): AggregatorUser | undefined {
    const withGroup = (u: AggregatorUser): AggregatorUser => ({ ...u, groups: [...(u.groups ?? []).filter((g) => g !== 'system:authenticated'), 'system:authenticated'] });
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      const known = m ? this.options.tokens?.[m[1] as string] : undefined;
      return known ? withGroup(known) : undefined;
    }
    const socket = req.socket as TLSSocket;
    if (this.options.clientCA && socket.authorized) {
      const subject = socket.getPeerCertificate().subject as Record<string, string | string[]> | undefined;
      const cn = subject?.['CN'];
      const o = subject?.['O'];
      if (typeof cn === 'string' && cn !== '') return withGroup({ name: cn, groups: o === undefined ? [] : Array.isArray(o) ? o : [o] });
    }
    return undefined;
  }

  private servicesOf(group: string): APIServiceSpec[] {
    return [...this.services.values()].filter((s) => s.group === group).sort((a, b) => b.versionPriority - a.versionPriority || compareVersions(a.version, b.version));
  }

  /** APIService groups in the order kube-aggregator lists them: by groupPriorityMinimum, highest first, then by name. */
  private serviceGroups(): string[] {
    const best = new Map<string, number>();
    for (const s of this.services.values()) best.set(s.group, Math.max(best.get(s.group) ?? 0, s.groupPriorityMinimum));
    return [...best.keys()].sort((a, b) => (best.get(b) as number) - (best.get(a) as number) || (a < b ? -1 : a > b ? 1 : 0));
  }

  private async serveGroupList(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const aggregated = aggregatedAsked(req.headers.accept);
    if (aggregated) return this.serveAggregated(res, aggregated);
    const local = await this.localJson('/apis');
    const groups = [...((local.groups as object[] | undefined) ?? [])];
    for (const group of this.serviceGroups()) groups.push(groupDocument(this.servicesOf(group)));
    this.sendJson(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
  }

  private async serveAggregated(res: ServerResponse, version: 'v2' | 'v2beta1'): Promise<void> {
    const items: object[] = [];
    const local = (await this.localJson('/apis')) as { groups?: { name: string; versions: { version: string }[] }[] };
    for (const g of local.groups ?? []) {
      const versions: object[] = [];
      for (const v of g.versions) {
        const list = await this.localJson(`/apis/${g.name}/${v.version}`);
        versions.push({ version: v.version, resources: convertLegacyResourceList(JSON.stringify(list)), freshness: 'Current' });
      }
      items.push({ metadata: { name: g.name }, versions });
    }
    for (const group of this.serviceGroups()) {
      const versions: object[] = [];
      for (const service of this.servicesOf(group)) {
        const gv = `${group}/${service.version}`;
        const published = (await syncDiscovery('v1.30.0', (path, headers) => this.fetchFromService(service, path, headers.accept), [gv])).get(gv);
        const failed = !published || published.via === 'failed';
        versions.push({ version: service.version, resources: failed ? [] : (published.resources as ResourceDoc[]), freshness: failed ? 'Stale' : 'Current' });
      }
      items.push({ metadata: { name: group }, versions });
    }
    const body = JSON.stringify({ kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items });
    res.writeHead(200, { 'Content-Type': version === 'v2' ? AGGREGATED_V2 : AGGREGATED_V2BETA1, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  /** A GET to the service as the aggregator itself (system:kube-aggregator), for discovery and availability. */
  private fetchFromService(service: APIServiceSpec, path: string, accept: string, groups: readonly string[] = []): Promise<HttpAnswer> {
    const headers: Record<string, string | string[]> = { accept, 'x-remote-user': 'system:kube-aggregator' };
    if (groups.length > 0) headers['x-remote-group'] = [...groups];
    return new Promise((resolve) => {
      const req = httpsRequest(`${service.url}${path}`, { method: 'GET', headers, ...this.tlsTo(service), timeout: AVAILABILITY_TIMEOUT_MS }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', body }));
        res.on('error', () => resolve({ code: 0, contentType: '', body: '' }));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => resolve({ code: 0, contentType: '', body: err.message }));
      req.end();
    });
  }

  private tlsTo(service: APIServiceSpec): { ca: string; cert: string; key: string; servername?: string; agent: false } {
    const host = new URL(service.url).hostname;
    const name = service.serverName ?? host;
    return {
      ca: service.caBundle,
      cert: this.options.proxyClient.cert,
      key: this.options.proxyClient.key,
      // SNI carries a DNS name only; an IP is checked against the certificate's IP SANs.
      ...(/^[\d.]+$/.test(name) ? {} : { servername: name }),
      agent: false,
    };
  }

  private async proxy(req: IncomingMessage, res: ServerResponse, service: APIServiceSpec, user: AggregatorUser, rawPath: string, rawQuery: string): Promise<void> {
    const check = await this.fetchFromService(service, `/apis/${service.group}/${service.version}`, 'application/json', ['system:masters']);
    if (check.code < 200 || check.code >= 300) {
      plainError(res, 503, 'service unavailable');
      return;
    }
    let path: string;
    try {
      path = goEscapePath(decodeURIComponent(rawPath));
    } catch {
      path = rawPath;
    }
    const query = goReencodeQuery(rawQuery);
    const url = query === '' ? path : `${path}?${query}`;
    const headers = authProxyHeaders(req.headers, user);
    const forwardedFor = req.socket.remoteAddress;
    if (forwardedFor) headers['x-forwarded-for'] = forwardedFor;
    await new Promise<void>((resolve) => {
      const upstream = httpsRequest(`${service.url}${url}`, { method: req.method ?? 'GET', headers, ...this.tlsTo(service) }, (answer) => {
        this.proxied.push({ method: req.method ?? 'GET', url, headers, status: answer.statusCode ?? 0 });
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
        res.writeHead(answer.statusCode ?? 502, out);
        answer.pipe(res);
        answer.on('end', resolve);
        answer.on('error', () => {
          res.destroy();
          resolve();
        });
      });
      upstream.on('error', (err) => {
        if (!res.headersSent) plainError(res, 503, `error trying to reach service: ${err.message}`);
        else res.destroy();
        resolve();
      });
      req.pipe(upstream);
    });
  }

  private forwardLocal(req: IncomingMessage, res: ServerResponse, target: string): Promise<void> {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name) && name !== 'host' && name !== 'authorization') headers[name] = value;
    }
    if (this.options.local.token) headers['authorization'] = `Bearer ${this.options.local.token}`;
    return new Promise((resolve) => {
      const upstream = httpRequest(`${this.options.local.url}${target}`, { method: req.method ?? 'GET', headers, agent: false }, (answer) => {
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
        res.writeHead(answer.statusCode ?? 502, out);
        answer.pipe(res);
        answer.on('end', resolve);
        answer.on('error', () => {
          res.destroy();
          resolve();
        });
      });
      upstream.on('error', (err) => {
        if (!res.headersSent) plainError(res, 503, `error trying to reach the core API server: ${err.message}`);
        resolve();
      });
      req.pipe(upstream);
    });
  }

  private async localJson(path: string): Promise<Record<string, unknown>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.local.token) headers['authorization'] = `Bearer ${this.options.local.token}`;
    const res = await fetch(`${this.options.local.url}${path}`, { headers });
    if (!res.ok) throw new Error(`the core API server answered ${res.status} for ${path}`);
    return (await res.json()) as Record<string, unknown>;
  }

  private sendJson(res: ServerResponse, code: number, body: object): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }
}

/** Go's http.Error: plain text with a newline, which clients read as a Status-less error. */
function plainError(res: ServerResponse, code: number, message: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end(`${message}\n`);
}

/** convertToDiscoveryAPIGroup: the highest versionPriority first, and preferred. */
function groupDocument(services: readonly APIServiceSpec[]): object {
  const gv = (s: APIServiceSpec): object => ({ groupVersion: `${s.group}/${s.version}`, version: s.version });
  const first = services[0] as APIServiceSpec;
  return { kind: 'APIGroup', apiVersion: 'v1', name: first.group, versions: services.map(gv), preferredVersion: gv(first) };
}

/** Kubernetes version order (v1 > v1beta2 > v1beta1 > v1alpha1), the tie-break for equal versionPriority. */
function compareVersions(a: string, b: string): number {
  const parse = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [-1, 0, 0];
    return [Number(m[1]), m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1, Number(m[3] ?? 0)];
  };
  const [x, y] = [parse(a), parse(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (y[i] as number) - (x[i] as number);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Which aggregated discovery version the Accept header asks for first, if any. */
function aggregatedAsked(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  for (const range of (accept ?? '').split(',')) {
    const [type, ...params] = range.split(';').map((s) => s.trim());
    if (type !== 'application/json') continue;
    const p = new Map(params.map((kv) => kv.split('=', 2).map((s) => s.trim()) as [string, string]));
    if (p.get('g') === 'apidiscovery.k8s.io' && p.get('as') === 'APIGroupDiscoveryList' && (p.get('v') === 'v2' || p.get('v') === 'v2beta1')) {
      return p.get('v') as 'v2' | 'v2beta1';
    }
    // A plain JSON range before any aggregated one wins.
    if (!p.has('as')) return undefined;
  }
  return undefined;
}
