// Rule files named relative to the --rules path they came from.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { diagnosticLocation, relativeRuleFile, ruleLocation } from '../../rules/location.js';

describe('rule locations', () => {
  const cases: [string, string, string[], string][] = [
    ['a file in a directory root', '/etc/rules/team-a.yaml', ['/etc/rules'], 'team-a.yaml'],
    ['a directory root given with a trailing slash', '/etc/rules/team-a.yaml', ['/etc/rules/'], 'team-a.yaml'],
    ['a file root', '/etc/other/one.yaml', ['/etc/rules', '/etc/other/one.yaml'], 'one.yaml'],
    ['a relative root', 'rules/examples/queue.yaml', ['rules/examples'], 'queue.yaml'],
    ['the first root that holds the file', '/a/b/c.yaml', ['/a', '/a/b'], 'b/c.yaml'],
    ['a file under no root', '/x/y.yaml', ['/etc/rules'], 'y.yaml'],
    ['a sibling whose name starts like the root', '/etc/rules2/a.yaml', ['/etc/rules'], 'a.yaml'],
  ];
  for (const [name, file, roots, expected] of cases) {
    test(`${name} is named ${expected}`, () => {
      assert.equal(relativeRuleFile(file, roots), expected);
    });
  }

  test('a rule location is file:line and a diagnostic location file:line:col', () => {
    assert.equal(ruleLocation({ file: '/etc/rules/a.yaml', line: 12 }, ['/etc/rules']), 'a.yaml:12');
    assert.equal(diagnosticLocation({ file: '/etc/rules/a.yaml', line: 12, column: 3 }, ['/etc/rules']), 'a.yaml:12:3');
  });
});
