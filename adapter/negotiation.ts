// Content negotiation: which representation an Accept header asks for, by
// the rules k8s.io/apiserver applies (pkg/endpoints/handlers/negotiation,
// over github.com/munnerz/goautoneg) and, for OpenAPI, k8s.io/kube-openapi.
// Only JSON is served; protobuf, YAML and CBOR are not, so a client that
// accepts nothing else gets 406, as from an apiserver without them.
import { NotAcceptableError } from './errors.js';

interface AcceptClause {
  readonly type: string;
  readonly subType: string;
  /** 1 unless given; an unparsable q counts as 0, as goautoneg has it. */
  readonly q: number;
  /** Parameters other than q, names lower-cased. */
  readonly params: Readonly<Record<string, string>>;
}

/**
 * The clauses of an Accept header, best first: by q, then concrete types
 * before wildcards, otherwise in header order. goautoneg keeps clauses with
 * q=0 (last); so does this, so a header means the same here as to kube-apiserver.
 */
export function parseAccept(header: string): AcceptClause[] {
  const clauses: AcceptClause[] = [];
  for (const part of header.split(',')) {
    const [range = '', ...rawParams] = part.split(';');
    const slash = range.indexOf('/');
    const type = (slash === -1 ? range : range.slice(0, slash)).trim().toLowerCase();
    let subType: string;
    if (slash === -1) {
      if (type !== '*') continue;
      subType = '*';
    } else {
      subType = range
        .slice(slash + 1)
        .trim()
        .toLowerCase();
      if (subType.includes('/')) continue;
    }
    if (type === '' || subType === '') continue;
    let q = 1;
    const params: Record<string, string> = {};
    for (const p of rawParams) {
      const eq = p.indexOf('=');
      if (eq === -1) continue;
      const name = p.slice(0, eq).trim().toLowerCase();
      const value = p
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1');
      if (name === 'q') {
        const n = Number(value);
        q = value !== '' && Number.isFinite(n) ? n : 0;
      } else {
        params[name] = value;
      }
    }
    clauses.push({ type, subType, q, params });
  }
  const rank = (c: AcceptClause): number => (c.type === '*' ? 2 : c.subType === '*' ? 1 : 0);
  // Array.prototype.sort is stable, so equal clauses keep their order.
  return clauses.sort((a, b) => b.q - a.q || rank(a) - rank(b));
}

/** A media type we serve: JSON. */
function coversJson(c: AcceptClause): boolean {
  return (c.type === 'application' && (c.subType === 'json' || c.subType === '*')) || (c.type === '*' && c.subType === '*');
}

interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

/**
 * What a JSON clause asks of an API endpoint (acceptMediaTypeOptions):
 * `as`, `g` and `v` ask for the object converted to another kind; a
 * `stream` other than watch, or any `sv`, cannot be served; other
 * parameters (pretty, charset, profile, ...) change nothing. undefined when
 * the clause cannot be served.
 */
function jsonClauseTarget(c: AcceptClause): { convert?: GroupVersionKind } | undefined {
  if (!coversJson(c)) return undefined;
  const p = c.params;
  if ((p.stream ?? '') !== '' && p.stream !== 'watch') return undefined;
  if ((p.sv ?? '') !== '') return undefined;
  if (p.as === undefined && p.g === undefined && p.v === undefined) return {};
  return { convert: { group: p.g ?? '', version: p.v ?? '', kind: p.as ?? '' } };
}

const AGGREGATED_DISCOVERY_VERSIONS = ['v2', 'v2beta1'] as const;
export type AggregatedDiscoveryVersion = (typeof AGGREGATED_DISCOVERY_VERSIONS)[number];

/** The Content-Type of aggregated discovery, parameters in the order apiserver writes them and client-go 1.27 and 1.28 compare them (as a whole string). */
export function aggregatedDiscoveryContentType(version: AggregatedDiscoveryVersion): string {
  return `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`;
}

type RootDiscoveryFormat = { readonly kind: 'legacy' } | { readonly kind: 'aggregated'; readonly version: AggregatedDiscoveryVersion };

function notAcceptable(supported: readonly string[]): NotAcceptableError {
  return new NotAcceptableError(`only the following media types are accepted: ${supported.join(', ')}`);
}

const PLAIN_JSON = ['application/json'];

/**
 * GET /apis. apiserver's WrappedHandler serves aggregated discovery when
 * any servable clause asks for apidiscovery.k8s.io v2 or v2beta1
 * APIGroupDiscoveryList (the best such clause picks the version), whatever
 * the order of the other clauses; otherwise the APIGroupList, which takes no
 * conversion at all (DefaultEndpointRestrictions). No header means JSON.
 * Throws NotAcceptableError when nothing can be served.
 */
export function negotiateRootDiscovery(accept: string | undefined): RootDiscoveryFormat {
  if (accept === undefined || accept.trim() === '') return { kind: 'legacy' };
  const targets = parseAccept(accept).map(jsonClauseTarget);
  for (const t of targets) {
    const c = t?.convert;
    if (c?.group === 'apidiscovery.k8s.io' && c.kind === 'APIGroupDiscoveryList' && (AGGREGATED_DISCOVERY_VERSIONS as readonly string[]).includes(c.version)) {
      return { kind: 'aggregated', version: c.version as AggregatedDiscoveryVersion };
    }
  }
  if (targets.some((t) => t !== undefined && t.convert === undefined)) return { kind: 'legacy' };
  throw notAcceptable([...PLAIN_JSON, ...AGGREGATED_DISCOVERY_VERSIONS.map(aggregatedDiscoveryContentType)]);
}

/**
 * The group and group-version documents, and everything else of the API
 * served as plain JSON: any clause that takes JSON with no conversion
 * (`as=Table` and the like are refused, as DefaultEndpointRestrictions
 * refuses them). Throws NotAcceptableError otherwise.
 */
export function negotiatePlainJson(accept: string | undefined): void {
  if (accept === undefined || accept.trim() === '') return;
  const takesPlainJson = (c: AcceptClause): boolean => {
    const target = jsonClauseTarget(c);
    return target !== undefined && target.convert === undefined;
  };
  if (parseAccept(accept).some(takesPlainJson)) return;
  throw notAcceptable(PLAIN_JSON);
}

/**
 * OpenAPI documents: kube-openapi's handlers match type and subtype only,
 * parameters ignored, no header meaning any. Throws NotAcceptableError when
 * only protobuf (or another type) is accepted.
 */
export function negotiateOpenApiJson(accept: string | undefined): void {
  if (accept === undefined || accept.trim() === '') return;
  if (parseAccept(accept).some(coversJson)) return;
  throw notAcceptable(PLAIN_JSON);
}

export type ObjectRepresentation = { readonly kind: 'object' } | { readonly kind: 'table'; readonly version: 'v1' | 'v1beta1' };

const TABLE_TYPES = ['v1', 'v1beta1'].map((v) => `application/json;as=Table;v=${v};g=meta.k8s.io`);

/**
 * An object or list of metrics.k8s.io: the first servable clause decides,
 * as apiserver's NegotiateOutputMediaType with the conversions a REST
 * store that converts to tables allows. Plain JSON gives the object; a
 * meta.k8s.io v1 or v1beta1 Table (what kubectl get asks for) the table.
 * Other conversions (PartialObjectMetadata and the like) are not served, and
 * a header with nothing servable is a 406.
 */
export function negotiateObject(accept: string | undefined): ObjectRepresentation {
  if (accept === undefined || accept.trim() === '') return { kind: 'object' };
  for (const clause of parseAccept(accept)) {
    const target = jsonClauseTarget(clause);
    if (!target) continue;
    if (!target.convert) return { kind: 'object' };
    const { group, version, kind } = target.convert;
    if (kind === 'Table' && group === 'meta.k8s.io' && (version === 'v1' || version === 'v1beta1')) return { kind: 'table', version };
  }
  throw notAcceptable([...PLAIN_JSON, ...TABLE_TYPES]);
}
