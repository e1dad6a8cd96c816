// One server process doing discovery against a large Prometheus; reports how
// long a relist takes and the process's peak RSS. Run as a child so the peak
// belongs to discovery alone, not to the benchmark driver.
import { startServer } from '../cli/serve.js';
import { silentLogger } from '../adapter/log.js';

interface DiscoverySpec {
  readonly rules: readonly string[];
  readonly prometheusUrl: string;
  readonly maxAgeSeconds: number;
}

export interface DiscoveryResult {
  readonly firstRelistSeconds: number | undefined;
  readonly relistSeconds: number;
  readonly customMetrics: number;
  readonly errors: readonly string[];
  readonly rssBeforeMB: number;
  readonly maxRssMB: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as DiscoverySpec;
  const server = await startServer(
    {
      rules: spec.rules,
      prometheusUrl: spec.prometheusUrl,
      securePort: 0,
      bindAddress: '127.0.0.1',
      objectSource: 'prometheus',
      authentication: 'none',
      // Only the relists started here run during the measurement.
      relistIntervalMs: 3_600_000,
      maxAgeSeconds: spec.maxAgeSeconds,
      cacheTtlSeconds: 5,
      requestTimeoutMs: 60_000,
      logLevel: 'silent',
      metricsPort: undefined,
      shutdownGraceMs: 1_000,
    },
    silentLogger,
  );
  // The start-up relist; bounded so a broken Prometheus cannot hang the run.
  for (let i = 0; i < 1200 && !server.discovery.status.lastAttempt; i++) await sleep(50);
  const firstRelistSeconds = server.discovery.status.lastDurationSeconds;
  const rssBeforeMB = process.memoryUsage().rss / 2 ** 20;
  const started = performance.now();
  await server.discovery.relist();
  const relistSeconds = (performance.now() - started) / 1000;
  const out: DiscoveryResult = {
    firstRelistSeconds,
    relistSeconds,
    customMetrics: server.discovery.status.customMetrics,
    errors: server.discovery.status.errors,
    rssBeforeMB,
    // maxRSS is in KiB on Linux.
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  };
  await server.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
