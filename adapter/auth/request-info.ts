// The authorization attributes of a request, derived exactly as
// k8s.io/apiserver's RequestInfoFactory.NewRequestInfo
// (pkg/endpoints/request/requestinfo.go, APIPrefixes {api, apis}, groupless
// prefix api) and GetAuthorizerAttributes (pkg/endpoints/filters/
// authorization.go) derive them. The metrics paths come out as:
//
//   /apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/http_requests
//     -> get pods/http_requests, name "*", namespace default
//   /apis/custom.metrics.k8s.io/v1beta2/nodes/node-1/m
//     -> get nodes/m, name node-1, no namespace
//   /apis/custom.metrics.k8s.io/v1beta2/namespaces/default/metrics/m
//     -> get metrics, name m, namespace default: after "namespaces/{ns}" the
//        next segment is a resource unless it is a namespace subresource
//        (status, finalize), so the Namespace object's metric reads as a
//        resource named "metrics"
//   /apis/custom.metrics.k8s.io/v1beta2/namespaces/default/m (root-scoped
//   form for Namespace objects)
//     -> list m, namespace default, for the same reason
//   /apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_len
//     -> list queue_len, namespace default (no name: a GET without a name is
//        a list); ?labelSelector= adds labelSelector requirements
//   /apis, /apis/<group>, /apis/<group>/<version>, /healthz, ...
//     -> non-resource: the path and the lower-cased method
import { BadRequestError } from '../errors.js';
import { LabelSelectorError, labelSelectorOperatorOf, parseLabelSelector, type LabelSelectorRequirement } from '../../k8s/label-selector.js';
import { FieldSelectorError, parseFieldSelector, type FieldTerm } from '../../k8s/field-selector.js';
import type { FieldSelectorRequirement, RequestAttributes } from './types.js';

const API_PREFIXES = new Set(['api', 'apis']);
const GROUPLESS_PREFIXES = new Set(['api']);
const SPECIAL_VERBS = new Set(['proxy', 'watch']);
const SPECIAL_VERBS_NO_SUBRESOURCES = new Set(['proxy']);
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
const VERBS_WITH_SELECTORS = new Set(['list', 'watch', 'deletecollection']);

/**
 * Go's URL.Path: the request target's path with every %XX decoded (a
 * decoded %2F is a separator like any other). Throws BadRequestError for a
 * malformed escape, which Go's HTTP server rejects before any handler.
 */
export function decodedPath(target: string): string {
  const q = target.indexOf('?');
  const raw = q === -1 ? target : target.slice(0, q);
  if (!raw.includes('%')) return raw;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length;) {
    if (raw.charCodeAt(i) === 0x25) {
      const hex = raw.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new BadRequestError(`malformed percent-encoding in the request path ${JSON.stringify(raw)}`);
      bytes.push(Number.parseInt(hex, 16));
      i += 3;
    } else {
      const ch = String.fromCodePoint(raw.codePointAt(i) as number);
      for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
      i += ch.length;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function splitPath(path: string): string[] {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? [] : trimmed.split('/');
}

/** content.IsPathSegmentName: a name usable as a path segment. */
function isPathSegmentName(name: string): boolean {
  return name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');
}

/** Whether metainternalversion.ListOptions would decode these parameters (labelSelector, fieldSelector and the integers). */
function listOptionsDecode(query: URLSearchParams): { ok: boolean; fieldTerms: FieldTerm[] } {
  try {
    const label = query.get('labelSelector');
    if (label !== null) parseLabelSelector(label);
    const field = query.get('fieldSelector');
    const fieldTerms = field !== null ? parseFieldSelector(field) : [];
    for (const n of ['limit', 'timeoutSeconds']) {
      const v = query.get(n);
      if (v !== null && !/^[+-]?\d+$/.test(v)) return { ok: false, fieldTerms: [] };
    }
    return { ok: true, fieldTerms };
  } catch (e) {
    if (e instanceof LabelSelectorError || e instanceof FieldSelectorError) return { ok: false, fieldTerms: [] };
    throw e;
  }
}

/** Convert_Slice_string_To_bool: false only for "0", "false" (any case) or "". */
function queryBool(values: string[]): boolean {
  const v = values[0];
  if (v === undefined) return false;
  return !(v === '0' || v.toLowerCase() === 'false' || v === '');
}

function labelRequirements(selector: string): LabelSelectorRequirement[] | undefined {
  let reqs;
  try {
    reqs = parseLabelSelector(selector);
  } catch {
    // A selector that does not parse gives no requirements (LabelSelectorParsingErr).
    return undefined;
  }
  const out: LabelSelectorRequirement[] = [];
  for (const r of reqs) {
    const operator = labelSelectorOperatorOf(r.operator);
    // gt and lt have no SubjectAccessReview form and are left out, as the webhook authorizer does.
    if (operator === undefined) continue;
    out.push(r.values.length > 0 ? { key: r.key, operator, values: [...r.values] } : { key: r.key, operator });
  }
  return out.length > 0 ? out : undefined;
}

function fieldRequirements(selector: string): FieldSelectorRequirement[] | undefined {
  let terms: FieldTerm[];
  try {
    terms = parseFieldSelector(selector);
  } catch {
    return undefined;
  }
  const out = terms.map((t): FieldSelectorRequirement => ({ key: t.key, operator: t.operator === '!=' ? 'NotIn' : 'In', values: [t.value] }));
  return out.length > 0 ? out : undefined;
}

/**
 * The attributes kube-apiserver's authorization filter would hand to an
 * authorizer for this request. `target` is the request target (path and
 * query, still encoded, e.g. express's req.originalUrl).
 */
export function requestAttributes(method: string, target: string): RequestAttributes {
  const path = decodedPath(target);
  const q = target.indexOf('?');
  const query = new URLSearchParams(q === -1 ? '' : target.slice(q + 1));
  const nonResource: RequestAttributes = { resourceRequest: false, path, verb: method.toLowerCase() };

  let parts = splitPath(path);
  if (parts.length < 3 || !API_PREFIXES.has(parts[0] as string)) return nonResource;
  const prefix = parts[0] as string;
  parts = parts.slice(1);
  let group = '';
  if (!GROUPLESS_PREFIXES.has(prefix)) {
    if (parts.length < 3) return nonResource;
    group = parts[0] as string;
    parts = parts.slice(1);
  }
  const version = parts[0] as string;
  parts = parts.slice(1);

  let verb: string;
  let verbViaPathPrefix = false;
  if (SPECIAL_VERBS.has(parts[0] as string)) {
    // NewRequestInfo returns an error here; the filter chain then fails the request.
    if (parts.length < 2) throw new BadRequestError(`unable to determine kind and namespace from url ${target}`);
    verb = parts[0] as string;
    parts = parts.slice(1);
    verbViaPathPrefix = true;
  } else {
    switch (method.toUpperCase()) {
      case 'POST':
        verb = 'create';
        break;
      case 'GET':
      case 'HEAD':
        verb = 'get';
        break;
      case 'PUT':
        verb = 'update';
        break;
      case 'PATCH':
        verb = 'patch';
        break;
      case 'DELETE':
        verb = 'delete';
        break;
      default:
        verb = '';
    }
  }

  let namespace = '';
  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      namespace = parts[1] as string;
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2] as string)) parts = parts.slice(2);
    }
  }

  let resource = '';
  let name = '';
  let subresource = '';
  if (parts.length >= 3 && !SPECIAL_VERBS_NO_SUBRESOURCES.has(verb)) subresource = parts[2] as string;
  if (parts.length >= 2) name = parts[1] as string;
  if (parts.length >= 1) resource = parts[0] as string;

  if (name === '' && verb === 'get') {
    const decoded = listOptionsDecode(query);
    if (decoded.ok) {
      verb = queryBool(query.getAll('watch')) ? 'watch' : 'list';
      const byName = decoded.fieldTerms.find((t) => t.key === 'metadata.name' && t.operator !== '!=');
      // fieldSelector metadata.name=x names the object (RequiresExactMatch: the first equality term on the field).
      if (byName && isPathSegmentName(byName.value)) name = byName.value;
    } else {
      // On a decoding error only `watch` is read, and anything but false/0 turns it on.
      const w = query.getAll('watch')[0];
      verb = w !== undefined && w.toLowerCase() !== 'false' && w !== '0' ? 'watch' : 'list';
    }
  }
  if (name === '' && verb === 'delete') verb = 'deletecollection';

  let fieldSelector: FieldSelectorRequirement[] | undefined;
  let labelSelector: LabelSelectorRequirement[] | undefined;
  if (!verbViaPathPrefix && VERBS_WITH_SELECTORS.has(verb)) {
    const f = query.getAll('fieldSelector')[0];
    if (f) fieldSelector = fieldRequirements(f);
    const l = query.getAll('labelSelector')[0];
    if (l) labelSelector = labelRequirements(l);
  }

  return {
    resourceRequest: true,
    path,
    verb,
    namespace,
    group,
    version,
    resource,
    subresource,
    name,
    ...(fieldSelector ? { fieldSelector } : {}),
    ...(labelSelector ? { labelSelector } : {}),
  };
}
