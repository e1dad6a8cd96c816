// The Prometheus client `serve` queries through, from the --prometheus-*
// flags: extra headers, a bearer token or basic auth read from files (and
// re-read, so a rotated secret applies without a restart), and TLS.
import { readFileSync } from 'node:fs';
import { PrometheusClient } from '../adapter/prometheus.js';
import type { ServeConfig } from './serve-config.js';
import { readFlagFile } from './startup-files.js';

/** A file read at most every `ttlMs`, so a rotated token applies without a restart. */
function cachedFile(path: string, ttlMs = 10_000): () => string {
  let value = '';
  let readAt = 0;
  return () => {
    if (Date.now() - readAt > ttlMs) {
      value = readFileSync(path, 'utf8').trim();
      readAt = Date.now();
    }
    return value;
  };
}

export function prometheusClientFor(config: ServeConfig): PrometheusClient {
  const c = config.prometheus ?? {};
  const token = c.tokenFile ? cachedFile(c.tokenFile) : undefined;
  const password = c.passwordFile ? cachedFile(c.passwordFile) : undefined;
  const headers = (): Record<string, string> => ({
    ...(c.headers ?? {}),
    ...(token ? { Authorization: `Bearer ${token()}` } : {}),
    ...(password && c.username ? { Authorization: `Basic ${Buffer.from(`${c.username}:${password()}`).toString('base64')}` } : {}),
  });
  const tls = {
    ...(c.caFile ? { ca: readFlagFile('prometheus-ca-file', c.caFile) } : {}),
    ...(c.clientCertFile && c.clientKeyFile ? { cert: readFlagFile('prometheus-client-cert', c.clientCertFile), key: readFlagFile('prometheus-client-key', c.clientKeyFile) } : {}),
  };
  return new PrometheusClient({
    url: config.prometheusUrl,
    headers,
    tls,
    maxTimeoutMs: Math.max(config.requestTimeoutMs, c.timeoutMs ?? 30_000),
    compression: c.compression ?? false,
  });
}
