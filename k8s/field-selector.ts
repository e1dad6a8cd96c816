// Field selectors (`fieldSelector=metadata.name=web-1,metadata.namespace!=kube-system`)
// as k8s.io/apimachinery/pkg/fields parses and matches them: terms split on
// unescaped commas, each `key(!=|==|=)value`, and a field an object does not
// have reads as the empty string.

/** A term of a field selector: key, operator and the unescaped value. */
export interface FieldTerm {
  readonly key: string;
  readonly operator: '=' | '==' | '!=';
  readonly value: string;
}

export class FieldSelectorError extends Error {
  override readonly name = 'FieldSelectorError';
}

/** fields.UnescapeValue: only \\, \, and \= are escapes; bare , and = are errors. */
function unescapeFieldValue(s: string): string {
  let out = '';
  let slash = false;
  for (const c of s) {
    if (slash) {
      if (c !== '\\' && c !== ',' && c !== '=') throw new FieldSelectorError(`invalid escape sequence \\${c}`);
      out += c;
      slash = false;
      continue;
    }
    if (c === '\\') slash = true;
    else if (c === ',' || c === '=') throw new FieldSelectorError(`unescaped ${c}`);
    else out += c;
  }
  if (slash) throw new FieldSelectorError('invalid escape sequence \\');
  return out;
}

/** fields.ParseSelector: terms split on unescaped commas, sorted, each `key(!=|==|=)value`. */
export function parseFieldSelector(selector: string): FieldTerm[] {
  const parts: string[] = [];
  let start = 0;
  let slash = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (slash) slash = false;
    else if (c === '\\') slash = true;
    else if (c === ',') {
      parts.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(selector.slice(start));
  parts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const terms: FieldTerm[] = [];
  for (const part of parts) {
    if (part === '') continue;
    let found: FieldTerm | undefined;
    for (let i = 0; i < part.length && !found; i++) {
      for (const op of ['!=', '==', '='] as const) {
        if (part.startsWith(op, i)) {
          found = { key: part.slice(0, i), operator: op, value: unescapeFieldValue(part.slice(i + op.length)) };
          break;
        }
      }
    }
    if (!found) throw new FieldSelectorError(`invalid selector: '${selector}'; can't understand '${part}'`);
    terms.push(found);
  }
  return terms;
}

/** Whether an object with these fields matches every term; a missing field is the empty string. */
export function matchesFields(terms: readonly FieldTerm[], fields: Readonly<Record<string, string>>): boolean {
  return terms.every((t) => ((fields[t.key] ?? '') === t.value) === (t.operator !== '!='));
}
