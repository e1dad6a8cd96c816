// The one connection to the Kubernetes API that `serve` builds, shared by
// delegated authentication and the object source: in a cluster from the
// pod's service account, elsewhere from --kubeconfig.
import { existsSync } from 'node:fs';
import { kubeConfigFrom, type KubeConnection } from '../adapter/kube/client.js';
import { defaultKubeconfigPaths } from '../adapter/kube/kubeconfig.js';
import type { Logger } from '../adapter/log.js';
import { KubernetesObjectSource } from '../adapter/objects/kubernetes.js';
import { StartupError } from './errors.js';
import type { ServeConfig } from './serve-config.js';

/** Where the connection settings come from, for messages. */
function kubeconfigOrigin(config: Pick<ServeConfig, 'kubeconfig'>, env: NodeJS.ProcessEnv): string {
  if (config.kubeconfig) return `--kubeconfig ${config.kubeconfig}`;
  if (env.KUBERNETES_SERVICE_HOST) return 'the in-cluster service account';
  const paths = defaultKubeconfigPaths(env);
  return env.KUBECONFIG ? `kubeconfig ${paths.join(', ')} (from $KUBECONFIG)` : `kubeconfig ${paths.join(', ')}`;
}

/** Why no kubeconfig was found, when none was: the places that were looked at. */
function missingKubeconfig(config: Pick<ServeConfig, 'kubeconfig'>, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (config.kubeconfig || env.KUBERNETES_SERVICE_HOST) return undefined;
  const paths = defaultKubeconfigPaths(env);
  if (paths.some((p) => existsSync(p))) return undefined;
  return `not in a cluster, and no ${paths.join(' or ')}${env.KUBECONFIG ? ' (from $KUBECONFIG)' : ''}`;
}

/**
 * --kubeconfig when given, else the pod's service account in a cluster,
 * else kubectl's defaults. Throws StartupError naming the kubeconfig when
 * it cannot be used (missing, malformed, a plain-HTTP server without
 * insecure-skip-tls-verify).
 */
function kubeConnectionFor(config: Pick<ServeConfig, 'kubeconfig'>, env: NodeJS.ProcessEnv = process.env): KubeConnection {
  try {
    if (config.kubeconfig) return kubeConfigFrom({ kubeconfigPath: config.kubeconfig });
    return kubeConfigFrom(env.KUBERNETES_SERVICE_HOST ? { inCluster: true } : {});
  } catch (e) {
    throw new StartupError(`${kubeconfigOrigin(config, env)}: ${(e as Error).message}`);
  }
}

/**
 * The connection `serve` needs, or undefined when nothing needs one or
 * delegated authentication may run without it. Fails start-up, naming the
 * ways out, when a mode that needs the API finds no kubeconfig.
 */
export function serveConnection(config: ServeConfig, env: NodeJS.ProcessEnv = process.env): KubeConnection | undefined {
  const missing = missingKubeconfig(config, env);
  if (missing && config.authentication === 'delegated') {
    const flags = config.authFlags ?? {};
    // k8s.io/apiserver starts without the API server when its kubeconfig is
    // optional and absent, serving what certificates and system:masters
    // allow; that only makes sense with a CA to check certificates against.
    if (!flags.clientCAFile && !flags.requestheaderClientCAFile) {
      throw new StartupError(
        `--authentication delegated needs the Kubernetes API (TokenReview, SubjectAccessReview, the extension-apiserver-authentication ConfigMap) and found no kubeconfig: ${missing}; ` +
          'pass --kubeconfig FILE, or --client-ca-file/--requestheader-client-ca-file to accept certificates only, or --authentication none for local runs',
      );
    }
  }
  if (missing && config.objectSource === 'kubernetes') {
    throw new StartupError(`--object-source kubernetes needs the Kubernetes API and found no kubeconfig: ${missing}; pass --kubeconfig FILE, or use --object-source prometheus`);
  }
  return missing ? undefined : kubeConnectionFor(config, env);
}

export function createKubernetesObjectSource(connection: KubeConnection, log: Logger): KubernetesObjectSource {
  const source = new KubernetesObjectSource(connection, { log: (message) => log.info(message, { component: 'object-source' }) });
  // Discovery runs in the background; /readyz reports it until it succeeds.
  source.start().catch((e: unknown) => log.warn('kubernetes discovery has not succeeded yet; retrying', { error: (e as Error).message }));
  return source;
}
