// Whether one query for every object of a namespace can stand in for the
// query each wildcard request sends for its own objects. The HPA controller
// asks for every HPA every 15 s, each with its own label selector; when a
// rule's query is object-separable, the answer for any set of objects is the
// namespace-wide answer filtered to those objects, so one query (shared
// through the query cache) serves every HPA of the namespace.
//
// Definition. Let L be the label the rule maps to the requested resource.
// The query is object-separable for L when, for every object name n, the
// sample the query returns for L=n is the same whether its selectors are
// narrowed to the names asked for (L=~"a|b|…") or not filtered on L at all
// (the shared query, rules/query.ts renderSharedQuery). Series without L
// then form their own partition, whose samples lack L and answer no request. It is decided from the syntax tree of the
// query rendered for placeholder object names, never from the template text,
// since templates may spell one query in many ways.
//
// Accepted grammar. An expression is *partitioned* when each output series
// carries L and is computed only from input series with that same value of
// L; *constant* when it reads no series. The query is separable when its
// whole expression is partitioned and the object names appear only where a
// name filter can be widened:
//
//   partitioned :=
//       selector                   a series selector with a matcher L=~"<names>"
//                                  (from <<.LabelMatchers>>, or from
//                                  <<index .LabelValuesByName "L">> after =~)
//     | partitioned[range]         matrix selector
//     | partitioned[range:step]    subquery
//     | partitioned offset d | partitioned @ t | ( partitioned ) | -partitioned
//     | f(partitioned, constant…)  f per series: rate irate increase delta idelta
//                                  deriv predict_linear double_exponential_smoothing
//                                  changes resets <x>_over_time (not absent_over_time)
//                                  abs ceil floor round sqrt exp ln log2 log10 sgn
//                                  clamp clamp_min clamp_max, trigonometry, deg rad
//                                  timestamp sort sort_desc sort_by_label(_desc)
//                                  histogram_count/sum/avg/stddev/stdvar/fraction
//                                  day_of_month … year with an argument
//     | histogram_quantile(constant, partitioned)   when L is not `le`
//     | label_replace(partitioned, "dst", …)        when dst is not L
//     | label_join(partitioned, "dst", …)           likewise
//     | agg by (…L…) (partitioned)                  agg: sum avg min max count group
//     | agg without (…) (partitioned)               stddev stdvar, and with a
//                                                   constant first argument topk
//                                                   bottomk quantile count_values;
//                                                   `without` must not list L,
//                                                   count_values' label must not be L
//     | partitioned op constant | constant op partitioned
//     | partitioned op partitioned                  with no matching clause,
//                                                   on(…L…) or ignoring(…) without L,
//                                                   group_left/group_right allowed
//   constant := number | string | time() | pi() | constant op constant | ( constant ) | -constant
//
// Why the aggregations and joins hold: `by` with L and `without` without L
// form groups whose series share one value of L, so each group's value (a
// sum, a top k, a quantile) is computed inside one object; a vector match
// that keeps L in its matching labels pairs series of the same object only,
// and group_left/group_right only copy labels across such a pair. Everything
// else is not separable: aggregations over objects (no `by`, `by` without
// L, `without (L)`), matching that ignores L (`on()`, `ignoring(L)`),
// scalar(), vector(), absent(), absent_over_time(), label_replace writing L,
// experimental constructs (limitk, limit_ratio, info, fill modifiers,
// anchored/smoothed ranges, trim operators), functions not listed, and any
// query that does not parse. A selector without the name matcher is not
// accepted either: its series would reach other objects' results in one mode
// and not the other; a query whose selectors never use the names already
// sends one query for every request and gains nothing.
//
// Postfix operators ([range], offset, @) are transparent to the verdict, so
// the lezer grammar binding them more loosely than Prometheus does (it may
// wrap `a / b[5m]` as `(a / b)[5m]`) cannot change it.
//
// Errors are the one difference left: a query that fails as a whole (a
// many-to-one match with duplicates, a label_replace producing duplicate
// series) can fail over the namespace for one object's series and not over
// another request's names; the caller falls back to the per-request query
// when the shared one is rejected.
import { parser } from '@prometheus-io/lezer-promql';
import { alternationOf, unquote } from './promql.js';
import { QueryBuildError, renderExternalQuery, renderMetricsQuery, type QueryTemplate } from './query.js';
import { NAMESPACES, type GroupResource } from './resources.js';

export interface Separability {
  readonly separable: boolean;
  /** Why, in words, for `lint --print-queries` and the logs. */
  readonly reason: string;
}

/** Object names rendered into the query to find where names go; no label value of a real object looks like them. */
export const PLACEHOLDER_NAMES = ['hpa_bridge_object_1', 'hpa_bridge_object_2'] as const;
const PLACEHOLDER_NAMESPACE = 'hpa-bridge-namespace';
const PLACEHOLDER_SERIES = 'hpa_bridge_series';

type SyntaxNode = NonNullable<ReturnType<typeof parser.parse>['topNode']['firstChild']>;

type Verdict = { readonly kind: 'partitioned' } | { readonly kind: 'constant' } | { readonly kind: 'no'; readonly reason: string };

const PARTITIONED: Verdict = { kind: 'partitioned' };
const CONSTANT: Verdict = { kind: 'constant' };
const no = (reason: string): Verdict => ({ kind: 'no', reason });

// Functions computing each output series from one input series, keeping its labels (lezer node names).
const PER_SERIES_FUNCTIONS = new Set([
  'Rate',
  'Irate',
  'Increase',
  'Delta',
  'Idelta',
  'Deriv',
  'PredictLinear',
  'DoubleExponentialSmoothing',
  'Changes',
  'Resets',
  'AvgOverTime',
  'MinOverTime',
  'MaxOverTime',
  'SumOverTime',
  'CountOverTime',
  'StddevOverTime',
  'StdvarOverTime',
  'LastOverTime',
  'FirstOverTime',
  'PresentOverTime',
  'QuantileOverTime',
  'MadOverTime',
  'TsOfFirstOverTime',
  'TsOfMaxOverTime',
  'TsOfMinOverTime',
  'TsOfLastOverTime',
  'Abs',
  'Ceil',
  'Floor',
  'Round',
  'Sqrt',
  'Exp',
  'Ln',
  'Log2',
  'Log10',
  'Sgn',
  'Clamp',
  'ClampMin',
  'ClampMax',
  'Acos',
  'Acosh',
  'Asin',
  'Asinh',
  'Atan',
  'Atanh',
  'Cos',
  'Cosh',
  'Sin',
  'Sinh',
  'Tan',
  'Tanh',
  'Deg',
  'Rad',
  'Timestamp',
  'Sort',
  'SortDesc',
  'SortByLabel',
  'SortByLabelDesc',
  'HistogramCount',
  'HistogramSum',
  'HistogramAvg',
  'HistogramStdDev',
  'HistogramStdVar',
  'HistogramFraction',
  'DaysInMonth',
  'DayOfMonth',
  'DayOfWeek',
  'DayOfYear',
  'Hour',
  'Minute',
  'Month',
  'Year',
]);
const CONSTANT_FUNCTIONS = new Set(['Time', 'Pi']);
const GROUPING_AGGREGATIONS = new Set(['Sum', 'Avg', 'Min', 'Max', 'Count', 'Group', 'Stddev', 'Stdvar']);
const PARAMETER_AGGREGATIONS = new Set(['Topk', 'Bottomk', 'Quantile', 'CountValues']);
const REFUSED_FUNCTIONS: Readonly<Record<string, string>> = {
  Scalar: 'scalar() turns the result into one number for every object',
  Vector: 'vector() makes a series without the object label',
  Absent: 'absent() answers with one series built from the matchers, not one per object',
  AbsentOverTime: 'absent_over_time() answers with one series built from the matchers, not one per object',
};

/**
 * Classifies a query rendered for the placeholder names (PLACEHOLDER_NAMES)
 * with `objectLabel` as the label of the requested resource.
 */
export function classifyQuery(query: string, objectLabel: string, names: readonly string[] = PLACEHOLDER_NAMES): Separability {
  const tree = parser.parse(query);
  let broken: number | undefined;
  tree.iterate({
    enter(node) {
      if (node.type.isError && broken === undefined) broken = node.from;
    },
  });
  if (broken !== undefined) return { separable: false, reason: `the query does not parse (near offset ${broken})` };
  const ctx: Context = { query, label: objectLabel, alternation: alternationOf(names), nameFilters: [] };
  const top = tree.topNode.firstChild;
  if (!top) return { separable: false, reason: 'the query is empty' };
  const verdict = analyse(ctx, top);
  if (verdict.kind === 'no') return { separable: false, reason: verdict.reason };
  if (verdict.kind === 'constant') return { separable: false, reason: 'the query reads no series' };
  const stray = strayName(query, names, ctx.nameFilters);
  if (stray !== undefined) {
    return {
      separable: false,
      reason: `the object names reach the query outside a ${objectLabel}=~"…" matcher (at offset ${stray}), so the query for every object would differ in more than its name filter`,
    };
  }
  return { separable: true, reason: `every value is computed from the series of one ${objectLabel} and keeps ${objectLabel}` };
}

/**
 * Renders the rule's query for a wildcard over placeholder objects of
 * `resource` and classifies it. A rule that cannot render such a request is
 * not separable for it, with the rendering error as the reason.
 */
export function ruleSeparability(rule: QueryTemplate, resource: GroupResource): Separability {
  const label = rule.resources.labelFor(resource);
  if (label === undefined) return { separable: false, reason: `the rule maps no label to ${resource.resource}` };
  let query: string;
  try {
    query = renderMetricsQuery(rule, {
      series: PLACEHOLDER_SERIES,
      resource,
      namespace: rule.resources.labelFor(NAMESPACES) !== undefined ? PLACEHOLDER_NAMESPACE : undefined,
      names: PLACEHOLDER_NAMES,
      metricSelector: [],
    });
  } catch (e) {
    if (e instanceof QueryBuildError) return { separable: false, reason: `the query cannot be rendered: ${e.message}` };
    throw e;
  }
  if (!PLACEHOLDER_NAMES.some((n) => query.includes(n))) {
    return { separable: false, reason: 'the query does not narrow to the objects asked for, so every request already sends the same query' };
  }
  return classifyQuery(query, label);
}

interface Context {
  readonly query: string;
  readonly label: string;
  readonly alternation: string;
  /** [from, to) of the string literals that are name filters on the object label. */
  readonly nameFilters: [number, number][];
}

const text = (ctx: Context, node: SyntaxNode): string => ctx.query.slice(node.from, node.to);

function children(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
}

const isExpr = (node: SyntaxNode): boolean => node.type.is('Expr');

function analyse(ctx: Context, node: SyntaxNode): Verdict {
  switch (node.name) {
    case 'NumberDurationLiteral':
    case 'StringLiteral':
      return CONSTANT;
    case 'ParenExpr':
    case 'UnaryExpr':
    case 'MatrixSelector':
    case 'SubqueryExpr':
    case 'OffsetExpr':
    case 'StepInvariantExpr': {
      const inner = children(node).find(isExpr);
      return inner ? analyse(ctx, inner) : no(`an empty ${node.name}`);
    }
    case 'VectorSelector':
      return selector(ctx, node);
    case 'FunctionCall':
      return functionCall(ctx, node);
    case 'AggregateExpr':
      return aggregation(ctx, node);
    case 'BinaryExpr':
      return binary(ctx, node);
    case 'AnchoredExpr':
    case 'SmoothedExpr':
      return no(`the experimental ${node.name === 'AnchoredExpr' ? 'anchored' : 'smoothed'} range modifier is not analysed`);
    default:
      return no(`${node.name} is not analysed`);
  }
}

function selector(ctx: Context, node: SyntaxNode): Verdict {
  let filtered = false;
  for (const m of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
    const label = m.getChild('LabelName');
    const op = m.getChild('MatchOp');
    const value = m.getChild('StringLiteral');
    if (!label || !op || !value) continue;
    if (text(ctx, label) !== ctx.label || text(ctx, op) !== '=~') continue;
    if (unquote(text(ctx, value)) !== ctx.alternation) continue;
    ctx.nameFilters.push([value.from, value.to]);
    filtered = true;
  }
  if (!filtered) return no(`the selector ${text(ctx, node)} does not filter on ${ctx.label} by the names asked for, so its series would reach other objects' values in one mode and not the other`);
  return PARTITIONED;
}

/** `verdicts` of a call's arguments: exactly one partitioned, the others constant. */
function onePartitioned(verdicts: readonly Verdict[], what: string): Verdict {
  const refused = verdicts.find((v) => v.kind === 'no');
  if (refused) return refused;
  const partitioned = verdicts.filter((v) => v.kind === 'partitioned').length;
  if (partitioned === 1) return PARTITIONED;
  if (partitioned === 0) return no(`${what} reads no series of the objects`);
  return no(`${what} takes several series arguments`);
}

function functionCall(ctx: Context, node: SyntaxNode): Verdict {
  const fn = node.getChild('FunctionIdentifier')?.firstChild;
  const name = fn ? fn.name : '';
  const spelled = fn ? text(ctx, fn) : '?';
  const args = children(node.getChild('FunctionCallBody') ?? node).filter(isExpr);
  const refused = REFUSED_FUNCTIONS[name];
  if (refused !== undefined) return no(refused);
  if (CONSTANT_FUNCTIONS.has(name)) return CONSTANT;
  if (PER_SERIES_FUNCTIONS.has(name)) {
    if (args.length === 0) return no(`${spelled}() without an argument makes one series without the object label`);
    return onePartitioned(
      args.map((a) => analyse(ctx, a)),
      `${spelled}()`,
    );
  }
  if (name === 'HistogramQuantile') {
    if (ctx.label === 'le') return no('histogram_quantile() groups away the le label, which is the object label');
    return onePartitioned(
      args.map((a) => analyse(ctx, a)),
      'histogram_quantile()',
    );
  }
  if (name === 'LabelReplace' || name === 'LabelJoin') {
    const dst = args[1];
    const target = dst?.name === 'StringLiteral' ? unquote(text(ctx, dst)) : undefined;
    if (target === undefined) return no(`${spelled}() writes a label that is not a literal`);
    if (target === ctx.label) return no(`${spelled}() rewrites ${ctx.label}, the object label`);
    return onePartitioned(
      args.map((a) => analyse(ctx, a)),
      `${spelled}()`,
    );
  }
  return no(`${spelled}() is not analysed`);
}

function groupingLabels(ctx: Context, node: SyntaxNode | null): string[] {
  const out: string[] = [];
  for (const c of node ? children(node) : []) {
    if (c.name === 'LabelName') out.push(text(ctx, c));
    else if (c.name === 'QuotedLabelName') out.push(unquote(text(ctx, c)) ?? '');
  }
  return out;
}

function aggregation(ctx: Context, node: SyntaxNode): Verdict {
  const opNode = node.getChild('AggregateOp')?.firstChild;
  const op = opNode?.name ?? '';
  const spelled = opNode ? text(ctx, opNode) : '?';
  if (!GROUPING_AGGREGATIONS.has(op) && !PARAMETER_AGGREGATIONS.has(op)) return no(`the ${spelled} aggregation is not analysed`);
  const modifier = node.getChild('AggregateModifier');
  const labels = groupingLabels(ctx, modifier?.getChild('GroupingLabels') ?? null);
  const shown = `(${labels.join(', ')})`;
  if (!modifier) return no(`${spelled} aggregates every object into one value (no by (${ctx.label}))`);
  if (modifier.getChild('By')) {
    if (!labels.includes(ctx.label)) return no(`${spelled} by ${shown} aggregates across objects: it does not keep ${ctx.label}`);
  } else if (labels.includes(ctx.label)) return no(`${spelled} without ${shown} aggregates across objects: it drops ${ctx.label}`);
  const args = children(node.getChild('FunctionCallBody') ?? node).filter(isExpr);
  const verdicts = args.map((a) => analyse(ctx, a));
  if (PARAMETER_AGGREGATIONS.has(op)) {
    const [param, body] = verdicts;
    if (verdicts.length !== 2 || !param || !body) return no(`${spelled} needs a parameter and an expression`);
    if (param.kind === 'no') return param;
    if (param.kind !== 'constant') return no(`the parameter of ${spelled} reads series`);
    if (op === 'CountValues' && unquote(text(ctx, args[0] as SyntaxNode)) === ctx.label) return no(`count_values writes its counts into ${ctx.label}, the object label`);
    return body.kind === 'partitioned' ? PARTITIONED : body.kind === 'no' ? body : no(`${spelled} reads no series of the objects`);
  }
  return onePartitioned(verdicts, spelled);
}

function binary(ctx: Context, node: SyntaxNode): Verdict {
  const parts = children(node);
  const sides = parts.filter(isExpr);
  const [lhs, rhs] = sides;
  if (!lhs || !rhs) return no('a binary operation without two sides');
  const opNode = parts.find((p) => !isExpr(p) && !['BoolModifier', 'MatchingModifierClause', 'FillModifier'].includes(p.name));
  const op = opNode ? text(ctx, opNode) : '?';
  if (opNode?.name === 'TrimUpper' || opNode?.name === 'TrimLower') return no(`the experimental ${op} operator is not analysed`);
  if (node.getChild('FillModifier')) return no('fill modifiers are not analysed');
  const left = analyse(ctx, lhs);
  if (left.kind === 'no') return left;
  const right = analyse(ctx, rhs);
  if (right.kind === 'no') return right;
  if (left.kind === 'constant' && right.kind === 'constant') return CONSTANT;
  if (left.kind === 'constant' || right.kind === 'constant') return PARTITIONED;
  const matching = node.getChild('MatchingModifierClause');
  if (!matching) return PARTITIONED;
  const labels = groupingLabels(ctx, matching.getChild('GroupingLabels'));
  const shown = `(${labels.join(', ')})`;
  if (matching.getChild('On') && !labels.includes(ctx.label)) return no(`${op} on${shown} matches series of different objects: ${ctx.label} is not among the matching labels`);
  if (matching.getChild('Ignoring') && labels.includes(ctx.label)) return no(`${op} ignoring${shown} matches series of different objects: it ignores ${ctx.label}`);
  return PARTITIONED;
}

/** Offset of the first placeholder name outside the name filters, if any. */
function strayName(query: string, names: readonly string[], filters: readonly [number, number][]): number | undefined {
  for (const name of names) {
    for (let at = query.indexOf(name); at !== -1; at = query.indexOf(name, at + 1)) {
      if (!filters.some(([from, to]) => at >= from && at + name.length <= to)) return at;
    }
  }
  return undefined;
}

export interface EvaluationMode {
  /** True: one query for every object of the namespace, filtered per request. */
  readonly shared: boolean;
  readonly reason: string;
}

/**
 * How wildcard requests for `resource` are evaluated under a rule: shared
 * when the serve flag and the rule allow it and the query is separable.
 * Root-scoped resources keep one query per request: their wildcards span
 * the cluster, where the shared answer would be largest and least reused.
 */
export function evaluationModeOf(
  rule: QueryTemplate & { readonly sharedEvaluation: boolean },
  resource: GroupResource,
  options: { readonly sharedEvaluation: boolean; readonly namespaced: boolean },
): EvaluationMode {
  if (!options.sharedEvaluation) return { shared: false, reason: 'shared evaluation is off (--shared-evaluation=false)' };
  if (!rule.sharedEvaluation) return { shared: false, reason: 'the rule sets sharedEvaluation: false' };
  if (!options.namespaced) return { shared: false, reason: `${resource.resource} are not namespaced` };
  const verdict = ruleSeparability(rule, resource);
  return verdict.separable ? { shared: true, reason: `object-separable: ${verdict.reason}` } : { shared: false, reason: `not object-separable: ${verdict.reason}` };
}

/**
 * Whether an external metric's request can be answered from the query for
 * its whole namespace, filtered by its metric selector in memory. The same
 * definition as for objects, with the selector's keys in place of the object
 * label: when the query is partitioned by every key the selector names, each
 * result series carries those keys with the values of the series it was
 * computed from, so narrowing the input with the selector's matchers and
 * keeping the result series the selector matches give the same values. This
 * holds for every operator: a Kubernetes selector treats a missing label as
 * PromQL treats an empty one (`k!=v`, `notin` and `!k` match it; `=`, `in`
 * and `exists` do not). Only namespaced rules share, for the same reason as
 * root-scoped objects: a rule's whole metric across the cluster may be large.
 */
export function externalEvaluationModeOf(
  rule: QueryTemplate & { readonly sharedEvaluation: boolean },
  selectorKeys: readonly string[],
  options: { readonly sharedEvaluation: boolean; readonly namespace: string | undefined },
): EvaluationMode {
  if (!options.sharedEvaluation) return { shared: false, reason: 'shared evaluation is off (--shared-evaluation=false)' };
  if (!rule.sharedEvaluation) return { shared: false, reason: 'the rule sets sharedEvaluation: false' };
  if (!rule.namespaced || !options.namespace) return { shared: false, reason: 'the rule is not namespaced, so one query would span the cluster' };
  const keys = [...new Set(selectorKeys)].sort();
  if (keys.length === 0) return { shared: false, reason: 'the request has no metric selector, so its own query is already the namespace-wide one' };
  const values = (i: number): string[] => [`hpa_bridge_value_${i}_1`, `hpa_bridge_value_${i}_2`];
  let query: string;
  try {
    query = renderExternalQuery(rule, {
      series: PLACEHOLDER_SERIES,
      namespace: PLACEHOLDER_NAMESPACE,
      metricSelector: keys.map((key, i) => ({ key, operator: 'in' as const, values: values(i) })),
    });
  } catch (e) {
    if (e instanceof QueryBuildError) return { shared: false, reason: `the query cannot be rendered: ${e.message}` };
    throw e;
  }
  for (const [i, key] of keys.entries()) {
    const verdict = classifyQuery(query, key, values(i));
    if (!verdict.separable) return { shared: false, reason: `not separable by ${key}: ${verdict.reason}` };
  }
  return {
    shared: true,
    reason: `separable by ${keys.join(', ')}: every value is computed from the series of one ${keys.length === 1 ? 'value' : 'combination of values'} and keeps ${keys.join(', ')}`,
  };
}

/** externalSharedKeys' answer when a metric selector on any label shares the query. */
export const ANY_LABEL = 'hpa_bridge_any_label';

/**
 * For `lint`: the labels a metric selector may name and still share the
 * namespace's query, among those the query names in `by (…)` and `on (…)`
 * clauses, and the mode of the first label that may not. A query that keeps
 * every label (no aggregation) is separable by any key; this reports only
 * the labels the query itself names.
 */
export function externalSharedKeys(rule: QueryTemplate & { readonly sharedEvaluation: boolean }, options: { readonly sharedEvaluation: boolean }): { keys: string[]; refused?: EvaluationMode } {
  let query: string;
  try {
    query = renderExternalQuery(rule, { series: PLACEHOLDER_SERIES, namespace: PLACEHOLDER_NAMESPACE, metricSelector: [] });
  } catch {
    return { keys: [] };
  }
  const candidates = new Set<string>();
  parser.parse(query).iterate({
    enter(node) {
      if (node.name === 'GroupingLabels') {
        for (const c of children(node.node)) {
          if (c.name === 'LabelName') candidates.add(query.slice(c.from, c.to));
          else if (c.name === 'QuotedLabelName') candidates.add(unquote(query.slice(c.from, c.to)) ?? '');
        }
      }
    },
  });
  if (candidates.size === 0) {
    // No clause names a label: if a label the query never mentions is kept, every label is.
    const mode = externalEvaluationModeOf(rule, [ANY_LABEL], { sharedEvaluation: options.sharedEvaluation, namespace: PLACEHOLDER_NAMESPACE });
    return mode.shared ? { keys: [ANY_LABEL] } : { keys: [], refused: { shared: false, reason: mode.reason.replaceAll(ANY_LABEL, '<label>') } };
  }
  const keys: string[] = [];
  let refused: EvaluationMode | undefined;
  for (const key of [...candidates].filter((k) => /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k)).sort()) {
    const mode = externalEvaluationModeOf(rule, [key], { sharedEvaluation: options.sharedEvaluation, namespace: PLACEHOLDER_NAMESPACE });
    if (mode.shared) keys.push(key);
    else refused ??= mode;
  }
  return refused ? { keys, refused } : { keys };
}
