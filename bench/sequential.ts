// One request at a time over one keep-alive connection, timed with a
// sub-millisecond clock (autocannon reports whole milliseconds, too coarse
// for a cached answer). Run as its own process; reads a SequentialSpec
// (JSON) from argv[2] and prints one SequentialResult.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LoadSpec } from './load.js';

export interface TimedRequest extends Pick<LoadSpec, 'url' | 'method' | 'headers' | 'body'> {
  /**
   * Every answer must be JSON holding an array of this length at this path
   * (`['items']`, `['data', 'result']`). Checked after the clock stops.
   */
  readonly expect?: { readonly path: readonly string[]; readonly length: number };
}

export interface SequentialSpec extends TimedRequest, Pick<LoadSpec, 'durationSeconds'> {
  readonly warmupSeconds: number;
  /** Rounds to time even when they take longer than durationSeconds, so a slow answer still gets a median. */
  readonly minRequests?: number;
  /** Sent at the same moment as the main request, each on a connection of its own; a round lasts until every answer is in. */
  readonly alongside?: readonly TimedRequest[];
}

export interface SequentialResult {
  /** Rounds timed (one request, or one with its `alongside`). */
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  /** Answers that were not 2xx. */
  readonly failed: number;
  /** Bytes of the last round's answers. */
  readonly bytes: number;
  /** Answers, warm-up included, whose array did not have the expected length. */
  readonly unexpected: number;
  readonly firstUnexpected?: string;
}

interface Answer {
  readonly status: number;
  readonly bytes: number;
  /** Kept only when the answer is to be checked. */
  readonly body?: Buffer;
}

function once(req: TimedRequest, agent: HttpAgent): Promise<Answer> {
  const url = new URL(req.url);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const r = send(url, { method: req.method ?? 'GET', agent, headers: req.headers ?? {}, rejectUnauthorized: false, timeout: 60_000 }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (req.expect) chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, ...(req.expect ? { body: Buffer.concat(chunks) } : {}) }));
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    r.end(req.body);
  });
}

/** Why an answer is not what `req.expect` asks for, or undefined when it is. */
function mismatch(req: TimedRequest, answer: Answer): string | undefined {
  if (!req.expect || !answer.body) return undefined;
  let at: unknown;
  try {
    at = JSON.parse(answer.body.toString());
  } catch {
    return `${req.url}: status ${answer.status}, not JSON: ${answer.body.subarray(0, 200).toString()}`;
  }
  for (const key of req.expect.path) at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined;
  const length = Array.isArray(at) ? at.length : undefined;
  return length === req.expect.length ? undefined : `${req.url}: ${req.expect.path.join('.')} has ${length ?? 'no array'} entries, expected ${req.expect.length}`;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as SequentialSpec;
  const round = [spec, ...(spec.alongside ?? [])];
  const options = { keepAlive: true, maxSockets: 1 };
  const agents = round.map((r) => (r.url.startsWith('https:') ? new HttpsAgent(options) : new HttpAgent(options)));
  let unexpected = 0;
  let firstUnexpected: string | undefined;
  const check = (answers: readonly Answer[]): void => {
    round.forEach((r, i) => {
      const why = mismatch(r, answers[i] as Answer);
      if (why === undefined) return;
      unexpected++;
      firstUnexpected ??= why;
    });
  };
  const send = (): Promise<Answer[]> => Promise.all(round.map((r, i) => once(r, agents[i] as HttpAgent)));
  const warmEnd = performance.now() + spec.warmupSeconds * 1000;
  while (performance.now() < warmEnd) check(await send());
  const times: number[] = [];
  let failed = 0;
  let bytes = 0;
  const end = performance.now() + spec.durationSeconds * 1000;
  while (performance.now() < end || times.length < (spec.minRequests ?? 0)) {
    const started = performance.now();
    const answers = await send();
    times.push(performance.now() - started);
    failed += answers.filter((a) => a.status < 200 || a.status >= 300).length;
    bytes = answers.reduce((n, a) => n + a.bytes, 0);
    check(answers);
  }
  for (const agent of agents) agent.destroy();
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN;
  const out: SequentialResult = {
    requests: times.length,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    meanMs: times.reduce((a, b) => a + b, 0) / times.length,
    failed,
    bytes,
    unexpected,
    ...(firstUnexpected !== undefined ? { firstUnexpected } : {}),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
