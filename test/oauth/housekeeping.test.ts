import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sweepExpiredFlows, sweepUnusedMetadataDocumentClients } from '../../src/oauth/housekeeping.js';
import type { ClientKind, OAuthClientRecord } from '../../src/store/index.js';
import { backends, createTestUsers, openTestStore } from '../helpers/backends.js';

const DAY = 24 * 3600_000;

const client = (clientId: string, kind: ClientKind, fetchedAt: number): OAuthClientRecord => ({
  clientId,
  kind,
  authMethod: 'none',
  secretHash: null,
  secretExpiresAt: null,
  registrationTokenHash: null,
  metadata: '{}',
  metadataExpiresAt: kind === 'metadata_document' ? fetchedAt + 60_000 : null,
  createdIp: null,
  createdAt: fetchedAt,
  updatedAt: fetchedAt,
});

const grant = (id: string, clientId: string, expiresAt: number, revokedAt: number | null = null) => ({
  id,
  userId: 'usr_1',
  clientId,
  scope: 'mcp:read',
  resource: 'http://127.0.0.1:8080/mcp',
  createdAt: 0,
  expiresAt,
  lastUsedAt: null,
  revokedAt,
  revokedReason: revokedAt === null ? null : 'test',
});

const flow = (id: string, expiresAt: number) => ({
  id,
  browserHash: 'b',
  csrfHash: 'c',
  clientId: 'cli_x',
  redirectUri: 'http://127.0.0.1/cb',
  scope: 'mcp:read',
  resource: 'http://127.0.0.1:8080/mcp',
  state: null,
  codeChallenge: 'x'.repeat(43),
  prompt: null,
  createdAt: 0,
  expiresAt,
  completedAt: null,
});

for (const backend of backends) {
  describe(`housekeeping on ${backend}`, () => {
    it('the sweep deletes expired pending flows and keeps live ones', async () => {
      const store = await openTestStore(backend);
      try {
        await store.flows.create(flow('flow_old', 1_000));
        await store.flows.create(flow('flow_live', 10_000));
        assert.equal(await sweepExpiredFlows({ store }, 5_000), 1);
        assert.equal(await store.flows.find('flow_old'), undefined);
        assert.ok(await store.flows.find('flow_live'));
      } finally {
        await store.close();
      }
    });

    it('forgets metadata-document clients unused past the retention, unless a live grant holds them', async () => {
      const store = await openTestStore(backend);
      try {
        await createTestUsers(store, [['usr_1', 'ada']]);
        const now = 100 * DAY;
        const config = { oauth: { metadataDocumentClientRetentionSeconds: 30 * 24 * 3600 } };
        const old = now - 31 * DAY;
        await store.clients.upsert(client('https://unused.example/c', 'metadata_document', old));
        await store.clients.upsert(client('https://recent.example/c', 'metadata_document', now - 29 * DAY));
        await store.clients.upsert(client('https://granted.example/c', 'metadata_document', old));
        await store.clients.upsert(client('https://revoked.example/c', 'metadata_document', old));
        await store.clients.create(client('cli_registered', 'dynamic', old));
        await store.grants.create(grant('grt_live', 'https://granted.example/c', now + DAY));
        await store.grants.create(grant('grt_revoked', 'https://revoked.example/c', now + DAY, now - DAY));
        assert.equal(await sweepUnusedMetadataDocumentClients({ store, config }, now), 2);
        const left = (await store.clients.list()).map((c) => c.clientId).sort();
        assert.deepEqual(left, ['cli_registered', 'https://granted.example/c', 'https://recent.example/c']);
      } finally {
        await store.close();
      }
    });
  });
}
