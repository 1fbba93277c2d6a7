import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OAuthError } from '../../src/oauth/errors.js';
import { checkRedirectUris, redirectUriMatches, redirectUriProblem, type RedirectUriPolicy } from '../../src/oauth/redirect-uris.js';

const open: RedirectUriPolicy = { strict: false, allowedSchemes: ['cursor', 'vscode'] };
const strict: RedirectUriPolicy = { strict: true, allowedSchemes: ['cursor', 'vscode'] };

function refusal(uris: string[], policy: RedirectUriPolicy): OAuthError {
  try {
    checkRedirectUris(uris, policy);
  } catch (error) {
    assert.ok(error instanceof OAuthError);
    return error;
  }
  assert.fail(`${uris.join(', ')} was accepted`);
}

describe('redirect URI rules (open policy)', () => {
  const allowed = [
    'https://app.example.com/callback',
    'https://claude.ai/api/mcp/auth_callback',
    'https://chatgpt.com/connector_platform_oauth_redirect',
    'http://127.0.0.1/callback',
    'http://127.0.0.1:33418/',
    'http://[::1]:8080/cb',
    'http://localhost:54321/callback',
    'http://localhost/callback',
    'cursor://anysphere.cursor-mcp/oauth/callback',
    'vscode://vscode.github-authentication/did-authenticate',
    'https://app.example.com/cb?tenant=a',
  ];
  for (const uri of allowed) {
    it(`allows ${uri}`, () => assert.equal(redirectUriProblem(uri, open), undefined));
  }

  const refused: [string, RegExp][] = [
    ['javascript:alert(1)', /javascript: scheme/],
    ['data:text/html,<script>alert(1)</script>', /data: scheme/],
    ['file:///etc/passwd', /file: scheme/],
    ['vbscript:msgbox(1)', /vbscript: scheme/],
    ['myapp://callback', /scheme myapp:/],
    ['ftp://example.com/cb', /scheme ftp:/],
    ['https://app.example.com/cb#section', /fragment/],
    ['https://app.example.com/cb#', /fragment/],
    ['http://app.example.com/callback', /not loopback/],
    ['http://127.0.0.2/callback', /not loopback/],
    ['http://localhost.evil.com/cb', /not loopback/],
    ['http://localhost@evil.com/cb', /credentials|not loopback/],
    ['http://127.1/cb', /not loopback/],
    ['https://user:pw@app.example.com/cb', /credentials/],
    ['/callback', /not an absolute URI/],
    ['callback', /not an absolute URI/],
    ['', /empty/],
    [' https://app.example.com/cb', /whitespace/],
    ['https://app.example.com/c b', /whitespace/],
    [`https://app.example.com/${'a'.repeat(2001)}`, /longer than/],
  ];
  for (const [uri, reason] of refused) {
    it(`refuses ${JSON.stringify(uri.slice(0, 60))}`, () => assert.match(redirectUriProblem(uri, open) ?? 'accepted', reason));
  }

  it('refuses a dangerous scheme even when the operator lists it as allowed', () => {
    assert.match(redirectUriProblem('javascript:alert(1)', { strict: false, allowedSchemes: ['javascript'] }) ?? 'accepted', /never allowed/);
  });

  it('allows only the configured custom schemes', () => {
    assert.match(redirectUriProblem('cursor://anysphere.cursor-mcp/oauth/callback', { strict: false, allowedSchemes: ['vscode'] }) ?? 'accepted', /cursor:/);
    assert.equal(redirectUriProblem('myapp://cb', { strict: false, allowedSchemes: ['myapp'] }), undefined);
  });
});

describe('redirect URI rules (strict policy)', () => {
  for (const uri of ['https://app.example.com/callback', 'http://127.0.0.1/callback', 'http://127.0.0.1:33418/']) {
    it(`allows ${uri}`, () => assert.equal(redirectUriProblem(uri, strict), undefined));
  }
  const refused: [string, RegExp][] = [
    ['http://localhost:54321/callback', /strict policy allows only for 127.0.0.1/],
    ['http://[::1]:8080/cb', /strict policy allows only for 127.0.0.1/],
    ['cursor://anysphere.cursor-mcp/oauth/callback', /strict policy refuses/],
    ['javascript:alert(1)', /never allowed/],
  ];
  for (const [uri, reason] of refused) {
    it(`refuses ${uri}`, () => assert.match(redirectUriProblem(uri, strict) ?? 'accepted', reason));
  }
});

describe('a set of redirect URIs', () => {
  it("accepts Cursor's three URIs registered together", () => {
    const cursor = ['cursor://anysphere.cursor-mcp/oauth/callback', 'https://www.cursor.com/agents/mcp/oauth/callback', 'http://localhost:8787/callback'];
    assert.deepEqual(checkRedirectUris(cursor, open), cursor);
  });

  it("accepts VS Code's loopback and vscode.dev URIs", () => {
    const vscode = ['http://127.0.0.1/', 'http://127.0.0.1:33418/', 'https://vscode.dev/redirect'];
    assert.deepEqual(checkRedirectUris(vscode, open), vscode);
  });

  it('names the one refused URI among allowed ones', () => {
    const error = refusal(['https://ok.example/cb', 'http://evil.example/cb', 'cursor://x/cb'], open);
    assert.equal(error.error, 'invalid_redirect_uri');
    assert.equal(error.status, 400);
    assert.match(error.description, /"http:\/\/evil\.example\/cb"/);
    assert.doesNotMatch(error.description, /ok\.example/);
  });

  it('needs at least one URI and at most ten', () => {
    assert.match(refusal([], open).description, /at least one/);
    const eleven = Array.from({ length: 11 }, (_, i) => `https://app.example.com/cb${i}`);
    assert.match(refusal(eleven, open).description, /at most 10/);
    assert.equal(checkRedirectUris(eleven.slice(0, 10), open).length, 10);
  });

  it('keeps each URI once', () => {
    assert.deepEqual(checkRedirectUris(['https://a.example/cb', 'https://a.example/cb'], open), ['https://a.example/cb']);
  });
});

describe('redirectUriMatches', () => {
  it('matches a registered URI exactly', () => {
    assert.equal(redirectUriMatches(['https://app.example.com/cb'], 'https://app.example.com/cb'), true);
    assert.equal(redirectUriMatches(['cursor://anysphere.cursor-mcp/oauth/callback'], 'cursor://anysphere.cursor-mcp/oauth/callback'), true);
  });

  it('refuses anything but the exact string for non-loopback URIs', () => {
    const registered = ['https://app.example.com/cb'];
    for (const requested of [
      'https://app.example.com/cb/',
      'https://app.example.com/CB',
      'https://APP.example.com/cb',
      'https://app.example.com:443/cb',
      'https://app.example.com:8443/cb',
      'https://app.example.com/cb?x=1',
      'https://app.example.com/cb#x',
      'https://app.example.com/other/../cb',
      'http://app.example.com/cb',
    ]) {
      assert.equal(redirectUriMatches(registered, requested), false, requested);
    }
  });

  it('matches a registered loopback URI on any port (RFC 8252 §7.3)', () => {
    assert.equal(redirectUriMatches(['http://localhost/callback'], 'http://localhost:53127/callback'), true);
    assert.equal(redirectUriMatches(['http://127.0.0.1:33418/'], 'http://127.0.0.1:50000/'), true);
    assert.equal(redirectUriMatches(['http://127.0.0.1/'], 'http://127.0.0.1:50000'), true);
    assert.equal(redirectUriMatches(['http://[::1]/cb'], 'http://[::1]:9000/cb'), true);
    assert.equal(redirectUriMatches(['http://localhost:8787/callback?a=1'], 'http://localhost:9999/callback?a=1'), true);
  });

  it('still requires the same loopback host, path and query', () => {
    assert.equal(redirectUriMatches(['http://localhost/callback'], 'http://127.0.0.1:53127/callback'), false, 'localhost is not 127.0.0.1');
    assert.equal(redirectUriMatches(['http://127.0.0.1/callback'], 'http://localhost:53127/callback'), false);
    assert.equal(redirectUriMatches(['http://localhost/callback'], 'http://localhost:53127/oauth/callback'), false);
    assert.equal(redirectUriMatches(['http://localhost/callback'], 'http://localhost:53127/callback?x=1'), false);
    assert.equal(redirectUriMatches(['http://localhost/callback'], 'http://localhost:53127/callback#x'), false);
    assert.equal(redirectUriMatches(['http://localhost/callback'], 'http://localhost:99999/callback'), false, 'not a port');
    assert.equal(redirectUriMatches(['http://localhost/callback'], 'http://localhost:80@evil.com/callback'), false);
    assert.equal(redirectUriMatches(['http://localhost/callback'], 'https://localhost:8443/callback'), false, 'only http loopback ignores the port');
  });

  it('does not extend the port exception to non-loopback hosts', () => {
    assert.equal(redirectUriMatches(['http://example.com/callback'], 'http://example.com:8080/callback'), false);
  });
});
