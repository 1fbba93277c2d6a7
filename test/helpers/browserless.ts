import { randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { newId } from '../../src/crypto/random.js';
import { s256Challenge } from '../../src/oauth/pkce.js';
import type { Runtime } from '../../src/runtime.js';
import { TEST_ADMIN_PASSWORD } from './app.js';

/**
 * A browser without a browser: drives an app through `app.inject`, keeps a cookie jar, follows redirects
 * that stay on the app by hand, and reads forms. Redirects leaving the app (to a client's redirect URI) stop there.
 */
export class Browserless {
  readonly cookies = new Map<string, string>();

  /** `origin` is the app's public origin: absolute Locations on it stay inside the app. */
  constructor(
    readonly app: FastifyInstance,
    readonly origin: string,
  ) {}

  async request(options: { method?: 'GET' | 'POST'; url: string; form?: Record<string, string>; headers?: Record<string, string> }): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({
      method: options.method ?? 'GET',
      url: options.url,
      cookies: Object.fromEntries(this.cookies),
      ...(options.form
        ? { payload: new URLSearchParams(options.form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...options.headers } }
        : { headers: options.headers }),
    });
    this.store(response);
    return response;
  }

  /**
   * Sends the request and follows redirects on the app. Returns the last response on the app and, when a
   * redirect left the app, that `external` URL (not fetched).
   */
  async navigate(options: Parameters<Browserless['request']>[0], maxRedirects = 10): Promise<{ response: LightMyRequestResponse; external?: URL }> {
    let response = await this.request(options);
    for (let hop = 0; hop < maxRedirects; hop += 1) {
      const location = response.headers.location;
      if (response.statusCode < 300 || response.statusCode >= 400 || typeof location !== 'string') return { response };
      const target = new URL(location, this.origin);
      if (target.origin !== this.origin) return { response, external: target };
      response = await this.request({ url: target.pathname + target.search });
    }
    throw new Error(`more than ${maxRedirects} redirects`);
  }

  /** Posts the sign-in form; the session cookie lands in the jar. */
  async signIn(username = 'admin', password = TEST_ADMIN_PASSWORD): Promise<LightMyRequestResponse> {
    return this.request({ method: 'POST', url: '/login', form: { username, password } });
  }

  private store(response: LightMyRequestResponse): void {
    for (const cookie of response.cookies as { name: string; value: string; maxAge?: number; expires?: Date }[]) {
      const expired = cookie.maxAge === 0 || (cookie.expires !== undefined && cookie.expires.getTime() <= Date.now()) || cookie.value === '';
      if (expired) this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
  }
}

/** The hidden inputs of a page's forms, by name (the last one wins when a name repeats). */
export function hiddenInputs(body: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[match[1]!] = decodeEntities(match[2]!);
  return fields;
}

function decodeEntities(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_, entity: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[entity]!);
}

/** Registers a dynamic client straight in the store (no registration endpoint needed); returns its id. */
export async function registerTestClient(
  runtime: Runtime,
  metadata: { redirect_uris: string[]; client_name?: string; scope?: string },
): Promise<string> {
  const clientId = newId('cli');
  const at = Date.now();
  await runtime.store.clients.create({
    clientId,
    kind: 'dynamic',
    authMethod: 'none',
    secretHash: null,
    secretExpiresAt: null,
    registrationTokenHash: null,
    metadata: JSON.stringify({ token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], ...metadata }),
    metadataExpiresAt: null,
    createdIp: null,
    createdAt: at,
    updatedAt: at,
  });
  return clientId;
}

/** A fresh PKCE pair (RFC 7636, S256). */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: s256Challenge(verifier) };
}

/** The query of an authorization request with sensible defaults; `undefined` values are left out. */
export function authorizeQuery(params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries({ response_type: 'code', code_challenge: pkcePair().challenge, code_challenge_method: 'S256', state: 'st-123', ...params })) {
    if (value !== undefined) query.append(name, value);
  }
  return `/oauth/authorize?${query.toString()}`;
}
