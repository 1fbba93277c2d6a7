import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
// The parser @fastify/formbody gives the Fastify route: both paths read a form alike, malformed escapes included.
import { parse as parseForm } from 'fast-querystring';
import { frontDoor, type AppHooks, type DoorRequest } from '../http/front-door.js';
import type { RawHandler } from '../http/raw-routes.js';
import { readRequestBody } from '../http/request-body.js';
import { CROSS_ORIGIN_HEADERS } from './cors.js';
import { NO_STORE_HEADERS, OAuthError, oauthErrorBody, oauthErrorFor } from './errors.js';
import type { TokenEndpoint } from './token-routes.js';

export const TOKEN_ROUTE = '/oauth/token';

/**
 * The Content-Type values of the form posts the front door takes (compared lower-cased, as Fastify compares media
 * types): what clients send. Any other value, and any other method (a preflight, HEAD), stays with Fastify, which
 * answers it as it always did: JSON and text parsed and then refused, other types 415, malformed ones 415.
 */
const FORM_TYPES: ReadonlySet<string> = new Set([
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded;charset=utf-8',
  'application/x-www-form-urlencoded; charset=utf-8',
]);

export function isTokenRequest(method: string, path: string, headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  return method === 'POST' && path === TOKEN_ROUTE && type !== undefined && FORM_TYPES.has(type.toLowerCase());
}

export interface TokenFrontDoorDeps extends AppHooks {
  /** The endpoint's own steps (token-routes.ts), shared with its Fastify route. */
  answer: TokenEndpoint;
  bodyLimit: number;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * POST /oauth/token served on node:http's objects (http/front-door.ts), answering byte for byte what the Fastify
 * route answers (test/oauth/token-front-door.test.ts): the headers its hooks set, in their order (request id,
 * no-store, CORS), the body read with Fastify's limits and parsed as @fastify/formbody parses it, the same steps,
 * and errors shaped by the same function as the route's error handler.
 */
export function tokenFrontDoor(deps: TokenFrontDoorDeps): RawHandler {
  const serve = async (request: IncomingMessage, response: ServerResponse, door: DoorRequest) => {
    try {
      const read = await readRequestBody(request, deps.bodyLimit);
      // As Fastify: the rest of a refused body may still be coming, so the connection is closed after the answer.
      if (!read.ok) return sendError(response, door.id, oauthErrorFor({ statusCode: read.status }, door.log), true);
      // `ip` as Fastify's `request.ip` gives it (typed a string there too; undefined only once the socket is gone).
      const json = await deps.answer({ headers: request.headers, body: parseForm(read.text), ip: door.ip! });
      response.writeHead(200, { ...answerHeaders(door.id), 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(json) }).end(json);
    } catch (error) {
      if (!response.headersSent) sendError(response, door.id, oauthErrorFor(error, door.log), false);
      else if (!response.writableEnded) response.end();
    }
  };
  return frontDoor({
    log: deps.log,
    trustProxy: deps.trustProxy,
    observe: deps.observe,
    isClosing: deps.isClosing,
    routeOf: () => TOKEN_ROUTE,
    serve,
    answerFault: (error, response, requestId) => {
      if (!response.headersSent) sendError(response, requestId, oauthErrorFor(error, deps.log), false);
      else if (!response.writableEnded) response.end();
    },
  });
}

/** What the app's hooks and the route's scope set on every answer, in the order they run: request id, no-store, CORS. */
function answerHeaders(requestId: string): Record<string, string | number> {
  return { 'x-request-id': requestId, ...NO_STORE_HEADERS, ...CROSS_ORIGIN_HEADERS };
}

/**
 * The route's error handler's answer (errors.ts `sendOAuthError`), with its headers where Fastify puts them: after the
 * hooks' (no-store among them already), then Connection when the body was refused, then the error's own.
 */
function sendError(response: ServerResponse, requestId: string, error: OAuthError, closeConnection: boolean): void {
  const text = JSON.stringify(oauthErrorBody(error));
  const headers = { ...answerHeaders(requestId), ...(closeConnection ? { connection: 'close' } : {}), ...error.headers };
  response.writeHead(error.status, { ...headers, 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text) }).end(text);
}
