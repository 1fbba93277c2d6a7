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
