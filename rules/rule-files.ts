// Rule files from the paths given: listing, reading and decoding, shared by
// the full loader (load.ts) and the defaults-only one (defaults-files.ts). A
// directory holds one file per team; in a Kubernetes ConfigMap mount its
// entries are symlinks into a `..data` directory, and the dot-entries are the
// mount's own bookkeeping.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { DecodedRuleFile } from './compile.js';
import type { DiagnosticList } from './diagnostics.js';
import { decodeNode, ruleFileSpec } from './schema.js';
import { parseYamlSource, type YamlNode } from './yaml-source.js';

export interface RuleText {
  readonly file: string;
  readonly text: string;
}

const RULE_FILE = /\.ya?ml$/i;

/** Expands the paths given on the command line to the rule files they hold, sorted within each directory. */
async function listRuleFiles(paths: readonly string[], diagnostics: DiagnosticList): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch (e) {
      diagnostics.error({ file: path, line: 1, column: 1 }, '', 'unreadable', `cannot read rule path: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      continue;
    }
    if (!info.isDirectory()) {
      files.push(path);
      continue;
    }
    const entries = (await readdir(path)).filter((n) => !n.startsWith('.') && RULE_FILE.test(n)).sort();
    for (const name of entries) {
      const full = join(path, name);
      try {
        if ((await stat(full)).isFile()) files.push(full);
      } catch {
        // A dangling symlink mid-swap in a ConfigMap mount; the next reload sees the new target.
      }
    }
  }
  return [...new Set(files)];
}

/** The texts of every rule file under `paths`; what cannot be read, or no file at all, is an error in `diagnostics`. */
export async function readRuleTexts(paths: readonly string[], diagnostics: DiagnosticList): Promise<RuleText[]> {
  const files = await listRuleFiles(paths, diagnostics);
  if (files.length === 0 && !diagnostics.hasErrors) {
    diagnostics.error({ file: paths.join(', ') || '.', line: 1, column: 1 }, '', 'no-files', 'no rule files (*.yaml, *.yml) found');
  }
  const out: RuleText[] = [];
  for (const file of files) {
    try {
      out.push({ file, text: await readFile(file, 'utf8') });
    } catch (e) {
      diagnostics.error({ file, line: 1, column: 1 }, '', 'unreadable', `cannot read rule file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return out;
}

/** Hash of the files' names and contents, to tell a real change from a touch. */
export function digestOf(texts: readonly RuleText[]): string {
  const h = createHash('sha256');
  for (const t of texts) h.update(t.file).update('\0').update(t.text).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** Parses each text as YAML and decodes it against the rule-file format; problems go to `diagnostics`. */
export function decodeRuleTexts(texts: readonly RuleText[], diagnostics: DiagnosticList): DecodedRuleFile[] {
  const decoded: DecodedRuleFile[] = [];
  for (const { file, text } of texts) {
    const before = diagnostics.errors.length;
    const source = parseYamlSource(file, text, diagnostics);
    // A file that is not valid YAML is reported once; checking its half-parsed
    // contents would only add errors that follow from the first.
    if (diagnostics.errors.length > before) {
      decoded.push({ file, root: undefined });
      continue;
    }
    const contents = (source.document?.contents ?? null) as YamlNode | null;
    const root = decodeNode(source, contents, ruleFileSpec, '', diagnostics);
    if (root === undefined && !diagnostics.hasErrors) {
      diagnostics.warning({ file, line: 1, column: 1 }, '', 'empty-file', `${basename(file)} holds no rules`);
    }
    decoded.push({ file, root: root?.kind === 'object' ? root : undefined });
  }
  return decoded;
}
