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
import { Reflector, type ListWatchClient } from '../kube/reflector.js';
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
const CONFIGMAP = `configmap ${AUTH_CONFIGMAP_NAMESPACE}/${AUTH_CONFIGMAP_NAME}`;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The ConfigMap's string data; undefined for any other object. */
function dataOf(object: unknown): Record<string, string> | undefined {
  if (!isObject(object) || !isObject(object['metadata']) || object['metadata']['name'] !== AUTH_CONFIGMAP_NAME) return undefined;
  const data = object['data'];
  const out: Record<string, string> = {};
  if (isObject(data)) for (const [k, v] of Object.entries(data)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * The ConfigMap's LIST and WATCH through `api`. A LIST that is not answered
 * 200 fails here, with the Role to bind when it is forbidden.
 */
function configMapClient(api: KubeApi): ListWatchClient {
  return {
    request: async (path, options) => {
      const res = await api.request('GET', path, { query: options.query, timeoutMs: options.idleMs, signal: options.signal });
      if (res.status === 200) return res;
      const { message, reason } = statusMessage(res.status, res.body);
      const hint = res.status === 403 ? ` (grant it with a RoleBinding in ${AUTH_CONFIGMAP_NAMESPACE} to the Role extension-apiserver-authentication-reader)` : '';
      throw new KubeApiError(`list ${CONFIGMAP}: ${res.status}: ${message}${hint}`, res.status, reason);
    },
    watch: (path, options, onLine) => api.watch(path, options, onLine),
  };
}

function sameConfig(a: AuthenticationConfig, b: AuthenticationConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class AuthConfigSource implements AuthConfigProvider {
  private flagSettings: AuthSettings = {};
  private cmSettings: AuthSettings = {};
  private config: AuthenticationConfig = {};
  private readonly listeners = new Set<(config: AuthenticationConfig) => void>();
  private readonly readFile: (path: string) => Promise<string>;
  private fileTimer: NodeJS.Timeout | undefined;
  private reflector: Reflector<Record<string, string>> | undefined;
  /** Whether start() has reported the first LIST; until then its failures are start()'s to report. */
  private firstListReported = false;
  private closed = false;
  /** Why the last LIST, WATCH or update failed; undefined after a success. */
  lastError: string | undefined;

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
    if (!this.usesConfigMap || this.closed) return;
    this.reflector = this.follow(this.options.client as KubeApi);
    try {
      await this.reflector.start();
    } finally {
      this.firstListReported = true;
    }
  }

  get current(): AuthenticationConfig {
    return this.config;
  }

  /** True once the ConfigMap (when used) has been read. */
  get isSynced(): boolean {
    return this.reflector ? this.reflector.synced : !this.usesConfigMap;
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
    await this.reflector?.stop();
  }

  /** A list-then-watch of the one ConfigMap, by fieldSelector (what the reader Role's resourceNames allow). */
  private follow(api: KubeApi): Reflector<Record<string, string>> {
    const apply = (data: Record<string, string> | undefined): void => this.applyConfigMap(data);
    return new Reflector<Record<string, string>>({
      client: configMapClient(api),
      path: CONFIGMAPS_PATH,
      name: CONFIGMAP,
      query: { fieldSelector: `metadata.name=${AUTH_CONFIGMAP_NAME}` },
      transform: dataOf,
      handler: {
        onList: (items) => {
          this.lastError = undefined;
          // No ConfigMap means no settings from it (RunOnce treats NotFound as empty).
          apply(items[0]);
        },
        onAdd: apply,
        onModify: apply,
        onDelete: () => apply(undefined),
        onError: (error, relist) => {
          // A 410 is the protocol at work, not a failure; the reflector lists again.
          if (relist || !this.firstListReported) return;
          this.lastError = error.message;
          this.options.log?.warn('following the authentication ConfigMap failed; retrying', { error: this.lastError });
        },
      },
      requestTimeoutMs: 30_000,
      ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
    });
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

  private applyConfigMap(data: Record<string, string> | undefined): void {
    let settings: AuthSettings;
    try {
      settings = parseAuthConfigMap(data);
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
}
