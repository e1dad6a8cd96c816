// A scrape target for integration tests: an in-memory set of series served
// on 127.0.0.1 in the Prometheus text exposition format (version 0.0.4), so
// tests decide exactly what a real Prometheus ingests and when it changes.
//
// Counters set with setRate() rise at a constant rate and carry their own
// sample timestamps, as cAdvisor's series do: a sample every `stepSeconds`
// on a grid shared by all such series (cAdvisor's housekeeping interval),
// the latest one repeated by scrapes in between. Prometheus keeps explicit
// timestamps (honor_timestamps), so irate() over them gives the set rate
// exactly and rate() to within rounding, whatever the scrape jitter. The
// first scrape after setRate() also carries the series' history over
// `historySeconds`, so a rate() window is full at once instead of after
// waiting for it: without it rate()'s extrapolation would read less than
// the set rate until the series is older than the window. The spacing is
// even throughout for the same reason: rate() extrapolates to the window's
// start by the average spacing, which 15 s history followed by 1 s scrapes
// would skew.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type MetricType = 'counter' | 'gauge' | 'untyped';

export type Labels = Readonly<Record<string, string>>;

export interface SeriesOptions {
  /**
   * `# TYPE` of the whole family. Defaults to `counter` for names ending in
   * `_total` and `gauge` otherwise; an explicit type replaces the family's.
   */
  type?: MetricType;
  /** `# HELP` text of the whole family. */
  help?: string;
}

export interface RateOptions extends SeriesOptions {
  /** How far back the first scrape reaches. Default 600 (10 minutes, more than any rule's window). */
  historySeconds?: number;
  /** Spacing of the samples, on a grid from the Unix epoch. Default 15, as cAdvisor's housekeeping. */
  stepSeconds?: number;
}

export interface WaitForScrapeOptions {
  timeoutMs?: number;
}

export interface Exporter {
  /** `127.0.0.1:<port>`, the form a Prometheus static target takes. */
  readonly address: string;
  /** `http://127.0.0.1:<port>/metrics`. */
  readonly url: string;
  /** Number of /metrics responses fully sent so far. */
  readonly scrapeCount: number;
  set(name: string, labels: Labels, value: number, options?: SeriesOptions): void;
  /** Adds `delta` to the series, starting from 0 if it does not exist yet. */
  add(name: string, labels: Labels, delta: number, options?: SeriesOptions): void;
  /**
   * Makes the series a counter rising by `perSecond` every second, served
   * with sample timestamps (see the file comment). A new series starts from
   * 0 `historySeconds` ago; an existing one keeps its value and changes its
   * slope from the current grid point on. set() and add() make it a plain
   * series again.
   */
  setRate(name: string, labels: Labels, perSecond: number, options?: RateOptions): void;
  /** The current value; for a rising counter, its latest sample's. */
  get(name: string, labels: Labels): number | undefined;
  /** Returns whether the series existed. */
  remove(name: string, labels: Labels): boolean;
  /** Removes every series and the raw block. */
  clear(): void;
  /**
   * Lines served verbatim after the generated families, replacing any earlier
   * raw block; for samples the typed API cannot express (NaN, ±Inf literals,
   * timestamps, deliberately odd input). An empty string clears it.
   */
  setRaw(lines: string | readonly string[]): void;
  /** The body a scrape would receive now (without counting as one). */
  render(): string;
  /**
   * Resolves once a scrape that started after this call has been answered.
   * Prometheus commits the samples a moment after reading the body, so poll
   * the query API rather than assuming they are visible immediately.
   */
  waitForScrape(options?: WaitForScrapeOptions): Promise<void>;
  close(): Promise<void>;
}

export interface ExporterOptions {
  /** Served under this path; anything else is a 404. Default `/metrics`. */
  path?: string;
}

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Series {
  readonly labelText: string;
  value: number;
  /** Set for a counter rising at a constant rate: `value` is its value at `since`. */
  rising?: Rising;
}

interface Rising {
  perSecond: number;
  /** Unix ms, on the grid. */
  since: number;
  historySeconds: number;
  /** ms. */
  step: number;
  /** Timestamp (Unix ms) of the newest sample a scrape has received; undefined before the first. */
  servedUntil: number | undefined;
}

/** The newest grid point at or before `ms`. */
const onGrid = (ms: number, step: number): number => Math.floor(ms / step) * step;

// Whole steps from a grid point keep the values exact for rates that are
// binary fractions (0.25, 0.0625...), so irate() returns the rate itself.
const valueAt = (s: Series, rising: Rising, ms: number): number => s.value + (rising.perSecond * (ms - rising.since)) / 1000;

interface Family {
  type: MetricType;
  help: string | undefined;
  readonly series: Map<string, Series>;
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

// Sorting by name makes the rendered text, and therefore the map key,
// independent of the order the caller listed the labels in.
function renderLabels(labels: Labels): string {
  const names = Object.keys(labels).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (names.length === 0) return '';
  const parts = names.map((name) => {
    if (!LABEL_NAME.test(name) || name === '__name__') {
      throw new Error(`invalid label name ${JSON.stringify(name)}`);
    }
    const value = labels[name];
    if (typeof value !== 'string') {
      throw new Error(`label ${name} must be a string, got ${typeof value}`);
    }
    return `${name}="${escapeLabelValue(value)}"`;
  });
  return `{${parts.join(',')}}`;
}

function checkName(name: string): void {
  if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
}

const byKey = <T>(a: [string, T], b: [string, T]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

export async function startExporter(options: ExporterOptions = {}): Promise<Exporter> {
  const path = options.path ?? '/metrics';
  const families = new Map<string, Family>();
  let raw = '';
  let scrapeCount = 0;
  let closed = false;
  const waiters = new Set<{ after: number; resolve: () => void; reject: (err: Error) => void }>();

  function family(name: string, opts: SeriesOptions | undefined): Family {
    checkName(name);
    let fam = families.get(name);
    if (!fam) {
      fam = {
        type: opts?.type ?? (name.endsWith('_total') ? 'counter' : 'gauge'),
        help: undefined,
        series: new Map(),
      };
      families.set(name, fam);
    } else if (opts?.type) {
      fam.type = opts.type;
    }
    if (opts?.help !== undefined) fam.help = opts.help;
    return fam;
  }

  /** The exposition at `now`; `scrape` records what a scrape received, so history is sent once. */
  function render(now = Date.now(), scrape = false): string {
    const out: string[] = [];
    for (const [name, fam] of [...families].sort(byKey)) {
      if (fam.help !== undefined) out.push(`# HELP ${name} ${escapeHelp(fam.help)}`);
      out.push(`# TYPE ${name} ${fam.type}`);
      for (const [, s] of [...fam.series].sort(byKey)) {
        if (!s.rising) {
          out.push(`${name}${s.labelText} ${formatSampleValue(s.value)}`);
          continue;
        }
        const r = s.rising;
        const latest = onGrid(now, r.step);
        // From the start of the history, or the sample the last scrape ended
        // with (repeated: Prometheus ignores a sample equal to the one it has).
        const from = r.servedUntil ?? Math.max(r.since - onGrid(r.historySeconds * 1000, r.step), 0);
        for (let t = from; t <= latest; t += r.step) out.push(`${name}${s.labelText} ${formatSampleValue(valueAt(s, r, t))} ${t}`);
        if (scrape) r.servedUntil = latest;
      }
    }
    if (raw !== '') out.push(raw);
    return out.length === 0 ? '' : `${out.join('\n')}\n`;
  }

  function onScrapeDone(): void {
    scrapeCount += 1;
    for (const w of waiters) {
      if (scrapeCount > w.after) {
        waiters.delete(w);
        w.resolve();
      }
    }
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const reqPath = (req.url ?? '/').split('?')[0];
    if (reqPath !== path || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    // Rendered at request time so a change made just before a scrape is in it.
    const body = render(Date.now(), req.method === 'GET');
    res.once('finish', onScrapeDone);
    res.writeHead(200, {
      'content-type': CONTENT_TYPE,
      'content-length': Buffer.byteLength(body),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const address = `127.0.0.1:${port}`;

  return {
    address,
    url: `http://${address}${path}`,
    get scrapeCount() {
      return scrapeCount;
    },
    set(name, labels, value, opts) {
      if (typeof value !== 'number') throw new Error(`value for ${name} must be a number`);
      const fam = family(name, opts);
      const labelText = renderLabels(labels);
      const existing = fam.series.get(labelText);
      if (existing) {
        existing.value = value;
        delete existing.rising;
      } else fam.series.set(labelText, { labelText, value });
    },
    add(name, labels, delta, opts) {
      if (!Number.isFinite(delta)) throw new Error(`delta for ${name} must be a finite number`);
      const fam = family(name, opts);
      const labelText = renderLabels(labels);
      const existing = fam.series.get(labelText);
      if (existing) {
        if (existing.rising) existing.value = valueAt(existing, existing.rising, onGrid(Date.now(), existing.rising.step));
        delete existing.rising;
        existing.value += delta;
      } else fam.series.set(labelText, { labelText, value: delta });
    },
    setRate(name, labels, perSecond, opts = {}) {
      if (!Number.isFinite(perSecond) || perSecond < 0) throw new Error(`rate for ${name} must be a finite number >= 0`);
      const historySeconds = opts.historySeconds ?? 600;
      const step = Math.round((opts.stepSeconds ?? 15) * 1000);
      if (!(historySeconds >= 0) || !(step > 0)) throw new Error('historySeconds must be >= 0 and stepSeconds at least 1 ms');
      const fam = family(name, { type: 'counter', ...opts });
      const labelText = renderLabels(labels);
      const since = onGrid(Date.now(), step);
      const existing = fam.series.get(labelText);
      if (existing) {
        // The new slope starts at the current grid point, from the value reached there.
        existing.value = existing.rising ? valueAt(existing, existing.rising, since) : existing.value;
        // No history: the series goes on from the current grid point.
        existing.rising = { perSecond, since, historySeconds, step, servedUntil: since };
      } else {
        // Zero at the start of the history.
        const history = onGrid(historySeconds * 1000, step);
        fam.series.set(labelText, { labelText, value: (perSecond * history) / 1000, rising: { perSecond, since, historySeconds, step, servedUntil: undefined } });
      }
    },
    get(name, labels) {
      const s = families.get(name)?.series.get(renderLabels(labels));
      if (!s) return undefined;
      return s.rising ? valueAt(s, s.rising, onGrid(Date.now(), s.rising.step)) : s.value;
    },
    remove(name, labels) {
      const fam = families.get(name);
      if (!fam) return false;
      const removed = fam.series.delete(renderLabels(labels));
      // An empty family would still emit a lone # TYPE line.
      if (fam.series.size === 0) families.delete(name);
      return removed;
    },
    clear() {
      families.clear();
      raw = '';
    },
    setRaw(lines) {
      const text = typeof lines === 'string' ? lines : lines.join('\n');
      raw = text.replace(/\n+$/, '');
    },
    render: () => render(),
    waitForScrape(opts = {}) {
      const timeoutMs = opts.timeoutMs ?? 10_000;
      if (closed) return Promise.reject(new Error('exporter is closed'));
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no scrape of ${address} within ${timeoutMs} ms (scrapes so far: ${scrapeCount})`));
        }, timeoutMs);
        const waiter = {
          after: scrapeCount,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: (err: Error) => {
            clearTimeout(timer);
            reject(err);
          },
        };
        waiters.add(waiter);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const w of waiters) w.reject(new Error('exporter closed while waiting for a scrape'));
      waiters.clear();
      // Prometheus holds keep-alive connections open; without this close() would wait for them.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
