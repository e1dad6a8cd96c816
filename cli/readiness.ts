// The readiness checks behind /readyz and /healthz, on the secure port and
// the plain --http-port alike, and their answer in k8s.io/apiserver's
// format (pkg/server/healthz): one `[+]name ok` or `[-]name failed: reason`
// line per check, then `<endpoint> check passed` or `... check failed`.
//
// Two states are degraded but ready, because the last good state still
// serves: a rejected rule edit (the previous rules stay in force) and a
// relist that failed for some series queries (their last good result
// stays). Those checks pass with the reason appended as
// `[+]name ok (warning: ...)`, a form of our own: k8s.io/apiserver has no
// warnings in health checks, and a line that starts with `[+]` keeps every
// reader of that format counting the check as passed.
//
// The endpoints need no credentials, so the answer names rule files relative
// to their --rules path and rules by file:line, and never shows a series
// query or a full rule error; those are in the log.
import type { DiscoveryStatus } from '../adapter/discovery.js';
import type { CompiledRule } from '../rules/compile.js';
import type { Diagnostic } from '../rules/diagnostics.js';
import { diagnosticLocation, ruleLocation } from '../rules/location.js';
import { formatGoSeconds } from '../k8s/go-duration.js';
import type { ReloadStatus } from '../rules/watch.js';

export interface HealthCheck {
  readonly name: string;
  /** Why the check fails; undefined when it passes. */
  readonly failure?: string;
  /** What is degraded while the check still passes. */
  readonly warning?: string;
}

export interface ReadinessState {
  /** Milliseconds since the epoch. */
  readonly now: number;
  /** The --rules paths, to name files relative to them. */
  readonly ruleRoots: readonly string[];
  readonly rules: Pick<ReloadStatus, 'loaded' | 'upToDate' | 'errors' | 'rejectedSince' | 'servingSince'>;
  /** The rules being served, to find which rules a failed series query belongs to. */
  readonly servedRules: { readonly rules: readonly CompiledRule[]; readonly externalRules: readonly CompiledRule[] } | undefined;
  /** Whether discovery has a registry to serve from. */
  readonly discoveryDone: boolean;
  readonly discovery: Pick<DiscoveryStatus, 'errors' | 'lastSuccess' | 'lastAttempt'>;
  /** The object source's reason, or undefined when it is ready. */
  readonly objectsNotReady: string | undefined;
  readonly draining: boolean;
}

/** Go's time.Duration text, to the second: 45s, 3m7s, 2h0m5s. */
export function formatAge(ms: number): string {
  return formatGoSeconds(Math.max(0, Math.floor(ms / 1000)));
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** At most `max` items, then how many more there are. */
function capped(items: readonly string[], max: number): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

function ago(now: number, at: Date | undefined): string {
  return at ? `${formatAge(now - at.getTime())} ago` : 'at an unknown time';
}

function firstError(errors: readonly Diagnostic[], roots: readonly string[]): string {
  const first = errors[0];
  if (!first) return 'no error recorded';
  return `${plural(errors.length, 'error')}, the first at ${diagnosticLocation(first, roots)} (${first.code})`;
}

export function rulesCheck(s: ReadinessState): HealthCheck {
  const { rules } = s;
  if (!rules.loaded) {
    if (rules.errors.length === 0) return { name: 'rules', failure: 'the rule files are still loading' };
    return { name: 'rules', failure: `the rule files do not load since ${ago(s.now, rules.rejectedSince)}: ${firstError(rules.errors, s.ruleRoots)}; run hpa-bridge lint for the messages` };
  }
  if (!rules.upToDate && rules.errors.length > 0) {
    return {
      name: 'rules',
      warning:
        `the last edit was rejected ${ago(s.now, rules.rejectedSince)}: ${firstError(rules.errors, s.ruleRoots)}; ` +
        `still serving the rules loaded ${ago(s.now, rules.servingSince)}; run hpa-bridge lint for the messages`,
    };
  }
  return { name: 'rules' };
}

const SERIES_QUERY_ERROR = 'series query ';

/**
 * The failed series queries of a relist, described by count, the rules they
 * belong to and the errors with the queries taken out. Discovery words each
 * error as `series query <query>: <error>`; an error that names no query of
 * the served rules is counted, but its text is left to the log.
 */
function describeFailures(errors: readonly string[], s: ReadinessState): string {
  const all = s.servedRules ? [...s.servedRules.rules, ...s.servedRules.externalRules] : [];
  const queries = new Set(all.map((r) => r.seriesQuery));
  const failed = new Set<string>();
  const reasons: string[] = [];
  for (const error of errors) {
    let query: string | undefined;
    for (const q of queries) {
      if (error.startsWith(`${SERIES_QUERY_ERROR}${q}: `) && (query === undefined || q.length > query.length)) query = q;
    }
    if (query === undefined) continue;
    failed.add(query);
    const reason = error.slice(SERIES_QUERY_ERROR.length + query.length + 2);
    if (!reasons.includes(reason)) reasons.push(reason);
  }
  const locations = [...new Set(all.filter((r) => failed.has(r.seriesQuery)).map((r) => ruleLocation(r.origin, s.ruleRoots)))];
  let text = queries.size > 0 ? `${errors.length} of ${queries.size} series queries failed` : `${plural(errors.length, 'series query', 'series queries')} failed`;
  if (locations.length > 0) text += ` (${locations.length === 1 ? 'rule' : 'rules'} at ${capped(locations, 10)})`;
  text += reasons.length > 0 ? `: ${capped(reasons, 3)}` : ': the errors are in the log';
  return text;
}

export function discoveryCheck(s: ReadinessState): HealthCheck {
  const { discovery } = s;
  if (!s.discoveryDone) {
    if (discovery.errors.length === 0) return { name: 'discovery', failure: 'the first metric discovery has not finished' };
    return { name: 'discovery', failure: `no metric discovery has succeeded yet; the last relist ${ago(s.now, discovery.lastAttempt)}: ${describeFailures(discovery.errors, s)}` };
  }
  if (discovery.errors.length > 0) {
    const lastGood = discovery.lastSuccess ? `last complete discovery ${ago(s.now, discovery.lastSuccess)}` : 'no relist has succeeded for every series query yet';
    return {
      name: 'discovery',
      warning: `the last relist ${ago(s.now, discovery.lastAttempt)}: ${describeFailures(discovery.errors, s)}; serving the last good results, ${lastGood}`,
    };
  }
  return { name: 'discovery' };
}

/** Every readiness check, in the order they are reported. */
export function readinessChecks(s: ReadinessState): HealthCheck[] {
  return [
    rulesCheck(s),
    discoveryCheck(s),
    { name: 'object-source', ...(s.objectsNotReady ? { failure: s.objectsNotReady } : {}) },
    { name: 'shutdown', ...(s.draining ? { failure: 'the process is shutting down' } : {}) },
  ];
}

interface HealthQuery {
  /** `?verbose` was given: list the checks with their reasons even when all pass. */
  readonly verbose: boolean;
  /** `?exclude=name`, repeatable: checks reported as passed without being evaluated. */
  readonly exclude: readonly string[];
}

interface HealthAnswer {
  readonly status: number;
  readonly body: string;
}

/**
 * The answer of `/<endpoint>` for `checks`, as k8s.io/apiserver's
 * handleRootHealth writes it: a plain `ok` when every check passes and
 * verbose was not asked for; otherwise one line per check and the verdict.
 * A failure is always listed, with its reason only under verbose (the
 * apiserver withholds it always, and keeps it for its log; here verbose is
 * how an operator asks why). Not ready is 503 rather than the apiserver's
 * 500: the kubelet treats both as failed, and 503 tells load balancers and
 * people to retry later.
 */
export function healthAnswer(endpoint: string, checks: readonly HealthCheck[], query: HealthQuery): HealthAnswer {
  const excluded = new Set(query.exclude);
  const unknown = new Set(query.exclude);
  const lines: string[] = [];
  let failed = false;
  for (const check of checks) {
    unknown.delete(check.name);
    if (excluded.has(check.name)) {
      lines.push(`[+]${check.name} excluded: ok`);
    } else if (check.failure !== undefined) {
      failed = true;
      lines.push(`[-]${check.name} failed: ${query.verbose ? check.failure : 'reason withheld'}`);
    } else if (check.warning !== undefined && query.verbose) {
      lines.push(`[+]${check.name} ok (warning: ${check.warning})`);
    } else {
      lines.push(`[+]${check.name} ok`);
    }
  }
  if (unknown.size > 0) {
    lines.push(
      `warn: some health checks cannot be excluded: no matches for ${[...unknown]
        .sort()
        .map((n) => JSON.stringify(n))
        .join(',')}`,
    );
  }
  if (failed) return { status: 503, body: `${lines.join('\n')}\n${endpoint} check failed\n` };
  if (!query.verbose) return { status: 200, body: 'ok' };
  return { status: 200, body: `${lines.join('\n')}\n${endpoint} check passed\n` };
}

/** `verbose` and `exclude` from an express query object. */
export function healthQuery(query: Readonly<Record<string, unknown>>): HealthQuery {
  const raw = query['exclude'];
  const exclude = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((v): v is string => typeof v === 'string');
  return { verbose: 'verbose' in query, exclude };
}
