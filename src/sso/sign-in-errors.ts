/**
 * Why a company sign-in did not complete. Each kind maps to one page (web/oidc-login-pages.ts); `detail` is for
 * the operator's log only (an OAuth error code or a check that failed), never a token, a secret or a stack.
 */
export type SsoFailureKind =
  /** No provider with this id is configured. */
  | 'unknown_provider'
  /** The IdP could not be reached, or its discovery or token endpoint answered something unusable. */
  | 'provider_unavailable'
  /** The IdP sent the browser back with `error=` (the person cancelled, or was not allowed there). */
  | 'provider_refused'
  /** No pending sign-in for this browser: expired, used already, or started elsewhere. */
  | 'no_pending_sign_in'
  /** The answer failed a check: state, issuer, audience, signature, expiry, nonce, the code itself. */
  | 'invalid_response'
  /** The person is in none of the provider's `allowed_groups`. */
  | 'not_allowed'
  /** The Gatehouse account this identity maps to is disabled. */
  | 'account_disabled'
  /** No usable username could be made for this identity. */
  | 'no_username';

export class SsoSignInError extends Error {
  constructor(
    readonly kind: SsoFailureKind,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`${kind}: ${detail}`, options);
    this.name = 'SsoSignInError';
  }
}
