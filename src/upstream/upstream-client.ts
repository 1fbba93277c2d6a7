import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { DirectRequests } from './streamable-http/direct-requests.js';
import { RELAYED_CAPABILITIES, refuseServerRequests, relayServerRequests, type ServerRequestRelay, type ServerRequestRelays } from './streamable-http/server-requests.js';

/** How one request to an upstream is carried: its cancellation, time limit, and where its side traffic goes. */
export interface UpstreamRequestOptions {
  /** Aborting it cancels the request upstream (`notifications/cancelled`) and rejects. */
  signal: AbortSignal;
  timeoutMs: number;
  /** Present when the caller wants progress: each progress notification of the request, without its token. */
  onProgress?: (progress: Progress) => void;
  /** Requests the upstream sends while serving this one (sampling, elicitation); absent: they are refused. */
  onServerRequest?: ServerRequestRelay;
}

/** The requests that take a Streamable HTTP upstream's direct path: the hot one. Everything else goes through the SDK. */
const DIRECT_METHODS = new Set(['tools/call']);

/**
 * The SDK Client the gateway talks to an upstream with, shared by every session (or, per-user upstreams, every
 * session of one user). `forward` is the one way the gateway sends a request: it picks the path itself, the direct
 * Streamable HTTP path (streamable-http/direct-requests.ts) for tool calls when the connection has one, else the
 * SDK's. Streamable HTTP clients are offered sampling and elicitation and relay them (streamable-http/server-requests.ts).
 */
export class UpstreamClient extends Client {
  private direct: DirectRequests | undefined;
  private readonly relays: ServerRequestRelays | undefined;

  /** `streamableHttp`: the connection is Streamable HTTP, where the upstream's requests can be attributed. */
  constructor(clientVersion: string, { streamableHttp }: { streamableHttp: boolean }) {
    super({ name: 'gatehouse', version: clientVersion }, { capabilities: streamableHttp ? RELAYED_CAPABILITIES : {} });
    this.relays = streamableHttp ? relayServerRequests(this) : undefined;
  }

  /** `opened`'s transport, ready for `connect`; its direct path, if it has one, is used from now on. */
  attach(opened: { transport: Transport; direct?: DirectRequests }): Transport {
    // Only Streamable HTTP connections relay, and only they have a direct path.
    if (!this.relays) return opened.transport;
    this.direct = opened.direct;
    return this.relays.track(opened.transport);
  }

  /** Sends one request on this connection and checks its result against `resultSchema`. */
  async forward<S extends z.ZodType>(message: { method: string; params?: Record<string, unknown> }, resultSchema: S, options: UpstreamRequestOptions): Promise<z.output<S>> {
    const { signal, timeoutMs, onProgress, onServerRequest = refuseServerRequests } = options;
    if (this.direct && DIRECT_METHODS.has(message.method)) {
      const result = await this.direct.request(message, { signal, timeoutMs, onProgress, onServerRequest });
      // The same check the SDK would make.
      const parsed = resultSchema.safeParse(result);
      if (!parsed.success) throw new Error(`invalid ${message.method} result`);
      return parsed.data;
    }
    const send = () => this.request(message, resultSchema, { timeout: timeoutMs, signal, onprogress: onProgress }) as Promise<z.output<S>>;
    return this.relays ? this.relays.during(onServerRequest, send) : send();
  }
}
