// Shared helpers of the benchmark driver: child processes, machine facts, HTTPS GETs.
import { execFile, spawn } from 'node:child_process';
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
