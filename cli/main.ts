// The composition root: reads the command line once and hands each command
// the pieces it needs. Domain modules never read argv, env or files on their
// own behalf.
import { basename } from 'node:path';
import { runDemo } from './demo.js';
import { runExplain } from './explain.js';
import { runLint } from './lint.js';
import { runServe } from './serve.js';
import { UsageError, type Output } from './args.js';
import { debugRequested, oneLine, StartupError, unexpectedFailure } from './errors.js';
import { packageVersion } from './build-info.js';

const USAGE = `Usage: hpa-bridge COMMAND [options]

Commands:
  serve           serve the metrics APIs; see 'hpa-bridge serve --help'. A command
                  line that starts with a flag or with /adapter is a serve command
                  line, as prometheus-adapter's
  lint PATH...    check rule files; see 'hpa-bridge lint --help'
  explain         why an HPA scales or does not; see 'hpa-bridge explain --help'
  demo            the scale-up/scale-down story on one machine
  version         print the version

Run 'hpa-bridge COMMAND --help' for a command's options.
`;

/** The path prometheus-adapter's image runs, which its Helm chart also passes as the first argument. */
export const ADAPTER_ENTRY_POINT = '/adapter';

const TOP_LEVEL_FLAGS = new Set(['--help', '-h', '--version']);

export interface Invocation {
  readonly command: string | undefined;
  readonly args: readonly string[];
}

/**
 * The command to run and its arguments. prometheus-adapter has no commands:
 * its manifests give the image's /adapter the flags alone, and its Helm
 * chart gives /adapter as the first argument, which pflag then skips as a
 * positional one. So that either runs in this image unchanged, a program
 * called `adapter` (the image's /adapter link), a first argument /adapter,
 * and a first argument that is a flag other than --help and --version all
 * mean serve.
 */
export function resolveCommand(argv: readonly string[], program?: string): Invocation {
  const first = argv[0];
  if (first === ADAPTER_ENTRY_POINT || (program !== undefined && basename(program) === 'adapter')) {
    let args = argv;
    while (args[0] === ADAPTER_ENTRY_POINT) args = args.slice(1);
    return { command: 'serve', args };
  }
  if (first !== undefined && first.startsWith('-') && !TOP_LEVEL_FLAGS.has(first)) return { command: 'serve', args: argv };
  return { command: first, args: argv.slice(1) };
}

/** Runs the command line; `program` is the path the process was started as (process.argv[1]). */
export async function main(argv: readonly string[], out: Output, program?: string): Promise<number> {
  const { command, args: rest } = resolveCommand(argv, program);
  try {
    switch (command) {
      case 'lint':
        return await runLint(rest, out);
      case 'serve':
        return await runServe(rest, out);
      case 'demo':
        return await runDemo(rest, out);
      case 'explain':
        return await runExplain(rest, out);
      case 'version':
      case '--version':
        out.stdout(`${packageVersion()}\n`);
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
    return reportFailure(e, argv, out, program);
  }
}

const COMMANDS = new Set(['serve', 'lint', 'demo', 'explain']);

/** Writes one line about `e` (the stack too at --log-level debug) and returns the exit code. */
export function reportFailure(e: unknown, argv: readonly string[], out: Output, program?: string): number {
  if (e instanceof UsageError) {
    const resolved = resolveCommand(argv, program).command;
    const command = resolved !== undefined && COMMANDS.has(resolved) ? ` ${resolved}` : '';
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
