// Label selectors: the text form the HPA controller sends in the
// `labelSelector` and `metricLabelSelector` query parameters, and the
// metav1.LabelSelector objects of manifests and documents. The grammar, the
// validation and the error texts follow k8s.io/apimachinery/pkg/labels
// (selector.go) as of apimachinery v0.35/v0.36 (Kubernetes 1.35/1.36), so that
// a selector the API server would reject is rejected here with the text a
// Kubernetes user already knows, and one it accepts yields the same
// requirements.

import { compareGoStrings, goQuote, parseGoInt64 } from './go-strings.js';
import { isQualifiedName, isValidLabelValue } from './names.js';

/** selection.Operator, as labels.Parse produces it. */
export type SelectorOperator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

/**
 * A parsed label-selector requirement, in the shape
 * k8s.io/apimachinery/pkg/labels produces: values are de-duplicated and
 * sorted, and a parsed selector's requirements are sorted by key. The query
 * builder relies on that order to render matchers the same way every time.
 */
export interface Requirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

/** metav1.LabelSelectorOperator. */
type LabelSelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

/** metav1.LabelSelectorRequirement. */
export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: LabelSelectorOperator;
  readonly values?: readonly string[];
}

/** metav1.LabelSelector. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

export class LabelSelectorError extends Error {
  override readonly name = 'LabelSelectorError';

  // `position` is a UTF-16 offset into the selector text. Go reports no
  // position, so the message alone is the apimachinery text; the offset is
  // extra help for callers that want to point at the culprit.
  constructor(
    message: string,
    readonly position?: number,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------
// Go value semantics the selector code leans on

function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(compareGoStrings);
}

// encoding/json as field.Invalid prints a []string bad value: HTML-sensitive
// characters and the JavaScript line separators are escaped.
function goJSONStrings(values: readonly string[]): string {
  return JSON.stringify(values).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// ---------------------------------------------------------------------------
// Requirement construction (labels.NewRequirement)

interface FieldError {
  readonly field: string;
  readonly badValue: string | readonly string[];
  readonly detail: string;
}

function fieldErrorText(e: FieldError): string {
  const bad = typeof e.badValue === 'string' ? goQuote(e.badValue) : goJSONStrings(e.badValue);
  return `${e.field}: Invalid value: ${bad}: ${e.detail}`;
}

// ErrorList.ToAggregate().Error(): duplicates dropped, a lone error printed
// bare, several wrapped in brackets.
function aggregateText(errs: readonly FieldError[]): string | undefined {
  const msgs = [...new Set(errs.map(fieldErrorText))];
  if (msgs.length === 0) {
    return undefined;
  }
  return msgs.length === 1 ? msgs[0] : `[${msgs.join(', ')}]`;
}

// The parser always calls this with a path of nil, which Go prints as "<nil>"
// for the key and drops from children such as "values[0]".
function newRequirement(key: string, operator: SelectorOperator, values: readonly string[], position: number): Requirement {
  const errs: FieldError[] = [];
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length > 0) {
    errs.push({ field: 'key', badValue: key, detail: keyErrs.join('; ') });
  }
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0) {
        errs.push({ field: 'values', badValue: values, detail: "for 'in', 'notin' operators, values set can't be empty" });
      }
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) {
        errs.push({ field: 'values', badValue: values, detail: 'exact-match compatibility requires one single value' });
      }
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) {
        errs.push({ field: 'values', badValue: values, detail: 'values set must be empty for exists and does not exist' });
      }
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) {
        errs.push({ field: 'values', badValue: values, detail: "for 'Gt', 'Lt' operators, exactly one value is required" });
      }
      values.forEach((v, i) => {
        if (parseGoInt64(v) === undefined) {
          errs.push({ field: `values[${i}]`, badValue: v, detail: "for 'Gt', 'Lt' operators, the value must be an integer" });
        }
      });
      break;
  }
  values.forEach((v, i) => {
    const valueErrs = isValidLabelValue(v);
    if (valueErrs.length > 0) {
      errs.push({ field: `values[${i}][${key}]`, badValue: v, detail: valueErrs.join('; ') });
    }
  });
  const text = aggregateText(errs);
  if (text !== undefined) {
    throw new LabelSelectorError(text, position);
  }
  return { key, operator, values: [...values] };
}

// ---------------------------------------------------------------------------
// Lexer

type Token = 'error' | 'end of string' | ')' | ',' | '!' | '==' | '=' | '>' | 'identifier' | 'in' | '<' | '!=' | 'notin' | '(';

const STRING_TO_TOKEN: ReadonlyMap<string, Token> = new Map<string, Token>([
  [')', ')'],
  [',', ','],
  ['!', '!'],
  ['==', '=='],
  ['=', '='],
  ['>', '>'],
  ['in', 'in'],
  ['<', '<'],
  ['!=', '!='],
  ['notin', 'notin'],
  ['(', '('],
]);

interface ScannedItem {
  readonly tok: Token;
  readonly literal: string;
  readonly position: number;
}

// Go's lexer reads bytes and treats a 0 byte as the end of input, wherever
// it sits; the text after an embedded NUL is therefore not always ignored
// (see `read`).
const NUL = '\u0000';

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

function isSpecialSymbol(ch: string): boolean {
  switch (ch) {
    case '=':
    case '!':
    case '(':
    case ')':
    case ',':
    case '>':
    case '<':
      return true;
    default:
      return false;
  }
}

// Working on UTF-16 units instead of bytes changes nothing: every byte of a
// multi-byte UTF-8 sequence is >= 0x80 and so never special, blank or 0.
class Lexer {
  private pos = 0;

  constructor(private readonly s: string) {}

  // Like Go, an embedded NUL is consumed even though it reads as the end.
  private read(): string {
    if (this.pos < this.s.length) {
      const ch = this.s.charAt(this.pos);
      this.pos++;
      return ch;
    }
    return NUL;
  }

  private unread(): void {
    this.pos--;
  }

  lex(): ScannedItem {
    let start = this.pos;
    let ch = this.read();
    while (isWhitespace(ch)) {
      start = this.pos;
      ch = this.read();
    }
    if (ch === NUL) {
      return { tok: 'end of string', literal: '', position: start };
    }
    this.unread();
    return isSpecialSymbol(ch) ? this.scanSpecialSymbol() : this.scanIdOrKeyword();
  }

  private scanIdOrKeyword(): ScannedItem {
    const position = this.pos;
    let buffer = '';
    for (;;) {
      const ch = this.read();
      if (ch === NUL) {
        break;
      }
      if (isSpecialSymbol(ch) || isWhitespace(ch)) {
        this.unread();
        break;
      }
      buffer += ch;
    }
    return { tok: STRING_TO_TOKEN.get(buffer) ?? 'identifier', literal: buffer, position };
  }

  // Longest match over the operator spellings: "!=" wins over "!", "=="
  // over "=", and a third symbol is left for the next token.
  private scanSpecialSymbol(): ScannedItem {
    const position = this.pos;
    let buffer = '';
    let last: { tok: Token; literal: string } | undefined;
    for (;;) {
      const ch = this.read();
      if (ch === NUL) {
        break;
      }
      if (!isSpecialSymbol(ch)) {
        this.unread();
        break;
      }
      buffer += ch;
      const tok = STRING_TO_TOKEN.get(buffer);
      if (tok !== undefined) {
        last = { tok, literal: buffer };
      } else if (last !== undefined) {
        this.unread();
        break;
      }
    }
    if (last === undefined) {
      return { tok: 'error', literal: `error expected: keyword found '${buffer}'`, position };
    }
    return { ...last, position };
  }
}

// ---------------------------------------------------------------------------
// Parser

// In the Values context the keywords `in` and `notin` are plain identifiers,
// so `in in (in, notin)` and `x=notin` parse.
type ParserContext = 'keyAndOperator' | 'values';

const BINARY_OPERATORS = 'in, notin, =, ==, !=, gt, lt';

class Parser {
  private readonly items: ScannedItem[] = [];
  private position = 0;

  constructor(text: string) {
    const lexer = new Lexer(text);
    for (;;) {
      const item = lexer.lex();
      this.items.push(item);
      if (item.tok === 'end of string') {
        break;
      }
    }
  }

  private at(index: number, context: ParserContext): ScannedItem {
    // Go never reads past the end-of-string item; clamp rather than trust it.
    const item = this.items[Math.min(index, this.items.length - 1)] as ScannedItem;
    if (context === 'values' && (item.tok === 'in' || item.tok === 'notin')) {
      return { ...item, tok: 'identifier' };
    }
    return item;
  }

  private lookahead(context: ParserContext): ScannedItem {
    return this.at(this.position, context);
  }

  private consume(context: ParserContext): ScannedItem {
    this.position++;
    return this.at(this.position - 1, context);
  }

  parse(): Requirement[] {
    const requirements: Requirement[] = [];
    for (;;) {
      const next = this.lookahead('values');
      switch (next.tok) {
        case 'identifier':
        case '!': {
          try {
            requirements.push(this.parseRequirement());
          } catch (err) {
            if (err instanceof LabelSelectorError) {
              throw new LabelSelectorError(`unable to parse requirement: ${err.message}`, err.position);
            }
            throw err;
          }
          const after = this.consume('values');
          switch (after.tok) {
            case 'end of string':
              return requirements;
            case ',': {
              const following = this.lookahead('values');
              if (following.tok !== 'identifier' && following.tok !== '!') {
                throw new LabelSelectorError(`found '${following.literal}', expected: identifier after ','`, following.position);
              }
              break;
            }
            default:
              throw new LabelSelectorError(`found '${after.literal}', expected: ',' or 'end of string'`, after.position);
          }
          break;
        }
        case 'end of string':
          return requirements;
        default:
          throw new LabelSelectorError(`found '${next.literal}', expected: !, identifier, or 'end of string'`, next.position);
      }
    }
  }

  private parseRequirement(): Requirement {
    const start = this.lookahead('values').position;
    const { key, operator: inferred } = this.parseKeyAndInferOperator();
    if (inferred !== undefined) {
      return newRequirement(key, inferred, [], start);
    }
    const operator = this.parseOperator();
    const values = operator === 'in' || operator === 'notin' ? this.parseValues() : this.parseExactValue();
    return newRequirement(key, operator, sortedUnique(values), start);
  }

  // A key followed by ',' or the end means "exists"; after '!' it stays
  // "does not exist" whatever follows, so `!x=a` fails later, at the '='.
  private parseKeyAndInferOperator(): { key: string; operator: 'exists' | '!' | undefined } {
    let operator: 'exists' | '!' | undefined;
    let item = this.consume('values');
    if (item.tok === '!') {
      operator = '!';
      item = this.consume('values');
    }
    if (item.tok !== 'identifier') {
      throw new LabelSelectorError(`found '${item.literal}', expected: identifier`, item.position);
    }
    const keyErrs = isQualifiedName(item.literal);
    if (keyErrs.length > 0) {
      throw new LabelSelectorError(`<nil>: Invalid value: ${goQuote(item.literal)}: ${keyErrs.join('; ')}`, item.position);
    }
    const next = this.lookahead('values').tok;
    if ((next === 'end of string' || next === ',') && operator !== '!') {
      operator = 'exists';
    }
    return { key: item.literal, operator };
  }

  private parseOperator(): SelectorOperator {
    const item = this.consume('keyAndOperator');
    switch (item.tok) {
      case 'in':
        return 'in';
      case '=':
        return '=';
      case '==':
        return '==';
      case '>':
        return 'gt';
      case '<':
        return 'lt';
      case 'notin':
        return 'notin';
      case '!=':
        return '!=';
      default:
        throw new LabelSelectorError(`found '${item.literal}', expected: ${BINARY_OPERATORS}`, item.position);
    }
  }

  // `()` is the set holding the empty string, not an empty set.
  private parseValues(): Set<string> {
    const open = this.consume('values');
    if (open.tok !== '(') {
      // No comma after the literal: that is how apimachinery words it.
      throw new LabelSelectorError(`found '${open.literal}' expected: '('`, open.position);
    }
    const first = this.lookahead('values');
    switch (first.tok) {
      case 'identifier':
      case ',': {
        const values = this.parseIdentifiersList();
        if (this.consume('values').tok !== ')') {
          // Go quotes the first token inside the parentheses here.
          throw new LabelSelectorError(`found '${first.literal}', expected: ')'`, first.position);
        }
        return values;
      }
      case ')':
        this.consume('values');
        return new Set(['']);
      default:
        throw new LabelSelectorError(`found '${first.literal}', expected: ',', ')' or identifier`, first.position);
    }
  }

  // A comma next to another comma or a parenthesis stands for an empty value.
  private parseIdentifiersList(): Set<string> {
    const values = new Set<string>();
    for (;;) {
      const item = this.consume('values');
      switch (item.tok) {
        case 'identifier': {
          values.add(item.literal);
          const next = this.lookahead('values');
          switch (next.tok) {
            case ',':
              continue;
            case ')':
              return values;
            default:
              throw new LabelSelectorError(`found '${next.literal}', expected: ',' or ')'`, next.position);
          }
        }
        case ',': {
          if (values.size === 0) {
            values.add('');
          }
          const next = this.lookahead('values').tok;
          if (next === ')') {
            values.add('');
            return values;
          }
          if (next === ',') {
            values.add('');
          }
          break;
        }
        default:
          throw new LabelSelectorError(`found '${item.literal}', expected: ',', or identifier`, item.position);
      }
    }
  }

  // `x=` and `x=,y` compare against the empty value.
  private parseExactValue(): Set<string> {
    const next = this.lookahead('values').tok;
    if (next === 'end of string' || next === ',') {
      return new Set(['']);
    }
    const item = this.consume('values');
    if (item.tok === 'identifier') {
      return new Set([item.literal]);
    }
    throw new LabelSelectorError(`found '${item.literal}', expected: identifier`, item.position);
  }
}

// ---------------------------------------------------------------------------
// Public API

/**
 * Parses a label selector with the grammar of apimachinery's labels.Parse.
 * The requirements come back sorted by key, with each value list
 * de-duplicated and sorted. "" yields [] and matches everything.
 *
 * apimachinery sorts with Go's unstable sort.Sort, which keeps requirements
 * sharing a key in input order only up to 12 requirements. The sort here is
 * stable at any size: past 12 the order of equal keys can differ from Go's,
 * which changes the text of a query rendered from them, never what it selects
 * (requirements are ANDed).
 */
export function parseLabelSelector(text: string): Requirement[] {
  return new Parser(text).parse().sort((a, b) => compareGoStrings(a.key, b.key));
}

function operatorText(operator: SelectorOperator): string {
  switch (operator) {
    case '=':
      return '=';
    case '==':
      return '==';
    case '!=':
      return '!=';
    case 'in':
      return ' in ';
    case 'notin':
      return ' notin ';
    case 'gt':
      return '>';
    case 'lt':
      return '<';
    default:
      return '';
  }
}

function requirementText(r: Requirement): string {
  if (r.operator === 'exists') {
    return r.key;
  }
  if (r.operator === '!') {
    return `!${r.key}`;
  }
  const values = r.values.length === 1 ? (r.values[0] ?? '') : sortedCopy(r.values).join(',');
  const set = r.operator === 'in' || r.operator === 'notin';
  return `${r.key}${operatorText(r.operator)}${set ? `(${values})` : values}`;
}

function sortedCopy(values: readonly string[]): string[] {
  return [...values].sort(compareGoStrings);
}

/**
 * Selector.String(): requirements joined by ',' in the order given (not
 * re-sorted), values of a multi-value requirement printed sorted.
 */
export function formatLabelSelector(reqs: readonly Requirement[]): string {
  return reqs.map(requirementText).join(',');
}

/**
 * The metav1.LabelSelectorOperator that expresses a requirement's operator
 * (metav1.ParseToLabelSelector's mapping); undefined for gt and lt, which
 * metav1.LabelSelector cannot express.
 */
export function labelSelectorOperatorOf(operator: SelectorOperator): LabelSelectorOperator | undefined {
  switch (operator) {
    case '=':
    case '==':
    case 'in':
      return 'In';
    case '!=':
    case 'notin':
      return 'NotIn';
    case 'exists':
      return 'Exists';
    case '!':
      return 'DoesNotExist';
    default:
      return undefined;
  }
}

function requirementMatches(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const present = Object.hasOwn(labels, r.key);
  const value = present ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return value !== undefined && r.values.includes(value);
    case 'notin':
    case '!=':
      return value === undefined || !r.values.includes(value);
    case 'exists':
      return present;
    case '!':
      return !present;
    case 'gt':
    case 'lt': {
      if (value === undefined || r.values.length !== 1) {
        return false;
      }
      const actual = parseGoInt64(value);
      const bound = parseGoInt64(r.values[0] ?? '');
      if (actual === undefined || bound === undefined) {
        return false;
      }
      return r.operator === 'gt' ? actual > bound : actual < bound;
    }
    default:
      return false;
  }
}

/** Selector.Matches: every requirement must hold for the label set. */
export function matchesLabels(reqs: readonly Requirement[], labels: Readonly<Record<string, string>>): boolean {
  return reqs.every((r) => requirementMatches(r, labels));
}

const REQUIREMENT_OPERATOR: Readonly<Record<LabelSelectorOperator, SelectorOperator>> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };

/**
 * metav1.LabelSelectorAsSelector: matchLabels as `key=value`, then the
 * expressions, sorted by key as labels.NewSelector().Add sorts them. This is
 * the form a controller sends in a labelSelector query parameter.
 */
export function labelSelectorAsRequirements(selector: LabelSelector | undefined): Requirement[] {
  if (selector === undefined) return [];
  const reqs: Requirement[] = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => ({ key, operator: '=', values: [value] }));
  for (const e of selector.matchExpressions ?? []) reqs.push({ key: e.key, operator: REQUIREMENT_OPERATOR[e.operator], values: [...(e.values ?? [])].sort(compareGoStrings) });
  return reqs.sort((a, b) => compareGoStrings(a.key, b.key));
}
