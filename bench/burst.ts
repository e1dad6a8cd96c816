// N identical requests in flight at once, from a separate process. The
// sockets (and TLS sessions) are opened first with a health check, so the
// burst itself is not spread out by N handshakes.
import { Agent, request } from 'node:https';

interface BurstSpec {
  readonly url: string;
  readonly warmPath: string;
  readonly count: number;
}

export interface BurstResult {
  readonly statuses: Record<string, number>;
  readonly ms: number;
  readonly sockets: number;
}

function get(agent: Agent, url: URL): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method: 'GET', timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as BurstSpec;
  const target = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.count, maxFreeSockets: spec.count, rejectUnauthorized: false });
  const warm = new URL(spec.warmPath, target);
  await Promise.all(Array.from({ length: spec.count }, () => get(agent, warm)));
  const sockets = Object.values(agent.freeSockets).reduce((n, list) => n + (list?.length ?? 0), 0);
  const started = performance.now();
  const codes = await Promise.all(Array.from({ length: spec.count }, () => get(agent, target)));
  const ms = performance.now() - started;
  const statuses: Record<string, number> = {};
  for (const c of codes) statuses[c] = (statuses[c] ?? 0) + 1;
  agent.destroy();
  const out: BurstResult = { statuses, ms, sockets };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
