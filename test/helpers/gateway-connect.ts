/**
 * The conformance suite's "client under test": Gatehouse's outbound OAuth client driven the way the gateway drives
 * it, against the suite's mock MCP server and authorization server. Run by the conformance CLI as
 *   node --import tsx test/helpers/gateway-connect.ts <server-url>
 * (from the repository root, so `tsx` resolves). It probes, discovers, registers (credentials kept per issuer),
 * authorizes headlessly (the mock authorization endpoint redirects at once), lists and calls the tools, and on a
 * fresh 401 (e.g. the PRM moved to another authorization server) or a 403 `insufficient_scope` authorizes again,
 * a limited number of times. Exit code 0 when every tool was called.
 * The scenarios other than `auth/*` (no authorization) are reached through Gatehouse's own upstream client, as the gateway
 * reaches an upstream (src/upstream/connection.ts `openInItsEra`: `server/discover`, falling back to `initialize`;
 * then `UpstreamClient.forward`): the conformance client scenarios of 2026-07-28 (request-metadata, tools_call,
 * sep-2322-client-request-state, http-standard-headers, http-custom-headers, http-invalid-tool-headers,
 * json-schema-ref-no-deref, json-schema-2020-12-preservation) grade that client. It lists and calls every tool it
 * keeps (with the scenario's arguments, else arguments made from each input schema), reads every resource and gets
 * every prompt, and answers elicitations by accepting.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, GetPromptResultSchema, ListPromptsResultSchema, ListResourcesResultSchema, ListToolsResultSchema, ReadResourceResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { openInItsEra } from '../../src/upstream/connection.js';
import { openStreamableHttp } from '../../src/upstream/streamable-http/transport.js';
import type { ServerRequestRelay } from '../../src/upstream/streamable-http/server-requests.js';
import { UpstreamClient } from '../../src/upstream/upstream-client.js';
import { finishAuthorization, startAuthorization } from '../../src/upstream/oauth/code-flow.js';
import { clientMetadataDocumentUrl, obtainClient, OAUTH_CALLBACK_PATH } from '../../src/upstream/oauth/client-registration.js';
import { discover, parseBearerChallenge, probeChallenge } from '../../src/upstream/oauth/discovery.js';
import type { BearerChallenge, ClientCredentials, ConfiguredOAuth, OutboundHttpOptions, TokenSet } from '../../src/upstream/oauth/types.js';

const PUBLIC_URL = 'https://gatehouse.example';
const REDIRECT_URI = `${PUBLIC_URL}${OAUTH_CALLBACK_PATH}`;
/** The suite's scope-retry-limit scenario allows three authorization attempts. */
const MAX_AUTHORIZATIONS = 3;
const STATELESS_PROTOCOL = '2026-07-28';

const serverUrl = process.argv[process.argv.length - 1]!;
const protocolVersion = process.env.MCP_CONFORMANCE_PROTOCOL_VERSION ?? '2025-11-25';
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT ?? '{}') as {
  client_id?: string;
  client_secret?: string;
  issuer?: string;
  /** The arguments a scenario wants its tools called with (http-custom-headers). */
  toolCalls?: Array<{ name: string; arguments: Record<string, unknown> }>;
};
/** Scenarios whose server answers listings only (json-schema-ref-no-deref grades what the client fetches while listing). */
const LISTS_ONLY = new Set(['json-schema-ref-no-deref']);
/** json-schema-2020-12-preservation: this tool is called with the input schema of the other, exactly as the client holds it. */
const SCHEMA_ECHO = { tool: 'json_schema_echo', of: 'json_schema_2020_12_tool' };
const http: OutboundHttpOptions = { allowPrivateNetworks: true };

/** Pre-registered credentials (auth/pre-registration) are valid at their issuer only. */
function configuredAt(issuer: string | undefined): ConfiguredOAuth {
  const preRegistered = context.client_id && (!context.issuer || context.issuer === issuer);
  return { sendResource: true, ...(preRegistered ? { clientId: context.client_id, ...(context.client_secret ? { clientSecret: context.client_secret } : {}) } : {}) };
}

function scopeUnion(previous: string | undefined, next: string | undefined): string | undefined {
  const scopes = new Set([...(previous?.split(' ') ?? []), ...(next?.split(' ') ?? [])].filter(Boolean));
  return scopes.size ? [...scopes].join(' ') : undefined;
}

class Connector {
  private readonly credentials = new Map<string, ClientCredentials>();
  private tokens: TokenSet | undefined;
  private grantedScope: string | undefined;
  private authorizations = 0;
  /** The challenge of the last 401/403 the upstream answered, for the next authorization. */
  private challenge: BearerChallenge | undefined;

  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    if (this.tokens) headers.set('authorization', `Bearer ${this.tokens.accessToken}`);
    const response = await fetch(input, { ...init, headers });
    if (response.status === 401 || response.status === 403) this.challenge = parseBearerChallenge(response.headers.get('www-authenticate')) ?? {};
    return response;
  };

  async run(): Promise<void> {
    const challenge = await probeChallenge(serverUrl);
    if (challenge) await this.authorize(challenge);
    for (;;) {
      this.challenge = undefined;
      try {
        return await (protocolVersion === STATELESS_PROTOCOL ? this.statelessSession() : this.sdkSession());
      } catch (error) {
        const retry = this.challenge;
        if (!retry || this.authorizations >= MAX_AUTHORIZATIONS) throw error;
        await this.authorize(retry);
      }
    }
  }

  private async authorize(challenge: BearerChallenge): Promise<void> {
    this.authorizations++;
    const discovered = await discover(serverUrl, { challenge, configured: configuredAt(undefined), http });
    const configured = configuredAt(discovered.issuer);
    // Step-up asks for what was granted plus what the challenge names (MCP 2026-07-28 "Step-Up Authorization Flow").
    const scope = scopeUnion(this.grantedScope, discovered.scope);
    const client = this.credentials.get(discovered.issuer) ?? (await obtainClient({
      server: discovered.server,
      configured,
      metadataDocumentUrl: clientMetadataDocumentUrl(PUBLIC_URL),
      redirectUri: REDIRECT_URI,
      ...(scope ? { scope } : {}),
      http,
    }));
    this.credentials.set(discovered.issuer, client);
    const resource = configured.sendResource ? { resource: discovered.resource } : {};
    const started = await startAuthorization({ server: discovered.server, client, redirectUri: REDIRECT_URI, ...resource, ...(scope ? { scope } : {}) });
    const redirect = await fetch(started.url, { redirect: 'manual' });
    await redirect.body?.cancel();
    const location = redirect.headers.get('location');
    if (!location) throw new Error(`the authorization endpoint answered HTTP ${redirect.status} without a redirect`);
    this.tokens = await finishAuthorization({
      server: discovered.server,
      client,
      redirectUri: REDIRECT_URI,
      callbackUrl: new URL(location, started.url),
      expectedState: started.state,
      codeVerifier: started.codeVerifier,
      ...resource,
      http,
    });
    this.grantedScope = scopeUnion(this.grantedScope, scope);
  }

  /** MCP up to 2025-11-25: the SDK's Streamable HTTP client, as the gateway's upstream connections use it. */
  private async sdkSession(): Promise<void> {
    const client = new Client({ name: 'gatehouse-conformance', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(serverUrl), { fetch: this.fetch }));
    try {
      const { tools } = await client.listTools();
      for (const tool of tools) await client.callTool({ name: tool.name, arguments: {} });
    } finally {
      await client.close();
    }
  }

  /** MCP 2026-07-28 is stateless (no initialize; version and capabilities in every request's _meta), which SDK 1.x does not speak. */
  private async statelessSession(): Promise<void> {
    const { tools } = (await this.statelessRequest('tools/list', {})) as { tools: { name: string }[] };
    for (const tool of tools) await this.statelessRequest('tools/call', { name: tool.name, arguments: {} });
  }

  private requestId = 0;

  private async statelessRequest(method: string, params: Record<string, unknown>): Promise<unknown> {
    const _meta = { 'io.modelcontextprotocol/protocolVersion': STATELESS_PROTOCOL, 'io.modelcontextprotocol/clientCapabilities': {} };
    const response = await this.fetch(serverUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': STATELESS_PROTOCOL },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++this.requestId, method, params: { ...params, _meta } }),
    });
    const body = (await response.json().catch(() => undefined)) as { result?: unknown; error?: { message: string } } | undefined;
    if (!response.ok || !body || body.error) throw new Error(`${method}: HTTP ${response.status}${body?.error ? ` ${body.error.message}` : ''}`);
    return body.result;
  }
}

/**
 * The arguments to call a listed tool with: the scenario's own, the echoed schema, or, by default, arguments that
 * satisfy its input schema (each property of a simple type gets a plain value of that type).
 */
function argumentsOf(tool: { name: string; inputSchema: { properties?: Record<string, { type?: unknown }> } }, tools: Array<{ name: string; inputSchema: unknown }>): Record<string, unknown> {
  const given = context.toolCalls?.find((call) => call.name === tool.name);
  if (given) return given.arguments;
  if (tool.name === SCHEMA_ECHO.tool) return { schema: tools.find((other) => other.name === SCHEMA_ECHO.of)?.inputSchema };
  return argumentsFor(tool.inputSchema);
}

/** Arguments that satisfy a tool's input schema: each property of a simple type gets a plain value of that type. */
function argumentsFor(schema: { properties?: Record<string, { type?: unknown }> }): Record<string, unknown> {
  const sample: Record<string, unknown> = { number: 1, integer: 1, string: 'test', boolean: true };
  return Object.fromEntries(Object.entries(schema.properties ?? {}).flatMap(([name, property]) => (typeof property.type === 'string' && property.type in sample ? [[name, sample[property.type]]] : [])));
}

/** The client's side of relayed input requests: elicitations accepted (with what a boolean schema asks for), sampling answered. */
const answerInputs: ServerRequestRelay = async (request) => {
  if (request.method === 'elicitation/create') return { action: 'accept', content: { confirmed: true } };
  return { role: 'assistant', model: 'conformance', content: { type: 'text', text: 'sampled' } };
};

/** An unauthenticated server, through Gatehouse's upstream client: era negotiation, then every request by `forward`. */
async function upstreamClientSession(): Promise<void> {
  const timeoutMs = 10_000;
  const options = () => ({ signal: AbortSignal.timeout(timeoutMs), timeoutMs, onServerRequest: answerInputs });
  const client = new UpstreamClient('conformance', { streamableHttp: true });
  const opened = openStreamableHttp({ url: new URL(serverUrl), headers: {}, fetch, wrapFetch: (plain) => plain });
  try {
    await openInItsEra(client, opened, timeoutMs);
    const capabilities = client.getServerCapabilities() ?? {};
    if (capabilities.tools) {
      const listing = { ...options(), onToolRejected: (tool: string, reason: string) => process.stderr.write(`tool ${tool} left out: ${reason}\n`) };
      const { tools } = await client.forward({ method: 'tools/list', params: {} }, ListToolsResultSchema, listing);
      if (LISTS_ONLY.has(scenario)) return;
      for (const tool of tools) await client.forward({ method: 'tools/call', params: { name: tool.name, arguments: argumentsOf(tool, tools) } }, CallToolResultSchema, options());
    }
    if (capabilities.resources) {
      const { resources } = await client.forward({ method: 'resources/list', params: {} }, ListResourcesResultSchema, options());
      for (const resource of resources) await client.forward({ method: 'resources/read', params: { uri: resource.uri } }, ReadResourceResultSchema, options());
    }
    if (capabilities.prompts) {
      const { prompts } = await client.forward({ method: 'prompts/list', params: {} }, ListPromptsResultSchema, options());
      for (const prompt of prompts) await client.forward({ method: 'prompts/get', params: { name: prompt.name } }, GetPromptResultSchema, options());
    }
  } finally {
    await client.close();
    opened.direct.close();
  }
}

try {
  await (scenario.startsWith('auth/') ? new Connector().run() : upstreamClientSession());
} catch (error) {
  process.stderr.write(`gateway-connect: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
