// Records every module a process loads, for the test that the function entry
// point loads only what the webhook needs. Given to node as
// `--import <this file's URL>`: on the main thread it registers itself as a
// loader hook, whose resolve step (run on the hooks thread) posts each
// resolved URL back over a MessagePort. loadedModules() waits until every
// post has arrived, then adds the CommonJS modules from require.cache, since
// a require() inside a CommonJS package never passes the hooks on Node 20.
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isMainThread, MessageChannel, type MessagePort } from 'node:worker_threads';

interface ResolveContext {
  readonly conditions: readonly string[];
  readonly importAttributes: Readonly<Record<string, string>>;
  readonly parentURL: string | undefined;
}
interface ResolveResult {
  readonly url: string;
  readonly format?: string | null;
  readonly shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context?: ResolveContext) => Promise<ResolveResult>;

let hooksPort: MessagePort | undefined;

/** Hooks thread: the port to post to. */
export function initialize(data: { port: MessagePort }): void {
  hooksPort = data.port;
}

/** Hooks thread: every resolution, posted on its way through. */
export async function resolve(specifier: string, context: ResolveContext, next: NextResolve): Promise<ResolveResult> {
  const result = await next(specifier, context);
  hooksPort?.postMessage(result.url);
  return result;
}

const seen = new Set<string>();
const waiting = new Map<string, () => void>();

if (isMainThread) {
  const { port1, port2 } = new MessageChannel();
  port1.on('message', (url: string) => {
    seen.add(url);
    waiting.get(url)?.();
  });
  port1.unref();
  register(import.meta.url, { data: { port: port2 }, transferList: [port2] });
}

/** The URLs of every module loaded so far, ES and CommonJS, sorted. */
export async function loadedModules(): Promise<string[]> {
  // Posts on one port arrive in order: once a fresh sentinel's URL is back, so is everything resolved before it.
  const sentinel = `data:text/javascript,export{}//${String(Math.random())}`;
  const back = new Promise<void>((r) => waiting.set(sentinel, r));
  await import(sentinel);
  await back;
  seen.delete(sentinel);
  const cjs = Object.keys(createRequire(import.meta.url).cache).map((path) => pathToFileURL(path).href);
  return [...new Set([...seen, ...cjs])].sort();
}
