import { parsePromValue, type InstantSample } from './prometheus.js';
import { PrometheusError, type MetricsSource, type Sample } from '../../adapter/prometheus.js';
import type { SeriesSummary } from '../../adapter/series-stream.js';

/**
 * Prometheus' HTTP API at one pinned evaluation time, so two providers,
 * queried moments apart, read the same samples. A transport for tests, not
 * a stand-in for Prometheus: every answer is Prometheus' own. Records the
 * queries it was sent.
 */
export class PinnedTimeSource implements MetricsSource {
  readonly queries: string[] = [];
  constructor(
    private readonly url: string,
    private readonly timeSeconds: number,
  ) {}

  async query(promql: string): Promise<Sample[]> {
    this.queries.push(promql);
    const response = await fetch(`${this.url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: promql, time: String(this.timeSeconds) }) });
    const body = (await response.json()) as { status: string; errorType?: string; error?: string; data?: { resultType: string; result: unknown } };
    if (body.status !== 'success' || !body.data) throw new PrometheusError('rejected', `${body.errorType ?? 'error'}: ${body.error ?? response.statusText}`);
    if (body.data.resultType === 'scalar') {
      const [t, v] = body.data.result as [number, string];
      return [{ labels: {}, value: parsePromValue(v), timestampMs: Math.round(t * 1000) }];
    }
    return (body.data.result as InstantSample[]).map((s) => ({ labels: s.metric, value: parsePromValue(s.value[1]), timestampMs: Math.round(s.value[0] * 1000) }));
  }

  series(): Promise<SeriesSummary> {
    return Promise.reject(new Error('series discovery is not part of these tests'));
  }
}
