import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { directExchanges } from '../../src/gateway/direct-tool-calls.js';
import { isOwnedBy, mcpSessionTable, ownerOf, type McpSession } from '../../src/gateway/mcp-sessions.js';
import type { Principal } from '../../src/gateway/principal.js';

const alice: Principal = { userId: 'usr_a', username: 'alice', clientId: 'cli_1', grantId: 'grt_1', scopes: new Set(['mcp:read']), via: 'access_token' };

/** A real SDK server connected to a real (unused) transport, as the route builds them; `closed` tells when it closed. */
async function sessionOf(id: string, principal: Principal, at: number): Promise<McpSession & { closed: () => boolean }> {
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => id });
  const server = new Server({ name: 'session-test', version: '1.0.0' }, { capabilities: {} });
  let closed = false;
  server.onclose = () => {
    closed = true;
  };
  await server.connect(transport);
  return { id, owner: ownerOf(principal), transport, server, direct: directExchanges(), lastSeenAt: at, inFlight: 0, closed: () => closed };
}

describe('MCP session ownership', () => {
  it('only the same user through the same client, the same way, owns a session', () => {
    const owner = ownerOf(alice);
    assert.equal(isOwnedBy(owner, { ...alice, grantId: 'grt_2', scopes: new Set(['mcp:write']) }), true, 'a refreshed or stepped-up token');
    assert.equal(isOwnedBy(owner, { ...alice, userId: 'usr_b' }), false, 'another user');
    assert.equal(isOwnedBy(owner, { ...alice, clientId: 'cli_2' }), false, 'another client');
    assert.equal(isOwnedBy(owner, { ...alice, clientId: null, grantId: null, via: 'api_key' }), false, 'an API key of the same user');
    assert.equal(isOwnedBy(ownerOf({ ...alice, clientId: null, via: 'api_key' }), { ...alice, userId: 'usr_b', clientId: null, via: 'api_key' }), false, 'an API key of another user');
  });

  it('findFor answers a foreign session exactly like an unknown one', async () => {
    const table = mcpSessionTable();
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
    const table = mcpSessionTable({ idleMs: 100, now: () => now });
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

  it('has room up to its bound; closeAll empties it', async () => {
    const table = mcpSessionTable({ maxSessions: 2 });
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
    const table = mcpSessionTable({ maxSessions: 10, maxSessionsPerUser: 2 });
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
