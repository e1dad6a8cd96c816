// A test double of the Kubernetes API, for tests only: it is not a
// Kubernetes implementation. It serves, in process on 127.0.0.1, the few
// endpoints a metadata informer uses, with the wire behaviour the real API
// server documents (https://kubernetes.io/docs/reference/using-api/api-concepts/):
//
// - legacy discovery: /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>;
// - LIST and GET of namespaced and root-scoped resources, with labelSelector,
//   limit/continue (pages of one consistent snapshot) and resourceVersion;
// - WATCH (`watch=true`): newline-delimited JSON events, replayed from the
//   requested resourceVersion, ADDED events for the current state when none
//   is given, BOOKMARK events when allowed, a clean end after timeoutSeconds,
//   and a 410 Expired ERROR event when the resourceVersion is older than the
//   retained window (see compact());
// - PartialObjectMetadata(List) when the Accept header asks for it;
// - for delegated authentication: POST of TokenReviews
//   (authentication.k8s.io/v1) and SubjectAccessReviews
//   (authorization.k8s.io/v1), answered from test-set tokens and a test-set
//   decision function, and GET, LIST (fieldSelector=metadata.name=...) and
//   WATCH of ConfigMaps such as kube-system/extension-apiserver-authentication;
// - CREATE (POST to a collection) and PATCH (merge patch, and strategic merge
//   patch without directives) of registered resources, with `dryRun=All`,
//   through an admission step a test sets (setAdmission), as kube-apiserver
//   runs its admission chain before it stores an object: the warnings the
//   step returns go back as `Warning` response headers the way
//   k8s.io/apiserver's recorder writes them (see warningHeaders()). An object
//   keeps its labels, annotations and spec; the server sets uid,
//   resourceVersion and creationTimestamp and clears the status, and applies
//   no defaults.
//
// resourceVersion is one counter for every object, like etcd's revision.
// Test controls change objects and resources, drop or expire watch connections,
// compact history, delay or fail requests, and count what was received.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readSelector, selectorMatches, type OracleRequirement } from './selector-oracle.js';

export interface DoubleResourceDef {
  /** '' for the core group. */
  readonly group: string;
  /** Versions served; the first is the group's preferred version unless the group already has one. */
  readonly versions: readonly string[];
  /** Plural, lower-case. */
  readonly resource: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly singular?: string;
  readonly shortNames?: readonly string[];
  readonly verbs?: readonly string[];
  /** Listed in discovery as `<resource>/<sub>`, as the real server does. */
  readonly subresources?: readonly string[];
}

export interface DoubleObject {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  /** Served as is in the full representation (a Node's capacity, a Pod's nodeName); a placeholder when absent. */
  readonly spec?: Readonly<Record<string, unknown>>;
  readonly status?: Readonly<Record<string, unknown>>;
}

export interface ObjectKey {
  readonly name: string;
  readonly namespace?: string;
}

export type RequestVerb = 'discovery' | 'list' | 'watch' | 'get' | 'create' | 'patch' | 'other';

export interface RecordedRequest {
  readonly verb: RequestVerb;
  readonly path: string;
  /** `pods`, `deployments.apps`; undefined for discovery. */
  readonly resource?: string;
  readonly query: Readonly<Record<string, string>>;
  readonly accept: string | undefined;
  readonly authorization: string | undefined;
}

export interface KubeApiDoubleOptions {
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Send a BOOKMARK to bookmark-enabled watches this often; 0 (default) sends them only on sendBookmarks(). */
  readonly bookmarkIntervalMs?: number;
  /** Serve HTTPS with this PEM certificate and key instead of plain HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

/** What a TokenReview answers for a token. */
export type DoubleTokenUser =
  | {
      readonly username: string;
      readonly uid?: string;
      readonly groups?: readonly string[];
      readonly extra?: Readonly<Record<string, readonly string[]>>;
      /** The audiences the token is valid for; default the API server's. */
      readonly audiences?: readonly string[];
    }
  | { readonly error: string };

/** The spec of a SubjectAccessReview as received. */
export interface DoubleAccessReviewSpec {
  readonly user?: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
  readonly resourceAttributes?: Readonly<Record<string, unknown>>;
  readonly nonResourceAttributes?: Readonly<Record<string, unknown>>;
}

export type DoubleAccessDecision = boolean | { readonly allowed: boolean; readonly denied?: boolean; readonly reason?: string };

/** What an admission step is given for one CREATE or UPDATE, as kube-apiserver's admission.Attributes carry it. */
export interface DoubleAdmissionRequest {
  readonly operation: 'CREATE' | 'UPDATE';
  readonly kind: { readonly group: string; readonly version: string; readonly kind: string };
  readonly resource: { readonly group: string; readonly version: string; readonly resource: string };
  /** undefined for a root-scoped resource. */
  readonly namespace: string | undefined;
  readonly name: string;
  /** The object as it would be stored: for CREATE the request's, with the namespace of the path. */
  readonly object: Record<string, unknown>;
  /** The stored object an UPDATE replaces; undefined for CREATE. */
  readonly oldObject: Record<string, unknown> | undefined;
  readonly dryRun: boolean;
  /** CreateOptions or UpdateOptions (meta.k8s.io/v1) built from the query. */
  readonly options: Record<string, unknown>;
  readonly userInfo: { readonly username: string; readonly uid?: string; readonly groups: readonly string[] };
}

/** An admission step's answer: the object to store (possibly changed) or a refusal, and warnings either way. */
export type DoubleAdmissionResult =
  | { readonly allowed: true; readonly object: Record<string, unknown>; readonly warnings: readonly string[] }
  | { readonly allowed: false; readonly code: number; readonly message: string; readonly warnings: readonly string[] };

export type DoubleAdmission = (request: DoubleAdmissionRequest) => Promise<DoubleAdmissionResult>;

/** The audiences kube-apiserver's tokens carry by default. */
export const DOUBLE_API_AUDIENCES: readonly string[] = ['https://kubernetes.default.svc.cluster.local'];

interface StoredConfigMap {
  readonly namespace: string;
  readonly name: string;
  readonly data: Readonly<Record<string, string>>;
  readonly uid: string;
  readonly resourceVersion: number;
  readonly creationTimestamp: string;
}

interface ConfigMapEvent {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: StoredConfigMap;
}

interface ConfigMapWatcher {
  readonly namespace: string;
  readonly name: string | undefined;
  readonly res: ServerResponse;
  timer: NodeJS.Timeout | undefined;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** What a cluster of today serves for the resources the tests use. */
export const DEFAULT_RESOURCES: readonly DoubleResourceDef[] = [
  { group: '', versions: ['v1'], resource: 'pods', kind: 'Pod', namespaced: true, shortNames: ['po'], subresources: ['status', 'log', 'exec'] },
  { group: '', versions: ['v1'], resource: 'services', kind: 'Service', namespaced: true, shortNames: ['svc'], subresources: ['status'] },
  { group: '', versions: ['v1'], resource: 'namespaces', kind: 'Namespace', namespaced: false, shortNames: ['ns'], subresources: ['status'] },
  { group: '', versions: ['v1'], resource: 'nodes', kind: 'Node', namespaced: false, shortNames: ['no'], subresources: ['status'] },
  { group: '', versions: ['v1'], resource: 'bindings', kind: 'Binding', namespaced: true, verbs: ['create'] },
  { group: 'apps', versions: ['v1'], resource: 'deployments', kind: 'Deployment', namespaced: true, shortNames: ['deploy'], subresources: ['scale', 'status'] },
  { group: 'apps', versions: ['v1'], resource: 'statefulsets', kind: 'StatefulSet', namespaced: true, shortNames: ['sts'], subresources: ['scale', 'status'] },
  { group: 'networking.k8s.io', versions: ['v1'], resource: 'ingresses', kind: 'Ingress', namespaced: true, shortNames: ['ing'], subresources: ['status'] },
  { group: 'autoscaling', versions: ['v2', 'v1'], resource: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', namespaced: true, shortNames: ['hpa'], subresources: ['status'] },
];

interface Resource extends Required<Omit<DoubleResourceDef, 'versions'>> {
  readonly versions: string[];
}

interface Stored {
  readonly name: string;
  readonly namespace: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: Readonly<Record<string, unknown>> | undefined;
  readonly status: Readonly<Record<string, unknown>> | undefined;
  readonly uid: string;
  readonly resourceVersion: number;
  readonly creationTimestamp: string;
}

interface LoggedEvent {
  readonly rv: number;
  readonly resource: string;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: Stored;
  readonly previous: Stored | undefined;
}

interface Watcher {
  readonly resource: Resource;
  readonly apiVersion: string;
  readonly namespace: string | undefined;
  readonly selector: readonly OracleRequirement[];
  readonly partial: boolean;
  readonly bookmarks: boolean;
  readonly res: ServerResponse;
  timer: NodeJS.Timeout | undefined;
}

interface Snapshot {
  readonly rv: number;
  readonly items: readonly Stored[];
}

type Representation = 'full' | 'partial';

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const keyOf = (r: { group: string; resource: string }): string => (r.group ? `${r.resource}.${r.group}` : r.resource);
const objectKey = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;

export class KubeApiDouble {
  private readonly resources = new Map<string, Resource>();
  private readonly preferred = new Map<string, string>();
  private readonly objects = new Map<string, Map<string, Stored>>();
  private readonly log: LoggedEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly pending = new Set<NodeJS.Timeout>();
  private readonly failures: { verb: RequestVerb; code: number; message: string }[] = [];
  private rv = 1000;
  private compactedRv = 1000;
  private uid = 0;
  private snapshotId = 0;
  private listDelayMs = 0;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private readonly tokens = new Map<string, DoubleTokenUser>();
  private accessDecision: (spec: DoubleAccessReviewSpec) => DoubleAccessDecision = () => false;
  private admission: DoubleAdmission | undefined;
  private readonly configMaps = new Map<string, StoredConfigMap>();
  private readonly configMapLog: ConfigMapEvent[] = [];
  private readonly configMapWatchers = new Set<ConfigMapWatcher>();
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  /** The spec of every TokenReview received, in order. */
  readonly tokenReviews: { readonly token?: string; readonly audiences?: readonly string[] }[] = [];
  /** The spec of every SubjectAccessReview received, in order. */
  readonly accessReviews: DoubleAccessReviewSpec[] = [];
  url = '';

  private constructor(
    private readonly server: Server,
    private readonly options: KubeApiDoubleOptions,
  ) {
    for (const r of DEFAULT_RESOURCES) this.addResource(r);
  }

  static async start(options: KubeApiDoubleOptions = {}): Promise<KubeApiDouble> {
    const server: Server = options.tls ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }) : createServer();
    const double = new KubeApiDouble(server, options);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => double.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    double.url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (options.bookmarkIntervalMs) double.bookmarkTimer = setInterval(() => double.sendBookmarks(), options.bookmarkIntervalMs);
    return double;
  }

  // -------------------------------------------------------------------------
  // Test controls

  /** Registers a resource, as creating a CRD does. */
  addResource(def: DoubleResourceDef): void {
    const key = keyOf(def);
    if (this.resources.has(key)) throw new Error(`resource ${key} already exists`);
    if (def.versions.length === 0) throw new Error('a resource needs a version');
    this.resources.set(key, {
      group: def.group,
      versions: [...def.versions],
      resource: def.resource,
      kind: def.kind,
      namespaced: def.namespaced,
      singular: def.singular ?? def.kind.toLowerCase(),
      shortNames: def.shortNames ?? [],
      verbs: def.verbs ?? ALL_VERBS,
      subresources: def.subresources ?? [],
    });
    if (!this.preferred.has(def.group)) this.preferred.set(def.group, def.versions[0] as string);
    this.objects.set(key, new Map());
  }

  /** Creates an object; returns its resourceVersion. `resource` is `pods`, `deployments.apps`... */
  addObject(resource: string, object: DoubleObject): string {
    const r = this.resourceNamed(resource);
    if (r.namespaced !== (object.namespace !== undefined)) {
      throw new Error(`${resource} is ${r.namespaced ? '' : 'not '}namespaced`);
    }
    const store = this.objects.get(resource) as Map<string, Stored>;
    const k = objectKey(object.namespace, object.name);
    if (store.has(k)) throw new Error(`${resource} "${object.name}" already exists`);
    const stored: Stored = {
      name: object.name,
      namespace: object.namespace,
      labels: { ...(object.labels ?? {}) },
      annotations: { ...(object.annotations ?? {}) },
      spec: object.spec,
      status: object.status,
      uid: `00000000-0000-4000-8000-${String(++this.uid).padStart(12, '0')}`,
      resourceVersion: ++this.rv,
      creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    store.set(k, stored);
    this.record({ rv: stored.resourceVersion, resource, type: 'ADDED', object: stored, previous: undefined });
    return String(stored.resourceVersion);
  }

  /** Replaces an object's labels; returns the new resourceVersion. */
  updateLabels(resource: string, key: ObjectKey, labels: Readonly<Record<string, string>>): string {
    const { store, previous, k } = this.existing(resource, key);
    const next: Stored = { ...previous, labels: { ...labels }, resourceVersion: ++this.rv };
    store.set(k, next);
    this.record({ rv: next.resourceVersion, resource, type: 'MODIFIED', object: next, previous });
    return String(next.resourceVersion);
  }

  /** Deletes an object; the DELETED event carries the deletion's resourceVersion, as the API server's does. */
  deleteObject(resource: string, key: ObjectKey): string {
    const { store, previous, k } = this.existing(resource, key);
    store.delete(k);
    const gone: Stored = { ...previous, resourceVersion: ++this.rv };
    this.record({ rv: gone.resourceVersion, resource, type: 'DELETED', object: gone, previous });
    return String(gone.resourceVersion);
  }

  /**
   * Closes every open watch. By default the connection is cut, as when an
   * API server dies; `graceful` ends the stream cleanly, as timeoutSeconds does.
   * Returns how many were closed.
   */
  dropWatches(options: { graceful?: boolean } = {}): number {
    const n = this.watchers.size + this.configMapWatchers.size;
    for (const w of [...this.watchers]) this.endWatch(w, options.graceful ? 'end' : 'destroy');
    for (const w of [...this.configMapWatchers]) this.endConfigMapWatch(w, options.graceful ? 'end' : 'destroy');
    return n;
  }

  /**
   * Ends every open watch with a 410 Expired ERROR event, as the API server
   * does when a watcher falls out of its watch cache's window. Returns how
   * many were ended.
   */
  expireWatches(): number {
    const n = this.watchers.size + this.configMapWatchers.size;
    const expired = `${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', 'The resourceVersion for the provided watch is too old.') })}\n`;
    for (const w of [...this.watchers]) {
      if (!w.res.destroyed && !w.res.writableEnded) w.res.write(expired);
      this.endWatch(w, 'end');
    }
    for (const w of [...this.configMapWatchers]) {
      if (!w.res.destroyed && !w.res.writableEnded) w.res.write(expired);
      this.endConfigMapWatch(w, 'end');
    }
    return n;
  }

  /**
   * Forgets history up to now, as etcd compaction and the watch cache's
   * bounded window do: a WATCH or LIST from an older resourceVersion gets
   * 410 Expired, and outstanding continue tokens expire.
   */
  compact(): void {
    this.compactedRv = this.rv;
    this.log.splice(0, this.log.length);
    this.configMapLog.splice(0, this.configMapLog.length);
    this.snapshots.clear();
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watch that allowed bookmarks. */
  sendBookmarks(): void {
    for (const w of this.watchers) if (w.bookmarks) this.write(w, this.bookmark(w));
  }

  /** LIST responses wait this long (0 to stop delaying). */
  setListDelay(ms: number): void {
    this.listDelayMs = ms;
  }

  /** The next `count` requests of `verb` get a Status with `code`. */
  failNext(verb: RequestVerb, count: number, code: number, message = 'injected failure'): void {
    for (let i = 0; i < count; i++) this.failures.push({ verb, code, message });
  }

  /** TokenReviews of `token` answer with this user (or status.error); `undefined` forgets the token. */
  setToken(token: string, user: DoubleTokenUser | undefined): void {
    if (user === undefined) this.tokens.delete(token);
    else this.tokens.set(token, user);
  }

  /**
   * Decides SubjectAccessReviews: `true` allows, `false` has no opinion
   * (what RBAC answers when no rule matches), or a status of its own. The
   * default has no opinion on anything.
   */
  setAccessDecision(decide: (spec: DoubleAccessReviewSpec) => DoubleAccessDecision): void {
    this.accessDecision = decide;
  }

  /**
   * Runs `admit` on every CREATE and UPDATE (POST and PATCH) before the
   * object is stored, as kube-apiserver runs its mutating admission chain;
   * undefined stores objects as they come.
   */
  setAdmission(admit: DoubleAdmission | undefined): void {
    this.admission = admit;
  }

  /** The stored object as a GET returns it, or undefined; `resource` is `pods`, `deployments.apps`... */
  objectOf(resource: string, key: ObjectKey): Record<string, unknown> | undefined {
    const r = this.resourceNamed(resource);
    const o = this.objects.get(resource)?.get(objectKey(key.namespace, key.name));
    return o === undefined ? undefined : (encode(o, r, apiVersionOf(r.group, r.versions[0] as string), 'full') as Record<string, unknown>);
  }

  tokenReviewCount(): number {
    return this.tokenReviews.length;
  }

  accessReviewCount(): number {
    return this.accessReviews.length;
  }

  /**
   * Creates, replaces (data undefined: deletes) a ConfigMap; returns the
   * resourceVersion of the change. Watches see ADDED, MODIFIED or DELETED.
   */
  setConfigMap(namespace: string, name: string, data: Readonly<Record<string, string>> | undefined): string {
    const key = `${namespace}/${name}`;
    const previous = this.configMaps.get(key);
    const rv = ++this.rv;
    if (data === undefined) {
      if (!previous) throw new Error(`configmap ${key} not found`);
      this.configMaps.delete(key);
      this.recordConfigMap({ rv, type: 'DELETED', object: { ...previous, resourceVersion: rv } });
      return String(rv);
    }
    const object: StoredConfigMap = {
      namespace,
      name,
      data: { ...data },
      uid: previous?.uid ?? `00000000-0000-4000-8000-${String(++this.uid).padStart(12, '0')}`,
      resourceVersion: rv,
      creationTimestamp: previous?.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    this.configMaps.set(key, object);
    this.recordConfigMap({ rv, type: previous ? 'MODIFIED' : 'ADDED', object });
    return String(rv);
  }

  /** setConfigMap for kube-system/extension-apiserver-authentication. */
  setAuthenticationConfigMap(data: Readonly<Record<string, string>> | undefined): string {
    return this.setConfigMap('kube-system', 'extension-apiserver-authentication', data);
  }

  openConfigMapWatches(): number {
    return this.configMapWatchers.size;
  }

  /** The current resourceVersion. */
  get resourceVersion(): string {
    return String(this.rv);
  }

  listCount(resource?: string): number {
    return this.count('list', resource);
  }

  watchCount(resource?: string): number {
    return this.count('watch', resource);
  }

  discoveryCount(): number {
    return this.count('discovery');
  }

  openWatches(resource?: string): number {
    return [...this.watchers].filter((w) => resource === undefined || keyOf(w.resource) === resource).length;
  }

  async close(): Promise<void> {
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer);
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
    for (const w of [...this.watchers]) this.endWatch(w, 'destroy');
    for (const w of [...this.configMapWatchers]) this.endConfigMapWatch(w, 'destroy');
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  // -------------------------------------------------------------------------
  // Internals

  /** TokenReview, SubjectAccessReview and ConfigMap routes; false when the request is for another route. */
  private handleAuthRoutes(req: IncomingMessage, res: ServerResponse, url: URL, query: Record<string, string>): boolean {
    const path = url.pathname;
    const review =
      path === '/apis/authentication.k8s.io/v1/tokenreviews'
        ? 'tokenreviews.authentication.k8s.io'
        : path === '/apis/authorization.k8s.io/v1/subjectaccessreviews'
          ? 'subjectaccessreviews.authorization.k8s.io'
          : undefined;
    const cm = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/]+))?\/?$/.exec(path);
    if (!review && !cm) return false;
    const isWatch = query['watch'] === 'true' || query['watch'] === '1';
    const verb: RequestVerb = review ? (req.method === 'POST' ? 'create' : 'other') : cm?.[2] !== undefined ? 'get' : isWatch ? 'watch' : 'list';
    this.requests.push({ verb, path, resource: review ?? 'configmaps', query, accept: req.headers.accept, authorization: req.headers.authorization });
    const fail = (e: unknown): void => {
      const err = e instanceof HttpError ? e : new HttpError(500, 'InternalError', String(e));
      sendJson(res, err.code, status(err.code, err.reason, err.message));
    };
    try {
      if (this.options.token !== undefined && req.headers.authorization !== `Bearer ${this.options.token}`) {
        throw new HttpError(401, 'Unauthorized', 'Unauthorized');
      }
      if (review ? req.method !== 'POST' : req.method !== 'GET') throw new HttpError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      const failure = this.failures.findIndex((f) => f.verb === verb);
      if (failure >= 0) {
        const f = this.failures.splice(failure, 1)[0] as { code: number; message: string };
        throw new HttpError(f.code, reasonFor(f.code), f.message);
      }
    } catch (e) {
      fail(e);
      return true;
    }
    if (review) {
      readBody(req)
        .then((body) => (review.startsWith('tokenreviews') ? this.tokenReview(res, body) : this.accessReview(res, body)))
        .catch(fail);
      return true;
    }
    try {
      const namespace = cm?.[1] as string;
      const name = cm?.[2];
      if (name !== undefined) {
        const o = this.configMaps.get(`${namespace}/${name}`);
        if (!o) throw new HttpError(404, 'NotFound', `configmaps "${name}" not found`);
        sendJson(res, 200, encodeConfigMap(o));
        return true;
      }
      const selector = query['fieldSelector'] ?? '';
      const m = /^metadata\.name(?:=|==)([^,]+)$/.exec(selector);
      if (selector !== '' && !m) throw new HttpError(400, 'BadRequest', `the double supports only fieldSelector=metadata.name=<name>, not ${JSON.stringify(selector)}`);
      const only = m?.[1];
      if (isWatch) {
        this.watchConfigMaps(res, namespace, only, query);
        return true;
      }
      const items = [...this.configMaps.values()].filter((o) => o.namespace === namespace && (only === undefined || o.name === only)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      sendJson(res, 200, { kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items: items.map(encodeConfigMap) });
    } catch (e) {
      fail(e);
    }
    return true;
  }

  private tokenReview(res: ServerResponse, body: unknown): void {
    const spec = reviewSpec(body, 'TokenReview', 'authentication.k8s.io/v1');
    const token = typeof spec['token'] === 'string' ? spec['token'] : undefined;
    const audiences = Array.isArray(spec['audiences']) ? spec['audiences'].filter((a): a is string => typeof a === 'string') : undefined;
    this.tokenReviews.push({ ...(token !== undefined ? { token } : {}), ...(audiences ? { audiences } : {}) });
    const known = token === undefined ? undefined : this.tokens.get(token);
    let reviewStatus: object;
    if (!known) {
      // An unknown token: not authenticated, and no error (what the API server says for a token no authenticator recognises).
      reviewStatus = { user: {} };
    } else if ('error' in known) {
      reviewStatus = { user: {}, error: known.error };
    } else {
      const valid = known.audiences ?? DOUBLE_API_AUDIENCES;
      const granted = audiences && audiences.length > 0 ? audiences.filter((a) => valid.includes(a)) : [...valid];
      reviewStatus =
        granted.length === 0
          ? { user: {}, error: `[invalid bearer token, token audiences ${JSON.stringify(valid)} is invalid for the target audiences ${JSON.stringify(audiences)}]` }
          : {
              authenticated: true,
              user: {
                username: known.username,
                ...(known.uid ? { uid: known.uid } : {}),
                ...(known.groups ? { groups: known.groups } : {}),
                ...(known.extra ? { extra: known.extra } : {}),
              },
              audiences: granted,
            };
    }
    sendJson(res, 201, { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec, status: reviewStatus });
  }

  private accessReview(res: ServerResponse, body: unknown): void {
    const spec = reviewSpec(body, 'SubjectAccessReview', 'authorization.k8s.io/v1') as DoubleAccessReviewSpec;
    if (!spec.resourceAttributes === !spec.nonResourceAttributes) {
      throw new HttpError(
        422,
        'Invalid',
        'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
      );
    }
    if (!spec.user && !(spec.groups && spec.groups.length > 0)) {
      throw new HttpError(422, 'Invalid', 'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.user: Invalid value: "": at least one of user or group must be specified');
    }
    this.accessReviews.push(spec);
    const d = this.accessDecision(spec);
    const decision = typeof d === 'boolean' ? { allowed: d } : d;
    const reviewStatus = { allowed: decision.allowed, ...(decision.denied ? { denied: true } : {}), ...(decision.reason ? { reason: decision.reason } : {}) };
    sendJson(res, 201, { kind: 'SubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null }, spec, status: reviewStatus });
  }

  private recordConfigMap(event: ConfigMapEvent): void {
    this.configMapLog.push(event);
    for (const w of this.configMapWatchers) this.sendConfigMapEvent(w, event);
  }

  private sendConfigMapEvent(w: ConfigMapWatcher, e: ConfigMapEvent): void {
    if (e.object.namespace !== w.namespace || (w.name !== undefined && e.object.name !== w.name)) return;
    if (!w.res.destroyed && !w.res.writableEnded) w.res.write(`${JSON.stringify({ type: e.type, object: encodeConfigMap(e.object) })}\n`);
  }

  private watchConfigMaps(res: ServerResponse, namespace: string, name: string | undefined, query: Record<string, string>): void {
    const w: ConfigMapWatcher = { namespace, name, res, timer: undefined };
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const rv = query['resourceVersion'];
    if (rv !== undefined && rv !== '' && rv !== '0') {
      const from = Number(rv);
      if (!Number.isInteger(from) || from < this.compactedRv) {
        res.write(`${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${rv} (${this.compactedRv})`) })}\n`);
        res.end();
        return;
      }
      for (const e of this.configMapLog) if (e.rv > from) this.sendConfigMapEvent(w, e);
    } else {
      for (const o of this.configMaps.values()) this.sendConfigMapEvent(w, { rv: o.resourceVersion, type: 'ADDED', object: o });
    }
    this.configMapWatchers.add(w);
    const timeout = Number(query['timeoutSeconds']);
    if (Number.isFinite(timeout) && timeout > 0) w.timer = setTimeout(() => this.endConfigMapWatch(w, 'end'), timeout * 1000);
    res.on('close', () => this.endConfigMapWatch(w, 'none'));
  }

  private endConfigMapWatch(w: ConfigMapWatcher, how: 'end' | 'destroy' | 'none'): void {
    if (w.timer) clearTimeout(w.timer);
    w.timer = undefined;
    this.configMapWatchers.delete(w);
    if (how === 'end') w.res.end();
    if (how === 'destroy') w.res.destroy();
  }

  private count(verb: RequestVerb, resource?: string): number {
    return this.requests.filter((r) => r.verb === verb && (resource === undefined || r.resource === resource)).length;
  }

  private resourceNamed(name: string): Resource {
    const r = this.resources.get(name);
    if (!r) throw new Error(`the double has no resource ${name}`);
    return r;
  }

  private existing(resource: string, key: ObjectKey): { store: Map<string, Stored>; previous: Stored; k: string } {
    this.resourceNamed(resource);
    const store = this.objects.get(resource) as Map<string, Stored>;
    const k = objectKey(key.namespace, key.name);
    const previous = store.get(k);
    if (!previous) throw new Error(`${resource} "${key.name}" not found`);
    return { store, previous, k };
  }

  private record(event: LoggedEvent): void {
    this.log.push(event);
    for (const w of this.watchers) {
      if (keyOf(w.resource) !== event.resource) continue;
      const out = this.eventFor(w, event);
      if (out) this.write(w, out);
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://double');
    const query = Object.fromEntries(url.searchParams);
    if (this.handleAuthRoutes(req, res, url, query)) return;
    const route = this.route(url.pathname);
    const isWatch = query['watch'] === 'true' || query['watch'] === '1';
    const verb = verbOf(route, req.method, isWatch);
    this.requests.push({
      verb,
      path: url.pathname,
      ...(route.kind === 'collection' || route.kind === 'object' ? { resource: keyOf(route.resource) } : {}),
      query,
      accept: req.headers.accept,
      authorization: req.headers.authorization,
    });
    try {
      if (this.options.token !== undefined && req.headers.authorization !== `Bearer ${this.options.token}`) {
        throw new HttpError(401, 'Unauthorized', 'Unauthorized');
      }
      const verbs = route.kind === 'collection' || route.kind === 'object' ? route.resource.verbs : [];
      if (req.method !== 'GET' && !((verb === 'create' || verb === 'patch') && verbs.includes(verb))) {
        throw new HttpError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
      }
      const failure = this.failures.findIndex((f) => f.verb === verb);
      if (failure >= 0) {
        const f = this.failures.splice(failure, 1)[0] as { code: number; message: string };
        throw new HttpError(f.code, reasonFor(f.code), f.message);
      }
      switch (route.kind) {
        case 'discovery':
          return sendJson(res, 200, route.body());
        case 'collection':
          if (verb === 'create') return void this.create(req, res, route, query).catch((e: unknown) => sendFailure(res, e));
          if (isWatch) return this.watch(req, res, route, query);
          return this.list(req, res, route, query);
        case 'object':
          if (verb === 'patch') return void this.patch(req, res, route, query).catch((e: unknown) => sendFailure(res, e));
          return this.get(req, res, route);
        default:
          throw new HttpError(404, 'NotFound', 'the server could not find the requested resource');
      }
    } catch (err) {
      sendFailure(res, err);
    }
  }

  /** POST to a collection: admission, then the store, as kube-apiserver's create handler runs them. */
  private async create(req: IncomingMessage, res: ServerResponse, route: CollectionRoute, query: Record<string, string>): Promise<void> {
    const r = route.resource;
    if (r.namespaced && route.namespace === undefined) throw new HttpError(405, 'MethodNotAllowed', `${keyOf(r)} is namespaced: POST it to /namespaces/<namespace>/${r.resource}`);
    requireJson(req, ['application/json']);
    const dryRun = dryRunOf(query);
    const body = asRecord(await readBody(req));
    const apiVersion = apiVersionOf(r.group, route.version);
    if (body?.['apiVersion'] !== apiVersion || body['kind'] !== r.kind) {
      throw new HttpError(400, 'BadRequest', `the object must be ${apiVersion} ${r.kind}, not ${JSON.stringify(body?.['apiVersion'])} ${JSON.stringify(body?.['kind'])}`);
    }
    const metadata = asRecord(body['metadata']) ?? {};
    const name = metadata['name'];
    if (typeof name !== 'string' || name === '') throw new HttpError(422, 'Invalid', `${r.kind} "" is invalid: metadata.name: Required value: name is required (the double does not generate names)`);
    if (metadata['namespace'] !== undefined && metadata['namespace'] !== route.namespace) {
      throw new HttpError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    const object = { ...body, metadata: { ...metadata, ...(route.namespace !== undefined ? { namespace: route.namespace } : {}) } };
    const options = { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', ...writeOptions(query) };
    const admitted = await this.admit(res, { operation: 'CREATE', route, name, object, oldObject: undefined, dryRun, options, req });
    const store = this.objects.get(keyOf(r)) as Map<string, Stored>;
    const k = objectKey(route.namespace, name);
    // The store refuses a duplicate only after admission, as etcd's create does: the warnings still go out.
    if (store.has(k)) throw new HttpError(409, 'AlreadyExists', `${keyOf(r)} "${name}" already exists`);
    const stored = storedFrom(admitted, name, route.namespace, { uid: `00000000-0000-4000-8000-${String(++this.uid).padStart(12, '0')}`, resourceVersion: dryRun ? this.rv : ++this.rv });
    if (!dryRun) {
      store.set(k, stored);
      this.record({ rv: stored.resourceVersion, resource: keyOf(r), type: 'ADDED', object: stored, previous: undefined });
    }
    sendJson(res, 201, encode(stored, r, apiVersion, 'full'));
  }

  /**
   * PATCH of an object: a JSON merge patch (RFC 7386), or a strategic merge
   * patch with no `$` directives, which merges the same way (what kubectl
   * apply sends for an object whose lists have no merge key, such as an HPA).
   * A directive is refused rather than applied wrongly.
   */
  private async patch(req: IncomingMessage, res: ServerResponse, route: ObjectRoute, query: Record<string, string>): Promise<void> {
    const r = route.resource;
    const type = requireJson(req, ['application/merge-patch+json', 'application/strategic-merge-patch+json']);
    const dryRun = dryRunOf(query);
    const body = await readBody(req);
    const store = this.objects.get(keyOf(r)) as Map<string, Stored>;
    const k = objectKey(route.namespace, route.name);
    const previous = store.get(k);
    if (!previous) throw new HttpError(404, 'NotFound', `${keyOf(r)} "${route.name}" not found`);
    if (type === 'application/strategic-merge-patch+json' && hasDirective(body)) {
      throw new HttpError(415, 'UnsupportedMediaType', 'the double applies strategic merge patches only when they carry no $ directives');
    }
    const apiVersion = apiVersionOf(r.group, route.version);
    const oldObject = encode(previous, r, apiVersion, 'full') as Record<string, unknown>;
    const object = asRecord(mergePatch(oldObject, body));
    const metadata = asRecord(object?.['metadata']);
    if (object === undefined || metadata?.['name'] !== route.name || metadata['namespace'] !== route.namespace) {
      throw new HttpError(400, 'BadRequest', 'the patch may not change the name or namespace of the object');
    }
    const options = { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', ...writeOptions(query) };
    const admitted = await this.admit(res, { operation: 'UPDATE', route, name: route.name, object, oldObject, dryRun, options, req });
    const stored: Stored = {
      ...storedFrom(admitted, route.name, route.namespace, { uid: previous.uid, resourceVersion: dryRun ? previous.resourceVersion : ++this.rv }),
      creationTimestamp: previous.creationTimestamp,
    };
    if (!dryRun) {
      store.set(k, stored);
      this.record({ rv: stored.resourceVersion, resource: keyOf(r), type: 'MODIFIED', object: stored, previous });
    }
    sendJson(res, 200, encode(stored, r, apiVersion, 'full'));
  }

  /** Runs the admission step, sets its warnings on the response and returns the object to store; throws its refusal. */
  private async admit(
    res: ServerResponse,
    a: {
      operation: 'CREATE' | 'UPDATE';
      route: CollectionRoute | ObjectRoute;
      name: string;
      object: Record<string, unknown>;
      oldObject: Record<string, unknown> | undefined;
      dryRun: boolean;
      options: Record<string, unknown>;
      req: IncomingMessage;
    },
  ): Promise<Record<string, unknown>> {
    if (this.admission === undefined) return a.object;
    const r = a.route.resource;
    const result = await this.admission({
      operation: a.operation,
      kind: { group: r.group, version: a.route.version, kind: r.kind },
      resource: { group: r.group, version: a.route.version, resource: r.resource },
      namespace: a.route.namespace,
      name: a.name,
      object: structuredClone(a.object),
      oldObject: a.oldObject === undefined ? undefined : structuredClone(a.oldObject),
      dryRun: a.dryRun,
      options: a.options,
      userInfo: this.userOf(a.req),
    });
    const headers = warningHeaders(result.warnings);
    if (headers.length > 0) res.setHeader('Warning', headers);
    if (!result.allowed) throw new HttpError(result.code, reasonFor(result.code), result.message);
    return result.object;
  }

  /** The user a bearer token stands for, as TokenReviews answer it here; anonymous otherwise. */
  private userOf(req: IncomingMessage): DoubleAdmissionRequest['userInfo'] {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const user = token === undefined ? undefined : this.tokens.get(token);
    if (user === undefined || 'error' in user) return { username: 'system:anonymous', groups: ['system:unauthenticated'] };
    return { username: user.username, ...(user.uid !== undefined ? { uid: user.uid } : {}), groups: [...(user.groups ?? []), 'system:authenticated'] };
  }

  private route(path: string): Route {
    const parts = path.split('/').filter((p) => p !== '');
    if (parts[0] === 'api') {
      if (parts.length === 1)
        return { kind: 'discovery', body: () => ({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }] }) };
      if (parts[1] !== 'v1') return { kind: 'none' };
      return this.routeIn('', 'v1', parts.slice(2));
    }
    if (parts[0] === 'apis') {
      if (parts.length === 1) return { kind: 'discovery', body: () => this.groupList() };
      const group = parts[1] as string;
      if (!this.preferred.has(group)) return { kind: 'none' };
      if (parts.length === 2) return { kind: 'discovery', body: () => this.groupInfo(group) };
      const version = parts[2] as string;
      if (!this.versionsOf(group).includes(version)) return { kind: 'none' };
      return this.routeIn(group, version, parts.slice(3));
    }
    return { kind: 'none' };
  }

  private routeIn(group: string, version: string, rest: string[]): Route {
    if (rest.length === 0) return { kind: 'discovery', body: () => this.resourceList(group, version) };
    const find = (name: string | undefined): Resource | undefined => {
      const r = name === undefined ? undefined : this.resources.get(keyOf({ group, resource: name }));
      return r?.versions.includes(version) ? r : undefined;
    };
    // /namespaces/{ns}/{resource}[/{name}] when `namespaces` is followed by a namespaced resource.
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const r = find(rest[2]);
      if (!r || !r.namespaced || rest.length > 4) return { kind: 'none' };
      const base = { resource: r, version, namespace: rest[1] as string };
      return rest.length === 4 ? { kind: 'object', ...base, name: rest[3] as string } : { kind: 'collection', ...base };
    }
    const r = find(rest[0]);
    if (!r || rest.length > 2) return { kind: 'none' };
    if (rest.length === 2) return r.namespaced ? { kind: 'none' } : { kind: 'object', resource: r, version, namespace: undefined, name: rest[1] as string };
    return { kind: 'collection', resource: r, version, namespace: undefined };
  }

  private versionsOf(group: string): string[] {
    const versions = new Set<string>();
    for (const r of this.resources.values()) if (r.group === group) for (const v of r.versions) versions.add(v);
    const preferred = this.preferred.get(group);
    return [...versions].sort((a, b) => (a === preferred ? -1 : b === preferred ? 1 : 0));
  }

  private groupInfo(group: string): object {
    const gv = (version: string): object => ({ groupVersion: `${group}/${version}`, version });
    return {
      kind: 'APIGroup',
      apiVersion: 'v1',
      name: group,
      versions: this.versionsOf(group).map(gv),
      preferredVersion: gv(this.preferred.get(group) as string),
    };
  }

  private groupList(): object {
    const groups = [...this.preferred.keys()].filter((g) => g !== '');
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((g) => this.groupInfo(g)) };
  }

  private resourceList(group: string, version: string): object {
    const resources: object[] = [];
    for (const r of this.resources.values()) {
      if (r.group !== group || !r.versions.includes(version)) continue;
      resources.push({
        name: r.resource,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: r.verbs,
        ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
        storageVersionHash: 'double',
      });
      for (const sub of r.subresources) {
        resources.push({ name: `${r.resource}/${sub}`, singularName: '', namespaced: r.namespaced, kind: sub === 'scale' ? 'Scale' : r.kind, verbs: ['get', 'patch', 'update'] });
      }
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
  }

  private selectorOf(query: Record<string, string>): OracleRequirement[] {
    try {
      return readSelector(query['labelSelector'] ?? '');
    } catch (err) {
      throw new HttpError(400, 'BadRequest', `unable to parse requirement: ${(err as Error).message}`);
    }
  }

  private matching(route: CollectionRoute, selector: readonly OracleRequirement[]): Stored[] {
    const store = this.objects.get(keyOf(route.resource)) as Map<string, Stored>;
    // etcd returns keys in order: namespace, then name.
    return [...store.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => o)
      .filter((o) => (route.namespace === undefined || o.namespace === route.namespace) && selectorMatches(selector, o.labels));
  }

  private list(req: IncomingMessage, res: ServerResponse, route: CollectionRoute, query: Record<string, string>): void {
    const representation = negotiate(req.headers.accept, 'PartialObjectMetadataList');
    const selector = this.selectorOf(query);
    const limit = query['limit'] ? Number.parseInt(query['limit'], 10) : 0;
    let snapshot: Snapshot;
    let offset = 0;
    let id: string;
    if (query['continue']) {
      const token = decodeContinue(query['continue']);
      const s = token && this.snapshots.get(token.id);
      if (!token || !s) {
        throw new HttpError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
      }
      snapshot = s;
      offset = token.offset;
      id = token.id;
    } else {
      const rv = query['resourceVersion'];
      if (rv !== undefined && rv !== '' && rv !== '0' && Number(rv) < this.compactedRv) {
        throw new HttpError(410, 'Expired', `too old resource version: ${rv} (${this.compactedRv})`);
      }
      snapshot = { rv: this.rv, items: this.matching(route, selector) };
      id = String(++this.snapshotId);
    }
    const end = limit > 0 ? Math.min(snapshot.items.length, offset + limit) : snapshot.items.length;
    const page = snapshot.items.slice(offset, end);
    const more = end < snapshot.items.length;
    if (more) this.snapshots.set(id, snapshot);
    else this.snapshots.delete(id);
    const apiVersion = apiVersionOf(route.resource.group, route.version);
    const body = {
      kind: representation === 'partial' ? 'PartialObjectMetadataList' : `${route.resource.kind}List`,
      apiVersion: representation === 'partial' ? 'meta.k8s.io/v1' : apiVersion,
      metadata: {
        resourceVersion: String(snapshot.rv),
        ...(more ? { continue: encodeContinue({ id, offset: end }) } : {}),
        ...(more && selector.length === 0 ? { remainingItemCount: snapshot.items.length - end } : {}),
      },
      items: page.map((o) => encode(o, route.resource, apiVersion, representation)),
    };
    if (this.listDelayMs > 0) {
      const timer = setTimeout(() => {
        this.pending.delete(timer);
        sendJson(res, 200, body);
      }, this.listDelayMs);
      this.pending.add(timer);
      res.on('close', () => {
        clearTimeout(timer);
        this.pending.delete(timer);
      });
      return;
    }
    sendJson(res, 200, body);
  }

  private get(req: IncomingMessage, res: ServerResponse, route: ObjectRoute): void {
    const representation = negotiate(req.headers.accept, 'PartialObjectMetadata');
    const o = this.objects.get(keyOf(route.resource))?.get(objectKey(route.namespace, route.name));
    if (!o) throw new HttpError(404, 'NotFound', `${keyOf(route.resource)} "${route.name}" not found`);
    sendJson(res, 200, encode(o, route.resource, apiVersionOf(route.resource.group, route.version), representation));
  }

  private watch(req: IncomingMessage, res: ServerResponse, route: CollectionRoute, query: Record<string, string>): void {
    const representation = negotiate(req.headers.accept, 'PartialObjectMetadata');
    const selector = this.selectorOf(query);
    const w: Watcher = {
      resource: route.resource,
      apiVersion: apiVersionOf(route.resource.group, route.version),
      namespace: route.namespace,
      selector,
      partial: representation === 'partial',
      bookmarks: query['allowWatchBookmarks'] === 'true',
      res,
      timer: undefined,
    };
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const rv = query['resourceVersion'];
    if (rv !== undefined && rv !== '' && rv !== '0') {
      const from = Number(rv);
      if (!Number.isInteger(from)) {
        this.write(w, { type: 'ERROR', object: status(400, 'BadRequest', `invalid resource version "${rv}"`) });
        res.end();
        return;
      }
      // The window starts at the compaction point: anything older cannot be replayed.
      if (from < this.compactedRv) {
        this.write(w, { type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${this.compactedRv})`) });
        res.end();
        return;
      }
      for (const e of this.log) {
        if (e.rv <= from || e.resource !== keyOf(route.resource)) continue;
        const out = this.eventFor(w, e);
        if (out) this.write(w, out);
      }
    } else {
      // No resourceVersion (or 0): the current state as ADDED events, then changes.
      for (const o of this.matching(route, selector)) this.write(w, { type: 'ADDED', object: this.encodeFor(w, o) });
    }
    this.watchers.add(w);
    const timeout = Number(query['timeoutSeconds']);
    if (Number.isFinite(timeout) && timeout > 0) w.timer = setTimeout(() => this.endWatch(w, 'end'), timeout * 1000);
    res.on('close', () => this.endWatch(w, 'none'));
  }

  private endWatch(w: Watcher, how: 'end' | 'destroy' | 'none'): void {
    if (w.timer) clearTimeout(w.timer);
    w.timer = undefined;
    this.watchers.delete(w);
    if (how === 'end') w.res.end();
    if (how === 'destroy') w.res.destroy();
  }

  /** What a watch sees of a change, following the API server's filtered-watch rules for selectors. */
  private eventFor(w: Watcher, e: LoggedEvent): object | undefined {
    if (w.namespace !== undefined && e.object.namespace !== w.namespace) return undefined;
    const now = selectorMatches(w.selector, e.object.labels);
    const before = e.previous !== undefined && selectorMatches(w.selector, e.previous.labels);
    let type: string | undefined;
    switch (e.type) {
      case 'ADDED':
        type = now ? 'ADDED' : undefined;
        break;
      case 'MODIFIED':
        type = before && now ? 'MODIFIED' : now ? 'ADDED' : before ? 'DELETED' : undefined;
        break;
      case 'DELETED':
        type = before ? 'DELETED' : undefined;
        break;
    }
    return type === undefined ? undefined : { type, object: this.encodeFor(w, e.object) };
  }

  private encodeFor(w: Watcher, o: Stored): object {
    return encode(o, w.resource, w.apiVersion, w.partial ? 'partial' : 'full');
  }

  private bookmark(w: Watcher): object {
    return {
      type: 'BOOKMARK',
      object: {
        kind: w.partial ? 'PartialObjectMetadata' : w.resource.kind,
        apiVersion: w.partial ? 'meta.k8s.io/v1' : w.apiVersion,
        metadata: { resourceVersion: String(this.rv) },
      },
    };
  }

  private write(w: Watcher, event: object): void {
    if (!w.res.destroyed && !w.res.writableEnded) w.res.write(`${JSON.stringify(event)}\n`);
  }
}

type Route = { kind: 'discovery'; body: () => object } | CollectionRoute | ObjectRoute | { kind: 'none' };

interface CollectionRoute {
  kind: 'collection';
  resource: Resource;
  version: string;
  namespace: string | undefined;
}

interface ObjectRoute {
  kind: 'object';
  resource: Resource;
  version: string;
  namespace: string | undefined;
  name: string;
}

/** The verb of a request: POST to a collection creates, PATCH of an object patches, every other method is checked as a read. */
function verbOf(route: Route, method: string | undefined, isWatch: boolean): RequestVerb {
  switch (route.kind) {
    case 'discovery':
      return 'discovery';
    case 'collection':
      return method === 'POST' ? 'create' : isWatch ? 'watch' : 'list';
    case 'object':
      return method === 'PATCH' ? 'patch' : 'get';
    default:
      return 'other';
  }
}

function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

function encode(o: Stored, r: Resource, apiVersion: string, representation: Representation): object {
  const metadata = {
    name: o.name,
    ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
    uid: o.uid,
    resourceVersion: String(o.resourceVersion),
    creationTimestamp: o.creationTimestamp,
    ...(Object.keys(o.labels).length ? { labels: o.labels } : {}),
    ...(Object.keys(o.annotations).length ? { annotations: o.annotations } : {}),
  };
  if (representation === 'partial') return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata };
  // A full object also carries a spec and status the metadata view leaves out.
  return { kind: r.kind, apiVersion, metadata, spec: o.spec ?? { placeholder: 'x'.repeat(256) }, status: o.status ?? {} };
}

/**
 * Content negotiation for JSON: the first acceptable media range wins.
 * `as=<kind>;g=meta.k8s.io;v=v1` asks for the metadata view; a range with
 * any other `as` (Table, or the wrong kind for the verb) is not acceptable.
 */
function negotiate(accept: string | undefined, partialKind: 'PartialObjectMetadata' | 'PartialObjectMetadataList'): Representation {
  if (accept === undefined || accept.trim() === '') return 'full';
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';').map((s) => s.trim());
    if (type !== 'application/json' && type !== 'application/*' && type !== '*/*') continue;
    const p = Object.fromEntries(params.map((kv) => kv.split('=').map((s) => s.trim()) as [string, string]));
    if (p['as'] === undefined) return 'full';
    if (p['as'] === partialKind && p['g'] === 'meta.k8s.io' && (p['v'] === 'v1' || p['v'] === 'v1beta1')) return 'partial';
  }
  throw new HttpError(406, 'NotAcceptable', `only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
}

function encodeContinue(token: { id: string; offset: number }): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeContinue(text: string): { id: string; offset: number } | undefined {
  try {
    const t = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (typeof t === 'object' && t !== null && typeof (t as { id?: unknown }).id === 'string' && typeof (t as { offset?: unknown }).offset === 'number') {
      return t as { id: string; offset: number };
    }
  } catch {
    // fall through
  }
  return undefined;
}

function reasonFor(code: number): string {
  switch (code) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 405:
      return 'MethodNotAllowed';
    case 409:
      return 'AlreadyExists';
    case 410:
      return 'Expired';
    case 415:
      return 'UnsupportedMediaType';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    case 503:
      return 'ServiceUnavailable';
    default:
      return 'InternalError';
  }
}

/** What is kept of an object written through the API: labels, annotations and spec; the status starts empty. */
function storedFrom(object: Record<string, unknown>, name: string, namespace: string | undefined, ids: { uid: string; resourceVersion: number }): Stored {
  const metadata = asRecord(object['metadata']) ?? {};
  return {
    name,
    namespace,
    labels: stringMap(metadata['labels']),
    annotations: stringMap(metadata['annotations']),
    spec: asRecord(object['spec']) ?? {},
    status: {},
    uid: ids.uid,
    resourceVersion: ids.resourceVersion,
    creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(asRecord(v) ?? {})) if (typeof value === 'string') out[k] = value;
  return out;
}

/** RFC 7386: objects merge key by key, null deletes, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  const p = asRecord(patch);
  if (p === undefined) return patch;
  const out: Record<string, unknown> = { ...(asRecord(target) ?? {}) };
  for (const [k, v] of Object.entries(p)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Whether a strategic merge patch carries a directive ($patch, $retainKeys, $setElementOrder/..., $deleteFromPrimitiveList/...). */
function hasDirective(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasDirective);
  const o = asRecord(v);
  return o !== undefined && Object.entries(o).some(([k, value]) => k.startsWith('$') || hasDirective(value));
}

/** The Content-Type of a write, which must be one of `accepted`. */
function requireJson(req: IncomingMessage, accepted: readonly string[]): string {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (!accepted.includes(type)) throw new HttpError(415, 'UnsupportedMediaType', `the double reads ${accepted.join(' or ')} bodies, not ${JSON.stringify(type)}`);
  return type;
}

/** `dryRun=All`, the only value kube-apiserver accepts besides none. */
function dryRunOf(query: Record<string, string>): boolean {
  const v = query['dryRun'];
  if (v === undefined || v === '') return false;
  if (v === 'All') return true;
  throw new HttpError(400, 'BadRequest', `Invalid dry run value: ${JSON.stringify(v)}; only "All" is supported`);
}

/** The fields of CreateOptions and UpdateOptions that come from the query. */
function writeOptions(query: Record<string, string>): Record<string, unknown> {
  return {
    ...(query['dryRun'] ? { dryRun: [query['dryRun']] } : {}),
    ...(query['fieldManager'] ? { fieldManager: query['fieldManager'] } : {}),
    ...(query['fieldValidation'] ? { fieldValidation: query['fieldValidation'] } : {}),
  };
}

/**
 * The `Warning` header values for the warnings of one request, as
 * k8s.io/apiserver writes them: its recorder (pkg/endpoints/filters/warning.go)
 * drops empty and repeated texts, and NewWarningHeader (apimachinery
 * pkg/util/net/http.go) refuses text with a control character (Go's
 * unicode.IsControl: U+0000-U+001F, U+007F-U+009F), so the recorder drops
 * it, and writes `299 - "<text>"` with only `"` and `\` escaped. The limit on
 * the total size that newer recorders enforce is not modelled.
 */
export function warningHeaders(warnings: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const text of warnings) {
    if (text === '' || seen.has(text)) continue;
    seen.add(text);
    if (/\p{Cc}/u.test(text)) continue;
    const value = `299 - "${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
    // Go writes the text's UTF-8 bytes as they are; node writes each character of a header value as one Latin-1 byte.
    out.push(Buffer.from(value, 'utf8').toString('latin1'));
  }
  return out;
}

function sendFailure(res: ServerResponse, err: unknown): void {
  const e = err instanceof HttpError ? err : new HttpError(500, 'InternalError', String(err));
  sendJson(res, e.code, status(e.code, e.reason, e.message));
}

function status(code: number, reason: string, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  if (res.destroyed || res.writableEnded) return;
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': bytes.length });
  // A Buffer, not a string: node sends the headers with a string body in that body's encoding (UTF-8), which would encode a Warning's bytes twice.
  res.end(bytes);
}

function encodeConfigMap(o: StoredConfigMap): object {
  return {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    metadata: { name: o.name, namespace: o.namespace, uid: o.uid, resourceVersion: String(o.resourceVersion), creationTimestamp: o.creationTimestamp },
    data: o.data,
  };
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('error', reject);
    req.on('end', () => {
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'BadRequest', 'the request body is not JSON'));
      }
    });
  });
}

/** The spec of a review object, after the checks the API server makes of kind and apiVersion. */
function reviewSpec(body: unknown, kind: string, apiVersion: string): Record<string, unknown> {
  const o = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  if (o['kind'] !== kind || o['apiVersion'] !== apiVersion) {
    throw new HttpError(400, 'BadRequest', `expected ${kind} ${apiVersion}, got kind ${JSON.stringify(o['kind'])} apiVersion ${JSON.stringify(o['apiVersion'])}`);
  }
  const spec = o['spec'];
  return typeof spec === 'object' && spec !== null ? (spec as Record<string, unknown>) : {};
}
