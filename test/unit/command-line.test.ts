// Which command a command line runs, prometheus-adapter's included, and how
// an unknown flag is reported: the closest known one, and the help of the
// command that was run.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { closestName, editDistance, parseArgs, UsageError } from '../../cli/args.js';
import { debugRequested } from '../../cli/errors.js';
import { main, reportFailure, resolveCommand } from '../../cli/main.js';

function capture(): { out: { stdout(t: string): void; stderr(t: string): void }; stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return { out: { stdout: (t: string) => void (out += t), stderr: (t: string) => void (err += t) }, stdout: () => out, stderr: () => err };
}

describe('the command a command line runs', () => {
  const cases: [string, string[], string | undefined, string | undefined, string[]][] = [
    ['a command first', ['lint', 'rules/'], '/usr/bin/hpa-bridge', 'lint', ['rules/']],
    ["prometheus-adapter's manifests: flags alone", ['--cert-dir=/c', '--config=/x'], '/app/bin/hpa-bridge.js', 'serve', ['--cert-dir=/c', '--config=/x']],
    ["prometheus-adapter's chart: /adapter first", ['/adapter', '--v=4'], '/app/bin/hpa-bridge.js', 'serve', ['--v=4']],
    ['the /adapter link with flags', ['--v=4'], '/adapter', 'serve', ['--v=4']],
    ['the /adapter link given /adapter again, as the chart does', ['/adapter', '--v=4'], '/adapter', 'serve', ['--v=4']],
    ['the /adapter link alone', [], '/adapter', 'serve', []],
    ['--help stays the top-level help', ['--help'], '/app/bin/hpa-bridge.js', '--help', []],
    ['--version stays the version', ['--version'], undefined, '--version', []],
    ['nothing at all', [], undefined, undefined, []],
    ['a file called adapter elsewhere in the path is not the link', ['lint', 'x'], '/adapter/bin/hpa-bridge.js', 'lint', ['x']],
  ];
  for (const [name, argv, program, command, args] of cases) {
    test(`${name}: ${command ?? 'no command'}`, () => {
      assert.deepEqual(resolveCommand(argv, program), { command, args });
    });
  }

  test('serve --help is printed for /adapter --help', async () => {
    const c = capture();
    assert.equal(await main(['/adapter', '--help'], c.out), 0);
    assert.match(c.stdout(), /^Usage: hpa-bridge serve /);
  });
});

describe('unknown flags', () => {
  test('edit distance counts insertions, deletions and substitutions', () => {
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('rule', 'rules'), 1);
    assert.equal(editDistance('promethus-url', 'prometheus-url'), 1);
    assert.equal(editDistance('cert_dir', 'cert-dir'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });

  test('the closest name is offered only when it is close', () => {
    const known = ['rules', 'prometheus-url', 'tls-cipher-suites', 'v'];
    assert.equal(closestName('rule', known), 'rules');
    assert.equal(closestName('tls-cipher-suite', known), 'tls-cipher-suites');
    assert.equal(closestName('promtheus-ulr', known), 'prometheus-url');
    assert.equal(closestName('frobnicate', known), undefined);
  });

  test('a one-letter flag may have one dash, as pflag reads Go flags', () => {
    assert.deepEqual(parseArgs(['-v', '4', '-v=5'], { v: 'string' }).flags, { v: '5' });
    assert.throws(
      () => parseArgs(['-x'], { v: 'string' }),
      (e: unknown) => e instanceof UsageError && e.message === 'unknown flag --x; did you mean --v?',
    );
  });

  test("an unknown flag after /adapter is one line naming the closest flag and serve's help, exit 2", async () => {
    const c = capture();
    assert.equal(await main(['/adapter', '--cert_dir=/tmp'], c.out), 2);
    assert.equal(c.stderr(), "hpa-bridge: unknown flag --cert_dir; did you mean --cert-dir? (see 'hpa-bridge serve --help')\n");
  });

  test("a usage error in flags alone points at serve's help", () => {
    const c = capture();
    assert.equal(reportFailure(new UsageError('unknown flag --x'), ['--x'], c.out), 2);
    assert.equal(c.stderr(), "hpa-bridge: unknown flag --x (see 'hpa-bridge serve --help')\n");
  });

  test("a usage error under the /adapter link points at serve's help", () => {
    const c = capture();
    assert.equal(reportFailure(new UsageError('serve needs --rules PATH'), [], c.out, '/adapter'), 2);
    assert.equal(c.stderr(), "hpa-bridge: serve needs --rules PATH (see 'hpa-bridge serve --help')\n");
  });

  test("a misspelt lint flag points at lint's help", async () => {
    const c = capture();
    assert.equal(await main(['lint', '--formt', 'json', 'x.yaml'], c.out), 2);
    assert.equal(c.stderr(), "hpa-bridge: unknown flag --formt; did you mean --format? (see 'hpa-bridge lint --help')\n");
  });
});

test('a klog verbosity of 4 or more asks for stack traces, unless --log-level says otherwise', () => {
  assert.equal(debugRequested(['/adapter', '--v=4'], {}), true);
  assert.equal(debugRequested(['--v', '10'], {}), true);
  assert.equal(debugRequested(['-v=4'], {}), true);
  assert.equal(debugRequested(['--v=3'], {}), false);
  assert.equal(debugRequested(['--v=4', '--log-level=info'], {}), false);
  assert.equal(debugRequested(['--v=1', '--log-level', 'debug'], {}), true);
});

test('the image links /adapter to the entry point', () => {
  const dockerfile = readFileSync(new URL('../../../deploy/Dockerfile', import.meta.url), 'utf8');
  const entrypoint = /^ENTRYPOINT \["node", "([^"]+)"\]$/m.exec(dockerfile)?.[1];
  assert.equal(entrypoint, '/app/bin/hpa-bridge.js');
  assert.match(dockerfile, new RegExp(`^RUN ln -s ${entrypoint} /adapter$`, 'm'));
});
