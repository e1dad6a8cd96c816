// The live authentication configuration: flags, plus the ConfigMap
// kube-system/extension-apiserver-authentication followed with a
// list-then-watch, as k8s.io/apiserver's ConfigMap CA and request-header
// controllers follow it with an informer. A change (a rotated front-proxy
// CA, new allowed names) applies to the next request without a restart; an
// unusable update is logged and the last good configuration stays.
//
// Reading the ConfigMap needs the RoleBinding to
// extension-apiserver-authentication-reader in kube-system. The LIST and
// WATCH carry fieldSelector=metadata.name=<name>, which that Role's
// resourceNames rule allows (RequestInfo takes the name from the selector).
//
// CA files named by flags are re-read every minute, as
// dynamiccertificates' file content controllers do, so a rotated file on
// disk (a re-mounted Secret) is also picked up.
import { readFile } from 'node:fs/promises';
import { KubeApiError, statusMessage } from '../kube/client.js';
import type { Logger } from '../log.js';
import {
  AUTH_CONFIGMAP_NAME,
  AUTH_CONFIGMAP_NAMESPACE,
  AuthConfigError,
  compileAuthConfig,
  mergeAuthSettings,
  parseAuthConfigMap,
  settingsFromFlags,
  type AuthConfigProvider,
  type AuthenticationConfig,
  type AuthFlags,
  type AuthSettings,
} from './config.js';
import type { KubeApi } from './kube-api.js';

export interface AuthConfigSourceOptions {
  readonly flags?: AuthFlags;
  /** Where to read the ConfigMap; without it only the flags count. */
  readonly client?: KubeApi;
  /**
   * Do not read the ConfigMap (--authentication-skip-lookup). It is also
   * not read when both CA files are given by flags, as k8s.io/apiserver does.
   */
  readonly skipLookup?: boolean;
  readonly log?: Logger;
  /** Delay after a failed LIST or WATCH; doubles per failure up to maxMs. Default 1 s to 60 s. */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** How often the flag CA files are re-read; default 60 s, 0 to never. */
  readonly fileCheckMs?: number;
  readonly readFile?: (path: string) => Promise<string>;
}

const CONFIGMAPS_PATH = `/api/v1/namespaces/${AUTH_CONFIGMAP_NAMESPACE}/configmaps`;
const FIELD_SELECTOR = `metadata.name=${AUTH_CONFIGMAP_NAME}`;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function dataOf(object: unknown): Record<string, string> | undefined {
  if (!isObject(object)) return undefined;
  const data = object['data'];
  const out: Record<string, string> = {};
  if (isObject(data)) for (const [k, v] of Object.entries(data)) if (typeof v === 'string') out[k] = v;
  return out;
}

function resourceVersionOf(object: unknown): string | undefined {
  const meta = isObject(object) ? object['metadata'] : undefined;
  const rv = isObject(meta) ? meta['resourceVersion'] : undefined;
  return typeof rv === 'string' && rv !== '' ? rv : undefined;
}

function sameConfig(a: AuthenticationConfig, b: AuthenticationConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class AuthConfigSource implements AuthConfigProvider {
  private flagSettings: AuthSettings = {};
  private cmSettings: AuthSettings = {};
  private config: AuthenticationConfig = {};
  private readonly listeners = new Set<(config: AuthenticationConfig) => void>();
  private readonly abort = new AbortController();
  private readonly readFile: (path: string) => Promise<string>;
  private fileTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private resourceVersion: string | undefined;
  private synced = false;
  private closed = false;
  /** Why the last LIST, WATCH or update failed; undefined after a success. */
  lastError: string | undefined;
  /** LIST and WATCH requests made, for tests. */
  lists = 0;
  watches = 0;

  constructor(private readonly options: AuthConfigSourceOptions = {}) {
    this.readFile = options.readFile ?? ((p) => readFile(p, 'utf8'));
  }

  /** Whether the ConfigMap is followed at all. */
  get usesConfigMap(): boolean {
    const f = this.options.flags ?? {};
    return Boolean(this.options.client) && !this.options.skipLookup && !(f.clientCAFile && f.requestheaderClientCAFile);
  }

  /**
   * Reads the flag files and, when the ConfigMap is used, LISTs it once,
   * then follows it in the background. Rejects (with AuthConfigError or
   * KubeApiError) when that first read fails; the background loop keeps
   * retrying, so a caller that tolerates the failure still converges.
   */
  async start(): Promise<void> {
    const flags = await settingsFromFlags(this.options.flags ?? {}, this.readFile);
    if (!this.apply(flags, {})) throw new AuthConfigError(this.lastError ?? 'unusable authentication flags');
    const interval = this.options.fileCheckMs ?? 60_000;
    if (interval > 0 && (this.options.flags?.clientCAFile || this.options.flags?.requestheaderClientCAFile)) {
      this.fileTimer = setInterval(() => void this.recheckFiles(), interval);
      this.fileTimer.unref();
    }
    if (!this.usesConfigMap) {
      this.synced = true;
      return;
    }
    let first: unknown;
    try {
      await this.list();
    } catch (e) {
      first = e;
    }
    this.loop = this.run(first !== undefined);
    if (first !== undefined) throw first;
  }

  get current(): AuthenticationConfig {
    return this.config;
  }

  /** True once the ConfigMap (when used) has been read. */
  get isSynced(): boolean {
    return this.synced;
  }

  /** Calls `fn` with each new configuration; returns a function that stops it. */
  onChange(fn: (config: AuthenticationConfig) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.fileTimer) clearInterval(this.fileTimer);
    this.abort.abort();
    await this.loop?.catch(() => undefined);
  }

  /** Makes `flags` + `configMap` the configuration if it is usable; otherwise logs and keeps the last good one. */
  private apply(flags: AuthSettings, configMap: AuthSettings): boolean {
    let next: AuthenticationConfig;
    try {
      next = mergeAuthSettings(flags, configMap);
      compileAuthConfig(next);
    } catch (e) {
      this.lastError = (e as Error).message;
      this.options.log?.error('ignoring unusable authentication configuration; keeping the last good one', { error: this.lastError });
      return false;
    }
    this.flagSettings = flags;
    this.cmSettings = configMap;
    if (sameConfig(next, this.config)) return true;
    this.config = next;
    this.options.log?.info('authentication configuration loaded', {
      clientCA: Boolean(next.clientCA),
      requestHeader: Boolean(next.requestHeader),
      ...(next.requestHeader ? { allowedNames: next.requestHeader.allowedNames, usernameHeaders: next.requestHeader.usernameHeaders } : {}),
    });
    for (const fn of this.listeners) fn(next);
    return true;
  }

  private applyConfigMap(object: unknown): void {
    let settings: AuthSettings;
    try {
      settings = parseAuthConfigMap(dataOf(object));
    } catch (e) {
      this.lastError = `configmap ${AUTH_CONFIGMAP_NAMESPACE}/${AUTH_CONFIGMAP_NAME}: ${(e as Error).message}`;
      this.options.log?.error('ignoring unusable authentication ConfigMap; keeping the last good configuration', { error: this.lastError });
      return;
    }
    this.apply(this.flagSettings, settings);
  }

  private async recheckFiles(): Promise<void> {
    try {
      this.apply(await settingsFromFlags(this.options.flags ?? {}, this.readFile), this.cmSettings);
    } catch (e) {
      this.options.log?.warn('re-reading the CA files failed; keeping the last good ones', { error: (e as Error).message });
    }
  }

  private async list(): Promise<void> {
    this.lists++;
    const what = `list configmap ${AUTH_CONFIGMAP_NAMESPACE}/${AUTH_CONFIGMAP_NAME}`;
    let res;
    try {
      res = await this.options.client!.request('GET', CONFIGMAPS_PATH, { query: { fieldSelector: FIELD_SELECTOR }, timeoutMs: 30_000, signal: this.abort.signal });
    } catch (e) {
      if (e instanceof KubeApiError) throw e;
      throw new KubeApiError(`${what}: ${(e as Error).message}`);
    }
    if (res.status !== 200) {
      const { message, reason } = statusMessage(res.status, res.body);
      const hint =
        res.status === 403
          ? ` (grant it with a RoleBinding in ${AUTH_CONFIGMAP_NAMESPACE} to the Role extension-apiserver-authentication-reader)`
          : '';
      throw new KubeApiError(`${what}: ${res.status}: ${message}${hint}`, res.status, reason);
    }
    const body = isObject(res.body) ? res.body : {};
    const items = Array.isArray(body['items']) ? body['items'] : [];
    const item = items.find((i) => isObject(i) && isObject(i['metadata']) && i['metadata']['name'] === AUTH_CONFIGMAP_NAME);
    this.lastError = undefined;
    // No ConfigMap means no settings from it (RunOnce treats NotFound as empty).
    this.applyConfigMap(item ?? null);
    this.resourceVersion = resourceVersionOf(body);
    this.synced = true;
  }

  private async watch(): Promise<void> {
    this.watches++;
    const timeoutSeconds = Math.round(300 * (1 + Math.random()));
    await this.options.client!.watch(
      CONFIGMAPS_PATH,
      {
        watch: 'true',
        fieldSelector: FIELD_SELECTOR,
        allowWatchBookmarks: 'true',
        resourceVersion: this.resourceVersion,
        timeoutSeconds: String(timeoutSeconds),
      },
      (event) => {
        if (!isObject(event) || typeof event['type'] !== 'string') throw new KubeApiError('watch: malformed event');
        const object = event['object'];
        switch (event['type']) {
          case 'ADDED':
          case 'MODIFIED':
            this.applyConfigMap(object);
            break;
          case 'DELETED':
            this.applyConfigMap(null);
            break;
          case 'BOOKMARK':
            break;
          case 'ERROR': {
            const status = isObject(object) && typeof object['code'] === 'number' ? object['code'] : undefined;
            const { message, reason } = statusMessage(status ?? 0, object);
            throw new KubeApiError(`watch configmap: ${message}`, status, reason);
          }
          default:
            return;
        }
        const rv = resourceVersionOf(object);
        if (rv) this.resourceVersion = rv;
      },
      { signal: this.abort.signal, idleMs: (timeoutSeconds + 30) * 1000 },
    );
  }

  /** Watch, resume, relist after 410 Gone or a failed LIST, with backoff on failures. */
  private async run(needsList: boolean): Promise<void> {
    const initial = this.options.backoff?.initialMs ?? 1000;
    const max = this.options.backoff?.maxMs ?? 60_000;
    let failures = needsList ? 1 : 0;
    let relist = needsList;
    while (!this.closed) {
      if (failures > 0) {
        const step = Math.min(max, initial * 2 ** Math.min(failures - 1, 20));
        await new Promise<void>((resolve) => {
          const signal = this.abort.signal;
          const onAbort = (): void => {
            clearTimeout(t);
            resolve();
          };
          const t = setTimeout(() => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          }, step / 2 + Math.random() * (step / 2));
          signal.addEventListener('abort', onAbort, { once: true });
        });
        if (this.closed) return;
      }
      try {
        if (relist || this.resourceVersion === undefined) {
          await this.list();
          relist = false;
        }
        const started = Date.now();
        await this.watch();
        // A watch the server ended after its timeout is healthy; one that ended at once is not.
        failures = Date.now() - started > 5000 ? 0 : failures + 1;
      } catch (e) {
        if (this.closed) return;
        const gone = e instanceof KubeApiError && (e.status === 410 || e.reason === 'Expired' || e.reason === 'Gone');
        relist = true;
        if (gone) {
          failures = 0;
          continue;
        }
        failures++;
        this.lastError = (e as Error).message;
        this.options.log?.warn('following the authentication ConfigMap failed; retrying', { error: this.lastError });
      }
    }
  }
}

