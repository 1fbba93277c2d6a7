import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OAuthError } from '../../src/oauth/errors.js';
import { normaliseClientMetadata, REGISTRATION_PROFILES, type RegistrationPolicy } from '../../src/oauth/registration.js';

const open: RegistrationPolicy = { strict: false, allowedSchemes: ['cursor', 'vscode'], strictScope: 'mcp:read mcp:write' };
const strict: RegistrationPolicy = { strict: true, allowedSchemes: ['cursor', 'vscode'], strictScope: 'mcp:read mcp:write' };
const redirect_uris = ['https://app.example.com/cb'];

function refusal(body: unknown, policy = open): OAuthError {
  try {
    normaliseClientMetadata(body, policy);
  } catch (error) {
    assert.ok(error instanceof OAuthError, String(error));
    return error;
  }
  assert.fail('accepted');
}

describe('registration metadata', () => {
  it('makes a public client with both supported grants, the code response type and the default scope by default', () => {
    assert.deepEqual(normaliseClientMetadata({ redirect_uris }, open), {
      redirect_uris,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      scope: 'mcp:read mcp:write',
    });
  });

  it('keeps the RFC 7591 fields it knows and drops unknown ones, nulls and empty strings', () => {
    const metadata = normaliseClientMetadata(
      {
        redirect_uris,
        client_name: 'Claude Code',
        client_uri: 'https://claude.ai',
        logo_uri: 'https://claude.ai/logo.png',
        tos_uri: 'https://claude.ai/tos',
        policy_uri: 'http://claude.ai/policy',
        contacts: ['ops@example.com'],
        software_id: 'claude-code',
        software_version: '2.1.0',
        application_type: 'native',
        jwks_uri: 'https://evil.example/jwks',
        'client_name#fr': 'Claude',
        extra: { nested: true },
        client_secret_expires_at: null,
        tos_uri_extra: '',
        software_statement: '',
      },
      open,
    );
    assert.deepEqual(Object.keys(metadata).sort(), [
      'application_type', 'client_name', 'client_uri', 'contacts', 'grant_types', 'logo_uri', 'policy_uri', 'redirect_uris',
      'response_types', 'scope', 'software_id', 'software_version', 'token_endpoint_auth_method', 'tos_uri',
    ]);
    assert.equal(metadata.client_name, 'Claude Code');
    assert.equal(metadata.application_type, 'native');
  });

  it('treats null optional fields as absent', () => {
    const metadata = normaliseClientMetadata({ redirect_uris, logo_uri: null, client_name: null, scope: null }, open);
    assert.equal('logo_uri' in metadata, false);
    assert.equal('client_name' in metadata, false);
  });

  it('filters grant and response types to the supported ones, keeping the client order', () => {
    const metadata = normaliseClientMetadata(
      { redirect_uris, grant_types: ['refresh_token', 'client_credentials', 'authorization_code', 'implicit'], response_types: ['code', 'token'] },
      open,
    );
    assert.deepEqual(metadata.grant_types, ['refresh_token', 'authorization_code']);
    assert.deepEqual(metadata.response_types, ['code']);
    assert.deepEqual(normaliseClientMetadata({ redirect_uris, grant_types: ['authorization_code'] }, open).grant_types, ['authorization_code']);
  });

  it('refuses grant types without authorization_code and response types without code', () => {
    const grants = refusal({ redirect_uris, grant_types: ['client_credentials', 'refresh_token'] });
    assert.equal(grants.error, 'invalid_client_metadata');
    assert.match(grants.description, /grant_types must include authorization_code/);
    const responses = refusal({ redirect_uris, response_types: ['token'] });
    assert.equal(responses.error, 'invalid_client_metadata');
    assert.match(responses.description, /response_types must include code/);
  });

  it('filters the scope to the supported scopes and states the default when none remain', () => {
    assert.equal(normaliseClientMetadata({ redirect_uris, scope: 'offline_access mcp:read openid' }, open).scope, 'mcp:read');
    assert.equal(normaliseClientMetadata({ redirect_uris, scope: 'offline_access openid' }, open).scope, 'mcp:read mcp:write');
  });

  it('accepts confidential clients asking for client_secret_basic or client_secret_post', () => {
    for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
      assert.equal(normaliseClientMetadata({ redirect_uris, token_endpoint_auth_method: method }, open).token_endpoint_auth_method, method);
    }
  });

  it('refuses authentication methods it does not support', () => {
    const error = refusal({ redirect_uris, token_endpoint_auth_method: 'private_key_jwt' });
    assert.equal(error.error, 'invalid_client_metadata');
    assert.match(error.description, /token_endpoint_auth_method/);
  });

  it('refuses non-http(s) URLs in the informational URI fields', () => {
    for (const field of ['client_uri', 'logo_uri', 'tos_uri', 'policy_uri']) {
      const error = refusal({ redirect_uris, [field]: 'javascript:alert(1)' });
      assert.equal(error.error, 'invalid_client_metadata', field);
      assert.match(error.description, new RegExp(field));
    }
  });

  it('refuses fields of the wrong type or size as invalid_client_metadata naming the field', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ client_name: 42 }, /client_name/],
      [{ client_name: 'x'.repeat(201) }, /client_name/],
      [{ contacts: 'ops@example.com' }, /contacts/],
      [{ application_type: 'browser' }, /application_type/],
      [{ grant_types: 'authorization_code' }, /grant_types/],
    ];
    for (const [fields, field] of cases) {
      const error = refusal({ redirect_uris, ...fields });
      assert.equal(error.error, 'invalid_client_metadata', JSON.stringify(fields));
      assert.match(error.description, field);
    }
  });

  it('answers invalid_redirect_uri when redirect_uris is missing, not a list, or holds a refused URI', () => {
    for (const body of [{}, { redirect_uris: 'https://app.example.com/cb' }, { redirect_uris: [1] }, { redirect_uris: ['http://evil.example/cb'] }]) {
      assert.equal(refusal(body).error, 'invalid_redirect_uri', JSON.stringify(body));
    }
    assert.match(refusal({}).description, /redirect_uris .* is required/);
  });

  it('answers invalid_client_metadata for a body that is not an object', () => {
    for (const body of [null, [], 'text', 42]) assert.equal(refusal(body).error, 'invalid_client_metadata', JSON.stringify(body));
  });
});

describe('registration metadata under the strict policy', () => {
  it('refuses a client asking for a secret', () => {
    const error = refusal({ redirect_uris, token_endpoint_auth_method: 'client_secret_post' }, strict);
    assert.equal(error.error, 'invalid_client_metadata');
    assert.match(error.description, /public clients only/);
  });

  it('forces the scope to the configured one (by default every supported scope)', () => {
    assert.equal(normaliseClientMetadata({ redirect_uris, scope: 'mcp:read' }, strict).scope, 'mcp:read mcp:write');
    assert.equal(normaliseClientMetadata({ redirect_uris }, strict).scope, 'mcp:read mcp:write');
    assert.equal(normaliseClientMetadata({ redirect_uris, scope: 'mcp:read' }, { ...strict, strictScope: 'mcp' }).scope, 'mcp');
  });

  it('applies the strict redirect URI rules', () => {
    assert.match(refusal({ redirect_uris: ['http://localhost:54321/callback'] }, strict).description, /localhost/);
  });

  it('takes 1 to 5 redirect URIs: a sixth is invalid_redirect_uri', () => {
    const uris = (n: number) => Array.from({ length: n }, (_, i) => `https://app.example.com/cb${i}`);
    assert.equal(normaliseClientMetadata({ redirect_uris: uris(5) }, strict).redirect_uris.length, 5);
    const six = refusal({ redirect_uris: uris(6) }, strict);
    assert.equal(six.error, 'invalid_redirect_uri');
    assert.match(six.description, /at most 5/);
    assert.equal(refusal({ redirect_uris: [] }, strict).error, 'invalid_redirect_uri');
    assert.equal(normaliseClientMetadata({ redirect_uris: uris(6) }, open).redirect_uris.length, 6, 'the open policy keeps its cap of 10');
  });
});

describe('registration profiles of the endpoints', () => {
  it('publicOnly (/api/oauth/per-user/register) makes a public client even when a secret is asked for', () => {
    for (const method of ['client_secret_basic', 'client_secret_post', 'none', undefined]) {
      const metadata = normaliseClientMetadata({ redirect_uris, token_endpoint_auth_method: method }, open, REGISTRATION_PROFILES.publicOnly);
      assert.equal(metadata.token_endpoint_auth_method, 'none', String(method));
    }
  });

  it('confidential (/v1/provider-mcp/oauth/register) defaults to client_secret_basic, allows client_secret_post, refuses none', () => {
    const confidential = (fields: Record<string, unknown>) => normaliseClientMetadata({ redirect_uris, client_name: 'Agent', ...fields }, open, REGISTRATION_PROFILES.confidential);
    assert.equal(confidential({}).token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(confidential({ token_endpoint_auth_method: 'client_secret_post' }).token_endpoint_auth_method, 'client_secret_post');
    assert.throws(() => confidential({ token_endpoint_auth_method: 'none' }), (error: unknown) => error instanceof OAuthError && error.error === 'invalid_client_metadata');
  });

  it('confidential requires client_name', () => {
    assert.throws(
      () => normaliseClientMetadata({ redirect_uris }, open, REGISTRATION_PROFILES.confidential),
      (error: unknown) => error instanceof OAuthError && error.error === 'invalid_client_metadata' && /client_name is required/.test(error.description),
    );
  });
});
