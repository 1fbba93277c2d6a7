import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ConfigError } from '../../src/config.js';
import { openSecrets } from '../../src/upstream/settings.js';
import { parseConfigUpstreams, syncConfigUpstreams } from '../../src/upstream/upstream-service.js';
import { openTestStore } from '../helpers/backends.js';

const web = { name: 'web', connection_type: 'http', connection_string: 'https://mcp.example.com/mcp', auth_type: 'headers', headers: { 'X-Key': 'k1' } };
const local = { name: 'local', connection_type: 'stdio', stdio_config: { command: 'srv' } };

describe('config-file upstreams', () => {
  it('a bad entry stops the start with a ConfigError naming upstreams[i].field', () => {
    const cases: [Record<string, unknown>[], string][] = [
      [[web, { name: 'x', connection_type: 'http' }], 'upstreams[1].connection_string'],
      [[{ ...local, auth_type: 'oauth' }], 'upstreams[0].auth_type'],
      [[{ ...web, auth_type: 'oauth' }], 'upstreams[0].headers'],
      [[{ ...web, colour: 'blue' }], 'upstreams[0].colour'],
      [[web, { ...local, name: 'web' }], 'upstreams[1].name'],
    ];
    for (const [entries, setting] of cases) {
      assert.throws(() => parseConfigUpstreams(entries), (error: unknown) => error instanceof ConfigError && error.setting === setting, setting);
    }
  });

  describe('sync into the store', () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    const key = randomBytes(32);
    beforeEach(async () => {
      store = await openTestStore('sqlite');
    });
    afterEach(() => store.close());

    it('creates them as source config, updates them by name keeping the id, and deletes the ones no longer declared', async () => {
      await syncConfigUpstreams(store.upstreams, key, [web, local], 1);
      const first = await store.upstreams.findByName('web');
      assert.equal(first?.source, 'config');
      assert.deepEqual(openSecrets(key, first!.id, first!.sealedSecrets), { headers: { 'X-Key': 'k1' } });

      await syncConfigUpstreams(store.upstreams, key, [{ ...web, headers: { 'X-Key': 'k2' }, timeout_ms: 5000 }], 2);
      const second = await store.upstreams.findByName('web');
      assert.equal(second?.id, first!.id);
      assert.equal(JSON.parse(second!.config).timeout_ms, 5000);
      assert.deepEqual(openSecrets(key, second!.id, second!.sealedSecrets), { headers: { 'X-Key': 'k2' } });
      assert.equal(await store.upstreams.findByName('local'), undefined);
    });

    it('leaves API-made upstreams alone, and refuses a config entry that takes an API upstream’s name', async () => {
      await store.upstreams.create({ id: 'ups_api', name: 'mine', source: 'api', config: '{}', sealedSecrets: null, createdAt: 1, updatedAt: 1 });
      await syncConfigUpstreams(store.upstreams, key, [web], 1);
      assert.ok(await store.upstreams.find('ups_api'));
      await assert.rejects(syncConfigUpstreams(store.upstreams, key, [{ ...web, name: 'mine' }], 2), (error: unknown) => error instanceof ConfigError && error.setting === 'upstreams[0].name');
    });
  });
});
