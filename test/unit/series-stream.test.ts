import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';

import { SeriesStreamError, SeriesSummarizer, summarizeSeriesStream, type SeriesSummarizerOptions, type SeriesSummary } from '../../adapter/series-stream.js';

interface Plain {
  labelNames: Record<string, string[]>;
  labelValues: Record<string, Record<string, { values: string[]; complete: boolean }>>;
  seriesCount: number;
}

function plain(summary: SeriesSummary): Plain {
  const labelValues: Plain['labelValues'] = {};
  for (const [metric, perLabel] of summary.labelValues) {
    labelValues[metric] = {};
    for (const [label, v] of perLabel) labelValues[metric][label] = { values: [...v.values], complete: v.complete };
  }
  return {
    labelNames: Object.fromEntries([...summary.labelNames].map(([k, v]) => [k, [...v]])),
    labelValues,
    seriesCount: summary.seriesCount,
  };
}

function summarize(chunks: string | Uint8Array | readonly (string | Uint8Array)[], options?: SeriesSummarizerOptions): Plain {
  const s = new SeriesSummarizer(options);
  for (const chunk of Array.isArray(chunks) ? chunks : [chunks]) s.push(chunk);
  return plain(s.finish());
}

function failure(chunks: string | readonly (string | Uint8Array)[]): string {
  const s = new SeriesSummarizer();
  try {
    for (const chunk of Array.isArray(chunks) ? chunks : [chunks]) s.push(chunk);
    s.finish();
  } catch (e) {
    assert.ok(e instanceof SeriesStreamError, `expected a SeriesStreamError, got ${String(e)}`);
    return e.message;
  }
  assert.fail('expected a SeriesStreamError');
}

// The same summary computed the obvious way, to check the streaming parser against.
function oracle(text: string, valuesFor: readonly string[] = [], max = 1000): Plain {
  const body = JSON.parse(text) as { data: Record<string, string>[] };
  const names = new Map<string, Set<string>>();
  const values = new Map<string, Map<string, Set<string>>>();
  for (const series of body.data) {
    const metric = series['__name__'];
    if (metric === undefined) continue;
    const set = names.get(metric) ?? new Set();
    names.set(metric, set);
    for (const [label, value] of Object.entries(series)) {
      if (label === '__name__') continue;
      set.add(label);
      if (!valuesFor.includes(label)) continue;
      const perLabel = values.get(metric) ?? new Map<string, Set<string>>();
      values.set(metric, perLabel);
      const vs = perLabel.get(label) ?? new Set();
      perLabel.set(label, vs);
      vs.add(value);
    }
  }
  const labelValues: Plain['labelValues'] = {};
  for (const metric of [...values.keys()].sort()) {
    labelValues[metric] = {};
    const perLabel = values.get(metric) ?? new Map<string, Set<string>>();
    for (const label of [...perLabel.keys()].sort()) {
      const all = [...(perLabel.get(label) ?? [])].sort();
      labelValues[metric][label] = { values: all.slice(0, max), complete: all.length <= max };
    }
  }
  return {
    labelNames: Object.fromEntries([...names.keys()].sort().map((m) => [m, [...(names.get(m) ?? [])].sort()])),
    labelValues,
    seriesCount: body.data.length,
  };
}

const NORMAL = JSON.stringify({
  status: 'success',
  data: [
    { __name__: 'http_requests_total', namespace: 'default', pod: 'web-1', code: '200' },
    { __name__: 'http_requests_total', namespace: 'shop', pod: 'web-2', code: '500' },
    { __name__: 'up', job: 'kubernetes-pods', instance: '10.0.0.1:8080' },
    { __name__: 'process_cpu_seconds_total', namespace: 'default', pod: 'web-1', container: 'app' },
  ],
});

// Whitespace between every kind of token, every escape JSON has, surrogate
// pairs both escaped and raw, escaped keys (an escaped `__name__` too), and
// an unknown key holding every kind of value.
const TRICKY = String.raw` 
{ "warnings" : [ "w1" , { "x" : [ 1 , -2.5e+3 , 0.5E-2 , true , false , null , { } , [ ] ] } ] ,
  "status" : "success" ,
	"data" : [
  {"__name__":"http_requests_total","namespace":"default","pod":"web-1"} ,
  { "pod" : "web-\"2\"" , "namespace" : "kube-system" , "__name__" : "http_requests_total" , "code" : "200" },
  {"path":"\/api\\v1\b\f\n\r\t","__name__":"caf\u00e9_total","r\u00e9gion":"\ud83d\ude00 日本", "namespace":"é\u00e9"},
  {"__name__":"日本_😀","é":"x","namespace":"ns-😀"},
  {"instance":"no-name"},
  {"__nam\u0065__":"escaped_key_metric","l\u0061bel":"v"},
  {}
 ] , "infos" : null } 
`;

describe('SeriesSummarizer', () => {
  test('a normal response yields each metric with its sorted label names and the series count', () => {
    assert.deepEqual(summarize(NORMAL), {
      labelNames: {
        http_requests_total: ['code', 'namespace', 'pod'],
        process_cpu_seconds_total: ['container', 'namespace', 'pod'],
        up: ['instance', 'job'],
      },
      labelValues: {},
      seriesCount: 4,
    });
  });

  test('the tricky response agrees with JSON.parse', () => {
    const expected = oracle(TRICKY, ['namespace']);
    assert.deepEqual(summarize(TRICKY, { valuesFor: ['namespace'] }), expected);
    assert.deepEqual(expected.labelNames['café_total'], ['namespace', 'path', 'région']);
    assert.deepEqual(expected.labelNames['escaped_key_metric'], ['label']);
    assert.equal(expected.seriesCount, 7);
  });

  describe('splitting the input anywhere gives the same summary as one chunk', () => {
    const options = { valuesFor: ['namespace', 'pod'] };
    const bytes = Buffer.from(TRICKY, 'utf8');
    const whole = summarize(TRICKY, options);
    const cases: [name: string, splits: (k: number) => (string | Uint8Array)[], points: number][] = [
      ['as bytes in two chunks, split at every byte (inside escapes and UTF-8 sequences too)', (k) => [bytes.subarray(0, k), bytes.subarray(k)], bytes.length],
      ['as text in two chunks, split at every UTF-16 unit (between surrogate halves too)', (k) => [TRICKY.slice(0, k), TRICKY.slice(k)], TRICKY.length],
      ['as bytes with an empty chunk at every position', (k) => [bytes.subarray(0, k), new Uint8Array(0), bytes.subarray(k)], bytes.length],
    ];
    for (const [name, splits, points] of cases) {
      test(name, () => {
        for (let k = 0; k <= points; k++) {
          assert.deepEqual(summarize(splits(k), options), whole, `split at ${k}`);
        }
      });
    }

    test('one byte at a time', () => {
      const chunks = Array.from({ length: bytes.length }, (_, k) => bytes.subarray(k, k + 1));
      assert.deepEqual(summarize(chunks, options), whole);
    });

    test('one UTF-16 unit at a time', () => {
      assert.deepEqual(summarize([...TRICKY.split('')], options), whole);
    });
  });

  test('__name__ may be the last key of a series', () => {
    const body = '{"status":"success","data":[{"pod":"a","namespace":"n","__name__":"m"},{"job":"j","__name__":"m"}]}';
    assert.deepEqual(summarize(body).labelNames, { m: ['job', 'namespace', 'pod'] });
  });

  test('label names are unioned across the series of one metric and sorted', () => {
    const body = JSON.stringify({
      status: 'success',
      data: [{ __name__: 'm', zeta: '1', alpha: '1' }, { __name__: 'other', beta: '1' }, { __name__: 'm', mid: '1', alpha: '2' }, { __name__: 'm' }, { __name__: 'm', Upper: '1', _under: '1' }],
    });
    assert.deepEqual(summarize(body).labelNames, { m: ['Upper', '_under', 'alpha', 'mid', 'zeta'], other: ['beta'] });
  });

  test('series without __name__ are counted but contribute no label names', () => {
    const body = '{"status":"success","data":[{"job":"a"},{},{"__name__":"m","pod":"p"},{"instance":"i"}]}';
    assert.deepEqual(summarize(body), { labelNames: { m: ['pod'] }, labelValues: {}, seriesCount: 4 });
  });

  test('an empty data array yields an empty summary', () => {
    assert.deepEqual(summarize('{"status":"success","data":[]}'), { labelNames: {}, labelValues: {}, seriesCount: 0 });
    assert.deepEqual(summarize('{"status":"success","data":null}'), { labelNames: {}, labelValues: {}, seriesCount: 0 });
  });

  describe('unknown top-level keys are skipped wherever they are', () => {
    const series = '[{"__name__":"m","pod":"p"}]';
    const cases: [name: string, body: string][] = [
      ['warnings before data', `{"status":"success","warnings":["a","b"],"data":${series}}`],
      ['status after data', `{"data":${series},"status":"success"}`],
      ['warnings and infos after data', `{"status":"success","data":${series},"warnings":["x"],"infos":["y"]}`],
      ['nested objects, numbers and literals', `{"extra":{"data":[1,{"status":"error"}],"n":-0.5e10,"t":true,"f":false,"z":null},"status":"success","data":${series}}`],
      ['a key named like a label inside an unknown object', `{"x":{"__name__":"not_a_metric"},"status":"success","data":${series}}`],
    ];
    for (const [name, body] of cases) {
      test(name, () => {
        assert.deepEqual(summarize(body), { labelNames: { m: ['pod'] }, labelValues: {}, seriesCount: 1 });
      });
    }
  });

  describe('error bodies become SeriesStreamError with Prometheus’ own text', () => {
    const cases: [name: string, body: string, message: string][] = [
      [
        'bad_data',
        '{"status":"error","errorType":"bad_data","error":"1:1: parse error: unexpected character: \'!\'"}',
        "Prometheus returned an error: bad_data: 1:1: parse error: unexpected character: '!'",
      ],
      [
        'error before errorType, with escapes',
        '{"error":"invalid parameter \\"match[]\\": 1:1: parse error: unexpected end of input","errorType":"bad_data","status":"error"}',
        'Prometheus returned an error: bad_data: invalid parameter "match[]": 1:1: parse error: unexpected end of input',
      ],
      ['unavailable with warnings', '{"status":"error","errorType":"unavailable","error":"TSDB not ready","warnings":["w"]}', 'Prometheus returned an error: unavailable: TSDB not ready'],
      ['no errorType', '{"status":"error","error":"boom"}', 'Prometheus returned an error: boom'],
      ['no text at all', '{"status":"error"}', 'Prometheus returned an error: no error text'],
    ];
    for (const [name, body, message] of cases) {
      test(name, () => {
        assert.equal(failure(body), message);
        assert.equal(failure([...body.split('')]), message, 'one character at a time');
      });
    }
  });

  describe('truncated bodies are reported with where they ended', () => {
    const cases: [body: string, message: string][] = [
      ['', 'empty series response'],
      [' \n ', 'empty series response'],
      ['{"status":"success","data":[{"__name__":"up', 'truncated series response (ended inside a string)'],
      ['{"status":"success","data":[{"__name__":"up\\', 'truncated series response (ended inside a string)'],
      ['{"status":"success","data":[{"__name__":"up\\u00', 'truncated series response (ended inside a string)'],
      ['{"status":"success","data":[{"__name__":"up",', 'truncated series response (ended inside a series)'],
      ['{"status":"success","data":[{"__name__":"up"}', 'truncated series response (ended inside the data array)'],
      ['{"status":"success","data":[{"__name__":"up"}]', 'truncated series response (ended inside the response object)'],
      ['{"status":"success"', 'truncated series response (ended inside the response object)'],
      ['{"warnings":[12', 'truncated series response (ended inside a number)'],
      ['{"warnings":[tr', 'truncated series response (ended inside a literal)'],
      ['{"warnings":[', 'truncated series response (ended inside an array)'],
      ['{"warnings":{"a":', 'truncated series response (ended inside an object)'],
    ];
    for (const [body, message] of cases) {
      test(JSON.stringify(body), () => {
        assert.equal(failure(body), message);
      });
    }

    test('every strict prefix of a valid response is truncated', () => {
      const bytes = Buffer.from(TRICKY.trimEnd(), 'utf8');
      for (let k = 0; k < bytes.length; k++) {
        assert.match(failure([bytes.subarray(0, k)]), /^(truncated series response \(ended inside .+\)|empty series response)$/, `prefix of ${k} bytes`);
      }
    });
  });

  describe('malformed bodies are reported with the byte where they went wrong', () => {
    const cases: [body: string, message: string][] = [
      ['{"status" "success"}', "at byte 10: expected ':'"],
      ['{"é":1 "x":2}', "at byte 8: expected ',' or '}'"], // byte, not UTF-16, offsets
      ['{"w":[1 2]}', "at byte 8: expected ',' or ']'"],
      ['[]', "at byte 0: expected '{'"],
      ['<html>503 Service Unavailable</html>', "at byte 0: expected '{'"],
      ['{,}', "at byte 1: expected a string key or '}'"],
      ["{'status':'success'}", "at byte 1: expected a string key or '}'"],
      ['{"data":[],}', 'at byte 11: expected a string key'],
      ['{"data":[{"a":"b"},]}', 'at byte 19: expected a series object'],
      ['{"w":[1,]}', 'at byte 8: expected a value'],
      ['{"data":[1]}', 'at byte 9: expected a series object'],
      ['{"data":[[]]}', 'at byte 9: expected a series object'],
      ['{"data":[{"__name__":1}]}', 'at byte 21: expected a string label value'],
      ['{"data":[{"pod":null}]}', 'at byte 16: expected a string label value'],
      ['{"a":"x\u0001"}', 'at byte 7: control character in a string'],
      ['{"a":"\\x"}', "at byte 7: invalid escape '\\x'"],
      ['{"a":"\\u12G4"}', 'at byte 10: invalid \\u escape'],
      ['{"a":tru}', "at byte 8: invalid literal 'tru'"],
      ['{"a":nulls}', "at byte 10: invalid literal 'nulls'"],
      ['{"a":01}', "at byte 7: invalid number '01'"],
      ['{"a":1.}', "at byte 7: invalid number '1.'"],
      ['{"a":-}', "at byte 6: invalid number '-'"],
      ['{"a":+1}', 'at byte 5: expected a value'],
      ['{"status":"success","data":[]} x', 'at byte 31: unexpected data after the response'],
      ['{"status":"success","data":[]}{}', 'at byte 30: unexpected data after the response'],
      [`{"w":${'['.repeat(1000)}`, 'at byte 516: nesting too deep'],
    ];
    for (const [body, message] of cases) {
      const shown = body.length > 40 ? `${body.slice(0, 40)}…` : body;
      test(`${message} in ${shown}`, () => {
        assert.equal(failure(body), `malformed series response ${message}`);
        assert.equal(failure([...body.split('')]), `malformed series response ${message}`, 'one character at a time');
      });
    }
  });

  describe('well-formed JSON that is not a series response is rejected', () => {
    const cases: [body: string, message: string][] = [
      ['{"data":[]}', 'malformed series response: no "status"'],
      ['{"status":"success"}', 'malformed series response: no "data"'],
      ['{"status":"success","data":{}}', 'malformed series response: "data" is not an array'],
      ['{"status":"success","data":"x"}', 'malformed series response: "data" is not an array'],
      ['{"status":"partial","data":[]}', 'malformed series response: unexpected status "partial"'],
      ['{"status":1,"data":[]}', 'malformed series response: no "status"'],
    ];
    for (const [body, message] of cases) {
      test(body, () => {
        assert.equal(failure(body), message);
      });
    }
  });

  test('a failure is sticky: later push and finish calls throw the same error', () => {
    const s = new SeriesSummarizer();
    let first: unknown;
    try {
      s.push('{"a" 1}');
    } catch (e) {
      first = e;
    }
    assert.ok(first instanceof SeriesStreamError);
    assert.throws(
      () => s.push('{}'),
      (e) => e === first,
    );
    assert.throws(
      () => s.finish(),
      (e) => e === first,
    );
  });

  test('finish can be called twice and returns the same summary', () => {
    const s = new SeriesSummarizer();
    s.push(NORMAL);
    assert.equal(s.finish(), s.finish());
  });

  test('values of the requested labels are collected per metric, sorted and bounded', () => {
    const body = JSON.stringify({
      status: 'success',
      data: [
        { __name__: 'a', namespace: 'z', pod: 'p1' },
        { __name__: 'a', namespace: 'x', pod: 'p2' },
        { __name__: 'a', namespace: 'z', pod: 'p3' },
        { __name__: 'b', namespace: 'n3' },
        { __name__: 'b', namespace: 'n1' },
        { __name__: 'b', namespace: 'n2' },
        { __name__: 'c', job: 'j' },
        { namespace: 'unnamed' },
      ],
    });
    assert.deepEqual(summarize(body, { valuesFor: ['namespace', 'node'], maxValuesPerLabel: 2 }).labelValues, {
      a: { namespace: { values: ['x', 'z'], complete: true } },
      b: { namespace: { values: ['n1', 'n3'], complete: false } },
    });
  });
});

describe('summarizeSeriesStream', () => {
  const bytes = Buffer.from(TRICKY, 'utf8');
  const expected = oracle(TRICKY);
  const pieces = (): Uint8Array[] => Array.from({ length: Math.ceil(bytes.length / 7) }, (_, k) => bytes.subarray(k * 7, k * 7 + 7));

  test('reads a web ReadableStream', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const p of pieces()) controller.enqueue(p);
        controller.close();
      },
    });
    assert.deepEqual(plain(await summarizeSeriesStream(body)), expected);
  });

  test('reads an async iterable and a Node Readable', async () => {
    async function* gen(): AsyncGenerator<Uint8Array> {
      yield* pieces();
    }
    assert.deepEqual(plain(await summarizeSeriesStream(gen())), expected);
    assert.deepEqual(plain(await summarizeSeriesStream(Readable.from(pieces()))), expected);
  });

  test('passes the value options through', async () => {
    const summary = await summarizeSeriesStream(Readable.from([Buffer.from(NORMAL)]), { valuesFor: ['namespace'] });
    assert.deepEqual(plain(summary).labelValues, {
      http_requests_total: { namespace: { values: ['default', 'shop'], complete: true } },
      process_cpu_seconds_total: { namespace: { values: ['default'], complete: true } },
    });
  });

  test('an error body rejects with SeriesStreamError', async () => {
    const body = Readable.from([Buffer.from('{"status":"error","errorType":"bad_data","error":"1:1: parse error: bad"}')]);
    await assert.rejects(summarizeSeriesStream(body), { name: 'SeriesStreamError', message: 'Prometheus returned an error: bad_data: 1:1: parse error: bad' });
  });

  test('a malformed stream is cancelled as soon as the error is seen', async () => {
    let cancelled: unknown;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(Buffer.from('{"status" 1'));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    await assert.rejects(summarizeSeriesStream(body), SeriesStreamError);
    assert.ok(cancelled instanceof SeriesStreamError);
  });

  test('aborting a stalled ReadableStream rejects with the abort reason and cancels it', async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(Buffer.from('{"status":"success","data":['));
      },
      cancel() {
        cancelled = true;
      },
    });
    const ac = new AbortController();
    const pending = summarizeSeriesStream(body, { signal: ac.signal });
    setTimeout(() => ac.abort(), 10);
    await assert.rejects(pending, { name: 'AbortError' });
    assert.equal(cancelled, true);
  });

  test('aborting a stalled async iterable rejects with the abort reason', async () => {
    async function* stalled(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('{"status":"success","data":[');
      await new Promise(() => undefined);
    }
    const ac = new AbortController();
    const pending = summarizeSeriesStream(stalled(), { signal: ac.signal });
    setTimeout(() => ac.abort(), 10);
    await assert.rejects(pending, { name: 'AbortError' });
  });

  test('an already aborted signal rejects before reading', async () => {
    await assert.rejects(summarizeSeriesStream(Readable.from([Buffer.from(NORMAL)]), { signal: AbortSignal.abort() }), { name: 'AbortError' });
  });
});

describe('a large response', () => {
  const SERIES = 200_000;
  const METRICS = 50;
  const NAMESPACES = 97;

  // About 50 MB: 200,000 series of 50 metrics spread over 97 namespaces;
  // every 1000th series has no name and every third one has __name__ last.
  function generate(): Buffer {
    const parts: string[] = ['{"status":"success","data":['];
    for (let i = 0; i < SERIES; i++) {
      const m = i % METRICS;
      const name = i % 1000 === 999 ? '' : `"__name__":"kube_metric_number_${m}_total",`;
      const labels =
        `"namespace":"namespace-${i % NAMESPACES}","pod":"deployment-${i}-7f9c8d6b5-x2x9z","instance":"10.${i % 256}.${(i >> 8) % 256}.7:8080",` +
        `"job":"kubernetes-service-endpoints","container":"application-server","service":"service-${i % 300}",` +
        `"endpoint":"http-metrics","uid":"0f8fad5b-d9cb-469f-a165-70867728950e","extra_${m % 5}":"v"`;
      const series = i % 3 === 0 && name !== '' ? `{${labels},${name.slice(0, -1)}}` : `{${name}${labels}}`;
      parts.push(i === 0 ? series : `,${series}`);
    }
    parts.push('],"warnings":[]}');
    return Buffer.from(parts.join(''), 'utf8');
  }

  test('200,000 series fed in 64 KiB chunks yield one entry per metric with the right counts', () => {
    const payload = generate();
    assert.ok(payload.length > 45_000_000, `payload is ${payload.length} bytes`);
    const s = new SeriesSummarizer({ valuesFor: ['namespace'] });
    for (let off = 0; off < payload.length; off += 65536) s.push(payload.subarray(off, off + 65536));
    const summary = s.finish();

    assert.equal(summary.seriesCount, SERIES);
    assert.equal(summary.labelNames.size, METRICS);
    assert.equal(summary.labelValues.size, METRICS);
    for (let m = 0; m < METRICS; m++) {
      const metric = `kube_metric_number_${m}_total`;
      assert.deepEqual(summary.labelNames.get(metric), ['container', 'endpoint', `extra_${m % 5}`, 'instance', 'job', 'namespace', 'pod', 'service', 'uid']);
      const ns = summary.labelValues.get(metric)?.get('namespace');
      assert.equal(ns?.values.length, NAMESPACES);
      assert.equal(ns?.complete, true);
    }
  });
});
