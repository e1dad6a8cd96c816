// The test doubles read and match selectors with their own simple code
// (test/support/selector-oracle.ts). Where both understand a selector, it and
// the production parser must agree on which label sets it selects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { matchesLabels, parseLabelSelector } from '../../k8s/label-selector.js';
import { readSelector, selectorMatches } from '../support/selector-oracle.js';

const key = fc.constantFrom('app', 'tier', 'example.com/team');
const value = fc.constantFrom('', 'web', 'db', '3', '12');
const term = fc.oneof(
  fc.tuple(key, fc.constantFrom('=', '==', '!='), value).map(([k, op, v]) => `${k}${op}${v}`),
  fc.tuple(key, fc.constantFrom(' in ', ' notin '), fc.array(value, { minLength: 1, maxLength: 3 })).map(([k, op, vs]) => `${k}${op}(${vs.join(',')})`),
  key,
  key.map((k) => `!${k}`),
  fc.tuple(key, fc.constantFrom('>', '<'), fc.constantFrom('0', '5', '12')).map(([k, op, n]) => `${k}${op}${n}`),
);
const selectorText = fc.array(term, { maxLength: 4 }).map((terms) => terms.join(','));
const labels = fc.dictionary(key, value, { maxKeys: 3 });

test('the doubles select the same label sets as the production selector', () => {
  fc.assert(
    fc.property(selectorText, labels, (text, set) => {
      assert.equal(selectorMatches(readSelector(text), set), matchesLabels(parseLabelSelector(text), set), text);
    }),
    { numRuns: 5_000 },
  );
});

test('a selector the doubles cannot read is an error, not an empty selector', () => {
  assert.throws(() => readSelector('app=(web'), /cannot read/);
});
