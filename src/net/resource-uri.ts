/**
 * A server URL as a resource identifier (RFC 8707 §2, the MCP "canonical server URI"): the URL in WHATWG normal
 * form, without fragment, and without the trailing slash of a bare origin. Gatehouse's own resource (its /mcp
 * endpoint) and the upstreams' are both named this way.
 */
export function canonicalResource(serverUrl: string): string {
  const url = new URL(serverUrl);
  url.hash = '';
  return url.pathname === '/' && !url.search ? url.origin : url.href;
}

/** A requested resource without the one trailing slash some SDKs add to the URL they were given. */
export const withoutTrailingSlash = (value: string): string => (value.endsWith('/') ? value.slice(0, -1) : value);

/**
 * RFC 8707 §2.2 on a later request (code exchange, refresh) and an ID-JAG's `resource` claim: whether the resource sent
 * names `bound`, the canonical resource already chosen, one trailing slash tolerated.
 */
export function isBoundResource(requested: string, bound: string): boolean {
  return withoutTrailingSlash(requested) === bound;
}
