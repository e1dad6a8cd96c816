// A parsed Kubernetes label-selector requirement, in the shape
// k8s.io/apimachinery/pkg/labels produces: values are de-duplicated and
// sorted, and a parsed selector's requirements are sorted by key. The query
// builder relies on that order to render matchers exactly as the reference
// adapter does.
export type SelectorOperator =
  | '='
  | '=='
  | '!='
  | 'in'
  | 'notin'
  | 'exists'
  | '!'
  | 'gt'
  | 'lt';

export interface Requirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}
