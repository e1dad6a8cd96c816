// The webhook under the three hosts it runs in, each a child process on a
// loopback port: faas-js-runtime (Knative Functions) loading the entry file
// of deploy/knative/function, functions-framework (Cloud Run functions)
// loading deploy/cloud-run-function, and `hpa-bridge serve --http-port`. Shared by
// the differential test and the bench, which also start the runtimes with
// an empty function of their own.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, readFile, symlink } from 'node:fs/promises';
import { request, type IncomingHttpHeaders } from 'node:http';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { BIN } from './cli.js';
import { freePort } from './ports.js';

/** The repository root; compiled code runs from dist/test/support. */
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const FUNCTION_MODULE = join(REPO, 'dist', 'webhook', 'function.js');
const FUNCTION_DEPLOY = join(REPO, 'deploy', 'knative', 'function');
const FAAS_BIN = join(REPO, 'node_modules', '.bin', 'faas-js-runtime');
const FRAMEWORK_BIN = join(REPO, 'node_modules', '.bin', 'functions-framework');

/** How to start one host: the arguments after node, and where it answers reviews. */
export interface HostCommand {
  readonly name: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly port: number;
  /** The path reviews are posted to. */
  readonly path: string;
}

/** Only what the host needs: no KUBECONFIG, no HPA_BRIDGE_* from the test's own environment. */
function baseEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

/**
 * A copy of a function directory under deploy/ as its platform builds it:
 * its files, and hpa-bridge where `npm install` of the packed tarball would
 * put it (a symlink to this tree, which must be built).
 */
async function deployCopy(work: string, from: string, files: readonly string[]): Promise<string> {
  const dir = join(work, basename(from));
  await mkdir(join(dir, 'node_modules'), { recursive: true });
  for (const f of files) await copyFile(join(from, f), join(dir, f));
  await symlink(REPO, join(dir, 'node_modules', 'hpa-bridge'), 'dir');
  return dir;
}

/** deploy/knative/function, as `func` builds it; faas-js-runtime reads its func.yaml from there. */
export function knativeFunctionDirectory(work: string): Promise<string> {
  return deployCopy(work, FUNCTION_DEPLOY, ['index.js', 'package.json', 'func.yaml']);
}

/** deploy/cloud-run-function, as Cloud Build builds it. */
export function cloudRunFunctionDirectory(work: string): Promise<string> {
  return deployCopy(work, join(REPO, 'deploy', 'cloud-run-function'), ['index.js', 'package.json']);
}

/** The environment func.yaml gives the function (run.envs). */
export async function funcYamlEnv(): Promise<Record<string, string>> {
  const spec = parseYaml(await readFile(join(FUNCTION_DEPLOY, 'func.yaml'), 'utf8')) as { run?: { envs?: { name: string; value: string }[] } };
  return Object.fromEntries((spec.run?.envs ?? []).map((e) => [e.name, e.value]));
}

/** faas-js-runtime serving `entry` from `cwd` (where it reads func.yaml), at `/`. */
export async function faasCommand(entry: string, cwd: string, env: NodeJS.ProcessEnv): Promise<HostCommand> {
  const port = await freePort();
  return { name: 'faas-js-runtime', args: [FAAS_BIN, entry], env: baseEnv({ ...env, FUNC_PORT: String(port) }), cwd, port, path: '/' };
}

/** functions-framework serving the export `target` of `source` (a file, or a directory with a package.json main), at any path. */
export async function frameworkCommand(source: string, target: string, env: NodeJS.ProcessEnv): Promise<HostCommand> {
  const port = await freePort();
  return {
    name: 'functions-framework',
    args: [FRAMEWORK_BIN, `--target=${target}`, `--source=${source}`, `--port=${port}`],
    env: baseEnv({ NODE_ENV: 'production', ...env }),
    port,
    path: '/mutate',
  };
}

/** `hpa-bridge serve` with the webhook on plain HTTP; Prometheus is a closed port, which only discovery would ask. */
export async function serveCommand(rules: string, extraArgs: readonly string[] = []): Promise<HostCommand> {
  const port = await freePort();
  const args = [BIN, 'serve', '--rules', rules, '--prometheus-url', 'http://127.0.0.1:9', '--object-source', 'prometheus', '--authentication', 'none'];
  args.push('--bind-address', '127.0.0.1', '--secure-port', '0', '--metrics-port=-1', '--http-port', String(port), ...extraArgs);
  return { name: 'serve', args, env: baseEnv({}), port, path: '/mutate' };
}

export interface RunningHost {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** performance.now() just before the spawn. */
  readonly spawnedAt: number;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** The exit code once it has exited, else undefined. */
  exitCode(): number | null | undefined;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. */
  stop(): Promise<void>;
}

export function startHost(command: HostCommand): RunningHost {
  const spawnedAt = performance.now();
  const child: ChildProcess = spawn(process.execPath, command.args, { env: command.env, cwd: command.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exit: number | null | undefined;
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (output += c));
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code) => {
      exit = code;
      resolve();
    }),
  );
  return {
    name: command.name,
    url: `http://127.0.0.1:${command.port}${command.path}`,
    pid: child.pid ?? -1,
    spawnedAt,
    output: () => output,
    exitCode: () => exit,
    async stop() {
      if (exit !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface Sent {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

export interface Sending {
  readonly method?: string;
  readonly contentType?: string;
  /** One string or buffer is sent with a Content-Length; a list of chunks without one (chunked). */
  readonly body?: string | Buffer | readonly Buffer[];
}

/** One request on a fresh connection; rejects on a connection error (a host not listening yet). */
export function send(url: string, what: Sending = {}): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (what.contentType !== undefined) headers['content-type'] = what.contentType;
    const chunked = Array.isArray(what.body);
    if (!chunked && what.body !== undefined) headers['content-length'] = Buffer.byteLength(what.body as string | Buffer);
    const req = request(url, { method: what.method ?? 'POST', headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (chunked) {
      // The host may answer and stop reading before every chunk is out; the answer still counts.
      req.on('error', () => undefined);
      for (const c of what.body as readonly Buffer[]) req.write(c);
      req.end();
    } else req.end(what.body as string | Buffer | undefined);
  });
}

/**
 * Posts `body` until the host answers in a way `accept` takes, and returns
 * the milliseconds from spawn to that answer. Refused connections are
 * retried every `intervalMs`; any other answer fails at once, as does an
 * exit or `timeoutMs` passing.
 */
export async function firstAnswer(host: RunningHost, body: string, accept: (sent: Sent) => boolean, timeoutMs = 20_000, intervalMs = 5): Promise<number> {
  const deadline = host.spawnedAt + timeoutMs;
  for (;;) {
    const code = host.exitCode();
    if (code !== undefined) throw new Error(`${host.name} exited with ${String(code)} before answering:\n${host.output()}`);
    try {
      const sent = await send(host.url, { contentType: 'application/json', body });
      const at = performance.now();
      if (!accept(sent)) throw new Error(`${host.name} answered ${sent.status}: ${sent.text.slice(0, 500)}`);
      return at - host.spawnedAt;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ECONNREFUSED' && code !== 'ECONNRESET') throw e;
    }
    if (performance.now() > deadline) throw new Error(`${host.name} did not answer within ${timeoutMs} ms:\n${host.output()}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
