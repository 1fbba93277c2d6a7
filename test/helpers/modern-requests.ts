/** The 2026-07-28 protocol version, and the per-request `_meta` of a test client (basic/index "Per-request protocol fields"). */
export const MODERN_VERSION = '2026-07-28';

/** What a 2026-07-28 request got back: the HTTP status and the JSON-RPC message; `messages` is every message of an SSE answer. */
export interface ModernAnswer {
  status: number;
  body: Record<string, any>;
  messages: Array<Record<string, any>>;
}

/**
 * Sends 2026-07-28 requests to `url` as a stateless client does: the routing headers of the method (`Mcp-Name` from the
 * body's name or URI), and `_meta` with the version, the client's identity and `capabilities` (and `meta`); answered as
 * JSON, or as an SSE stream whose last message is the answer. `signal` closes the request (the client's cancellation).
 */
export function modernRequests(url: string, authorization: string) {
  let nextId = 1;
  return async (method: string, params: Record<string, unknown>, capabilities: Record<string, unknown> = {}, options: { meta?: Record<string, unknown>; signal?: AbortSignal } = {}): Promise<ModernAnswer> => {
    const name = typeof params.name === 'string' ? params.name : typeof params.uri === 'string' ? params.uri : undefined;
    const meta = {
      'io.modelcontextprotocol/protocolVersion': MODERN_VERSION,
      'io.modelcontextprotocol/clientInfo': { name: 'modern-test', version: '1.0.0' },
      'io.modelcontextprotocol/clientCapabilities': capabilities,
      ...options.meta,
    };
    const response = await fetch(url, {
      method: 'POST',
      signal: options.signal,
      headers: {
        authorization,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': MODERN_VERSION,
        'mcp-method': method,
        ...(name === undefined ? {} : { 'mcp-name': name }),
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params: { ...params, _meta: meta } }),
    });
    const text = await response.text();
    const streamed = response.headers.get('content-type')?.startsWith('text/event-stream');
    const messages = (streamed ? text.split('\n').flatMap((line) => (line.startsWith('data: ') ? [line.slice(6)] : [])) : [text]).map((message) => JSON.parse(message) as ModernAnswer['body']);
    return { status: response.status, body: messages.at(-1)!, messages };
  };
}
