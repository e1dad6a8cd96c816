// One declarative description of the rule-file format. It drives strict
// decoding (unknown keys are errors, as with the reference adapter's
// UnmarshalStrict), the positions every later check reports, and the format
// reference in docs/rules.md.
import { DiagnosticList, type SourcePosition } from './diagnostics.js';
import { isMap, isScalar, isSeq, nodePosition, scalarValuePosition, type YamlNode, type YamlSource } from './yaml-source.js';

type FieldSpec =
  | { readonly kind: 'string'; readonly doc: string }
  | { readonly kind: 'boolean'; readonly doc: string }
  | { readonly kind: 'object'; readonly doc: string; readonly fields: Readonly<Record<string, FieldSpec>> }
  | { readonly kind: 'list'; readonly doc: string; readonly items: FieldSpec }
  | { readonly kind: 'map'; readonly doc: string; readonly values: FieldSpec };

const str = (doc: string): FieldSpec => ({ kind: 'string', doc });

const resourceMappingSpec: FieldSpec = {
  kind: 'object',
  doc: 'How Prometheus labels map to Kubernetes resources.',
  fields: {
    template: str('Go template (`<<.Group>>`, `<<.Resource>>`) that turns a group-resource into a label name; inverted to read resources back from labels.'),
    overrides: {
      kind: 'map',
      doc: 'Label name to the group-resource it names.',
      values: {
        kind: 'object',
        doc: 'A group-resource.',
        fields: {
          group: str('API group, empty for the core group.'),
          resource: str('Resource, singular or plural (`pod`, `pods` and `Pod` are the same).'),
        },
      },
    },
    namespaced: { kind: 'boolean', doc: 'External rules only: whether the query is scoped to the request namespace (default true).' },
  },
};

const discoveryRuleSpec: FieldSpec = {
  kind: 'object',
  doc: 'A discovery rule.',
  fields: {
    seriesQuery: str('PromQL series selector sent to discovery.'),
    seriesFilters: {
      kind: 'list',
      doc: 'Extra filters on series names, ANDed.',
      items: {
        kind: 'object',
        doc: 'Exactly one of `is` or `isNot`, an RE2 regex, unanchored.',
        fields: { is: str('Keep series whose name matches.'), isNot: str('Drop series whose name matches.') },
      },
    },
    resources: resourceMappingSpec,
    name: {
      kind: 'object',
      doc: 'How series names become metric names.',
      fields: {
        matches: str('RE2 regex on the series name (default `.*`).'),
        as: str('Expansion template (`$1`, `${1}`, `$name`); default `$0` with no groups, `$1` with one.'),
      },
    },
    metricsQuery: str('Go template (`<<` `>>`) for the PromQL query.'),
    sharedEvaluation: {
      kind: 'boolean',
      doc: 'An hpa-bridge addition: answer wildcard requests (custom rules) or metric selectors (external rules) from one query per namespace when the query is separable (default true); false sends one query per request.',
    },
  },
};

const resourceRuleSpec: FieldSpec = {
  kind: 'object',
  doc: 'Resource-metrics rule for cpu or memory.',
  fields: {
    containerQuery: str('Go template for per-container usage.'),
    nodeQuery: str('Go template for per-node usage.'),
    resources: resourceMappingSpec,
    containerLabel: str('Label holding the container name.'),
  },
};

const amountsSpec = (doc: string): FieldSpec => ({
  kind: 'object',
  doc,
  fields: {
    cpu: str('CPU quantity, e.g. `100m`.'),
    memory: str('Memory quantity, e.g. `128Mi`.'),
    'ephemeral-storage': str('Ephemeral storage quantity, e.g. `1Gi`.'),
  },
});

const ratiosSpec: FieldSpec = {
  kind: 'object',
  doc: 'Limit = request × ratio, for resources that have no limit. Off unless set.',
  fields: {
    cpu: str('Ratio for cpu, a number ≥ 1.'),
    memory: str('Ratio for memory, a number ≥ 1.'),
    'ephemeral-storage': str('Ratio for ephemeral-storage, a number ≥ 1.'),
  },
};

const defaultsEntrySpec: FieldSpec = {
  kind: 'object',
  doc: 'A default-requests entry for the admission webhook.',
  fields: {
    name: str('A name for messages and the annotation that records what was added.'),
    match: {
      kind: 'object',
      doc: 'What the entry applies to; every criterion given must match, an empty match matches everything.',
      fields: {
        namespaces: { kind: 'list', doc: 'Namespace names or globs (`*`, `?`).', items: str('A namespace name or glob.') },
        selector: {
          kind: 'object',
          doc: 'Workload labels, as a Kubernetes label selector.',
          fields: {
            matchLabels: { kind: 'map', doc: 'Labels that must be equal.', values: str('Label value.') },
            matchExpressions: {
              kind: 'list',
              doc: 'Set-based requirements.',
              items: {
                kind: 'object',
                doc: 'A requirement.',
                fields: {
                  key: str('Label key.'),
                  operator: str('In, NotIn, Exists or DoesNotExist.'),
                  values: { kind: 'list', doc: 'Values for In and NotIn.', items: str('A value.') },
                },
              },
            },
          },
        },
        containers: { kind: 'list', doc: 'Container names or globs.', items: str('A container name or glob.') },
        kinds: {
          kind: 'list',
          doc: 'Workload kinds: Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod.',
          items: str('A workload kind.'),
        },
      },
    },
    requests: amountsSpec('Requests to add where a container has none.'),
    limits: amountsSpec('Limits to add where a container has none. Off unless set.'),
    limitRatio: ratiosSpec,
    off: { kind: 'boolean', doc: 'Add nothing to what this entry matches (an opt-out, or with an empty match, switches the built-in fallback off).' },
    initContainers: { kind: 'boolean', doc: 'Also default ordinary init containers (native sidecars are always covered).' },
    ephemeralContainers: { kind: 'boolean', doc: 'Also default ephemeral containers.' },
  },
};

export const ruleFileSpec: FieldSpec = {
  kind: 'object',
  doc: 'A rule file.',
  fields: {
    rules: { kind: 'list', doc: 'Custom metrics rules (custom.metrics.k8s.io).', items: discoveryRuleSpec },
    externalRules: { kind: 'list', doc: 'External metrics rules (external.metrics.k8s.io).', items: discoveryRuleSpec },
    resourceRules: {
      kind: 'object',
      doc: 'Resource metrics (metrics.k8s.io) rules.',
      fields: { cpu: resourceRuleSpec, memory: resourceRuleSpec, window: str('Prometheus duration of the rate window.') },
    },
    defaults: { kind: 'list', doc: 'Default resource requests added by the admission webhook (an hpa-bridge addition).', items: defaultsEntrySpec },
  },
};

/** A decoded scalar with where it came from. */
export interface Located<T> {
  readonly value: T;
  readonly at: SourcePosition;
  /** Position of a character inside the value, for errors deep in a template or regex. */
  readonly positionOf: (offset: number) => SourcePosition;
}

export interface DecodedObject {
  readonly kind: 'object';
  readonly at: SourcePosition;
  readonly path: string;
  readonly fields: ReadonlyMap<string, Decoded>;
  /** Position of each key, for errors about the key itself. */
  readonly keyAt: ReadonlyMap<string, SourcePosition>;
}
export interface DecodedList {
  readonly kind: 'list';
  readonly at: SourcePosition;
  readonly path: string;
  readonly items: readonly Decoded[];
}
interface DecodedMap {
  readonly kind: 'map';
  readonly at: SourcePosition;
  readonly path: string;
  readonly entries: readonly { readonly key: string; readonly keyAt: SourcePosition; readonly value: Decoded }[];
}
interface DecodedScalar {
  readonly kind: 'string' | 'boolean';
  readonly path: string;
  readonly located: Located<string> | Located<boolean>;
}
type Decoded = DecodedObject | DecodedList | DecodedMap | DecodedScalar;

const describeNode = (node: YamlNode | null): string =>
  node === null || (isScalar(node) && node.value === null)
    ? 'null'
    : isMap(node)
      ? 'a mapping'
      : isSeq(node)
        ? 'a list'
        : isScalar(node)
          ? `the scalar ${JSON.stringify(scalarText(node))}`
          : 'an alias';

function scalarText(node: YamlNode): string {
  if (!isScalar(node)) return '';
  // yaml.v2 decodes any scalar into a string field from its source text, so
  // `as: 0x1F` is the string "0x1F", not "31".
  return typeof node.value === 'string' ? node.value : String(node.source ?? node.value);
}

function joinPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

/**
 * Decodes a YAML node against the schema. Problems go to `diagnostics`;
 * the part that could be decoded is returned so later checks still run on
 * the rest of the file. A null value anywhere means "not set", as in yaml.v2.
 */
export function decodeNode(
  source: YamlSource,
  node: YamlNode | null,
  spec: FieldSpec,
  path: string,
  diagnostics: DiagnosticList,
  ancestors: readonly { readonly spec: FieldSpec; readonly path: string }[] = [],
): Decoded | undefined {
  if (node === null || (isScalar(node) && node.value === null)) return undefined;
  const at = nodePosition(source, node);
  const mismatch = (expected: string): void => {
    diagnostics.error(at, path, 'wrong-type', `expected ${expected}, found ${describeNode(node)}`);
  };
  switch (spec.kind) {
    case 'string': {
      if (!isScalar(node)) {
        mismatch('a string');
        return;
      }
      const value = scalarText(node);
      return {
        kind: 'string',
        path,
        located: { value, at, positionOf: (offset) => scalarValuePosition(source, node, offset) },
      };
    }
    case 'boolean': {
      if (!isScalar(node) || typeof node.value !== 'boolean') {
        mismatch('true or false');
        return;
      }
      return { kind: 'boolean', path, located: { value: node.value, at, positionOf: () => at } };
    }
    case 'list': {
      if (!isSeq(node)) {
        mismatch('a list');
        return;
      }
      const items: Decoded[] = [];
      node.items.forEach((item, i) => {
        const decoded = decodeNode(source, item as YamlNode | null, spec.items, joinPath(path, i), diagnostics, ancestors);
        if (decoded) items.push(decoded);
        else if (spec.items.kind === 'object' && item !== null && isScalar(item) && item.value === null) {
          diagnostics.error(nodePosition(source, item as YamlNode), joinPath(path, i), 'empty-item', 'empty list item');
        }
      });
      return { kind: 'list', at, path, items };
    }
    case 'map':
    case 'object': {
      if (!isMap(node)) {
        mismatch(spec.kind === 'map' ? 'a mapping of names' : 'a mapping');
        return;
      }
      const fields = new Map<string, Decoded>();
      const keyAt = new Map<string, SourcePosition>();
      const entries: { key: string; keyAt: SourcePosition; value: Decoded }[] = [];
      for (const pair of node.items) {
        const keyNode = pair.key as YamlNode | null;
        const kAt = nodePosition(source, keyNode, node.range?.[0]);
        if (keyNode === null || !isScalar(keyNode)) {
          diagnostics.error(kAt, path, 'bad-key', 'mapping keys must be strings');
          continue;
        }
        const key = scalarText(keyNode);
        const childPath = joinPath(path, key);
        const valueNode = pair.value as YamlNode | null;
        if (spec.kind === 'map') {
          const decoded = decodeNode(source, valueNode, spec.values, childPath, diagnostics, ancestors);
          if (decoded) entries.push({ key, keyAt: kAt, value: decoded });
          else if (valueNode === null || (isScalar(valueNode) && valueNode.value === null)) {
            diagnostics.error(kAt, childPath, 'empty-value', `"${key}" needs a value`);
          }
          continue;
        }
        const fieldSpec = spec.fields[key];
        if (!fieldSpec) {
          diagnostics.error(kAt, childPath, 'unknown-field', unknownFieldMessage(key, Object.keys(spec.fields), ancestors));
          continue;
        }
        keyAt.set(key, kAt);
        const decoded = decodeNode(source, valueNode, fieldSpec, childPath, diagnostics, [{ spec, path }, ...ancestors]);
        if (decoded) fields.set(key, decoded);
      }
      return spec.kind === 'map' ? { kind: 'map', at, path, entries } : { kind: 'object', at, path, fields, keyAt };
    }
  }
}

function unknownFieldMessage(key: string, known: string[], ancestors: readonly { readonly spec: FieldSpec; readonly path: string }[]): string {
  const near = known.find((k) => k.toLowerCase() === key.toLowerCase());
  // A key that belongs to an enclosing object is almost always mis-indented.
  const owner = ancestors.find((a) => a.spec.kind === 'object' && key in a.spec.fields);
  const hint = near ? `; did you mean "${near}"?` : owner ? `; "${key}" is a field of ${owner.path || 'the top level'}, check its indentation` : '';
  return `unknown field "${key}" (known fields: ${known.join(', ')})${hint}`;
}

// Typed accessors over a decoded object.

export function stringField(obj: DecodedObject | undefined, key: string): Located<string> | undefined {
  const f = obj?.fields.get(key);
  return f?.kind === 'string' ? (f.located as Located<string>) : undefined;
}

export function booleanField(obj: DecodedObject | undefined, key: string): Located<boolean> | undefined {
  const f = obj?.fields.get(key);
  return f?.kind === 'boolean' ? (f.located as Located<boolean>) : undefined;
}

export function objectField(obj: DecodedObject | undefined, key: string): DecodedObject | undefined {
  const f = obj?.fields.get(key);
  return f?.kind === 'object' ? f : undefined;
}

export function listField(obj: DecodedObject | undefined, key: string): DecodedList | undefined {
  const f = obj?.fields.get(key);
  return f?.kind === 'list' ? f : undefined;
}

export function mapField(obj: DecodedObject | undefined, key: string): DecodedMap | undefined {
  const f = obj?.fields.get(key);
  return f?.kind === 'map' ? f : undefined;
}

/** Renders the schema as a Markdown list, for docs/rules.md. */
export function describeSpec(spec: FieldSpec, indent = ''): string {
  const lines: string[] = [];
  const walk = (s: FieldSpec, pad: string): void => {
    if (s.kind === 'object') {
      for (const [k, v] of Object.entries(s.fields)) {
        lines.push(`${pad}- \`${k}\` (${typeName(v)}): ${v.doc}`);
        walk(v, `${pad}  `);
      }
    } else if (s.kind === 'list') {
      walk(s.items, pad);
    } else if (s.kind === 'map') {
      walk(s.values, pad);
    }
  };
  walk(spec, indent);
  return lines.join('\n');
}

function typeName(s: FieldSpec): string {
  switch (s.kind) {
    case 'list':
      return `list of ${typeName(s.items)}`;
    case 'map':
      return `map of ${typeName(s.values)}`;
    case 'object':
      return 'object';
    default:
      return s.kind;
  }
}
