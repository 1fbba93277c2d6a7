import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { AuthorizationServer } from 'oauth4webapi';
import { clientMetadataDocument, clientMetadataDocumentUrl, obtainClient } from '../../../src/upstream/oauth/client-registration.js';
import { OAuthSetupError, type OutboundHttpOptions } from '../../../src/upstream/oauth/types.js';
import { authorizationServer, type MockAuthorizationServer } from './mock-authorization-server.js';

const http: OutboundHttpOptions = { allowPrivateNetworks: true, timeoutMs: 3000 };
const redirectUri = 'https://gatehouse.example/api/oauth/callback';
const cimdUrl = 'https://gatehouse.example/oauth/gatehouse-client.json';

describe('obtaining a client at an upstream authorization server', () => {
  const servers: MockAuthorizationServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  const serverWith = async (metadata: Record<string, unknown> = {}) => {
    const as = await authorizationServer({ metadata: { client_id_metadata_document_supported: true, ...metadata } });
    servers.push(as);
    return { as, server: as.metadata as unknown as AuthorizationServer };
  };
  const registrations = (as: MockAuthorizationServer) => as.requests.filter((request) => request.path === '/register');

  it('uses the configured client first, even where CIMD and registration are offered', async () => {
    const { as, server } = await serverWith();
    const configured = { clientId: 'admin-client', clientSecret: 'admin-secret', sendResource: true };
    const client = await obtainClient({ server, configured, metadataDocumentUrl: cimdUrl, redirectUri, http });
    assert.deepEqual(client, { clientId: 'admin-client', clientSecret: 'admin-secret', authMethod: 'client_secret_basic', source: 'configured' });
    assert.equal(registrations(as).length, 0);
  });

  it('authenticates a configured secret by Basic unless the server lists only client_secret_post; no secret is a public client', async () => {
    const { server } = await serverWith({ token_endpoint_auth_methods_supported: ['client_secret_post'] });
    const post = await obtainClient({ server, configured: { clientId: 'c', clientSecret: 's', sendResource: true }, redirectUri, http });
    assert.equal(post.authMethod, 'client_secret_post');
    const publicClient = await obtainClient({ server, configured: { clientId: 'c', sendResource: true }, redirectUri, http });
    assert.deepEqual(publicClient, { clientId: 'c', authMethod: 'none', source: 'configured' });
  });

  it('uses its Client ID Metadata Document URL as client_id when the server supports CIMD', async () => {
    const { as, server } = await serverWith();
    const client = await obtainClient({ server, metadataDocumentUrl: cimdUrl, redirectUri, http });
    assert.deepEqual(client, { clientId: cimdUrl, authMethod: 'none', source: 'metadata_document' });
    assert.equal(registrations(as).length, 0);
  });

  it('registers dynamically when CIMD is not supported or the document URL is not https with a path', async () => {
    for (const [metadata, url] of [[{ client_id_metadata_document_supported: false }, cimdUrl], [{}, 'http://gatehouse.example/client.json'], [{}, 'https://gatehouse.example/']] as const) {
      const { as, server } = await serverWith(metadata);
      const client = await obtainClient({ server, metadataDocumentUrl: url, redirectUri, http });
      assert.equal(client.source, 'dynamic', `${JSON.stringify(metadata)} ${url}`);
      assert.equal(registrations(as).length, 1);
    }
  });

  it('registers as a public web client with Gatehouse\'s name, redirect URI, grants and the scope', async () => {
    const { as, server } = await serverWith({ client_id_metadata_document_supported: false });
    const client = await obtainClient({ server, redirectUri, scope: 'files:read', http });
    assert.deepEqual(client, { clientId: 'registered-client', authMethod: 'none', source: 'dynamic' });
    const [registration] = registrations(as);
    assert.equal(registration!.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(registration!.body), {
      client_name: 'Gatehouse',
      application_type: 'web',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: 'files:read',
    });
  });

  it('registers a confidential client when the server takes no public ones, keeping the secret it issues', async () => {
    const { as, server } = await serverWith({ client_id_metadata_document_supported: false, token_endpoint_auth_methods_supported: ['client_secret_post'] });
    as.route('POST', '/register', { status: 201, json: { client_id: 'confidential', client_secret: 'issued-secret', redirect_uris: [redirectUri] } });
    const client = await obtainClient({ server, redirectUri, http });
    assert.deepEqual(client, { clientId: 'confidential', clientSecret: 'issued-secret', authMethod: 'client_secret_post', source: 'dynamic' });
    assert.equal(JSON.parse(registrations(as)[0]!.body).token_endpoint_auth_method, 'client_secret_post');
  });

  it('reports a refused registration with the endpoint and the OAuth error', async () => {
    const { as, server } = await serverWith({ client_id_metadata_document_supported: false });
    as.route('POST', '/register', { status: 400, json: { error: 'invalid_redirect_uri', error_description: 'not allowed' } });
    await assert.rejects(obtainClient({ server, redirectUri, http }), (error: unknown) => {
      assert.ok(error instanceof OAuthSetupError);
      assert.equal(error.step, 'registration');
      assert.equal(error.message, `the registration endpoint at ${as.issuer}/register refused the registration with HTTP 400: invalid_redirect_uri (not allowed)`);
      return true;
    });
  });

  it('fails when no way to register is left', async () => {
    const { server } = await serverWith({ client_id_metadata_document_supported: false, registration_endpoint: undefined });
    await assert.rejects(obtainClient({ server, metadataDocumentUrl: cimdUrl, redirectUri, http }), (error: unknown) => {
      assert.ok(error instanceof OAuthSetupError);
      assert.equal(error.step, 'registration');
      assert.match(error.message, /offers no way for Gatehouse to register.*configure a client_id/);
      return true;
    });
  });

  it('publishes its own Client ID Metadata Document at a fixed path under the public URL', () => {
    assert.equal(clientMetadataDocumentUrl('https://gatehouse.example/'), cimdUrl);
    assert.deepEqual(clientMetadataDocument('https://gatehouse.example'), {
      client_id: cimdUrl,
      client_name: 'Gatehouse',
      client_uri: 'https://gatehouse.example',
      redirect_uris: [redirectUri],
      application_type: 'web',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    });
  });
});
