// Reading kubeconfig files the way kubectl does, for the settings a plain
// HTTPS client can apply: server, CA, TLS checks, bearer token or token
// file, client certificate, basic auth. Anything that needs a credential
// plugin (exec, auth-provider) or a proxy is reported as such, and the
// caller hands it to @kubernetes/client-node. Keeping the common cases here
// means a pod never loads that library, which costs about 80 MB of memory.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';

/** What a request needs to reach and authenticate to the API server. */
export interface KubeEndpoint {
  readonly server: string;
  /** PEM CA bundle; undefined means the system roots. */
  readonly ca?: string;
  readonly insecureSkipTLSVerify: boolean;
  readonly tlsServerName?: string;
  readonly token?: string;
  /** Read again as the file changes; wins over `token`, as in client-go. */
  readonly tokenFile?: string;
  readonly clientCert?: string;
  readonly clientKey?: string;
  readonly username?: string;
  readonly password?: string;
}

export type ResolvedKubeconfig =
  | { readonly kind: 'endpoint'; readonly endpoint: KubeEndpoint; readonly context: string }
  /** Credentials this module does not apply; `why` names the field. */
  | { readonly kind: 'plugin'; readonly server: string; readonly context: string; readonly why: string };

export class KubeconfigError extends Error {}

interface Named<T> {
  readonly name: string;
  readonly value: T;
  /** The file it came from, for relative paths. */
  readonly dir: string;
}

type Fields = Readonly<Record<string, unknown>>;

interface Merged {
  readonly currentContext: string | undefined;
  readonly clusters: Map<string, Named<Fields>>;
  readonly users: Map<string, Named<Fields>>;
  readonly contexts: Map<string, Named<Fields>>;
}

/** The files kubectl reads: $KUBECONFIG (a path list) or ~/.kube/config. */
export function defaultKubeconfigPaths(env: NodeJS.ProcessEnv = process.env, home = homedir()): string[] {
  const list = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  return list.length > 0 ? list : [join(home, '.kube', 'config')];
}

const isFields = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);

function namedList(doc: Fields, key: string, inner: string, file: string): Named<Fields>[] {
  const list = doc[key];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new KubeconfigError(`${file}: ${key} must be a list`);
  return list.map((item, i) => {
    if (!isFields(item) || typeof item.name !== 'string') throw new KubeconfigError(`${file}: ${key}[${i}] needs a name`);
    const value = item[inner];
    return { name: item.name, value: isFields(value) ? value : {}, dir: dirname(resolve(file)) };
  });
}

/**
 * Merges kubeconfig files as clientcmd does: the first file to define a
 * cluster, user or context name wins, and so does the first current-context.
 * `read` is injectable for tests; a file in a $KUBECONFIG list may be absent.
 */
export function mergeKubeconfigs(files: readonly string[], read: (file: string) => string | undefined): Merged {
  const merged: Merged = { currentContext: undefined, clusters: new Map(), users: new Map(), contexts: new Map() };
  let current: string | undefined;
  let found = 0;
  for (const file of files) {
    const text = read(file);
    if (text === undefined) continue;
    found++;
    let doc: unknown;
    try {
      doc = parse(text);
    } catch (e) {
      throw new KubeconfigError(`${file} is not valid YAML: ${(e as Error).message}`);
    }
    if (doc === null || doc === undefined) continue;
    if (!isFields(doc)) throw new KubeconfigError(`${file} is not a kubeconfig (not a mapping)`);
    for (const [key, inner, into] of [
      ['clusters', 'cluster', merged.clusters],
      ['users', 'user', merged.users],
      ['contexts', 'context', merged.contexts],
    ] as const) {
      for (const n of namedList(doc, key, inner, file)) if (!into.has(n.name)) into.set(n.name, n);
    }
    if (current === undefined && typeof doc['current-context'] === 'string' && doc['current-context'] !== '') current = doc['current-context'];
  }
  if (found === 0) throw new KubeconfigError(`no kubeconfig found at ${files.join(', ')}`);
  return { ...merged, currentContext: current };
}

const str = (f: Fields, key: string): string | undefined => (typeof f[key] === 'string' && f[key] !== '' ? f[key] : undefined);

/** Resolves the context (`override` or current-context) to the settings its cluster and user name. */
export function resolveKubeconfig(merged: Merged, override: string | undefined, read: (file: string) => string): ResolvedKubeconfig {
  const name = override ?? merged.currentContext;
  if (name === undefined) throw new KubeconfigError('the kubeconfig has no current-context; pass a context');
  const context = merged.contexts.get(name);
  if (!context) throw new KubeconfigError(`context "${name}" is not in the kubeconfig`);
  const clusterName = str(context.value, 'cluster');
  const cluster = clusterName === undefined ? undefined : merged.clusters.get(clusterName);
  if (!cluster) throw new KubeconfigError(`context "${name}" names cluster "${clusterName ?? ''}", which is not in the kubeconfig`);
  const userName = str(context.value, 'user');
  const user = userName === undefined ? undefined : merged.users.get(userName);
  if (userName !== undefined && !user) throw new KubeconfigError(`context "${name}" names user "${userName}", which is not in the kubeconfig`);
  const server = str(cluster.value, 'server');
  if (server === undefined) throw new KubeconfigError(`cluster "${cluster.name}" has no server`);
  const u = user?.value ?? {};
  const plugin = ['exec', 'auth-provider', 'as', 'as-groups', 'as-uid'].find((k) => u[k] !== undefined) ?? (str(cluster.value, 'proxy-url') ? 'proxy-url' : undefined);
  if (plugin) return { kind: 'plugin', server, context: name, why: plugin };

  const path = (n: Named<Fields>, key: string): string | undefined => {
    const p = str(n.value, key);
    return p === undefined ? undefined : isAbsolute(p) ? p : join(n.dir, p);
  };
  const data = (n: Named<Fields>, key: string): string | undefined => {
    const d = str(n.value, `${key}-data`);
    if (d !== undefined) return Buffer.from(d, 'base64').toString('utf8');
    const file = path(n, key);
    if (file === undefined) return undefined;
    try {
      return read(file);
    } catch (e) {
      throw new KubeconfigError(`cannot read ${key} ${file}: ${(e as Error).message}`);
    }
  };
  const insecure = cluster.value['insecure-skip-tls-verify'] === true;
  const ca = data(cluster, 'certificate-authority');
  const tlsServerName = str(cluster.value, 'tls-server-name');
  const token = str(u, 'token');
  const tokenFile = user ? path(user, 'tokenFile') : undefined;
  const clientCert = user ? data(user, 'client-certificate') : undefined;
  const clientKey = user ? data(user, 'client-key') : undefined;
  if (Boolean(clientCert) !== Boolean(clientKey)) throw new KubeconfigError(`user "${userName ?? ''}" needs both a client certificate and a client key`);
  const username = str(u, 'username');
  const password = str(u, 'password');
  return {
    kind: 'endpoint',
    context: name,
    endpoint: {
      server,
      insecureSkipTLSVerify: insecure,
      ...(ca !== undefined ? { ca } : {}),
      ...(tlsServerName ? { tlsServerName } : {}),
      ...(token ? { token } : {}),
      ...(tokenFile ? { tokenFile } : {}),
      ...(clientCert && clientKey ? { clientCert, clientKey } : {}),
      ...(username !== undefined ? { username, password: password ?? '' } : {}),
    },
  };
}

/** Reads and resolves kubeconfig files from disk. */
export function loadKubeconfig(files: readonly string[], context: string | undefined): ResolvedKubeconfig {
  const readIfThere = (file: string): string | undefined => {
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && files.length > 1) return undefined;
      throw new KubeconfigError(`cannot read kubeconfig ${file}: ${(e as Error).message}`);
    }
  };
  return resolveKubeconfig(mergeKubeconfigs(files, readIfThere), context, (f) => readFileSync(f, 'utf8'));
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The pod's service account, as rest.InClusterConfig reads it. */
export function inClusterEndpoint(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): KubeEndpoint {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new KubeconfigError('in-cluster configuration needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT; is this running in a pod?');
  const tokenFile = join(dir, 'token');
  try {
    readFileSync(tokenFile);
  } catch (e) {
    throw new KubeconfigError(`cannot read the service account token ${tokenFile}: ${(e as Error).message}`);
  }
  let ca: string | undefined;
  try {
    ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
  } catch {
    // client-go logs and goes on with the system roots.
    ca = undefined;
  }
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { server: `https://${hostPart}:${port}`, insecureSkipTLSVerify: false, tokenFile, ...(ca !== undefined ? { ca } : {}) };
}
