// A small flag parser: `--name value`, `--name=value`, boolean `--name`,
// and `--` to end flags. Unknown flags are usage errors, never ignored.

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

export function parseArgs(argv: readonly string[], spec: Readonly<Record<string, FlagKind>>): ParsedArgs {
  const flags: Record<string, string | boolean | number | string[] | undefined> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown flag ${arg}`);
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown flag --${name}`);
    if (kind === 'boolean') {
      if (eq !== -1) {
        const v = arg.slice(eq + 1);
        if (v !== 'true' && v !== 'false') throw new UsageError(`--${name} takes true or false, not ${JSON.stringify(v)}`);
        flags[name] = v === 'true';
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
