// How the command line reports a failure: one line on stderr that names the
// flag or file at fault and says what to do. Exit 2 for a command line that
// cannot be used (UsageError, in args.ts), 1 for everything else. A stack
// trace is for developers: it is printed only at --log-level debug.

/** A start-up failure the operator can fix (a missing file, an unusable certificate, a busy port). */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** The text on one line: line breaks and the indentation after them become "; ". */
export function oneLine(text: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join('; ');
}

/**
 * Whether the command line or HPA_BRIDGE_LOG_LEVEL asks for debug logs, and
 * with them stack traces: --log-level debug, or a klog verbosity (--v) of 4
 * or more, which serve reads as debug.
 */
export function debugRequested(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  let level: string | undefined;
  let verbosity: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') break;
    if (arg === '--log-level') level = argv[i + 1];
    else if (arg.startsWith('--log-level=')) level = arg.slice('--log-level='.length);
    else if (arg === '--v' || arg === '-v') verbosity = argv[i + 1];
    else if (/^--?v=/.test(arg)) verbosity = arg.slice(arg.indexOf('=') + 1);
  }
  if (level !== undefined) return level === 'debug';
  if (verbosity !== undefined && /^\d+$/.test(verbosity)) return Number(verbosity) >= 4;
  return env['HPA_BRIDGE_LOG_LEVEL'] === 'debug';
}

/**
 * The report of an error nobody anticipated: one line with its message and
 * how to see more, or, when debug output was asked for, that line followed
 * by the stack.
 */
export function unexpectedFailure(error: unknown, withStack: boolean): string {
  const message = error instanceof Error ? error.message || error.name : String(error);
  const line = `hpa-bridge: unexpected error: ${oneLine(message)}`;
  if (withStack && error instanceof Error && error.stack) return `${line}\n${error.stack}\n`;
  return `${line} (run with --log-level debug for the stack trace)\n`;
}
