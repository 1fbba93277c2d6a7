import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { GatehouseChild } from './gatehouse-child.js';

/** What the fleet tests share: a balancer without affinity, MCP at one replica, and a bounded wait. */

export const ARRIVAL_BOUND_MS = 10_000;
const ACCEPT = 'application/json, text/event-stream';

export interface Forwarded {
  method: string;
  target: string;
  /** The body of a POST. */
  body?: string;
  /** The request's Mcp-Session-Id header. */
  sessionId?: string;
}

/** Forwards each request to the next live replica in turn, as a load balancer without affinity does. */
export async function roundRobinBalancer(port: number, replicas: () => string[]): Promise<{ server: Server; servedBy: string[]; posts: Array<{ target: string; body: string }>; forwarded: Forwarded[] }> {
  const servedBy: string[] = [];
  const posts: Array<{ target: string; body: string }> = [];
  const forwarded: Forwarded[] = [];
  let turn = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const forward = (attempt: number) => {
        const targets = replicas();
        const target = targets[turn++ % targets.length]!;
        const out = httpRequest(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
          servedBy.push(target);
          const sessionId = req.headers['mcp-session-id'];
          forwarded.push({
            method: req.method ?? '',
            target,
            ...(req.method === 'POST' ? { body: Buffer.concat(chunks).toString() } : {}),
            ...(typeof sessionId === 'string' ? { sessionId } : {}),
          });
          if (req.method === 'POST') posts.push({ target, body: Buffer.concat(chunks).toString() });
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        // A replica that is gone (refused or reset before answering): the next one, as a health-checked balancer does.
        out.on('error', () => (res.headersSent || attempt >= targets.length ? res.destroy() : forward(attempt + 1)));
        res.on('close', () => out.destroy());
        out.end(Buffer.concat(chunks));
      };
      forward(1);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, servedBy, posts, forwarded };
}

/** MCP over plain fetch at one replica, for requests that must land there. */
export function mcpAt(replica: GatehouseChild, token: string, transport: StreamableHTTPClientTransport) {
  const headers = (extra: Record<string, string> = {}) => ({
    authorization: `Bearer ${token}`,
    accept: ACCEPT,
    'mcp-session-id': transport.sessionId!,
    'mcp-protocol-version': transport.protocolVersion!,
    ...extra,
  });
  return {
    post: (message: object) => fetch(`${replica.url}/mcp`, { method: 'POST', headers: headers({ 'content-type': 'application/json' }), body: JSON.stringify(message) }),
    delete: () => fetch(`${replica.url}/mcp`, { method: 'DELETE', headers: headers() }),
    /**
     * Opens the session's GET stream here; `messages` collects what arrives on it. Undefined when this replica holds
     * the session's stream already (409: the SDK client's own, opened through the balancer).
     */
    async stream() {
      const controller = new AbortController();
      const response = await fetch(`${replica.url}/mcp`, { headers: headers({ accept: 'text/event-stream' }), signal: controller.signal });
      if (response.status === 409) return void (await response.body?.cancel());
      assert.equal(response.status, 200, 'the stream opens');
      const messages: Array<{ method?: string }> = [];
      void (async () => {
        const decoder = new TextDecoder();
        let buffered = '';
        for await (const chunk of response.body!) {
          buffered += decoder.decode(chunk as Uint8Array, { stream: true });
          for (const line of buffered.split('\n').slice(0, -1)) if (line.startsWith('data: ')) messages.push(JSON.parse(line.slice(6)));
          buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
        }
      })().catch(() => undefined);
      return { messages, close: () => controller.abort() };
    },
  };
}

export async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ARRIVAL_BOUND_MS;
  for (;;) {
    const found = await check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ARRIVAL_BOUND_MS} ms`);
    await sleep(50);
  }
}

