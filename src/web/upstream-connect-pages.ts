import type { FlowRefused } from '../upstream/oauth/types.js';
import type { OAuthSetupError } from '../upstream/oauth/types.js';
import { html, type SafeHtml } from './html.js';
import { messagePage } from './login-pages.js';
import { layout } from './page.js';

/**
 * The pages a browser lands on while connecting an upstream: after the upstream's redirect back to
 * `/api/oauth/callback`, and when a connect link cannot be followed. Each says what happened and what to do next.
 */

const APPS_LINK = { href: '/account/apps', label: 'Your upstream connections' };

/** The callback exchanged the code: a user's own connection, or the shared one an admin authorized. */
export function upstreamConnectedPage(input: { upstreamName: string; purpose: 'shared' | 'per_user' }): SafeHtml {
  if (input.purpose === 'per_user') {
    return messagePage({
      title: `${input.upstreamName} is connected`,
      text: `Gatehouse now reaches ${input.upstreamName} with your own account. Go back to your MCP client and use its tools; you can close this tab.`,
      link: APPS_LINK,
    });
  }
  return messagePage({
    title: `${input.upstreamName} is connected`,
    text: `The shared server is connected: Gatehouse reaches ${input.upstreamName} with the account you authorized, for every user allowed to use it. You can close this tab.`,
  });
}

/**
 * The step before the upstream when the browser arrives from a form (sign-in, or the Connect button): browsers
 * hold the redirects that follow a form post to that page's `form-action 'self'`, so a redirect to the upstream
 * would be blocked. A link is not a form, and it names where it goes.
 */
export function continueToUpstreamPage(input: { upstreamName: string; authorizeUrl: string }): SafeHtml {
  const host = new URL(input.authorizeUrl).host;
  return layout({
    title: `Connect ${input.upstreamName}`,
    body: html`<h1>Connect ${input.upstreamName}</h1>
<p class="lead">Sign in at <strong>${host}</strong> with your own account there and allow Gatehouse to use ${input.upstreamName} for you. You come back here afterwards.</p>
<p><a href="${input.authorizeUrl}">Continue to ${host}</a></p>
<p><a href="/account/apps">Cancel</a></p>`,
  });
}

/** A callback query that repeats a parameter: refused before any flow is looked up. */
export function unreadableCallbackPage(): SafeHtml {
  return messagePage({ title: 'Bad request', text: 'The authorization response repeated a parameter. Start the connection again.', link: APPS_LINK });
}

/** Statuses of the refusals a callback or a connect link can meet. */
const REFUSAL_STATUS: Record<FlowRefused['code'], number> = {
  unknown_flow: 400,
  upstream_refused: 400,
  setup_failed: 400,
  other_user: 403,
  sign_in_required: 401,
};

const REFUSAL_TITLE: Record<FlowRefused['code'], string> = {
  unknown_flow: 'Authorization not found',
  upstream_refused: 'The upstream did not authorize Gatehouse',
  setup_failed: 'Authorization out of date',
  other_user: 'Issued for another user',
  sign_in_required: 'Sign in first',
};

/** A refused callback: the refusal's own words, and where to go from here. */
export function callbackRefusedPage(refusal: FlowRefused): { status: number; page: SafeHtml } {
  const link = refusal.code === 'sign_in_required' ? { href: '/login?next=%2Faccount%2Fapps', label: 'Sign in to Gatehouse' } : APPS_LINK;
  return { status: REFUSAL_STATUS[refusal.code], page: messagePage({ title: REFUSAL_TITLE[refusal.code], text: refusal.message, link }) };
}

/** A connect link that cannot be followed: someone else's (403), or spent or expired (410). */
export function connectLinkRefusedPage(refusal: FlowRefused): { status: number; page: SafeHtml } {
  const other = refusal.code === 'other_user';
  return { status: other ? 403 : 410, page: messagePage({ title: other ? REFUSAL_TITLE.other_user : 'Link expired', text: refusal.message, link: APPS_LINK }) };
}

/** Starting a connection failed at the upstream (discovery or registration): which document was wrong, and how. */
export function connectFailedPage(upstreamName: string, error: OAuthSetupError): SafeHtml {
  return messagePage({ title: `Could not connect ${upstreamName}`, text: `${error.message.replace(/\.?$/, '.')} Try again later, or tell your Gatehouse administrator.`, link: APPS_LINK });
}

/** An upstream id that is not one of this person's connections: the same answer whether it exists or not. */
export function connectionNotFoundPage(): SafeHtml {
  return messagePage({ title: 'Not found', text: 'This server was not found among your upstream connections. It may already be disconnected.', link: APPS_LINK });
}
