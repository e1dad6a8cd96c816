// RE2 regular expressions (the syntax of Go's `regexp` package, which the
// prometheus-adapter rule files are written in) translated into JavaScript
// RegExps with the same meaning.
//
// The translation is done by a real parser that follows Go's
// regexp/syntax/parse.go: the same tokens are accepted, the same ones are
// rejected (with Go's error texts), and every construct is emitted in a form
// whose JavaScript meaning is exactly the RE2 one. Several RE2 constructs look
// like JavaScript but mean something else, which is why nothing here is passed
// through verbatim:
//
// - `.` excludes only "\n" in RE2; JavaScript's `.` also excludes "\r",
//   U+2028 and U+2029.
// - `\s` is [\t\n\f\r ] in RE2; JavaScript's `\s` has \v and Unicode spaces.
// - `(?m)^` and `(?m)$` only treat "\n" as a line end in RE2; JavaScript's
//   m flag also breaks lines at "\r", U+2028 and U+2029.
// - `(?i)` folds a class before negating it in RE2 (`(?i)\P{Lu}` matches
//   neither "A" nor "a"); JavaScript's i flag with the u flag negates first.
//
// So the JavaScript flags are always just `u`; dot-all, multi-line and case
// folding are compiled into the pattern itself. That also gives flags that
// change mid-pattern (`a(?i)b`, `(?i:x)`, `(?-s)`) for free, which Node 20
// has no inline-modifier syntax for.

export class Re2SyntaxError extends Error {
  override name = 'Re2SyntaxError';

  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

export interface CompiledRegex {
  readonly source: string;
  readonly regex: RegExp;
  readonly groupNames: readonly (string | undefined)[];
}

// Go's regexp/syntax error codes, word for word.
const ERR = {
  invalidCharRange: 'invalid character class range',
  invalidEscape: 'invalid escape sequence',
  invalidNamedCapture: 'invalid named capture',
  invalidPerlOp: 'invalid or unsupported Perl syntax',
  invalidRepeatOp: 'invalid nested repetition operator',
  invalidRepeatSize: 'invalid repeat count',
  invalidUTF8: 'invalid UTF-8',
  missingBracket: 'missing closing ]',
  missingParen: 'missing closing )',
  missingRepeatArgument: 'missing argument to repetition operator',
  trailingBackslash: 'trailing backslash at end of expression',
  unexpectedParen: 'unexpected )',
  nestingDepth: 'expression nests too deeply',
  // Go's regexp accepts a repeated name (and SubexpIndex picks the first);
  // RE2 itself rejects it, and so do JavaScript named groups on Node 20.
  duplicateName: 'duplicate capture group name',
  // Perl/PCRE/JavaScript features that RE2 leaves out on purpose (they need
  // backtracking). Go reports most of these as a generic syntax error; a
  // rule author deserves to be told what is actually wrong.
  lookAround: 'look-around is not supported in RE2 syntax',
  backreference: 'backreferences are not supported in RE2 syntax',
  possessive: 'possessive quantifiers are not supported in RE2 syntax',
  atomicGroup: 'atomic groups are not supported in RE2 syntax',
  conditional: 'conditionals are not supported in RE2 syntax',
  recursion: 'recursion and subroutine calls are not supported in RE2 syntax',
  comment: 'inline comments are not supported in RE2 syntax',
  endBeforeNewline: '\\Z is not supported in RE2 syntax (use \\z or $, which only match at the very end)',
  previousMatchEnd: '\\G is not supported in RE2 syntax',
  unicodeEscape: 'invalid escape sequence (RE2 writes code points as \\x{...})',
} as const;

function syntaxError(code: string, offset: number, expr: string): Re2SyntaxError {
  return new Re2SyntaxError(`${code}: \`${expr}\` at offset ${offset}`, offset);
}

// ---------------------------------------------------------------------------
// Character sets as sorted, merged code point ranges.

type Range = readonly [number, number];

const MAX_RUNE = 0x10ffff;
const FULL: readonly Range[] = [[0, MAX_RUNE]];

function normalize(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && lo <= last[1] + 1) {
      if (hi > last[1]) last[1] = hi;
    } else {
      out.push([lo, hi]);
    }
  }
  return out;
}

function complement(ranges: readonly Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of normalize(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

function sameRanges(a: readonly Range[], b: readonly Range[]): boolean {
  return a.length === b.length && a.every((r, i) => r[0] === b[i]?.[0] && r[1] === b[i]?.[1]);
}

// Go's perl_groups.go: the Perl classes are ASCII-only in RE2.
const PERL_CLASSES: ReadonlyMap<string, readonly Range[]> = new Map([
  ['d', [[0x30, 0x39]]],
  ['s', [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]]],
  ['w', [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]]],
]);

const POSIX_CLASSES: ReadonlyMap<string, readonly Range[]> = new Map<string, readonly Range[]>([
  ['alnum', [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]]],
  ['alpha', [[0x41, 0x5a], [0x61, 0x7a]]],
  ['ascii', [[0x00, 0x7f]]],
  ['blank', [[0x09, 0x09], [0x20, 0x20]]],
  ['cntrl', [[0x00, 0x1f], [0x7f, 0x7f]]],
  ['digit', [[0x30, 0x39]]],
  ['graph', [[0x21, 0x7e]]],
  ['lower', [[0x61, 0x7a]]],
  ['print', [[0x20, 0x7e]]],
  ['punct', [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]]],
  // POSIX space has \v; Perl's \s does not.
  ['space', [[0x09, 0x0d], [0x20, 0x20]]],
  ['upper', [[0x41, 0x5a]]],
  ['word', [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]]],
  ['xdigit', [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]]],
]);

// The \p{...} names Go's regexp accepts: unicode.Categories, unicode.Scripts
// and "Any", spelled exactly (no aliases such as "Letter" or "Grek").
const CATEGORIES = new Set([
  'C', 'Cc', 'Cf', 'Co', 'Cs', 'L', 'Ll', 'Lm', 'Lo', 'Lt', 'Lu', 'M', 'Mc', 'Me', 'Mn',
  'N', 'Nd', 'Nl', 'No', 'P', 'Pc', 'Pd', 'Pe', 'Pf', 'Pi', 'Po', 'Ps', 'S', 'Sc', 'Sk',
  'Sm', 'So', 'Z', 'Zl', 'Zp', 'Zs',
]);

const SCRIPTS = new Set([
  'Adlam', 'Ahom', 'Anatolian_Hieroglyphs', 'Arabic', 'Armenian', 'Avestan', 'Balinese',
  'Bamum', 'Bassa_Vah', 'Batak', 'Bengali', 'Bhaiksuki', 'Bopomofo', 'Brahmi', 'Braille',
  'Buginese', 'Buhid', 'Canadian_Aboriginal', 'Carian', 'Caucasian_Albanian', 'Chakma',
  'Cham', 'Cherokee', 'Chorasmian', 'Common', 'Coptic', 'Cuneiform', 'Cypriot',
  'Cypro_Minoan', 'Cyrillic', 'Deseret', 'Devanagari', 'Dives_Akuru', 'Dogra', 'Duployan',
  'Egyptian_Hieroglyphs', 'Elbasan', 'Elymaic', 'Ethiopic', 'Georgian', 'Glagolitic',
  'Gothic', 'Grantha', 'Greek', 'Gujarati', 'Gunjala_Gondi', 'Gurmukhi', 'Han', 'Hangul',
  'Hanifi_Rohingya', 'Hanunoo', 'Hatran', 'Hebrew', 'Hiragana', 'Imperial_Aramaic',
  'Inherited', 'Inscriptional_Pahlavi', 'Inscriptional_Parthian', 'Javanese', 'Kaithi',
  'Kannada', 'Katakana', 'Kawi', 'Kayah_Li', 'Kharoshthi', 'Khitan_Small_Script', 'Khmer',
  'Khojki', 'Khudawadi', 'Lao', 'Latin', 'Lepcha', 'Limbu', 'Linear_A', 'Linear_B', 'Lisu',
  'Lycian', 'Lydian', 'Mahajani', 'Makasar', 'Malayalam', 'Mandaic', 'Manichaean',
  'Marchen', 'Masaram_Gondi', 'Medefaidrin', 'Meetei_Mayek', 'Mende_Kikakui',
  'Meroitic_Cursive', 'Meroitic_Hieroglyphs', 'Miao', 'Modi', 'Mongolian', 'Mro',
  'Multani', 'Myanmar', 'Nabataean', 'Nag_Mundari', 'Nandinagari', 'New_Tai_Lue', 'Newa',
  'Nko', 'Nushu', 'Nyiakeng_Puachue_Hmong', 'Ogham', 'Ol_Chiki', 'Old_Hungarian',
  'Old_Italic', 'Old_North_Arabian', 'Old_Permic', 'Old_Persian', 'Old_Sogdian',
  'Old_South_Arabian', 'Old_Turkic', 'Old_Uyghur', 'Oriya', 'Osage', 'Osmanya',
  'Pahawh_Hmong', 'Palmyrene', 'Pau_Cin_Hau', 'Phags_Pa', 'Phoenician', 'Psalter_Pahlavi',
  'Rejang', 'Runic', 'Samaritan', 'Saurashtra', 'Sharada', 'Shavian', 'Siddham',
  'SignWriting', 'Sinhala', 'Sogdian', 'Sora_Sompeng', 'Soyombo', 'Sundanese',
  'Syloti_Nagri', 'Syriac', 'Tagalog', 'Tagbanwa', 'Tai_Le', 'Tai_Tham', 'Tai_Viet',
  'Takri', 'Tamil', 'Tangsa', 'Tangut', 'Telugu', 'Thaana', 'Thai', 'Tibetan', 'Tifinagh',
  'Tirhuta', 'Toto', 'Ugaritic', 'Vai', 'Vithkuqi', 'Wancho', 'Warang_Citi', 'Yezidi', 'Yi',
  'Zanabazar_Square',
]);

// A Unicode class as JavaScript property names (their union), or as plain
// ranges when JavaScript has no property with the same members.
type UnicodeClass = { readonly props: readonly string[] } | { readonly ranges: readonly Range[] };

function lookupUnicodeClass(name: string): UnicodeClass | undefined {
  if (name === 'Any') return { ranges: FULL };
  // Go's C is Cc|Cf|Co|Cs; JavaScript's \p{C} also has the unassigned Cn.
  if (name === 'C') return { props: ['Cc', 'Cf', 'Co', 'Cs'] };
  if (CATEGORIES.has(name)) return { props: [name] };
  if (SCRIPTS.has(name)) return { props: [`Script=${name}`] };
  return undefined;
}

const propTesters = new Map<string, RegExp | null>();

// One regex that matches a single character in the union of `props`; null
// when this JavaScript runtime's Unicode tables lack one of them.
function propTester(props: readonly string[]): RegExp | null {
  const key = props.join(',');
  let tester = propTesters.get(key);
  if (tester === undefined) {
    try {
      tester = new RegExp(`^[${props.map((p) => `\\p{${p}}`).join('')}]$`, 'u');
    } catch {
      tester = null;
    }
    propTesters.set(key, tester);
  }
  return tester;
}

// ---------------------------------------------------------------------------
// Simple case folding, the relation (?i) uses in RE2 (Go's unicode.SimpleFold
// orbits). Node exposes no case-folding table, so one is derived: characters
// linked by single-character upper/lower mappings form candidate groups, and
// each group is split by what the engine's own /ui matching considers equal
// (JavaScript's i+u flags use the same Unicode simple case folding). The links
// are found once, on the first case-insensitive pattern; groups are split on
// first use.

// Go's maxFold: no character above U+1E943 takes part in case folding.
const MAX_FOLD = 0x1e943;
// A character outside this property has no case mapping, so links no others.
const CASE_MAPPED = /^\p{Changes_When_Casemapped}$/u;

interface CaseLinks {
  readonly links: ReadonlyMap<number, readonly number[]>;
  readonly members: readonly number[]; // every linked code point, ascending
}

let caseLinks: CaseLinks | undefined;
const orbits = new Map<number, readonly number[] | null>();

function getCaseLinks(): CaseLinks {
  if (caseLinks !== undefined) return caseLinks;
  const links = new Map<number, number[]>();
  const link = (a: number, b: number): void => {
    for (const [x, y] of [[a, b], [b, a]] as const) {
      const list = links.get(x);
      if (list === undefined) links.set(x, [y]);
      else list.push(y);
    }
  };
  for (let cp = 0; cp <= MAX_FOLD; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const s = String.fromCodePoint(cp);
    if (!CASE_MAPPED.test(s)) continue;
    for (const mapped of [s.toLowerCase(), s.toUpperCase()]) {
      if (mapped === s) continue;
      const m = mapped.codePointAt(0);
      if (m !== undefined && String.fromCodePoint(m) === mapped) link(cp, m);
    }
  }
  caseLinks = { links, members: [...links.keys()].sort((a, b) => a - b) };
  return caseLinks;
}

// The characters equal to `cp` under simple case folding, itself included;
// undefined when there are none besides itself.
function orbitOf(cp: number): readonly number[] | undefined {
  const cached = orbits.get(cp);
  if (cached !== undefined) return cached ?? undefined;
  const { links } = getCaseLinks();
  if (!links.has(cp)) return undefined;
  const component: number[] = [];
  const seen = new Set([cp]);
  const stack = [cp];
  while (stack.length > 0) {
    const next = stack.pop() as number;
    component.push(next);
    for (const other of links.get(next) ?? []) {
      if (!seen.has(other)) {
        seen.add(other);
        stack.push(other);
      }
    }
  }
  component.sort((a, b) => a - b);
  const groups: { tester: RegExp; members: number[] }[] = [];
  for (const member of component) {
    const ch = String.fromCodePoint(member);
    const group = groups.find((g) => g.tester.test(ch));
    if (group !== undefined) group.members.push(member);
    else groups.push({ tester: new RegExp(`^${escapeLiteral(member)}$`, 'ui'), members: [member] });
  }
  for (const g of groups) {
    for (const member of g.members) orbits.set(member, g.members.length > 1 ? g.members : null);
  }
  return orbits.get(cp) ?? undefined;
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Go's appendFoldedRange: the ranges plus everything that folds to them.
function foldRanges(ranges: readonly Range[]): Range[] {
  const { members } = getCaseLinks();
  const out: Range[] = [...ranges];
  for (const [lo, hi] of ranges) {
    for (let i = lowerBound(members, lo); i < members.length; i++) {
      const cp = members[i] as number;
      if (cp > hi) break;
      for (const other of orbitOf(cp) ?? []) out.push([other, other]);
    }
  }
  return normalize(out);
}

// Go folds \p{...} with unicode.FoldCategory/FoldScript: the characters
// outside the class whose case variants are inside it.
function foldExtrasOf(props: readonly string[]): Range[] {
  const tester = propTester(props);
  if (tester === null) return [];
  const extras: Range[] = [];
  for (const cp of getCaseLinks().members) {
    if (!tester.test(String.fromCodePoint(cp))) continue;
    for (const other of orbitOf(cp) ?? []) {
      if (!tester.test(String.fromCodePoint(other))) extras.push([other, other]);
    }
  }
  return normalize(extras);
}

// ---------------------------------------------------------------------------
// JavaScript output.

// Non-ASCII characters written as themselves; marks, spaces, controls and
// unassigned code points are written as \u{...} so the output stays readable.
const VISIBLE = /^[\p{L}\p{N}\p{P}\p{S}]$/u;
const SYNTAX_CHARS = new Set('^$\\.*+?()[]{}|/');
const CLASS_SYNTAX_CHARS = new Set('\\]-[^');

function escapeControl(cp: number): string | undefined {
  switch (cp) {
    case 0x09: return '\\t';
    case 0x0a: return '\\n';
    case 0x0b: return '\\v';
    case 0x0c: return '\\f';
    case 0x0d: return '\\r';
  }
  if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && !VISIBLE.test(String.fromCodePoint(cp)))) {
    return `\\u{${cp.toString(16).toUpperCase()}}`;
  }
  return undefined;
}

// In 'u' mode only syntax characters may be escaped ("\-" outside a class or
// "\_" is a SyntaxError), so escaping is decided per character.
function escapeLiteral(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if (SYNTAX_CHARS.has(ch)) return `\\${ch}`;
  return escapeControl(cp) ?? ch;
}

function escapeClassChar(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if (CLASS_SYNTAX_CHARS.has(ch)) return `\\${ch}`;
  return escapeControl(cp) ?? ch;
}

function rangesBody(ranges: readonly Range[]): string {
  let body = '';
  for (const [lo, hi] of ranges) {
    body += escapeClassChar(lo);
    if (hi === lo + 1) body += escapeClassChar(hi);
    else if (hi > lo) body += `-${escapeClassChar(hi)}`;
  }
  return body;
}

// A class written out with ranges only; picks whichever of [..] and [^..]
// is shorter, so `.` comes out as [^\n] rather than two long ranges.
function emitRanges(ranges: readonly Range[]): string {
  const set = normalize(ranges);
  const first = set[0];
  if (set.length === 0) return '[]';
  if (sameRanges(set, FULL)) return '[^]';
  if (set.length === 1 && first !== undefined && first[0] === first[1]) return escapeLiteral(first[0]);
  const inverse = complement(set);
  return inverse.length < set.length ? `[^${rangesBody(inverse)}]` : `[${rangesBody(set)}]`;
}

// The complement of (props ∪ minus): what a folded \P{...} stands for.
interface NegatedProps {
  readonly props: readonly string[];
  readonly minus: readonly Range[];
}

interface ClassSpec {
  ranges: Range[];
  props: string[];
  negatedProps: NegatedProps[];
}

function propEscapes(props: readonly string[], negate = false): string {
  return props.map((p) => `\\${negate ? 'P' : 'p'}{${p}}`).join('');
}

// Emits one JavaScript atom matching exactly one character of the class
// (negated as a whole when `negated`, after any folding, as Go does).
function emitClass(spec: ClassSpec, negated: boolean): string {
  const ranges = normalize(spec.ranges);
  if (spec.props.length === 0 && spec.negatedProps.length === 0) {
    return emitRanges(negated ? complement(ranges) : ranges);
  }
  const only = spec.negatedProps[0];
  if (ranges.length === 0 && spec.props.length === 0 && spec.negatedProps.length === 1 && only !== undefined) {
    // A lone \P{..} (possibly folded): complement(X ∪ minus), or X ∪ minus
    // when the whole class is negated again.
    const body = propEscapes(only.props) + rangesBody(only.minus);
    if (!negated && only.props.length === 1 && only.minus.length === 0) return propEscapes(only.props, true);
    return `[${negated ? '' : '^'}${body}]`;
  }
  const simpleNegated = spec.negatedProps.filter((n) => n.props.length === 1 && n.minus.length === 0);
  const complexNegated = spec.negatedProps.filter((n) => !(n.props.length === 1 && n.minus.length === 0));
  const body = rangesBody(ranges) + propEscapes(spec.props) +
    simpleNegated.map((n) => propEscapes(n.props, true)).join('');
  if (complexNegated.length === 0) {
    if (!negated && ranges.length === 0 && spec.props.length + simpleNegated.length === 1) return body;
    return `[${negated ? '^' : ''}${body}]`;
  }
  // Without the v flag a JavaScript class cannot subtract, so a folded or
  // multi-property negation becomes "any character that is not ...".
  const alternatives: string[] = [];
  if (body !== '') alternatives.push(`[${body}]`);
  for (const n of complexNegated) alternatives.push(`(?![${propEscapes(n.props)}${rangesBody(n.minus)}])[^]`);
  const union = `(?:${alternatives.join('|')})`;
  return negated ? `(?:(?!${union})[^])` : union;
}

// ---------------------------------------------------------------------------
// Parse tree. Only what the output and Go's repeat-size rule need.

type Node =
  | { readonly t: 'lit'; readonly cp: number }
  | { readonly t: 'class'; readonly src: string }
  | { readonly t: 'assert'; readonly src: string }
  | { readonly t: 'group'; readonly capture: boolean; readonly jsName: string | undefined; readonly alts: Node[][] }
  | {
      readonly t: 'repeat';
      readonly sub: Node;
      readonly min: number;
      readonly max: number; // -1: unbounded
      readonly greedy: boolean;
      readonly counted: boolean; // written x{n,m}, Go's OpRepeat
    };

interface Flags {
  fold: boolean; // i
  multiLine: boolean; // m
  dotNL: boolean; // s
  nonGreedy: boolean; // U
}

// Go's maxRepeat: the largest count in x{n,m}, and the largest product of
// nested counts.
const MAX_REPEAT = 1000;

// Go bounds the parse tree's height at 1000; counting group nesting is a
// close, slightly more lenient, stand-in that also bounds our recursion.
const MAX_NESTING = 1000;

// Go's repeatIsValid: nested counted repetitions may not multiply to more
// than MAX_REPEAT copies of the innermost thing.
function repeatIsValid(node: Node, n: number): boolean {
  let budget = n;
  if (node.t === 'repeat' && node.counted) {
    let m = node.max;
    if (m === 0) return true;
    if (m < 0) m = node.min;
    if (m > budget) return false;
    if (m > 0) budget = Math.floor(budget / m);
  }
  if (node.t === 'repeat') return repeatIsValid(node.sub, budget);
  if (node.t === 'group') return node.alts.every((seq) => seq.every((sub) => repeatIsValid(sub, budget)));
  return true;
}

function emitNode(node: Node): string {
  switch (node.t) {
    case 'lit':
      return escapeLiteral(node.cp);
    case 'class':
    case 'assert':
      return node.src;
    case 'group': {
      const body = node.alts.map(emitSeq).join('|');
      if (!node.capture) return `(?:${body})`;
      return node.jsName !== undefined ? `(?<${node.jsName}>${body})` : `(${body})`;
    }
    case 'repeat': {
      // JavaScript cannot quantify an assertion or a quantified atom
      // directly (`^*`, `a**`), both of which RE2 can express (`(?:^)*`).
      const sub = node.sub.t === 'assert' || node.sub.t === 'repeat' ? `(?:${emitNode(node.sub)})` : emitNode(node.sub);
      let q: string;
      if (!node.counted && node.min === 0 && node.max === -1) q = '*';
      else if (!node.counted && node.min === 1 && node.max === -1) q = '+';
      else if (!node.counted && node.min === 0 && node.max === 1) q = '?';
      else if (node.max === node.min) q = `{${node.min}}`;
      else if (node.max === -1) q = `{${node.min},}`;
      else q = `{${node.min},${node.max}}`;
      return sub + q + (node.greedy ? '' : '?');
    }
  }
}

function emitSeq(seq: readonly Node[]): string {
  return seq.map(emitNode).join('');
}

// ---------------------------------------------------------------------------
// Parser, modelled on Go's regexp/syntax/parse.go with the Perl flags that
// regexp.Compile uses (ClassNL | OneLine | PerlX | UnicodeGroups).

function isAlnum(cp: number): boolean {
  return (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
}

function isOctal(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '7';
}

function unhex(ch: string | undefined): number {
  return ch !== undefined && /^[0-9A-Fa-f]$/.test(ch) ? parseInt(ch, 16) : -1;
}

const REPEAT_BRACES = /\{(0|[1-9][0-9]*)(?:(,)(0|[1-9][0-9]*)?)?\}/y;
const VALID_CAPTURE_NAME = /^[A-Za-z0-9_]+$/;
const JS_GROUP_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface Escape {
  readonly cp: number;
  readonly end: number;
}

class Parser {
  private pos = 0;
  private flags: Flags = { fold: false, multiLine: false, dotNL: false, nonGreedy: false };
  private depth = 0;
  readonly groupNames: (string | undefined)[] = [undefined];
  private readonly names = new Set<string>();

  constructor(private readonly src: string) {}

  parse(): Node[][] {
    this.checkWellFormed();
    return this.parseAlternation(undefined);
  }

  // Go rejects invalid UTF-8; the JavaScript counterpart is a lone surrogate,
  // which no UTF-8 text (and so no Go string) can hold.
  private checkWellFormed(): void {
    const s = this.src;
    for (let i = 0; i < s.length; i++) {
      const u = s.charCodeAt(i);
      if (u >= 0xd800 && u <= 0xdbff) {
        const next = s.charCodeAt(i + 1);
        if (next >= 0xdc00 && next <= 0xdfff) {
          i++;
          continue;
        }
        throw syntaxError(ERR.invalidUTF8, i, s.slice(i));
      }
      if (u >= 0xdc00 && u <= 0xdfff) throw syntaxError(ERR.invalidUTF8, i, s.slice(i));
    }
  }

  private codePointAt(i: number): number {
    return this.src.codePointAt(i) as number;
  }

  private width(cp: number): number {
    return cp > 0xffff ? 2 : 1;
  }

  // Parses up to the `)` closing the group opened at `openAt` (or to the end
  // of the pattern at top level) and consumes it.
  private parseAlternation(openAt: number | undefined): Node[][] {
    const s = this.src;
    const alts: Node[][] = [];
    let seq: Node[] = [];
    // Where the previous token started, when it was a repetition operator
    // (Go's lastRepeat); a repetition right after one is an error.
    let lastRepeat: { start: number; lazy: boolean } | undefined;
    for (;;) {
      if (this.pos >= s.length) {
        if (openAt !== undefined) throw syntaxError(ERR.missingParen, openAt, s.slice(openAt));
        alts.push(seq);
        return alts;
      }
      const start = this.pos;
      const ch = s[start] as string;
      let repeat: typeof lastRepeat;
      switch (ch) {
        case '(': {
          const node = this.parseGroup();
          if (node !== undefined) seq.push(node);
          break;
        }
        case ')':
          if (openAt === undefined) throw syntaxError(ERR.unexpectedParen, start, s.slice(start));
          this.pos++;
          alts.push(seq);
          return alts;
        case '|':
          alts.push(seq);
          seq = [];
          this.pos++;
          break;
        case '^':
          // RE2's `^` is start of text unless (?m); JavaScript's m flag would
          // also start lines after \r, U+2028 and U+2029.
          seq.push({ t: 'assert', src: this.flags.multiLine ? '(?<![^\\n])' : '^' });
          this.pos++;
          break;
        case '$':
          // Without (?m), RE2's `$` is the very end of the text (unlike
          // Perl's, it does not match before a final "\n"), like JavaScript's.
          seq.push({ t: 'assert', src: this.flags.multiLine ? '(?![^\\n])' : '$' });
          this.pos++;
          break;
        case '.':
          seq.push({ t: 'class', src: this.flags.dotNL ? '[^]' : '[^\\n]' });
          this.pos++;
          break;
        case '[':
          seq.push(this.parseClass());
          break;
        case '*':
        case '+':
        case '?':
        case '{': {
          let min: number;
          let max: number;
          const counted = ch === '{';
          if (counted) {
            const parsed = this.parseRepeatBraces(start);
            if (parsed === undefined) {
              // RE2: a `{` that does not start a valid repeat is a literal.
              seq.push({ t: 'lit', cp: 0x7b });
              this.pos++;
              break;
            }
            ({ min, max } = parsed);
            this.pos = parsed.end;
            if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max)) {
              throw syntaxError(ERR.invalidRepeatSize, start, s.slice(start, this.pos));
            }
          } else {
            min = ch === '+' ? 1 : 0;
            max = ch === '?' ? 1 : -1;
            this.pos++;
          }
          const lazy = s[this.pos] === '?';
          if (lazy) this.pos++;
          if (lastRepeat !== undefined) {
            // `a*+` is a possessive quantifier in Perl and Java; Go reports
            // it as a nested repetition like `a**`.
            const code = ch === '+' && !lastRepeat.lazy ? ERR.possessive : ERR.invalidRepeatOp;
            throw syntaxError(code, lastRepeat.start, s.slice(lastRepeat.start, this.pos));
          }
          const sub = seq.pop();
          if (sub === undefined) throw syntaxError(ERR.missingRepeatArgument, start, s.slice(start, this.pos));
          const node: Node = { t: 'repeat', sub, min, max, greedy: lazy === this.flags.nonGreedy, counted };
          if (counted && (min >= 2 || max >= 2) && !repeatIsValid(node, MAX_REPEAT)) {
            throw syntaxError(ERR.invalidRepeatSize, start, s.slice(start, this.pos));
          }
          seq.push(node);
          repeat = { start, lazy };
          break;
        }
        case '\\':
          this.parseBackslash(seq);
          break;
        default: {
          const cp = this.codePointAt(start);
          this.pos += this.width(cp);
          seq.push(this.literal(cp));
        }
      }
      lastRepeat = repeat;
    }
  }

  private literal(cp: number): Node {
    if (this.flags.fold) {
      const orbit = orbitOf(cp);
      if (orbit !== undefined) return { t: 'class', src: emitRanges(orbit.map((c) => [c, c] as const)) };
    }
    return { t: 'lit', cp };
  }

  // Go's parseRepeat: {n}, {n,} or {n,m}, decimal without leading zeros.
  // A count too long to read is -1, which the caller rejects.
  private parseRepeatBraces(start: number): { min: number; max: number; end: number } | undefined {
    REPEAT_BRACES.lastIndex = start;
    const m = REPEAT_BRACES.exec(this.src);
    if (m === null) return undefined;
    const count = (digits: string): number => (digits.length > 8 ? -1 : Number(digits));
    const min = count(m[1] as string);
    let max: number;
    if (m[2] === undefined) max = min;
    else if (m[3] === undefined) max = -1;
    else max = count(m[3]);
    // An unreadable max must not turn into "unbounded": Go marks min instead.
    return { min: m[3] !== undefined && max < 0 ? -1 : min, max, end: start + m[0].length };
  }

  private parseGroup(): Node | undefined {
    const s = this.src;
    const open = this.pos;
    if (s[open + 1] === '?') {
      this.rejectUnsupportedGroup(open);
      const rest = s.slice(open);
      const startsWithP = rest.length > 4 && rest[2] === 'P' && rest[3] === '<';
      const startsWithName = rest.length > 3 && rest[2] === '<';
      if (startsWithP || startsWithName) return this.parseNamedGroup(open, startsWithP ? 4 : 3);
      return this.parseFlags(open);
    }
    this.pos++;
    this.groupNames.push(undefined);
    return { t: 'group', capture: true, jsName: undefined, alts: this.parseGroupBody(open, this.flags) };
  }

  // Perl/PCRE group syntax RE2 does not have, reported by name instead of
  // Go's "invalid or unsupported Perl syntax".
  private rejectUnsupportedGroup(open: number): void {
    const rest = this.src.slice(open + 2);
    const fail = (code: string, length: number): never => {
      throw syntaxError(code, open, this.src.slice(open, open + 2 + length));
    };
    if (rest.startsWith('=') || rest.startsWith('!')) fail(ERR.lookAround, 1);
    if (rest.startsWith('<=') || rest.startsWith('<!')) fail(ERR.lookAround, 2);
    if (rest.startsWith('>')) fail(ERR.atomicGroup, 1);
    if (rest.startsWith('(')) fail(ERR.conditional, 1);
    if (rest.startsWith('#')) fail(ERR.comment, 1);
    if (rest.startsWith('P=')) fail(ERR.backreference, 2);
    if (rest.startsWith('P>') || rest.startsWith('&')) fail(ERR.recursion, rest[0] === '&' ? 1 : 2);
    const recursion = /^(?:R|[+-]?[0-9]+)\)/.exec(rest);
    if (recursion !== null) fail(ERR.recursion, recursion[0].length);
  }

  private parseNamedGroup(open: number, nameStart: number): Node {
    const s = this.src;
    const end = s.indexOf('>', open);
    if (end < 0) throw syntaxError(ERR.invalidNamedCapture, open, s.slice(open));
    const name = s.slice(open + nameStart, end);
    const capture = s.slice(open, end + 1);
    if (!VALID_CAPTURE_NAME.test(name)) throw syntaxError(ERR.invalidNamedCapture, open, capture);
    if (this.names.has(name)) throw syntaxError(ERR.duplicateName, open, capture);
    this.names.add(name);
    this.groupNames.push(name);
    this.pos = end + 1;
    // Go allows names such as "1x" that are not JavaScript identifiers; such
    // a group is emitted unnamed and found through groupNames instead.
    const jsName = JS_GROUP_NAME.test(name) ? name : undefined;
    return { t: 'group', capture: true, jsName, alts: this.parseGroupBody(open, this.flags) };
  }

  // Go's parsePerlFlags for (?flags) and (?flags:...).
  private parseFlags(open: number): Node | undefined {
    const s = this.src;
    const flags = { ...this.flags };
    let p = open + 2;
    let sign = 1;
    let sawFlag = false;
    while (p < s.length) {
      const c = s[p] as string;
      p += this.width(this.codePointAt(p));
      switch (c) {
        case 'i':
          flags.fold = sign > 0;
          sawFlag = true;
          continue;
        case 'm':
          flags.multiLine = sign > 0;
          sawFlag = true;
          continue;
        case 's':
          flags.dotNL = sign > 0;
          sawFlag = true;
          continue;
        case 'U':
          flags.nonGreedy = sign > 0;
          sawFlag = true;
          continue;
        case '-':
          if (sign < 0) break;
          sign = -1;
          sawFlag = false;
          continue;
        case ':':
        case ')':
          if (sign < 0 && !sawFlag) break;
          this.pos = p;
          if (c === ')') {
            // A bare (?flags) lasts until the end of the enclosing group.
            this.flags = flags;
            return undefined;
          }
          return { t: 'group', capture: false, jsName: undefined, alts: this.parseGroupBody(open, flags) };
      }
      break;
    }
    throw syntaxError(ERR.invalidPerlOp, open, s.slice(open, p));
  }

  private parseGroupBody(open: number, flags: Flags): Node[][] {
    if (++this.depth > MAX_NESTING) throw syntaxError(ERR.nestingDepth, open, this.src.slice(open, open + 1));
    const outer = this.flags;
    this.flags = { ...flags };
    const alts = this.parseAlternation(open);
    this.flags = outer;
    this.depth--;
    return alts;
  }

  private parseBackslash(seq: Node[]): void {
    const s = this.src;
    const start = this.pos;
    const next = s[start + 1];
    switch (next) {
      case 'A':
        seq.push({ t: 'assert', src: '^' });
        this.pos += 2;
        return;
      case 'z':
        seq.push({ t: 'assert', src: '$' });
        this.pos += 2;
        return;
      // Go's \b and \B are ASCII word boundaries whatever the flags, which is
      // what JavaScript's are without the i flag.
      case 'b':
        seq.push({ t: 'assert', src: '\\b' });
        this.pos += 2;
        return;
      case 'B':
        seq.push({ t: 'assert', src: '\\B' });
        this.pos += 2;
        return;
      case 'C':
        throw syntaxError(ERR.invalidEscape, start, '\\C');
      case 'Q': {
        // \Q...\E: everything up to the first \E (or the end) is literal.
        const close = s.indexOf('\\E', start + 2);
        const end = close < 0 ? s.length : close;
        for (let i = start + 2; i < end;) {
          const cp = this.codePointAt(i);
          seq.push(this.literal(cp));
          i += this.width(cp);
        }
        this.pos = close < 0 ? s.length : close + 2;
        return;
      }
      case 'p':
      case 'P': {
        const spec: ClassSpec = { ranges: [], props: [], negatedProps: [] };
        this.pos = this.parseUnicodeClass(start, spec);
        seq.push({ t: 'class', src: emitClass(spec, false) });
        return;
      }
    }
    const perl: ClassSpec = { ranges: [], props: [], negatedProps: [] };
    const perlEnd = this.perlClass(start, perl);
    if (perlEnd >= 0) {
      seq.push({ t: 'class', src: emitClass(perl, false) });
      this.pos = perlEnd;
      return;
    }
    const esc = this.parseEscape(start, false);
    this.pos = esc.end;
    seq.push(this.literal(esc.cp));
  }

  // \d \D \s \S \w \W at a backslash: adds the class to `spec` and returns
  // the position after it, or -1 when there is none.
  private perlClass(at: number, spec: ClassSpec): number {
    const letter = this.src[at + 1] ?? '';
    if (!/^[dswDSW]$/.test(letter)) return -1;
    const base = PERL_CLASSES.get(letter.toLowerCase()) as readonly Range[];
    this.addGroup(spec, base, letter !== letter.toLowerCase());
    return at + 2;
  }

  // Go's appendGroup: fold first, then negate.
  private addGroup(spec: ClassSpec, base: readonly Range[], negate: boolean): void {
    const folded = this.flags.fold ? foldRanges(base) : base;
    spec.ranges.push(...(negate ? complement(folded) : folded));
  }

  // Go's parseUnicodeClass, at a backslash followed by p or P. Returns the
  // position after it.
  private parseUnicodeClass(at: number, spec: ClassSpec): number {
    const s = this.src;
    let negate = s[at + 1] === 'P';
    let name: string;
    let end: number;
    if (at + 2 >= s.length) {
      name = '';
      end = at + 2;
    } else if (s[at + 2] !== '{') {
      const cp = this.codePointAt(at + 2);
      end = at + 2 + this.width(cp);
      name = s.slice(at + 2, end);
    } else {
      const close = s.indexOf('}', at);
      if (close < 0) throw syntaxError(ERR.invalidCharRange, at, s.slice(at));
      name = s.slice(at + 3, close);
      end = close + 1;
    }
    // \p{^Greek} is \P{Greek}, and \P{^Greek} is \p{Greek}.
    if (name.startsWith('^')) {
      negate = !negate;
      name = name.slice(1);
    }
    const cls = lookupUnicodeClass(name);
    if (cls === undefined) throw syntaxError(ERR.invalidCharRange, at, s.slice(at, end));
    if ('ranges' in cls) {
      this.addGroup(spec, cls.ranges, negate);
      return end;
    }
    if (propTester(cls.props) === null) {
      throw new Re2SyntaxError(
        `Unicode class \`${s.slice(at, end)}\` is valid RE2 but unknown to this JavaScript runtime at offset ${at}`,
        at,
      );
    }
    const extras = this.flags.fold ? foldExtrasOf(cls.props) : [];
    if (negate) {
      spec.negatedProps.push({ props: cls.props, minus: extras });
    } else {
      spec.props.push(...cls.props);
      spec.ranges.push(...extras);
    }
    return end;
  }

  // Go's parseClass, at `[`.
  private parseClass(): Node {
    const s = this.src;
    const open = this.pos;
    let p = open + 1;
    let negated = false;
    if (s[p] === '^') {
      negated = true;
      p++;
    }
    const spec: ClassSpec = { ranges: [], props: [], negatedProps: [] };
    const classChar = (): number => {
      if (p >= s.length) throw syntaxError(ERR.missingBracket, open, s.slice(open));
      if (s[p] === '\\') {
        const esc = this.parseEscape(p, true);
        p = esc.end;
        return esc.cp;
      }
      const cp = this.codePointAt(p);
      p += this.width(cp);
      return cp;
    };
    // `]` right after `[` or `[^` is a literal, as in Perl and POSIX.
    let first = true;
    while (p >= s.length || s[p] !== ']' || first) {
      first = false;
      if (s.startsWith('[:', p) && s.length - p > 2) {
        // Go looks for the closing ":]" anywhere further on, not just within
        // this class.
        const close = s.indexOf(':]', p + 2);
        if (close >= 0) {
          const name = s.slice(p, close + 2);
          const negate = name[2] === '^';
          const base = POSIX_CLASSES.get(name.slice(negate ? 3 : 2, -2));
          if (base === undefined) throw syntaxError(ERR.invalidCharRange, p, name);
          this.addGroup(spec, base, negate);
          p = close + 2;
          continue;
        }
      }
      if (s[p] === '\\' && (s[p + 1] === 'p' || s[p + 1] === 'P')) {
        p = this.parseUnicodeClass(p, spec);
        continue;
      }
      if (s[p] === '\\') {
        const end = this.perlClass(p, spec);
        if (end >= 0) {
          p = end;
          continue;
        }
      }
      const rangeStart = p;
      const lo = classChar();
      let hi = lo;
      // [a-] is "a" or "-"; a range needs something other than `]` after `-`.
      if (s.length - p >= 2 && s[p] === '-' && s[p + 1] !== ']') {
        p++;
        hi = classChar();
        if (hi < lo) throw syntaxError(ERR.invalidCharRange, rangeStart, s.slice(rangeStart, p));
      }
      spec.ranges.push(...(this.flags.fold ? foldRanges([[lo, hi]]) : [[lo, hi] as const]));
    }
    this.pos = p + 1;
    return { t: 'class', src: emitClass(spec, negated) };
  }

  // Go's parseEscape for a backslash at `at` that stands for one character.
  private parseEscape(at: number, inClass: boolean): Escape {
    const s = this.src;
    if (at + 1 >= s.length) throw syntaxError(ERR.trailingBackslash, at, '\\');
    const c = this.codePointAt(at + 1);
    let p = at + 1 + this.width(c);
    const invalid = (code: string = ERR.invalidEscape): never => {
      throw syntaxError(inClass ? ERR.invalidEscape : code, at, s.slice(at, p));
    };
    // Escaped ASCII punctuation is always itself (Go also allows \_).
    if (c < 0x80 && !isAlnum(c)) return { cp: c, end: p };
    const ch = String.fromCodePoint(c);
    if (ch >= '0' && ch <= '7') {
      // A lone non-zero digit would be a backreference; \0, or a digit
      // followed by another octal digit (\12), is an octal escape of up to
      // three digits.
      if (ch !== '0' && !isOctal(s[p])) return invalid(ERR.backreference);
      let r = c - 0x30;
      for (let i = 1; i < 3 && isOctal(s[p]); i++, p++) r = r * 8 + (s.charCodeAt(p) - 0x30);
      return { cp: r, end: p };
    }
    switch (ch) {
      case '8': case '9':
        return invalid(ERR.backreference);
      case 'x': {
        if (p >= s.length) return invalid();
        if (s[p] === '{') {
          p++;
          let r = 0;
          let digits = 0;
          for (;;) {
            if (p >= s.length) return invalid();
            const d = s[p] as string;
            p += this.width(this.codePointAt(p));
            if (d === '}') break;
            const v = unhex(d);
            if (v < 0) return invalid();
            r = r * 16 + v;
            if (r > MAX_RUNE) return invalid();
            digits++;
          }
          if (digits === 0) return invalid();
          return { cp: r, end: p };
        }
        const x = unhex(s[p]);
        p += this.width(this.codePointAt(p));
        const y = p < s.length ? unhex(s[p]) : -1;
        if (p < s.length) p += this.width(this.codePointAt(p));
        if (x < 0 || y < 0) return invalid();
        return { cp: x * 16 + y, end: p };
      }
      case 'a': return { cp: 0x07, end: p };
      case 'f': return { cp: 0x0c, end: p };
      case 'n': return { cp: 0x0a, end: p };
      case 'r': return { cp: 0x0d, end: p };
      case 't': return { cp: 0x09, end: p };
      case 'v': return { cp: 0x0b, end: p };
      case 'Z': return invalid(ERR.endBeforeNewline);
      case 'G': return invalid(ERR.previousMatchEnd);
      case 'k': case 'g': return invalid(ERR.backreference);
      case 'u': return invalid(ERR.unicodeEscape);
    }
    return invalid();
  }
}

/**
 * Compiles an RE2 (Go regexp) pattern into an equivalent JavaScript RegExp.
 * Throws Re2SyntaxError, with the offset of the offending text, for anything
 * Go's regexp.Compile rejects and for Perl features RE2 lacks.
 */
export function compileRe2(pattern: string): CompiledRegex {
  const parser = new Parser(pattern);
  const alts = parser.parse();
  const js = alts.map(emitSeq).join('|');
  let regex: RegExp;
  try {
    regex = new RegExp(js, 'u');
  } catch (e) {
    // Every construct is emitted in a form valid in 'u' mode, so this is a
    // translation bug, not a user error.
    throw new Error(`internal error translating RE2 pattern \`${pattern}\` to \`${js}\`: ${String(e)}`);
  }
  return { source: pattern, regex, groupNames: Object.freeze([...parser.groupNames]) };
}

// ---------------------------------------------------------------------------
// Templates: Go's (*Regexp).Expand / ExpandString.

interface TemplateRef {
  readonly name: string;
  readonly num: number; // -1 when the name is not a group number
  readonly end: number;
}

const NAME_CHAR = /^[\p{L}\p{Nd}_]$/u;

// Go's extract: `$name` or `${name}` at `at`, where a name is the longest run
// of letters, digits and underscores. So `$1_total` names a group called
// "1_total" (usually absent), while `${1}_total` is group 1.
function extractRef(template: string, at: number): TemplateRef | undefined {
  if (template.length - at < 2) return undefined;
  let p = at + 1;
  const brace = template[p] === '{';
  if (brace) p++;
  const nameStart = p;
  while (p < template.length) {
    const cp = template.codePointAt(p) as number;
    const ch = String.fromCodePoint(cp);
    if (!NAME_CHAR.test(ch)) break;
    p += ch.length;
  }
  if (p === nameStart) return undefined;
  const name = template.slice(nameStart, p);
  if (brace) {
    if (template[p] !== '}') return undefined;
    p++;
  }
  let num = 0;
  for (const ch of name) {
    if (ch < '0' || ch > '9' || num >= 1e8) {
      num = -1;
      break;
    }
    num = num * 10 + (ch.charCodeAt(0) - 0x30);
  }
  // `$01` is not group 1: Go reads a number only without leading zeros.
  if (name[0] === '0' && name.length > 1) num = -1;
  return { name, num, end: p };
}

/**
 * Go's (*Regexp).ExpandString: `$$` is a literal `$`; `$n`/`${n}` is group n;
 * `$name`/`${name}` is the leftmost group of that name that took part in the
 * match; unknown or unmatched groups expand to ""; a `$` that does not start a
 * valid reference is copied as is. `match` must be `re.regex.exec(input)`.
 */
export function expandTemplate(template: string, re: CompiledRegex, input: string, match: RegExpExecArray): string {
  if (typeof match.input === 'string' && match.input !== input) {
    throw new Error('expandTemplate: the match was not made against the given input');
  }
  let out = '';
  let i = 0;
  for (;;) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) return out + template.slice(i);
    out += template.slice(i, dollar);
    if (template[dollar + 1] === '$') {
      out += '$';
      i = dollar + 2;
      continue;
    }
    const ref = extractRef(template, dollar);
    if (ref === undefined) {
      out += '$';
      i = dollar + 1;
      continue;
    }
    i = ref.end;
    if (ref.num >= 0) {
      out += match[ref.num] ?? '';
      continue;
    }
    for (let g = 0; g < re.groupNames.length; g++) {
      const value = match[g];
      if (re.groupNames[g] === ref.name && value !== undefined) {
        out += value;
        break;
      }
    }
  }
}

/**
 * The group references in a template, in order of first use and without
 * repeats: numbers for `$1`/`${1}`, names for everything else (including
 * `$1_per_second`, which Go reads as a group named "1_per_second").
 */
export function templateReferences(template: string): (number | string)[] {
  const refs: (number | string)[] = [];
  let i = 0;
  for (;;) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) return refs;
    if (template[dollar + 1] === '$') {
      i = dollar + 2;
      continue;
    }
    const ref = extractRef(template, dollar);
    if (ref === undefined) {
      i = dollar + 1;
      continue;
    }
    i = ref.end;
    const value = ref.num >= 0 ? ref.num : ref.name;
    if (!refs.includes(value)) refs.push(value);
  }
}

/** Go's regexp.QuoteMeta: escapes every character that is special in RE2. */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}
