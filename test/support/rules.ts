// Helpers for tests that compile rule text held in the test itself.
import { compileRuleTexts, type LoadResult } from '../../rules/load.js';
import { formatDiagnostic } from '../../rules/diagnostics.js';
import type { CompiledRule } from '../../rules/compile.js';

export function compileYaml(text: string, file = 'rules.yaml'): LoadResult {
  return compileRuleTexts([{ file, text }]);
}

/** Compiles text that must load, and returns its only rule. */
export function onlyRule(text: string): CompiledRule {
  const result = compileYaml(text);
  if (!result.ruleSet) {
    throw new Error(`rules did not load:\n${result.errors.map(formatDiagnostic).join('\n')}`);
  }
  const all = [...result.ruleSet.rules, ...result.ruleSet.externalRules];
  if (all.length !== 1) throw new Error(`expected one rule, got ${all.length}`);
  return all[0] as CompiledRule;
}

export function formatted(result: LoadResult): { errors: string[]; warnings: string[] } {
  return { errors: result.errors.map(formatDiagnostic), warnings: result.warnings.map(formatDiagnostic) };
}
