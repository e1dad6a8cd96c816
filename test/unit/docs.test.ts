// The field reference and the diagnostic-code table in docs/rules.md are
// generated from the schema and the code catalog; these fail when the docs
// drift from them (fix with `npm run docs`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describeSpec, ruleFileSpec } from '../../rules/schema.js';
import { DIAGNOSTIC_CODES, describeDiagnosticCodes } from '../../rules/diagnostic-codes.js';

const readDocs = (): Promise<string> => readFile(new URL('../../../docs/rules.md', import.meta.url), 'utf8');

function generatedSection(docs: string, name: string): string | undefined {
  return new RegExp(`<!-- BEGIN GENERATED: ${name} -->\\n([\\s\\S]*?)\\n<!-- END GENERATED: ${name} -->`).exec(docs)?.[1];
}

/** The codes the table in docs/rules.md lists, in order: the first cell of each row. */
function documentedCodes(docs: string): string[] {
  return (generatedSection(docs, 'codes') ?? '').split('\n').flatMap((row) => /^\| `([^`]+)` \|/.exec(row)?.[1] ?? []);
}

test('docs/rules.md lists exactly the fields the loader accepts', async () => {
  assert.equal(generatedSection(await readDocs(), 'fields'), describeSpec(ruleFileSpec), 'docs/rules.md is out of date: run `npm run docs`');
});

test('every diagnostic code in the catalog is documented in docs/rules.md', async () => {
  const documented = new Set(documentedCodes(await readDocs()));
  assert.deepEqual(
    Object.keys(DIAGNOSTIC_CODES).filter((code) => !documented.has(code)),
    [],
    'run `npm run docs`',
  );
});

test('every diagnostic code documented in docs/rules.md is in the catalog', async () => {
  assert.deepEqual(
    documentedCodes(await readDocs()).filter((code) => !Object.hasOwn(DIAGNOSTIC_CODES, code)),
    [],
    'run `npm run docs`',
  );
});

test('the code table in docs/rules.md is the one generated from the catalog', async () => {
  assert.equal(generatedSection(await readDocs(), 'codes'), describeDiagnosticCodes(), 'docs/rules.md is out of date: run `npm run docs`');
});
