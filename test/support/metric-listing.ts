// A metrics provider for the HTTP surface and the discovery documents: a
// listing with one metric of every shape discovery publishes (a namespaced
// core resource, a namespaced resource of another group, a cluster-scoped
// resource, the Namespace object, and external metrics), in no particular
// order, and no values.
import type { MetricListing, MetricsApiProvider } from '../../adapter/metrics-api-provider.js';

export function sampleListing(version = 1): MetricListing {
  return {
    version,
    custom: [
      { group: '', resource: 'pods', metric: 'http_requests', namespaced: true },
      { group: '', resource: 'namespaces', metric: 'kube_deployment_replicas', namespaced: false },
      { group: 'apps', resource: 'deployments', metric: 'kube_deployment_replicas', namespaced: true },
      { group: '', resource: 'nodes', metric: 'node_load', namespaced: false },
      { group: '', resource: 'namespaces', metric: 'http_requests', namespaced: false },
    ],
    external: [{ metric: 'queue_messages_ready' }, { metric: 'queue_age' }],
  };
}

/** What is listed before discovery completes. */
export const NO_METRICS: MetricListing = { version: 0, custom: [], external: [] };

/** A provider that lists `listing()` and answers every value request with no items. */
export function listingProvider(listing: () => MetricListing = () => sampleListing()): MetricsApiProvider {
  return { objectMetrics: async () => [], externalMetrics: async () => [], listAllMetrics: listing };
}
