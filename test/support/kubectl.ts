// The real kubectl binaries tests run: `kubectl` from PATH, and
// kubectl.1.<minor> next to the file `kubectl` resolves to (the Google Cloud
// SDK installs kubectl.1.27 ... kubectl.1.33 there). In CI (CI set) a
// missing kubectl fails the tests that need it instead of skipping them:
// .ci/run installs Debian's kubernetes-client for them.
import { execFile, spawnSync } from 'node:child_process';
import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

export const KUBECTL_INSTALL_COMMAND = 'apt-get install -y kubernetes-client';

/** The minor versions looked for beside `kubectl`. */
export const KUBECTL_MINORS: readonly number[] = [27, 28, 29, 30, 31, 32, 33];

export function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The absolute path of an executable `name` on PATH, or undefined. */
export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

/** The absolute path of `kubectl` on PATH, or undefined. */
export function findKubectl(): string | undefined {
  return findOnPath('kubectl');
}

/** kubectl.1.<minor> beside the file `kubectl` links to, or undefined. */
export function findVersionedKubectl(minor: number): string | undefined {
  const kubectl = findKubectl();
  if (!kubectl) return undefined;
  const candidate = join(dirname(realpathSync(kubectl)), `kubectl.1.${minor}`);
  return executable(candidate) ? candidate : undefined;
}

/**
 * The `skip` option of a test that needs kubectl: false when it is
 * installed, and also false in CI, where the test then fails through
 * requireKubectl(); a reason otherwise.
 */
export function kubectlSkip(): string | false {
  if (findKubectl() || process.env.CI) return false;
  return `kubectl is not installed (${KUBECTL_INSTALL_COMMAND})`;
}

/** The path of `kubectl`; throws, naming the fix, when it is not installed. */
export function requireKubectl(): string {
  const kubectl = findKubectl();
  if (!kubectl) throw new Error(`kubectl is not installed and these tests need it: run '${KUBECTL_INSTALL_COMMAND}'`);
  return kubectl;
}

export interface KubectlRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `binary args` to its end with HOME set to `home` and no KUBECONFIG from the environment. */
export function runKubectl(binary: string, args: readonly string[], home: string, timeoutMs = 60_000): Promise<KubectlRun> {
  return new Promise((resolve, reject) => {
    execFile(binary, [...args], { timeout: timeoutMs, env: { PATH: process.env.PATH ?? '', HOME: home }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(new Error(`${binary} ${args.join(' ')}: ${err.message}\n${stderr}`));
        return;
      }
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

/** The client's minor version (`32` for v1.32.4), or undefined when it cannot be read. */
export function kubectlClientMinor(binary: string): number | undefined {
  const run = spawnSync(binary, ['version', '--client', '-o', 'json'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  try {
    const minor = Number.parseInt((JSON.parse(run.stdout) as { clientVersion?: { minor?: string } }).clientVersion?.minor ?? '', 10);
    return Number.isNaN(minor) ? undefined : minor;
  } catch {
    return undefined;
  }
}

/**
 * The `skip` option of a test that runs `kubectl kustomize`: kubectlSkip(),
 * and also a reason when kubectl is older than 1.21, whose built-in
 * kustomize (v2.0.3) cannot read a kustomization's `patches` field
 * (Debian bookworm's kubernetes-client is 1.20).
 */
export function kubectlKustomizeSkip(): string | false {
  const skip = kubectlSkip();
  const kubectl = findKubectl();
  if (skip !== false || !kubectl) return skip;
  const minor = kubectlClientMinor(kubectl);
  return minor !== undefined && minor < 21 ? `kubectl 1.${minor} embeds kustomize v2.0.3, which cannot build these kustomizations; kubectl 1.21 or newer is needed` : false;
}
