// Go's string semantics that names, selectors and templates share.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { compareGoStrings, utf8Length } from '../../k8s/go-strings.js';

test('strings compare by code point, so a character above U+FFFF sorts after U+FFFD', () => {
  // In UTF-16 order U+10000 (a surrogate pair, 0xD800...) sorts before U+FFFD.
  assert.ok(compareGoStrings('\u{10000}', '\uFFFD') > 0);
  assert.ok(compareGoStrings('\uFFFD', '\u{10000}') < 0);
});

test('a string sorts after its own prefix', () => {
  assert.ok(compareGoStrings('ab', 'a') > 0);
  assert.ok(compareGoStrings('a', 'ab') < 0);
  assert.equal(compareGoStrings('ab', 'ab'), 0);
});

test('len counts UTF-8 bytes, and a lone surrogate as the three bytes of U+FFFD', () => {
  assert.equal(utf8Length('aé€\u{10000}'), 1 + 2 + 3 + 4);
  assert.equal(utf8Length('\uD800'), 3);
});
