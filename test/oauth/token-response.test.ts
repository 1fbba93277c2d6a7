import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { issueToken } from '../../src/crypto/random.js';
import { tokenResponseJson } from '../../src/oauth/token-response.js';

describe('token response JSON', () => {
  const accessToken = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c3JfMSJ9.c2lnbmF0dXJlLXBhcnQ_-';
  const refreshToken = issueToken('refreshToken', Date.now());

  it('is JSON.stringify of the RFC 6749 §5.1 members in their order, a scope that needs escaping too', () => {
    for (const scope of ['mcp:read mcp:write', 'odd "scope" \\ ü \u2028']) {
      const json = tokenResponseJson(accessToken, 600, scope, refreshToken);
      assert.equal(json, JSON.stringify({ access_token: accessToken, token_type: 'Bearer', expires_in: 600, scope, refresh_token: refreshToken }));
      assert.equal(JSON.parse(json).scope, scope);
    }
  });

  it('has no refresh_token member without a refresh token', () => {
    assert.equal(tokenResponseJson(accessToken, 600, 'mcp:read', undefined), JSON.stringify({ access_token: accessToken, token_type: 'Bearer', expires_in: 600, scope: 'mcp:read' }));
  });
});
