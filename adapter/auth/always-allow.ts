// --authorization-always-allow-paths, read as k8s.io/apiserver's path
// authorizer reads it (pkg/authorization/path): each entry is an exact path
// or, ending in `*`, a prefix; a `*` anywhere else is refused; the leading
// `/` is optional on both sides, so "" and "/" both mean the root path. It
// only ever allows non-resource requests; the caller checks that.
import { AuthConfigError } from './config.js';

/** NewDelegatingAuthorizationOptions' default: the kubelet probes health without credentials. */
export const DEFAULT_ALWAYS_ALLOW_PATHS: readonly string[] = ['/healthz', '/readyz', '/livez'];

/** A matcher for `paths`; throws AuthConfigError for a `*` that is not last. */
export function alwaysAllowPathMatcher(paths: readonly string[]): (path: string) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const given of paths) {
    const p = given.startsWith('/') ? given.slice(1) : given;
    if (p.slice(0, -1).includes('*')) throw new AuthConfigError(`only trailing * allowed in ${JSON.stringify(given)}`);
    if (p.endsWith('*')) prefixes.push(p.slice(0, -1));
    else exact.add(p);
  }
  return (path) => {
    const p = path.startsWith('/') ? path.slice(1) : path;
    return exact.has(p) || prefixes.some((prefix) => p.startsWith(prefix));
  };
}
