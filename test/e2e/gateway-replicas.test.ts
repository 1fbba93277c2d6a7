import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { decodeJwt } from 'jose';
import { basicAuth } from '../helpers/app.js';
import { freshPostgresSchema } from '../helpers/backends.js';
import { CHILD_ADMIN_PASSWORD, startGatehouseChild, type GatehouseChild } from '../helpers/gatehouse-child.js';
import { connectWithToken, obtainAccessToken } from '../helpers/mcp-session.js';

/**
 * Two `gatehouse serve` processes behind one public URL, sharing one PostgreSQL schema and one master key, as
 * replicas behind a load balancer are, with their credential caches on (the default). A revoked grant or API key
 * stops working at once on the replica that revoked it, and within 1 s on every other one (the NOTIFY that empties
 * their caches).
 */

/** The fleet's bound on a revocation reaching another replica. */
const FLEET_BOUND_MS = 1_000;

/** Repeats the request on `replica` until it is refused; true when that happened within `ms`. */
async function refusedWithin(replica: GatehouseChild, token: string, session: OpenSession, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  do {
    if ((await toolsListStatus(replica, token, session)) === 401) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  } while (Date.now() <= deadline);
  return false;
}

const ADMIN = { username: 'admin', password: CHILD_ADMIN_PASSWORD };

interface OpenSession {
  sessionId: string;
  protocolVersion: string;
}

/** One tools/list on an existing session with a bearer token, answered by `replica`: only the HTTP status matters. */
async function toolsListStatus(replica: GatehouseChild, token: string, session: OpenSession): Promise<number> {
  const response = await fetch(`${replica.url}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': session.sessionId,
      'mcp-protocol-version': session.protocolVersion,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  await response.body?.cancel();
  return response.status;
}

describe('revocation across two gatehouse serve replicas sharing one PostgreSQL', { timeout: 120_000 }, () => {
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  let replicaA: GatehouseChild;
  let replicaB: GatehouseChild;

  before(async () => {
    schema = await freshPostgresSchema();
    const env = { GATEHOUSE_SECRET_KEY: randomBytes(32).toString('hex'), GATEHOUSE_DATABASE_URL: schema.url };
    // One after the other: the first start migrates the schema and creates the admin, the second finds both.
    replicaA = await startGatehouseChild([], env);
    replicaB = await startGatehouseChild(['--public-url', replicaA.url], env);
  });
  after(async () => {
    await replicaB?.stop();
    await replicaA?.stop();
    await schema?.drop();
  });

  /** An MCP session on each replica with `token`, each checked with a tools/list. */
  async function sessionsOnBoth(t: TestContext, token: string): Promise<Map<GatehouseChild, OpenSession>> {
    const sessions = new Map<GatehouseChild, OpenSession>();
    const clients: { close(): Promise<void> }[] = [];
    t.after(() => Promise.all(clients.map((client) => client.close().catch(() => undefined))));
    for (const replica of [replicaA, replicaB]) {
      const { client, transport } = await connectWithToken(`${replica.url}/mcp`, token);
      clients.push(client);
      assert.ok(Array.isArray((await client.listTools()).tools), 'the credential lists tools on this replica');
      sessions.set(replica, { sessionId: transport.sessionId!, protocolVersion: transport.protocolVersion! });
      assert.equal(await toolsListStatus(replica, token, sessions.get(replica)!), 200);
    }
    return sessions;
  }

  /** Revokes through A's admin API; A refuses at once, B within the fleet's bound (A's NOTIFY empties B's cache). */
  async function revokeAtAThenRefusedOnBoth(path: string, token: string, sessions: Map<GatehouseChild, OpenSession>): Promise<void> {
    const revoked = await fetch(`${replicaA.url}${path}`, { method: 'DELETE', headers: { authorization: basicAuth(ADMIN.username, ADMIN.password) } });
    assert.equal(revoked.status, 204, await revoked.text());
    assert.equal(await toolsListStatus(replicaA, token, sessions.get(replicaA)!), 401, 'the replica that revoked refuses the very next request');
    assert.ok(await refusedWithin(replicaB, token, sessions.get(replicaB)!, FLEET_BOUND_MS), 'the other replica refuses the credential within 1 s');
  }

  it('a token from replica A works on both (and is cached there); after A revokes its grant, A refuses its very next request and B within 1 s', async (t) => {
    const token = (await obtainAccessToken(replicaA.url, ADMIN)).access_token;
    const grantId = decodeJwt(token).gid;
    assert.equal(typeof grantId, 'string', 'the access token names its grant');
    const sessions = await sessionsOnBoth(t, token);
    await revokeAtAThenRefusedOnBoth(`/api/oauth/grants/${encodeURIComponent(String(grantId))}`, token, sessions);
  });

  it('an API key made on replica A works on both (and is cached there); after A revokes it, A refuses its very next request and B within 1 s', async (t) => {
    const created = await fetch(`${replicaA.url}/api/apikeys`, {
      method: 'POST',
      headers: { authorization: basicAuth(ADMIN.username, ADMIN.password), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'replicas' }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const { id, key } = (await created.json()) as { id: string; key: string };
    const sessions = await sessionsOnBoth(t, key);
    await revokeAtAThenRefusedOnBoth(`/api/apikeys/${encodeURIComponent(id)}`, key, sessions);
  });
});
