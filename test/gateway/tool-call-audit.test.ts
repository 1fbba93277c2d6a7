import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { MAX_RECORDED_ARGUMENT_BYTES, REDACTED } from '../../src/gateway/argument-redaction.js';
import { MAX_RECORDED_ERROR_LENGTH, toolCallAudit, type ToolCallEntry } from '../../src/gateway/tool-call-audit.js';
import type { ToolCallRecord } from '../../src/store/gateway-types.js';
import { backends, openTestStore } from '../helpers/backends.js';

const defaults = loadConfig({ dataDir: '/tmp/unused' }, {}).audit;
const entry = (more: Partial<ToolCallEntry> = {}): ToolCallEntry => ({
  principal: { userId: 'usr_1', clientId: 'client-a' },
  upstream: { id: 'ups_1', settings: { name: 'files' } },
  tool: 'read_file',
  outcome: 'ok',
  durationMs: 12.6,
  ...more,
});

for (const backend of backends) {
  describe(`tool-call audit (${backend})`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    before(async () => {
      store = await openTestStore(backend);
    });
    after(() => store.close());

    async function recorded(callId: (records: ToolCallRecord[]) => ToolCallRecord | undefined): Promise<ToolCallRecord> {
      const found = callId(await store.toolCalls.list({ limit: 1000 }));
      assert.ok(found, 'recorded');
      return found;
    }

    it('records who called which tool of which upstream, the outcome and the rounded duration, without arguments by default', async () => {
      const audit = toolCallAudit(store.toolCalls, defaults, () => 1_700_000_000_000);
      await audit.record(entry({ tool: 'plain', args: { path: '/etc/hosts' } }));
      const call = await recorded((all) => all.find((c) => c.tool === 'plain'));
      assert.match(call.id, /^call_/);
      assert.deepEqual({ ...call, id: '' }, {
        id: '',
        at: 1_700_000_000_000 - 13,
        userId: 'usr_1',
        clientId: 'client-a',
        upstreamId: 'ups_1',
        upstreamName: 'files',
        tool: 'plain',
        outcome: 'ok',
        error: null,
        durationMs: 13,
        arguments: null,
      });
    });

    it('records a shortened error for a failed call, and a null client for an API key', async () => {
      const audit = toolCallAudit(store.toolCalls, defaults);
      await audit.record(entry({ tool: 'failing', principal: { userId: 'usr_2', clientId: null }, outcome: 'upstream_error', error: 'x'.repeat(5000) }));
      const call = await recorded((all) => all.find((c) => c.tool === 'failing'));
      assert.equal(call.outcome, 'upstream_error');
      assert.equal(call.clientId, null);
      assert.equal(call.error!.length, MAX_RECORDED_ERROR_LENGTH);
      assert.ok(call.error!.startsWith('xxxx'));
    });

    it('with argument recording on, keeps the arguments as JSON with sensitive values redacted', async () => {
      const audit = toolCallAudit(store.toolCalls, { ...defaults, recordArguments: true });
      await audit.record(entry({ tool: 'with_args', args: { path: '/tmp/a', auth: { Password: 'hunter2', user: 'bob' } } }));
      const call = await recorded((all) => all.find((c) => c.tool === 'with_args'));
      assert.deepEqual(JSON.parse(call.arguments!), { path: '/tmp/a', auth: { Password: REDACTED, user: 'bob' } });
      assert.doesNotMatch(call.arguments!, /hunter2/);
    });

    it('with argument recording on, caps huge arguments and marks them truncated', async () => {
      const audit = toolCallAudit(store.toolCalls, { ...defaults, recordArguments: true });
      await audit.record(entry({ tool: 'huge', args: { blob: 'a'.repeat(100_000), token: 'never-stored' } }));
      const call = await recorded((all) => all.find((c) => c.tool === 'huge'));
      assert.ok(Buffer.byteLength(call.arguments!, 'utf8') <= MAX_RECORDED_ARGUMENT_BYTES);
      assert.equal((JSON.parse(call.arguments!) as { truncated: boolean }).truncated, true);
      assert.doesNotMatch(call.arguments!, /never-stored/);
    });

    it('lets a store failure reach the caller', async () => {
      const failing = { append: () => Promise.reject(new Error('disk full')), appendMany: () => Promise.reject(new Error('disk full')), list: () => Promise.resolve([]) };
      await assert.rejects(toolCallAudit(failing, defaults).record(entry()), /disk full/);
    });
  });
}
