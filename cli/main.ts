// The composition root: reads the command line once and hands each command
// the pieces it needs. Domain modules never read argv, env or files on their
// own behalf.
import { runLint } from './lint.js';
import { runServe, StartupError } from './serve.js';
import { UsageError, type Output } from './args.js';

export const USAGE = `Usage: hpa-bridge COMMAND [options]

Commands:
  serve           serve the metrics APIs; see 'hpa-bridge serve --help'
  lint PATH...    check rule files; see 'hpa-bridge lint --help'
  demo            the scale-up/scale-down story on one machine
  version         print the version

Run 'hpa-bridge COMMAND --help' for a command's options.
`;

const DEMO_PLAN = `hpa-bridge demo

The demo runs the whole product on this machine, with no cluster:
  1. a real Prometheus (Debian's prometheus package) on a loopback port,
  2. a workload exporter that simulates a php-apache Deployment's pods,
  3. 'hpa-bridge serve' with the example rules in rules/examples/,
  4. an HPA simulator that calls the metrics APIs as kube-controller-manager does,
and prints the HPAs' replicas as load rises and falls.

Today it checks the example rules it will serve:
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
        out.stdout(DEMO_PLAN);
        return await runLint([new URL('../../rules/examples', import.meta.url).pathname], out);
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
    if (e instanceof UsageError) {
      out.stderr(`hpa-bridge: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof StartupError) {
      out.stderr(`hpa-bridge: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

async function readVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
