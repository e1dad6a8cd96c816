// Reads the metrics APIs over HTTPS with the exact paths and query strings
// kube-controller-manager's HPA client sends, and turns the answers into the
// samples hpa/ consumes (values stay Quantity strings, read as milli-units).
import { Agent, request } from 'node:https';
import type { ExternalMetricValue, PodMetricsItem, PodsMetricValue } from '../../hpa/index.js';
import { parseGoDuration } from '../../k8s/go-duration.js';

export interface MetricsClient {
  /** metrics.k8s.io PodMetrics: one List per namespace with the HPA's selector, as resourceMetricsClient does. */
  podMetrics(namespace: string, labelSelector: string): Promise<PodMetricsItem[]>;
  podsMetric(namespace: string, metric: string, labelSelector: string): Promise<PodsMetricValue[]>;
  externalMetric(namespace: string, metric: string, labelSelector: string): Promise<ExternalMetricValue[]>;
  close(): void;
}

interface PodMetricsList {
  items?: { metadata?: { name?: string }; timestamp?: string; window?: string; containers?: { name?: string; usage?: Record<string, string> }[] }[];
}
interface CustomList {
  items?: { describedObject?: { kind?: string; name?: string }; timestamp?: string; windowSeconds?: number; value?: string }[];
}
interface ExternalList {
  items?: { timestamp?: string; value?: string }[];
}

export function metricsClient(baseUrl: string): MetricsClient {
  // The demo server uses a self-signed certificate, as an APIService with insecureSkipTLSVerify would.
  const agent = new Agent({ rejectUnauthorized: false, keepAlive: true });
  const get = (path: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const req = request(new URL(path, baseUrl), { agent, method: 'GET', headers: { accept: 'application/json' }, timeout: 5_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            let message = text.slice(0, 200);
            try {
              message = (JSON.parse(text) as { message?: string }).message ?? message;
            } catch {
              // not a Status document
            }
            reject(new Error(`the server could not find the requested resource (get ${path.replace(/\?.*/s, '')}): ${String(res.statusCode)} ${message}`));
            return;
          }
          try {
            resolve(JSON.parse(text));
          } catch (e) {
            reject(e as Error);
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`timeout reading ${path}`)));
      req.on('error', reject);
      req.end();
    });

  return {
    async podMetrics(namespace, labelSelector) {
      const body = (await get(`/apis/metrics.k8s.io/v1beta1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(labelSelector)}`)) as PodMetricsList;
      return (body.items ?? []).map((i) => ({
        name: i.metadata?.name ?? '',
        timestamp: Date.parse(i.timestamp ?? '') || Date.now(),
        // The window is a metav1.Duration, which the controller decodes with Go's time.ParseDuration.
        windowMs: Number(parseGoDuration(i.window ?? '0')) / 1e6,
        containers: (i.containers ?? []).map((c) => ({ name: c.name ?? '', usage: c.usage ?? {} })),
      }));
    },
    async podsMetric(namespace, metric, labelSelector) {
      const body = (await get(`/apis/custom.metrics.k8s.io/v1beta2/namespaces/${namespace}/pods/%2A/${metric}?labelSelector=${encodeURIComponent(labelSelector)}`)) as CustomList;
      return (body.items ?? []).map((i) => ({
        pod: i.describedObject?.name ?? '',
        value: i.value ?? '0',
        timestamp: Date.parse(i.timestamp ?? '') || Date.now(),
        ...(i.windowSeconds !== undefined ? { windowSeconds: i.windowSeconds } : {}),
      }));
    },
    async externalMetric(namespace, metric, labelSelector) {
      const body = (await get(`/apis/external.metrics.k8s.io/v1beta1/namespaces/${namespace}/${metric}?labelSelector=${encodeURIComponent(labelSelector)}`)) as ExternalList;
      return (body.items ?? []).map((i) => ({ value: i.value ?? '0', timestamp: Date.parse(i.timestamp ?? '') || Date.now() }));
    },
    close() {
      agent.destroy();
    },
  };
}
