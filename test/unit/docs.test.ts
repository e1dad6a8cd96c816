// The field reference in docs/rules.md is generated from the schema; this
// fails when the two drift (fix with `npm run docs`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describeSpec, ruleFileSpec } from '../../rules/schema.js';

test('docs/rules.md lists exactly the fields the loader accepts', async () => {
  const docs = await readFile(new URL('../../../docs/rules.md', import.meta.url), 'utf8');
  const generated = /<!-- BEGIN GENERATED: fields -->\n([\s\S]*?)\n<!-- END GENERATED: fields -->/.exec(docs)?.[1];
  assert.equal(generated, describeSpec(ruleFileSpec), 'docs/rules.md is out of date: run `npm run docs`');
});
