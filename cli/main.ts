// The composition root: reads the command line once and hands each command
// the pieces it needs. Domain modules never read argv, env or files on their
// own behalf.
import { runDemo } from './demo.js';
import { runLint } from './lint.js';
import { runServe } from './serve.js';
import { UsageError, type Output } from './args.js';
import { debugRequested, oneLine, StartupError, unexpectedFailure } from './errors.js';

const USAGE = `Usage: hpa-bridge COMMAND [options]

Commands:
  serve           serve the metrics APIs; see 'hpa-bridge serve --help'
  lint PATH...    check rule files; see 'hpa-bridge lint --help'
  demo            the scale-up/scale-down story on one machine
  version         print the version

Run 'hpa-bridge COMMAND --help' for a command's options.
`;

export async function main(argv: readonly string[], out: Output): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'lint':
        return await runLint(rest, out);
      case 'serve':
        return await runServe(rest, out);
      case 'demo':
        return await runDemo(rest, out);
      case 'version':
      case '--version':
        out.stdout(`${await readVersion()}\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out.stdout(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (e) {
    return reportFailure(e, argv, out);
  }
}

const COMMANDS = new Set(['serve', 'lint', 'demo']);

/** Writes one line about `e` (the stack too at --log-level debug) and returns the exit code. */
export function reportFailure(e: unknown, argv: readonly string[], out: Output): number {
  if (e instanceof UsageError) {
    const command = argv[0] !== undefined && COMMANDS.has(argv[0]) ? ` ${argv[0]}` : '';
    out.stderr(`hpa-bridge: ${oneLine(e.message)} (see 'hpa-bridge${command} --help')\n`);
    return 2;
  }
  if (e instanceof StartupError) {
    out.stderr(`hpa-bridge: ${oneLine(e.message)}\n`);
    return 1;
  }
  out.stderr(unexpectedFailure(e, debugRequested(argv)));
  return 1;
}

async function readVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
