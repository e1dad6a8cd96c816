// Kubernetes group-resources as rules name them, and the mapping between
// Prometheus labels and resources. Names are normalised the way a RESTMapper
// does, so `pod`, `pods` and `Pod` are the same resource. Offline (lint, or
// `--object-source prometheus`) the catalog below stands in for API discovery;
// in a cluster the adapter supplies one built from discovery.
import { executeGoTemplate, parseGoTemplate, type ParsedTemplate } from './go-template.js';
import { GoRegexp } from './go-regexp.js';

export interface GroupResource {
  /** API group; '' for the core group. */
  readonly group: string;
  /** Plural, lower-case resource name, e.g. `pods`, `deployments`. */
  readonly resource: string;
}

export interface KnownResource extends GroupResource {
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Preferred version, for `describedObject.apiVersion`. */
  readonly version: string;
}

export interface ResourceCatalog {
  /** All resources matching a name (plural, singular or kind, any case) in a group, or in any group when group is undefined. */
  find(group: string | undefined, name: string): KnownResource[];
  /** Every resource the catalog knows. */
  all(): readonly KnownResource[];
}

export const NAMESPACES: GroupResource = { group: '', resource: 'namespaces' };

/** `deployments.apps`, `pods`: the form used in API paths and discovery. */
export function formatGroupResource(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

const known = (group: string, version: string, kind: string, namespaced: boolean, resource?: string, singular?: string): KnownResource => {
  const s = singular ?? kind.toLowerCase();
  return { group, version, kind, namespaced, singular: s, resource: resource ?? guessPlural(s) };
};

/** `v1` for the core group, `apps/v1` otherwise: the form of `apiVersion` fields. */
export function apiVersionOf(r: { readonly group: string; readonly version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** The built-in resources of a current cluster, for use without API discovery. */
export const BUILTIN_RESOURCES: readonly KnownResource[] = [
  known('', 'v1', 'Pod', true),
  known('', 'v1', 'Service', true),
  known('', 'v1', 'Namespace', false),
  known('', 'v1', 'Node', false),
  known('', 'v1', 'PersistentVolume', false),
  known('', 'v1', 'PersistentVolumeClaim', true),
  known('', 'v1', 'ReplicationController', true),
  known('', 'v1', 'Endpoints', true, 'endpoints', 'endpoints'),
  known('', 'v1', 'ConfigMap', true),
  known('', 'v1', 'Secret', true),
  known('', 'v1', 'ServiceAccount', true),
  known('apps', 'v1', 'Deployment', true),
  known('apps', 'v1', 'StatefulSet', true),
  known('apps', 'v1', 'DaemonSet', true),
  known('apps', 'v1', 'ReplicaSet', true),
  known('batch', 'v1', 'Job', true),
  known('batch', 'v1', 'CronJob', true),
  known('networking.k8s.io', 'v1', 'Ingress', true),
  known('networking.k8s.io', 'v1', 'NetworkPolicy', true, 'networkpolicies'),
  known('autoscaling', 'v2', 'HorizontalPodAutoscaler', true),
  known('policy', 'v1', 'PodDisruptionBudget', true),
  known('discovery.k8s.io', 'v1', 'EndpointSlice', true),
  known('gateway.networking.k8s.io', 'v1', 'Gateway', true),
  known('gateway.networking.k8s.io', 'v1', 'HTTPRoute', true),
  known('argoproj.io', 'v1alpha1', 'Rollout', true),
];

export class StaticResourceCatalog implements ResourceCatalog {
  constructor(private readonly resources: readonly KnownResource[] = BUILTIN_RESOURCES) {}

  all(): readonly KnownResource[] {
    return this.resources;
  }

  find(group: string | undefined, name: string): KnownResource[] {
    const n = name.toLowerCase();
    return this.resources.filter((r) => (group === undefined || r.group === group || sanitizeGroup(r.group) === group) && (r.resource === n || r.singular === n || r.kind.toLowerCase() === n));
  }
}

/**
 * Kubernetes' fallback plural rule (meta.UnsafeGuessKindToResource): used
 * only for resources the catalog does not know, such as CRDs when linting
 * offline.
 */
export function guessPlural(singular: string): string {
  const s = singular.toLowerCase();
  if (s.endsWith('s')) return `${s}es`;
  if (s.endsWith('y')) return `${s.slice(0, -1)}ies`;
  return `${s}s`;
}

/** The group as it appears inside a label name: `.` and `-` become `_`. */
function sanitizeGroup(group: string): string {
  return group.replace(/[.-]/g, '_');
}

interface NormalizedResource {
  readonly groupResource: GroupResource;
  /** The catalog entry, when the catalog knows the resource. */
  readonly known?: KnownResource;
}

/**
 * Normalises a group-resource written by a user. With an empty group the
 * core group wins, then the first other group that has the resource, as a
 * RESTMapper's priority order does.
 */
export function normalizeGroupResource(catalog: ResourceCatalog, group: string | undefined, resource: string): NormalizedResource {
  const matches = catalog.find(group ? group : undefined, resource);
  const chosen = matches.find((m) => m.group === '') ?? matches[0];
  if (chosen) return { groupResource: { group: chosen.group, resource: chosen.resource }, known: chosen };
  const lower = resource.toLowerCase();
  // An unknown name that already looks plural is taken as the plural.
  const plural = lower.endsWith('s') ? lower : guessPlural(lower);
  return { groupResource: { group: group ?? '', resource: plural } };
}

function singularOf(catalog: ResourceCatalog, gr: GroupResource): string {
  const hit = catalog.find(gr.group, gr.resource)[0];
  if (hit) return hit.singular;
  if (gr.resource.endsWith('ies')) return `${gr.resource.slice(0, -3)}y`;
  if (gr.resource.endsWith('ses')) return gr.resource.slice(0, -2);
  return gr.resource.endsWith('s') ? gr.resource.slice(0, -1) : gr.resource;
}

export interface LabelOverride {
  readonly label: string;
  readonly groupResource: GroupResource;
}

export class ResourceTemplateError extends Error {}

/**
 * The resource template turned into a matcher: executing it with regex
 * groups in place of `.Group` and `.Resource` and anchoring the result gives
 * a regex that reads the group-resource back out of a label name.
 */
export interface ResourceTemplate {
  readonly template: ParsedTemplate;
  readonly extractor: GoRegexp;
}

const RESOURCE_TEMPLATE_FIELDS = ['Group', 'Resource'] as const;

/** Throws TemplateError (parse) or ResourceTemplateError (inversion). */
export function compileResourceTemplate(text: string): ResourceTemplate {
  const template = parseGoTemplate(text, { fields: RESOURCE_TEMPLATE_FIELDS });
  const pattern = executeGoTemplate(template, { Group: '(?P<group>.+?)', Resource: '(?P<resource>.+?)' });
  if (pattern === '') throw new ResourceTemplateError('the template renders an empty label name');
  let extractor: GoRegexp;
  try {
    extractor = GoRegexp.compile(`^${pattern}$`);
  } catch (e) {
    throw new ResourceTemplateError(`the template cannot be read back from labels: ${(e as Error).message}`);
  }
  if (!extractor.groupNames.includes('resource')) {
    throw new ResourceTemplateError('the template must use <<.Resource>> so resources can be read back from labels');
  }
  return { template, extractor };
}

/** Label <-> resource mapping of one rule: overrides first, then the template. */
export class ResourceLabels {
  private readonly byLabel = new Map<string, GroupResource>();
  private readonly byResource = new Map<string, string>();

  constructor(
    readonly overrides: readonly LabelOverride[],
    readonly template: ResourceTemplate | undefined,
    private readonly catalog: ResourceCatalog,
  ) {
    for (const o of overrides) {
      this.byLabel.set(o.label, o.groupResource);
      this.byResource.set(formatGroupResource(o.groupResource), o.label);
    }
  }

  /** The label that holds names of `gr`, or undefined when the rule does not map it. */
  labelFor(gr: GroupResource): string | undefined {
    const override = this.byResource.get(formatGroupResource(gr));
    if (override !== undefined) return override;
    if (!this.template) return undefined;
    const label = executeGoTemplate(this.template.template, {
      Group: sanitizeGroup(gr.group),
      Resource: singularOf(this.catalog, gr),
    });
    return label === '' ? undefined : label;
  }

  /**
   * The resource a label names. Through the template only resources the
   * catalog knows count, so ordinary labels such as `instance` or `le` are
   * not mistaken for resources.
   */
  resourceFor(label: string): GroupResource | undefined {
    const override = this.byLabel.get(label);
    if (override) return override;
    if (!this.template) return undefined;
    const m = this.template.extractor.findSubmatchIndex(label);
    if (!m) return undefined;
    const names = this.template.extractor.groupNames;
    const resource = m.group(names.indexOf('resource'));
    const groupIndex = names.indexOf('group');
    if (!resource) return undefined;
    // A template without <<.Group>> says nothing about the group, so any
    // group matches, core first, as a RESTMapper resolves an empty group.
    const group = groupIndex >= 0 ? (m.group(groupIndex) ?? '') : undefined;
    const hits = this.catalog.find(group, resource);
    const hit = hits.find((r) => r.group === '') ?? hits[0];
    if (hit) return { group: hit.group, resource: hit.resource };
    // The inverted regex splits `kube_networking_k8s_io_ingress` at the first
    // `_`, so a sanitised group with underscores is found by rendering the
    // template for every known resource instead.
    return this.renderedLabels().get(label);
  }

  private rendered: Map<string, GroupResource> | undefined;

  private renderedLabels(): Map<string, GroupResource> {
    if (!this.rendered) {
      this.rendered = new Map();
      for (const r of this.catalog.all()) {
        const gr = { group: r.group, resource: r.resource };
        const label = this.labelFor(gr);
        if (label !== undefined && !this.rendered.has(label)) this.rendered.set(label, gr);
      }
    }
    return this.rendered;
  }

  /** Whether requests can be scoped to a namespace with this mapping. */
  get mapsNamespace(): boolean {
    return this.labelFor(NAMESPACES) !== undefined;
  }
}
