import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ZodError } from 'zod';
import { DecryptionError } from '../../src/crypto/aead.js';
import { openSecrets, sealSecrets, settingsFromInput, upstreamInput } from '../../src/upstream/settings.js';

const http = { name: 'web', connection_type: 'http', connection_string: 'https://mcp.example.com/mcp' };

/** The field the first refusal names, and its message. */
function refusal(body: unknown): { field: string; message: string } {
  try {
    settingsFromInput(upstreamInput.parse(body));
  } catch (error) {
    assert.ok(error instanceof ZodError, String(error));
    const issue = error.issues[0]!;
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, ...issue.keys] : issue.path;
    return { field: path.join('.'), message: issue.message };
  }
  assert.fail(`accepted ${JSON.stringify(body)}`);
}

describe('upstream settings', () => {
  it('fills in the defaults: auth none, every tool, 30 s timeout, pinning enforced, new tools pinned, no approval asked', () => {
    const { settings, secrets } = settingsFromInput(upstreamInput.parse(http));
    assert.deepEqual(settings, {
      ...http,
      auth_type: 'none',
      tools_to_execute: ['*'],
      tools_to_skip: [],
      tool_name_prefix: true,
      timeout_ms: 30_000,
      tool_pinning: 'enforce',
      new_tools: 'auto',
      require_approval: 'never',
    });
    assert.deepEqual(secrets, {});
  });

  it('keeps tool_name_prefix: false, and refuses a tool_name_prefix that is not a boolean', () => {
    assert.equal(settingsFromInput(upstreamInput.parse({ ...http, tool_name_prefix: false })).settings.tool_name_prefix, false);
    assert.equal(refusal({ ...http, tool_name_prefix: 'no' }).field, 'tool_name_prefix');
  });

  it('keeps the governance settings: pinning mode, new tools, rate limits', () => {
    const governed = { tool_pinning: 'warn', new_tools: 'approve', rate_limit: { calls: 100, per_seconds: 60 }, tool_rate_limits: { search: { calls: 5, per_seconds: 1 } } };
    const { settings } = settingsFromInput(upstreamInput.parse({ ...http, ...governed }));
    assert.deepEqual({ tool_pinning: settings.tool_pinning, new_tools: settings.new_tools, rate_limit: settings.rate_limit, tool_rate_limits: settings.tool_rate_limits }, governed);
  });

  const refusals: [string, Record<string, unknown>, string][] = [
    ['an unknown pinning mode', { ...http, tool_pinning: 'strict' }, 'tool_pinning'],
    ['a rate limit of zero calls', { ...http, rate_limit: { calls: 0, per_seconds: 60 } }, 'rate_limit.calls'],
    ['a rate window longer than a day', { ...http, tool_rate_limits: { search: { calls: 1, per_seconds: 86_401 } } }, 'tool_rate_limits.search.per_seconds'],
    ['a name with capitals', { ...http, name: 'Web' }, 'name'],
    ['a name longer than 24 characters', { ...http, name: 'a'.repeat(25) }, 'name'],
    ['an unknown connection type', { ...http, connection_type: 'websocket' }, 'connection_type'],
    ['an http upstream without a URL', { name: 'web', connection_type: 'http' }, 'connection_string'],
    ['a URL that is not http(s)', { ...http, connection_string: 'file:///etc/passwd' }, 'connection_string'],
    ['a stdio upstream without stdio_config', { name: 'local', connection_type: 'stdio' }, 'stdio_config'],
    ['stdio_config on an http upstream', { ...http, stdio_config: { command: 'x' } }, 'stdio_config'],
    ['headers auth without headers', { ...http, auth_type: 'headers' }, 'headers'],
    ['headers auth with no header', { ...http, auth_type: 'headers', headers: {} }, 'headers'],
    ['headers with auth none', { ...http, headers: { 'X-Key': 'v' } }, 'headers'],
    ['a header value with a line break', { ...http, auth_type: 'headers', headers: { 'X-Key': 'v\r\nX-Other: w' } }, 'headers.X-Key'],
    ['a header name with a space', { ...http, auth_type: 'headers', headers: { 'X Key': 'v' } }, 'headers.X Key'],
    ['an environment variable name with a dash', { name: 'l', connection_type: 'stdio', stdio_config: { command: 'x', envs: { 'A-B': '1' } } }, 'stdio_config.envs.A-B'],
    ['a timeout under 100 ms', { ...http, timeout_ms: 99 }, 'timeout_ms'],
    ['a timeout over 10 minutes', { ...http, timeout_ms: 600_001 }, 'timeout_ms'],
    ['tools_to_execute that is not a list', { ...http, tools_to_execute: '*' }, 'tools_to_execute'],
    ['an unknown field', { ...http, colour: 'blue' }, 'colour'],
  ];
  for (const [what, body, field] of refusals) {
    it(`refuses ${what}, naming ${field}`, () => {
      assert.equal(refusal(body).field, field);
    });
  }

  for (const authType of ['oauth', 'per_user_oauth']) {
    it(`refuses auth_type ${authType} on a stdio upstream`, () => {
      const { field } = refusal({ name: 'l', connection_type: 'stdio', stdio_config: { command: 'srv' }, auth_type: authType });
      assert.equal(field, 'auth_type');
    });
  }

  it('refuses oauth_config unless auth_type is an OAuth one, and a client secret without a client id', () => {
    assert.equal(refusal({ ...http, oauth_config: { client_id: 'x' } }).field, 'oauth_config');
    assert.equal(refusal({ ...http, auth_type: 'oauth', oauth_config: { client_secret: 's' } }).field, 'oauth_config.client_secret');
  });

  it('keeps the OAuth client secret apart from the settings, and an update without it keeps the stored one', () => {
    const body = { ...http, auth_type: 'oauth', oauth_config: { client_id: 'gh', client_secret: 'c-s3cret', scopes: ['repo'] } };
    const { settings, secrets } = settingsFromInput(upstreamInput.parse(body));
    assert.deepEqual(settings.oauth_config, { client_id: 'gh', scopes: ['repo'], send_resource: true });
    assert.doesNotMatch(JSON.stringify(settings), /c-s3cret/);
    assert.deepEqual(secrets, { oauth_client_secret: 'c-s3cret' });
    const update = settingsFromInput(upstreamInput.parse({ ...body, oauth_config: { client_id: 'gh' } }), secrets);
    assert.deepEqual(update.secrets, { oauth_client_secret: 'c-s3cret' });
  });

  it('keeps headers and stdio envs apart from the settings, as secrets', () => {
    const withHeaders = settingsFromInput(upstreamInput.parse({ ...http, auth_type: 'headers', headers: { Authorization: 'Bearer s3cret' } }));
    assert.doesNotMatch(JSON.stringify(withHeaders.settings), /s3cret|Authorization/);
    assert.deepEqual(withHeaders.secrets, { headers: { Authorization: 'Bearer s3cret' } });
    const stdio = settingsFromInput(upstreamInput.parse({ name: 'l', connection_type: 'stdio', stdio_config: { command: 'srv', args: ['-v'], envs: { TOKEN: 'e-s3cret' } } }));
    assert.deepEqual(stdio.settings.stdio_config, { command: 'srv', args: ['-v'] });
    assert.deepEqual(stdio.secrets, { envs: { TOKEN: 'e-s3cret' } });
  });

  it('an update that leaves the secrets out keeps the stored ones', () => {
    const kept = { headers: { 'X-Key': 'old' } };
    assert.deepEqual(settingsFromInput(upstreamInput.parse({ ...http, auth_type: 'headers' }), kept).secrets, kept);
    assert.deepEqual(settingsFromInput(upstreamInput.parse({ ...http, auth_type: 'headers', headers: { 'X-Key': 'new' } }), kept).secrets, { headers: { 'X-Key': 'new' } });
  });

  it('sealed secrets open only with the same key and for the same upstream id', () => {
    const key = randomBytes(32);
    const sealed = sealSecrets(key, 'ups_1', { headers: { 'X-Key': 'v-s3cret' } })!;
    assert.doesNotMatch(sealed, /s3cret/);
    assert.deepEqual(openSecrets(key, 'ups_1', sealed), { headers: { 'X-Key': 'v-s3cret' } });
    assert.throws(() => openSecrets(key, 'ups_2', sealed), DecryptionError);
    assert.throws(() => openSecrets(randomBytes(32), 'ups_1', sealed), DecryptionError);
    assert.equal(sealSecrets(key, 'ups_1', {}), null);
  });
});
