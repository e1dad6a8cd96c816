// Renders the Helm chart under deploy/helm the way `helm template` would, for
// tests on a machine without helm: Go's text/template (text and actions with
// {{- -}} trimming, pipelines, variables, if/else if/else, range, with,
// define and include) and the Helm and sprig functions the chart calls. Any
// other function, keyword or syntax is an error rather than being skipped,
// so a chart that renders here is not silently different from helm's output.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { goQuote } from '../../k8s/go-strings.js';

export type Value = null | undefined | boolean | number | string | Value[] | { [key: string]: Value };
type Dict = Record<string, Value>;

export class RenderError extends Error {
  override readonly name = 'RenderError';
}

// ---------------------------------------------------------------------------
// Parsing: text and actions into a tree.

type Token =
  | { readonly t: 'field'; readonly path: readonly string[] } // .a.b; [] for .
  | { readonly t: 'var'; readonly name: string; readonly path: readonly string[] } // $x.a, $ is name ''
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'num'; readonly v: number }
  | { readonly t: 'ident'; readonly v: string }
  | { readonly t: 'punct'; readonly v: '(' | ')' | '|' | ':=' | '=' | ',' };

type Operand =
  | { readonly k: 'field'; readonly path: readonly string[] }
  | { readonly k: 'var'; readonly name: string; readonly path: readonly string[] }
  | { readonly k: 'lit'; readonly v: Value }
  | { readonly k: 'func'; readonly name: string }
  | { readonly k: 'pipe'; readonly pipe: Pipeline };

interface Pipeline {
  readonly decl: readonly string[];
  readonly assign: boolean;
  readonly commands: readonly (readonly Operand[])[];
}

type Node =
  | { readonly n: 'text'; readonly v: string }
  | { readonly n: 'action'; readonly pipe: Pipeline }
  | { readonly n: 'if' | 'with'; readonly pipe: Pipeline; readonly then: Node[]; readonly otherwise: Node[] }
  | { readonly n: 'range'; readonly pipe: Pipeline; readonly body: Node[]; readonly otherwise: Node[] };

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;
const FIELD_CHAIN = /^(?:\.[A-Za-z_][A-Za-z0-9_]*)+/;

function tokenize(src: string, where: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    const rest = src.slice(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      const m = /^"(?:[^"\\]|\\.)*"/.exec(rest);
      if (!m) throw new RenderError(`${where}: unterminated string`);
      out.push({ t: 'str', v: JSON.parse(m[0]) as string });
      i += m[0].length;
    } else if (c === '`') {
      const end = src.indexOf('`', i + 1);
      if (end === -1) throw new RenderError(`${where}: unterminated raw string`);
      out.push({ t: 'str', v: src.slice(i + 1, end) });
      i = end + 1;
    } else if (c === '$') {
      const name = IDENT.exec(rest.slice(1))?.[0] ?? '';
      const chain = FIELD_CHAIN.exec(rest.slice(1 + name.length))?.[0] ?? '';
      out.push({ t: 'var', name, path: chain.split('.').slice(1) });
      i += 1 + name.length + chain.length;
    } else if (c === '.') {
      const chain = FIELD_CHAIN.exec(rest)?.[0];
      out.push({ t: 'field', path: chain ? chain.split('.').slice(1) : [] });
      i += chain ? chain.length : 1;
    } else if (/[-0-9]/.test(c)) {
      const m = /^-?\d+(?:\.\d+)?/.exec(rest);
      if (!m) throw new RenderError(`${where}: bad number at ${JSON.stringify(rest.slice(0, 10))}`);
      out.push({ t: 'num', v: Number(m[0]) });
      i += m[0].length;
    } else if (rest.startsWith(':=')) {
      out.push({ t: 'punct', v: ':=' });
      i += 2;
    } else if ('()|=,'.includes(c)) {
      out.push({ t: 'punct', v: c as '(' | ')' | '|' | '=' | ',' });
      i++;
    } else {
      const m = IDENT.exec(rest);
      if (!m) throw new RenderError(`${where}: unexpected ${JSON.stringify(c)}`);
      out.push({ t: 'ident', v: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

function parsePipeline(tokens: readonly Token[], where: string): Pipeline {
  let pos = 0;
  const decl: string[] = [];
  let assign = false;
  // `$a := ...`, `$a, $b := ...` or `$a = ...`
  const declEnd = tokens.findIndex((t) => t.t === 'punct' && (t.v === ':=' || t.v === '='));
  if (declEnd > 0 && tokens.slice(0, declEnd).every((t) => t.t === 'var' || (t.t === 'punct' && t.v === ','))) {
    for (const t of tokens.slice(0, declEnd)) if (t.t === 'var') decl.push(t.name);
    assign = (tokens[declEnd] as { v: string }).v === '=';
    pos = declEnd + 1;
  }
  const parseCommands = (stopAtParen: boolean): Operand[][] => {
    const commands: Operand[][] = [[]];
    while (pos < tokens.length) {
      const t = tokens[pos++] as Token;
      const current = commands[commands.length - 1] as Operand[];
      if (t.t === 'punct') {
        if (t.v === '|') {
          commands.push([]);
          continue;
        }
        if (t.v === '(') {
          current.push({ k: 'pipe', pipe: { decl: [], assign: false, commands: parseCommands(true) } });
          continue;
        }
        if (t.v === ')' && stopAtParen) return commands;
        throw new RenderError(`${where}: unexpected ${t.v}`);
      }
      if (t.t === 'field') current.push({ k: 'field', path: t.path });
      else if (t.t === 'var') current.push({ k: 'var', name: t.name, path: t.path });
      else if (t.t === 'str' || t.t === 'num') current.push({ k: 'lit', v: t.v });
      else if (t.v === 'true' || t.v === 'false') current.push({ k: 'lit', v: t.v === 'true' });
      else if (t.v === 'nil') current.push({ k: 'lit', v: null });
      else current.push({ k: 'func', name: t.v });
    }
    if (stopAtParen) throw new RenderError(`${where}: unclosed (`);
    return commands;
  };
  const commands = parseCommands(false);
  if (commands.some((c) => c.length === 0)) throw new RenderError(`${where}: empty command in pipeline`);
  return { decl, assign, commands };
}

interface Template {
  readonly nodes: Node[];
}

/** Parses one file; `define` blocks go into `defines`. */
function parseTemplate(text: string, file: string, defines: Map<string, Template>): Template {
  // Split into text and actions, applying {{- and -}} trimming.
  type Piece = { text: string } | { action: string; line: number };
  const pieces: Piece[] = [];
  let i = 0;
  let trimNext = false;
  while (i <= text.length) {
    const open = text.indexOf('{{', i);
    let chunk = text.slice(i, open === -1 ? undefined : open);
    if (trimNext) chunk = chunk.replace(/^\s+/, '');
    if (open === -1) {
      pieces.push({ text: chunk });
      break;
    }
    let start = open + 2;
    if (text[start] === '-' && /\s/.test(text[start + 1] ?? '')) {
      chunk = chunk.replace(/\s+$/, '');
      start += 2;
    }
    pieces.push({ text: chunk });
    let close = -1;
    let quote: string | undefined;
    for (let j = start; j < text.length; j++) {
      const c = text[j];
      if (quote) {
        if (c === '\\' && quote === '"') j++;
        else if (c === quote) quote = undefined;
      } else if (c === '"' || c === '`') quote = c;
      else if (text.startsWith('/*', j)) {
        const end = text.indexOf('*/', j + 2);
        if (end === -1) break;
        j = end + 1;
      } else if (text.startsWith('}}', j)) {
        close = j;
        break;
      }
    }
    const line = text.slice(0, open).split('\n').length;
    if (close === -1) throw new RenderError(`${file}:${line}: unclosed action`);
    let end = close;
    trimNext = false;
    if (text[close - 1] === '-' && /\s/.test(text[close - 2] ?? '')) {
      end = close - 2;
      trimNext = true;
    }
    pieces.push({ action: text.slice(start, end).trim(), line });
    i = close + 2;
  }

  let p = 0;
  // Parses until one of `stops` (an `end` or `else` keyword); returns the list and the stop.
  const parseList = (stops: readonly string[]): { list: Node[]; stop: string; stopRest: string } => {
    const list: Node[] = [];
    while (p < pieces.length) {
      const piece = pieces[p++] as Piece;
      if ('text' in piece) {
        if (piece.text) list.push({ n: 'text', v: piece.text });
        continue;
      }
      const where = `${file}:${piece.line}`;
      const a = piece.action;
      if (a.startsWith('/*')) {
        if (!a.endsWith('*/')) throw new RenderError(`${where}: a comment must fill its action`);
        continue;
      }
      const keyword = /^(if|else|end|range|with|define|template|block|break|continue)\b/.exec(a)?.[1];
      const rest = keyword ? a.slice(keyword.length).trim() : a;
      if (keyword === 'end' || keyword === 'else') {
        if (!stops.includes(keyword)) throw new RenderError(`${where}: unexpected {{${keyword}}}`);
        return { list, stop: keyword, stopRest: rest };
      }
      if (keyword === 'if' || keyword === 'with') list.push(parseBranch(keyword, rest, where));
      else if (keyword === 'range') {
        const pipe = parsePipeline(tokenize(rest, where), where);
        const body = parseList(['end', 'else']);
        const otherwise = body.stop === 'else' ? parseList(['end']).list : [];
        list.push({ n: 'range', pipe, body: body.list, otherwise });
      } else if (keyword === 'define') {
        const name = /^"([^"]+)"$/.exec(rest)?.[1];
        if (!name) throw new RenderError(`${where}: define needs a quoted name`);
        const body = parseList(['end']);
        defines.set(name, { nodes: body.list });
      } else if (keyword) {
        throw new RenderError(`${where}: {{${keyword}}} is not supported by this renderer`);
      } else {
        list.push({ n: 'action', pipe: parsePipeline(tokenize(a, where), where) });
      }
    }
    if (stops.length > 0) throw new RenderError(`${file}: missing {{end}}`);
    return { list, stop: '', stopRest: '' };
  };
  const parseBranch = (keyword: 'if' | 'with', rest: string, where: string): Node => {
    const pipe = parsePipeline(tokenize(rest, where), where);
    const then = parseList(['end', 'else']);
    let otherwise: Node[] = [];
    if (then.stop === 'else') {
      const chained = new RegExp(`^${keyword}\\b`).exec(then.stopRest);
      if (chained) otherwise = [parseBranch(keyword, then.stopRest.slice(keyword.length).trim(), where)];
      else otherwise = parseList(['end']).list;
    }
    return { n: keyword, pipe, then: then.list, otherwise };
  };
  return { nodes: parseList([]).list };
}

// ---------------------------------------------------------------------------
// Evaluation.

function isDict(v: Value): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Go's truth: false, 0, nil, "" and empty collections are false. */
function truthy(v: Value): boolean {
  if (v === null || v === undefined) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isDict(v)) return Object.keys(v).length > 0;
  return Boolean(v);
}

/** fmt's %v for the kinds of values a chart holds. */
function printValue(v: Value): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return `[${v.map(printValue).join(' ')}]`;
  if (isDict(v))
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${printValue(v[k])}`)
      .join(' ')}]`;
  return String(v);
}

function fieldOf(v: Value, path: readonly string[], where: string): Value {
  let cur = v;
  for (const key of path) {
    if (cur === null || cur === undefined) throw new RenderError(`${where}: nil pointer evaluating .${key}`);
    if (!isDict(cur)) throw new RenderError(`${where}: can't evaluate field ${key} in ${typeof cur}`);
    cur = cur[key];
  }
  return cur;
}

function printf(format: string, args: readonly Value[], where: string): string {
  let n = 0;
  return format.replace(/%([%sdvq])/g, (_, verb: string) => {
    if (verb === '%') return '%';
    if (n >= args.length) throw new RenderError(`${where}: printf: too few arguments for ${JSON.stringify(format)}`);
    const a = args[n++];
    if (verb === 'q') return goQuote(printValue(a));
    if (verb === 'd' && typeof a !== 'number') throw new RenderError(`${where}: printf %d of ${printValue(a)}`);
    return printValue(a);
  });
}

function indentLines(spaces: number, s: string): string {
  const pad = ' '.repeat(spaces);
  return pad + s.replace(/\n/g, `\n${pad}`);
}

class Renderer {
  constructor(private readonly defines: ReadonlyMap<string, Template>) {}

  render(t: Template, dot: Value, where: string): string {
    return this.list(t.nodes, dot, [new Map([['', dot]])], where);
  }

  private list(nodes: readonly Node[], dot: Value, scopes: Map<string, Value>[], where: string): string {
    let out = '';
    const local = [...scopes, new Map<string, Value>()];
    for (const node of nodes) {
      switch (node.n) {
        case 'text':
          out += node.v;
          break;
        case 'action': {
          const v = this.pipeline(node.pipe, dot, local, where);
          if (node.pipe.decl.length === 0) out += printValue(v);
          break;
        }
        case 'if':
        case 'with': {
          const v = this.pipeline(node.pipe, dot, local, where);
          if (truthy(v)) out += this.list(node.then, node.n === 'with' ? v : dot, local, where);
          else out += this.list(node.otherwise, dot, local, where);
          break;
        }
        case 'range': {
          const inner = [...local, new Map<string, Value>()];
          const vars = inner[inner.length - 1] as Map<string, Value>;
          const v = this.pipeline({ ...node.pipe, decl: [] }, dot, local, where);
          const entries: [Value, Value][] = Array.isArray(v)
            ? v.map((x, i) => [i, x])
            : isDict(v)
              ? Object.keys(v)
                  .sort()
                  .map((k) => [k, v[k]])
              : v === null || v === undefined
                ? []
                : (() => {
                    throw new RenderError(`${where}: range can't iterate over ${printValue(v)}`);
                  })();
          if (entries.length === 0) out += this.list(node.otherwise, dot, local, where);
          for (const [k, x] of entries) {
            const [first, second] = node.pipe.decl;
            if (second !== undefined) {
              vars.set(first as string, k);
              vars.set(second, x);
            } else if (first !== undefined) vars.set(first, x);
            out += this.list(node.body, x, inner, where);
          }
          break;
        }
      }
    }
    return out;
  }

  private lookupVar(name: string, scopes: readonly Map<string, Value>[], where: string): Value {
    for (let i = scopes.length - 1; i >= 0; i--) if (scopes[i]?.has(name)) return scopes[i]?.get(name);
    throw new RenderError(`${where}: undefined variable $${name}`);
  }

  private pipeline(pipe: Pipeline, dot: Value, scopes: Map<string, Value>[], where: string): Value {
    let piped: Value | typeof NONE = NONE;
    for (const command of pipe.commands) piped = this.command(command, piped, dot, scopes, where);
    const v = piped === NONE ? undefined : piped;
    if (pipe.decl.length === 1) {
      const name = pipe.decl[0] as string;
      if (pipe.assign) {
        const scope = [...scopes].reverse().find((s) => s.has(name));
        if (!scope) throw new RenderError(`${where}: undefined variable $${name}`);
        scope.set(name, v);
      } else scopes[scopes.length - 1]?.set(name, v);
    } else if (pipe.decl.length > 1) throw new RenderError(`${where}: too many declarations outside range`);
    return v;
  }

  private operand(o: Operand, dot: Value, scopes: Map<string, Value>[], where: string): Value {
    switch (o.k) {
      case 'field':
        return fieldOf(dot, o.path, where);
      case 'var':
        return fieldOf(this.lookupVar(o.name, scopes, where), o.path, where);
      case 'lit':
        return o.v;
      case 'pipe':
        return this.pipeline(o.pipe, dot, scopes, where);
      case 'func':
        return this.call(o.name, [], dot, where);
    }
  }

  private command(ops: readonly Operand[], piped: Value | typeof NONE, dot: Value, scopes: Map<string, Value>[], where: string): Value {
    const [head, ...rest] = ops as [Operand, ...Operand[]];
    if (head.k !== 'func') {
      if (rest.length > 0 || piped !== NONE) throw new RenderError(`${where}: can't give arguments to a non-function`);
      return this.operand(head, dot, scopes, where);
    }
    const args = rest.map((o) => this.operand(o, dot, scopes, where));
    if (piped !== NONE) args.push(piped);
    return this.call(head.name, args, dot, where);
  }

  private call(name: string, args: Value[], _dot: Value, where: string): Value {
    const str = (v: Value): string => printValue(v);
    const need = (n: number): void => {
      if (args.length !== n) throw new RenderError(`${where}: ${name} takes ${n} arguments, got ${args.length}`);
    };
    switch (name) {
      case 'include': {
        need(2);
        const t = this.defines.get(str(args[0]));
        if (!t) throw new RenderError(`${where}: no template ${JSON.stringify(args[0])}`);
        return this.render(t, args[1], `${where} (include ${str(args[0])})`);
      }
      case 'nindent':
        need(2);
        return `\n${indentLines(Number(args[0]), str(args[1]))}`;
      case 'indent':
        need(2);
        return indentLines(Number(args[0]), str(args[1]));
      case 'quote':
        return args
          .filter((a) => a !== null && a !== undefined)
          .map((a) => goQuote(str(a)))
          .join(' ');
      case 'default':
        need(2);
        return truthy(args[1]) ? args[1] : args[0];
      case 'required':
        need(2);
        if (args[1] === null || args[1] === undefined || args[1] === '') throw new RenderError(str(args[0]));
        return args[1];
      case 'fail':
        need(1);
        throw new RenderError(str(args[0]));
      case 'list':
        return [...args];
      case 'concat':
        if (!args.every(Array.isArray)) throw new RenderError(`${where}: concat takes lists`);
        return (args as Value[][]).flat(1);
      case 'dict': {
        const d: Dict = {};
        for (let i = 0; i < args.length; i += 2) d[str(args[i])] = args[i + 1];
        return d;
      }
      case 'index': {
        let cur = args[0];
        for (const k of args.slice(1)) {
          if (Array.isArray(cur) && typeof k === 'number') cur = cur[k];
          else if (isDict(cur)) cur = cur[str(k)];
          else throw new RenderError(`${where}: can't index ${printValue(cur)} with ${printValue(k)}`);
        }
        return cur;
      }
      case 'has':
        need(2);
        return Array.isArray(args[1]) && args[1].some((x) => x === args[0]);
      case 'printf':
        return printf(str(args[0]), args.slice(1), where);
      case 'eq':
        return args.slice(1).some((a) => a === args[0]);
      case 'ne':
        need(2);
        return args[0] !== args[1];
      case 'not':
        need(1);
        return !truthy(args[0]);
      case 'and':
        return args.find((a) => !truthy(a)) ?? args[args.length - 1];
      case 'or':
        return args.find((a) => truthy(a)) ?? args[args.length - 1];
      case 'empty':
        need(1);
        return !truthy(args[0]);
      case 'toYaml': {
        need(1);
        const v = args[0];
        if (v === null || v === undefined) return 'null';
        return stringifyYaml(v, { sortMapEntries: true, lineWidth: 0 }).replace(/\n$/, '');
      }
      default:
        throw new RenderError(`${where}: function ${JSON.stringify(name)} is not supported by this renderer`);
    }
  }
}

const NONE = Symbol('no piped value');

function deepMerge(base: Value, over: Value): Value {
  if (!isDict(base) || !isDict(over)) return over === undefined ? base : over;
  const out: Dict = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = v === null ? undefined : deepMerge(base[k], v);
  return out;
}

export interface RenderOptions {
  readonly releaseName: string;
  readonly namespace: string;
  /** Merged over values.yaml as `--set`/`-f` would; null deletes a key. */
  readonly values?: Dict;
}

export interface RenderedFile {
  readonly file: string;
  readonly text: string;
}

/** What `helm template` prints for each manifest template (NOTES.txt and partials excluded). */
export function renderChart(chartDir: string, options: RenderOptions): RenderedFile[] {
  const chart = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Dict;
  const values = deepMerge(parseYaml(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as Value, options.values ?? {});
  const dir = join(chartDir, 'templates');
  const defines = new Map<string, Template>();
  const files = readdirSync(dir).sort();
  const parsed = files.map((file) => ({ file, template: parseTemplate(readFileSync(join(dir, file), 'utf8'), `templates/${file}`, defines) }));
  const top: Dict = {
    Values: values,
    Release: { Name: options.releaseName, Namespace: options.namespace, Service: 'Helm', IsInstall: true, IsUpgrade: false, Revision: 1 },
    Chart: { Name: chart['name'], Version: chart['version'], AppVersion: chart['appVersion'], Description: chart['description'] },
  };
  const renderer = new Renderer(defines);
  return parsed
    .filter(({ file }) => !file.startsWith('_') && /\.ya?ml$/.test(file))
    .map(({ file, template }) => ({ file: `templates/${file}`, text: renderer.render(template, top, `templates/${file}`) }));
}

/** Renders one template text with the given top-level data (for tests of the renderer itself). */
export function renderText(text: string, data: Dict, partials = ''): string {
  const defines = new Map<string, Template>();
  parseTemplate(partials, '_partials.tpl', defines);
  const t = parseTemplate(text, 'template', defines);
  return new Renderer(defines).render(t, data, 'template');
}
