import { hiddenInputs } from './browserless.js';

/**
 * A browser without a screen: follows an authorization URL through Gatehouse's sign-in and consent pages over
 * real HTTP (redirects followed by hand, cookies carried), and stops at the redirect back to the client.
 * Unlike `Browserless` (in-process, `app.inject`), it talks to a listening server, as real clients do.
 * It knows only the contract of DESIGN.md: the sign-in form posts `username` and `password` (+ hidden fields),
 * the consent form carries hidden fields and a submit button `decision` valued `approve` or `deny`.
 */

export type Credentials = PasswordCredentials | CompanyCredentials;

export interface PasswordCredentials {
  username: string;
  password: string;
}

/**
 * Company sign-in: follow the sign-in page's link to `provider` (`/login/oidc/{provider}`), then fill the IdP's
 * sign-in form, one `username` field without a password (the test IdP's, test/fixtures/sso/company-idp.ts).
 */
export interface CompanyCredentials {
  provider: string;
  username: string;
}

/** What came back to the client's redirect URI. */
export interface AuthorizationResponse {
  /** The full Location the server redirected to. */
  location: string;
  params: URLSearchParams;
  code?: string;
  state?: string;
  iss?: string;
  error?: string;
}

const MAX_STEPS = 20;

/** Cookies by name, as a browser would keep them for one site (every cookie goes to every path: good enough here). */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const separator = pair.indexOf('=');
      if (separator <= 0) continue;
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      const expired = attributes.some((attribute) => /^\s*max-age\s*=\s*(0|-\d+)\s*$/i.test(attribute))
        || attributes.some((attribute) => /^\s*expires\s*=/i.test(attribute) && Date.parse(attribute.split('=')[1] ?? '') < Date.now());
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header(): string | undefined {
    if (this.#cookies.size === 0) return undefined;
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

export interface HeadlessConsentOptions {
  credentials: Credentials;
  /** `approve` (default) or `deny`. */
  decision?: 'approve' | 'deny';
  /** Where the flow ends; defaults to the `redirect_uri` of the authorization URL. */
  redirectUri?: string;
  /** Reuse one jar to stay signed in across flows (a returning user). */
  jar?: CookieJar;
}

/**
 * Drives one authorization from its URL to the client's redirect URI, signing in and deciding on the way.
 * Throws with the page's status and text when the server shows anything else (an error page, a refusal).
 */
export async function authorizeHeadlessly(authorizationUrl: string | URL, options: HeadlessConsentOptions): Promise<AuthorizationResponse> {
  const jar = options.jar ?? new CookieJar();
  const target = new URL(options.redirectUri ?? requiredRedirectUri(authorizationUrl));
  let request: { url: URL; form?: URLSearchParams } = { url: new URL(authorizationUrl) };
  const seen: string[] = [];

  for (let step = 0; step < MAX_STEPS; step += 1) {
    if (pointsAt(request.url, target)) return authorizationResponse(request.url);
    seen.push(`${request.form ? 'POST' : 'GET'} ${request.url.pathname}`);
    const response = await send(request, jar);
    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.get('location');
      if (!location) throw new Error(`${response.status} without Location at ${request.url.pathname}`);
      request = { url: new URL(location, request.url) };
      continue;
    }
    const page = await response.text();
    const form = response.ok ? (providerLink(page, request.url, options.credentials) ?? nextForm(page, request.url, options)) : undefined;
    if (!form) throw new Error(`Headless consent stopped at ${request.url.pathname} (${response.status}): ${pageText(page)}\n  steps: ${seen.join(' -> ')}`);
    request = form;
  }
  throw new Error(`Headless consent did not reach ${target.href} within ${MAX_STEPS} steps: ${seen.join(' -> ')}`);
}

function requiredRedirectUri(authorizationUrl: string | URL): string {
  const redirectUri = new URL(authorizationUrl).searchParams.get('redirect_uri');
  if (!redirectUri) throw new Error('The authorization URL has no redirect_uri; pass redirectUri');
  return redirectUri;
}

/** Same scheme, host, port and path: the query is the response. */
function pointsAt(url: URL, target: URL): boolean {
  return url.protocol === target.protocol && url.host === target.host && url.pathname === target.pathname;
}

function authorizationResponse(url: URL): AuthorizationResponse {
  const params = url.searchParams;
  const optional = (name: string) => params.get(name) ?? undefined;
  return { location: url.href, params, code: optional('code'), state: optional('state'), iss: optional('iss'), error: optional('error') };
}

async function send(request: { url: URL; form?: URLSearchParams }, jar: CookieJar): Promise<Response> {
  const headers: Record<string, string> = {};
  const cookie = jar.header();
  if (cookie) headers.cookie = cookie;
  if (request.form) {
    // What a browser says when it posts a form of the same site.
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers.origin = request.url.origin;
    headers['sec-fetch-site'] = 'same-origin';
  }
  const response = await fetch(request.url, {
    method: request.form ? 'POST' : 'GET',
    headers,
    body: request.form?.toString(),
    redirect: 'manual',
  });
  jar.store(response);
  return response;
}

/** The sign-in page's link to the company sign-in of the credentials' provider. */
function providerLink(page: string, pageUrl: URL, credentials: Credentials): { url: URL } | undefined {
  if (!('provider' in credentials)) return undefined;
  const href = new RegExp(`<a\\b[^>]*\\bhref="(/login/oidc/${credentials.provider}\\b[^"]*)"`, 'i').exec(page)?.[1];
  return href ? { url: new URL(href.replaceAll('&amp;', '&'), pageUrl) } : undefined;
}

/**
 * The sign-in form (it has a password field) or the consent form (it has `decision` buttons), filled in.
 * Hidden fields are read with the in-process driver's parser, so both drivers read forms the same way.
 */
function nextForm(page: string, pageUrl: URL, options: HeadlessConsentOptions): { url: URL; form: URLSearchParams } | undefined {
  const decision = options.decision ?? 'approve';
  for (const formHtml of page.match(/<form\b[\s\S]*?<\/form>/gi) ?? []) {
    const action = new URL(/<form\b[^>]*\baction="([^"]*)"/i.exec(formHtml)?.[1] ?? pageUrl.href, pageUrl);
    const form = new URLSearchParams(hiddenInputs(formHtml));
    const hasPassword = /<input\b[^>]*\btype="password"/i.test(formHtml);
    if (hasPassword && 'password' in options.credentials) {
      form.set('username', options.credentials.username);
      form.set('password', options.credentials.password);
      return { url: action, form };
    }
    if (!hasPassword && 'provider' in options.credentials && /<input\b[^>]*\bname="username"/i.test(formHtml)) {
      form.set('username', options.credentials.username);
      return { url: action, form };
    }
    if (new RegExp(`<button\\b[^>]*\\bname="decision"[^>]*\\bvalue="${decision}"`, 'i').test(formHtml)) {
      form.set('decision', decision);
      return { url: action, form };
    }
  }
  return undefined;
}

/** The visible words of a page, short enough for an error message. */
function pageText(page: string): string {
  const text = page.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
  return text.slice(0, 400);
}
