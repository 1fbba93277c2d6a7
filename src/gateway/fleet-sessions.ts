import { z } from 'zod';
import {
  InitializeRequestSchema,
  LATEST_PROTOCOL_VERSION,
  LoggingLevelSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
  type LoggingLevel,
} from '@modelcontextprotocol/sdk/types.js';
import type { McpSessionRecord, McpSessionStore, Notifications } from '../store/index.js';
import { GATEWAY_REQUEST_ID_PREFIX, takeDirectMessages } from './direct-tool-calls.js';
import type { McpSession, McpSessionTable } from './mcp-sessions.js';
import type { Principal } from './principal.js';
import { setLogLevel } from './session-resume.js';

/**
 * MCP sessions across the replicas of a fleet: the record an initialize leaves in the store, the changes a session
 * makes later (initialized, log level), and the messages that keep every replica's copies in step.
 */

/** The channel of session changes between replicas. */
export const SESSIONS_CHANNEL = 'mcp_sessions';
/** The channel of clients' answers to requests another replica sent them (sampling, elicitation). */
export const ANSWERS_CHANNEL = 'mcp_answers';
/** Ids per message: a UUID takes 39 bytes of JSON, so this stays below NOTIFY's payload limit (no detour through the store). */
const IDS_PER_MESSAGE = 150;

const RelayedAnswer = z.object({ session: z.string(), message: z.object({ jsonrpc: z.literal('2.0'), id: z.string() }).passthrough() });

const SessionMessage = z.union([
  z.object({ ended: z.array(z.string()).max(IDS_PER_MESSAGE) }),
  z.object({ id: z.string(), logLevel: LoggingLevelSchema }),
]);

/** The row a session's initialize request leaves in the store (the protocol version as the SDK server agrees it). */
export function sessionRecordOf(id: string, principal: Principal, messages: readonly JSONRPCMessage[], at: number): McpSessionRecord | undefined {
  const initialize = messages.map((message) => InitializeRequestSchema.safeParse(message)).find((parsed) => parsed.success)?.data;
  if (!initialize) return undefined;
  const requested = initialize.params.protocolVersion;
  return {
    id,
    userId: principal.userId,
    username: principal.username,
    clientId: principal.clientId,
    via: principal.via,
    apiKeyId: principal.apiKeyId ?? null,
    protocolVersion: SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION,
    clientCapabilities: JSON.stringify(initialize.params.capabilities),
    clientInfo: JSON.stringify(initialize.params.clientInfo),
    initialized: false,
    logLevel: null,
    virtualServer: principal.virtualServer ?? null,
    createdAt: at,
    lastSeenAt: at,
  };
}

/** Tells every replica that these sessions ended. */
export function announceEnded(notifications: Notifications): (ids: readonly string[]) => Promise<void> {
  return async (ids) => {
    for (let start = 0; start < ids.length; start += IDS_PER_MESSAGE) {
      await notifications.publish(SESSIONS_CHANNEL, { ended: ids.slice(start, start + IDS_PER_MESSAGE) });
    }
  };
}

/**
 * What a session's messages change of its record: the client's `notifications/initialized`, and the level a
 * `logging/setLevel` asks for (also told to the replicas holding a copy, whose SDK servers filter log messages by it).
 * Undefined when they change nothing, as most requests (a call) do: nothing to wait for.
 */
export function recordSessionChanges(session: McpSession, messages: readonly JSONRPCMessage[], store: McpSessionStore, notifications: Notifications): Promise<void> | undefined {
  for (const message of messages) if (changesRecord(session, message)) return recordChanges(session, messages, store, notifications);
  return undefined;
}

const changesRecord = (session: McpSession, message: JSONRPCMessage) =>
  'method' in message && ((message.method === 'notifications/initialized' && !session.initialized) || (message.method === 'logging/setLevel' && 'id' in message));

async function recordChanges(session: McpSession, messages: readonly JSONRPCMessage[], store: McpSessionStore, notifications: Notifications): Promise<void> {
  for (const message of messages) {
    if (!('method' in message)) continue;
    if (message.method === 'notifications/initialized' && !session.initialized) {
      session.initialized = true;
      await store.update(session.id, { initialized: true });
    } else if (message.method === 'logging/setLevel' && 'id' in message) {
      const level = LoggingLevelSchema.safeParse(message.params?.level);
      if (!level.success) continue;
      await store.update(session.id, { logLevel: level.data });
      await notifications.publish(SESSIONS_CHANNEL, { id: session.id, logLevel: level.data });
    }
  }
}

/**
 * The client's answers to requests the gateway sent it (ids GATEWAY_REQUEST_ID_PREFIX…) that no call of this replica
 * waits for, sent to the others: the balancer may bring an answer to another replica than the asking call's. The
 * rest is returned. An answer of any size gets there (a large one through the store, store/notifications.ts); one
 * whose relay fails is reported, and the call waiting for it times out.
 */
export function relayAnswers(
  session: McpSession,
  messages: JSONRPCMessage[],
  notifications: Pick<Notifications, 'publish'>,
  onError: (error: unknown) => void,
): JSONRPCMessage[] | Promise<JSONRPCMessage[]> {
  // Most requests carry no such answer: `messages` then, at once.
  if (!messages.some(isGatewayAnswer)) return messages;
  return publishAnswers(session, messages, notifications, onError);
}

const isGatewayAnswer = (message: JSONRPCMessage) =>
  !('method' in message) && 'id' in message && typeof message.id === 'string' && message.id.startsWith(GATEWAY_REQUEST_ID_PREFIX);

async function publishAnswers(session: McpSession, messages: JSONRPCMessage[], notifications: Pick<Notifications, 'publish'>, onError: (error: unknown) => void): Promise<JSONRPCMessage[]> {
  const answers = messages.filter(isGatewayAnswer);
  await Promise.all(answers.map((message) => notifications.publish(ANSWERS_CHANNEL, { session: session.id, message }).catch(onError)));
  return messages.filter((message) => !isGatewayAnswer(message));
}

/** Applies other replicas' session changes to the copies this one holds; returns the unsubscribe function. */
export function followFleetSessions(notifications: Notifications, sessions: McpSessionTable, onError: (error: unknown) => void): () => void {
  const fromAnswers = notifications.subscribe(ANSWERS_CHANNEL, (payload, { fromThisProcess }) => {
    const relayed = RelayedAnswer.safeParse(payload);
    const session = !fromThisProcess && relayed.success ? sessions.held(relayed.data.session) : undefined;
    // Only the copy whose call asked takes it; the others find no such id.
    if (session && relayed.success) takeDirectMessages(session.direct, [relayed.data.message as JSONRPCMessage]);
  });
  const fromSessions = notifications.subscribe(SESSIONS_CHANNEL, (payload, { fromThisProcess }) => {
    if (fromThisProcess) return;
    const message = SessionMessage.safeParse(payload);
    if (!message.success) return;
    if ('ended' in message.data) void sessions.drop(message.data.ended).catch(onError);
    else {
      const session = sessions.held(message.data.id);
      if (session) setLogLevel(session.server, session.id, message.data.logLevel as LoggingLevel);
    }
  });
  return () => {
    fromAnswers();
    fromSessions();
  };
}
