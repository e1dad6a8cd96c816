// The population section's cluster, computed the same way by the driver (which
// fills the Kubernetes API test double and the series) and by the HPA driver
// child (which asks for the metrics): HPA i is `app-<i>` in namespace
// `pop-<i ÷ perNamespace>`, so a smaller population is the first part of a
// larger one and the same series serve both.

export interface PopulationShape {
  readonly hpas: number;
  readonly namespaces: number;
  readonly podsPerHpa: number;
  /** Every HPA whose index is a multiple of this also scales on an external metric (3: about a third). */
  readonly externalEvery: number;
}

export interface PopulationHpa {
  readonly namespace: string;
  /** Also its Deployment's `app` label and, for an external metric, its queue. */
  readonly name: string;
  readonly pods: readonly string[];
  readonly external: boolean;
}

/** A metric call of one HPA sync, with the number of items a right answer holds. */
export interface MetricCall {
  readonly path: string;
  readonly items: number;
  readonly kind: 'pods' | 'external';
}

export const POD_METRIC = 'http_requests_per_second';
export const POD_COUNTER = 'http_requests_total';
export const EXTERNAL_METRIC = 'queue_messages_ready';

const perNamespace = (shape: PopulationShape): number => Math.ceil(shape.hpas / shape.namespaces);

export function populationHpa(shape: PopulationShape, i: number): PopulationHpa {
  const name = `app-${i}`;
  return {
    namespace: `pop-${Math.floor(i / perNamespace(shape))}`,
    name,
    pods: Array.from({ length: shape.podsPerHpa }, (_, k) => `${name}-${k}`),
    external: i % shape.externalEvery === 0,
  };
}

export function populationHpas(shape: PopulationShape): PopulationHpa[] {
  return Array.from({ length: shape.hpas }, (_, i) => populationHpa(shape, i));
}

/**
 * The calls the HPA controller makes for one sync, in its order: a Pods
 * metric is a wildcard with the scale target's selector; an External metric
 * carries the metric's own selector.
 */
export function metricCalls(hpa: PopulationHpa): MetricCall[] {
  const selector = (label: string): string => `labelSelector=${encodeURIComponent(`${label}=${hpa.name}`)}`;
  const calls: MetricCall[] = [{ path: `/apis/custom.metrics.k8s.io/v1beta2/namespaces/${hpa.namespace}/pods/*/${POD_METRIC}?${selector('app')}`, items: hpa.pods.length, kind: 'pods' }];
  if (hpa.external) calls.push({ path: `/apis/external.metrics.k8s.io/v1beta1/namespaces/${hpa.namespace}/${EXTERNAL_METRIC}?${selector('queue')}`, items: 1, kind: 'external' });
  return calls;
}
