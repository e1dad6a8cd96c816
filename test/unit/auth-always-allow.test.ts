// --authorization-always-allow-paths as k8s.io/apiserver's path authorizer reads it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alwaysAllowPathMatcher, DEFAULT_ALWAYS_ALLOW_PATHS } from '../../adapter/auth/always-allow.js';
import { AuthConfigError } from '../../adapter/auth/config.js';

describe('always-allowed paths', () => {
  const cases: [string, string[], string, boolean][] = [
    ['an exact path matches itself', ['/metrics'], '/metrics', true],
    ['an exact path does not match a longer one', ['/metrics'], '/metrics/x', false],
    ['a trailing * matches a prefix', ['/debug/*'], '/debug/pprof/heap', true],
    ['a trailing * matches the bare prefix', ['/debug/*'], '/debug/', true],
    ['the leading slash is optional in the flag', ['metrics'], '/metrics', true],
    ['an empty entry is the root path', [''], '/', true],
    ['the default allows the health paths', [...DEFAULT_ALWAYS_ALLOW_PATHS], '/livez', true],
    ['the default does not allow /metrics', [...DEFAULT_ALWAYS_ALLOW_PATHS], '/metrics', false],
  ];
  for (const [name, paths, path, expected] of cases) {
    it(name, () => {
      assert.equal(alwaysAllowPathMatcher(paths)(path), expected);
    });
  }

  it('refuses a * that is not last', () => {
    assert.throws(
      () => alwaysAllowPathMatcher(['/a*b']),
      (e: unknown) => e instanceof AuthConfigError && e.message === 'only trailing * allowed in "/a*b"',
    );
  });
});
