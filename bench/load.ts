// Load generator, run as its own process so that its CPU use is not charged
// to the server under test. Reads a LoadSpec (JSON) from argv[2], drives
// autocannon, prints one LoadResult (JSON) on stdout.
import { createRequire } from 'node:module';

export interface LoadSpec {
  readonly url: string;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly connections: number;
  readonly durationSeconds: number;
  /** Appends `&<param>=<prefix><n>` with a new n per request, so no two requests are identical. */
  readonly rotate?: { readonly param: string; readonly prefix: string };
  /** Discarded run first, so JIT warm-up and connection set-up stay out of the figures. */
  readonly warmupSeconds?: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
}

interface AutocannonResult {
  requests: { total: number };
  latency: { p50: number; p99: number; average: number };
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, result: AutocannonResult) => void) => unknown;

// autocannon ships no type declarations; it is CommonJS, so require() is the plain way in.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

function run(spec: LoadSpec, seconds: number): Promise<AutocannonResult> {
  const base = new URL(spec.url);
  const path = `${base.pathname}${base.search}`;
  let n = 0;
  const rotate = spec.rotate;
  const request: Record<string, unknown> = {
    method: spec.method ?? 'GET',
    path,
    ...(spec.headers ? { headers: spec.headers } : {}),
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    ...(rotate
      ? {
          setupRequest: (req: Record<string, unknown>) => ({
            ...req,
            path: `${path}${path.includes('?') ? '&' : '?'}${rotate.param}=${encodeURIComponent(`${rotate.prefix}${n++}`)}`,
          }),
        }
      : {}),
  };
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${base.protocol}//${base.host}`,
        connections: spec.connections,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
        requests: [request],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  if (spec.warmupSeconds) await run(spec, spec.warmupSeconds);
  const r = await run(spec, spec.durationSeconds);
  const out: LoadResult = {
    requests: r.requests.total,
    seconds: r.duration,
    rps: r.requests.total / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    meanMs: r.latency.average,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
