import { parse as parseContentType } from 'content-type';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { readRequestBody, type BodyRefusals } from '../http/request-body.js';
import { CROSS_ORIGIN_HEADERS, PREFLIGHT_HEADERS } from '../oauth/cors.js';

/**
 * One /mcp request and its response, on node:http's own objects: /mcp writes every answer itself, whether the request
 * came through the front door (mcp-front-door.ts) or through Fastify (`app.inject`, a gateway mounted alone).
 */
export interface McpExchange {
  request: IncomingMessage;
  response: ServerResponse;
  /** Headers every answer carries (request id, CORS), set before the answer is written. */
  headers: Record<string, string>;
  log: FastifyBaseLogger;
  /** The Host the request names (X-Forwarded-Host when proxies are trusted). */
  host: string;
  /** The query string, '' when there is none. */
  query: string;
  /** `/mcp/{name}`'s name; undefined at /mcp. */
  virtualServer: string | undefined;
  /** Fastify's body limit, in bytes. */
  bodyLimit: number;
}

/** What writing an answer needs: the response and the headers every answer carries (a fault may come before the rest). */
export type AnswerTo = Pick<McpExchange, 'response' | 'headers'>;

/** Transport-level failures carry no request id; the MCP SDK uses -32000 for them. */
export const TRANSPORT_ERROR = -32000;

/** Step: an answer with a JSON body and its length, in one write. */
export function sendJson(exchange: AnswerTo, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  exchange.response
    .writeHead(status, { ...exchange.headers, ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
    .end(text);
}

/** Step: an answer without a body (202 to notifications and responses, 204 to preflights). */
export function sendNoBody(exchange: McpExchange, status: number, headers: Record<string, string> = {}): void {
  exchange.response.writeHead(status, status === 204 ? { ...exchange.headers, ...headers } : { ...exchange.headers, ...headers, 'content-length': 0 }).end();
}

/** Step: the answer is written by another writer (the SDK transport, a direct call, a stream): the headers so far go along. */
export function handOver(exchange: McpExchange): ServerResponse {
  for (const name in exchange.headers) exchange.response.setHeader(name, exchange.headers[name]!);
  return exchange.response;
}

/** The headers of every answer to a request with id `requestId`, CORS included (a fault's answer skips the steps). */
export function answerHeaders(requestId: string): Record<string, string> {
  return { 'x-request-id': requestId, ...CROSS_ORIGIN_HEADERS };
}

/** Step: CORS on every answer (browser MCP clients call cross-origin, without cookies); a preflight is answered here. */
export function crossOrigin(exchange: McpExchange): boolean {
  Object.assign(exchange.headers, CROSS_ORIGIN_HEADERS);
  if (exchange.request.method !== 'OPTIONS') return true;
  sendNoBody(exchange, 204, PREFLIGHT_HEADERS);
  return false;
}

/** `closeConnection`: a body refused part-way may go on arriving; as Fastify, the connection is closed rather than read to its end. */
export type BodyText = { ok: true; text: string | undefined } | { ok: false; status: number; code: number; message: string; closeConnection?: true };

/** `application/json` with well-formed parameters (RFC 9110 §8.3.1), as Fastify's parser required: a malformed type is refused. */
function isJsonMediaType(header: string | undefined): boolean {
  if (header === undefined) return false;
  try {
    return parseContentType(header).type === 'application/json';
  } catch {
    return false;
  }
}

/**
 * Step: a POST's body as text, as Fastify read it before: only `application/json` (415 otherwise, or when a body
 * comes without a type), then read with Fastify's limits (http/request-body.ts: 413 over `bodyLimit`, 400 when cut
 * short). GET and DELETE carry none. Read after the guard: a refused caller's body is never read.
 */
export function readBodyText(exchange: McpExchange): Promise<BodyText> | BodyText {
  const { request, bodyLimit } = exchange;
  if (request.method !== 'POST') return { ok: true, text: undefined };
  if (!isJsonMediaType(request.headers['content-type'])) {
    return { ok: false, status: 415, code: TRANSPORT_ERROR, message: 'Unsupported Media Type: Content-Type must be application/json' };
  }
  // The reader answers with /mcp's refusals itself: no promise more per request to map its outcome.
  return readRequestBody(request, bodyLimit, REFUSALS);
}

const REFUSALS: BodyRefusals<BodyText> = {
  tooLarge: { ok: false, status: 413, code: TRANSPORT_ERROR, message: 'Request body too large', closeConnection: true },
  cutShort: { ok: false, status: 400, code: ErrorCode.InvalidRequest, message: 'Invalid Request', closeConnection: true },
};
