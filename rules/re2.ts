// RE2 syntax (the syntax of Go's `regexp` package, which the
// prometheus-adapter rule files are written in), checked by a parser that
// follows Go's regexp/syntax/parse.go: the same patterns are accepted, the
// same ones are rejected, with Go's error texts and the offset of the text at
// fault, so a rule file's mistake is reported at its file:line:col.
//
// This module only checks. Matching is go-regexp.ts's job, on re2js, whose
// time is linear in the input whatever the pattern; a backtracking engine
// (JavaScript's RegExp) can take minutes on a pattern like `^([a-z]+_?)+$`.

export class Re2SyntaxError extends Error {
  override name = 'Re2SyntaxError';

  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
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
  // RE2 rejects it, and so does re2js, the engine that matches here.
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

export function re2SyntaxError(code: string, offset: number, expr: string): Re2SyntaxError {
  return new Re2SyntaxError(`${code}: \`${expr}\` at offset ${offset}`, offset);
}

const MAX_RUNE = 0x10ffff;

// The [[:name:]] classes Go's regexp accepts (perl_groups.go).
const POSIX_CLASSES = new Set(['alnum', 'alpha', 'ascii', 'blank', 'cntrl', 'digit', 'graph', 'lower', 'print', 'punct', 'space', 'upper', 'word', 'xdigit']);

// The \p{...} names Go's regexp accepts: unicode.Categories, unicode.Scripts
// and "Any", spelled exactly (no aliases such as "Letter" or "Grek").
const CATEGORIES = new Set([
  'C',
  'Cc',
  'Cf',
  'Co',
  'Cs',
  'L',
  'Ll',
  'Lm',
  'Lo',
  'Lt',
  'Lu',
  'M',
  'Mc',
  'Me',
  'Mn',
  'N',
  'Nd',
  'Nl',
  'No',
  'P',
  'Pc',
  'Pd',
  'Pe',
  'Pf',
  'Pi',
  'Po',
  'Ps',
  'S',
  'Sc',
  'Sk',
  'Sm',
  'So',
  'Z',
  'Zl',
  'Zp',
  'Zs',
]);

const SCRIPTS = new Set([
  'Adlam',
  'Ahom',
  'Anatolian_Hieroglyphs',
  'Arabic',
  'Armenian',
  'Avestan',
  'Balinese',
  'Bamum',
  'Bassa_Vah',
  'Batak',
  'Bengali',
  'Bhaiksuki',
  'Bopomofo',
  'Brahmi',
  'Braille',
  'Buginese',
  'Buhid',
  'Canadian_Aboriginal',
  'Carian',
  'Caucasian_Albanian',
  'Chakma',
  'Cham',
  'Cherokee',
  'Chorasmian',
  'Common',
  'Coptic',
  'Cuneiform',
  'Cypriot',
  'Cypro_Minoan',
  'Cyrillic',
  'Deseret',
  'Devanagari',
  'Dives_Akuru',
  'Dogra',
  'Duployan',
  'Egyptian_Hieroglyphs',
  'Elbasan',
  'Elymaic',
  'Ethiopic',
  'Georgian',
  'Glagolitic',
  'Gothic',
  'Grantha',
  'Greek',
  'Gujarati',
  'Gunjala_Gondi',
  'Gurmukhi',
  'Han',
  'Hangul',
  'Hanifi_Rohingya',
  'Hanunoo',
  'Hatran',
  'Hebrew',
  'Hiragana',
  'Imperial_Aramaic',
  'Inherited',
  'Inscriptional_Pahlavi',
  'Inscriptional_Parthian',
  'Javanese',
  'Kaithi',
  'Kannada',
  'Katakana',
  'Kawi',
  'Kayah_Li',
  'Kharoshthi',
  'Khitan_Small_Script',
  'Khmer',
  'Khojki',
  'Khudawadi',
  'Lao',
  'Latin',
  'Lepcha',
  'Limbu',
  'Linear_A',
  'Linear_B',
  'Lisu',
  'Lycian',
  'Lydian',
  'Mahajani',
  'Makasar',
  'Malayalam',
  'Mandaic',
  'Manichaean',
  'Marchen',
  'Masaram_Gondi',
  'Medefaidrin',
  'Meetei_Mayek',
  'Mende_Kikakui',
  'Meroitic_Cursive',
  'Meroitic_Hieroglyphs',
  'Miao',
  'Modi',
  'Mongolian',
  'Mro',
  'Multani',
  'Myanmar',
  'Nabataean',
  'Nag_Mundari',
  'Nandinagari',
  'New_Tai_Lue',
  'Newa',
  'Nko',
  'Nushu',
  'Nyiakeng_Puachue_Hmong',
  'Ogham',
  'Ol_Chiki',
  'Old_Hungarian',
  'Old_Italic',
  'Old_North_Arabian',
  'Old_Permic',
  'Old_Persian',
  'Old_Sogdian',
  'Old_South_Arabian',
  'Old_Turkic',
  'Old_Uyghur',
  'Oriya',
  'Osage',
  'Osmanya',
  'Pahawh_Hmong',
  'Palmyrene',
  'Pau_Cin_Hau',
  'Phags_Pa',
  'Phoenician',
  'Psalter_Pahlavi',
  'Rejang',
  'Runic',
  'Samaritan',
  'Saurashtra',
  'Sharada',
  'Shavian',
  'Siddham',
  'SignWriting',
  'Sinhala',
  'Sogdian',
  'Sora_Sompeng',
  'Soyombo',
  'Sundanese',
  'Syloti_Nagri',
  'Syriac',
  'Tagalog',
  'Tagbanwa',
  'Tai_Le',
  'Tai_Tham',
  'Tai_Viet',
  'Takri',
  'Tamil',
  'Tangsa',
  'Tangut',
  'Telugu',
  'Thaana',
  'Thai',
  'Tibetan',
  'Tifinagh',
  'Tirhuta',
  'Toto',
  'Ugaritic',
  'Vai',
  'Vithkuqi',
  'Wancho',
  'Warang_Citi',
  'Yezidi',
  'Yi',
  'Zanabazar_Square',
]);

// ---------------------------------------------------------------------------
// Parse tree. Only what Go's repeat-size rule needs.

type Node =
  | { readonly t: 'atom' }
  | { readonly t: 'group'; readonly alts: Node[][] }
  | {
      readonly t: 'repeat';
      readonly sub: Node;
      readonly min: number;
      readonly max: number; // -1: unbounded
      readonly counted: boolean; // written x{n,m}, Go's OpRepeat
    };

const ATOM: Node = { t: 'atom' };

// Go's maxRepeat: the largest count in x{n,m}, and the largest product of
// nested counts.
const MAX_REPEAT = 1000;

// Go bounds the parse tree's height at 1000 (checked again when re2js
// compiles); counting group nesting here bounds this parser's recursion.
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
const PERL_CLASS_LETTER = /^[dswDSW]$/;

interface Escape {
  readonly cp: number;
  readonly end: number;
}

class Parser {
  private pos = 0;
  private depth = 0;
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
        throw re2SyntaxError(ERR.invalidUTF8, i, s.slice(i));
      }
      if (u >= 0xdc00 && u <= 0xdfff) throw re2SyntaxError(ERR.invalidUTF8, i, s.slice(i));
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
        if (openAt !== undefined) throw re2SyntaxError(ERR.missingParen, openAt, s.slice(openAt));
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
          if (openAt === undefined) throw re2SyntaxError(ERR.unexpectedParen, start, s.slice(start));
          this.pos++;
          alts.push(seq);
          return alts;
        case '|':
          alts.push(seq);
          seq = [];
          this.pos++;
          break;
        case '^':
        case '$':
        case '.':
          seq.push(ATOM);
          this.pos++;
          break;
        case '[':
          this.parseClass();
          seq.push(ATOM);
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
              seq.push(ATOM);
              this.pos++;
              break;
            }
            ({ min, max } = parsed);
            this.pos = parsed.end;
            if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max)) {
              throw re2SyntaxError(ERR.invalidRepeatSize, start, s.slice(start, this.pos));
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
            throw re2SyntaxError(code, lastRepeat.start, s.slice(lastRepeat.start, this.pos));
          }
          const sub = seq.pop();
          if (sub === undefined) throw re2SyntaxError(ERR.missingRepeatArgument, start, s.slice(start, this.pos));
          const node: Node = { t: 'repeat', sub, min, max, counted };
          if (counted && (min >= 2 || max >= 2) && !repeatIsValid(node, MAX_REPEAT)) {
            throw re2SyntaxError(ERR.invalidRepeatSize, start, s.slice(start, this.pos));
          }
          seq.push(node);
          repeat = { start, lazy };
          break;
        }
        case '\\':
          this.parseBackslash(seq);
          break;
        default:
          this.pos += this.width(this.codePointAt(start));
          seq.push(ATOM);
      }
      lastRepeat = repeat;
    }
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
    return { t: 'group', alts: this.parseGroupBody(open) };
  }

  // Perl/PCRE group syntax RE2 does not have, reported by name instead of
  // Go's "invalid or unsupported Perl syntax".
  private rejectUnsupportedGroup(open: number): void {
    const rest = this.src.slice(open + 2);
    const fail = (code: string, length: number): never => {
      throw re2SyntaxError(code, open, this.src.slice(open, open + 2 + length));
    };
    if (rest.startsWith('=') || rest.startsWith('!')) fail(ERR.lookAround, 1);
    if (rest.startsWith('<=') || rest.startsWith('<!')) fail(ERR.lookAround, 2);
    if (rest.startsWith('>')) fail(ERR.atomicGroup, 1);
    if (rest.startsWith('(')) fail(ERR.conditional, 1);
    if (rest.startsWith('#')) fail(ERR.comment, 1);
    if (rest.startsWith('P=')) fail(ERR.backreference, 2);
    if (rest.startsWith('P>') || rest.startsWith('&')) fail(ERR.recursion, rest.startsWith('&') ? 1 : 2);
    const recursion = /^(?:R|[+-]?[0-9]+)\)/.exec(rest);
    if (recursion !== null) fail(ERR.recursion, recursion[0].length);
  }

  private parseNamedGroup(open: number, nameStart: number): Node {
    const s = this.src;
    const end = s.indexOf('>', open);
    if (end < 0) throw re2SyntaxError(ERR.invalidNamedCapture, open, s.slice(open));
    const name = s.slice(open + nameStart, end);
    const capture = s.slice(open, end + 1);
    if (!VALID_CAPTURE_NAME.test(name)) throw re2SyntaxError(ERR.invalidNamedCapture, open, capture);
    if (this.names.has(name)) throw re2SyntaxError(ERR.duplicateName, open, capture);
    this.names.add(name);
    this.pos = end + 1;
    return { t: 'group', alts: this.parseGroupBody(open) };
  }

  // Go's parsePerlFlags for (?flags) and (?flags:...). The flags change what
  // matches, never what is valid, so only their syntax is checked.
  private parseFlags(open: number): Node | undefined {
    const s = this.src;
    let p = open + 2;
    let sign = 1;
    let sawFlag = false;
    while (p < s.length) {
      const c = s[p] as string;
      p += this.width(this.codePointAt(p));
      switch (c) {
        case 'i':
        case 'm':
        case 's':
        case 'U':
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
          if (c === ')') return undefined;
          return { t: 'group', alts: this.parseGroupBody(open) };
      }
      break;
    }
    throw re2SyntaxError(ERR.invalidPerlOp, open, s.slice(open, p));
  }

  private parseGroupBody(open: number): Node[][] {
    if (++this.depth > MAX_NESTING) throw re2SyntaxError(ERR.nestingDepth, open, this.src.slice(open, open + 1));
    const alts = this.parseAlternation(open);
    this.depth--;
    return alts;
  }

  private parseBackslash(seq: Node[]): void {
    const s = this.src;
    const start = this.pos;
    switch (s[start + 1]) {
      case 'A':
      case 'z':
      case 'b':
      case 'B':
        seq.push(ATOM);
        this.pos += 2;
        return;
      case 'C':
        throw re2SyntaxError(ERR.invalidEscape, start, '\\C');
      case 'Q': {
        // \Q...\E: everything up to the first \E (or the end) is literal,
        // one atom per character (so `\Q\E*` has nothing to repeat).
        const close = s.indexOf('\\E', start + 2);
        const end = close < 0 ? s.length : close;
        for (let i = start + 2; i < end; i += this.width(this.codePointAt(i))) seq.push(ATOM);
        this.pos = close < 0 ? s.length : close + 2;
        return;
      }
      case 'p':
      case 'P':
        this.pos = this.parseUnicodeClass(start);
        seq.push(ATOM);
        return;
    }
    if (PERL_CLASS_LETTER.test(s[start + 1] ?? '')) {
      this.pos = start + 2;
      seq.push(ATOM);
      return;
    }
    this.pos = this.parseEscape(start, false).end;
    seq.push(ATOM);
  }

  // Go's parseUnicodeClass, at a backslash followed by p or P. Returns the
  // position after it.
  private parseUnicodeClass(at: number): number {
    const s = this.src;
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
      if (close < 0) throw re2SyntaxError(ERR.invalidCharRange, at, s.slice(at));
      name = s.slice(at + 3, close);
      end = close + 1;
    }
    // \p{^Greek} is \P{Greek}, and \P{^Greek} is \p{Greek}.
    if (name.startsWith('^')) name = name.slice(1);
    if (name !== 'Any' && !CATEGORIES.has(name) && !SCRIPTS.has(name)) throw re2SyntaxError(ERR.invalidCharRange, at, s.slice(at, end));
    return end;
  }

  // Go's parseClass, at `[`.
  private parseClass(): void {
    const s = this.src;
    const open = this.pos;
    let p = open + 1;
    if (s[p] === '^') p++;
    const classChar = (): number => {
      if (p >= s.length) throw re2SyntaxError(ERR.missingBracket, open, s.slice(open));
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
          if (!POSIX_CLASSES.has(name.slice(name[2] === '^' ? 3 : 2, -2))) throw re2SyntaxError(ERR.invalidCharRange, p, name);
          p = close + 2;
          continue;
        }
      }
      if (s[p] === '\\' && (s[p + 1] === 'p' || s[p + 1] === 'P')) {
        p = this.parseUnicodeClass(p);
        continue;
      }
      if (s[p] === '\\' && PERL_CLASS_LETTER.test(s[p + 1] ?? '')) {
        p += 2;
        continue;
      }
      const rangeStart = p;
      const lo = classChar();
      // [a-] is "a" or "-"; a range needs something other than `]` after `-`.
      if (s.length - p >= 2 && s[p] === '-' && s[p + 1] !== ']') {
        p++;
        const hi = classChar();
        if (hi < lo) throw re2SyntaxError(ERR.invalidCharRange, rangeStart, s.slice(rangeStart, p));
      }
    }
    this.pos = p + 1;
  }

  // Go's parseEscape for a backslash at `at` that stands for one character.
  private parseEscape(at: number, inClass: boolean): Escape {
    const s = this.src;
    if (at + 1 >= s.length) throw re2SyntaxError(ERR.trailingBackslash, at, '\\');
    const c = this.codePointAt(at + 1);
    let p = at + 1 + this.width(c);
    const invalid = (code: string = ERR.invalidEscape): never => {
      throw re2SyntaxError(inClass ? ERR.invalidEscape : code, at, s.slice(at, p));
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
      case '8':
      case '9':
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
      case 'a':
        return { cp: 0x07, end: p };
      case 'f':
        return { cp: 0x0c, end: p };
      case 'n':
        return { cp: 0x0a, end: p };
      case 'r':
        return { cp: 0x0d, end: p };
      case 't':
        return { cp: 0x09, end: p };
      case 'v':
        return { cp: 0x0b, end: p };
      case 'Z':
        return invalid(ERR.endBeforeNewline);
      case 'G':
        return invalid(ERR.previousMatchEnd);
      case 'k':
      case 'g':
        return invalid(ERR.backreference);
      case 'u':
        return invalid(ERR.unicodeEscape);
    }
    return invalid();
  }
}

/**
 * Checks an RE2 (Go regexp) pattern. Throws Re2SyntaxError, with the offset
 * of the offending text, for anything Go's regexp.Compile rejects by its
 * syntax and for Perl features RE2 lacks. Size and height limits, which
 * depend on the compiled form, are left to the engine that compiles it.
 */
export function checkRe2Syntax(pattern: string): void {
  new Parser(pattern).parse();
}
