// The `defaults` section: which resource requests the admission webhook adds
// to which containers. Loading validates quantities and ties; matching is a
// set of small pure functions, each saying whether its criterion matched, did
// not, or was not configured, so a log can say why an entry did not apply.
import { DiagnosticList, type SourcePosition } from './diagnostics.js';
import { GoRegexp, quoteMeta } from './go-regexp.js';
import { matchesLabels, type Requirement } from '../k8s/label-selector.js';
import { compareQuantities, parseQuantity, QuantityError, type Quantity } from '../k8s/quantity.js';
import { booleanField, listField, mapField, objectField, stringField, type DecodedList, type DecodedObject, type Located } from './schema.js';

export const DEFAULT_RESOURCES = ['cpu', 'memory', 'ephemeral-storage'] as const;
export type DefaultResource = (typeof DEFAULT_RESOURCES)[number];

const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export type Amounts = Partial<Record<DefaultResource, Quantity>>;

export interface DefaultsMatch {
  readonly namespaces: readonly string[];
  readonly selector: readonly Requirement[];
  readonly containers: readonly string[];
  readonly kinds: readonly WorkloadKind[];
}

export interface DefaultsEntry {
  readonly name: string;
  /** Where the entry is written; undefined for the built-in fallback. */
  readonly origin?: SourcePosition & { readonly path: string };
  readonly match: DefaultsMatch;
  readonly specificity: number;
  readonly off: boolean;
  readonly requests: Amounts;
  readonly limits: Amounts;
  readonly limitRatio: Partial<Record<DefaultResource, number>>;
  readonly initContainers: boolean;
  readonly ephemeralContainers: boolean;
}

export interface DefaultsPolicy {
  /** Most specific first; the built-in fallback, when on, is last. */
  readonly entries: readonly DefaultsEntry[];
}

const q = (text: string): Quantity => parseQuantity(text);

/** What applies when no rule says otherwise: enough for the HPA to compute utilization. */
export const BUILTIN_FALLBACK: DefaultsEntry = {
  name: 'built-in fallback',
  match: { namespaces: [], selector: [], containers: [], kinds: [] },
  specificity: -1,
  off: false,
  requests: { cpu: q('100m'), memory: q('128Mi') },
  limits: {},
  limitRatio: {},
  initContainers: false,
  ephemeralContainers: false,
};

const isGlob = (s: string): boolean => /[*?]/.test(s);

/**
 * How specific an entry is; the highest matching entry wins. An exact
 * container name pins most, then a glob on container names, a workload
 * selector, exact namespaces, namespace globs, and kinds.
 */
function specificityOf(match: DefaultsMatch): number {
  let score = 0;
  if (match.containers.length) score += match.containers.some(isGlob) ? 16 : 32;
  if (match.selector.length) score += 8;
  if (match.namespaces.length) score += match.namespaces.some(isGlob) ? 2 : 4;
  if (match.kinds.length) score += 1;
  return score;
}

// Matching: each criterion answers 'match', 'no-match' or 'unset'.

export type CriterionResult = 'match' | 'no-match' | 'unset';

// Globs run on the linear-time engine: on a backtracking one, `*a` repeated
// seven times takes half a minute against a 63-character name that does not
// match, and the names come from whoever creates a workload.
const globs = new Map<string, GoRegexp>();
const MAX_CACHED_GLOBS = 1024;

/** A glob (`*` any run of characters, `?` one character) as an anchored Go regexp. */
function globRegexp(glob: string): GoRegexp {
  let re = globs.get(glob);
  if (re === undefined) {
    const body = [...glob].map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : quoteMeta(ch))).join('');
    re = GoRegexp.compile(`(?s)^${body}$`);
    if (globs.size >= MAX_CACHED_GLOBS) globs.clear();
    globs.set(glob, re);
  }
  return re;
}

function matchNames(patterns: readonly string[], value: string): CriterionResult {
  if (patterns.length === 0) return 'unset';
  return patterns.some((p) => (isGlob(p) ? globRegexp(p).test(value) : p === value)) ? 'match' : 'no-match';
}

export function matchNamespace(match: DefaultsMatch, namespace: string): CriterionResult {
  return matchNames(match.namespaces, namespace);
}

function matchContainer(match: DefaultsMatch, container: string): CriterionResult {
  return matchNames(match.containers, container);
}

function matchKind(match: DefaultsMatch, kind: string): CriterionResult {
  if (match.kinds.length === 0) return 'unset';
  return match.kinds.includes(kind as WorkloadKind) ? 'match' : 'no-match';
}

function matchSelector(match: DefaultsMatch, labels: Readonly<Record<string, string>>): CriterionResult {
  if (match.selector.length === 0) return 'unset';
  return matchesLabels(match.selector, labels) ? 'match' : 'no-match';
}

export interface DefaultsTarget {
  readonly namespace: string;
  readonly kind: string;
  readonly workloadLabels: Readonly<Record<string, string>>;
  readonly container: string;
}

/** Why an entry does or does not apply to a target; undefined when it applies. */
function whyNot(entry: DefaultsEntry, target: DefaultsTarget): string | undefined {
  const checks: [string, CriterionResult][] = [
    ['namespace', matchNamespace(entry.match, target.namespace)],
    ['kind', matchKind(entry.match, target.kind)],
    ['selector', matchSelector(entry.match, target.workloadLabels)],
    ['container', matchContainer(entry.match, target.container)],
  ];
  const failed = checks.find(([, r]) => r === 'no-match');
  return failed ? `${failed[0]} does not match` : undefined;
}

/** The entries that apply to a target, most specific first. */
function matchingEntries(policy: DefaultsPolicy, target: DefaultsTarget): DefaultsEntry[] {
  return policy.entries.filter((e) => whyNot(e, target) === undefined);
}

export interface ResolvedDefaults {
  /** Per resource, the value to use and the entry it came from. */
  readonly requests: Partial<Record<DefaultResource, { readonly quantity: Quantity; readonly from: DefaultsEntry }>>;
  readonly limits: Partial<Record<DefaultResource, { readonly quantity: Quantity; readonly from: DefaultsEntry }>>;
  readonly limitRatio: Partial<Record<DefaultResource, { readonly ratio: number; readonly from: DefaultsEntry }>>;
  /** The most specific entry, which decides init/ephemeral coverage; undefined when nothing applies. */
  readonly primary: DefaultsEntry | undefined;
}

/**
 * The defaults for one container. The most specific entry decides; a
 * resource it does not set comes from the next matching entry, so a team
 * can set memory alone and keep the fallback's cpu. An `off` entry stops
 * the chain.
 */
export function resolveDefaults(policy: DefaultsPolicy, target: DefaultsTarget): ResolvedDefaults {
  const requests: ResolvedDefaults['requests'] = {};
  const limits: ResolvedDefaults['limits'] = {};
  const limitRatio: ResolvedDefaults['limitRatio'] = {};
  const entries = matchingEntries(policy, target);
  for (const entry of entries) {
    if (entry.off) break;
    for (const r of DEFAULT_RESOURCES) {
      const req = entry.requests[r];
      if (req && !requests[r]) requests[r] = { quantity: req, from: entry };
      const lim = entry.limits[r];
      if (lim && !limits[r]) limits[r] = { quantity: lim, from: entry };
      const ratio = entry.limitRatio[r];
      if (ratio !== undefined && !limitRatio[r]) limitRatio[r] = { ratio, from: entry };
    }
  }
  return { requests, limits, limitRatio, primary: entries[0] };
}

// Loading

interface DefaultsContext {
  readonly file: string;
  readonly diagnostics: DiagnosticList;
}

const OPERATORS: Readonly<Record<string, Requirement['operator']>> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };

function compileSelector(ctx: DefaultsContext, obj: DecodedObject | undefined, path: string): Requirement[] | undefined {
  if (!obj) return [];
  const reqs: Requirement[] = [];
  let ok = true;
  for (const e of mapField(obj, 'matchLabels')?.entries ?? []) {
    const value = e.value.kind === 'string' ? String(e.value.located.value) : '';
    reqs.push({ key: e.key, operator: '=', values: [value] });
  }
  listField(obj, 'matchExpressions')?.items.forEach((item, i) => {
    if (item.kind !== 'object') return;
    const p = `${path}.matchExpressions[${i}]`;
    const key = stringField(item, 'key');
    const operator = stringField(item, 'operator');
    const values = (listField(item, 'values')?.items ?? []).map((v) => (v.kind === 'string' ? String(v.located.value) : ''));
    const op = operator ? OPERATORS[operator.value] : undefined;
    if (!key?.value) {
      ctx.diagnostics.error(item.at, p, 'bad-selector', 'a match expression needs a key');
      ok = false;
    } else if (!op) {
      ctx.diagnostics.error(operator?.at ?? item.at, `${p}.operator`, 'bad-selector', `operator must be In, NotIn, Exists or DoesNotExist, not ${JSON.stringify(operator?.value ?? '')}`);
      ok = false;
    } else if ((op === 'in' || op === 'notin') && values.length === 0) {
      ctx.diagnostics.error(item.at, `${p}.values`, 'bad-selector', `${operator?.value ?? ''} needs at least one value`);
      ok = false;
    } else if ((op === 'exists' || op === '!') && values.length > 0) {
      ctx.diagnostics.error(item.at, `${p}.values`, 'bad-selector', `${operator?.value ?? ''} takes no values`);
      ok = false;
    } else {
      reqs.push({ key: key.value, operator: op, values: [...new Set(values)].sort() });
    }
  });
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the forEach callback above clears it
  return ok ? reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)) : undefined;
}

function stringList(list: DecodedList | undefined): Located<string>[] {
  return (list?.items ?? []).flatMap((i) => (i.kind === 'string' ? [i.located as Located<string>] : []));
}

function compileAmounts(ctx: DefaultsContext, obj: DecodedObject | undefined, path: string): Amounts | undefined {
  const out: Amounts = {};
  let ok = true;
  for (const r of DEFAULT_RESOURCES) {
    const text = stringField(obj, r);
    if (!text) continue;
    try {
      const quantity = parseQuantity(text.value);
      if (quantity.nano < 0n) throw new QuantityError('must not be negative');
      if (r !== 'cpu' && quantity.nano > 0n && quantity.nano < 1_000_000_000n) {
        ctx.diagnostics.warning(text.at, `${path}.${r}`, 'tiny-quantity', `${r} ${text.value} is less than one byte; did you mean ${text.value.replace(/m$/, 'Mi')}?`);
      }
      out[r] = quantity;
    } catch (e) {
      if (!(e instanceof QuantityError)) throw e;
      ctx.diagnostics.error(text.at, `${path}.${r}`, 'bad-quantity', `invalid quantity ${JSON.stringify(text.value)}: ${e.message}`);
      ok = false;
    }
  }
  return ok ? out : undefined;
}

function compileEntry(ctx: DefaultsContext, obj: DecodedObject, path: string): DefaultsEntry | undefined {
  const d = ctx.diagnostics;
  let ok = true;
  const match = objectField(obj, 'match');
  const namespaces = stringList(listField(match, 'namespaces')).map((l) => l.value);
  const containers = stringList(listField(match, 'containers')).map((l) => l.value);
  const kinds: WorkloadKind[] = [];
  for (const k of stringList(listField(match, 'kinds'))) {
    if ((WORKLOAD_KINDS as readonly string[]).includes(k.value)) kinds.push(k.value as WorkloadKind);
    else {
      d.error(k.at, `${path}.match.kinds`, 'unknown-kind', `unknown workload kind ${JSON.stringify(k.value)} (known: ${WORKLOAD_KINDS.join(', ')})`);
      ok = false;
    }
  }
  const selector = compileSelector(ctx, objectField(match, 'selector'), `${path}.match.selector`);
  const requests = compileAmounts(ctx, objectField(obj, 'requests'), `${path}.requests`);
  const limits = compileAmounts(ctx, objectField(obj, 'limits'), `${path}.limits`);
  const limitRatio: Partial<Record<DefaultResource, number>> = {};
  const ratios = objectField(obj, 'limitRatio');
  for (const r of DEFAULT_RESOURCES) {
    const text = stringField(ratios, r);
    if (!text) continue;
    const n = Number(text.value);
    if (!Number.isFinite(n) || n < 1) {
      d.error(
        text.at,
        `${path}.limitRatio.${r}`,
        'bad-ratio',
        `limitRatio.${r} must be a number of at least 1 (a smaller ratio would put the limit below the request), not ${JSON.stringify(text.value)}`,
      );
      ok = false;
    } else limitRatio[r] = n;
  }
  if (!selector || !requests || !limits) ok = false;
  if (requests && limits) {
    for (const r of DEFAULT_RESOURCES) {
      const req = requests[r];
      const lim = limits[r];
      if (req && lim && compareQuantities(req, lim) > 0) {
        d.error(
          stringField(objectField(obj, 'requests'), r)?.at ?? obj.at,
          `${path}.requests.${r}`,
          'request-above-limit',
          `requests.${r} ${req.text} is above limits.${r} ${lim.text}; the API server would reject every object it is added to`,
        );
        ok = false;
      }
    }
  }
  const ephemeral = booleanField(obj, 'ephemeralContainers');
  if (ephemeral?.value) {
    // The API server rejects resources on ephemeral containers (core/v1 validation).
    d.error(ephemeral.at, `${path}.ephemeralContainers`, 'unsupported', 'Kubernetes does not allow resources on ephemeral containers, so they cannot be defaulted');
    ok = false;
  }
  const off = booleanField(obj, 'off')?.value ?? false;
  if (off && requests && Object.keys(requests).length > 0) {
    d.warning(obj.at, `${path}.off`, 'ignored-field', 'the entry is off, so its requests are never added');
  }
  if (!ok || !selector || !requests || !limits) return undefined;
  const m: DefaultsMatch = { namespaces, selector, containers, kinds };
  return {
    name: stringField(obj, 'name')?.value || path,
    origin: { ...obj.at, path },
    match: m,
    specificity: specificityOf(m),
    off,
    requests,
    limits,
    limitRatio,
    initContainers: booleanField(obj, 'initContainers')?.value ?? false,
    ephemeralContainers: booleanField(obj, 'ephemeralContainers')?.value ?? false,
  };
}

/** Compiles one file's `defaults` list; tie checks run across files in buildDefaultsPolicy. */
export function compileDefaultsSection(file: string, list: DecodedList | undefined, diagnostics: DiagnosticList): DefaultsEntry[] {
  const ctx = { file, diagnostics };
  const out: DefaultsEntry[] = [];
  list?.items.forEach((item, i) => {
    if (item.kind !== 'object') return;
    const entry = compileEntry(ctx, item, `defaults[${i}]`);
    if (entry) out.push(entry);
  });
  return out;
}

function exactDisjoint(a: readonly string[], b: readonly string[]): boolean {
  if (a.length === 0 || b.length === 0 || a.some(isGlob) || b.some(isGlob)) return false;
  return !a.some((x) => b.includes(x));
}

/** Whether some container could match both entries (conservative: only provable disjointness counts). */
function mayOverlap(a: DefaultsMatch, b: DefaultsMatch): boolean {
  if (exactDisjoint(a.namespaces, b.namespaces) || exactDisjoint(a.containers, b.containers)) return false;
  if (a.kinds.length && b.kinds.length && !a.kinds.some((k) => b.kinds.includes(k))) return false;
  for (const ra of a.selector) {
    for (const rb of b.selector) {
      if (ra.key !== rb.key) continue;
      const aEq = ra.operator === '=' || ra.operator === 'in';
      const bEq = rb.operator === '=' || rb.operator === 'in';
      if (aEq && bEq && !ra.values.some((v) => rb.values.includes(v))) return false;
      if ((ra.operator === 'exists' && rb.operator === '!') || (ra.operator === '!' && rb.operator === 'exists')) return false;
    }
  }
  return true;
}

/**
 * The policy from every file's entries. Two entries of equal specificity
 * that can match the same container would make the outcome depend on file
 * order, so they are an error naming both places.
 */
export function buildDefaultsPolicy(entries: readonly DefaultsEntry[], diagnostics: DiagnosticList): DefaultsPolicy {
  for (let i = 0; i < entries.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = entries[j] as DefaultsEntry;
      const b = entries[i] as DefaultsEntry;
      if (a.specificity !== b.specificity || !mayOverlap(a.match, b.match) || !a.origin || !b.origin) continue;
      diagnostics.error(
        b.origin,
        b.origin.path,
        'defaults-tie',
        `${b.origin.path} and ${a.origin.path} (${a.origin.file}:${a.origin.line}:${a.origin.column}) are equally specific and can match the same container; make one more specific (e.g. add containers, a selector or namespaces)`,
      );
    }
  }
  const fallbackOverridden = entries.some((e) => e.specificity === 0);
  const sorted = [...entries].sort((a, b) => b.specificity - a.specificity);
  return { entries: fallbackOverridden ? sorted : [...sorted, BUILTIN_FALLBACK] };
}
