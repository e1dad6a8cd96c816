// OpenAPI documents of the served group-versions, and their HTTP answers.
//
// kube-aggregator downloads /openapi/v2 of every APIService (Accept
// application/json, If-None-Match with our ETag; pkg/controllers/openapi)
// and keeps only the paths under /apis/<group>/<version>/ of that
// APIService. A 404 is logged as "failed to download ..." and retried with
// backoff for every APIService. For OpenAPI v3 (pkg/controllers/openapiv3)
// it reads the /openapi/v3 root, merges its `paths` into the cluster's
// root, and proxies each client's /openapi/v3/apis/<group>/<version>?hash=
// request to us; a 404 root makes it fall back to converting v2.
//
// The schemas follow the Go types of k8s.io/metrics (custom_metrics v1beta1
// and v1beta2, external_metrics v1beta1, metrics v1beta1 and v1) and
// apimachinery, under the names Kubernetes gives them, so the aggregator
// merges them like any other server's. The documents depend on the rules
// only in whether metrics.k8s.io is served (resourceRules loaded): metrics
// are path parameters, as they are to the aggregator.
import type { Answer, RequestContext } from './router.js';
import { servedGroups } from './documents.js';
import { MethodNotAllowedError, NotFoundError, toStatus } from './errors.js';
import { documentHash, etagOf, ifNoneMatchHits } from './etag.js';
import { negotiateOpenApiJson } from './negotiation.js';
import { CUSTOM_GROUP, EXTERNAL_GROUP, RESOURCE_METRICS_GROUP, RESOURCE_METRICS_VERSIONS } from './paths.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = Record<string, Json>;

/** A reference to a named schema; resolved per OpenAPI version. */
type Ref = (name: string) => Schema;

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const LIST_META = `${META}.ListMeta`;
const TIME = `${META}.Time`;
const LABEL_SELECTOR = `${META}.LabelSelector`;
const LABEL_SELECTOR_REQUIREMENT = `${META}.LabelSelectorRequirement`;
const STATUS = `${META}.Status`;
const STATUS_DETAILS = `${META}.StatusDetails`;
const STATUS_CAUSE = `${META}.StatusCause`;
const API_RESOURCE_LIST = `${META}.APIResourceList`;
const API_RESOURCE = `${META}.APIResource`;
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const OBJECT_REFERENCE = 'io.k8s.api.core.v1.ObjectReference';
const OBJECT_META = `${META}.ObjectMeta`;
const customName = (version: string, kind: string): string => `io.k8s.metrics.pkg.apis.custom_metrics.${version}.${kind}`;
const resourceName = (version: string, kind: string): string => `io.k8s.metrics.pkg.apis.metrics.${version}.${kind}`;
const externalName = (kind: string): string => `io.k8s.metrics.pkg.apis.external_metrics.v1beta1.${kind}`;

const stringProp = (description: string): Schema => ({ type: 'string', description });
const int64Prop = (description: string): Schema => ({ type: 'integer', format: 'int64', description });
const int32Prop = (description: string): Schema => ({ type: 'integer', format: 'int32', description });
const stringsProp = (description: string): Schema => ({ type: 'array', items: { type: 'string' }, description });
const KIND = stringProp('The REST kind of this object, in CamelCase.');
const API_VERSION = stringProp('The versioned schema of this representation of the object.');
const gvk = (group: string, version: string, kind: string): Json => [{ group, kind, version }];

/** Every schema, by name. */
function schemas(ref: Ref): Record<string, Schema> {
  const defs: Record<string, Schema> = {
    [QUANTITY]: {
      type: 'string',
      description: 'A fixed-point number with an optional SI or binary suffix, such as 1500m, 2k or 128Mi.',
    },
    [TIME]: { type: 'string', format: 'date-time', description: 'A time in RFC 3339 form, in UTC, to the second.' },
    [LIST_META]: {
      type: 'object',
      description: 'Metadata of a list.',
      properties: {
        continue: stringProp('A token to fetch more results, when the list was truncated.'),
        remainingItemCount: int64Prop('How many items a truncated list left out, when known.'),
        resourceVersion: stringProp('The version of the list, for watches and caching.'),
        selfLink: stringProp('Deprecated and never set.'),
      },
    },
    [LABEL_SELECTOR_REQUIREMENT]: {
      type: 'object',
      description: 'One requirement on the value of a label.',
      required: ['key', 'operator'],
      properties: {
        key: stringProp('The label key the requirement applies to.'),
        operator: stringProp('In, NotIn, Exists or DoesNotExist.'),
        values: stringsProp('The values for In and NotIn; empty for Exists and DoesNotExist.'),
      },
    },
    [LABEL_SELECTOR]: {
      type: 'object',
      description: 'A label query; every requirement must hold.',
      'x-kubernetes-map-type': 'atomic',
      properties: {
        matchExpressions: { type: 'array', items: ref(LABEL_SELECTOR_REQUIREMENT), description: 'Requirements on label values.' },
        matchLabels: { type: 'object', additionalProperties: { type: 'string' }, description: 'Labels that must have exactly these values.' },
      },
    },
    [OBJECT_REFERENCE]: {
      type: 'object',
      description: 'A reference to the object a metric describes.',
      'x-kubernetes-map-type': 'atomic',
      properties: {
        apiVersion: stringProp('API version of the object; v1 for core resources.'),
        fieldPath: stringProp('A field within the object; not set here.'),
        kind: stringProp('Kind of the object, such as Pod or Deployment.'),
        name: stringProp('Name of the object.'),
        namespace: stringProp('Namespace of the object; absent for cluster-scoped objects.'),
        resourceVersion: stringProp('Version of the object; not set here.'),
        uid: stringProp('UID of the object; not set here.'),
      },
    },
    [STATUS_CAUSE]: {
      type: 'object',
      description: 'One cause of an error.',
      properties: { field: stringProp('The field at fault, when known.'), message: stringProp('What went wrong.'), reason: stringProp('A machine-readable cause.') },
    },
    [STATUS_DETAILS]: {
      type: 'object',
      description: 'More about an error.',
      properties: {
        causes: { type: 'array', items: ref(STATUS_CAUSE), description: 'The causes of the error.' },
        group: stringProp('API group of the object concerned.'),
        kind: stringProp('Kind of the object concerned.'),
        name: stringProp('Name of the object concerned.'),
        retryAfterSeconds: int32Prop('When set, how long to wait before retrying.'),
        uid: stringProp('UID of the object concerned.'),
      },
    },
    [STATUS]: {
      type: 'object',
      description: 'The outcome of a request that failed: every error of these APIs is one.',
      'x-kubernetes-group-version-kind': gvk('', 'v1', 'Status'),
      properties: {
        apiVersion: API_VERSION,
        code: int32Prop('The HTTP status code.'),
        details: ref(STATUS_DETAILS),
        kind: KIND,
        message: stringProp('What went wrong and what to do about it.'),
        metadata: ref(LIST_META),
        reason: stringProp('A machine-readable reason, such as NotFound or BadRequest.'),
        status: stringProp('Failure.'),
      },
    },
    [API_RESOURCE]: {
      type: 'object',
      description: 'A resource of a group-version: here `<resource>/<metric>` for custom metrics and the bare metric name for external metrics.',
      required: ['name', 'singularName', 'namespaced', 'kind', 'verbs'],
      properties: {
        categories: stringsProp('Groups of resources this one belongs to.'),
        group: stringProp('Group of the kind returned, when it differs from the group-version listed.'),
        kind: stringProp('Kind returned: MetricValueList or ExternalMetricValueList.'),
        name: stringProp('Plural name of the resource.'),
        namespaced: { type: 'boolean', description: 'Whether the resource lives in namespaces.' },
        shortNames: stringsProp('Short names of the resource.'),
        singularName: stringProp('Singular name of the resource; empty here.'),
        storageVersionHash: stringProp('Hash of the storage version; not set here.'),
        verbs: stringsProp('Verbs the resource supports: get.'),
        version: stringProp('Version of the kind returned, when it differs from the group-version listed.'),
      },
    },
    [API_RESOURCE_LIST]: {
      type: 'object',
      description: 'The resources of one group-version.',
      'x-kubernetes-group-version-kind': gvk('', 'v1', 'APIResourceList'),
      required: ['groupVersion', 'resources'],
      properties: {
        apiVersion: API_VERSION,
        groupVersion: stringProp('The group-version listed.'),
        kind: KIND,
        resources: { type: 'array', items: ref(API_RESOURCE), description: 'The resources.' },
      },
    },
    [externalName('ExternalMetricValue')]: {
      type: 'object',
      description: 'The value of an external metric for one set of its labels.',
      required: ['metricName', 'metricLabels', 'timestamp', 'value'],
      properties: {
        apiVersion: API_VERSION,
        kind: KIND,
        metricLabels: { type: 'object', additionalProperties: { type: 'string' }, description: 'The labels of this value.' },
        metricName: stringProp('Name of the metric.'),
        timestamp: ref(TIME),
        value: ref(QUANTITY),
        window: int64Prop('Seconds of the window a rate was computed over, when the rule has one.'),
      },
    },
    [externalName('ExternalMetricValueList')]: {
      type: 'object',
      description: 'The values of an external metric that match the selector.',
      'x-kubernetes-group-version-kind': gvk(EXTERNAL_GROUP, 'v1beta1', 'ExternalMetricValueList'),
      required: ['items'],
      properties: {
        apiVersion: API_VERSION,
        items: { type: 'array', items: ref(externalName('ExternalMetricValue')), description: 'One value per label set.' },
        kind: KIND,
        metadata: ref(LIST_META),
      },
    },
    [customName('v1beta1', 'MetricValue')]: {
      type: 'object',
      description: 'The value of a metric for one object.',
      required: ['describedObject', 'metricName', 'timestamp', 'value'],
      properties: {
        apiVersion: API_VERSION,
        describedObject: ref(OBJECT_REFERENCE),
        kind: KIND,
        metricName: stringProp('Name of the metric.'),
        selector: ref(LABEL_SELECTOR),
        timestamp: ref(TIME),
        value: ref(QUANTITY),
        window: int64Prop('Seconds of the window a rate was computed over, when the rule has one.'),
      },
    },
    [customName('v1beta2', 'MetricIdentifier')]: {
      type: 'object',
      description: 'A metric: its name and the metric selector it was read with.',
      required: ['name'],
      properties: { name: stringProp('Name of the metric.'), selector: ref(LABEL_SELECTOR) },
    },
    [customName('v1beta2', 'MetricValue')]: {
      type: 'object',
      description: 'The value of a metric for one object.',
      required: ['describedObject', 'metric', 'timestamp', 'value'],
      properties: {
        apiVersion: API_VERSION,
        describedObject: ref(OBJECT_REFERENCE),
        kind: KIND,
        metric: ref(customName('v1beta2', 'MetricIdentifier')),
        timestamp: ref(TIME),
        value: ref(QUANTITY),
        windowSeconds: int64Prop('Seconds of the window a rate was computed over, when the rule has one.'),
      },
    },
  };
  defs[OBJECT_META] = {
    type: 'object',
    description: 'Metadata of an object: here its name, namespace and labels, and when the answer was made.',
    properties: {
      creationTimestamp: ref(TIME),
      labels: { type: 'object', additionalProperties: { type: 'string' }, description: "The object's labels." },
      name: stringProp('Name of the object.'),
      namespace: stringProp('Namespace of the object; absent for cluster-scoped objects.'),
    },
  };
  const usage = (description: string): Schema => ({ type: 'object', additionalProperties: ref(QUANTITY), description });
  const timestamp = ref(TIME);
  const window = stringProp('The span the values cover, ending at timestamp, as a Go duration: 30s, 2m0s.');
  for (const version of RESOURCE_METRICS_VERSIONS) {
    defs[resourceName(version, 'ContainerMetrics')] = {
      type: 'object',
      description: 'The usage of one container.',
      required: ['name', 'usage'],
      properties: { name: stringProp('Name of the container.'), usage: usage('cpu in cores and memory (working set) in bytes.') },
    };
    defs[resourceName(version, 'PodMetrics')] = {
      type: 'object',
      description: 'The cpu and memory usage of a pod, per container.',
      'x-kubernetes-group-version-kind': gvk(RESOURCE_METRICS_GROUP, version, 'PodMetrics'),
      required: ['timestamp', 'window', 'containers'],
      properties: {
        apiVersion: API_VERSION,
        containers: { type: 'array', items: ref(resourceName(version, 'ContainerMetrics')), description: 'One entry per container.', 'x-kubernetes-list-type': 'atomic' },
        kind: KIND,
        metadata: ref(OBJECT_META),
        timestamp,
        window,
      },
    };
    defs[resourceName(version, 'NodeMetrics')] = {
      type: 'object',
      description: 'The cpu and memory usage of a node.',
      'x-kubernetes-group-version-kind': gvk(RESOURCE_METRICS_GROUP, version, 'NodeMetrics'),
      required: ['timestamp', 'window', 'usage'],
      properties: { apiVersion: API_VERSION, kind: KIND, metadata: ref(OBJECT_META), timestamp, usage: usage('cpu in cores and memory (working set) in bytes.'), window },
    };
    for (const kind of ['PodMetrics', 'NodeMetrics']) {
      defs[resourceName(version, `${kind}List`)] = {
        type: 'object',
        description: `A list of ${kind}.`,
        'x-kubernetes-group-version-kind': gvk(RESOURCE_METRICS_GROUP, version, `${kind}List`),
        required: ['items'],
        properties: { apiVersion: API_VERSION, items: { type: 'array', items: ref(resourceName(version, kind)), description: 'The items.' }, kind: KIND, metadata: ref(LIST_META) },
      };
    }
  }
  for (const version of ['v1beta1', 'v1beta2']) {
    defs[customName(version, 'MetricValueList')] = {
      type: 'object',
      description: 'The values of a metric for the objects asked for.',
      'x-kubernetes-group-version-kind': gvk(CUSTOM_GROUP, version, 'MetricValueList'),
      required: ['items'],
      properties: {
        apiVersion: API_VERSION,
        items: { type: 'array', items: ref(customName(version, 'MetricValue')), description: 'One value per object.' },
        kind: KIND,
        metadata: ref(LIST_META),
      },
    };
  }
  return defs;
}

interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query';
  readonly description: string;
}

const param = {
  namespace: { name: 'namespace', in: 'path', description: 'Namespace of the objects.' },
  resource: { name: 'resource', in: 'path', description: 'Plural resource of the objects, with its group unless core: pods, deployments.apps.' },
  name: { name: 'name', in: 'path', description: 'Name of the object, or * for every object labelSelector matches.' },
  metric: { name: 'metric', in: 'path', description: 'Name of the metric.' },
  labelSelector: { name: 'labelSelector', in: 'query', description: 'Selects the objects by their labels, for name *.' },
  metricLabelSelector: { name: 'metricLabelSelector', in: 'query', description: "Narrows the metric's series by their labels." },
  externalSelector: { name: 'labelSelector', in: 'query', description: "Narrows the metric's series by their labels." },
  objectLabelSelector: { name: 'labelSelector', in: 'query', description: 'Selects the objects by their labels.' },
  fieldSelector: { name: 'fieldSelector', in: 'query', description: 'Selects the objects by metadata.name and metadata.namespace.' },
  pod: { name: 'name', in: 'path', description: 'Name of the pod.' },
  node: { name: 'name', in: 'path', description: 'Name of the node.' },
} satisfies Record<string, Parameter>;

interface Operation {
  readonly group: string;
  readonly version: string;
  /** Below /apis/<group>/<version>/. */
  readonly subPath: string;
  readonly operationId: string;
  readonly description: string;
  /** x-kubernetes-action, as kube-apiserver derives the RBAC verb. */
  readonly action: 'get' | 'list';
  readonly parameters: readonly Parameter[];
  readonly response: string;
  /** The kind answered, for x-kubernetes-group-version-kind; absent for discovery. */
  readonly kind?: string;
}

const title = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const GROUP_NAMES: Readonly<Record<string, string>> = { [CUSTOM_GROUP]: 'customMetrics', [EXTERNAL_GROUP]: 'externalMetrics', [RESOURCE_METRICS_GROUP]: 'metrics' };
const operationPrefix = (group: string, version: string): string => `${title(GROUP_NAMES[group] ?? group)}${title(version)}`;

/** The operations of metrics.k8s.io in one version. */
function resourceMetricsOperations(version: string): Operation[] {
  const group = RESOURCE_METRICS_GROUP;
  const prefix = operationPrefix(group, version);
  const selectors = [param.objectLabelSelector, param.fieldSelector];
  const op = (subPath: string, operationId: string, description: string, action: 'get' | 'list', parameters: readonly Parameter[], kind: string): Operation => ({
    group,
    version,
    subPath,
    operationId: operationId.replace('%', prefix),
    description,
    action,
    parameters,
    response: resourceName(version, kind),
    kind,
  });
  return [
    op('namespaces/{namespace}/pods', 'list%NamespacedPodMetrics', 'The usage of the pods of a namespace that the selectors match.', 'list', [param.namespace, ...selectors], 'PodMetricsList'),
    op('namespaces/{namespace}/pods/{name}', 'read%NamespacedPodMetrics', 'The usage of one pod.', 'get', [param.namespace, param.pod], 'PodMetrics'),
    op('pods', 'list%PodMetricsForAllNamespaces', 'The usage of the pods of every namespace that the selectors match.', 'list', selectors, 'PodMetricsList'),
    op('nodes', 'list%NodeMetrics', 'The usage of the nodes that the selectors match.', 'list', selectors, 'NodeMetricsList'),
    op('nodes/{name}', 'read%NodeMetrics', 'The usage of one node.', 'get', [param.node], 'NodeMetrics'),
  ];
}

/** Every operation served, one row per path. */
function operations(resourceMetrics: boolean): Operation[] {
  const ops: Operation[] = [];
  for (const { name: group, versions } of servedGroups(resourceMetrics)) {
    for (const version of versions) {
      const prefix = operationPrefix(group, version);
      ops.push({
        group,
        version,
        subPath: '',
        operationId: `get${prefix}APIResources`,
        description: group === RESOURCE_METRICS_GROUP ? 'The resources served: pods and nodes.' : 'The metrics discovered, one resource each.',
        action: 'get',
        parameters: [],
        response: API_RESOURCE_LIST,
      });
      if (group === RESOURCE_METRICS_GROUP) {
        ops.push(...resourceMetricsOperations(version));
      } else if (group === CUSTOM_GROUP) {
        const list = customName(version, 'MetricValueList');
        const selectors = [param.labelSelector, param.metricLabelSelector];
        ops.push(
          {
            group,
            version,
            subPath: 'namespaces/{namespace}/{resource}/{name}/{metric}',
            operationId: `read${prefix}NamespacedMetricValue`,
            description: 'A metric of one namespaced object, or of every object labelSelector matches.',
            action: 'get',
            parameters: [param.namespace, param.resource, param.name, param.metric, ...selectors],
            response: list,
            kind: 'MetricValueList',
          },
          {
            group,
            version,
            subPath: '{resource}/{name}/{metric}',
            operationId: `read${prefix}MetricValue`,
            description: 'A metric of one cluster-scoped object, such as a node, or of every object labelSelector matches.',
            action: 'get',
            parameters: [param.resource, param.name, param.metric, ...selectors],
            response: list,
            kind: 'MetricValueList',
          },
          {
            group,
            version,
            subPath: 'namespaces/{namespace}/metrics/{metric}',
            operationId: `read${prefix}MetricValueForNamespace`,
            description: 'A metric of the Namespace object itself.',
            action: 'get',
            parameters: [{ ...param.namespace, description: 'The namespace described.' }, param.metric, param.metricLabelSelector],
            response: list,
            kind: 'MetricValueList',
          },
        );
      } else {
        ops.push({
          group,
          version,
          subPath: 'namespaces/{namespace}/{metric}',
          operationId: `list${prefix}NamespacedExternalMetricValue`,
          description: 'The values of an external metric in a namespace.',
          action: 'list',
          parameters: [param.namespace, param.metric, param.externalSelector],
          response: externalName('ExternalMetricValueList'),
          kind: 'ExternalMetricValueList',
        });
      }
    }
  }
  return ops;
}

const pathOf = (op: Operation): string => `/apis/${op.group}/${op.version}/${op.subPath}`;
const tagOf = (op: Operation): string => `${GROUP_NAMES[op.group] ?? op.group}_${op.version}`;
const ERRORS: readonly [string, string][] = [
  ['400', 'Bad Request: a malformed name or selector.'],
  ['401', 'Unauthorized.'],
  ['403', 'Forbidden.'],
  ['404', 'Not Found: an unknown metric, or nothing matched.'],
  ['503', 'Service Unavailable: Prometheus failed, or discovery is not done.'],
];

/** The names `value` refers to, directly. */
function refsIn(value: Json, prefix: string, out: Set<string>): void {
  if (Array.isArray(value)) {
    for (const v of value) refsIn(v, prefix, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith(prefix)) out.add(v.slice(prefix.length));
      else refsIn(v, prefix, out);
    }
  }
}

/** The schemas `roots` need, transitively, in name order. */
function closure(all: Record<string, Schema>, roots: Iterable<string>, prefix: string): Record<string, Schema> {
  const seen = new Set<string>();
  const pending = [...roots];
  while (pending.length > 0) {
    const name = pending.pop() as string;
    const schema = all[name];
    if (seen.has(name) || !schema) continue;
    seen.add(name);
    const refs = new Set<string>();
    refsIn(schema, prefix, refs);
    pending.push(...refs);
  }
  return Object.fromEntries([...seen].sort().map((n) => [n, all[n] as Schema]));
}

const INFO = { title: 'hpa-bridge metrics APIs', version: 'unversioned' };
const SECURITY: Json = [{ BearerToken: [] }];
const BEARER = { type: 'apiKey', name: 'authorization', in: 'header', description: 'Bearer token authentication.' };

/** What the documents cover besides the groups always served. */
export interface OpenApiScope {
  /** metrics.k8s.io: served while resourceRules are loaded. */
  readonly resourceMetrics?: boolean;
}

/** OpenAPI v2 (Swagger 2.0) of every served group-version. */
export function openApiV2(scope: OpenApiScope = {}): Record<string, Json> {
  const prefix = '#/definitions/';
  const ref: Ref = (name) => ({ $ref: prefix + name });
  const paths: Record<string, Json> = {};
  const ops = operations(scope.resourceMetrics ?? false);
  for (const op of ops) {
    paths[pathOf(op)] = {
      get: {
        description: op.description,
        operationId: op.operationId,
        produces: ['application/json'],
        schemes: ['https'],
        tags: [tagOf(op)],
        parameters: op.parameters.map((p) => ({ name: p.name, in: p.in, description: p.description, type: 'string', uniqueItems: true, ...(p.in === 'path' ? { required: true } : {}) })),
        responses: {
          '200': { description: 'OK', schema: ref(op.response) },
          ...Object.fromEntries(ERRORS.map(([code, description]) => [code, { description, schema: ref(STATUS) }])),
        },
        'x-kubernetes-action': op.action,
        ...(op.kind ? { 'x-kubernetes-group-version-kind': { group: op.group, version: op.version, kind: op.kind } } : {}),
      },
    };
  }
  return {
    swagger: '2.0',
    info: INFO,
    paths,
    definitions: closure(
      schemas(ref),
      ops.flatMap((op) => [op.response, STATUS]),
      prefix,
    ),
    securityDefinitions: { BearerToken: BEARER },
    security: SECURITY,
  };
}

/** `apis/<group>/<version>` of every served group-version: the keys of the v3 root. */
export function openApiV3GroupVersions(scope: OpenApiScope = {}): string[] {
  return servedGroups(scope.resourceMetrics ?? false).flatMap((g) => g.versions.map((v) => `apis/${g.name}/${v}`));
}

/** OpenAPI v3 of one group-version (`apis/<group>/<version>`), or undefined for one not served. */
export function openApiV3(groupVersion: string, scope: OpenApiScope = {}): Record<string, Json> | undefined {
  const ops = operations(scope.resourceMetrics ?? false).filter((op) => `apis/${op.group}/${op.version}` === groupVersion);
  if (ops.length === 0) return undefined;
  const prefix = '#/components/schemas/';
  const ref: Ref = (name) => ({ $ref: prefix + name });
  const json = (name: string): Json => ({ 'application/json': { schema: ref(name) } });
  const paths: Record<string, Json> = {};
  for (const op of ops) {
    paths[pathOf(op)] = {
      get: {
        description: op.description,
        operationId: op.operationId,
        tags: [tagOf(op)],
        parameters: op.parameters.map((p) => ({ name: p.name, in: p.in, description: p.description, schema: { type: 'string', uniqueItems: true }, ...(p.in === 'path' ? { required: true } : {}) })),
        responses: {
          '200': { description: 'OK', content: json(op.response) },
          ...Object.fromEntries(ERRORS.map(([code, description]) => [code, { description, content: json(STATUS) }])),
        },
        'x-kubernetes-action': op.action,
        ...(op.kind ? { 'x-kubernetes-group-version-kind': { group: op.group, version: op.version, kind: op.kind } } : {}),
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: INFO,
    paths,
    components: {
      schemas: closure(
        schemas(ref),
        ops.flatMap((op) => [op.response, STATUS]),
        prefix,
      ),
      securitySchemes: { BearerToken: BEARER },
    },
    security: SECURITY,
  };
}

interface Served {
  readonly body: string;
  readonly hash: string;
}

const serialize = (doc: unknown): Served => {
  const body = JSON.stringify(doc);
  return { body, hash: documentHash(body) };
};

interface Documents {
  readonly v2: Served;
  readonly v3: Map<string, Served>;
  readonly v3Root: Served;
}

/** The documents, built once for each scope: nothing else changes at run time. */
const built = new Map<boolean, Documents>();
function documents(scope: OpenApiScope): Documents {
  const resourceMetrics = scope.resourceMetrics ?? false;
  let docs = built.get(resourceMetrics);
  if (!docs) {
    const v3 = new Map(openApiV3GroupVersions(scope).map((gv) => [gv, serialize(openApiV3(gv, scope))]));
    // The root names each document with its hash (kube-openapi handler3), so
    // clients may cache a document for as long as its URL is unchanged.
    const paths = Object.fromEntries([...v3].map(([gv, doc]) => [gv, { serverRelativeURL: `/openapi/v3/${gv}?hash=${doc.hash}` }]));
    docs = { v2: serialize(openApiV2(scope)), v3, v3Root: serialize({ paths }) };
    built.set(resourceMetrics, docs);
  }
  return docs;
}

/** JSON with its ETag, or 304 when If-None-Match names it (http.ServeContent). */
function withEtag(doc: Served, context: RequestContext, headers: Record<string, string> = {}): Answer {
  const etag = etagOf(doc.hash);
  const all = { ...headers, ETag: etag };
  if (ifNoneMatchHits(context.ifNoneMatch, etag)) return { code: 304, body: '', headers: all };
  return { code: 200, body: doc.body, contentType: 'application/json', headers: all };
}

function answerOrThrow(method: string, url: string, context: RequestContext, scope: OpenApiScope): Answer {
  if (method !== 'GET' && method !== 'HEAD') throw new MethodNotAllowedError(`method ${method} is not supported; the OpenAPI documents are read-only`);
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const docs = documents(scope);
  if (path === '/openapi/v2') {
    negotiateOpenApiJson(context.accept);
    return withEtag(docs.v2, context, { Vary: 'Accept' });
  }
  // kube-openapi serves the v3 root as JSON whatever Accept says.
  if (path === '/openapi/v3') return withEtag(docs.v3Root, context);
  const groupVersion = path.startsWith('/openapi/v3/') ? path.slice('/openapi/v3/'.length) : undefined;
  const doc = groupVersion === undefined ? undefined : docs.v3.get(groupVersion);
  if (!doc || groupVersion === undefined) throw new NotFoundError(`the server could not find the requested resource: ${path}`);
  negotiateOpenApiJson(context.accept);
  const hash = new URLSearchParams(q === -1 ? '' : url.slice(q + 1)).get('hash');
  if (hash !== null && hash !== '') {
    // A stale hash is redirected to the current document, as kube-openapi does.
    if (hash !== doc.hash) return { code: 301, body: '', headers: { Location: `/openapi/v3/${groupVersion}?hash=${doc.hash}` } };
    // Under its hash, a document never changes.
    return withEtag(doc, context, { Vary: 'Accept', 'Cache-Control': 'public, immutable, max-age=31536000' });
  }
  return withEtag(doc, context, { Vary: 'Accept' });
}

/** Answers a request for /openapi/v2, /openapi/v3 or /openapi/v3/<group-version>; every error is a Status. */
export function answerOpenApi(method: string, url: string, context: RequestContext = {}, scope: OpenApiScope = {}): Answer {
  try {
    return answerOrThrow(method, url, context, scope);
  } catch (e) {
    const status = toStatus(e);
    return { code: status.code, body: JSON.stringify(status) };
  }
}
