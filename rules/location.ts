// Where a rule or a problem sits, named relative to the --rules path its file
// came from: `team-a.yaml:12` rather than `/etc/hpa-bridge/rules/..data/team-a.yaml:12`.
// Such names are what unauthenticated readers (/readyz?verbose) and metric
// labels may show: they reveal no directory layout, and they stay the same
// when the mount point moves or the files are listed in another order.
import { basename, isAbsolute, relative, resolve, sep } from 'node:path';
import type { SourcePosition } from './diagnostics.js';

/**
 * `file` relative to the first of `roots` (the --rules paths) that holds it;
 * a root that is a file itself is named by its base name, and a file under
 * no root (which the loader never produces) by its base name too.
 */
export function relativeRuleFile(file: string, roots: readonly string[]): string {
  const full = resolve(file);
  for (const root of roots) {
    const base = resolve(root);
    if (full === base) return basename(full);
    const rel = relative(base, full);
    if (rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel)) return rel.split(sep).join('/');
  }
  return basename(full);
}

/** `file:line` of a rule, relative to its --rules path. */
export function ruleLocation(at: Pick<SourcePosition, 'file' | 'line'>, roots: readonly string[]): string {
  return `${relativeRuleFile(at.file, roots)}:${at.line}`;
}

/** `file:line:col` of a diagnostic, relative to its --rules path. */
export function diagnosticLocation(at: SourcePosition, roots: readonly string[]): string {
  return `${relativeRuleFile(at.file, roots)}:${at.line}:${at.column}`;
}
