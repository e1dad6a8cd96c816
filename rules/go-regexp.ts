// Go regular expressions as the rule files use them: name.matches,
// seriesFilters, resource templates read back from label names, and the
// `defaults` name globs. Matching runs on re2js, a JavaScript port of RE2 with
// Go's regexp semantics (RE2 syntax, leftmost-first matches, code point
// classes) whose time is linear in the input for every pattern. The names
// matched come from Prometheus and from admission requests, not from the
// rule's author, and on a backtracking engine one plausible pattern such as
// `^([a-z]+_?)+_total$` takes half a minute on a 45-character name, with the
// event loop, and so every API and probe, stopped meanwhile.
import { RE2JS, RE2JSException, RE2JSSyntaxException } from 're2js';
import { checkRe2Syntax, re2SyntaxError, Re2SyntaxError } from './re2.js';

/** Go's FindStringSubmatchIndex result, with the input it was made against. */
class Submatch {
  constructor(
    readonly input: string,
    /** Start and end of the match, then of each group; -1 for a group that did not take part. */
    readonly index: readonly number[],
  ) {}

  /** The text of group `n` (0 is the whole match); undefined when it did not take part. */
  group(n: number): string | undefined {
    const start = this.index[2 * n] ?? -1;
    return start < 0 ? undefined : this.input.slice(start, this.index[2 * n + 1]);
  }
}

export class GoRegexp {
  private constructor(
    readonly source: string,
    private readonly engine: RE2JS,
    /** The name of each group by number, undefined for unnamed ones and for the whole match at 0. */
    readonly groupNames: readonly (string | undefined)[],
  ) {}

  /**
   * Go's regexp.Compile. Throws Re2SyntaxError, with the offset of the text
   * at fault, for anything Go rejects, for Perl features RE2 lacks, and for
   * patterns past RE2's nesting and size limits.
   */
  static compile(pattern: string): GoRegexp {
    checkRe2Syntax(pattern);
    let engine: RE2JS;
    try {
      engine = RE2JS.compile(pattern);
    } catch (e) {
      if (e instanceof RE2JSException) throw engineError(pattern, e);
      throw e;
    }
    const names: (string | undefined)[] = Array.from({ length: engine.groupCount() + 1 }, () => undefined);
    for (const [name, n] of Object.entries(engine.namedGroups())) names[n] = name;
    return new GoRegexp(pattern, engine, Object.freeze(names));
  }

  /** Go's MatchString: whether the pattern matches anywhere in `s`. */
  test(s: string): boolean {
    return this.engine.test(s);
  }

  /** Go's FindStringSubmatchIndex: the leftmost match and its groups, or undefined. */
  findSubmatchIndex(s: string): Submatch | undefined {
    const index = this.engine.re2().findSubmatchIndex(s) as number[] | null;
    return index === null ? undefined : new Submatch(s, index);
  }

  /**
   * Go's ExpandString: `$$` is a literal `$`; `$n`/`${n}` is group n;
   * `$name`/`${name}` is the leftmost group of that name that took part in
   * the match; unknown or unmatched groups expand to ""; a `$` that does not
   * start a valid reference is copied as is.
   */
  expand(template: string, match: Submatch): string {
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
        out += match.group(ref.num) ?? '';
        continue;
      }
      for (let g = 0; g < this.groupNames.length; g++) {
        const value = this.groupNames[g] === ref.name ? match.group(g) : undefined;
        if (value !== undefined) {
          out += value;
          break;
        }
      }
    }
  }
}

// The syntax check above agrees with re2js on every pattern it has been
// compared on; what is left is RE2's bounds on the compiled form (nesting,
// program size), which have no single place in the text.
function engineError(pattern: string, e: RE2JSException): Re2SyntaxError {
  if (e instanceof RE2JSSyntaxException) {
    const at = e.input ? pattern.indexOf(e.input) : -1;
    if (e.input && at >= 0) return re2SyntaxError(e.error, at, e.input);
    return new Re2SyntaxError(`${e.error} at offset 0`, 0);
  }
  return new Re2SyntaxError(`${e.message} at offset 0`, 0);
}

// ---------------------------------------------------------------------------
// Templates: the references of Go's (*Regexp).Expand.

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
  if (name.startsWith('0') && name.length > 1) num = -1;
  return { name, num, end: p };
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
