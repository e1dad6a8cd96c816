/**
 * A faithful subset of Go's text/template, as used by prometheus-adapter rule
 * files (`metricsQuery`, `resources.template`, ...), which parse their
 * templates with `<<` and `>>` as delimiters.
 *
 * The lexer and parser follow text/template/parse closely so that a template
 * accepted here is accepted by the adapter and vice versa, and error messages
 * use Go's wording where that is reasonable. Everything Go supports but this
 * module cannot evaluate exactly (named templates, methods, complex numbers,
 * most printf verbs, ...) is reported as an error instead of being rendered
 * approximately: a rendered PromQL query that silently differs from what the
 * adapter would send is worse than no query at all.
 */

import { compareGoStrings, goQuote, isPrint, unquoteChar, unquoteString, utf8Length } from '../k8s/go-strings.js';
export type GoValue = string | number | boolean | null | readonly GoValue[] | { readonly [key: string]: GoValue };

/** line and column are 1-based; columns count UTF-16 code units, as JavaScript string indices do. */
export class TemplateError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
    readonly construct?: string,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

export interface ParseOptions {
  readonly leftDelim?: string;
  readonly rightDelim?: string;
  /** Top-level fields of the data; referencing any other `.Field` on the top-level data is a parse error. */
  readonly fields: readonly string[];
  /** Which of the supported functions may be called; defaults to all of them. */
  readonly functions?: readonly string[];
}

export interface ParsedTemplate {
  readonly source: string;
  /** Top-level fields referenced anywhere, through `.` at the top level or through `$`. */
  readonly fieldsUsed: ReadonlySet<string>;
  /** False when the text has no actions at all (comments count as actions: they change the output). */
  readonly hasActions: boolean;
}

/** Functions this module can evaluate exactly; `join` is an extension (strings.Join). */
const SUPPORTED_FUNCTIONS: readonly string[] = Object.freeze(['and', 'or', 'not', 'len', 'index', 'join', 'print', 'printf', 'println', 'eq', 'ne', 'lt', 'le', 'gt', 'ge']);

/** Go builtins that exist in text/template but are deliberately not supported. */
const UNSUPPORTED_FUNCTIONS = new Map<string, string>([
  ['call', 'calling function values from the data is not supported'],
  ['slice', 'the slice function is not supported'],
  ['urlquery', 'the urlquery escaper is not supported'],
  ['js', 'the js escaper is not supported'],
  ['html', 'the html escaper is not supported'],
]);

const UNSUPPORTED_KEYWORDS = new Map<string, string>([
  ['define', 'named templates are not supported'],
  ['template', 'named templates are not supported'],
  ['block', 'named templates are not supported'],
  ['break', 'break is not supported inside range'],
  ['continue', 'continue is not supported inside range'],
]);

const KEYWORDS = new Set(['block', 'break', 'continue', 'define', 'else', 'end', 'if', 'range', 'template', 'with']);

// ---------------------------------------------------------------------------
// Character classes (Go's definitions, not JavaScript's)

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

const ALNUM = /^[\p{L}\p{Nd}_]$/u;
function isAlphaNumeric(cp: number | undefined): boolean {
  return cp !== undefined && ALNUM.test(String.fromCodePoint(cp));
}

function cpWidth(cp: number): number {
  return cp > 0xffff ? 2 : 1;
}

/** fmt's %#U. */
function formatRune(cp: number): string {
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  return isPrint(cp) ? `U+${hex} '${String.fromCodePoint(cp)}'` : `U+${hex}`;
}

const utf8Encoder = new TextEncoder();

function sortedKeys(keys: Iterable<string>): string[] {
  return [...keys].sort(compareGoStrings);
}

// ---------------------------------------------------------------------------
// Positions

class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  locate(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (this.starts[lo] ?? 0) + 1 };
  }
}

// ---------------------------------------------------------------------------
// Lexer (text/template/parse/lex.go)

type TokenKind =
  | 'text'
  | 'comment'
  | 'leftDelim'
  | 'rightDelim'
  | 'space'
  | 'field'
  | 'identifier'
  | 'variable'
  | 'dot'
  | 'string'
  | 'rawString'
  | 'charConstant'
  | 'number'
  | 'complex'
  | 'bool'
  | 'nil'
  | 'keyword'
  | 'pipe'
  | 'leftParen'
  | 'rightParen'
  | 'declare'
  | 'assign'
  | 'char'
  | 'eof'
  | 'error';

interface Token {
  readonly kind: TokenKind;
  readonly pos: number;
  readonly val: string;
}

class Lexer {
  private readonly tokens: Token[] = [];
  private pos = 0;
  private parens: number[] = [];
  private actionStart = 0;

  constructor(
    private readonly input: string,
    private readonly left: string,
    private readonly right: string,
  ) {}

  /** The token list ends with an `eof` or an `error` token; the parser reports the error only if it gets that far, as Go does. */
  lex(): Token[] {
    const { input } = this;
    for (;;) {
      const x = input.indexOf(this.left, this.pos);
      if (x < 0) {
        if (this.pos < input.length) this.push('text', this.pos, input.slice(this.pos));
        this.push('eof', input.length, '');
        return this.tokens;
      }
      const afterLeft = x + this.left.length;
      const trimLeft = this.hasLeftTrimMarker(afterLeft);
      let textEnd = x;
      if (trimLeft) while (textEnd > this.pos && isSpace(input[textEnd - 1])) textEnd--;
      if (textEnd > this.pos) this.push('text', this.pos, input.slice(this.pos, textEnd));
      this.actionStart = x;
      const inner = afterLeft + (trimLeft ? 2 : 0);
      if (input.startsWith('/*', inner)) {
        if (!this.lexComment(x, inner)) return this.tokens;
        continue;
      }
      this.push('leftDelim', x, this.left);
      this.pos = inner;
      this.parens = [];
      if (!this.lexInsideAction()) return this.tokens;
    }
  }

  private push(kind: TokenKind, pos: number, val: string): void {
    this.tokens.push({ kind, pos, val });
  }

  private fail(message: string, pos: number): false {
    this.push('error', pos, message);
    return false;
  }

  private hasLeftTrimMarker(i: number): boolean {
    return this.input[i] === '-' && isSpace(this.input[i + 1]);
  }

  private hasRightTrimMarker(i: number): boolean {
    return isSpace(this.input[i]) && this.input[i + 1] === '-';
  }

  private atRightDelim(i: number): { delim: boolean; trim: boolean } {
    if (this.hasRightTrimMarker(i) && this.input.startsWith(this.right, i + 2)) return { delim: true, trim: true };
    if (this.input.startsWith(this.right, i)) return { delim: true, trim: false };
    return { delim: false, trim: false };
  }

  private skipLeadingSpace(i: number): number {
    while (isSpace(this.input[i])) i++;
    return i;
  }

  private lexComment(actionPos: number, commentPos: number): boolean {
    const close = this.input.indexOf('*/', commentPos + 2);
    if (close < 0) return this.fail('unclosed comment', actionPos);
    let p = close + 2;
    const r = this.atRightDelim(p);
    if (!r.delim) return this.fail('comment ends before closing delimiter', p);
    p += (r.trim ? 2 : 0) + this.right.length;
    this.push('comment', actionPos, this.input.slice(actionPos, p));
    this.pos = r.trim ? this.skipLeadingSpace(p) : p;
    return true;
  }

  private lexInsideAction(): boolean {
    const { input } = this;
    for (;;) {
      const r = this.atRightDelim(this.pos);
      if (r.delim) {
        if (this.parens.length === 0) {
          const at = this.pos + (r.trim ? 2 : 0);
          this.push('rightDelim', at, this.right);
          const after = at + this.right.length;
          this.pos = r.trim ? this.skipLeadingSpace(after) : after;
          return true;
        }
        return this.fail('unclosed left paren', this.parens[this.parens.length - 1] ?? this.pos);
      }
      if (this.pos >= input.length) return this.fail('unclosed action', this.actionStart);
      const start = this.pos;
      const c = input[start] ?? '';
      if (isSpace(c)) {
        this.lexSpace();
        continue;
      }
      const cp = input.codePointAt(start) ?? 0;
      let ok = true;
      switch (c) {
        case '=':
          this.push('assign', start, '=');
          this.pos++;
          break;
        case ':':
          if (input[start + 1] !== '=') return this.fail('expected :=', start);
          this.push('declare', start, ':=');
          this.pos += 2;
          break;
        case '|':
          this.push('pipe', start, '|');
          this.pos++;
          break;
        case '"':
          ok = this.lexQuote('"', 'string', 'unterminated quoted string');
          break;
        case "'":
          ok = this.lexQuote("'", 'charConstant', 'unterminated character constant');
          break;
        case '`':
          ok = this.lexRawQuote();
          break;
        case '$':
          ok = this.lexFieldOrVariable('variable');
          break;
        case '(':
          this.push('leftParen', start, '(');
          this.parens.push(start);
          this.pos++;
          break;
        case ')':
          // Go emits the paren before the error, so a parser error on it wins.
          this.push('rightParen', start, ')');
          this.pos++;
          if (this.parens.pop() === undefined) return this.fail(`unexpected right paren ${formatRune(0x29)}`, start);
          break;
        case '.': {
          const n = input[start + 1];
          if (start + 1 < input.length && !(n !== undefined && n >= '0' && n <= '9')) {
            ok = this.lexFieldOrVariable('field');
          } else {
            ok = this.lexNumber();
          }
          break;
        }
        default:
          if (c === '+' || c === '-' || (c >= '0' && c <= '9')) ok = this.lexNumber();
          else if (isAlphaNumeric(cp)) ok = this.lexIdentifier();
          else if (cp >= 0x20 && cp < 0x7f) {
            this.push('char', start, c);
            this.pos++;
          } else return this.fail(`unrecognized character in action: ${formatRune(cp)}`, start);
      }
      if (!ok) return false;
    }
  }

  private lexSpace(): void {
    const start = this.pos;
    let n = 0;
    while (isSpace(this.input[this.pos])) {
      this.pos++;
      n++;
    }
    // The last space may belong to a trim-marked right delimiter (" ->>").
    if (this.hasRightTrimMarker(this.pos - 1) && this.input.startsWith(this.right, this.pos + 1)) {
      this.pos--;
      if (n === 1) return;
    }
    this.push('space', start, this.input.slice(start, this.pos));
  }

  private atTerminator(): boolean {
    const cp = this.input.codePointAt(this.pos);
    if (cp === undefined) return true;
    const c = String.fromCodePoint(cp);
    if (isSpace(c)) return true;
    if ('.,|:)('.includes(c)) return true;
    return this.right.codePointAt(0) === cp;
  }

  private scanAlphaNumeric(): void {
    for (;;) {
      const cp = this.input.codePointAt(this.pos);
      if (!isAlphaNumeric(cp)) return;
      this.pos += cpWidth(cp ?? 0);
    }
  }

  private badCharacter(): false {
    const cp = this.input.codePointAt(this.pos) ?? 0;
    return this.fail(`bad character ${formatRune(cp)}`, this.pos);
  }

  private lexFieldOrVariable(kind: 'field' | 'variable'): boolean {
    const start = this.pos;
    this.pos++;
    if (this.atTerminator()) {
      this.push(kind === 'variable' ? 'variable' : 'dot', start, this.input.slice(start, this.pos));
      return true;
    }
    this.scanAlphaNumeric();
    if (!this.atTerminator()) return this.badCharacter();
    this.push(kind, start, this.input.slice(start, this.pos));
    return true;
  }

  private lexIdentifier(): boolean {
    const start = this.pos;
    this.scanAlphaNumeric();
    if (!this.atTerminator()) return this.badCharacter();
    const word = this.input.slice(start, this.pos);
    if (word === 'nil') this.push('nil', start, word);
    else if (KEYWORDS.has(word)) this.push('keyword', start, word);
    else if (word === 'true' || word === 'false') this.push('bool', start, word);
    else this.push('identifier', start, word);
    return true;
  }

  private lexQuote(quote: string, kind: TokenKind, unterminated: string): boolean {
    const start = this.pos;
    let p = start + 1;
    for (;;) {
      const c = this.input[p];
      if (c === '\\') {
        const e = this.input[p + 1];
        if (e === undefined || e === '\n') return this.fail(unterminated, start);
        p += 2;
        continue;
      }
      if (c === undefined || c === '\n') return this.fail(unterminated, start);
      p++;
      if (c === quote) break;
    }
    this.pos = p;
    this.push(kind, start, this.input.slice(start, p));
    return true;
  }

  private lexRawQuote(): boolean {
    const start = this.pos;
    const close = this.input.indexOf('`', start + 1);
    if (close < 0) return this.fail('unterminated raw quoted string', start);
    this.pos = close + 1;
    this.push('rawString', start, this.input.slice(start, this.pos));
    return true;
  }

  private accept(valid: string): boolean {
    const c = this.input[this.pos];
    if (c !== undefined && valid.includes(c)) {
      this.pos++;
      return true;
    }
    return false;
  }

  private acceptRun(valid: string): void {
    while (this.accept(valid));
  }

  /** Deliberately permissive like Go's scanner; the parser validates the text. */
  private scanNumber(): boolean {
    this.accept('+-');
    let digits = '0123456789_';
    if (this.accept('0')) {
      if (this.accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (this.accept('oO')) digits = '01234567_';
      else if (this.accept('bB')) digits = '01_';
    }
    this.acceptRun(digits);
    if (this.accept('.')) this.acceptRun(digits);
    if (digits.length === 11 && this.accept('eE')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    if (digits.length === 23 && this.accept('pP')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    this.accept('i');
    const cp = this.input.codePointAt(this.pos);
    if (isAlphaNumeric(cp)) {
      this.pos += cpWidth(cp ?? 0);
      return false;
    }
    return true;
  }

  private lexNumber(): boolean {
    const start = this.pos;
    const bad = (): false => this.fail(`bad number syntax: ${goQuote(this.input.slice(start, this.pos))}`, start);
    if (!this.scanNumber()) return bad();
    const sign = this.input[this.pos];
    if (sign === '+' || sign === '-') {
      if (!this.scanNumber() || this.input[this.pos - 1] !== 'i') return bad();
      this.push('complex', start, this.input.slice(start, this.pos));
    } else {
      this.push('number', start, this.input.slice(start, this.pos));
    }
    return true;
  }
}

// ---------------------------------------------------------------------------
// Values

/** A float64; JavaScript numbers that are not wrapped are Go ints. */
class FloatV {
  constructor(readonly value: number) {}
}

class MapV {
  constructor(readonly entries: ReadonlyMap<string, Val>) {}
}

/** The top-level data: a Go struct whose fields are known at parse time. */
class StructV {
  private readonly cache = new Map<string, Val>();
  constructor(readonly data: Readonly<Record<string, GoValue>>) {}
  field(name: string): Val {
    let v = this.cache.get(name);
    if (v === undefined && !this.cache.has(name)) {
      v = fromGoValue(this.data[name], new Set());
      this.cache.set(name, v);
    }
    return v;
  }
}

/**
 * `undefined` is Go's invalid reflect.Value (a missing map key or field), `null` a nil interface
 * stored in a slice or map. They print alike but behave differently when a field is read from them.
 */
type Val = undefined | null | string | boolean | number | FloatV | readonly Val[] | MapV | StructV;

class DataError extends Error {}

function fromGoValue(g: unknown, seen: Set<object>): Val {
  switch (typeof g) {
    case 'string':
    case 'boolean':
      return g;
    case 'number':
      if (Object.is(g, -0)) return 0;
      return Number.isSafeInteger(g) ? g : new FloatV(g);
    case 'undefined':
      throw new DataError('the data contains undefined, which has no Go equivalent');
    case 'object': {
      if (g === null) return null;
      if (seen.has(g)) throw new DataError('the data contains a cycle');
      seen.add(g);
      try {
        if (Array.isArray(g)) return g.map((item: unknown) => fromGoValue(item, seen));
        const proto: unknown = Object.getPrototypeOf(g);
        if (proto !== Object.prototype && proto !== null) throw new DataError('the data contains an object that is not a plain object');
        const m = new Map<string, Val>();
        for (const [k, v] of Object.entries(g)) if (v !== undefined) m.set(k, fromGoValue(v, seen));
        return new MapV(m);
      } finally {
        seen.delete(g);
      }
    }
    default:
      throw new DataError(`the data contains a ${typeof g}, which has no Go equivalent`);
  }
}

function typeName(v: Val): string {
  if (v === undefined || v === null) return 'nil';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'int';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof FloatV) return 'float64';
  if (v instanceof MapV) return [...v.entries.values()].every((x) => typeof x === 'string') ? 'map[string]string' : 'map[string]interface {}';
  if (v instanceof StructV) return 'struct';
  return v.every((x) => typeof x === 'string') ? '[]string' : '[]interface {}';
}

/** strconv.FormatFloat(f, 'g', -1, 64), which is what %v prints for a float64. */
function formatFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const sign = f < 0 ? '-' : '';
  // toExponential() without an argument yields the shortest digits that round-trip, as Go's does.
  const [mantissa = '', expText = '0'] = Math.abs(f).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const frac = digits.length > 1 ? '.' + digits.slice(1) : '';
    const e = Math.abs(exp).toString().padStart(2, '0');
    return `${sign}${digits[0] ?? ''}${frac}e${exp < 0 ? '-' : '+'}${e}`;
  }
  const dp = exp + 1;
  if (dp <= 0) return `${sign}0.${'0'.repeat(-dp)}${digits}`;
  if (dp >= digits.length) return sign + digits + '0'.repeat(dp - digits.length);
  return `${sign}${digits.slice(0, dp)}.${digits.slice(dp)}`;
}

class FuncError extends Error {}

/** fmt's %v, as used by print and for values nested in slices and maps. */
function formatValue(v: Val): string {
  if (v === undefined || v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof FloatV) return formatFloat(v.value);
  if (v instanceof MapV)
    return (
      'map[' +
      sortedKeys(v.entries.keys())
        .map((k) => `${k}:${formatValue(v.entries.get(k))}`)
        .join(' ') +
      ']'
    );
  if (v instanceof StructV) throw new FuncError("the template data itself can't be printed; print one of its fields");
  return '[' + v.map(formatValue).join(' ') + ']';
}

function describe(v: Val): string {
  return v instanceof StructV ? 'the template data' : formatValue(v);
}

function isTrue(v: Val): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'boolean') return v;
  if (v instanceof FloatV) return v.value !== 0;
  if (v instanceof MapV) return v.entries.size > 0;
  if (v instanceof StructV) return true;
  return v.length > 0;
}

// ---------------------------------------------------------------------------
// Literals

type NumberValue = { readonly ok: true; readonly value: number | FloatV } | { readonly ok: false; readonly message: string; readonly construct?: string };

const INT_LITERAL = /^([+-]?)(0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0(?:_?[0-7])*|[1-9](?:_?[0-9])*)$/;
const FLOAT_LITERAL = /^[+-]?(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:[eE][+-]?[0-9](?:_?[0-9])*)?$/;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** parse.newNumber followed by exec's idealConstant: the syntax decides between int and float64. */
function parseNumber(text: string): NumberValue {
  if (text.endsWith('i')) return { ok: false, message: `unsupported construct "complex number": ${text} is a complex constant`, construct: 'complex number' };
  const m = INT_LITERAL.exec(text);
  if (m) {
    const body = (m[2] ?? '').replace(/_/g, '').toLowerCase();
    let v: bigint;
    if (/^0[xbo]/.test(body)) v = BigInt(body);
    else if (body.length > 1 && body.startsWith('0')) v = BigInt('0o' + body.slice(1));
    else v = BigInt(body);
    if (m[1] === '-') v = -v;
    if (v > INT64_MAX || v < INT64_MIN) return { ok: false, message: `integer overflow: ${goQuote(text)}` };
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      return { ok: false, message: `integer constant ${text} is too large to be evaluated exactly` };
    }
    return { ok: true, value: Number(v) };
  }
  if (/^[+-]?0[xX]/.test(text)) {
    if (/[pP]/.test(text)) return { ok: false, message: `unsupported construct "hexadecimal float": ${text}`, construct: 'hexadecimal float' };
    return { ok: false, message: `illegal number syntax: ${goQuote(text)}` };
  }
  if (!/[.eE]/.test(text) || !FLOAT_LITERAL.test(text)) return { ok: false, message: `illegal number syntax: ${goQuote(text)}` };
  const f = Number(text.replace(/_/g, ''));
  if (!Number.isFinite(f)) return { ok: false, message: `illegal number syntax: ${goQuote(text)}` };
  return { ok: true, value: new FloatV(f) };
}

// ---------------------------------------------------------------------------
// AST

interface Span {
  readonly pos: number;
  end: number;
}

interface TextNode {
  readonly type: 'text';
  readonly pos: number;
  readonly text: string;
}
interface ActionNode {
  readonly type: 'action';
  readonly pos: number;
  readonly pipe: PipeNode;
}
interface IfNode {
  readonly type: 'if';
  readonly pos: number;
  readonly pipe: PipeNode;
  readonly list: Node[];
  readonly elseList?: Node[];
}
interface WithNode {
  readonly type: 'with';
  readonly pos: number;
  readonly pipe: PipeNode;
  readonly list: Node[];
  readonly elseList?: Node[];
}
interface RangeNode {
  readonly type: 'range';
  readonly pos: number;
  readonly pipe: PipeNode;
  readonly list: Node[];
  readonly elseList?: Node[];
}
type Node = TextNode | ActionNode | IfNode | WithNode | RangeNode;

interface PipeNode extends Span {
  readonly type: 'pipe';
  readonly decl: VariableNode[];
  isAssign: boolean;
  readonly cmds: CommandNode[];
}
interface CommandNode extends Span {
  readonly type: 'command';
  readonly args: ArgNode[];
}
interface FieldNode extends Span {
  readonly type: 'field';
  ident: string[];
}
interface VariableNode extends Span {
  readonly type: 'variable';
  ident: string[];
}
interface ChainNode extends Span {
  readonly type: 'chain';
  readonly node: ArgNode;
  readonly field: string[];
}
interface IdentifierNode extends Span {
  readonly type: 'identifier';
  readonly name: string;
}
interface DotNode extends Span {
  readonly type: 'dot';
}
interface NilNode extends Span {
  readonly type: 'nil';
}
interface BoolNode extends Span {
  readonly type: 'bool';
  readonly value: boolean;
}
interface NumberNode extends Span {
  readonly type: 'number';
  readonly value: number | FloatV;
}
interface StringNode extends Span {
  readonly type: 'string';
  readonly text: string;
}
type ArgNode = FieldNode | VariableNode | ChainNode | IdentifierNode | DotNode | NilNode | BoolNode | NumberNode | StringNode | PipeNode;

type Marker = { readonly type: 'end'; readonly pos: number } | { readonly type: 'else'; readonly pos: number; readonly elseIf: boolean };

interface Internal {
  readonly root: readonly Node[];
  readonly fields: ReadonlySet<string>;
  readonly lines: LineIndex;
}

const internals = new WeakMap<ParsedTemplate, Internal>();

// ---------------------------------------------------------------------------
// Parser (text/template/parse/parse.go)

const ARITY: Readonly<Record<string, readonly [number, number]>> = {
  and: [1, Infinity],
  or: [1, Infinity],
  not: [1, 1],
  len: [1, 1],
  index: [1, Infinity],
  join: [2, 2],
  print: [0, Infinity],
  printf: [1, Infinity],
  println: [0, Infinity],
  eq: [2, Infinity],
  ne: [2, 2],
  lt: [2, 2],
  le: [2, 2],
  gt: [2, 2],
  ge: [2, 2],
};

class Parser {
  private i = 0;
  private lastEnd = 0;
  private vars: string[] = ['$'];
  readonly fieldsUsed = new Set<string>();
  hasActions = false;

  constructor(
    private readonly source: string,
    private readonly tokens: readonly Token[],
    private readonly lines: LineIndex,
    private readonly fields: ReadonlySet<string>,
    private readonly fieldList: readonly string[],
    private readonly functions: ReadonlySet<string>,
  ) {}

  private error(message: string, pos: number, construct?: string): TemplateError {
    const { line, column } = this.lines.locate(pos);
    return new TemplateError(message, line, column, construct);
  }

  private token(): Token {
    const t = this.tokens[this.i] ?? this.tokens[this.tokens.length - 1];
    if (!t) throw new Error('internal error: empty token stream');
    if (t.kind === 'error') throw this.error(t.val, t.pos);
    return t;
  }

  private next(): Token {
    const t = this.token();
    this.i++;
    if (t.kind !== 'space') this.lastEnd = t.pos + t.val.length;
    return t;
  }

  private peek(): Token {
    return this.token();
  }

  private backup(): void {
    this.i--;
  }

  private nextNonSpace(): Token {
    for (;;) {
      const t = this.next();
      if (t.kind !== 'space') return t;
    }
  }

  private peekNonSpace(): Token {
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'space') return t;
      this.i++;
    }
  }

  private describeToken(t: Token): string {
    if (t.kind === 'eof') return 'EOF';
    if (t.kind === 'keyword' || t.kind === 'nil' || t.kind === 'dot') return `<${t.val}>`;
    const runes = [...t.val];
    return runes.length > 10 ? goQuote(runes.slice(0, 10).join('')) + '...' : goQuote(t.val);
  }

  private unexpected(t: Token, context: string): TemplateError {
    return this.error(`unexpected ${this.describeToken(t)} in ${context}`, t.pos);
  }

  private unsupportedKeyword(t: Token): TemplateError {
    return this.error(`unsupported construct "${t.val}": ${UNSUPPORTED_KEYWORDS.get(t.val) ?? 'not supported'}`, t.pos, t.val);
  }

  parse(): Node[] {
    const root: Node[] = [];
    for (;;) {
      if (this.peek().kind === 'eof') return root;
      const n = this.textOrAction(true);
      if (!n) continue;
      if (n.type === 'end' || n.type === 'else') throw this.error(`unexpected <${n.type}>`, n.pos);
      root.push(n);
    }
  }

  private itemList(dotIsRoot: boolean, owner: string, ownerPos: number): { list: Node[]; next: Marker } {
    const list: Node[] = [];
    for (;;) {
      if (this.peek().kind === 'eof') throw this.error(`unexpected EOF: missing end for "${owner}"`, ownerPos);
      const n = this.textOrAction(dotIsRoot);
      if (!n) continue;
      if (n.type === 'end' || n.type === 'else') return { list, next: n };
      list.push(n);
    }
  }

  private textOrAction(dotIsRoot: boolean): Node | Marker | null {
    const t = this.nextNonSpace();
    switch (t.kind) {
      case 'text':
        return { type: 'text', pos: t.pos, text: t.val };
      case 'comment':
        this.hasActions = true;
        return null;
      case 'leftDelim':
        this.hasActions = true;
        return this.action(t.pos, dotIsRoot);
      default:
        throw this.unexpected(t, 'input');
    }
  }

  private action(pos: number, dotIsRoot: boolean): Node | Marker {
    const t = this.nextNonSpace();
    if (t.kind === 'keyword') {
      switch (t.val) {
        case 'else':
          return this.elseControl(pos);
        case 'end': {
          const r = this.nextNonSpace();
          if (r.kind !== 'rightDelim') throw this.unexpected(r, 'end');
          return { type: 'end', pos };
        }
        case 'if':
          return this.ifControl(pos, dotIsRoot);
        case 'range':
        case 'with':
          return this.control(t.val, pos, dotIsRoot);
        default:
          throw this.unsupportedKeyword(t);
      }
    }
    this.backup();
    return { type: 'action', pos, pipe: this.pipeline('command', 'rightDelim', dotIsRoot, pos) };
  }

  private elseControl(pos: number): Marker {
    const p = this.peekNonSpace();
    if (p.kind === 'keyword' && p.val === 'if') return { type: 'else', pos, elseIf: true };
    if (p.kind === 'keyword' && p.val === 'with') {
      throw this.error('unsupported construct "else with": else with is not supported', p.pos, 'else with');
    }
    const r = this.nextNonSpace();
    if (r.kind !== 'rightDelim') throw this.unexpected(r, 'else');
    return { type: 'else', pos, elseIf: false };
  }

  private ifControl(pos: number, dotIsRoot: boolean): IfNode {
    const c = this.parseControl('if', pos, dotIsRoot);
    return { type: 'if', pos, ...c };
  }

  private control(kind: 'range' | 'with', pos: number, dotIsRoot: boolean): RangeNode | WithNode {
    const c = this.parseControl(kind, pos, dotIsRoot);
    return kind === 'range' ? { type: 'range', pos, ...c } : { type: 'with', pos, ...c };
  }

  private parseControl(kind: 'if' | 'range' | 'with', pos: number, dotIsRoot: boolean): { pipe: PipeNode; list: Node[]; elseList?: Node[] } {
    const mark = this.vars.length;
    const pipe = this.pipeline(kind, 'rightDelim', dotIsRoot, pos);
    const afterPipe = this.vars.length;
    const bodyIsRoot = kind === 'if' ? dotIsRoot : kind === 'with' ? this.keepsRoot(pipe, dotIsRoot) : false;
    const { list, next } = this.itemList(bodyIsRoot, kind, pos);
    let elseList: Node[] | undefined;
    if (next.type === 'else') {
      // Variables declared in the first branch are never defined while the else branch runs.
      this.vars.length = afterPipe;
      if (next.elseIf) {
        const ifTok = this.nextNonSpace();
        if (kind !== 'if') throw this.error(`unexpected <if> in input: else if is only allowed after if, not ${kind}`, ifTok.pos);
        elseList = [this.ifControl(next.pos, dotIsRoot)];
      } else {
        const r = this.itemList(dotIsRoot, kind, pos);
        if (r.next.type !== 'end') throw this.error('expected end; found <else>', r.next.pos);
        elseList = r.list;
      }
    }
    this.vars.length = mark;
    return elseList ? { pipe, list, elseList } : { pipe, list };
  }

  /** `with .` and `with $` leave dot on the top-level data, so field names there can still be checked. */
  private keepsRoot(pipe: PipeNode, dotIsRoot: boolean): boolean {
    const only = pipe.cmds.length === 1 ? pipe.cmds[0]?.args : undefined;
    const a = only?.length === 1 ? only[0] : undefined;
    if (!a) return false;
    return (a.type === 'dot' && dotIsRoot) || (a.type === 'variable' && a.ident.length === 1 && a.ident[0] === '$');
  }

  private pipeline(context: string, end: 'rightDelim' | 'rightParen', dotIsRoot: boolean, ownerPos: number): PipeNode {
    const first = this.peekNonSpace();
    const pipe: PipeNode = { type: 'pipe', pos: first.pos, end: first.pos, decl: [], isAssign: false, cmds: [] };
    for (;;) {
      const v = this.peekNonSpace();
      if (v.kind !== 'variable') break;
      const save = this.i;
      this.next();
      const after = this.peekNonSpace();
      if (after.kind === 'assign' || after.kind === 'declare') {
        this.next();
        pipe.isAssign = after.kind === 'assign';
        pipe.decl.push({ type: 'variable', pos: v.pos, end: v.pos + v.val.length, ident: [v.val] });
        break;
      }
      if (after.kind === 'char' && after.val === ',') {
        this.next();
        pipe.decl.push({ type: 'variable', pos: v.pos, end: v.pos + v.val.length, ident: [v.val] });
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace();
          if (p.kind === 'variable' || p.kind === 'rightDelim' || p.kind === 'rightParen') continue;
          throw this.error('range can only initialize variables', p.pos);
        }
        throw this.error(`too many declarations in ${context}`, after.pos);
      }
      this.i = save;
      break;
    }
    for (const d of pipe.decl) {
      const name = d.ident[0] ?? '';
      if (name === '$') throw this.error('unsupported construct "$ assignment": $ always refers to the template data here', d.pos, '$ assignment');
      if (pipe.isAssign && !this.vars.includes(name)) throw this.error(`undefined variable ${goQuote(name)}`, d.pos);
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.kind === end) {
        pipe.end = t.pos;
        this.checkPipeline(pipe, context, ownerPos);
        // Declared after the commands: Go would accept `$x := $x` at parse time and then fail to execute it.
        if (!pipe.isAssign) for (const d of pipe.decl) this.vars.push(d.ident[0] ?? '');
        return pipe;
      }
      switch (t.kind) {
        case 'bool':
        case 'charConstant':
        case 'complex':
        case 'dot':
        case 'field':
        case 'identifier':
        case 'number':
        case 'nil':
        case 'rawString':
        case 'string':
        case 'variable':
        case 'leftParen':
          this.backup();
          pipe.cmds.push(this.command(dotIsRoot));
          break;
        case 'keyword':
          if (UNSUPPORTED_KEYWORDS.has(t.val)) throw this.unsupportedKeyword(t);
          throw this.unexpected(t, context);
        default:
          throw this.unexpected(t, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string, ownerPos: number): void {
    if (pipe.cmds.length === 0) throw this.error(`missing value for ${context}`, ownerPos);
    pipe.cmds.forEach((cmd, i) => {
      const a = cmd.args[0];
      if (i > 0 && a && (a.type === 'bool' || a.type === 'dot' || a.type === 'nil' || a.type === 'number' || a.type === 'string')) {
        throw this.error(`non executable command in pipeline stage ${i + 1}`, cmd.pos);
      }
    });
    // Go finds these at execution time; with plain data they can never succeed, so report them now.
    pipe.cmds.forEach((cmd, i) => {
      const [a, ...rest] = cmd.args;
      if (!a) return;
      const argc = rest.length + (i > 0 ? 1 : 0);
      switch (a.type) {
        case 'identifier': {
          const [min, max] = ARITY[a.name] ?? [0, Infinity];
          if (a.name === 'eq' && argc < 2) throw this.error('missing argument for comparison', cmd.pos);
          if (argc >= min && argc <= max) return;
          const want = min === max ? `${min}` : `at least ${min}`;
          throw this.error(`wrong number of args for ${a.name}: want ${want} got ${argc}`, cmd.pos);
        }
        case 'field':
        case 'chain':
          if (argc > 0) throw this.methodCall(a, cmd);
          return;
        case 'variable':
          if (argc > 0 && a.ident.length > 1) throw this.methodCall(a, cmd);
          if (argc > 0) throw this.error(`can't give argument to non-function ${this.src(a)}`, cmd.pos);
          return;
        case 'nil':
          throw this.error('nil is not a command', a.pos);
        default:
          if (argc > 0) throw this.error(`can't give argument to non-function ${this.src(a)}`, cmd.pos);
      }
    });
  }

  private methodCall(a: ArgNode, cmd: CommandNode): TemplateError {
    return this.error(`unsupported construct "method call": ${this.src(a)} is given arguments, but the data has no methods`, cmd.pos, 'method call');
  }

  private src(n: Span): string {
    return this.source.slice(n.pos, n.end);
  }

  private command(dotIsRoot: boolean): CommandNode {
    const first = this.peekNonSpace();
    const cmd: CommandNode = { type: 'command', pos: first.pos, end: first.pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand(dotIsRoot);
      if (operand) {
        cmd.args.push(operand);
        cmd.end = operand.end;
      }
      const t = this.next();
      if (t.kind === 'space') continue;
      if (t.kind === 'rightDelim' || t.kind === 'rightParen') this.backup();
      else if (t.kind !== 'pipe') {
        if (t.kind === 'keyword' && UNSUPPORTED_KEYWORDS.has(t.val)) throw this.unsupportedKeyword(t);
        throw this.unexpected(t, 'operand');
      }
      break;
    }
    if (cmd.args.length === 0) throw this.error('empty command', cmd.pos);
    return cmd;
  }

  private operand(dotIsRoot: boolean): ArgNode | null {
    const node = this.term(dotIsRoot);
    if (!node) return null;
    if (this.peek().kind !== 'field') return node;
    const fields: string[] = [];
    while (this.peek().kind === 'field') fields.push(this.next().val.slice(1));
    const end = this.lastEnd;
    switch (node.type) {
      case 'field':
        return { ...node, ident: [...node.ident, ...fields], end };
      case 'variable': {
        if (node.ident.length === 1 && node.ident[0] === '$') this.checkField(fields[0] ?? '', node.end);
        return { ...node, ident: [...node.ident, ...fields], end };
      }
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        throw this.error(`unexpected . after term ${goQuote(this.src(node))}`, node.end);
      default:
        return { type: 'chain', pos: node.pos, end, node, field: fields };
    }
  }

  private checkField(name: string, pos: number): void {
    if (!this.fields.has(name)) {
      const known = this.fieldList.length ? this.fieldList.map((f) => '.' + f).join(', ') : 'none';
      throw this.error(`unknown field .${name} (known: ${known})`, pos);
    }
    this.fieldsUsed.add(name);
  }

  private term(dotIsRoot: boolean): ArgNode | null {
    const t = this.nextNonSpace();
    const span = { pos: t.pos, end: t.pos + t.val.length };
    switch (t.kind) {
      case 'identifier': {
        const why = UNSUPPORTED_FUNCTIONS.get(t.val);
        if (why) throw this.error(`unsupported construct "${t.val}": ${why}`, t.pos, t.val);
        if (!this.functions.has(t.val)) throw this.error(`function ${goQuote(t.val)} not defined`, t.pos);
        return { type: 'identifier', ...span, name: t.val };
      }
      case 'dot':
        return { type: 'dot', ...span };
      case 'nil':
        return { type: 'nil', ...span };
      case 'variable':
        if (!this.vars.includes(t.val)) throw this.error(`undefined variable ${goQuote(t.val)}`, t.pos);
        return { type: 'variable', ...span, ident: [t.val] };
      case 'field': {
        const name = t.val.slice(1);
        if (dotIsRoot) this.checkField(name, t.pos);
        return { type: 'field', ...span, ident: [name] };
      }
      case 'bool':
        return { type: 'bool', ...span, value: t.val === 'true' };
      case 'charConstant': {
        const r = unquoteChar(t.val, 1, "'");
        if (!r) throw this.error(`invalid syntax in character constant ${t.val}`, t.pos);
        if (t.val.slice(r.next) !== "'") throw this.error(`malformed character constant: ${t.val}`, t.pos);
        return { type: 'number', ...span, value: r.value };
      }
      case 'complex':
        throw this.error(`unsupported construct "complex number": ${t.val} is a complex constant`, t.pos, 'complex number');
      case 'number': {
        const n = parseNumber(t.val);
        if (!n.ok) throw this.error(n.message, t.pos, n.construct);
        return { type: 'number', ...span, value: n.value };
      }
      case 'leftParen': {
        const pipe = this.pipeline('parenthesized pipeline', 'rightParen', dotIsRoot, t.pos);
        return { ...pipe, pos: t.pos, end: this.lastEnd };
      }
      case 'string':
      case 'rawString': {
        const s = unquoteString(t.val);
        if (s === null) throw this.error(`invalid syntax in string literal ${t.val}`, t.pos);
        return { type: 'string', ...span, text: s };
      }
      case 'keyword':
        if (UNSUPPORTED_KEYWORDS.has(t.val)) throw this.unsupportedKeyword(t);
        this.backup();
        return null;
      default:
        this.backup();
        return null;
    }
  }
}

export function parseGoTemplate(text: string, options: ParseOptions): ParsedTemplate {
  const left = options.leftDelim || '<<';
  const right = options.rightDelim || '>>';
  const allowed = options.functions ?? SUPPORTED_FUNCTIONS;
  for (const f of allowed) {
    if (!SUPPORTED_FUNCTIONS.includes(f)) throw new TypeError(`ParseOptions.functions: ${JSON.stringify(f)} is not a supported function`);
  }
  const lines = new LineIndex(text);
  const fields = new Set(options.fields);
  const tokens = new Lexer(text, left, right).lex();
  const parser = new Parser(text, tokens, lines, fields, [...options.fields], new Set(allowed));
  const root = parser.parse();
  const parsed: ParsedTemplate = Object.freeze({ source: text, fieldsUsed: parser.fieldsUsed, hasActions: parser.hasActions });
  internals.set(parsed, { root, fields, lines });
  return parsed;
}

// ---------------------------------------------------------------------------
// Execution (text/template/exec.go, funcs.go)

const MISSING: unique symbol = Symbol('missing');
type Final = Val | typeof MISSING;

function normalize(v: Val): Val {
  return v === null ? undefined : v;
}

function basicKind(v: Val): 'bool' | 'int' | 'float' | 'string' | 'invalid' {
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'int';
  if (typeof v === 'string') return 'string';
  if (v instanceof FloatV) return 'float';
  return 'invalid';
}

function eq(args: readonly Val[]): boolean {
  const [a1, ...rest] = args;
  if (a1 !== undefined && basicKind(a1) === 'invalid') throw new FuncError(`uncomparable type ${typeName(a1)}: ${describe(a1)}`);
  if (rest.length === 0) throw new FuncError('missing argument for comparison');
  const k1 = basicKind(a1);
  for (const a of rest) {
    const k2 = basicKind(a);
    let truth: boolean;
    if (k1 !== k2) {
      if (a1 !== undefined && a !== undefined) throw new FuncError('incompatible types for comparison');
      truth = false;
    } else if (k1 === 'float') {
      truth = (a1 as FloatV).value === (a as FloatV).value;
    } else {
      // For 'invalid' a1 is nil here (anything else was rejected above), and so is a.
      truth = a1 === a;
    }
    if (truth) return true;
  }
  return false;
}

function lt(a: Val, b: Val): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (k1 === 'invalid' || k2 === 'invalid') throw new FuncError('invalid type for comparison');
  if (k1 !== k2) throw new FuncError('incompatible types for comparison');
  switch (k1) {
    case 'bool':
      throw new FuncError('invalid type for comparison');
    case 'float':
      return (a as FloatV).value < (b as FloatV).value;
    case 'string':
      return compareGoStrings(a as string, b as string) < 0;
    default:
      return (a as number) < (b as number);
  }
}

function le(a: Val, b: Val): boolean {
  return lt(a, b) || eq([a, b]);
}

function indexArg(idx: Val, length: number): number {
  if (typeof idx === 'number') {
    if (idx < 0 || idx >= length) throw new FuncError(`index out of range: ${idx}`);
    return idx;
  }
  if (idx === undefined || idx === null) throw new FuncError('cannot index slice/array with nil');
  throw new FuncError(`cannot index slice/array with type ${typeName(idx)}`);
}

function index(args: readonly Val[]): Val {
  let [item] = args;
  if (item === undefined || item === null) throw new FuncError('index of untyped nil');
  for (const idx of args.slice(1)) {
    if (item === undefined || item === null) throw new FuncError('index of nil pointer');
    if (Array.isArray(item)) {
      item = (item as readonly Val[])[indexArg(idx, item.length)];
    } else if (typeof item === 'string') {
      const bytes = utf8Encoder.encode(item);
      item = bytes[indexArg(idx, bytes.length)];
    } else if (item instanceof MapV) {
      if (idx === undefined || idx === null) throw new FuncError('value is nil; should be of type string');
      if (typeof idx !== 'string') throw new FuncError(`value has type ${typeName(idx)}; should be string`);
      if (item.entries.has(idx)) {
        item = item.entries.get(idx);
      } else if ([...item.entries.values()].every((v) => typeof v === 'string')) {
        // The zero value of a map[string]string element, as for the adapter's LabelValuesByName.
        item = '';
      } else {
        throw new FuncError(`map has no entry for key ${goQuote(idx)}, and the zero value of its element type is unknown`);
      }
    } else {
      throw new FuncError(`can't index item of type ${typeName(item)}`);
    }
  }
  return item;
}

function length(v: Val): number {
  if (typeof v === 'string') return utf8Length(v);
  if (Array.isArray(v)) return v.length;
  if (v instanceof MapV) return v.entries.size;
  if (v === undefined || v === null) throw new FuncError('len of nil');
  throw new FuncError(`len of type ${typeName(v)}`);
}

function join(list: Val, sep: Val): string {
  if (!Array.isArray(list)) throw new FuncError(`join expects a list of strings; got ${typeName(list)}`);
  const items = list as readonly Val[];
  const bad = items.findIndex((x) => typeof x !== 'string');
  if (bad >= 0) throw new FuncError(`join expects a list of strings; element ${bad} has type ${typeName(items[bad])}`);
  if (typeof sep !== 'string') throw new FuncError(`join expects a string separator; got ${typeName(sep)}`);
  return (items as readonly string[]).join(sep);
}

function sprint(args: readonly Val[]): string {
  let out = '';
  let prevString = false;
  args.forEach((a, i) => {
    const isString = typeof a === 'string';
    if (i > 0 && !isString && !prevString) out += ' ';
    out += formatValue(a);
    prevString = isString;
  });
  return out;
}

function formatVerb(v: Val, verb: 's' | 'd' | 'q'): string {
  if (Array.isArray(v)) return '[' + (v as readonly Val[]).map((x) => formatVerb(x, verb)).join(' ') + ']';
  if (v instanceof MapV) {
    return (
      'map[' +
      sortedKeys(v.entries.keys())
        .map((k) => `${formatVerb(k, verb)}:${formatVerb(v.entries.get(k), verb)}`)
        .join(' ') +
      ']'
    );
  }
  if (verb === 's' && typeof v === 'string') return v;
  if (verb === 'q' && typeof v === 'string') return goQuote(v);
  if (verb === 'd' && typeof v === 'number') return String(v);
  // Go would print something like %!d(string=x) into the query; refuse instead.
  throw new FuncError(`printf: %${verb} can't format ${v === undefined || v === null ? 'nil' : `${describe(v)} (${typeName(v)})`}`);
}

function sprintf(format: Val, args: readonly Val[]): string {
  if (format === undefined || format === null) throw new FuncError('invalid value; expected string');
  if (typeof format !== 'string') throw new FuncError(`wrong type for value; expected string; got ${typeName(format)}`);
  let out = '';
  let next = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format.charAt(i);
    if (c !== '%') {
      out += c;
      continue;
    }
    const cp = format.codePointAt(i + 1);
    if (cp === undefined) throw new FuncError('printf: format ends with a lone %');
    const verb = String.fromCodePoint(cp);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (verb !== 'v' && verb !== 's' && verb !== 'd' && verb !== 'q') {
      throw new FuncError(`printf: unsupported directive %${verb} (only %s, %v, %d, %q and %% are supported, without flags or width)`);
    }
    if (next >= args.length) throw new FuncError(`printf: missing argument for %${verb}`);
    const arg = args[next++];
    out += verb === 'v' ? formatValue(arg) : formatVerb(arg, verb);
  }
  if (next < args.length) throw new FuncError(`printf: ${args.length - next} extra argument(s) for the format`);
  return out;
}

function callBuiltin(name: string, args: readonly Val[]): Val {
  switch (name) {
    case 'not':
      return !isTrue(args[0]);
    case 'len':
      return length(args[0]);
    case 'index':
      return index(args);
    case 'join':
      return join(args[0], args[1]);
    case 'print':
      return sprint(args);
    case 'println':
      return args.map(formatValue).join(' ') + '\n';
    case 'printf':
      return sprintf(args[0], args.slice(1));
    case 'eq':
      return eq(args);
    case 'ne':
      return !eq([args[0], args[1]]);
    case 'lt':
      return lt(args[0], args[1]);
    case 'le':
      return le(args[0], args[1]);
    case 'gt':
      return !le(args[0], args[1]);
    case 'ge':
      return !lt(args[0], args[1]);
    default:
      throw new FuncError(`function "${name}" not defined`);
  }
}

class Executor {
  private readonly out: string[] = [];
  private readonly vars: { name: string; value: Val }[];
  private at = 0;
  private context: Span | undefined;

  constructor(
    private readonly t: Internal,
    private readonly source: string,
    root: StructV,
  ) {
    this.vars = [{ name: '$', value: root }];
  }

  run(): string {
    this.walkList(this.vars[0]?.value, this.t.root);
    return this.out.join('');
  }

  private fail(message: string): never {
    const { line, column } = this.t.lines.locate(this.at);
    const where = this.context ? `at <${this.source.slice(this.context.pos, this.context.end).replace(/\s+/g, ' ')}>: ` : '';
    throw new TemplateError(where + message, line, column);
  }

  private enter(node: { readonly pos: number }, pipe: PipeNode): void {
    this.at = node.pos;
    this.context = pipe;
  }

  private walkList(dot: Val, nodes: readonly Node[]): void {
    for (const n of nodes) this.walk(dot, n);
  }

  private walk(dot: Val, node: Node): void {
    switch (node.type) {
      case 'text':
        this.out.push(node.text);
        return;
      case 'action': {
        this.enter(node, node.pipe);
        const v = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.out.push(this.printValue(v));
        return;
      }
      case 'if':
      case 'with': {
        const mark = this.vars.length;
        this.enter(node, node.pipe);
        const v = this.evalPipeline(dot, node.pipe);
        if (isTrue(v)) this.walkList(node.type === 'with' ? v : dot, node.list);
        else if (node.elseList) this.walkList(dot, node.elseList);
        this.vars.length = mark;
        return;
      }
      case 'range':
        this.walkRange(dot, node);
        return;
    }
  }

  private walkRange(dot: Val, r: RangeNode): void {
    const outer = this.vars.length;
    this.enter(r, r.pipe);
    const val = this.evalPipeline(dot, r.pipe);
    const mark = this.vars.length;
    const { decl, isAssign } = r.pipe;
    const one = (key: Val, elem: Val): void => {
      const first = decl[0]?.ident[0] ?? '';
      const second = decl[1]?.ident[0] ?? '';
      if (decl.length === 1) {
        if (isAssign) this.setVar(first, elem);
        else this.setTopVar(1, elem);
      } else if (decl.length === 2) {
        if (isAssign) {
          this.setVar(first, key);
          this.setVar(second, elem);
        } else {
          this.setTopVar(1, elem);
          this.setTopVar(2, key);
        }
      }
      this.walkList(elem, r.list);
      this.vars.length = mark;
    };
    let iterated = false;
    if (Array.isArray(val)) {
      const items = val as readonly Val[];
      items.forEach((item, i) => one(i, item));
      iterated = items.length > 0;
    } else if (val instanceof MapV) {
      for (const k of sortedKeys(val.entries.keys())) one(k, val.entries.get(k));
      iterated = val.entries.size > 0;
    } else if (val !== undefined) {
      this.enter(r, r.pipe);
      // Ranging over an integer depends on the Go version the adapter was built with (1.22+).
      if (typeof val === 'number') this.fail(`range over an integer (${val}) is not supported`);
      this.fail(`range can't iterate over ${describe(val)}`);
    }
    if (!iterated && r.elseList) this.walkList(dot, r.elseList);
    this.vars.length = outer;
  }

  private setVar(name: string, value: Val): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const v = this.vars[i];
      if (v?.name === name) {
        v.value = value;
        return;
      }
    }
    this.fail(`undefined variable: ${name}`);
  }

  private setTopVar(n: number, value: Val): void {
    const v = this.vars[this.vars.length - n];
    if (v) v.value = value;
  }

  private varValue(name: string): Val {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const v = this.vars[i];
      if (v?.name === name) return v.value;
    }
    return this.fail(`undefined variable: ${name}`);
  }

  private printValue(v: Val): string {
    if (v === undefined || v === null) return '<no value>';
    return this.guard(() => formatValue(v));
  }

  private guard<T>(f: () => T, prefix = ''): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof FuncError || e instanceof DataError) this.fail(prefix + e.message);
      throw e;
    }
  }

  private evalPipeline(dot: Val, pipe: PipeNode): Val {
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) value = normalize(this.evalCommand(dot, cmd, value));
    const result = value === MISSING ? undefined : value;
    for (const d of pipe.decl) {
      const name = d.ident[0] ?? '';
      if (pipe.isAssign) this.setVar(name, result);
      else this.vars.push({ name, value: result });
    }
    return result;
  }

  private evalCommand(dot: Val, cmd: CommandNode, final: Final): Val {
    const saved = this.context;
    this.context = cmd;
    try {
      const [first, ...args] = cmd.args;
      if (!first) return this.fail('empty command');
      if (first.type === 'identifier') return this.callFunction(dot, first.name, args, final);
      return this.evalArgRaw(dot, first);
    } finally {
      this.context = saved;
    }
  }

  private evalArgRaw(dot: Val, n: ArgNode): Val {
    switch (n.type) {
      case 'dot':
        return dot;
      case 'nil':
        return undefined;
      case 'bool':
        return n.value;
      case 'number':
        return n.value;
      case 'string':
        return n.text;
      case 'field':
        return this.evalFieldChain(dot, n.ident);
      case 'variable': {
        const v = this.varValue(n.ident[0] ?? '');
        return n.ident.length > 1 ? this.evalFieldChain(v, n.ident.slice(1)) : v;
      }
      case 'chain':
        return this.evalFieldChain(this.evalArg(dot, n.node), n.field);
      case 'pipe':
        return this.evalPipeline(dot, n);
      case 'identifier':
        return this.callFunction(dot, n.name, [], MISSING);
    }
  }

  private evalArg(dot: Val, n: ArgNode): Val {
    return normalize(this.evalArgRaw(dot, n));
  }

  private evalFieldChain(receiver: Val, ident: readonly string[]): Val {
    let v = receiver;
    for (const name of ident) v = this.evalField(v, name);
    return v;
  }

  private evalField(receiver: Val, name: string): Val {
    if (receiver === undefined) return undefined;
    if (receiver === null) return this.fail(`nil pointer evaluating interface {}.${name}`);
    if (receiver instanceof StructV) {
      if (!this.t.fields.has(name)) return this.fail(`can't evaluate field ${name} in the template data`);
      if (!Object.prototype.hasOwnProperty.call(receiver.data, name) || receiver.data[name] === undefined) {
        return this.fail(`no value was supplied for field .${name}`);
      }
      return this.guard(() => receiver.field(name), `field .${name}: `);
    }
    if (receiver instanceof MapV) return receiver.entries.get(name);
    return this.fail(`can't evaluate field ${name} in type ${typeName(receiver)}`);
  }

  private callFunction(dot: Val, name: string, argNodes: readonly ArgNode[], final: Final): Val {
    if (name === 'and' || name === 'or') {
      // Short-circuits like Go 1.18+: later arguments are not evaluated.
      let v: Val = undefined;
      for (const n of argNodes) {
        v = this.evalArg(dot, n);
        if (isTrue(v) === (name === 'or')) return v;
      }
      return final === MISSING ? v : normalize(final);
    }
    const args = argNodes.map((n) => this.evalArg(dot, n));
    if (final !== MISSING) args.push(normalize(final));
    return this.guard(() => callBuiltin(name, args), `error calling ${name}: `);
  }
}

export function executeGoTemplate(template: ParsedTemplate, data: Readonly<Record<string, GoValue>>): string {
  const t = internals.get(template);
  if (!t) throw new TypeError('executeGoTemplate: the template was not returned by parseGoTemplate');
  return new Executor(t, template.source, new StructV(data)).run();
}
