// The webhook as a function, for the two Node function runtimes that also
// run locally: faas-js-runtime (Knative Functions, `func`), which calls
// init() before it listens and then handle(context, body), and
// @google-cloud/functions-framework (Cloud Run functions), which calls the
// export named by --target, here mutate(req, res), with express's request
// and the body already parsed. Both end in serve's reviewer (handler.ts).
//
// The policy is the `defaults` section of the rule files named by
// HPA_BRIDGE_RULES (a ConfigMap volume), reloaded when they change. Without
// one that loads, the built-in fallback applies and a warning is logged: a
// review never fails for want of a policy. Nothing here loads the metrics
// APIs, the custom-rule compiler or serve's logger, so a cold start pays for
// YAML, quantities, selectors and the review alone.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { DefaultsStore, FALLBACK_POLICY } from '../rules/defaults-files.js';
import { formatDiagnostic } from '../rules/diagnostics.js';
import type { FileWatch } from '../rules/file-watch.js';
import { checkBodySize, createWebhookReviewer, parseJsonBody, sendAnswer, type WebhookAnswer, type WebhookLogger, type WebhookRequest } from './handler.js';
import { TemplateMemory } from './hpa-review.js';

/** Rule files or directories, comma-separated. */
export const RULES_ENV = 'HPA_BRIDGE_RULES';
/** debug, info (the default), warn, error or silent, as serve's --log-level. */
export const LOG_LEVEL_ENV = 'HPA_BRIDGE_LOG_LEVEL';

const LOG_LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type LogLevel = keyof typeof LOG_LEVELS;

/**
 * JSON lines on stderr with serve's keys (level, time, name, msg), plus the
 * `severity` Cloud Logging reads; serve's own logger is pino behind
 * adapter/, which a function must not load.
 */
export function functionLogger(level: LogLevel, write: (line: string) => void = (line) => void process.stderr.write(line)): WebhookLogger {
  const line = (at: 'info' | 'warn', msg: string, fields: Readonly<Record<string, unknown>> | undefined): void => {
    if (LOG_LEVELS[at] < LOG_LEVELS[level]) return;
    const severity = at === 'warn' ? 'WARNING' : 'INFO';
    write(`${JSON.stringify({ level: at, time: new Date().toISOString(), name: 'hpa-bridge', severity, ...fields, msg })}\n`);
  };
  return { info: (m, f) => line('info', m, f), warn: (m, f) => line('warn', m, f) };
}

export interface FunctionWebhookOptions {
  /** Rule files or directories; none means the built-in fallback. */
  readonly rules: readonly string[];
  readonly log: WebhookLogger;
  /** How the rule files are watched; the defaults are serve's (250 ms debounce, 30 s poll). */
  readonly watch?: { readonly debounceMs?: number; readonly pollMs?: number };
}

export interface FunctionWebhook {
  /** Loads the policy and starts watching its files; every later call shares the first. */
  start(): Promise<void>;
  close(): void;
  /** Answers one request, after start() has finished. */
  review(request: WebhookRequest): Promise<WebhookAnswer>;
}

export function createFunctionWebhook(options: FunctionWebhookOptions): FunctionWebhook {
  const { log } = options;
  const store = options.rules.length > 0 ? new DefaultsStore(options.rules) : undefined;
  store?.on('applied', (r) => {
    log.info('defaults policy loaded', { files: r.files, entries: store.policy.entries.length, warnings: r.warnings.map(formatDiagnostic) });
  });
  store?.on('rejected', (r) => {
    const msg = store.loaded ? 'defaults policy change rejected; keeping the last good policy' : 'defaults policy failed to load; using the built-in fallback';
    log.warn(msg, { errors: r.errors.map(formatDiagnostic) });
  });
  const reviewer = createWebhookReviewer({ policy: () => store?.policy ?? FALLBACK_POLICY, log, templates: new TemplateMemory() });
  let started: Promise<void> | undefined;
  let watch: FileWatch | undefined;
  let closed = false;
  const start = (): Promise<void> =>
    (started ??= (async () => {
      if (!store) {
        log.warn(`${RULES_ENV} is not set; using the built-in fallback policy`);
        return;
      }
      try {
        await store.reload();
        const w = await store.watch(options.watch);
        if (closed) w.close();
        else watch = w;
      } catch (e) {
        // Loading reports bad files as diagnostics; anything else still must not fail reviews.
        log.warn('defaults policy could not be loaded or watched; using what is in force', { error: e instanceof Error ? e.message : String(e) });
      }
    })());
  return {
    start,
    close() {
      closed = true;
      watch?.close();
    },
    async review(request) {
      await start();
      return reviewer(request);
    },
  };
}

/**
 * The JSON of a body the runtime read. What it parsed is used as it is when
 * it parsed bytes; a string or a buffer (another parser ran) and a missing
 * or empty body are parsed here, so they get serve's 400 (body-parser turns
 * an empty body into {}).
 */
function runtimeJson(headers: IncomingHttpHeaders, parsed: unknown, raw: Buffer | string | undefined): unknown {
  checkBodySize(headers, raw === undefined ? undefined : Buffer.byteLength(raw));
  if (typeof parsed === 'string' || Buffer.isBuffer(parsed)) return parseJsonBody(parsed);
  if (parsed === undefined || raw?.length === 0) return parseJsonBody(raw ?? '');
  return parsed;
}

/** The members of faas-js-runtime's context (lib/context.js) read here. */
export interface FaasContext {
  readonly method: string | undefined;
  readonly headers: IncomingHttpHeaders;
  /** Only with --include-raw (FUNC_INCLUDE_RAW). */
  readonly rawBody?: string | undefined;
}

/** faas-js-runtime's StructuredReturn. */
export interface FaasReturn {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A faas-js-runtime `handle` around a webhook. */
export function faasHandler(webhook: FunctionWebhook): (context: FaasContext, body?: unknown) => Promise<FaasReturn> {
  return async (context, body) => {
    const answer = await webhook.review({ method: context.method, headers: context.headers, json: () => runtimeJson(context.headers, body, context.rawBody) });
    // A string body goes out as it is, so the bytes are serve's: no re-serialization by the runtime.
    return { statusCode: answer.code, headers: { 'content-type': 'application/json' }, body: JSON.stringify(answer.body) };
  };
}

/** An express request after functions-framework's body parsers. */
export interface ParsedRequest extends IncomingMessage {
  readonly body?: unknown;
  /** The bytes the parser read, kept by functions-framework. */
  readonly rawBody?: Buffer;
}

/** A functions-framework HTTP function around a webhook. */
export function expressHandler(webhook: FunctionWebhook): (req: ParsedRequest, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    sendAnswer(res, await webhook.review({ method: req.method, headers: req.headers, json: () => runtimeJson(req.headers, req.body, req.rawBody) }));
  };
}

/** The webhook's options from the environment: HPA_BRIDGE_RULES and HPA_BRIDGE_LOG_LEVEL. */
export function optionsFromEnv(env: NodeJS.ProcessEnv, write?: (line: string) => void): FunctionWebhookOptions {
  const value = env[LOG_LEVEL_ENV] ?? '';
  const known = value === '' || Object.hasOwn(LOG_LEVELS, value);
  const log = functionLogger(known && value !== '' ? (value as LogLevel) : 'info', write);
  if (!known) log.warn(`${LOG_LEVEL_ENV} must be one of ${Object.keys(LOG_LEVELS).join(', ')}, not ${JSON.stringify(value)}; logging at info`);
  const rules = (env[RULES_ENV] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  return { rules, log };
}

/** The webhook configured from the environment, made on first use. */
let fromEnv: FunctionWebhook | undefined;
function webhookFromEnv(): FunctionWebhook {
  fromEnv ??= createFunctionWebhook(optionsFromEnv(process.env));
  return fromEnv;
}

/** faas-js-runtime: awaited before the server listens, so the first review has the policy. */
export function init(): Promise<void> {
  return webhookFromEnv().start();
}

/** faas-js-runtime: on SIGTERM or SIGINT. */
export function shutdown(): void {
  fromEnv?.close();
}

let faas: ReturnType<typeof faasHandler> | undefined;
let express: ReturnType<typeof expressHandler> | undefined;

/** faas-js-runtime's entry point. */
export function handle(context: FaasContext, body?: unknown): Promise<FaasReturn> {
  return (faas ??= faasHandler(webhookFromEnv()))(context, body);
}

/** functions-framework's entry point: `--target=mutate`. */
export function mutate(req: ParsedRequest, res: ServerResponse): Promise<void> {
  return (express ??= expressHandler(webhookFromEnv()))(req, res);
}
