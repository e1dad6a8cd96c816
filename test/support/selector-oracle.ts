// Label selector reading and matching for the test doubles. Deliberately
// independent of k8s/label-selector.ts: a double that filtered with the
// production code would repeat a production bug instead of catching it. It
// reads the selectors tests write and nothing more: no Kubernetes name
// validation, and an error only for text it cannot read.

export interface OracleRequirement {
  readonly key: string;
  /** The operator as production spells it (=, ==, !=, in, notin, exists, !, gt, lt). */
  readonly operator: string;
  readonly values: readonly string[];
}

const KEY = '[^\\s=!<>(),]+';
const NOT_EXISTS = new RegExp(`^!\\s*(${KEY})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^()]*)\\)$`);
const COMPARE = new RegExp(`^(${KEY})\\s*(==|=|!=|<|>)\\s*([^\\s=!<>(),]*)$`);
const EXISTS = new RegExp(`^(${KEY})$`);

/** Commas inside a set's parentheses do not separate requirements. */
function terms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    if (text[i] === ')') depth--;
    if (text[i] === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((t) => t.trim());
}

/** The requirements of a selector's text; throws an Error naming the term it cannot read. */
export function readSelector(text: string): OracleRequirement[] {
  if (text.trim() === '') return [];
  return terms(text).map((term) => {
    let m = NOT_EXISTS.exec(term);
    if (m) return { key: m[1] as string, operator: '!', values: [] };
    m = SET.exec(term);
    if (m) return { key: m[1] as string, operator: m[2] as string, values: (m[3] as string).split(',').map((v) => v.trim()) };
    m = COMPARE.exec(term);
    if (m) {
      const operator = m[2] === '<' ? 'lt' : m[2] === '>' ? 'gt' : (m[2] as string);
      return { key: m[1] as string, operator, values: [m[3] as string] };
    }
    m = EXISTS.exec(term);
    if (m) return { key: m[1] as string, operator: 'exists', values: [] };
    throw new Error(`cannot read ${JSON.stringify(term)}`);
  });
}

function holds(r: OracleRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.keys(labels).includes(r.key);
  const value = labels[r.key] ?? '';
  switch (r.operator) {
    case '=':
    case '==':
    case 'in':
      return has && r.values.includes(value);
    case '!=':
    case 'notin':
      return !has || !r.values.includes(value);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || !/^-?[0-9]+$/.test(value)) return false;
      const diff = Number(value) - Number(r.values[0]);
      return r.operator === 'gt' ? diff > 0 : diff < 0;
    }
    default:
      throw new Error(`unknown selector operator ${r.operator}`);
  }
}

/** Whether every requirement holds for the labels. */
export function selectorMatches(reqs: readonly OracleRequirement[], labels: Readonly<Record<string, string>> = {}): boolean {
  return reqs.every((r) => holds(r, labels));
}
