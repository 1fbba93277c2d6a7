import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectedAppsPage } from '../../src/web/connected-apps-pages.js';

describe('connected apps page markup', () => {
  it('says so when no application has access, and offers no revoke form', () => {
    const markup = connectedAppsPage({ username: 'alice', apps: [], csrfToken: 'token' }).markup;
    assert.match(markup, /No application has access to your account\./);
    assert.doesNotMatch(markup, /<form/);
  });

  it('confirms a revocation only right after one', () => {
    const input = { username: 'alice', apps: [], csrfToken: 'token' };
    assert.match(connectedAppsPage({ ...input, notice: 'revoked' }).markup, /<p class="notice" role="status">Access revoked\.<\/p>/);
    assert.doesNotMatch(connectedAppsPage(input).markup, /Access revoked/);
  });

  it('shows an unknown scope as it is, escaped', () => {
    const markup = connectedAppsPage({
      username: 'alice',
      csrfToken: 'token',
      apps: [{ name: 'App', grants: [{ id: 'grt_1', scopes: ['<other>'], authorizedAt: 0, lastUsedAt: null }] }],
    }).markup;
    assert.match(markup, /<li>&lt;other&gt;<\/li>/);
  });
});
