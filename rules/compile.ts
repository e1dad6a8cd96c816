// Turning decoded rule files into rules the adapter can serve, checking
// everything that can be checked before a request arrives. Every problem is
// reported with its file:line:column and the rule's path; errors keep the
// set from loading, warnings never do.
import { buildDefaultsPolicy, compileDefaultsSection, type DefaultsEntry, type DefaultsPolicy } from './defaults.js';
import { DiagnosticList, type SourcePosition } from './diagnostics.js';
import { parseGoTemplate, TemplateError, type ParsedTemplate } from './go-template.js';
import { defaultNameAs, type SeriesFilter } from './naming.js';
import { checkPromQL, isPrometheusLabelName, unquote } from './promql.js';
import { METRICS_QUERY_FIELDS, QueryBuildError, renderExternalQuery, renderMetricsQuery, type QueryTemplate } from './query.js';
import { GoRegexp, templateReferences } from './go-regexp.js';
import { NODES, PODS, renderContainerQuery, renderNodeQuery } from './resource-query.js';
import { Re2SyntaxError } from './re2.js';
import {
  compileResourceTemplate,
  formatGroupResource,
  NAMESPACES,
  normalizeGroupResource,
  ResourceLabels,
  ResourceTemplateError,
  type GroupResource,
  type LabelOverride,
  type ResourceCatalog,
  type ResourceTemplate,
} from './resources.js';
import { booleanField, listField, mapField, objectField, stringField, type DecodedObject, type Located } from './schema.js';
import { parser } from '@prometheus-io/lezer-promql';

type RuleKind = 'custom' | 'external';

export interface RuleOrigin extends SourcePosition {
  /** `rules[2]` or `externalRules[0]`. */
  readonly path: string;
}

export interface CompiledRule extends QueryTemplate {
  readonly kind: RuleKind;
  readonly origin: RuleOrigin;
  readonly seriesQuery: string;
  readonly seriesFilters: readonly SeriesFilter[];
  readonly nameMatches: GoRegexp;
  readonly nameAs: string;
  readonly metricsQuerySource: string;
  /** The metric name when it does not depend on discovery (a fixed `as`). */
  readonly fixedName?: string;
  /** False when the rule opts out of namespace-wide evaluation of wildcard requests (`sharedEvaluation: false`). */
  readonly sharedEvaluation: boolean;
}

export interface CompiledResourceRule {
  readonly containerQuery: ParsedTemplate;
  readonly nodeQuery: ParsedTemplate;
  readonly resources: ResourceLabels;
  readonly containerLabel: string;
  /** Where each query is written (`resourceRules.cpu.containerQuery` and its file:line), for errors and metrics. */
  readonly origins: { readonly containerQuery: RuleOrigin; readonly nodeQuery: RuleOrigin };
}

export interface CompiledResourceRules {
  readonly origin: RuleOrigin;
  readonly cpu: CompiledResourceRule;
  readonly memory: CompiledResourceRule;
  /** Seconds. */
  readonly windowSeconds: number;
}

export interface DecodedRuleFile {
  readonly file: string;
  readonly root: DecodedObject | undefined;
}

export interface CompiledRules {
  readonly rules: readonly CompiledRule[];
  readonly externalRules: readonly CompiledRule[];
  readonly resourceRules: CompiledResourceRules | undefined;
  /** Default requests for the admission webhook. */
  readonly defaults: DefaultsPolicy;
}

/** Example requests used to render every query at load time, also shown by `lint --print-queries`. */
export const EXAMPLE_NAMESPACE = 'default';
export const EXAMPLE_POD_NAMES = ['example-pod-1', 'example-pod-2'] as const;
export const EXAMPLE_NODE_NAME = 'example-node';
export const EXAMPLE_EXTERNAL_SELECTOR = [{ key: 'a', operator: '=', values: ['b'] }] as const;

export function compileRuleFiles(files: readonly DecodedRuleFile[], catalog: ResourceCatalog, diagnostics: DiagnosticList): CompiledRules {
  const rules: CompiledRule[] = [];
  const externalRules: CompiledRule[] = [];
  let resourceRules: CompiledResourceRules | undefined;
  let resourceRulesOrigin: RuleOrigin | undefined;
  const defaultsEntries: DefaultsEntry[] = [];
  for (const { file, root } of files) {
    const ctx: Context = { file, catalog, diagnostics };
    defaultsEntries.push(...compileDefaultsSection(file, listField(root, 'defaults'), diagnostics));
    for (const kind of ['custom', 'external'] as const) {
      const key = kind === 'custom' ? 'rules' : 'externalRules';
      listField(root, key)?.items.forEach((item, index) => {
        if (item.kind !== 'object') return;
        const compiled = compileDiscoveryRule(ctx, kind, item, `${key}[${index}]`);
        if (compiled) (kind === 'custom' ? rules : externalRules).push(compiled);
      });
    }
    const rr = objectField(root, 'resourceRules');
    if (rr) {
      const origin: RuleOrigin = { ...(root?.keyAt.get('resourceRules') ?? rr.at), path: 'resourceRules' };
      if (resourceRulesOrigin) {
        diagnostics.error(rr.at, 'resourceRules', 'duplicate-resource-rules', `resourceRules is also defined at ${where(resourceRulesOrigin)}; define it in one file only`);
      } else {
        resourceRulesOrigin = origin;
        resourceRules = compileResourceRules(ctx, rr, origin);
      }
    }
  }
  reportDuplicateNames([...rules, ...externalRules], diagnostics);
  const defaults = buildDefaultsPolicy(defaultsEntries, diagnostics);
  return { rules, externalRules, resourceRules, defaults };
}

interface Context {
  readonly file: string;
  readonly catalog: ResourceCatalog;
  readonly diagnostics: DiagnosticList;
}

function where(o: RuleOrigin | SourcePosition): string {
  return `${o.file}:${o.line}:${o.column}`;
}

function compileRegex(ctx: Context, located: Located<string>, path: string, what: string): GoRegexp | undefined {
  try {
    return GoRegexp.compile(located.value);
  } catch (e) {
    if (e instanceof Re2SyntaxError) {
      ctx.diagnostics.error(located.positionOf(e.offset), path, 'bad-regex', `invalid ${what} regex ${JSON.stringify(located.value)}: ${e.message}`);
      return undefined;
    }
    throw e;
  }
}

/** Position of a template error inside the YAML value. */
function templateErrorPosition(located: Located<string>, e: TemplateError): SourcePosition {
  const lines = located.value.split('\n');
  let offset = 0;
  for (let i = 0; i < e.line - 1 && i < lines.length; i++) offset += (lines[i]?.length ?? 0) + 1;
  return located.positionOf(offset + Math.max(0, e.column - 1));
}

function templateMessage(e: TemplateError): string {
  return e.construct ? `template: ${e.message}` : `invalid template: ${e.message}`;
}

function compileTemplate(ctx: Context, located: Located<string>, path: string, fields: readonly string[]): ParsedTemplate | undefined {
  try {
    return parseGoTemplate(located.value, { fields });
  } catch (e) {
    if (e instanceof TemplateError) {
      ctx.diagnostics.error(templateErrorPosition(located, e), path, 'bad-template', templateMessage(e));
      return undefined;
    }
    throw e;
  }
}

function compileResourceMapping(ctx: Context, obj: DecodedObject | undefined, path: string): { labels: ResourceLabels; ok: boolean } {
  let ok = true;
  const overrides: LabelOverride[] = [];
  for (const entry of mapField(obj, 'overrides')?.entries ?? []) {
    const entryPath = `${path}.overrides.${entry.key}`;
    const value = entry.value.kind === 'object' ? entry.value : undefined;
    const resource = stringField(value, 'resource');
    if (!resource || resource.value === '') {
      ctx.diagnostics.error(entry.keyAt, entryPath, 'missing-resource', `override for label "${entry.key}" needs a resource`);
      ok = false;
      continue;
    }
    if (!isPrometheusLabelName(entry.key)) {
      ctx.diagnostics.error(entry.keyAt, entryPath, 'bad-label-name', `"${entry.key}" is not a valid Prometheus label name`);
      ok = false;
      continue;
    }
    const group = stringField(value, 'group')?.value;
    const normalized = normalizeGroupResource(ctx.catalog, group, resource.value);
    const clash = overrides.find((o) => formatGroupResource(o.groupResource) === formatGroupResource(normalized.groupResource));
    if (clash) {
      ctx.diagnostics.error(
        entry.keyAt,
        entryPath,
        'duplicate-override',
        `labels "${clash.label}" and "${entry.key}" both map to ${formatGroupResource(normalized.groupResource)}; a resource can be read from one label only`,
      );
      ok = false;
      continue;
    }
    overrides.push({ label: entry.key, groupResource: normalized.groupResource });
  }
  let template: ResourceTemplate | undefined;
  const templateText = stringField(obj, 'template');
  if (templateText && templateText.value !== '') {
    try {
      template = compileResourceTemplate(templateText.value);
    } catch (e) {
      ok = false;
      if (e instanceof TemplateError) {
        ctx.diagnostics.error(templateErrorPosition(templateText, e), `${path}.template`, 'bad-template', templateMessage(e));
      } else if (e instanceof ResourceTemplateError) {
        ctx.diagnostics.error(templateText.at, `${path}.template`, 'bad-template', e.message);
      } else throw e;
    }
  }
  return { labels: new ResourceLabels(overrides, template, ctx.catalog), ok };
}

function compileDiscoveryRule(ctx: Context, kind: RuleKind, rule: DecodedObject, path: string): CompiledRule | undefined {
  const d = ctx.diagnostics;
  const origin: RuleOrigin = { ...rule.at, path };
  let ok = true;

  const seriesQuery = stringField(rule, 'seriesQuery');
  if (!seriesQuery || seriesQuery.value.trim() === '') {
    d.error(rule.at, `${path}.seriesQuery`, 'missing-field', 'seriesQuery is required (the series selector used to discover metrics)');
    ok = false;
  } else if (!checkSeriesSelector(ctx, seriesQuery, `${path}.seriesQuery`)) {
    ok = false;
  }

  const seriesFilters: SeriesFilter[] = [];
  listField(rule, 'seriesFilters')?.items.forEach((item, i) => {
    if (item.kind !== 'object') return;
    const fpath = `${path}.seriesFilters[${i}]`;
    const is = stringField(item, 'is');
    const isNot = stringField(item, 'isNot');
    const chosen = is?.value ? is : isNot?.value ? isNot : undefined;
    if (is?.value && isNot?.value) {
      d.error(item.at, fpath, 'bad-filter', 'a series filter has either "is" or "isNot", not both');
      ok = false;
    } else if (!chosen) {
      d.error(item.at, fpath, 'bad-filter', 'a series filter needs "is" or "isNot"');
      ok = false;
    } else {
      const regex = compileRegex(ctx, chosen, `${fpath}.${chosen === is ? 'is' : 'isNot'}`, 'series filter');
      if (regex) seriesFilters.push({ regex, keep: chosen === is });
      else ok = false;
    }
  });

  const name = objectField(rule, 'name');
  const matches = stringField(name, 'matches');
  const as = stringField(name, 'as');
  let nameMatches: GoRegexp | undefined = GoRegexp.compile('.*');
  if (matches && matches.value !== '') {
    nameMatches = compileRegex(ctx, matches, `${path}.name.matches`, 'name.matches');
    if (!nameMatches) ok = false;
  }
  let nameAs = as?.value ?? '';
  if (nameMatches) {
    if (nameAs === '') {
      const fallback = defaultNameAs(nameMatches);
      if (fallback === undefined) {
        d.error(
          (matches ?? as)?.at ?? rule.at,
          `${path}.name.as`,
          'missing-as',
          `name.matches ${JSON.stringify(matches?.value)} has ${nameMatches.groupNames.length - 1} capture groups; set name.as to say which to use (e.g. "\${1}")`,
        );
        ok = false;
      } else nameAs = fallback;
    } else if (as) {
      checkNameReferences(ctx, as, nameMatches, `${path}.name.as`);
    }
  }

  const resources = compileResourceMapping(ctx, objectField(rule, 'resources'), `${path}.resources`);
  if (!resources.ok) ok = false;
  const namespacedField = booleanField(objectField(rule, 'resources'), 'namespaced');
  const namespaced = namespacedField?.value ?? true;
  if (kind === 'custom' && namespacedField) {
    d.warning(namespacedField.at, `${path}.resources.namespaced`, 'ignored-field', 'resources.namespaced applies to externalRules only; custom metrics take their scope from the resource');
  }
  if (kind === 'custom' && resources.ok && resources.labels.overrides.length === 0 && !resources.labels.template) {
    d.warning(rule.at, `${path}.resources`, 'no-resources', 'the rule maps no label to a Kubernetes resource, so it publishes no custom metric; add resources.overrides or resources.template');
  }
  if (kind === 'external' && namespaced && resources.ok && !d.hasErrorUnder(`${path}.resources`) && !resources.labels.mapsNamespace) {
    const hasResources = rule.fields.has('resources');
    const message =
      'external rule has no namespace mapping and is namespaced (the default), so requests cannot be scoped to a namespace; map the namespace label (resources.overrides: {namespace: {resource: namespace}}) or set resources.namespaced: false';
    // A rule written without any resources section relied on the reference
    // adapter's implicit default; it still loads so that existing configs
    // migrate unmodified, and its requests fail with this same message.
    if (hasResources) d.error(objectField(rule, 'resources')?.at ?? rule.at, `${path}.resources`, 'external-namespace', message);
    else d.warning(rule.at, `${path}.resources`, 'external-namespace', message);
    if (hasResources) ok = false;
  }

  const sharedEvaluationField = booleanField(rule, 'sharedEvaluation');

  const metricsQueryText = stringField(rule, 'metricsQuery');
  let metricsQuery: ParsedTemplate | undefined;
  if (!metricsQueryText || metricsQueryText.value.trim() === '') {
    // A metricsQuery mis-indented into a nested object is already reported there.
    if (!d.hasErrorUnder(path) || !d.errors.some((e) => e.code === 'unknown-field' && e.path.startsWith(`${path}.`) && e.path.endsWith('.metricsQuery'))) {
      d.error(rule.at, `${path}.metricsQuery`, 'missing-field', 'metricsQuery is required');
    }
    ok = false;
  } else {
    metricsQuery = compileTemplate(ctx, metricsQueryText, `${path}.metricsQuery`, METRICS_QUERY_FIELDS);
    if (!metricsQuery) ok = false;
    else if (!metricsQuery.fieldsUsed.has('LabelMatchers')) {
      d.warning(
        metricsQueryText.at,
        `${path}.metricsQuery`,
        'no-label-matchers',
        kind === 'custom'
          ? 'metricsQuery does not use <<.LabelMatchers>>, so requests are not narrowed to the objects, namespace or metric selector asked for'
          : 'metricsQuery does not use <<.LabelMatchers>>, so the HPA metric selector and namespace are silently ignored',
      );
    }
  }

  if (!ok || !nameMatches || !metricsQuery || !seriesQuery || !metricsQueryText) return undefined;
  const compiled: CompiledRule = {
    kind,
    origin,
    seriesQuery: seriesQuery.value,
    seriesFilters,
    nameMatches,
    nameAs,
    metricsQuery,
    metricsQuerySource: metricsQueryText.value,
    resources: resources.labels,
    namespaced: kind === 'external' ? namespaced : true,
    sharedEvaluation: sharedEvaluationField?.value ?? true,
    ...fixedNameOf(nameAs, matches?.value ?? '', seriesQuery.value),
  };
  if (!checkRenderedQuery(ctx, compiled, metricsQueryText, `${path}.metricsQuery`)) return undefined;
  return compiled;
}

/** Warns about `$name` references that expand to nothing, the classic `$1_total` mistake. */
function checkNameReferences(ctx: Context, as: Located<string>, matches: GoRegexp, path: string): void {
  const groups = matches.groupNames.length - 1;
  for (const ref of templateReferences(as.value)) {
    if (typeof ref === 'number' && ref <= groups) continue;
    if (typeof ref === 'string' && matches.groupNames.includes(ref)) continue;
    const hint =
      typeof ref === 'string' && /^\d+/.test(ref)
        ? `; "$${ref}" names a group called "${ref}" (a name takes every letter, digit and underscore), write "\${${/^\d+/.exec(ref)?.[0] ?? ''}}${ref.replace(/^\d+/, '')}"`
        : '';
    ctx.diagnostics.warning(as.at, path, 'unknown-group', `name.as refers to group ${JSON.stringify(String(ref))}, which name.matches does not have, so it expands to an empty string${hint}`);
  }
}

/** Series names a literal `as`, or a literal anchored `matches`, fixes at load time. */
function fixedNameOf(nameAs: string, matches: string, seriesQuery: string): { fixedName?: string } {
  if (templateReferences(nameAs).length === 0 && !nameAs.includes('$')) return { fixedName: nameAs };
  if (nameAs === '$0') {
    const literal = /^\^([a-zA-Z_:][a-zA-Z0-9_:]*)\$$/.exec(matches)?.[1];
    if (literal) return { fixedName: literal };
    if (matches === '' || matches === '.*') {
      const selectorName = seriesNameOf(seriesQuery);
      if (selectorName) return { fixedName: selectorName };
    }
  }
  return {};
}

/** The metric name a series selector pins, if any (`foo{...}` or `{__name__="foo"}`). */
function seriesNameOf(seriesQuery: string): string | undefined {
  const tree = parser.parse(seriesQuery);
  let name: string | undefined;
  tree.iterate({
    enter(node) {
      if (name !== undefined) return false;
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id) name = seriesQuery.slice(id.from, id.to);
        return true;
      }
      if (node.name === 'UnquotedLabelMatcher') {
        const label = node.node.getChild('LabelName');
        const op = node.node.getChild('MatchOp');
        const value = node.node.getChild('StringLiteral');
        if (label && op && value && seriesQuery.slice(label.from, label.to) === '__name__') {
          const text = unquote(seriesQuery.slice(value.from, value.to)) ?? '';
          const operator = seriesQuery.slice(op.from, op.to);
          if (operator === '=') name = text;
          // Prometheus anchors regex matchers, so `=~"^name$"` or `=~"name"` pins one name.
          else if (operator === '=~') name = /^\^?([a-zA-Z_:][a-zA-Z0-9_:]*)\$?$/.exec(text)?.[1];
        }
      }
      return true;
    },
  });
  return name;
}

function checkSeriesSelector(ctx: Context, located: Located<string>, path: string): boolean {
  let ok = true;
  for (const p of checkPromQL(located.value)) {
    const at = located.positionOf(p.offset);
    if (p.severity === 'error') {
      ctx.diagnostics.error(at, path, 'bad-promql', p.message);
      ok = false;
    } else ctx.diagnostics.warning(at, path, 'promql-lint', p.message);
  }
  if (!ok) return false;
  const top = parser.parse(located.value).topNode.firstChild;
  if (top?.name !== 'VectorSelector') {
    ctx.diagnostics.error(located.at, path, 'bad-promql', 'seriesQuery must be a series selector such as {__name__=~"^http_.*",namespace!=""}, not an expression');
    return false;
  }
  return true;
}

/** A group-resource the rule maps besides namespaces, used for example queries. */
function exampleResource(rule: CompiledRule): GroupResource {
  const mapped = rule.resources.overrides.map((o) => o.groupResource).find((gr) => gr.resource !== NAMESPACES.resource);
  if (mapped) return mapped;
  if (rule.resources.template) return { group: '', resource: 'pods' };
  return rule.resources.overrides[0]?.groupResource ?? { group: '', resource: 'pods' };
}

const ROOT_SCOPED = new Set(['namespaces', 'nodes', 'persistentvolumes']);

interface ExampleRequest {
  /** What is asked, in words. */
  readonly description: string;
  /** The series name used for <<.Series>>. */
  readonly series: string;
  /** Custom rules: the resource asked for, and the namespace when the request has one. */
  readonly resource?: GroupResource;
  readonly namespace?: string;
  readonly render: () => string;
}

/**
 * The example request each rule is rendered for at load time, and that
 * `lint --print-queries` shows: a wildcard over two objects (pods where the
 * rule maps pods) in namespace default, or an external request with a=b.
 */
export function exampleRequest(rule: CompiledRule): ExampleRequest {
  const pinned = seriesNameOf(rule.seriesQuery);
  const series = pinned ?? 'example_series';
  const seriesNote = pinned ? `series ${pinned}` : 'series example_series (series names come from discovery)';
  if (rule.kind === 'external') {
    const selector = EXAMPLE_EXTERNAL_SELECTOR.map((r) => `${r.key}${r.operator}${r.values.join(',')}`).join(',');
    return {
      description: `external metric in namespace ${EXAMPLE_NAMESPACE} with selector ${selector}, ${seriesNote}`,
      series,
      ...(rule.namespaced ? { namespace: EXAMPLE_NAMESPACE } : {}),
      render: () => renderExternalQuery(rule, { series, namespace: EXAMPLE_NAMESPACE, metricSelector: EXAMPLE_EXTERNAL_SELECTOR }),
    };
  }
  const resource = exampleResource(rule);
  const what = formatGroupResource(resource);
  if (resource.resource === NAMESPACES.resource) {
    return {
      description: `the namespace ${EXAMPLE_NAMESPACE} itself, ${seriesNote}`,
      series,
      resource,
      render: () => renderMetricsQuery(rule, { series, resource, names: [EXAMPLE_NAMESPACE], metricSelector: [] }),
    };
  }
  const rootScoped = ROOT_SCOPED.has(resource.resource) && resource.group === '';
  const namespace = !rootScoped && rule.resources.mapsNamespace ? EXAMPLE_NAMESPACE : undefined;
  const names = resource.resource === 'pods' && resource.group === '' ? EXAMPLE_POD_NAMES : ['example-1', 'example-2'];
  return {
    description: `${what} wildcard${namespace ? ` in namespace ${namespace}` : ''} matching ${names.join(' and ')}, ${seriesNote}`,
    series,
    resource,
    ...(namespace !== undefined ? { namespace } : {}),
    render: () => renderMetricsQuery(rule, { series, resource, namespace, names, metricSelector: [] }),
  };
}

/**
 * The example query to parse. A rule whose own labels cannot serve the
 * example request (a custom rule that maps no resource, an external rule
 * without a namespace mapping) still has a metricsQuery that is sent once the
 * rule is mapped, or marked cluster-wide; it is rendered as if its `namespace`
 * and `pod` labels were mapped, which changes the matchers only, never
 * whether the query parses.
 */
function renderExampleQuery(rule: CompiledRule, catalog: ResourceCatalog): string {
  try {
    return exampleRequest(rule).render();
  } catch (e) {
    if (!(e instanceof QueryBuildError) || e.reason !== 'rule-cannot-serve') throw e;
    const standIn = new ResourceLabels(
      [
        { label: 'namespace', groupResource: NAMESPACES },
        { label: 'pod', groupResource: { group: '', resource: 'pods' } },
      ],
      undefined,
      catalog,
    );
    return exampleRequest({ ...rule, resources: standIn }).render();
  }
}

/** Renders the example query and parses it as PromQL, so a broken query is a load error, not a 503 at 3 a.m. */
function checkRenderedQuery(ctx: Context, rule: CompiledRule, located: Located<string>, path: string): boolean {
  let query: string;
  try {
    query = renderExampleQuery(rule, ctx.catalog);
  } catch (e) {
    if (e instanceof QueryBuildError) {
      ctx.diagnostics.error(located.at, path, 'bad-template', e.message);
      return false;
    }
    throw e;
  }
  let ok = true;
  for (const p of checkPromQL(query)) {
    const message = `${p.message}; the query rendered for an example request is: ${query.trim()}`;
    if (p.severity === 'error') {
      ctx.diagnostics.error(located.at, path, 'bad-promql', message);
      ok = false;
    } else ctx.diagnostics.warning(located.at, path, 'promql-lint', message);
  }
  return ok;
}

const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const DURATION_UNITS = [365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001];

/** Seconds in a Prometheus duration (`30s`, `1m`, `1h30m`), or undefined. */
function parsePrometheusDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m || text === '') return undefined;
  return m.slice(1).reduce((sum, part, i) => sum + (part ? Number(part) * (DURATION_UNITS[i] ?? 0) : 0), 0);
}

function compileResourceRules(ctx: Context, rr: DecodedObject, origin: RuleOrigin): CompiledResourceRules | undefined {
  let ok = true;
  const window = stringField(rr, 'window');
  let windowSeconds = 0;
  if (!window) {
    ctx.diagnostics.error(rr.at, 'resourceRules.window', 'missing-field', 'resourceRules.window is required (e.g. 1m)');
    ok = false;
  } else {
    windowSeconds = parsePrometheusDuration(window.value) ?? 0;
    if (windowSeconds <= 0) {
      ctx.diagnostics.error(window.at, 'resourceRules.window', 'bad-duration', `invalid duration ${JSON.stringify(window.value)}; use a Prometheus duration such as 30s or 1m`);
      ok = false;
    }
  }
  const compileOne = (which: 'cpu' | 'memory'): CompiledResourceRule | undefined => {
    const obj = objectField(rr, which);
    const path = `resourceRules.${which}`;
    if (!obj) {
      ctx.diagnostics.error(rr.at, path, 'missing-field', `resourceRules.${which} is required`);
      return undefined;
    }
    const resources = compileResourceMapping(ctx, objectField(obj, 'resources'), `${path}.resources`);
    const containerLabel = stringField(obj, 'containerLabel');
    const queries: Partial<Record<'containerQuery' | 'nodeQuery', { template: ParsedTemplate; text: Located<string> }>> = {};
    let good = resources.ok;
    for (const q of ['containerQuery', 'nodeQuery'] as const) {
      const text = stringField(obj, q);
      if (!text || text.value.trim() === '') {
        ctx.diagnostics.error(obj.at, `${path}.${q}`, 'missing-field', `${path}.${q} is required`);
        good = false;
        continue;
      }
      const t = compileTemplate(ctx, text, `${path}.${q}`, METRICS_QUERY_FIELDS);
      if (!t) {
        good = false;
        continue;
      }
      const resource = q === 'nodeQuery' ? NODES : PODS;
      if (resources.labels.labelFor(resource) === undefined) {
        ctx.diagnostics.error(obj.at, `${path}.resources`, 'missing-mapping', `${q} needs a label mapped to ${resource.resource}`);
        good = false;
        continue;
      }
      queries[q] = { template: t, text };
    }
    if (!containerLabel || containerLabel.value === '') {
      ctx.diagnostics.error(obj.at, `${path}.containerLabel`, 'missing-field', `${path}.containerLabel is required`);
      good = false;
    }
    const { containerQuery, nodeQuery } = queries;
    if (!containerQuery || !nodeQuery) return undefined;
    const compiled: CompiledResourceRule = {
      containerQuery: containerQuery.template,
      nodeQuery: nodeQuery.template,
      resources: resources.labels,
      containerLabel: containerLabel?.value ?? '',
      origins: {
        containerQuery: { ...containerQuery.text.at, path: `${path}.containerQuery` },
        nodeQuery: { ...nodeQuery.text.at, path: `${path}.nodeQuery` },
      },
    };
    // The example requests render a namespaced pods list and a nodes list.
    const examples: ['containerQuery' | 'nodeQuery', () => string][] = [
      ['containerQuery', () => renderContainerQuery(compiled, { namespace: resources.labels.mapsNamespace ? EXAMPLE_NAMESPACE : undefined, names: EXAMPLE_POD_NAMES })],
      ['nodeQuery', () => renderNodeQuery(compiled, { names: [EXAMPLE_NODE_NAME] })],
    ];
    for (const [q, render] of examples) {
      const text = q === 'containerQuery' ? containerQuery.text : nodeQuery.text;
      try {
        const rendered = render();
        for (const p of checkPromQL(rendered)) {
          const message = `${p.message}; the query rendered for an example request is: ${rendered.trim()}`;
          if (p.severity === 'error') {
            ctx.diagnostics.error(text.at, `${path}.${q}`, 'bad-promql', message);
            good = false;
          } else ctx.diagnostics.warning(text.at, `${path}.${q}`, 'promql-lint', message);
        }
      } catch (e) {
        if (!(e instanceof QueryBuildError)) throw e;
        ctx.diagnostics.error(text.at, `${path}.${q}`, 'bad-template', e.message);
        good = false;
      }
    }
    return good ? compiled : undefined;
  };
  const cpu = compileOne('cpu');
  const memory = compileOne('memory');
  if (!ok || !cpu || !memory) return undefined;
  return { origin, cpu, memory, windowSeconds };
}

/**
 * Two rules that publish the same metric for the same resource make the
 * served value depend on rule order (the reference lets the last one win
 * silently). Only names fixed at load time can be compared here; names that
 * come from discovery are checked on every relist.
 */
function reportDuplicateNames(rules: readonly CompiledRule[], diagnostics: DiagnosticList): void {
  const seen = new Map<string, CompiledRule>();
  for (const rule of rules) {
    if (rule.fixedName === undefined) continue;
    const targets =
      rule.kind === 'external'
        ? ['external']
        : rule.resources.overrides
            .map((o) => formatGroupResource(o.groupResource))
            // Report the collision on the object resource, not the namespace both rules also map.
            .sort((a, b) => Number(a === NAMESPACES.resource) - Number(b === NAMESPACES.resource));
    for (const target of targets) {
      const key = `${rule.kind}\u0000${target}\u0000${rule.fixedName}`;
      const first = seen.get(key);
      if (!first) {
        seen.set(key, rule);
        continue;
      }
      const subject = rule.kind === 'external' ? `external metric "${rule.fixedName}"` : `metric "${rule.fixedName}" for ${target}`;
      diagnostics.error(
        rule.origin,
        rule.origin.path,
        'duplicate-metric',
        `${subject} is published by both ${first.origin.path} (${where(first.origin)}) and ${rule.origin.path} (${where(rule.origin)}); rename one with name.as`,
      );
      break;
    }
  }
}
