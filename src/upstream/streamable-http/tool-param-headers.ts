import { ErrorCode, McpError, type Result } from '@modelcontextprotocol/sdk/types.js';
import { paramHeaderDeclarations, paramHeaders, type ParamHeader } from '../../http/mcp-headers.js';
import type { DirectRequests } from './direct-requests.js';
import { isJsonObject, type JsonObject } from '../../json-object.js';
import { STATELESS_ERRORS } from './protocol-eras.js';
import { requestStateless, type StatelessRequestOptions } from './stateless-requests.js';

/**
 * `x-mcp-header` towards a stateless (2026-07-28) Streamable HTTP upstream (transports/streamable-http "Custom Headers
 * from Tool Parameters"), as its client must do it:
 * - a `tools/list` result loses the tools whose declarations are invalid ("Rejection means the client MUST exclude the
 *   invalid tool from the result of tools/list"), each reported so it can be logged with its reason;
 * - a `tools/call` carries an `Mcp-Param-{Name}` header for each declared parameter with a value, from the tool's
 *   definition as the connection last listed it (listed first when it never was);
 * - a call refused with HeaderMismatch (-32020) lists the tools again and is sent once more when the tool's
 *   declarations changed ("Client Behavior": the server's inputSchema may have moved on).
 * The declarations are kept per connection: the SDK client that lists is the one that calls. A stateless stdio
 * upstream (stdio-transport.ts) goes through the same steps; its direct path has no headers to put them on, but the
 * tools Gatehouse lists it serves to its own clients over HTTP, where invalid declarations would be refused.
 */


/** Pages of a listing Gatehouse follows before it gives up (an upstream that pages forever). */
const MAX_PAGES = 100;

/** Told of each tool left out of a listing, with why. */
export type ToolRejected = (tool: string, reason: string) => void;

export class ToolParamHeaders {
  /** Each listed tool's declared parameters, or why it was left out, by its name. */
  private readonly declared = new Map<string, ParamHeader[] | { rejected: string }>();

  /** One page of a `tools/list` result without its invalid tools; a first page (no cursor) starts the record afresh. */
  admit(result: Result, firstPage: boolean, onRejected: ToolRejected = () => undefined): Result {
    if (firstPage) this.declared.clear();
    if (!Array.isArray(result.tools)) return result;
    const tools = result.tools.filter((tool: unknown) => {
      if (!isJsonObject(tool) || typeof tool.name !== 'string') return true; // the result's schema check answers for it
      const { declared, problems } = paramHeaderDeclarations(tool.inputSchema);
      if (problems.length > 0) {
        const reason = problems.join('; ');
        this.declared.set(tool.name, { rejected: reason });
        onRejected(tool.name, reason);
        return false;
      }
      this.declared.set(tool.name, declared);
      return true;
    });
    return tools.length === result.tools.length ? result : { ...result, tools };
  }

  /** Lists every page of the upstream's tools, recording what they declare. */
  async relist(direct: DirectRequests, { signal, timeoutMs }: Pick<StatelessRequestOptions, 'signal' | 'timeoutMs'>): Promise<void> {
    let cursor: unknown;
    for (let page = 0; page < MAX_PAGES; page++) {
      const params = typeof cursor === 'string' ? { cursor } : {};
      const result = this.admit(await requestStateless(direct, { method: 'tools/list', params }, { signal, timeoutMs }), page === 0);
      cursor = result.nextCursor;
      if (typeof cursor !== 'string') return;
    }
  }

  /** The headers of a call of `name` with `args`; undefined when the tool was never listed. A left-out tool is not called. */
  headersFor(name: string, args: unknown): Record<string, string> | undefined {
    const declared = this.declared.get(name);
    if (!declared) return undefined;
    if ('rejected' in declared) throw new McpError(ErrorCode.InvalidParams, `Tool ${name} is not offered: its x-mcp-header declarations are invalid (${declared.rejected})`);
    const built = paramHeaders(declared, args);
    if ('invalid' in built) throw new McpError(ErrorCode.InvalidParams, built.invalid);
    return built.headers;
  }

  /** One `tools/call`, with its parameters mirrored into headers (see above). */
  async call(direct: DirectRequests, message: { method: string; params?: JsonObject }, options: StatelessRequestOptions): Promise<Result> {
    const name = typeof message.params?.name === 'string' ? message.params.name : undefined;
    if (name === undefined) return requestStateless(direct, message, options);
    const args = message.params?.arguments;
    if (!this.declared.has(name)) await this.relist(direct, options);
    // A tool the upstream does not list is sent as it is: the upstream answers.
    const headers = this.headersFor(name, args) ?? {};
    try {
      return await requestStateless(direct, message, { ...options, paramHeaders: headers });
    } catch (error) {
      if (!(error instanceof McpError) || error.code !== STATELESS_ERRORS.headerMismatch) throw error;
      await this.relist(direct, options);
      const fresh = this.headersFor(name, args) ?? {};
      if (JSON.stringify(fresh) === JSON.stringify(headers)) throw error;
      return requestStateless(direct, message, { ...options, paramHeaders: fresh });
    }
  }
}
