// PromQL text: escaping values into matchers, and checking rendered queries
// before they ever reach Prometheus.
import { parser } from '@prometheus-io/lezer-promql';
import { unquoteString } from '../k8s/go-strings.js';
import { GoRegexp, quoteMeta } from './go-regexp.js';

/**
 * A PromQL double-quoted string literal. PromQL strings follow Go's escape
 * rules, so only `\`, `"` and control characters need escaping.
 */
function quotePromQLString(value: string): string {
  return `"${promQLStringBody(value)}"`;
}

/** What goes between the quotes of a PromQL double-quoted string literal holding `value`. */
export function promQLStringBody(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

// Prometheus' label name grammar (model.LabelNameRE), which unquoted matchers
// and `by (…)` clauses accept.
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isPrometheusLabelName(name: string): boolean {
  return LABEL_NAME.test(name);
}

type MatchOp = '=' | '!=' | '=~' | '!~';

export function renderMatcher(label: string, op: MatchOp, value: string): string {
  return `${label}${op}${quotePromQLString(value)}`;
}

/** A regex alternative that matches exactly these values, each escaped. */
export function alternationOf(values: readonly string[]): string {
  return values.map(quoteMeta).join('|');
}

interface PromQLProblem {
  /** 0-based offset in the query text. */
  readonly offset: number;
  readonly message: string;
  readonly severity: 'error' | 'warning';
}

interface LabelMatcherText {
  readonly label: string;
  readonly op: MatchOp;
  readonly value: string;
  readonly offset: number;
}

// Prometheus anchors regex matchers and compiles them as RE2; a value passed
// to `=` or `!=` that looks like a regex is almost always a typo for `=~`/`!~`.
const REGEX_LOOKALIKE = /(\.\*|\.\+|^\^|\$$|\|)/;

/**
 * Parses a query and returns every problem: syntax errors, string escapes
 * Prometheus rejects, regex matchers that do not compile, and equality
 * matchers whose value looks like a regex.
 */
export function checkPromQL(query: string): PromQLProblem[] {
  const problems: PromQLProblem[] = [];
  if (query.trim() === '') return [{ offset: 0, message: 'the query is empty', severity: 'error' }];
  const tree = parser.parse(query);
  let firstError: number | undefined;
  const matchers: LabelMatcherText[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError && firstError === undefined) firstError = node.from;
      if (node.name === 'StringLiteral') {
        const literal = query.slice(node.from, node.to);
        if (unquote(literal) === undefined) {
          problems.push({
            offset: node.from,
            message: `invalid string literal ${literal}: PromQL strings use Go escapes (write \\\\ for a backslash)`,
            severity: 'error',
          });
        }
      }
      if (node.name === 'UnquotedLabelMatcher' || node.name === 'QuotedLabelMatcher') {
        const m = readMatcher(query, node.node);
        if (m) matchers.push(m);
      }
    },
  });
  if (firstError !== undefined) {
    problems.push({ offset: firstError, message: syntaxMessage(query, firstError), severity: 'error' });
    return problems;
  }
  for (const m of matchers) {
    if (m.op === '=~' || m.op === '!~') {
      try {
        GoRegexp.compile(m.value);
      } catch (e) {
        problems.push({ offset: m.offset, message: `regex for label ${m.label} does not compile: ${(e as Error).message}`, severity: 'error' });
      }
    } else if (REGEX_LOOKALIKE.test(m.value)) {
      const suggested = m.op === '=' ? '=~' : '!~';
      problems.push({
        offset: m.offset,
        message: `${m.label}${m.op}${JSON.stringify(m.value)} compares the label to the literal text ${JSON.stringify(m.value)}, which looks like a regex; use ${suggested} to match a regex`,
        severity: 'warning',
      });
    }
  }
  return problems;
}

function syntaxMessage(query: string, offset: number): string {
  if (offset >= query.length) return 'invalid PromQL: unexpected end of query';
  const near = query.slice(offset, offset + 12);
  return `invalid PromQL near ${JSON.stringify(near)}`;
}

interface SyntaxNodeLike {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  readonly firstChild: SyntaxNodeLike | null;
  readonly nextSibling: SyntaxNodeLike | null;
}

function readMatcher(query: string, node: SyntaxNodeLike): LabelMatcherText | undefined {
  let label: string | undefined;
  let op: MatchOp | undefined;
  let value: string | undefined;
  for (let c = node.firstChild; c; c = c.nextSibling) {
    const text = query.slice(c.from, c.to);
    if (c.name === 'LabelName') label = text;
    else if (c.name === 'QuotedLabelName') label = unquote(text);
    else if (c.name === 'MatchOp') op = text as MatchOp;
    else if (c.name === 'StringLiteral') value = unquote(text);
  }
  if (label === undefined || op === undefined || value === undefined) return undefined;
  return { label, op, value, offset: node.from };
}

/** Decodes a PromQL string literal; undefined when Prometheus would reject it. */
export function unquote(literal: string): string | undefined {
  return unquoteString(literal) ?? undefined;
}

/**
 * The window of a query: the duration of its range selectors when they all
 * agree (`rate(x[2m])` → 120), else undefined. Reported as windowSeconds so
 * the HPA's consumers can see what a value averages over.
 */
export function rangeSecondsOf(query: string): number | undefined {
  const tree = parser.parse(query);
  const ranges = new Set<string>();
  tree.iterate({
    enter(node) {
      if (node.name === 'MatrixSelector' || node.name === 'SubqueryExpr') {
        // The duration is the first NumberDurationLiteralInDurationContext (or Duration) child after '['.
        for (let c = node.node.firstChild; c; c = c.nextSibling) {
          if (c.name.includes('Duration')) {
            ranges.add(query.slice(c.from, c.to));
            break;
          }
        }
      }
    },
  });
  if (ranges.size !== 1) return undefined;
  const [only] = ranges;
  return parseDurationSeconds(only ?? '');
}

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|y|w|d|h|m|s)/g;
const UNIT_SECONDS: Readonly<Record<string, number>> = { y: 31536000, w: 604800, d: 86400, h: 3600, m: 60, s: 1, ms: 0.001 };

/** Seconds in a Prometheus duration (`30s`, `1m`, `1h30m`), or undefined. */
export function parseDurationSeconds(text: string): number | undefined {
  if (!/^(\d+(?:\.\d+)?(ms|y|w|d|h|m|s))+$/.test(text)) return /^\d+(\.\d+)?$/.test(text) ? Number(text) : undefined;
  let total = 0;
  for (const m of text.matchAll(DURATION_PART)) total += Number(m[1]) * (UNIT_SECONDS[m[2] ?? ''] ?? 0);
  return total;
}
