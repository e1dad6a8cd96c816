// Helpers for tests that compile rule text held in the test itself.
import { compileRuleTexts, type LoadResult } from '../../rules/load.js';
import { formatDiagnostic } from '../../rules/diagnostics.js';
import type { CompiledRule } from '../../rules/compile.js';
import { StaticResourceCatalog } from '../../rules/resources.js';
import { buildRegistry } from '../../adapter/discovery.js';
import { seriesSummary } from './fakes.js';

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

/**
 * The registry keys (`resource/metric`, `external/metric`) that the rules in
 * `text` publish for these series (name -> label names). Plain data in and
 * out, so it can run on a worker thread (see worker.ts).
 */
export function publishedMetricKeys(text: string, series: Readonly<Record<string, readonly string[]>>): string[] {
  const result = compileYaml(text);
  if (!result.ruleSet) throw new Error(`rules did not load:\n${result.errors.map(formatDiagnostic).join('\n')}`);
  const rules = result.ruleSet;
  const summaries = new Map([...rules.rules, ...rules.externalRules].map((r) => [r.seriesQuery, seriesSummary(series)]));
  const registry = buildRegistry(rules, summaries, new StaticResourceCatalog(), new Date(0));
  return [...registry.custom.keys(), ...[...registry.external.keys()].map((k) => `external/${k}`)].sort();
}
