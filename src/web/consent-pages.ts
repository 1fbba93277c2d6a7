import type { RegisteredClient } from '../oauth/clients.js';
import { parseScope } from '../oauth/scopes.js';
import { describeClient, scopeInWords } from './client-labels.js';
import { html, type SafeHtml } from './html.js';
import { messagePage } from './login-pages.js';
import { layout, PAGE_SECURITY_HEADERS } from './page.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Where the browser goes after the decision, as a person can judge it: the host, or scheme and host for an app link. */
export function redirectTarget(redirectUri: string): { host: string; local: boolean } {
  const url = new URL(redirectUri);
  if (url.protocol === 'http:' || url.protocol === 'https:') return { host: url.host, local: LOOPBACK_HOSTS.has(url.hostname) };
  return { host: `${url.protocol}//${url.host}`, local: false };
}

export interface ConsentPageInput {
  client: RegisteredClient;
  redirectUri: string;
  scope: string;
  username: string;
  flowId: string;
  csrfToken: string;
  /** Per-user upstreams the person may connect right away (chained authorization); none: no fieldset. */
  connectable?: { id: string; name: string; host: string }[];
}

/**
 * The consent form: hidden `flow_id` and `csrf_token`, submit buttons `decision=approve` and `decision=deny`, and
 * when there are per-user upstreams to connect, an optional unchecked `connect_upstream` checkbox for each.
 */
export function consentPage(input: ConsentPageInput): SafeHtml {
  const { name, verifiedDomain } = describeClient(input.client);
  const target = redirectTarget(input.redirectUri);
  const abilities = parseScope(input.scope).map(scopeInWords);
  return layout({
    title: 'Allow access?',
    body: html`<h1>Allow <span class="client-name">${name}</span> to use your Gatehouse?</h1>
${verifiedDomain
  ? html`<p class="lead">Verified domain: <strong>${verifiedDomain}</strong></p>`
  : html`<p class="notice" role="note"><strong>Unverified application.</strong> This name was chosen by the application itself; Gatehouse cannot confirm who made it.</p>`}
<p>After you decide, you will be sent to <strong>${target.host}</strong>${target.local ? ' (an application on this computer)' : ''}.</p>
<p id="abilities-heading">If you allow it, it will be able to:</p>
<ul aria-labelledby="abilities-heading">
${abilities.map((ability) => html`<li>${ability}</li>\n`)}</ul>
<form method="post" action="/oauth/consent">
<input type="hidden" name="flow_id" value="${input.flowId}">
<input type="hidden" name="csrf_token" value="${input.csrfToken}">
${input.connectable?.length ? connectFieldset(input.connectable) : ''}<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>
<footer>
<p class="identity">Signed in as <strong>${input.username}</strong>.</p>
<form method="post" action="/logout">
<input type="hidden" name="next" value="/oauth/consent?flow_id=${input.flowId}">
<button type="submit" class="secondary">Not you? Sign out</button>
</form>
</footer>`,
  });
}

function connectFieldset(upstreams: NonNullable<ConsentPageInput['connectable']>): SafeHtml {
  return html`<fieldset>
<legend>Also connect your accounts now</legend>
<p>Optional: these servers act with your own account there. Connect them now and your app's first use of their tools just works.</p>
${upstreams.map((upstream) => html`<label><input type="checkbox" name="connect_upstream" value="${upstream.id}"> ${upstream.name} <span class="host">(${upstream.host})</span></label>\n`)}</fieldset>
`;
}

/**
 * The consent page's headers: the shared ones, but the form may also lead to the application's redirect URI,
 * because browsers apply `form-action` to the redirect that follows the form post.
 */
export function consentPageHeaders(redirectUri: string): Record<string, string> {
  const url = new URL(redirectUri);
  // Only a plain origin or scheme goes into the header: anything else could smuggle in another directive.
  const origin = url.origin !== 'null' && /^[a-z][a-z0-9+.-]*:\/\/[A-Za-z0-9.\-[\]:]+$/.test(url.origin) ? url.origin : undefined;
  const source = origin ?? (/^[a-z][a-z0-9+.-]*:$/.test(url.protocol) ? url.protocol : undefined);
  const csp = PAGE_SECURITY_HEADERS['content-security-policy']!;
  return source ? { ...PAGE_SECURITY_HEADERS, 'content-security-policy': csp.replace("form-action 'self'", `form-action 'self' ${source}`) } : { ...PAGE_SECURITY_HEADERS };
}

/**
 * One step of a chained authorization, after Allow: a link to the upstream (not a redirect, which browsers would
 * hold to the form's `form-action`), and one to skip it; either way the person ends up back at their application.
 */
export function connectUpstreamStepPage(input: { upstream: { name: string; host: string }; authorizeUrl: string; skipUrl: string }): SafeHtml {
  const host = new URL(input.authorizeUrl).host;
  return layout({
    title: `Connect ${input.upstream.name}`,
    body: html`<h1>Connect ${input.upstream.name}</h1>
<p class="lead">Sign in at <strong>${host}</strong> with your own account there and allow Gatehouse to use ${input.upstream.name} (${input.upstream.host}) for you. You come back here afterwards, then go on to your app.</p>
<p><a href="${input.authorizeUrl}">Continue to ${host}</a></p>
<p><a href="${input.skipUrl}">Skip this one</a></p>`,
  });
}

/** A consent form naming a server the person cannot connect (unknown, not theirs to use, or not per-user). */
export function unknownUpstreamPage(): SafeHtml {
  return messagePage({
    title: 'Bad request',
    text: 'The consent form named a server you cannot connect. Go back to your app and try again.',
  });
}

/** A flow that is gone: expired, completed, or never existed. */
export function flowExpiredPage(): SafeHtml {
  return messagePage({
    title: 'Link expired',
    text: 'This sign-in link has expired or was already used; go back to your app and try again.',
  });
}

/** A flow this browser did not start, or a consent form without its token. */
export function flowRefusedPage(): SafeHtml {
  return messagePage({
    title: 'Request refused',
    text: 'This sign-in was started in another browser or the form is out of date; go back to your app and try again from this browser.',
  });
}
