import type { Exporter } from './exporter.js';
import { parsePromValue, startPrometheus, type InstantSample, type PrometheusInstance } from './prometheus.js';
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

/**
 * A Prometheus scraping `exporter` every second, once it holds `series`
 * series, and a moment up to which every sample has been scraped: both
 * modes of a differential test read the TSDB as of then.
 */
export async function startPinnedPrometheus(exporter: Exporter, series: number): Promise<{ prom: PrometheusInstance; evaluationTime: number }> {
  const prom = await startPrometheus({ scrapeTargets: [exporter.address], scrapeIntervalSeconds: 1 });
  await prom.waitForQuery('count({__name__!=""})', (r) => parsePromValue(r[0]?.value[1] ?? '0') >= series, { timeoutMs: 60_000 });
  return { prom, evaluationTime: Math.floor(Date.now() / 1000) - 1 };
}
