import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { ClientCapabilities, Implementation, LoggingLevel } from '@modelcontextprotocol/sdk/types.js';

/**
 * A session opened on another replica, rebuilt here in the state its initialize left it in. The SDK has no public
 * way to do this: its server learns the client's capabilities and info only from an initialize request, and its
 * transport accepts other requests only after one. These are the fields an initialize sets (SDK 1.x:
 * webStandardStreamableHttp.js `handlePostRequest`, server/index.js `_oninitialize` and its `logging/setLevel`
 * handler); test/gateway/session-resume.test.ts fails if an SDK update renames them.
 */

interface TransportInternals {
  _webStandardTransport: { sessionId?: string; _initialized: boolean };
}
interface ServerInternals {
  _clientCapabilities?: ClientCapabilities;
  _clientVersion?: Implementation;
  _loggingLevels: Map<string | undefined, LoggingLevel>;
}

export interface InitializedState {
  sessionId: string;
  clientCapabilities: ClientCapabilities;
  clientInfo: Implementation;
  logLevel: LoggingLevel | null;
}

/** Call before the first request reaches the transport (the server connected to it or not). */
export function resumeInitialized(transport: StreamableHTTPServerTransport, server: Server, state: InitializedState): void {
  const inner = (transport as unknown as TransportInternals)._webStandardTransport;
  inner.sessionId = state.sessionId;
  inner._initialized = true;
  const internals = server as unknown as ServerInternals;
  internals._clientCapabilities = state.clientCapabilities;
  internals._clientVersion = state.clientInfo;
  if (state.logLevel) setLogLevel(server, state.sessionId, state.logLevel);
}

/** The level `logging/setLevel` set for the session, as the SDK's own handler records it. */
export function setLogLevel(server: Server, sessionId: string, level: LoggingLevel): void {
  (server as unknown as ServerInternals)._loggingLevels.set(sessionId, level);
}

/** The level `logging/setLevel` set for the session (on a session's SDK server); undefined until the client set one. */
export function logLevelOf(server: object, sessionId: string | undefined): LoggingLevel | undefined {
  return (server as Partial<ServerInternals>)._loggingLevels?.get(sessionId);
}
