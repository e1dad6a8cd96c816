// Reading a rendered PromQL query to generate the series it selects: its
// selectors (metric name and matchers by label), the labels its `by (…)` and
// `on (…)` clauses name, and label values that meet a selector's matchers.
// For the differential tests of shared evaluation, which scrape such series
// into a real Prometheus and compare what both evaluation modes answer.
import { parser } from '@prometheus-io/lezer-promql';
import type { CompiledRule } from '../../rules/compile.js';
import { GoRegexp } from '../../rules/go-regexp.js';
import { metricNameForSeries } from '../../rules/naming.js';
import { unquote } from '../../rules/promql.js';

export interface Matcher {
  readonly op: string;
  readonly value: string;
}

export interface Selector {
  readonly name: string | undefined;
  readonly matchers: ReadonlyMap<string, Matcher[]>;
}

/** A string a simple regex (anchors, literals, `.*`, `.+`, alternations) matches, checked by the caller. */
export function exampleOf(regex: string): string {
  return regex
    .replace(/^\^/, '')
    .replace(/\$$/, '')
    .replace(/\(\?:/g, '(')
    .replace(/\(([^()|]*)\|[^()]*\)/g, '$1')
    .replace(/\\(.)/g, '$1')
    .replace(/\.[*+]/g, 'x')
    .replace(/[()?*+]/g, '');
}

const fullMatch = (regex: string, value: string): boolean => GoRegexp.compile(`^(?:${regex})$`).test(value);

export function satisfies(value: string, matchers: readonly Matcher[]): boolean {
  return matchers.every((m) => (m.op === '=' ? value === m.value : m.op === '!=' ? value !== m.value : m.op === '=~' ? fullMatch(m.value, value) : m.op === '!~' ? !fullMatch(m.value, value) : false));
}

/** A label value meeting every matcher, preferring `base`. */
export function valueFor(matchers: readonly Matcher[], base: string): string | undefined {
  const candidates = [...matchers.filter((m) => m.op === '=').map((m) => m.value), base, ...matchers.filter((m) => m.op === '=~').map((m) => exampleOf(m.value)), `${base}-x`];
  return candidates.find((c) => satisfies(c, matchers));
}

/** The selectors of a query: metric name and matchers by label. */
export function selectorsOf(query: string): Selector[] {
  const out: Selector[] = [];
  parser.parse(query).iterate({
    enter(node) {
      if (node.name !== 'VectorSelector') return true;
      const id = node.node.getChild('Identifier');
      let name = id ? query.slice(id.from, id.to) : undefined;
      const matchers = new Map<string, Matcher[]>();
      for (const m of node.node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
        const label = m.getChild('LabelName');
        const op = m.getChild('MatchOp');
        const value = m.getChild('StringLiteral');
        if (!label || !op || !value) continue;
        const key = query.slice(label.from, label.to);
        const matcher = { op: query.slice(op.from, op.to), value: unquote(query.slice(value.from, value.to)) ?? '' };
        if (key === '__name__' && matcher.op === '=') name = matcher.value;
        matchers.set(key, [...(matchers.get(key) ?? []), matcher]);
      }
      out.push({ name, matchers });
      return false;
    },
  });
  return out;
}

/** The labels a query's `by (…)`, `without (…)`, `on (…)` and `ignoring (…)` clauses name, in order of appearance. */
export function groupingLabelsOf(query: string): string[] {
  const out = new Set<string>();
  parser.parse(query).iterate({
    enter(node) {
      if (node.name !== 'GroupingLabels') return true;
      for (let c = node.node.firstChild; c; c = c.nextSibling) {
        if (c.name === 'LabelName') out.add(query.slice(c.from, c.to));
        else if (c.name === 'QuotedLabelName') out.add(unquote(query.slice(c.from, c.to)) ?? '');
      }
      return false;
    },
  });
  return [...out];
}

/** A series name the rule's seriesQuery selects and its filters keep, or undefined. */
export function seriesNameFor(rule: CompiledRule): string | undefined {
  const [selector] = selectorsOf(rule.seriesQuery);
  if (!selector) return undefined;
  const nameMatchers = selector.matchers.get('__name__') ?? [];
  const regexes = [...nameMatchers.filter((m) => m.op === '=~').map((m) => m.value), rule.nameMatches.source, ...rule.seriesFilters.filter((f) => f.keep).map((f) => f.regex.source)];
  const candidates = [
    ...(selector.name !== undefined ? [selector.name] : []),
    ...regexes.map(exampleOf),
    ...regexes.map((r) => `${exampleOf(r)}_total`),
    ...regexes.map((r) => `${exampleOf(r)}_bytes`),
  ];
  return candidates.find(
    (c) => /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(c) && (selector.name === undefined || c === selector.name) && satisfies(c, nameMatchers) && metricNameForSeries(rule, c) !== undefined,
  );
}
