import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { directExchanges } from '../../src/gateway/direct-tool-calls.js';
import { isOwnedBy, MCP_SESSION_TOUCH_MS, mcpSessionTable, ownerOf, type McpSession } from '../../src/gateway/mcp-sessions.js';
import type { Principal } from '../../src/gateway/principal.js';
import type { McpSessionStore } from '../../src/store/index.js';
import { createTestUsers, openTestStore } from '../helpers/backends.js';

const alice: Principal = { userId: 'usr_a', username: 'alice', clientId: 'cli_1', grantId: 'grt_1', scopes: new Set(['mcp:read']), via: 'access_token' };

let store: Awaited<ReturnType<typeof openTestStore>>;
/** Sessions every table of a test announced as ended. */
let announced: string[];
beforeEach(async () => {
  store = await openTestStore('sqlite');
  await createTestUsers(store, [['usr_a', 'alice'], ['usr_b', 'bob']]);
  announced = [];
});
afterEach(() => store.close());

const tableOptions = () => ({ store: store.mcpSessions as McpSessionStore, announceEnded: async (ids: readonly string[]) => void announced.push(...ids) });

/**
 * A real SDK server connected to a real (unused) transport, as the route builds them, and its row in the store;
 * `closed` tells when it closed.
 */
async function sessionOf(id: string, principal: Principal, at: number): Promise<McpSession & { closed: () => boolean }> {
  await store.mcpSessions.create({
    id,
    userId: principal.userId,
    username: principal.username,
    clientId: principal.clientId,
    via: principal.via,
    apiKeyId: principal.apiKeyId ?? null,
    protocolVersion: '2025-11-25',
    clientCapabilities: '{}',
    clientInfo: '{"name":"t","version":"1"}',
    initialized: true,
    logLevel: null,
    virtualServer: null,
    createdAt: at,
    lastSeenAt: at,
  });
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => id });
  const server = new Server({ name: 'session-test', version: '1.0.0' }, { capabilities: {} });
  let closed = false;
  server.onclose = () => {
    closed = true;
  };
  await server.connect(transport);
  return { id, owner: ownerOf(principal), transport, server, direct: directExchanges(), lastSeenAt: at, inFlight: 0, touchedAt: at, initialized: true, closed: () => closed };
}

describe('MCP session ownership', () => {
  it('only the same user through the same credential (OAuth client or API key), at the same endpoint, owns a session', () => {
    const owner = ownerOf(alice);
    assert.equal(isOwnedBy(owner, { ...alice, grantId: 'grt_2', scopes: new Set(['mcp:write']) }), true, 'a refreshed or stepped-up token');
    assert.equal(isOwnedBy(owner, { ...alice, userId: 'usr_b' }), false, 'another user');
    assert.equal(isOwnedBy(owner, { ...alice, clientId: 'cli_2' }), false, 'another client');
    assert.equal(isOwnedBy(owner, { ...alice, clientId: null, grantId: null, via: 'api_key' }), false, 'an API key of the same user');
    const aliceKey: Principal = { ...alice, clientId: null, grantId: null, apiKeyId: 'key_1', via: 'api_key' };
    assert.equal(isOwnedBy(ownerOf(aliceKey), aliceKey), true, 'the same API key');
    assert.equal(isOwnedBy(ownerOf(aliceKey), { ...aliceKey, apiKeyId: 'key_2' }), false, 'another API key of the same user');
    assert.equal(isOwnedBy({ ...ownerOf(aliceKey), apiKeyId: null }, aliceKey), false, 'an API key session stored without its key (before migration 013)');
    assert.equal(isOwnedBy(ownerOf(aliceKey), { ...aliceKey, userId: 'usr_b' }), false, 'an API key of another user');
    assert.equal(isOwnedBy(owner, { ...alice, virtualServer: 'support' }), false, 'the same caller at a virtual server');
    assert.equal(isOwnedBy(ownerOf({ ...alice, virtualServer: 'support' }), alice), false, 'a session of a virtual server, at /mcp');
    assert.equal(isOwnedBy(ownerOf({ ...alice, virtualServer: 'support' }), { ...alice, virtualServer: 'billing' }), false, 'at another virtual server');
    assert.equal(isOwnedBy(ownerOf({ ...alice, virtualServer: 'support' }), { ...alice, virtualServer: 'support' }), true, 'at the same virtual server');
  });

  it('findFor answers a foreign session exactly like an unknown one', async () => {
    const table = mcpSessionTable(tableOptions());
    const session = await sessionOf('s-1', alice, 0);
    table.add(session);
    assert.equal(table.findFor('s-1', alice), session);
    assert.equal(table.findFor('s-1', { ...alice, userId: 'usr_b' }), undefined);
    assert.equal(table.findFor('s-unknown', alice), undefined);
    await table.closeAll();
  });
});

describe('MCP session table', () => {
  it('closes sessions idle past the timeout, never one with a request in flight', async () => {
    let now = 1_000;
    const table = mcpSessionTable({ ...tableOptions(), idleMs: 100, now: () => now });
    const idle = await sessionOf('idle', alice, now);
    const busy = await sessionOf('busy', alice, now);
    table.add(idle);
    table.add(busy);
    const done = table.begin(busy);

    now += 100;
    assert.equal(await table.sweepIdle(), 1);
    assert.equal(idle.closed(), true);
    assert.equal(table.findFor('idle', alice), undefined);
    assert.equal(table.findFor('busy', alice), busy, 'a GET stream or a long call keeps its session');

    done();
    done(); // a response's end is counted once, however often it is reported
    assert.equal(busy.inFlight, 0);
    now += 99;
    assert.equal(await table.sweepIdle(), 0, 'idle time counts from the end of the last request');
    now += 1;
    assert.equal(await table.sweepIdle(), 1);
    assert.equal(busy.closed(), true);
    assert.equal(table.size, 0);
  });

  it('drained: at once with nothing in flight, once the last request here ends, and false when the time is up first', async () => {
    const table = mcpSessionTable(tableOptions());
    const [one, two] = [await sessionOf('one', alice, 0), await sessionOf('two', alice, 0)];
    table.add(one);
    table.add(two);
    assert.equal(await table.drained(60_000), true);
    const ends = [table.begin(one), table.begin(two)];
    let drained: boolean | undefined;
    const waiting = table.drained(60_000).then((outcome) => (drained = outcome));
    ends[0]!();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(drained, undefined, 'a request is still in flight');
    ends[1]!();
    await waiting;
    assert.equal(drained, true);
    const stuck = table.begin(one);
    assert.equal(await table.drained(10), false);
    stuck();
    assert.equal(one.closed(), false, 'draining closes nothing');
    await table.closeAll();
  });

  it('has room up to its bound; closeAll empties it', async () => {
    const table = mcpSessionTable({ ...tableOptions(), maxSessions: 2 });
    const bob: Principal = { ...alice, userId: 'usr_b' };
    const sessions = [await sessionOf('a', alice, 0), await sessionOf('b', bob, 0)];
    table.add(sessions[0]!);
    assert.equal(await table.makeRoomFor(bob), true);
    table.add(sessions[1]!);
    assert.equal(await table.makeRoomFor(bob), false);
    assert.equal(sessions.some((s) => s.closed()), false, 'the table bound closes nobody’s session');
    await table.closeAll();
    assert.equal(table.size, 0);
    assert.ok(sessions.every((s) => s.closed()));
  });

  it('a user at their share makes room by closing their own least recently used idle session, never another user’s', async () => {
    const table = mcpSessionTable({ ...tableOptions(), maxSessions: 10, maxSessionsPerUser: 2 });
    const bob: Principal = { ...alice, userId: 'usr_b' };
    const older = await sessionOf('a-old', alice, 1);
    const newer = await sessionOf('a-new', alice, 5);
    const bobs = await sessionOf('b-1', bob, 0);
    for (const session of [older, newer, bobs]) table.add(session);
    assert.equal(await table.makeRoomFor(bob), true, 'bob is within his share');
    assert.equal(await table.makeRoomFor(alice), true);
    assert.equal(older.closed(), true);
    assert.equal(newer.closed(), false);
    assert.equal(bobs.closed(), false);

    const busy = await sessionOf('a-busy', alice, 0);
    table.add(busy);
    table.begin(busy);
    table.begin(newer);
    assert.equal(await table.makeRoomFor(alice), false, 'sessions serving a request are never closed to make room');
    await table.closeAll();
  });
});

describe('MCP session table across replicas', () => {
  it("counts a user's sessions held by other replicas toward their share, and ends the least recently used everywhere", async () => {
    const table = mcpSessionTable({ ...tableOptions(), maxSessionsPerUser: 2 });
    // Two of alice's sessions live only in the store: another replica opened them.
    await sessionOf('elsewhere-old', alice, 1);
    await sessionOf('elsewhere-new', alice, 5);
    assert.equal(await table.makeRoomFor(alice), true);
    assert.equal(await store.mcpSessions.find('elsewhere-old'), undefined);
    assert.ok(await store.mcpSessions.find('elsewhere-new'));
    assert.deepEqual(announced, ['elsewhere-old'], 'the replica holding it is told');
  });

  it('takes idle copies out of memory and keeps their rows; not one serving a request, nor one holding subscriptions', async () => {
    let now = 1_000;
    const table = mcpSessionTable({ ...tableOptions(), hibernateMs: 100, now: () => now });
    const idle = await sessionOf('idle', alice, now);
    const busy = await sessionOf('busy', alice, now);
    const subscribed = { ...(await sessionOf('subscribed', alice, now)), keepsState: () => true };
    const recent = await sessionOf('recent', alice, now);
    for (const session of [idle, busy, subscribed, recent]) table.add(session);
    table.begin(busy);
    now += 100;
    recent.lastSeenAt = now - 1;
    assert.equal(await table.hibernateIdle(), 1);
    assert.equal(idle.closed(), true);
    assert.equal(table.held('idle'), undefined);
    assert.ok(await store.mcpSessions.find('idle'), 'the session goes on in the store');
    assert.deepEqual(announced, [], 'nothing ended');
    assert.deepEqual(['busy', 'subscribed', 'recent'].map((id) => table.held(id)?.id), ['busy', 'subscribed', 'recent']);
    await table.closeAll();
  });

  it('closes a copy idle here that is in use through another replica, and keeps its row', async () => {
    let now = 1_000;
    const table = mcpSessionTable({ ...tableOptions(), idleMs: 100, now: () => now });
    const copy = await sessionOf('shared', alice, now);
    table.add(copy);
    now += 100;
    await store.mcpSessions.touch(['shared'], now); // another replica served it just now
    assert.equal(await table.sweepIdle(), 0);
    assert.equal(copy.closed(), true, 'the memory goes');
    assert.ok(await store.mcpSessions.find('shared'), 'the session goes on');
    assert.deepEqual(announced, []);
  });

  it('ends sessions idle in the store that no replica holds any more (a replica that died), and announces them', async () => {
    let now = 1_000_000;
    const table = mcpSessionTable({ ...tableOptions(), idleMs: 100, now: () => now });
    await sessionOf('orphan', alice, now);
    now += 100 + MCP_SESSION_TOUCH_MS;
    assert.equal(await table.sweepIdle(), 1);
    assert.equal(await store.mcpSessions.find('orphan'), undefined);
    assert.deepEqual(announced, ['orphan']);
  });

  it("keeps the row of a session whose stream is held here, for the other replicas' sweeps", async () => {
    let now = 1_000_000;
    const table = mcpSessionTable({ ...tableOptions(), idleMs: 100, now: () => now });
    const streaming = await sessionOf('streaming', alice, now);
    table.add(streaming);
    table.begin(streaming);
    now += 100 + MCP_SESSION_TOUCH_MS;
    await table.sweepIdle();
    assert.equal((await store.mcpSessions.find('streaming'))?.lastSeenAt, now);
  });

  it('writes last use to the store at most once per touch interval', async () => {
    let now = 1_000_000;
    const table = mcpSessionTable({ ...tableOptions(), now: () => now });
    const session = await sessionOf('s', alice, now);
    table.add(session);
    now += 1;
    table.begin(session)();
    assert.equal((await store.mcpSessions.find('s'))?.lastSeenAt, 1_000_000);
    now += MCP_SESSION_TOUCH_MS;
    table.begin(session)();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await store.mcpSessions.find('s'))?.lastSeenAt, now);
  });

  it("end deletes the row and tells the others; drop closes this replica's copy of a session ended elsewhere", async () => {
    const table = mcpSessionTable(tableOptions());
    const ended = await sessionOf('ended', alice, 0);
    const dropped = await sessionOf('dropped', alice, 0);
    table.add(ended);
    table.add(dropped);
    await table.end('ended');
    assert.equal(await store.mcpSessions.find('ended'), undefined);
    assert.deepEqual(announced, ['ended']);
    await table.drop(['dropped', 'unknown']);
    assert.equal(dropped.closed(), true);
    assert.equal(table.held('dropped'), undefined);
    await table.closeAll();
  });
});
