// The test exporter's rising counters: samples on an evenly spaced grid, the
// history on the first scrape, then the latest sample again plus any newer
// ones, on a line that the set rate explains exactly.
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

function samplesIn(text: string, name: string): Sample[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => {
      const parts = l.split(' ');
      return { value: Number(parts.at(-2)), ms: Number(parts.at(-1)) };
    });
}

async function scrape(name: string): Promise<Sample[]> {
  return samplesIn(await (await fetch(exporter.url)).text(), name);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('the first scrape of a rising counter carries its history from zero, one sample per step, on grid points', async () => {
  exporter.setRate('cpu_seconds_total', { pod: 'a' }, 0.25, { historySeconds: 60, stepSeconds: 15 });
  const samples = await scrape('cpu_seconds_total');
  assert.ok(samples.length === 5 || samples.length === 6, `${samples.length} samples`);
  const first = samples[0] as Sample;
  assert.equal(first.value, 0);
  samples.forEach((s, i) => {
    assert.equal(s.ms % 15_000, 0);
    assert.equal(s.ms - first.ms, i * 15_000);
    // Exact: irate() over these returns 0.25 itself.
    assert.equal(s.value, 0.25 * 15 * i);
  });
});

test('later scrapes repeat the latest sample and add each newer grid point', async () => {
  exporter.setRate('busy_seconds_total', { cpu: '0' }, 0.5, { historySeconds: 0.2, stepSeconds: 0.05 });
  const history = await scrape('busy_seconds_total');
  await sleep(130);
  const next = await scrape('busy_seconds_total');
  assert.deepEqual(next[0], history.at(-1));
  assert.ok(next.length >= 3, `${next.length} samples`);
  for (let i = 1; i < next.length; i++) {
    const [a, b] = [next[i - 1] as Sample, next[i] as Sample];
    assert.equal(b.ms - a.ms, 50);
    assert.ok(Math.abs((b.value - a.value) / 0.05 - 0.5) < 1e-9);
  }
});

test('render() shows what a scrape would get without counting as one', async () => {
  exporter.setRate('idle_seconds_total', { cpu: '1' }, 1, { historySeconds: 20, stepSeconds: 10 });
  const shown = samplesIn(exporter.render(), 'idle_seconds_total');
  assert.ok(shown.length >= 3);
  assert.deepEqual((await scrape('idle_seconds_total')).slice(0, 3), shown.slice(0, 3));
});

test('a new rate goes on from the value reached, without history', async () => {
  exporter.setRate('work_seconds_total', { pod: 'b' }, 2, { historySeconds: 0.1, stepSeconds: 0.05 });
  await scrape('work_seconds_total');
  await sleep(60);
  exporter.setRate('work_seconds_total', { pod: 'b' }, 0, { stepSeconds: 0.05 });
  const reached = exporter.get('work_seconds_total', { pod: 'b' }) as number;
  await sleep(120);
  const samples = await scrape('work_seconds_total');
  assert.ok(samples.length >= 3, `${samples.length} samples`);
  for (const s of samples) assert.equal(s.value, reached);
});

test('set() makes a rising counter a plain series again, without timestamps', async () => {
  exporter.setRate('plain_total', {}, 1, { historySeconds: 0 });
  exporter.set('plain_total', {}, 7);
  assert.match(exporter.render(), /^plain_total 7$/m);
});
