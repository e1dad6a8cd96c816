// A small flag parser, read as Go's pflag reads a Kubernetes component's
// command line: `--name value`, `--name=value`, boolean `--name` or
// `--name=false` (any strconv.ParseBool spelling), a one-letter flag also as
// `-v 4` or `-v=4`, and `--` to end flags. Unknown flags are usage errors,
// never ignored, and name the closest known flag.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `list` flags may repeat; their values collect in order. */
export type FlagKind = 'string' | 'boolean' | 'number' | 'list';

export type FlagValue = string | boolean | number | string[] | undefined;

interface ParsedArgs {
  readonly flags: Readonly<Record<string, FlagValue>>;
  readonly positional: readonly string[];
}

export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
}

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Levenshtein distance: insertions, deletions and substitutions. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** The known name closest to `name`, when it is close enough to be the one meant. */
export function closestName(name: string, known: Iterable<string>): string | undefined {
  const allowed = name.length < 8 ? 2 : Math.floor(name.length / 4);
  let best: string | undefined;
  let bestDistance = allowed + 1;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function unknownFlag(name: string, spec: Readonly<Record<string, FlagKind>>): UsageError {
  const near = closestName(name, Object.keys(spec));
  return new UsageError(`unknown flag --${name}${near ? `; did you mean --${near}?` : ''}`);
}

/** `-v` and `-v=4` for a one-letter flag, as pflag reads the Go flags it adopts. */
function longForm(arg: string, spec: Readonly<Record<string, FlagKind>>): string | undefined {
  const m = /^-([A-Za-z])(=.*)?$/s.exec(arg);
  return m && spec[m[1] as string] ? `-${arg}` : undefined;
}

export function parseArgs(argv: readonly string[], spec: Readonly<Record<string, FlagKind>>): ParsedArgs {
  const flags: Record<string, string | boolean | number | string[] | undefined> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const given = argv[i] as string;
    if (given === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    const arg = longForm(given, spec) ?? given;
    if (!arg.startsWith('--') || arg === '-') {
      if (arg.startsWith('-') && arg !== '-') throw unknownFlag(arg.replace(/^-+/, '').replace(/=.*$/s, ''), spec);
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw unknownFlag(name, spec);
    if (kind === 'boolean') {
      if (eq !== -1) {
        const v = arg.slice(eq + 1);
        if (!GO_TRUE.has(v) && !GO_FALSE.has(v)) throw new UsageError(`--${name} takes true or false, not ${JSON.stringify(v)}`);
        flags[name] = GO_TRUE.has(v);
      } else flags[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (kind === 'list') {
      flags[name] = [...((flags[name] as string[] | undefined) ?? []), value];
    } else if (kind === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new UsageError(`--${name} needs a number, not ${JSON.stringify(value)}`);
      flags[name] = n;
    } else flags[name] = value;
  }
  return { flags, positional };
}
