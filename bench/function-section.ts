// The `function` section: the webhook under the two function runtimes
// (faas-js-runtime for Knative Functions, functions-framework for Cloud Run
// functions) and under `hpa-bridge serve --http-port`, each a child process
// on plain HTTP as the platforms run them behind their TLS-ending ingress.
// Cold start is timed from spawn to the first correct answer to a real
// review, with the process's RSS at that moment, against the same runtime
// started with an empty function (a bare node:http server for serve); warm
// reviews/s against an express echo over plain HTTP.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { loadRuleSet } from '../rules/load.js';
import { reviewAdmission } from '../webhook/review.js';
import {
  cloudRunFunctionDirectory,
  faasCommand,
  firstAnswer,
  frameworkCommand,
  FUNCTION_MODULE,
  funcYamlEnv,
  knativeFunctionDirectory,
  serveCommand,
  startHost,
  type HostCommand,
  type Sent,
} from '../test/support/function-hosts.js';
import { freePort } from '../test/support/ports.js';
import { f, load, log, procStatusMB, ROOT, type Row } from './lib.js';
import type { LoadResult } from './load.js';

const RULES = join(ROOT, 'rules', 'examples');
const STARTS = 5;
const CONNECTIONS = 16;
const DURATION_S = 10;
const WARMUP_S = 2;
const COLD_MARGIN_MS = 300;
const RSS_TARGET_MB = 60;
/** The hosts log only warnings here, as serve's in-process rows run silent: a line per review would be measured too. */
const QUIET = { HPA_BRIDGE_LOG_LEVEL: 'warn' };

type HostId = 'faas' | 'framework' | 'serve';
const HOST_NAMES: Readonly<Record<HostId, string>> = { faas: 'faas-js-runtime', framework: 'functions-framework', serve: '`serve --http-port`' };

interface Start {
  readonly ms: number;
  readonly rssMB: number;
}

interface ColdStarts {
  readonly ours: readonly Start[];
  readonly empty: readonly Start[];
}

export interface FunctionRaw {
  readonly bodyBytes: number;
  readonly cold: Readonly<Record<HostId, ColdStarts>>;
  readonly warm: Readonly<Record<HostId, LoadResult>>;
  /** The same load on each host serving its empty function (serve's: the bare node:http server), which reviews nothing. */
  readonly warmEmpty: Readonly<Record<HostId, LoadResult>>;
  readonly echo: LoadResult;
  /** Medians of a node process that only imports a module graph, from spawn to exit: nothing, serve's, the function's. */
  readonly importMs: { readonly node: number; readonly serve: number; readonly function: number };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const medianMs = (xs: readonly Start[]): number => median(xs.map((x) => x.ms));
const medianRss = (xs: readonly Start[]): number => median(xs.map((x) => x.rssMB));

/** The runtimes' own smallest function, answering {} to everything: for faas-js-runtime `handle`, for functions-framework `empty`. */
const EMPTY_FUNCTION = `export const handle = () => ({});
export const empty = (req, res) => res.json({});
`;
/** serve's runtime is node itself: the smallest server answering {}. */
const BARE_SERVER = `require('node:http')
  .createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  })
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

async function bareCommand(file: string): Promise<HostCommand> {
  const port = await freePort();
  return { name: 'node:http', args: [file], env: { PATH: process.env.PATH, PORT: String(port) }, port, path: '/mutate' };
}

/** Milliseconds from spawn to exit of `node --input-type=module -e <script>`; rejects on a non-zero exit. */
function processMs(script: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`${script} exited with ${String(code)}`))));
  });
}

async function importMs(): Promise<FunctionRaw['importMs']> {
  const scripts = { node: '', serve: `await import(${JSON.stringify(join(ROOT, 'dist', 'cli', 'serve.js'))});`, function: `await import(${JSON.stringify(FUNCTION_MODULE)});` };
  const times: Record<keyof typeof scripts, number[]> = { node: [], serve: [], function: [] };
  for (let i = 0; i < STARTS; i++) for (const k of Object.keys(scripts) as (keyof typeof scripts)[]) times[k].push(await processMs(scripts[k]));
  return { node: median(times.node), serve: median(times.serve), function: median(times.function) };
}

/** Starts a host, waits for the first answer `accept` takes, reads its RSS, stops it. */
async function coldStart(command: HostCommand, body: string, accept: (s: Sent) => boolean): Promise<Start> {
  const host = startHost(command);
  try {
    const ms = await firstAnswer(host, body, accept, 30_000, 2);
    const rssMB = procStatusMB(host.pid, 'VmRSS');
    if (rssMB === undefined) throw new Error(`no VmRSS for ${host.name} (pid ${host.pid})`);
    return { ms, rssMB };
  } finally {
    await host.stop();
  }
}

export async function functionSection(work: string, body: string, echoServer: () => Promise<Server>): Promise<{ rows: Row[]; raw: FunctionRaw }> {
  const full = await loadRuleSet([RULES]);
  if (!full.ruleSet) throw new Error(`rules/examples did not load: ${full.errors.map((e) => e.message).join('; ')}`);
  // The answer serve's code gives with the same rules, computed here: every host's first answer must equal it.
  const expected = reviewAdmission(JSON.parse(body), full.ruleSet.defaults).review;
  const correct = (s: Sent): boolean => s.status === 200 && isDeepStrictEqual(JSON.parse(s.text), expected);
  const emptyAnswer = (s: Sent): boolean => s.status === 200 && s.text === '{}';

  const fnDir = await knativeFunctionDirectory(work);
  const cloudRunDir = await cloudRunFunctionDirectory(work);
  const fnEnv = { ...(await funcYamlEnv()), HPA_BRIDGE_RULES: RULES, ...QUIET };
  const emptyDir = join(work, 'empty');
  const emptyFnDir = await knativeFunctionDirectory(emptyDir);
  const emptyFile = join(emptyFnDir, 'empty.js');
  await writeFile(emptyFile, EMPTY_FUNCTION);
  const bareFile = join(work, 'bare-server.cjs');
  await writeFile(bareFile, BARE_SERVER);

  const commands: Record<HostId, { ours: () => Promise<HostCommand>; empty: () => Promise<HostCommand> }> = {
    faas: { ours: () => faasCommand(join(fnDir, 'index.js'), fnDir, fnEnv), empty: () => faasCommand(emptyFile, emptyFnDir, {}) },
    framework: { ours: () => frameworkCommand(cloudRunDir, 'mutate', { HPA_BRIDGE_RULES: RULES, ...QUIET }), empty: () => frameworkCommand(emptyFile, 'empty', {}) },
    serve: { ours: () => serveCommand(RULES, ['--log-level', 'warn']), empty: () => bareCommand(bareFile) },
  };
  const ids = Object.keys(commands) as HostId[];
  const cold = Object.fromEntries(ids.map((id) => [id, { ours: [] as Start[], empty: [] as Start[] }])) as Record<HostId, { ours: Start[]; empty: Start[] }>;
  // Interleaved, so a slow moment of the shared machine spreads over every host rather than one.
  for (let i = 0; i < STARTS; i++) {
    for (const id of ids) {
      log(`cold start ${i + 1}/${STARTS}: ${id}`);
      cold[id].empty.push(await coldStart(await commands[id].empty(), body, emptyAnswer));
      cold[id].ours.push(await coldStart(await commands[id].ours(), body, correct));
    }
  }

  log('module graph imports');
  const imports = await importMs();

  const spec = { connections: CONNECTIONS, durationSeconds: DURATION_S, warmupSeconds: WARMUP_S, method: 'POST' as const, headers: { 'content-type': 'application/json' }, body };
  const echo = await echoServer();
  let echoLoad: LoadResult;
  try {
    log(`webhook baseline (echo, plain HTTP), c=${CONNECTIONS}`);
    echoLoad = await load({ ...spec, url: `http://127.0.0.1:${(echo.address() as AddressInfo).port}/mutate` });
  } finally {
    echo.closeAllConnections();
    await new Promise<void>((r) => echo.close(() => r()));
  }
  const warmLoad = async (command: HostCommand, accept: (s: Sent) => boolean, what: string): Promise<LoadResult> => {
    const host = startHost(command);
    try {
      await firstAnswer(host, body, accept, 30_000);
      log(`warm: ${what}, c=${CONNECTIONS}`);
      return await load({ ...spec, url: host.url });
    } finally {
      await host.stop();
    }
  };
  const warm = {} as Record<HostId, LoadResult>;
  const warmEmpty = {} as Record<HostId, LoadResult>;
  for (const id of ids) {
    warm[id] = await warmLoad(await commands[id].ours(), correct, id);
    warmEmpty[id] = await warmLoad(await commands[id].empty(), emptyAnswer, `${id}, empty function`);
  }

  const raw: FunctionRaw = { bodyBytes: body.length, cold, warm, warmEmpty, echo: echoLoad, importMs: imports };
  return { rows: functionRows(raw), raw };
}

const COLD_IDS: Readonly<Record<HostId, string>> = { faas: '5c', framework: '5d', serve: '5e' };
const WARM_IDS: Readonly<Record<HostId, string>> = { faas: '5f', framework: '5g', serve: '5h' };

function loadText(r: LoadResult): string {
  const bad = r.non2xx + r.errors + r.timeouts;
  return `${f(r.rps, 0)} reviews/s, p50 ${f(r.p50Ms)} ms, p99 ${f(r.p99Ms)} ms${bad ? `, ${bad} failed` : ''}`;
}

function functionRows(raw: FunctionRaw): Row[] {
  const rows: Row[] = [];
  for (const id of Object.keys(COLD_IDS) as HostId[]) {
    const c = raw.cold[id];
    const ms = medianMs(c.ours);
    const base = medianMs(c.empty);
    const rss = medianRss(c.ours);
    const isFunction = id !== 'serve';
    const spread = (xs: readonly Start[]): string => `${f(Math.min(...xs.map((x) => x.ms)), 0)}–${f(Math.max(...xs.map((x) => x.ms)), 0)} ms`;
    rows.push({
      id: COLD_IDS[id],
      measurement: `Webhook cold start under ${HOST_NAMES[id]}: spawn to the first correct answer to a real review (rules/examples), median of ${c.ours.length}; RSS then`,
      value: `${f(ms, 0)} ms (${spread(c.ours)}), RSS ${f(rss, 0)} MB`,
      baseline: `${id === 'serve' ? 'a bare node:http server' : 'the same runtime with an empty function'} answering {}: ${f(base, 0)} ms (${spread(c.empty)}), RSS ${f(medianRss(c.empty), 0)} MB`,
      ratio: `+${f(ms - base, 0)} ms, +${f(rss - medianRss(c.empty), 0)} MB`,
      target: isFunction ? `≤ baseline + ${COLD_MARGIN_MS} ms = ${f(base + COLD_MARGIN_MS, 0)} ms, RSS ≤ ${RSS_TARGET_MB} MB` : `≤ baseline + ${COLD_MARGIN_MS} ms = ${f(base + COLD_MARGIN_MS, 0)} ms`,
      met: ms <= base + COLD_MARGIN_MS && (!isFunction || rss <= RSS_TARGET_MB),
    });
  }
  for (const id of Object.keys(WARM_IDS) as HostId[]) {
    const r = raw.warm[id];
    rows.push({
      id: WARM_IDS[id],
      measurement: `Webhook warm under ${HOST_NAMES[id]}, the row-5 review (${raw.bodyBytes} bytes), c=${CONNECTIONS}, plain HTTP keep-alive`,
      value: loadText(r),
      baseline: `express echo of an allowed review over plain HTTP: ${loadText(raw.echo)}; ${id === 'serve' ? 'a bare node:http server' : 'the same runtime with an empty function'} answering {}: ${loadText(raw.warmEmpty[id])}`,
      ratio: `${f(r.rps / raw.echo.rps, 2)}× rate`,
      target: '≥ 3,000 reviews/s, p99 ≤ 10 ms',
      met: r.non2xx + r.errors + r.timeouts === 0 && r.rps >= 3000 && r.p99Ms <= 10,
    });
  }
  return rows;
}

/** What bounds each missed function row, from the run's own figures. */
export function functionBounds(raw: FunctionRaw | undefined, missed: ReadonlySet<string>): string[] {
  if (!raw) return [];
  const lines: string[] = [];
  for (const id of ['faas', 'framework'] as const) {
    if (!missed.has(COLD_IDS[id])) continue;
    const c = raw.cold[id];
    const parts: string[] = [];
    const over = medianMs(c.ours) - medianMs(c.empty);
    if (over > COLD_MARGIN_MS)
      parts.push(
        `The webhook adds ${f(over, 0)} ms to the runtime's own start of ${f(medianMs(c.empty), 0)} ms; importing webhook/function.ts alone takes ${f(raw.importMs.function - raw.importMs.node, 0)} ms more than starting node`,
      );
    if (medianRss(c.ours) > RSS_TARGET_MB)
      parts.push(`The runtime serving an empty function already holds ${f(medianRss(c.empty), 0)} MB; the webhook adds ${f(medianRss(c.ours) - medianRss(c.empty), 0)} MB`);
    lines.push(`- **${COLD_IDS[id]} (${HOST_NAMES[id]} cold start).** ${parts.join('. ')}.`);
  }
  if (missed.has(COLD_IDS.serve)) {
    const i = raw.importMs;
    lines.push(
      `- **${COLD_IDS.serve} (\`serve --http-port\` cold start).** serve loads the whole server, metrics APIs and rule compiler included, to answer /mutate: a node process that only imports dist/cli/serve.js runs ${f(i.serve, 0)} ms against ${f(i.node, 0)} ms for node alone, and one that imports dist/webhook/function.js ${f(i.function, 0)} ms.`,
    );
  }
  for (const id of ['faas', 'framework', 'serve'] as const) {
    if (!missed.has(WARM_IDS[id])) continue;
    lines.push(
      `- **${WARM_IDS[id]} (${HOST_NAMES[id]} warm).** ${f(raw.warm[id].rps, 0)} reviews/s at p99 ${f(raw.warm[id].p99Ms, 0)} ms. ${id === 'serve' ? 'A bare node:http server' : 'The same runtime serving an empty function'}, which parses nothing and reviews nothing, does ${f(raw.warmEmpty[id].rps, 0)}/s at p99 ${f(raw.warmEmpty[id].p99Ms, 0)} ms, and the express echo ${f(raw.echo.rps, 0)}/s at p99 ${f(raw.echo.p99Ms, 0)} ms, on the same cores as the load generator.`,
    );
  }
  return lines;
}

export const FUNCTION_METHOD = `- **Webhook as a function (5c–5h).** Each host is a child process on plain HTTP, as
  Knative and Cloud Run run it behind their TLS-ending ingress: faas-js-runtime
  (node_modules/.bin) serving deploy/knative/function/index.js with func.yaml's
  environment, functions-framework serving \`--target=mutate\` of
  deploy/cloud-run-function with NODE_ENV=production, and \`hpa-bridge serve
  --http-port\`, all with rules/examples and logging warnings only. Cold start
  (5c–5e): from just before the spawn to the first answer, polled every 2 ms with
  the row-5 review, that equals what serve's review code gives for it (computed in
  the driver); RSS is the child's VmRSS at that moment. Baselines: the same runtime
  serving an empty function that answers \`{}\` (for serve, a bare node:http server),
  timed the same way. ${STARTS} starts of each, interleaved; medians. For what bounds
  them, a node process that only imports a module graph (none, dist/cli/serve.js,
  dist/webhook/function.js) is timed from spawn to exit, median of ${STARTS}. Warm (5f–5h): the
  row-5 review at c=${CONNECTIONS} for ${DURATION_S} s after ${WARMUP_S} s of warm-up, against the row-5 express
  echo served over plain HTTP, and the same load on each host's empty-function baseline.`;
