import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, JSONRPCMessageSchema, type JSONRPCMessage, type JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { isJsonObject } from '../json-object.js';
import { sendJson, TRANSPORT_ERROR, type AnswerTo } from './mcp-exchange.js';

/** The SDK transport's own batch bound (server/requestBody.js): checked here so a refusal costs no session work. */
export const MAX_BATCH_MESSAGES = 100;


export type EdgeBody =
  | { ok: true; body: unknown; messages: JSONRPCMessage[] }
  | { ok: false; status: number; code: number; message: string };

/**
 * Reads a POST /mcp body as the transport will: one JSON-RPC message or a batch of them. Malformed JSON is a
 * parse error (-32700), well-formed JSON that is not JSON-RPC an invalid request (-32600); both are HTTP 400
 * and never reach a session.
 */
export function parseJsonRpcBody(text: string): EdgeBody {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, status: 400, code: ErrorCode.ParseError, message: 'Parse error: the body is not valid JSON' };
  }
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0) return invalidRequest('an empty batch');
  if (items.length > MAX_BATCH_MESSAGES) return invalidRequest(`a batch of more than ${MAX_BATCH_MESSAGES} messages`);
  const messages: JSONRPCMessage[] = [];
  for (const item of items) {
    if (isPlainRequest(item)) {
      messages.push(item);
      continue;
    }
    const parsed = JSONRPCMessageSchema.safeParse(item);
    if (!parsed.success) return invalidRequest('not a JSON-RPC 2.0 message');
    messages.push(parsed.data);
  }
  return { ok: true, body, messages };
}

const REQUEST_KEYS: ReadonlySet<string> = new Set(['jsonrpc', 'id', 'method', 'params']);

/**
 * The common request the SDK's JSONRPCRequestSchema accepts as it is (and returns unchanged): `jsonrpc` "2.0", a
 * string or integer id, a string method, no other key, params absent or an object without `_meta`. Checked by hand
 * because the schema's union costs more than the rest of the edge on every call; anything else (a `_meta`, a
 * notification, a response, a mistake) is left to the schema.
 */
function isPlainRequest(item: unknown): item is JSONRPCRequest {
  if (!isJsonObject(item) || item.jsonrpc !== '2.0' || typeof item.method !== 'string') return false;
  if (typeof item.id !== 'string' && !Number.isSafeInteger(item.id)) return false;
  for (const key in item) if (!REQUEST_KEYS.has(key)) return false;
  return item.params === undefined ? !Object.hasOwn(item, 'params') : isJsonObject(item.params) && !Object.hasOwn(item.params, '_meta');
}

/** Whether a message the edge accepted is a request (a validated message with a method and an id is one). */
export const isRequest = (message: JSONRPCMessage): message is JSONRPCRequest => 'method' in message && 'id' in message;

function invalidRequest(what: string): EdgeBody {
  return { ok: false, status: 400, code: ErrorCode.InvalidRequest, message: `Invalid Request: ${what}` };
}

/** A JSON-RPC error answer without an id (nothing of the request was taken as a message). */
export const jsonRpcError = (code: number, message: string) => ({ jsonrpc: '2.0', error: { code, message }, id: null });

export function sendJsonRpcError(exchange: AnswerTo, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(exchange, status, jsonRpcError(code, message), { ...headers, 'cache-control': 'no-store' });
}

/**
 * A fault's answer: 500 with JSON-RPC's internal error and the headers of every /mcp answer, never a detail of the
 * fault (the log has it); an answer already begun (a stream) can only be ended.
 */
export function sendInternalError(exchange: AnswerTo): void {
  if (!exchange.response.headersSent) sendJsonRpcError(exchange, 500, ErrorCode.InternalError, 'Internal error');
  else if (!exchange.response.writableEnded) exchange.response.end();
}

/**
 * /mcp's routes in Fastify (`app.inject`, a gateway mounted alone) leave the body to the endpoint, which reads it
 * as the front door does (mcp-exchange.ts `readBodyText`), and answer Fastify's own errors as JSON-RPC, never in the
 * /api envelope: a malformed media type 415, a server fault 500 without details.
 */
export function jsonRpcEdge(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _body, done) => done(null));
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const status = error.statusCode ?? 500;
    const send = (status: number, code: number, message: string) => reply.code(status).header('cache-control', 'no-store').send(jsonRpcError(code, message));
    if (status >= 500) {
      request.log.error({ err: error }, 'mcp request failed');
      return send(500, ErrorCode.InternalError, 'Internal error');
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return send(415, TRANSPORT_ERROR, 'Unsupported Media Type: Content-Type must be application/json');
    return send(status, ErrorCode.InvalidRequest, 'Invalid Request');
  });
}
