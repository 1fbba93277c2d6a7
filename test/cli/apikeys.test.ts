import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { openRuntime } from '../../src/runtime.js';
import { tempDir } from '../helpers/backends.js';
import { runCli } from './run-cli.js';

interface ListedKey {
  id: string;
  name: string;
  user: string;
  revoked: boolean;
}

describe('gatehouse apikey', () => {
  const temp = tempDir();
  const dataDir = ['--data-dir', temp.dir];
  let key = '';
  after(() => temp.remove());

  before(async () => {
    const added = await runCli(['user', 'add', 'admin', '--admin', '--password-stdin', ...dataDir], { input: 'admin-Password-1' });
    assert.equal(added.code, 0, added.stderr);
  });

  async function authenticates(token: string) {
    const runtime = await openRuntime(loadConfig({ dataDir: temp.dir }, {}));
    try {
      return (await runtime.apiKeys.authenticate(token)) !== undefined;
    } finally {
      await runtime.close();
    }
  }

  it('apikey create prints a gth_ak_ key once on stdout, with a note that it will not be shown again', async () => {
    const created = await runCli(['apikey', 'create', '--name', 'ci deploy', ...dataDir]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^gth_ak_[A-Za-z0-9_-]{43}\n$/);
    assert.match(created.stderr, /will not be shown again/);
    key = created.stdout.trim();
    assert.equal(await authenticates(key), true);
  });

  it('apikey list shows the key by name and owner but never the key itself', async () => {
    const table = await runCli(['apikey', 'list', ...dataDir]);
    const json = await runCli(['apikey', 'list', '--json', ...dataDir]);
    assert.equal(table.code, 0, table.stderr);
    assert.equal(json.code, 0, json.stderr);
    for (const output of [table.stdout, json.stdout]) {
      assert.equal(output.includes(key), false);
      assert.equal(output.includes(key.slice(12)), false);
    }
    const keys = JSON.parse(json.stdout) as ListedKey[];
    assert.deepEqual(
      keys.map((k) => [k.name, k.user, k.revoked]),
      [['ci deploy', 'admin', false]],
    );
  });

  it('apikey revoke stops the key at once and list shows it revoked', async () => {
    const [listed] = JSON.parse((await runCli(['apikey', 'list', '--json', ...dataDir])).stdout) as ListedKey[];
    const revoked = await runCli(['apikey', 'revoke', listed!.id, ...dataDir]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(await authenticates(key), false);
    const [after] = JSON.parse((await runCli(['apikey', 'list', '--json', ...dataDir])).stdout) as ListedKey[];
    assert.equal(after!.revoked, true);
  });

  it('apikey revoke of an unknown id exits 2 with one line', async () => {
    const result = await runCli(['apikey', 'revoke', 'key_nope', ...dataDir]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^gatehouse: no API key with id "key_nope".*\n$/);
  });

  it('apikey create for an unknown user, or without --name, exits 2', async () => {
    const unknown = await runCli(['apikey', 'create', '--name', 'x', '--user', 'ghost', ...dataDir]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^gatehouse: no user named "ghost"/);
    const nameless = await runCli(['apikey', 'create', ...dataDir]);
    assert.equal(nameless.code, 2);
    assert.match(nameless.stderr, /^gatehouse: required option '--name <name>' not specified\n$/);
    assert.equal(unknown.stdout + nameless.stdout, '');
  });
});
