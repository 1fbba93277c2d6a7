import { frontDoor, type AppHooks } from '../http/front-door.js';
import type { RawHandler } from '../http/raw-routes.js';
import { sendInternalError } from './jsonrpc-edge.js';
import { answerHeaders, type McpExchange } from './mcp-exchange.js';

/** /mcp's route templates, as Fastify names them (metrics labels, span names). */
export const MCP_ROUTES = ['/mcp', '/mcp/:name'] as const;

const CLAIMED_METHODS: ReadonlySet<string> = new Set(['POST', 'GET', 'DELETE', 'OPTIONS']);
/** Fastify's router refuses longer parameters (find-my-way `maxParamLength`): such paths stay with its answer. */
const MAX_NAME_LENGTH = 100;

/**
 * What the front door takes: `/mcp` and `/mcp/{name}` with a plain name, by the methods /mcp serves. Anything else
 * (HEAD, an escaped or overlong name, `/mcp/a/b`) stays with Fastify and is answered as it always was.
 */
export function isMcpPath(method: string, path: string): boolean {
  if (!CLAIMED_METHODS.has(method)) return false;
  if (path === '/mcp') return true;
  if (!path.startsWith('/mcp/')) return false;
  const name = path.slice('/mcp/'.length);
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && !/[/%]/.test(name);
}

export interface FrontDoorDeps extends AppHooks {
  /** /mcp's own steps (mcp-routes.ts). */
  serve(exchange: McpExchange): Promise<void>;
  bodyLimit: number;
}

/** /mcp served on node:http's objects, with what the app's hooks do for every other route (http/front-door.ts). */
export function mcpFrontDoor(deps: FrontDoorDeps): RawHandler {
  return frontDoor({
    log: deps.log,
    trustProxy: deps.trustProxy,
    observe: deps.observe,
    isClosing: deps.isClosing,
    // A 2025 session's POST may answer what a call in flight asked its client (sampling, elicitation) or cancel it:
    // the steps let such messages through while the calls drain, and refuse new requests (mcp-routes.ts).
    admitsWhileClosing: (request) => request.method === 'POST' && request.headers['mcp-session-id'] !== undefined,
    routeOf: (path) => (path === MCP_ROUTES[0] ? MCP_ROUTES[0] : MCP_ROUTES[1]),
    serve: (request, response, door) =>
      deps.serve({
        request,
        response,
        headers: answerHeaders(door.id),
        log: door.log,
        host: door.host,
        query: door.query,
        virtualServer: door.path === MCP_ROUTES[0] ? undefined : door.path.slice('/mcp/'.length),
        bodyLimit: deps.bodyLimit,
      }),
    // An answer like every /mcp answer (request id, CORS, JSON-RPC error), as the steps' own fault answer is (mcp-routes.ts).
    answerFault: (error, response, requestId) => {
      deps.log.error({ err: error, reqId: requestId }, 'mcp request failed');
      sendInternalError({ response, headers: answerHeaders(requestId) });
    },
  });
}
