import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RegisteredClient } from '../../src/oauth/clients.js';
import { connectUpstreamStepPage, consentPage, consentPageHeaders, redirectTarget } from '../../src/web/consent-pages.js';

function client(kind: RegisteredClient['kind'], clientId: string, clientName?: string): RegisteredClient {
  return { clientId, kind, metadata: { redirect_uris: [], token_endpoint_auth_method: 'none', grant_types: [], response_types: [], client_name: clientName }, record: {} as RegisteredClient['record'] };
}

const page = (c: RegisteredClient, redirectUri = 'https://app.example/cb') =>
  consentPage({ client: c, redirectUri, scope: 'mcp:read', username: 'alice', flowId: 'flow_x', csrfToken: 'gth_csrf_y' }).markup;

describe('consent page rendering', () => {
  it('a metadata-document client shows its client_id host as the verified domain, not the unverified warning', () => {
    const markup = page(client('metadata_document', 'https://tools.example.com/oauth/client.json', 'Example Tools'));
    assert.match(markup, /Verified domain: <strong>tools\.example\.com<\/strong>/);
    assert.doesNotMatch(markup, /Unverified application/);
  });

  it('a dynamically registered client is marked unverified, and a nameless one is not left blank', () => {
    const markup = page(client('dynamic', 'cli_1'));
    assert.match(markup, /Unverified application/);
    assert.match(markup, /An unnamed application/);
  });

  it('only the requested access is described', () => {
    const markup = page(client('dynamic', 'cli_1', 'Reader'));
    assert.match(markup, /use read-only tools/);
    assert.doesNotMatch(markup, /change things on your behalf/);
  });

  it('the redirect target is the host, scheme and host for an app link, and loopback is called this computer', () => {
    assert.deepEqual(redirectTarget('https://claude.ai/api/mcp/auth_callback'), { host: 'claude.ai', local: false });
    assert.deepEqual(redirectTarget('cursor://anysphere.cursor-mcp/oauth/callback'), { host: 'cursor://anysphere.cursor-mcp', local: false });
    assert.deepEqual(redirectTarget('http://127.0.0.1:33418/'), { host: '127.0.0.1:33418', local: true });
    assert.match(page(client('dynamic', 'cli_1'), 'http://localhost:8787/callback'), /localhost:8787<\/strong> \(an application on this computer\)/);
  });

  it('upstreams to connect are offered as unchecked checkboxes inside the consent form, names escaped', () => {
    const markup = consentPage({
      client: client('dynamic', 'cli_1'), redirectUri: 'https://app.example/cb', scope: 'mcp:read', username: 'alice', flowId: 'flow_x', csrfToken: 'gth_csrf_y',
      connectable: [{ id: 'ups_1', name: 'Docs <i>', host: 'docs.example' }],
    }).markup;
    const form = /<form method="post" action="\/oauth\/consent">[\s\S]*?<\/form>/.exec(markup)?.[0] ?? '';
    assert.match(form, /<legend>Also connect your accounts now<\/legend>/);
    assert.ok(form.includes('<input type="checkbox" name="connect_upstream" value="ups_1"> Docs &lt;i&gt; <span class="host">(docs.example)</span>'), form);
    assert.doesNotMatch(form, /checked/);
  });

  it('a chain step links to the upstream by its host and offers to skip it', () => {
    const markup = connectUpstreamStepPage({ upstream: { name: 'Docs', host: 'docs.example' }, authorizeUrl: 'https://as.example/authorize?state=s&x=1', skipUrl: '/oauth/consent/resume?flow_id=f&approval=a' }).markup;
    assert.ok(markup.includes('<a href="https://as.example/authorize?state=s&amp;x=1">Continue to as.example</a>'), markup);
    assert.ok(markup.includes('<a href="/oauth/consent/resume?flow_id=f&amp;approval=a">Skip this one</a>'), markup);
  });

  it('form-action admits the redirect origin or app scheme and nothing else', () => {
    const csp = (uri: string) => consentPageHeaders(uri)['content-security-policy']!;
    assert.match(csp('http://127.0.0.1:5000/cb?x=1'), /form-action 'self' http:\/\/127\.0\.0\.1:5000; frame-ancestors 'none'/);
    assert.match(csp('cursor://anysphere.cursor-mcp/oauth/callback'), /form-action 'self' cursor:; /);
    assert.equal(consentPageHeaders('https://app.example/cb')['x-frame-options'], 'DENY');
    // URL parsing lets `;` through in a host: such an origin is not copied into the header, only its scheme.
    assert.match(csp('https://a;script-src*.example/cb'), /form-action 'self' https:; frame-ancestors/);
    for (const header of [csp('https://a;script-src*.example/cb'), csp('https://a.example/cb;script-src *')]) {
      assert.equal(header.split(';').length, 6, 'no directive was smuggled in');
    }
  });
});
