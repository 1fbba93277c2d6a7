import type { RegisteredClient } from '../oauth/clients.js';

/** What each scope lets an application do, in the words a person reads on the consent and connected-apps pages. */
export const SCOPE_WORDS: Readonly<Record<string, string>> = {
  'mcp:read': 'See the tools, resources and prompts available to you, and use read-only tools',
  'mcp:write': 'Use tools that can change things on your behalf',
  mcp: 'See and use the tools, resources and prompts available to you, including tools that can change things on your behalf',
};

export function scopeInWords(scope: string): string {
  return SCOPE_WORDS[scope] ?? scope;
}

/** The application as a page names it: its own name, and what vouches for it (a verified domain, or nothing). */
export function describeClient(client: Pick<RegisteredClient, 'clientId' | 'kind' | 'metadata'>): { name: string; verifiedDomain?: string } {
  const verifiedDomain = client.kind === 'metadata_document' ? new URL(client.clientId).host : undefined;
  const name = client.metadata.client_name?.trim() || verifiedDomain || 'An unnamed application';
  return { name, verifiedDomain };
}
