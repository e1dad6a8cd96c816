// A population of HPAs asking for their metrics as the HPA controller does,
// run as its own process. The controller's workers
// (--concurrent-horizontal-pod-autoscaler-syncs, default 5) take HPAs off one
// queue; a sync makes its metric calls one after another; when it ends the
// HPA goes back on the queue to be due one resync period later
// (--horizontal-pod-autoscaler-sync-period, 15 s). A worker with nothing due
// waits. First syncs are spread evenly over the first period, as they are in a
// controller that has been running for a while: in index order, so the HPAs of
// a namespace come due together (`by-namespace`, as after the informer's
// first LIST, which the API server returns sorted by namespace), or in a
// seeded random order (`random`, HPAs created and changed over time), which
// spreads each namespace's requests over the whole period.
//
// Reads a PopulationSpec (JSON) from argv[2]. Prints `measuring` when the
// warm-up ends and `measured` when the timed window ends (the driver reads
// CPU and counters at those two lines), then one PopulationResult.
import { Agent, request } from 'node:https';
import { metricCalls, populationHpas, type MetricCall, type PopulationShape } from './population-model.js';

export interface PopulationSpec {
  readonly baseUrl: string;
  readonly shape: PopulationShape;
  readonly workers: number;
  readonly periodMs: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly order: PopulationOrder;
}

export type PopulationOrder = 'by-namespace' | 'random';

export interface Latencies {
  readonly calls: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface PopulationResult {
  /** Syncs that started in the timed window. */
  readonly syncs: number;
  readonly measuredSeconds: number;
  /** Syncs per second a population this size asks for: HPAs ÷ period. */
  readonly offeredSyncsPerSecond: number;
  readonly syncsPerSecond: number;
  /** How long after it was due a sync started: the queue's wait when the workers fall behind. */
  readonly lateP50Ms: number;
  readonly lateP99Ms: number;
  readonly all: Latencies;
  readonly pods: Latencies;
  readonly external: Latencies;
  /** Calls answered with a status other than 200. */
  readonly failed: number;
  /** 200 answers without the expected number of items (warm-up included). */
  readonly unexpected: number;
  readonly firstProblem?: string;
}

interface Due {
  readonly hpa: number;
  readonly at: number;
}

/** A binary min-heap of due times. */
class DueQueue {
  private readonly heap: Due[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(d: Due): void {
    const h = this.heap;
    h.push(d);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if ((h[parent] as Due).at <= d.at) break;
      h[i] = h[parent] as Due;
      h[parent] = d;
      i = parent;
    }
  }

  pop(): Due | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    h[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < h.length && (h[l] as Due).at < (h[min] as Due).at) min = l;
      if (r < h.length && (h[r] as Due).at < (h[min] as Due).at) min = r;
      if (min === i) break;
      [h[i], h[min]] = [h[min] as Due, h[i] as Due];
      i = min;
    }
    return top;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** 0 … n-1 in an order fixed by a constant seed (mulberry32, Fisher–Yates), so runs compare. */
function shuffled(n: number): number[] {
  let seed = 0x9e3779b9;
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as number, out[i] as number];
  }
  return out;
}

function itemsIn(body: string): number | undefined {
  try {
    const items = (JSON.parse(body) as { items?: unknown }).items;
    return Array.isArray(items) ? items.length : undefined;
  } catch {
    return undefined;
  }
}

function get(url: string, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, rejectUnauthorized: false, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout on ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

function latencies(times: number[]): Latencies {
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN;
  return { calls: times.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: times[times.length - 1] ?? NaN };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as PopulationSpec;
  const calls: MetricCall[][] = populationHpas(spec.shape).map(metricCalls);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.workers });
  const started = performance.now();
  const measureFrom = started + spec.warmupSeconds * 1000;
  const measureUntil = measureFrom + spec.durationSeconds * 1000;
  const queue = new DueQueue();
  const slots = spec.order === 'random' ? shuffled(calls.length) : calls.map((_, i) => i);
  calls.forEach((_, hpa) => queue.push({ hpa, at: started + ((slots[hpa] ?? hpa) * spec.periodMs) / calls.length }));

  const times: Record<MetricCall['kind'], number[]> = { pods: [], external: [] };
  const late: number[] = [];
  let syncs = 0;
  let failed = 0;
  let unexpected = 0;
  let firstProblem: string | undefined;
  let measuring = false;
  const problem = (text: string): void => void (firstProblem ??= text);

  const worker = async (): Promise<void> => {
    for (;;) {
      const next = queue.pop();
      if (next === undefined) return;
      let now = performance.now();
      if (now >= measureUntil) return;
      if (next.at > now) {
        await sleep(next.at - now);
        now = performance.now();
      }
      const timed = now >= measureFrom && now < measureUntil;
      if (timed) {
        syncs++;
        late.push(now - next.at);
      }
      for (const call of calls[next.hpa] ?? []) {
        const t = performance.now();
        try {
          const res = await get(`${spec.baseUrl}${call.path}`, agent);
          const ms = performance.now() - t;
          if (timed) times[call.kind].push(ms);
          if (res.status !== 200) {
            if (timed) failed++;
            problem(`${call.path}: ${res.status} ${res.body.slice(0, 200)}`);
          } else if (itemsIn(res.body) !== call.items) {
            unexpected++;
            problem(`${call.path}: ${String(itemsIn(res.body))} items, expected ${call.items}`);
          }
        } catch (e) {
          if (timed) failed++;
          problem(`${call.path}: ${(e as Error).message}`);
        }
      }
      // Back on the queue one period after the sync ends, as the controller's rate limiter does.
      queue.push({ hpa: next.hpa, at: performance.now() + spec.periodMs });
    }
  };

  const marker = setInterval(() => {
    const now = performance.now();
    if (!measuring && now >= measureFrom) {
      measuring = true;
      process.stdout.write('measuring\n');
    }
  }, 5);
  const workers = Array.from({ length: spec.workers }, () => worker());
  await sleep(Math.max(0, measureUntil - performance.now()));
  clearInterval(marker);
  process.stdout.write('measured\n');
  await Promise.all(workers);
  agent.destroy();
  const measuredSeconds = spec.durationSeconds;
  late.sort((a, b) => a - b);
  const out: PopulationResult = {
    syncs,
    measuredSeconds,
    offeredSyncsPerSecond: calls.length / (spec.periodMs / 1000),
    syncsPerSecond: syncs / measuredSeconds,
    lateP50Ms: late[Math.floor(0.5 * late.length)] ?? NaN,
    lateP99Ms: late[Math.min(late.length - 1, Math.floor(0.99 * late.length))] ?? NaN,
    all: latencies([...times.pods, ...times.external]),
    pods: latencies(times.pods),
    external: latencies(times.external),
    failed,
    unexpected,
    ...(firstProblem !== undefined ? { firstProblem } : {}),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
