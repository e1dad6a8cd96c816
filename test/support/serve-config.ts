// The serve configuration integration tests start from: loopback, an
// ephemeral port, no authentication, objects from kube-state-metrics series,
// short deadlines and no log output. Each test overrides what it is about.
import type { ServeConfig } from '../../cli/serve.js';

export function testServeConfig(prometheusUrl: string, rules: readonly string[], over: Partial<ServeConfig> = {}): ServeConfig {
  return {
    rules: [...rules],
    prometheusUrl,
    securePort: 0,
    bindAddress: '127.0.0.1',
    objectSource: 'prometheus',
    authentication: 'none',
    relistIntervalMs: 60_000,
    maxAgeSeconds: 600,
    cacheTtlSeconds: 5,
    requestTimeoutMs: 5_000,
    logLevel: 'silent',
    ...over,
  };
}
