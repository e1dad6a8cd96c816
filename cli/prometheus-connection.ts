// The Prometheus client `serve` queries through, from the --prometheus-*
// flags: extra headers, a bearer token or basic auth read from files (and
// re-read, so a rotated secret applies without a restart), and TLS. As in
// prometheus-adapter, the credentials and CA may also come from a kubeconfig
// (--prometheus-auth-config) or from the pod's service account
// (--prometheus-auth-incluster), whose server is never used; the flags win
// over either, setting by setting.
import { readFileSync } from 'node:fs';
import { inClusterEndpoint, KubeconfigError, loadKubeconfig, SERVICE_ACCOUNT_DIR, type KubeEndpoint } from '../adapter/kube/kubeconfig.js';
import { PrometheusClient } from '../adapter/prometheus.js';
import { StartupError } from './errors.js';
import type { PrometheusConnectionConfig, ServeConfig } from './serve-config.js';
import { readFlagFile } from './startup-files.js';

/** A file read at most every `ttlMs`, so a rotated token applies without a restart. */
function cachedFile(path: string, ttlMs = 10_000): () => string {
  let value = '';
  let readAt = 0;
  return () => {
    if (Date.now() - readAt > ttlMs) {
      value = readFileSync(path, 'utf8').trim();
      readAt = Date.now();
    }
    return value;
  };
}

/** The credentials and CA of --prometheus-auth-config or --prometheus-auth-incluster, when one is given. */
function kubeconfigEndpoint(c: PrometheusConnectionConfig, env: NodeJS.ProcessEnv, serviceAccountDir: string): KubeEndpoint | undefined {
  if (c.authInCluster) {
    try {
      return inClusterEndpoint(env, serviceAccountDir);
    } catch (e) {
      throw new StartupError(`--prometheus-auth-incluster: ${(e as Error).message}`);
    }
  }
  if (!c.authConfig) return undefined;
  const where = `--prometheus-auth-config ${c.authConfig}`;
  let resolved;
  try {
    resolved = loadKubeconfig([c.authConfig], undefined);
  } catch (e) {
    if (e instanceof KubeconfigError) throw new StartupError(`${where}: ${e.message}`);
    throw e;
  }
  if (resolved.kind === 'plugin') {
    throw new StartupError(`${where}: ${resolved.why} is not supported for Prometheus; give a token, a tokenFile, basic auth or a client certificate`);
  }
  const endpoint = resolved.endpoint;
  // The Prometheus client takes a CA and a client certificate, nothing that loosens verification.
  if (endpoint.insecureSkipTLSVerify) throw new StartupError(`${where}: insecure-skip-tls-verify is not supported for Prometheus; give the CA as certificate-authority or --prometheus-ca-file`);
  if (endpoint.tlsServerName) throw new StartupError(`${where}: tls-server-name is not supported for Prometheus; use a --prometheus-url whose host the certificate names`);
  return endpoint;
}

export interface PrometheusCredentials {
  /** The Authorization header for the next call, if any. */
  readonly authorization: () => string | undefined;
  readonly tls: { readonly ca?: string; readonly cert?: string; readonly key?: string };
}

/**
 * Who hpa-bridge is to Prometheus. The Authorization header is the first
 * of: --prometheus-token-file, --prometheus-username, then the kubeconfig's
 * token file, token, or user name and password. The CA and the client
 * certificate are the flag's, else the kubeconfig's.
 */
export function prometheusCredentials(c: PrometheusConnectionConfig, env: NodeJS.ProcessEnv = process.env, serviceAccountDir: string = SERVICE_ACCOUNT_DIR): PrometheusCredentials {
  const k = kubeconfigEndpoint(c, env, serviceAccountDir);
  const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  let authorization: () => string | undefined = () => undefined;
  if (c.tokenFile) {
    const token = cachedFile(c.tokenFile);
    authorization = () => `Bearer ${token()}`;
  } else if (c.username && c.passwordFile) {
    const password = cachedFile(c.passwordFile);
    const user = c.username;
    authorization = () => basic(user, password());
  } else if (k?.tokenFile) {
    const token = cachedFile(k.tokenFile);
    authorization = () => `Bearer ${token()}`;
  } else if (k?.token) {
    const header = `Bearer ${k.token}`;
    authorization = () => header;
  } else if (k?.username !== undefined) {
    const header = basic(k.username, k.password ?? '');
    authorization = () => header;
  }
  const ca = c.caFile ? readFlagFile('prometheus-ca-file', c.caFile) : k?.ca;
  const pair =
    c.clientCertFile && c.clientKeyFile
      ? { cert: readFlagFile('prometheus-client-cert', c.clientCertFile), key: readFlagFile('prometheus-client-key', c.clientKeyFile) }
      : k?.clientCert && k.clientKey
        ? { cert: k.clientCert, key: k.clientKey }
        : undefined;
  return { authorization, tls: { ...(ca !== undefined ? { ca } : {}), ...(pair ?? {}) } };
}

export function prometheusClientFor(
  config: Pick<ServeConfig, 'prometheusUrl' | 'requestTimeoutMs' | 'prometheus'>,
  env: NodeJS.ProcessEnv = process.env,
  serviceAccountDir: string = SERVICE_ACCOUNT_DIR,
): PrometheusClient {
  const c = config.prometheus ?? {};
  const credentials = prometheusCredentials(c, env, serviceAccountDir);
  const headers = (): Record<string, string> => {
    const authorization = credentials.authorization();
    return { ...(c.headers ?? {}), ...(authorization ? { Authorization: authorization } : {}) };
  };
  return new PrometheusClient({
    url: config.prometheusUrl,
    headers,
    tls: credentials.tls,
    maxTimeoutMs: Math.max(config.requestTimeoutMs, c.timeoutMs ?? 30_000),
    compression: c.compression ?? false,
    verb: c.verb ?? 'POST',
  });
}
