import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { directExchanges } from '../../src/gateway/direct-tool-calls.js';
import { announceEnded, ANSWERS_CHANNEL, followFleetSessions, recordSessionChanges, relayAnswers, sessionRecordOf, SESSIONS_CHANNEL } from '../../src/gateway/fleet-sessions.js';
import { ownerOf, type McpSession, type McpSessionTable } from '../../src/gateway/mcp-sessions.js';
import type { Principal } from '../../src/gateway/principal.js';
import type { NotificationHandler, Notifications } from '../../src/store/index.js';
import { createTestUsers, openTestStore } from '../helpers/backends.js';

const alice: Principal = { userId: 'usr_a', username: 'alice', clientId: 'cli_1', grantId: 'grt_1', scopes: new Set(), via: 'access_token' };
const initialize = (protocolVersion: string): JSONRPCMessage => ({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion, capabilities: { elicitation: {} }, clientInfo: { name: 'c', version: '1' } },
});

/** Records what is published; `deliver` hands a message to the subscribers as if another process had sent it. */
function recordingNotifications() {
  const published: Array<{ channel: string; payload: unknown }> = [];
  const handlers: Array<[string, NotificationHandler]> = [];
  const notifications: Notifications = {
    publish: async (channel, payload) => void published.push({ channel, payload }),
    subscribe: (channel, handler) => {
      handlers.push([channel, handler]);
      return () => undefined;
    },
    ready: async () => undefined,
    hearsOtherProcesses: () => true,
    onHearingChange: () => () => undefined,
    close: async () => undefined,
  };
  const deliver = (channel: string, payload: unknown, fromThisProcess = false) => {
    for (const [name, handler] of handlers) if (name === channel) handler(payload, { fromThisProcess });
  };
  return { notifications, published, deliver };
}

async function heldSession(id: string): Promise<McpSession> {
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => id });
  const server = new Server({ name: 't', version: '1' }, { capabilities: { logging: {} } });
  await server.connect(transport);
  return { id, owner: ownerOf(alice), transport, server, direct: directExchanges(), lastSeenAt: 0, inFlight: 0, touchedAt: 0, initialized: false };
}

describe('the record of a session', () => {
  it('keeps what initialize declared, with the version the server agrees to', () => {
    const record = sessionRecordOf('s1', alice, [initialize('2025-11-25')], 42)!;
    assert.equal(record.protocolVersion, '2025-11-25');
    // As the SDK server reads it: an empty elicitation capability means form mode.
    assert.deepEqual(JSON.parse(record.clientCapabilities), { elicitation: { form: {} } });
    assert.deepEqual(JSON.parse(record.clientInfo), { name: 'c', version: '1' });
    assert.deepEqual([record.userId, record.username, record.clientId, record.via, record.createdAt, record.lastSeenAt], ['usr_a', 'alice', 'cli_1', 'access_token', 42, 42]);
    assert.equal(sessionRecordOf('s1', alice, [initialize('1999-01-01')], 42)?.protocolVersion, LATEST_PROTOCOL_VERSION, 'an unknown version gets the latest');
    assert.equal(sessionRecordOf('s1', alice, [{ jsonrpc: '2.0', id: 1, method: 'tools/list' }], 42), undefined);
  });
});

describe('session changes across replicas', () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  beforeEach(async () => {
    store = await openTestStore('sqlite');
    await createTestUsers(store, [['usr_a', 'alice']]);
    await store.mcpSessions.create(sessionRecordOf('s1', alice, [initialize('2025-11-25')], 1)!);
  });
  afterEach(() => store.close());

  it('records notifications/initialized once, and a log level, which the other replicas are told', async () => {
    const { notifications, published } = recordingNotifications();
    const session = await heldSession('s1');
    await recordSessionChanges(session, [{ jsonrpc: '2.0', method: 'notifications/initialized' }], store.mcpSessions, notifications);
    await recordSessionChanges(session, [{ jsonrpc: '2.0', id: 3, method: 'logging/setLevel', params: { level: 'error' } }], store.mcpSessions, notifications);
    await recordSessionChanges(session, [{ jsonrpc: '2.0', id: 4, method: 'logging/setLevel', params: { level: 'shouting' } }], store.mcpSessions, notifications);
    const record = await store.mcpSessions.find('s1');
    assert.equal(record?.initialized, true);
    assert.equal(record?.logLevel, 'error');
    assert.deepEqual(published, [{ channel: SESSIONS_CHANNEL, payload: { id: 's1', logLevel: 'error' } }]);
    await session.server.close();
  });

  it("drops this replica's copies of sessions another replica ended, applies its log levels, and ignores its own messages", async () => {
    const { notifications, deliver } = recordingNotifications();
    const session = await heldSession('s1');
    const dropped: string[][] = [];
    const table = { drop: async (ids: readonly string[]) => void dropped.push([...ids]), held: (id: string) => (id === 's1' ? session : undefined) } as unknown as McpSessionTable;
    followFleetSessions(notifications, table, assert.ifError);

    deliver(SESSIONS_CHANNEL, { ended: ['s9'] }, true);
    deliver(SESSIONS_CHANNEL, { ended: ['s1', 's2'] });
    deliver(SESSIONS_CHANNEL, { nonsense: true });
    assert.deepEqual(dropped, [['s1', 's2']]);

    deliver(SESSIONS_CHANNEL, { id: 's1', logLevel: 'error' });
    const sent: JSONRPCMessage[] = [];
    session.transport.send = async (message) => void sent.push(message);
    await session.server.sendLoggingMessage({ level: 'info', data: 'quiet' }, 's1');
    assert.deepEqual(sent, [], 'below the level set through the other replica');
    await session.server.close();
  });

  it('announces ended sessions in messages small enough for NOTIFY', async () => {
    const { notifications, published } = recordingNotifications();
    const ids = Array.from({ length: 400 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    await announceEnded(notifications)(ids);
    assert.equal(published.length, 3);
    assert.deepEqual(published.flatMap(({ payload }) => (payload as { ended: string[] }).ended), ids);
    for (const { payload } of published) assert.ok(JSON.stringify(payload).length < 7900);
  });

  it("sends the client's answers to requests no call here asked on to the other replicas, where the asking call takes its own", async () => {
    const here = recordingNotifications();
    const asking = await heldSession('s1');
    const answer: JSONRPCMessage = { jsonrpc: '2.0', id: `${asking.direct.idPrefix}1`, result: { role: 'assistant', content: { type: 'text', text: 'hi' }, model: 'm' } };
    const other: JSONRPCMessage = { jsonrpc: '2.0', id: 5, result: {} };
    const receiving = await heldSession('s1');
    const left = await relayAnswers(receiving, [answer, other, { jsonrpc: '2.0', method: 'notifications/initialized' }], here.notifications, assert.ifError);
    assert.deepEqual(left, [other, { jsonrpc: '2.0', method: 'notifications/initialized' }], 'the SDK keeps its own numeric ids');
    assert.deepEqual(here.published, [{ channel: ANSWERS_CHANNEL, payload: { session: 's1', message: answer } }]);

    const there = recordingNotifications();
    const got: JSONRPCMessage[] = [];
    asking.direct.asked.set(answer.id as string, (message) => void got.push(message));
    const table = { held: (id: string) => (id === 's1' ? asking : undefined), drop: async () => undefined } as unknown as McpSessionTable;
    followFleetSessions(there.notifications, table, assert.ifError);
    there.deliver(ANSWERS_CHANNEL, { session: 's1', message: answer }, true);
    assert.deepEqual(got, [], 'its own relays are not for it');
    there.deliver(ANSWERS_CHANNEL, { session: 's1', message: answer });
    assert.deepEqual(got, [answer]);
    await asking.server.close();
    await receiving.server.close();
  });
});
