import { canonicalResource } from '../net/resource-uri.js';

/** The one protected resource Gatehouse issues tokens for: its /mcp endpoint (RFC 8707 / RFC 9728). */
export const gatewayResource = (publicUrl: string): string => canonicalResource(`${publicUrl}/mcp`);

/**
 * Resolves a requested `resource`: absent means the canonical /mcp URL (clients such as Claude Code omit it);
 * one trailing slash is tolerated because some SDKs add it; anything else is unknown (`invalid_target`).
 */
export function resolveResource(requested: readonly string[] | string | undefined, publicUrl: string): string | undefined {
  const canonical = gatewayResource(publicUrl);
  const values = requested === undefined ? [] : Array.isArray(requested) ? requested : [requested];
  if (values.length === 0) return canonical;
  return values.every((value) => value === canonical || value === `${canonical}/`) ? canonical : undefined;
}
