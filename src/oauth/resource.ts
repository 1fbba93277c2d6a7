import { canonicalResource, withoutTrailingSlash } from '../net/resource-uri.js';
import type { VirtualServerStore } from '../store/index.js';

/** The protected resource Gatehouse issues tokens for by default: its /mcp endpoint (RFC 8707 / RFC 9728). */
export const gatewayResource = (publicUrl: string): string => canonicalResource(`${publicUrl}/mcp`);

/** A virtual server's name: one path segment of its endpoint and resource, `/mcp/{name}`. */
export const VIRTUAL_SERVER_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The resource of a virtual server: `<public URL>/mcp/{name}`, its own audience. */
export const virtualServerResource = (publicUrl: string, name: string): string => `${gatewayResource(publicUrl)}/${name}`;

/** Whether a virtual server of this name exists now. */
export type VirtualServerExists = (name: string) => Promise<boolean>;

export const virtualServerExists =
  (store: Pick<VirtualServerStore, 'find'>): VirtualServerExists =>
  async (name) =>
    (await store.find(name)) !== undefined;

/**
 * Resolves a requested `resource`: absent means the canonical /mcp URL (clients such as Claude Code omit it); the
 * /mcp URL of an existing virtual server names that server; one trailing slash is tolerated because some SDKs add it;
 * anything else, or two different resources, is unknown (`invalid_target`).
 */
export async function resolveResource(requested: readonly string[] | string | undefined, publicUrl: string, exists: VirtualServerExists): Promise<string | undefined> {
  const canonical = gatewayResource(publicUrl);
  const values = requested === undefined ? [] : Array.isArray(requested) ? requested : [requested];
  if (values.length === 0) return canonical;
  const named = new Set(values.map(withoutTrailingSlash));
  const [resource] = named;
  if (named.size !== 1 || resource === undefined) return undefined;
  if (resource === canonical) return canonical;
  const name = resource.startsWith(`${canonical}/`) ? resource.slice(canonical.length + 1) : '';
  return VIRTUAL_SERVER_NAME.test(name) && (await exists(name)) ? resource : undefined;
}
