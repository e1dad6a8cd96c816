import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

import { LabelSelectorError, formatLabelSelector, matchesLabels, parseLabelSelector } from '../../k8s/label-selector.js';
import type { Requirement, SelectorOperator } from '../../k8s/label-selector.js';
import { KEY_WITH_SLASHES, NAME_REGEX, SUBDOMAIN_REGEX, VALUE_REGEX } from '../support/name-messages.js';

// Cases marked "apimachinery" come from k8s.io/apimachinery/pkg/labels
// selector_test.go; every expected message is the text labels.Parse returns.

type Req = readonly [key: string, operator: SelectorOperator, values: readonly string[]];

function req([key, operator, values]: Req): Requirement {
  return { key, operator, values };
}

function tuples(reqs: readonly Requirement[]): Req[] {
  return reqs.map((r) => [r.key, r.operator, [...r.values]] as const);
}

const BINARY_OPERATORS = 'in, notin, =, ==, !=, gt, lt';
const NOT_INTEGER = "for 'Gt', 'Lt' operators, the value must be an integer";

const A254 = 'a'.repeat(254);

describe('parseLabelSelector accepts', () => {
  const cases: { name: string; text: string; want: Req[] }[] = [
    { name: 'an empty selector yields no requirements', text: '', want: [] },
    { name: 'a selector of blanks yields no requirements', text: ' \t\r\n', want: [] },
    { name: 'a bare key after a carriage return means the key exists (apimachinery)', text: '\rx', want: [['x', 'exists', []]] },
    {
      name: 'a key with a DNS subdomain prefix is valid (apimachinery)',
      text: 'this-is-a-dns.domain.com/key-with-dash',
      want: [['this-is-a-dns.domain.com/key-with-dash', 'exists', []]],
    },
    {
      name: 'a prefixed key takes an in set (apimachinery)',
      text: 'this-is-another-dns.domain.com/key-with-dash in (so,what)',
      want: [['this-is-another-dns.domain.com/key-with-dash', 'in', ['so', 'what']]],
    },
    {
      name: 'numeric prefixes, names and dotted values are valid (apimachinery)',
      text: '0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)',
      want: [['0.1.2.domain/99', 'notin', ['10.10.100.1', 'tick.tack.clock']]],
    },
    { name: 'spaces and tabs may surround the in keyword (apimachinery)', text: 'foo  in\t (abc)', want: [['foo', 'in', ['abc']]] },
    { name: 'a newline may follow notin (apimachinery)', text: 'x notin\n (abc)', want: [['x', 'notin', ['abc']]] },
    { name: 'runs of tabs separate notin from its set (apimachinery)', text: 'x  notin\t\t\t(abc,def)', want: [['x', 'notin', ['abc', 'def']]] },
    { name: 'a trailing comma in a set adds the empty value (apimachinery)', text: 'x in (abc,)', want: [['x', 'in', ['', 'abc']]] },
    { name: 'repeated values in a set collapse into one (apimachinery)', text: 'x in (abc,abc)', want: [['x', 'in', ['abc']]] },
    { name: 'empty parentheses hold the empty value (apimachinery)', text: 'x in ()', want: [['x', 'in', ['']]] },
    { name: 'two trailing commas add the empty value once (apimachinery)', text: 'x in (a,,)', want: [['x', 'in', ['', 'a']]] },
    { name: 'six trailing commas add the empty value once (apimachinery)', text: 'x in (a,,,,,,)', want: [['x', 'in', ['', 'a']]] },
    { name: 'interleaved empty values collapse into one (apimachinery)', text: 'x in (a,,a,,a,,a,,)', want: [['x', 'in', ['', 'a']]] },
    { name: 'a blank set means the empty value (apimachinery)', text: 'x notin ( )', want: [['x', 'notin', ['']]] },
    { name: 'a leading comma in a set adds the empty value (apimachinery)', text: 'x notin (, a)', want: [['x', 'notin', ['', 'a']]] },
    {
      name: 'mixed requirements come back sorted by key (apimachinery)',
      text: 'x notin (abc,,def),bar,z in (),w',
      want: [
        ['bar', 'exists', []],
        ['w', 'exists', []],
        ['x', 'notin', ['', 'abc', 'def']],
        ['z', 'in', ['']],
      ],
    },
    {
      name: 'an exists requirement sorts before a later key (apimachinery)',
      text: 'x,y in (a)',
      want: [
        ['x', 'exists', []],
        ['y', 'in', ['a']],
      ],
    },
    {
      name: 'equality and inequality combine (apimachinery)',
      text: 'x=a,y!=b,z in (h,i,j)',
      want: [
        ['x', '=', ['a']],
        ['y', '!=', ['b']],
        ['z', 'in', ['h', 'i', 'j']],
      ],
    },
    { name: 'a double equals sign is kept as its own operator', text: 'x==a', want: [['x', '==', ['a']]] },
    { name: 'greater-than takes an integer (apimachinery)', text: 'x>1', want: [['x', 'gt', ['1']]] },
    { name: 'less-than takes an integer (apimachinery)', text: 'x<7', want: [['x', 'lt', ['7']]] },
    { name: 'an integer with leading zeros is accepted for greater-than', text: 'x>007', want: [['x', 'gt', ['007']]] },
    { name: 'the largest int64 is accepted for greater-than', text: 'x>9223372036854775807', want: [['x', 'gt', ['9223372036854775807']]] },
    { name: 'trailing blanks after a key are ignored (apimachinery)', text: 'a ', want: [['a', 'exists', []]] },
    { name: 'an equals sign with nothing after it compares with the empty value', text: 'x=', want: [['x', '=', ['']]] },
    {
      name: 'empty exact values may be followed by more requirements',
      text: 'x= ,z= ',
      want: [
        ['x', '=', ['']],
        ['z', '=', ['']],
      ],
    },
    {
      name: 'keywords inside a set are plain values (apimachinery)',
      text: 'a in (x,y,notin, z,in)',
      want: [['a', 'in', ['in', 'notin', 'x', 'y', 'z']]],
    },
    { name: 'keywords on both sides of an equals sign are key and value (apimachinery)', text: 'notin=in', want: [['notin', '=', ['in']]] },
    { name: 'the word in alone is a key that must exist', text: 'in', want: [['in', 'exists', []]] },
    { name: 'an exclamation mark before in makes it a key that must not exist', text: '!in', want: [['in', '!', []]] },
    { name: 'in can be key, operator and values at once', text: 'in in (in,notin)', want: [['in', 'in', ['in', 'notin']]] },
    { name: 'values are sorted bytewise with capitals first', text: 'x in (b,B,a,A,b)', want: [['x', 'in', ['A', 'B', 'a', 'b']]] },
    {
      name: 'keys are sorted bytewise and equal keys keep their input order',
      text: 'b=1,a,B,b=2,a=3',
      want: [
        ['B', 'exists', []],
        ['a', 'exists', []],
        ['a', '=', ['3']],
        ['b', '=', ['1']],
        ['b', '=', ['2']],
      ],
    },
    {
      // Go's sort.Sort is unstable past 12 elements; the order here is stable
      // at any size, which changes a rendered query's text, never its meaning.
      name: 'equal keys in thirteen requirements keep their input order',
      text: 'b=0,c=1,b=2,b=3,a=4,c=5,a=6,c=7,c=8,a=9,c=10,c=11,b=12',
      want: [
        ['a', '=', ['4']],
        ['a', '=', ['6']],
        ['a', '=', ['9']],
        ['b', '=', ['0']],
        ['b', '=', ['2']],
        ['b', '=', ['3']],
        ['b', '=', ['12']],
        ['c', '=', ['1']],
        ['c', '=', ['5']],
        ['c', '=', ['7']],
        ['c', '=', ['8']],
        ['c', '=', ['10']],
        ['c', '=', ['11']],
      ],
    },
    {
      name: 'a NUL byte ends a key and the text after it still counts',
      text: 'x\u0000,y',
      want: [
        ['x', 'exists', []],
        ['y', 'exists', []],
      ],
    },
    { name: 'a NUL byte where a token starts ends the selector', text: '\u0000x', want: [] },
    { name: 'a NUL byte right after an operator is skipped', text: 'x=\u0000a', want: [['x', '=', ['a']]] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(tuples(parseLabelSelector(c.text)), c.want);
    });
  }
});

describe('parseLabelSelector rejects', () => {
  const cases: { name: string; text: string; message: string; position?: number }[] = [
    {
      name: 'an invalid value swallowing the rest of an or-expression is reported (apimachinery)',
      text: 'x=a||y=b',
      message: `unable to parse requirement: values[0][x]: Invalid value: "a||y": ${VALUE_REGEX}`,
    },
    { name: 'a second operator after a value is rejected (apimachinery)', text: 'x==a==b', message: "found '==', expected: ',' or 'end of string'", position: 4 },
    { name: 'a does-not-exist requirement cannot take a value (apimachinery)', text: '!x=a', message: "found '=', expected: ',' or 'end of string'", position: 2 },
    { name: 'less-than with a word is rejected (apimachinery)', text: 'x<a', message: `unable to parse requirement: values[0]: Invalid value: "a": ${NOT_INTEGER}`, position: 0 },
    { name: 'an empty requirement between commas is rejected (apimachinery)', text: 'x,,y', message: "found ',', expected: identifier after ','", position: 2 },
    { name: 'a leading comma is rejected (apimachinery)', text: ',x,y', message: "found ',', expected: !, identifier, or 'end of string'", position: 0 },
    { name: 'an unknown operator word is rejected (apimachinery)', text: 'x nott in (y)', message: `unable to parse requirement: found 'nott', expected: ${BINARY_OPERATORS}`, position: 2 },
    { name: 'a trailing comma after the last requirement is rejected (apimachinery)', text: 'a in (xyz),', message: "found '', expected: identifier after ','", position: 11 },
    { name: 'a requirement glued to a closing parenthesis is rejected (apimachinery)', text: 'a in (xyz)b notin ()', message: "found 'b', expected: ',' or 'end of string'", position: 10 },
    { name: 'set values need commas between them (apimachinery)', text: 'a in (xyz abc)', message: "unable to parse requirement: found 'abc', expected: ',' or ')'", position: 10 },
    { name: 'an unclosed set is rejected (apimachinery)', text: 'a notin(', message: "unable to parse requirement: found '', expected: ',', ')' or identifier" },
    { name: 'a parenthesis cannot stand in for an operator (apimachinery)', text: 'a (', message: `unable to parse requirement: found '(', expected: ${BINARY_OPERATORS}` },
    { name: 'an opening parenthesis cannot start a selector (apimachinery)', text: '(', message: "found '(', expected: !, identifier, or 'end of string'" },
    { name: 'a closing parenthesis cannot start a selector (apimachinery lexer)', text: ')', message: "found ')', expected: !, identifier, or 'end of string'" },
    { name: 'a lone comma is read as a comma token (apimachinery lexer)', text: ',', message: "found ',', expected: !, identifier, or 'end of string'" },
    { name: 'a lone equals sign is read as one token (apimachinery lexer)', text: '=', message: "found '=', expected: !, identifier, or 'end of string'" },
    { name: 'two equals signs are read as one token (apimachinery lexer)', text: '==', message: "found '==', expected: !, identifier, or 'end of string'" },
    { name: 'a lone greater-than sign is read as one token (apimachinery lexer)', text: '>', message: "found '>', expected: !, identifier, or 'end of string'" },
    { name: 'a lone less-than sign is read as one token (apimachinery lexer)', text: '<', message: "found '<', expected: !, identifier, or 'end of string'" },
    { name: 'an exclamation mark and equals sign are read as not-equals (apimachinery lexer)', text: '!=', message: "found '!=', expected: !, identifier, or 'end of string'" },
    { name: 'an exclamation mark needs a key after it (apimachinery lexer)', text: '!', message: "unable to parse requirement: found '', expected: identifier", position: 1 },
    { name: 'a run of operators reports the first one (apimachinery lexer)', text: '== != (), = notin', message: "found '==', expected: !, identifier, or 'end of string'" },
    { name: 'a tilde is an identifier and an invalid key (apimachinery lexer)', text: '~', message: `unable to parse requirement: <nil>: Invalid value: "~": name part ${NAME_REGEX}`, position: 0 },
    { name: 'pipes are an identifier and an invalid key (apimachinery lexer)', text: '||', message: `unable to parse requirement: <nil>: Invalid value: "||": name part ${NAME_REGEX}` },
    { name: 'a lone exclamation mark cannot be a binary operator (apimachinery)', text: 'x !', message: `unable to parse requirement: found '!', expected: ${BINARY_OPERATORS}` },
    { name: 'the word exists is not an operator (apimachinery)', text: 'x exists', message: `unable to parse requirement: found 'exists', expected: ${BINARY_OPERATORS}` },
    { name: 'greater-than with a word is rejected (apimachinery)', text: 'x14>bar', message: `unable to parse requirement: values[0]: Invalid value: "bar": ${NOT_INTEGER}` },
    { name: 'greater-than with nothing after it is rejected (apimachinery)', text: 'x13>', message: `unable to parse requirement: values[0]: Invalid value: "": ${NOT_INTEGER}` },
    { name: 'a key longer than 63 bytes is rejected (apimachinery)', text: A254, message: `unable to parse requirement: <nil>: Invalid value: "${A254}": name part must be no more than 63 bytes` },
    {
      name: 'a value longer than 63 bytes is rejected (apimachinery)',
      text: `x16=${A254}`,
      message: `unable to parse requirement: values[0][x16]: Invalid value: "${A254}": must be no more than 63 bytes`,
    },
    {
      name: 'a prefix longer than 253 bytes is rejected',
      text: `${A254}.com/x`,
      message: `unable to parse requirement: <nil>: Invalid value: "${A254}.com/x": prefix part must be no more than 253 bytes`,
    },
    { name: 'a space inside an exact value ends it early (apimachinery)', text: 'x=a b', message: "found 'b', expected: ',' or 'end of string'" },
    { name: 'an integer beyond int64 is rejected', text: 'x>9223372036854775808', message: `unable to parse requirement: values[0]: Invalid value: "9223372036854775808": ${NOT_INTEGER}` },
    { name: 'a negative bound fails label-value validation', text: 'x>-1', message: `unable to parse requirement: values[0][x]: Invalid value: "-1": ${VALUE_REGEX}` },
    { name: 'digit separators are not integers', text: 'x>1_000', message: `unable to parse requirement: values[0]: Invalid value: "1_000": ${NOT_INTEGER}` },
    { name: 'a decimal fraction is not an integer', text: 'x>1.5', message: `unable to parse requirement: values[0]: Invalid value: "1.5": ${NOT_INTEGER}` },
    {
      name: 'two problems with one value are listed together in brackets',
      text: 'x>-a',
      message: `unable to parse requirement: [values[0]: Invalid value: "-a": ${NOT_INTEGER}, values[0][x]: Invalid value: "-a": ${VALUE_REGEX}]`,
    },
    {
      name: 'invalid set values are indexed in sorted order',
      text: 'x in (zz,-a,b-)',
      message: `unable to parse requirement: [values[0][x]: Invalid value: "-a": ${VALUE_REGEX}, values[1][x]: Invalid value: "b-": ${VALUE_REGEX}]`,
    },
    { name: 'an upper-case prefix is not a DNS subdomain', text: 'Example.com/x', message: `unable to parse requirement: <nil>: Invalid value: "Example.com/x": prefix part ${SUBDOMAIN_REGEX}` },
    { name: 'an empty prefix is rejected', text: '/x', message: 'unable to parse requirement: <nil>: Invalid value: "/x": prefix part must be non-empty' },
    {
      name: 'an empty name after a prefix reports both name errors',
      text: 'a/',
      message: `unable to parse requirement: <nil>: Invalid value: "a/": name part must be non-empty; name part ${NAME_REGEX}`,
    },
    { name: 'a key with two slashes is rejected as a whole', text: 'a/b/c', message: `unable to parse requirement: <nil>: Invalid value: "a/b/c": ${KEY_WITH_SLASHES}` },
    { name: 'a set missing its closing parenthesis is rejected', text: 'x in (a', message: "unable to parse requirement: found '', expected: ',' or ')'" },
    { name: 'an operator inside a set after a comma is rejected', text: 'x in (a,=)', message: "unable to parse requirement: found '=', expected: ',', or identifier", position: 8 },
    { name: 'in without parentheses is rejected', text: 'x in a', message: "unable to parse requirement: found 'a' expected: '('", position: 5 },
    { name: 'an operator as the first set member is rejected', text: 'x in (=)', message: "unable to parse requirement: found '=', expected: ',', ')' or identifier" },
    { name: 'a parenthesis is not an exact value', text: 'x=(', message: "unable to parse requirement: found '(', expected: identifier" },
    { name: 'a doubled exclamation mark is rejected', text: '!!x', message: "unable to parse requirement: found '!', expected: identifier", position: 1 },
    { name: 'less-than-or-equal is not an operator', text: 'x<=5', message: "unable to parse requirement: found '=', expected: identifier" },
    { name: 'a NUL byte inside a key splits it in two', text: 'a\u0000b', message: `unable to parse requirement: found 'b', expected: ${BINARY_OPERATORS}` },
    { name: 'quotes in a value are escaped as Go does', text: 'x="a"', message: `unable to parse requirement: values[0][x]: Invalid value: "\\"a\\"": ${VALUE_REGEX}` },
    { name: 'a vertical tab in a value is escaped as Go does', text: 'x=\u000ba', message: `unable to parse requirement: values[0][x]: Invalid value: "\\va": ${VALUE_REGEX}` },
    { name: 'printable non-ASCII letters are quoted verbatim', text: 'x=é', message: `unable to parse requirement: values[0][x]: Invalid value: "é": ${VALUE_REGEX}` },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(
        () => parseLabelSelector(c.text),
        (err: unknown) => {
          assert.ok(err instanceof LabelSelectorError);
          assert.equal(err.name, 'LabelSelectorError');
          assert.equal(err.message, c.message);
          if (c.position !== undefined) {
            assert.equal(err.position, c.position);
          }
          return true;
        },
      );
    });
  }
});

describe('formatLabelSelector', () => {
  const roundTrips = ['x=a,y=b,z=c', '', 'x!=a,y=b', 'x=', 'x= ', 'x=,z= ', 'x= ,z= ', '!x', 'x>1', 'x>1,z<5'];
  for (const text of roundTrips) {
    test(`prints the parse of ${JSON.stringify(text)} back without its blanks (apimachinery)`, () => {
      assert.equal(formatLabelSelector(parseLabelSelector(text)), text.replaceAll(' ', ''));
    });
  }

  const cases: { name: string; reqs: Req[]; want: string }[] = [
    {
      name: 'set requirements are printed with spaced keywords and parentheses (apimachinery)',
      reqs: [
        ['x', 'in', ['abc', 'def']],
        ['y', 'notin', ['jkl']],
        ['z', 'exists', []],
      ],
      want: 'x in (abc,def),y notin (jkl),z',
    },
    {
      name: 'a missing key is printed with a leading exclamation mark (apimachinery)',
      reqs: [
        ['x', 'notin', ['abc', 'def']],
        ['y', '!=', ['jkl']],
        ['z', '!', []],
      ],
      want: 'x notin (abc,def),y!=jkl,!z',
    },
    {
      name: 'the empty value prints as empty parentheses (apimachinery)',
      reqs: [
        ['x', 'notin', ['abc']],
        ['y', 'in', ['jkl', 'mno']],
        ['z', 'notin', ['']],
      ],
      want: 'x notin (abc),y in (jkl,mno),z notin ()',
    },
    {
      name: 'each equality operator keeps its own spelling (apimachinery)',
      reqs: [
        ['x', '=', ['abc']],
        ['y', '==', ['jkl']],
        ['z', '!=', ['a']],
        ['z', 'exists', []],
      ],
      want: 'x=abc,y==jkl,z!=a,z',
    },
    {
      name: 'greater-than and less-than print as symbols (apimachinery)',
      reqs: [
        ['x', 'gt', ['2']],
        ['y', 'lt', ['8']],
        ['z', 'exists', []],
      ],
      want: 'x>2,y<8,z',
    },
    { name: 'unsorted set values are printed sorted', reqs: [['x', 'in', ['def', 'abc', 'Abc']]], want: 'x in (Abc,abc,def)' },
    {
      name: 'requirements are printed in the order given, not re-sorted',
      reqs: [
        ['y', '=', ['1']],
        ['x', '=', ['2']],
      ],
      want: 'y=1,x=2',
    },
    { name: 'no requirements print as the empty string', reqs: [], want: '' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(formatLabelSelector(c.reqs.map(req)), c.want);
    });
  }

  test('formatting leaves the caller’s value order untouched', () => {
    const values = ['b', 'a'];
    formatLabelSelector([{ key: 'x', operator: 'in', values }]);
    assert.deepEqual(values, ['b', 'a']);
  });
});

describe('matchesLabels', () => {
  const labelset = { foo: 'bar', baz: 'blah' };
  const parsed: { name: string; selector: string; labels: Record<string, string>; want: boolean }[] = [
    { name: 'the empty selector matches any labels (apimachinery)', selector: '', labels: { x: 'y' }, want: true },
    { name: 'an equality matches the same value (apimachinery)', selector: 'x=y', labels: { x: 'y' }, want: true },
    { name: 'all requirements must hold (apimachinery)', selector: 'x=y,z=w', labels: { x: 'y', z: 'w' }, want: true },
    { name: 'inequalities match different values (apimachinery)', selector: 'x!=y,z!=w', labels: { x: 'z', z: 'a' }, want: true },
    { name: 'keywords as key and value match literally (apimachinery)', selector: 'notin=in', labels: { notin: 'in' }, want: true },
    { name: 'a bare key matches when the label is present (apimachinery)', selector: 'x', labels: { x: 'z' }, want: true },
    { name: 'a negated key matches when the label is absent (apimachinery)', selector: '!x', labels: { y: 'z' }, want: true },
    { name: 'greater-than compares integers (apimachinery)', selector: 'x>1', labels: { x: '2' }, want: true },
    { name: 'less-than compares integers (apimachinery)', selector: 'x<1', labels: { x: '0' }, want: true },
    { name: 'an equality fails when the label is missing (apimachinery)', selector: 'x=z', labels: {}, want: false },
    { name: 'an equality fails on a different value (apimachinery)', selector: 'x=y', labels: { x: 'z' }, want: false },
    { name: 'one failing requirement fails the selector (apimachinery)', selector: 'x=y,z=w', labels: { x: 'w', z: 'w' }, want: false },
    { name: 'an inequality fails on the same value (apimachinery)', selector: 'x!=y,z!=w', labels: { x: 'z', z: 'w' }, want: false },
    { name: 'a bare key fails when the label is absent (apimachinery)', selector: 'x', labels: { y: 'z' }, want: false },
    { name: 'a negated key fails when the label is present (apimachinery)', selector: '!x', labels: { x: 'z' }, want: false },
    { name: 'greater-than fails on a smaller value (apimachinery)', selector: 'x>1', labels: { x: '0' }, want: false },
    { name: 'less-than fails on a larger value (apimachinery)', selector: 'x<1', labels: { x: '2' }, want: false },
    { name: 'two equalities on a wider label set match (apimachinery)', selector: 'foo=bar,baz=blah', labels: labelset, want: true },
    { name: 'a requirement on a missing key spoils an otherwise matching selector (apimachinery)', selector: 'foo=bar,foobar=bar,baz=blah', labels: labelset, want: false },
    { name: 'an in set matches any of its values', selector: 'x in (a,b)', labels: { x: 'b' }, want: true },
    { name: 'an in set never matches a missing label', selector: 'x in (a,)', labels: {}, want: false },
    { name: 'a notin set matches a missing label', selector: 'x notin (a)', labels: {}, want: true },
    { name: 'an empty in set matches a label with the empty value', selector: 'x in ()', labels: { x: '' }, want: true },
    { name: 'greater-than fails on a missing label', selector: 'x>1', labels: {}, want: false },
    { name: 'greater-than fails on a label that is not an integer (apimachinery)', selector: 'z>1', labels: { z: 'v2' }, want: false },
    { name: 'a signed label value still compares as an integer', selector: 'x<1', labels: { x: '-5' }, want: true },
    { name: 'a label value beyond int64 does not compare', selector: 'x>1', labels: { x: '9223372036854775808' }, want: false },
    { name: 'integers past 2^53 compare exactly', selector: 'x>9007199254740992', labels: { x: '9007199254740993' }, want: true },
    { name: 'inherited object properties are not labels', selector: 'constructor', labels: {}, want: false },
  ];
  for (const c of parsed) {
    test(c.name, () => {
      assert.equal(matchesLabels(parseLabelSelector(c.selector), c.labels), c.want);
    });
  }

  const built: { name: string; reqs: Req[]; labels: Record<string, string>; want: boolean }[] = [
    {
      name: 'in and notin together match when both hold (apimachinery)',
      reqs: [
        ['x', 'in', ['foo']],
        ['y', 'notin', ['alpha']],
      ],
      labels: { x: 'foo', y: 'baz' },
      want: true,
    },
    {
      name: 'in fails when the value is outside the set (apimachinery)',
      reqs: [
        ['x', 'in', ['foo']],
        ['y', 'in', ['alpha']],
      ],
      labels: { x: 'foo', y: 'baz' },
      want: false,
    },
    {
      name: 'notin on an absent key plus exists on a present one match (apimachinery)',
      reqs: [
        ['x', 'notin', ['']],
        ['y', 'exists', []],
      ],
      labels: { y: '' },
      want: true,
    },
    {
      name: 'does-not-exist plus exists match disjoint keys (apimachinery)',
      reqs: [
        ['x', '!', []],
        ['y', 'exists', []],
      ],
      labels: { y: '' },
      want: true,
    },
    {
      name: 'does-not-exist fails on a key present with the empty value (apimachinery)',
      reqs: [
        ['x', 'notin', ['']],
        ['y', '!', []],
      ],
      labels: { y: '' },
      want: false,
    },
    { name: 'in with the empty value fails on an absent key (apimachinery)', reqs: [['x', 'in', ['']]], labels: { y: 'baz' }, want: false },
    { name: 'greater-than matches a larger integer (apimachinery)', reqs: [['z', 'gt', ['1']]], labels: { z: '2' }, want: true },
    { name: 'greater-than with two bounds never matches', reqs: [['z', 'gt', ['1', '2']]], labels: { z: '5' }, want: false },
    { name: 'greater-than with a non-integer bound never matches', reqs: [['z', 'gt', ['one']]], labels: { z: '5' }, want: false },
  ];
  for (const c of built) {
    test(c.name, () => {
      assert.equal(matchesLabels(c.reqs.map(req), c.labels), c.want);
    });
  }
});
