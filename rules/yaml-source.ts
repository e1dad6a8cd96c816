// Reading YAML with positions. The reference adapter decodes with yaml.v2's
// UnmarshalStrict (YAML 1.1, unknown and duplicate keys are fatal), so the
// document is parsed as YAML 1.1 and every node keeps its source range, which
// is what lets every diagnostic point at file:line:column.
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, Scalar, type Document, type Node as YamlNode, type YAMLMap, type YAMLSeq } from 'yaml';
import { DiagnosticList, type SourcePosition } from './diagnostics.js';

export interface YamlSource {
  readonly file: string;
  readonly text: string;
  readonly lines: LineCounter;
  /** The single document of the file, or undefined when the file is empty. */
  readonly document: Document.Parsed | undefined;
}

export function parseYamlSource(file: string, text: string, diagnostics: DiagnosticList): YamlSource {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter: lines,
    version: '1.1',
    uniqueKeys: true,
    prettyErrors: false,
    keepSourceTokens: true,
  });
  const list = Array.isArray(docs) ? docs : [];
  const source: YamlSource = { file, text, lines, document: list[0] };
  for (const doc of list) {
    for (const e of doc.errors) {
      diagnostics.error(positionAt(source, e.pos[0]), '', e.code === 'DUPLICATE_KEY' ? 'duplicate-key' : 'yaml-syntax', yamlMessage(e.code, e.message));
    }
  }
  const second = list[1];
  if (second && (second.contents !== null || second.errors.length > 0)) {
    const at = second.range[0];
    diagnostics.error(positionAt(source, at), '', 'multiple-documents', 'a rule file holds one YAML document; split the extra documents into their own files');
  }
  return source;
}

function yamlMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') return 'duplicate key (a key may appear once in a mapping)';
  // The yaml library appends a source excerpt after the first line.
  const first = (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
  return `invalid YAML: ${first.charAt(0).toLowerCase()}${first.slice(1)}`;
}

function positionAt(source: YamlSource, offset: number): SourcePosition {
  const p = source.lines.linePos(Math.max(0, Math.min(offset, source.text.length)));
  return { file: source.file, line: p.line, column: p.col };
}

export function nodePosition(source: YamlSource, node: YamlNode | null | undefined, fallback = 0): SourcePosition {
  return positionAt(source, node?.range?.[0] ?? fallback);
}

/**
 * Maps an offset inside a scalar's decoded value back to the file, so a
 * template or regex error can point at the character, not just the key.
 * Exact for plain and quoted single-line scalars without escapes and for
 * literal block scalars; other styles (folded, escaped, multi-line flow)
 * point at the start of the value.
 */
export function scalarValuePosition(source: YamlSource, node: Scalar, valueOffset: number): SourcePosition {
  const [start, end] = node.range ?? [0, 0];
  const raw = source.text.slice(start, end);
  const value = typeof node.value === 'string' ? node.value : (node.source ?? '');
  if (node.type === Scalar.BLOCK_LITERAL) {
    return blockLiteralPosition(source, start, raw, value, valueOffset);
  }
  const quote = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE ? 1 : 0;
  const body = raw.slice(quote, raw.length - quote);
  if (body === value && !value.includes('\n')) {
    return positionAt(source, start + quote + valueOffset);
  }
  return positionAt(source, start);
}

function blockLiteralPosition(source: YamlSource, start: number, raw: string, value: string, valueOffset: number): SourcePosition {
  const before = value.slice(0, valueOffset);
  const lineIndex = before.split('\n').length - 1;
  const columnInLine = valueOffset - (before.lastIndexOf('\n') + 1);
  const rawLines = raw.split('\n');
  // Line 0 is the header (`|`, `|-`, `|2`); leading blank lines are part of
  // the value, so value line N is raw line N + 1. The indentation is that of
  // the first line with content.
  const contentLine = rawLines.slice(1).find((l) => l.trim() !== '') ?? '';
  const indent = /^ */.exec(contentLine)?.[0].length ?? 0;
  const headerPos = positionAt(source, start);
  return {
    file: source.file,
    line: headerPos.line + 1 + lineIndex,
    column: indent + columnInLine + 1,
  };
}

export type { YamlNode, YAMLMap, YAMLSeq };
export { isMap, isScalar, isSeq, Scalar };
