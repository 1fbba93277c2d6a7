const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * DNS-rebinding protection (MCP transport: servers MUST validate Host/Origin): a page on evil.example whose name
 * resolves to this server sends `Host: evil.example`. Only the public URL's host name is accepted, or any loopback
 * name when the public URL itself is on loopback. Behind a proxy, `request.host` follows X-Forwarded-Host only
 * when trustProxy is on.
 */
export function hostAllowed(host: string | undefined, publicUrl: string): boolean {
  if (!host) return false;
  // The common case, a Host exactly as the public URL names it, needs no parsing.
  if (host === publicHostOf(publicUrl)) return true;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname.toLowerCase();
  } catch {
    return false;
  }
  const expected = new URL(publicUrl).hostname.toLowerCase();
  if (hostname === expected) return true;
  return LOOPBACK_NAMES.has(expected) && LOOPBACK_NAMES.has(hostname);
}

let lastPublicUrl = '';
let lastPublicHost = '';
/** The public URL's `host` (name and port as a client sends them in Host), remembered for the last URL asked about. */
function publicHostOf(publicUrl: string): string {
  if (publicUrl !== lastPublicUrl) {
    lastPublicHost = new URL(publicUrl).host;
    lastPublicUrl = publicUrl;
  }
  return lastPublicHost;
}
