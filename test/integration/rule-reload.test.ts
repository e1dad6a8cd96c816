// Live reload against real files and a real fs watcher: a bad edit keeps the
// last good rules, a good edit replaces them, and a ConfigMap-style
// `..data` symlink swap is picked up.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuleStore, RuleWatcher } from '../../rules/watch.js';

const rule = (as: string): string => `rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name: {as: "${as}"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
`;

const BROKEN = `rules:
- seriesQuery: 'http_requests_total{namespace!=""'
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`;

function names(store: RuleStore): (string | undefined)[] {
  return store.rules?.rules.map((r) => r.fixedName) ?? [];
}

/** Resolves on the next applied or rejected reload, or fails after `ms`. */
function nextReload(store: RuleStore, ms = 5000): Promise<'applied' | 'rejected'> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no reload within ${ms} ms`));
    }, ms);
    const onApplied = (): void => {
      cleanup();
      resolve('applied');
    };
    const onRejected = (): void => {
      cleanup();
      resolve('rejected');
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      store.off('applied', onApplied);
      store.off('rejected', onRejected);
    };
    store.on('applied', onApplied);
    store.on('rejected', onRejected);
  });
}

/** Runs `fn` with a real watcher on the store's paths, closing it afterwards. */
async function whileWatching(store: RuleStore, fn: () => Promise<void>): Promise<void> {
  const watcher = new RuleWatcher(store, { debounceMs: 50, pollMs: 0 });
  await watcher.start();
  try {
    await fn();
  } finally {
    watcher.close();
  }
}

describe('rule reload with a real watcher', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hpa-bridge-reload-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A rule directory `name` holding team-a.yaml with one rule, and a store that has loaded it. */
  async function loadedStore(name: string, ruleName: string): Promise<{ d: string; store: RuleStore }> {
    const d = join(dir, name);
    await mkdir(d);
    await writeFile(join(d, 'team-a.yaml'), rule(ruleName));
    const store = new RuleStore([d]);
    await store.reload();
    return { d, store };
  }

  test('a bad edit keeps serving the last good rules and reports the error', async () => {
    const { d, store } = await loadedStore('plain-bad', 'first');
    await whileWatching(store, async () => {
      const reloaded = nextReload(store);
      await writeFile(join(d, 'team-a.yaml'), BROKEN);
      assert.equal(await reloaded, 'rejected');
      assert.deepEqual(names(store), ['first']);
      assert.equal(store.status.upToDate, false);
      assert.equal(store.status.reloads.failed, 1);
      assert.equal(store.status.errors[0]?.path, 'rules[0].seriesQuery');
      assert.match(store.status.errors[0]?.message ?? '', /invalid PromQL/);
      assert.equal(store.status.errors[0]?.line, 2);
    });
  });

  test('a good edit after a bad one replaces the rules and clears the error', async () => {
    const { d, store } = await loadedStore('plain-good', 'first');
    await whileWatching(store, async () => {
      let reloaded = nextReload(store);
      await writeFile(join(d, 'team-a.yaml'), BROKEN);
      assert.equal(await reloaded, 'rejected');
      reloaded = nextReload(store);
      await writeFile(join(d, 'team-a.yaml'), rule('second'));
      assert.equal(await reloaded, 'applied');
      assert.deepEqual(names(store), ['second']);
      assert.equal(store.status.upToDate, true);
      assert.deepEqual(store.status.errors, []);
    });
  });

  test('a new file in the directory is picked up', async () => {
    const { d, store } = await loadedStore('new-file', 'first');
    await whileWatching(store, async () => {
      const reloaded = nextReload(store);
      await writeFile(join(d, 'team-b.yaml'), rule('from_team_b'));
      assert.equal(await reloaded, 'applied');
      assert.deepEqual(names(store), ['first', 'from_team_b']);
    });
  });

  test('a ConfigMap update through the ..data symlink swap is applied', async () => {
    // The kubelet's atomic writer: files are symlinks to ..data/NAME, and
    // ..data is a symlink to a timestamped directory that is replaced by a rename.
    const d = join(dir, 'configmap');
    await mkdir(join(d, '..2026_01_01_00_00_00.1'), { recursive: true });
    await writeFile(join(d, '..2026_01_01_00_00_00.1', 'config.yaml'), rule('before_swap'));
    await symlink('..2026_01_01_00_00_00.1', join(d, '..data'));
    await symlink('..data/config.yaml', join(d, 'config.yaml'));
    const store = new RuleStore([d]);
    await store.reload();
    assert.deepEqual(names(store), ['before_swap']);
    await whileWatching(store, async () => {
      const reloaded = nextReload(store);
      await mkdir(join(d, '..2026_01_01_00_01_00.2'));
      await writeFile(join(d, '..2026_01_01_00_01_00.2', 'config.yaml'), rule('after_swap'));
      await symlink('..2026_01_01_00_01_00.2', join(d, '..data_tmp'));
      await rename(join(d, '..data_tmp'), join(d, '..data'));
      await rm(join(d, '..2026_01_01_00_00_00.1'), { recursive: true });
      assert.equal(await reloaded, 'applied');
      assert.deepEqual(names(store), ['after_swap']);
    });
  });

  test('a ConfigMap swap to a broken file keeps the rules served before it', async () => {
    const d = join(dir, 'configmap-bad');
    await mkdir(join(d, '..v1'), { recursive: true });
    await writeFile(join(d, '..v1', 'config.yaml'), rule('good_one'));
    await symlink('..v1', join(d, '..data'));
    await symlink('..data/config.yaml', join(d, 'config.yaml'));
    const store = new RuleStore([join(d, 'config.yaml')]);
    await store.reload();
    await whileWatching(store, async () => {
      const reloaded = nextReload(store);
      await mkdir(join(d, '..v2'));
      await writeFile(join(d, '..v2', 'config.yaml'), BROKEN);
      await symlink('..v2', join(d, '..data_tmp'));
      await rename(join(d, '..data_tmp'), join(d, '..data'));
      assert.equal(await reloaded, 'rejected');
      assert.deepEqual(names(store), ['good_one']);
      assert.equal(store.status.loaded, true);
    });
  });

  test('deleting every rule file keeps the last good rules', async () => {
    const { d, store } = await loadedStore('deleted', 'kept');
    await whileWatching(store, async () => {
      const reloaded = nextReload(store);
      await rm(join(d, 'team-a.yaml'));
      assert.equal(await reloaded, 'rejected');
      assert.deepEqual(names(store), ['kept']);
      assert.match(store.status.errors[0]?.message ?? '', /no rule files/);
    });
  });
});
