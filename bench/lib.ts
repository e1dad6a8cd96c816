// Shared helpers of the benchmark driver: child processes, machine facts, HTTPS GETs.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadResult, LoadSpec } from './load.js';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
/** The repository root (dist/bench -> ../..). */
export const ROOT = join(BENCH_DIR, '..', '..');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The workload's pod names: `big-00042`. */
export const podName = (namespace: string, i: number): string => `${namespace}-${String(i).padStart(5, '0')}`;

/** Runs a compiled bench script as a child process and parses the JSON it prints. */
export function runChild<T>(script: string, spec: unknown, timeoutMs: number, nodeArgs: readonly string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, join(BENCH_DIR, script), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last) return reject(new Error(`${script} exited with ${String(code)}: ${err.slice(-2000)}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch (e) {
        reject(new Error(`${script} printed no JSON: ${(e as Error).message}: ${out.slice(-500)}`));
      }
    });
  });
}

export function load(spec: LoadSpec): Promise<LoadResult> {
  return runChild<LoadResult>('load.js', spec, (spec.durationSeconds + (spec.warmupSeconds ?? 0)) * 1000 + 60_000);
}

/** GET over HTTPS without certificate checks (the servers here are self-signed). */
export function httpsGet(url: string, timeoutMs = 30_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout on ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** A counter from Prometheus's own /metrics page (it does not scrape itself here). */
export async function promSelfCounter(promUrl: string, name: string, labelText: string): Promise<number> {
  const res = await fetch(`${promUrl}/metrics`);
  const text = await res.text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(labelText)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

function execText(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, stdout, stderr) => resolve(err ? `unknown (${err.message})` : `${stdout}${stderr}`));
  });
}

interface Machine {
  readonly cpus: number;
  readonly model: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly prometheus: string;
  readonly autocannon: string;
}

export async function machine(): Promise<Machine> {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) model = line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // Not Linux: os.cpus() already gave a model.
  }
  const prom = (await execText('prometheus', ['--version'])).split('\n')[0] ?? 'unknown';
  let ac = 'unknown';
  try {
    ac = (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'autocannon', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // Reported as unknown.
  }
  return { cpus: cpus().length, model, memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)), node: process.version, prometheus: prom.trim(), autocannon: ac };
}

/** A line of /proc/<pid>/status in MiB (VmRSS, VmHWM). */
export function procStatusMB(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${field}:`));
    const kb = line ? Number(line.replace(/[^0-9]/g, '')) : NaN;
    return Number.isFinite(kb) ? kb / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds a process has used so far (user + system), from /proc/<pid>/stat. */
export function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    // USER_HZ is 100 on Linux.
    return Number.isFinite(ticks) ? ticks / 100 : undefined;
  } catch {
    return undefined;
  }
}

export const f = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : String(n));
export const log = (msg: string): void => void process.stderr.write(`[bench] ${msg}\n`);

/** One line of BENCHMARKS.md's table. */
export interface Row {
  readonly id: string;
  readonly measurement: string;
  readonly value: string;
  readonly baseline: string;
  readonly ratio: string;
  readonly target: string;
  readonly met: boolean | undefined;
}

export interface SeriesChild {
  readonly address: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  kill(): void;
}

/** Starts a compiled bench script that serves series to Prometheus (series-child.js, population-series.js) and waits for its address. */
export async function startSeriesChild(script: string, spec: unknown): Promise<SeriesChild> {
  const child = spawn(process.execPath, [join(BENCH_DIR, script), JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} printed no address: ${err.slice(-2000)}`));
    }, 60_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = /^(127\.0\.0\.1:\d+)\n/.exec(out)?.[1];
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${String(code)}: ${err.slice(-2000)}`));
    });
  });
  const post = async (path: string): Promise<void> => {
    const res = await fetch(`http://${address}${path}`, { method: 'POST' });
    if (res.status !== 204) throw new Error(`series child answered ${res.status} to ${path}`);
  };
  return { address, start: () => post('/start'), stop: () => post('/stop'), kill: () => void child.kill('SIGTERM') };
}

export interface ServeChild {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** `hpa-bridge serve --help`, for flags a server may or may not have yet. */
export function serveHelp(): Promise<string> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/hpa-bridge.js', 'serve', '--help'], { cwd: ROOT, timeout: 30_000 }, (_err, stdout, stderr) => resolve(`${stdout}${stderr}`));
  });
}

/** Starts `hpa-bridge serve` with these rule paths as a child and waits for /readyz. */
export async function startServeChild(rules: readonly string[], extraArgs: readonly string[], promUrl: string): Promise<ServeChild> {
  const args = [
    'bin/hpa-bridge.js',
    'serve',
    ...rules.flatMap((r) => ['--rules', r]),
    '--prometheus-url',
    promUrl,
    '--secure-port',
    '0',
    '--bind-address',
    '127.0.0.1',
    '--authentication',
    'none',
    '--metrics-port',
    '-1',
    '--log-level',
    'info',
    ...extraArgs,
  ];
  // Node options for the server alone, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it under load (NODE_OPTIONS refuses --cpu-prof).
  const nodeArgs = (process.env.BENCH_SERVE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let logText = '';
  child.stdout?.on('data', (d: Buffer) => (logText += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (logText += d.toString()));
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
  };
  try {
    let url: string | undefined;
    for (let i = 0; i < 300 && !url; i++) {
      url = /"url":"(https:\/\/[^"]+)"/.exec(logText)?.[1];
      if (!url) await sleep(100);
    }
    if (!url) throw new Error(`serve never logged its URL: ${logText.slice(-1000)}`);
    let ready = false;
    for (let i = 0; i < 300 && !ready; i++) {
      ready = (await httpsGet(`${url}/readyz`).catch(() => ({ status: 0 }))).status === 200;
      if (!ready) await sleep(100);
    }
    if (!ready) throw new Error(`serve never became ready: ${logText.slice(-1000)}`);
    return { url, pid: child.pid ?? 0, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

export interface Rss {
  readonly rss: number;
  /** VmHWM: the most the process has held so far. */
  readonly hwm: number;
}

export const rssOf = (pid: number): Rss => ({ rss: procStatusMB(pid, 'VmRSS') ?? NaN, hwm: procStatusMB(pid, 'VmHWM') ?? NaN });
