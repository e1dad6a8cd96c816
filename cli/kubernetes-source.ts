// Builds the Kubernetes-backed object source from the serve configuration.
import type { ObjectLister } from '../adapter/objects/types.js';
import { UsageError } from './args.js';
import type { ServeConfig } from './serve.js';

export async function createKubernetesObjectSource(_config: ServeConfig): Promise<ObjectLister> {
  throw new UsageError('--object-source kubernetes is not wired in yet; use --object-source prometheus');
}
