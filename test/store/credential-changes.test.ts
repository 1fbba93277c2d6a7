import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CREDENTIALS_CHANNEL, type CredentialChange } from '../../src/store/index.js';
import { openTestStore } from '../helpers/backends.js';

/** Every write that can end or change a credential is announced, to this process at once and on the channel. */
describe('credential changes announced by the stores', () => {
  let store: Awaited<ReturnType<typeof openTestStore>>;
  const local: string[] = [];
  const published: string[] = [];

  before(async () => {
    store = await openTestStore('sqlite');
    store.credentialChanges.subscribe((change) => local.push(change.table));
    store.notifications.subscribe(CREDENTIALS_CHANNEL, (payload) => published.push((payload as CredentialChange).table));
  });
  after(() => store.close());

  const announced = async (write: () => Promise<unknown>): Promise<string[]> => {
    local.length = 0;
    published.length = 0;
    await write();
    const heardAtOnce = [...local];
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(published, heardAtOnce, 'the same change also goes out on the channel');
    return heardAtOnce;
  };

  it('revoking an API key or a grant, disabling, regrouping, promoting or deleting a user, updating or deleting a client, rotating or deleting a service account', async () => {
    assert.deepEqual(await announced(() => store.apiKeys.revoke('key_none', 1)), ['api_keys']);
    assert.deepEqual(await announced(() => store.grants.revoke('grt_none', 'test', 1)), ['oauth_grants']);
    assert.deepEqual(await announced(() => store.grants.revokeForClient('cli_none', 'test', 1)), ['oauth_grants']);
    assert.deepEqual(await announced(() => store.users.setDisabled('usr_none', 1, 1)), ['users']);
    assert.deepEqual(await announced(() => store.users.updateIdentityProviderFacts('usr_none', { groups: [], isAdmin: false }, 1)), ['users']);
    assert.deepEqual(await announced(() => store.users.setAdmin('usr_none', true, 1)), ['users']);
    assert.deepEqual(await announced(() => store.users.delete('usr_none')), ['users']);
    assert.deepEqual(await announced(() => store.clients.update('cli_none', { metadata: '{}', authMethod: 'none', updatedAt: 1 })), ['oauth_clients']);
    assert.deepEqual(await announced(() => store.clients.delete('cli_none')), ['oauth_clients']);
    assert.deepEqual(await announced(() => store.serviceAccounts.setSecretHash('cli_none', 'hash', 1)), ['service_accounts']);
    const account = { id: 'sa_none', name: 'none', userId: 'usr_none', clientId: 'cli_none', scopes: [], createdAt: 1 };
    assert.deepEqual(await announced(() => store.serviceAccounts.delete(account)), ['service_accounts']);
  });

  it('a write that changes no credential announces nothing', async () => {
    assert.deepEqual(await announced(() => store.apiKeys.touch('key_none', 1)), []);
    assert.deepEqual(await announced(() => store.grants.touch('grt_none', 1)), []);
  });
});
