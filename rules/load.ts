// Loading a rule set from files and directories (see rule-files.ts) and
// compiling every section of it.
import { compileRuleFiles, type CompiledRules } from './compile.js';
import { DiagnosticList, type Diagnostic } from './diagnostics.js';
import { StaticResourceCatalog, type ResourceCatalog } from './resources.js';
import { decodeRuleTexts, digestOf, readRuleTexts, type RuleText } from './rule-files.js';

export interface RuleSet extends CompiledRules {
  /** The files the set was read from, in load order. */
  readonly files: readonly string[];
  /** Hash of the files' contents, to tell a real change from a touch. */
  readonly digest: string;
}

export interface LoadResult {
  /** Present only when there are no errors. */
  readonly ruleSet: RuleSet | undefined;
  /** The rules that compiled, even when others did not; for lint output only, never for serving. */
  readonly compiled: CompiledRules;
  readonly errors: readonly Diagnostic[];
  readonly warnings: readonly Diagnostic[];
  readonly files: readonly string[];
  readonly digest: string;
}

/** Parses and validates rule texts. Pure apart from the diagnostics it returns. */
export function compileRuleTexts(texts: readonly RuleText[], catalog: ResourceCatalog = new StaticResourceCatalog()): LoadResult {
  const diagnostics = new DiagnosticList();
  return compileInto(texts, catalog, diagnostics);
}

function compileInto(texts: readonly RuleText[], catalog: ResourceCatalog, diagnostics: DiagnosticList): LoadResult {
  const compiled = compileRuleFiles(decodeRuleTexts(texts, diagnostics), catalog, diagnostics);
  const files = texts.map((t) => t.file);
  const digest = digestOf(texts);
  return {
    ruleSet: diagnostics.hasErrors ? undefined : { ...compiled, files, digest },
    compiled,
    errors: diagnostics.errors,
    warnings: diagnostics.warnings,
    files,
    digest,
  };
}

/** Reads, parses and validates every rule file under `paths`. Never throws on bad input. */
export async function loadRuleSet(paths: readonly string[], catalog: ResourceCatalog = new StaticResourceCatalog()): Promise<LoadResult> {
  const diagnostics = new DiagnosticList();
  const texts = await readRuleTexts(paths, diagnostics);
  return compileInto(texts, catalog, diagnostics);
}
