// The diagnostic-code catalog: each code is reported by some check, and the
// text form of a diagnostic carries its code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { DIAGNOSTIC_CODES } from '../../rules/diagnostic-codes.js';
import { formatDiagnostic } from '../../rules/diagnostics.js';

test('every catalog code is reported by some check in rules/', async () => {
  const dir = new URL('../../../rules/', import.meta.url);
  const names = (await readdir(dir)).filter((n) => n.endsWith('.ts') && n !== 'diagnostic-codes.ts');
  const sources = (await Promise.all(names.map((n) => readFile(new URL(n, dir), 'utf8')))).join('\n');
  assert.deepEqual(
    Object.keys(DIAGNOSTIC_CODES).filter((code) => !sources.includes(`'${code}'`)),
    [],
  );
});

test('the text form of a diagnostic ends with its code in parentheses', () => {
  const text = formatDiagnostic({ file: 'rules.yaml', line: 4, column: 20, severity: 'error', path: 'rules[0].name.matches', code: 'bad-regex', message: 'invalid regex' });
  assert.equal(text, 'rules.yaml:4:20: error: rules[0].name.matches: invalid regex (bad-regex)');
});

test('the text form of a diagnostic without a path still carries its code', () => {
  const text = formatDiagnostic({ file: 'rules.yaml', line: 1, column: 1, severity: 'warning', path: '', code: 'empty-file', message: 'rules.yaml holds no rules' });
  assert.equal(text, 'rules.yaml:1:1: warning: rules.yaml holds no rules (empty-file)');
});
