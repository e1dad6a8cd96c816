// Where the adapter learns which objects a wildcard request covers. Domain
// code sees only this interface, never a client library's types.
import type { GroupResource } from '../../rules/resources.js';
import type { Requirement } from '../../k8s/label-selector.js';

export interface ObjectRef {
  readonly name: string;
  /** Undefined for root-scoped objects. */
  readonly namespace?: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** What `describedObject` needs about a resource. */
export interface ResourceKind {
  readonly kind: string;
  /** `v1` for the core group, `apps/v1` etc. otherwise. */
  readonly apiVersion: string;
  readonly namespaced: boolean;
}

export interface ObjectLister {
  /**
   * The objects of `resource` in `namespace` (undefined for root-scoped
   * resources) whose labels match `selector`, sorted by name.
   * Throws NotFoundError for a resource the source does not know, and
   * UnavailableError when the source cannot answer yet.
   */
  list(resource: GroupResource, namespace: string | undefined, selector: readonly Requirement[]): Promise<ObjectRef[]>;
  /** Kind and apiVersion of a resource, or undefined when unknown. */
  describe(resource: GroupResource): Promise<ResourceKind | undefined>;
  /** Why the source is not ready, or undefined when it is. For /readyz. */
  notReadyReason(): string | undefined;
  close(): void;
}
