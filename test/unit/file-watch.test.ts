// The file watch shared by rule reload and serving-certificate reload, the
// directories it watches for a set of paths, and the guard that coalesces reloads.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coalescing, directoriesOf, watchDirectories } from '../../rules/file-watch.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check() && Date.now() < end) await sleep(10);
}

describe('file watch', () => {
  test('a burst of writes in a watched directory calls back once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'file-watch-'));
    let calls = 0;
    const w = watchDirectories([dir], () => void calls++, { debounceMs: 100, pollMs: 0 });
    try {
      for (let i = 0; i < 5; i++) await writeFile(join(dir, 'rules.yaml'), `n: ${i}\n`);
      await until(() => calls > 0);
      await sleep(250);
      assert.equal(calls, 1);
    } finally {
      w.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a ConfigMap-style ..data symlink swap calls back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'file-watch-'));
    await mkdir(join(dir, '..v1'));
    await writeFile(join(dir, '..v1', 'tls.crt'), 'one');
    await symlink('..v1', join(dir, '..data'));
    let calls = 0;
    const w = watchDirectories([dir], () => void calls++, { debounceMs: 20, pollMs: 0 });
    try {
      await mkdir(join(dir, '..v2'));
      await writeFile(join(dir, '..v2', 'tls.crt'), 'two');
      await symlink('..v2', join(dir, '..data_tmp'));
      await rename(join(dir, '..data_tmp'), join(dir, '..data'));
      await until(() => calls > 0);
      assert.ok(calls > 0);
    } finally {
      w.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a directory that does not exist is still polled', async () => {
    let calls = 0;
    const w = watchDirectories([join(tmpdir(), 'file-watch-absent-dir')], () => void calls++, { debounceMs: 1, pollMs: 20 });
    try {
      await until(() => calls > 0);
      assert.ok(calls > 0);
    } finally {
      w.close();
    }
  });

  test('nothing is called back after close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'file-watch-'));
    let calls = 0;
    const w = watchDirectories([dir], () => void calls++, { debounceMs: 20, pollMs: 10 });
    w.close();
    await writeFile(join(dir, 'x'), 'x');
    await sleep(100);
    assert.equal(calls, 0);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('coalesced reloads', () => {
  test('calls made during a load share it and run exactly one more load after it', async () => {
    let runs = 0;
    let release: (() => void) | undefined;
    const reload = coalescing(async () => {
      const n = ++runs;
      if (n === 1) await new Promise<void>((r) => (release = r));
      return n;
    });
    const first = reload();
    const second = reload();
    const third = reload();
    assert.equal(second, first);
    assert.equal(third, first);
    await until(() => release !== undefined);
    release?.();
    assert.equal(await first, 2);
    assert.equal(runs, 2);
  });

  test('a call after a load has finished starts a new one', async () => {
    let runs = 0;
    const reload = coalescing(async () => ++runs);
    assert.equal(await reload(), 1);
    assert.equal(await reload(), 2);
  });
});

describe('directories to watch', () => {
  test('a directory is watched itself, a file and a missing path through their parent', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'file-watch-dirs-'));
    try {
      await mkdir(join(dir, 'rules'));
      await writeFile(join(dir, 'one.yaml'), 'defaults: []\n');
      const dirs = await directoriesOf([join(dir, 'rules'), join(dir, 'one.yaml'), join(dir, 'later', 'two.yaml')]);
      assert.deepEqual([...dirs], [join(dir, 'rules'), dir, join(dir, 'later')]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
