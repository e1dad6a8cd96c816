// How the command line reports failures: one line, the right exit code, a
// stack trace only when debug output was asked for.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../cli/args.js';
import { debugRequested, oneLine, StartupError } from '../../cli/errors.js';
import { main, reportFailure } from '../../cli/main.js';

function capture(): { out: { stdout(t: string): void; stderr(t: string): void }; stderr: () => string } {
  let err = '';
  return { out: { stdout() {}, stderr: (t: string) => void (err += t) }, stderr: () => err };
}

describe('failure reports', () => {
  test('a usage error is one line with the command to get help, exit 2', () => {
    const c = capture();
    assert.equal(reportFailure(new UsageError('unknown flag --x'), ['serve', '--x'], c.out), 2);
    assert.equal(c.stderr(), "hpa-bridge: unknown flag --x (see 'hpa-bridge serve --help')\n");
  });

  test('a start-up error is its message on one line, exit 1', () => {
    const c = capture();
    assert.equal(reportFailure(new StartupError('--rules /x: no such file or directory\n  give a file'), ['serve'], c.out), 1);
    assert.equal(c.stderr(), 'hpa-bridge: --rules /x: no such file or directory; give a file\n');
  });

  test('an unexpected error is one line without its stack, exit 1', () => {
    const c = capture();
    assert.equal(reportFailure(new TypeError('boom'), ['serve'], c.out), 1);
    assert.equal(c.stderr(), 'hpa-bridge: unexpected error: boom (run with --log-level debug for the stack trace)\n');
  });

  test('an unexpected error shows its stack at --log-level debug', () => {
    const c = capture();
    reportFailure(new TypeError('boom'), ['serve', '--log-level', 'debug'], c.out);
    assert.match(c.stderr(), /^hpa-bridge: unexpected error: boom\nTypeError: boom\n {4}at /);
  });

  test('debug output is asked for by flag, by --flag=value or by HPA_BRIDGE_LOG_LEVEL', () => {
    assert.equal(debugRequested(['serve', '--log-level', 'debug'], {}), true);
    assert.equal(debugRequested(['serve', '--log-level=debug'], {}), true);
    assert.equal(debugRequested(['serve'], { HPA_BRIDGE_LOG_LEVEL: 'debug' }), true);
    assert.equal(debugRequested(['serve', '--log-level', 'info'], {}), false);
  });

  test('line breaks become "; "', () => {
    assert.equal(oneLine('a\n  b\r\n\nc'), 'a; b; c');
  });

  test('an unknown command is a usage error naming it', async () => {
    const c = capture();
    assert.equal(await main(['frobnicate'], c.out), 2);
    assert.equal(c.stderr(), 'hpa-bridge: unknown command "frobnicate" (see \'hpa-bridge --help\')\n');
  });
});
