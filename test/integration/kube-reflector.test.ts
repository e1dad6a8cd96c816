// The list-then-watch reflector against the in-process double of the API
// server: the first LIST, watch events, bookmarks, resuming a dropped watch
// without a LIST, relisting after 410, backoff, the idle timeout and stop().
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeClient, kubeConfigFrom } from '../../adapter/kube/client.js';
import { Reflector, type ReflectorClock, type ReflectorOptions } from '../../adapter/kube/reflector.js';
import { eventually } from '../support/eventually.js';
import { KubeApiDouble } from '../support/kube-api-double.js';

const TOKEN = 'reflector-test-token';

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `namespace/name`, read here without the production code's helpers. */
function keyOf(object: unknown): string | undefined {
  const meta = (object as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
  if (typeof meta?.name !== 'string') return undefined;
  return `${typeof meta.namespace === 'string' ? meta.namespace : ''}/${meta.name}`;
}

/** A clock whose timers fire at once and that records every delay asked for. */
function recordingClock(random: number): ReflectorClock & { readonly delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    now: () => Date.now(),
    random: () => random,
    setTimeout: (fn, ms) => {
      delays.push(ms);
      return setTimeout(fn, 1);
    },
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  };
}

interface Followed {
  readonly reflector: Reflector<string>;
  /** Every handler call in order: `list a b`, `add a`, `modify a`, `delete a`. */
  readonly calls: string[];
  readonly errors: { readonly message: string; readonly relist: boolean }[];
}

let double: KubeApiDouble;
let client: KubeClient;
let reflectors: Reflector<string>[];

function follow(options: Partial<ReflectorOptions<string>> = {}): Followed {
  const calls: string[] = [];
  const errors: { message: string; relist: boolean }[] = [];
  const reflector = new Reflector<string>({
    client,
    path: '/api/v1/pods',
    name: 'pods',
    transform: keyOf,
    handler: {
      onList: (items) => calls.push(['list', ...items].join(' ')),
      onAdd: (item) => calls.push(`add ${item}`),
      onModify: (item) => calls.push(`modify ${item}`),
      onDelete: (item) => calls.push(`delete ${item}`),
      onError: (error, relist) => errors.push({ message: error.message, relist }),
    },
    backoff: { initialMs: 10, maxMs: 40 },
    ...options,
  });
  reflectors.push(reflector);
  return { reflector, calls, errors };
}

/** Starts `f` and waits until its watch is open. */
async function watching(f: Followed): Promise<void> {
  await f.reflector.start();
  await eventually(() => assert.equal(double.openWatches('pods'), 1));
}

beforeEach(async () => {
  double = await KubeApiDouble.start({ token: TOKEN });
  client = new KubeClient(kubeConfigFrom({ server: double.url, token: TOKEN, insecureSkipTLSVerify: true }));
  reflectors = [];
  double.addObject('pods', { name: 'a', namespace: 'default' });
  double.addObject('pods', { name: 'b', namespace: 'default' });
  double.addObject('pods', { name: 'c', namespace: 'other' });
});

afterEach(async () => {
  for (const r of reflectors) await r.stop();
  await double.close();
});

describe('the first LIST', () => {
  test('start() resolves once every page of the first LIST has been handed over in one call', async () => {
    double.addObject('pods', { name: 'd', namespace: 'other' });
    double.addObject('pods', { name: 'e', namespace: 'other' });
    const f = follow({ pageSize: 2 });
    await f.reflector.start();
    assert.deepEqual(f.calls, ['list default/a default/b other/c other/d other/e']);
    assert.equal(double.listCount('pods'), 3);
    assert.equal(f.reflector.lists, 1);
    assert.equal(f.reflector.synced, true);
    assert.equal(f.reflector.resourceVersion, double.resourceVersion);
  });

  test('start() rejects with the first LIST error, named after the collection, and the retries go on until synced', async () => {
    double.failNext('list', 1, 403, 'pods is forbidden: User "x" cannot list resource "pods"');
    const f = follow();
    await assert.rejects(f.reflector.start(), /^KubeApiError: list pods: 403 Forbidden: pods is forbidden/);
    assert.match(f.reflector.lastError ?? '', /list pods: 403 Forbidden/);
    assert.deepEqual(f.errors, [{ message: 'list pods: 403 Forbidden: pods is forbidden: User "x" cannot list resource "pods"', relist: false }]);
    assert.equal(await f.reflector.waitForSync(2000), true);
    assert.equal(f.reflector.lastError, undefined);
    assert.equal(double.listCount('pods'), 2);
  });

  test('a connection failure names the request it broke', async () => {
    const unreachable = new KubeClient(kubeConfigFrom({ server: 'http://127.0.0.1:1', insecureSkipTLSVerify: true }));
    const f = follow({ client: unreachable });
    await assert.rejects(f.reflector.start(), /^KubeApiError: list pods: connect ECONNREFUSED/);
  });

  test('the query goes with the LIST and the WATCH and decides what is followed', async () => {
    double.setConfigMap('kube-system', 'wanted', { k: '1' });
    double.setConfigMap('kube-system', 'other', { k: '1' });
    const f = follow({ path: '/api/v1/namespaces/kube-system/configmaps', name: 'configmap wanted', query: { fieldSelector: 'metadata.name=wanted' } });
    await f.reflector.start();
    await eventually(() => assert.equal(double.openConfigMapWatches(), 1));
    double.setConfigMap('kube-system', 'other', { k: '2' });
    double.setConfigMap('kube-system', 'wanted', { k: '2' });
    await eventually(() => assert.deepEqual(f.calls, ['list kube-system/wanted', 'modify kube-system/wanted']));
    const sent = double.requests.filter((r) => r.resource === 'configmaps');
    assert.deepEqual(
      sent.map((r) => [r.verb, r.query['fieldSelector']]),
      [
        ['list', 'metadata.name=wanted'],
        ['watch', 'metadata.name=wanted'],
      ],
    );
  });
});

describe('the watch', () => {
  test('starts at the LIST resourceVersion and hands over additions, changes and deletions in order', async () => {
    const f = follow();
    await watching(f);
    const watch = double.requests.find((r) => r.verb === 'watch');
    assert.equal(watch?.query['resourceVersion'], f.reflector.resourceVersion);
    assert.equal(watch?.query['allowWatchBookmarks'], 'true');
    double.addObject('pods', { name: 'd', namespace: 'default' });
    double.updateLabels('pods', { namespace: 'default', name: 'd' }, { app: 'web' });
    const deletedAt = double.deleteObject('pods', { namespace: 'default', name: 'a' });
    await eventually(() => assert.deepEqual(f.calls.slice(1), ['add default/d', 'modify default/d', 'delete default/a']));
    assert.equal(f.reflector.resourceVersion, deletedAt);
    assert.equal(double.listCount('pods'), 1);
  });

  test('a bookmark moves the resourceVersion and hands nothing over', async () => {
    const f = follow();
    await watching(f);
    const listedAt = f.reflector.resourceVersion;
    double.addObject('nodes', { name: 'n' });
    double.sendBookmarks();
    await eventually(() => assert.equal(f.reflector.resourceVersion, double.resourceVersion));
    assert.notEqual(f.reflector.resourceVersion, listedAt);
    assert.equal(f.calls.length, 1);
  });

  test('a dropped watch resumes from the last resourceVersion and replays what it missed, without a LIST', async () => {
    const f = follow();
    await watching(f);
    const seenAt = double.addObject('pods', { name: 'd', namespace: 'default' });
    await eventually(() => assert.equal(f.reflector.resourceVersion, seenAt));
    assert.equal(double.dropWatches(), 1);
    double.addObject('pods', { name: 'e', namespace: 'default' });
    await eventually(() => assert.deepEqual(f.calls.slice(1), ['add default/d', 'add default/e']));
    const watches = double.requests.filter((r) => r.verb === 'watch');
    assert.equal(watches.length, 2);
    assert.equal(watches[1]?.query['resourceVersion'], seenAt);
    assert.equal(double.listCount('pods'), 1);
  });

  test('a watch the server ends after delivering events is resumed at once', async () => {
    const clock = recordingClock(0);
    const f = follow({ clock });
    await watching(f);
    double.addObject('pods', { name: 'd', namespace: 'default' });
    await eventually(() => assert.equal(f.calls.length, 2));
    double.dropWatches({ graceful: true });
    await eventually(() => assert.equal(double.watchCount('pods'), 2));
    assert.deepEqual(clock.delays, []);
  });

  test('a watch the server ends at once without an event counts as a failure and backs off', async () => {
    const clock = recordingClock(0);
    const f = follow({ clock, backoff: { initialMs: 100, maxMs: 400 } });
    await watching(f);
    double.dropWatches({ graceful: true });
    await eventually(() => assert.equal(double.watchCount('pods'), 2));
    assert.deepEqual(clock.delays, [50]);
    assert.deepEqual(f.errors, []);
  });

  test('a silent watch is given up after the idle timeout and resumed without a LIST', async () => {
    const f = follow({ watchIdleMs: 100 });
    await watching(f);
    await eventually(() => assert.equal(double.watchCount('pods'), 2));
    assert.match(f.errors[0]?.message ?? '', /^watch pods: no data from the API server/);
    assert.equal(f.errors[0]?.relist, false);
    assert.equal(double.listCount('pods'), 1);
  });
});

describe('410 Gone', () => {
  test('a resourceVersion compacted away while disconnected is followed by a LIST that replaces the state', async () => {
    const f = follow();
    await watching(f);
    double.dropWatches();
    double.deleteObject('pods', { namespace: 'default', name: 'a' });
    double.compact();
    await eventually(() => assert.deepEqual(f.calls, ['list default/a default/b other/c', 'list default/b other/c']));
    // The cut connection, then the 410 on reconnecting.
    const expired = f.errors.filter((e) => e.relist);
    assert.equal(expired.length, 1);
    assert.match(expired[0]?.message ?? '', /^watch pods: 410 Expired: too old resource version/);
    // The watch goes on from the new LIST.
    await eventually(() => assert.equal(double.openWatches('pods'), 1));
    assert.equal(double.requests.filter((r) => r.verb === 'watch').at(-1)?.query['resourceVersion'], double.resourceVersion);
    assert.equal(double.listCount('pods'), 2);
  });

  test('an Expired ERROR event on an open watch is followed by a LIST', async () => {
    const f = follow();
    await watching(f);
    assert.equal(double.expireWatches(), 1);
    // The double counts the LIST when it arrives; the reflector hands it on only once the answer is read.
    await eventually(() => assert.equal(f.calls.length, 2));
    assert.equal(double.listCount('pods'), 2);
    assert.deepEqual(
      f.errors.map((e) => e.relist),
      [true],
    );
  });

  test('the LIST after a 410 waits its backoff, so a server expiring every watch is not hammered', async () => {
    const clock = recordingClock(0);
    const f = follow({ clock, backoff: { initialMs: 100, maxMs: 400 } });
    await watching(f);
    double.expireWatches();
    await eventually(() => assert.equal(double.listCount('pods'), 2));
    assert.deepEqual(clock.delays, [50]);
  });
});

describe('backoff', () => {
  test('consecutive failures double the delay from half the first step up to the cap', async () => {
    double.failNext('list', 4, 500);
    const clock = recordingClock(0);
    const f = follow({ clock, backoff: { initialMs: 100, maxMs: 400 } });
    await assert.rejects(f.reflector.start(), /list pods: 500 InternalError: injected failure/);
    await eventually(() => assert.equal(f.reflector.synced, true));
    assert.deepEqual(clock.delays.slice(0, 4), [50, 100, 200, 200]);
    assert.equal(double.listCount('pods'), 5);
  });

  test('jitter spreads a delay over the upper half of its step', async () => {
    double.failNext('list', 1, 500);
    const clock = recordingClock(0.999);
    const f = follow({ clock, backoff: { initialMs: 100, maxMs: 400 } });
    await f.reflector.start().catch(() => undefined);
    await eventually(() => assert.equal(f.reflector.synced, true));
    assert.ok(clock.delays[0] !== undefined && clock.delays[0] > 99 && clock.delays[0] <= 100, `delay ${clock.delays[0]}`);
  });

  test('a watch that delivered events resets the backoff', async () => {
    double.failNext('list', 2, 500);
    const clock = recordingClock(0);
    const f = follow({ clock, backoff: { initialMs: 100, maxMs: 400 } });
    await f.reflector.start().catch(() => undefined);
    await eventually(() => assert.equal(f.reflector.synced, true));
    await eventually(() => assert.equal(double.openWatches('pods'), 1));
    double.addObject('pods', { name: 'd', namespace: 'default' });
    await eventually(() => assert.equal(f.calls.length, 2));
    double.dropWatches();
    await eventually(() => assert.equal(double.watchCount('pods'), 2));
    assert.deepEqual(clock.delays, [50, 100, 50]);
  });
});

describe('stop()', () => {
  test('stop() during a backoff ends the loop, releases waiters and leaves no timer', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    double.failNext('list', 1, 500);
    const f = follow({ backoff: { initialMs: 60_000, maxMs: 60_000 } });
    const first = f.reflector.start();
    await assert.rejects(first, /500/);
    const sync = f.reflector.waitForSync(60_000);
    assert.ok(timers() > before, 'a backoff timer and the sync deadline are pending');
    await f.reflector.stop();
    assert.equal(await sync, false);
    assert.equal(timers(), before);
    await pause(50);
    assert.equal(double.listCount('pods'), 1);
  });

  test('stop() closes the open watch and nothing is requested after it', async () => {
    const f = follow();
    await watching(f);
    const requests = double.requests.length;
    await f.reflector.stop();
    await eventually(() => assert.equal(double.openWatches('pods'), 0));
    await pause(50);
    assert.equal(double.requests.length, requests);
    assert.equal(await f.reflector.waitForSync(1000), true);
  });

  test('stop() before the first LIST answers rejects start()', async () => {
    double.setListDelay(5000);
    const f = follow();
    const first = f.reflector.start();
    await eventually(() => assert.equal(double.listCount('pods'), 1));
    await f.reflector.stop();
    await assert.rejects(first, /list pods: stopped/);
    assert.equal(f.calls.length, 0);
  });
});
