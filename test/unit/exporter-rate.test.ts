// The test exporter's rising counters: history on the first scrape, then one
// timestamped sample per scrape, on a line that a constant rate explains.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startExporter, type Exporter } from '../support/exporter.js';

let exporter: Exporter;

before(async () => {
  exporter = await startExporter();
});

after(async () => {
  await exporter.close();
});

interface Sample {
  readonly value: number;
  readonly ms: number;
}

async function scrape(name: string): Promise<Sample[]> {
  const text = await (await fetch(exporter.url)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .map((l) => {
      const [, value, ms] = l.split(' ');
      return { value: Number(value), ms: Number(ms) };
    });
}

test('the first scrape of a rising counter carries its history, every step, on a line of the set slope', async () => {
  exporter.setRate('cpu_seconds_total', { pod: 'a' }, 0.25, { historySeconds: 60, stepSeconds: 15 });
  const samples = await scrape('cpu_seconds_total');
  assert.equal(samples.length, 5);
  const [first, ...rest] = samples as [Sample, ...Sample[]];
  // It started from 0 a minute before setRate().
  assert.ok(first.value >= 0 && first.value < 0.25, String(first.value));
  for (let i = 0; i < rest.length - 1; i++) assert.equal((rest[i] as Sample).ms - (i === 0 ? first.ms : (rest[i - 1] as Sample).ms), 15_000);
  for (const s of samples) assert.ok(Math.abs(s.value - first.value - (0.25 * (s.ms - first.ms)) / 1000) < 1e-9, `${s.value} at ${s.ms}`);
});

test('later scrapes carry one newer sample each, continuing the line', async () => {
  exporter.setRate('busy_seconds_total', { cpu: '0' }, 0.5, { historySeconds: 30, stepSeconds: 10 });
  const history = await scrape('busy_seconds_total');
  await new Promise((r) => setTimeout(r, 20));
  const next = await scrape('busy_seconds_total');
  assert.equal(next.length, 1);
  const [last, now] = [history.at(-1) as Sample, next[0] as Sample];
  assert.ok(now.ms > last.ms);
  assert.ok(Math.abs((now.value - last.value) / ((now.ms - last.ms) / 1000) - 0.5) < 1e-6);
});

test('render() shows what a scrape would get without counting as one', async () => {
  exporter.setRate('idle_seconds_total', { cpu: '1' }, 1, { historySeconds: 20, stepSeconds: 10 });
  assert.equal(exporter.render().split('\n').filter((l) => l.startsWith('idle_seconds_total{')).length, 3);
  assert.equal((await scrape('idle_seconds_total')).length, 3);
});

test('a new rate keeps the value reached and changes the slope from then on', async () => {
  exporter.setRate('work_seconds_total', { pod: 'b' }, 2, { historySeconds: 10, stepSeconds: 5 });
  await scrape('work_seconds_total');
  const before = exporter.get('work_seconds_total', { pod: 'b' }) as number;
  exporter.setRate('work_seconds_total', { pod: 'b' }, 0);
  await new Promise((r) => setTimeout(r, 30));
  const after = exporter.get('work_seconds_total', { pod: 'b' }) as number;
  assert.ok(after >= before && after - before < 1, `${before} -> ${after}`);
  const [sample] = await scrape('work_seconds_total');
  assert.equal(sample?.value, after);
});

test('set() makes a rising counter a plain series again, without timestamps', async () => {
  exporter.setRate('plain_total', {}, 1, { historySeconds: 0 });
  exporter.set('plain_total', {}, 7);
  assert.match(exporter.render(), /^plain_total 7$/m);
});
