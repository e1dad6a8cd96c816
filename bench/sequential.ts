// One request at a time over one keep-alive connection, timed with a
// sub-millisecond clock (autocannon reports whole milliseconds, too coarse
// for a cached answer). Run as its own process; reads a SequentialSpec
// (JSON) from argv[2] and prints one SequentialResult.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LoadSpec } from './load.js';

export interface SequentialSpec extends Pick<LoadSpec, 'url' | 'method' | 'headers' | 'body' | 'durationSeconds'> {
  readonly warmupSeconds: number;
}

export interface SequentialResult {
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  /** Answers that were not 2xx. */
  readonly failed: number;
  readonly bytes: number;
}

function once(spec: SequentialSpec, agent: HttpAgent): Promise<{ status: number; bytes: number }> {
  const url = new URL(spec.url);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: spec.method ?? 'GET', agent, headers: spec.headers ?? {}, rejectUnauthorized: false, timeout: 60_000 }, (res: IncomingMessage) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(spec.body);
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as SequentialSpec;
  const agent = spec.url.startsWith('https:') ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const warmEnd = performance.now() + spec.warmupSeconds * 1000;
  while (performance.now() < warmEnd) await once(spec, agent);
  const times: number[] = [];
  let failed = 0;
  let bytes = 0;
  const end = performance.now() + spec.durationSeconds * 1000;
  while (performance.now() < end) {
    const started = performance.now();
    const r = await once(spec, agent);
    times.push(performance.now() - started);
    if (r.status < 200 || r.status >= 300) failed++;
    bytes = r.bytes;
  }
  agent.destroy();
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN;
  const out: SequentialResult = { requests: times.length, p50Ms: at(0.5), p99Ms: at(0.99), meanMs: times.reduce((a, b) => a + b, 0) / times.length, failed, bytes };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
