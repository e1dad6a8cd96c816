// Streaming summary of a Prometheus `/api/v1/series` response.
//
// On large clusters that response is hundreds of megabytes (200,000+ series),
// and discovery only needs, per metric name, which label names occur (plus a
// bounded sample of values for a few labels such as `namespace`). Parsing it
// with JSON.parse would hold the body and one object per series at once, so
// this is a small JSON state machine that walks the text as it arrives and
// keeps only the current series' label names until its object closes
// (`__name__` may be its last key). Memory grows with the number of distinct
// (metric, label) pairs, never with the payload or the series count.

import { utf8Length } from '../k8s/go-strings.js';

export interface SeriesSummary {
  /** metric name -> sorted label names seen on any of its series (without __name__) */
  readonly labelNames: ReadonlyMap<string, readonly string[]>;
  /**
   * metric name -> label name -> values seen, for the labels named in
   * `valuesFor` only. A label that none of a metric's series carries has no
   * entry.
   */
  readonly labelValues: ReadonlyMap<string, ReadonlyMap<string, LabelValues>>;
  readonly seriesCount: number;
}

interface LabelValues {
  /** Sorted distinct values, at most `maxValuesPerLabel` of them. */
  readonly values: readonly string[];
  /** False when more distinct values existed than were kept. */
  readonly complete: boolean;
}

export interface SeriesSummarizerOptions {
  /** Labels whose values to collect per metric, e.g. `['namespace']`. */
  readonly valuesFor?: readonly string[];
  /** Cap on distinct values kept per (metric, label). Default 1000. */
  readonly maxValuesPerLabel?: number;
}

export class SeriesStreamError extends Error {
  override readonly name = 'SeriesStreamError';
}

const DEFAULT_MAX_VALUES_PER_LABEL = 1000;
// Only unknown keys (warnings and the like) can nest; a bound keeps a hostile
// or broken body from growing the container stack without limit.
const MAX_DEPTH = 512;

// What the parser expects next.
const M_VALUE = 0;
const M_VALUE_OR_END = 1; // just after '['
const M_KEY_OR_END = 2; // just after '{'
const M_KEY = 3; // after ',' in an object
const M_COLON = 4;
const M_AFTER_VALUE = 5; // ',' or the closing bracket
const M_STRING = 6;
const M_NUMBER = 7;
const M_LITERAL = 8;
const M_DONE = 9;

// The role of an open container, which decides what its strings mean.
const R_NONE = 0;
const R_ROOT = 1;
const R_DATA = 2;
const R_SERIES = 3;
const R_OBJECT = 4; // inside an unknown top-level key
const R_ARRAY = 5;

// What to do with a string once it closes.
const T_SKIP = 0;
const T_ROOT_KEY = 1;
const T_SERIES_KEY = 2;
const T_STATUS = 3;
const T_ERROR_TYPE = 4;
const T_ERROR = 5;
const T_NAME = 6;
const T_LABEL_VALUE = 7;

// Top-level keys that matter.
const K_OTHER = 0;
const K_DATA = 1;
const K_STATUS = 2;
const K_ERROR_TYPE = 3;
const K_ERROR = 4;

const D_ABSENT = 0;
const D_ARRAY = 1;
const D_NULL = 2;
const D_OTHER = 3;

const NUMBER_RE = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

interface MetricEntry {
  readonly labels: Set<string>;
  values: Map<string, { readonly set: Set<string>; complete: boolean }> | undefined;
}

function isObjectRole(role: number): boolean {
  return role === R_ROOT || role === R_SERIES || role === R_OBJECT;
}

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function isNumberChar(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 101 || c === 69;
}

// Substrings of a chunk can be V8 "sliced strings" that keep the whole chunk
// alive; a map key that lives for the process must own its characters.
function detach(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

export class SeriesSummarizer {
  private readonly wanted: ReadonlySet<string> | undefined;
  private readonly maxValues: number;
  private readonly decoder = new TextDecoder('utf-8');

  private mode = M_VALUE;
  private readonly roles: number[] = [];
  private top = R_NONE;
  /** UTF-8 bytes of the text already walked, for error positions. */
  private base = 0;

  // The token in progress; only a token that straddles a chunk boundary is
  // carried over, and only when its text is needed.
  private strTarget = T_SKIP;
  private strIsKey = false;
  private strEscaped = false;
  private strPending = '';
  private esc = 0; // 0: plain, -1: after '\', 1..4: hex digits of \u left
  private tok = '';

  private rootKey = K_OTHER;
  private status: string | undefined;
  private errorType: string | undefined;
  private errorText: string | undefined;
  private dataState = D_ABSENT;

  private valueTarget = T_SKIP;
  private valueLabel = '';
  private curName: string | undefined;
  private readonly curLabels: string[] = [];
  private readonly curValues: string[] = []; // label, value, label, value, ...

  private readonly names = new Map<string, string>();
  private readonly metrics = new Map<string, MetricEntry>();
  private lastName: string | undefined;
  private lastEntry: MetricEntry | undefined;
  private seriesCount = 0;

  private failure: SeriesStreamError | undefined;
  private result: SeriesSummary | undefined;

  constructor(options: SeriesSummarizerOptions = {}) {
    this.wanted = options.valuesFor && options.valuesFor.length > 0 ? new Set(options.valuesFor) : undefined;
    this.maxValues = options.maxValuesPerLabel ?? DEFAULT_MAX_VALUES_PER_LABEL;
  }

  push(chunk: string | Uint8Array): void {
    if (this.failure) throw this.failure;
    if (this.result) throw new Error('SeriesSummarizer.push called after finish');
    let text: string;
    if (typeof chunk === 'string') {
      // Bytes left over from an earlier binary chunk belong before this text.
      const rest = this.decoder.decode();
      text = rest.length > 0 ? rest + chunk : chunk;
    } else {
      text = this.decoder.decode(chunk, { stream: true });
    }
    this.feed(text);
  }

  finish(): SeriesSummary {
    if (this.failure) throw this.failure;
    if (this.result) return this.result;
    this.feed(this.decoder.decode());
    try {
      this.result = this.summarize();
    } catch (e) {
      if (e instanceof SeriesStreamError) this.failure = e;
      throw e;
    }
    return this.result;
  }

  private feed(text: string): void {
    if (text.length === 0) return;
    try {
      this.walk(text);
    } catch (e) {
      if (e instanceof SeriesStreamError) this.failure = e;
      throw e;
    }
    this.base += utf8Length(text);
  }

  private walk(text: string): void {
    const n = text.length;
    let mode = this.mode;
    let i = 0;
    while (i < n) {
      if (mode === M_STRING) {
        // The hot loop: most of the payload is string contents.
        const start = i;
        let esc = this.esc;
        let c = 0;
        for (; i < n; i++) {
          c = text.charCodeAt(i);
          if (esc === 0) {
            if (c === 34) break;
            if (c === 92) {
              esc = -1;
              this.strEscaped = true;
            } else if (c < 32) {
              throw this.malformed(text, i, 'control character in a string');
            }
          } else if (esc === -1) {
            if (c === 117) {
              esc = 4;
            } else if (c === 34 || c === 92 || c === 47 || c === 98 || c === 102 || c === 110 || c === 114 || c === 116) {
              esc = 0;
            } else {
              throw this.malformed(text, i, `invalid escape '\\${String.fromCharCode(c)}'`);
            }
          } else {
            if (!isHexDigit(c)) throw this.malformed(text, i, 'invalid \\u escape');
            esc--;
          }
        }
        this.esc = esc;
        if (i === n) {
          if (this.strTarget !== T_SKIP) this.strPending += text.slice(start, n);
          break;
        }
        let value = '';
        if (this.strTarget !== T_SKIP) {
          const raw = this.strPending.length > 0 ? this.strPending + text.slice(start, i) : text.slice(start, i);
          this.strPending = '';
          // Escapes were validated above, so JSON.parse cannot fail here.
          value = this.strEscaped ? (JSON.parse(`"${raw}"`) as string) : raw;
        }
        i++;
        mode = this.stringDone(value);
        continue;
      }

      const c = text.charCodeAt(i);
      switch (mode) {
        case M_VALUE:
        case M_VALUE_OR_END:
          if (c === 32 || c === 10 || c === 13 || c === 9) {
            i++;
          } else if (c === 93 && mode === M_VALUE_OR_END) {
            mode = this.close();
            i++;
          } else {
            mode = this.beginValue(text, i, c);
            // Numbers and literals collect their first character themselves.
            if (mode !== M_NUMBER && mode !== M_LITERAL) i++;
          }
          break;

        case M_KEY_OR_END:
        case M_KEY:
          if (c === 32 || c === 10 || c === 13 || c === 9) {
            i++;
          } else if (c === 34) {
            const top = this.top;
            this.strIsKey = true;
            this.strEscaped = false;
            this.strTarget = top === R_ROOT ? T_ROOT_KEY : top === R_SERIES ? T_SERIES_KEY : T_SKIP;
            mode = M_STRING;
            i++;
          } else if (c === 125 && mode === M_KEY_OR_END) {
            mode = this.close();
            i++;
          } else {
            throw this.malformed(text, i, mode === M_KEY_OR_END ? "expected a string key or '}'" : 'expected a string key');
          }
          break;

        case M_COLON:
          if (c === 32 || c === 10 || c === 13 || c === 9) {
            i++;
          } else if (c === 58) {
            mode = M_VALUE;
            i++;
          } else {
            throw this.malformed(text, i, "expected ':'");
          }
          break;

        case M_AFTER_VALUE: {
          if (c === 32 || c === 10 || c === 13 || c === 9) {
            i++;
            break;
          }
          const inObject = isObjectRole(this.top);
          if (c === 44) {
            mode = inObject ? M_KEY : M_VALUE;
          } else if (c === (inObject ? 125 : 93)) {
            mode = this.close();
          } else {
            throw this.malformed(text, i, inObject ? "expected ',' or '}'" : "expected ',' or ']'");
          }
          i++;
          break;
        }

        case M_NUMBER:
        case M_LITERAL: {
          const start = i;
          if (mode === M_NUMBER) {
            while (i < n && isNumberChar(text.charCodeAt(i))) i++;
          } else {
            while (i < n && text.charCodeAt(i) >= 97 && text.charCodeAt(i) <= 122) i++;
          }
          const tok = this.tok + text.slice(start, i);
          if (i === n) {
            this.tok = tok;
            break;
          }
          this.tok = '';
          if (mode === M_NUMBER ? !NUMBER_RE.test(tok) : tok !== 'true' && tok !== 'false' && tok !== 'null') {
            throw this.malformed(text, i, `invalid ${mode === M_NUMBER ? 'number' : 'literal'} '${tok}'`);
          }
          // The terminating character is looked at again in the new mode.
          mode = this.top === R_NONE ? M_DONE : M_AFTER_VALUE;
          break;
        }

        case M_DONE:
          if (c === 32 || c === 10 || c === 13 || c === 9) {
            i++;
          } else {
            throw this.malformed(text, i, 'unexpected data after the response');
          }
          break;
      }
    }
    this.mode = mode;
  }

  private beginValue(text: string, i: number, c: number): number {
    const top = this.top;
    if (top === R_NONE) {
      if (c !== 123) throw this.malformed(text, i, "expected '{'");
      this.open(text, i, R_ROOT);
      return M_KEY_OR_END;
    }
    if (top === R_DATA) {
      if (c !== 123) throw this.malformed(text, i, 'expected a series object');
      this.open(text, i, R_SERIES);
      this.curName = undefined;
      this.curLabels.length = 0;
      this.curValues.length = 0;
      return M_KEY_OR_END;
    }
    if (top === R_SERIES) {
      if (c !== 34) throw this.malformed(text, i, 'expected a string label value');
      return this.beginString(this.valueTarget);
    }
    if (top === R_ROOT) {
      switch (this.rootKey) {
        case K_DATA:
          if (c === 91) {
            this.dataState = D_ARRAY;
            this.open(text, i, R_DATA);
            return M_VALUE_OR_END;
          }
          // Anything else is skipped; finish() decides whether it is an error.
          this.dataState = c === 110 ? D_NULL : D_OTHER;
          break;
        case K_STATUS:
          if (c === 34) return this.beginString(T_STATUS);
          break;
        case K_ERROR_TYPE:
          if (c === 34) return this.beginString(T_ERROR_TYPE);
          break;
        case K_ERROR:
          if (c === 34) return this.beginString(T_ERROR);
          break;
      }
    }
    if (c === 34) return this.beginString(T_SKIP);
    if (c === 123) {
      this.open(text, i, R_OBJECT);
      return M_KEY_OR_END;
    }
    if (c === 91) {
      this.open(text, i, R_ARRAY);
      return M_VALUE_OR_END;
    }
    if (c === 45 || (c >= 48 && c <= 57)) return M_NUMBER;
    if (c === 116 || c === 102 || c === 110) return M_LITERAL;
    throw this.malformed(text, i, 'expected a value');
  }

  private beginString(target: number): number {
    this.strTarget = target;
    this.strIsKey = false;
    this.strEscaped = false;
    return M_STRING;
  }

  private open(text: string, i: number, role: number): void {
    if (this.roles.length >= MAX_DEPTH) throw this.malformed(text, i, 'nesting too deep');
    this.roles.push(role);
    this.top = role;
  }

  private close(): number {
    const role = this.roles.pop();
    if (role === R_SERIES) this.commitSeries();
    const depth = this.roles.length;
    this.top = depth > 0 ? (this.roles[depth - 1] ?? R_NONE) : R_NONE;
    return depth === 0 ? M_DONE : M_AFTER_VALUE;
  }

  private stringDone(value: string): number {
    const target = this.strTarget;
    if (this.strIsKey) {
      if (target === T_SERIES_KEY) {
        const name = this.intern(value);
        if (name === '__name__') {
          this.valueTarget = T_NAME;
        } else {
          this.curLabels.push(name);
          if (this.wanted?.has(name)) {
            this.valueTarget = T_LABEL_VALUE;
            this.valueLabel = name;
          } else {
            this.valueTarget = T_SKIP;
          }
        }
      } else if (target === T_ROOT_KEY) {
        this.rootKey = value === 'data' ? K_DATA : value === 'status' ? K_STATUS : value === 'errorType' ? K_ERROR_TYPE : value === 'error' ? K_ERROR : K_OTHER;
      }
      return M_COLON;
    }
    switch (target) {
      case T_NAME:
        this.curName = value;
        break;
      case T_LABEL_VALUE:
        this.curValues.push(this.valueLabel, value);
        break;
      case T_STATUS:
        this.status = value;
        break;
      case T_ERROR_TYPE:
        this.errorType = value;
        break;
      case T_ERROR:
        this.errorText = value;
        break;
    }
    return M_AFTER_VALUE;
  }

  private intern(s: string): string {
    let v = this.names.get(s);
    if (v === undefined) {
      v = detach(s);
      this.names.set(v, v);
    }
    return v;
  }

  private commitSeries(): void {
    this.seriesCount++;
    const name = this.curName;
    if (name === undefined) return;
    let entry: MetricEntry | undefined;
    // Series of one metric tend to arrive together.
    if (name === this.lastName) {
      entry = this.lastEntry;
    } else {
      const key = this.intern(name);
      entry = this.metrics.get(key);
      if (entry === undefined) {
        entry = { labels: new Set(), values: undefined };
        this.metrics.set(key, entry);
      }
      this.lastName = key;
      this.lastEntry = entry;
    }
    if (entry === undefined) return;
    const labels = entry.labels;
    for (const label of this.curLabels) labels.add(label);
    const cv = this.curValues;
    for (let k = 0; k + 1 < cv.length; k += 2) {
      const label = cv[k] as string;
      const value = cv[k + 1] as string;
      entry.values ??= new Map();
      let bucket = entry.values.get(label);
      if (bucket === undefined) {
        bucket = { set: new Set(), complete: true };
        entry.values.set(label, bucket);
      }
      if (bucket.set.has(value)) continue;
      if (bucket.set.size >= this.maxValues) {
        bucket.complete = false;
      } else {
        bucket.set.add(detach(value));
      }
    }
  }

  private summarize(): SeriesSummary {
    if (this.mode !== M_DONE) {
      if (this.top === R_NONE && this.mode === M_VALUE) throw new SeriesStreamError('empty series response');
      throw new SeriesStreamError(`truncated series response (ended inside ${this.where()})`);
    }
    if (this.status === 'error') {
      const parts = [this.errorType, this.errorText].filter((p): p is string => p !== undefined && p !== '');
      throw new SeriesStreamError(`Prometheus returned an error: ${parts.length > 0 ? parts.join(': ') : 'no error text'}`);
    }
    if (this.status === undefined) throw new SeriesStreamError('malformed series response: no "status"');
    if (this.status !== 'success') throw new SeriesStreamError(`malformed series response: unexpected status ${JSON.stringify(this.status)}`);
    if (this.dataState === D_ABSENT) throw new SeriesStreamError('malformed series response: no "data"');
    if (this.dataState === D_OTHER) throw new SeriesStreamError('malformed series response: "data" is not an array');

    const metricNames = [...this.metrics.keys()].sort();
    const labelNames = new Map<string, readonly string[]>();
    const labelValues = new Map<string, ReadonlyMap<string, LabelValues>>();
    for (const metric of metricNames) {
      const entry = this.metrics.get(metric);
      if (entry === undefined) continue;
      labelNames.set(metric, [...entry.labels].sort());
      if (entry.values) {
        const perLabel = new Map<string, LabelValues>();
        for (const label of [...entry.values.keys()].sort()) {
          const bucket = entry.values.get(label);
          if (bucket) perLabel.set(label, { values: [...bucket.set].sort(), complete: bucket.complete });
        }
        labelValues.set(metric, perLabel);
      }
    }
    return { labelNames, labelValues, seriesCount: this.seriesCount };
  }

  private where(): string {
    switch (this.mode) {
      case M_STRING:
        return 'a string';
      case M_NUMBER:
        return 'a number';
      case M_LITERAL:
        return 'a literal';
    }
    switch (this.top) {
      case R_ROOT:
        return 'the response object';
      case R_DATA:
        return 'the data array';
      case R_SERIES:
        return 'a series';
      case R_ARRAY:
        return 'an array';
      default:
        return 'an object';
    }
  }

  private malformed(text: string, i: number, what: string): SeriesStreamError {
    const at = this.base + utf8Length(text.slice(0, i));
    return new SeriesStreamError(`malformed series response at byte ${at}: ${what}`);
  }
}

/**
 * Reads a `/api/v1/series` response body to the end and summarizes it.
 * Rejects with SeriesStreamError for bad bodies and with the signal's reason
 * when aborted; either way the body is cancelled so the connection is freed.
 */
export async function summarizeSeriesStream(body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>, options: SeriesSummarizerOptions & { signal?: AbortSignal } = {}): Promise<SeriesSummary> {
  const { signal, ...summarizerOptions } = options;
  signal?.throwIfAborted();
  const summarizer = new SeriesSummarizer(summarizerOptions);
  if ('getReader' in body) {
    await readStream(body, summarizer, signal);
  } else {
    await readIterable(body, summarizer, signal);
  }
  return summarizer.finish();
}

async function readStream(body: ReadableStream<Uint8Array>, summarizer: SeriesSummarizer, signal: AbortSignal | undefined): Promise<void> {
  const reader = body.getReader();
  // Cancelling settles a pending read(), so an abort cannot hang on a stalled body.
  const onAbort = (): void => {
    reader.cancel(signal?.reason).catch(() => undefined);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      signal?.throwIfAborted();
      if (done) return;
      summarizer.push(value);
    }
  } catch (e) {
    reader.cancel(e).catch(() => undefined);
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    reader.releaseLock();
  }
}

async function readIterable(body: AsyncIterable<Uint8Array>, summarizer: SeriesSummarizer, signal: AbortSignal | undefined): Promise<void> {
  const it = body[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal?.reason);
  });
  aborted.catch(() => undefined);
  if (signal && onAbort) signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const step = signal ? await Promise.race([it.next(), aborted]) : await it.next();
      if (step.done) return;
      summarizer.push(step.value);
    }
  } catch (e) {
    // Not awaited: a generator with a next() still pending would never settle it.
    Promise.resolve(it.return?.()).catch(() => undefined);
    throw e;
  } finally {
    if (signal && onAbort) signal.removeEventListener('abort', onAbort);
  }
}
