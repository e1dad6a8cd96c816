// The real helm binary the chart tests run: $HELM, then .tools/helm (what
// scripts/install-helm.sh puts there), then `helm` on PATH. Like kubectl
// (test/support/kubectl.ts), a missing helm skips the tests that need it
// with the reason, except in CI (CI set), where they fail: .ci/run installs
// it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executable, findOnPath } from './kubectl.js';
import { REPO, parseManifests, type JsonObject, type Sourced } from './manifests.js';

export const HELM_INSTALL_COMMAND = 'scripts/install-helm.sh';
export const CHART = join(REPO, 'deploy', 'helm', 'hpa-bridge');

/** The helm binary to run, or undefined when there is none. */
export function findHelm(): string | undefined {
  const fromEnv = process.env.HELM;
  if (fromEnv) return executable(fromEnv) ? fromEnv : undefined;
  const tool = join(REPO, '.tools', 'helm');
  if (executable(tool)) return tool;
  return findOnPath('helm');
}

/** The `skip` option of a test that needs helm: false when it is there, and in CI (where requireHelm() then fails); a reason otherwise. */
export function helmSkip(): string | false {
  if (findHelm() || process.env.CI) return false;
  return `helm is not installed (run ${HELM_INSTALL_COMMAND}, or set HELM)`;
}

/** The path of helm; throws, naming the fix, when there is none. */
export function requireHelm(): string {
  const helm = findHelm();
  if (!helm) throw new Error(`helm is not installed and these tests need it: run ${HELM_INSTALL_COMMAND} (or set HELM to a helm binary)`);
  return helm;
}

export interface HelmRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `helm template RELEASE CHART -n NAMESPACE -f FILE... -f VALUES`: each file,
 * then `values` (written to a temporary file), as helm merges them.
 */
export interface TemplateOptions {
  /** The chart directory; hpa-bridge's by default. */
  readonly chart?: string;
  readonly values?: JsonObject;
  readonly files?: readonly string[];
  readonly release?: string;
  readonly namespace?: string;
  /** Render only this template (`--show-only`), e.g. templates/configmap.yaml. */
  readonly showOnly?: string;
}

export function helmTemplate(options: TemplateOptions = {}): HelmRun {
  const helm = requireHelm();
  const dir = mkdtempSync(join(tmpdir(), 'hpa-bridge-helm-'));
  try {
    const args = ['template', options.release ?? 'hpa-bridge', options.chart ?? CHART, '-n', options.namespace ?? 'hpa-bridge'];
    if (options.showOnly) args.push('--show-only', options.showOnly);
    for (const f of options.files ?? []) args.push('-f', f);
    if (options.values) {
      // JSON is YAML that helm's YAML 1.1 parser cannot misread (an unquoted no is false there).
      const file = join(dir, 'values.json');
      writeFileSync(file, JSON.stringify(options.values));
      args.push('-f', file);
    }
    // HOME and the XDG directories point into the temporary directory: helm reads no configuration of the machine's.
    const env = { PATH: process.env.PATH ?? '', HOME: dir, XDG_CACHE_HOME: dir, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir };
    const run = spawnSync(helm, args, { encoding: 'utf8', env, maxBuffer: 32 * 1024 * 1024, timeout: 60_000 });
    if (run.error) throw run.error;
    return { code: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The objects `helm template` renders, each with its template file; throws with helm's message when it fails. */
export function renderChart(options: TemplateOptions = {}): Sourced[] {
  const run = helmTemplate(options);
  if (run.code !== 0) throw new Error(`helm template failed (${run.code}): ${run.stderr}`);
  const out: Sourced[] = [];
  // helm starts each document with "---\n# Source: CHART/templates/FILE".
  for (const doc of run.stdout.split(/^---$/m)) {
    const file = /^# Source: (.+)$/m.exec(doc)?.[1] ?? 'helm template';
    for (const object of parseManifests(doc, file)) out.push({ object, file });
  }
  return out;
}
