import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ToolPinRecord } from '../../../src/store/index.js';
import { backends, openTestStore } from '../../helpers/backends.js';

function pin(upstreamId: string, tool: string, patch: Partial<ToolPinRecord> = {}): ToolPinRecord {
  return { upstreamId, tool, definitionHash: 'h1', definition: '{"name":"x"}', pinnedAt: 1, pinnedBy: null, ...patch };
}

for (const backend of backends) {
  describe(`tool pin store on ${backend}`, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    beforeEach(async () => {
      store = await openTestStore(backend);
    });
    afterEach(() => store.close());

    it('lists the pins of the upstreams asked for only', async () => {
      await store.toolPins.pinIfAbsent([pin('ups_a', 'search'), pin('ups_a', 'fetch'), pin('ups_b', 'search')]);
      assert.deepEqual(await store.toolPins.list(['ups_a']), [pin('ups_a', 'fetch'), pin('ups_a', 'search')]);
      assert.deepEqual(await store.toolPins.list([]), []);
    });

    it('pinIfAbsent keeps the first pin of a tool', async () => {
      await store.toolPins.pinIfAbsent([pin('ups_a', 'search')]);
      await store.toolPins.pinIfAbsent([pin('ups_a', 'search', { definitionHash: 'h2', pinnedAt: 2 })]);
      assert.deepEqual(await store.toolPins.list(['ups_a']), [pin('ups_a', 'search')]);
    });

    it('replace pins the new definition with who approved it', async () => {
      await store.toolPins.pinIfAbsent([pin('ups_a', 'search')]);
      const approved = pin('ups_a', 'search', { definitionHash: 'h2', definition: '{"name":"y"}', pinnedAt: 5, pinnedBy: 'user_1' });
      await store.toolPins.replace(approved);
      assert.deepEqual(await store.toolPins.list(['ups_a']), [approved]);
    });

    it('noteChange answers true once per changed definition, and again after a re-pin', async () => {
      await store.toolPins.pinIfAbsent([pin('ups_a', 'search')]);
      assert.equal(await store.toolPins.noteChange('ups_a', 'search', 'h1'), false, 'the pinned definition is no change');
      assert.equal(await store.toolPins.noteChange('ups_a', 'search', 'h2'), true);
      assert.equal(await store.toolPins.noteChange('ups_a', 'search', 'h2'), false);
      assert.equal(await store.toolPins.noteChange('ups_a', 'search', 'h3'), true);
      await store.toolPins.replace(pin('ups_a', 'search', { definitionHash: 'h3' }));
      assert.equal(await store.toolPins.noteChange('ups_a', 'search', 'h2'), true);
    });

    it('deleting an upstream deletes its pins, not those of others', async () => {
      await store.upstreams.create({ id: 'ups_a', name: 'a', source: 'api', config: '{}', sealedSecrets: null, createdAt: 1, updatedAt: 1 });
      await store.toolPins.pinIfAbsent([pin('ups_a', 'search'), pin('ups_b', 'search')]);
      assert.equal(await store.upstreams.delete('ups_a'), true);
      assert.deepEqual(await store.toolPins.list(['ups_a', 'ups_b']), [pin('ups_b', 'search')]);
    });
  });
}
