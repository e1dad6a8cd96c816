// The user a front proxy asserts in request headers, read as
// k8s.io/apiserver's pkg/authentication/request/headerrequest does. Only
// called once the proxy's client certificate has been verified.
//
// Headers come as Node's `req.headersDistinct`: lower-cased names, one array
// element per header line. That matters: `req.headers` joins repeated
// unknown headers with ", ", which would turn two X-Remote-Group lines into
// one group "a, b"; Go's http.Header keeps them apart, and so does this.
import type { RequestHeaderConfig } from './config.js';
import type { UserInfo } from './types.js';

export type DistinctHeaders = Readonly<Record<string, readonly string[] | undefined>>;

/** headerValue: the first value of the first header that has a non-empty one. */
function firstValue(headers: DistinctHeaders, names: readonly string[]): string {
  for (const name of names) {
    // Go's Header.Get returns a header's first value only.
    const v = headers[name.toLowerCase()]?.[0];
    if (v !== undefined && v.length > 0) return v;
  }
  return '';
}

/** allHeaderValues: every non-empty value of every named header, header by header. */
function allValues(headers: DistinctHeaders, names: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of names) {
    for (const v of headers[name.toLowerCase()] ?? []) if (v.length > 0) out.push(v);
  }
  return out;
}

/**
 * Go's url.PathUnescape: %XX sequences decoded (as UTF-8 bytes), '+' kept.
 * Returns undefined for a malformed escape.
 */
export function pathUnescape(s: string): string | undefined {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length;) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
      bytes.push(Number.parseInt(hex, 16));
      i += 3;
      continue;
    }
    const cp = s.codePointAt(i) as number;
    const ch = String.fromCodePoint(cp);
    for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
    i += ch.length;
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * newExtra: for each prefix, every header whose name starts with it
 * (case-insensitively) adds its values under the rest of the name,
 * lower-cased and then percent-decoded (so `%2F` becomes `/`; a malformed
 * escape keeps the lower-cased text, "always record extra strings").
 */
function extras(headers: DistinctHeaders, prefixes: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const prefix of prefixes) {
    const p = prefix.toLowerCase();
    for (const [name, values] of Object.entries(headers)) {
      if (!values || !name.startsWith(p)) continue;
      const lowered = name.slice(p.length).toLowerCase();
      const key = pathUnescape(lowered) ?? lowered;
      (out[key] ??= []).push(...values);
    }
  }
  return out;
}

/**
 * The asserted user, or undefined when no username header has a value (the
 * request-header authenticator then has no opinion and the next one runs).
 */
export function userFromHeaders(headers: DistinctHeaders, config: Pick<RequestHeaderConfig, 'usernameHeaders' | 'uidHeaders' | 'groupHeaders' | 'extraHeaderPrefixes'>): UserInfo | undefined {
  const name = firstValue(headers, config.usernameHeaders);
  if (name === '') return undefined;
  return {
    name,
    uid: firstValue(headers, config.uidHeaders),
    groups: allValues(headers, config.groupHeaders),
    extra: extras(headers, config.extraHeaderPrefixes),
  };
}

/** The header names ClearAuthenticationHeaders removes for a configuration, lower-cased. */
export function authenticationHeaderNames(headerNames: Iterable<string>, config: Pick<RequestHeaderConfig, 'usernameHeaders' | 'uidHeaders' | 'groupHeaders' | 'extraHeaderPrefixes'>): string[] {
  const exact = new Set([...config.usernameHeaders, ...config.uidHeaders, ...config.groupHeaders].map((h) => h.toLowerCase()));
  const prefixes = config.extraHeaderPrefixes.map((p) => p.toLowerCase());
  const out: string[] = [];
  for (const h of headerNames) {
    const l = h.toLowerCase();
    if (exact.has(l) || prefixes.some((p) => l.startsWith(p))) out.push(l);
  }
  return out;
}
