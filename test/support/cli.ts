// The real `hpa-bridge` command as a child process, with an environment of
// the test's choosing (HOME without a kubeconfig, no KUBERNETES_SERVICE_HOST).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../../bin/hpa-bridge.js', import.meta.url));

/** PATH and the given HOME only: no KUBECONFIG, not in a cluster, no HPA_BRIDGE_* flags. */
export function cleanEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, ...extra };
}

export interface CliRun {
  readonly code: number | null;
  readonly stderr: string;
}

/** Runs the command to its end; rejects when it is still running after `timeoutMs`. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

export interface ServingCli {
  /** The secure port's URL, from the "serving" log line. */
  readonly url: string;
  /** Everything written to stderr so far. */
  log(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `hpa-bridge serve ...` (with --log-level info or lower) and
 * resolves once it logs "serving". `program` is the path node is given, for
 * a link to BIN under another name; default BIN itself.
 */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000, program = BIN): Promise<ServingCli> {
  const child: ChildProcess = spawn(process.execPath, [program, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no "serving" line within ${timeoutMs} ms:\n${log}`));
    }, timeoutMs);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before serving:\n${log}`));
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      log += chunk;
      const m = log.includes('"msg":"serving"') ? /"url":"(https:\/\/[^"]+)"/.exec(log) : null;
      if (m?.[1]) {
        clearTimeout(timer);
        resolve({
          url: m[1],
          log: () => log,
          stop: async () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
  });
}

/** One line on stderr, the exit code, no stack trace, and every mention present; returns the problems found. */
export function oneLineProblems(r: CliRun, code: number, mentions: readonly (string | RegExp)[]): string[] {
  const problems: string[] = [];
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  if (r.code !== code) problems.push(`exit code ${r.code}, expected ${code}`);
  if (lines.length !== 1) problems.push(`${lines.length} lines on stderr, expected 1`);
  if (/^ {4}at /m.test(r.stderr)) problems.push('a stack trace');
  for (const m of mentions) {
    const found = typeof m === 'string' ? r.stderr.includes(m) : m.test(r.stderr);
    if (!found) problems.push(`no mention of ${String(m)}`);
  }
  return problems;
}
