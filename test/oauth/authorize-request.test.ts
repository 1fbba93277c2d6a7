import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authorizationResponseUrl, validateAuthorizationRequest, type AuthorizationRequestDeps } from '../../src/oauth/authorization-request.js';
import { OAuthError } from '../../src/oauth/errors.js';
import { redirectUriMatches } from '../../src/oauth/redirect-uris.js';

const deps = (clients: AuthorizationRequestDeps['clients']): AuthorizationRequestDeps => ({
  clients,
  publicUrl: 'https://gw.example',
  registrationPolicy: 'open',
  strictScope: 'mcp:read mcp:write',
  redirectUriMatches,
  virtualServerExists: async (name) => name === 'support',
});

describe('authorization request validation', () => {
  it('a metadata-document client that fails to resolve is an error page with its reason, never a redirect', async () => {
    const failing = { find: async () => Promise.reject(new OAuthError('invalid_client', 'the client metadata document could not be fetched')) };
    const outcome = await validateAuthorizationRequest(
      { client_id: 'https://client.example/meta.json', redirect_uri: 'https://client.example/cb', response_type: 'code' },
      deps(failing),
      { ip: '198.51.100.1' },
    );
    assert.equal(outcome.kind, 'page');
    assert.equal(outcome.kind === 'page' && outcome.error.description, 'the client metadata document could not be fetched');
  });

  it('an unexpected failure while loading the client is not turned into an OAuth error', async () => {
    const broken = { find: async () => Promise.reject(new Error('database down')) };
    await assert.rejects(validateAuthorizationRequest({ client_id: 'cli_1' }, deps(broken), { ip: '198.51.100.1' }), /database down/);
  });

  it('response parameters are appended after ?, & or an existing query, keeping its bytes', () => {
    assert.equal(authorizationResponseUrl('https://a.example/cb', { code: 'c', state: null, iss: 'https://gw.example' }), 'https://a.example/cb?code=c&iss=https%3A%2F%2Fgw.example');
    assert.equal(authorizationResponseUrl('https://a.example/cb?', { code: 'c' }), 'https://a.example/cb?code=c');
    assert.equal(authorizationResponseUrl('https://a.example/cb?x=a%20b', { code: 'c' }), 'https://a.example/cb?x=a%20b&code=c');
    assert.equal(authorizationResponseUrl('cursor://anysphere.cursor-mcp/oauth/callback', { state: 'a b&c' }), 'cursor://anysphere.cursor-mcp/oauth/callback?state=a+b%26c');
  });
});
