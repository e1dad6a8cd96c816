// Reads the metrics APIs over HTTPS with the exact paths and query strings
// kube-controller-manager's HPA client sends, and turns the answers into the
// samples hpa/ consumes (values stay Quantity strings, read as milli-units).
import { Agent, request } from 'node:https';
import type { ExternalMetricValue, PodsMetricValue } from '../../hpa/index.js';

export interface MetricsClient {
  podsMetric(namespace: string, metric: string, labelSelector: string): Promise<PodsMetricValue[]>;
  externalMetric(namespace: string, metric: string, labelSelector: string): Promise<ExternalMetricValue[]>;
  close(): void;
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
