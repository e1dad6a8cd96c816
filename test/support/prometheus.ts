// A real Prometheus server for integration tests: its own temp dir, config
// and TSDB, listening on 127.0.0.1 only. Uses the binary named by
// PROMETHEUS_BIN, or `prometheus` from PATH (Debian: apt-get install -y prometheus).
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { freePort } from './ports.js';

export const INSTALL_COMMAND = 'apt-get install -y prometheus';

export interface PrometheusOptions {
  /** `host:port` targets of the single scrape job `exporter`; loopback hosts only. */
  scrapeTargets?: readonly string[];
  /** Default 1. Fractions are allowed (written as milliseconds). */
  scrapeIntervalSeconds?: number;
  /** Default: the scrape interval (Prometheus rejects a longer timeout). */
  scrapeTimeoutSeconds?: number;
  /** Seconds, or a Prometheus duration such as `'500ms'`. Default: the scrape interval. */
  globalEvaluationInterval?: number | string;
  /**
   * Keep the exporter's own `job`/`instance` labels instead of renaming them
   * to `exported_*`, so tests control every label. Default true.
   */
  honorLabels?: boolean;
  /** Absolute paths of rule files for the `rule_files` section. */
  ruleFiles?: readonly string[];
  /** Appended after the generated flags, so a later flag overrides an earlier one. */
  extraArgs?: readonly string[];
  /** Per phase (ready, first scrapes) of each start or resume. Default 20000. */
  readyTimeoutMs?: number;
  /**
   * Resolve start/resume only once every target has been scraped (or failed
   * to be) at least once. Prometheus 2.42 takes ~5 s after /-/ready to begin
   * scraping, so without this a fresh instance has no data. Default true.
   */
  waitForTargets?: boolean;
  /** Overrides PROMETHEUS_BIN. */
  binary?: string;
}

export type PromLabels = Record<string, string>;

/** Prometheus encodes sample values as strings so that NaN and ±Inf survive JSON. */
export interface InstantSample {
  metric: PromLabels;
  value: [number, string];
}

export interface RangeSeries {
  metric: PromLabels;
  values: [number, string][];
}

export type QueryData = { resultType: 'vector'; result: InstantSample[] } | { resultType: 'matrix'; result: RangeSeries[] } | { resultType: 'scalar' | 'string'; result: [number, string] };

export interface SeriesSampleCount {
  metric: PromLabels;
  samples: number;
}

export interface QueryOptions {
  /** Evaluation time: a Date or Unix seconds. Default: now. */
  time?: Date | number;
}

export interface WaitOptions {
  /** Default 20000. */
  timeoutMs?: number;
  /** Pause between polls. Default 200. */
  intervalMs?: number;
}

export interface WaitForSeriesOptions extends WaitOptions {
  /** Every matching series needs at least this many samples in the window. Default 1. */
  minSamples?: number;
  /** At least this many series must match. Default 1. */
  minSeries?: number;
  /** How far back samples count. Default '5m'. */
  window?: string;
}

export interface PrometheusInstance {
  /** `http://127.0.0.1:<port>`, stable across restart(). */
  readonly url: string;
  readonly port: number;
  /** Temp dir holding the config and `data/`; removed by stop(). */
  readonly dir: string;
  readonly configFile: string;
  /** PID of the current process, undefined while halted. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Instant query; a scalar result comes back as one sample with no labels. */
  query(expr: string, options?: QueryOptions): Promise<InstantSample[]>;
  /** Instant query returning `data` untouched, for matrix/string results. */
  queryData(expr: string, options?: QueryOptions): Promise<QueryData>;
  /** The single value of an instant query; throws on zero or several results. */
  queryScalar(expr: string, options?: QueryOptions): Promise<number>;
  /** Polls an instant query until `accept` returns true; resolves with that result. */
  waitForQuery(expr: string, accept: (samples: InstantSample[]) => boolean, options?: WaitOptions): Promise<InstantSample[]>;
  /**
   * Polls until at least `minSeries` series match `selector` and every one of
   * them has `minSamples` samples within `window`; resolves with the counts.
   */
  waitForSeries(selector: string, options?: WaitForSeriesOptions): Promise<SeriesSampleCount[]>;
  /** The last ~64 KiB of the process's combined stdout and stderr. */
  logs(): string;
  /** Stops the process but keeps the port and TSDB for resume(). */
  halt(): Promise<void>;
  /** Starts a halted instance again on the same port with the same data. */
  resume(): Promise<void>;
  /** halt() then resume(). */
  restart(): Promise<void>;
  /** Stops the process and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const OUTPUT_LIMIT = 64 * 1024;
const ERROR_TAIL = 4 * 1024;
const TERM_GRACE_MS = 5_000;
const FRESH_PORT_ATTEMPTS = 5;
const SAME_PORT_ATTEMPTS = 20;
const SAME_PORT_RETRY_MS = 250;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

class BindError extends Error {}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function parsePromValue(text: string): number {
  switch (text) {
    case 'NaN':
      return NaN;
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    default: {
      const n = Number(text);
      if (Number.isNaN(n)) throw new Error(`not a Prometheus sample value: ${JSON.stringify(text)}`);
      return n;
    }
  }
}

function duration(seconds: number, what: string): string {
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`${what} must be a positive number of seconds`);
  const ms = Math.round(seconds * 1000);
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function tail(text: string, max = ERROR_TAIL): string {
  const t = text.length > max ? `…${text.slice(-max)}` : text;
  return t.trim() === '' ? '(no output)' : t.trimEnd();
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const s = await stat(path);
    return s.isFile() && (s.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

function missingBinaryError(binary: string): Error {
  const origin = process.env.PROMETHEUS_BIN ? ` (from PROMETHEUS_BIN=${process.env.PROMETHEUS_BIN})` : '';
  return new Error(
    `Prometheus binary "${binary}"${origin} not found or not executable. ` +
      `Integration tests need a real Prometheus: install it with \`${INSTALL_COMMAND}\` ` +
      `or point PROMETHEUS_BIN at a prometheus binary.`,
  );
}

async function resolveBinary(binary: string): Promise<string> {
  if (binary.includes('/')) {
    if (await isExecutableFile(binary)) return binary;
    throw missingBinaryError(binary);
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, binary);
    if (await isExecutableFile(candidate)) return candidate;
  }
  throw missingBinaryError(binary);
}

/**
 * promtool, from the same package as prometheus (Debian's prometheus ships
 * both): PROMTOOL_BIN, else the promtool beside PROMETHEUS_BIN, else the one
 * on PATH.
 */
export async function findPromtool(): Promise<string> {
  const named = process.env.PROMTOOL_BIN;
  const beside = process.env.PROMETHEUS_BIN?.includes('/') ? join(dirname(process.env.PROMETHEUS_BIN), 'promtool') : undefined;
  const candidate = named ?? (beside !== undefined && (await isExecutableFile(beside)) ? beside : 'promtool');
  try {
    return await resolveBinary(candidate);
  } catch {
    throw new Error(`promtool "${candidate}" not found or not executable: install it with \`${INSTALL_COMMAND}\` or point PROMTOOL_BIN at it.`);
  }
}

function checkTarget(target: string): void {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
  if (!m || !LOOPBACK_HOSTS.has(m[1] ?? '')) {
    throw new Error(`scrape target ${JSON.stringify(target)} must be host:port on a loopback address`);
  }
}

// Anything still running when the test process goes away is killed here;
// an 'exit' listener may only do synchronous work, hence SIGKILL and rmSync.
const live = new Set<PrometheusServer>();
let hooksInstalled = false;

function cleanupAllSync(): void {
  for (const server of live) server.killSync();
  live.clear();
}

function installProcessHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupAllSync);
  // node --test already turns these signals into process.exit(), which runs
  // the 'exit' hook; only a bare script needs its own handler, and that one
  // re-raises so the default termination still happens.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(sig) > 0) continue;
    const onSignal = (): void => {
      cleanupAllSync();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

class PrometheusServer implements PrometheusInstance {
  readonly url: string;
  readonly configFile: string;
  private child: ChildProcess | undefined;
  private exited: Promise<ExitInfo> | undefined;
  private exitInfo: ExitInfo | undefined;
  private output = '';
  private stopped = false;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly binary: string,
    readonly dir: string,
    readonly port: number,
    private readonly extraArgs: readonly string[],
    private readonly readyTimeoutMs: number,
    private readonly expectedTargets: number,
    private readonly waitForTargets: boolean,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.configFile = join(dir, 'prometheus.yml');
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  logs(): string {
    return this.output;
  }

  private append(chunk: Buffer | string): void {
    this.output += chunk.toString();
    if (this.output.length > OUTPUT_LIMIT * 2) this.output = this.output.slice(-OUTPUT_LIMIT);
  }

  private args(): string[] {
    return [
      `--config.file=${this.configFile}`,
      `--storage.tsdb.path=${join(this.dir, 'data')}`,
      // Test data only matters for minutes; short retention keeps compaction trivial.
      '--storage.tsdb.retention.time=1d',
      `--web.listen-address=127.0.0.1:${this.port}`,
      '--log.level=warn',
      ...this.extraArgs,
    ];
  }

  /** Spawns once on `this.port`, then waits for /-/ready and (optionally) the first scrapes. */
  async launch(): Promise<void> {
    this.exitInfo = undefined;
    const child = spawn(this.binary, this.args(), {
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    this.child = child;
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
    }).then((info) => {
      if (this.child === child) this.exitInfo = info;
      return info;
    });
    child.stdout?.on('data', (c: Buffer) => this.append(c));
    child.stderr?.on('data', (c: Buffer) => this.append(c));
    // A test that forgets stop() must not keep the run alive forever; the
    // 'exit' hook kills the process once nothing else is pending.
    child.unref();
    (child.stdout as { unref?: () => void } | null)?.unref?.();
    (child.stderr as { unref?: () => void } | null)?.unref?.();

    const exited = this.exited;
    await this.pollWhileRunning(exited, 'ready', async () => {
      const res = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer().catch(() => undefined);
      return res.status === 200 ? true : `HTTP ${res.status}`;
    });
    if (this.expectedTargets > 0 && this.waitForTargets) {
      // Prometheus 2.42 hands discovered targets to the scrape manager on a
      // fixed 5 s tick, so "ready" comes seconds before the first scrape.
      await this.pollWhileRunning(exited, 'scraping all targets', async () => {
        const res = await fetch(`${this.url}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(2_000) });
        const json = (await res.json()) as { data?: { activeTargets?: { health?: string }[] } };
        const targets = json.data?.activeTargets ?? [];
        const scraped = targets.filter((t) => t.health === 'up' || t.health === 'down').length;
        return scraped >= this.expectedTargets ? true : `${scraped}/${this.expectedTargets} targets scraped`;
      });
    }
  }

  /**
   * Polls `probe` until it returns true, failing fast with the process output
   * if Prometheus exits and after readyTimeoutMs otherwise.
   */
  private async pollWhileRunning(exited: Promise<ExitInfo>, what: string, probe: () => Promise<true | string>): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    const maxPolls = Math.ceil(this.readyTimeoutMs / 100) + 1;
    let lastProblem = 'no response yet';
    for (let poll = 0; poll < maxPolls && Date.now() < deadline; poll++) {
      const outcome = await Promise.race([
        exited.then((info) => ({ kind: 'exit' as const, info })),
        probe().then(
          (result) => ({ kind: 'probe' as const, result }),
          (err: unknown) => ({ kind: 'probe' as const, result: err instanceof Error ? err.message : String(err) }),
        ),
      ]);
      if (outcome.kind === 'exit') {
        const { info } = outcome;
        if ((info.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
          throw missingBinaryError(this.binary);
        }
        const how = info.error ? `failed to start: ${info.error.message}` : `exited early (code ${info.code}, signal ${info.signal})`;
        const message = `Prometheus ${how} on 127.0.0.1:${this.port}. Output:\n${tail(this.output)}`;
        if (/address already in use/i.test(this.output)) throw new BindError(message);
        throw new Error(message);
      }
      if (outcome.result === true) return;
      lastProblem = outcome.result;
      await sleep(100);
    }
    await this.terminate();
    throw new Error(`Prometheus on 127.0.0.1:${this.port} not ${what} within ${this.readyTimeoutMs} ms ` + `(last: ${lastProblem}). Output:\n${tail(this.output)}`);
  }

  private async terminate(): Promise<void> {
    const child = this.child;
    const exited = this.exited;
    if (!child || !exited || this.exitInfo) return;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    // This timer is also what keeps the event loop alive while we wait for an unref'd child.
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), TERM_GRACE_MS);
    });
    const first = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    if (first !== 'timeout') return;
    child.kill('SIGKILL');
    const second = await Promise.race([
      exited,
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), TERM_GRACE_MS);
      }),
    ]);
    clearTimeout(timer);
    if (second === 'timeout') throw new Error(`Prometheus (pid ${child.pid}) survived SIGKILL`);
  }

  killSync(): void {
    if (this.running) this.child?.kill('SIGKILL');
    // The process may still be closing files for a moment after SIGKILL.
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  }

  async halt(): Promise<void> {
    await this.terminate();
  }

  async resume(): Promise<void> {
    if (this.stopped) throw new Error('Prometheus instance was stopped; start a new one');
    if (this.running) return;
    this.append(`\n--- resuming on port ${this.port} ---\n`);
    // The old socket can linger briefly after the previous process exits.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.launch();
        return;
      } catch (err) {
        if (!(err instanceof BindError) || attempt >= SAME_PORT_ATTEMPTS) throw err;
        await sleep(SAME_PORT_RETRY_MS);
      }
    }
  }

  async restart(): Promise<void> {
    await this.halt();
    await this.resume();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      try {
        await this.terminate();
      } finally {
        live.delete(this);
        await rm(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      }
    })();
    return this.stopping;
  }

  async queryData(expr: string, options: QueryOptions = {}): Promise<QueryData> {
    const body = new URLSearchParams({ query: expr });
    if (options.time !== undefined) {
      const t = options.time instanceof Date ? options.time.getTime() / 1000 : options.time;
      body.set('time', String(t));
    }
    let res: Response;
    try {
      res = await fetch(`${this.url}/api/v1/query`, {
        method: 'POST',
        body,
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new Error(`Prometheus at ${this.url} unreachable for query ${expr}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const text = await res.text();
    let json: { status?: string; data?: QueryData; errorType?: string; error?: string };
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      throw new Error(`Prometheus returned HTTP ${res.status} non-JSON for query ${expr}: ${text.slice(0, 500)}`);
    }
    if (json.status !== 'success' || !json.data) {
      throw new Error(`Prometheus query failed (HTTP ${res.status}, ${json.errorType ?? 'unknown'}): ${json.error ?? text.slice(0, 500)}\n  query: ${expr}`);
    }
    return json.data;
  }

  async query(expr: string, options?: QueryOptions): Promise<InstantSample[]> {
    const data = await this.queryData(expr, options);
    switch (data.resultType) {
      case 'vector':
        return data.result;
      case 'scalar':
        return [{ metric: {}, value: data.result }];
      default:
        throw new Error(`query ${expr} returned a ${data.resultType}, not an instant vector; use queryData()`);
    }
  }

  async queryScalar(expr: string, options?: QueryOptions): Promise<number> {
    const samples = await this.query(expr, options);
    const [only] = samples;
    if (!only) throw new Error(`query ${expr} returned no result`);
    if (samples.length > 1) {
      throw new Error(`query ${expr} returned ${samples.length} series, expected one: ${JSON.stringify(samples).slice(0, 1000)}`);
    }
    return parsePromValue(only.value[1]);
  }

  async waitForQuery(expr: string, accept: (samples: InstantSample[]) => boolean, options: WaitOptions = {}): Promise<InstantSample[]> {
    const timeoutMs = options.timeoutMs ?? 20_000;
    const intervalMs = Math.max(10, options.intervalMs ?? 200);
    const deadline = Date.now() + timeoutMs;
    const maxPolls = Math.ceil(timeoutMs / intervalMs) + 1;
    let last = 'no poll completed';
    for (let poll = 0; poll < maxPolls; poll++) {
      try {
        const samples = await this.query(expr);
        if (accept(samples)) return samples;
        last = `last result: ${JSON.stringify(samples).slice(0, 1000)}`;
      } catch (err) {
        // Transient while Prometheus restarts; reported only if it never settles.
        last = `last error: ${(err as Error).message}`;
      }
      if (Date.now() + intervalMs > deadline) break;
      await sleep(intervalMs);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting on query ${expr}; ${last}`);
  }

  async waitForSeries(selector: string, options: WaitForSeriesOptions = {}): Promise<SeriesSampleCount[]> {
    const minSamples = options.minSamples ?? 1;
    const minSeries = options.minSeries ?? 1;
    const timeoutMs = options.timeoutMs ?? 20_000;
    const intervalMs = Math.max(10, options.intervalMs ?? 200);
    // A range selector evaluated as an instant query returns the raw samples
    // with __name__ intact; count_over_time() would drop the name and fail
    // with "same labelset" on selectors that span several metrics.
    const expr = `${selector}[${options.window ?? '5m'}]`;
    const deadline = Date.now() + timeoutMs;
    const maxPolls = Math.ceil(timeoutMs / intervalMs) + 1;
    let last = 'no poll completed';
    for (let poll = 0; poll < maxPolls; poll++) {
      try {
        const data = await this.queryData(expr);
        if (data.resultType !== 'matrix') throw new Error(`${selector} is not a plain series selector`);
        const counts = data.result.map((s) => ({ metric: s.metric, samples: s.values.length }));
        if (counts.length >= minSeries && counts.every((c) => c.samples >= minSamples)) return counts;
        last = `last counts: ${JSON.stringify(counts).slice(0, 1000)}`;
      } catch (err) {
        last = `last error: ${(err as Error).message}`;
      }
      if (Date.now() + intervalMs > deadline) break;
      await sleep(intervalMs);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${selector} to have ${minSeries}+ series ` + `with ${minSamples}+ samples each; ${last}`);
  }
}

export async function startPrometheus(options: PrometheusOptions = {}): Promise<PrometheusInstance> {
  const binary = await resolveBinary(options.binary ?? process.env.PROMETHEUS_BIN ?? 'prometheus');

  const targets = [...(options.scrapeTargets ?? [])];
  targets.forEach(checkTarget);
  const interval = options.scrapeIntervalSeconds ?? 1;
  const timeout = options.scrapeTimeoutSeconds ?? interval;
  if (timeout > interval) throw new Error('scrapeTimeoutSeconds must not exceed scrapeIntervalSeconds');
  const evaluation = typeof options.globalEvaluationInterval === 'string' ? options.globalEvaluationInterval : duration(options.globalEvaluationInterval ?? interval, 'globalEvaluationInterval');

  // JSON is a subset of YAML, so serialising with JSON.stringify sidesteps
  // YAML quoting rules for arbitrary targets and paths.
  const config = {
    global: {
      scrape_interval: duration(interval, 'scrapeIntervalSeconds'),
      scrape_timeout: duration(timeout, 'scrapeTimeoutSeconds'),
      evaluation_interval: evaluation,
    },
    rule_files: [...(options.ruleFiles ?? [])],
    scrape_configs: [
      {
        job_name: 'exporter',
        honor_labels: options.honorLabels ?? true,
        metrics_path: '/metrics',
        scheme: 'http',
        static_configs: [{ targets }],
      },
    ],
  };

  const dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-prometheus-'));
  installProcessHooks();
  let server: PrometheusServer | undefined;
  try {
    await mkdir(join(dir, 'data'));
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      server = new PrometheusServer(binary, dir, port, options.extraArgs ?? [], options.readyTimeoutMs ?? 20_000, targets.length, options.waitForTargets ?? true);
      live.add(server);
      await writeFile(server.configFile, `${JSON.stringify(config, null, 2)}\n`);
      try {
        await server.launch();
        return server;
      } catch (err) {
        if (!(err instanceof BindError) || attempt >= FRESH_PORT_ATTEMPTS) throw err;
        // That process has already exited; the next attempt reuses the dir.
        live.delete(server);
      }
    }
  } catch (err) {
    if (server) {
      live.delete(server);
      await server.stop().catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
