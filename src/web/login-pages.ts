import { html, type SafeHtml } from './html.js';
import { layout } from './page.js';

export interface SignInPageInput {
  /** What the person typed, shown back so they only retype the password. */
  username?: string;
  /** A safe local path to return to after signing in. */
  next?: string;
  /** `alert` for a failure, `notice` for a wait. */
  message?: { kind: 'alert' | 'notice'; text: string };
  /** Company sign-in options, each a link to `/login/oidc/{id}` carrying `next`. */
  providers?: readonly { id: string; name: string }[];
  /** false hides the password form (`sso.password_login`). */
  passwordLogin?: boolean;
}

/** The sign-in page with the configured company sign-in options, for a surface that renders it several ways. */
export function signInPageFor(sso: { providers: readonly { id: string; name: string }[]; password_login: boolean }) {
  const providers = sso.providers.map(({ id, name }) => ({ id, name }));
  return (input: SignInPageInput) => signInPage({ ...input, providers, passwordLogin: sso.password_login });
}

function providerLinks(providers: readonly { id: string; name: string }[], next: string | undefined): SafeHtml {
  const query = next ? `?next=${encodeURIComponent(next)}` : '';
  return html`<ul class="sso-providers">
${providers.map(({ id, name }) => html`<li><a class="button" href="/login/oidc/${encodeURIComponent(id)}${query}">Sign in with ${name}</a></li>
`)}</ul>`;
}

/** The sign-in form: fields `username` and `password`, hidden `next`; headless clients post the same names. */
export function signInPage({ username, next, message, providers = [], passwordLogin = true }: SignInPageInput): SafeHtml {
  const failed = message?.kind === 'alert';
  // Focus goes where the person has to type next: the password when the username is already filled in.
  const focusPassword = Boolean(username);
  const describedBy = { 'aria-invalid': failed ? 'true' : undefined, 'aria-describedby': message ? 'form-message' : undefined };
  return layout({
    title: 'Sign in',
    body: html`<h1>Sign in</h1>
<p class="lead">${passwordLogin ? 'Use your Gatehouse account to continue.' : 'Use your company account to continue.'}</p>
${message && html`<p class="${message.kind}" role="${failed ? 'alert' : 'status'}" id="form-message">${message.text}</p>`}
${providers.length > 0 && providerLinks(providers, next)}
${passwordLogin && html`<form method="post" action="/login">
${next && html`<input type="hidden" name="next" value="${next}">`}
<div class="field">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="${username ?? ''}" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="256"${attributes({ autofocus: !focusPassword, ...describedBy })}>
</div>
<div class="field">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required maxlength="1024"${attributes({ autofocus: focusPassword, ...describedBy })}>
</div>
<button type="submit">Sign in</button>
</form>`}`,
  });
}

/** The home page of a signed-in person: who they are and a way out. */
export function signedInPage({ username, isAdmin = false }: { username: string; isAdmin?: boolean }): SafeHtml {
  return layout({
    title: 'Signed in',
    body: html`<h1>You are signed in</h1>
<p class="identity">Signed in as <strong>${username}</strong>.</p>
<p><a href="/account/apps">Connected apps</a></p>
${isAdmin && html`<p><a href="/admin">Admin console</a></p>`}
<form method="post" action="/logout">
<button type="submit" class="secondary">Sign out</button>
</form>`,
  });
}

/** A page that only explains: refused requests, bad forms, errors. */
export function messagePage({ title, text, link }: { title: string; text: string; link?: { href: string; label: string } }): SafeHtml {
  return layout({
    title,
    body: html`<h1>${title}</h1>
<p class="lead">${text}</p>
${link && html`<p><a href="${link.href}">${link.label}</a></p>`}`,
  });
}

/** "30 seconds", "1 minute", "15 minutes": how long to wait, rounded up to what a person would say. */
export function describeWait(seconds: number): string {
  if (seconds < 60) return seconds === 1 ? '1 second' : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

/** Optional attributes: `true` writes a bare boolean attribute, a string a quoted value, anything else nothing. */
function attributes(values: Record<string, string | boolean | undefined>): SafeHtml {
  return html`${Object.entries(values).map(([name, value]) =>
    value === true ? html` ${name}` : typeof value === 'string' ? html` ${name}="${value}"` : '',
  )}`;
}
