// The serve lifecycle: components stop in the reverse of their start order.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lifecycle } from '../../cli/lifecycle.js';

describe('lifecycle', () => {
  test('components stop last started first', async () => {
    const stopped: string[] = [];
    const lifecycle = new Lifecycle();
    for (const name of ['auth', 'cache', 'secure port', 'readiness']) lifecycle.add({ name, stop: () => void stopped.push(name) });
    await lifecycle.stop();
    assert.deepEqual(stopped, ['readiness', 'secure port', 'cache', 'auth']);
  });

  test('a failing stop is reported and the others still stop', async () => {
    const stopped: string[] = [];
    const failures: string[] = [];
    const lifecycle = new Lifecycle();
    lifecycle.add({ name: 'a', stop: () => void stopped.push('a') });
    lifecycle.add({
      name: 'b',
      stop: () => {
        throw new Error('stuck');
      },
    });
    await lifecycle.stop((name, e) => failures.push(`${name}: ${(e as Error).message}`));
    assert.deepEqual([stopped, failures], [['a'], ['b: stuck']]);
  });

  test('a start that fails adds nothing to stop', async () => {
    const stopped: string[] = [];
    const lifecycle = new Lifecycle();
    lifecycle.add({ name: 'a', stop: () => void stopped.push('a') });
    await assert.rejects(lifecycle.start(() => Promise.reject(new Error('port in use'))));
    await lifecycle.stop();
    assert.deepEqual(stopped, ['a']);
  });

  test('stopping twice stops each component once', async () => {
    let stops = 0;
    const lifecycle = new Lifecycle();
    lifecycle.add({ name: 'a', stop: () => void stops++ });
    await Promise.all([lifecycle.stop(), lifecycle.stop()]);
    assert.equal(stops, 1);
  });
});
