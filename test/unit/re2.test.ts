// RE2 (Go regexp) patterns: what they match on the linear-time engine, what
// is rejected and where, and Go's template expansion.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GoRegexp, quoteMeta, templateReferences } from '../../rules/go-regexp.js';
import { Re2SyntaxError } from '../../rules/re2.js';

// The first match and its groups, as Go's FindStringSubmatch reports them
// (undefined for a group that did not take part).
const firstMatch = (pattern: string, input: string): (string | undefined)[] | null => {
  const re = GoRegexp.compile(pattern);
  const m = re.findSubmatchIndex(input);
  return m === undefined ? null : re.groupNames.map((_, i) => m.group(i));
};

describe('matching behaviour, as in Go', () => {
  const cases: { name: string; pattern: string; input: string; want: (string | undefined)[] | null }[] = [
    {
      name: 'an anchored series pattern captures the part between prefix and suffix',
      pattern: '^container_(.*)_seconds_total$',
      input: 'container_cpu_usage_seconds_total',
      want: ['container_cpu_usage_seconds_total', 'cpu_usage'],
    },
    { name: 'an anchored series pattern rejects a name with the wrong suffix', pattern: '^container_(.*)_seconds_total$', input: 'container_cpu_usage_seconds', want: null },
    { name: 'a leading (?i) makes the whole pattern case-insensitive', pattern: '(?i)^FOO', input: 'foobar', want: ['foo'] },
    { name: 'a POSIX class inside brackets matches its ASCII members', pattern: '[[:alpha:]]+', input: '123abcDEF456', want: ['abcDEF'] },
    { name: 'a negated POSIX class matches everything else', pattern: '[[:^digit:]]+', input: '12ab34', want: ['ab'] },
    { name: 'text between \\Q and \\E is literal', pattern: '\\Qa.b\\E', input: 'axb a.b', want: ['a.b'] },
    { name: 'a bounded repeat takes as many as allowed', pattern: 'a{2,3}', input: 'aaaa', want: ['aaa'] },
    { name: 'a { that starts no repeat is a literal brace', pattern: 'x{', input: 'ax{', want: ['x{'] },
    { name: 'a braced word is literal text', pattern: '{foo}', input: 'a{foo}b', want: ['{foo}'] },
    { name: 'a repeat without a lower bound is literal text', pattern: 'a{,5}', input: 'a{,5}', want: ['a{,5}'] },
    { name: 'escaped punctuation that JavaScript u-mode would reject still matches itself', pattern: '\\-\\.\\/\\_\\<', input: 'x-./_<', want: ['-./_<'] },
    { name: 'octal and hex escapes denote code points', pattern: '\\101\\x42\\x{1F600}', input: 'AB\u{1F600}', want: ['AB\u{1F600}'] },
    { name: 'dot matches a carriage return, which JavaScript dot does not', pattern: 'a.b', input: 'a\rb', want: ['a\rb'] },
    { name: 'dot does not match a newline by default', pattern: 'a.b', input: 'a\nb', want: null },
    { name: 'dot matches a newline under (?s)', pattern: '(?s)a.b', input: 'a\nb', want: ['a\nb'] },
    { name: 'dollar without (?m) does not match before a final newline', pattern: 'a$', input: 'a\n', want: null },
    { name: 'caret and dollar under (?m) match at newlines', pattern: '(?m)^b$', input: 'a\nb\nc', want: ['b'] },
    { name: 'caret under (?m) does not treat a carriage return as a line break', pattern: '(?m)^b', input: 'a\rb', want: null },
    { name: '\\A and \\z anchor at the very start and end of the text', pattern: '\\Aab\\z', input: 'ab\n', want: null },
    { name: '\\s does not include the vertical tab', pattern: '\\s', input: '\v', want: null },
    { name: '[[:space:]] does include the vertical tab', pattern: '[[:space:]]', input: '\v', want: ['\v'] },
    { name: '\\p{Greek} matches Greek letters only', pattern: '\\p{Greek}+', input: 'abcαβγ', want: ['αβγ'] },
    { name: '\\PL matches non-letters', pattern: '\\PL+', input: 'ab12cd', want: ['12'] },
    { name: '\\p{^Greek} is the negation of \\p{Greek}', pattern: '\\p{^Greek}+', input: 'αβab', want: ['ab'] },
    { name: 'Perl classes can be combined inside brackets', pattern: '[\\d_]+', input: 'a1_2b', want: ['1_2'] },
    { name: 'a (?i:...) group is case-insensitive only inside', pattern: 'a(?i:b)c', input: 'ABc aBc', want: ['aBc'] },
    { name: '(?-i) turns case-insensitivity off again mid-pattern', pattern: '(?i)a(?-i)b', input: 'AB Ab', want: ['Ab'] },
    { name: 'a mid-pattern (?i) lasts only until the end of its group', pattern: '(a(?i)b)c', input: 'aBC aBc', want: ['aBc', 'aB'] },
    { name: 'case-insensitive k also matches the Kelvin sign, as in Go', pattern: '(?i)k', input: '\u212A', want: ['\u212A'] },
    { name: 'a case-insensitive negated class folds before negating', pattern: '(?i)[^k]', input: 'Kk\u212Ax', want: ['x'] },
    { name: '(?U) makes a plain quantifier lazy', pattern: '(?U)a+', input: 'aaa', want: ['a'] },
    { name: '(?U) makes a lazy quantifier greedy', pattern: '(?U)a+?', input: 'aaa', want: ['aaa'] },
    { name: 'alternation is leftmost-first, as in Go', pattern: 'a|ab', input: 'ab', want: ['a'] },
    { name: '\\b matches at ASCII word boundaries', pattern: '\\bfoo\\b', input: 'foobar foo', want: ['foo'] },
    { name: 'a ] right after [ is a literal member of the class', pattern: '[]a]+', input: 'x]a]', want: [']a]'] },
    { name: 'a - at the end of a class is a literal member', pattern: '[a-]+', input: 'x-a-', want: ['-a-'] },
    { name: 'a repeated assertion, which JavaScript rejects, is accepted', pattern: '^*a', input: 'a', want: ['a'] },
    { name: 'a group that did not take part is reported as undefined', pattern: '(a)|(b)', input: 'b', want: ['b', undefined, 'b'] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(firstMatch(c.pattern, c.input), c.want);
    });
  }
});

describe('compiled regex shape', () => {
  test('a named group written (?P<name>) is found through groupNames', () => {
    const re = GoRegexp.compile('^(?P<base>.*)_total$');
    const m = re.findSubmatchIndex('http_requests_total');
    assert.equal(m?.group(re.groupNames.indexOf('base')), 'http_requests');
  });

  test('groupNames lists the whole match, then each group in order of its opening parenthesis', () => {
    assert.deepEqual(GoRegexp.compile('(a)(?P<x>b(c))(?<y>d)').groupNames, [undefined, undefined, 'x', undefined, 'y']);
  });

  test('a group name that is not a JavaScript identifier still captures through groupNames', () => {
    const re = GoRegexp.compile('(?P<1x>a+)');
    assert.deepEqual(re.groupNames, [undefined, '1x']);
    assert.deepEqual(firstMatch('(?P<1x>a+)', 'baa'), ['aa', 'aa']);
  });

  test('the regex keeps the original pattern as source', () => {
    assert.equal(GoRegexp.compile('(?is)a.b').source, '(?is)a.b');
  });

  test('a repeat nested up to the 1000 limit is accepted', () => {
    assert.equal(GoRegexp.compile('(?:a{2}){500}').test('a'.repeat(1000)), true);
  });

  test('match positions count UTF-16 code units of the input, so groups slice it exactly', () => {
    assert.deepEqual(GoRegexp.compile('(😀)(y)').findSubmatchIndex('é😀y')?.index, [1, 4, 1, 3, 3, 4]);
  });
});

describe('patterns RE2 rejects', () => {
  const cases: { name: string; pattern: string; message: string; offset: number }[] = [
    { name: 'an unclosed group reports missing closing ) at the open parenthesis', pattern: 'x(abc', message: 'missing closing )', offset: 1 },
    { name: 'a stray ) reports unexpected )', pattern: 'a)b', message: 'unexpected )', offset: 1 },
    { name: 'an unclosed class reports missing closing ]', pattern: 'a[a-z', message: 'missing closing ]', offset: 1 },
    { name: 'an empty [] is not a class but an unclosed one', pattern: '[]', message: 'missing closing ]', offset: 0 },
    { name: 'an unknown letter escape is an invalid escape sequence', pattern: 'a\\q', message: 'invalid escape sequence', offset: 1 },
    { name: 'a JavaScript \\u escape is rejected with a hint', pattern: '\\u00e9', message: 'RE2 writes code points as \\x{...}', offset: 0 },
    { name: 'a backwards range is an invalid character class range', pattern: '[z-a]', message: 'invalid character class range', offset: 1 },
    { name: 'an unknown POSIX class name is an invalid character class range', pattern: '[[:foo:]]', message: 'invalid character class range', offset: 1 },
    { name: 'an unknown Unicode class name is an invalid character class range', pattern: 'x\\p{Klingon}', message: 'invalid character class range', offset: 1 },
    { name: 'a repeat count over 1000 is an invalid repeat count', pattern: 'a{1001}', message: 'invalid repeat count', offset: 1 },
    { name: 'a repeat with min above max is an invalid repeat count', pattern: 'a{2,1}', message: 'invalid repeat count', offset: 1 },
    { name: 'nested repeats multiplying past 1000 are an invalid repeat count', pattern: '(?:[a-z]{4}){0,251}', message: 'invalid repeat count', offset: 12 },
    { name: 'a quantifier with nothing before it is a missing argument', pattern: 'a|*', message: 'missing argument to repetition operator', offset: 2 },
    { name: 'a quantifier after an empty \\Q\\E is a missing argument', pattern: '\\Q\\E*', message: 'missing argument to repetition operator', offset: 4 },
    { name: 'a doubled quantifier is an invalid nested repetition operator', pattern: 'a**', message: 'invalid nested repetition operator', offset: 1 },
    { name: 'a group name with a space is an invalid named capture', pattern: '(?P<x y>a)', message: 'invalid named capture', offset: 0 },
    { name: 'a named group without > is an invalid named capture', pattern: 'ab(?P<name', message: 'invalid named capture', offset: 2 },
    { name: 'a group name used twice is a duplicate capture group name', pattern: '(?P<n>a)(?P<n>b)', message: 'duplicate capture group name', offset: 8 },
    { name: 'an unknown flag is invalid Perl syntax', pattern: '(?z)', message: 'invalid or unsupported Perl syntax', offset: 0 },
    { name: 'a trailing backslash is reported as such', pattern: 'ab\\', message: 'trailing backslash at end of expression', offset: 2 },
    { name: 'look-ahead is rejected as look-around', pattern: 'a(?=b)', message: 'look-around is not supported in RE2 syntax', offset: 1 },
    { name: 'negative look-ahead is rejected as look-around', pattern: '(?!b)', message: 'look-around is not supported in RE2 syntax', offset: 0 },
    { name: 'look-behind is rejected as look-around, not as a bad group name', pattern: '(?<=a)b', message: 'look-around is not supported in RE2 syntax', offset: 0 },
    { name: 'negative look-behind is rejected as look-around', pattern: 'x(?<!a)', message: 'look-around is not supported in RE2 syntax', offset: 1 },
    { name: 'a numbered backreference is rejected as a backreference', pattern: '(a)\\1', message: 'backreferences are not supported in RE2 syntax', offset: 3 },
    { name: 'a named backreference is rejected as a backreference', pattern: '(?P<n>a)\\k<n>', message: 'backreferences are not supported in RE2 syntax', offset: 8 },
    { name: 'a possessive quantifier is rejected by name', pattern: 'a*+', message: 'possessive quantifiers are not supported in RE2 syntax', offset: 1 },
    { name: 'an atomic group is rejected by name', pattern: '(?>a)', message: 'atomic groups are not supported in RE2 syntax', offset: 0 },
    { name: 'a conditional is rejected by name', pattern: '(a)(?(1)b|c)', message: 'conditionals are not supported in RE2 syntax', offset: 3 },
    { name: '\\Z is rejected with a pointer to \\z', pattern: 'a\\Z', message: '\\Z is not supported in RE2 syntax', offset: 1 },
    { name: '\\G is rejected by name', pattern: '\\Ga', message: '\\G is not supported in RE2 syntax', offset: 0 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(
        () => GoRegexp.compile(c.pattern),
        (err: unknown) => {
          assert.ok(err instanceof Re2SyntaxError, `expected Re2SyntaxError, got ${String(err)}`);
          assert.ok(err.message.includes(c.message), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(c.message)}`);
          assert.equal(err.offset, c.offset);
          return true;
        },
      );
    });
  }

  test('an octal escape like \\12 is not mistaken for a backreference', () => {
    assert.equal(GoRegexp.compile('a\\12b').test('a\nb'), true);
  });

  // Past these bounds RE2 refuses to compile; they depend on the compiled
  // form, not on one place in the text.
  test('a pattern nesting capture groups and repeats deeper than RE2 allows is rejected at offset 0', () => {
    assert.throws(
      () => GoRegexp.compile(`${'('.repeat(600)}a${')*'.repeat(600)}`),
      (err: unknown) => {
        assert.ok(err instanceof Re2SyntaxError);
        assert.equal(err.message, 'expression nests too deeply at offset 0');
        assert.equal(err.offset, 0);
        return true;
      },
    );
  });

  test('a pattern compiling to more instructions than RE2 allows is rejected at offset 0', () => {
    assert.throws(
      () => GoRegexp.compile('a{1000}'.repeat(4000)),
      (err: unknown) => {
        assert.ok(err instanceof Re2SyntaxError);
        assert.equal(err.message, 'expression too large at offset 0');
        assert.equal(err.offset, 0);
        return true;
      },
    );
  });
});

describe('template expansion', () => {
  const cases: { name: string; pattern: string; input: string; template: string; want: string }[] = [
    { name: '$0 is the whole match', pattern: '_total$', input: 'a_total', template: 'x$0', want: 'x_total' },
    { name: '$1 is the first group', pattern: '^(.*)_total$', input: 'http_requests_total', template: '$1', want: 'http_requests' },
    { name: '${1} can be followed directly by name characters', pattern: '^(.*)_total$', input: 'http_requests_total', template: '${1}_per_second', want: 'http_requests_per_second' },
    { name: '$1_per_second names a group called 1_per_second and expands to nothing', pattern: '^(.*)_total$', input: 'http_requests_total', template: '$1_per_second', want: '' },
    { name: '$$ is a literal dollar sign', pattern: '^(.*)$', input: 'cost', template: '$$$1', want: '$cost' },
    { name: 'a named group is found by $name', pattern: '^(?P<base>.*)_total$', input: 'x_total', template: '$base', want: 'x' },
    { name: 'a named group is found by ${name} followed by text', pattern: '^(?P<base>.*)_total$', input: 'x_total', template: '${base}_rate', want: 'x_rate' },
    { name: 'a named group whose name is not a JS identifier is still found', pattern: '^(?P<1x>.*)_total$', input: 'x_total', template: '${1x}!', want: 'x!' },
    { name: 'a group number past the last group expands to nothing', pattern: '^(a)', input: 'a', template: '[$5]', want: '[]' },
    { name: 'a group that did not take part expands to nothing', pattern: '(a)|(b)', input: 'b', template: '[$1][$2]', want: '[][b]' },
    { name: 'a named group that did not take part expands to nothing', pattern: '(?P<a>x)|(?P<b>y)', input: 'y', template: '[$a][$b]', want: '[][y]' },
    { name: 'an unknown group name expands to nothing', pattern: '(a)', input: 'a', template: '[$nope]', want: '[]' },
    { name: 'a number with a leading zero is a name, not group 1', pattern: '(a)', input: 'a', template: '[$01]', want: '[]' },
    { name: 'a $ without a name is copied literally', pattern: '(a)', input: 'a', template: '$-$', want: '$-$' },
    { name: 'an unclosed ${ is copied literally', pattern: '(a)', input: 'a', template: '${1', want: '${1' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const re = GoRegexp.compile(c.pattern);
      const match = re.findSubmatchIndex(c.input);
      assert.ok(match !== undefined, 'the pattern should match the input');
      assert.equal(re.expand(c.template, match), c.want);
    });
  }
});

describe('template references', () => {
  const cases: { name: string; template: string; want: (number | string)[] }[] = [
    { name: 'braced and bare numbers are group indexes', template: '${1}_per_second $0', want: [1, 0] },
    { name: 'a bare number followed by name characters is a name', template: '$1_per_second', want: ['1_per_second'] },
    { name: 'named references are names and repeats are listed once', template: '$name ${name} $2 $2', want: ['name', 2] },
    { name: 'escaped and malformed dollars are not references', template: '$$1 ${x $', want: [] },
    { name: 'a number with a leading zero is a name', template: '$01', want: ['01'] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(templateReferences(c.template), c.want);
    });
  }
});

describe('quoteMeta', () => {
  test('every RE2 metacharacter is escaped and nothing else', () => {
    assert.equal(quoteMeta('a.b*c-d_e'), 'a\\.b\\*c-d_e');
  });

  test('a quoted string matches itself literally', () => {
    const text = '\\.+*?()|[]{}^$ ok';
    assert.deepEqual(firstMatch(`^${quoteMeta(text)}$`, text), [text]);
  });
});
