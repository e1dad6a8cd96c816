// Field selectors as k8s.io/apimachinery/pkg/fields parses and matches them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FieldSelectorError, matchesFields, parseFieldSelector } from '../../k8s/field-selector.js';

describe('parseFieldSelector', () => {
  test('terms come out sorted, each with its operator', () => {
    assert.deepEqual(parseFieldSelector('b=2,a!=1'), [
      { key: 'a', operator: '!=', value: '1' },
      { key: 'b', operator: '=', value: '2' },
    ]);
  });

  test('an escaped comma belongs to the value', () => {
    assert.deepEqual(parseFieldSelector('metadata.name==x\\,y'), [{ key: 'metadata.name', operator: '==', value: 'x,y' }]);
  });

  test("a term without an operator is refused with apimachinery's text", () => {
    assert.throws(() => parseFieldSelector('nokey'), new FieldSelectorError("invalid selector: 'nokey'; can't understand 'nokey'"));
  });

  test('an unknown escape is refused', () => {
    assert.throws(() => parseFieldSelector('a=b\\x'), FieldSelectorError);
  });

  test('an empty selector has no terms', () => {
    assert.deepEqual(parseFieldSelector(''), []);
  });
});

describe('matchesFields', () => {
  const pod = { 'metadata.name': 'web-1', 'metadata.namespace': 'default' };
  const table: [string, string, Record<string, string>, boolean][] = [
    ['= on the name', 'metadata.name=web-1', pod, true],
    ['== on another name', 'metadata.name==web-2', pod, false],
    ['!= on the namespace', 'metadata.namespace!=kube-system', pod, true],
    ['every term must hold', 'metadata.name=web-1,metadata.namespace=other', pod, false],
    ['a field the object lacks reads as empty', 'metadata.namespace=', { 'metadata.name': 'node-1' }, true],
    ['a field the object lacks never equals a value', 'metadata.namespace=default', { 'metadata.name': 'node-1' }, false],
  ];
  for (const [what, selector, fields, expected] of table) {
    test(`${what}: ${selector} -> ${expected}`, () => {
      assert.equal(matchesFields(parseFieldSelector(selector), fields), expected);
    });
  }
});
