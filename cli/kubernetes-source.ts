// Builds the Kubernetes-backed object source from the serve configuration:
// in a cluster from the pod's service account, elsewhere from --kubeconfig.
import { kubeConfigFrom, type KubeConnection } from '../adapter/kube/client.js';
import type { Logger } from '../adapter/log.js';
import { KubernetesObjectSource } from '../adapter/objects/kubernetes.js';
import type { ServeConfig } from './serve.js';

/** --kubeconfig when given, else the pod's service account in a cluster, else kubectl's defaults. */
export function kubeConnectionFor(config: Pick<ServeConfig, 'kubeconfig'>, env: NodeJS.ProcessEnv = process.env): KubeConnection {
  if (config.kubeconfig) return kubeConfigFrom({ kubeconfigPath: config.kubeconfig });
  return kubeConfigFrom(env.KUBERNETES_SERVICE_HOST ? { inCluster: true } : {});
}

export function createKubernetesObjectSource(config: ServeConfig, log: Logger, env: NodeJS.ProcessEnv = process.env): KubernetesObjectSource {
  const connection = kubeConnectionFor(config, env);
  const source = new KubernetesObjectSource(connection, { log: (message) => log.info(message, { component: 'object-source' }) });
  // Discovery runs in the background; /readyz reports it until it succeeds.
  source.start().catch((e: unknown) => log.warn('kubernetes discovery has not succeeded yet; retrying', { error: (e as Error).message }));
  return source;
}
