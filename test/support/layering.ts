// Which top-level folder may import which, checked from the import
// statements of the source files (after VS Code's code-layering rule). A pure
// function of the files' paths and texts, so a test can feed it a synthetic
// tree as well as the real one. The allowed graph is written out in the
// README's Layout section; keep the two in step.
import { posix } from 'node:path';
import ts from 'typescript';

export interface SourceText {
  /** Relative to the repository root, with '/' separators: `adapter/router.ts`. */
  readonly path: string;
  readonly text: string;
}

export interface LayeringFinding {
  readonly path: string;
  /** 1-based line of the import specifier. */
  readonly line: number;
  readonly specifier: string;
  /** The top-level folder the specifier resolves to; '..' when it leaves the repository. */
  readonly target: string;
  /** The rule the import breaks, in words. */
  readonly rule: string;
}

interface Layer {
  /** Folders this one may import besides itself; undefined means any. */
  readonly mayImport?: readonly string[];
  /** Folders it must never import, when mayImport is undefined. */
  readonly mustNotImport?: readonly string[];
  /** Paths (prefixes) it may import even inside a folder it must not. */
  readonly except?: readonly string[];
  readonly rule: string;
}

/** The checked folders and what each may import. */
export const LAYERS: Readonly<Record<string, Layer>> = {
  k8s: { mayImport: [], rule: 'k8s/ imports nothing of ours (only node: built-ins and npm packages)' },
  rules: { mayImport: ['k8s'], rule: 'rules/ imports only k8s/' },
  adapter: { mayImport: ['rules', 'k8s'], rule: 'adapter/ imports only rules/ and k8s/ (never webhook/ or cli/)' },
  webhook: { mayImport: ['rules', 'k8s'], rule: 'webhook/ imports only rules/ and k8s/ (never adapter/ or cli/)' },
  hpa: { mayImport: ['k8s'], rule: 'hpa/ imports only k8s/' },
  explain: { mayImport: ['hpa', 'rules', 'k8s'], rule: 'explain/ imports only hpa/, rules/ and k8s/ (never adapter/, webhook/ or cli/)' },
  cli: { rule: 'cli/ may import anything' },
  // The benchmarks drive the product with the harness the integration tests
  // use (a real Prometheus, the exporter, the Kubernetes API double).
  bench: { mustNotImport: ['test'], except: ['test/support/'], rule: 'bench/ may import anything but test/ (test/support/ excepted)' },
};

const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function topFolder(path: string): string {
  return path.split('/')[0] ?? '';
}

function allowed(layer: Layer, from: string, target: string, resolved: string): boolean {
  if (target === from) return true;
  if ((layer.except ?? []).some((prefix) => resolved.startsWith(prefix))) return true;
  if (layer.mayImport !== undefined) return layer.mayImport.includes(target);
  return !(layer.mustNotImport ?? []).includes(target);
}

/**
 * Every import of a checked folder's source file that goes where its layer
 * may not: static `import … from`, `export … from`, bare `import '…'` and
 * dynamic `import('…')`. Specifiers that are not relative (npm packages,
 * node: built-ins) are always allowed.
 */
export function checkLayering(files: readonly SourceText[]): LayeringFinding[] {
  const findings: LayeringFinding[] = [];
  for (const file of files) {
    const from = topFolder(file.path);
    const layer = LAYERS[from];
    if (layer === undefined || !SOURCE.test(file.path)) continue;
    const { importedFiles } = ts.preProcessFile(file.text, true, true);
    for (const ref of importedFiles) {
      const specifier = ref.fileName;
      if (!specifier.startsWith('./') && !specifier.startsWith('../')) continue;
      const resolved = posix.normalize(posix.join(posix.dirname(file.path), specifier));
      const target = resolved.startsWith('../') ? '..' : topFolder(resolved);
      if (allowed(layer, from, target, resolved)) continue;
      findings.push({ path: file.path, line: lineAt(file.text, ref.pos), specifier, target, rule: layer.rule });
    }
  }
  return findings;
}

/** `adapter/x.ts:3: imports '../webhook/y.js' (webhook/): adapter/ imports only …` */
export function formatFinding(f: LayeringFinding): string {
  const where = f.target === '..' ? 'outside the repository' : `${f.target}/`;
  return `${f.path}:${f.line}: imports '${f.specifier}' (${where}), but ${f.rule}`;
}
