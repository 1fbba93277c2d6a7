import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { tempDir } from './helpers/backends.js';

const temp = tempDir('gatehouse-config-sso-');
after(() => temp.remove());

const provider = { id: 'okta', name: 'Okta', issuer: 'https://acme.okta.com', client_id: 'cid', client_secret: 'sec' };

function refusal(load: () => unknown): string {
  try {
    load();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail('the config was accepted');
}

describe('company sign-in settings', () => {
  it('default to no providers and password sign-in on', () => {
    assert.deepEqual(loadConfig({}, {}).sso, { providers: [], password_login: true });
  });

  it('trust no provider for ID-JAG unless told, in the file or by GATEHOUSE_SSO_TRUST_ID_JAG', () => {
    assert.equal(loadConfig({ sso: { providers: [provider] } }, {}).sso.providers[0]!.trust_id_jag, false);
    assert.equal(loadConfig({ sso: { providers: [{ ...provider, trust_id_jag: true }] } }, {}).sso.providers[0]!.trust_id_jag, true);
    const env = { GATEHOUSE_SSO_ISSUER: 'https://acme.okta.com', GATEHOUSE_SSO_CLIENT_ID: 'cid', GATEHOUSE_SSO_CLIENT_SECRET: 'sec', GATEHOUSE_SSO_TRUST_ID_JAG: 'true' };
    assert.equal(loadConfig({}, env).sso.providers[0]!.trust_id_jag, true);
  });

  it('fill in scopes and the groups claim of a provider', () => {
    const [okta] = loadConfig({ sso: { providers: [provider] } }, {}).sso.providers;
    assert.deepEqual([okta!.scopes, okta!.groups_claim, okta!.admin_groups, okta!.allowed_groups], [['openid', 'profile', 'email'], 'groups', [], undefined]);
  });

  it('one provider comes from the environment twins, lists comma- or space-separated, replacing the file\u2019s', () => {
    const file = path.join(temp.dir, 'sso.json');
    writeFileSync(file, JSON.stringify({ sso: { providers: [provider] } }));
    const sso = loadConfig({ config: file }, {
      GATEHOUSE_SSO_ISSUER: 'https://login.microsoftonline.com/tid/v2.0',
      GATEHOUSE_SSO_CLIENT_ID: 'app',
      GATEHOUSE_SSO_CLIENT_SECRET: 'secret',
      GATEHOUSE_SSO_SCOPES: 'openid profile email',
      GATEHOUSE_SSO_ADMIN_GROUPS: 'admins, ops',
      GATEHOUSE_SSO_PASSWORD_LOGIN: 'false',
    }).sso;
    assert.equal(sso.password_login, false);
    assert.equal(sso.providers.length, 1);
    const [entra] = sso.providers;
    assert.deepEqual([entra!.id, entra!.name, entra!.client_id, entra!.admin_groups, entra!.scopes], ['sso', 'Company sign-in', 'app', ['admins', 'ops'], ['openid', 'profile', 'email']]);
  });

  it('refuse an http issuer, unless it is loopback and private networks are allowed', () => {
    const http = { ...provider, issuer: 'http://idp.internal' };
    assert.match(refusal(() => loadConfig({ sso: { providers: [http] } }, {})), /sso\.providers\.0\.issuer.*not https/);
    assert.match(refusal(() => loadConfig({ allowPrivateNetworks: true, sso: { providers: [http] } }, {})), /not https/);
    const loopback = { ...provider, issuer: 'http://127.0.0.1:9000' };
    assert.match(refusal(() => loadConfig({ sso: { providers: [loopback] } }, {})), /not https/);
    assert.equal(loadConfig({ allowPrivateNetworks: true, sso: { providers: [loopback] } }, {}).sso.providers[0]!.issuer, 'http://127.0.0.1:9000');
  });

  it('refuse turning password sign-in off without a provider', () => {
    assert.match(refusal(() => loadConfig({}, { GATEHOUSE_SSO_PASSWORD_LOGIN: 'false' })), /sso\.password_login.*no sso\.providers/);
  });

  it('refuse duplicate ids, ids unfit for a URL, scopes without openid, and unknown keys', () => {
    assert.match(refusal(() => loadConfig({ sso: { providers: [provider, provider] } }, {})), /unique/);
    assert.match(refusal(() => loadConfig({ sso: { providers: [{ ...provider, id: 'Okta/1' }] } }, {})), /lowercase/);
    assert.match(refusal(() => loadConfig({ sso: { providers: [{ ...provider, scopes: ['profile'] }] } }, {})), /openid/);
    assert.match(refusal(() => loadConfig({ sso: { providers: [{ ...provider, group_claim: 'x' }] } }, {})), /group_claim/);
  });
});
