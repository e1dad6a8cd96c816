// The connections to the Kubernetes API that `serve` builds: one for
// delegated authentication (TokenReview, SubjectAccessReview and the
// extension-apiserver-authentication ConfigMap) and one for the object
// source. Each comes from its own flag when given (--authentication-kubeconfig
// or --authorization-kubeconfig, --lister-kubeconfig), else from
// --kubeconfig, else from the pod's service account in a cluster, else from
// kubectl's defaults; the two are one connection when they come from the
// same place.
import { existsSync } from 'node:fs';
import { kubeConfigFrom, type KubeConnection } from '../adapter/kube/client.js';
import { defaultKubeconfigPaths } from '../adapter/kube/kubeconfig.js';
import type { Logger } from '../adapter/log.js';
import { KubernetesObjectSource } from '../adapter/objects/kubernetes.js';
import { StartupError } from './errors.js';
import type { KubeconfigFlag, ServeConfig } from './serve-config.js';

/** The kubeconfig a purpose uses: its own flag, else --kubeconfig, else none (in-cluster or kubectl's defaults). */
function chosen(own: KubeconfigFlag | undefined, config: Pick<ServeConfig, 'kubeconfig'>): KubeconfigFlag | undefined {
  return own ?? (config.kubeconfig ? { flag: 'kubeconfig', path: config.kubeconfig } : undefined);
}

/** Where the connection settings come from, for messages. */
function kubeconfigOrigin(named: KubeconfigFlag | undefined, env: NodeJS.ProcessEnv): string {
  if (named) return `--${named.flag} ${named.path}`;
  if (env.KUBERNETES_SERVICE_HOST) return 'the in-cluster service account';
  const paths = defaultKubeconfigPaths(env);
  return env.KUBECONFIG ? `kubeconfig ${paths.join(', ')} (from $KUBECONFIG)` : `kubeconfig ${paths.join(', ')}`;
}

/** Why no kubeconfig was found, when none was: the places that were looked at. */
export function missingKubeconfig(named: KubeconfigFlag | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (named || env.KUBERNETES_SERVICE_HOST) return undefined;
  const paths = defaultKubeconfigPaths(env);
  if (paths.some((p) => existsSync(p))) return undefined;
  return `not in a cluster, and no ${paths.join(' or ')}${env.KUBECONFIG ? ' (from $KUBECONFIG)' : ''}`;
}

/**
 * The connection for `named`, else the pod's service account in a cluster,
 * else kubectl's defaults. Throws StartupError naming the flag and file
 * when it cannot be used (missing, malformed, a plain-HTTP server without
 * insecure-skip-tls-verify).
 */
export function kubeConnectionFor(named: KubeconfigFlag | undefined, env: NodeJS.ProcessEnv = process.env): KubeConnection {
  try {
    if (named) return kubeConfigFrom({ kubeconfigPath: named.path });
    return kubeConfigFrom(env.KUBERNETES_SERVICE_HOST ? { inCluster: true } : {});
  } catch (e) {
    throw new StartupError(`${kubeconfigOrigin(named, env)}: ${(e as Error).message}`);
  }
}

export interface ServeConnections {
  /** For delegated authentication; absent when it runs without the API server (certificates only). */
  readonly authentication?: KubeConnection;
  /** For the kubernetes object source. */
  readonly lister?: KubeConnection;
}

/**
 * The connections `serve` needs. Fails start-up, naming the ways out, when
 * a mode that needs the API finds no kubeconfig; delegated authentication
 * may run without one when a CA flag lets it check certificates.
 */
export function serveConnections(config: ServeConfig, env: NodeJS.ProcessEnv = process.env): ServeConnections {
  const made = new Map<string, KubeConnection>();
  const connect = (named: KubeconfigFlag | undefined): KubeConnection => {
    const key = named?.path ?? '';
    const existing = made.get(key);
    if (existing) return existing;
    const connection = kubeConnectionFor(named, env);
    made.set(key, connection);
    return connection;
  };
  let authentication: KubeConnection | undefined;
  if (config.authentication === 'delegated') {
    const named = chosen(config.authKubeconfig, config);
    const missing = missingKubeconfig(named, env);
    const flags = config.authFlags ?? {};
    // k8s.io/apiserver starts without the API server when its kubeconfig is
    // optional and absent, serving what certificates and system:masters
    // allow; that only makes sense with a CA to check certificates against.
    if (missing && !flags.clientCAFile && !flags.requestheaderClientCAFile) {
      throw new StartupError(
        `--authentication delegated needs the Kubernetes API (TokenReview, SubjectAccessReview, the extension-apiserver-authentication ConfigMap) and found no kubeconfig: ${missing}; ` +
          'pass --kubeconfig FILE (or --authentication-kubeconfig FILE), or --client-ca-file/--requestheader-client-ca-file to accept certificates only, or --authentication none for local runs',
      );
    }
    if (!missing) authentication = connect(named);
  }
  let lister: KubeConnection | undefined;
  if (config.objectSource === 'kubernetes') {
    const named = chosen(config.listerKubeconfig, config);
    const missing = missingKubeconfig(named, env);
    if (missing) {
      throw new StartupError(
        `--object-source kubernetes needs the Kubernetes API and found no kubeconfig: ${missing}; pass --kubeconfig FILE (or --lister-kubeconfig FILE), or use --object-source prometheus`,
      );
    }
    lister = connect(named);
  }
  return { ...(authentication ? { authentication } : {}), ...(lister ? { lister } : {}) };
}

export function createKubernetesObjectSource(connection: KubeConnection, log: Logger): KubernetesObjectSource {
  const source = new KubernetesObjectSource(connection, { log: (message) => log.info(message, { component: 'object-source' }) });
  // Discovery runs in the background; /readyz reports it until it succeeds.
  source.start().catch((e: unknown) => log.warn('kubernetes discovery has not succeeded yet; retrying', { error: (e as Error).message }));
  return source;
}
