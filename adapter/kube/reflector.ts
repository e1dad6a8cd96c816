// The list-then-watch protocol of client-go's Reflector
// (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes),
// written once for every collection hpa-bridge follows: the object
// source's watch caches (one per group-resource, metadata only) and the
// authentication ConfigMap.
//
// A LIST gives the state and a resourceVersion; a WATCH from that
// resourceVersion streams every later change. A watch that ends is resumed
// from the last resourceVersion seen, so a reconnect costs no LIST; only
// when the server says that resourceVersion is gone (410 Gone / Expired,
// https://kubernetes.io/docs/reference/using-api/api-concepts/#410-gone-responses)
// is the collection LISTed again. Bookmarks
// (https://kubernetes.io/docs/reference/using-api/api-concepts/#watch-bookmarks)
// keep that resume point fresh while the collection itself is quiet.
//
// The reflector keeps no objects: `transform` turns each object into what
// its user keeps, and the handler holds the state.
import { KubeApiError, noDataError, statusError, type KubeClient, type Query } from './client.js';

/** The two calls a reflector makes; a KubeClient has both. */
export type ListWatchClient = Pick<KubeClient, 'request' | 'watch'>;

/** Receives the state: a LIST replaces it, watch events change it. */
interface ReflectorHandler<T> {
  /** The items of a complete LIST (every page): everything known before is replaced. */
  onList(items: T[]): void;
  onAdd(item: T): void;
  onModify(item: T): void;
  onDelete(item: T): void;
  /** A LIST or WATCH failed; `relist` when its resourceVersion expired, so a LIST comes next. */
  onError?(error: KubeApiError, relist: boolean): void;
}

export interface ReflectorBackoff {
  /** The first retry delay; doubled per consecutive failure. Default 1000. */
  readonly initialMs?: number;
  /** The ceiling of the delay. Default 60000. */
  readonly maxMs?: number;
}

/** Time and chance, replaceable in tests. */
export interface ReflectorClock {
  now(): number;
  /** In [0, 1): spreads backoff delays and watch timeouts. */
  random(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ReflectorOptions<T> {
  readonly client: ListWatchClient;
  /** The collection, as `/api/v1/pods` or `/api/v1/namespaces/kube-system/configmaps`. */
  readonly path: string;
  /** Names the collection in errors: `list <name>: ...`, `watch <name>: ...`. */
  readonly name: string;
  /** Sent with the LIST and the WATCH, as a fieldSelector. */
  readonly query?: Query;
  /** Accept headers; default `application/json`. */
  readonly accept?: { readonly list: string; readonly watch: string };
  /** LIST page size (limit/continue); without it, one page. */
  readonly pageSize?: number;
  /** What is kept of an object; undefined skips it. */
  readonly transform: (object: unknown) => T | undefined;
  readonly handler: ReflectorHandler<T>;
  readonly backoff?: ReflectorBackoff;
  /** Watches ask the server to end after [t, 2t) seconds, then resume. Default 300 (client-go's minimum). */
  readonly watchTimeoutSeconds?: number;
  /** The longest silence tolerated on a watch. Default its timeout plus 30 s: by then the server should have ended it. */
  readonly watchIdleMs?: number;
  /** The longest silence tolerated on a LIST. Default 60000. */
  readonly requestTimeoutMs?: number;
  /** A watch that delivered nothing still counts as healthy if it stayed open this long. Default 5000. */
  readonly healthyWatchMs?: number;
  /** A longer event fails the watch. Default 16 MiB. */
  readonly maxEventChars?: number;
  readonly clock?: ReflectorClock;
}

const SYSTEM_CLOCK: ReflectorClock = {
  now: () => Date.now(),
  random: () => Math.random(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** etcd caps an object at 1.5 MiB by default; a line far beyond that means the stream is not a watch stream. */
const MAX_EVENT_CHARS = 16 * 1024 * 1024;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** client-go's isExpiredError: apierrors.IsResourceExpired or IsGone, both code 410. */
function isExpired(err: KubeApiError): boolean {
  return err.status === 410 || err.reason === 'Expired' || err.reason === 'Gone';
}

/** Errors that do not name their request (a reset socket, a silent one) are prefixed with it. */
function named(err: unknown, what: string): KubeApiError {
  if (err instanceof KubeApiError) return err;
  return new KubeApiError(`${what}: ${err instanceof Error ? err.message : String(err)}`);
}

/** A watch attempt's failure, and whether the watch had been healthy before it failed. */
class WatchEnded extends Error {
  constructor(
    readonly healthy: boolean,
    readonly error: KubeApiError,
  ) {
    super(error.message);
  }
}

export class Reflector<T> {
  private readonly client: ListWatchClient;
  private readonly handler: ReflectorHandler<T>;
  private readonly clock: ReflectorClock;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly abort = new AbortController();
  private readonly waiters = new Set<(synced: boolean) => void>();
  private loop: Promise<void> | undefined;
  private first: { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } | undefined;
  private sleepTimer: unknown;
  private wake: (() => void) | undefined;
  private stopped = false;
  private failures = 0;
  private rv: string | undefined;
  private isSynced = false;
  private listCount = 0;
  private watchCount = 0;
  private error: string | undefined;

  constructor(private readonly options: ReflectorOptions<T>) {
    this.client = options.client;
    this.handler = options.handler;
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.backoffInitialMs = options.backoff?.initialMs ?? 1000;
    this.backoffMaxMs = options.backoff?.maxMs ?? 60_000;
  }

  /** Whether a LIST has completed. */
  get synced(): boolean {
    return this.isSynced;
  }

  /** The resume point: the last LIST's, or the last event's or bookmark's. */
  get resourceVersion(): string | undefined {
    return this.rv;
  }

  /** Why the last LIST or WATCH failed; cleared by a LIST or a healthy watch. */
  get lastError(): string | undefined {
    return this.error;
  }

  /** LIST requests made (pages of one LIST count once). */
  get lists(): number {
    return this.listCount;
  }

  /** WATCH requests made. */
  get watches(): number {
    return this.watchCount;
  }

  /**
   * Starts following the collection. Resolves when the first LIST
   * completes; rejects with its error if it fails, while the reflector
   * goes on retrying in the background.
   */
  start(): Promise<void> {
    if (!this.first) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.first = { promise, resolve, reject };
      if (this.stopped) reject(new KubeApiError(`list ${this.options.name}: stopped`));
      else this.loop = this.run();
    }
    return this.first.promise;
  }

  /** Resolves true once synced, false when `ms` passes first or the reflector stops. */
  waitForSync(ms: number): Promise<boolean> {
    if (this.isSynced) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        this.clock.clearTimeout(timer);
        this.waiters.delete(done);
        resolve(ok);
      };
      const timer = this.clock.setTimeout(() => done(false), ms);
      this.waiters.add(done);
    });
  }

  /** Ends the requests, the timers and the loop; resolves when the loop has returned. */
  stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.abort.abort();
      if (this.sleepTimer !== undefined) this.clock.clearTimeout(this.sleepTimer);
      this.wake?.();
      for (const w of [...this.waiters]) w(false);
      this.first?.reject(new KubeApiError(`list ${this.options.name}: stopped`));
    }
    return this.loop ?? Promise.resolve();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.rv === undefined) await this.list();
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may have run during the await
        if (this.stopped) break;
        const healthy = await this.watch();
        // A watch the server ended (timeoutSeconds, an apiserver rollout) is
        // resumed at once, as client-go does; one that ended without doing
        // anything counts as a failure so a flapping server is not hammered.
        if (healthy) {
          this.failures = 0;
          this.error = undefined;
        } else {
          this.failures++;
        }
      } catch (err) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may have run during the await
        if (this.stopped) break;
        const { healthy, error } = err instanceof WatchEnded ? err : { healthy: false, error: named(err, `list ${this.options.name}`) };
        if (healthy) this.failures = 0;
        // A 410 also backs off, as client-go's BackoffUntil does around ListAndWatch: a server that expires every watch is not hammered.
        this.failures++;
        this.error = error.message;
        const relist = isExpired(error);
        if (relist) this.rv = undefined;
        this.first?.reject(error);
        this.handler.onError?.(error, relist);
      }
      const delay = this.backoff();
      if (delay > 0) await this.sleep(delay);
    }
  }

  /** Equal jitter: half the exponential step fixed, half random, so many replicas do not reconnect in lockstep. */
  private backoff(): number {
    if (this.failures === 0) return 0;
    const step = Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** Math.min(this.failures - 1, 30));
    return step / 2 + this.clock.random() * (step / 2);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.sleepTimer = this.clock.setTimeout(resolve, ms);
    }).then(() => {
      this.wake = undefined;
      this.sleepTimer = undefined;
    });
  }

  /**
   * A LIST, in pages when a page size is set, without resourceVersion: a
   * consistent read, so a relist never goes back in time. Continue tokens
   * keep the pages at the first page's resourceVersion.
   */
  private async list(): Promise<void> {
    this.listCount++;
    const what = `list ${this.options.name}`;
    const items: T[] = [];
    let resourceVersion: string | undefined;
    let cont: string | undefined;
    do {
      const res = await this.client.request(this.options.path, {
        query: { ...this.options.query, limit: this.options.pageSize === undefined ? undefined : String(this.options.pageSize), continue: cont },
        ...(this.options.accept ? { accept: this.options.accept.list } : {}),
        idleMs: this.options.requestTimeoutMs ?? 60_000,
        idleError: noDataError,
        signal: this.abort.signal,
      });
      if (this.stopped) return;
      if (res.status !== 200) throw statusError(res.status, res.body, what);
      if (!isObject(res.body)) throw new KubeApiError(`${what}: the response is not a JSON object`, res.status);
      const meta = isObject(res.body['metadata']) ? res.body['metadata'] : {};
      const page = Array.isArray(res.body['items']) ? res.body['items'] : [];
      for (const object of page) {
        const item = this.options.transform(object);
        if (item !== undefined) items.push(item);
      }
      if (resourceVersion === undefined && typeof meta['resourceVersion'] === 'string') resourceVersion = meta['resourceVersion'];
      cont = typeof meta['continue'] === 'string' && meta['continue'] !== '' ? meta['continue'] : undefined;
    } while (cont !== undefined);
    if (!resourceVersion) throw new KubeApiError(`${what}: the response has no resourceVersion`);
    this.rv = resourceVersion;
    this.error = undefined;
    this.handler.onList(items);
    if (!this.isSynced) {
      this.isSynced = true;
      for (const w of [...this.waiters]) w(true);
    }
    this.first?.resolve();
  }

  /**
   * One WATCH from the current resourceVersion. Resolves when the server
   * ends the stream (true if it was healthy: it delivered an event or stayed
   * open a while); throws WatchEnded otherwise, carrying the same verdict.
   */
  private async watch(): Promise<boolean> {
    this.watchCount++;
    const what = `watch ${this.options.name}`;
    const started = this.clock.now();
    let events = 0;
    const healthy = (): boolean => events > 0 || this.clock.now() - started >= (this.options.healthyWatchMs ?? 5000);
    // client-go picks a timeout in [min, 2·min) so the watches of many clients do not all expire together.
    const timeoutSeconds = Math.round((this.options.watchTimeoutSeconds ?? 300) * (1 + this.clock.random()));
    try {
      const answer = await this.client.watch(
        this.options.path,
        {
          query: { ...this.options.query, watch: 'true', allowWatchBookmarks: 'true', resourceVersion: this.rv, timeoutSeconds: String(timeoutSeconds) },
          ...(this.options.accept ? { accept: this.options.accept.watch } : {}),
          idleMs: this.options.watchIdleMs ?? (timeoutSeconds + 30) * 1000,
          idleError: noDataError,
          signal: this.abort.signal,
          maxLineChars: this.options.maxEventChars ?? MAX_EVENT_CHARS,
          what,
        },
        (line) => {
          this.apply(line, what);
          events++;
        },
      );
      if (answer.status !== 200) throw statusError(answer.status, answer.body, what);
      return healthy();
    } catch (err) {
      throw new WatchEnded(healthy(), named(err, what));
    }
  }

  private apply(line: string, what: string): void {
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      throw new KubeApiError(`${what}: undecodable event`);
    }
    if (!isObject(event) || typeof event['type'] !== 'string') throw new KubeApiError(`${what}: malformed event`);
    const object = event['object'];
    const type = event['type'];
    // A Status; 410 Expired/Gone means the resourceVersion left the server's window.
    if (type === 'ERROR') throw statusError(undefined, object, what);
    if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED' && type !== 'BOOKMARK') return;
    if (type !== 'BOOKMARK') {
      const item = this.options.transform(object);
      if (item !== undefined) {
        if (type === 'ADDED') this.handler.onAdd(item);
        else if (type === 'MODIFIED') this.handler.onModify(item);
        else this.handler.onDelete(item);
      }
    }
    const meta = isObject(object) && isObject(object['metadata']) ? object['metadata'] : undefined;
    const rv = meta && typeof meta['resourceVersion'] === 'string' ? meta['resourceVersion'] : undefined;
    if (rv) this.rv = rv;
  }
}
