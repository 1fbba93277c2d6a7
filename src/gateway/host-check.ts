const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * DNS-rebinding protection (MCP transport: servers MUST validate Host/Origin): a page on evil.example whose name
 * resolves to this server sends `Host: evil.example`. Only the public URL's host name is accepted, or any loopback
 * name when the public URL itself is on loopback. Behind a proxy, `request.host` follows X-Forwarded-Host only
 * when trustProxy is on. Returns the check for one public URL, parsed once.
 */
export function hostCheck(publicUrl: string): (host: string | undefined) => boolean {
  const url = new URL(publicUrl);
  // The Host exactly as the public URL names it (name and port as a client sends them): the common case, no parsing.
  const publicHost = url.host;
  const expected = url.hostname.toLowerCase();
  return (host) => {
    if (!host) return false;
    if (host === publicHost) return true;
    let hostname: string;
    try {
      hostname = new URL(`http://${host}`).hostname.toLowerCase();
    } catch {
      return false;
    }
    if (hostname === expected) return true;
    return LOOPBACK_NAMES.has(expected) && LOOPBACK_NAMES.has(hostname);
  };
}
