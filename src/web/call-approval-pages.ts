import type { CallApprovalRecord } from '../store/index.js';
import { html, type SafeHtml } from './html.js';
import { messagePage } from './login-pages.js';
import { layout } from './page.js';

/**
 * The page where a person approves or denies one held tool call: the tool, its upstream and the arguments (redacted
 * as the audit redacts them), with a form posting `csrf_token` and a `decision` button (`approve` or `deny`).
 */
export function callApprovalPage(input: { approval: CallApprovalRecord; username: string; csrfToken: string; minutesLeft: number }): SafeHtml {
  const { approval } = input;
  return layout({
    title: 'Approve a tool call',
    body: html`<h1>Approve a tool call</h1>
<p class="lead">An application acting for <strong>${input.username}</strong> wants to call a tool that needs your approval.</p>
<dl class="call">
<dt>Tool</dt><dd><code>${approval.exposedName}</code></dd>
<dt>Upstream</dt><dd><code>${approval.upstreamName}</code></dd>
<dt>Arguments</dt><dd><pre class="arguments">${prettyJson(approval.arguments)}</pre></dd>
</dl>
<p>Values of keys that look secret are shown as [redacted]. This request expires in ${input.minutesLeft} minute${input.minutesLeft === 1 ? '' : 's'}.</p>
<form method="post" action="/approve/${approval.id}">
<input type="hidden" name="csrf_token" value="${input.csrfToken}">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>`,
  });
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** What the page says after a decision, or instead of the form. */
const OUTCOMES = {
  approved: { status: 200, title: 'Call approved', text: 'Go back to your MCP client: the tool call goes through when it is made again with the same arguments. You can close this tab.' },
  denied: { status: 200, title: 'Call denied', text: 'The call will not be made. Your MCP client is told so when it tries again. You can close this tab.' },
  already_decided: { status: 409, title: 'Already decided', text: 'This tool call was already approved or denied.' },
  expired: { status: 410, title: 'Request expired', text: 'This approval request has expired. Ask your MCP client to call the tool again for a new one.' },
  unknown: { status: 404, title: 'Not found', text: 'There is no approval request at this link.' },
  other_user: { status: 403, title: 'Issued for another user', text: 'This approval request belongs to another Gatehouse user. Only the person whose call it is may decide.' },
} as const;

export type ApprovalPageOutcome = keyof typeof OUTCOMES;

export function approvalOutcomePage(outcome: ApprovalPageOutcome): { status: number; page: SafeHtml } {
  const { status, title, text } = OUTCOMES[outcome];
  return { status, page: messagePage({ title, text }) };
}
