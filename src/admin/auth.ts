import type { FastifyRequest } from 'fastify';
import type { ApiKeyService } from '../identity/api-keys.js';
import type { PasswordLogin } from '../identity/login.js';
import { PASSWORD_MAX_LENGTH } from '../identity/password.js';
import { CSRF_HEADER, type SessionCsrf } from '../identity/session-csrf.js';
import type { BrowserSessions } from '../identity/sessions.js';
import type { UserRecord } from '../store/index.js';
import { ApiError } from './envelope.js';
import { decodeBasic, parseAuthorization } from '../http/authorization-header.js';

/** Who is calling /api and with what. */
export interface ApiCaller {
  user: UserRecord;
  via: 'password' | 'api_key' | 'browser_session';
  apiKeyId?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * `'none'` lets a route under /api answer without credentials (e.g. an OAuth callback a browser lands on);
     * `'user'` lets any authenticated user call it (for their own resources, e.g. /api/me/grants), not only admins.
     */
    apiAuth?: 'none' | 'user';
  }
  interface FastifyRequest {
    /** Set by the /api authentication hook; null on routes with `apiAuth: 'none'`. */
    apiCaller: ApiCaller | null;
  }
}

type Credential =
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'api_key'; token: string }
  | { kind: 'browser_session'; token: string; csrfToken: string | undefined };

const CHALLENGE = { 'www-authenticate': 'Basic realm="gatehouse", charset="UTF-8"' };

function unauthorized(message: string): ApiError {
  return new ApiError(401, 'unauthorized', message, { headers: CHALLENGE });
}

function basicCredential(encoded: string): Credential {
  const basic = decodeBasic(encoded);
  if (!basic || basic.user === '') throw unauthorized('the Basic credentials are not username:password in base64');
  return { kind: 'basic', username: basic.user, password: basic.password };
}

/**
 * Reads the credential: `Authorization: Basic|Bearer …` first, else `x-api-key`, else the browser session cookie (the
 * console), which must come with its session's CSRF token in `x-csrf-token`.
 */
function credentialFrom(request: FastifyRequest, sessionCookie: string): Credential {
  const { headers } = request;
  if (headers.authorization?.trim()) {
    const authorization = parseAuthorization(headers.authorization);
    if (authorization?.scheme === 'basic' && authorization.credentials) return basicCredential(authorization.credentials);
    if (authorization?.scheme === 'bearer' && authorization.credentials) return { kind: 'api_key', token: authorization.credentials };
    throw unauthorized('use Authorization: Basic (an admin) or Bearer <api key>, or x-api-key');
  }
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.trim()) return { kind: 'api_key', token: apiKey.trim() };
  // `cookies` is there when the app registered @fastify/cookie (app.ts does; a bare test app may not).
  const session = request.cookies?.[sessionCookie];
  if (session) {
    const csrf = headers[CSRF_HEADER];
    return { kind: 'browser_session', token: session, csrfToken: typeof csrf === 'string' ? csrf : undefined };
  }
  throw unauthorized('credentials are required: HTTP Basic (an admin), Authorization: Bearer <api key> or x-api-key');
}

async function resolveCaller(credential: Credential, request: FastifyRequest, services: ApiAuthServices, browser: BrowserSessionAuth): Promise<ApiCaller> {
  if (credential.kind === 'api_key') {
    const found = await services.apiKeys.authenticate(credential.token);
    if (!found) throw unauthorized('the API key is not valid');
    return { user: found.user, via: 'api_key', apiKeyId: found.key.id };
  }
  if (credential.kind === 'browser_session') {
    const resolved = await browser.sessions.resolve(credential.token);
    // No Basic challenge here: a browser would answer it with its own password prompt over the console.
    if (!resolved) throw new ApiError(401, 'unauthorized', 'the browser session has ended; sign in again');
    // A cookie rides along on requests other sites make; only our own pages know the session's token.
    if (!browser.csrf.matches(resolved.session, credential.csrfToken)) {
      throw new ApiError(403, 'csrf_token_invalid', `a request authenticated by the session cookie needs the session's token in ${CSRF_HEADER}`, { param: CSRF_HEADER });
    }
    return { user: resolved.user, via: 'browser_session' };
  }
  // No password is that long; refusing it here spares the KDF a caller-chosen amount of work.
  if (credential.password.length > PASSWORD_MAX_LENGTH) throw unauthorized('the username or password is not valid');
  // Same throttle as the sign-in page, so Basic auth is no side door for guessing passwords.
  const outcome = await services.login.attempt(credential.username, credential.password, request.ip);
  if (outcome.ok) return { user: outcome.user, via: 'password' };
  if (outcome.reason === 'throttled') {
    throw new ApiError(429, 'too_many_attempts', 'too many failed sign-ins; wait before trying again', {
      headers: { 'retry-after': String(outcome.retryAfterSeconds) },
      extraFields: { retry_after_seconds: outcome.retryAfterSeconds },
    });
  }
  throw unauthorized('the username or password is not valid');
}

export interface ApiAuthServices {
  apiKeys: ApiKeyService;
  login: PasswordLogin;
}

/** The console's way in: the browser session and its CSRF token. */
export interface BrowserSessionAuth {
  sessions: Pick<BrowserSessions, 'cookieName' | 'resolve'>;
  csrf: SessionCsrf;
}

/**
 * The /api authentication hook: resolve the caller, then require an admin. It runs at onRequest, before the body
 * is read, so callers without valid credentials learn nothing from validation and cost no parsing.
 */
export function requireAdmin(services: ApiAuthServices, browser: BrowserSessionAuth) {
  return async function authenticateApiCaller(request: FastifyRequest): Promise<void> {
    if (request.routeOptions.config.apiAuth === 'none') return;
    const caller = await resolveCaller(credentialFrom(request, browser.sessions.cookieName), request, services, browser);
    if (!caller.user.isAdmin && request.routeOptions.config.apiAuth !== 'user') throw new ApiError(403, 'forbidden', 'this endpoint needs an admin');
    request.apiCaller = caller;
  };
}
