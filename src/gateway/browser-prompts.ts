import { ErrorCode, type CallToolResult, type ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { JsonRpcError } from './forwarding.js';

/**
 * A tool call that needs the calling person in a browser first (to connect an upstream account, to approve the call):
 * asked by URL-mode elicitation (error -32042, MCP 2025-11-25) when the client declared `elicitation.url`, else
 * answered with a tool error result holding the link, which the client shows to the model and so to the person.
 * Either way the link is bound to that person: whoever else opens it is refused.
 */
export interface BrowserPrompt {
  /** What the person is asked, one sentence. */
  message: string;
  url: string;
  elicitationId: string;
  /** The link fallback's instructions after "Open <url> in your browser, ". */
  instructions: string;
  /** The upstream the prompt is about (a 2026-07-28 retry's sealed state names it). */
  upstreamId: string;
}

/** How one era asks the person (see `askInBrowser`; 2026-07-28: `modern/input-required.ts` `browserStep`). */
export type AskInBrowser = (prompt: BrowserPrompt) => CallToolResult;

/** How a 2025 client is asked, given the capabilities it declared. */
export function askInBrowser(prompt: BrowserPrompt, clientCapabilities: ClientCapabilities | undefined): CallToolResult {
  if (clientCapabilities?.elicitation?.url) {
    throw new JsonRpcError(ErrorCode.UrlElicitationRequired, prompt.message, {
      elicitations: [{ mode: 'url', elicitationId: prompt.elicitationId, url: prompt.url, message: prompt.message }],
    });
  }
  return { isError: true, content: [{ type: 'text', text: `${prompt.message} Open ${prompt.url} in your browser, ${prompt.instructions}` }] };
}
