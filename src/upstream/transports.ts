import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { FetchLike, Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { createDemoUpstream } from './demo.js';
import { bearerFetch, type BearerSource } from './oauth/bearer-fetch.js';
import type { DirectRequests } from './streamable-http/direct-requests.js';
import { openStdio } from './stdio-transport.js';
import { openStreamableHttp } from './streamable-http/transport.js';
import type { UpstreamSecrets } from './settings.js';
import type { UpstreamSettings } from './types.js';
import { withTraceContext } from '../http/trace-context.js';

/** A transport for one connection attempt, and what to release with it. */
export interface OpenedTransport {
  transport: Transport;
  /** The last lines a stdio child wrote to stderr, to explain why it stopped. */
  stderrTail?: () => string;
  /**
   * Streamable HTTP: requests sent on the SDK client's session without the SDK (streamable-http/), for tool calls;
   * with stdio, the probe's. Either is the one path of a stateless (2026-07-28) upstream.
   */
  direct?: DirectRequests;
  /** stdio: an upstream that does not answer the era probe is of the session era (basic/transports/stdio). */
  silenceMeansLegacy?: boolean;
  release(): Promise<void>;
}

/**
 * The SDK's HTTP client transports hand their one long-lived AbortSignal to every fetch, and undici keeps an
 * abort listener on it per request until the request is garbage-collected: thousands of calls pile up listeners
 * (and Node's MaxListenersExceededWarning). A signal derived per request with AbortSignal.any still aborts with
 * the transport's, but is held by it only weakly.
 */
export function withOwnSignal(base: FetchLike): FetchLike {
  return (url, init) => base(url, init?.signal ? { ...init, signal: AbortSignal.any([init.signal]) } : init);
}

/** The environment of a stdio child: a few harmless variables (PATH, HOME, …) plus its own, never Gatehouse's. */
export function childEnvironment(envs: Record<string, string> = {}): Record<string, string> {
  return { ...getDefaultEnvironment(), ...envs };
}

function tailOf(stream: NodeJS.ReadableStream | null, keep = 2048): () => string {
  let tail = '';
  stream?.on('data', (chunk: Buffer | string) => {
    tail = (tail + chunk.toString()).slice(-keep);
  });
  return () => tail.trim().split('\n').slice(-3).join(' | ');
}

/**
 * A transport for one connection attempt. `bearer` is given for OAuth upstreams: its token goes on every
 * request in place of static headers.
 */
export async function openTransport(settings: UpstreamSettings, secrets: UpstreamSecrets, bearer?: BearerSource): Promise<OpenedTransport> {
  const nothing = async () => undefined;
  // Every request carries the caller's trace context: the upstream's spans join the client's trace.
  const base = withTraceContext(bearer ? bearerFetch(bearer) : fetch);
  const http = { requestInit: { headers: secrets.headers ?? {} }, fetch: withOwnSignal(base) };
  switch (settings.connection_type) {
    case 'http': {
      const url = new URL(settings.connection_string!);
      const { transport, direct } = openStreamableHttp({ url, headers: secrets.headers ?? {}, fetch: base, wrapFetch: withOwnSignal, bearer });
      return { transport, direct, release: async () => direct.close() };
    }
    case 'sse':
      // The legacy transport sends requestInit's headers on its event stream (GET) and on every POST.
      return { transport: new SSEClientTransport(new URL(settings.connection_string!), http), release: nothing };
    case 'stdio': {
      const { command, args } = settings.stdio_config!;
      // stderr is piped, not inherited: the child's noise stays out of Gatehouse's log, its last words explain a crash.
      const child = new StdioClientTransport({ command, args, env: childEnvironment(secrets.envs), stderr: 'pipe' });
      const { transport, direct } = openStdio(child);
      return { transport, direct, silenceMeansLegacy: true, stderrTail: tailOf(child.stderr as NodeJS.ReadableStream | null), release: async () => direct.close() };
    }
    case 'in_process': {
      // A fresh demo server per connection: an McpServer serves one transport at a time.
      const server = createDemoUpstream();
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await server.connect(serverSide);
      return { transport: clientSide, release: () => server.close() };
    }
  }
}
