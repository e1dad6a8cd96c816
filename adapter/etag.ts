// Entity tags for documents that clients poll: aggregated discovery (the
// aggregator re-asks every minute with If-None-Match) and OpenAPI.
import { createHash } from 'node:crypto';

/**
 * Upper-case hex SHA-512 of a document, the hash apiserver's aggregated
 * discovery and kube-openapi use for their ETags and for the `hash` query
 * parameter of OpenAPI v3 URLs.
 */
export function documentHash(body: string): string {
  return createHash('sha512').update(body).digest('hex').toUpperCase();
}

/** The ETag header value for a hash: a strong tag, quoted. */
export function etagOf(hash: string): string {
  return `"${hash}"`;
}

/**
 * Whether If-None-Match names this tag, so the answer is 304 Not Modified.
 * RFC 9110 13.1.2: a list, weak comparison, `*` for any.
 */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const strip = (tag: string): string => tag.trim().replace(/^W\//, '');
  const want = strip(etag);
  return header.split(',').some((tag) => {
    const t = strip(tag);
    return t === '*' || t === want;
  });
}
