import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { auditLog } from '../../src/audit/audit-log.js';
import { keyedHasher } from '../../src/crypto/keyed-hash.js';
import { approvalRequired, callApprovals, type CallApprovals, type HeldCall } from '../../src/gateway/call-approvals.js';
import type { Upstream } from '../../src/upstream/types.js';
import { backends, createTestUsers, openTestStore } from '../helpers/backends.js';

const tool = (annotations?: Tool['annotations']): Tool => ({ name: 'drop', inputSchema: { type: 'object' }, ...(annotations ? { annotations } : {}) });

describe('which calls need approval', () => {
  it('never and always mean what they say, whatever the annotations', () => {
    assert.equal(approvalRequired({ require_approval: 'never' }, 'drop', tool({ destructiveHint: true })), false);
    assert.equal(approvalRequired({}, 'drop', tool()), false, 'absent is never');
    assert.equal(approvalRequired({ require_approval: 'always' }, 'drop', tool({ readOnlyHint: true })), true);
  });
  it('destructive: held unless the tool says readOnlyHint: true, and always when it says destructiveHint: true', () => {
    const destructive = { require_approval: 'destructive' } as const;
    assert.equal(approvalRequired(destructive, 'drop', tool({ readOnlyHint: true })), false);
    assert.equal(approvalRequired(destructive, 'drop', tool()), true, 'no annotations: may be destructive');
    assert.equal(approvalRequired(destructive, 'drop', tool({ destructiveHint: false })), true, 'not read-only');
    assert.equal(approvalRequired(destructive, 'drop', tool({ readOnlyHint: true, destructiveHint: true })), true);
    assert.equal(approvalRequired(destructive, 'drop', undefined), true, 'an unlisted tool is not known to be read-only');
  });
  it('a per-tool setting overrides the upstream\'s', () => {
    assert.equal(approvalRequired({ require_approval: 'never', tool_require_approval: { drop: 'always' } }, 'drop', tool()), true);
    assert.equal(approvalRequired({ require_approval: 'always', tool_require_approval: { drop: 'never' } }, 'drop', tool()), false);
    assert.equal(approvalRequired({ require_approval: 'always', tool_require_approval: { other: 'never' } }, 'drop', tool()), true);
  });
});

for (const backend of backends) {
  describe(`call approvals in the store on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    let approvals: CallApprovals;
    let clock: number;
    const upstream = { id: 'ups_1', settings: { name: 'tickets' } } as Upstream;
    const call = (args: Record<string, unknown>, userId = 'usr_1'): HeldCall => ({ userId, upstream, tool: 'drop', exposedName: 'tickets_drop', args });

    beforeEach(async () => {
      store = await openTestStore(backend);
      await createTestUsers(store, [['usr_1', 'carol'], ['usr_2', 'dave']]);
      clock = 1_000_000;
      approvals = callApprovals({
        store: store.callApprovals,
        audit: auditLog(store.audit, () => clock),
        hasher: keyedHasher([{ version: 1, key: Buffer.alloc(32, 7) }]),
        config: { publicUrl: 'https://gate.example', approvals: { ttlSeconds: 600 }, audit: { redactKeys: ['password'] } as never },
        now: () => clock,
      });
    });
    afterEach(() => store.close());

    async function ask(held: HeldCall) {
      const gate = await approvals.gate(held);
      assert.equal(gate.kind, 'ask');
      return (gate as Extract<typeof gate, { kind: 'ask' }>).approval;
    }

    it('asks once per call: a retry before the decision gets the same approval; the page shows redacted arguments', async () => {
      const first = await ask(call({ table: 'users', password: 'hunter2' }));
      const again = await ask(call({ password: 'hunter2', table: 'users' }));
      assert.equal(again.id, first.id, 'the same arguments in another key order are the same call');
      assert.deepEqual(JSON.parse(first.arguments), { table: 'users', password: '[redacted]' });
      assert.doesNotMatch(first.argumentsHash, /hunter2/);
      assert.equal(approvals.link(first.id), `https://gate.example/approve/${first.id}`);
      assert.equal(first.expiresAt, clock + 600_000);
    });

    it('an approval lets exactly that call through once; other arguments are asked anew', async () => {
      const approval = await ask(call({ table: 'users' }));
      clock += 500_000;
      assert.equal(await approvals.decide(approval.id, 'usr_1', true, null), 'approved');
      assert.equal((await store.callApprovals.find(approval.id))!.expiresAt, clock + 600_000, 'good for a full period from the decision');
      assert.equal(await approvals.decide(approval.id, 'usr_1', false, null), 'already_decided');
      clock += 300_000;
      assert.notEqual((await ask(call({ table: 'orders' }))).id, approval.id);
      assert.deepEqual(await approvals.gate(call({ table: 'users' })), { kind: 'approved' });
      assert.notEqual((await ask(call({ table: 'users' }))).id, approval.id, 'spent');
    });

    it('only its person may decide; another user\'s approval does not open the call for them', async () => {
      const approval = await ask(call({ table: 'users' }));
      assert.equal(await approvals.decide(approval.id, 'usr_2', true, null), 'other_user');
      assert.equal(await approvals.decide('apr_nope', 'usr_1', true, null), 'unknown');
      assert.equal(await approvals.decide(approval.id, 'usr_1', true, null), 'approved');
      assert.equal((await approvals.gate(call({ table: 'users' }, 'usr_2'))).kind, 'ask');
    });

    it('a denial is answered once, then the call is asked anew; every decision is audited', async () => {
      const approval = await ask(call({}));
      assert.equal(await approvals.decide(approval.id, 'usr_1', false, '203.0.113.9'), 'denied');
      assert.deepEqual(await approvals.gate(call({})), { kind: 'denied' });
      assert.equal((await approvals.gate(call({}))).kind, 'ask');
      const kinds = (await store.audit.list({ limit: 10 })).map((event) => event.kind).sort();
      assert.deepEqual(kinds, ['call.approval_requested', 'call.approval_requested', 'call.denied']);
    });

    it('expiry: not decidable after its time, the retry answers expired once (audited), then asks anew', async () => {
      const approval = await ask(call({}));
      clock += 600_000;
      assert.equal(await approvals.decide(approval.id, 'usr_1', true, null), 'expired');
      assert.deepEqual(await approvals.gate(call({})), { kind: 'expired' });
      assert.ok((await store.audit.list({ kind: 'call.approval_expired', limit: 10 })).length === 1);
      assert.equal((await approvals.gate(call({}))).kind, 'ask');
    });

    it('two replicas racing to spend one approval: exactly one forwards', async () => {
      const approval = await ask(call({ n: 1 }));
      await approvals.decide(approval.id, 'usr_1', true, null);
      const gates = await Promise.all([approvals.gate(call({ n: 1 })), approvals.gate(call({ n: 1 }))]);
      assert.equal(gates.filter((gate) => gate.kind === 'approved').length, 1);
    });
  });
}
