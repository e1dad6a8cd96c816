// Kubernetes name rules; expected texts are apimachinery's (validate/content).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidLabelValue } from '../../k8s/names.js';
import { KEY_WITH_SLASHES, LABEL_REGEX, NAME_REGEX, SUBDOMAIN_REGEX, VALUE_REGEX } from '../support/name-messages.js';

describe('isQualifiedName', () => {
  const cases: { name: string; key: string; want: string[] }[] = [
    { name: 'a simple name is valid', key: 'app', want: [] },
    { name: 'a prefixed name is valid', key: 'app.kubernetes.io/name', want: [] },
    { name: 'a name of exactly 63 bytes is valid', key: 'a'.repeat(63), want: [] },
    { name: 'a name of 64 bytes is too long', key: 'a'.repeat(64), want: ['name part must be no more than 63 bytes'] },
    { name: 'an empty key reports both the empty and the pattern error', key: '', want: ['name part must be non-empty', `name part ${NAME_REGEX}`] },
    { name: 'a name ending in a dash breaks the pattern', key: 'app-', want: [`name part ${NAME_REGEX}`] },
    { name: 'an empty prefix is reported', key: '/app', want: ['prefix part must be non-empty'] },
    { name: 'prefix and name errors are both reported', key: 'Bad/-x', want: [`prefix part ${SUBDOMAIN_REGEX}`, `name part ${NAME_REGEX}`] },
    { name: 'two slashes yield a single message', key: 'a/b/c', want: [KEY_WITH_SLASHES] },
    { name: 'length is counted in UTF-8 bytes', key: 'é'.repeat(32), want: ['name part must be no more than 63 bytes', `name part ${NAME_REGEX}`] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(isQualifiedName(c.key), c.want);
    });
  }
});

describe('isValidLabelValue', () => {
  const cases: { name: string; value: string; want: string[] }[] = [
    { name: 'the empty value is valid', value: '', want: [] },
    { name: 'dots, dashes and underscores inside a value are valid', value: 'a.b-c_d', want: [] },
    { name: 'a value of 64 bytes is too long', value: 'a'.repeat(64), want: ['must be no more than 63 bytes'] },
    { name: 'a value starting with a dash breaks the pattern', value: '-a', want: [VALUE_REGEX] },
    { name: 'a value with a space breaks the pattern (apimachinery)', value: 'a b', want: [VALUE_REGEX] },
    { name: 'an overlong invalid value reports both errors', value: `-${'a'.repeat(63)}`, want: ['must be no more than 63 bytes', VALUE_REGEX] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(isValidLabelValue(c.value), c.want);
    });
  }
});

describe('isDNS1123Label', () => {
  const cases: { name: string; value: string; want: string[] }[] = [
    { name: 'a lower-case name with dashes is valid', value: 'kube-system', want: [] },
    { name: 'a name of exactly 63 bytes is valid', value: 'a'.repeat(63), want: [] },
    { name: 'a name of 64 bytes is too long', value: 'a'.repeat(64), want: ['must be no more than 63 bytes'] },
    { name: 'a name with dots is a subdomain, not a label (apimachinery)', value: 'a.b', want: ['must not contain dots'] },
    { name: 'an upper-case name breaks the pattern', value: 'Default', want: [LABEL_REGEX] },
    { name: 'the empty name breaks the pattern', value: '', want: [LABEL_REGEX] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(isDNS1123Label(c.value), c.want);
    });
  }
});

describe('isDNS1123Subdomain', () => {
  const cases: { name: string; value: string; want: string[] }[] = [
    { name: 'a dotted lower-case name is valid', value: 'web-1.example.com', want: [] },
    { name: 'a name of exactly 253 bytes is valid', value: `${'a'.repeat(63)}.`.repeat(3) + 'a'.repeat(61), want: [] },
    { name: 'a name of 254 bytes is too long', value: 'a'.repeat(254), want: ['must be no more than 253 bytes'] },
    { name: 'an empty part between dots breaks the pattern', value: 'a..b', want: [SUBDOMAIN_REGEX] },
    { name: 'an underscore breaks the pattern', value: 'a_b', want: [SUBDOMAIN_REGEX] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(isDNS1123Subdomain(c.value), c.want);
    });
  }
});
