import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OAuthMetadataSchema, OAuthProtectedResourceMetadataSchema } from '@modelcontextprotocol/sdk/shared/auth.js';
import { loadConfig } from '../../src/config.js';
import { authorizationServerMetadata, metadataPaths, protectedResourceMetadata } from '../../src/oauth/discovery-documents.js';

const configWith = (publicUrl: string) => loadConfig({ publicUrl }, {});

describe('metadata documents', () => {
  for (const publicUrl of ['https://example.com', 'https://example.com/gh', 'http://127.0.0.1:8080']) {
    it(`the issuer is the public URL byte for byte and every endpoint is built from it (${publicUrl})`, () => {
      const document = authorizationServerMetadata(configWith(publicUrl));
      assert.equal(document.issuer, publicUrl);
      assert.equal(document.authorization_endpoint, `${publicUrl}/oauth/authorize`);
      assert.equal(document.token_endpoint, `${publicUrl}/oauth/token`);
      assert.equal(document.registration_endpoint, `${publicUrl}/oauth/register`);
      assert.equal(document.revocation_endpoint, `${publicUrl}/oauth/revoke`);
      assert.equal(document.introspection_endpoint, `${publicUrl}/oauth/introspect`);
      assert.equal(document.jwks_uri, `${publicUrl}/oauth/jwks`);
      const resource = protectedResourceMetadata(configWith(publicUrl));
      assert.equal(resource.resource, `${publicUrl}/mcp`);
      assert.deepEqual(resource.authorization_servers, [publicUrl]);
    });
  }

  it('a public URL configured with a trailing slash gives an issuer without one', () => {
    const document = authorizationServerMetadata(configWith('https://example.com/gh/'));
    assert.equal(document.issuer, 'https://example.com/gh');
    assert.equal(document.token_endpoint, 'https://example.com/gh/oauth/token');
    assert.equal(protectedResourceMetadata(configWith('https://example.com/')).resource, 'https://example.com/mcp');
  });

  it('advertises S256 as the only PKCE method, iss in responses, and metadata-document client ids', () => {
    const document = authorizationServerMetadata(configWith('https://example.com'));
    assert.deepEqual(document.code_challenge_methods_supported, ['S256']);
    assert.equal(document.authorization_response_iss_parameter_supported, true);
    assert.equal(document.client_id_metadata_document_supported, true);
    assert.deepEqual(document.response_types_supported, ['code']);
    assert.deepEqual(document.grant_types_supported, ['authorization_code', 'refresh_token', 'client_credentials']);
    assert.deepEqual(document.token_endpoint_auth_methods_supported, ['none', 'client_secret_basic', 'client_secret_post']);
    assert.ok(!document.introspection_endpoint_auth_methods_supported.includes('none'), 'introspection needs a confidential client');
  });

  it('does not advertise metadata-document client ids under the closed registration policy', () => {
    const closed = loadConfig({ publicUrl: 'https://example.com', oauth: { registrationPolicy: 'closed' } }, {});
    assert.equal(authorizationServerMetadata(closed).client_id_metadata_document_supported, false);
  });

  it('advertises the JWT bearer grant (ID-JAG) only while a provider is trusted for it', () => {
    const jwtBearer = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
    assert.ok(!authorizationServerMetadata(configWith('https://example.com')).grant_types_supported.includes(jwtBearer));
    const sso = { providers: [{ id: 'okta', name: 'Okta', issuer: 'https://acme.okta.com', client_id: 'c', client_secret: 's', trust_id_jag: true }] };
    assert.ok(authorizationServerMetadata(loadConfig({ publicUrl: 'https://example.com', sso }, {})).grant_types_supported.includes(jwtBearer));
  });

  it('the protected resource metadata never lists offline_access', () => {
    assert.ok(!protectedResourceMetadata(configWith('https://example.com')).scopes_supported.includes('offline_access' as never));
  });

  it("the MCP SDK's own schemas accept both documents", () => {
    for (const publicUrl of ['https://example.com', 'https://example.com/gh']) {
      const config = configWith(publicUrl);
      assert.equal(OAuthMetadataSchema.parse(authorizationServerMetadata(config)).issuer, publicUrl);
      assert.equal(OAuthProtectedResourceMetadataSchema.parse(protectedResourceMetadata(config)).resource, `${publicUrl}/mcp`);
    }
  });

  it('a root issuer is served at the two root well-known names; a path issuer also at its path-inserted forms', () => {
    assert.deepEqual(metadataPaths(configWith('https://example.com')), {
      authorizationServer: ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'],
      protectedResource: ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp'],
      virtualServer: ['/.well-known/oauth-protected-resource/mcp/:name'],
    });
    const withPath = metadataPaths(configWith('https://example.com/gh'));
    assert.ok(withPath.authorizationServer.includes('/.well-known/oauth-authorization-server/gh'));
    assert.ok(withPath.authorizationServer.includes('/.well-known/openid-configuration/gh'));
    assert.ok(withPath.protectedResource.includes('/.well-known/oauth-protected-resource/gh/mcp'));
    assert.ok(withPath.virtualServer.includes('/.well-known/oauth-protected-resource/gh/mcp/:name'));
  });
});
