// Regenerates the field reference in docs/rules.md from the schema in
// rules/schema.ts, so the docs cannot drift from what the loader accepts.
import { readFile, writeFile } from 'node:fs/promises';
import { describeSpec, ruleFileSpec } from '../dist/rules/schema.js';

const file = new URL('../docs/rules.md', import.meta.url);
const text = await readFile(file, 'utf8');
const begin = '<!-- BEGIN GENERATED: fields -->';
const end = '<!-- END GENERATED: fields -->';
const start = text.indexOf(begin);
const stop = text.indexOf(end);
if (start === -1 || stop === -1) throw new Error('docs/rules.md lacks the generated-section markers');
const updated = `${text.slice(0, start + begin.length)}\n${describeSpec(ruleFileSpec)}\n${text.slice(stop)}`;
await writeFile(file, updated);
