// Where delegated authentication gets its trust: the ConfigMap
// kube-system/extension-apiserver-authentication that kube-apiserver keeps
// up to date, overridden key by key by command-line flags.
//
// kube-apiserver writes the ConfigMap (pkg/controlplane/controller/
// clusterauthenticationtrust): `client-ca-file` (PEM) when it has a client
// CA, and when it has a front-proxy CA `requestheader-client-ca-file` (PEM)
// plus `requestheader-allowed-names`, `-username-headers`, `-group-headers`,
// `-extra-headers-prefix` and, since 1.32, `-uid-headers`, each a JSON array
// of strings. k8s.io/apiserver's RequestHeaderAuthRequestController reads
// an empty or missing list key as an empty list and refuses the whole update
// when a value is not a JSON string array; both are kept here.
import { parseCertificateBundle, type Certificate } from './x509.js';

export const AUTH_CONFIGMAP_NAMESPACE = 'kube-system';
export const AUTH_CONFIGMAP_NAME = 'extension-apiserver-authentication';

/** The ConfigMap keys, as kube-apiserver writes them. */
export const CONFIGMAP_KEYS = {
  clientCA: 'client-ca-file',
  requestheaderClientCA: 'requestheader-client-ca-file',
  requestheaderAllowedNames: 'requestheader-allowed-names',
  requestheaderUsernameHeaders: 'requestheader-username-headers',
  requestheaderGroupHeaders: 'requestheader-group-headers',
  requestheaderExtraHeadersPrefix: 'requestheader-extra-headers-prefix',
  requestheaderUidHeaders: 'requestheader-uid-headers',
} as const;

/**
 * One source of settings (the ConfigMap, or the flags with CA files read):
 * an absent property means "this source does not say".
 */
export interface AuthSettings {
  /** PEM. */
  readonly clientCA?: string;
  /** PEM. */
  readonly requestheaderClientCA?: string;
  readonly requestheaderAllowedNames?: readonly string[];
  readonly requestheaderUsernameHeaders?: readonly string[];
  readonly requestheaderGroupHeaders?: readonly string[];
  readonly requestheaderExtraHeadersPrefix?: readonly string[];
  readonly requestheaderUidHeaders?: readonly string[];
}

export interface RequestHeaderConfig {
  /** PEM bundle of the front proxy's CA. */
  readonly clientCA: string;
  /** Common names allowed to assert users; empty allows any certificate the CA signed. */
  readonly allowedNames: readonly string[];
  readonly usernameHeaders: readonly string[];
  readonly uidHeaders: readonly string[];
  readonly groupHeaders: readonly string[];
  readonly extraHeaderPrefixes: readonly string[];
}

/** The effective configuration of delegated authentication. */
export interface AuthenticationConfig {
  /** PEM bundle for x509 client certificates; absent turns that authenticator off. */
  readonly clientCA?: string;
  /** Absent when no front-proxy CA is known: the request-header authenticator is off. */
  readonly requestHeader?: RequestHeaderConfig;
}

/** A live view of the configuration (AuthConfigSource implements it). */
export interface AuthConfigProvider {
  readonly current: AuthenticationConfig;
}

export class AuthConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthConfigError';
  }
}

/**
 * The defaults of k8s.io/apiserver's NewDelegatingAuthenticationOptions,
 * used when neither a flag nor the ConfigMap names the headers. UID headers
 * have no default there on purpose: they came with Kubernetes 1.32, and an
 * older kube-apiserver does not strip a client's own X-Remote-Uid before
 * proxying, so trusting that header by default would let clients choose
 * their UID. Clusters that use it write `requestheader-uid-headers`.
 */
export const DEFAULT_REQUEST_HEADERS = {
  usernameHeaders: ['X-Remote-User'],
  uidHeaders: [] as string[],
  groupHeaders: ['X-Remote-Group'],
  extraHeaderPrefixes: ['X-Remote-Extra-'],
} as const;

/** deserializeStrings: '' (or a missing key) means unset; anything but a JSON string array is an error. */
function stringList(data: Readonly<Record<string, string>>, key: string): string[] | undefined {
  const text = data[key];
  if (text === undefined || text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new AuthConfigError(`${key}: not JSON: ${(e as Error).message}`);
  }
  if (value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw new AuthConfigError(`${key}: expected a JSON array of strings, got ${text.length > 80 ? `${text.slice(0, 80)}...` : text}`);
  }
  return value;
}

/**
 * The settings the ConfigMap's data holds. `undefined` data (no ConfigMap)
 * gives no settings. Throws AuthConfigError when a list key is malformed,
 * so the caller can keep what it had, as the Kubernetes controller does.
 */
export function parseAuthConfigMap(data: Readonly<Record<string, string>> | undefined): AuthSettings {
  if (!data) return {};
  const out: { -readonly [K in keyof AuthSettings]: AuthSettings[K] } = {};
  const clientCA = data[CONFIGMAP_KEYS.clientCA];
  if (clientCA) out.clientCA = clientCA;
  const rhCA = data[CONFIGMAP_KEYS.requestheaderClientCA];
  if (rhCA) out.requestheaderClientCA = rhCA;
  const lists = ['requestheaderAllowedNames', 'requestheaderUsernameHeaders', 'requestheaderGroupHeaders', 'requestheaderExtraHeadersPrefix', 'requestheaderUidHeaders'] as const;
  for (const field of lists) {
    const v = stringList(data, CONFIGMAP_KEYS[field]);
    if (v !== undefined) out[field] = v;
  }
  return out;
}

/** Header names as RequestHeaderAuthenticationOptions validates them: trimmed, none empty. */
function headerNames(what: string, names: readonly string[]): string[] {
  return names.map((n) => {
    const t = n.trim();
    if (t === '') throw new AuthConfigError(`empty value in "${what}"`);
    return t;
  });
}

/**
 * The effective configuration: for each setting the override (flags) when
 * it says something, else the ConfigMap, else the default. The request-header
 * authenticator exists only when a front-proxy CA is known.
 */
export function mergeAuthSettings(overrides: AuthSettings, configMap: AuthSettings): AuthenticationConfig {
  const pick = <K extends keyof AuthSettings>(key: K): AuthSettings[K] => overrides[key] ?? configMap[key];
  const clientCA = pick('clientCA');
  const rhCA = pick('requestheaderClientCA');
  return {
    ...(clientCA ? { clientCA } : {}),
    ...(rhCA
      ? {
          requestHeader: {
            clientCA: rhCA,
            allowedNames: [...(pick('requestheaderAllowedNames') ?? [])],
            usernameHeaders: headerNames(CONFIGMAP_KEYS.requestheaderUsernameHeaders, pick('requestheaderUsernameHeaders') ?? DEFAULT_REQUEST_HEADERS.usernameHeaders),
            uidHeaders: headerNames(CONFIGMAP_KEYS.requestheaderUidHeaders, pick('requestheaderUidHeaders') ?? DEFAULT_REQUEST_HEADERS.uidHeaders),
            groupHeaders: headerNames(CONFIGMAP_KEYS.requestheaderGroupHeaders, pick('requestheaderGroupHeaders') ?? DEFAULT_REQUEST_HEADERS.groupHeaders),
            extraHeaderPrefixes: headerNames(CONFIGMAP_KEYS.requestheaderExtraHeadersPrefix, pick('requestheaderExtraHeadersPrefix') ?? DEFAULT_REQUEST_HEADERS.extraHeaderPrefixes),
          },
        }
      : {}),
  };
}

/** A configuration with its CA bundles parsed. */
export interface CompiledAuthConfig {
  readonly config: AuthenticationConfig;
  readonly clientRoots?: readonly Certificate[];
  readonly requestheaderRoots?: readonly Certificate[];
}

/** Parses the CA bundles; throws AuthConfigError when one is unusable. */
export function compileAuthConfig(config: AuthenticationConfig): CompiledAuthConfig {
  const parse = (what: string, pem: string | undefined): Certificate[] | undefined => {
    if (pem === undefined) return undefined;
    try {
      return parseCertificateBundle(pem);
    } catch (e) {
      throw new AuthConfigError(`${what}: ${(e as Error).message}`);
    }
  };
  const clientRoots = parse('client CA', config.clientCA);
  const requestheaderRoots = parse('requestheader client CA', config.requestHeader?.clientCA);
  return { config, ...(clientRoots ? { clientRoots } : {}), ...(requestheaderRoots ? { requestheaderRoots } : {}) };
}

// ---------------------------------------------------------------------------
// Flags

/** The command-line flags, as kube-apiserver and k8s.io/apiserver name them. */
export interface AuthFlags {
  /** --client-ca-file */
  readonly clientCAFile?: string;
  /** --requestheader-client-ca-file */
  readonly requestheaderClientCAFile?: string;
  /** --requestheader-allowed-names */
  readonly requestheaderAllowedNames?: readonly string[];
  /** --requestheader-username-headers */
  readonly requestheaderUsernameHeaders?: readonly string[];
  /** --requestheader-group-headers */
  readonly requestheaderGroupHeaders?: readonly string[];
  /** --requestheader-extra-headers-prefix */
  readonly requestheaderExtraHeadersPrefix?: readonly string[];
  /** --requestheader-uid-headers */
  readonly requestheaderUidHeaders?: readonly string[];
  /** --authentication-skip-lookup: never read the ConfigMap; only the flags count. */
  readonly skipLookup?: boolean;
  /**
   * --authentication-tolerate-lookup-failure: start even when the ConfigMap
   * cannot be read (it is retried in the background).
   */
  readonly tolerateLookupFailure?: boolean;
  /** --authorization-always-allow-paths; absent means the default (always-allow.ts). */
  readonly alwaysAllowPaths?: readonly string[];
}

/**
 * The flags in the shape cli/args.ts parseArgs takes. List flags repeat
 * and also take comma-separated values, as pflag's StringSlice does.
 */
const LIST_FLAGS = {
  'requestheader-allowed-names': 'requestheaderAllowedNames',
  'requestheader-username-headers': 'requestheaderUsernameHeaders',
  'requestheader-group-headers': 'requestheaderGroupHeaders',
  'requestheader-extra-headers-prefix': 'requestheaderExtraHeadersPrefix',
  'requestheader-uid-headers': 'requestheaderUidHeaders',
} as const;

/**
 * AuthFlags from parsed flags keyed by flag name. A list flag given as ''
 * is an explicit empty list (for --requestheader-allowed-names: any common
 * name). Throws AuthConfigError on a blank entry such as `a,,b`.
 */
export function authFlagsFrom(flags: Readonly<Record<string, string | boolean | number | string[] | undefined>>): AuthFlags {
  const out: { -readonly [K in keyof AuthFlags]: AuthFlags[K] } = {};
  const file = (name: string): string | undefined => {
    const v = flags[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw new AuthConfigError(`--${name} needs a file name`);
    return v;
  };
  const clientCAFile = file('client-ca-file');
  if (clientCAFile) out.clientCAFile = clientCAFile;
  const rhFile = file('requestheader-client-ca-file');
  if (rhFile) out.requestheaderClientCAFile = rhFile;
  for (const [name, field] of Object.entries(LIST_FLAGS) as [keyof typeof LIST_FLAGS, (typeof LIST_FLAGS)[keyof typeof LIST_FLAGS]][]) {
    const v = flags[name];
    if (v === undefined) continue;
    const values = Array.isArray(v) ? v.map(String) : [String(v)];
    const items: string[] = [];
    for (const value of values) {
      if (value === '') continue;
      for (const part of value.split(',')) {
        const t = part.trim();
        if (t === '') throw new AuthConfigError(`empty value in "--${name}": ${JSON.stringify(value)}; separate the values with single commas`);
        items.push(t);
      }
    }
    out[field] = items;
  }
  const flag = (name: string): boolean | undefined => (typeof flags[name] === 'boolean' ? flags[name] : undefined);
  const skipLookup = flag('authentication-skip-lookup');
  if (skipLookup !== undefined) out.skipLookup = skipLookup;
  const tolerate = flag('authentication-tolerate-lookup-failure');
  if (tolerate !== undefined) out.tolerateLookupFailure = tolerate;
  const paths = flags['authorization-always-allow-paths'];
  if (paths !== undefined) {
    // pflag's StringSlice: comma-separated, repeatable; an empty value clears the list.
    out.alwaysAllowPaths = (Array.isArray(paths) ? paths.map(String) : [String(paths)]).flatMap((v) => (v === '' ? [] : v.split(',').map((p) => p.trim())));
  }
  return out;
}

/** The flags as settings, with the CA files read through `readFile`. */
export async function settingsFromFlags(flags: AuthFlags, readFile: (path: string) => Promise<string>): Promise<AuthSettings> {
  const read = async (flag: string, path: string | undefined): Promise<string | undefined> => {
    if (path === undefined) return undefined;
    let text: string;
    try {
      text = await readFile(path);
    } catch (e) {
      throw new AuthConfigError(`--${flag} ${path}: ${(e as Error).message}`);
    }
    try {
      parseCertificateBundle(text);
    } catch (e) {
      throw new AuthConfigError(`--${flag} ${path}: ${(e as Error).message}`);
    }
    return text;
  };
  const clientCA = await read('client-ca-file', flags.clientCAFile);
  const rhCA = await read('requestheader-client-ca-file', flags.requestheaderClientCAFile);
  return {
    ...(clientCA ? { clientCA } : {}),
    ...(rhCA ? { requestheaderClientCA: rhCA } : {}),
    ...(flags.requestheaderAllowedNames ? { requestheaderAllowedNames: flags.requestheaderAllowedNames } : {}),
    ...(flags.requestheaderUsernameHeaders ? { requestheaderUsernameHeaders: flags.requestheaderUsernameHeaders } : {}),
    ...(flags.requestheaderGroupHeaders ? { requestheaderGroupHeaders: flags.requestheaderGroupHeaders } : {}),
    ...(flags.requestheaderExtraHeadersPrefix ? { requestheaderExtraHeadersPrefix: flags.requestheaderExtraHeadersPrefix } : {}),
    ...(flags.requestheaderUidHeaders ? { requestheaderUidHeaders: flags.requestheaderUidHeaders } : {}),
  };
}
