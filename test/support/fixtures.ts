// Paths to files under test/fixtures, independent of the working directory.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

// Compiled tests run from dist/test/..., sources live in test/...
export const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));

export function fixturePath(relative: string): string {
  return `${FIXTURES}${relative}`;
}

export function readFixture(relative: string): Promise<string> {
  return readFile(fixturePath(relative), 'utf8');
}
