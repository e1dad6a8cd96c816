// The `population` section: HPAs asking as the HPA controller asks, each over
// its own pods, against a `hpa-bridge serve` child with
// `--object-source kubernetes`, in shared namespace-wide evaluation and in
// per-request mode, with Prometheus's queries, both processes' CPU and the
// server's peak RSS measured around the same timed window.
import { spawn } from 'node:child_process';
import { stat, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startPrometheus, type PrometheusInstance } from '../test/support/prometheus.js';
import { KubeApiDouble } from '../test/support/kube-api-double.js';
import { writeKubeconfig } from '../test/support/kubeconfig.js';
import { BENCH_DIR, f, httpsGet, log, procCpuSeconds, promSelfCounter, ROOT, rssOf, serveHelp, sleep, startSeriesChild, startServeChild, type Row, type Rss } from './lib.js';
import { EXTERNAL_METRIC, metricCalls, POD_COUNTER, POD_METRIC, populationHpa, type PopulationShape } from './population-model.js';
import type { PopulationOrder, PopulationResult, PopulationSpec } from './population.js';

/** The HPA controller's defaults: --concurrent-horizontal-pod-autoscaler-syncs and --horizontal-pod-autoscaler-sync-period. */
const WORKERS = 5;
const PERIOD_MS = 15_000;
/** hpa-bridge's default --cache-ttl, compressed with the period. */
const CACHE_TTL_MS = 5_000;
const PODS_PER_HPA = 5;
const EXTERNAL_EVERY = 3;
const SCRAPE_SECONDS = 5;
const RULES = [join(ROOT, 'rules', 'examples', 'workload.yaml'), join(ROOT, 'rules', 'examples', 'queue.yaml')];
const SHARED_FLAG = '--shared-evaluation';

export interface Population {
  readonly id: string;
  readonly hpas: number;
  readonly namespaces: number;
  /** How much faster than real time the population asks: the period and the cache TTL are divided by it. */
  readonly speedup: number;
}

type Mode = 'shared' | 'per-request';

interface ModeRun {
  readonly mode: Mode;
  readonly order: PopulationOrder;
  readonly driver: PopulationResult;
  readonly seconds: number;
  /** From Prometheus's own prometheus_http_requests_total{handler="/api/v1/query"}. */
  readonly promQueries: number;
  /** From its query log, by the metric the query reads. */
  readonly promQueriesByKind: { readonly pods: number; readonly external: number; readonly other: number };
  readonly serverCores: number;
  readonly prometheusCores: number;
  readonly rssIdle: Rss;
  readonly rssAfter: Rss;
}

interface PopulationRaw {
  readonly population: Population;
  readonly shape: PopulationShape;
  readonly periodMs: number;
  readonly cacheTtlMs: number;
  readonly runs: readonly ModeRun[];
}

export interface PopulationSectionResult {
  readonly rows: Row[];
  readonly raw: { readonly sharedFlag: boolean; readonly prometheusIdleCores: number; readonly populations: readonly PopulationRaw[] };
}

const shapeOf = (p: Population): PopulationShape => ({ hpas: p.hpas, namespaces: p.namespaces, podsPerHpa: PODS_PER_HPA, externalEvery: EXTERNAL_EVERY });

/** Sets Prometheus's query log (a JSON line per query) by rewriting its config and reloading it. */
async function enableQueryLog(prom: PrometheusInstance): Promise<string> {
  const file = join(prom.dir, 'queries.log');
  // startPrometheus writes its config as JSON.
  const config = JSON.parse(await readFile(prom.configFile, 'utf8')) as { global: Record<string, unknown> };
  config.global.query_log_file = file;
  await writeFile(prom.configFile, `${JSON.stringify(config, null, 2)}\n`);
  if (prom.pid === undefined) throw new Error('Prometheus is not running');
  process.kill(prom.pid, 'SIGHUP');
  for (let i = 0; i < 100; i++) {
    await prom.query('vector(1)');
    if ((await stat(file).catch(() => undefined))?.size) return file;
    await sleep(100);
  }
  throw new Error(`Prometheus wrote no query log to ${file}: ${prom.logs().slice(-1000)}`);
}

async function sizeOf(file: string): Promise<number> {
  return (await stat(file)).size;
}

/** Queries logged between two offsets of the query log, by the series they read. */
async function queriesBetween(file: string, from: number, to: number): Promise<ModeRun['promQueriesByKind']> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(to - from);
    await handle.read(buffer, 0, buffer.length, from);
    const counts = { pods: 0, external: 0, other: 0 };
    for (const line of buffer.toString().split('\n')) {
      if (!line) continue;
      const query = (JSON.parse(line) as { params?: { query?: string } }).params?.query ?? '';
      if (query.includes(POD_COUNTER)) counts.pods++;
      else if (query.includes(EXTERNAL_METRIC)) counts.external++;
      else counts.other++;
    }
    return counts;
  } finally {
    await handle.close();
  }
}

interface Snapshot {
  readonly at: number;
  readonly promQueries: number;
  readonly promCpu: number;
  readonly serverCpu: number;
  readonly logOffset: number;
}

/**
 * Runs bench/population.js and takes a snapshot at its `measuring` and
 * `measured` lines, so CPU and queries cover the timed window alone.
 */
function runPopulation(spec: PopulationSpec, snapshot: () => Promise<Snapshot>): Promise<{ result: PopulationResult; before: Snapshot; after: Snapshot }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(BENCH_DIR, 'population.js'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let before: Promise<Snapshot> | undefined;
    let after: Promise<Snapshot> | undefined;
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!before && out.includes('measuring\n')) before = snapshot();
      if (!after && out.includes('measured\n')) after = snapshot();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), (spec.warmupSeconds + spec.durationSeconds) * 1000 + 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !before || !after) return reject(new Error(`population.js exited with ${String(code)}: ${err.slice(-2000)}`));
      let result: PopulationResult;
      try {
        result = JSON.parse(last) as PopulationResult;
      } catch (e) {
        return reject(new Error(`population.js printed no JSON: ${(e as Error).message}: ${out.slice(-500)}`));
      }
      Promise.all([before, after]).then(([b, a]) => resolve({ result, before: b, after: a }), reject);
    });
  });
}

/** Waits until the server answers an HPA's calls in full: discovery done and the watch cache synced. */
async function waitForAnswers(url: string, shape: PopulationShape): Promise<void> {
  const calls = [...metricCalls(populationHpa(shape, 0)), ...metricCalls(populationHpa(shape, shape.hpas - 1))];
  let problem = '';
  for (let i = 0; i < 600; i++) {
    problem = '';
    for (const call of calls) {
      const r = await httpsGet(`${url}${call.path}`).catch((e: unknown) => ({ status: 0, body: (e as Error).message }));
      const items = r.status === 200 ? (JSON.parse(r.body) as { items?: unknown[] }).items?.length : undefined;
      if (items !== call.items) problem ||= `${call.path}: ${r.status} ${r.body.slice(0, 300)}`;
    }
    if (!problem) return;
    await sleep(200);
  }
  throw new Error(`the server never answered in full: ${problem}`);
}

async function runMode(population: Population, mode: Mode, order: PopulationOrder, sharedFlag: boolean, env: { prom: PrometheusInstance; kubeconfig: string; queryLog: string }): Promise<ModeRun> {
  const shape = shapeOf(population);
  const periodMs = PERIOD_MS / population.speedup;
  const ttlMs = Math.round(CACHE_TTL_MS / population.speedup);
  const modeArgs = sharedFlag ? [`${SHARED_FLAG}=${mode === 'shared' ? 'true' : 'false'}`] : [];
  const server = await startServeChild(RULES, ['--object-source', 'kubernetes', '--kubeconfig', env.kubeconfig, '--cache-ttl', `${ttlMs}ms`, ...modeArgs], env.prom.url);
  try {
    await waitForAnswers(server.url, shape);
    const rssIdle = rssOf(server.pid);
    const snapshot = async (): Promise<Snapshot> => {
      const at = performance.now();
      const promCpu = procCpuSeconds(env.prom.pid ?? 0) ?? NaN;
      const serverCpu = procCpuSeconds(server.pid) ?? NaN;
      const [promQueries, logOffset] = await Promise.all([promSelfCounter(env.prom.url, 'prometheus_http_requests_total', 'handler="/api/v1/query"'), sizeOf(env.queryLog)]);
      return { at, promQueries, promCpu, serverCpu, logOffset };
    };
    // A warm-up of a cache TTL at least, so shared answers reach their steady state.
    const warmupSeconds = Math.max(2, ttlMs / 1000);
    // At least one full period, so every HPA syncs in the window.
    const durationSeconds = Math.max(10, periodMs / 1000 + 5);
    log(`population ${population.hpas} HPAs, ${mode}, ${order} order: period ${f(periodMs / 1000, 2)} s, cache TTL ${ttlMs} ms, ${warmupSeconds} s warm-up, ${durationSeconds} s timed`);
    const { result, before, after } = await runPopulation({ baseUrl: server.url, shape, workers: WORKERS, periodMs, warmupSeconds, durationSeconds, order }, snapshot);
    const seconds = (after.at - before.at) / 1000;
    return {
      mode,
      order,
      driver: result,
      seconds,
      promQueries: after.promQueries - before.promQueries,
      promQueriesByKind: await queriesBetween(env.queryLog, before.logOffset, after.logOffset),
      serverCores: (after.serverCpu - before.serverCpu) / seconds,
      prometheusCores: (after.promCpu - before.promCpu) / seconds,
      rssIdle,
      rssAfter: rssOf(server.pid),
    };
  } finally {
    await server.stop();
  }
}

const perSecond = (n: number, r: ModeRun): number => n / r.seconds;

function modeText(r: ModeRun, speedup: number): string {
  const d = r.driver;
  const k = r.promQueriesByKind;
  const bad = d.failed + d.unexpected;
  const realTime = speedup === 1 ? '' : ` (÷ ${speedup} for real time: ${f(perSecond(r.promQueries, r) / speedup, 0)} queries/s, ${f(r.serverCores / speedup, 3)} core)`;
  return (
    `p50 ${f(d.all.p50Ms, 2)} ms, p99 ${f(d.all.p99Ms, 1)} ms (pods p99 ${f(d.pods.p99Ms, 1)}, external p99 ${f(d.external.p99Ms, 1)}); ` +
    `${f(d.syncsPerSecond, 0)} syncs/s of ${f(d.offeredSyncsPerSecond, 0)} asked for, sync start late p99 ${f(d.lateP99Ms, 0)} ms; ` +
    `Prometheus ${f(perSecond(r.promQueries, r), 0)} queries/s (pods ${f(perSecond(k.pods, r), 0)}, external ${f(perSecond(k.external, r), 0)}); ` +
    `CPU hpa-bridge ${f(r.serverCores, 3)} core, Prometheus ${f(r.prometheusCores, 3)} core${realTime}; ` +
    `RSS peak ${f(r.rssAfter.hwm, 0)} MB (${f(r.rssIdle.rss, 0)} MB before the load)` +
    (bad ? `; ${d.failed} failed, ${d.unexpected} wrong item counts (${d.firstProblem ?? ''})` : '')
  );
}

function rowsOf(p: PopulationRaw, sharedFlag: boolean, targets: boolean, prometheusIdleCores: number): Row[] {
  const shared = p.runs.find((r) => r.mode === 'shared' && r.order === 'by-namespace');
  const spread = p.runs.find((r) => r.mode === 'shared' && r.order === 'random');
  const perRequest = p.runs.find((r) => r.mode === 'per-request');
  const what = `${p.population.hpas.toLocaleString('en-US')} HPAs in ${p.population.namespaces} namespaces, ${PODS_PER_HPA} pods each (app=<name>), a pods rate metric each and an external metric for every ${EXTERNAL_EVERY}rd; ${WORKERS} workers, period ${f(p.periodMs / 1000, 2)} s, cache TTL ${p.cacheTtlMs} ms (${p.population.speedup}× real time)`;
  const rows: Row[] = [];
  // The targets belong to the server's default mode: shared when it has one.
  const main = shared ?? perRequest;
  if (!main) return rows;
  const cores = main.serverCores / p.population.speedup;
  const ok = main.driver.failed === 0 && main.driver.unexpected === 0;
  rows.push({
    id: p.population.id,
    measurement: `HPA population: ${what}; ${main.mode === 'shared' ? 'shared namespace-wide evaluation (the default)' : `per-request mode${sharedFlag ? '' : ` (this server has no ${SHARED_FLAG})`}`}`,
    value: modeText(main, p.population.speedup),
    baseline: `${perRequest && main !== perRequest ? `per-request mode (\`${SHARED_FLAG}=false\`): ${modeText(perRequest, p.population.speedup)}` : 'one mode only'}; Prometheus scraping with no queries: ${f(prometheusIdleCores, 3)} core`,
    ratio: perRequest && main !== perRequest ? `${f(perRequest.promQueries / main.promQueries, 1)}× fewer queries, ${f(perRequest.serverCores / main.serverCores, 2)}× less hpa-bridge CPU` : '—',
    target: targets ? 'p99 ≤ 50 ms; hpa-bridge CPU ≤ 0.5 core at real time; peak RSS ≤ 300 MB' : '(reported)',
    met: targets ? ok && main.driver.all.p99Ms <= 50 && cores <= 0.5 && main.rssAfter.hwm <= 300 : ok ? undefined : false,
  });
  if (targets && shared && perRequest) {
    rows.push({
      id: `${p.population.id}b`,
      measurement: `… Prometheus queries, shared against per-request (from its own counter; by metric from its query log)`,
      value: `shared: ${f(perSecond(shared.promQueries, shared), 0)} queries/s (pods ${f(perSecond(shared.promQueriesByKind.pods, shared), 0)}, external ${f(perSecond(shared.promQueriesByKind.external, shared), 0)})`,
      baseline: `per-request: ${f(perSecond(perRequest.promQueries, perRequest), 0)} queries/s (pods ${f(perSecond(perRequest.promQueriesByKind.pods, perRequest), 0)}, external ${f(perSecond(perRequest.promQueriesByKind.external, perRequest), 0)})`,
      ratio: `${f(perSecond(perRequest.promQueries, perRequest) / perSecond(shared.promQueries, shared), 1)}× fewer (pods metric alone: ${f(perSecond(perRequest.promQueriesByKind.pods, perRequest) / perSecond(shared.promQueriesByKind.pods, shared), 1)}×)`,
      target: '≥ 20× fewer',
      met: perSecond(perRequest.promQueries, perRequest) >= 20 * perSecond(shared.promQueries, shared),
    });
  }
  if (targets && spread && perRequest) {
    rows.push({
      id: `${p.population.id}c`,
      measurement: `… the same in shared mode with the HPAs due in random order, so each namespace's requests spread over the whole period (by-namespace order above)`,
      value: modeText(spread, p.population.speedup),
      baseline: `per-request (above): ${f(perSecond(perRequest.promQueries, perRequest), 0)} queries/s (pods ${f(perSecond(perRequest.promQueriesByKind.pods, perRequest), 0)}, external ${f(perSecond(perRequest.promQueriesByKind.external, perRequest), 0)})`,
      ratio: `${f(perSecond(perRequest.promQueries, perRequest) / perSecond(spread.promQueries, spread), 1)}× fewer (pods metric alone: ${f(perSecond(perRequest.promQueriesByKind.pods, perRequest) / perSecond(spread.promQueriesByKind.pods, spread), 1)}×)`,
      target: '≥ 20× fewer',
      met: perSecond(perRequest.promQueries, perRequest) >= 20 * perSecond(spread.promQueries, spread),
    });
  }
  return rows;
}

/** What bounds each missed population target, from the run's own figures. */
export function populationBounds(raw: PopulationSectionResult['raw'] | undefined, missed: ReadonlySet<string>): string[] {
  const lines: string[] = [];
  for (const p of raw?.populations ?? []) {
    const shared = p.runs.find((r) => r.mode === 'shared' && r.order === 'by-namespace');
    const spread = p.runs.find((r) => r.mode === 'shared' && r.order === 'random');
    const perRequest = p.runs.find((r) => r.mode === 'per-request');
    const main = shared ?? perRequest;
    if (!main) continue;
    const id = p.population.id;
    if (missed.has(id)) {
      const parts: string[] = [];
      const d = main.driver;
      if (d.all.p99Ms > 50) {
        parts.push(`p99 ${f(d.all.p99Ms, 1)} ms: the 2 cores ran hpa-bridge (${f(main.serverCores, 2)} core), Prometheus (${f(main.prometheusCores, 2)} core) and the HPA driver at once`);
      }
      const cores = main.serverCores / p.population.speedup;
      if (cores > 0.5)
        parts.push(
          `hpa-bridge CPU ${f(cores, 3)} core at real time: ${f((main.serverCores * 1e6) / (d.all.calls / main.seconds), 0)} µs per metric call at ${f(d.all.calls / main.seconds, 0)} calls/s`,
        );
      if (main.rssAfter.hwm > 300)
        parts.push(
          `peak RSS ${f(main.rssAfter.hwm, 0)} MB, of which ${f(main.rssIdle.rss, 0)} MB before the load (the watch cache of ${(p.shape.hpas * PODS_PER_HPA).toLocaleString('en-US')} pods and discovery)`,
        );
      if (d.syncsPerSecond < 0.95 * d.offeredSyncsPerSecond) {
        const syncMs = (WORKERS * 1000) / d.syncsPerSecond;
        parts.push(
          `the ${WORKERS} workers fell behind: ${f(d.syncsPerSecond, 0)} syncs/s of ${f(d.offeredSyncsPerSecond, 0)} asked for, a sync taking ${f(syncMs, 1)} ms where ${f((WORKERS * 1000) / d.offeredSyncsPerSecond, 1)} ms keeps up, so syncs started up to ${f(d.lateP99Ms / 1000, 1)} s late (p99); the HPA controller would lag the same way`,
        );
      }
      if (d.failed || d.unexpected) parts.push(`${d.failed} failed calls, ${d.unexpected} wrong item counts: ${d.firstProblem ?? ''}`);
      const only =
        main.mode === 'per-request' ? `Per-request mode only (this server has no \`${SHARED_FLAG}\`), where every metric call is a Prometheus query whose answer is read and turned into items: ` : '';
      lines.push(`- **${id} (HPA population, ${p.population.hpas.toLocaleString('en-US')}).** ${only}${parts.join('; ')}.`);
    }
    for (const [suffix, run] of [
      ['b', shared],
      ['c', spread],
    ] as const) {
      if (!missed.has(`${id}${suffix}`) || !run || !perRequest) continue;
      const ttl = p.cacheTtlMs / 1000;
      const period = p.periodMs / 1000;
      const perKind = (kind: 'pods' | 'external', hpasOfKind: number): string => {
        const h = hpasOfKind / p.shape.namespaces;
        const got = perSecond(run.promQueriesByKind[kind], run);
        const want = perSecond(perRequest.promQueriesByKind[kind], perRequest);
        const bound =
          run.order === 'by-namespace'
            ? `a namespace's ${f(h, 1)} HPAs on it come due together, so one query per namespace and period serves them: at most ${f(h, 1)}× fewer`
            : `requests spread over the period, so the model of docs/metrics-api.md (Horizontal scale) expects 1 + h × TTL ÷ period = ${f(1 + (h * ttl) / period, 1)}× fewer with h = ${f(h, 1)}`;
        return `the ${kind} metric: ${bound}; measured ${f(got, 0)}/s against ${f(want, 0)}/s (${f(want / got, 1)}×)`;
      };
      const external = Math.ceil(p.shape.hpas / p.shape.externalEvery);
      lines.push(
        `- **${id}${suffix} (Prometheus queries).** Shared evaluation sends a query per namespace, metric and cache TTL, so the ratio is bounded by how many HPAs of a namespace ask for a metric within one TTL. For ${perKind('pods', p.shape.hpas)}; for ${perKind('external', external)}. ` +
          `20× fewer in total needs 20 HPAs per namespace on every metric asking within one TTL; here a third of them have an external metric.`,
      );
    }
  }
  return lines;
}

export async function populationSection(populations: readonly Population[], work: string): Promise<PopulationSectionResult> {
  const sharedFlag = (await serveHelp()).includes(SHARED_FLAG);
  const modes: Mode[] = sharedFlag ? ['shared', 'per-request'] : ['per-request'];
  const largest = populations.reduce((a, b) => (b.hpas > a.hpas ? b : a));
  const largestShape = shapeOf(largest);
  log(`population: series for ${(largest.hpas * PODS_PER_HPA).toLocaleString('en-US')} pods; ${sharedFlag ? 'shared and per-request modes' : `per-request mode only (serve has no ${SHARED_FLAG})`}`);
  const series = await startSeriesChild('population-series.js', largestShape);
  const kube = await KubeApiDouble.start();
  let prom: PrometheusInstance | undefined;
  try {
    prom = await startPrometheus({ scrapeTargets: [series.address], scrapeIntervalSeconds: SCRAPE_SECONDS, readyTimeoutMs: 60_000 });
    const queryLog = await enableQueryLog(prom);
    await prom.waitForSeries(POD_COUNTER, { minSamples: 2, minSeries: largest.hpas * PODS_PER_HPA, timeoutMs: 90_000, intervalMs: 1000, window: '1m' });
    // Prometheus with no queries but its scrapes: the floor of its CPU in every mode.
    const idleFrom = procCpuSeconds(prom.pid ?? 0) ?? NaN;
    await sleep(2 * SCRAPE_SECONDS * 1000);
    const prometheusIdleCores = ((procCpuSeconds(prom.pid ?? 0) ?? NaN) - idleFrom) / (2 * SCRAPE_SECONDS);
    const kubeconfig = await writeKubeconfig(work, kube.url);
    const results: PopulationRaw[] = [];
    let podsIn = 0;
    for (const population of [...populations].sort((a, b) => a.hpas - b.hpas)) {
      // The cluster holds this population's pods alone, so the watch cache is its size.
      const shape = shapeOf(population);
      for (let i = podsIn; i < population.hpas; i++) {
        const hpa = populationHpa(shape, i);
        for (const pod of hpa.pods) kube.addObject('pods', { namespace: hpa.namespace, name: pod, labels: { app: hpa.name } });
      }
      podsIn = Math.max(podsIn, population.hpas);
      const runs: ModeRun[] = [];
      const env = { prom, kubeconfig, queryLog };
      for (const mode of modes) runs.push(await runMode(population, mode, 'by-namespace', sharedFlag, env));
      // Sharing depends on how a namespace's HPAs are spread over the period: measure the spread-out case too.
      if (population === largest && sharedFlag) runs.push(await runMode(population, 'shared', 'random', sharedFlag, env));
      results.push({ population, shape, periodMs: PERIOD_MS / population.speedup, cacheTtlMs: Math.round(CACHE_TTL_MS / population.speedup), runs });
    }
    const rows = results.flatMap((p) => rowsOf(p, sharedFlag, p.population === largest, prometheusIdleCores));
    return { rows, raw: { sharedFlag, prometheusIdleCores, populations: results } };
  } finally {
    await prom?.stop();
    await kube.close();
    series.kill();
  }
}

export const POPULATION_METHOD = `- **HPA population (8, 9).** bench/population.ts, in a process of its own, asks as
  the HPA controller does: ${WORKERS} workers (\`--concurrent-horizontal-pod-autoscaler-syncs\`)
  take HPAs off one queue, a sync makes its metric calls one after another, and an
  HPA is due again one period after its sync ends; first syncs are spread over the
  first period. Each HPA \`app-<i>\` has ${PODS_PER_HPA} pods labelled \`app=app-<i>\` and asks for
  \`${POD_METRIC}\` over them (a pods wildcard with its labelSelector,
  rules/examples/workload.yaml, \`rate()\` of a counter); every ${EXTERNAL_EVERY}rd also asks for the
  external \`${EXTERNAL_METRIC}\` of its own queue (rules/examples/queue.yaml). A
  child process serves the counters and queues to Prometheus (scrape every ${SCRAPE_SECONDS} s);
  the pods are in the Kubernetes API test double; \`hpa-bridge serve\` runs as a child
  with \`--object-source kubernetes\`. Time is compressed by the population's speedup:
  the ${PERIOD_MS / 1000} s period and the ${CACHE_TTL_MS / 1000} s cache TTL are both divided by it, so the
  share of requests a cached answer serves is the real one, and CPU and queries per
  second divided by it are the real-time figures. Each mode runs in a fresh server;
  the timed window starts after a warm-up of a cache TTL (2 s at least) and lasts a
  period plus 5 s (10 s at least). Latency is the driver's, per metric call, straight
  to the server (in a cluster the kube-apiserver's proxy adds its hop). Prometheus
  queries come from its own \`prometheus_http_requests_total{handler="/api/v1/query"}\`,
  split by metric from its query log; CPU from /proc of each process over the same
  window; peak RSS is the server's VmHWM (start-up included). Shared evaluation is
  measured only when \`serve --help\` lists \`${SHARED_FLAG}\`; per-request mode is then
  \`${SHARED_FLAG}=false\`. First syncs come due in index order, so a namespace's HPAs
  are due together, as after the informer's first LIST (sorted by namespace); the
  largest population runs shared mode once more with a seeded random order, where
  each namespace's requests spread over the period (HPAs created over time).`;
