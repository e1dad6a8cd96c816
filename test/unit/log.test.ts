// Repeated log lines during an outage: the first of each error at once, the
// rest as a count per window, on a clock the test moves by hand.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RepeatFilter, RepeatLimitedLog } from '../../adapter/log.js';
import { RecordingLogger } from '../support/fakes.js';

function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** A RepeatLimitedLog whose timers the test fires by hand. */
function limited(windowMs = 10_000) {
  const clock = manualClock();
  const log = new RecordingLogger();
  const timers: { run: () => void; at: number }[] = [];
  const repeats = new RepeatLimitedLog(log, { windowMs, now: clock.now, schedule: (run, ms) => timers.push({ run, at: clock.now() + ms }) });
  /** Moves the clock and fires the timers that are due. */
  const advance = (ms: number): void => {
    clock.advance(ms);
    for (const t of timers.splice(0).sort((a, b) => a.at - b.at)) {
      if (t.at <= clock.now()) t.run();
      else timers.push(t);
    }
  };
  const lines = () => log.entries.map((e) => [e.level, e.message, e.fields]);
  return { repeats, advance, lines, timers };
}

describe('RepeatFilter', () => {
  test('the first occurrence of a key is written and repeats within the window are held back', () => {
    const clock = manualClock();
    const filter = new RepeatFilter(10_000, clock.now);
    const decisions = [filter.admit('a')];
    clock.advance(5_000);
    decisions.push(filter.admit('a'), filter.admit('a'));
    assert.deepEqual(
      decisions.map((d) => d.write),
      [true, false, false],
    );
  });

  test('the first occurrence after the window is written, with the count the window held back', () => {
    const clock = manualClock();
    const filter = new RepeatFilter(10_000, clock.now);
    filter.admit('a');
    filter.admit('a');
    filter.admit('a');
    clock.advance(10_000);
    assert.deepEqual(filter.admit('a'), { write: true, endedRepeats: 2 });
  });

  test('distinct keys have windows of their own', () => {
    const filter = new RepeatFilter(10_000, manualClock().now);
    assert.deepEqual([filter.admit('a').write, filter.admit('b').write, filter.admit('a').write], [true, true, false]);
  });

  test('expire ends the windows that have passed and reports those that held repeats back', () => {
    const clock = manualClock();
    const filter = new RepeatFilter(10_000, clock.now);
    filter.admit('a');
    filter.admit('a');
    filter.admit('quiet');
    clock.advance(3_000);
    filter.admit('late');
    filter.admit('late');
    assert.equal(filter.nextEnd(), 10_000);
    clock.advance(7_000);
    assert.deepEqual(filter.expire(), [{ key: 'a', repeated: 1 }]);
    assert.equal(filter.nextEnd(), 13_000);
  });

  test('past its key limit the filter writes new keys every time rather than grow', () => {
    const filter = new RepeatFilter(10_000, manualClock().now, 2);
    filter.admit('a');
    filter.admit('b');
    assert.deepEqual([filter.admit('c').write, filter.admit('c').write], [true, true]);
  });
});

describe('RepeatLimitedLog', () => {
  test('500 identical failures make one line at once and one line with the count when the window ends', () => {
    const { repeats, advance, lines } = limited();
    for (let i = 0; i < 500; i++) repeats.warn('503 Prometheus down', 'request failed', { code: 503, path: `/p${i}` });
    assert.deepEqual(lines(), [['warn', 'request failed', { code: 503, path: '/p0' }]]);
    advance(10_000);
    assert.deepEqual(lines(), [
      ['warn', 'request failed', { code: 503, path: '/p0' }],
      ['warn', 'request failed', { code: 503, path: '/p499', repeated: 499 }],
    ]);
  });

  test('an occurrence after the window writes the held-back count and itself', () => {
    const { repeats, lines, advance, timers } = limited();
    repeats.error('k', 'failed', { n: 1 });
    repeats.error('k', 'failed', { n: 2 });
    timers.length = 0; // the timer is lost: the next occurrence still reports the count
    advance(12_000);
    repeats.error('k', 'failed', { n: 3 });
    assert.deepEqual(lines(), [
      ['error', 'failed', { n: 1 }],
      ['error', 'failed', { n: 2, repeated: 1 }],
      ['error', 'failed', { n: 3 }],
    ]);
  });

  test('distinct errors are each written', () => {
    const { repeats, lines } = limited();
    repeats.warn('rule a: timeout', 'request failed', { message: 'a' });
    repeats.warn('rule b: timeout', 'request failed', { message: 'b' });
    repeats.warn('rule a: timeout', 'request failed', { message: 'a' });
    assert.deepEqual(lines(), [
      ['warn', 'request failed', { message: 'a' }],
      ['warn', 'request failed', { message: 'b' }],
    ]);
  });

  test('a single occurrence writes no count line when its window ends', () => {
    const { repeats, advance, lines } = limited();
    repeats.warn('k', 'once');
    advance(20_000);
    assert.deepEqual(lines(), [['warn', 'once', {}]]);
  });

  test('a failure lasting a minute writes two lines per window, whatever the request rate', () => {
    const { repeats, advance, lines } = limited();
    for (let ms = 0; ms < 60_000; ms += 10) {
      repeats.warn('k', 'request failed');
      advance(10);
    }
    advance(10_000);
    const counts = lines().map((l) => (l[2] as { repeated?: number }).repeated ?? 1);
    assert.equal(lines().length, 12);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      6_000,
    );
  });
});
