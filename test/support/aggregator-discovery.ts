// A stand-in for kube-aggregator's discovery manager
// (pkg/apiserver/handler_discovery.go, fetchFreshDiscoveryForService), in
// the two behaviours it has had since aggregated discovery went on by default:
//
//  - v1.27.0-v1.27.5 and v1.28.0-v1.28.1 ask GET /apis with the v2beta1
//    Accept only. They fall back to GET /apis/<group>/<version> only on
//    406, and decode every other 200 as an apidiscovery.k8s.io/v2beta1
//    APIGroupDiscoveryList, whatever its Content-Type says.
//  - later versions (v1.30 shown) ask for v2 then v2beta1, use the answer
//    only when its Content-Type names one of them, and otherwise fall back.
//
// Its own simple logic throughout, never the server's code.

export type AggregatorVersion = 'v1.27.0' | 'v1.30.0';

export interface HttpAnswer {
  readonly code: number;
  readonly contentType: string;
  readonly body: string;
}

/** Sends GET `path` with these headers to the extension server. */
export type Transport = (path: string, headers: { readonly accept: string }) => Promise<HttpAnswer>;

export interface GroupVersionKindDoc {
  group: string;
  version: string;
  kind: string;
}

export interface SubresourceDoc {
  subresource: string;
  responseKind?: GroupVersionKindDoc | null;
  verbs: string[] | null;
}

export interface ResourceDoc {
  resource: string;
  responseKind?: GroupVersionKindDoc | null;
  scope: string;
  singularResource: string;
  verbs: string[] | null;
  subresources?: SubresourceDoc[];
}

/** What the aggregator publishes for one APIService, and how it learned it. */
export interface PublishedVersion {
  readonly via: 'aggregated' | 'legacy' | 'failed';
  readonly resources: readonly ResourceDoc[];
  /** Why it failed, when it did. */
  readonly error?: string;
}

const ACCEPT_V2BETA1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';
const ACCEPT_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

interface VersionDoc {
  version: string;
  resources?: ResourceDoc[];
}

/** The aggregated list, checked as the Go decoder checks it: by its own kind and apiVersion. */
function decodeAggregated(body: string, allowed: readonly string[]): Map<string, ResourceDoc[]> {
  const doc = JSON.parse(body) as { kind?: string; apiVersion?: string; items?: { metadata?: { name?: string }; versions?: VersionDoc[] }[] };
  if (doc.kind !== 'APIGroupDiscoveryList' || !allowed.includes(doc.apiVersion ?? '')) {
    throw new Error(`cannot decode ${String(doc.apiVersion)}, Kind=${String(doc.kind)} as an APIGroupDiscoveryList`);
  }
  const byGroupVersion = new Map<string, ResourceDoc[]>();
  for (const group of doc.items ?? []) {
    for (const v of group.versions ?? []) byGroupVersion.set(`${group.metadata?.name ?? ''}/${v.version}`, v.resources ?? []);
  }
  return byGroupVersion;
}

/** endpoints.ConvertGroupVersionIntoToDiscovery: "parent/sub" names become subresources of a parent, made up when missing. */
export function convertLegacyResourceList(body: string): ResourceDoc[] {
  const list = JSON.parse(body) as { kind?: string; resources?: { name: string; namespaced: boolean; kind: string; verbs: string[]; singularName: string }[] };
  if (list.kind !== 'APIResourceList') throw new Error(`expected an APIResourceList, got ${String(list.kind)}`);
  const out: ResourceDoc[] = [];
  const parents = new Map<string, ResourceDoc>();
  const scopeOf = (namespaced: boolean): string => (namespaced ? 'Namespaced' : 'Cluster');
  for (const r of list.resources ?? []) {
    if (r.name.includes('/')) continue;
    const doc: ResourceDoc = { resource: r.name, responseKind: { group: '', version: '', kind: r.kind }, scope: scopeOf(r.namespaced), singularResource: r.singularName, verbs: r.verbs };
    out.push(doc);
    parents.set(r.name, doc);
  }
  for (const r of list.resources ?? []) {
    const slash = r.name.indexOf('/');
    if (slash === -1) continue;
    const parentName = r.name.slice(0, slash);
    let parent = parents.get(parentName);
    if (!parent) {
      parent = { resource: parentName, responseKind: { group: '', version: '', kind: '' }, scope: scopeOf(r.namespaced), singularResource: '', verbs: null };
      out.push(parent);
      parents.set(parentName, parent);
    }
    if (parent.scope !== scopeOf(r.namespaced)) throw new Error(`parent ${parentName} and subresource ${r.name} scopes differ`);
    (parent.subresources ??= []).push({ subresource: r.name.slice(slash + 1), responseKind: { group: '', version: '', kind: r.kind }, verbs: r.verbs });
  }
  return out;
}

function contentTypeNames(contentType: string, version: string): boolean {
  const [base, ...params] = contentType.split(';').map((p) => p.trim());
  if (base !== 'application/json') return false;
  const values = new Map(params.map((p) => p.split('=', 2) as [string, string]));
  return values.get('g') === 'apidiscovery.k8s.io' && values.get('v') === version && values.get('as') === 'APIGroupDiscoveryList';
}

/** One sync of every APIService served by one extension server, as `version` of the aggregator runs it. */
export async function syncDiscovery(version: AggregatorVersion, transport: Transport, groupVersions: readonly string[]): Promise<Map<string, PublishedVersion>> {
  const published = new Map<string, PublishedVersion>();
  const fail = (error: string): Map<string, PublishedVersion> => {
    for (const gv of groupVersions) published.set(gv, { via: 'failed', resources: [], error });
    return published;
  };
  const legacy = async (): Promise<Map<string, PublishedVersion>> => {
    for (const gv of groupVersions) {
      const answer = await transport(`/apis/${gv}`, { accept: 'application/json' });
      if (answer.code !== 200) {
        published.set(gv, { via: 'failed', resources: [], error: `legacy discovery answered ${answer.code}` });
        continue;
      }
      try {
        published.set(gv, { via: 'legacy', resources: convertLegacyResourceList(answer.body) });
      } catch (e) {
        published.set(gv, { via: 'failed', resources: [], error: (e as Error).message });
      }
    }
    return published;
  };
  const fromAggregated = (body: string, allowed: readonly string[]): Map<string, PublishedVersion> => {
    let byGroupVersion: Map<string, ResourceDoc[]>;
    try {
      byGroupVersion = decodeAggregated(body, allowed);
    } catch (e) {
      return fail((e as Error).message);
    }
    // A group-version the document does not mention is published empty.
    for (const gv of groupVersions) published.set(gv, { via: 'aggregated', resources: byGroupVersion.get(gv) ?? [] });
    return published;
  };

  if (version === 'v1.27.0') {
    const answer = await transport('/apis', { accept: ACCEPT_V2BETA1 });
    if (answer.code === 406) return legacy();
    if (answer.code === 200) return fromAggregated(answer.body, ['apidiscovery.k8s.io/v2beta1']);
    return fail(`non-success response code ${answer.code}`);
  }
  const answer = await transport('/apis', { accept: `${ACCEPT_V2},${ACCEPT_V2BETA1}` });
  if (answer.code === 503) return fail('service unavailable');
  if (answer.code === 200 && (contentTypeNames(answer.contentType, 'v2') || contentTypeNames(answer.contentType, 'v2beta1'))) {
    return fromAggregated(answer.body, ['apidiscovery.k8s.io/v2', 'apidiscovery.k8s.io/v2beta1']);
  }
  return legacy();
}
