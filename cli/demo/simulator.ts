// Three HorizontalPodAutoscalers driven by hpa/'s controller, one sync per
// simulated 15 s, fed with what the metrics APIs answered just before.
import {
  reconcile,
  type ControllerState,
  type HorizontalPodAutoscalerSpec,
  type HorizontalPodAutoscalerStatus,
  type MetricsSource,
  type PodInfo,
  type PodMetricsItem,
  type PodsMetricValue,
  type ExternalMetricValue,
} from '../../hpa/index.js';
import { NAMESPACE, type Deployment } from './cluster.js';
import type { MetricsClient } from './metrics-client.js';

export const SYNC_PERIOD_MS = 15_000;
const CPU_REQUEST = '200m';

export type HpaKind = 'cpu' | 'http' | 'queue';

export interface ScaleEvent {
  readonly hpa: string;
  readonly from: number;
  readonly to: number;
  readonly reason: string;
  /** Wall seconds since the load generator started. */
  readonly at: number;
}

export class SimulatedHpa {
  status: Partial<HorizontalPodAutoscalerStatus> | undefined;
  private controller: ControllerState | undefined;
  lastError: string | undefined;
  /** What the last metrics.k8s.io List returned, for a `kubectl top pods` view. */
  lastPodMetrics: readonly PodMetricsItem[] | undefined;

  constructor(
    readonly name: string,
    readonly kind: HpaKind,
    readonly target: Deployment,
    readonly spec: HorizontalPodAutoscalerSpec,
  ) {}

  get reference(): string {
    return `Deployment/${this.target.name}`;
  }

  /** Fetches what this HPA's metric needs, as the controller would at the start of a sync. */
  async fetch(client: MetricsClient, simNow: number): Promise<MetricsSource> {
    const selector = `app=${this.target.app}`;
    const failing = (e: unknown) => (): never => {
      throw e instanceof Error ? e : new Error(String(e));
    };
    // Timestamps move to the simulated clock: the controller compares them with pod start times.
    const onSimClock = <T extends { timestamp: number }>(items: T[]): T[] => items.map((i) => ({ ...i, timestamp: simNow }));
    try {
      switch (this.kind) {
        case 'cpu': {
          // PodMetrics from metrics.k8s.io (rules/examples/resource-metrics.yaml).
          // The window keeps its served length rather than being stretched to
          // the simulated clock: 15 times a 1m rate window, it would count
          // every pod younger than the controller's 5-minute CPU
          // initialization period as not yet measured.
          const items = onSimClock(await client.podMetrics(NAMESPACE, selector));
          this.lastPodMetrics = items;
          return { resourceMetrics: () => items };
        }
        case 'http': {
          const values: PodsMetricValue[] = onSimClock(await client.podsMetric(NAMESPACE, 'http_requests_per_second', selector));
          return { podsMetric: () => values };
        }
        case 'queue': {
          const values: ExternalMetricValue[] = onSimClock(await client.externalMetric(NAMESPACE, 'queue_messages_ready', 'queue=jobs'));
          return { externalMetric: () => values };
        }
      }
    } catch (e) {
      return this.kind === 'queue' ? { externalMetric: failing(e) } : this.kind === 'cpu' ? { resourceMetrics: failing(e) } : { podsMetric: failing(e) };
    }
  }

  /** One sync; returns the new replica count when the controller rescaled. */
  sync(metrics: MetricsSource, simNow: number): { to: number; reason: string } | undefined {
    const pods = this.pods();
    const result = reconcile({
      hpa: { name: this.name, namespace: NAMESPACE, spec: this.spec, ...(this.status ? { status: this.status } : {}) },
      scale: { specReplicas: this.target.replicas },
      pods,
      metrics,
      now: simNow,
      ...(this.controller ? { state: this.controller } : {}),
    });
    this.status = result.status;
    this.controller = result.state;
    this.lastError = result.error;
    if (result.rescaled && result.newReplicas !== undefined) {
      return { to: result.newReplicas, reason: result.rescaleReason ?? 'rescaled' };
    }
    return undefined;
  }

  /** The target's pods as the controller's informer shows them. */
  pods(): PodInfo[] {
    return this.target.pods.map((p) => ({
      name: p.name,
      phase: 'Running',
      startTime: p.startedAt,
      ready: { status: 'True', lastTransitionTime: p.startedAt },
      containers: [{ name: this.target.app, resources: { requests: { cpu: CPU_REQUEST } } }],
    }));
  }

  /** The controller's recommendations and scale events so far. */
  get history(): ControllerState | undefined {
    return this.controller;
  }

  /** The TARGETS column of `kubectl get hpa`. */
  targets(): string {
    const m = this.spec.metrics?.[0];
    const current = this.status?.currentMetrics?.[0];
    if (!m) return '';
    switch (m.type) {
      case 'Resource': {
        const now = current?.type === 'Resource' ? current.resource.current.averageUtilization : undefined;
        return `cpu: ${now === undefined ? '<unknown>' : `${now}%`}/${m.resource.target.averageUtilization ?? '<unset>'}%`;
      }
      case 'Pods': {
        const now = current?.type === 'Pods' ? current.pods.current.averageValue : undefined;
        return `${now ?? '<unknown>'}/${m.pods.target.averageValue ?? '<unset>'}`;
      }
      case 'External': {
        const now = current?.type === 'External' ? current.external.current.averageValue : undefined;
        return `${now ?? '<unknown>'}/${m.external.target.averageValue ?? '<unset>'} (avg)`;
      }
      default:
        return '';
    }
  }
}

export function demoHpas(deployments: readonly Deployment[], scaleDownWindowSeconds: number): SimulatedHpa[] {
  const [web, frontend, worker] = deployments;
  if (!web || !frontend || !worker) throw new Error('the demo needs three deployments');
  const behavior = { scaleDown: { stabilizationWindowSeconds: scaleDownWindowSeconds } };
  const ref = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', name });
  return [
    new SimulatedHpa('php-apache', 'cpu', web, {
      scaleTargetRef: ref(web.name),
      minReplicas: 1,
      maxReplicas: 10,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
      behavior,
    }),
    new SimulatedHpa('frontend', 'http', frontend, {
      scaleTargetRef: ref(frontend.name),
      minReplicas: 1,
      maxReplicas: 10,
      metrics: [{ type: 'Pods', pods: { metric: { name: 'http_requests_per_second' }, target: { type: 'AverageValue', averageValue: '10' } } }],
      behavior,
    }),
    new SimulatedHpa('queue-worker', 'queue', worker, {
      scaleTargetRef: ref(worker.name),
      minReplicas: 1,
      maxReplicas: 10,
      metrics: [
        {
          type: 'External',
          external: { metric: { name: 'queue_messages_ready', selector: { matchLabels: { queue: 'jobs' } } }, target: { type: 'AverageValue', averageValue: '30' } },
        },
      ],
      behavior,
    }),
  ];
}
