import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { executeGoTemplate, parseGoTemplate, TemplateError, type GoValue, type ParseOptions } from '../../rules/go-template.js';

const FIELDS = ['Series', 'LabelMatchers', 'LabelValuesByName', 'GroupBy', 'GroupBySlice'];

// The values prometheus-adapter's own metrics_query_test.go builds for its query templates.
const ADAPTER_DATA: Readonly<Record<string, GoValue>> = {
  Series: 'foo',
  LabelMatchers: 'resource="bar"',
  GroupBy: 'resource,extra,groups',
  GroupBySlice: ['resource', 'extra', 'groups'],
  LabelValuesByName: { resource: 'bar|baz', namespaces: 'default' },
};

const EXTRA_FIELDS = [...FIELDS, 'N', 'F', 'Nested', 'Empty', 'WithNil', 'Group', 'Resource'];
const EXTRA_DATA: Readonly<Record<string, GoValue>> = {
  ...ADAPTER_DATA,
  N: 3,
  F: 1.5,
  Nested: { inner: { leaf: 'deep' }, list: [1, 2] },
  Empty: [],
  WithNil: ['a', null],
  Group: 'apps',
  Resource: 'deployments',
};

function render(text: string, data: Readonly<Record<string, GoValue>> = EXTRA_DATA, options: Partial<ParseOptions> = {}): string {
  return executeGoTemplate(parseGoTemplate(text, { fields: EXTRA_FIELDS, ...options }), data);
}

function parseFailure(text: string, options: Partial<ParseOptions> = {}): TemplateError {
  try {
    parseGoTemplate(text, { fields: EXTRA_FIELDS, ...options });
  } catch (e) {
    assert.ok(e instanceof TemplateError, `expected a TemplateError, got ${String(e)}`);
    return e;
  }
  assert.fail(`expected ${JSON.stringify(text)} to be rejected at parse time`);
}

function execFailure(text: string, data: Readonly<Record<string, GoValue>> = EXTRA_DATA): TemplateError {
  const parsed = parseGoTemplate(text, { fields: EXTRA_FIELDS });
  try {
    executeGoTemplate(parsed, data);
  } catch (e) {
    assert.ok(e instanceof TemplateError, `expected a TemplateError, got ${String(e)}`);
    return e;
  }
  assert.fail(`expected ${JSON.stringify(text)} to fail when executed`);
}

describe('prometheus-adapter reference expectations', () => {
  const cases: { name: string; template: string; data?: Readonly<Record<string, GoValue>>; want: string }[] = [
    { name: 'a plain field reference is substituted', template: 'series <<.Series>>', want: 'series foo' },
    { name: 'a string slice prints in Go fmt form', template: '<<.GroupBySlice>>', want: '[resource extra groups]' },
    { name: 'a single-element slice prints in brackets', template: '<<.GroupBySlice>>', data: { ...ADAPTER_DATA, GroupBySlice: ['resource'] }, want: '[resource]' },
    {
      name: 'index looks up map entries by key',
      template: '<<index .LabelValuesByName "namespaces">> <<index .LabelValuesByName "resource">>',
      want: 'default bar|baz',
    },
    { name: 'a map prints in Go fmt form', template: '<<.LabelValuesByName>>', data: { ...ADAPTER_DATA, LabelValuesByName: { foo: 'bar' } }, want: 'map[foo:bar]' },
    { name: 'index of a missing key yields the empty string', template: '<<index .LabelValuesByName "missing">>', want: '' },
    { name: 'index of a key in an empty map yields the empty string', template: '[<<index .LabelValuesByName "namespaces">>]', data: { ...ADAPTER_DATA, LabelValuesByName: {} }, want: '[]' },
    { name: 'the stringified label matchers and group-by are substituted', template: '<<.LabelMatchers>> by <<.GroupBy>>', want: 'resource="bar" by resource,extra,groups' },
    {
      name: 'the documented default metrics query renders',
      template: 'sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[2m])) by (<<.GroupBy>>)',
      want: 'sum(rate(foo{resource="bar",container!="POD"}[2m])) by (resource,extra,groups)',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const parsed = parseGoTemplate(c.template, { fields: FIELDS });
      assert.equal(executeGoTemplate(parsed, c.data ?? ADAPTER_DATA), c.want);
    });
  }
});

describe('rendering', () => {
  const cases: { name: string; template: string; want: string }[] = [
    { name: 'text without actions is copied verbatim', template: 'up{job="x"} > 0', want: 'up{job="x"} > 0' },
    { name: 'a resource-label template joins group and resource', template: 'kube_<<.Group>>_<<.Resource>>', want: 'kube_apps_deployments' },
    { name: 'a left trim marker removes preceding spaces, tabs and newlines', template: 'a \t\n<<- .Series>>', want: 'afoo' },
    { name: 'a right trim marker removes following whitespace', template: '<<.Series ->> \n\tb', want: 'foob' },
    { name: 'trim markers may be separated from the action by newlines', template: 'a\n<<-\n.Series\n->>\nb', want: 'afoob' },
    { name: 'a minus sign directly after the delimiter is a negative number, not a trim marker', template: 'x <<-3>>', want: 'x -3' },
    { name: 'comments are dropped and keep surrounding text', template: 'x <</* note */>> y', want: 'x  y' },
    { name: 'comments with trim markers trim both sides', template: 'x \n<<- /* multi\nline */ ->>\n y', want: 'xy' },
    { name: 'range with index and value joins a slice with commas', template: '<<range $i, $v := .GroupBySlice>><<if $i>>,<<end>><<$v>><<end>>', want: 'resource,extra,groups' },
    { name: 'range over a map visits keys in sorted order', template: '<<range $k, $v := .LabelValuesByName>><<$k>>=<<$v>>;<<end>>', want: 'namespaces=default;resource=bar|baz;' },
    { name: 'range sets dot to each element', template: '<<range .GroupBySlice>>[<<.>>]<<end>>', want: '[resource][extra][groups]' },
    { name: 'range over an empty slice runs its else branch', template: '<<range .Empty>>x<<else>>none<<end>>', want: 'none' },
    { name: 'dollar still reaches the top-level data inside range', template: '<<range .GroupBySlice>><<$.Series>><<end>>', want: 'foofoofoo' },
    { name: 'else if chains pick the first true branch', template: '<<if lt .N 2>>a<<else if lt .N 5>>b<<else>>c<<end>>', want: 'b' },
    { name: 'empty strings, zero and empty slices are false', template: '<<if "">>1<<end>><<if 0>>2<<end>><<if .Empty>>3<<end>><<if .N>>4<<end>>', want: '4' },
    { name: 'with sets dot to a non-empty value', template: '<<with .LabelValuesByName>><<.resource>><<end>>', want: 'bar|baz' },
    { name: 'with runs its else branch for an empty value', template: '<<with .Empty>>x<<else>><<.Series>><<end>>', want: 'foo' },
    { name: 'join concatenates a string slice with a separator', template: 'by (<<join .GroupBySlice ", ">>)', want: 'by (resource, extra, groups)' },
    { name: 'the piped value becomes the last argument', template: '<<.Series | printf "%s_total">>', want: 'foo_total' },
    { name: 'printf supports %s %d %q %v and %%', template: '<<printf "%s %d %q %v 100%%" .Series .N .LabelMatchers .GroupBySlice>>', want: 'foo 3 "resource=\\"bar\\"" [resource extra groups] 100%' },
    { name: 'print inserts spaces only between non-string operands', template: '<<print 1 2 "a" "b" 3>>', want: '1 2ab3' },
    { name: 'println separates all operands and ends with a newline', template: '<<println "a" 1>>', want: 'a 1\n' },
    { name: 'eq with several arguments is true when any matches', template: '<<eq .Series "bar" "foo">> <<eq .N 1 2>>', want: 'true false' },
    { name: 'and and or return the deciding operand', template: '<<and 1 0 2>> <<or 0 "" "z">> <<not .Empty>>', want: '0 z true' },
    { name: 'len counts UTF-8 bytes of a string like Go', template: '<<len "héllo">> <<len .GroupBySlice>> <<len .LabelValuesByName>>', want: '6 3 2' },
    { name: 'floats print like Go %v', template: '<<1e6>> <<1234567.0>> <<0.00001>> <<100000.0>> <<.F>> <<-0.0>>', want: '1e+06 1.234567e+06 1e-05 100000 1.5 -0' },
    { name: 'integer literals accept Go bases, underscores and runes', template: "<<0x1F>> <<0o17>> <<0b101>> <<1_000>> <<'a'>>", want: '31 15 5 1000 97' },
    { name: 'interpreted strings decode Go escapes and raw strings keep backslashes', template: '<<"a\\tb\\u00e9\\x41\\101">>|<<`raw\\n`>>', want: 'a\tbéAA|raw\\n' },
    { name: 'assignment updates a variable declared in an outer scope', template: '<<$x := 1>><<if true>><<$x = 2>><<end>><<$x>>', want: '2' },
    { name: 'chained fields walk nested maps', template: '<<.Nested.inner.leaf>> <<(.Nested).list>>', want: 'deep [1 2]' },
    { name: 'a missing map field prints <no value> like Go', template: '<<.LabelValuesByName.missing>>', want: '<no value>' },
    { name: 'nil inside a slice prints <nil> but a nil dot prints <no value>', template: '<<.WithNil>> <<range .WithNil>>(<<.>>)<<end>>', want: '[a <nil>] (a)(<no value>)' },
    { name: 'a field of a missing map entry is <no value> rather than an error', template: '<<.Nested.none.x>>', want: '<no value>' },
    { name: 'a nil value bound by a pipeline behaves as a missing value', template: '<<with $v := index .WithNil 1>>x<<else>><<$v.x>><<end>>', want: '<no value>' },
    { name: 'a trailing pipe is accepted as Go accepts it', template: '<<.Series |>>', want: 'foo' },
    { name: 'custom delimiters are honoured', template: '{{.Series}} <<.Series>>', want: 'foo <<.Series>>' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const options = c.name.startsWith('custom delimiters') ? { leftDelim: '{{', rightDelim: '}}' } : {};
      assert.equal(render(c.template, EXTRA_DATA, options), c.want);
    });
  }
});

describe('unsupported Go constructs are rejected at parse time', () => {
  const cases: { name: string; template: string; construct: string; line: number; column: number }[] = [
    { name: 'define is rejected', template: '<<define "x">>y<<end>>', construct: 'define', line: 1, column: 3 },
    { name: 'template is rejected', template: 'a\n<<template "x" .>>', construct: 'template', line: 2, column: 3 },
    { name: 'block is rejected', template: '<<block "x" .>>y<<end>>', construct: 'block', line: 1, column: 3 },
    { name: 'break inside range is rejected', template: '<<range .GroupBySlice>><<break>><<end>>', construct: 'break', line: 1, column: 26 },
    { name: 'continue inside range is rejected', template: '<<range .GroupBySlice>><<continue>><<end>>', construct: 'continue', line: 1, column: 26 },
    { name: 'a field given arguments is rejected as a method call', template: '<<.Series "x">>', construct: 'method call', line: 1, column: 3 },
    { name: 'piping into a field is rejected as a method call', template: '<<"x" | .Series>>', construct: 'method call', line: 1, column: 9 },
    { name: 'call is rejected', template: '<<call .Series>>', construct: 'call', line: 1, column: 3 },
    { name: 'slice is rejected', template: '<<slice .GroupBySlice 1>>', construct: 'slice', line: 1, column: 3 },
    { name: 'urlquery is rejected', template: '<<urlquery .Series>>', construct: 'urlquery', line: 1, column: 3 },
    { name: 'js is rejected', template: '<<.Series | js>>', construct: 'js', line: 1, column: 13 },
    { name: 'html is rejected', template: '<<html .Series>>', construct: 'html', line: 1, column: 3 },
    { name: 'complex constants are rejected', template: '<<print 1i>>', construct: 'complex number', line: 1, column: 9 },
    { name: 'else with is rejected', template: '<<with .Series>>a<<else with .GroupBy>>b<<end>>', construct: 'else with', line: 1, column: 25 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const e = parseFailure(c.template);
      assert.equal(e.construct, c.construct);
      assert.match(e.message, new RegExp(`"${c.construct}"`));
      assert.deepEqual([e.line, e.column], [c.line, c.column]);
    });
  }
});

describe('parse errors carry Go wording and a position', () => {
  const cases: { name: string; template: string; message: string; line: number; column: number }[] = [
    { name: 'an action without a closing delimiter is unclosed', template: 'a\n  <<.Series', message: 'unclosed action', line: 2, column: 3 },
    { name: 'an end without a block is unexpected', template: 'x<<end>>', message: 'unexpected <end>', line: 1, column: 2 },
    { name: 'an else without a block is unexpected', template: '<<else>>', message: 'unexpected <else>', line: 1, column: 1 },
    { name: 'a block without end reports unexpected EOF at the block', template: '<<if .Series>>\n<<range .GroupBySlice>>\n', message: 'unexpected EOF: missing end for "range"', line: 2, column: 1 },
    { name: 'an unterminated quoted string is reported at its quote', template: '<<printf "abc>>', message: 'unterminated quoted string', line: 1, column: 10 },
    { name: 'an unterminated raw string is reported at its backquote', template: '<<`abc>>', message: 'unterminated raw quoted string', line: 1, column: 3 },
    { name: 'an unclosed comment is reported', template: 'x<</* note', message: 'unclosed comment', line: 1, column: 2 },
    { name: 'a comment must end at the delimiter', template: '<</* c */ >>', message: 'comment ends before closing delimiter', line: 1, column: 10 },
    { name: 'an operator glued to a field is a bad character', template: '<<.Series+1>>', message: "bad character U+002B '+'", line: 1, column: 10 },
    { name: 'a non-ASCII symbol in an action is unrecognized', template: '<<€>>', message: "unrecognized character in action: U+20AC '€'", line: 1, column: 3 },
    { name: 'an unknown function is not defined', template: '<<foo .Series>>', message: 'function "foo" not defined', line: 1, column: 3 },
    { name: 'an unknown top-level field is reported with the known ones', template: '<<.Sereis>>', message: 'unknown field .Sereis (known: .Series, .LabelMatchers)', line: 1, column: 3 },
    { name: 'an undeclared variable is undefined', template: '<<$x>>', message: 'undefined variable "$x"', line: 1, column: 3 },
    { name: 'an empty action has no value', template: '<<>>', message: 'missing value for command', line: 1, column: 1 },
    { name: 'an if without a condition has no value', template: 'line1\nline2 <<if>>x<<end>>', message: 'missing value for if', line: 2, column: 7 },
    { name: 'a stray right paren is unexpected', template: '<<.Series)>>', message: 'unexpected ")" in command', line: 1, column: 10 },
    { name: 'an unclosed left paren is reported at the paren', template: '<<print (.Series>>', message: 'unclosed left paren', line: 1, column: 9 },
    { name: 'a lone colon expects :=', template: '<<$x : 1>>', message: 'expected :=', line: 1, column: 6 },
    { name: 'letters after digits are bad number syntax', template: '<<3x>>', message: 'bad number syntax: "3x"', line: 1, column: 3 },
    { name: 'a literal cannot receive a piped value', template: '<<.Series | "a">>', message: 'non executable command in pipeline stage 2', line: 1, column: 13 },
    { name: 'two declarations are only allowed in range', template: '<<$a, $b := 1>>', message: 'too many declarations in command', line: 1, column: 5 },
    { name: 'range can only declare variables', template: '<<range $k, 1>><<end>>', message: 'range can only initialize variables', line: 1, column: 13 },
    { name: 'a function called with too few arguments is rejected', template: '<<len>>', message: 'wrong number of args for len: want 1 got 0', line: 1, column: 3 },
    { name: 'a second else in one if is rejected', template: '<<if 1>>a<<else>>b<<else>>c<<end>>', message: 'expected end; found <else>', line: 1, column: 19 },
    { name: 'a comma between operands is unexpected', template: '<<print .Series,>>', message: 'unexpected "," in operand', line: 1, column: 16 },
    { name: 'nil is not a command', template: '<<nil>>', message: 'nil is not a command', line: 1, column: 3 },
    { name: 'a field cannot follow a string literal', template: '<<"x".y>>', message: 'unexpected . after term "\\"x\\""', line: 1, column: 6 },
    { name: 'an integer beyond int64 overflows', template: '<<99999999999999999999>>', message: 'integer overflow: "99999999999999999999"', line: 1, column: 3 },
    { name: 'an invalid escape in a string literal is rejected', template: '<<"\\q">>', message: 'invalid syntax in string literal "\\q"', line: 1, column: 3 },
    { name: 'a variable declared in a block is out of scope after its end', template: '<<with $x := .Series>><<end>><<$x>>', message: 'undefined variable "$x"', line: 1, column: 32 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const e = parseFailure(c.template, c.name.includes('known ones') ? { fields: ['Series', 'LabelMatchers'] } : {});
      assert.equal(e.message, c.message);
      assert.deepEqual([e.line, e.column], [c.line, c.column]);
      assert.equal(e.construct, undefined);
    });
  }
});

describe('execution errors name the failure and point at the action', () => {
  const cases: { name: string; template: string; message: string; line: number; column: number }[] = [
    {
      name: 'indexing a string with a string is an error',
      template: 'x\n <<index .Series "a">>',
      message: 'at <index .Series "a">: error calling index: cannot index slice/array with type string',
      line: 2,
      column: 2,
    },
    { name: 'an out-of-range slice index is an error', template: '<<index .GroupBySlice 5>>', message: 'at <index .GroupBySlice 5>: error calling index: index out of range: 5', line: 1, column: 1 },
    { name: 'comparing an int with a float is an error', template: '<<if eq .N 1.0>>x<<end>>', message: 'at <eq .N 1.0>: error calling eq: incompatible types for comparison', line: 1, column: 1 },
    {
      name: 'comparing slices is an error',
      template: '<<eq .GroupBySlice .GroupBySlice>>',
      message: 'at <eq .GroupBySlice .GroupBySlice>: error calling eq: uncomparable type []string: [resource extra groups]',
      line: 1,
      column: 1,
    },
    { name: 'ordering booleans is an error', template: '<<lt true false>>', message: 'at <lt true false>: error calling lt: invalid type for comparison', line: 1, column: 1 },
    {
      name: 'printf %d of a string is an error instead of %!d output',
      template: '<<printf "%d" .Series>>',
      message: 'at <printf "%d" .Series>: error calling printf: printf: %d can\'t format foo (string)',
      line: 1,
      column: 1,
    },
    {
      name: 'printf with a missing argument is an error',
      template: '<<printf "%s-%s" .Series>>',
      message: 'at <printf "%s-%s" .Series>: error calling printf: printf: missing argument for %s',
      line: 1,
      column: 1,
    },
    {
      name: 'printf with an unsupported verb is an error',
      template: '<<printf "%5s" .Series>>',
      message: 'at <printf "%5s" .Series>: error calling printf: printf: unsupported directive %5 (only %s, %v, %d, %q and %% are supported, without flags or width)',
      line: 1,
      column: 1,
    },
    { name: 'len of an int is an error', template: '<<len .N>>', message: 'at <len .N>: error calling len: len of type int', line: 1, column: 1 },
    { name: 'ranging over a string is an error', template: 'a<<range .Series>><<end>>', message: "at <.Series>: range can't iterate over foo", line: 1, column: 2 },
    { name: 'a field of a string is an error', template: '<<.Series.foo>>', message: "at <.Series.foo>: can't evaluate field foo in type string", line: 1, column: 1 },
    {
      name: 'a field of dot inside range is checked when executed',
      template: '<<range .GroupBySlice>><<.Name>><<end>>',
      message: "at <.Name>: can't evaluate field Name in type string",
      line: 1,
      column: 24,
    },
    {
      name: 'a field of a nil slice element is a nil pointer error',
      template: '<<range .WithNil>><<if not .>><<.x>><<end>><<end>>',
      message: 'at <.x>: nil pointer evaluating interface {}.x',
      line: 1,
      column: 31,
    },
    { name: 'printing the whole data struct is an error', template: '<<.>>', message: "at <.>: the template data itself can't be printed; print one of its fields", line: 1, column: 1 },
    { name: 'join of a non-slice is an error', template: '<<join .Series ",">>', message: 'at <join .Series ",">: error calling join: join expects a list of strings; got string', line: 1, column: 1 },
    { name: 'a declared field missing from the data is an error', template: '<<.Group>>', message: 'at <.Group>: no value was supplied for field .Group', line: 1, column: 1 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const e = execFailure(c.template, c.name.includes('missing from the data') ? ADAPTER_DATA : EXTRA_DATA);
      assert.equal(e.message, c.message);
      assert.deepEqual([e.line, e.column], [c.line, c.column]);
    });
  }
});

describe('parse results and options', () => {
  test('fieldsUsed lists top-level fields referenced through dot and dollar', () => {
    const t = parseGoTemplate('<<.Series>><<range .GroupBySlice>><<$.LabelMatchers>><<.ignored>><<end>>', { fields: FIELDS });
    assert.deepEqual([...t.fieldsUsed].sort(), ['GroupBySlice', 'LabelMatchers', 'Series']);
  });

  test('fieldsUsed is empty when LabelMatchers is never referenced', () => {
    const t = parseGoTemplate('sum(<<.Series>>) by (<<.GroupBy>>)', { fields: FIELDS });
    assert.equal(t.fieldsUsed.has('LabelMatchers'), false);
    assert.equal(t.source, 'sum(<<.Series>>) by (<<.GroupBy>>)');
  });

  test('hasActions is false for plain text and true once a delimiter pair appears', () => {
    assert.equal(parseGoTemplate('up == 1', { fields: FIELDS }).hasActions, false);
    assert.equal(parseGoTemplate('up <</* c */>>', { fields: FIELDS }).hasActions, true);
    assert.equal(parseGoTemplate('<<.Series>>', { fields: FIELDS }).hasActions, true);
  });

  test('a field under with $ is still checked against the known fields', () => {
    const e = parseFailure('<<with $>><<.Nope>><<end>>', { fields: FIELDS });
    assert.equal(e.message, 'unknown field .Nope (known: .Series, .LabelMatchers, .LabelValuesByName, .GroupBy, .GroupBySlice)');
    assert.deepEqual([e.line, e.column], [1, 13]);
  });

  test('functions outside the allowed list are not defined', () => {
    const e = parseFailure('<<join .GroupBySlice ",">>', { functions: ['index', 'printf'] });
    assert.equal(e.message, 'function "join" not defined');
    assert.equal(render('<<index .LabelValuesByName "resource">>', EXTRA_DATA, { functions: ['index'] }), 'bar|baz');
  });

  test('an unsupported name in the functions option is a usage error', () => {
    assert.throws(() => parseGoTemplate('x', { fields: FIELDS, functions: ['html'] }), TypeError);
  });

  test('executing an object that did not come from parseGoTemplate is refused', () => {
    assert.throws(() => executeGoTemplate({ source: 'x', fieldsUsed: new Set(), hasActions: false }, ADAPTER_DATA), TypeError);
  });

  test('and and or do not evaluate operands after the deciding one', () => {
    // The failing index would throw if it were evaluated.
    assert.equal(render('<<or .Series (index .GroupBySlice 9)>> <<and .Empty (index .GroupBySlice 9)>>'), 'foo []');
  });

  test('a parsed template can be executed repeatedly with different data', () => {
    const t = parseGoTemplate('<<.Series>>', { fields: FIELDS });
    assert.equal(executeGoTemplate(t, { ...ADAPTER_DATA, Series: 'a' }), 'a');
    assert.equal(executeGoTemplate(t, { ...ADAPTER_DATA, Series: 'b' }), 'b');
  });
});
