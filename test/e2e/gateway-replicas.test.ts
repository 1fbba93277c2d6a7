import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { basicAuth } from '../helpers/app.js';
import { freshPostgresSchema } from '../helpers/backends.js';
import { CHILD_ADMIN_PASSWORD, startGatehouseChild, type GatehouseChild } from '../helpers/gatehouse-child.js';
import { connectWithToken, obtainAccessToken } from '../helpers/mcp-session.js';

/**
 * Two `gatehouse serve` processes behind one public URL, sharing one PostgreSQL schema and one master key, as
 * replicas behind a load balancer are. A revoked grant stops working at once on the replica that revoked it and on
 * every other one (the fleet issue's bound is 1 s).
 */

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

  it('a token from replica A works on both; after A revokes its grant, A and B both refuse their very next request', async (t) => {
    const token = (await obtainAccessToken(replicaA.url, ADMIN)).access_token;
    const grantId = decodeJwt(token).gid;
    assert.equal(typeof grantId, 'string', 'the access token names its grant');

    const sessions = new Map<GatehouseChild, OpenSession>();
    const clients: { close(): Promise<void> }[] = [];
    t.after(() => Promise.all(clients.map((client) => client.close().catch(() => undefined))));
    for (const replica of [replicaA, replicaB]) {
      const { client, transport } = await connectWithToken(`${replica.url}/mcp`, token);
      clients.push(client);
      assert.ok(Array.isArray((await client.listTools()).tools), 'the token lists tools on this replica');
      sessions.set(replica, { sessionId: transport.sessionId!, protocolVersion: transport.protocolVersion! });
      assert.equal(await toolsListStatus(replica, token, sessions.get(replica)!), 200);
    }

    const revoked = await fetch(`${replicaA.url}/api/oauth/grants/${encodeURIComponent(String(grantId))}`, {
      method: 'DELETE',
      headers: { authorization: basicAuth(ADMIN.username, ADMIN.password) },
    });
    assert.equal(revoked.status, 204, await revoked.text());

    assert.equal(await toolsListStatus(replicaA, token, sessions.get(replicaA)!), 401, 'the replica that revoked refuses the very next request');

    // Every request reads the grant's liveness from the shared database: the other replica's very next request is
    // refused too, well inside the 1 s the fleet promises, with no waiting to measure.
    assert.equal(await toolsListStatus(replicaB, token, sessions.get(replicaB)!), 401, 'the other replica refuses its very next request');
  });
});
