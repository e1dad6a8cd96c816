// ESLint over the whole tree: typescript-eslint's strict and stylistic
// type-checked sets for TypeScript, the recommended set for the few plain
// JavaScript files, and eslint-config-prettier last so no rule fights the
// formatter.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'test/fixtures/'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.strictTypeChecked, tseslint.configs.stylisticTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test() and describe() return promises the runner awaits itself.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] }],
      // Counts, sizes and positions go into messages as numbers; nullish values and objects still need a decision.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowAny: false, allowNullish: false, allowRegExp: false, allowNever: false }],
      // Bracket access marks a lookup in a record with an index signature, as tsc's noPropertyAccessFromIndexSignature would.
      '@typescript-eslint/dot-notation': ['error', { allowIndexSignaturePropertyAccess: true }],
      // The code writes `as T` where a value is known to be present, since no-non-null-assertion forbids `!`.
      '@typescript-eslint/non-nullable-type-assertion-style': 'off',
      // `(r) => resolve(r)` callbacks and `return reject(e)` early exits say what they do without braces.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true, ignoreVoidReturningFunctions: true }],
      // An async function that implements a Promise-returning interface turns a throw into a rejection, await or not.
      '@typescript-eslint/require-await': 'off',
      // No-op methods (a silent logger, a close() with nothing to release) are deliberate null objects.
      '@typescript-eslint/no-empty-function': ['error', { allow: ['methods', 'arrowFunctions'] }],
      // Re-raising a caught error or an abort signal's reason passes on whatever was thrown.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // `_`-prefixed names and rest siblings mark what a signature or a destructuring leaves out on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Spreading a string into code points is deliberate: Go runes and the API server's length limits count code points.
      '@typescript-eslint/no-misused-spread': 'off',
      // An empty string means "not set" in rule files and template delimiters, as in Go; `||` says so.
      '@typescript-eslint/prefer-nullish-coalescing': ['error', { ignorePrimitives: { string: true } }],
      // HTTP header objects and JSON documents are plain objects whose keys are data; deleting one is the operation.
      '@typescript-eslint/no-dynamic-delete': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // supertest and JSON.parse give response bodies as any; the assertions on them are what check their shape.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      // A failure message shows null, undefined and untyped response fields as they are.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true, allowAny: true, allowRegExp: false, allowNever: false }],
      // Teardown guards values a failed before() never set, and checks repeat what an assert already narrowed.
      '@typescript-eslint/no-unnecessary-condition': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  prettier,
);
