// Builds the Kubernetes-backed object source from the serve configuration:
// in a cluster from the pod's service account, elsewhere from --kubeconfig.
import { kubeConfigFrom } from '../adapter/kube/client.js';
import type { Logger } from '../adapter/log.js';
import { KubernetesObjectSource } from '../adapter/objects/kubernetes.js';
import type { ServeConfig } from './serve.js';

export function createKubernetesObjectSource(config: ServeConfig, log: Logger, env: NodeJS.ProcessEnv = process.env): KubernetesObjectSource {
  const connection = config.kubeconfig
    ? kubeConfigFrom({ kubeconfigPath: config.kubeconfig })
    : kubeConfigFrom(env.KUBERNETES_SERVICE_HOST ? { inCluster: true } : {});
  const source = new KubernetesObjectSource(connection, { log: (message) => log.info(message, { component: 'object-source' }) });
  // Discovery runs in the background; /readyz reports it until it succeeds.
  source.start().catch((e: unknown) => log.warn('kubernetes discovery has not succeeded yet; retrying', { error: (e as Error).message }));
  return source;
}
