// Regenerates the field reference and the diagnostic-code table in
// docs/rules.md from rules/schema.ts and rules/diagnostic-codes.ts, so the
// docs cannot drift from what the loader accepts and reports.
import { readFile, writeFile } from 'node:fs/promises';
import { describeSpec, ruleFileSpec } from '../dist/rules/schema.js';
import { describeDiagnosticCodes } from '../dist/rules/diagnostic-codes.js';

const file = new URL('../docs/rules.md', import.meta.url);
let text = await readFile(file, 'utf8');
for (const [section, content] of [
  ['fields', describeSpec(ruleFileSpec)],
  ['codes', describeDiagnosticCodes()],
]) {
  const begin = `<!-- BEGIN GENERATED: ${section} -->`;
  const end = `<!-- END GENERATED: ${section} -->`;
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start === -1 || stop === -1) throw new Error(`docs/rules.md lacks the markers of the generated section ${section}`);
  text = `${text.slice(0, start + begin.length)}\n${content}\n${text.slice(stop)}`;
}
await writeFile(file, text);
