import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { RETENTION_LEASE, retentionSweeper } from '../../src/ops/retention.js';
import { FLEET_MESSAGE_TTL_MS } from '../../src/store/index.js';
import { backends, openTestStore, tempDir } from '../helpers/backends.js';
import { DAY, HOUR, keysIn, NOW, retentionConfig, SECOND, storeUser, sweepAt } from './retention-fixtures.js';

type TestStore = Awaited<ReturnType<typeof openTestStore>>;

for (const backend of backends) {
  describe(`retention of sessions, throttles, flows and audit on ${backend}`, () => {
    let store: TestStore;
    beforeEach(async () => {
      store = await openTestStore(backend);
      await storeUser(store);
    });
    afterEach(() => store.close());

    const session = (tokenHash: string, times: { lastSeenAt?: number; absoluteExpiresAt?: number; revokedAt?: number }) =>
      store.sessions.create({
        tokenHash,
        userId: 'usr_1',
        createdAt: NOW - DAY,
        lastSeenAt: times.lastSeenAt ?? NOW - HOUR,
        absoluteExpiresAt: times.absoluteExpiresAt ?? NOW + DAY,
        revokedAt: times.revokedAt ?? null,
        userAgent: null,
      });

    it('browser sessions past their absolute lifetime, idle past the idle timeout, or revoked are deleted; live ones stay', async () => {
      await session('bs_live', {});
      await session('bs_absolute', { absoluteExpiresAt: NOW - SECOND });
      await session('bs_idle', { lastSeenAt: NOW - 13 * HOUR });
      await session('bs_revoked', { revokedAt: NOW - SECOND });
      assert.equal((await sweepAt(store, NOW))['browser_sessions/dead'], 3);
      assert.deepEqual(await keysIn(store, 'browser_sessions', 'token_hash'), ['bs_live']);
    });

    it('a login-failure count goes once it would be forgotten (a day) and its block is over; a blocked or recent one stays', async () => {
      const failure = (subject: string, lastFailureAt: number, blockedUntil: number) =>
        store.database.run('INSERT INTO login_failures (subject, failures, last_failure_at, blocked_until) VALUES (?, 3, ?, ?)', [subject, lastFailureAt, blockedUntil]);
      await failure('lf_old', NOW - DAY - SECOND, NOW - DAY);
      await failure('lf_old_still_blocked', NOW - DAY - SECOND, NOW + HOUR);
      await failure('lf_recent', NOW - HOUR, NOW - HOUR);
      assert.equal((await sweepAt(store, NOW))['login_failures/forgotten'], 1);
      assert.deepEqual(await keysIn(store, 'login_failures', 'subject'), ['lf_old_still_blocked', 'lf_recent']);
    });

    it("a rate window is deleted once it is a full window old; today's stays", async () => {
      await store.rateWindows.hit('registration:old', NOW - 2 * DAY);
      await store.rateWindows.hit('registration:today', NOW - HOUR);
      assert.equal((await sweepAt(store, NOW))['rate_windows/past'], 1);
      assert.deepEqual(await keysIn(store, 'rate_windows', 'bucket'), ['registration:today']);
    });

    it('a call approval is deleted a day after it expired; a recent one stays', async () => {
      const approval = (id: string, expiresAt: number) =>
        store.callApprovals.create({ id, userId: 'usr_1', upstreamId: 'ups_1', upstreamName: 'tickets', tool: 'drop', exposedName: 'tickets_drop', argumentsHash: 'p1.h', arguments: '{}', status: 'pending', createdAt: expiresAt - 600_000, expiresAt, decidedAt: null });
      await approval('apr_old', NOW - DAY - SECOND);
      await approval('apr_recent', NOW - HOUR);
      assert.equal((await sweepAt(store, NOW))['call_approvals/expired'], 1);
      assert.deepEqual(await keysIn(store, 'call_approvals', 'id'), ['apr_recent']);
    });

    it("expired pending flows are deleted, Gatehouse's own and those at upstreams; live ones stay", async () => {
      const flow = (id: string, expiresAt: number) =>
        store.flows.create({
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
          createdAt: expiresAt - 900 * SECOND,
          expiresAt,
          completedAt: null,
        });
      const upstreamFlow = (id: string, expiresAt: number) =>
        store.upstreamOAuthFlows.create({ id, stateHash: `s_${id}`, upstreamId: 'ups_1', userId: null, purpose: 'shared', sealed: 'x', createdAt: expiresAt - 900 * SECOND, expiresAt });
      await flow('flow_old', NOW - SECOND);
      await flow('flow_live', NOW + SECOND);
      await upstreamFlow('uof_old', NOW - SECOND);
      await upstreamFlow('uof_live', NOW + SECOND);
      const swept = await sweepAt(store, NOW);
      assert.equal(swept['authorization_flows/expired'], 1);
      assert.equal(swept['upstream_oauth_flows/expired'], 1);
      assert.deepEqual(await keysIn(store, 'authorization_flows', 'id'), ['flow_live']);
      assert.deepEqual(await keysIn(store, 'upstream_oauth_flows', 'id'), ['uof_live']);
    });

    it("a large fleet message's row is deleted once the replicas have had their time to read it; a newer one stays", async () => {
      const message = (id: string, createdAt: number) => store.database.run('INSERT INTO fleet_messages (id, payload, created_at) VALUES (?, ?, ?)', [id, '{}', createdAt]);
      await message('fm_read', NOW - FLEET_MESSAGE_TTL_MS - SECOND);
      await message('fm_new', NOW - SECOND);
      assert.equal((await sweepAt(store, NOW))['fleet_messages/read'], 1);
      assert.deepEqual(await keysIn(store, 'fleet_messages', 'id'), ['fm_new']);
    });

    const auditEvent = (id: string, at: number) => store.audit.append({ id, at, kind: 'login.failed', userId: null, clientId: null, grantId: null, ip: null, detail: '{}' });
    const toolCall = (id: string, at: number) =>
      store.toolCalls.append({ id, at, userId: 'usr_1', clientId: null, upstreamId: 'ups_1', upstreamName: 'demo', tool: 'echo', outcome: 'ok', error: null, durationMs: 3, arguments: null });

    it('security events and tool calls older than audit.retentionDays (90 by default) are deleted; newer ones stay', async () => {
      await auditEvent('ae_old', NOW - 91 * DAY);
      await auditEvent('ae_new', NOW - 89 * DAY);
      await toolCall('tc_old', NOW - 91 * DAY);
      await toolCall('tc_new', NOW - 89 * DAY);
      const swept = await sweepAt(store, NOW);
      assert.equal(swept['audit_events/older_than_retention'], 1);
      assert.equal(swept['tool_calls/older_than_retention'], 1);
      assert.deepEqual(await keysIn(store, 'audit_events', 'id'), ['ae_new']);
      assert.deepEqual(await keysIn(store, 'tool_calls', 'id'), ['tc_new']);
    });

    it('audit.retentionDays 0 keeps the audit forever', async () => {
      await auditEvent('ae_ancient', NOW - 3650 * DAY);
      await toolCall('tc_ancient', NOW - 3650 * DAY);
      const swept = await sweepAt(store, NOW, retentionConfig({ audit: { retentionDays: 0 } }));
      assert.equal(swept['audit_events/older_than_retention'], undefined);
      assert.deepEqual(await keysIn(store, 'audit_events', 'id'), ['ae_ancient']);
      assert.deepEqual(await keysIn(store, 'tool_calls', 'id'), ['tc_ancient']);
    });

    it('with audit.exportDir, the deleted rows are first appended as JSON Lines, one file per table and day, owner-only', async () => {
      const temp = tempDir();
      try {
        for (let i = 0; i < 5; i++) await toolCall(`tc_old_${i}`, NOW - 100 * DAY + i);
        await auditEvent('ae_old', NOW - 100 * DAY);
        const exportDir = path.join(temp.dir, 'audit-export');
        await sweepAt(store, NOW, retentionConfig({ audit: { exportDir }, retention: { batchSize: 2 } }));
        assert.deepEqual(readdirSync(exportDir).sort(), ['audit_events-2027-01-15.jsonl', 'tool_calls-2027-01-15.jsonl']);
        const lines = readFileSync(path.join(exportDir, 'tool_calls-2027-01-15.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
        assert.deepEqual(lines.map((row) => row.id), ['tc_old_0', 'tc_old_1', 'tc_old_2', 'tc_old_3', 'tc_old_4']);
        assert.equal(lines[0].tool, 'echo');
        assert.equal(statSync(path.join(exportDir, 'tool_calls-2027-01-15.jsonl')).mode & 0o777, 0o600);
        assert.deepEqual(await keysIn(store, 'tool_calls', 'id'), []);
      } finally {
        temp.remove();
      }
    });

    it('one sweeper at a time: while another holds the lease nothing is swept; once the lease has expired the sweep runs', async () => {
      await session('bs_revoked', { revokedAt: NOW - SECOND });
      assert.ok(await store.leases.tryAcquire(RETENTION_LEASE, 'other-replica', NOW, NOW + 60 * SECOND));
      const config = retentionConfig();
      assert.equal(await retentionSweeper({ store, config, clock: () => NOW }).sweep(NOW), undefined);
      assert.deepEqual(await keysIn(store, 'browser_sessions', 'token_hash'), ['bs_revoked']);
      const later = NOW + 61 * SECOND;
      assert.ok(await retentionSweeper({ store, config, clock: () => later }).sweep(later));
      assert.deepEqual(await keysIn(store, 'browser_sessions', 'token_hash'), []);
      assert.ok(await store.leases.tryAcquire(RETENTION_LEASE, 'other-replica', later, later + SECOND), 'the sweeper released the lease');
    });
  });
}
