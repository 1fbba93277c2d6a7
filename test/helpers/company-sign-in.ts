import { startCompanyIdp, type CompanyIdp, type IdpAccount } from '../fixtures/sso/company-idp.js';
import { freePort, startTestApp, type TestApp } from './app.js';
import { CookieJar } from './headless-consent.js';

export const PROVIDER_ID = 'acme';

/** A listening Gatehouse whose company sign-in is `acme`, a real OpenID Provider started beside it. */
export async function startAppWithCompanyIdp(options: {
  accounts: Record<string, IdpAccount>;
  provider?: Record<string, unknown>;
  /** More providers, given the IdP's issuer. */
  extraProviders?: (idpIssuer: string) => Record<string, unknown>[];
  passwordLogin?: boolean;
  claimsInIdToken?: boolean;
}): Promise<{ t: TestApp; idp: CompanyIdp; close(): Promise<void> }> {
  const port = await freePort();
  const idp = await startCompanyIdp({ redirectUri: `http://127.0.0.1:${port}/login/oidc/${PROVIDER_ID}/callback`, accounts: options.accounts, claimsInIdToken: options.claimsInIdToken });
  const provider = {
    id: PROVIDER_ID,
    name: 'Acme',
    issuer: idp.issuer,
    client_id: idp.clientId,
    client_secret: idp.clientSecret,
    scopes: ['openid', 'profile', 'email', 'groups'],
    ...options.provider,
  };
  const t = await startTestApp({
    listen: true,
    flags: {
      port,
      allowPrivateNetworks: true,
      sso: { providers: [provider, ...(options.extraProviders?.(idp.issuer) ?? [])], password_login: options.passwordLogin ?? true },
    },
  });
  return {
    t,
    idp,
    async close() {
      await t.close();
      await idp.close();
    },
  };
}

export interface BrowsedPage {
  status: number;
  url: URL;
  text: string;
}

/**
 * A browser without a screen for company sign-in: follows redirects with one cookie jar for both sites (cookies
 * do not tell ports apart), fills the IdP's sign-in form with `account`, and stops at the first page that is not
 * the IdP's, or, with `stopAt`, before requesting a URL whose path starts with it.
 */
export async function browse(start: string, options: { idp: CompanyIdp; account?: string; jar?: CookieJar; stopAt?: string }): Promise<BrowsedPage> {
  const jar = options.jar ?? new CookieJar();
  let url = new URL(start);
  let form: URLSearchParams | undefined;
  for (let step = 0; step < 15; step += 1) {
    if (options.stopAt && url.pathname.startsWith(options.stopAt)) return { status: 0, url, text: '' };
    const cookie = jar.header();
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      headers: { ...(cookie ? { cookie } : {}), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: form?.toString(),
      redirect: 'manual',
    });
    jar.store(response);
    form = undefined;
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      url = new URL(location, url);
      continue;
    }
    const text = await response.text();
    const idpForm = /<form method="post" action="([^"]+)"/.exec(text);
    if (url.origin === new URL(options.idp.issuer).origin && idpForm && options.account) {
      url = new URL(idpForm[1]!, url);
      form = new URLSearchParams({ username: options.account });
      continue;
    }
    return { status: response.status, url, text };
  }
  throw new Error(`no page reached from ${start}`);
}
