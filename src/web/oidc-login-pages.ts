import type { SsoFailureKind } from '../sso/sign-in-errors.js';
import type { SafeHtml } from './html.js';
import { messagePage } from './login-pages.js';

/** What a person is told when company sign-in did not complete, with the status each case answers. */
const failures: Record<SsoFailureKind, { status: number; title: string; text: string }> = {
  unknown_provider: { status: 404, title: 'Unknown sign-in provider', text: 'This sign-in option does not exist. Choose one on the sign-in page.' },
  provider_unavailable: {
    status: 502,
    title: 'Identity provider unavailable',
    text: 'Your company\u2019s identity provider could not be reached or answered unexpectedly. Try again later, or tell your administrator.',
  },
  provider_refused: { status: 403, title: 'Sign-in not completed', text: 'Your identity provider did not sign you in. Start again if you cancelled by mistake.' },
  no_pending_sign_in: {
    status: 400,
    title: 'Sign-in expired',
    text: 'This sign-in has expired, was completed already, or was started in another browser. Start again from the sign-in page.',
  },
  invalid_response: {
    status: 400,
    title: 'Sign-in could not be verified',
    text: 'The answer from the identity provider did not pass Gatehouse\u2019s checks, so nobody was signed in. Start again from the sign-in page.',
  },
  not_allowed: { status: 403, title: 'Access not granted', text: 'Your account is not in a group that may use Gatehouse. Ask your administrator for access.' },
  account_disabled: { status: 403, title: 'Account disabled', text: 'Your Gatehouse account is disabled. Ask your administrator.' },
  no_username: {
    status: 400,
    title: 'Sign-in not completed',
    text: 'Your identity provider gave no name Gatehouse can use for your account. Tell your administrator.',
  },
};

/** The page for a failed company sign-in, with its HTTP status; it links back to the sign-in page for `next`. */
export function ssoFailurePage(kind: SsoFailureKind, next: string | undefined): { status: number; page: SafeHtml } {
  const { status, title, text } = failures[kind];
  const href = next ? `/login?next=${encodeURIComponent(next)}` : '/login';
  return { status, page: messagePage({ title, text, link: { href, label: 'Back to sign-in' } }) };
}
