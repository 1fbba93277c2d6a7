import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small scriptable HTTP server on 127.0.0.1 for the outbound OAuth client's tests: each route answers what the
 * test says, and every request is recorded (path, query, headers, body) so tests can assert what was sent and in
 * which order. `authorizationServer` scripts a typical authorization server on top of it.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body read as a form (token, revocation requests). */
  form: URLSearchParams;
}

export interface MockAnswer {
  status?: number;
  headers?: Record<string, string>;
  json?: unknown;
  body?: string;
}

export type MockHandler = (request: RecordedRequest) => MockAnswer;

export interface MockServer {
  origin: string;
  requests: RecordedRequest[];
  /** The paths requested, in order ("GET /x"). */
  paths(): string[];
  route(method: string, path: string, handler: MockHandler | MockAnswer): void;
  close(): Promise<void>;
}

export async function mockServer(): Promise<MockServer> {
  const routes = new Map<string, MockHandler>();
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://mock');
      const recorded: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body, form: new URLSearchParams(body) };
      requests.push(recorded);
      const handler = routes.get(`${recorded.method} ${recorded.path}`);
      const answer: MockAnswer = handler ? handler(recorded) : { status: 404, json: { error: 'not_found' } };
      const headers = { ...(answer.json !== undefined ? { 'content-type': 'application/json' } : {}), ...answer.headers };
      res.writeHead(answer.status ?? 200, headers).end(answer.json !== undefined ? JSON.stringify(answer.json) : (answer.body ?? ''));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    requests,
    paths: () => requests.map((request) => `${request.method} ${request.path}`),
    route(method, path, handler) {
      routes.set(`${method} ${path}`, typeof handler === 'function' ? handler : () => handler);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

export interface MockAuthorizationServer extends MockServer {
  issuer: string;
  metadata: Record<string, unknown>;
  /** The requests that reached /token. */
  tokenRequests(): RecordedRequest[];
}

/**
 * A root-issuer authorization server: metadata at /.well-known/oauth-authorization-server, /token answering
 * `tokenAnswer` (default: a bearer token and a refresh token), /register, /revoke.
 */
export async function authorizationServer(options: { metadata?: Record<string, unknown>; tokenAnswer?: MockHandler } = {}): Promise<MockAuthorizationServer> {
  const server = await mockServer();
  const issuer = server.origin;
  const metadata = {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    registration_endpoint: `${issuer}/register`,
    revocation_endpoint: `${issuer}/revoke`,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    ...options.metadata,
  };
  server.route('GET', '/.well-known/oauth-authorization-server', { json: metadata });
  server.route('POST', '/token', options.tokenAnswer ?? (() => ({ json: { access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-1' } })));
  server.route('POST', '/register', (request) => ({ status: 201, json: { client_id: 'registered-client', ...JSON.parse(request.body) } }));
  server.route('POST', '/revoke', { status: 200, body: '' });
  return { ...server, issuer, metadata, tokenRequests: () => server.requests.filter((request) => request.path === '/token') };
}
