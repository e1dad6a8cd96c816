// A crash of the running server is one JSON log line, then exit 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { jsonLogger } from '../../adapter/log.js';
import { reportCrash } from '../../cli/serve.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

test('an uncaught error is logged as one JSON line with its message and stack, and the process exits 1', () => {
  const out = capture();
  const exits: number[] = [];
  reportCrash(jsonLogger('info', out.stream), (code) => exits.push(code))(new TypeError('cannot read properties of undefined'));
  const lines = out.text().trimEnd().split('\n');
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
  assert.equal(line.level, 'error');
  assert.equal(line.error, 'cannot read properties of undefined');
  assert.match(String(line.stack), /^TypeError: cannot read properties of undefined\n\s+at /);
  assert.deepEqual(exits, [1]);
});

test('a rejection with a value that is not an Error is logged with that value as its message', () => {
  const out = capture();
  const exits: number[] = [];
  reportCrash(jsonLogger('info', out.stream), (code) => exits.push(code))('socket hang up');
  const line = JSON.parse(out.text()) as Record<string, unknown>;
  assert.equal(line.error, 'socket hang up');
  assert.deepEqual(exits, [1]);
});
