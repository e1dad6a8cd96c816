// `hpa-bridge lint PATH…`: the rule check platform teams run in CI before a
// change reaches a cluster. Exit codes: 0 clean or warnings only, 1 errors,
// 2 usage.
import { RESOURCE_METRICS_SERVED_GROUP } from '../adapter/documents.js';
import { EXAMPLE_NAMESPACE, exampleRequest, type CompiledRule } from '../rules/compile.js';
import { compareDiagnostics, formatDiagnostic, type Diagnostic } from '../rules/diagnostics.js';
import { loadRuleSet } from '../rules/load.js';
import { QueryBuildError, renderExternalQuery, renderSharedQuery } from '../rules/query.js';
import { ANY_LABEL, evaluationModeOf, externalEvaluationModeOf, externalSharedKeys } from '../rules/separability.js';
import { parseArgs, UsageError, type Output } from './args.js';

const LINT_USAGE = `Usage: hpa-bridge lint [--format text|json] [--print-queries] PATH...

Checks rule files (files or directories of *.yaml) and prints
  file:line:col: error|warning: path: message (code)
Exit status: 0 when clean or only warnings, 1 on errors, 2 on usage errors.

  --format json      machine-readable output
  --print-queries    show the PromQL each rule sends for an example request:
                     a pods wildcard with two pods in namespace "${EXAMPLE_NAMESPACE}",
                     and an external request with selector a=b; for custom
                     rules, whether wildcards share one query per namespace
                     (shared evaluation) or send their own, and why
`;

interface ExampleQuery {
  readonly rule: string;
  readonly file: string;
  readonly line: number;
  readonly request: string;
  readonly query?: string;
  readonly error?: string;
  /** How wildcard requests (custom rules) or metric selectors (external rules) are evaluated with --shared-evaluation left on, and why. */
  readonly evaluation?: 'shared' | 'per-request';
  readonly evaluationReason?: string;
  /** In shared evaluation, the query every wildcard in the namespace sends. */
  readonly sharedQuery?: string;
}

export async function runLint(argv: readonly string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { format: 'string', 'print-queries': 'boolean', help: 'boolean' });
  if (args.flags.help) {
    out.stdout(LINT_USAGE);
    return 0;
  }
  const format = (args.flags.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, not ${JSON.stringify(format)}`);
  if (args.positional.length === 0) throw new UsageError('lint needs at least one rule file or directory');

  const result = await loadRuleSet(args.positional);
  const diagnostics = [...result.errors, ...result.warnings].sort(compareDiagnostics);
  const queries = args.flags['print-queries'] ? [...result.compiled.rules, ...result.compiled.externalRules].map(exampleQueryFor) : undefined;
  // What the rules serve besides the metrics discovery finds: metrics.k8s.io, when they load.
  const resourceRules = result.ruleSet?.resourceRules?.origin;
  const { name: api, versions } = RESOURCE_METRICS_SERVED_GROUP;
  const serves = resourceRules ? [{ api, versions, resources: ['pods', 'nodes'], file: resourceRules.file, line: resourceRules.line }] : [];

  if (format === 'json') {
    out.stdout(
      `${JSON.stringify(
        {
          files: result.files,
          errors: result.errors.map(toJson),
          warnings: result.warnings.map(toJson),
          serves,
          ...(queries ? { queries } : {}),
        },
        null,
        2,
      )}\n`,
    );
  } else {
    for (const d of diagnostics) out.stdout(`${formatDiagnostic(d)}\n`);
    for (const s of serves) out.stdout(`${s.file}:${s.line}: serves ${s.api} ${s.versions.join(' and ')} (${s.resources.join(', ')}) from resourceRules\n`);
    if (queries) {
      for (const q of queries) {
        out.stdout(`\n${q.file}:${q.line}: ${q.rule}: ${q.request}\n`);
        out.stdout(q.query !== undefined ? `  ${q.query.trim().replace(/\n/g, '\n  ')}\n` : `  (no query: ${q.error ?? ''})\n`);
        if (q.evaluation) out.stdout(`  evaluation: ${q.evaluation === 'shared' ? 'shared' : 'per request'}: ${q.evaluationReason ?? ''}\n`);
        if (q.sharedQuery !== undefined) out.stdout(`  shared query: ${q.sharedQuery.trim().replace(/\n/g, '\n  ')}\n`);
      }
    }
    const e = result.errors.length;
    const w = result.warnings.length;
    out.stderr(`${e} error${e === 1 ? '' : 's'}, ${w} warning${w === 1 ? '' : 's'} in ${result.files.length} file${result.files.length === 1 ? '' : 's'}\n`);
  }
  return result.errors.length > 0 ? 1 : 0;
}

function toJson(d: Diagnostic): Record<string, unknown> {
  return { file: d.file, line: d.line, column: d.column, severity: d.severity, path: d.path, code: d.code, message: d.message };
}

function exampleQueryFor(rule: CompiledRule): ExampleQuery {
  const example = exampleRequest(rule);
  const base = { rule: rule.origin.path, file: rule.origin.file, line: rule.origin.line, request: example.description };
  try {
    return { ...base, query: example.render(), ...evaluationOf(rule, example) };
  } catch (e) {
    if (e instanceof QueryBuildError) return { ...base, error: e.message };
    throw e;
  }
}

/** How a custom rule's wildcards are evaluated under the default flags, and the shared query when they share one. */
function evaluationOf(rule: CompiledRule, example: ReturnType<typeof exampleRequest>): Pick<ExampleQuery, 'evaluation' | 'evaluationReason' | 'sharedQuery'> {
  const { resource, namespace, series } = example;
  if (rule.kind === 'external') return externalEvaluationOf(rule, example);
  if (!resource) return {};
  const mode = evaluationModeOf(rule, resource, { sharedEvaluation: true, namespaced: namespace !== undefined });
  if (!mode.shared) return { evaluation: 'per-request', evaluationReason: mode.reason };
  const sharedQuery = renderSharedQuery(rule, { series, resource, namespace, metricSelector: [] });
  return { evaluation: 'shared', evaluationReason: mode.reason, sharedQuery };
}

/** How an external rule's requests are evaluated: shared for metric selectors on the labels the query keeps. */
function externalEvaluationOf(rule: CompiledRule, example: ReturnType<typeof exampleRequest>): Pick<ExampleQuery, 'evaluation' | 'evaluationReason' | 'sharedQuery'> {
  const { namespace, series } = example;
  if (!rule.sharedEvaluation || !rule.namespaced || namespace === undefined) {
    return { evaluation: 'per-request', evaluationReason: externalEvaluationModeOf(rule, ['any'], { sharedEvaluation: true, namespace }).reason };
  }
  const { keys, refused } = externalSharedKeys(rule, { sharedEvaluation: true });
  if (keys.length === 0) {
    return { evaluation: 'per-request', evaluationReason: refused ? `metric selectors: ${refused.reason}` : 'the query names no label it keeps per series' };
  }
  const others = refused ? `; selectors on other labels are per request (${refused.reason})` : '';
  return {
    evaluation: 'shared',
    evaluationReason:
      keys[0] === ANY_LABEL ? 'for metric selectors on any label: the query keeps every label of its series' : `for metric selectors on ${keys.join(', ')}, which the query keeps per series${others}`,
    sharedQuery: renderExternalQuery(rule, { series, namespace, metricSelector: [] }),
  };
}
