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

/** Whether the command line or HPA_BRIDGE_LOG_LEVEL asks for debug logs, and with them stack traces. */
export function debugRequested(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') break;
    if (argv[i] === '--log-level=debug' || (argv[i] === '--log-level' && argv[i + 1] === 'debug')) return true;
  }
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
