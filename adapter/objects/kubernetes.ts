// `--object-source kubernetes`: which objects a wildcard request covers,
// answered from watch caches instead of a LIST per request.
//
// Per group-resource, on first use, one cluster-wide reflector
// (adapter/kube/reflector.ts: LIST, then WATCH from its resourceVersion,
// resumed after a drop, LISTed again only after 410 Gone) fills a store.
//
// Only metadata is requested (PartialObjectMetadata, the content type
// client-go's metadata client asks for), and only name, namespace and labels
// are kept.
import { BadRequestError, NotFoundError, UnavailableError } from '../errors.js';
import { KubeApiError, KubeClient, noDataError, statusError, type KubeConnection, type RequestOptions } from '../kube/client.js';
import { Reflector, type ReflectorBackoff } from '../kube/reflector.js';
import { matchesLabels } from '../../k8s/label-selector.js';
import { apiVersionOf, BUILTIN_RESOURCES, formatGroupResource, StaticResourceCatalog, type GroupResource, type KnownResource, type ResourceCatalog } from '../../rules/resources.js';
import type { Requirement } from '../../k8s/label-selector.js';
import type { ObjectLister, ObjectRef, ResourceKind } from './types.js';

// ---------------------------------------------------------------------------
// Requests

/** client-go's metadata client asks for these; `application/json` is the fallback for servers without metadata support. */
const ACCEPT_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json';
const ACCEPT_METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json';

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A GET that must answer 200 with a JSON object. */
async function getJson(client: KubeClient, path: string, options: Omit<RequestOptions, 'method' | 'body'>, what: string): Promise<unknown> {
  const res = await client.request(path, { idleError: noDataError, ...options });
  if (res.status !== 200) throw statusError(res.status, res.body, what);
  if (typeof res.body !== 'object' || res.body === null) throw new KubeApiError(`${what}: the response is not a JSON object`, res.status);
  return res.body;
}

// ---------------------------------------------------------------------------
// Discovery

/** `version` is the group's preferred version when that serves the resource, else the first that does. */
interface DiscoveredResource extends KnownResource {
  readonly verbs: readonly string[];
}

interface DiscoverySnapshot {
  readonly byKey: ReadonlyMap<string, DiscoveredResource>;
  readonly byGroupVersion: ReadonlyMap<string, readonly DiscoveredResource[]>;
  readonly catalog: StaticResourceCatalog;
}

interface GroupVersionRef {
  readonly group: string;
  readonly version: string;
}

const keyOf = (gr: GroupResource): string => formatGroupResource(gr);
const gvPath = (gv: GroupVersionRef): string => (gv.group === '' ? `/api/${gv.version}` : `/apis/${gv.group}/${gv.version}`);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** Runs `fn` over `items`, at most `limit` at a time. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * The legacy (per group-version) discovery documents: /api, /api/v1, /apis
 * and /apis/<group>/<version>, read the way client-go's
 * ServerPreferredResources does: versions in the group's preference order,
 * the first version that serves a resource wins, subresources (`pods/status`)
 * are skipped. A group-version that fails (an aggregated API whose backend is
 * down answers 503) keeps what the last refresh found, as kubectl does with
 * ErrGroupDiscoveryFailed.
 */
class Discovery {
  snapshot: DiscoverySnapshot | undefined;
  lastError: string | undefined;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly signal: AbortSignal,
    private readonly minIntervalMs: number,
    private readonly timeoutMs: number,
    private readonly log: (message: string) => void,
  ) {}

  /** Re-reads discovery unless a refresh ran within the minimum interval; concurrent callers share one refresh. */
  refreshIfStale(): Promise<void> {
    if (this.inflight) return this.inflight;
    // Before the first success, retry sooner: nothing can be answered without it.
    const interval = this.snapshot ? this.minIntervalMs : Math.min(this.minIntervalMs, 5000);
    if (Date.now() - this.lastAttempt < interval) return Promise.resolve();
    return this.refresh();
  }

  refresh(): Promise<void> {
    if (this.inflight) return this.inflight;
    this.lastAttempt = Date.now();
    this.inflight = this.load()
      .then(
        (snap) => {
          this.snapshot = snap;
          this.lastError = undefined;
        },
        (err: unknown) => {
          this.lastError = errorText(err);
          throw err;
        },
      )
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  /** The resource, refreshing discovery (rate-limited) on a miss. Throws UnavailableError if discovery never succeeded. */
  async resolve(gr: GroupResource): Promise<DiscoveredResource | undefined> {
    const hit = this.snapshot?.byKey.get(keyOf(gr));
    if (hit) return hit;
    await this.refreshIfStale().catch(() => undefined);
    if (!this.snapshot) {
      throw new UnavailableError(`Kubernetes API discovery has not succeeded yet${this.lastError ? `: ${this.lastError}` : ''}`);
    }
    return this.snapshot.byKey.get(keyOf(gr));
  }

  private async load(): Promise<DiscoverySnapshot> {
    const get = (path: string): Promise<unknown> => getJson(this.client, path, { idleMs: this.timeoutMs, signal: this.signal }, `GET ${path}`);
    const [core, groups] = await Promise.all([get('/api'), get('/apis')]);
    const gvs: GroupVersionRef[] = [];
    for (const v of strings(isObject(core) ? core['versions'] : undefined)) gvs.push({ group: '', version: v });
    const groupList = isObject(groups) && Array.isArray(groups['groups']) ? groups['groups'] : [];
    for (const g of groupList) {
      if (!isObject(g) || typeof g['name'] !== 'string') continue;
      const name = g['name'];
      const versions = (Array.isArray(g['versions']) ? g['versions'] : [])
        .map((v) => (isObject(v) && typeof v['version'] === 'string' ? v['version'] : undefined))
        .filter((v): v is string => v !== undefined);
      const pv = isObject(g['preferredVersion']) ? g['preferredVersion']['version'] : undefined;
      const preferred = typeof pv === 'string' ? pv : versions[0];
      const ordered = preferred === undefined ? versions : [preferred, ...versions.filter((v) => v !== preferred)];
      for (const version of ordered) gvs.push({ group: name, version });
    }

    const previous = this.snapshot;
    const lists = await pool(gvs, 8, async (gv) => {
      const path = gvPath(gv);
      try {
        return parseResourceList(gv, await get(path));
      } catch (err) {
        // Keep what the last refresh knew about this group-version.
        this.log(`discovery of ${path} failed, keeping what was known: ${errorText(err)}`);
        return previous?.byGroupVersion.get(`${gv.group}/${gv.version}`) ?? [];
      }
    });

    const byKey = new Map<string, DiscoveredResource>();
    const byGroupVersion = new Map<string, readonly DiscoveredResource[]>();
    gvs.forEach((gv, i) => {
      const resources = lists[i] ?? [];
      byGroupVersion.set(`${gv.group}/${gv.version}`, resources);
      for (const r of resources) if (!byKey.has(keyOf(r))) byKey.set(keyOf(r), r);
    });
    return { byKey, byGroupVersion, catalog: new StaticResourceCatalog([...byKey.values()]) };
  }
}

function parseResourceList(gv: GroupVersionRef, body: unknown): DiscoveredResource[] {
  const resources = isObject(body) && Array.isArray(body['resources']) ? body['resources'] : [];
  const out: DiscoveredResource[] = [];
  for (const r of resources) {
    if (!isObject(r) || typeof r['name'] !== 'string' || typeof r['kind'] !== 'string') continue;
    const name = r['name'];
    if (name.includes('/')) continue;
    const singular = typeof r['singularName'] === 'string' && r['singularName'] !== '' ? r['singularName'] : r['kind'].toLowerCase();
    out.push({
      group: gv.group,
      resource: name,
      singular,
      kind: r['kind'],
      namespaced: r['namespaced'] === true,
      version: gv.version,
      verbs: strings(r['verbs']),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Watch cache

type BackoffOptions = ReflectorBackoff;

interface CacheSettings {
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly watchTimeoutSeconds: number;
  readonly pageSize: number;
  readonly requestTimeoutMs: number;
  readonly healthyWatchMs: number;
  readonly log: (message: string) => void;
}

const EMPTY_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/** Counters of one watch cache, for logs and metrics. */
interface WatchCacheStats {
  readonly resource: string;
  readonly synced: boolean;
  readonly objects: number;
  readonly lists: number;
  readonly watches: number;
  /** LISTs after the first: each one followed a 410 Gone or a failed LIST. */
  readonly relists: number;
  readonly resourceVersion: string | undefined;
  readonly lastError: string | undefined;
}

/**
 * One reflector plus its store. The store is indexed by namespace (''
 * for root-scoped objects) so a request scans only its namespace, and it
 * survives reconnects: until a LIST replaces it, the last known objects are
 * served.
 */
class WatchCache {
  private store = new Map<string, Map<string, ObjectRef>>();
  private count = 0;
  private readonly reflector: Reflector<ObjectRef>;
  readonly name: string;

  constructor(
    client: KubeClient,
    readonly resource: DiscoveredResource,
    settings: CacheSettings,
  ) {
    this.name = formatGroupResource(resource);
    const upsert = (ref: ObjectRef): void => {
      if (put(this.store, ref)) this.count++;
    };
    this.reflector = new Reflector<ObjectRef>({
      client,
      path: `${gvPath(resource)}/${resource.resource}`,
      name: this.name,
      accept: { list: ACCEPT_METADATA_LIST, watch: ACCEPT_METADATA },
      pageSize: settings.pageSize,
      transform: toRef,
      handler: {
        onList: (refs) => {
          this.store = new Map();
          this.count = 0;
          for (const ref of refs) upsert(ref);
        },
        onAdd: upsert,
        onModify: upsert,
        onDelete: (ref) => {
          const ns = this.store.get(ref.namespace ?? '');
          if (ns?.delete(ref.name)) {
            this.count--;
            if (ns.size === 0) this.store.delete(ref.namespace ?? '');
          }
        },
        // On 410 the reflector relists; the store is kept until that LIST replaces it.
        onError: (error, relist) => settings.log(`watch cache for ${this.name}: ${error.message}${relist ? '; listing again' : ''}`),
      },
      backoff: { initialMs: settings.backoffInitialMs, maxMs: settings.backoffMaxMs },
      watchTimeoutSeconds: settings.watchTimeoutSeconds,
      requestTimeoutMs: settings.requestTimeoutMs,
      healthyWatchMs: settings.healthyWatchMs,
    });
    // Failures are logged by onError and shown by list() and readiness.
    this.reflector.start().catch(() => undefined);
  }

  get isSynced(): boolean {
    return this.reflector.synced;
  }

  stats(): WatchCacheStats {
    const r = this.reflector;
    return {
      resource: this.name,
      synced: r.synced,
      objects: this.count,
      lists: r.lists,
      watches: r.watches,
      relists: Math.max(0, r.lists - 1),
      resourceVersion: r.resourceVersion,
      lastError: r.lastError,
    };
  }

  get error(): string | undefined {
    return this.reflector.lastError;
  }

  /** Resolves true once synced, false when `ms` passes first or the cache stops. */
  waitForSync(ms: number): Promise<boolean> {
    return this.reflector.waitForSync(ms);
  }

  select(namespace: string | undefined, selector: readonly Requirement[]): ObjectRef[] {
    const out: ObjectRef[] = [];
    const scan = (objects: Map<string, ObjectRef>): void => {
      for (const o of objects.values()) if (matchesLabels(selector, o.labels)) out.push(o);
    };
    if (namespace !== undefined || !this.resource.namespaced) {
      const objects = this.store.get(namespace ?? '');
      if (objects) scan(objects);
    } else {
      for (const objects of this.store.values()) scan(objects);
    }
    return out.sort((a, b) => compare(a.name, b.name) || compare(a.namespace ?? '', b.namespace ?? ''));
  }

  stop(): void {
    void this.reflector.stop();
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Inserts or replaces; true when the object is new. Reuses the map key as the namespace string. */
function put(store: Map<string, Map<string, ObjectRef>>, ref: ObjectRef): boolean {
  const nsKey = ref.namespace ?? '';
  let objects = store.get(nsKey);
  if (!objects) {
    objects = new Map();
    store.set(nsKey, objects);
  }
  const isNew = !objects.has(ref.name);
  objects.set(ref.name, ref);
  return isNew;
}

/**
 * Name, namespace and labels only: everything else in the object (managed
 * fields, annotations, owner references) is dropped. With five labels a pod
 * costs about 220 bytes of heap here, so 100k pods take about 22 MB; label
 * keys are property names, which V8 shares between objects.
 */
function toRef(object: unknown): ObjectRef | undefined {
  const meta = isObject(object) ? object['metadata'] : undefined;
  if (!isObject(meta) || typeof meta['name'] !== 'string') return undefined;
  const raw = meta['labels'];
  let labels = EMPTY_LABELS;
  if (isObject(raw)) {
    const copy: Record<string, string> = {};
    let any = false;
    for (const [k, v] of Object.entries(raw)) {
      if (typeof v === 'string') {
        copy[k] = v;
        any = true;
      }
    }
    if (any) labels = copy;
  }
  const namespace = typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? meta['namespace'] : undefined;
  return namespace === undefined ? { name: meta['name'], labels } : { name: meta['name'], namespace, labels };
}

// ---------------------------------------------------------------------------
// The object source

export interface KubernetesObjectSourceOptions {
  /** How long list() waits for a new watch cache's first LIST. Default 5000. */
  readonly syncTimeoutMs?: number;
  /** Minimum time between discovery refreshes triggered by unknown resources. Default 30000. */
  readonly discoveryRefreshMs?: number;
  /** Reconnect and relist delays. */
  readonly backoff?: BackoffOptions;
  /** Watches ask the server to end after [t, 2t) seconds, then resume. Default 300 (client-go's minimum). */
  readonly watchTimeoutSeconds?: number;
  /** LIST page size. Default 500, as client-go's pager. */
  readonly pageSize?: number;
  /** Idle timeout of discovery and LIST requests. Default 60000. */
  readonly requestTimeoutMs?: number;
  /** A watch that delivered nothing is still healthy if it stayed open this long. Default 5000. */
  readonly healthyWatchMs?: number;
  readonly log?: (message: string) => void;
}

export class KubernetesObjectSource implements ObjectLister {
  private readonly client: KubeClient;
  private readonly discovery: Discovery;
  private readonly caches = new Map<string, WatchCache>();
  private readonly abort = new AbortController();
  private readonly settings: CacheSettings;
  private readonly syncTimeoutMs: number;
  private readonly started: Promise<void>;
  private readonly builtin = new StaticResourceCatalog(BUILTIN_RESOURCES);
  private discoveryRetry: NodeJS.Timeout | undefined;
  private discoveryFailures = 0;
  private closed = false;

  /** Starts API discovery in the background; watches start on first use (or warm()). */
  constructor(connection: KubeConnection, options: KubernetesObjectSourceOptions = {}) {
    this.client = new KubeClient(connection);
    const requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    this.syncTimeoutMs = options.syncTimeoutMs ?? 5000;
    this.settings = {
      backoffInitialMs: options.backoff?.initialMs ?? 1000,
      backoffMaxMs: options.backoff?.maxMs ?? 60_000,
      watchTimeoutSeconds: options.watchTimeoutSeconds ?? 300,
      pageSize: options.pageSize ?? 500,
      requestTimeoutMs,
      healthyWatchMs: options.healthyWatchMs ?? 5000,
      log: options.log ?? (() => undefined),
    };
    this.discovery = new Discovery(this.client, this.abort.signal, options.discoveryRefreshMs ?? 30_000, requestTimeoutMs, this.settings.log);
    this.started = this.discover();
  }

  /**
   * Resolves after the first discovery succeeded; rejects with
   * UnavailableError if it failed (it is retried in the background).
   */
  async start(): Promise<void> {
    await this.started;
    if (!this.discovery.snapshot) {
      throw new UnavailableError(`Kubernetes API discovery failed: ${this.discovery.lastError ?? 'unknown error'}`);
    }
  }

  /** Starts the watch caches of `resources` now rather than on the first request. Unknown resources are skipped. */
  async warm(resources: readonly GroupResource[]): Promise<void> {
    for (const gr of resources) {
      const r = await this.discovery.resolve(gr).catch(() => undefined);
      if (this.closed) return;
      if (r && canWatch(r)) this.cacheFor(r);
    }
  }

  /**
   * The cluster's resources, CRDs included, as discovery last saw them. A
   * live view: later refreshes show through. Until discovery first succeeds
   * it answers with the built-in resources. A name it cannot find triggers a
   * (rate-limited) background refresh, so a new CRD appears shortly after.
   */
  catalog(): ResourceCatalog {
    return {
      find: (group, name) => {
        const snap = this.discovery.snapshot;
        const hits = (snap?.catalog ?? this.builtin).find(group, name);
        if (hits.length === 0 && !this.closed) void this.discovery.refreshIfStale().catch(() => undefined);
        return hits.map(known);
      },
      all: () => (this.discovery.snapshot ? [...this.discovery.snapshot.byKey.values()].map(known) : this.builtin.all()),
    };
  }

  async describe(resource: GroupResource): Promise<ResourceKind | undefined> {
    this.assertOpen();
    const r = await this.discovery.resolve(resource);
    if (!r) return undefined;
    return { kind: r.kind, apiVersion: apiVersionOf(r), namespaced: r.namespaced };
  }

  async list(resource: GroupResource, namespace: string | undefined, selector: readonly Requirement[]): Promise<ObjectRef[]> {
    this.assertOpen();
    const r = await this.discovery.resolve(resource);
    const name = formatGroupResource(resource);
    if (!r) throw new NotFoundError(`the server doesn't have a resource type "${name}"`, { group: resource.group, kind: resource.resource });
    if (!canWatch(r)) throw new BadRequestError(`the server does not allow listing and watching "${name}"`);
    if (!r.namespaced && namespace !== undefined) throw new BadRequestError(`${name} is not namespaced`);
    const cache = this.cacheFor(r);
    if (!cache.isSynced && !(await cache.waitForSync(this.syncTimeoutMs))) {
      this.assertOpen();
      throw new UnavailableError(`watch cache for ${cache.name} is not synced yet${cache.error ? `: ${cache.error}` : ''}`);
    }
    return cache.select(namespace, selector);
  }

  notReadyReason(): string | undefined {
    if (this.closed) return 'the Kubernetes object source is closed';
    if (!this.discovery.snapshot) {
      return `Kubernetes API discovery has not succeeded yet${this.discovery.lastError ? `: ${this.discovery.lastError}` : ''}`;
    }
    const pending = [...this.caches.values()].filter((c) => !c.isSynced).map((c) => c.name);
    if (pending.length === 0) return undefined;
    return `watch cache for ${pending.join(', ')} ${pending.length === 1 ? 'is' : 'are'} not synced yet`;
  }

  stats(): WatchCacheStats[] {
    return [...this.caches.values()].map((c) => c.stats());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.discoveryRetry) clearTimeout(this.discoveryRetry);
    for (const c of this.caches.values()) c.stop();
    this.caches.clear();
    this.abort.abort();
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError('the Kubernetes object source is closed');
  }

  private cacheFor(r: DiscoveredResource): WatchCache {
    const key = keyOf(r);
    let cache = this.caches.get(key);
    if (!cache) {
      cache = new WatchCache(this.client, r, this.settings);
      this.caches.set(key, cache);
    }
    return cache;
  }

  /** First discovery, retried with backoff until it succeeds so readiness recovers by itself. */
  private async discover(): Promise<void> {
    try {
      await this.discovery.refresh();
      this.discoveryFailures = 0;
    } catch (err) {
      if (this.closed) return;
      this.discoveryFailures++;
      const step = Math.min(this.settings.backoffMaxMs, this.settings.backoffInitialMs * 2 ** Math.min(this.discoveryFailures - 1, 30));
      this.settings.log(`Kubernetes API discovery failed: ${errorText(err)}`);
      this.discoveryRetry = setTimeout(
        () => {
          this.discoveryRetry = undefined;
          if (!this.discovery.snapshot) void this.discover();
        },
        step / 2 + Math.random() * (step / 2),
      );
    }
  }
}

function canWatch(r: DiscoveredResource): boolean {
  return r.verbs.includes('list') && r.verbs.includes('watch');
}

/** Strips the discovery-only fields so callers see plain KnownResources. */
function known(r: KnownResource): KnownResource {
  return { group: r.group, resource: r.resource, singular: r.singular, kind: r.kind, namespaced: r.namespaced, version: r.version };
}
