// A throwaway Prometheus for the demo: Debian's binary on a free loopback
// port, with its config and TSDB in a temp dir that stop() removes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface DemoPrometheus {
  readonly url: string;
  readonly dir: string;
  logs(): string;
  /** Kills the process and removes the temp dir; safe to call twice and from an 'exit' handler. */
  stopSync(): void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      const s = await stat(candidate);
      if (s.isFile() && (s.mode & 0o111) !== 0) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** apt-get as root, with its output on the terminal; returns whether prometheus is there afterwards. */
export function aptInstallPrometheus(): boolean {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
  if (update.status !== 0) return false;
  const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'prometheus'], { stdio: 'inherit', env });
  return install.status === 0;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startPrometheus(binary: string, target: string, timeoutMs = 30_000): Promise<DemoPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-demo-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // JSON is valid YAML, which avoids quoting questions.
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    scrape_configs: [{ job_name: 'demo', honor_labels: true, static_configs: [{ targets: [target] }] }],
  };
  await writeFile(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
  let output = '';
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      '--storage.tsdb.retention.time=1h',
      `--web.listen-address=127.0.0.1:${port}`,
      // Removed pods must drop out of instant queries within seconds, not 5 minutes.
      '--query.lookback-delta=10s',
      '--log.level=warn',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.once('error', () => {
    exited = true;
  });
  const append = (c: Buffer): void => {
    output = (output + c.toString()).slice(-16_384);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  let stopped = false;
  const instance: DemoPrometheus = {
    url,
    dir,
    logs: () => output,
    stopSync() {
      if (stopped) return;
      stopped = true;
      if (!exited) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    const deadline = Date.now() + timeoutMs;
    // Ready first, then the first scrape: Prometheus 2.42 starts scraping ~5 s after ready.
    let phase: 'ready' | 'scraped' = 'ready';
    for (;;) {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the child's exit handler sets it
      if (exited) throw new Error(`Prometheus exited during startup:\n${output.trim()}`);
      if (Date.now() > deadline) throw new Error(`Prometheus did not become ${phase} within ${timeoutMs / 1000} s:\n${output.trim()}`);
      try {
        if (phase === 'ready') {
          const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
          await res.arrayBuffer();
          if (res.ok) phase = 'scraped';
        } else {
          const res = await fetch(`${url}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(1_000) });
          const body = (await res.json()) as { data?: { activeTargets?: { health?: string }[] } };
          if ((body.data?.activeTargets ?? []).some((t) => t.health === 'up')) return instance;
        }
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
  } catch (e) {
    instance.stopSync();
    throw e;
  }
}
