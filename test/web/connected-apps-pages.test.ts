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

describe('upstream connections on the connected apps page', () => {
  const base = { username: 'alice', apps: [], csrfToken: 'token' };
  const connection = { id: 'ups_1', name: 'Docs <beta>', connectable: true };

  it('has no upstream section when no per-user upstream concerns the person', () => {
    assert.doesNotMatch(connectedAppsPage({ ...base, upstreams: [] }).markup, /Upstream connections/);
    assert.doesNotMatch(connectedAppsPage(base).markup, /Upstream connections/);
  });

  it('offers Connect when not connected, and no Disconnect', () => {
    const markup = connectedAppsPage({ ...base, upstreams: [{ ...connection, state: 'none' }] }).markup;
    assert.match(markup, /<h2>Upstream connections<\/h2>/);
    assert.match(markup, /<h3>Docs &lt;beta&gt;<\/h3>\n<p>Not connected\.<\/p>/);
    assert.match(markup, /<form method="post" action="\/account\/upstreams\/connect">\n<input type="hidden" name="upstream_id" value="ups_1">\n<input type="hidden" name="csrf_token" value="token">\n<button type="submit">Connect<\/button>/);
    assert.doesNotMatch(markup, /upstreams\/disconnect/);
  });

  it('shows a connected one as such, with Reconnect and Disconnect', () => {
    const markup = connectedAppsPage({ ...base, upstreams: [{ ...connection, state: 'active' }] }).markup;
    assert.match(markup, /<p><strong>Connected\.<\/strong><\/p>/);
    assert.match(markup, /<button type="submit" class="secondary">Reconnect<\/button>/);
    assert.match(markup, /action="\/account\/upstreams\/disconnect">[\s\S]*<button type="submit" class="secondary">Disconnect<\/button>/);
  });

  it('says why a connection needs reconnecting, escaped', () => {
    const markup = connectedAppsPage({ ...base, upstreams: [{ ...connection, state: 'needs_auth', reason: 'refused <grant>' }] }).markup;
    assert.match(markup, /Needs reconnecting:<\/strong> refused &lt;grant&gt;/);
    assert.match(markup, /<button type="submit">Reconnect<\/button>/);
    assert.match(markup, /Disconnect<\/button>/);
  });

  it('an upstream the person may no longer use can only be disconnected', () => {
    const markup = connectedAppsPage({ ...base, upstreams: [{ ...connection, state: 'active', connectable: false }] }).markup;
    assert.match(markup, /No longer available to you/);
    assert.doesNotMatch(markup, /upstreams\/connect"/);
    assert.match(markup, /Disconnect<\/button>/);
  });

  it('confirms a disconnection only right after one', () => {
    assert.match(connectedAppsPage({ ...base, notice: 'disconnected' }).markup, /<p class="notice" role="status">Disconnected\.<\/p>/);
  });
});
